/*
 * lineread.c - pieces of lines from a file descriptor.
 */
#include "autoconf.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lineread.h"

void
lineread_init(struct lineread *lr, int fd)
{
	lr->fd = fd;
	lr->eof = 0;
	lr->start = lr->end = 0;
}

static int
lineread_fill(struct lineread *lr)
{
	ssize_t n;

	if (lr->start > 0) {
		memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
		lr->end -= lr->start;
		lr->start = 0;
	}
	for (;;) {
		n = read(lr->fd, lr->buf + lr->end, sizeof(lr->buf) - lr->end);
		if (n >= 0)
			break;
		if (errno != EINTR)
			return -1;
	}
	if (n == 0)
		lr->eof = 1;
	lr->end += (size_t)n;
	return 0;
}

int
lineread_next(struct lineread *lr, const char **p, size_t *len, int *eol)
{
	const char *nl;
	size_t k;

	for (;;) {
		nl = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);
		if (nl != NULL) {
			*p = lr->buf + lr->start;
			*len = (size_t)(nl - *p);
			*eol = 1;
			lr->start += *len + 1;
			return 1;
		}
		if (lr->eof) {
			if (lr->start == lr->end)
				return 0;
			*p = lr->buf + lr->start;
			*len = lr->end - lr->start;
			*eol = 0;
			lr->start = lr->end;
			return 1;
		}
		if (lr->start == 0 && lr->end == sizeof(lr->buf)) {
			for (k = lr->end; k > 0 && lr->buf[k - 1] == '\r'; k--)
				;
			if (k == 0)
				k = lr->end;
			*p = lr->buf;
			*len = k;
			*eol = 0;
			lr->start = k;
			return 1;
		}
		if (lineread_fill(lr) == -1)
			return -1;
	}
}

void
lineread_peek(const struct lineread *lr, const char **p, size_t *len)
{
	*p = lr->buf + lr->start;
	*len = lr->end - lr->start;
}

void
lineread_skip(struct lineread *lr, size_t n)
{
	lr->start += n;
}
