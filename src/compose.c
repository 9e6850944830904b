/*
 * compose.c - building a MIME message from the command line.
 *
 * Structure of a composed message:
 *
 *	text only		the text part is the body
 *	text + --html		multipart/alternative (text first)
 *	with attachments	multipart/mixed: the body (text, or the
 *				alternative) first, then one part per file
 *
 * Adding attachments to a message on stdin: a multipart/mixed message
 * gains its new parts before its closing delimiter; anything else
 * becomes the first part of a new multipart/mixed, its content headers
 * (Content-Type, Content-Transfer-Encoding, Content-Disposition) moving
 * into that part and every other header staying where it was.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "compose.h"
#include "encode.h"
#include "header.h"
#include "mime.h"
#include "util.h"

#define HEADERS_MAX	(1024 * 1024)

struct attachment {
	char		*path;
	char		*type;		/* NULL: detect */
	char		*name;		/* NULL: the file's base name */
	int		 inline_;
};

static void
attachment_release(struct attachment *a)
{
	free(a->path);
	free(a->type);
	free(a->name);
	memset(a, 0, sizeof(*a));
}

/*
 * The next ";"-separated option of an -A argument, unquoted: a value may
 * be a quoted string ("a; b", with \" and \\), so that any name can be
 * given.  Returns the allocated option, or NULL at the end.
 */
static char *
next_opt(const char **pp, int *bad)
{
	const char *p = *pp;
	char *o;
	size_t n = 0;
	int quoted = 0;

	if (*p == '\0')
		return NULL;
	o = xmalloc(strlen(p) + 1);
	for (; *p && (quoted || *p != ';'); p++) {
		if (*p == '"') {
			quoted = !quoted;
			continue;
		}
		if (quoted && *p == '\\' && p[1] != '\0')
			p++;
		o[n++] = *p;
	}
	o[n] = '\0';
	*bad = quoted;
	*pp = *p == ';' ? p + 1 : p;
	return o;
}

/* "FILE;type=T;name=N;inline" into a. */
static int
attachment_parse(const char *arg, struct attachment *a, struct err *e)
{
	const char *p, *semi;
	char *tok, *t;
	size_t k;
	int bad = 0;

	memset(a, 0, sizeof(*a));
	if (access(arg, F_OK) == 0 || (semi = strchr(arg, ';')) == NULL) {
		a->path = xstrdup(arg);
		return 0;
	}
	a->path = xstrndup(arg, (size_t)(semi - arg));
	p = semi + 1;
	while ((tok = next_opt(&p, &bad)) != NULL) {
		for (t = tok; *t == ' '; t++)
			;
		for (k = strlen(t); k > 0 && t[k - 1] == ' ';)
			t[--k] = '\0';
		if (bad) {
			free(tok);
			attachment_release(a);
			return err_set(e, ERR_USAGE, "-A '%s': unterminated "
			    "quote", arg);
		}
		if (strncmp(t, "type=", 5) == 0 && strchr(t + 5, '/')) {
			free(a->type);
			a->type = xstrdup(t + 5);
		} else if (strncmp(t, "name=", 5) == 0 && t[5] != '\0') {
			free(a->name);
			a->name = xstrdup(t + 5);
		} else if (strcmp(t, "inline") == 0)
			a->inline_ = 1;
		else if (strcmp(t, "attachment") == 0)
			a->inline_ = 0;
		else if (*t != '\0') {
			err_set(e, ERR_USAGE, "-A '%s': unknown option '%s' "
			    "(type=, name=, inline)", arg, t);
			free(tok);
			attachment_release(a);
			return -1;
		}
		free(tok);
	}
	if (a->type != NULL && (has_ctl(a->type) ||
	    strpbrk(a->type, " ;\"") != NULL)) {
		attachment_release(a);
		return err_set(e, ERR_USAGE, "-A '%s': bad type", arg);
	}
	if (a->name != NULL && has_ctl(a->name)) {
		attachment_release(a);
		return err_set(e, ERR_USAGE, "-A '%s': control characters "
		    "in the name", arg);
	}
	return 0;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int
check_readable(const char *what, const char *path, struct err *e)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return err_set(e, ERR_NOINPUT, "cannot open %s '%s': %s", what,
		    path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, ERR_NOINPUT, "%s '%s' is not a regular "
		    "file", what, path);
	}
	close(fd);
	return 0;
}

