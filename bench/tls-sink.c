/*
 * tls-sink.c - an SMTP sink with STARTTLS, implicit TLS and AUTH, for the
 * benchmarks only (the bench scripts build it; it is not part of envoi).
 *
 * Postfix's smtp-sink is the plaintext endpoint of the benchmarks, but it
 * has no TLS, and it answers AUTH with 250 instead of 235, which RFC 4954
 * clients (envoi and msmtp alike) rightly take as a failure.  stunnel's
 * "protocol = smtp" server mode waits 200 ms on every connection to tell
 * STARTTLS from implicit TLS, which would dwarf what is measured.  This
 * server does what smtp-sink does, in C, with GnuTLS on the server side:
 *
 *   tls-sink -p PORT -m plain|starttls|tls [-c CERT -k KEY]
 *            [-u USER -P PASSWORD] [-s STATSFILE] [-l LIFETIME]
 *
 * It listens on 127.0.0.1:PORT; two preforked workers accept on it and
 * serve one connection after the other (no fork per connection, whose
 * cost would be timed with the client's).  A worker speaks ESMTP with PIPELINING (replies are buffered until the
 * client's input is drained), 8BITMIME, ENHANCEDSTATUSCODES, STARTTLS
 * (-m starttls, before TLS only) and AUTH PLAIN LOGIN (with -u, under TLS
 * only).  It issues TLS session tickets (one key for the server's life),
 * so a client that keeps its session can resume it.  With -u, MAIL is refused until the client authenticated.  DATA
 * is read in 64 KiB blocks, scanned for the end-of-data line and thrown
 * away.  Counters (sessions, messages, message bytes, TLS sessions,
 * AUTH successes, resumed TLS sessions) live in shared memory; with -s a worker rewrites
 * STATSFILE (write to a temporary name, then rename) when its session
 * ends.  The server exits on SIGTERM/SIGINT, when its parent goes away, or
 * after LIFETIME seconds (default 1800).
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

enum mode { M_PLAIN, M_STARTTLS, M_TLS };

struct stats {
	unsigned long	sessions;
	unsigned long	messages;
	unsigned long long bytes;
	unsigned long	tls;
	unsigned long	auths;
	unsigned long	resumed;
};

static enum mode mode = M_PLAIN;
static const char *user, *password, *statsfile;
static gnutls_certificate_credentials_t cred;
static gnutls_priority_t prio;
static gnutls_datum_t ticket_key;	/* shared by the workers */
static struct stats *st;
static volatile sig_atomic_t stop;

