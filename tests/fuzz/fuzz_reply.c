/*
 * fuzz_reply.c - SMTP reply lines: smtp_reply_line on the whole input,
 * then on each of its lines (split at LF, a CR before it dropped, as the
 * session's reader does), following a multi-line reply as smtp.c does:
 * every line of one reply carries the same code.
 *
 * Properties: a line that parses has a code from 200 to 599 and three
 * digits that spell it; "more" is set exactly for "ddd-"; a line that
 * does not parse leaves code and more alone.
 */
#include "autoconf.h"

#include <ctype.h>

#include "smtp.h"

#include "fuzz.h"

static void
one_line(const char *l, size_t len, int *code, int *more)
{
	int c = -1, m = -1, rc;

	rc = smtp_reply_line(l, len, &c, &m);
	if (rc == -1) {
		FUZZ_ASSERT(c == -1 && m == -1, "a refused line set code %d, "
		    "more %d", c, m);
		*code = -1;
		return;
	}
	FUZZ_ASSERT(rc == 0, "returned %d", rc);
	FUZZ_ASSERT(len >= 3 && c >= 200 && c <= 599, "code %d", c);
	FUZZ_ASSERT(isdigit((unsigned char)l[0]) &&
	    isdigit((unsigned char)l[1]) && isdigit((unsigned char)l[2]) &&
	    (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0') == c,
	    "code %d from '%.3s'", c, l);
	FUZZ_ASSERT(m == (len > 3 && l[3] == '-'), "more %d", m);
	FUZZ_ASSERT(len == 3 || l[3] == ' ' || l[3] == '-',
	    "fourth character 0x%02x accepted", (unsigned char)l[3]);
	*code = c;
	*more = m;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size, *nl;
	int code, more, first = -1, pending = 0;
	size_t len;

	one_line(s, size, &code, &more);
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		len = (size_t)((nl != NULL ? nl : end) - s);
		if (len > 0 && s[len - 1] == '\r')
			len--;
		one_line(s, len, &code, &more);
		if (code == -1)
			pending = 0;	/* the session gives up here */
		else if (pending && code != first)
			pending = 0;	/* smtp.c calls this a protocol error */
		else {
			first = code;
			pending = more;
		}
		s = nl != NULL ? nl + 1 : end;
	}
	return 0;
}
