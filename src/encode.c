/*
 * encode.c - base64 and quoted-printable bodies, RFC 2047 encoded-words
 * and RFC 2231 parameters.
 *
 * The body encoders are push filters with a few bytes of state: the
 * caller brings blocks of any size and a buffer the bound macros in
 * encode.h size; the encoders never read, write or allocate on their
 * own, so a MIME writer can stream a file of any size through them in
 * fixed memory.  Base64 is the hot one, run over every attachment: it
 * turns 12 input bits into two output characters with one table load,
 * and writes whole 76-column lines from 57-byte blocks with loads of 8
 * bytes at a time.  Quoted-printable runs over text bodies, one byte at
 * a time through a small state machine.
 *
 * The header encoders work on one short string at a time and write
 * through a "sink" that counts what does not fit, which gives them
 * snprintf(3) semantics and lets them measure an encoding before
 * choosing it.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "encode.h"
#include "util.h"

static const char hexdigits[] = "0123456789ABCDEF";

/*
 * Base64.
 */

/*
 * Every pair of base64 characters, indexed by the 12 bits they encode.
 * The preprocessor writes the table from the alphabet, in two copies of
 * the list because a macro cannot expand inside itself.
 */
#define B64_ALPHA1(X, a)						\
	X(a, 'A') X(a, 'B') X(a, 'C') X(a, 'D') X(a, 'E') X(a, 'F')	\
	X(a, 'G') X(a, 'H') X(a, 'I') X(a, 'J') X(a, 'K') X(a, 'L')	\
	X(a, 'M') X(a, 'N') X(a, 'O') X(a, 'P') X(a, 'Q') X(a, 'R')	\
	X(a, 'S') X(a, 'T') X(a, 'U') X(a, 'V') X(a, 'W') X(a, 'X')	\
	X(a, 'Y') X(a, 'Z') X(a, 'a') X(a, 'b') X(a, 'c') X(a, 'd')	\
	X(a, 'e') X(a, 'f') X(a, 'g') X(a, 'h') X(a, 'i') X(a, 'j')	\
	X(a, 'k') X(a, 'l') X(a, 'm') X(a, 'n') X(a, 'o') X(a, 'p')	\
	X(a, 'q') X(a, 'r') X(a, 's') X(a, 't') X(a, 'u') X(a, 'v')	\
	X(a, 'w') X(a, 'x') X(a, 'y') X(a, 'z') X(a, '0') X(a, '1')	\
	X(a, '2') X(a, '3') X(a, '4') X(a, '5') X(a, '6') X(a, '7')	\
	X(a, '8') X(a, '9') X(a, '+') X(a, '/')
#define B64_ALPHA2(X, a)						\
	X(a, 'A') X(a, 'B') X(a, 'C') X(a, 'D') X(a, 'E') X(a, 'F')	\
	X(a, 'G') X(a, 'H') X(a, 'I') X(a, 'J') X(a, 'K') X(a, 'L')	\
	X(a, 'M') X(a, 'N') X(a, 'O') X(a, 'P') X(a, 'Q') X(a, 'R')	\
	X(a, 'S') X(a, 'T') X(a, 'U') X(a, 'V') X(a, 'W') X(a, 'X')	\
	X(a, 'Y') X(a, 'Z') X(a, 'a') X(a, 'b') X(a, 'c') X(a, 'd')	\
	X(a, 'e') X(a, 'f') X(a, 'g') X(a, 'h') X(a, 'i') X(a, 'j')	\
	X(a, 'k') X(a, 'l') X(a, 'm') X(a, 'n') X(a, 'o') X(a, 'p')	\
	X(a, 'q') X(a, 'r') X(a, 's') X(a, 't') X(a, 'u') X(a, 'v')	\
	X(a, 'w') X(a, 'x') X(a, 'y') X(a, 'z') X(a, '0') X(a, '1')	\
	X(a, '2') X(a, '3') X(a, '4') X(a, '5') X(a, '6') X(a, '7')	\
	X(a, '8') X(a, '9') X(a, '+') X(a, '/')
#define B64_PAIR(a, b)		{ a, b },
#define B64_ROW(unused, a)	B64_ALPHA2(B64_PAIR, a)

static const char b64_pairs[4096][2] = { B64_ALPHA1(B64_ROW, 0) };

/*
 * Big-endian loads written byte by byte: portable, and compilers turn
 * them into one load and a byte swap.
 */
