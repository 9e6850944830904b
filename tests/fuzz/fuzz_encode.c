/*
 * fuzz_encode.c - the encoders of encode.h, each checked by decoding
 * what it wrote.
 *
 * Input layout: bytes 0-1 a split point, byte 2 a chunk size, byte 3
 * the header column already used, byte 4 an output buffer size (for
 * the snprintf-style calls) and the RFC 2231 parameter name; the rest
 * is the payload.
 *
 *  - base64 and quoted-printable: the payload is encoded once in one
 *    call and once streamed (split at the chosen point, the rest in
 *    chunks), every call writing into a buffer exactly as large as the
 *    bound macros promise (ASan catches a write past it).  Both must
 *    give the same text, in the documented layout (76-column base64
 *    lines of b64_encoded_size bytes in all; QP lines of at most 76
 *    characters, ASCII only, no blank before a line break, none
 *    starting with '.' or "From "), and decoding it with b64_decode /
 *    qp_decode must give the payload back (for QP, with every LF that
 *    is not after a CR turned into CRLF, as documented).  The decoders
 *    also get the raw payload.
 *  - rfc2047_encode and rfc2047_phrase: refused exactly when the
 *    payload is not valid UTF-8, has a control character other than TAB
 *    or is longer than ENCODE_TEXT_MAX; otherwise pure ASCII, folded
 *    only with CRLF and a blank, lines within 76 columns (the first
 *    counting the column given) except a line holding a single ASCII
 *    word, encoded-words of at most 75 characters holding whole UTF-8
 *    characters, and decoding (a small RFC 2047 decoder below) gives
 *    the payload back.  A call with a buffer too small writes a
 *    NUL-terminated prefix and returns the same length.
 *  - rfc2231_param: the same checks (controls are allowed and
 *    percent-encoded), decoding the quoted, the extended and the
 *    continued forms.
 */
#include "autoconf.h"

#include "encode.h"
#include "util.h"

#include "fuzz.h"

/* --- shared helpers --- */

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Length of the valid UTF-8 character at p, 0 when there is none. */
static size_t
utf8_char(const unsigned char *p, size_t len)
{
	size_t n, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static int
valid_utf8(const unsigned char *p, size_t len)
{
	size_t i, n;

	for (i = 0; i < len; i += n)
		if ((n = utf8_char(p + i, len - i)) == 0)
			return 0;
	return 1;
}

static int
has_control(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] == 0x7f || (p[i] < 0x20 && p[i] != '\t'))
			return 1;
	return 0;
}

static int
hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void
fail_text(const char *what, const void *in, size_t inlen, const char *out,
    size_t outlen, size_t used)
{
	fuzz_dump("input", in, inlen);
	fprintf(stderr, "column used: %zu\n", used);
	fuzz_dump("output", out, outlen);
	fuzz_fail("%s", what);
}

/* --- base64 --- */

