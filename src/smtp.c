/*
 * smtp.c - SMTP client (RFC 5321, 3207, 4954, 2920, 1870).
 *
 * The dialogue is a straight sequence; s->state names the step in
 * progress, so that every error says where it happened.  Replies are
 * read with limits (IO_LINEMAX per line, SMTP_MAXLINES lines) and
 * checked: three digits, first 2-5, the same code on every line.
 *
 * PIPELINING: MAIL and every RCPT go out in one write when the server
 * offers it.  DATA waits for their replies, because once a server
 * has answered 354 the only way to abandon the message is to drop the
 * connection.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "io.h"
#include "log.h"
#include "net.h"
#include "smtp.h"
#include "tls.h"
#include "util.h"

#define SMTP_MAXLINES	256
#define SMTP_TEXTMAX	8192
#define SMTP_AUTHMAX	16	/* AUTH challenges (334) one exchange may take */

enum smtp_state {
	SMTP_CONNECT,
	SMTP_GREETING,
	SMTP_EHLO,
	SMTP_HELO,
	SMTP_STARTTLS,
	SMTP_TLS,
	SMTP_AUTH,
	SMTP_MAIL,
	SMTP_RCPT,
	SMTP_DATA,
	SMTP_BODY,
	SMTP_DOT,
	SMTP_RSET,
	SMTP_QUIT,
	SMTP_STATE_LAST
};

static const char *smtp_statename[SMTP_STATE_LAST] = {
	"connect", "greeting", "EHLO", "HELO", "STARTTLS", "TLS handshake",
	"AUTH", "MAIL FROM", "RCPT TO", "DATA", "message body", "end of data",
	"RSET", "QUIT"
};

struct reply {
	int	code;
	int	nlines;
	size_t	len;
	char	text[SMTP_TEXTMAX];	/* lines without codes, '\n' between */
};

struct caps {
	int	esmtp;
	int	starttls;
	int	pipelining;
	int	size;
	int	eightbitmime;
	int	smtputf8;
	int	dsn;
	char	auth[512];
};

/* EHLO keywords that are plain flags in struct caps. */
static const struct {
	const char	*word;
	size_t		 offset;
} caps_flags[] = {
	{ "STARTTLS",	offsetof(struct caps, starttls) },
	{ "PIPELINING",	offsetof(struct caps, pipelining) },
	{ "SIZE",	offsetof(struct caps, size) },
	{ "8BITMIME",	offsetof(struct caps, eightbitmime) },
	{ "SMTPUTF8",	offsetof(struct caps, smtputf8) },
	{ "DSN",	offsetof(struct caps, dsn) },
};

struct smtp_session {
	const struct smtp_params	*p;
	enum smtp_state			 state;
	int				 fd;
	int				 broken;	/* transport unusable */
	int				 tls_replied;	/* a reply came in TLS */
	struct io			 io;
	struct tls			*tls;
	struct caps			 caps;
	struct reply			 reply;
	struct smtp_info		 info;
};

static int64_t
deadline(struct smtp_session *s)
{
	return now_ms() + s->p->timeout_ms;
}

/*
 * Transport failures make the session unusable.  A TLS failure after
 * the server has answered through TLS (so it took our certificate, if
 * it wanted one) is no refusal, but a broken connection: temporary.
 */
static int
smtp_broken(struct smtp_session *s, struct err *e)
{
	char what[ERR_MSGMAX];

	s->broken = 1;
	snprintf(what, sizeof(what), "%s", e->msg);
	return err_set(e, e->kind == ERR_TLS && s->tls_replied ? ERR_TEMP :
	    e->kind, "%s port %d (%s): %s", s->p->host, s->p->port,
	    smtp_statename[s->state], what);
}

