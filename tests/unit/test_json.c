/*
 * test_json.c - the JSON member reader: what token endpoints and
 * OAUTHBEARER error challenges send, and what they must not get away
 * with.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "unit.h"

struct svec {
	const char	*json;
	const char	*key;
	int		 rc;
	const char	*value;
};

static const struct svec strings[] = {
	{ "{\"access_token\":\"ya29.a0A-_~+/=\",\"expires_in\":3599}",
	    "access_token", 1, "ya29.a0A-_~+/=" },
	{ " {\n \"a\" : [1, {\"x\": null}, true] , \"b\":\"\\u0041\\/\\\\\"}\n",
	    "b", 1, "A/\\" },
	{ "{\"status\":\"invalid_token\",\"schemes\":\"bearer\"}", "status",
	    1, "invalid_token" },
	{ "{\"a\":\"1\"}", "b", 0, NULL },
	{ "{\"a\":1}", "a", 0, NULL },		/* not a string */
	{ "{\"x\":{\"a\":\"nested\"}}", "a", 0, NULL },	/* top level only */
	{ "{\"a\":\"first\",\"a\":\"second\"}", "a", 1, "first" },
	{ "{\"a\":\"\\u00e9\"}", "a", 1, "\xc3\xa9" },
	{ "{}", "a", 0, NULL },
	/* malformed: the whole object is refused */
	{ "{\"a\":\"1\"", "a", -1, NULL },
	{ "{\"a\":\"1\",}", "a", -1, NULL },
	{ "{\"a\":\"1\"} trailing", "a", -1, NULL },
	{ "[\"a\"]", "a", -1, NULL },
	{ "{\"a\":\"raw\ncontrol\"}", "a", -1, NULL },
	{ "{\"a\":\"bad \\x escape\"}", "a", -1, NULL },
	{ "{\"a\":\"\\u12\"}", "a", -1, NULL },
	{ "{\"a\":tru}", "a", -1, NULL },
	{ "{\"a\":01x}", "a", -1, NULL },
	{ "{\"a\" \"b\"}", "a", -1, NULL },
	{ "", "a", -1, NULL },
	/* an escaped control character or NUL is refused in a value */
	{ "{\"a\":\"x\\u0000y\"}", "a", -1, NULL },
	{ "{\"a\":\"x\\ny\"}", "a", -1, NULL },
	{ "{\"a\":\"x\x7fy\"}", "a", -1, NULL },	/* raw DEL */
};

struct nvec {
	const char	*json;
	int		 rc;
	long		 value;
};

static const struct nvec numbers[] = {
	{ "{\"expires_in\":3599}", 1, 3599 },
	{ "{\"expires_in\":\"3600\"}", 1, 3600 },	/* some send a string */
	{ "{\"expires_in\":99999999999999999999}", 1, 1000000000L },
	{ "{\"expires_in\":-5}", 0, 0 },
	{ "{\"expires_in\":36.5}", 0, 0 },
	{ "{\"expires_in\":null}", 0, 0 },
	{ "{\"other\":1}", 0, 0 },
	{ "{\"expires_in\":1", -1, 0 },
};

/* Nesting is bounded: deep input is refused, not recursed into. */
static void
check_depth(void)
{
	char buf[4096];
	size_t i, n = 0;
	char *out;

	n += (size_t)snprintf(buf, sizeof(buf), "{\"a\":");
	for (i = 0; i < 1000; i++)
		buf[n++] = '[';
	for (i = 0; i < 1000; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	CHECK(json_string(buf, n, "a", &out) == -1, "1000 levels accepted");
}

int
main(void)
{
	size_t i;
	char *out;
	long v;
	int rc;

	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		const struct svec *t = &strings[i];

		rc = json_string(t->json, strlen(t->json), t->key, &out);
		CHECK(rc == t->rc, "%s: rc %d, want %d", t->json, rc, t->rc);
		if (rc == 1 && t->value != NULL)
			CHECK(strcmp(out, t->value) == 0, "%s: '%s'", t->json,
			    out);
		if (rc != 1)
			CHECK(out == NULL, "%s: out set", t->json);
		free(out);
	}
	/* json_text keeps control characters for the caller to clean. */
	{
		const char *j = "{\"d\":\"x\\u001by\"}";

		rc = json_text(j, strlen(j), "d", &out);
	}
	CHECK(rc == 1 && strcmp(out, "x\x1by") == 0, "json_text: %d", rc);
	free(out);
	for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		const struct nvec *t = &numbers[i];

		rc = json_number(t->json, strlen(t->json), "expires_in", &v);
		CHECK(rc == t->rc, "%s: rc %d, want %d", t->json, rc, t->rc);
		if (rc == 1)
			CHECK(v == t->value, "%s: %ld", t->json, v);
	}
	check_depth();
	return unit_done();
}
