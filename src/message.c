/*
 * message.c - a message, from its input to spool form.
 *
 * Step one (message_read_headers) gathers the header block: whole lines
 * from the line reader, folded continuations joined to their field with
 * CRLF, every field kept in one buffer.  Step two (message_write)
 * writes the fields out, edited as asked (addresses rewritten, Bcc
 * dropped, From forced, Date and Message-ID added), and then copies the
 * body a block at a time, caring only where lines start (for the lone
 * dot and for dot-stuffing) and how they end; a line out of the common
 * run goes through the piece-by-piece path (emit_piece).
 *
 * Line endings: LF, CRLF and CR...CRLF all end a line, and so does a CR
 * not followed by LF (in the body; in a header it is an error).  Output
 * lines always end in CRLF.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "encode.h"
#include "header.h"
#include "message.h"

/*
 * The body goes out through the writer's own buffer, in blocks far
 * larger than a line, to the caller's FILE.
 */
#define WRITER_BUFSIZE	(512 * 1024)

/* Where the writer is while copying the body. */
struct writer {
	const struct message_opts	*opts;
	struct message			*msg;
	FILE				*out;
	int				 bol;		/* at line start */
	size_t				 linelen;	/* so far, this line */
	char				*ob;		/* WRITER_BUFSIZE */
	size_t				 olen;
};

static const char *addr_headers[] = {
	"From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc",
	"Resent-Bcc"
};
#define NADDR_HEADERS (sizeof(addr_headers) / sizeof(addr_headers[0]))

void
message_init(struct message *m)
{
	memset(m, 0, sizeof(*m));
	strlist_init(&m->rcpts);
	m->crlf_bol = 1;
}

void
message_release(struct message *m)
{
	strlist_release(&m->rcpts);
	free(m->from_addr);
	free(m->hbuf);
	free(m->fields);
	free(m->pending);
	message_init(m);
}

static int
field_is(const struct message *m, const struct message_field *f,
    const char *name)
{
	size_t n = strlen(name);

	return f->namelen == n && strncasecmp(m->hbuf + f->off, name, n) == 0;
}

static const char *
field_value(const struct message *m, const struct message_field *f,
    size_t *len)
{
	const char *p = memchr(m->hbuf + f->off, ':', f->len);

	p++;
	*len = f->len - (size_t)(p - (m->hbuf + f->off));
	return p;
}

static int
hold(struct message *m, const char *p, size_t len)
{
	if (m->hlen + len > MESSAGE_HEADERS_MAX)
		return -1;
	if (m->hlen + len > m->hcap) {
		m->hcap = (m->hlen + len) * 2;
		if (m->hcap > MESSAGE_HEADERS_MAX)
			m->hcap = MESSAGE_HEADERS_MAX;
		m->hbuf = xrealloc(m->hbuf, m->hcap);
	}
	memcpy(m->hbuf + m->hlen, p, len);
	m->hlen += len;
	return 0;
}

static int
hold_field(struct message *m, const char *p, size_t len, size_t namelen)
{
	struct message_field *f;

	if (m->nfields == m->fcap) {
		m->fcap = m->fcap ? m->fcap * 2 : 32;
		m->fields = xrealloc(m->fields, m->fcap * sizeof(*m->fields));
	}
	f = &m->fields[m->nfields];
	f->off = m->hlen;
	f->len = len;
	f->namelen = namelen;
	if (hold(m, p, len) == -1)
		return -1;
	m->nfields++;
	return 0;
}

static int
hold_continuation(struct message *m, const char *p, size_t len)
{
	if (hold(m, "\r\n", 2) == -1 || hold(m, p, len) == -1)
		return -1;
	m->fields[m->nfields - 1].len += len + 2;
	return 0;
}

static void
excerpt(char *dst, size_t size, const char *p, size_t len)
{
	size_t i, n = len < size - 1 ? len : size - 1;

	for (i = 0; i < n; i++)
		dst[i] = ((unsigned char)p[i] < 0x20 ||
		    (unsigned char)p[i] >= 0x7f) ? '?' : p[i];
	dst[n] = '\0';
}

