/*
 * test_encode.c - vectors and properties for encode.c: base64 and
 * quoted-printable against fixed outputs, streaming against one-shot
 * at every split point, round trips through the decoders on seeded
 * random data, and the layout rules of RFC 2047 and RFC 2231 output.
 * encode.bats checks the same encoders against Python's decoders.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "unit.h"

#define BIG	(64 * 1024)

static unsigned char	 data[BIG];
static char		 one[QP_ENCODE_BOUND(BIG) + QP_FINISH_MAX];
static char		 two[QP_ENCODE_BOUND(BIG) + QP_FINISH_MAX];
static unsigned char	 back[QP_ENCODE_BOUND(BIG)];

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

/* xorshift64: the same numbers on every run. */
static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void
fill_random(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)rnd();
}

/* Text-like bytes: the ones quoted-printable treats specially. */
static void
fill_text(unsigned char *p, size_t n)
{
	static const char pick[] = "aaaaaaaaaaaaaaaaFrom .=\t\t  \r\n\n\n"
	    "\xc3\xa9\x00\x7f\xff";
	size_t i;

	for (i = 0; i < n; i++) {
		if (rnd() % 97 == 0) {
			/* Long runs of blanks and words cross soft breaks. */
			memset(p + i, rnd() % 2 ? ' ' : 'x', n - i < 90 ?
			    n - i : 90);
			i += (n - i < 90 ? n - i : 90) - 1;
		} else
			p[i] = (unsigned char)pick[rnd() % (sizeof(pick) - 1)];
	}
}

/*
 * Base64.
 */

/* Encode in pieces cut at the given offsets (ascending, then 0). */
static size_t
b64_pieces(const unsigned char *in, size_t len, const size_t *cuts,
    char *out)
{
	struct b64_enc e;
	size_t at = 0, n = 0, k, next;

	b64_init(&e);
	for (;;) {
		next = *cuts != 0 && *cuts < len ? *cuts++ : len;
		k = b64_encode(&e, in + at, next - at, out + n);
		CHECK(k <= B64_ENCODE_BOUND(next - at), "bound %zu", next - at);
		n += k;
		at = next;
		if (at == len)
			break;
	}
	k = b64_finish(&e, out + n);
	CHECK(k <= B64_FINISH_MAX, "finish %zu", k);
	return n + k;
}

static size_t
b64_all(const unsigned char *in, size_t len, char *out)
{
	static const size_t none[] = { 0 };

	return b64_pieces(in, len, none, out);
}

struct b64_vector {
	const char	*in;
	size_t		 len;
	const char	*out;
};

static const struct b64_vector b64_vectors[] = {
	{ "", 0, "" },
	{ "f", 1, "Zg==\r\n" },
	{ "fo", 2, "Zm8=\r\n" },
	{ "foo", 3, "Zm9v\r\n" },
	{ "foob", 4, "Zm9vYg==\r\n" },
	{ "fooba", 5, "Zm9vYmE=\r\n" },
	{ "foobar", 6, "Zm9vYmFy\r\n" },
	{ "\0", 1, "AA==\r\n" },
	{ "\0\0\0", 3, "AAAA\r\n" },
	{ "\xff", 1, "/w==\r\n" },
	{ "\xff\xff\xff", 3, "////\r\n" },
	{ "\xfb\xef\xbe", 3, "++++\r\n" },
	{ "\x00\xff\x00\xff", 4, "AP8A/w==\r\n" },
};

static void
test_b64_vectors(void)
{
	char out[256];
	size_t i, n;

	for (i = 0; i < sizeof(b64_vectors) / sizeof(b64_vectors[0]); i++) {
		const struct b64_vector *v = &b64_vectors[i];

		n = b64_all((const unsigned char *)v->in, v->len, out);
		CHECK(n == strlen(v->out) && memcmp(out, v->out, n) == 0,
		    "b64 vector %zu: got '%.*s'", i, (int)n, out);
	}
}

/* 'a' * n encodes to "YWFh" repeated, with a CRLF every 19 groups. */
static void
test_b64_lines(void)
{
	static const struct {
		size_t		 len;
		const char	*tail;	/* after the full groups */
	} cases[] = {
		{ 56, "YWE=" }, { 57, "" }, { 58, "YQ==" }, { 76, "YQ==" },
		{ 114, "" }, { 115, "YQ==" }, { 116, "YWE=" },
	};
	unsigned char in[200];
	char want[400], got[400];
	size_t i, g, n, w;

	memset(in, 'a', sizeof(in));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		w = 0;
		for (g = 0; g < cases[i].len / 3; g++) {
			memcpy(want + w, "YWFh", 4);
			w += 4;
			if ((g + 1) % 19 == 0) {
				memcpy(want + w, "\r\n", 2);
				w += 2;
			}
		}
		if (*cases[i].tail != '\0') {
			memcpy(want + w, cases[i].tail, 4);
			w += 4;
		}
		if (w > 0 && want[w - 1] != '\n') {
			memcpy(want + w, "\r\n", 2);
			w += 2;
		}
		n = b64_all(in, cases[i].len, got);
		CHECK(n == w && memcmp(got, want, n) == 0,
		    "b64 of %zu 'a': got '%.*s'", cases[i].len, (int)n, got);
		CHECK(b64_encoded_size(cases[i].len) == n,
		    "encoded size of %zu", cases[i].len);
	}
}

