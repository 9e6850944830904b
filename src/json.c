/*
 * json.c - a checking walk over one JSON object, to pull out a member.
 *
 * The walker validates everything it passes (strings, numbers, literals,
 * nested objects and arrays up to JSON_DEPTH), so a lookup either finds
 * a member of a well-formed object or says the text is not one.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

#define JSON_DEPTH	32

struct js {
	const char	*p;
	const char	*end;
};

static void
js_ws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int
js_hex4(const char *p, unsigned int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		unsigned int c = (unsigned char)p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

/* A code point as UTF-8; lone surrogates become '?'. */
static size_t
js_utf8(unsigned int cp, char *o)
{
	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = '?';
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	o[0] = (char)(0xe0 | cp >> 12);
	o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

/* One escape after the backslash; the decoded bytes go to o (if any). */
static int
js_escape(struct js *j, char *o, size_t *n, int *ctl)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	unsigned int cp;
	char buf[3];
	size_t k;

	if (j->p >= j->end)
		return -1;
	if (*j->p != 'u') {
		if ((hit = memchr(from, *j->p, sizeof(from) - 1)) == NULL)
			return -1;
		buf[0] = to[hit - from];
		k = 1;
		j->p++;
	} else {
		if (j->end - j->p < 5 || js_hex4(j->p + 1, &cp) == -1)
			return -1;
		j->p += 5;
		k = js_utf8(cp, buf);
	}
	if ((unsigned char)buf[0] < 0x20 || buf[0] == 0x7f)
		*ctl = 1;
	if (o != NULL)
		memcpy(o + *n, buf, k);
	*n += k;
	return 0;
}

/*
 * A string at j->p (on its opening quote).  With o (room for the raw
 * length at least) the unescaped bytes are written there and *n is
 * their count; *ctl notes an escaped control character.
 */
static int
js_string(struct js *j, char *o, size_t *n, int *ctl)
{
	*n = 0;
	*ctl = 0;
	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p;

		if (c == '"') {
			j->p++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == 0x7f)
			*ctl = 1;	/* valid JSON, but no text we want */
		j->p++;
		if (c == '\\') {
			if (js_escape(j, o, n, ctl) == -1)
				return -1;
			continue;
		}
		if (o != NULL)
			o[*n] = (char)c;
		(*n)++;
	}
	return -1;
}

static int
js_digits(struct js *j)
{
	const char *start = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start ? 0 : -1;
}

static int
js_number(struct js *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (js_digits(j) == -1)
		return -1;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (js_digits(j) == -1)
			return -1;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (js_digits(j) == -1)
			return -1;
	}
	return 0;
}

static int
js_literal(struct js *j)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t i, n;

	for (i = 0; i < 3; i++) {
		n = strlen(words[i]);
		if ((size_t)(j->end - j->p) >= n &&
		    memcmp(j->p, words[i], n) == 0) {
			j->p += n;
			return 0;
		}
	}
	return -1;
}

static int js_value(struct js *, int depth);

/* The members or elements of a container, after its opening bracket. */
static int
js_container(struct js *j, char close, int depth)
{
	size_t n;
	int ctl;

	js_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		js_ws(j);
		if (close == '}') {
			if (js_string(j, NULL, &n, &ctl) == -1)
				return -1;
			js_ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return -1;
		}
		if (js_value(j, depth + 1) == -1)
			return -1;
		js_ws(j);
		if (j->p >= j->end)
			return -1;
		if (*j->p == close) {
			j->p++;
			return 0;
		}
		if (*j->p++ != ',')
			return -1;
	}
}

static int
js_value(struct js *j, int depth)
{
	size_t n;
	int ctl;

	if (depth > JSON_DEPTH)
		return -1;
	js_ws(j);
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '"':
		return js_string(j, NULL, &n, &ctl);
	case '{':
		j->p++;
		return js_container(j, '}', depth);
	case '[':
		j->p++;
		return js_container(j, ']', depth);
	case 't':
	case 'f':
	case 'n':
		return js_literal(j);
	default:
		return js_number(j);
	}
}

/*
 * Walk the object in buf; at the first member named key, note where
 * its value starts.  0: well-formed (*at NULL when key is absent).
 */
static int
js_find(const char *buf, size_t len, const char *key, const char **at)
{
	struct js j = { buf, buf + len };
	size_t klen = strlen(key), n;
	const char *name;
	int ctl;

	*at = NULL;
	js_ws(&j);
	if (j.p >= j.end || *j.p++ != '{')
		return -1;
	js_ws(&j);
	if (j.p < j.end && *j.p == '}') {
		j.p++;
		goto tail;
	}
	for (;;) {
		js_ws(&j);
		name = j.p + 1;
		if (js_string(&j, NULL, &n, &ctl) == -1)
			return -1;
		/* Keys with escapes never match: none of envoi's have any. */
		js_ws(&j);
		if (j.p >= j.end || *j.p++ != ':')
			return -1;
		js_ws(&j);
		if (*at == NULL && n == klen &&
		    memcmp(name, key, klen) == 0 && name[klen] == '"')
			*at = j.p;
		if (js_value(&j, 1) == -1)
			return -1;
		js_ws(&j);
		if (j.p >= j.end)
			return -1;
		if (*j.p == '}') {
			j.p++;
			break;
		}
		if (*j.p++ != ',')
			return -1;
	}
tail:
	js_ws(&j);
	return j.p == j.end ? 0 : -1;
}

static int
json_get(const char *buf, size_t len, const char *key, char **out,
    int allow_ctl)
{
	const char *at;
	struct js j;
	size_t n;
	int ctl;
	char *s;

	*out = NULL;
	if (js_find(buf, len, key, &at) == -1)
		return -1;
	if (at == NULL || *at != '"')
		return 0;
	j.p = at;
	j.end = buf + len;
	s = xmalloc((size_t)(j.end - at) + 1);
	if (js_string(&j, s, &n, &ctl) == -1 || (ctl && !allow_ctl) ||
	    memchr(s, '\0', n) != NULL) {
		wipe(s, (size_t)(j.end - at) + 1);
		free(s);
		return -1;
	}
	s[n] = '\0';
	*out = s;
	return 1;
}

int
json_string(const char *buf, size_t len, const char *key, char **out)
{
	return json_get(buf, len, key, out, 0);
}

int
json_text(const char *buf, size_t len, const char *key, char **out)
{
	return json_get(buf, len, key, out, 1);
}

int
json_number(const char *buf, size_t len, const char *key, long *out)
{
	const char *at, *end = buf + len;
	long v = 0;
	int quoted;

	*out = 0;
	if (js_find(buf, len, key, &at) == -1)
		return -1;
	if (at == NULL)
		return 0;
	quoted = *at == '"';
	if (quoted)
		at++;
	if (at >= end || *at < '0' || *at > '9')
		return 0;
	for (; at < end && *at >= '0' && *at <= '9'; at++)
		if (v < 1000000000L)
			v = v * 10 + (*at - '0');
	if (v > 1000000000L)
		v = 1000000000L;
	/* 3600.5 or "3600s": not an integer. */
	if (at < end && (quoted ? *at != '"' : (*at == '.' || *at == 'e' ||
	    *at == 'E')))
		return 0;
	*out = v;
	return 1;
}