int
smtp_reply_line(const char *l, size_t len, int *code, int *more)
{
	if (len < 3 || !isdigit((unsigned char)l[0]) ||
	    !isdigit((unsigned char)l[1]) || !isdigit((unsigned char)l[2]))
		return -1;
	if (l[0] < '2' || l[0] > '5')
		return -1;
	if (len > 3 && l[3] != ' ' && l[3] != '-')
		return -1;
	*code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	*more = len > 3 && l[3] == '-';
	return 0;
}

static void
reply_append(struct reply *r, const char *text, size_t len)
{
	size_t room = sizeof(r->text) - r->len - 1;

	if (r->nlines > 0 && room > 0) {
		r->text[r->len++] = '\n';
		room--;
	}
	if (len > room)
		len = room;
	memcpy(r->text + r->len, text, len);
	r->len += len;
	r->text[r->len] = '\0';
}

static int
smtp_reply(struct smtp_session *s, struct err *e)
{
	struct reply *r = &s->reply;
	int64_t dl = deadline(s);
	char *line;
	size_t len;
	int code, more;

	r->code = 0;
	r->nlines = 0;
	r->len = 0;
	r->text[0] = '\0';
	for (;;) {
		if (io_getline(&s->io, dl, &line, &len, e) == -1)
			return smtp_broken(s, e);
		log_dialogue("<--", line, len);
		if (smtp_reply_line(line, len, &code, &more) == -1) {
			char clean[80];

			err_set(e, ERR_PROTOCOL, "malformed reply '%s'",
			    log_sanitize(clean, sizeof(clean), line, len));
			return smtp_broken(s, e);
		}
		if (r->nlines > 0 && code != r->code) {
			err_set(e, ERR_PROTOCOL, "reply code changed from %d "
			    "to %d within one reply", r->code, code);
			return smtp_broken(s, e);
		}
		r->code = code;
		reply_append(r, len > 4 ? line + 4 : "", len > 4 ? len - 4 : 0);
		r->nlines++;
		if (!more) {
			s->tls_replied = s->tls != NULL;
			return 0;
		}
		if (r->nlines >= SMTP_MAXLINES) {
			err_set(e, ERR_PROTOCOL, "reply longer than %d lines",
			    SMTP_MAXLINES);
			return smtp_broken(s, e);
		}
	}
}

/* The reply as one printable line, for error messages. */
static const char *
reply_str(const struct reply *r, char *buf, size_t size)
{
	char clean[512];
	size_t i;

	log_sanitize(clean, sizeof(clean), r->text, r->len);
	for (i = 0; clean[i]; i++)
		if (clean[i] == '?' && r->text[i] == '\n')
			clean[i] = ' ';
	snprintf(buf, size, "%d %s", r->code, clean);
	return buf;
}

/*
 * Fail on the current reply: 4xx is ERR_TEMP, 5xx is kind5 (the
 * caller knows what a refusal means at its step).
 */
static int
reply_fail(struct smtp_session *s, enum err_kind kind5, const char *what,
    struct err *e)
{
	char rs[600];

	return err_set(e, s->reply.code / 100 == 4 ? ERR_TEMP : kind5,
	    "%s rejected %s: %s", s->p->host, what,
	    reply_str(&s->reply, rs, sizeof(rs)));
}

/*
 * Queue a command line (CRLF added).  shown replaces the logged text
 * when the line carries a secret.
 */