/* Header lines may hold neither NUL nor a bare CR. */
static int
header_bytes_ok(const char *p, size_t len, unsigned long lineno,
    struct err *e)
{
	if (memchr(p, '\0', len) != NULL)
		return err_set(e, ERR_DATA, "NUL byte in header line %lu",
		    lineno);
	if (memchr(p, '\r', len) != NULL)
		return err_set(e, ERR_DATA, "bare CR in header line %lu",
		    lineno);
	return 0;
}

static void
keep_pending(struct message *m, const char *p, size_t len, int eol)
{
	m->headerless = 1;
	m->body_follows = 1;
	m->pendcrlf = eol && len > 0 && p[len - 1] == '\r';
	/* A copy has no LF after it: keep emit_piece off its CRLF path. */
	while (eol && len > 0 && p[len - 1] == '\r')
		len--;
	m->pending = xstrndup(p, len);
	m->pendlen = len;
	m->pendeol = eol;
}

/* Is this line the end of the input: a lone dot? */
static int
lone_dot(const struct message_opts *o, const char *p, size_t len)
{
	return len == 1 && p[0] == '.' && (o->smtp_data || !o->ignore_dots);
}

/* 1 when p[0..len) ends in exactly one CR, the only one in it. */
static int
ends_crlf(const char *p, size_t len)
{
	return len > 0 && p[len - 1] == '\r' &&
	    memchr(p, '\r', len - 1) == NULL;
}

/*
 * One line of the header section.  Returns 1 when the header block is
 * complete, 0 to go on, -1 on error.
 */
static int
header_line(struct message *m, const struct message_opts *o,
    const char *p, size_t len, int eol, unsigned long lineno, struct err *e)
{
	size_t namelen, stripped = len, rawlen;
	const char *raw;
	char ex[48];
	int crlf_bol;

	while (stripped > 0 && p[stripped - 1] == '\r')
		stripped--;
	crlf_bol = m->crlf_bol;
	m->crlf_bol = eol && len > 0 && p[len - 1] == '\r';
	if (lone_dot(o, p, stripped)) {
		/* In SMTP DATA only CRLF . CRLF; else it is a line "." */
		if (!o->smtp_data || (crlf_bol && eol && ends_crlf(p, len))) {
			m->ended = 1;
			return 1;
		}
	}
	raw = p;
	rawlen = len;
	if (o->smtp_data && stripped > 1 && p[0] == '.') {
		p++;
		len--;
		stripped--;
	}
	if (lineno == 1 && len >= 5 && memcmp(p, "From ", 5) == 0 &&
	    !o->smtp_data)
		return 0;	/* an mbox separator: drop it */
	namelen = header_name_len(p, stripped);
	/* The reader's limit applies to the line as read, dot included. */
	if (m->nfields == 0 && (namelen == 0 ||
	    (!eol && rawlen == LINEREAD_SIZE))) {
		/*
		 * No header block at all: it is all body.  The body writer
		 * undoes the SMTP stuffing itself: give it the line as read,
		 * and the line ending before it.
		 */
		m->crlf_bol = crlf_bol;
		keep_pending(m, raw, rawlen, eol);
		return 1;
	}
	if (!eol && rawlen == LINEREAD_SIZE)
		return err_set(e, ERR_DATA, "header line %lu is longer than "
		    "%d bytes", lineno, LINEREAD_SIZE);
	if (stripped == 0) {
		m->body_follows = 1;
		return 1;
	}
	if (header_bytes_ok(p, stripped, lineno, e) == -1)
		return -1;
	if ((p[0] == ' ' || p[0] == '\t') && m->nfields > 0) {
		if (hold_continuation(m, p, stripped) == -1)
			goto toolong;
		return 0;
	}
	if (namelen == 0) {
		excerpt(ex, sizeof(ex), p, stripped);
		return err_set(e, ERR_DATA, "malformed header line %lu '%s': "
		    "expected 'Name: value', or an empty line before the body",
		    lineno, ex);
	}
	if (hold_field(m, p, stripped, namelen) == -1)
		goto toolong;
	return 0;
toolong:
	return err_set(e, ERR_DATA, "header block longer than %d bytes",
	    MESSAGE_HEADERS_MAX);
}

