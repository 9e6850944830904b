/*
 * net.c - sockets.
 *
 * Sockets are non-blocking from the moment they exist; every read and
 * write waits with poll() for at most the time left until its deadline,
 * so no peer can hold envoi longer than its configured timeout.
 */
#include "autoconf.h"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "util.h"

/* EAGAIN and EWOULDBLOCK are the same on Linux, not everywhere. */
static int
would_block(int e)
{
	if (e == EAGAIN)
		return 1;
#if EWOULDBLOCK != EAGAIN
	if (e == EWOULDBLOCK)
		return 1;
#endif
	return 0;
}

int
net_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int64_t left;
	int rc;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		rc = poll(&pfd, 1, left > 3600000 ? 3600000 : (int)left);
		if (rc > 0)
			return 0;
		if (rc == -1 && errno != EINTR)
			return -1;
	}
}

ssize_t
net_read(int fd, void *buf, size_t len, int64_t deadline)
{
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, len, 0);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (!would_block(errno))
			return -1;
		if (net_wait(fd, POLLIN, deadline) == -1)
			return -1;
	}
}

ssize_t
net_write(int fd, const void *buf, size_t len, int64_t deadline)
{
	const char *p = buf;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = send(fd, p + done, len - done, MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && !would_block(errno))
			return -1;
		if (net_wait(fd, POLLOUT, deadline) == -1)
			return -1;
	}
	return (ssize_t)done;
}

/*
 * sendfile(2) has no MSG_NOSIGNAL: on a connection the peer has reset,
 * the call after the one that reported ECONNRESET raises SIGPIPE, which
 * would kill envoi in the middle of a message.  Hold the signal back
 * during the call and take away the one it raised.
 */
static ssize_t
sendfile_nosignal(int fd, int in_fd, off_t *offset, size_t count)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t pipe, old;
	ssize_t n;
	int saved;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe, &old);
	n = sendfile(fd, in_fd, offset, count);
	saved = errno;
	if (n == -1 && saved == EPIPE)
		while (sigtimedwait(&pipe, NULL, &zero) == -1 &&
		    errno == EINTR)
			;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return n;
}

int
net_sendfile(int fd, int in_fd, off_t *offset, size_t count, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	ssize_t n;

	while (count > 0) {
		n = sendfile_nosignal(fd, in_fd, offset, count);
		if (n > 0) {
			count -= (size_t)n;
			/* The limit is on a stall, not on the whole file. */
			deadline = now_ms() + timeout_ms;
			continue;
		}
		if (n == 0) {
			errno = EIO;	/* the file is shorter than promised */
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (!would_block(errno))
			return -1;
		if (net_wait(fd, POLLOUT, deadline) == -1)
			return -1;
	}
	return 0;
}

static int
net_try(const struct addrinfo *ai, int timeout_ms, int *err_no)
{
	int fd, one = 1, soerr = 0;
	socklen_t sl = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1) {
		*err_no = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS) {
			*err_no = errno;
			goto fail;
		}
		if (net_wait(fd, POLLOUT, now_ms() + timeout_ms) == -1) {
			*err_no = errno;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1 ||
		    soerr != 0) {
			*err_no = soerr ? soerr : errno;
			goto fail;
		}
	}
	/*
	 * envoi writes whole commands and large blocks itself, so Nagle's
	 * algorithm only adds a delayed-ACK stall before the final dot.
	 */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
fail:
	close(fd);
	return -1;
}

int
net_connect(const char *host, int port, int timeout_ms, struct err *e)
{
	struct addrinfo hints, *res = NULL, *ai;
	char serv[16];
	int rc, fd = -1, err_no = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%d", port);
	rc = getaddrinfo(host, serv, &hints, &res);
	if (rc == EAI_AGAIN)
		return err_set(e, ERR_TEMP, "cannot resolve '%s': %s", host,
		    gai_strerror(rc));
	if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_FAIL)
		return err_set(e, ERR_NOHOST, "host '%s' not found: %s", host,
		    gai_strerror(rc));
	if (rc != 0)
		return err_set(e, ERR_TEMP, "cannot resolve '%s': %s", host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		fd = net_try(ai, timeout_ms, &err_no);
	freeaddrinfo(res);
	if (fd == -1)
		return err_set(e, ERR_TEMP, "cannot connect to %s port %d: %s",
		    host, port, err_no == ETIMEDOUT ? "connection timed out" :
		    strerror(err_no));
	return fd;
}
