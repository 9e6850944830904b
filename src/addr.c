/*
 * addr.c - address parsing.
 *
 * The parser works in two steps.  A tokenizer turns the input into
 * atoms (runs of atext and '.'), quoted strings, domain literals and
 * single specials, dropping white space and (nested) comments.  The
 * parser then walks the tokens: "phrase :" opens a group, ';' closes
 * it, ',' separates mailboxes, and a mailbox is either "phrase <spec>"
 * or a bare spec.  Only the addr-spec is kept.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

enum tok_type {
	TOK_ATOM,
	TOK_QUOTED,
	TOK_LITERAL,
	TOK_SPECIAL,
	TOK_END,
	TOK_LAST
};

struct tok {
	enum tok_type	 type;
	const char	*p;
	size_t		 len;
};

struct lexer {
	const char	*p;
	const char	*end;
	char		*why;
	size_t		 whysize;
};

static int
is_atext(unsigned char c)
{
	if (c >= 0x80)		/* RFC 6532: UTF-8 is allowed */
		return 1;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL && c != '\0';
}

static int
lex_fail(struct lexer *lx, const char *what)
{
	snprintf(lx->why, lx->whysize, "%s", what);
	return -1;
}

/* Skip white space and comments. */
static int
lex_cfws(struct lexer *lx)
{
	int depth;

	for (;;) {
		while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' ||
		    *lx->p == '\r' || *lx->p == '\n'))
			lx->p++;
		if (lx->p == lx->end || *lx->p != '(')
			return 0;
		depth = 0;
		for (; lx->p < lx->end; lx->p++) {
			if (*lx->p == '\\' && lx->p + 1 < lx->end)
				lx->p++;
			else if (*lx->p == '(')
				depth++;
			else if (*lx->p == ')' && --depth == 0)
				break;
		}
		if (lx->p == lx->end)
			return lex_fail(lx, "unterminated comment");
		lx->p++;
	}
}

static int
lex_delimited(struct lexer *lx, struct tok *t, char close,
    enum tok_type type, const char *what)
{
	const char *start = lx->p++;

	for (; lx->p < lx->end && *lx->p != close; lx->p++) {
		/* A quoted-pair may not smuggle a control character in. */
		if (*lx->p == '\\' && lx->p + 1 < lx->end)
			lx->p++;
		if ((unsigned char)*lx->p < 0x20 && *lx->p != '\t')
			return lex_fail(lx, "control character in address");
	}
	if (lx->p == lx->end)
		return lex_fail(lx, what);
	lx->p++;
	t->type = type;
	t->p = start;
	t->len = (size_t)(lx->p - start);
	return 0;
}

static int
lex_next(struct lexer *lx, struct tok *t)
{
	unsigned char c;

	if (lex_cfws(lx) == -1)
		return -1;
	if (lx->p == lx->end) {
		t->type = TOK_END;
		t->p = lx->p;
		t->len = 0;
		return 0;
	}
	c = (unsigned char)*lx->p;
	if (c == '"')
		return lex_delimited(lx, t, '"', TOK_QUOTED,
		    "unterminated quoted string");
	if (c == '[')
		return lex_delimited(lx, t, ']', TOK_LITERAL,
		    "unterminated domain literal");
	if (is_atext(c)) {
		t->type = TOK_ATOM;
		t->p = lx->p;
		while (lx->p < lx->end && is_atext((unsigned char)*lx->p))
			lx->p++;
		t->len = (size_t)(lx->p - t->p);
		return 0;
	}
	if (strchr("<>:;,@", c) != NULL && c != '\0') {
		t->type = TOK_SPECIAL;
		t->p = lx->p++;
		t->len = 1;
		return 0;
	}
	if (c < 0x20 || c == 0x7f)
		return lex_fail(lx, "control character in address");
	snprintf(lx->why, lx->whysize, "unexpected '%c' in address", c);
	return -1;
}