/* Lines of 76 characters but the last, all ending in CRLF. */
static int
b64_shape_ok(const char *s, size_t n)
{
	size_t i, col = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r') {
			if (i + 1 == n || s[i + 1] != '\n' || col == 0 ||
			    (col != 76 && i + 2 != n))
				return 0;
			i++;
			col = 0;
		} else if (++col > 76)
			return 0;
	}
	return col == 0;
}

static void
test_b64_split(void)
{
	size_t cuts[3] = { 0, 0, 0 }, len, i, j, n1, n2;

	/* Every single split, and every pair of splits of a short input. */
	fill_random(data, 200);
	len = 200;
	n1 = b64_all(data, len, one);
	for (i = 1; i < len; i++) {
		cuts[0] = i;
		cuts[1] = 0;
		n2 = b64_pieces(data, len, cuts, two);
		CHECK(n1 == n2 && memcmp(one, two, n1) == 0, "split at %zu",
		    i);
	}
	len = 64;
	n1 = b64_all(data, len, one);
	for (i = 1; i < len; i++) {
		for (j = i + 1; j < len; j++) {
			cuts[0] = i;
			cuts[1] = j;
			n2 = b64_pieces(data, len, cuts, two);
			CHECK(n1 == n2 && memcmp(one, two, n1) == 0,
			    "split at %zu and %zu", i, j);
		}
	}
}

static void
test_b64_byte_at_a_time(void)
{
	struct b64_enc e;
	size_t i, n = 0, n1;

	fill_random(data, 1000);
	n1 = b64_all(data, 1000, one);
	b64_init(&e);
	for (i = 0; i < 1000; i++)
		n += b64_encode(&e, data + i, 1, two + n);
	n += b64_finish(&e, two + n);
	CHECK(n == n1 && memcmp(one, two, n) == 0, "byte at a time");
}

static void
test_b64_roundtrip(void)
{
	size_t cuts[8], len, i, k, n, m;
	int round;

	for (round = 0; round < 600; round++) {
		len = round < 300 ? (size_t)round : rnd() % BIG;
		fill_random(data, len);
		for (k = 0; k < 7; k++)
			cuts[k] = len > 0 ? rnd() % len : 0;
		cuts[7] = 0;
		/* Ascending cuts; a repeated one means an empty call. */
		for (i = 0; i < 7; i++)
			for (k = i + 1; k < 7; k++)
				if (cuts[k] < cuts[i]) {
					size_t t = cuts[i];

					cuts[i] = cuts[k];
					cuts[k] = t;
				}
		for (k = 0; k < 7 && cuts[k] == 0; k++)
			;
		n = b64_pieces(data, len, cuts + k, one);
		CHECK(n == b64_encoded_size(len), "size of %zu", len);
		CHECK(b64_shape_ok(one, n), "line shape, %zu bytes", len);
		CHECK(b64_decode(one, n, back, &m) == 0 && m == len &&
		    memcmp(back, data, len) == 0, "round trip of %zu", len);
	}
	CHECK(b64_encoded_size(0) == 0, "size of nothing");
	CHECK(b64_encoded_size((uint64_t)1 << 30) == 1469330920ULL,
	    "size of 1 GiB");
}

static void
test_b64_decode(void)
{
	static const struct {
		const char	*in;
		int		 rc;
		const char	*out;
	} v[] = {
		{ "", 0, "" },
		{ "Zm9vYmFy", 0, "foobar" },
		{ "Zm9v\r\nYmE=\r\n", 0, "fooba" },
		{ " Zm 9v\tYg == ", 0, "foob" },
		{ "Zm9vYg=", -1, NULL },
		{ "Zm9vY===", -1, NULL },
		{ "Zg==Zg==", -1, NULL },
		{ "Zg=a", -1, NULL },
		{ "Zm9", -1, NULL },
		{ "Zm9!", -1, NULL },
		{ "Zm9-", -1, NULL },
	};
	unsigned char out[32];
	size_t i, n;
	int rc;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		rc = b64_decode(v[i].in, strlen(v[i].in), out, &n);
		CHECK(rc == v[i].rc, "decode '%s': rc %d", v[i].in, rc);
		if (rc == 0 && v[i].out != NULL)
			CHECK(n == strlen(v[i].out) &&
			    memcmp(out, v[i].out, n) == 0, "decode '%s'",
			    v[i].in);
	}
}