/* Remember the first address of From, for choosing the account. */
static void
note_from(struct message *m)
{
	struct strlist l;
	const char *v;
	char why[64];
	size_t i, len;

	for (i = 0; i < m->nfields; i++) {
		if (!field_is(m, &m->fields[i], "From"))
			continue;
		v = field_value(m, &m->fields[i], &len);
		strlist_init(&l);
		if (addr_parse_list(v, len, &l, why, sizeof(why)) == 0 &&
		    l.n > 0)
			m->from_addr = xstrdup(l.v[0]);
		strlist_release(&l);
		return;
	}
}

int
message_read_headers(struct lineread *lr, const struct message_opts *o,
    struct message *m, struct err *e)
{
	unsigned long lineno = 0;
	const char *p;
	size_t len;
	int eol, rc;

	while ((rc = lineread_next(lr, &p, &len, &eol)) == 1) {
		rc = header_line(m, o, p, len, eol, ++lineno, e);
		if (rc == -1)
			return -1;
		if (rc == 1)
			break;
	}
	if (rc == -1)
		return err_set(e, ERR_IO, "cannot read the message: %s",
		    strerror(errno));
	note_from(m);
	return 0;
}

/* --- step two: writing --- */

static void
ob_flush(struct writer *w)
{
	if (w->olen > 0)
		fwrite(w->ob, 1, w->olen, w->out);
	w->olen = 0;
}

static void
ob_write(struct writer *w, const char *p, size_t len)
{
	if (len > WRITER_BUFSIZE - w->olen) {
		ob_flush(w);
		if (len > WRITER_BUFSIZE) {
			fwrite(p, 1, len, w->out);
			return;
		}
	}
	memcpy(w->ob + w->olen, p, len);
	w->olen += len;
}

/* Write one line segment of the body; a lone dot ends the input. */
static void
emit(struct writer *w, const char *p, size_t len, int eol)
{
	const struct message_opts *o = w->opts;

	if (w->bol && len > 0 && p[0] == '.') {
		/* In SMTP DATA only CRLF . CRLF ends it (crlf_bol). */
		if (lone_dot(o, p, len) && (!o->smtp_data ||
		    (eol == 2 && w->msg->crlf_bol))) {
			w->msg->ended = 1;
			return;
		}
		if (o->smtp_data && len > 1) {
			p++;	/* the client's stuffing; ours follows */
			len--;
		}
		if (len > 0 && p[0] == '.')
			ob_write(w, ".", 1);
	}
	if (len > 0) {
		if (!w->msg->eightbit && has_8bit(p, len))
			w->msg->eightbit = 1;
		w->linelen += len;
	}
	if (eol == 2) {
		/* p[len] and p[len + 1] are the input's own CRLF. */
		ob_write(w, p, len + 2);
	} else if (len > 0)
		ob_write(w, p, len);
	if (eol == 1)
		ob_write(w, "\r\n", 2);
	if (eol) {
		if (w->linelen > w->msg->longest)
			w->msg->longest = w->linelen;
		w->linelen = 0;
		w->bol = 1;
		w->msg->crlf_bol = eol == 2;
	} else if (len > 0)
		w->bol = 0;
}

/*
 * Write a body piece, splitting at bare CRs (each one ends a line) and
 * dropping the CRs of a CR...LF ending.
 */