static void
check_b64(const unsigned char *p, size_t len, size_t split, size_t chunk)
{
	struct b64_enc e;
	struct buf s = { NULL, 0, 0 };
	char *one, *tmp;
	unsigned char *back;
	size_t n1, i, k, col, backlen;

	b64_init(&e);
	one = xmalloc(b64_encode_bound(len) + B64_FINISH_MAX);
	n1 = b64_encode(&e, p, len, one);
	FUZZ_ASSERT(n1 <= b64_encode_bound(len), "wrote %zu, bound %zu", n1,
	    b64_encode_bound(len));
	n1 += b64_finish(&e, one + n1);

	/* The first piece may be empty: an empty call must be harmless. */
	buf_add(&s, "", 0);
	i = 0;
	k = split;
	do {
		if (k > len - i)
			k = len - i;
		tmp = xmalloc(b64_encode_bound(k));
		buf_add(&s, tmp, b64_encode(&e, p + i, k, tmp));
		free(tmp);
		i += k;
		k = chunk;
	} while (i < len);
	tmp = xmalloc(B64_FINISH_MAX);
	buf_add(&s, tmp, b64_finish(&e, tmp));
	free(tmp);

	if (s.len != n1 || memcmp(s.p, one, n1) != 0)
		fail_text("base64: streamed output differs from one call", p,
		    len, s.p, s.len, 0);
	FUZZ_ASSERT(n1 == b64_encoded_size(len), "base64: %zu bytes for %zu, "
	    "b64_encoded_size says %llu", n1, len,
	    (unsigned long long)b64_encoded_size(len));
	for (i = 0, col = 0; i < n1; i++) {
		if (one[i] == '\r') {
			FUZZ_ASSERT(i + 1 < n1 && one[i + 1] == '\n' &&
			    col > 0 && (col == B64_LINE_CHARS || i + 2 == n1),
			    "base64: line of %zu characters at %zu", col, i);
			i++;
			col = 0;
			continue;
		}
		FUZZ_ASSERT(one[i] == '=' ? i + 4 >= n1 :
		    strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/", one[i]) != NULL && one[i] != '\0',
		    "base64: 0x%02x at %zu", (unsigned char)one[i], i);
		col++;
	}
	FUZZ_ASSERT(col == 0, "base64: the last line has no CRLF");

	back = xmalloc(n1 / 4 * 3);
	if (b64_decode(one, n1, back, &backlen) != 0 || backlen != len ||
	    memcmp(back, p, len) != 0)
		fail_text("base64: decoding does not give the input back", p,
		    len, one, n1, 0);
	free(back);
	free(one);
	free(s.p);

	/* The decoder on its own, with whatever it is given. */
	back = xmalloc(len / 4 * 3);
	if (b64_decode((const char *)p, len, back, &backlen) == 0)
		FUZZ_ASSERT(backlen <= len / 4 * 3, "decoded %zu from %zu",
		    backlen, len);
	free(back);
}

/* --- quoted-printable --- */

static void
check_qp(const unsigned char *p, size_t len, size_t split, size_t chunk)
{
	struct qp_enc q;
	struct buf s = { NULL, 0, 0 }, want = { NULL, 0, 0 };
	char *one, *tmp;
	unsigned char *back;
	size_t n1, i, k, col, bol, backlen;

	qp_init(&q);
	one = xmalloc(QP_ENCODE_BOUND(len) + QP_FINISH_MAX);
	n1 = qp_encode(&q, p, len, one);
	n1 += qp_finish(&q, one + n1);

	buf_add(&s, "", 0);
	i = 0;
	k = split;
	do {
		if (k > len - i)
			k = len - i;
		tmp = xmalloc(QP_ENCODE_BOUND(k));
		buf_add(&s, tmp, qp_encode(&q, p + i, k, tmp));
		free(tmp);
		i += k;
		k = chunk;
	} while (i < len);
	tmp = xmalloc(QP_FINISH_MAX);
	buf_add(&s, tmp, qp_finish(&q, tmp));
	free(tmp);
	if (s.len != n1 || memcmp(s.p, one, n1) != 0)
		fail_text("QP: streamed output differs from one call", p, len,
		    s.p, s.len, 0);

	for (i = 0, col = 0, bol = 0; i < n1; i++) {
		unsigned char c = (unsigned char)one[i];

		if (c == '\r') {
			if (i + 1 >= n1 || one[i + 1] != '\n')
				fail_text("QP: bare CR", p, len, one, n1, 0);
			if (i > bol && (one[i - 1] == ' ' ||
			    one[i - 1] == '\t'))
				fail_text("QP: blank before a line break", p,
				    len, one, n1, 0);
			i++;
			col = 0;
			bol = i + 1;
			continue;
		}
		if (c == '\n' || c >= 0x7f || (c < 0x20 && c != '\t'))
			fail_text("QP: a byte that must be encoded", p, len,
			    one, n1, 0);
		if (i == bol && (c == '.' || (n1 - i >= 5 &&
		    memcmp(one + i, "From ", 5) == 0)))
			fail_text("QP: a line starts with '.' or \"From \"", p,
			    len, one, n1, 0);
		if (++col > QP_LINE_MAX)
			fail_text("QP: a line is too long", p, len, one, n1,
			    0);
	}
	if (n1 > bol && (one[n1 - 1] == ' ' || one[n1 - 1] == '\t'))
		fail_text("QP: blank at the end of the text", p, len, one, n1,
		    0);

	/* What decoding must give: LF not after CR becomes CRLF. */
	buf_add(&want, "", 0);
	for (i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			buf_add(&want, "\r", 1);
		buf_add(&want, p + i, 1);
	}
	back = xmalloc(n1);
	if (qp_decode(one, n1, back, &backlen) != 0 || backlen != want.len ||
	    memcmp(back, want.p, backlen) != 0)
		fail_text("QP: decoding does not give the input back", p, len,
		    one, n1, 0);
	free(back);
	free(want.p);
	free(one);
	free(s.p);

	back = xmalloc(len);
	if (qp_decode((const char *)p, len, back, &backlen) == 0)
		FUZZ_ASSERT(backlen <= len, "decoded %zu from %zu", backlen,
		    len);
	free(back);
}