static int
tok_is(const struct tok *t, char c)
{
	return t->type == TOK_SPECIAL && t->p[0] == c;
}

struct spec {
	char		 buf[ADDR_MAX + 1];
	size_t		 len;
	const char	*end;		/* just past its last token */
	int	at;		/* saw '@' */
	size_t	atpos;		/* where in buf */
	int	ndomain;	/* tokens after '@' */
	int	nlocal;
};

static int
spec_add(struct spec *s, const struct tok *t)
{
	if (s->len + t->len > ADDR_MAX)
		return -1;
	memcpy(s->buf + s->len, t->p, t->len);
	s->len += t->len;
	s->buf[s->len] = '\0';
	return 0;
}

static int
domain_ok(const char *d)
{
	const char *p;

	if (*d == '[')
		return 1;
	if (*d == '.' || *d == '\0' || d[strlen(d) - 1] == '.' ||
	    strstr(d, "..") != NULL)
		return 0;
	for (p = d; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || (unsigned char)*p >= 0x80))
			return 0;
	return 1;
}

/*
 * Collect the tokens of one addr-spec, stopping at (and leaving in *t)
 * the first token that cannot be part of it.
 */
static int
parse_spec(struct lexer *lx, struct tok *t, struct spec *s)
{
	memset(s, 0, sizeof(*s));
	for (;;) {
		if (t->type == TOK_ATOM || t->type == TOK_QUOTED ||
		    (t->type == TOK_LITERAL && s->at)) {
			/* Words only join across a dot: "a . b", not "a b". */
			if ((s->at ? s->ndomain : s->nlocal) > 0 &&
			    s->buf[s->len - 1] != '.' && t->p[0] != '.')
				return lex_fail(lx, "space inside address");
			if (spec_add(s, t) == -1)
				return lex_fail(lx, "address too long");
			s->end = t->p + t->len;
			if (s->at)
				s->ndomain++;
			else
				s->nlocal++;
		} else if (tok_is(t, '@') && !s->at && s->nlocal > 0) {
			s->atpos = s->len;
			if (spec_add(s, t) == -1)
				return lex_fail(lx, "address too long");
			s->at = 1;
		} else
			break;
		if (lex_next(lx, t) == -1)
			return -1;
	}
	if (s->nlocal == 0)
		return lex_fail(lx, "missing address");
	if (s->at && (s->ndomain == 0 ||
	    !domain_ok(s->buf + s->atpos + 1)))
		return lex_fail(lx, "bad domain in address");
	return 0;
}

/* Skip an obsolete source route "@a,@b:" inside angle brackets. */
static int
skip_route(struct lexer *lx, struct tok *t)
{
	if (!tok_is(t, '@'))
		return 0;
	while (!tok_is(t, ':')) {
		if (t->type == TOK_END || tok_is(t, '>'))
			return lex_fail(lx, "bad source route");
		if (lex_next(lx, t) == -1)
			return -1;
	}
	return lex_next(lx, t);
}

/* Parse "<spec>" starting at '<'; leaves the token after '>' in *t. */
static int
parse_angle(struct lexer *lx, struct tok *t, struct spec *s,
    struct addr_span *sp, const char *str)
{
	if (lex_next(lx, t) == -1 || skip_route(lx, t) == -1)
		return -1;
	sp->spec_start = (size_t)(t->p - str);
	if (parse_spec(lx, t, s) == -1)
		return -1;
	sp->spec_end = (size_t)(s->end - str);
	if (!tok_is(t, '>'))
		return lex_fail(lx, "missing '>' in address");
	sp->mbox_end = (size_t)(t->p + 1 - str);
	return lex_next(lx, t);
}

/*
 * The parser proper.  For every mailbox it appends the addr-spec to out
 * and, when spans is not NULL, where the spec and the whole mailbox lie
 * in str.
 */
static int
addr_parse(const char *str, size_t len, struct strlist *out,
    struct addr_spans *spans, char *why, size_t whysize)
{
	struct lexer lx = { str, str + len, why, whysize };
	struct tok t, first;
	struct spec s;
	struct addr_span sp;
	int in_group = 0;