static int
smtp_put(struct smtp_session *s, const char *shown, struct err *e,
    const char *fmt, ...)
{
	char small[1024], *line = small;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return err_set(e, ERR_SOFTWARE, "smtp_put: format");
	if ((size_t)n >= sizeof(small) - 2) {
		line = xmalloc((size_t)n + 3);
		va_start(ap, fmt);
		vsnprintf(line, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	if (strpbrk(line, "\r\n") != NULL) {
		if (line != small)
			free(line);
		return err_set(e, ERR_SOFTWARE, "smtp_put: line break in "
		    "a command");
	}
	log_dialogue("-->", shown ? shown : line, shown ? strlen(shown) :
	    (size_t)n);
	memcpy(line + n, "\r\n", 2);
	rc = io_write(&s->io, line, (size_t)n + 2, deadline(s), e);
	wipe(line, (size_t)n + 2);
	if (line != small)
		free(line);
	if (rc == -1)
		return smtp_broken(s, e);
	return 0;
}

static int
smtp_flush(struct smtp_session *s, struct err *e)
{
	if (io_flush(&s->io, deadline(s), e) == -1)
		return smtp_broken(s, e);
	return 0;
}

/* Send a command and read its reply. */
static int
smtp_cmd(struct smtp_session *s, const char *shown, struct err *e,
    const char *fmt, const char *arg)
{
	if (smtp_put(s, shown, e, fmt, arg) == -1 || smtp_flush(s, e) == -1)
		return -1;
	return smtp_reply(s, e);
}

static void
caps_parse(struct caps *c, const struct reply *r)
{
	const char *line = r->text, *next;
	size_t len, i, n;

	memset(c, 0, sizeof(*c));
	c->esmtp = 1;
	/* The first line is the greeting text; the rest are keywords. */
	for (line = strchr(line, '\n'); line != NULL; line = next) {
		line++;
		next = strchr(line, '\n');
		len = next ? (size_t)(next - line) : strlen(line);
		for (i = 0; i < sizeof(caps_flags) / sizeof(caps_flags[0]);
		    i++) {
			n = strlen(caps_flags[i].word);
			if (len >= n && strncasecmp(line, caps_flags[i].word,
			    n) == 0 && (len == n || line[n] == ' '))
				*(int *)(void *)((char *)c +
				    caps_flags[i].offset) = 1;
		}
		if (len > 5 && (strncasecmp(line, "AUTH ", 5) == 0 ||
		    strncasecmp(line, "AUTH=", 5) == 0)) {
			size_t have = strlen(c->auth);

			n = len - 5;
			if (have + n + 2 < sizeof(c->auth)) {
				if (have > 0)
					c->auth[have++] = ' ';
				memcpy(c->auth + have, line + 5, n);
				c->auth[have + n] = '\0';
			}
		}
	}
}

static int
smtp_ehlo(struct smtp_session *s, struct err *e)
{
	s->state = SMTP_EHLO;
	memset(&s->caps, 0, sizeof(s->caps));
	if (smtp_cmd(s, NULL, e, "EHLO %s", s->p->helo) == -1)
		return -1;
	if (s->reply.code / 100 == 2) {
		caps_parse(&s->caps, &s->reply);
		snprintf(s->tls ? s->info.ehlo_tls : s->info.ehlo_clear,
		    sizeof(s->info.ehlo_tls), "%.4000s", s->reply.text);
		return 0;
	}
	if (s->reply.code / 100 == 4)
		return reply_fail(s, ERR_TEMP, "EHLO", e);
	/* RFC 5321 3.2: a server that does not know EHLO gets HELO. */
	s->state = SMTP_HELO;
	if (smtp_cmd(s, NULL, e, "HELO %s", s->p->helo) == -1)
		return -1;
	if (s->reply.code / 100 != 2)
		return reply_fail(s, ERR_UNAVAILABLE, "HELO", e);
	return 0;
}

static int
smtp_tls_start(struct smtp_session *s, struct err *e)
{
	struct tls_params tp = s->p->tls_opts;
	char desc[128];

	s->state = SMTP_TLS;
	tp.hostname = s->p->tls_name ? s->p->tls_name : s->p->host;
	tp.timeout_ms = s->p->timeout_ms;
	s->tls = tls_start(s->fd, &tp, e);
	if (s->tls == NULL)
		return smtp_broken(s, e);
	io_set_tls(&s->io, s->tls);
	log_info("TLS started: %s%s", tls_describe(s->tls, desc, sizeof(desc)),
	    tls_resumed(s->tls) ? " (resumed session)" : "");
	if (log_verbose() && tls_peer_fingerprint(s->tls, desc,
	    sizeof(desc)) == 0)
		log_info("server certificate SHA-256 %s", desc);
	return 0;
}

static int
smtp_starttls(struct smtp_session *s, struct err *e)
{
	s->state = SMTP_STARTTLS;
	if (!s->caps.starttls) {
		s->broken = 1;
		return err_set(e, ERR_TLS, "%s does not offer STARTTLS, and "
		    "tls is \"starttls\": refusing to continue without TLS",
		    s->p->host);
	}
	if (smtp_cmd(s, NULL, e, "%s", "STARTTLS") == -1)
		return -1;
	if (s->reply.code != 220) {
		s->broken = 1;
		return reply_fail(s, ERR_TLS, "STARTTLS", e);
	}
	/*
	 * Anything already received was sent before the handshake, in
	 * clear, and could have been injected: reading it as a reply
	 * after TLS would be the STARTTLS injection attack (CVE-2011-0411).
	 */
	if (io_pending(&s->io) > 0) {
		err_set(e, ERR_PROTOCOL, "data after the 220 reply (possible "
		    "injection attack)");
		return smtp_broken(s, e);
	}
	if (smtp_tls_start(s, e) == -1)
		return -1;
	/* What was learned in clear is forgotten: ask again under TLS. */
	return smtp_ehlo(s, e);
}

static int
smtp_auth_reply(struct smtp_session *s, const char *mech, struct err *e)
{
	char what[96];

	if (s->reply.code == 235)
		return 0;
	snprintf(what, sizeof(what), "authentication (%s)", mech);
	if (s->reply.code / 100 == 4)
		return reply_fail(s, ERR_TEMP, what, e);
	return reply_fail(s, ERR_AUTH, what, e);
}

/*
 * RFC 4954 4: an AUTH command line holds at most 12288 octets; a longer
 * initial response (a long OAuth2 token) goes in answer to an empty
 * challenge instead.
 */
#define SMTP_AUTH_LINE_MAX	12288

/* The AUTH command; *pending: the initial response still to send. */
static int
smtp_auth_first(struct smtp_session *s, struct auth *a, const char *mech,
    int *more, char **pending, struct err *e)
{
	char *out = NULL, shown[96];
	int rc;

	*pending = NULL;
	snprintf(shown, sizeof(shown), "AUTH %s <hidden>", mech);
	if (!auth_client_first(mech))
		rc = smtp_put(s, NULL, e, "AUTH %s", mech);
	else if ((*more = auth_step(a, NULL, &out, e)) == -1)
		return -1;
	else if (strlen(out) + strlen(mech) + 8 > SMTP_AUTH_LINE_MAX) {
		rc = smtp_put(s, NULL, e, "AUTH %s", mech);
		*pending = out;
		out = NULL;
	} else
		rc = smtp_put(s, shown, e, "AUTH %s %s", mech,
		    *out ? out : "=");
	wipe_free(out);
	if (rc == -1 || smtp_flush(s, e) == -1 || smtp_reply(s, e) == -1) {
		wipe_free(*pending);
		*pending = NULL;
		return -1;
	}
	return 0;
}

static int
smtp_auth_run(struct smtp_session *s, struct auth *a, const char *mech,
    struct err *e)
{
	char *out = NULL, *pending;
	int more = 1, rounds = 0, rc;

	if (smtp_auth_first(s, a, mech, &more, &pending, e) == -1)
		return -1;
	if (s->reply.code == 334 && pending != NULL) {
		/* The server's empty challenge: the initial response now. */
		rc = smtp_put(s, "<hidden>", e, "%s", pending);
		wipe_free(pending);
		pending = NULL;
		if (rc == -1 || smtp_flush(s, e) == -1 ||
		    smtp_reply(s, e) == -1)
			return -1;
	}
	wipe_free(pending);
	while (s->reply.code == 334) {
		char *challenge = s->reply.text;

		/* No mechanism needs this many rounds; a server may. */
		if (++rounds > SMTP_AUTHMAX) {
			err_set(e, ERR_PROTOCOL, "more than %d challenges",
			    SMTP_AUTHMAX);
			return smtp_broken(s, e);
		}
		if (more == 0)
			challenge = NULL;	/* nothing more to say */
		if (challenge != NULL &&
		    (more = auth_step(a, challenge, &out, e)) == -1) {
			char failed[ERR_MSGMAX];

			/* Cancel the exchange (RFC 4954 4). */
			snprintf(failed, sizeof(failed), "%s", e->msg);
			if (smtp_cmd(s, NULL, e, "%s", "*") == 0)
				err_set(e, ERR_AUTH, "authentication (%s) "
				    "failed: %s", mech, failed);
			return -1;
		}
		rc = smtp_put(s, "<hidden>", e, "%s", out ? out : "");
		wipe_free(out);
		out = NULL;
		if (rc == -1 || smtp_flush(s, e) == -1 ||
		    smtp_reply(s, e) == -1)
			return -1;
	}
	if (smtp_auth_reply(s, mech, e) == -1) {
		char said[ERR_MSGMAX];

		if (*auth_detail(a) != '\0') {
			snprintf(said, sizeof(said), "%s", e->msg);
			err_set(e, e->kind, "%s (token status: %s)", said,
			    auth_detail(a));
		}
		return -1;
	}
	return 0;
}

/*
 * The mechanisms to try, or NULL not to log in.  Without a user, only
 * the certificate (EXTERNAL) or a Kerberos ticket (GSSAPI, named by
 * auth, never picked by "on") can log in.
 */
static const char *
smtp_auth_mechs(const struct smtp_session *s, int client_cert)
{
	int on = strcasecmp(s->p->auth, "on") == 0;

	if (s->p->user != NULL)
		return s->p->auth;
	if (!on && auth_offered(s->p->auth, "GSSAPI"))
		return s->p->auth;
	if (client_cert && auth_offered(s->caps.auth, "EXTERNAL") &&
	    (on || auth_offered(s->p->auth, "EXTERNAL")))
		return "EXTERNAL";
	return NULL;
}

static int
smtp_auth(struct smtp_session *s, struct err *e)
{
	struct auth_params ap;
	struct auth *a;
	char mech[64];
	int rc;

	s->state = SMTP_AUTH;
	ap.client_cert = s->tls != NULL && s->p->tls_opts.cert_file != NULL;
	if (strcasecmp(s->p->auth, "off") == 0 || s->p->no_auth)
		return 0;
	if ((ap.mechanisms = smtp_auth_mechs(s, ap.client_cert)) == NULL)
		return 0;
	if (s->caps.auth[0] == '\0')
		return err_set(e, ERR_AUTH, "%s offers no authentication "
		    "(AUTH), but %s", s->p->host, s->p->user != NULL ?
		    "a user is configured" : "auth names a mechanism");
	ap.user = s->p->user;
	ap.password = s->p->password;
	ap.hostname = s->p->host;
	ap.encrypted = s->tls != NULL;
	ap.oauth2 = s->p->oauth2;
	ap.cb_type = NULL;
	ap.cb_data = NULL;
	ap.cb_len = 0;
	if (s->tls != NULL)
		tls_channel_binding(s->tls, &ap.cb_type, &ap.cb_data,
		    &ap.cb_len);
	if (auth_choose(&ap, s->caps.auth, mech, sizeof(mech), e) == -1) {
		free(ap.cb_data);
		return -1;
	}
	rc = -1;
	snprintf(s->info.mechanism, sizeof(s->info.mechanism), "%s", mech);
	if ((a = auth_start(&ap, mech, e)) != NULL) {
		rc = smtp_auth_run(s, a, mech, e);
		auth_free(a);
	}
	free(ap.cb_data);
	return rc;
}

static int
smtp_greeting(struct smtp_session *s, struct err *e)
{
	s->state = SMTP_GREETING;
	if (smtp_reply(s, e) == -1)
		return -1;
	snprintf(s->info.greeting, sizeof(s->info.greeting), "%d %.480s",
	    s->reply.code, s->reply.text);
	if (s->reply.code == 220)
		return 0;
	s->broken = 1;
	return reply_fail(s, ERR_UNAVAILABLE, "the connection", e);
}

struct smtp_session *
smtp_open(const struct smtp_params *p, struct err *e)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));

	s->p = p;
	s->state = SMTP_CONNECT;
	s->fd = net_connect(p->host, p->port, p->timeout_ms, e);
	if (s->fd == -1)
		goto fail;
	io_init(&s->io, s->fd);
	io_set_progress(&s->io, p->progress, p->progress_arg);
	log_info("connected to %s port %d", p->host, p->port);
	if (p->tls == SMTP_TLS_IMPLICIT && smtp_tls_start(s, e) == -1)
		goto fail;
	if (smtp_greeting(s, e) == -1 || smtp_ehlo(s, e) == -1)
		goto fail;
	if (p->tls == SMTP_TLS_STARTTLS && smtp_starttls(s, e) == -1)
		goto fail;
	if (smtp_auth(s, e) == -1)
		goto fail;
	return s;