/* --- header encoders: layout --- */

/*
 * ASCII only; CR only in CRLF, which a blank follows; lines within 76
 * columns, the first starting at used, except (when ok_long) one that
 * holds a single word.
 */
static void
check_layout(const char *what, const unsigned char *in, size_t inlen,
    const char *out, size_t n, size_t used, int ok_long)
{
	size_t i, start = 0, col, words;
	int first = 1;

	for (i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)out[i] : '\r';

		if (i < n && c == '\r' && (i + 2 >= n || out[i + 1] != '\n' ||
		    (out[i + 2] != ' ' && out[i + 2] != '\t')))
			fail_text(what, in, inlen, out, n, used);
		if (i < n && (c == '\n' ? i == 0 || out[i - 1] != '\r' :
		    c >= 0x7f || (c < 0x20 && c != '\t' && c != '\r')))
			fail_text(what, in, inlen, out, n, used);
		if (c != '\r')
			continue;
		/* A line: [start, i). */
		col = (first ? used : 0) + (i - start);
		if (col > ENCODE_LINE_MAX && i > start) {
			size_t k, end = i;
			int inword = 0;

			/*
			 * The text's trailing blanks stay on its last line
			 * (a line of blanks alone is not allowed): measure
			 * that line without them.
			 */
			if (ok_long && i == n) {
				if (end > start && out[end - 1] == '"')
					end--;
				while (end > start && (out[end - 1] == ' ' ||
				    out[end - 1] == '\t'))
					end--;
				if ((first ? used : 0) + (end - start) <=
				    ENCODE_LINE_MAX)
					goto next;
			}

			/*
			 * A phrase's quotes go with the words next to them:
			 * not words of their own.
			 */
			for (k = start, words = 0; k < end; k++) {
				int blank = out[k] == ' ' || out[k] == '\t' ||
				    (out[k] == '"' && (k == 0 || k == n - 1));

				if (!blank && !inword)
					words++;
				inword = !blank;
			}
			if (!ok_long || words > 1) {
				fprintf(stderr, "line of %zu columns: ", col);
				fail_text(what, in, inlen, out, n, used);
			}
		}
next:
		first = 0;
		start = i + 2;
		i++;
	}
}

/* --- RFC 2047 --- */

