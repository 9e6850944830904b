/*
 * cred.c - the password sources of cred.h, tried in order, and the two
 * that need no library: passwordeval and the terminal prompt.
 *
 * Every buffer that held a password is wiped before it is freed,
 * including the ones left behind when a buffer grows.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cred.h"
#include "keyring.h"
#include "log.h"
#include "netrc.h"
#include "util.h"

#define CRED_MAX	(1024 * 1024)	/* no password is longer */

static const char *cred_names[CRED_LAST] = {
	"none", "configuration", "passwordeval", "keyring", "netrc", "prompt"
};

/* A growing secret: every old copy is wiped when it moves. */
struct secbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
secbuf_add(struct secbuf *b, char c)
{
	char *n;

	if (b->len + 2 > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		n = xmalloc(b->cap);
		if (b->len > 0)
			memcpy(n, b->p, b->len);
		if (b->p != NULL)
			wipe(b->p, b->len);
		free(b->p);
		b->p = n;
	}
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

static void
secbuf_release(struct secbuf *b)
{
	if (b->p != NULL)
		wipe(b->p, b->cap);
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Hand the text over, without a trailing CR. */
static char *
secbuf_take(struct secbuf *b)
{
	char *s;

	if (b->len > 0 && b->p[b->len - 1] == '\r')
		b->p[--b->len] = '\0';
	s = b->p != NULL ? b->p : xstrdup("");
	memset(b, 0, sizeof(*b));
	return s;
}

static volatile sig_atomic_t cred_signal;

/*
 * One line from fd into b, without its newline: 1 for a line (or text
 * ended by EOF), 0 for nothing at all, -1 with errno (E2BIG: longer
 * than CRED_MAX; EINTR: cred_signal was caught).
 */
static int
read_line(int fd, struct secbuf *b)
{
	ssize_t n;
	char c;

	for (;;) {
		if (cred_signal) {
			errno = EINTR;
			return -1;
		}
		n = read(fd, &c, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return b->len > 0;
		if (c == '\n')
			return 1;
		if (b->len >= CRED_MAX) {
			errno = E2BIG;
			return -1;
		}
		secbuf_add(b, c);
	}
}

/* Read and wipe whatever a command still writes, so it can finish. */
static void
drain(int fd)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0 ||
	    (n == -1 && errno == EINTR))
		;
	wipe(buf, sizeof(buf));
}

/* In the child: only stdin (/dev/null), stdout (the pipe), stderr. */
static void
eval_child(const char *cmd, int out)
{
	long fd, max = sysconf(_SC_OPEN_MAX);
	int null = open("/dev/null", O_RDONLY);

	if (null == -1 || dup2(null, STDIN_FILENO) == -1 ||
	    dup2(out, STDOUT_FILENO) == -1)
		_exit(126);
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = STDERR_FILENO + 1; fd < max; fd++)
		close((int)fd);
	signal(SIGPIPE, SIG_DFL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

int
cred_eval(const char *key, const char *cmd, char **out, struct err *e)
{
	struct secbuf b = { NULL, 0, 0 };
	int p[2], status = 0, rc, saved;
	pid_t pid, w;

	if (pipe(p) == -1)
		return err_set(e, ERR_OS, "pipe: %s", strerror(errno));
	fflush(NULL);
	if ((pid = fork()) == -1) {
		saved = errno;
		close(p[0]);
		close(p[1]);
		return err_set(e, ERR_OS, "cannot run %s: %s", key,
		    strerror(saved));
	}
	if (pid == 0)
		eval_child(cmd, p[1]);
	close(p[1]);
	rc = read_line(p[0], &b);
	saved = errno;
	if (rc != -1)
		drain(p[0]);
	close(p[0]);	/* a command still writing gets SIGPIPE */
	while ((w = waitpid(pid, &status, 0)) == -1 && errno == EINTR)
		;
	if (w == -1)
		err_set(e, ERR_OS, "cannot wait for the %s command: %s",
		    key, strerror(errno));
	else if (rc == -1 && saved == E2BIG)
		err_set(e, ERR_CONFIG, "%s command printed a line longer "
		    "than %d bytes", key, CRED_MAX);
	else if (rc == -1)
		err_set(e, ERR_CONFIG, "cannot read the %s command's "
		    "output: %s", key, strerror(saved));
	else if (WIFSIGNALED(status))
		err_set(e, ERR_CONFIG, "%s command was killed by signal "
		    "%d", key, WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		err_set(e, ERR_CONFIG, "%s command failed with status %d",
		    key, WEXITSTATUS(status));
	else if (rc == 0 || b.len == 0)
		err_set(e, ERR_CONFIG, "%s command gave no output", key);
	else {
		*out = secbuf_take(&b);
		return 0;
	}
	secbuf_release(&b);
	return -1;
}

static void
cred_catch(int sig)
{
	cred_signal = sig;
}

/* The signals that must not leave the terminal without echo. */
static const int cred_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU
};
#define NSIGNALS (sizeof(cred_signals) / sizeof(cred_signals[0]))

/* Catch each signal that is not ignored; old gets what was there. */
static void
catch_signals(struct sigaction *old)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cred_catch;	/* no SA_RESTART: read stops */
	sigemptyset(&sa.sa_mask);
	cred_signal = 0;
	for (i = 0; i < NSIGNALS; i++) {
		sigaction(cred_signals[i], NULL, &old[i]);
		if (old[i].sa_handler != SIG_IGN)
			sigaction(cred_signals[i], &sa, NULL);
	}
}

static void
restore_signals(const struct sigaction *old)
{
	size_t i;

	for (i = 0; i < NSIGNALS; i++)
		sigaction(cred_signals[i], &old[i], NULL);
}

static void
tty_write(int fd, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;

	while (len > 0 && ((n = write(fd, s, len)) > 0 ||
	    (n == -1 && errno == EINTR)))
		if (n > 0) {
			s += n;
			len -= (size_t)n;
		}
}

/*
 * Ask once with echo off; the terminal is restored whatever happens.  A
 * signal is delivered again once the terminal is sane: 1 when the
 * process went on after a stop signal (ask again), else the result of
 * read_line.
 */
static int
tty_ask(int fd, const char *prompt, struct secbuf *b, int *again)
{
	struct sigaction old[NSIGNALS];
	struct termios saved, quiet;
	int rc, sig, saved_errno;

	*again = 0;
	if (tcgetattr(fd, &saved) == -1)
		return -1;
	quiet = saved;
	quiet.c_lflag &= (tcflag_t)~(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ICANON;
	catch_signals(old);
	/* Echo goes off before the prompt shows: nothing typed is seen. */
	if (tcsetattr(fd, TCSAFLUSH, &quiet) == -1) {
		restore_signals(old);
		return -1;
	}
	tty_write(fd, prompt);
	rc = read_line(fd, b);
	saved_errno = errno;
	while (tcsetattr(fd, TCSAFLUSH, &saved) == -1 && errno == EINTR)
		;
	tty_write(fd, "\n");
	sig = cred_signal;
	restore_signals(old);
	if (sig != 0) {
		secbuf_release(b);
		cred_signal = 0;
		raise(sig);	/* the old disposition: most end envoi */
		*again = sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
	}
	errno = saved_errno;
	return rc;
}

/*
 * The controlling terminal, when envoi runs in its foreground: -1 when
 * there is none to ask on (why says so).
 */
static int
tty_open(char *why, size_t whysize)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd == -1) {
		snprintf(why, whysize, "no terminal to ask on");
		return -1;
	}
	if (!isatty(fd) || tcgetpgrp(fd) != getpgrp()) {
		snprintf(why, whysize, "not in the terminal's foreground");
		close(fd);
		return -1;
	}
	return fd;
}