/*
 * Quoted-printable.
 */

static size_t
qp_pieces(const unsigned char *in, size_t len, size_t step, char *out)
{
	struct qp_enc q;
	size_t at, n = 0, k, take;

	qp_init(&q);
	for (at = 0; at < len; at += take) {
		take = step == 0 || len - at < step ? len - at : step;
		k = qp_encode(&q, in + at, take, out + n);
		CHECK(k <= QP_ENCODE_BOUND(take), "qp bound");
		n += k;
	}
	k = qp_finish(&q, out + n);
	CHECK(k <= QP_FINISH_MAX, "qp finish %zu", k);
	return n + k;
}

static size_t
qp_split(const unsigned char *in, size_t len, size_t cut, char *out)
{
	struct qp_enc q;
	size_t n;

	qp_init(&q);
	n = qp_encode(&q, in, cut, out);
	n += qp_encode(&q, in + cut, len - cut, out + n);
	return n + qp_finish(&q, out + n);
}

#define A10	"aaaaaaaaaa"
#define A70	A10 A10 A10 A10 A10 A10 A10
#define A72	A70 "aa"
#define A74	A70 "aaaa"
#define A75	A70 "aaaaa"

struct qp_vector {
	const char	*in;
	size_t		 len;
	const char	*out;
};

#define QV(in, out)	{ in, sizeof(in) - 1, out }

static const struct qp_vector qp_vectors[] = {
	QV("", ""),
	QV("hello\n", "hello\r\n"),
	QV("hello\r\n", "hello\r\n"),
	QV("no newline", "no newline"),
	QV("a=b", "a=3Db"),
	QV("caf\xc3\xa9", "caf=C3=A9"),
	QV("\x00\x7f\xff\x01", "=00=7F=FF=01"),
	QV("a\tb c", "a\tb c"),
	QV("trailing \n", "trailing=20\r\n"),
	QV("tab\t\r\n", "tab=09\r\n"),
	QV("two  \nx", "two =20\r\nx"),
	QV("end ", "end=20"),
	QV("end\t", "end=09"),
	QV(" \n", "=20\r\n"),
	QV("a\rb", "a=0Db"),
	QV("a\r", "a=0D"),
	QV("a \rb", "a =0Db"),
	QV("a \r\n", "a=20\r\n"),
	QV("\r\r\n", "=0D\r\n"),
	QV("\n\n", "\r\n\r\n"),
	QV(".\n", "=2E\r\n"),
	QV("a\n.b\n", "a\r\n=2Eb\r\n"),
	QV("a.b", "a.b"),
	QV("From me\n", "=46rom me\r\n"),
	QV("From \n", "=46rom=20\r\n"),
	QV("From", "From"),
	QV("Fro\nFrom x", "Fro\r\n=46rom x"),
	QV("FFrom ", "FFrom=20"),
	QV("x From y", "x From y"),
	QV("Fred\n", "Fred\r\n"),
	QV("F\r\n", "F\r\n"),
	QV("Fr\rom", "Fr=0Dom"),
	/* 76 and 77 columns: the longest line, then a soft break. */
	QV(A75 "\n", A75 "\r\n"),
	QV(A75 "a\n", A75 "=\r\na\r\n"),
	QV(A72 "=", A72 "=3D"),
	QV(A72 "=b", A72 "=3D=\r\nb"),
	QV(A74 "=", A74 "=\r\n=3D"),
	QV(A74 "\xe9", A74 "=\r\n=E9"),
	QV(A74 " \n", A74 "=\r\n=20\r\n"),
	QV(A72 " \n", A72 "=20\r\n"),
	QV(A75 " b", A75 "=\r\n b"),
	QV(A75 ".b", A75 "=\r\n=2Eb"),
	QV(A75 "From x", A75 "=\r\n=46rom x"),
	QV(A75 "Fromage", A75 "=\r\nFromage"),
	QV(A74 "From", A74 "F=\r\nrom"),
};

static void
test_qp_vectors(void)
{
	size_t i, n, cut;

	for (i = 0; i < sizeof(qp_vectors) / sizeof(qp_vectors[0]); i++) {
		const struct qp_vector *v = &qp_vectors[i];
		const unsigned char *in = (const unsigned char *)v->in;

		n = qp_pieces(in, v->len, 0, one);
		CHECK(n == strlen(v->out) && memcmp(one, v->out, n) == 0,
		    "qp vector %zu: got '%.*s'", i, (int)n, one);
		for (cut = 0; cut <= v->len; cut++) {
			n = qp_split(in, v->len, cut, two);
			CHECK(n == strlen(v->out) &&
			    memcmp(two, v->out, n) == 0,
			    "qp vector %zu split at %zu", i, cut);
		}
	}
}

