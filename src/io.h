/*
 * io.h - buffered line reads and block writes over a socket, in clear
 * or through a struct tls, with deadlines and hard caps.  It does not
 * interpret the lines.
 */
#ifndef ENVOI_IO_H
#define ENVOI_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define IO_LINEMAX	4096	/* longest line io_getline accepts */
#define IO_OUTSIZE	(64 * 1024)

struct tls;

/* Called with the bytes sent so far during io_sendfile. */
typedef void (*io_progress_fn)(void *arg, off_t done, off_t total);

struct io {
	int		 fd;		/* borrowed */
	struct tls	*tls;		/* borrowed; NULL in clear */
	char		 in[IO_LINEMAX + 1];
	size_t		 inpos;
	size_t		 inlen;
	char		 out[IO_OUTSIZE];
	size_t		 outlen;
	io_progress_fn	 progress;
	void		*progress_arg;
};

void	io_init(struct io *, int fd);
/* From now on, go through t (after STARTTLS or for implicit TLS). */
void	io_set_tls(struct io *, struct tls *t);

/*
 * Next line, without its CRLF (or LF), NUL-terminated, in io's buffer
 * until the next call.  A line longer than IO_LINEMAX is ERR_PROTOCOL;
 * a closed connection or the deadline passing is ERR_TEMP.
 */
int	io_getline(struct io *, int64_t deadline, char **line, size_t *len,
	    struct err *);
/* Bytes received but not yet returned as lines. */
size_t	io_pending(struct io *);

/* Buffer data for sending; flushes when the buffer fills. */
int	io_write(struct io *, const void *, size_t, int64_t deadline,
	    struct err *);
int	io_flush(struct io *, int64_t deadline, struct err *);
/*
 * Send count bytes of the file in_fd from offset (after a flush), with
 * sendfile(2) in clear, through TLS otherwise.  timeout_ms limits a
 * stall, not the whole transfer.  Read errors on in_fd are ERR_IO.
 */
int	io_sendfile(struct io *, int in_fd, off_t offset, off_t count,
	    int timeout_ms, struct err *);

void	io_set_progress(struct io *, io_progress_fn, void *arg);

#endif