/* Whole, valid UTF-8 (ASCII included)? */
static int
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int need;

	while (*p) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			need = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			need = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			need = 3;
		else
			return 0;
		for (p++; need > 0; need--, p++)
			if ((*p & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

static int
check_value(const char *what, const char *v, struct err *e)
{
	if (has_ctl(v))
		return err_set(e, ERR_USAGE, "%s: line breaks and control "
		    "characters are not allowed", what);
	if (!utf8_ok(v))
		return err_set(e, ERR_USAGE, "%s: not valid UTF-8", what);
	if (strlen(v) > ENCODE_TEXT_MAX / 2)
		return err_set(e, ERR_USAGE, "%s: longer than %d bytes", what,
		    ENCODE_TEXT_MAX / 2);
	return 0;
}

static int
check_addrs(const char *what, const char *v, struct err *e)
{
	struct strlist l;
	char why[128];
	int rc;

	if (check_value(what, v, e) == -1)
		return -1;
	strlist_init(&l);
	rc = addr_parse_list(v, strlen(v), &l, why, sizeof(why));
	strlist_release(&l);
	if (rc == -1)
		return err_set(e, ERR_USAGE, "%s '%s': %s", what, v, why);
	return 0;
}

int
compose_check(const struct opts *o, struct err *e)
{
	struct attachment a;
	char probe[2048];
	size_t i;
	int k;

	for (i = 0; i < o->attach.n; i++) {
		if (attachment_parse(o->attach.v[i], &a, e) == -1)
			return -1;
		k = check_readable("attachment", a.path, e);
		if (k == 0 && rfc2231_param("filename", a.name ? a.name :
		    base_name(a.path), 0, probe, sizeof(probe)) < 0)
			k = err_set(e, ERR_USAGE, "attachment name '%s' is "
			    "not valid UTF-8", a.name ? a.name :
			    base_name(a.path));
		attachment_release(&a);
		if (k == -1)
			return -1;
	}
	if (o->body_file && check_readable("body file", o->body_file,
	    e) == -1)
		return -1;
	if (o->html_file && check_readable("HTML file", o->html_file,
	    e) == -1)
		return -1;
	if (o->subject && check_value("-s", o->subject, e) == -1)
		return -1;
	if (o->from_header && check_addrs("--from", o->from_header, e) == -1)
		return -1;
	if (o->reply_to && check_addrs("--reply-to", o->reply_to, e) == -1)
		return -1;
	for (i = 0; i < o->cc.n; i++)
		if (check_addrs("-c", o->cc.v[i], e) == -1)
			return -1;
	for (i = 0; i < o->bcc.n; i++)
		if (check_addrs("-b", o->bcc.v[i], e) == -1)
			return -1;
	for (k = 0; k < o->nrcpts; k++)
		if (check_addrs("recipient", o->rcpts[k], e) == -1)
			return -1;
	for (i = 0; i < o->headers.n; i++) {
		const char *h = o->headers.v[i];
		size_t n = header_name_len(h, strlen(h));

		if (check_value("--header", h, e) == -1)
			return -1;
		if (n == 0)
			return err_set(e, ERR_USAGE, "--header '%s': expected "
			    "'Name: value'", h);
		if ((n == 12 && strncasecmp(h, "Content-Type", 12) == 0) ||
		    (n == 25 && strncasecmp(h, "Content-Transfer-Encoding",
		    25) == 0) || (n == 12 && strncasecmp(h, "MIME-Version",
		    12) == 0))
			return err_set(e, ERR_USAGE, "--header '%.*s': envoi "
			    "writes the MIME structure itself", (int)n, h);
	}
	return 0;
}

/* An unstructured value, RFC 2047-encoded when it must be. */
static int
put_text(FILE *out, const char *name, const char *value, struct err *e)
{
	size_t size = strlen(value) * 4 + 256;
	char *buf = xmalloc(size);
	int n;

	n = rfc2047_encode(value, strlen(value), strlen(name) + 2, buf, size);
	if (n >= 0 && (size_t)n < size)
		fprintf(out, "%s: %s\r\n", name, buf);
	free(buf);
	if (n < 0 || (size_t)n >= size)
		return err_set(e, ERR_USAGE, "cannot encode the %s header",
		    name);
	return 0;
}

static int
is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* A display name without its quotes and quoted-pairs. */
static char *
unquote(const char *p, size_t n)
{
	char *r = xmalloc(n + 1);
	size_t i, k = 0;

	while (n > 0 && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		for (i = 1; i + 1 < n; i++) {
			if (p[i] == '\\' && i + 2 < n)
				i++;
			r[k++] = p[i];
		}
	} else {
		memcpy(r, p, n);
		k = n;
	}
	r[k] = '\0';
	return r;
}

/* One address list value; display names that are not ASCII encoded. */
static void
put_list(FILE *out, const char *v, int *first)
{
	struct addr_spans spans;
	struct strlist l;
	char why[128], *name, *phrase;
	size_t i, size;
	int k;

	if (is_ascii(v)) {
		fprintf(out, "%s%s", *first ? "" : ",\r\n ", v);
		*first = 0;
		return;
	}
	strlist_init(&l);
	addr_spans_init(&spans);
	addr_parse_spans(v, strlen(v), &l, &spans, why, sizeof(why));
	for (i = 0; i < l.n; i++) {
		const struct addr_span *sp = &spans.v[i];

		fputs(*first ? "" : ",\r\n ", out);
		*first = 0;
		name = unquote(v + sp->mbox_start, sp->spec_start -
		    sp->mbox_start > 0 && sp->spec_start > sp->mbox_start ?
		    sp->spec_start - sp->mbox_start - 1 : 0);
		if (*name == '\0') {
			fputs(l.v[i], out);
			free(name);
			continue;
		}
		size = strlen(name) * 12 + 64;
		phrase = xmalloc(size);
		k = rfc2047_phrase(name, strlen(name), 1, phrase, size);
		if (k >= 0 && (size_t)k < size)
			fprintf(out, "%s <%s>", phrase, l.v[i]);
		else
			fputs(l.v[i], out);
		free(phrase);
		free(name);
	}
	strlist_release(&l);
	addr_spans_release(&spans);
}

static void
put_addrs(FILE *out, const char *name, const char *const *v, size_t n)
{
	size_t i;
	int first = 1;

	fprintf(out, "%s: ", name);
	for (i = 0; i < n; i++)
		put_list(out, v[i], &first);
	fputs("\r\n", out);
}

static int
put_headers(const struct opts *o, FILE *out, struct err *e)
{
	const char **to = xcalloc((size_t)o->nrcpts + 1, sizeof(*to));
	size_t i;

	if (o->from_header)
		put_addrs(out, "From", &o->from_header, 1);
	for (i = 0; i < (size_t)o->nrcpts; i++)
		to[i] = o->rcpts[i];
	if (o->nrcpts > 0)
		put_addrs(out, "To", to, (size_t)o->nrcpts);
	if (o->cc.n)
		put_addrs(out, "Cc", o->cc.v, o->cc.n);
	if (o->bcc.n)
		put_addrs(out, "Bcc", o->bcc.v, o->bcc.n);
	if (o->reply_to)
		put_addrs(out, "Reply-To", &o->reply_to, 1);
	if (put_text(out, "Subject", o->subject ? o->subject : "", e) == -1)
		goto fail;
	for (i = 0; i < o->headers.n; i++) {
		const char *h = o->headers.v[i], *v;
		size_t n = header_name_len(h, strlen(h));
		char name[256];

		v = strchr(h, ':') + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		snprintf(name, sizeof(name), "%.*s", (int)n, h);
		if (put_text(out, name, v, e) == -1)
			goto fail;
	}
	fputs("MIME-Version: 1.0\r\n", out);
	free(to);
	return 0;
fail:
	free(to);
	return -1;
}

/* Copy in to a temporary file, so it can be scanned, then encoded. */
static int
spool_input(int in, int *fd, struct err *e)
{
	char dir[PATH_MAX], buf[65536];
	ssize_t n, w, off;

	if ((*fd = tmp_fd("envoi-body", dir, sizeof(dir))) == -1)
		return err_set(e, ERR_CANTCREAT, "cannot create a temporary "
		    "file in '%s': %s", dir, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return err_set(e, ERR_IO, "cannot read the body: %s",
			    strerror(errno));
		for (off = 0; off < n; off += w)
			if ((w = write(*fd, buf + off, (size_t)(n - off))) <= 0)
				return err_set(e, ERR_IO, "cannot write a "
				    "temporary file: %s", strerror(errno));
	}
	return 0;
}

static int
write_file_part(FILE *out, const char *boundary, const char *path,
    const char *type, int type_given, const char *filename, int disp,
    struct err *e)
{
	struct mime_part p;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(e, ERR_NOINPUT, "cannot open '%s': %s", path,
		    strerror(errno));
	memset(&p, 0, sizeof(p));
	p.fd = fd;
	p.type = type;
	p.type_given = type_given;
	p.filename = filename;
	p.disposition = disp;
	rc = mime_write_part(out, boundary, &p, path, e);
	close(fd);
	return rc;
}

static int
write_attachments(const struct opts *o, FILE *out, const char *boundary,
    struct err *e)
{
	struct attachment a;
	size_t i;
	int rc = 0;

	for (i = 0; i < o->attach.n && rc == 0; i++) {
		if (attachment_parse(o->attach.v[i], &a, e) == -1)
			return -1;
		rc = write_file_part(out, boundary, a.path, a.type,
		    a.type != NULL, a.name ? a.name : base_name(a.path),
		    a.inline_ ? 2 : 1, e);
		attachment_release(&a);
	}
	return rc;
}

/* The text (and html) body, as a part of outer, or as the body. */
static int
write_body(const struct opts *o, FILE *out, const char *outer, int text_fd,
    struct err *e)
{
	struct mime_part p;
	char alt[MIME_BOUNDARY_MAX];

	memset(&p, 0, sizeof(p));
	p.fd = text_fd;
	p.type = "text/plain";
	if (o->html_file == NULL)
		return mime_write_part(out, outer, &p, "the body", e);
	mime_boundary(alt);
	if (outer != NULL)
		fprintf(out, "--%s\r\n", outer);
	fprintf(out, "Content-Type: multipart/alternative;\r\n"
	    "\tboundary=\"%s\"\r\n\r\n", alt);
	if (mime_write_part(out, alt, &p, "the body", e) == -1 ||
	    write_file_part(out, alt, o->html_file, "text/html", 0, NULL, 0,
	    e) == -1)
		return -1;
	mime_close(out, alt);
	if (outer != NULL)
		fputs("\r\n", out);	/* the outer delimiter's CRLF */
	return 0;
}

static int
compose_new(const struct opts *o, int in, FILE *out, struct err *e)
{
	char mixed[MIME_BOUNDARY_MAX];
	int fd = -1, rc = -1;

	if (o->body_file != NULL) {
		if ((fd = open(o->body_file, O_RDONLY | O_CLOEXEC)) == -1) {
			err_set(e, ERR_NOINPUT, "cannot open '%s': %s",
			    o->body_file, strerror(errno));
			goto out;
		}
	} else if (spool_input(in, &fd, e) == -1)
		goto out;
	if (put_headers(o, out, e) == -1)
		goto out;
	if (o->attach.n == 0) {
		rc = write_body(o, out, NULL, fd, e);
		goto out;
	}
	mime_boundary(mixed);
	fprintf(out, "Content-Type: multipart/mixed;\r\n\tboundary=\"%s\"\r\n"
	    "\r\nThis is a message in MIME format.\r\n\r\n", mixed);
	if (write_body(o, out, mixed, fd, e) == -1 ||
	    write_attachments(o, out, mixed, e) == -1)
		goto out;
	mime_close(out, mixed);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	return rc;
}

/* --- adding attachments to a message on stdin --- */

struct held {
	char	*buf;		/* the header block, lines with their ends */
	size_t	 len;
	int	 body;		/* an empty line followed */
};

static int
read_header_block(FILE *in, struct held *h, struct err *e)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	memset(h, 0, sizeof(*h));
	while ((n = getline(&line, &cap, in)) > 0) {
		if ((n == 1 && line[0] == '\n') ||
		    (n == 2 && line[0] == '\r' && line[1] == '\n')) {
			h->body = 1;
			break;
		}
		if (h->len + (size_t)n > HEADERS_MAX) {
			free(line);
			return err_set(e, ERR_DATA, "header block longer than "
			    "%d bytes", HEADERS_MAX);
		}
		h->buf = xrealloc(h->buf, h->len + (size_t)n + 1);
		memcpy(h->buf + h->len, line, (size_t)n);
		h->len += (size_t)n;
		h->buf[h->len] = '\0';
	}
	free(line);
	return 0;
}

/*
 * Walk the fields of the held block: for each, call fn with the field's
 * text (folded lines included) and whether it is a content header.
 */
static int
is_content_field(const char *f, size_t len)
{
	size_t n = header_name_len(f, len);

	return (n == 12 && strncasecmp(f, "Content-Type", 12) == 0) ||
	    (n == 25 && strncasecmp(f, "Content-Transfer-Encoding", 25) ==
	    0) || (n == 19 && strncasecmp(f, "Content-Disposition", 19) == 0) ||
	    (n == 12 && strncasecmp(f, "MIME-Version", 12) == 0);
}

/* Write the held fields that are (want) or are not content headers. */
static void
write_fields(const struct held *h, FILE *out, int want_content)
{
	const char *p = h->buf, *end = h->buf + h->len, *next;

	while (p < end) {
		next = p;
		do {
			next = memchr(next, '\n', (size_t)(end - next));
			next = next ? next + 1 : end;
		} while (next < end && (*next == ' ' || *next == '\t'));
		if (is_content_field(p, (size_t)(next - p)) == want_content &&
		    !(want_content && header_name_len(p, (size_t)(next - p)) ==
		    12 && strncasecmp(p, "MIME-Version", 12) == 0))
			fwrite(p, 1, (size_t)(next - p), out);
		p = next;
	}
}

/* The boundary of a multipart/mixed Content-Type, or 0. */
static int
mixed_boundary(const struct held *h, char *b, size_t size)
{
	const char *p = h->buf, *q, *end;
	size_t n;

	while (p != NULL && *p) {
		if (header_name_len(p, strlen(p)) == 12 &&
		    strncasecmp(p, "Content-Type", 12) == 0)
			break;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (p == NULL || *p == '\0')
		return 0;
	p = strchr(p, ':') + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "multipart/mixed", 15) != 0)
		return 0;
	q = strcasestr(p, "boundary=");
	if (q == NULL)
		return 0;
	q += 9;
	if (*q == '"') {
		end = strchr(++q, '"');
	} else {
		for (end = q; *end && !strchr(" ;\t\r\n", *end); end++)
			;
	}
	if (end == NULL || (n = (size_t)(end - q)) == 0 || n >= size)
		return 0;
	memcpy(b, q, n);
	b[n] = '\0';
	return 1;
}

