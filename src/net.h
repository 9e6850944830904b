/*
 * net.h - resolve a host, connect with a time limit, and move bytes over
 * a non-blocking socket with a deadline.  No buffering, no protocol.
 */
#ifndef ENVOI_NET_H
#define ENVOI_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/*
 * Connect to host:port (every address the name resolves to, in turn)
 * within timeout_ms each.  Returns a non-blocking socket with
 * TCP_NODELAY set, or -1: ERR_NOHOST when the name does not exist,
 * ERR_TEMP when nothing answered (refused, unreachable, timed out, or a
 * temporary DNS failure).
 */
int	net_connect(const char *host, int port, int timeout_ms,
	    struct err *e);

/*
 * Read at most len bytes, waiting until deadline (now_ms() clock).
 * Returns the count, 0 at end of stream, -1 with errno set (ETIMEDOUT
 * when the deadline passed).
 */
ssize_t	net_read(int fd, void *buf, size_t len, int64_t deadline);

/* Write all len bytes before deadline; -1 with errno set otherwise. */
ssize_t	net_write(int fd, const void *buf, size_t len, int64_t deadline);

/*
 * Send count bytes of file in_fd from *offset; fails when no byte could
 * be sent for timeout_ms.
 */
int	net_sendfile(int fd, int in_fd, off_t *offset, size_t count,
	    int timeout_ms);

/* Wait until fd is readable (events POLLIN) or writable; -1 on timeout. */
int	net_wait(int fd, short events, int64_t deadline);

#endif
