/*
 * test_reply.c - SMTP reply line parsing.
 */
#include "autoconf.h"

#include <string.h>

#include "smtp.h"
#include "unit.h"

struct vector {
	const char	*line;
	int		 ok;
	int		 code;
	int		 more;
};

static const struct vector vectors[] = {
	{ "250 ok", 1, 250, 0 },
	{ "250-PIPELINING", 1, 250, 1 },
	{ "250", 1, 250, 0 },
	{ "354 go ahead", 1, 354, 0 },
	{ "599 x", 1, 599, 0 },
	{ "199 too low", 0, 0, 0 },
	{ "600 too high", 0, 0, 0 },
	{ "25 short", 0, 0, 0 },
	{ "2x0 bad", 0, 0, 0 },
	{ "250_bad separator", 0, 0, 0 },
	{ "", 0, 0, 0 },
	{ "abc", 0, 0, 0 },
};

int
main(void)
{
	size_t i;
	int code, more, rc;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];

		code = more = -1;
		rc = smtp_reply_line(v->line, strlen(v->line), &code, &more);
		CHECK((rc == 0) == v->ok, "'%s': rc %d", v->line, rc);
		if (v->ok)
			CHECK(code == v->code && more == v->more,
			    "'%s': code %d more %d", v->line, code, more);
	}
	return unit_done();
}