static inline uint64_t
load_be64(const unsigned char *p)
{
	return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 |
	    (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
	    (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
	    (uint64_t)p[6] << 8 | (uint64_t)p[7];
}

/* Encode the 3 bytes at in as 4 characters. */
static inline void
b64_group(const unsigned char *in, char *out)
{
	uint32_t v = (uint32_t)in[0] << 16 | (uint32_t)in[1] << 8 | in[2];

	memcpy(out, b64_pairs[v >> 12], 2);
	memcpy(out + 2, b64_pairs[v & 0xfff], 2);
}

/* Encode the 6 bytes at in as 8 characters; reads 8 bytes. */
static inline void
b64_group2(const unsigned char *in, char *out)
{
	uint64_t v = load_be64(in);

	memcpy(out, b64_pairs[v >> 52], 2);
	memcpy(out + 2, b64_pairs[(v >> 40) & 0xfff], 2);
	memcpy(out + 4, b64_pairs[(v >> 28) & 0xfff], 2);
	memcpy(out + 6, b64_pairs[(v >> 16) & 0xfff], 2);
}

/*
 * Encode one full line: 57 bytes into 76 characters and CRLF.  The
 * last 8-byte load starts at byte 48 and so stays inside the line.
 */
static inline void
b64_line(const unsigned char *in, char *out)
{
	b64_group2(in, out);
	b64_group2(in + 6, out + 8);
	b64_group2(in + 12, out + 16);
	b64_group2(in + 18, out + 24);
	b64_group2(in + 24, out + 32);
	b64_group2(in + 30, out + 40);
	b64_group2(in + 36, out + 48);
	b64_group2(in + 42, out + 56);
	b64_group2(in + 48, out + 64);
	b64_group(in + 54, out + 72);
	out[76] = '\r';
	out[77] = '\n';
}

/* Write one group at the current column, ending the line when full. */
static inline char *
b64_put(struct b64_enc *e, const unsigned char *in, char *o)
{
	b64_group(in, o);
	o += 4;
	e->col += 4;
	if (e->col == B64_LINE_CHARS) {
		*o++ = '\r';
		*o++ = '\n';
		e->col = 0;
	}
	return o;
}

void
b64_init(struct b64_enc *e)
{
	memset(e, 0, sizeof(*e));
}

size_t
b64_encode_bound(size_t len)
{
	return B64_ENCODE_BOUND(len);
}

size_t
b64_encode(struct b64_enc *e, const unsigned char *in, size_t len,
    char *out)
{
	unsigned char g[3];
	char *o = out;
	size_t need;

	/* Complete the group the last call left open. */
	if (e->ncarry > 0) {
		need = 3 - e->ncarry;
		if (len < need) {
			memcpy(e->carry + e->ncarry, in, len);
			e->ncarry += (unsigned int)len;
			return 0;
		}
		memcpy(g, e->carry, e->ncarry);
		memcpy(g + e->ncarry, in, need);
		in += need;
		len -= need;
		e->ncarry = 0;
		o = b64_put(e, g, o);
	}
	/* Finish the current line group by group... */
	while (e->col != 0 && len >= 3) {
		o = b64_put(e, in, o);
		in += 3;
		len -= 3;
	}
	/* ...then whole lines, where nearly all the time goes. */
	if (e->col == 0) {
		while (len >= B64_LINE_BYTES) {
			b64_line(in, o);
			in += B64_LINE_BYTES;
			len -= B64_LINE_BYTES;
			o += B64_LINE_CHARS + 2;
		}
	}
	while (len >= 3) {
		o = b64_put(e, in, o);
		in += 3;
		len -= 3;
	}
	memcpy(e->carry, in, len);
	e->ncarry = (unsigned int)len;
	return (size_t)(o - out);
}

size_t
b64_finish(struct b64_enc *e, char *out)
{
	unsigned char g[3] = { 0, 0, 0 };
	char *o = out;

	if (e->ncarry > 0) {
		memcpy(g, e->carry, e->ncarry);
		b64_group(g, o);
		if (e->ncarry == 1)
			o[2] = '=';
		o[3] = '=';
		o += 4;
		e->col += 4;
	}
	if (e->col > 0) {
		*o++ = '\r';
		*o++ = '\n';
	}
	b64_init(e);
	return (size_t)(o - out);
}

uint64_t
b64_encoded_size(uint64_t len)
{
	uint64_t chars = (len + 2) / 3 * 4;

	return chars + (chars + B64_LINE_CHARS - 1) / B64_LINE_CHARS * 2;
}

/* The alphabet's ranges, without a search: decoding trust stores. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
b64_decode(const char *in, size_t len, unsigned char *out, size_t *outlen)
{
	uint32_t acc = 0;
	size_t i, n = 0;
	int v, nq = 0, npad = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			/* Padding fills the last one or two places only. */
			if (nq < 2)
				return -1;
			npad++;
			acc <<= 6;
			nq++;
		} else {
			if (npad > 0 || (v = b64_value(c)) == -1)
				return -1;
			acc = acc << 6 | (uint32_t)v;
			nq++;
		}
		if (nq == 4) {
			out[n++] = (unsigned char)(acc >> 16);
			if (npad < 2)
				out[n++] = (unsigned char)(acc >> 8);
			if (npad < 1)
				out[n++] = (unsigned char)acc;
			nq = 0;
			acc = 0;
			if (npad > 0)
				npad = 3;	/* nothing may follow */
		}
	}
	if (nq != 0)
		return -1;
	*outlen = n;
	return 0;
}