/*
 * Everything a quoted-printable encoding must be: printable ASCII,
 * TAB and CRLF only; lines of at most 76 characters, none ending in a
 * blank or starting with '.' or "From "; every '=' starting a triplet
 * or a soft break.
 */
static int
qp_shape_ok(const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == start && (c == '.' || (n - i >= 5 &&
		    memcmp(s + i, "From ", 5) == 0)))
			return 0;
		if (c == '\r') {
			if (i + 1 == n || s[i + 1] != '\n' || i - start > 76 ||
			    (i > start && (s[i - 1] == ' ' ||
			    s[i - 1] == '\t')))
				return 0;
			start = i + 2;
			i++;
		} else if (c == '=') {
			if (!(i + 2 < n && ((s[i + 1] == '\r' &&
			    s[i + 2] == '\n') || (strchr("0123456789ABCDEF",
			    s[i + 1]) != NULL && strchr("0123456789ABCDEF",
			    s[i + 2]) != NULL && s[i + 1] != '\0' &&
			    s[i + 2] != '\0'))))
				return 0;
		} else if ((c < 0x20 && c != '\t') || c >= 0x7f)
			return 0;
	}
	return n - start <= 76 && (n == start || (s[n - 1] != ' ' &&
	    s[n - 1] != '\t'));
}

/* The text as decoding gives it back: each bare LF becomes CRLF. */
static size_t
crlf(const unsigned char *in, size_t len, unsigned char *out)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = in[i];
	}
	return n;
}

static void
test_qp_random(void)
{
	static unsigned char want[2 * BIG];
	size_t len, n, n2, m, w, cut;
	int round;

	for (round = 0; round < 400; round++) {
		len = round < 200 ? (size_t)round : rnd() % (BIG / 2);
		fill_text(data, len);
		n = qp_pieces(data, len, 0, one);
		CHECK(qp_shape_ok(one, n), "qp shape, round %d: '%.*s'",
		    round, (int)n, one);
		w = crlf(data, len, want);
		CHECK(qp_decode(one, n, back, &m) == 0 && m == w &&
		    memcmp(back, want, w) == 0, "qp round trip, round %d",
		    round);
		n2 = qp_pieces(data, len, 1 + rnd() % 7, two);
		CHECK(n2 == n && memcmp(one, two, n) == 0,
		    "qp small steps, round %d", round);
		if (len > 0 && len < 300) {
			for (cut = 1; cut < len; cut++) {
				n2 = qp_split(data, len, cut, two);
				CHECK(n2 == n && memcmp(one, two, n) == 0,
				    "qp round %d split at %zu", round, cut);
			}
		}
	}
	/* 8-bit data, every byte value. */
	fill_random(data, BIG);
	n = qp_pieces(data, BIG, 4096, one);
	w = crlf(data, BIG, want);
	CHECK(qp_shape_ok(one, n), "qp shape of random bytes");
	CHECK(qp_decode(one, n, back, &m) == 0 && m == w &&
	    memcmp(back, want, w) == 0, "qp round trip of random bytes");
}

static void
test_qp_decode(void)
{
	static const struct {
		const char	*in;
		int		 rc;
		const char	*out;
	} v[] = {
		{ "caf=c3=a9", 0, "caf\xc3\xa9" },
		{ "a =\r\nb", 0, "a b" },
		{ "a=  \r\nb", 0, "ab" },
		{ "ab  \r\ncd", 0, "ab\r\ncd" },
		{ "ab=20 \r\n", 0, "ab \r\n" },
		{ "end=", 0, "end" },
		{ "=4", -1, NULL },
		{ "=G0", -1, NULL },
		{ "=\n", -1, NULL },
		{ "a\nb", -1, NULL },
		{ "a\rb", -1, NULL },
		{ "caf\xc3\xa9", -1, NULL },
	};
	unsigned char out[32];
	size_t i, n;
	int rc;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		rc = qp_decode(v[i].in, strlen(v[i].in), out, &n);
		CHECK(rc == v[i].rc, "qp decode %zu: rc %d", i, rc);
		if (rc == 0)
			CHECK(n == strlen(v[i].out) &&
			    memcmp(out, v[i].out, n) == 0, "qp decode %zu", i);
	}
}

/*
 * RFC 2047.
 */

