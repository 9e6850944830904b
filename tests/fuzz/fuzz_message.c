/*
 * fuzz_message.c - the message reader: message_read from a memfd
 * holding the input, into a memory stream, then (sometimes)
 * message_reencode_qp on what it wrote.
 *
 * Input layout:
 *
 *	byte 0	options: 0x01 smtp_data, 0x02 ignore_dots, 0x04 read_rcpts,
 *		0x08 rewrite addresses, 0x10 from_header, 0x20 force_from,
 *		0x40 keep_from, 0x80 add Date and Message-ID
 *	byte 1	0x80: insert a long run (lines past the 64 KiB reader
 *		block): ((byte 1 & 0x3f) + 1) * 2 KiB copies of the byte at
 *		the point byte 2 chooses (byte 2 is then consumed too);
 *		0x40: re-encode the result as quoted-printable
 *	rest	the message
 *
 * Properties, beyond memory safety:
 *  - the output is in spool form (message.h): every line ends in CRLF,
 *    there is no other CR or LF, and a line that starts with '.' starts
 *    with "..", so it cannot end the DATA it is sent in; m->size is its
 *    length;
 *  - with smtp_data, ignore_dots and read_rcpts all set, the input is
 *    also read a second way: dot-stuffed with a "." line after it and
 *    read with smtp_data, against as it is with ignore_dots.  The two
 *    must agree on everything (result, output, recipients), since
 *    stuffing and unstuffing is the identity.  Skipped for input where
 *    the two framings differ on purpose: a CR that is not before CR or
 *    LF (it ends a body line where stuffing did not see one) or that
 *    ends the input (the LF stuffing adds would join it), a first
 *    line that is an mbox "From " separator (dropped only outside SMTP),
 *    and Date and Message-ID (they differ between two calls).
 */
#include "autoconf.h"

#include <sys/mman.h>

#include "lineread.h"
#include "message.h"
#include "util.h"

#include "fuzz.h"

static struct lineread lr;

static char *
rewrite(void *arg, const char *addr, int recipient)
{
	unsigned h = 0;
	const char *p;

	(void)arg;
	for (p = addr; *p; p++)
		h = h * 31 + (unsigned char)*p;
	switch ((h + (unsigned)recipient) % 3) {
	case 0:
		return NULL;
	case 1:
		return xstrdup("rewritten@example.org");
	default:
		return xstrdup("one@example.org, two@example.net");
	}
}

struct result {
	int		 rc;
	enum err_kind	 kind;
	char		*out;
	size_t		 outlen;
	struct message	 m;
};

static void
check_spool(const char *what, const char *p, size_t len)
{
	size_t i, bol = 0;

	for (i = 0; i < len; i++) {
		if (i == bol && p[i] == '.' && (i + 1 >= len ||
		    p[i + 1] != '.')) {
			fuzz_dump(what, p, len);
			fuzz_fail("%s: a line at offset %zu starts with a "
			    "single '.'", what, i);
		}
		if (p[i] == '\r' && (i + 1 >= len || p[i + 1] != '\n')) {
			fuzz_dump(what, p, len);
			fuzz_fail("%s: bare CR at offset %zu", what, i);
		}
		if (p[i] == '\n') {
			if (i == 0 || p[i - 1] != '\r') {
				fuzz_dump(what, p, len);
				fuzz_fail("%s: bare LF at offset %zu", what,
				    i);
			}
			bol = i + 1;
		}
	}
	if (len > 0 && (len < 2 || p[len - 2] != '\r' || p[len - 1] != '\n')) {
		fuzz_dump(what, p, len);
		fuzz_fail("%s: the last line does not end in CRLF", what);
	}
}

static int
memfd_with(const char *p, size_t len)
{
	int fd = memfd_create("fuzz-message", MFD_CLOEXEC);
	size_t off = 0;
	ssize_t n;

	if (fd == -1) {
		perror("memfd_create");
		abort();
	}
	while (off < len) {
		if ((n = write(fd, p + off, len - off)) <= 0) {
			perror("write");
			abort();
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) != 0) {
		perror("lseek");
		abort();
	}
	return fd;
}

static void
run(const char *p, size_t len, const struct message_opts *o, int reencode,
    struct result *r)
{
	struct err e;
	FILE *out;
	int fd = memfd_with(p, len);

	err_init(&e);
	message_init(&r->m);
	r->out = NULL;
	r->outlen = 0;
	if ((out = open_memstream(&r->out, &r->outlen)) == NULL)
		abort();
	lineread_init(&lr, fd);
	r->rc = message_read(&lr, out, o, &r->m, &e);
	r->kind = e.kind;
	fclose(out);
	close(fd);
	if (r->rc == 0) {
		FUZZ_ASSERT(e.kind == ERR_NONE, "success with error '%s'",
		    e.msg);
		check_spool("message_read output", r->out, r->outlen);
		FUZZ_ASSERT(r->m.size == (off_t)r->outlen,
		    "size %lld for %zu bytes", (long long)r->m.size,
		    r->outlen);
	} else
		FUZZ_ASSERT(e.kind != ERR_NONE && e.msg[0] != '\0',
		    "failure without an error");

