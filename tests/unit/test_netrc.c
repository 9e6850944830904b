/*
 * test_netrc.c - the netrc(5) parser: which entry gives the password.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "netrc.h"
#include "unit.h"
#include "util.h"

struct vector {
	const char	*text;
	const char	*host;
	const char	*user;
	const char	*want;		/* NULL: no entry matches */
};

static const struct vector vectors[] = {
	{ "", "h", "u", NULL },
	{ "machine h login u password p", "h", "u", "p" },
	{ "machine H.Example login u password p", "h.example", "u", "p" },
	{ "machine h login U password p", "h", "u", NULL },
	{ "machine h password p", "h", "anyone", "p" },
	{ "machine h login u", "h", "u", NULL },
	{ "machine h login v password x\nmachine h login u password p",
	    "h", "u", "p" },
	{ "machine h login u password first\nmachine h login u password 2",
	    "h", "u", "first" },
	{ "machine other login u password x\ndefault login u password d",
	    "h", "u", "d" },
	/* A machine entry wins over a default one, wherever it stands. */
	{ "default login u password d\nmachine h login u password p",
	    "h", "u", "p" },
	{ "default login v password d", "h", "u", NULL },
	{ "machine \"h\" login \"u\" password \"a b\\\"c\\\\d\"", "h", "u",
	    "a b\"c\\d" },
	{ "machine h login u password \"unterminated", "h", "u",
	    "unterminated" },
	{ "machine h account acct login u password p", "h", "u", "p" },
	{ "macdef init\nmachine h login u password inside\n\n"
	    "machine h login u password after", "h", "u", "after" },
	{ "macdef init\nmachine h login u password never-ends", "h", "u",
	    NULL },
	{ "\tmachine\th\n\nlogin\tu\r\npassword\tp\r\n", "h", "u", "p" },
	{ "machine", "h", "u", NULL },
	{ "machine h login u password", "h", "u", NULL },
	{ "password p machine h login u", "h", "u", NULL },
};

int
main(void)
{
	size_t i;
	char *pw;
	int rc;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];

		pw = NULL;
		rc = netrc_parse(v->text, strlen(v->text), v->host, v->user,
		    &pw);
		if (v->want == NULL)
			CHECK(rc == 0 && pw == NULL, "vector %zu: got '%s'",
			    i, pw ? pw : "(null)");
		else
			CHECK(rc == 1 && pw != NULL &&
			    strcmp(pw, v->want) == 0, "vector %zu: want '%s', "
			    "got '%s'", i, v->want, pw ? pw : "(null)");
		wipe_free(pw);
	}
	/* Text with a NUL in it: the length counts, not the NUL. */
	rc = netrc_parse("machine h\0login u password p", 28, "h", "u", &pw);
	CHECK(rc == 0 || (pw != NULL && strcmp(pw, "p") == 0), "NUL: %d", rc);
	wipe_free(rc ? pw : NULL);
	return unit_done();
}