static int
utf8_ok(const unsigned char *p, size_t n)
{
	size_t i = 0, k, len;

	while (i < n) {
		if (p[i] < 0x80)
			len = 1;
		else if ((p[i] & 0xe0) == 0xc0)
			len = 2;
		else if ((p[i] & 0xf0) == 0xe0)
			len = 3;
		else if ((p[i] & 0xf8) == 0xf0)
			len = 4;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
		i += len;
	}
	return 1;
}

/* The byte two hex digits stand for, or -1. */
static int
hex2(const char *p)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *a, *b;

	if (p[0] == '\0' || p[1] == '\0' || (a = strchr(hex, p[0])) == NULL ||
	    (b = strchr(hex, p[1])) == NULL)
		return -1;
	return (int)((a - hex) << 4 | (b - hex));
}

/*
 * Decode one Q or B word's text, appending to out; -1 when malformed,
 * or when a Q word for a phrase holds a character RFC 2047 section
 * 5 (3) does not allow there.
 */
static int
word_decode(const char *p, size_t n, int b64, int phrase,
    unsigned char *out, size_t *outlen)
{
	size_t i, m;
	int hi;

	if (b64) {
		if (b64_decode(p, n, out + *outlen, &m) == -1)
			return -1;
		if (!utf8_ok(out + *outlen, m))
			return -1;
		*outlen += m;
		return 0;
	}
	m = *outlen;
	for (i = 0; i < n; i++) {
		if (p[i] == '_')
			out[m++] = ' ';
		else if (p[i] == '=') {
			if (i + 2 >= n || (hi = hex2(p + i + 1)) == -1)
				return -1;
			out[m++] = (unsigned char)hi;
			i += 2;
		} else if ((unsigned char)p[i] <= 0x20 ||
		    (unsigned char)p[i] >= 0x7f || p[i] == '?')
			return -1;
		else if (phrase && strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789!*+-/", p[i]) == NULL)
			return -1;
		else
			out[m++] = (unsigned char)p[i];
	}
	if (!utf8_ok(out + *outlen, m - *outlen))
		return -1;
	*outlen = m;
	return 0;
}

/*
 * Check a header value the encoders wrote: lines within 76 columns
 * (the first counting used), continuation lines starting with one
 * space, encoded-words within 75 characters each holding whole
 * characters and each followed by a fold or the end, and the decoded
 * text equal to want.
 */
static int
header_ok(const char *s, size_t n, size_t used, const char *want,
    size_t wantlen, int allow_plain, int phrase)
{
	static unsigned char got[4 * ENCODE_TEXT_MAX];
	size_t i = 0, col = used, g = 0, e;
	const char *q;

	while (i < n) {
		if (s[i] == '\r') {
			/*
			 * Folding adds only CRLF to plain text, and CRLF SP
			 * between encoded-words.
			 */
			if (i + 2 >= n || s[i + 1] != '\n' ||
			    (s[i + 2] != ' ' && !(allow_plain &&
			    s[i + 2] == '\t')))
				return 0;
			if (allow_plain)
				got[g++] = (unsigned char)s[i + 2];
			i += 3;
			col = 1;
			continue;
		}
		if (s[i] == '=' && i + 1 < n && s[i + 1] == '?') {
			if (n - i < 12 || (memcmp(s + i, "=?UTF-8?Q?", 10) &&
			    memcmp(s + i, "=?UTF-8?B?", 10)))
				return 0;
			q = strstr(s + i + 10, "?=");
			if (q == NULL)
				return 0;
			e = (size_t)(q - s) + 2;
			if (e - i > 75 || (e < n && s[e] != '\r') ||
			    word_decode(s + i + 10, e - i - 12, s[i + 8] == 'B',
			    phrase, got, &g) == -1)
				return 0;
			col += e - i;
			i = e;
		} else {
			/* Plain text, maybe quoted: drop the quoting. */
			if (!allow_plain)
				return 0;
			if (s[i] == '\\') {
				i++;
				col++;
				got[g++] = (unsigned char)s[i];
			} else if (s[i] != '"')
				got[g++] = (unsigned char)s[i];
			i++;
			col++;
		}
		if (col > 76 && !allow_plain)
			return 0;
	}
	return g == wantlen && memcmp(got, want, g) == 0;
}

struct hdr_vector {
	const char	*in;
	size_t		 used;
	const char	*out;	/* NULL: refused */
};

static const struct hdr_vector subject_vectors[] = {
	{ "", 9, "" },
	{ "Hello world", 9, "Hello world" },
	{ "Re: [list] a (b) \"c\" <d>", 9, "Re: [list] a (b) \"c\" <d>" },
	{ "tab\there", 9, "tab\there" },
	{ "a ?= b", 9, "a ?= b" },
	{ "a =?b", 9, "=?UTF-8?B?YSA9P2I=?=" },
	{ "Caf\xc3\xa9", 9, "=?UTF-8?B?Q2Fmw6k=?=" },
	{ "Caf\xc3\xa9 au lait", 9, "=?UTF-8?Q?Caf=C3=A9_au_lait?=" },
	{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9,
	    "=?UTF-8?B?5pel5pys6Kqe?=" },
	{ "50% off_now?", 0, "50% off_now?" },
	{ "caf\xc3\xa9 50%_off?", 0, "=?UTF-8?B?Y2Fmw6kgNTAlX29mZj8=?=" },
	{ "caf\xc3\xa9 50%_off? today only", 0,
	    "=?UTF-8?Q?caf=C3=A9_50%=5Foff=3F_today_only?=" },
	/* Not even one character fits on the first line. */
	{ "\xc3\xa9", 70, "\r\n =?UTF-8?B?w6k=?=" },
	{ "\xc3\xa9", 62, "\r\n =?UTF-8?B?w6k=?=" },
	{ "\xc3\xa9", 56, "=?UTF-8?B?w6k=?=" },
	/* Refused: control characters and broken UTF-8. */
	{ "a\nb", 0, NULL },
	{ "a\r\n b", 0, NULL },
	{ "nul\x01", 0, NULL },
	{ "del\x7f", 0, NULL },
	{ "\xff", 0, NULL },
	{ "\xc3", 0, NULL },
	{ "\xc3(", 0, NULL },
	{ "\xc0\xaf", 0, NULL },
	{ "\xe0\x80\xaf", 0, NULL },
	{ "\xed\xa0\x80", 0, NULL },
	{ "\xf4\x90\x80\x80", 0, NULL },
	{ "\xf8\x88\x80\x80\x80", 0, NULL },
};

static const struct hdr_vector phrase_vectors[] = {
	{ "John Smith", 4, "John Smith" },
	{ "Smith, John", 4, "\"Smith, John\"" },
	{ "John Q. Public", 4, "\"John Q. Public\"" },
	{ "a\"b\\c", 4, "\"a\\\"b\\\\c\"" },
	{ " lead", 4, "\" lead\"" },
	{ "two  spaces", 4, "\"two  spaces\"" },
	{ "x@y", 4, "\"x@y\"" },
	{ "it's {ok}!", 4, "it's {ok}!" },
	{ "", 4, "\"\"" },
	{ "=?utf-8?q?x?=", 4, "=?UTF-8?B?PT91dGYtOD9xP3g/PQ==?=" },
	{ "=?utf-8?q?x?= and more words", 4,
	    "=?UTF-8?Q?=3D=3Futf-8=3Fq=3Fx=3F=3D_and_more_words?=" },
	{ "J\xc3\xb6rg Q. Smith-Jones / Sales Dept.", 4,
	    "=?UTF-8?Q?J=C3=B6rg_Q=2E_Smith-Jones_/_Sales_Dept=2E?=" },
	{ "J\xc3\xb6rg", 4, "=?UTF-8?B?SsO2cmc=?=" },
	{ "a\nb", 4, NULL },
	{ "\xc3", 4, NULL },
};

static void
run_hdr_vectors(const struct hdr_vector *v, size_t nv, int phrase)
{
	char out[512];
	size_t i;
	int r;

	for (i = 0; i < nv; i++) {
		if (phrase)
			r = rfc2047_phrase(v[i].in, strlen(v[i].in), v[i].used,
			    out, sizeof(out));
		else
			r = rfc2047_encode(v[i].in, strlen(v[i].in), v[i].used,
			    out, sizeof(out));
		if (v[i].out == NULL)
			CHECK(r == -1, "%s %zu refused: got %d",
			    phrase ? "phrase" : "2047", i, r);
		else
			CHECK(r >= 0 && strcmp(out, v[i].out) == 0,
			    "%s %zu: got '%s'", phrase ? "phrase" : "2047", i,
			    r >= 0 ? out : "(refused)");
	}
}

static void
test_2047_snprintf(void)
{
	char out[64];
	int r;

	memset(out, 'X', sizeof(out));
	r = rfc2047_encode("Hello world", 11, 0, out, 6);
	CHECK(r == 11 && strcmp(out, "Hello") == 0, "cut short: %d", r);
	r = rfc2047_encode("Hello world", 11, 0, NULL, 0);
	CHECK(r == 11, "measure only: %d", r);
	r = rfc2231_param("filename", "a.pdf", 0, out, 5);
	CHECK(r == 18 && strcmp(out, "; fi") == 0, "2231 cut short: %d", r);
	r = rfc2047_phrase("\xc3\xa9", 2, 0, out, 1);
	CHECK(r == 16 && out[0] == '\0', "phrase cut short: %d", r);
}

/* Encode text both ways from every starting column; check the layout. */
static void
check_layout(const char *text, size_t len, const char *what)
{
	static const size_t useds[] = { 0, 1, 9, 30, 60, 62, 63, 64, 70, 75,
	    76, 90 };
	static char out[32768];
	size_t i;
	int r, phrase;

	for (i = 0; i < sizeof(useds) / sizeof(useds[0]); i++) {
		for (phrase = 0; phrase < 2; phrase++) {
			r = phrase ?
			    rfc2047_phrase(text, len, useds[i], out,
			    sizeof(out)) :
			    rfc2047_encode(text, len, useds[i], out,
			    sizeof(out));
			CHECK(r >= 0 && (size_t)r < sizeof(out) &&
			    header_ok(out, (size_t)r, useds[i], text, len,
			    strstr(out, "=?") == NULL, phrase),
			    "%s, %zu bytes, used %zu, phrase %d: '%s'", what,
			    len, useds[i], phrase, out);
		}
	}
}

/* Long texts of repeated units, near and past the 75-column limit. */
static void
test_2047_long(void)
{
	static const char *units[] = {
		"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e ",	/* Japanese */
		"\xf0\x9f\x98\x80\xf0\x9f\x8e\x89",		/* emoji */
		"\xc3\xa9t\xc3\xa9 d\xc3\xa9j\xc3\xa0 ",	/* accents */
		"abc \xc3\xa9",
		"word ",
		"=?x?= _?",
		"\xe2\x82\xac",
	};
	static char text[4096];
	size_t u, k, len;

	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		for (k = 1; k < 120; k += (k < 30 ? 1 : 13)) {
			len = 0;
			do
				len += (size_t)snprintf(text + len,
				    sizeof(text) - len, "%s", units[u]);
			while (len + strlen(units[u]) < k * 4);
			check_layout(text, len, units[u]);
		}
	}
}

