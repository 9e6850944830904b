/*
 * mime.c - multipart bodies.
 */
#include "autoconf.h"

#include <magic.h>

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "encode.h"
#include "mime.h"
#include "dl.h"
#include "util.h"

/*
 * The library is loaded on first use (dl.h): every call goes through
 * this table, filled by magic_load_lib().
 */
#define MG_API(X) \
	X(magic_close) \
	X(magic_descriptor) \
	X(magic_load) \
	X(magic_open) \
	X(magic_setparam)

static struct {
#define X(f) __typeof__(&f) f;
	MG_API(X)
#undef X
} mg;

static const char *const mg_names[] = {
#define X(f) #f,
	MG_API(X)
#undef X
};

static int mg_loaded;

static int
magic_load_lib(struct err *e)
{
	return dl_load(MAGIC_SONAME, mg_names, (void **)(void *)&mg,
	    sizeof(mg_names) / sizeof(mg_names[0]), &mg_loaded, e);
}

/* Base64 reads a multiple of 57 bytes, so that lines stay whole. */
#define MIME_BLOCK	(57 * 4096)

void
mime_boundary(char buf[MIME_BOUNDARY_MAX])
{
	unsigned char r[16];
	size_t i, n;

	if (getentropy(r, sizeof(r)) == -1)
		for (i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)(rand() & 0xff);
	n = (size_t)snprintf(buf, MIME_BOUNDARY_MAX, "%s",
	    MIME_BOUNDARY_PREFIX);
	for (i = 0; i < sizeof(r); i++)
		n += (size_t)snprintf(buf + n, MIME_BOUNDARY_MAX - n, "%02x",
		    r[i]);
}

/*
 * UTF-8 check that carries across calls: need is how many continuation
 * bytes are still expected.  Returns -1 on an invalid sequence.
 */
static int
utf8_run(const unsigned char *p, size_t len, int *need)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (*need > 0) {
			if ((c & 0xc0) != 0x80)
				return -1;
			(*need)--;
		} else if (c < 0x80)
			continue;
		else if (c >= 0xc2 && c <= 0xdf)
			*need = 1;
		else if (c >= 0xe0 && c <= 0xef)
			*need = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			*need = 3;
		else
			return -1;
	}
	return 0;
}

/* Once any of these is seen, the part goes base64: stop looking. */
static int
scan_settled(const struct mime_scan *s, int bad_utf8)
{
	return s->nul || s->bare_cr || (s->eightbit && bad_utf8);
}

int
mime_scan_fd(int fd, const char *boundary, struct mime_scan *s,
    struct err *e)
{
	unsigned char *buf = xmalloc(MIME_BLOCK);
	char bprefix[MIME_BOUNDARY_MAX + 80];
	size_t blen, k, seg;
	uint64_t line = 0;
	struct stat st;
	ssize_t n;
	int prev_cr = 0, need = 0, bad = 0, ret = -1;
	unsigned char *p, *end, *nl;