/* Ask on fd until answered: 0 with *out, or -1 with e filled. */
static int
tty_prompt(int fd, const char *prompt, char **out, struct err *e)
{
	struct secbuf b = { NULL, 0, 0 };
	int rc, again;

	do
		rc = tty_ask(fd, prompt, &b, &again);
	while (again);
	if (rc == 1 && b.len > 0) {
		*out = secbuf_take(&b);
		return 0;
	}
	secbuf_release(&b);
	if (rc == -1 && errno == EINTR)
		return err_set(e, ERR_CONFIG, "password prompt interrupted");
	if (rc == -1)
		return err_set(e, ERR_CONFIG, "cannot read the password from "
		    "the terminal: %s", strerror(errno));
	return err_set(e, ERR_CONFIG, "no password given at the prompt");
}

/* Where the keyring, netrc and prompt sources said no, for the error. */
struct cred_notes {
	char	keyring[256];
	char	netrc[256];
	char	prompt[128];
};

static int
cred_implicit(const struct cred_params *p, char **pw,
    enum cred_source *src, struct cred_notes *no, struct err *e)
{
	char prompt[512], *path;
	int fd, rc;

	if (p->host == NULL || p->user == NULL)
		return err_set(e, ERR_SOFTWARE, "cred_implicit: no host or "
		    "user");
	if (keyring_lookup(p->host, p->user, pw, no->keyring,
	    sizeof(no->keyring)) == 1) {
		*src = CRED_KEYRING;
		return 0;
	}
	if ((path = netrc_path()) == NULL)
		snprintf(no->netrc, sizeof(no->netrc), "no HOME");
	else {
		rc = netrc_lookup(path, p->host, p->user, pw, e);
		snprintf(no->netrc, sizeof(no->netrc), "no entry in '%s'",
		    path);
		free(path);
		if (rc == -1)
			return -1;
		if (rc == 1) {
			*src = CRED_NETRC;
			return 0;
		}
	}
	if ((fd = tty_open(no->prompt, sizeof(no->prompt))) == -1)
		return 1;
	snprintf(prompt, sizeof(prompt), "envoi: password for %s at %s "
	    "(account %s): ", p->user, p->host, p->account);
	rc = tty_prompt(fd, prompt, pw, e);
	close(fd);
	if (rc == 0)
		*src = CRED_PROMPT;
	return rc;
}