fail:
	s->broken = 1;
	smtp_close(s);
	return NULL;
}

/* After a refused transaction, make the session ready for the next. */
static void
smtp_rset(struct smtp_session *s)
{
	struct err ignored;

	if (s->broken)
		return;
	s->state = SMTP_RSET;
	err_init(&ignored);
	if (smtp_cmd(s, NULL, &ignored, "%s", "RSET") == -1 ||
	    s->reply.code / 100 != 2)
		s->broken = 1;
}

/* 5xx that blames the message itself: size or content (RFC 3463). */
static int
reply_blames_content(const struct reply *r)
{
	if (r->code == 552 || r->code == 554) {
		if (strncmp(r->text, "5.6.", 4) == 0 ||
		    strncmp(r->text, "5.3.4", 5) == 0 || r->code == 552)
			return 1;
	}
	return 0;
}

struct rcpt_tally {
	size_t		accepted;
	size_t		refused;
	size_t		deferred;
	struct err	first;		/* the first refusal or deferral */
	struct smtp_result *res;	/* where the addresses go */
};

static void
rcpt_judge(struct smtp_session *s, const char *rcpt, struct rcpt_tally *t)
{
	char what[320];
	struct err e;

	if (s->reply.code / 100 == 2) {
		t->accepted++;
		return;
	}
	snprintf(what, sizeof(what), "recipient <%s>", rcpt);
	err_init(&e);
	reply_fail(s, ERR_RCPT, what, &e);
	if (e.kind == ERR_TEMP) {
		t->deferred++;
		strlist_add(&t->res->deferred, rcpt);
	} else {
		t->refused++;
		strlist_add(&t->res->rejected, rcpt);
	}
	/* A permanent refusal is the more useful thing to report... */
	if (t->first.kind == ERR_NONE ||
	    (t->first.kind == ERR_TEMP && e.kind != ERR_TEMP))
		t->first = e;
	else if (t->first.kind == e.kind) {
		/* ...and every refused recipient is named. */
		size_t n = strlen(t->first.msg);

		snprintf(t->first.msg + n, sizeof(t->first.msg) - n, "; %s",
		    e.msg);
	}
}