/* Plain ASCII is folded at blanks, and unfolds to itself. */
static void
test_2047_fold(void)
{
	static char text[4096], out[8192], unf[8192];
	size_t i, n, col, longest;
	int r;

	for (i = 0, n = 0; i < 60; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%.*s",
		    i ? " " : "", (int)(1 + i % 11), "abcdefghijkl");
	r = rfc2047_encode(text, n, 9, out, sizeof(out));
	CHECK(r > 0 && strstr(out, "=?") == NULL, "plain stays plain");
	longest = 0;
	col = 9;
	for (i = 0, n = 0; i < (size_t)r; i++) {
		if (out[i] == '\r') {
			CHECK(out[i + 1] == '\n' && out[i + 2] == ' ',
			    "fold is CRLF SP");
			longest = col > longest ? col : longest;
			col = 0;
			i++;
			continue;
		}
		unf[n++] = out[i];
		col++;
	}
	unf[n] = '\0';
	CHECK(longest <= 76 && col <= 76, "folded lines: %zu", longest);
	CHECK(strcmp(unf, text) == 0, "unfolds to the text");

	/* A word too long for any line is left alone up to 998... */
	memset(text, 'x', 900);
	r = rfc2047_encode(text, 900, 9, out, sizeof(out));
	CHECK(r == 900, "long word kept: %d", r);
	/* ...and beyond, only encoded-words can split it. */
	memset(text, 'x', 1000);
	r = rfc2047_encode(text, 1000, 9, out, sizeof(out));
	CHECK(r > 0 && header_ok(out, (size_t)r, 9, text, 1000, 0, 0),
	    "over-long word encoded");
	/* Trailing blanks are not folded off onto a line of their own. */
	memset(text, ' ', 100);
	memcpy(text, "word", 4);
	r = rfc2047_encode(text, 100, 9, out, sizeof(out));
	CHECK(r == 100 && strchr(out, '\r') == NULL, "no blank line");
}

