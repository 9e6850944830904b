/*
 * io.c - buffered transport I/O.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "net.h"
#include "tls.h"
#include "util.h"

#define IO_FILEBLOCK	(256 * 1024)
#define IO_SENDCHUNK	(1024 * 1024)

void
io_init(struct io *io, int fd)
{
	io->fd = fd;
	io->tls = NULL;
	io->inpos = io->inlen = 0;
	io->outlen = 0;
	io->progress = NULL;
	io->progress_arg = NULL;
}

void
io_set_progress(struct io *io, io_progress_fn fn, void *arg)
{
	io->progress = fn;
	io->progress_arg = arg;
}

void
io_set_tls(struct io *io, struct tls *t)
{
	io->tls = t;
}

size_t
io_pending(struct io *io)
{
	return io->inlen - io->inpos + (io->tls ? tls_pending(io->tls) : 0);
}

static int
io_fill(struct io *io, int64_t deadline, struct err *e)
{
	size_t room = sizeof(io->in) - 1 - io->inlen;
	ssize_t n;

	if (io->tls != NULL)
		n = tls_read(io->tls, io->in + io->inlen, room, deadline, e);
	else {
		n = net_read(io->fd, io->in + io->inlen, room, deadline);
		if (n == -1)
			return err_set(e, ERR_TEMP, "%s",
			    errno == ETIMEDOUT ? "timed out waiting for the "
			    "server" : strerror(errno));
	}
	if (n == -1)
		return -1;
	if (n == 0)
		return err_set(e, ERR_TEMP, "connection closed by the server");
	io->inlen += (size_t)n;
	return 0;
}

int
io_getline(struct io *io, int64_t deadline, char **line, size_t *len,
    struct err *e)
{
	char *nl;

	for (;;) {
		nl = memchr(io->in + io->inpos, '\n', io->inlen - io->inpos);
		if (nl != NULL)
			break;
		if (io->inpos > 0) {
			memmove(io->in, io->in + io->inpos,
			    io->inlen - io->inpos);
			io->inlen -= io->inpos;
			io->inpos = 0;
		}
		if (io->inlen >= sizeof(io->in) - 1)
			return err_set(e, ERR_PROTOCOL, "server sent a line "
			    "longer than %d bytes", IO_LINEMAX);
		if (io_fill(io, deadline, e) == -1)
			return -1;
	}
	*line = io->in + io->inpos;
	*len = (size_t)(nl - *line);
	io->inpos += *len + 1;
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	(*line)[*len] = '\0';
	return 0;
}

static int
io_send(struct io *io, const void *p, size_t len, int64_t deadline,
    struct err *e)
{
	if (io->tls != NULL)
		return tls_write(io->tls, p, len, deadline, e) == -1 ? -1 : 0;
	if (net_write(io->fd, p, len, deadline) == -1)
		return err_set(e, ERR_TEMP, "cannot send to the server: %s",
		    errno == ETIMEDOUT ? "timed out" : strerror(errno));
	return 0;
}

int
io_flush(struct io *io, int64_t deadline, struct err *e)
{
	size_t n = io->outlen;

	if (n == 0)
		return 0;
	io->outlen = 0;
	return io_send(io, io->out, n, deadline, e);
}

int
io_write(struct io *io, const void *p, size_t len, int64_t deadline,
    struct err *e)
{
	if (io->outlen + len > sizeof(io->out)) {
		if (io_flush(io, deadline, e) == -1)
			return -1;
		if (len > sizeof(io->out))
			return io_send(io, p, len, deadline, e);
	}
	memcpy(io->out + io->outlen, p, len);
	io->outlen += len;
	return 0;
}

static int
io_copy_tls(struct io *io, int in_fd, off_t offset, off_t count,
    int timeout_ms, struct err *e)
{
	char *buf = xmalloc(IO_FILEBLOCK);
	off_t start = offset, total = count;
	ssize_t n;
	int ret = -1;

	while (count > 0) {
		n = pread(in_fd, buf, count < IO_FILEBLOCK ? (size_t)count :
		    IO_FILEBLOCK, offset);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set(e, ERR_IO, "cannot read the spooled message: "
			    "%s", n == 0 ? "file shorter than expected" :
			    strerror(errno));
			goto out;
		}
		if (io_send(io, buf, (size_t)n, now_ms() + timeout_ms, e) == -1)
			goto out;
		offset += n;
		count -= n;
		if (io->progress != NULL)
			io->progress(io->progress_arg, offset - start, total);
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

int
io_sendfile(struct io *io, int in_fd, off_t offset, off_t count,
    int timeout_ms, struct err *e)
{
	if (io_flush(io, now_ms() + timeout_ms, e) == -1)
		return -1;
	if (io->tls != NULL)
		return io_copy_tls(io, in_fd, offset, count, timeout_ms, e);
	{
		off_t start = offset, end = offset + count, chunk;

		/* In chunks, so that progress can be shown between them. */
		while (offset < end) {
			chunk = end - offset;
			if (io->progress != NULL && chunk > IO_SENDCHUNK)
				chunk = IO_SENDCHUNK;
			if (net_sendfile(io->fd, in_fd, &offset,
			    (size_t)chunk, timeout_ms) == -1) {
				if (errno == EIO)
					return err_set(e, ERR_IO, "cannot read "
					    "the spooled message");
				return err_set(e, ERR_TEMP, "cannot send the "
				    "message: %s", errno == ETIMEDOUT ?
				    "timed out" : strerror(errno));
			}
			if (io->progress != NULL)
				io->progress(io->progress_arg, offset - start,
				    count);
		}
	}
	return 0;
}