static int
mail_judge(struct smtp_session *s, struct err *e)
{
	if (s->reply.code / 100 == 2)
		return 0;
	return reply_fail(s, reply_blames_content(&s->reply) ? ERR_DATA :
	    ERR_UNAVAILABLE, "sender", e);
}

/* xtext (RFC 3461 4): '+', '=' and what is not printable get +XX. */
static void
xtext(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	for (; *src && n + 4 < size; src++) {
		unsigned char c = (unsigned char)*src;

		if (c < 33 || c > 126 || c == '+' || c == '=')
			n += (size_t)snprintf(dst + n, size - n, "+%02X", c);
		else
			dst[n++] = (char)c;
	}
	dst[n] = '\0';
}

/* The parameters after MAIL FROM:<...>. */
static void
mail_params(struct smtp_session *s, const struct smtp_envelope *env,
    char *buf, size_t size)
{
	char x[400];
	size_t n;

	buf[0] = '\0';
	if (s->caps.size)
		snprintf(buf, size, " SIZE=%lld", (long long)env->size);
	n = strlen(buf);
	if (env->eightbit)
		snprintf(buf + n, size - n, " BODY=8BITMIME");
	n = strlen(buf);
	if (env->utf8)
		snprintf(buf + n, size - n, " SMTPUTF8");
	n = strlen(buf);
	if (s->caps.dsn && env->dsn_ret != NULL)
		snprintf(buf + n, size - n, " RET=%s", env->dsn_ret);
	n = strlen(buf);
	if (s->caps.dsn && env->dsn_envid != NULL) {
		xtext(x, sizeof(x), env->dsn_envid);
		snprintf(buf + n, size - n, " ENVID=%s", x);
	}
}

