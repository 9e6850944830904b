/*
 * test_addr.c - address list parsing vectors.
 */
#include "autoconf.h"

#include <string.h>

#include "addr.h"
#include "unit.h"

struct vector {
	const char	*in;
	int		 ok;
	const char	*out;	/* addr-specs joined by '|' */
};

static const struct vector vectors[] = {
	{ "a@example.org", 1, "a@example.org" },
	{ "  a@example.org  ", 1, "a@example.org" },
	{ "Alice <a@example.org>", 1, "a@example.org" },
	{ "\"Smith, John\" <js@example.org>, b@example.org", 1,
	    "js@example.org|b@example.org" },
	{ "a@example.org (Alice), (c) b@example.org", 1,
	    "a@example.org|b@example.org" },
	{ "root (Cron Daemon)", 1, "root" },
	{ "team: a@x.org, B <b@y.org>;, c@z.org", 1, "a@x.org|b@y.org|c@z.org" },
	{ "undisclosed-recipients:;", 1, "" },
	{ "", 1, "" },
	{ "a@x.org,,b@y.org", 1, "a@x.org|b@y.org" },
	{ "<@relay.org,@r2.org:a@x.org>", 1, "a@x.org" },
	{ "\"quoted local\"@x.org", 1, "\"quoted local\"@x.org" },
	/* an "@" inside the quoted local part is not the separator */
	{ "\"a@b\"@example.org", 1, "\"a@b\"@example.org" },
	{ "<\"x@y\"@example.org>", 1, "\"x@y\"@example.org" },
	{ "john . doe @ example . org", 1, "john.doe@example.org" },
	{ "a@[192.0.2.1]", 1, "a@[192.0.2.1]" },
	{ "=?utf-8?q?J=C3=B6rg?= <j@x.org>", 1, "j@x.org" },
	{ "J\xc3\xb6rg <j\xc3\xb6@b\xc3\xbc.de>", 1, "j\xc3\xb6@b\xc3\xbc.de" },
	{ "Alice (nested (comment)) <a@x.org>", 1, "a@x.org" },
	{ "a@x.org\r\n\tb@y.org", 0, NULL },
	{ "a@x.org,\r\n\tb@y.org", 1, "a@x.org|b@y.org" },
	/* errors */
	{ "Alice <a@x.org", 0, NULL },
	{ "Alice a@x.org", 0, NULL },
	{ "a@", 0, NULL },
	{ "@x.org", 0, NULL },
	{ "a@x..org", 0, NULL },
	{ "\"unterminated@x.org", 0, NULL },
	{ "(unterminated a@x.org", 0, NULL },
	{ "team: a@x.org", 0, NULL },
	{ "a@x.org>", 0, NULL },
	{ "a\x01@x.org", 0, NULL },
	{ "a@x.org <b@y.org>", 0, NULL },
	/* fuzz_addr: a quoted-pair must not carry a control character */
	{ "\"a\\\x01\"@example.org", 0, NULL },
};

static void
join(const struct strlist *l, char *buf, size_t size)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			strncat(buf, "|", size - strlen(buf) - 1);
		strncat(buf, l->v[i], size - strlen(buf) - 1);
	}
}

int
main(void)
{
	char got[1024], why[128];
	struct strlist l;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];

		strlist_init(&l);
		why[0] = '\0';
		rc = addr_parse_list(v->in, strlen(v->in), &l, why,
		    sizeof(why));
		CHECK((rc == 0) == v->ok, "'%s': rc %d (%s)", v->in, rc, why);
		if (v->ok && rc == 0) {
			join(&l, got, sizeof(got));
			CHECK(strcmp(got, v->out) == 0, "'%s': got '%s', "
			    "want '%s'", v->in, got, v->out);
		}
		if (!v->ok)
			CHECK(why[0] != '\0', "'%s': no reason", v->in);
		strlist_release(&l);
	}
	CHECK(addr_check_mailbox("a@x.org") == 0, "plain");
	CHECK(addr_check_mailbox("<a@x.org>") == 0, "angle");
	CHECK(addr_check_mailbox("a@x.org, b@y.org") == -1, "two");
	CHECK(addr_check_mailbox("") == -1, "empty");
	CHECK(addr_has_domain("a@x.org") == 1, "domain");
	CHECK(addr_has_domain("root") == 0, "bare");
	CHECK(addr_has_domain("\"a@b\"") == 0, "quoted at");
	return unit_done();
}
