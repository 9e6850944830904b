/*
 * util.c - allocation, string lists, secret wiping, time.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void
oom(void)
{
	fputs("envoi: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
wipe(void *p, size_t n)
{
	if (p == NULL)
		return;
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, n);
#else
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
#endif
}

void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	wipe(s, strlen(s));
	free(s);
}

int
private_readat(int dfd, const char *name, size_t max, char **data,
    size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd, saved;

	*data = NULL;
	*len = 0;
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0 ||
	    st.st_size <= 0 || (uintmax_t)st.st_size >= max) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	*data = xmalloc((size_t)st.st_size + 1);
	n = read(fd, *data, (size_t)st.st_size);
	saved = errno;
	close(fd);
	if (n != (ssize_t)st.st_size) {
		wipe(*data, (size_t)st.st_size + 1);
		free(*data);
		*data = NULL;
		errno = n == -1 ? saved : EIO;
		return -1;
	}
	(*data)[n] = '\0';
	*len = (size_t)n;
	return 0;
}

int
private_writeat(int dfd, const char *name, const void *data, size_t len)
{
	char tmp[4096];
	int fd, rc = -1, saved, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", name, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* A leftover of a crashed run with our PID: ours to replace. */
	(void)unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	ok = write(fd, data, len) == (ssize_t)len;
	saved = errno;
	if (close(fd) == -1 && ok) {
		ok = 0;
		saved = errno;
	}
	if (ok && (rc = renameat(dfd, tmp, dfd, name)) == -1)
		saved = errno;
	if (!ok && saved == 0)
		saved = EIO;
	if (rc == -1) {
		(void)unlinkat(dfd, tmp, 0);
		errno = saved;
	}
	return rc;
}

int
private_read(const char *path, size_t max, char **data, size_t *len)
{
	return private_readat(AT_FDCWD, path, max, data, len);
}

int
private_write(const char *path, const void *data, size_t len)
{
	return private_writeat(AT_FDCWD, path, data, len);
}

/*
 * Length of the UTF-8 character at p, or 0 when it is not one: a bad
 * lead byte, a missing continuation byte, an overlong form, a surrogate
 * or a code point past U+10FFFF.
 */
size_t
utf8_len(const unsigned char *p, size_t len)
{
	size_t i, n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else
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

int
has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

int
has_8bit(const void *v, size_t len)
{
	const unsigned char *p = v;
	uint64_t acc = 0, w;
	size_t i = 0;

#if defined(__GNUC__)
	/* 64 bytes a turn in vector registers: whole message blocks. */
	typedef uint64_t v2 __attribute__((vector_size(16)));
	v2 a = { 0, 0 }, b0, b1, b2, b3;

	for (; i + 64 <= len; i += 64) {
		memcpy(&b0, p + i, 16);
		memcpy(&b1, p + i + 16, 16);
		memcpy(&b2, p + i + 32, 16);
		memcpy(&b3, p + i + 48, 16);
		a |= (b0 | b1) | (b2 | b3);
	}
	acc = a[0] | a[1];
#endif
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	for (; i < len; i++)
		acc |= p[i];
	return (acc & UINT64_C(0x8080808080808080)) != 0;
}

int
tmp_fd(const char *prefix, char *dir, size_t dirsize)
{
	const char *d = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (d == NULL || *d != '/')
		d = "/tmp";
	snprintf(dir, dirsize, "%s", d);
	snprintf(path, sizeof(path), "%s/%s.XXXXXX", d, prefix);
	if ((fd = mkstemp(path)) == -1)
		return -1;
	unlink(path);
	return fd;
}

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
strlist_init(struct strlist *l)
{
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
}

void
strlist_addn(struct strlist *l, const char *s, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = xstrndup(s, len);
}

void
strlist_add(struct strlist *l, const char *s)
{
	strlist_addn(l, s, strlen(s));
}

void
strlist_add_unique(struct strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return;
	strlist_add(l, s);
}

void
strlist_release(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	strlist_init(l);
}