static int
ew_decode(const char *w, size_t n, int phrase, struct buf *into)
{
	struct buf raw = { NULL, 0, 0 };
	unsigned char *b;
	size_t i, blen;
	int b64, hi, lo;

	if (n > ENCODE_WORD_MAX || n < 12 || memcmp(w, "=?UTF-8?", 8) != 0 ||
	    (w[8] != 'B' && w[8] != 'Q') || w[9] != '?' ||
	    memcmp(w + n - 2, "?=", 2) != 0)
		return -1;
	b64 = w[8] == 'B';
	w += 10;
	n -= 12;
	buf_add(&raw, "", 0);
	if (b64) {
		b = xmalloc(n / 4 * 3 + 1);
		if (b64_decode(w, n, b, &blen) == -1 ||
		    memchr(w, ' ', n) || memchr(w, '\r', n)) {
			free(b);
			free(raw.p);
			return -1;
		}
		buf_add(&raw, b, blen);
		free(b);
	} else {
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)w[i];

			if (c == '_')
				buf_add(&raw, " ", 1);
			else if (c == '=') {
				if (i + 2 >= n || (hi = hexv(w[i + 1])) < 0 ||
				    (lo = hexv(w[i + 2])) < 0)
					goto bad;
				c = (unsigned char)(hi << 4 | lo);
				buf_add(&raw, &c, 1);
				i += 2;
			} else if (phrase ? !((c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    strchr("!*+-/", c) != NULL) :
			    (c <= 0x20 || c >= 0x7f || c == '?'))
				goto bad;
			else
				buf_add(&raw, &c, 1);
		}
	}
	/* Each word holds whole characters. */
	if (raw.len == 0 || !valid_utf8((unsigned char *)raw.p, raw.len))
		goto bad;
	buf_add(into, raw.p, raw.len);
	free(raw.p);
	return 0;
bad:
	free(raw.p);
	return -1;
}

/* Decode encoded-words separated by folds only. */
static int
ews_decode(const char *out, size_t n, int phrase, struct buf *into)
{
	size_t i = 0, k;

	if (n >= 3 && memcmp(out, "\r\n ", 3) == 0)
		i = 3;
	while (i < n) {
		for (k = i; k < n && out[k] != '\r'; k++)
			;
		if (ew_decode(out + i, k - i, phrase, into) == -1)
			return -1;
		if (k == n)
			break;
		if (n - k < 4 || memcmp(out + k, "\r\n ", 3) != 0)
			return -1;
		i = k + 3;
	}
	return 0;
}

static void
unfold(const char *out, size_t n, struct buf *into)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (out[i] == '\r' && i + 1 < n && out[i + 1] == '\n') {
			i++;
			continue;
		}
		buf_add(into, out + i, 1);
	}
}