	memset(s, 0, sizeof(*s));
	snprintf(bprefix, sizeof(bprefix), "--%s", boundary);
	blen = strlen(bprefix);
	while (!scan_settled(s, bad)) {
		n = read(fd, buf, MIME_BLOCK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(e, ERR_IO, "read: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		s->size += (uint64_t)n;
		for (p = buf, end = buf + n; p < end && !scan_settled(s, bad);
		    p += seg) {
			nl = memchr(p, '\n', (size_t)(end - p));
			seg = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
			/* A CR not before LF (also across the block edge). */
			if (prev_cr && p[0] != '\n')
				s->bare_cr = 1;
			k = nl ? seg - 1 : seg;
			if (line == 0 && k > 0 && p[0] == '-' &&
			    (k < blen || memcmp(p, bprefix, blen) == 0))
				s->boundary = 1;
			if (memchr(p, '\0', seg) != NULL)
				s->nul = 1;
			if (k > 1 && memchr(p, '\r', k - 1) != NULL)
				s->bare_cr = 1;
			prev_cr = k > 0 && p[k - 1] == '\r' && nl == NULL;
			if (has_8bit(p, seg)) {
				s->eightbit = 1;
				if (!bad && utf8_run(p, seg, &need) == -1)
					bad = 1;
			} else if (need > 0)
				bad = 1;
			line += k;
			if (nl != NULL) {
				if (line > (uint64_t)(998 + (k > 0 && p[k - 1] == '\r')))
					s->longline = 1;
				line = 0;
			}
		}
	}
	if (scan_settled(s, bad)) {
		/* Settled early: the size is the file's. */
		if (fstat(fd, &st) == 0)
			s->size = (uint64_t)st.st_size;
	} else {
		if (prev_cr)
			s->bare_cr = 1;
		if (line > 998)
			s->longline = 1;
	}
	s->utf8 = !bad && need == 0;
	ret = 0;
out:
	free(buf);
	return ret;
}

/* Well-known signatures at the start of a file. */
static const struct {
	size_t		 off;
	const char	*magic;
	size_t		 len;
	const char	*type;
} mime_sigs[] = {
	{ 0, "%PDF-", 5, "application/pdf" },
	{ 0, "\x89PNG\r\n\x1a\n", 8, "image/png" },
	{ 0, "\xff\xd8\xff", 3, "image/jpeg" },
	{ 0, "GIF87a", 6, "image/gif" },
	{ 0, "GIF89a", 6, "image/gif" },
	{ 8, "WEBP", 4, "image/webp" },
	{ 0, "\x1f\x8b", 2, "application/gzip" },
	{ 0, "BZh", 3, "application/x-bzip2" },
	{ 0, "\xfd" "7zXZ\0", 6, "application/x-xz" },
	{ 0, "\x28\xb5\x2f\xfd", 4, "application/zstd" },
	{ 0, "7z\xbc\xaf\x27\x1c", 6, "application/x-7z-compressed" },
	{ 0, "%!PS", 4, "application/postscript" },
	{ 0, "OggS", 4, "application/ogg" },
	{ 0, "ID3", 3, "audio/mpeg" },
	{ 4, "ftyp", 4, "video/mp4" },
	{ 257, "ustar", 5, "application/x-tar" },
	{ 0, "PK\x03\x04", 4, "application/zip" },
};

/*
 * The type /etc/mime.types gives name's extension, into buf; 0 when it
 * has none.
 */
static int
mime_by_extension(const char *name, char *buf, size_t size)
{
	const char *dot = name ? strrchr(name, '.') : NULL, *ext;
	char *line = NULL, *save, *type, *tok;
	size_t cap = 0;
	FILE *fp;
	int found = 0;

	if (dot == NULL || dot[1] == '\0' || strchr(dot, '/') != NULL)
		return 0;
	ext = dot + 1;
	if ((fp = fopen("/etc/mime.types", "r")) == NULL)
		return 0;
	while (!found && getline(&line, &cap, fp) > 0) {
		if (line[0] == '#')
			continue;
		if ((type = strtok_r(line, " \t\r\n", &save)) == NULL)
			continue;
		while ((tok = strtok_r(NULL, " \t\r\n", &save)) != NULL)
			if (strcasecmp(tok, ext) == 0) {
				snprintf(buf, size, "%s", type);
				found = 1;
				break;
			}
	}
	free(line);
	fclose(fp);
	return found;
}

static void
mime_libmagic(int fd, char *buf, size_t size)
{
	magic_t m = NULL;
	const char *t = NULL;
	struct err e;
	int dup_fd;

	err_init(&e);
	/* Without libmagic, every file is plain data: still correct. */
	if (magic_load_lib(&e) == 0)
		m = mg.magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
	if (m != NULL) {
		/*
		 * libmagic reads up to 7 MB of a file and keeps text copies
		 * of it; the start of a file is what tells its type.
		 */
		size_t max = 65536;

		mg.magic_setparam(m, MAGIC_PARAM_BYTES_MAX, &max);
	}
	if (m != NULL && mg.magic_load(m, NULL) == 0) {
		/* libmagic may close the descriptor it is given. */
		if ((dup_fd = dup(fd)) != -1) {
			t = mg.magic_descriptor(m, dup_fd);
			close(dup_fd);
		}
	}
	snprintf(buf, size, "%s", t && strchr(t, '/') ? t :
	    "application/octet-stream");
	if (m != NULL)
		mg.magic_close(m);
}

/* A type whose content is text: a text file may have it, no other. */
static int
textual(const char *type)
{
	return strncasecmp(type, "text/", 5) == 0 ||
	    strcmp(type, "application/json") == 0 ||
	    strcmp(type, "application/xml") == 0 ||
	    strcmp(type, "message/rfc822") == 0;
}

void
mime_detect(int fd, const char *name, int text, char *buf, size_t size)
{
	struct stat st;
	unsigned char head[512];
	ssize_t n;
	size_t i;

	n = pread(fd, head, sizeof(head), 0);
	for (i = 0; n > 0 && i < sizeof(mime_sigs) / sizeof(mime_sigs[0]);
	    i++) {
		if ((size_t)n < mime_sigs[i].off + mime_sigs[i].len ||
		    memcmp(head + mime_sigs[i].off, mime_sigs[i].magic,
		    mime_sigs[i].len) != 0)
			continue;
		/* Office files and friends are zip archives: ask the name. */
		if (strcmp(mime_sigs[i].type, "application/zip") == 0 &&
		    mime_by_extension(name, buf, size))
			return;
		snprintf(buf, size, "%s", mime_sigs[i].type);
		return;
	}
	if (text) {
		if (!mime_by_extension(name, buf, size) || !textual(buf))
			snprintf(buf, size, "text/plain");
		return;
	}
	/* A binary file's name, unless it names a kind of text. */
	if (mime_by_extension(name, buf, size) && !textual(buf) &&
	    strncasecmp(buf, "message/", 8) != 0 &&
	    strncasecmp(buf, "multipart/", 10) != 0)
		return;
	/*
	 * The long tail: libmagic, whose database alone is 8 MB resident,
	 * more than all the rest of envoi; not for a big file, which it
	 * would cost that much memory to call data.
	 */
	if (fstat(fd, &st) == 0 && st.st_size > MIME_MAGIC_MAX)
		snprintf(buf, size, "application/octet-stream");
	else
		mime_libmagic(fd, buf, size);
}

static enum mime_cte
mime_choose(int text, const struct mime_scan *s)
{
	if (!text || s->nul || s->bare_cr || (s->eightbit && !s->utf8))
		return MIME_BASE64;
	if (s->eightbit || s->longline || s->boundary)
		return MIME_QP;
	return MIME_7BIT;
}

/*
 * message/rfc822 and the like may only be 7bit or 8bit (RFC 2046
 * 5.2.1): one that would need encoding goes as plain data instead.
 */
static enum mime_cte
mime_choose_message(const struct mime_scan *s)
{
	if (s->nul || s->bare_cr || s->longline || s->boundary)
		return MIME_BASE64;
	return s->eightbit ? MIME_8BIT : MIME_7BIT;
}

static const char *cte_names[MIME_CTE_LAST] = {
	"7bit", "8bit", "quoted-printable", "base64"
};

/* 7bit text: copy with LF made CRLF. */
static int
copy_7bit(int fd, FILE *out)
{
	char *buf = xmalloc(MIME_BLOCK);
	ssize_t n, i, start;
	int prev = '\n', ret = 0;

	while ((n = read(fd, buf, MIME_BLOCK)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			ret = -1;
			break;
		}
		for (start = i = 0; i < n; i++) {
			if (buf[i] != '\n' ||
			    (i > 0 ? buf[i - 1] : prev) == '\r')
				continue;
			fwrite(buf + start, 1, (size_t)(i - start), out);
			fwrite("\r\n", 1, 2, out);
			start = i + 1;
		}
		fwrite(buf + start, 1, (size_t)(n - start), out);
		prev = buf[n - 1];
	}
	free(buf);
	return ret;
}

static int
copy_encoded(int fd, FILE *out, enum mime_cte cte)
{
	unsigned char *in = xmalloc(MIME_BLOCK);
	size_t cap = cte == MIME_QP ? QP_ENCODE_BOUND(MIME_BLOCK) :
	    B64_ENCODE_BOUND(MIME_BLOCK);
	char *enc = xmalloc(cap + 64);
	struct b64_enc b;
	struct qp_enc q;
	ssize_t n;
	size_t k, got = 0;
	int ret = 0;

	b64_init(&b);
	qp_init(&q);
	for (;;) {
		/* Fill the block, so base64 lines are whole 57-byte runs. */
		n = read(fd, in + got, MIME_BLOCK - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			ret = -1;
			break;
		}
		got += (size_t)n;
		if (n > 0 && got < MIME_BLOCK)
			continue;
		if (got > 0) {
			k = cte == MIME_QP ? qp_encode(&q, in, got, enc) :
			    b64_encode(&b, in, got, enc);
			fwrite(enc, 1, k, out);
			got = 0;
		}
		if (n == 0)
			break;
	}
	k = cte == MIME_QP ? qp_finish(&q, enc) : b64_finish(&b, enc);
	fwrite(enc, 1, k, out);
	free(in);
	free(enc);
	return ret;
}

static int
param_fits(int rc, size_t size)
{
	return rc >= 0 && (size_t)rc < size;
}

int
mime_write_part(FILE *out, const char *boundary, const struct mime_part *p,
    const char *name, struct err *e)
{
	char type[256], param[2048];
	struct mime_scan s;
	enum mime_cte cte;
	size_t used;
	int text, rc;

	if (lseek(p->fd, 0, SEEK_SET) == -1 ||
	    mime_scan_fd(p->fd, boundary ? boundary : MIME_BOUNDARY_PREFIX,
	    &s, e) == -1 ||
	    lseek(p->fd, 0, SEEK_SET) == -1)
		return err_set(e, ERR_IO, "cannot read '%s': %s", name,
		    strerror(errno));
	if (p->type != NULL)
		snprintf(type, sizeof(type), "%s", p->type);
	else
		mime_detect(p->fd, p->filename ? p->filename : name,
		    !s.nul && !s.bare_cr && (!s.eightbit || s.utf8), type,
		    sizeof(type));
	/* libmagic calls an empty file application/x-empty. */
	if (s.size == 0 && !p->type_given)
		snprintf(type, sizeof(type), "text/plain");
	text = strncasecmp(type, "text/", 5) == 0;
	if (strncasecmp(type, "message/", 8) == 0) {
		cte = mime_choose_message(&s);
		if (cte == MIME_BASE64)
			snprintf(type, sizeof(type),
			    "application/octet-stream");
	} else
		cte = mime_choose(text, &s);
	if (text && cte == MIME_BASE64 && !p->type_given)
		snprintf(type, sizeof(type), "application/octet-stream");
	if (boundary != NULL)
		fprintf(out, "--%s\r\n", boundary);
	used = (size_t)fprintf(out, "Content-Type: %s", type);
	if (text && cte != MIME_BASE64)
		used += (size_t)fprintf(out, "; charset=%s", s.eightbit ?
		    "utf-8" : "us-ascii");
	if (p->filename != NULL && param_fits(rfc2231_param("name",
	    p->filename, used, param, sizeof(param)), sizeof(param)))
		fputs(param, out);
	fprintf(out, "\r\nContent-Transfer-Encoding: %s\r\n", cte_names[cte]);
	if (p->disposition != 0) {
		const char *d = p->disposition == 2 ? "inline" : "attachment";

		fprintf(out, "Content-Disposition: %s", d);
		if (p->filename != NULL && param_fits(rfc2231_param(
		    "filename", p->filename, 21 + strlen(d), param,
		    sizeof(param)), sizeof(param)))
			fputs(param, out);
		fputs("\r\n", out);
	}
	fputs("\r\n", out);
	rc = s.size == 0 ? 0 : cte == MIME_7BIT || cte == MIME_8BIT ?
	    copy_7bit(p->fd, out) : copy_encoded(p->fd, out, cte);
	if (rc == -1)
		return err_set(e, ERR_IO, "cannot read '%s': %s", name,
		    strerror(errno));
	/*
	 * The CRLF before the next delimiter belongs to the delimiter
	 * (RFC 2046 5.1.1), not to this part: without it a part's own last
	 * line break would be taken, or, after quoted-printable text that
	 * did not end in one, the delimiter would not start a line at all.
	 */
	if (boundary != NULL)
		fwrite("\r\n", 1, 2, out);
	return 0;
}

void
mime_close(FILE *out, const char *boundary)
{
	fprintf(out, "--%s--\r\n", boundary);
}