/*
 * Quoted-printable.
 *
 * Three things make the encoder hold input back: a blank, which must
 * be encoded if a line break follows it; a CR, which is a line break
 * only if LF follows it; and, at the start of a line, a prefix of
 * "From ", which is encoded only if it is complete.  Only the last
 * blank of a run is held, since the ones before it are not at the end
 * of the line whatever comes next.
 */

static const char qp_from[] = "From ";

/*
 * Write w bytes as one unit, after a soft line break if the line would
 * leave no room for the '=' of a later one.
 */
static char *
qp_put(struct qp_enc *q, char *o, const char *s, unsigned int w)
{
	if (q->col + w > QP_LINE_MAX - 1) {
		memcpy(o, "=\r\n", 3);
		o += 3;
		q->col = 0;
	}
	memcpy(o, s, w);
	q->col += w;
	return o + w;
}

static char *
qp_hex(struct qp_enc *q, char *o, unsigned char c)
{
	char t[3] = { '=', hexdigits[c >> 4], hexdigits[c & 0xf] };

	return qp_put(q, o, t, 3);
}

/* 1 when a one-column character written now would begin a line. */
static int
qp_at_start(const struct qp_enc *q)
{
	return q->col == 0 || q->col + 1 > QP_LINE_MAX - 1;
}

/* Write a byte that needs no look-ahead. */
static char *
qp_char(struct qp_enc *q, char *o, unsigned char c)
{
	char t = (char)c;

	if (c == '=' || c >= 0x7f || (c < 0x20 && c != '\t') ||
	    (c == '.' && qp_at_start(q)))
		return qp_hex(q, o, c);
	return qp_put(q, o, &t, 1);
}

/* Write the held blank: encoded when it ends a line, else as it is. */
static char *
qp_flush_ws(struct qp_enc *q, char *o, int at_eol)
{
	unsigned char c = q->ws;

	if (c == 0)
		return o;
	q->ws = 0;
	if (at_eol)
		return qp_hex(q, o, c);
	return qp_char(q, o, c);
}

/* The held "From " prefix turned out to be something else. */
static char *
qp_flush_from(struct qp_enc *q, char *o)
{
	unsigned int i, n = q->from;

	q->from = 0;
	for (i = 0; i < n; i++)
		o = qp_char(q, o, (unsigned char)qp_from[i]);
	return o;
}

static char *
qp_eol(struct qp_enc *q, char *o)
{
	o = qp_flush_ws(q, o, 1);
	o = qp_flush_from(q, o);
	*o++ = '\r';
	*o++ = '\n';
	q->col = 0;
	return o;
}

static char *
qp_byte(struct qp_enc *q, char *o, unsigned char c)
{
	if (q->cr) {
		q->cr = 0;
		if (c == '\n')
			return qp_eol(q, o);
		o = qp_flush_ws(q, o, 0);
		o = qp_hex(q, o, '\r');
	}
	if (q->from > 0) {
		if (c == (unsigned char)qp_from[q->from]) {
			if (++q->from < sizeof(qp_from) - 1)
				return o;
			/* Encode the 'F'; the blank is held as any other. */
			q->from = 0;
			o = qp_hex(q, o, 'F');
			o = qp_put(q, o, "rom", 3);
			q->ws = c;
			return o;
		}
		o = qp_flush_from(q, o);
	}
	switch (c) {
	case '\n':
		return qp_eol(q, o);
	case '\r':
		q->cr = 1;
		return o;
	case ' ':
	case '\t':
		o = qp_flush_ws(q, o, 0);
		q->ws = c;
		return o;
	}
	o = qp_flush_ws(q, o, 0);
	if (c == 'F' && qp_at_start(q)) {
		q->from = 1;
		return o;
	}
	return qp_char(q, o, c);
}