/*
 * RFC 2231.
 */

/*
 * Rebuild a parameter value from name*N*= segments (or name*= or
 * name="..."), checking the line layout on the way.
 */
static int
param_decode(const char *s, const char *name, size_t used, char *out)
{
	const char *line, *eol, *v, *ve;
	size_t nl = strlen(name), n = 0, col, seg = 0;
	char want[64];
	int quoted, k;

	if (strncmp(s, "; ", 2) == 0) {
		line = s + 2;
		col = used + 2;
	} else if (strncmp(s, ";\r\n ", 4) == 0) {
		line = s + 4;
		col = 1;
	} else
		return -1;
	for (;;) {
		eol = strstr(line, "\r\n");
		if (eol == NULL)
			eol = line + strlen(line);
		if (col + (size_t)(eol - line) > 76 ||
		    strncmp(line, name, nl) != 0)
			return -1;
		v = line + nl;
		quoted = 0;
		if (*v == '=' && v[1] == '"') {
			quoted = 1;
			v += 2;
		} else if (strncmp(v, "*=UTF-8''", 9) == 0)
			v += 9;
		else {
			snprintf(want, sizeof(want), "*%zu*=%s", seg,
			    seg == 0 ? "UTF-8''" : "");
			if (strncmp(v, want, strlen(want)) != 0)
				return -1;
			v += strlen(want);
		}
		ve = eol;
		if (*eol != '\0') {
			if (eol[-1] != ';' || eol[2] != ' ')
				return -1;
			ve--;
		}
		if (quoted) {
			if (*eol != '\0' || ve[-1] != '"')
				return -1;
			for (ve--; v < ve; v++) {
				if (*v == '\\')
					v++;
				out[n++] = *v;
			}
			break;
		}
		for (; v < ve; v++) {
			if (*v == '%') {
				if ((k = hex2(v + 1)) == -1)
					return -1;
				out[n++] = (char)k;
				v += 2;
			} else if (strchr("*'%()<>@,;:\\\"/[]?= ", *v) != NULL)
				return -1;
			else
				out[n++] = *v;
		}
		if (!utf8_ok((const unsigned char *)out, n))
			return -1;
		if (*eol == '\0')
			break;
		line = eol + 3;
		col = 1;
		seg++;
	}
	out[n] = '\0';
	return 0;
}

