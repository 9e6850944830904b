/*
 * encode.h - content transfer encodings and header encodings: base64
 * and quoted-printable (RFC 2045) as streaming encoders with a small
 * fixed state, RFC 2047 encoded-words for header text and display
 * names, and RFC 2231 parameters for file names.
 *
 * Pure: no I/O and no allocation.  Every function writes into memory
 * its caller owns and lends; nothing here keeps a pointer after it
 * returns.  Output lines end in CRLF.
 */
#ifndef ENVOI_ENCODE_H
#define ENVOI_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Base64 (RFC 2045 section 6.8).
 *
 * Feed any number of blocks, split anywhere, to b64_encode, then call
 * b64_finish once.  The output is the same however the input was
 * split: lines of B64_LINE_CHARS characters, each followed by CRLF,
 * the last one shorter and padded with '='.  The last line ends in
 * CRLF too; empty input gives empty output.
 */
#define B64_LINE_CHARS	76		/* characters on a full line */
#define B64_LINE_BYTES	57		/* input bytes on a full line */

struct b64_enc {
	unsigned char	carry[2];	/* input not yet in a group */
	unsigned int	ncarry;		/* 0, 1 or 2 */
	unsigned int	col;		/* characters on this line */
};

/*
 * The most b64_encode writes for len input bytes, whatever the state:
 * the carry can complete one more group, and the line the state is in
 * can end in one more CRLF.  A constant expression for a constant len,
 * so that buffers can be sized at compile time.
 */
#define B64_ENCODE_BOUND(len) \
	(((len) / 3 + 1) * 4 + ((len) / B64_LINE_BYTES + 1) * 2)
/* The most b64_finish writes: one padded group and CRLF. */
#define B64_FINISH_MAX	6

void	 b64_init(struct b64_enc *);
/* B64_ENCODE_BOUND(len) for a length known only at run time. */
size_t	 b64_encode_bound(size_t len);
/*
 * Encode len bytes from in and append the text to out, which must
 * hold b64_encode_bound(len) bytes.  Up to two bytes stay in the
 * state until more input or b64_finish.  Returns the bytes written.
 */
size_t	 b64_encode(struct b64_enc *, const unsigned char *in, size_t len,
	    char *out);
/*
 * Write the last group with its padding and the final CRLF (at most
 * B64_FINISH_MAX bytes), reset the state for reuse and return the bytes
 * written.
 */
size_t	 b64_finish(struct b64_enc *, char *out);
/*
 * The exact size of the encoding of len bytes, CRLFs included, as
 * b64_encode and b64_finish write it; SMTP SIZE needs it before the
 * first byte is sent.  Valid for len below 2^62.
 */
uint64_t b64_encoded_size(uint64_t len);
/*
 * Decode base64 text, skipping spaces, tabs, CRs and LFs.  out must
 * hold len / 4 * 3 bytes.  Returns 0 and the decoded length in *outlen,
 * or -1 on a character outside the alphabet, misplaced padding or a
 * truncated group.
 */
int	 b64_decode(const char *in, size_t len, unsigned char *out,
	    size_t *outlen);

/*
 * Quoted-printable (RFC 2045 section 6.7) for text.
 *
 * Input lines end in CRLF or LF; output lines end in CRLF.  A CR not
 * followed by LF is data and is encoded, as are '=', control
 * characters other than TAB, bytes from 0x7f up, and a space or tab
 * that ends a line.  A '.' or the 'F' of "From " that begins an output
 * line is encoded too, so that neither dot-stuffing nor an mbox "From "
 * line can alter the text.  Soft line breaks ("=" CRLF) keep every
 * output line at QP_LINE_MAX characters or fewer, and never split an
 * "=XX" triplet.
 *
 * As for base64, input may be split anywhere, even between CR and LF,
 * and the output does not depend on where.  qp_finish adds no CRLF: a
 * text that does not end in a line break does not get one.
 *
 * The encoded size cannot be known without encoding: a caller that
 * needs it for SMTP SIZE makes a first pass with a scratch buffer, or
 * announces the spooled size, which SIZE allows to be an estimate.
 */
#define QP_LINE_MAX	76

struct qp_enc {
	unsigned int	col;	/* characters on the output line */
	unsigned char	ws;	/* a held space or tab, or 0 */
	unsigned char	cr;	/* 1 when a CR is held */
	unsigned char	from;	/* bytes of "From " held */
};