static void
check_2047(const unsigned char *p, size_t len, size_t used, size_t small,
    int phrase)
{
	const char *what = phrase ? "rfc2047_phrase" : "rfc2047_encode";
	int (*fn)(const char *, size_t, size_t, char *, size_t) =
	    phrase ? rfc2047_phrase : rfc2047_encode;
	int ok = len <= ENCODE_TEXT_MAX && valid_utf8(p, len) &&
	    !has_control(p, len);
	struct buf dec = { NULL, 0, 0 };
	char *out;
	int n, n2;

	n = fn((const char *)p, len, used, NULL, 0);
	if (n == -1) {
		FUZZ_ASSERT(!ok, "%s refused valid text", what);
		return;
	}
	FUZZ_ASSERT(ok && n >= 0, "%s accepted text it must refuse (%d)",
	    what, n);
	out = xmalloc((size_t)n + 1);
	n2 = fn((const char *)p, len, used, out, (size_t)n + 1);
	FUZZ_ASSERT(n2 == n && out[n] == '\0' && strlen(out) == (size_t)n,
	    "%s: %d then %d bytes", what, n, n2);

	/* Too small a buffer: the same length, a terminated prefix. */
	if (small < (size_t)n + 1) {
		char *cut = xmalloc(small ? small : 1);

		n2 = fn((const char *)p, len, used, small ? cut : NULL, small);
		FUZZ_ASSERT(n2 == n, "%s: %d with a buffer of %zu, %d with "
		    "enough", what, n2, small, n);
		if (small > 0)
			FUZZ_ASSERT(cut[small - 1] == '\0' &&
			    memcmp(cut, out, small - 1) == 0,
			    "%s: the cut result is not a prefix", what);
		free(cut);
	}

	if (strstr(out, "=?") != NULL) {
		check_layout(what, p, len, out, (size_t)n, used, 0);
		buf_add(&dec, "", 0);
		if (ews_decode(out, (size_t)n, phrase, &dec) == -1)
			fail_text("RFC 2047: malformed encoded-words", p, len,
			    out, (size_t)n, used);
	} else {
		check_layout(what, p, len, out, (size_t)n, used, 1);
		buf_add(&dec, "", 0);
		unfold(out, (size_t)n, &dec);
		if (phrase && (dec.len != len || memcmp(dec.p, p, len) != 0)) {
			/* A quoted string: unquote it. */
			struct buf uq = { NULL, 0, 0 };
			size_t i;

			if (dec.len < 2 || dec.p[0] != '"' ||
			    dec.p[dec.len - 1] != '"')
				fail_text("rfc2047_phrase: neither atoms nor a "
				    "quoted string", p, len, out, (size_t)n,
				    used);
			buf_add(&uq, "", 0);
			for (i = 1; i + 1 < dec.len; i++) {
				if (dec.p[i] == '"')
					fail_text("rfc2047_phrase: '\"' inside "
					    "the quotes", p, len, out,
					    (size_t)n, used);
				if (dec.p[i] == '\\') {
					if (++i + 1 >= dec.len)
						fail_text("rfc2047_phrase: "
						    "'\\' escapes the closing "
						    "quote", p, len, out,
						    (size_t)n, used);
				}
				buf_add(&uq, dec.p + i, 1);
			}
			free(dec.p);
			dec = uq;
		}
	}
	if (dec.len != len || memcmp(dec.p, p, len) != 0) {
		fuzz_dump("decoded", dec.p, dec.len);
		fail_text("RFC 2047: decoding does not give the input back", p,
		    len, out, (size_t)n, used);
	}
	free(dec.p);
	free(out);
}

/* --- RFC 2231 --- */

static int
pct_decode(const char *s, size_t n, struct buf *into)
{
	size_t i;
	int hi, lo;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n || (hi = hexv(s[i + 1])) < 0 ||
			    (lo = hexv(s[i + 2])) < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c <= 0x20 || c >= 0x7f ||
		    strchr("*'()<>@,;:\\\"/[]?=", c) != NULL)
			return -1;
		buf_add(into, &c, 1);
	}
	return 0;
}

/* Decode the parameter: 0 and the value in into, or -1. */
static int
decode_2231(const char *name, const char *out, size_t n, struct buf *into)
{
	size_t nl = strlen(name), i, k;
	unsigned seg = 0;
	char head[64];
	const char *v;

	buf_add(into, "", 0);
	snprintf(head, sizeof(head), ";\r\n %s*0*=", name);
	if (n >= strlen(head) && memcmp(out, head, strlen(head)) == 0) {
		/* Continuations: " name*N*=...;" lines. */
		for (i = 3; i < n; seg++) {
			int hl = snprintf(head, sizeof(head), " %s*%u*=%s",
			    name, seg, seg == 0 ? "UTF-8''" : "");
			struct buf one = { NULL, 0, 0 };

			if (n - i < (size_t)hl ||
			    memcmp(out + i, head, (size_t)hl) != 0)
				return -1;
			i += (size_t)hl;
			for (k = i; k < n && out[k] != ';' && out[k] != '\r';)
				k++;
			buf_add(&one, "", 0);
			if (pct_decode(out + i, k - i, &one) == -1 ||
			    !valid_utf8((unsigned char *)one.p, one.len)) {
				free(one.p);
				return -1;
			}
			buf_add(into, one.p, one.len);
			free(one.p);
			if (k == n)
				return 0;
			if (out[k] == ';')
				k++;
			if (n - k < 3 || memcmp(out + k, "\r\n", 2) != 0)
				return -1;
			i = k + 2;
		}
		return -1;
	}
	if (n >= 2 && memcmp(out, "; ", 2) == 0)
		i = 2;
	else if (n >= 4 && memcmp(out, ";\r\n ", 4) == 0)
		i = 4;
	else
		return -1;
	if (n - i < nl || memcmp(out + i, name, nl) != 0)
		return -1;
	i += nl;
	v = out + i;
	if (n - i >= 9 && memcmp(v, "*=UTF-8''", 9) == 0)
		return pct_decode(v + 9, n - i - 9, into);
	if (n - i < 3 || v[0] != '=' || v[1] != '"' || out[n - 1] != '"')
		return -1;
	for (k = i + 2; k < n - 1; k++) {
		if (out[k] == '"' || out[k] == '\r')
			return -1;
		if (out[k] == '\\' && ++k >= n - 1)
			return -1;
		buf_add(into, out + k, 1);
	}
	return 0;
}

