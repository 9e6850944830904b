/*
 * bsmtp.c - the -bs SMTP server.
 *
 * One transaction at a time: MAIL, RCPT..., DATA.  The message is not
 * accepted ("250") until the smarthost has taken it, so the client learns
 * the real outcome: 250 when delivered, 4xx when it should try again,
 * 5xx when it should not.  Recipients are checked for syntax only at
 * RCPT; the smarthost's verdict arrives with the reply to DATA.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "bsmtp.h"
#include "lineread.h"
#include "log.h"
#include "send.h"
#include "util.h"

#define BSMTP_LINEMAX	2048	/* commands; RFC 5321 says 512 */
#define BSMTP_MAXRCPT	1000

struct bsmtp {
	int		 out;
	struct lineread	*lr;
	struct send_ctx	 ctx;
	char		 host[256];
	int		 helo;
	int		 have_mail;
	char		*sender;
	struct strlist	 rcpts;
	int		 failed;	/* cannot write to the client */
};

static void
reply(struct bsmtp *b, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	size_t n, off = 0;
	ssize_t w;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	n = strlen(line);
	memcpy(line + n, "\r\n", 2);
	n += 2;
	while (off < n) {
		w = write(b->out, line + off, n - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			b->failed = 1;
			return;
		}
		off += (size_t)w;
	}
}

static void
transaction_reset(struct bsmtp *b)
{
	free(b->sender);
	b->sender = NULL;
	b->have_mail = 0;
	strlist_release(&b->rcpts);
}

/* The <path> of "FROM:<path> params" or "TO:<path> params". */
static int
parse_path(const char *arg, const char *prefix, char *path, size_t size)
{
	size_t plen = strlen(prefix);
	const char *p, *end;

	if (strncasecmp(arg, prefix, plen) != 0)
		return -1;
	p = arg + plen;
	while (*p == ' ')
		p++;
	if (*p != '<' || (end = strchr(p, '>')) == NULL)
		return -1;
	p++;
	if ((size_t)(end - p) >= size)
		return -1;
	memcpy(path, p, (size_t)(end - p));
	path[end - p] = '\0';
	/* Drop an obsolete source route "@a,@b:". */
	if (path[0] == '@' && (p = strchr(path, ':')) != NULL)
		memmove(path, p + 1, strlen(p + 1) + 1);
	return 0;
}

static void
cmd_mail(struct bsmtp *b, const char *arg)
{
	char path[ADDR_MAX + 1];

	if (b->have_mail) {
		reply(b, "503 5.5.1 sender already given");
		return;
	}
	if (parse_path(arg, "FROM:", path, sizeof(path)) == -1 ||
	    (path[0] != '\0' && addr_check_spec(path) == -1)) {
		reply(b, "501 5.1.7 bad sender address syntax");
		return;
	}
	b->sender = xstrdup(path);
	b->have_mail = 1;
	reply(b, "250 2.1.0 sender ok");
}

static void
cmd_rcpt(struct bsmtp *b, const char *arg)
{
	char path[ADDR_MAX + 1];

	if (!b->have_mail) {
		reply(b, "503 5.5.1 MAIL first");
		return;
	}
	if (b->rcpts.n >= BSMTP_MAXRCPT) {
		reply(b, "452 4.5.3 too many recipients");
		return;
	}
	if (parse_path(arg, "TO:", path, sizeof(path)) == -1 ||
	    addr_check_spec(path) == -1) {
		reply(b, "501 5.1.3 bad recipient address syntax");
		return;
	}
	strlist_add(&b->rcpts, path);
	reply(b, "250 2.1.5 recipient ok");
}

/*
 * After a failed message, skip what is left of its DATA: up to a "."
 * line that a CRLF ends and follows, as the message reader ends it.
 */
static void
drain(struct bsmtp *b)
{
	const char *p;
	size_t len;
	int eol, bol = 1;

	while (lineread_next(b->lr, &p, &len, &eol) == 1) {
		if (bol && eol && len == 2 && p[0] == '.' && p[1] == '\r')
			return;
		bol = eol && len > 0 && p[len - 1] == '\r';
	}
}

static void
answer_error(struct bsmtp *b, const struct err *e)
{
	char clean[512];

	log_sanitize_ascii(clean, sizeof(clean), e->msg, strlen(e->msg));
	switch (err_class(e->kind)) {
	case ERR_CLASS_TEMP:
	case ERR_CLASS_HOLD:
		/* Not queued: the client keeps it and tries again. */
		reply(b, "451 4.3.0 %s", clean);
		break;
	default:
		if (e->kind == ERR_RCPT)
			reply(b, "550 5.1.1 %s", clean);
		else if (e->kind == ERR_DATA)
			reply(b, "554 5.6.0 %s", clean);
		else
			reply(b, "554 5.3.0 %s", clean);
		break;
	}
}