static void
emit_piece(struct writer *w, const char *p, size_t len, int eol)
{
	const char *cr;
	int crlf = eol && len > 0 && p[len - 1] == '\r';

	/* The common case, a line ending in exactly CRLF: one write. */
	if (crlf && memchr(p, '\r', len - 1) == NULL) {
		emit(w, p, len - 1, 2);
		return;
	}
	if (eol)
		while (len > 0 && p[len - 1] == '\r')
			len--;
	while (!w->msg->ended && (cr = memchr(p, '\r', len)) != NULL) {
		emit(w, p, (size_t)(cr - p), 1);
		len -= (size_t)(cr - p) + 1;
		p = cr + 1;
	}
	if (!w->msg->ended)
		emit(w, p, len, eol);
	/* What ends DATA next is a CRLF, whatever CRs came before it. */
	if (eol && !w->msg->ended)
		w->msg->crlf_bol = crlf;
}

/*
 * Copy the whole lines read and not yet handed out, the common ones
 * straight into the output buffer, the others (a dot at the start, a
 * bare CR, a line after a piece of a longer one) through emit_piece,
 * exactly as if lineread_next had handed them out one by one.  The
 * checks are made once over the block where they can be: is there an
 * 8-bit byte at all, where is the next CR.  Returns 0 when the block
 * holds no whole line.
 */
static int
write_lines(struct writer *w, struct lineread *lr)
{
	struct message *m = w->msg;
	const char *buf, *p, *lim, *lf, *cr;
	char *ob = w->ob;
	size_t avail, n, olen, longest;
	int check8, crlf;

	lineread_peek(lr, &buf, &avail);
	if (avail == 0 || (lim = memrchr(buf, '\n', avail)) == NULL)
		return 0;
	lim++;
	check8 = !m->eightbit && has_8bit(buf, (size_t)(lim - buf));
	cr = memchr(buf, '\r', (size_t)(lim - buf));
	/* Kept in locals: the copies below could alias them otherwise. */
	olen = w->olen;
	longest = m->longest;
	for (p = buf; p < lim && !m->ended; p = lf + 1) {
		lf = memchr(p, '\n', (size_t)(lim - p));
		n = (size_t)(lf - p);
		crlf = 0;
		if (cr != NULL && cr < lf) {
			if (cr != lf - 1)
				goto slow;
			n--;	/* the CR of a CRLF */
			crlf = 1;
			cr = memchr(lf + 1, '\r', (size_t)(lim - lf - 1));
		}
		if (!w->bol || (n > 0 && p[0] == '.'))
			goto slow;
		m->crlf_bol = crlf;
		if (check8 && has_8bit(p, n)) {
			m->eightbit = 1;
			check8 = 0;
		}
		if (n + 2 > WRITER_BUFSIZE - olen) {
			w->olen = olen;
			ob_flush(w);
			olen = 0;
		}
		memcpy(ob + olen, p, n);
		ob[olen + n] = '\r';
		ob[olen + n + 1] = '\n';
		olen += n + 2;
		if (n > longest)
			longest = n;
		continue;
slow:
		w->olen = olen;
		m->longest = longest;
		emit_piece(w, p, (size_t)(lf - p), 1);
		olen = w->olen;
		longest = m->longest;
		check8 = check8 && !m->eightbit;
		if (cr != NULL && cr < lf)
			cr = memchr(lf + 1, '\r', (size_t)(lim - lf - 1));
	}
	w->olen = olen;
	m->longest = longest;
	lineread_skip(lr, (size_t)(p - buf));
	return 1;
}

/* The body, from lr to its end or to a lone dot. */
static int
write_body(struct writer *w, struct lineread *lr)
{
	const char *p;
	size_t len;
	int eol, rc = 1;

	while (!w->msg->ended) {
		if (write_lines(w, lr))
			continue;
		if ((rc = lineread_next(lr, &p, &len, &eol)) != 1)
			break;
		emit_piece(w, p, len, eol);
	}
	return rc == -1 ? -1 : 0;
}

struct rbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
rbuf_add(struct rbuf *b, const char *p, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
}