/*
 * The most qp_encode writes for len input bytes: every byte, and the
 * up to 4 held from the previous call, may become "=XX" after a soft
 * line break.  Crude, but a constant expression.
 */
#define QP_ENCODE_BOUND(len)	(((len) + 4) * 6)
/* The most qp_finish writes. */
#define QP_FINISH_MAX		24

void	 qp_init(struct qp_enc *);
/*
 * Encode len bytes from in and append the text to out, which must
 * hold QP_ENCODE_BOUND(len) bytes.  Returns the bytes written.
 */
size_t	 qp_encode(struct qp_enc *, const unsigned char *in, size_t len,
	    char *out);
/*
 * Write what the state still holds (at most QP_FINISH_MAX bytes), reset
 * it for reuse and return the bytes written.
 */
size_t	 qp_finish(struct qp_enc *, char *out);
/*
 * Decode quoted-printable text: "=XX" (either case), soft line breaks
 * and CRLF line breaks, dropping blanks that end a line.  out must hold
 * len bytes.  Returns 0 and the decoded length in *outlen, or -1 on a
 * malformed '=', a bare CR or LF, or a byte that must not appear.
 */
int	 qp_decode(const char *in, size_t len, unsigned char *out,
	    size_t *outlen);

/*
 * Header text.  These functions work as snprintf(3) does: they return
 * the length of the whole result, not counting the NUL, and write as
 * much of it as fits in outsize bytes, NUL-terminated when outsize is
 * not 0.  A result >= outsize was cut short and must not be used; call
 * again with a buffer of result + 1 bytes.  They return -1 when the
 * input is refused (see each function); the caller decides what to do.
 *
 * used is how many characters the header line already holds before the
 * result goes in, "Subject: " counting 9.  Folding is "CRLF SP", and no
 * line the result touches gets longer than ENCODE_LINE_MAX characters,
 * unless an ASCII word alone is longer than that, or the text ends in
 * blanks: those stay on its last line, since a folded line of blanks
 * alone is not allowed (RFC 5322 section 3.2.2).  No line ever passes
 * the hard limit of 998 characters; text that would is encoded instead.
 */
#define ENCODE_LINE_MAX	76		/* RFC 2047 section 2 */
#define ENCODE_WORD_MAX	75		/* longest encoded-word */
#define ENCODE_TEXT_MAX	65536		/* longest input accepted */

/*
 * Encode unstructured header text (Subject, Comments).  Printable ASCII
 * without "=?" comes back as it is, folded at blanks; anything else
 * becomes a run of "=?UTF-8?B?...?=" or "=?UTF-8?Q?...?=" words (the
 * shorter of the two), each whole UTF-8 characters only.  Returns -1
 * when the text is not valid UTF-8, holds a control character other
 * than TAB (a CR or LF there is a caller's mistake that would otherwise
 * end up in the header), or is longer than ENCODE_TEXT_MAX.
 */
int	 rfc2047_encode(const char *utf8, size_t len, size_t used, char *out,
	    size_t outsize);
/*
 * Encode a display name for an address header (RFC 5322 phrase): the
 * text as it is when it is atoms separated by single spaces; a quoted
 * string, with '"' and '\' escaped, when it is other printable ASCII
 * without "=?" (which some readers decode even inside quotes);
 * otherwise encoded-words whose Q form keeps only the characters RFC
 * 2047 section 5 (3) allows in a phrase.  The caller appends the
 * " <addr-spec>".  Refuses what rfc2047_encode refuses.
 */
int	 rfc2047_phrase(const char *utf8, size_t len, size_t used, char *out,
	    size_t outsize);
/*
 * Write one MIME parameter for a header field such as
 * Content-Disposition, with the ';' before it and then a space, or a
 * fold when the parameter does not fit on the current line:
 * name="value" when the value is short printable ASCII without "=?"
 * (quoted, '"' and '\' escaped), else the RFC 2231 form
 * name*=UTF-8''%E2%82%AC..., split into name*0*=, name*1*=, ...
 * continuations, each on a line of its own, when it does not fit on
 * one.  A continuation never splits a UTF-8 character.  Control
 * characters in the value are percent-encoded.  Returns -1 when name
 * is not a token of at most 32 characters, or the value is not valid
 * UTF-8 or is longer than ENCODE_TEXT_MAX.
 */
int	 rfc2231_param(const char *name, const char *utf8value, size_t used,
	    char *out, size_t outsize);

#endif