static void
check_2231(const unsigned char *p, size_t len, size_t used, size_t small,
    unsigned pick)
{
	static const char *const names[] = {
		"filename", "name", "x", "a-parameter-name-32-characters-x"
	};
	const char *name = names[pick % 4];
	char *value = xstrndup((const char *)p, len), *out;
	size_t vlen = strlen(value);
	int ok = vlen <= ENCODE_TEXT_MAX &&
	    valid_utf8((unsigned char *)value, vlen);
	struct buf dec = { NULL, 0, 0 };
	int n, n2;

	n = rfc2231_param(name, value, used, NULL, 0);
	if (n == -1) {
		FUZZ_ASSERT(!ok, "rfc2231_param refused a valid value");
		free(value);
		return;
	}
	FUZZ_ASSERT(ok, "rfc2231_param accepted a value it must refuse");
	out = xmalloc((size_t)n + 1);
	n2 = rfc2231_param(name, value, used, out, (size_t)n + 1);
	FUZZ_ASSERT(n2 == n && strlen(out) == (size_t)n,
	    "rfc2231_param: %d then %d bytes", n, n2);
	if (small < (size_t)n + 1 && small > 0) {
		char *cut = xmalloc(small);

		n2 = rfc2231_param(name, value, used, cut, small);
		FUZZ_ASSERT(n2 == n && cut[small - 1] == '\0' &&
		    memcmp(cut, out, small - 1) == 0,
		    "rfc2231_param: a cut result is not a prefix");
		free(cut);
	}
	/* The first line may be just the ';' at the caller's column. */
	check_layout("rfc2231_param layout", (unsigned char *)value, vlen, out,
	    (size_t)n, out[1] == '\r' ? 0 : used, 0);
	if (decode_2231(name, out, (size_t)n, &dec) == -1 ||
	    dec.len != vlen || memcmp(dec.p, value, vlen) != 0) {
		fuzz_dump("decoded", dec.p, dec.len);
		fail_text("rfc2231_param: decoding does not give the value "
		    "back", value, vlen, out, (size_t)n, used);
	}
	free(dec.p);
	free(out);
	free(value);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *p = data + 5;
	size_t len, split, chunk, used, small;

	if (size < 5)
		return 0;
	len = size - 5;
	split = ((size_t)data[0] << 8 | data[1]) % (len + 1);
	chunk = (size_t)data[2] % 80 + 1;
	used = (size_t)data[3] % 100;
	small = data[4];

	check_b64(p, len, split, chunk);
	check_qp(p, len, split, chunk);
	check_2047(p, len, used, small, 0);
	check_2047(p, len, used, small, 1);
	check_2231(p, len, used, small, data[4]);
	return 0;
}