/* A byte that needs neither encoding nor look-ahead in mid-line. */
static inline int
qp_plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '=';
}

static inline int
is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

void
qp_init(struct qp_enc *q)
{
	memset(q, 0, sizeof(*q));
}

size_t
qp_encode(struct qp_enc *q, const unsigned char *in, size_t len, char *out)
{
	char *o = out;
	size_t i = 0;

	while (i < len) {
		/*
		 * Most text is printable characters in mid-line with
		 * nothing held, and blanks followed by one: they go out as
		 * they are, without the state machine.
		 */
		if (q->ws == 0 && q->cr == 0 && q->from == 0 && q->col > 0) {
			for (; i < len && q->col < QP_LINE_MAX - 1; i++) {
				if (qp_plain(in[i]))
					*o++ = (char)in[i];
				else if (is_blank(in[i]) && i + 1 < len &&
				    qp_plain(in[i + 1]) &&
				    q->col < QP_LINE_MAX - 2) {
					*o++ = (char)in[i++];
					*o++ = (char)in[i];
					q->col++;
				} else
					break;
				q->col++;
			}
			if (i == len)
				break;
		}
		o = qp_byte(q, o, in[i++]);
	}
	return (size_t)(o - out);
}

size_t
qp_finish(struct qp_enc *q, char *out)
{
	char *o = out;

	if (q->cr) {
		o = qp_flush_ws(q, o, 0);
		o = qp_hex(q, o, '\r');
	}
	o = qp_flush_ws(q, o, 1);
	o = qp_flush_from(q, o);
	qp_init(q);
	return (size_t)(o - out);
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
qp_decode(const char *in, size_t len, unsigned char *out, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, j, n = 0, blanks = 0;
	int hi, lo;

	while (i < len) {
		if (p[i] == '=') {
			/* A soft break: '=', maybe blanks, then CRLF or end. */
			for (j = i + 1; j < len && (p[j] == ' ' ||
			    p[j] == '\t'); j++)
				;
			if (j == len || (p[j] == '\r' && j + 1 < len &&
			    p[j + 1] == '\n')) {
				i = j == len ? j : j + 2;
				blanks = 0;
				continue;
			}
			if (i + 2 >= len || (hi = hex_value(p[i + 1])) == -1 ||
			    (lo = hex_value(p[i + 2])) == -1)
				return -1;
			out[n++] = (unsigned char)(hi << 4 | lo);
			blanks = 0;
			i += 3;
		} else if (p[i] == '\r') {
			if (i + 1 == len || p[i + 1] != '\n')
				return -1;
			/* Blanks before a line break were added in transit. */
			n -= blanks;
			blanks = 0;
			out[n++] = '\r';
			out[n++] = '\n';
			i += 2;
		} else if (p[i] == ' ' || p[i] == '\t') {
			out[n++] = p[i++];
			blanks++;
		} else if (p[i] < 0x20 || p[i] >= 0x7f)
			return -1;
		else {
			out[n++] = p[i++];
			blanks = 0;
		}
	}
	*outlen = n - blanks;
	return 0;
}

/*
 * Header text.
 */

/*
 * Where header output goes: bytes past the end of the buffer are
 * counted but not stored, so a call with no buffer measures.
 */
struct sink {
	char	*buf;
	size_t	 size;
	size_t	 len;
};

static void
sink_init(struct sink *s, char *buf, size_t size)
{
	s->buf = buf;
	s->size = size;
	s->len = 0;
}

static void
sink_put(struct sink *s, const char *p, size_t n)
{
	size_t room;

	if (s->len < s->size) {
		room = s->size - s->len;
		memcpy(s->buf + s->len, p, n < room ? n : room);
	}
	s->len += n;
}

static void
sink_putc(struct sink *s, char c)
{
	sink_put(s, &c, 1);
}

/* NUL-terminate what fits and return the full length. */
static int
sink_done(struct sink *s)
{
	if (s->size > 0)
		s->buf[s->len < s->size ? s->len : s->size - 1] = '\0';
	return (int)s->len;
}

/*
 * 0 when the text is valid UTF-8 of at most ENCODE_TEXT_MAX bytes and,
 * unless controls is set, has no control character other than TAB.
 */
static int
text_check(const unsigned char *p, size_t len, int controls)
{
	size_t i, n;

	if (len > ENCODE_TEXT_MAX)
		return -1;
	for (i = 0; i < len; i += n) {
		if ((n = utf8_len(p + i, len - i)) == 0)
			return -1;
		if (!controls && (p[i] == 0x7f || (p[i] < 0x20 &&
		    p[i] != '\t')))
			return -1;
	}
	return 0;
}

/* 1 when the text is printable ASCII and blanks, without "=?". */
static int
is_plain(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] >= 0x7f)
			return 0;
		if (p[i] == '=' && i + 1 < len && p[i + 1] == '?')
			return 0;
	}
	return 1;
}