char *
message_rewrite_list(const char *v, size_t len, message_rewrite_fn fn,
    void *arg, int recipient, char *why, size_t whysize)
{
	struct addr_spans spans;
	struct strlist l;
	struct rbuf b = { NULL, 0, 0 };
	size_t i, at = 0, start, end;
	char *r;

	strlist_init(&l);
	addr_spans_init(&spans);
	if (addr_parse_spans(v, len, &l, &spans, why, whysize) == -1)
		goto out;
	rbuf_add(&b, "", 0);
	for (i = 0; i < l.n; i++) {
		if ((r = fn(arg, l.v[i], recipient)) == NULL)
			continue;
		/* Several addresses replace the whole mailbox. */
		if (strchr(r, ',') != NULL) {
			start = spans.v[i].mbox_start;
			end = spans.v[i].mbox_end;
		} else {
			start = spans.v[i].spec_start;
			end = spans.v[i].spec_end;
		}
		rbuf_add(&b, v + at, start - at);
		rbuf_add(&b, r, strlen(r));
		at = end;
		free(r);
	}
	rbuf_add(&b, v + at, len - at);
out:
	strlist_release(&l);
	addr_spans_release(&spans);
	return b.p;
}

static int
is_addr_header(const struct message *m, const struct message_field *f)
{
	size_t i;

	for (i = 0; i < NADDR_HEADERS; i++)
		if (field_is(m, f, addr_headers[i]))
			return 1;
	return 0;
}

static int
is_rcpt_header(const struct message *m, const struct message_field *f)
{
	return field_is(m, f, "To") || field_is(m, f, "Cc") ||
	    field_is(m, f, "Bcc") || field_is(m, f, "Resent-To") ||
	    field_is(m, f, "Resent-Cc") || field_is(m, f, "Resent-Bcc");
}

static int
collect(const char *name, size_t namelen, const char *v, size_t len,
    struct strlist *into, struct err *e)
{
	char why[128];

	if (addr_parse_list(v, len, into, why, sizeof(why)) == -1)
		return err_set(e, ERR_DATA, "bad address in %.*s header: %s",
		    (int)namelen, name, why);
	return 0;
}

static void
put_field(FILE *out, const char *name, size_t namelen, const char *value,
    size_t len)
{
	if (name[0] == '.')
		putc('.', out);
	fwrite(name, 1, namelen, out);
	putc(':', out);
	fwrite(value, 1, len, out);
	fwrite("\r\n", 1, 2, out);
}

/* Write one held field, edited; collect its recipients with -t. */
static int
write_field(struct writer *w, const struct message_field *f,
    struct strlist *resent, struct err *e)
{
	const struct message_opts *o = w->opts;
	struct message *m = w->msg;
	const char *name = m->hbuf + f->off, *v;
	char *nv = NULL, why[128];
	size_t len, prefix;
	int rc = 0, rcpt = is_rcpt_header(m, f);

	v = field_value(m, f, &len);
	prefix = (size_t)(v - 1 - name);	/* the name, up to ':' */
	if (o->rewrite != NULL && is_addr_header(m, f)) {
		nv = message_rewrite_list(v, len, o->rewrite, o->rewrite_arg,
		    rcpt, why, sizeof(why));
		if (nv != NULL) {
			v = nv;
			len = strlen(nv);
		}
	}
	if (o->read_rcpts && rcpt)
		rc = collect(name, f->namelen, v, len,
		    strncasecmp(name, "Resent-", 7) == 0 ? resent : &m->rcpts,
		    e);
	if (rc == -1)
		goto out;
	if (field_is(m, f, "Bcc") || field_is(m, f, "Resent-Bcc"))
		goto out;
	if (field_is(m, f, "From") && o->force_from &&
	    o->from_header != NULL) {
		if (o->keep_from && !m->has_reply_to)
			put_field(w->out, "Reply-To", 8, v, len);
		fprintf(w->out, "From: %s\r\n", o->from_header);
		goto out;
	}
	put_field(w->out, name, prefix, v, len);
	/* Raw 8-bit header text (RFC 6532) makes the message 8-bit too. */
	if (!m->eightbit && has_8bit(v, len))
		m->eightbit = 1;
out:
	free(nv);
	return rc;
}