int
cred_password(const struct cred_params *p, char **pw,
    enum cred_source *src, struct err *e)
{
	struct cred_notes no;
	int rc = 0;

	*pw = NULL;
	*src = CRED_NONE;
	memset(&no, 0, sizeof(no));
	if (p->password != NULL) {
		*pw = xstrdup(p->password);
		*src = CRED_CONFIG;
	} else if (p->passwordeval != NULL) {
		if ((rc = cred_eval("passwordeval", p->passwordeval, pw, e)) == 0)
			*src = CRED_EVAL;
	} else if ((rc = cred_implicit(p, pw, src, &no, e)) == 1)
		return err_set(e, ERR_CONFIG, "%s: account '%s' has user '%s' "
		    "but no password: the file sets neither password nor "
		    "passwordeval; keyring: %s; netrc: %s; prompt: %s (store "
		    "one with envoi --store-password, see envoi.conf(5))",
		    p->file, p->account, p->user, no.keyring, no.netrc,
		    no.prompt);
	if (rc == 0)
		log_info("password for account '%s' from the %s", p->account,
		    cred_source_name(*src));
	return rc;
}

const char *
cred_source_name(enum cred_source s)
{
	return s < CRED_LAST ? cred_names[s] : "?";
}

/* The new password: asked twice on a terminal, else stdin's first line. */
static int
cred_read_new(const struct cred_params *p, char **out, struct err *e)
{
	struct secbuf b = { NULL, 0, 0 };
	char prompt[512], *again = NULL;
	int fd, rc;

	if (!isatty(STDIN_FILENO)) {
		rc = read_line(STDIN_FILENO, &b);
		if (rc == 1 && b.len > 0) {
			*out = secbuf_take(&b);
			return 0;
		}
		secbuf_release(&b);
		return err_set(e, ERR_DATA, "no password on standard input%s",
		    rc == -1 && errno == E2BIG ? " (the line is too long)" :
		    "");
	}
	if ((fd = tty_open(prompt, sizeof(prompt))) == -1)
		return err_set(e, ERR_USAGE, "cannot ask for the password: %s",
		    prompt);
	snprintf(prompt, sizeof(prompt), "envoi: new password for %s at %s "
	    "(account %s): ", p->user, p->host, p->account);
	rc = tty_prompt(fd, prompt, out, e);
	if (rc == 0)
		rc = tty_prompt(fd, "envoi: the password again: ", &again, e);
	close(fd);
	if (rc == 0 && strcmp(*out, again) != 0)
		rc = err_set(e, ERR_DATA, "the two passwords differ");
	wipe_free(again);
	if (rc == -1) {
		wipe_free(*out);
		*out = NULL;
	}
	return rc;
}

int
cred_store(const struct cred_params *p, struct err *e)
{
	char *pw = NULL;
	int rc;

	if (p->host == NULL || p->user == NULL)
		return err_set(e, ERR_CONFIG, "%s: account '%s' needs host and "
		    "user to store a password for", p->file, p->account);
	if (cred_read_new(p, &pw, e) == -1)
		return -1;
	rc = keyring_store(p->host, p->user, pw, e);
	wipe_free(pw);
	if (rc == 0)
		log_info("stored the password for %s at %s in the keyring",
		    p->user, p->host);
	return rc;
}