/*
 * Copy ASCII text, folding before a blank that follows a word whenever
 * the next word would overrun ENCODE_LINE_MAX.  Never folds at the start,
 * or before trailing blanks, as a line of blanks only is not allowed
 * (RFC 5322 section 3.2.2).  With quote, the text goes inside double
 * quotes with '"' and '\' escaped; folding inside a quoted string is
 * allowed, and unfolding removes only the CRLF.  Returns the length of
 * the longest line written, so that callers can check the hard limit.
 */
static size_t
fold_plain(struct sink *s, const unsigned char *p, size_t len, size_t used,
    int quote)
{
	size_t i, j, k, w, col = used, longest = 0;

	if (quote) {
		sink_putc(s, '"');
		col++;
	}
	for (i = 0; i < len; i = j) {
		/* One segment: blanks, then a word. */
		w = 0;
		for (j = i; j < len && is_blank(p[j]); j++)
			w++;
		for (; j < len && !is_blank(p[j]); j++)
			w += quote && (p[j] == '"' || p[j] == '\\') ? 2 : 1;
		/* The closing quote stays with the last word. */
		if (quote && j == len)
			w++;
		if (i > 0 && !is_blank(p[j - 1]) && col + w > ENCODE_LINE_MAX) {
			sink_put(s, "\r\n", 2);
			if (col > longest)
				longest = col;
			col = 0;
		}
		for (k = i; k < j; k++) {
			if (quote && (p[k] == '"' || p[k] == '\\'))
				sink_putc(s, '\\');
			sink_putc(s, (char)p[k]);
		}
		col += w;
	}
	if (quote) {
		sink_putc(s, '"');
		if (len == 0)
			col++;
	}
	return col > longest ? col : longest;
}

/* RFC 5322 atext. */
static int
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* 1 when the text is atoms separated by single spaces. */
static int
is_atoms(const unsigned char *p, size_t len)
{
	size_t i;

	if (len == 0 || p[0] == ' ' || p[len - 1] == ' ')
		return 0;
	for (i = 0; i < len; i++) {
		if (p[i] == ' ' ? p[i + 1] == ' ' : !is_atext(p[i]))
			return 0;
	}
	return 1;
}

/*
 * Encoded-words.  "=?UTF-8?Q?" and "?=" cost 12 columns of the 75 an
 * encoded-word may have.
 */
#define EW_OVERHEAD	12

/*
 * Whether Q writes c as it is.  In unstructured text that is printable
 * ASCII but '=', '?' and '_' (RFC 2047 section 4.2); in a phrase only
 * the few characters section 5 (3) lists.  A space becomes '_'.
 */
static int
q_literal(unsigned char c, int phrase)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	if (phrase)
		return c != '\0' && strchr("!*+-/", c) != NULL;
	return c > 0x20 && c < 0x7f && c != '=' && c != '?' && c != '_';
}

static size_t
q_cost(unsigned char c, int phrase)
{
	return c == ' ' || q_literal(c, phrase) ? 1 : 3;
}

/*
 * How many bytes of whole characters from p fit in an encoded-word
 * whose encoded text may be room columns long.
 */
static size_t
ew_take(const unsigned char *p, size_t len, size_t room, int b64,
    int phrase)
{
	size_t i = 0, n, k, cost = 0, add;

	while (i < len) {
		n = utf8_len(p + i, len - i);
		if (b64)
			add = (i + n + 2) / 3 * 4 - cost;
		else
			for (add = 0, k = 0; k < n; k++)
				add += q_cost(p[i + k], phrase);
		if (cost + add > room)
			break;
		cost += add;
		i += n;
	}
	return i;
}