static void
cmd_data(struct bsmtp *b)
{
	struct send_args args;
	char status[256], clean[256];
	struct err e;

	if (!b->have_mail || b->rcpts.n == 0) {
		reply(b, "503 5.5.1 %s first", b->have_mail ? "RCPT" : "MAIL");
		return;
	}
	reply(b, "354 end data with <CR><LF>.<CR><LF>");
	memset(&args, 0, sizeof(args));
	args.sender = b->sender;
	args.rcpts = b->rcpts.v;
	args.nrcpts = b->rcpts.n;
	args.smtp_data = 1;
	err_init(&e);
	status[0] = '\0';
	if (send_message(&b->ctx, b->lr, &args, status, sizeof(status),
	    &e) == 0) {
		log_sanitize_ascii(clean, sizeof(clean), status, strlen(status));
		if (b->ctx.last_queued)
			reply(b, "250 2.0.0 queued as %s", b->ctx.last_id);
		else
			reply(b, "250 2.0.0 delivered (%s)", clean);
	} else {
		if (!b->ctx.last_ended)
			drain(b);
		if (b->ctx.last_queued == 2) {
			/* Held in the queue: safe, but someone must act. */
			log_sanitize_ascii(clean, sizeof(clean), e.msg,
			    strlen(e.msg));
			reply(b, "250 2.0.0 queued as %s, held: %s",
			    b->ctx.last_id, clean);
		} else
			answer_error(b, &e);
	}
	transaction_reset(b);
}

/* One command line; returns 1 after QUIT. */
static int
command(struct bsmtp *b, char *line)
{
	char *arg = line;

	while (*arg && *arg != ' ')
		arg++;
	if (*arg == ' ')
		*arg++ = '\0';
	if (strcasecmp(line, "EHLO") == 0) {
		transaction_reset(b);
		b->helo = 1;
		reply(b, "250-%s greets %s", b->host, *arg ? arg : "you");
		reply(b, "250-PIPELINING");
		reply(b, "250-8BITMIME");
		reply(b, "250 ENHANCEDSTATUSCODES");
	} else if (strcasecmp(line, "HELO") == 0) {
		transaction_reset(b);
		b->helo = 1;
		reply(b, "250 %s", b->host);
	} else if (strcasecmp(line, "MAIL") == 0)
		cmd_mail(b, arg);
	else if (strcasecmp(line, "RCPT") == 0)
		cmd_rcpt(b, arg);
	else if (strcasecmp(line, "DATA") == 0)
		cmd_data(b);
	else if (strcasecmp(line, "RSET") == 0) {
		transaction_reset(b);
		reply(b, "250 2.0.0 reset");
	} else if (strcasecmp(line, "NOOP") == 0)
		reply(b, "250 2.0.0 ok");
	else if (strcasecmp(line, "VRFY") == 0)
		reply(b, "252 2.5.2 cannot verify, will try to deliver");
	else if (strcasecmp(line, "HELP") == 0)
		reply(b, "214 2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP QUIT");
	else if (strcasecmp(line, "QUIT") == 0) {
		reply(b, "221 2.0.0 bye");
		return 1;
	} else
		reply(b, "500 5.5.1 unknown command");
	return 0;
}

static int
serve(struct bsmtp *b)
{
	char line[BSMTP_LINEMAX + 1];
	const char *p;
	size_t len, have = 0;
	int eol, toolong = 0;

	reply(b, "220 %s envoi ESMTP ready", b->host);
	while (!b->failed && lineread_next(b->lr, &p, &len, &eol) == 1) {
		if (!eol || toolong || have + len > BSMTP_LINEMAX) {
			toolong = !eol;
			if (eol)
				reply(b, "500 5.5.2 line too long");
			continue;
		}
		while (len > 0 && p[len - 1] == '\r')
			len--;
		memcpy(line, p, len);
		line[len] = '\0';
		/*
		 * A NUL, a bare CR or another control character inside a
		 * command could hide a second command from whoever reads a
		 * log; no SMTP command has one (RFC 5321 2.3.8).
		 */
		if (memchr(line, '\0', len) != NULL || has_ctl(line)) {
			reply(b, "500 5.5.2 control character in command");
			continue;
		}
		if (command(b, line) == 1)
			break;
	}
	return 0;
}

int
bsmtp_run(const struct opts *o, int in, int out, struct err *e)
{
	struct bsmtp b;
	int rc;

	memset(&b, 0, sizeof(b));
	b.out = out;
	strlist_init(&b.rcpts);
	if (gethostname(b.host, sizeof(b.host)) == -1 || b.host[0] == '\0')
		snprintf(b.host, sizeof(b.host), "localhost");
	b.host[sizeof(b.host) - 1] = '\0';
	if (send_init(&b.ctx, o, e) == -1) {
		char clean[512];

		/* Tell the client why, in its own language, then stop. */
		log_sanitize_ascii(clean, sizeof(clean), e->msg, strlen(e->msg));
		reply(&b, "421 4.3.0 %s %s", b.host, clean);
		send_release(&b.ctx);
		return -1;
	}
	b.ctx.keep_open = 1;
	b.lr = xmalloc(sizeof(*b.lr));
	lineread_init(b.lr, in);
	rc = serve(&b);
	transaction_reset(&b);
	free(b.lr);
	send_release(&b.ctx);
	return rc;
}