	if (r->rc == 0 && reencode) {
		char *qp = NULL;
		size_t qplen = 0;
		FILE *in = fmemopen(r->out, r->outlen, "r"), *o2;

		if (r->outlen == 0 || in == NULL)
			goto done;
		if ((o2 = open_memstream(&qp, &qplen)) == NULL)
			abort();
		err_init(&e);
		if (message_reencode_qp(in, o2, &r->m, &e) == 0) {
			fclose(o2);
			check_spool("message_reencode_qp output", qp, qplen);
			FUZZ_ASSERT(r->m.size == (off_t)qplen,
			    "re-encoded size %lld for %zu bytes",
			    (long long)r->m.size, qplen);
		} else {
			fclose(o2);
			FUZZ_ASSERT(e.kind != ERR_NONE, "failure without an "
			    "error");
		}
		free(qp);
done:
		if (in != NULL)
			fclose(in);
	}
}

static void
release(struct result *r)
{
	free(r->out);
	message_release(&r->m);
}

/*
 * Dot-stuff every line and add the terminating "." line, after a CRLF:
 * in SMTP DATA only CRLF . CRLF ends it, so the last line's LF (or the
 * one added) gets its CR, which changes nothing in the spool form.
 */
static char *
stuff(const char *p, size_t len, size_t *outlen)
{
	char *s = xmalloc(2 * len + 5), *o = s;
	size_t i;
	int bol = 1;

	for (i = 0; i < len; i++) {
		if (bol && p[i] == '.')
			*o++ = '.';
		if (i == len - 1 && p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			*o++ = '\r';
		*o++ = p[i];
		bol = p[i] == '\n';
	}
	if (!bol) {
		*o++ = '\r';
		*o++ = '\n';
	}
	memcpy(o, ".\r\n", 3);
	o += 3;
	*outlen = (size_t)(o - s);
	return s;
}

static int
framings_agree(const char *p, size_t len)
{
	size_t i;

	if (len >= 5 && memcmp(p, "From ", 5) == 0)
		return 0;
	for (i = 0; i + 1 < len; i++)
		if (p[i] == '\r' && p[i + 1] != '\r' && p[i + 1] != '\n')
			return 0;
	/* CRs at the very end are line ends; before the LF added, not. */
	return len == 0 || p[len - 1] != '\r';
}

static void
differential(const char *p, size_t len, struct message_opts *o)
{
	struct message_opts plain = *o, smtp = *o;
	struct result a, b;
	size_t slen, i;
	char *s;

	plain.smtp_data = 0;
	plain.ignore_dots = 1;
	smtp.smtp_data = 1;
	smtp.ignore_dots = 0;
	s = stuff(p, len, &slen);
	run(s, slen, &smtp, 0, &a);
	run(p, len, &plain, 0, &b);
	if (a.rc != b.rc || (a.rc == -1 && a.kind != b.kind) ||
	    (a.rc == 0 && (a.outlen != b.outlen ||
	    memcmp(a.out, b.out, a.outlen) != 0 ||
	    a.m.rcpts.n != b.m.rcpts.n))) {
		fuzz_dump("plain input (ignore_dots)", p, len);
		fuzz_dump("plain output", b.out, b.outlen);
		fuzz_dump("stuffed input (smtp_data)", s, slen);
		fuzz_dump("smtp output", a.out, a.outlen);
		fuzz_fail("SMTP DATA and plain input disagree: rc %d/%d, kind "
		    "%s/%s, %zu/%zu bytes, %zu/%zu recipients", a.rc, b.rc,
		    err_kindname(a.kind), err_kindname(b.kind), a.outlen,
		    b.outlen, a.m.rcpts.n, b.m.rcpts.n);
	}
	for (i = 0; a.rc == 0 && i < a.m.rcpts.n; i++)
		FUZZ_ASSERT(strcmp(a.m.rcpts.v[i], b.m.rcpts.v[i]) == 0,
		    "recipient %zu differs", i);
	free(s);
	release(&a);
	release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message_opts o;
	struct result r;
	const char *p;
	char *buf = NULL;
	size_t len, pad, at;
	unsigned opt, ctl;

	if (size < 2)
		return 0;
	opt = data[0];
	ctl = data[1];
	p = (const char *)data + 2;
	len = size - 2;
	if ((ctl & 0x80) && len > 0) {
		at = (size_t)(unsigned char)p[0] * (len - 1) / 255;
		p++;
		len--;
		pad = ((ctl & 0x3f) + 1) * 2048;
		buf = xmalloc(len + pad + 1);
		memcpy(buf, p, at);
		memset(buf + at, at < len ? p[at] : 'x', pad);
		memcpy(buf + at + pad, p + at, len - at);
		p = buf;
		len += pad;
	}

	memset(&o, 0, sizeof(o));
	o.smtp_data = !!(opt & 0x01);
	o.ignore_dots = !!(opt & 0x02);
	o.read_rcpts = !!(opt & 0x04);
	if (opt & 0x08)
		o.rewrite = rewrite;
	if (opt & 0x10)
		o.from_header = "Fuzz Sender <fuzz@example.org>";
	o.force_from = !!(opt & 0x20);
	o.keep_from = !!(opt & 0x40);
	if ((opt & 0x07) == 0x07) {
		if (framings_agree(p, len))
			differential(p, len, &o);
	} else {
		if (opt & 0x80) {
			o.add_date = 1;
			o.msgid_domain = "fuzz.example.org";
		}
		run(p, len, &o, ctl & 0x40, &r);
		release(&r);
	}
	free(buf);
	return 0;
}