static void
ew_word(struct sink *s, const unsigned char *p, size_t n, int b64,
    int phrase)
{
	struct b64_enc e;
	char buf[B64_ENCODE_BOUND(ENCODE_WORD_MAX) + B64_FINISH_MAX];
	size_t i, k;

	sink_put(s, b64 ? "=?UTF-8?B?" : "=?UTF-8?Q?", 10);
	if (b64) {
		/* n is at most 45 here, so no line break gets in. */
		b64_init(&e);
		k = b64_encode(&e, p, n, buf);
		k += b64_finish(&e, buf + k);
		sink_put(s, buf, k - 2);
	} else {
		for (i = 0; i < n; i++) {
			if (p[i] == ' ')
				sink_putc(s, '_');
			else if (q_literal(p[i], phrase))
				sink_putc(s, (char)p[i]);
			else {
				sink_putc(s, '=');
				sink_putc(s, hexdigits[p[i] >> 4]);
				sink_putc(s, hexdigits[p[i] & 0xf]);
			}
		}
	}
	sink_put(s, "?=", 2);
}

/*
 * How many bytes of whole characters fit in an encoded-word that starts
 * at column col.
 */
static size_t
ew_fit(const unsigned char *p, size_t len, size_t col, int b64, int phrase)
{
	size_t room = col < ENCODE_LINE_MAX ? ENCODE_LINE_MAX - col : 0;

	if (room > ENCODE_WORD_MAX)
		room = ENCODE_WORD_MAX;
	if (room <= EW_OVERHEAD)
		return 0;
	return ew_take(p, len, room - EW_OVERHEAD, b64, phrase);
}

/*
 * Write the whole text as encoded-words, each filling a line: the
 * first from column used, or on a line of its own when not even one
 * character fits there, the others after "CRLF SP".  Only folding
 * separates the words; white space between two encoded-words is not
 * part of the text (RFC 2047 section 6.2), so every space of the text
 * is inside a word.
 */
static void
ew_encode(struct sink *s, const unsigned char *p, size_t len, size_t used,
    int b64, int phrase)
{
	size_t i, n;

	for (i = 0; i < len; i += n) {
		n = i == 0 ? ew_fit(p, len, used, b64, phrase) : 0;
		if (n == 0) {
			sink_put(s, "\r\n ", 3);
			n = ew_fit(p + i, len - i, 1, b64, phrase);
		}
		ew_word(s, p + i, n, b64, phrase);
	}
}

/* Encode as the shorter of Q and B. */
static void
ew_best(struct sink *s, const unsigned char *p, size_t len, size_t used,
    int phrase)
{
	struct sink q, b;

	sink_init(&q, NULL, 0);
	sink_init(&b, NULL, 0);
	ew_encode(&q, p, len, used, 0, phrase);
	ew_encode(&b, p, len, used, 1, phrase);
	ew_encode(s, p, len, used, b.len < q.len, phrase);
}

/* RFC 5322 section 2.1.1: the limit no line may pass. */
#define LINE_HARD_MAX	998

int
rfc2047_encode(const char *utf8, size_t len, size_t used, char *out,
    size_t outsize)
{
	const unsigned char *p = (const unsigned char *)utf8;
	struct sink s, m;

	if (text_check(p, len, 0) == -1)
		return -1;
	sink_init(&s, out, outsize);
	sink_init(&m, NULL, 0);
	if (is_plain(p, len) && fold_plain(&m, p, len, used, 0) <=
	    LINE_HARD_MAX)
		fold_plain(&s, p, len, used, 0);
	else
		ew_best(&s, p, len, used, 0);
	return sink_done(&s);
}

int
rfc2047_phrase(const char *utf8, size_t len, size_t used, char *out,
    size_t outsize)
{
	const unsigned char *p = (const unsigned char *)utf8;
	struct sink s, m;
	int quote;

	if (text_check(p, len, 0) == -1)
		return -1;
	sink_init(&s, out, outsize);
	sink_init(&m, NULL, 0);
	quote = !is_atoms(p, len);
	if (is_plain(p, len) && fold_plain(&m, p, len, used, quote) <=
	    LINE_HARD_MAX)
		fold_plain(&s, p, len, used, quote);
	else
		ew_best(&s, p, len, used, 1);
	return sink_done(&s);
}