static int
smtp_put_rcpt(struct smtp_session *s, const struct smtp_envelope *env,
    const char *rcpt, struct err *e)
{
	char x[600];

	if (!s->caps.dsn || env->dsn_notify == NULL)
		return smtp_put(s, NULL, e, "RCPT TO:<%s>", rcpt);
	xtext(x, sizeof(x), rcpt);
	return smtp_put(s, NULL, e, "RCPT TO:<%s> NOTIFY=%s ORCPT=rfc822;%s",
	    rcpt, env->dsn_notify, x);
}

/* Refuse before MAIL what the server said it cannot carry. */
static int
smtp_can_carry(struct smtp_session *s, const struct smtp_envelope *env,
    struct err *e)
{
	if (env->eightbit && !s->caps.eightbitmime)
		return err_set(e, ERR_DATA, "the message has 8-bit data, but "
		    "%s does not offer 8BITMIME", s->p->host);
	if (env->utf8 && !s->caps.smtputf8)
		return err_set(e, ERR_DATA, "an address is not ASCII, but %s "
		    "does not offer SMTPUTF8", s->p->host);
	return 0;
}

/*
 * MAIL and RCPTs, pipelined when offered.  Returns 0 when the server
 * accepted the sender and every recipient (or, with partial, at least
 * one).
 */