/* One connection. */
struct conn {
	int		 fd;
	gnutls_session_t tls;		/* NULL before TLS */
	char		 in[65536];
	size_t		 ilen, ipos;
	char		 out[8192];
	size_t		 olen;
	int		 authed;
};

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("tls-sink: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	_exit(1);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
write_stats(void)
{
	char tmp[4096];
	FILE *f;

	if (statsfile == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.%ld", statsfile, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL)
		return;
	fprintf(f, "sessions %lu\nmessages %lu\nbytes %llu\ntls %lu\nauth %lu\n"
	    "resumed %lu\n",
	    __atomic_load_n(&st->sessions, __ATOMIC_SEQ_CST),
	    __atomic_load_n(&st->messages, __ATOMIC_SEQ_CST),
	    __atomic_load_n(&st->bytes, __ATOMIC_SEQ_CST),
	    __atomic_load_n(&st->tls, __ATOMIC_SEQ_CST),
	    __atomic_load_n(&st->auths, __ATOMIC_SEQ_CST),
	    __atomic_load_n(&st->resumed, __ATOMIC_SEQ_CST));
	if (fclose(f) == 0)
		rename(tmp, statsfile);
	else
		unlink(tmp);
}

/* ---- transport */

static ssize_t
c_read(struct conn *c, void *buf, size_t len)
{
	ssize_t n;

	if (c->tls == NULL) {
		do
			n = read(c->fd, buf, len);
		while (n == -1 && errno == EINTR);
		return n;
	}
	do
		n = gnutls_record_recv(c->tls, buf, len);
	while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	return n < 0 ? -1 : n;
}

static int
c_write(struct conn *c, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if (c->tls == NULL)
			n = write(c->fd, p, len);
		else
			n = gnutls_record_send(c->tls, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
flush(struct conn *c)
{
	if (c->olen > 0 && c_write(c, c->out, c->olen) == -1)
		_exit(0);
	c->olen = 0;
}

/* Queue a reply; it goes out when the client's input is drained. */
static void
reply(struct conn *c, const char *s)
{
	size_t n = strlen(s);

	if (c->olen + n + 2 > sizeof(c->out))
		flush(c);
	memcpy(c->out + c->olen, s, n);
	memcpy(c->out + c->olen + n, "\r\n", 2);
	c->olen += n + 2;
}

/* Fill the input buffer (flushing replies first: we are about to wait). */
static int
fill(struct conn *c)
{
	ssize_t n;

	if (c->ipos > 0) {
		memmove(c->in, c->in + c->ipos, c->ilen - c->ipos);
		c->ilen -= c->ipos;
		c->ipos = 0;
	}
	if (c->ilen == sizeof(c->in))
		return -1;
	if (c->tls == NULL || gnutls_record_check_pending(c->tls) == 0)
		flush(c);
	n = c_read(c, c->in + c->ilen, sizeof(c->in) - c->ilen);
	if (n <= 0)
		return -1;
	c->ilen += (size_t)n;
	return 0;
}

/* The next command line, without CRLF, NUL-terminated in place. */
static char *
getline_(struct conn *c)
{
	char *nl, *line;

	for (;;) {
		nl = memchr(c->in + c->ipos, '\n', c->ilen - c->ipos);
		if (nl != NULL) {
			line = c->in + c->ipos;
			c->ipos = (size_t)(nl - c->in) + 1;
			*nl = '\0';
			if (nl > line && nl[-1] == '\r')
				nl[-1] = '\0';
			return line;
		}
		if (fill(c) == -1)
			return NULL;
	}
}

/* Discard message data up to and including "\r\n.\r\n" (the CRLF before
 * the dot is the one that ended the last line, or DATA's own).  Returns
 * the number of bytes read, or -1 when the connection ends. */
static long long
read_data(struct conn *c)
{
	/* state: how much of "\r\n.\r\n" has been matched; starts at 2. */
	static const char end[] = "\r\n.\r\n";
	int m = 2;
	long long total = 0;

	for (;;) {
		const char *p = c->in + c->ipos, *e = c->in + c->ilen;

		while (p < e) {
			if (m == 0) {
				/* fast path: skip to the next CR */
				const char *cr = memchr(p, '\r', (size_t)(e - p));
				if (cr == NULL) {
					p = e;
					break;
				}
				p = cr + 1;
				m = 1;
				continue;
			}
			if (*p == end[m]) {
				m++;
				p++;
				if (m == 5) {
					total += p - (c->in + c->ipos);
					c->ipos = (size_t)(p - c->in);
					return total;
				}
			} else if (*p == '\r') {
				m = 1;
				p++;
			} else {
				m = 0;
				p++;
			}
		}
		total += (long long)(c->ilen - c->ipos);
		c->ipos = c->ilen = 0;
		if (fill(c) == -1)
			return -1;
	}
}

/* ---- TLS */

static ssize_t
push(gnutls_transport_ptr_t p, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = write((int)(long)p, buf, len);
	while (n == -1 && errno == EINTR);
	return n;
}

static ssize_t
pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read((int)(long)p, buf, len);
	while (n == -1 && errno == EINTR);
	return n;
}

static int
start_tls(struct conn *c)
{
	int rc;

	if (gnutls_init(&c->tls, GNUTLS_SERVER) < 0 ||
	    gnutls_priority_set(c->tls, prio) < 0 ||
	    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, cred) < 0 ||
	    gnutls_session_ticket_enable_server(c->tls, &ticket_key) < 0)
		return -1;
	gnutls_transport_set_ptr(c->tls, (gnutls_transport_ptr_t)(long)c->fd);
	gnutls_transport_set_push_function(c->tls, push);
	gnutls_transport_set_pull_function(c->tls, pull);
	do
		rc = gnutls_handshake(c->tls);
	while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
	if (rc < 0)
		return -1;
	__atomic_add_fetch(&st->tls, 1, __ATOMIC_SEQ_CST);
	if (gnutls_session_is_resumed(c->tls))
		__atomic_add_fetch(&st->resumed, 1, __ATOMIC_SEQ_CST);
	c->ilen = c->ipos = 0;	/* RFC 3207: forget what came before */
	return 0;
}

/* ---- AUTH */

static int
b64val(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

static size_t
b64dec(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	unsigned v = 0;
	int bits = 0, d;

	for (; *s != '\0' && *s != '='; s++) {
		if ((d = b64val((unsigned char)*s)) < 0)
			return (size_t)-1;
		v = (v << 6) | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n < cap)
				out[n++] = (char)((v >> bits) & 0xff);
		}
	}
	return n;
}

static int
check_plain(const char *b64)
{
	char buf[1024];
	size_t n = b64dec(b64, buf, sizeof(buf) - 1);
	const char *u, *p;

	if (n == (size_t)-1)
		return 0;
	buf[n] = '\0';
	/* authzid \0 authcid \0 passwd */
	u = memchr(buf, '\0', n);
	if (u == NULL)
		return 0;
	u++;
	p = memchr(u, '\0', n - (size_t)(u - buf));
	if (p == NULL)
		return 0;
	p++;
	return strcmp(u, user) == 0 && (size_t)(p - buf) + strlen(password) == n &&
	    memcmp(p, password, strlen(password)) == 0;
}

static int
check_login(struct conn *c)
{
	char u[512], p[512];
	char *line;
	size_t n;

	reply(c, "334 VXNlcm5hbWU6");
	if ((line = getline_(c)) == NULL)
		_exit(0);
	if ((n = b64dec(line, u, sizeof(u) - 1)) == (size_t)-1)
		return 0;
	u[n] = '\0';
	reply(c, "334 UGFzc3dvcmQ6");
	if ((line = getline_(c)) == NULL)
		_exit(0);
	if ((n = b64dec(line, p, sizeof(p) - 1)) == (size_t)-1)
		return 0;
	p[n] = '\0';
	return strcmp(u, user) == 0 && strcmp(p, password) == 0;
}

/* ---- SMTP */

static int
is_cmd(const char *line, const char *verb)
{
	size_t n = strlen(verb);

	return strncasecmp(line, verb, n) == 0 &&
	    (line[n] == '\0' || line[n] == ' ' || line[n] == ':');
}

static void
session(int fd)
{
	static struct conn conn;
	struct conn *c = &conn;
	char *line;
	int have_mail = 0, have_rcpt = 0;

	c->fd = fd;
	c->tls = NULL;
	c->ilen = c->ipos = c->olen = 0;
	c->authed = 0;
	if (mode == M_TLS && start_tls(c) == -1)
		_exit(0);
	reply(c, "220 localhost ESMTP envoi bench tls-sink");
	while ((line = getline_(c)) != NULL) {
		if (is_cmd(line, "EHLO")) {
			reply(c, "250-localhost");
			reply(c, "250-PIPELINING");
			reply(c, "250-8BITMIME");
			reply(c, "250-SIZE 0");
			if (mode == M_STARTTLS && c->tls == NULL)
				reply(c, "250-STARTTLS");
			if (user != NULL && c->tls != NULL)
				reply(c, "250-AUTH PLAIN LOGIN");
			reply(c, "250 ENHANCEDSTATUSCODES");
			have_mail = have_rcpt = 0;
		} else if (is_cmd(line, "HELO")) {
			reply(c, "250 localhost");
		} else if (is_cmd(line, "STARTTLS")) {
			if (mode != M_STARTTLS || c->tls != NULL) {
				reply(c, "502 5.5.1 STARTTLS not available");
				continue;
			}
			reply(c, "220 2.0.0 Ready to start TLS");
			flush(c);
			if (start_tls(c) == -1)
				_exit(0);
			have_mail = have_rcpt = 0;
		} else if (is_cmd(line, "AUTH")) {
			int ok;

			if (user == NULL || c->tls == NULL || c->authed) {
				reply(c, "503 5.5.1 AUTH not available");
				continue;
			}
			if (strncasecmp(line + 5, "PLAIN", 5) == 0) {
				if (line[10] == ' ') {
					ok = check_plain(line + 11);
				} else {
					reply(c, "334 ");
					if ((line = getline_(c)) == NULL)
						_exit(0);
					ok = check_plain(line);
				}
			} else if (strncasecmp(line + 5, "LOGIN", 5) == 0) {
				ok = check_login(c);
			} else {
				reply(c, "504 5.5.4 mechanism not supported");
				continue;
			}
			if (ok) {
				c->authed = 1;
				__atomic_add_fetch(&st->auths, 1, __ATOMIC_SEQ_CST);
				reply(c, "235 2.7.0 Authentication successful");
			} else {
				reply(c, "535 5.7.8 Authentication credentials invalid");
			}
		} else if (is_cmd(line, "MAIL")) {
			if (user != NULL && !c->authed) {
				reply(c, "530 5.7.0 Authentication required");
				continue;
			}
			have_mail = 1;
			have_rcpt = 0;
			reply(c, "250 2.1.0 Ok");
		} else if (is_cmd(line, "RCPT")) {
			if (!have_mail) {
				reply(c, "503 5.5.1 Need MAIL");
				continue;
			}
			have_rcpt = 1;
			reply(c, "250 2.1.5 Ok");
		} else if (is_cmd(line, "DATA")) {
			long long n;

			if (!have_rcpt) {
				reply(c, "554 5.5.1 No valid recipients");
				continue;
			}
			reply(c, "354 End data with <CR><LF>.<CR><LF>");
			flush(c);
			if ((n = read_data(c)) < 0)
				_exit(0);
			__atomic_add_fetch(&st->messages, 1, __ATOMIC_SEQ_CST);
			__atomic_add_fetch(&st->bytes, (unsigned long long)n,
			    __ATOMIC_SEQ_CST);
			have_mail = have_rcpt = 0;
			reply(c, "250 2.0.0 Ok: queued");
		} else if (is_cmd(line, "RSET")) {
			have_mail = have_rcpt = 0;
			reply(c, "250 2.0.0 Ok");
		} else if (is_cmd(line, "NOOP")) {
			reply(c, "250 2.0.0 Ok");
		} else if (is_cmd(line, "QUIT")) {
			reply(c, "221 2.0.0 Bye");
			flush(c);
			break;
		} else {
			reply(c, "502 5.5.2 Error: command not recognized");
		}
	}
	flush(c);
	if (c->tls != NULL) {
		gnutls_bye(c->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(c->tls);
		c->tls = NULL;
	}
}

#define WORKERS 2
static pid_t workers[WORKERS];

/* A worker: accept and serve one connection after the other. */
static pid_t
spawn(int lfd)
{
	pid_t pid = fork();
	int one = 1;

	if (pid != 0)
		return pid;
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	for (;;) {
		struct timeval tv = { 120, 0 };
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(1);
		}
		alarm(600);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		__atomic_add_fetch(&st->sessions, 1, __ATOMIC_SEQ_CST);
		session(fd);
		close(fd);
		write_stats();
		alarm(0);
	}
}

int
main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL;
	int port = 0, lifetime = 1800, opt, lfd, one = 1;
	struct sockaddr_in sin;
	struct sigaction sa;
	pid_t parent = getppid();
	time_t t0 = time(NULL);

	while ((opt = getopt(argc, argv, "p:m:c:k:u:P:s:l:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'm':
			if (strcmp(optarg, "plain") == 0) mode = M_PLAIN;
			else if (strcmp(optarg, "starttls") == 0) mode = M_STARTTLS;
			else if (strcmp(optarg, "tls") == 0) mode = M_TLS;
			else die("bad mode %s", optarg);
			break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'u': user = optarg; break;
		case 'P': password = optarg; break;
		case 's': statsfile = optarg; break;
		case 'l': lifetime = atoi(optarg); break;
		default:
			die("usage: tls-sink -p PORT -m plain|starttls|tls "
			    "[-c CERT -k KEY] [-u USER -P PASS] [-s STATS] [-l SECONDS]");
		}
	}
	if (port <= 0 || port > 65535)
		die("-p PORT needed");
	if ((user == NULL) != (password == NULL))
		die("-u and -P go together");
	if (mode != M_PLAIN) {
		if (cert == NULL || key == NULL)
			die("-c and -k needed with TLS");
		if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
		    gnutls_certificate_set_x509_key_file(cred, cert, key,
		    GNUTLS_X509_FMT_PEM) < 0)
			die("cannot load %s / %s", cert, key);
		if (gnutls_priority_init(&prio, "NORMAL", NULL) < 0)
			die("gnutls_priority_init");
		if (gnutls_session_ticket_key_generate(&ticket_key) < 0)
			die("gnutls_session_ticket_key_generate");
	}
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset(st, 0, sizeof(*st));
	write_stats();

	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("bind 127.0.0.1:%d: %s", port, strerror(errno));
	if (listen(lfd, 1000) == -1)
		die("listen: %s", strerror(errno));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);

	/* Prefork: WORKERS processes accept on the shared socket, one
	 * session at a time each, so no connection waits for a fork.  A
	 * worker that dies (a session that ended in error) is replaced. */
	for (;;) {
		pid_t pid;
		int i, n = 0;

		for (i = 0; i < WORKERS; i++) {
			if (workers[i] > 0)
				n++;
			else if (!stop && (workers[i] = spawn(lfd)) > 0)
				n++;
		}
		if (stop) {
			for (i = 0; i < WORKERS; i++)
				if (workers[i] > 0)
					kill(workers[i], SIGTERM);
			while (waitpid(-1, NULL, 0) > 0)
				;
			break;
		}
		pid = waitpid(-1, NULL, WNOHANG);
		if (pid > 0) {
			for (i = 0; i < WORKERS; i++)
				if (workers[i] == pid)
					workers[i] = 0;
			continue;
		}
		if (getppid() != parent || time(NULL) - t0 > lifetime)
			stop = 1;
		if (!stop)
			poll(NULL, 0, 200);	/* a signal cuts it short */
	}
	close(lfd);
	write_stats();
	return 0;
}