/* Copy the body up to its closing delimiter; 1 when found. */
static int
copy_to_close(FILE *in, FILE *out, const char *boundary, char **rest,
    size_t *restlen)
{
	char close[MIME_BOUNDARY_MAX + 210], *line = NULL;
	size_t cap = 0, cl;
	ssize_t n;

	snprintf(close, sizeof(close), "--%s--", boundary);
	cl = strlen(close);
	while ((n = getline(&line, &cap, in)) > 0) {
		size_t k = (size_t)n;

		while (k > 0 && strchr("\r\n \t", line[k - 1]))
			k--;
		if (k == cl && memcmp(line, close, cl) == 0) {
			*rest = line;
			*restlen = (size_t)n;
			return 1;
		}
		fwrite(line, 1, (size_t)n, out);
	}
	free(line);
	return 0;
}

static int
compose_add(const struct opts *o, int in, FILE *out, struct err *e)
{
	FILE *fin = fdopen(dup(in), "r");
	char b[MIME_BOUNDARY_MAX + 200], buf[65536], *rest = NULL;
	struct held h;
	size_t n, restlen = 0;
	int rc = -1;

	if (fin == NULL)
		return err_set(e, ERR_OS, "fdopen: %s", strerror(errno));
	if (read_header_block(fin, &h, e) == -1)
		goto out;
	if (mixed_boundary(&h, b, sizeof(b))) {
		/* Already multipart/mixed: new parts before its end. */
		fwrite(h.buf, 1, h.len, out);
		fputs("\r\n", out);
		if (copy_to_close(fin, out, b, &rest, &restlen) == 0)
			fputs("\r\n", out);
		if (write_attachments(o, out, b, e) == -1)
			goto out;
		mime_close(out, b);
		while ((n = fread(buf, 1, sizeof(buf), fin)) > 0)
			fwrite(buf, 1, n, out);	/* the epilogue */
		rc = 0;
		goto out;
	}
	/* One part (or another multipart): it becomes the first part. */
	mime_boundary(b);
	write_fields(&h, out, 0);
	fprintf(out, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n"
	    "\tboundary=\"%s\"\r\n\r\nThis is a message in MIME format."
	    "\r\n\r\n--%s\r\n", b, b);
	write_fields(&h, out, 1);
	fputs("\r\n", out);
	/*
	 * The original body goes in as it is; a line in it that looks like
	 * our delimiter is ruled out by the 128 random bits in b.
	 */
	while (h.body && (n = fread(buf, 1, sizeof(buf), fin)) > 0)
		fwrite(buf, 1, n, out);
	if (ferror(fin)) {
		err_set(e, ERR_IO, "cannot read the message: %s",
		    strerror(errno));
		goto out;
	}
	fputs("\r\n", out);
	if (write_attachments(o, out, b, e) == -1)
		goto out;
	mime_close(out, b);
	rc = 0;
out:
	free(rest);
	free(h.buf);
	fclose(fin);
	return rc;
}

int
compose_write(const struct opts *o, int in, FILE *out, struct err *e)
{
	int rc;

	rc = o->compose ? compose_new(o, in, out, e) :
	    compose_add(o, in, out, e);
	if (rc == 0 && (fflush(out) == EOF || ferror(out)))
		return err_set(e, ERR_IO, "cannot write the message: %s",
		    strerror(errno));
	return rc;
}