static void
test_2231(void)
{
	static const struct {
		const char	*in;
		size_t		 used;
		const char	*out;
	} v[] = {
		{ "simple.pdf", 31, "; filename=\"simple.pdf\"" },
		{ "simple.pdf", 60, ";\r\n filename=\"simple.pdf\"" },
		{ "", 31, "; filename=\"\"" },
		{ "a \"quoted\" name.pdf", 31,
		    "; filename=\"a \\\"quoted\\\" name.pdf\"" },
		{ "back\\slash;semi.txt", 31,
		    "; filename=\"back\\\\slash;semi.txt\"" },
		{ "\xe2\x82\xac.pdf", 31, "; filename*=UTF-8''%E2%82%AC.pdf" },
		{ "tab\there", 31, "; filename*=UTF-8''tab%09here" },
		{ "=?x?=", 31, "; filename*=UTF-8''%3D%3Fx%3F%3D" },
	};
	static char text[2048], out[8192], dec[2048];
	size_t i, len;
	int r;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		r = rfc2231_param("filename", v[i].in, v[i].used, out,
		    sizeof(out));
		CHECK(r >= 0 && strcmp(out, v[i].out) == 0, "2231 %zu: '%s'",
		    i, r >= 0 ? out : "(refused)");
		CHECK(r >= 0 && param_decode(out, "filename", v[i].used,
		    dec) == 0 && strcmp(dec, v[i].in) == 0,
		    "2231 %zu decodes", i);
	}
	CHECK(rfc2231_param("file name", "a", 0, out, sizeof(out)) == -1,
	    "bad parameter name");
	CHECK(rfc2231_param("", "a", 0, out, sizeof(out)) == -1,
	    "empty parameter name");
	CHECK(rfc2231_param("filename", "\xc3", 0, out, sizeof(out)) == -1,
	    "bad UTF-8 value");

	/* 200-character names, ASCII and not, from every column. */
	for (i = 0; i < 6; i++) {
		static const char *units[] = { "a", "a b;\"\\", "\xc3\xa9",
		    "\xe6\x97\xa5", "\xf0\x9f\x98\x80", "x\xe2\x82\xac" };

		for (len = 0; len < 200 * strlen(units[i]); )
			len += (size_t)snprintf(text + len, sizeof(text) -
			    len, "%s", units[i]);
		for (r = 0; r < 80; r += 7) {
			int k = rfc2231_param("filename", text, (size_t)r, out,
			    sizeof(out));

			CHECK(k > 0 && param_decode(out, "filename",
			    (size_t)r, dec) == 0 && strcmp(dec, text) == 0,
			    "long 2231 value %zu at %d: '%s'", i, r, out);
		}
	}
}

int
main(void)
{
	test_b64_vectors();
	test_b64_lines();
	test_b64_split();
	test_b64_byte_at_a_time();
	test_b64_roundtrip();
	test_b64_decode();
	test_qp_vectors();
	test_qp_random();
	test_qp_decode();
	run_hdr_vectors(subject_vectors, sizeof(subject_vectors) /
	    sizeof(subject_vectors[0]), 0);
	run_hdr_vectors(phrase_vectors, sizeof(phrase_vectors) /
	    sizeof(phrase_vectors[0]), 1);
	test_2047_snprintf();
	test_2047_long();
	test_2047_fold();
	test_2231();
	return unit_done();
}