static void
note_fields(struct message *m)
{
	size_t i;

	for (i = 0; i < m->nfields; i++) {
		const struct message_field *f = &m->fields[i];

		if (field_is(m, f, "From"))
			m->has_from = 1;
		else if (field_is(m, f, "Date"))
			m->has_date = 1;
		else if (field_is(m, f, "Message-ID"))
			m->has_msgid = 1;
		else if (field_is(m, f, "Reply-To"))
			m->has_reply_to = 1;
	}
}

static void
add_date(FILE *out)
{
	char buf[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	/* RFC 5322 3.3; envoi never calls setlocale, so names are English. */
	strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S %z", &tm);
	fprintf(out, "Date: %s\r\n", buf);
}

static void
add_msgid(FILE *out, const char *domain)
{
	unsigned char rnd[10];
	struct timespec ts;
	char hex[21];
	size_t i;

	if (getentropy(rnd, sizeof(rnd)) == -1)
		memset(rnd, 0, sizeof(rnd));	/* time and pid still differ */
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(out, "Message-ID: <%lld.%ld.%s@%s>\r\n", (long long)ts.tv_sec,
	    (long)getpid(), hex, domain);
}

static int
write_headers(struct writer *w, struct err *e)
{
	const struct message_opts *o = w->opts;
	struct message *m = w->msg;
	struct strlist resent;
	size_t i;
	int rc = 0;

	note_fields(m);
	strlist_init(&resent);
	for (i = 0; i < m->nfields && rc == 0; i++)
		rc = write_field(w, &m->fields[i], &resent, e);
	/* Resent-* recipients, when present, replace the others (sendmail). */
	if (rc == 0 && resent.n > 0) {
		strlist_release(&m->rcpts);
		m->rcpts = resent;
		strlist_init(&resent);
	}
	strlist_release(&resent);
	if (rc == -1)
		return -1;
	if (!m->has_from && o->from_header != NULL)
		fprintf(w->out, "From: %s\r\n", o->from_header);
	if (!m->has_date && o->add_date)
		add_date(w->out);
	if (!m->has_msgid && o->msgid_domain != NULL)
		add_msgid(w->out, o->msgid_domain);
	if (m->body_follows)
		fwrite("\r\n", 1, 2, w->out);
	return 0;
}

int
message_write(struct lineread *lr, FILE *out, const struct message_opts *o,
    struct message *m, struct err *e)
{
	struct writer w;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	w.opts = o;
	w.msg = m;
	w.out = out;
	w.bol = 1;
	if (write_headers(&w, e) == -1)
		return -1;
	w.ob = xmalloc(WRITER_BUFSIZE);
	if (m->pending != NULL) {
		emit_piece(&w, m->pending, m->pendlen, m->pendeol);
		if (m->pendeol)
			m->crlf_bol = m->pendcrlf;	/* as it was read */
	}
	if (m->body_follows)
		rc = write_body(&w, lr);
	if (!w.bol)
		ob_write(&w, "\r\n", 2);	/* end the last line */
	ob_flush(&w);
	free(w.ob);
	if (!m->ended && rc == -1)
		return err_set(e, ERR_IO, "cannot read the message: %s",
		    strerror(errno));
	if (w.linelen > m->longest)
		m->longest = w.linelen;
	if (fflush(out) == EOF || ferror(out))
		return err_set(e, ERR_IO, "cannot write the message: %s",
		    strerror(errno));
	m->size = ftello(out);
	return 0;
}

int
message_read(struct lineread *lr, FILE *out, const struct message_opts *o,
    struct message *m, struct err *e)
{
	if (message_read_headers(lr, o, m, e) == -1)
		return -1;
	return message_write(lr, out, o, m, e);
}

/* --- re-encoding long lines --- */

/* The value of a held field, trimmed, for a quick look. */
static int
field_value_is(const struct message *m, const char *name, const char *prefix)
{
	const char *v;
	size_t i, len, n = strlen(prefix);

	for (i = 0; i < m->nfields; i++) {
		if (!field_is(m, &m->fields[i], name))
			continue;
		v = field_value(m, &m->fields[i], &len);
		while (len > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			len--;
		}
		return len >= n && strncasecmp(v, prefix, n) == 0;
	}
	return 0;
}

static int
has_field(const struct message *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nfields; i++)
		if (field_is(m, &m->fields[i], name))
			return 1;
	return 0;
}