	if (lex_next(&lx, &t) == -1)
		return -1;
	while (t.type != TOK_END) {
		if (tok_is(&t, ',') || (in_group && tok_is(&t, ';'))) {
			if (tok_is(&t, ';'))
				in_group = 0;
			if (lex_next(&lx, &t) == -1)
				return -1;
			continue;
		}
		/*
		 * A mailbox or a group: read a phrase or a spec.  A phrase
		 * followed by ':' opens a group, by '<' a name-addr.
		 */
		first = t;
		while (t.type == TOK_ATOM || t.type == TOK_QUOTED) {
			if (lex_next(&lx, &t) == -1)
				return -1;
		}
		if (tok_is(&t, ':') && !in_group) {
			in_group = 1;
			if (lex_next(&lx, &t) == -1)
				return -1;
			continue;
		}
		sp.mbox_start = (size_t)(first.p - str);
		if (tok_is(&t, '<')) {
			if (parse_angle(&lx, &t, &s, &sp, str) == -1)
				return -1;
		} else {
			/* Re-read the phrase as a bare addr-spec. */
			lx.p = first.p;
			if (lex_next(&lx, &t) == -1)
				return -1;
			sp.spec_start = (size_t)(t.p - str);
			if (parse_spec(&lx, &t, &s) == -1)
				return -1;
			sp.spec_end = (size_t)(s.end - str);
			sp.mbox_end = sp.spec_end;
		}
		if (!(t.type == TOK_END || tok_is(&t, ',') ||
		    (in_group && tok_is(&t, ';'))))
			return lex_fail(&lx, "unexpected text after address");
		strlist_add(out, s.buf);
		if (spans != NULL)
			addr_spans_add(spans, &sp);
	}
	if (in_group)
		return lex_fail(&lx, "group not closed with ';'");
	return 0;
}

int
addr_parse_list(const char *str, size_t len, struct strlist *out, char *why,
    size_t whysize)
{
	return addr_parse(str, len, out, NULL, why, whysize);
}

int
addr_parse_spans(const char *str, size_t len, struct strlist *out,
    struct addr_spans *spans, char *why, size_t whysize)
{
	return addr_parse(str, len, out, spans, why, whysize);
}

void
addr_spans_init(struct addr_spans *sp)
{
	sp->v = NULL;
	sp->n = sp->cap = 0;
}

void
addr_spans_add(struct addr_spans *sp, const struct addr_span *one)
{
	if (sp->n == sp->cap) {
		sp->cap = sp->cap ? sp->cap * 2 : 8;
		sp->v = xrealloc(sp->v, sp->cap * sizeof(*sp->v));
	}
	sp->v[sp->n++] = *one;
}

void
addr_spans_release(struct addr_spans *sp)
{
	free(sp->v);
	addr_spans_init(sp);
}

int
addr_check_mailbox(const char *str)
{
	struct strlist l;
	char why[128];
	size_t len = strlen(str);
	int ok;

	if (len == 0)
		return -1;
	strlist_init(&l);
	ok = addr_parse_list(str, len, &l, why, sizeof(why)) == 0 &&
	    l.n == 1;
	strlist_release(&l);
	return ok ? 0 : -1;
}

int
addr_check_spec(const char *str)
{
	struct strlist l;
	char why[128];
	size_t len = strlen(str);
	int ok;

	if (len == 0)
		return -1;
	strlist_init(&l);
	ok = addr_parse_list(str, len, &l, why, sizeof(why)) == 0 &&
	    l.n == 1 && strcmp(l.v[0], str) == 0;
	strlist_release(&l);
	return ok ? 0 : -1;
}

int
addr_has_domain(const char *s)
{
	const char *at = strrchr(s, '@');

	/* An '@' inside a quoted local part does not count. */
	return at != NULL && strchr(at, '"') == NULL;
}