static int
smtp_envelope(struct smtp_session *s, const struct smtp_envelope *env,
    struct smtp_result *res, struct err *e)
{
	struct rcpt_tally t;
	char params[600];
	int pipe = s->caps.pipelining, mail_ok;
	size_t i;

	memset(&t, 0, sizeof(t));
	err_init(&t.first);
	t.res = res;
	if (smtp_can_carry(s, env, e) == -1)
		return -1;
	mail_params(s, env, params, sizeof(params));
	s->state = SMTP_MAIL;
	if (smtp_put(s, NULL, e, "MAIL FROM:<%s>%s", env->sender,
	    params) == -1)
		return -1;
	if (!pipe) {
		if (smtp_flush(s, e) == -1 || smtp_reply(s, e) == -1)
			return -1;
		if (mail_judge(s, e) == -1)
			return -1;
	}
	s->state = SMTP_RCPT;
	for (i = 0; i < env->nrcpts; i++) {
		if (smtp_put_rcpt(s, env, env->rcpts[i], e) == -1)
			return -1;
		if (pipe)
			continue;
		if (smtp_flush(s, e) == -1 || smtp_reply(s, e) == -1)
			return -1;
		rcpt_judge(s, env->rcpts[i], &t);
	}
	if (pipe) {
		if (smtp_flush(s, e) == -1)
			return -1;
		s->state = SMTP_MAIL;
		if (smtp_reply(s, e) == -1)
			return -1;
		mail_ok = mail_judge(s, e) == 0;
		s->state = SMTP_RCPT;
		for (i = 0; i < env->nrcpts; i++) {
			if (smtp_reply(s, e) == -1)
				return -1;
			if (mail_ok)
				rcpt_judge(s, env->rcpts[i], &t);
		}
		if (!mail_ok)
			return -1;
	}
	res->accepted = t.accepted;
	if (t.first.kind == ERR_NONE)
		return 0;
	if (env->partial && t.accepted > 0) {
		res->refused = t.first;
		return 0;
	}
	*e = t.first;
	return -1;
}