/* Copy the header block of in, minus Content-Transfer-Encoding. */
static int
qp_headers(FILE *in, FILE *out, const struct message *m, int *body)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int skipping = 0;

	*body = 0;
	while ((n = getline(&line, &cap, in)) > 0) {
		if (n == 2 && line[0] == '\r') {
			*body = 1;
			break;
		}
		if (line[0] != ' ' && line[0] != '\t')
			skipping = header_name_len(line, (size_t)n) == 25 &&
			    strncasecmp(line, "Content-Transfer-Encoding",
			    25) == 0;
		if (!skipping)
			fwrite(line, 1, (size_t)n, out);
	}
	free(line);
	if (!has_field(m, "MIME-Version"))
		fputs("MIME-Version: 1.0\r\n", out);
	if (!has_field(m, "Content-Type"))
		fprintf(out, "Content-Type: text/plain; charset=%s\r\n",
		    m->eightbit ? "utf-8" : "us-ascii");
	fputs("Content-Transfer-Encoding: quoted-printable\r\n\r\n", out);
	return ferror(in) ? -1 : 0;
}

/* Encode the rest of in (the body, dot-stuffed) as quoted-printable. */
static int
qp_body(FILE *in, FILE *out)
{
	unsigned char *buf = xmalloc(LINEREAD_SIZE);
	char *enc = xmalloc(QP_ENCODE_BOUND(LINEREAD_SIZE) + QP_FINISH_MAX);
	struct qp_enc q;
	size_t n, i, start, k;
	int bol = 1;

	qp_init(&q);
	while ((n = fread(buf, 1, LINEREAD_SIZE, in)) > 0) {
		/* Undo the dot-stuffing: QP escapes a leading dot itself. */
		for (i = 0; i < n; i = start + k) {
			start = i;
			if (bol && buf[i] == '.')
				start++;
			for (k = 0; start + k < n && buf[start + k] != '\n';)
				k++;
			bol = start + k < n;
			if (bol)
				k++;
			fwrite(enc, 1, qp_encode(&q, buf + start, k, enc), out);
		}
	}
	fwrite(enc, 1, qp_finish(&q, enc), out);
	free(buf);
	free(enc);
	return ferror(in) ? -1 : 0;
}

int
message_reencode_qp(FILE *in, FILE *out, struct message *m, struct err *e)
{
	int body;

	if (field_value_is(m, "Content-Type", "multipart/") ||
	    field_value_is(m, "Content-Type", "message/"))
		return err_set(e, ERR_DATA, "a line of %zu octets in a "
		    "multipart message: SMTP allows 998, and envoi does not "
		    "re-encode inside MIME parts", m->longest);
	if (field_value_is(m, "Content-Transfer-Encoding", "base64") ||
	    field_value_is(m, "Content-Transfer-Encoding",
	    "quoted-printable"))
		return err_set(e, ERR_DATA, "a line of %zu octets in a body "
		    "that claims to be encoded already", m->longest);
	rewind(in);
	if (qp_headers(in, out, m, &body) == -1 ||
	    (body && qp_body(in, out) == -1))
		return err_set(e, ERR_IO, "cannot read the spooled message: "
		    "%s", strerror(errno));
	if (fflush(out) == EOF || ferror(out))
		return err_set(e, ERR_IO, "cannot write the message: %s",
		    strerror(errno));
	m->size = ftello(out);
	m->longest = QP_LINE_MAX;
	m->eightbit = 0;
	return 0;
}