/*
 * RFC 2231 attribute-char: a token character other than '*', '\'' and
 * '%', which the extended syntax gives a meaning.
 */
static int
is_attr_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("*'%()<>@,;:\\\"/[]?=", c) ==
	    NULL;
}

/* Columns one character takes percent-encoded. */
static size_t
pct_cost(const unsigned char *p, size_t n)
{
	size_t i, cost = 0;

	for (i = 0; i < n; i++)
		cost += is_attr_char(p[i]) ? 1 : 3;
	return cost;
}

static void
pct_put(struct sink *s, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (is_attr_char(p[i]))
			sink_putc(s, (char)p[i]);
		else {
			sink_putc(s, '%');
			sink_putc(s, hexdigits[p[i] >> 4]);
			sink_putc(s, hexdigits[p[i] & 0xf]);
		}
	}
}

/* Begin a parameter w columns wide: on this line if it fits. */
static void
rfc2231_start(struct sink *s, size_t used, size_t w)
{
	if (used + 2 + w <= ENCODE_LINE_MAX)
		sink_put(s, "; ", 2);
	else
		sink_put(s, ";\r\n ", 4);
}

/*
 * Write name*N*=... segments, each on its own line and ending in ';'
 * when another follows.  Returns -1 when a line cannot hold one
 * character.
 */
static int
rfc2231_split(struct sink *s, const char *name, const unsigned char *p,
    size_t len)
{
	char head[64];
	size_t i = 0, n, w, cost, room;
	unsigned int seg;
	int hl;

	for (seg = 0; i < len || seg == 0; seg++) {
		hl = snprintf(head, sizeof(head), " %s*%u*=%s", name, seg,
		    seg == 0 ? "UTF-8''" : "");
		if (hl < 0 || (size_t)hl >= sizeof(head) ||
		    (size_t)hl + 1 >= ENCODE_LINE_MAX)
			return -1;
		/* Keep a column for the ';' that may end the line. */
		room = ENCODE_LINE_MAX - (size_t)hl - 1;
		for (n = 0, cost = 0; i + n < len; n += w) {
			w = utf8_len(p + i + n, len - i - n);
			if (cost + pct_cost(p + i + n, w) > room)
				break;
			cost += pct_cost(p + i + n, w);
		}
		if (n == 0 && len > 0)
			return -1;
		sink_put(s, seg == 0 ? ";\r\n" : "\r\n", seg == 0 ? 3 : 2);
		sink_put(s, head, (size_t)hl);
		pct_put(s, p + i, n);
		i += n;
		if (i < len)
			sink_putc(s, ';');
	}
	return 0;
}

int
rfc2231_param(const char *name, const char *utf8value, size_t used,
    char *out, size_t outsize)
{
	const unsigned char *p = (const unsigned char *)utf8value;
	size_t i, len = strlen(utf8value), nlen = strlen(name), w;
	struct sink s, m;

	if (nlen == 0 || nlen > 32 || text_check(p, len, 1) == -1)
		return -1;
	for (i = 0; i < nlen; i++)
		if (!is_attr_char((unsigned char)name[i]))
			return -1;
	sink_init(&s, out, outsize);
	sink_init(&m, NULL, 0);

	/*
	 * name="value" when it fits on a line with the "; " before it.  A
	 * TAB would be legal in the quotes, but is safer percent-encoded.
	 */
	if (is_plain(p, len) && strchr(utf8value, '\t') == NULL) {
		fold_plain(&m, p, len, 0, 1);
		w = nlen + 1 + m.len;
		if (w + 2 <= ENCODE_LINE_MAX) {
			rfc2231_start(&s, used, w);
			sink_put(&s, name, nlen);
			sink_putc(&s, '=');
			fold_plain(&s, p, len, 0, 1);
			return sink_done(&s);
		}
	}

	/* name*=UTF-8''value, on the current line or the next. */
	w = nlen + 9 + pct_cost(p, len);
	if (w + 2 <= ENCODE_LINE_MAX) {
		rfc2231_start(&s, used, w);
		sink_put(&s, name, nlen);
		sink_put(&s, "*=UTF-8''", 9);
		pct_put(&s, p, len);
		return sink_done(&s);
	}
	if (rfc2231_split(&s, name, p, len) == -1)
		return -1;
	return sink_done(&s);
}