static int
smtp_data(struct smtp_session *s, const struct smtp_envelope *env,
    struct err *e)
{
	s->state = SMTP_DATA;
	if (smtp_cmd(s, NULL, e, "%s", "DATA") == -1)
		return -1;
	if (s->reply.code != 354)
		return reply_fail(s, ERR_UNAVAILABLE, "DATA", e);
	s->state = SMTP_BODY;
	log_info("sending %lld bytes", (long long)env->size);
	if (io_sendfile(&s->io, env->body_fd, 0, env->size, s->p->timeout_ms,
	    e) == -1)
		return e->kind == ERR_IO ? -1 : smtp_broken(s, e);
	s->state = SMTP_DOT;
	log_dialogue("-->", ".", 1);
	if (io_write(&s->io, ".\r\n", 3, deadline(s), e) == -1 ||
	    smtp_flush(s, e) == -1)
		return smtp_broken(s, e);
	if (smtp_reply(s, e) == -1)
		return -1;
	if (s->reply.code / 100 == 2)
		return 0;
	return reply_fail(s, reply_blames_content(&s->reply) ? ERR_DATA :
	    ERR_UNAVAILABLE, "the message", e);
}

int
smtp_send(struct smtp_session *s, const struct smtp_envelope *env,
    struct smtp_result *res, struct err *e)
{
	int rc = 0;

	memset(res, 0, sizeof(*res));
	err_init(&res->refused);
	strlist_init(&res->deferred);
	strlist_init(&res->rejected);
	if (s->broken)
		return err_set(e, ERR_SOFTWARE, "smtp_send: broken session");
	if (smtp_envelope(s, env, res, e) == -1 ||
	    smtp_data(s, env, e) == -1) {
		if (e->kind == ERR_IO)
			s->broken = 1;	/* mid-DATA: cannot recover */
		rc = -1;
	}
	reply_str(&s->reply, res->status, sizeof(res->status));
	if (rc == -1)
		smtp_rset(s);
	return rc;
}

int
smtp_tls_session(struct smtp_session *s, void **data, size_t *len)
{
	if (s->tls == NULL)
		return -1;
	return tls_session_data(s->tls, data, len);
}

const struct smtp_info *
smtp_info(struct smtp_session *s)
{
	return &s->info;
}

struct tls *
smtp_tls(struct smtp_session *s)
{
	return s->tls;
}

int
smtp_tls_resumed(struct smtp_session *s)
{
	return s->tls != NULL && tls_resumed(s->tls);
}

void
smtp_result_release(struct smtp_result *res)
{
	strlist_release(&res->deferred);
	strlist_release(&res->rejected);
}

const char *
smtp_tls_info(struct smtp_session *s, char *buf, size_t size)
{
	if (s->tls == NULL) {
		snprintf(buf, size, "none");
		return buf;
	}
	return tls_describe(s->tls, buf, size);
}

int
smtp_usable(const struct smtp_session *s)
{
	return !s->broken;
}

void
smtp_close(struct smtp_session *s)
{
	struct err ignored;

	if (s == NULL)
		return;
	if (!s->broken) {
		err_init(&ignored);
		s->state = SMTP_QUIT;
		if (smtp_cmd(s, NULL, &ignored, "%s", "QUIT") == -1)
			s->broken = 1;
	}
	if (s->tls != NULL)
		tls_free(s->tls, s->broken ? 0 : now_ms() + 2000);
	if (s->fd != -1)
		close(s->fd);
	free(s);
}
