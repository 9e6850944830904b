/*
 * send.c - one message, from input to smarthost.
 *
 * The steps, in order: read the header block; choose the account (it
 * may depend on the From header); choose the envelope sender; write the
 * message to an unlinked spool file with the header edits the account
 * asks for (aliases and bare names rewritten, From/Date/Message-ID
 * added); gather the recipients; hand envelope and spool to smtp; log.
 *
 * Bare local names ("root") are qualified with the account's
 * maildomain, else the domain of its from address, else the machine's
 * host name; aliases apply to recipients only.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "auth.h"
#include "cred.h"
#include "encode.h"
#include "log.h"
#include "message.h"
#include "oauth2.h"
#include "queue.h"
#include "runq.h"
#include "send.h"
#include "smtp.h"
#include "util.h"

#define LINE_MAX_SMTP	998	/* RFC 5322 2.1.1, without CRLF */
#define SPOOL_BUFSIZE	(64 * 1024)

/* One message in progress. */
struct job {
	struct send_ctx		*ctx;
	const struct send_args	*args;
	struct account		 account;
	struct message		 msg;
	struct strlist		 rcpts;
	char			*sender;
	char			*from_header;
	char			 domain[256];	/* for bare names */
	char			 helo[256];
	FILE			*spool;
	char			*spoolbuf;	/* the spool's stdio buffer */
	struct err		*e;
	int			 rewrite_failed;
};

int
send_init(struct send_ctx *ctx, const struct opts *o, struct err *e)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->opts = o;
	ctx->config_path = o->config_file ? xstrdup(o->config_file) :
	    config_default_path();
	if (config_load(&ctx->config, ctx->config_path, e) == -1)
		return -1;
	ctx->config_loaded = 1;
	return 0;
}

void
send_release(struct send_ctx *ctx)
{
	send_session_close(ctx);
	if (ctx->config_loaded)
		config_release(&ctx->config);
	aliases_release(&ctx->aliases);
	free(ctx->aliases_path);
	if (ctx->tls_cache != NULL)
		wipe(ctx->tls_cache, ctx->tls_cache_len);
	free(ctx->tls_cache);
	free(ctx->config_path);
	wipe_free(ctx->password);
	wipe_free(ctx->oauth2_token);
	memset(ctx, 0, sizeof(*ctx));
}

/*
 * The password, when the account logs in: from the sources of cred.h,
 * once per account and run (a prompt is not repeated for every queued
 * message).  The context owns it and wipes it in send_release.
 */
static int
resolve_password(struct send_ctx *ctx, const struct account *a,
    const char **pw, struct err *e)
{
	struct cred_params cp;

	*pw = NULL;
	/* A certificate (EXTERNAL) or a ticket (GSSAPI) needs no password. */
	if (a->user == NULL || strcmp(a->auth, "off") == 0 ||
	    auth_secretless(a->auth))
		return 0;
	if (ctx->password == NULL ||
	    strcmp(ctx->password_account, a->name) != 0) {
		wipe_free(ctx->password);
		ctx->password = NULL;
		memset(&cp, 0, sizeof(cp));
		cp.account = a->name;
		cp.file = a->file;
		cp.host = a->host;
		cp.user = a->user;
		cp.password = a->password;
		cp.passwordeval = a->passwordeval;
		if (cred_password(&cp, &ctx->password, &ctx->password_source,
		    e) == -1)
			return -1;
		snprintf(ctx->password_account, sizeof(ctx->password_account),
		    "%s", a->name);
	}
	*pw = ctx->password;
	return 0;
}

static const char *
domain_of(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	return at && addr_has_domain(addr) ? at + 1 : NULL;
}

void
send_domain(const struct account *a, char *buf, size_t size)
{
	const char *d = a->maildomain;

	if (d == NULL && a->from != NULL && !config_from_is_pattern(a->from))
		d = domain_of(a->from);
	if (d != NULL) {
		snprintf(buf, size, "%s", d);
		return;
	}
	if (gethostname(buf, size) == -1 || buf[0] == '\0')
		snprintf(buf, size, "localhost");
	buf[size - 1] = '\0';
}

/* The domain for bare names: maildomain, from's domain, host name. */
static void
choose_domain(struct job *j)
{
	send_domain(&j->account, j->domain, sizeof(j->domain));
}

static char *
qualify(const struct job *j, const char *addr)
{
	char buf[ADDR_MAX + 260];

	if (addr_has_domain(addr) || *addr == '\0')
		return xstrdup(addr);
	snprintf(buf, sizeof(buf), "%s@%s", addr, j->domain);
	return xstrdup(buf);
}

static int
load_aliases(struct job *j, struct err *e)
{
	struct send_ctx *ctx = j->ctx;
	const char *path = j->account.aliases;

	if (path == NULL)
		return 0;
	if (ctx->aliases_path != NULL && strcmp(ctx->aliases_path, path) == 0)
		return 0;
	aliases_release(&ctx->aliases);
	free(ctx->aliases_path);
	if (ctx->tls_cache != NULL)
		wipe(ctx->tls_cache, ctx->tls_cache_len);
	free(ctx->tls_cache);
	ctx->aliases_path = NULL;
	if (aliases_load(&ctx->aliases, path, e) == -1)
		return -1;
	ctx->aliases_path = xstrdup(path);
	return 0;
}

/* A recipient: aliases for bare names, then qualification. */
static int
expand_rcpt(struct job *j, const char *addr, struct strlist *out,
    struct err *e)
{
	struct strlist l;
	size_t i;
	char *q;

	strlist_init(&l);
	if (!addr_has_domain(addr) && j->ctx->aliases_path != NULL) {
		if (aliases_expand(&j->ctx->aliases, addr, &l, e) == -1) {
			strlist_release(&l);
			return -1;
		}
	} else
		strlist_add(&l, addr);
	for (i = 0; i < l.n; i++) {
		q = qualify(j, l.v[i]);
		strlist_add_unique(out, q);
		free(q);
	}
	strlist_release(&l);
	return 0;
}

/* message_rewrite_fn: aliases and qualification inside headers. */
static char *
rewrite(void *arg, const char *addr, int recipient)
{
	struct job *j = arg;
	struct strlist l;
	struct err e;
	size_t i, len = 0;
	char *r;

	if (addr_has_domain(addr))
		return NULL;
	if (!recipient)
		return qualify(j, addr);
	strlist_init(&l);
	err_init(&e);
	if (expand_rcpt(j, addr, &l, &e) == -1) {
		j->rewrite_failed = 1;
		*j->e = e;
		strlist_release(&l);
		return NULL;
	}
	for (i = 0; i < l.n; i++)
		len += strlen(l.v[i]) + 2;
	r = xmalloc(len + 1);
	r[0] = '\0';
	for (i = 0; i < l.n; i++) {
		if (i > 0)
			strcat(r, ", ");
		strcat(r, l.v[i]);
	}
	strlist_release(&l);
	return r;
}

static int
user_name(char *buf, size_t size)
{
	struct passwd *pw = getpwuid(getuid());
	const char *u = pw ? pw->pw_name : getenv("USER");

	if (u == NULL || *u == '\0')
		return -1;
	snprintf(buf, size, "%s", u);
	return 0;
}

/*
 * The envelope sender: -f (when the account allows it, or has no
 * address of its own), else the account's from, else the From header's
 * address, else the user's name; bare names qualified.
 */
static int
choose_sender(struct job *j, struct err *e)
{
	const struct account *a = &j->account;
	const char *s = j->args->sender;
	int own = a->from != NULL && !config_from_is_pattern(a->from);
	char user[256];
	struct strlist l;
	char why[128];

	if (s != NULL && (a->allow_from_override || !own)) {
		if (*s == '\0' || strcmp(s, "<>") == 0) {
			j->sender = xstrdup("");
			return 0;
		}
		strlist_init(&l);
		if (addr_parse_list(s, strlen(s), &l, why, sizeof(why)) == -1 ||
		    l.n != 1) {
			strlist_release(&l);
			return err_set(e, ERR_USAGE, "bad sender address '%s'",
			    s);
		}
		j->sender = qualify(j, l.v[0]);
		strlist_release(&l);
		return 0;
	}
	if (s != NULL)
		log_info("ignoring -f %s: allow_from_override is off", s);
	if (own)
		j->sender = xstrdup(a->from);
	else if (j->msg.from_addr != NULL)
		j->sender = qualify(j, j->msg.from_addr);
	else if (user_name(user, sizeof(user)) == 0)
		j->sender = qualify(j, user);
	else
		return err_set(e, ERR_CONFIG, "%s: no sender address: set "
		    "'from' in account '%s', or use -f", a->file, a->name);
	return 0;
}

/* "Full Name <addr>" for an added or forced From header. */
static int
make_from_header(struct job *j, struct err *e)
{
	const struct account *a = &j->account;
	const char *name = j->ctx->opts->fullname, *addr;
	char phrase[1024];
	int n;

	if (a->set_from_header == CONFIG_FROM_ON && a->from != NULL &&
	    !config_from_is_pattern(a->from))
		addr = a->from;
	else
		addr = *j->sender ? j->sender : NULL;
	if (addr == NULL)
		return 0;
	if (name == NULL || *name == '\0') {
		j->from_header = xstrdup(addr);
		return 0;
	}
	n = rfc2047_phrase(name, strlen(name), 6, phrase, sizeof(phrase));
	if (n < 0 || (size_t)n >= sizeof(phrase))
		return err_set(e, ERR_USAGE, "bad full name '-F': control "
		    "characters, invalid UTF-8, or too long");
	j->from_header = xmalloc(strlen(phrase) + strlen(addr) + 4);
	sprintf(j->from_header, "%s <%s>", phrase, addr);
	return 0;
}

static int
spool_open(struct job *j, struct err *e)
{
	char dir[PATH_MAX];
	int fd;

	if ((fd = tmp_fd("envoi", dir, sizeof(dir))) == -1)
		return err_set(e, ERR_CANTCREAT, "cannot create a spool file "
		    "in '%s': %s", dir, strerror(errno));
	if ((j->spool = fdopen(fd, "w+")) == NULL) {
		close(fd);
		return err_set(e, ERR_OS, "fdopen: %s", strerror(errno));
	}
	/* glibc ignores the size unless it is given the buffer too. */
	j->spoolbuf = xmalloc(SPOOL_BUFSIZE);
	setvbuf(j->spool, j->spoolbuf, _IOFBF, SPOOL_BUFSIZE);
	return 0;
}

/* Lines over 998 octets never go out as they are: quoted-printable. */
static int
reencode(struct job *j, struct err *e)
{
	FILE *old = j->spool;
	char *oldbuf = j->spoolbuf;
	int rc = -1;

	j->spool = NULL;
	j->spoolbuf = NULL;
	if (spool_open(j, e) == -1)
		goto out;
	log_info("a line of %zu octets: sending the body quoted-printable",
	    j->msg.longest);
	rc = message_reencode_qp(old, j->spool, &j->msg, e);
out:
	fclose(old);
	free(oldbuf);
	return rc;
}

static int
write_message(struct job *j, struct lineread *lr, struct err *e)
{
	const struct account *a = &j->account;
	struct message_opts mo;

	memset(&mo, 0, sizeof(mo));
	mo.ignore_dots = j->args->ignore_dots;
	mo.smtp_data = j->args->smtp_data;
	mo.read_rcpts = j->args->read_rcpts;
	mo.rewrite = rewrite;
	mo.rewrite_arg = j;
	if (a->set_from_header != CONFIG_FROM_OFF) {
		if (make_from_header(j, e) == -1)
			return -1;
		mo.from_header = j->from_header;
		mo.force_from = a->set_from_header == CONFIG_FROM_ON;
		mo.keep_from = (int)a->keep_original_from;
	}
	mo.add_date = (int)a->set_date_header;
	mo.msgid_domain = a->set_msgid_header ? j->domain : NULL;
	if (spool_open(j, e) == -1)
		return -1;
	if (message_write(lr, j->spool, &mo, &j->msg, e) == -1)
		return -1;
	if (j->rewrite_failed)
		return -1;
	if (j->args->smtp_data && !j->msg.ended)
		return err_set(e, ERR_DATA, "the message ended before its "
		    "final '.'");
	if (j->msg.longest > LINE_MAX_SMTP)
		return reencode(j, e);
	return 0;
}

static int
collect_rcpts(struct job *j, struct err *e)
{
	const struct send_args *args = j->args;
	struct strlist l;
	char why[128];
	size_t i;

	strlist_init(&l);
	for (i = 0; i < args->nrcpts; i++) {
		const char *arg = args->rcpts[i];

		if (addr_parse_list(arg, strlen(arg), &l, why,
		    sizeof(why)) == -1) {
			strlist_release(&l);
			return err_set(e, ERR_USAGE, "bad recipient '%s': %s",
			    arg, why);
		}
	}
	for (i = 0; i < l.n; i++)
		if (expand_rcpt(j, l.v[i], &j->rcpts, e) == -1) {
			strlist_release(&l);
			return -1;
		}
	strlist_release(&l);
	/* Header recipients were rewritten when the headers were. */
	for (i = 0; i < j->msg.rcpts.n; i++)
		strlist_add_unique(&j->rcpts, j->msg.rcpts.v[i]);
	if (j->rcpts.n == 0)
		return err_set(e, ERR_USAGE, "no recipients: give them as "
		    "arguments, or use -t to read To, Cc and Bcc");
	return 0;
}

static int
is_utf8_addr(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static void
helo_name(const struct account *a, char *buf, size_t size)
{
	if (a->domain != NULL) {
		snprintf(buf, size, "%s", a->domain);
		return;
	}
	if (gethostname(buf, size) == -1 || buf[0] == '\0')
		snprintf(buf, size, "localhost");
	buf[size - 1] = '\0';
}

static enum smtp_tls
smtp_tls_mode(enum config_tls t)
{
	switch (t) {
	case CONFIG_TLS_IMPLICIT:
		return SMTP_TLS_IMPLICIT;
	case CONFIG_TLS_OFF:
		return SMTP_TLS_OFF;
	default:
		return SMTP_TLS_STARTTLS;
	}
}

static void
fill_envelope(struct job *j, struct smtp_envelope *env)
{
	const struct opts *o = j->ctx->opts;
	size_t i;

	memset(env, 0, sizeof(*env));
	env->sender = j->sender;
	env->rcpts = j->rcpts.v;
	env->nrcpts = j->rcpts.n;
	env->body_fd = fileno(j->spool);
	env->size = j->msg.size;
	env->eightbit = o->body == CLI_BODY_8BITMIME ||
	    (o->body == CLI_BODY_AUTO && j->msg.eightbit);
	env->utf8 = is_utf8_addr(j->sender);
	for (i = 0; i < j->rcpts.n; i++)
		env->utf8 |= is_utf8_addr(j->rcpts.v[i]);
	env->partial = strcmp(j->account.rcpt_policy, "partial") == 0;
	env->dsn_notify = o->dsn_notify;
	env->dsn_ret = o->dsn_ret;
	env->dsn_envid = o->dsn_envid;
}

void
send_log(const struct send_ctx *ctx, const struct account *a,
    const char *tls, const char *from,
    char *const *rcpts, size_t nrcpts, long long size, const char *status,
    const char *outcome, const char *error)
{
	struct log_sink sink = { a->logfile, a->syslog,
	    strcmp(a->log_format, "json") == 0 };
	struct log_record r;

	if (sink.file == NULL && strcmp(sink.syslog, "off") == 0)
		return;
	memset(&r, 0, sizeof(r));
	r.account = a->name;
	/* The host that took it, or the last one tried. */
	r.host = ctx->session_host[0] != '\0' ? ctx->session_host : a->host;
	r.tls = tls;
	r.from = from;
	r.rcpts = rcpts;
	r.nrcpts = nrcpts;
	r.size = size;
	r.status = status;
	r.outcome = outcome;
	r.error = error;
	log_mail(&sink, &r);
}

static void
log_outcome(struct job *j, const char *tls, const struct smtp_result *res,
    const char *outcome, const char *error)
{
	send_log(j->ctx, &j->account, tls, j->sender, j->rcpts.v, j->rcpts.n,
	    (long long)j->msg.size, res ? res->status : NULL, outcome, error);
}

/*
 * A private file kept for the account in a subdirectory of its queue
 * that queue_subdir creates and checks like the queue itself (ours, not
 * a link, not writable by others): <sub>/<account>.<ext>, or
 * <sub>/<account>@<host>.<ext> for a fallback host.  Returns that
 * directory's descriptor, for openat and the private_*at functions,
 * with the file's name in name; or -1.
 */
static int
account_file(const struct account *a, const char *sub, const char *host,
    const char *ext, char *name, size_t size, struct err *e)
{
	struct queue q;
	char *dir;
	int n, fd = -1;

	if (host == NULL)
		n = snprintf(name, size, "%s.%s", a->name, ext);
	else
		n = snprintf(name, size, "%s@%s.%s", a->name, host, ext);
	if (n < 0 || (size_t)n >= size || strchr(name, '/') != NULL ||
	    name[0] == '.')
		return err_set(e, ERR_CONFIG, "account '%s': its name cannot "
		    "name a file in the queue's %s/", a->name, sub);
	dir = send_queue_dir(a);
	if (queue_open(&q, dir, e) == 0) {
		fd = queue_subdir(&q, sub, e);
		queue_close(&q);
	}
	free(dir);
	return fd;
}

/*
 * The account's TLS session cache: NAME.session in the queue's tls/
 * directory, NAME@HOST.session for its fallback hosts.  A warning when
 * warn is set and the directory is refused.
 */
static int
session_cache_dir(const struct account *a, size_t host, char *name,
    size_t size, int warn)
{
	struct err e;
	int fd;

	err_init(&e);
	fd = account_file(a, "tls", host == 0 ? NULL : a->hosts[host].name,
	    "session", name, size, &e);
	if (fd == -1 && warn)
		log_warn("TLS session cache not saved: %s", e.msg);
	return fd;
}

/*
 * One secret of the oauth2 block: the value itself, the first line a
 * command prints, or the first line of a private file.
 */
static int
oauth2_secret(const char *key, const char *val, const char *eval,
    const char *file, char **out, struct err *e)
{
	size_t len;
	char *data;

	*out = NULL;
	if (val != NULL) {
		*out = xstrdup(val);
		return 0;
	}
	if (eval != NULL)
		return cred_eval(key, eval, out, e);
	if (file == NULL)
		return 0;
	if (private_read(file, 65536, &data, &len) == -1)
		return err_set(e, ERR_CONFIG, "refresh_token_file %s: %s (it "
		    "must be a regular file of yours, mode 600)", file,
		    strerror(errno));
	data[strcspn(data, "\r\n")] = '\0';
	*out = xstrdup(data);
	wipe(data, len);
	free(data);
	if (**out == '\0')
		return err_set(e, ERR_CONFIG, "refresh_token_file %s is empty",
		    file);
	return 0;
}

/*
 * The account's OAuth2 access token into ctx->oauth2_token: the cached
 * one unless force, else a new one from the token endpoint.
 */
static int
oauth2_token(struct send_ctx *ctx, const struct account *a, int force,
    int *cached, struct err *e)
{
	const struct account_oauth2 *o = &a->oauth2;
	struct oauth2_params op;
	char name[PATH_MAX], *rt = NULL, *cs = NULL;
	int dfd, rc = -1;

	wipe_free(ctx->oauth2_token);
	ctx->oauth2_token = NULL;
	*cached = 0;
	if ((dfd = account_file(a, "oauth2", NULL, "token", name,
	    sizeof(name), e)) == -1)
		return -1;
	if (!force && oauth2_cached(dfd, name, &ctx->oauth2_token)) {
		log_info("OAuth2: access token from the cache");
		*cached = 1;
		close(dfd);
		return 0;
	}
	oauth2_forget(dfd, name);
	if (oauth2_secret("refresh_tokeneval", o->refresh_token,
	    o->refresh_tokeneval, o->refresh_token_file, &rt, e) == -1 ||
	    oauth2_secret("client_secreteval", o->client_secret,
	    o->client_secreteval, NULL, &cs, e) == -1)
		goto out;
	memset(&op, 0, sizeof(op));
	op.cache_dfd = dfd;
	op.cache_name = name;
	op.token_url = o->token_url;
	op.client_id = o->client_id;
	op.client_secret = cs;
	op.refresh_token = rt;
	op.refresh_token_file = o->refresh_token_file;
	op.scope = o->scope;
	op.trust_file = a->tls_trust_file;
	op.timeout_ms = (int)a->timeout * 1000;
	log_info("OAuth2: asking %s for a new access token", o->token_url);
	rc = oauth2_refresh(&op, &ctx->oauth2_token, e);
out:
	close(dfd);
	wipe_free(rt);
	wipe_free(cs);
	return rc;
}

static void
session_cache_load(struct send_ctx *ctx, const struct account *a,
    size_t host)
{
	char name[PATH_MAX], *data;
	size_t len;
	int dfd;

	free(ctx->tls_cache);
	ctx->tls_cache = NULL;
	ctx->tls_cache_len = 0;
	if (!a->tls_session_cache || a->tls == CONFIG_TLS_OFF ||
	    (dfd = session_cache_dir(a, host, name, sizeof(name), 0)) == -1)
		return;
	/* Only our own, private file: it holds session secrets. */
	if (private_readat(dfd, name, 65536, &data, &len) == 0) {
		ctx->tls_cache = data;
		ctx->tls_cache_len = len;
	}
	close(dfd);
}

static void
session_cache_forget(const struct account *a, size_t host)
{
	char name[PATH_MAX];
	int dfd;

	if ((dfd = session_cache_dir(a, host, name, sizeof(name), 0)) != -1) {
		(void)unlinkat(dfd, name, 0);
		close(dfd);
	}
}

static void
session_cache_save(struct send_ctx *ctx)
{
	char name[PATH_MAX];
	struct account a;
	struct err e;
	void *data;
	size_t len;
	int dfd;

	err_init(&e);
	if (ctx->session == NULL || !ctx->config_loaded || ctx->diag ||
	    config_account(&ctx->config, ctx->session_account, NULL, &a,
	    &e) == -1 || !a.tls_session_cache ||
	    ctx->session_host_index >= a.nhosts ||
	    smtp_tls_session(ctx->session, &data, &len) == -1)
		return;
	if ((dfd = session_cache_dir(&a, ctx->session_host_index, name,
	    sizeof(name), 1)) != -1) {
		if (private_writeat(dfd, name, data, len) == -1)
			log_warn("TLS session cache not saved: %s",
			    strerror(errno));
		close(dfd);
	}
	wipe(data, len);
	free(data);
}

void
send_session_close(struct send_ctx *ctx)
{
	if (ctx->session != NULL) {
		session_cache_save(ctx);
		smtp_close(ctx->session);
	}
	ctx->session = NULL;
	ctx->session_account[0] = '\0';
}

#define PROGRESS_MIN	(1024 * 1024)	/* smaller messages: no bar */

static void
show_progress(void *arg, off_t done, off_t total)
{
	(void)arg;
	if (total < PROGRESS_MIN)
		return;
	fprintf(stderr, "\renvoi: sending %3d%% (%.1f of %.1f MB)",
	    (int)(done * 100 / total), (double)done / 1048576.0,
	    (double)total / 1048576.0);
	if (done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}

static int session_open_host(struct send_ctx *, const struct account *,
    size_t, struct err *);

struct smtp_session *
send_session(struct send_ctx *ctx, const struct account *a, struct err *e)
{
	struct smtp_params *p = &ctx->params;
	size_t i;
	int cached = 0;

	if (ctx->session != NULL && (!smtp_usable(ctx->session) ||
	    strcmp(ctx->session_account, a->name) != 0))
		send_session_close(ctx);
	if (ctx->session != NULL)
		return ctx->session;
	memset(p, 0, sizeof(*p));
	if (a->oauth2.set && strcmp(a->auth, "off") != 0 && !ctx->diag) {
		if (oauth2_token(ctx, a, 0, &cached, e) == -1)
			return NULL;
		p->password = ctx->oauth2_token;
		p->oauth2 = 1;
	} else if (resolve_password(ctx, a, &p->password, e) == -1)
		return NULL;
	helo_name(a, ctx->helo, sizeof(ctx->helo));
	p->tls = smtp_tls_mode(a->tls);
	p->tls_opts.trust_file = a->tls_trust_file;
	p->tls_opts.crl_file = a->tls_crl_file;
	p->tls_opts.cert_file = a->tls_cert_file;
	p->tls_opts.key_file = a->tls_key_file;
	p->tls_opts.priorities = a->tls_priorities;
	p->tls_opts.min_version = (int)a->tls_min_version;
	p->tls_opts.fingerprint = a->tls_fingerprint[0] ? a->tls_fingerprint :
	    NULL;
	p->tls_opts.certcheck = (int)a->tls_certcheck;
	p->tls_name = a->tls_host_override;
	if (!a->tls_certcheck && a->tls_fingerprint[0] == '\0' &&
	    a->tls != CONFIG_TLS_OFF)
		log_warn("account '%s': tls_certcheck is off: the server's "
		    "certificate is NOT checked, and anyone on the path can "
		    "read and change this mail and the password", a->name);
	p->no_auth = ctx->diag;
	/* A person watching a large upload sees it move; cron sees nothing. */
	if (isatty(STDERR_FILENO) && !ctx->opts->quiet) {
		p->progress = show_progress;
		p->progress_arg = NULL;
	}
	p->tls_opts.report_only = ctx->diag;
	p->helo = ctx->helo;
	p->timeout_ms = (int)a->timeout * 1000;
	p->auth = a->auth;
	p->user = a->user;
	for (i = 0; i < a->nhosts; i++) {
		if (i > 0) {
			log_info("%s: %s; trying the next host, %s",
			    a->hosts[i - 1].name, e->msg, a->hosts[i].name);
			err_init(e);
		}
		if (session_open_host(ctx, a, i, e) == 0)
			break;
		/*
		 * Only what another host may not share: a temporary failure
		 * (a refusal, a certificate or a login would be the same).
		 */
		if (err_class(e->kind) != ERR_CLASS_TEMP &&
		    e->kind != ERR_NOHOST)
			break;
	}
	if (ctx->session == NULL && cached && e->kind == ERR_AUTH) {
		/* Revoked or expired early: one new token, one more try. */
		log_info("the cached OAuth2 token was refused: %s", e->msg);
		err_init(e);
		if (oauth2_token(ctx, a, 1, &cached, e) == -1)
			return NULL;
		p->password = ctx->oauth2_token;
		(void)session_open_host(ctx, a, ctx->session_host_index, e);
	}
	if (ctx->session != NULL && a->nhosts > 1)
		log_info("connected to %s (host %zu of %zu)",
		    ctx->session_host, i + 1, a->nhosts);
	if (ctx->session != NULL)
		snprintf(ctx->session_account, sizeof(ctx->session_account),
		    "%s", a->name);
	return ctx->session;
}

/* Open a session with the account's host number i. */
static int
session_open_host(struct send_ctx *ctx, const struct account *a, size_t i,
    struct err *e)
{
	struct smtp_params *p = &ctx->params;

	snprintf(ctx->session_host, sizeof(ctx->session_host), "%s",
	    a->hosts[i].name);
	p->host = a->hosts[i].name;
	p->port = (int)a->hosts[i].port;
	/* --serverinfo wants the whole handshake, certificates and all. */
	if (!ctx->diag)
		session_cache_load(ctx, a, i);
	p->tls_opts.session = ctx->tls_cache;
	p->tls_opts.session_len = ctx->tls_cache_len;
	ctx->session_host_index = i;
	ctx->session = smtp_open(p, e);
	if (ctx->session == NULL && ctx->tls_cache_len > 0 &&
	    e->kind == ERR_TLS) {
		/*
		 * A saved session the server no longer takes must not block
		 * every later run: forget it and try once without.
		 */
		log_info("retrying without the saved TLS session: %s",
		    e->msg);
		session_cache_forget(a, i);
		wipe(ctx->tls_cache, ctx->tls_cache_len);
		free(ctx->tls_cache);
		ctx->tls_cache = NULL;
		ctx->tls_cache_len = 0;
		p->tls_opts.session = NULL;
		p->tls_opts.session_len = 0;
		err_init(e);
		ctx->session = smtp_open(p, e);
	}
	if (ctx->session == NULL)
		return -1;
	if (smtp_tls_resumed(ctx->session))
		log_info("TLS session resumed from the cache");
	return 0;
}

char *
send_queue_dir(const struct account *a)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	const char *env = getenv("ENVOI_QUEUE_DIR");
	char path[PATH_MAX];

	if (a->queue_dir != NULL)
		return xstrdup(a->queue_dir);
	if (env != NULL && *env == '/')
		return xstrdup(env);
	if (geteuid() == 0)
		return xstrdup(LOCALSTATEDIR "/spool/envoi");
	if (state != NULL && *state == '/')
		snprintf(path, sizeof(path), "%s/envoi/queue", state);
	else if (home != NULL && *home == '/')
		snprintf(path, sizeof(path), "%s/.local/state/envoi/queue",
		    home);
	else
		return xstrdup(LOCALSTATEDIR "/spool/envoi");
	return xstrdup(path);
}

/* The queue's copy of this message's envelope. */
static void
queue_envelope_of(struct job *j, struct queue_envelope *qe)
{
	const struct opts *o = j->ctx->opts;
	size_t i;

	queue_envelope_init(qe);
	queue_envelope_set(&qe->sender, j->sender);
	for (i = 0; i < j->rcpts.n; i++)
		queue_envelope_add_rcpt(qe, j->rcpts.v[i], o->dsn_notify);
	queue_envelope_set(&qe->account, j->account.name);
	qe->created = time(NULL);
	if (o->dsn_ret != NULL)
		queue_envelope_set(&qe->dsn_ret, o->dsn_ret);
	if (o->dsn_envid != NULL)
		queue_envelope_set(&qe->dsn_envid, o->dsn_envid);
	if (o->body == CLI_BODY_8BITMIME ||
	    (o->body == CLI_BODY_AUTO && j->msg.eightbit))
		queue_envelope_set(&qe->body, "8BITMIME");
}

/*
 * Copy the spool into a new queue entry and commit it; the entry stays
 * locked.  From here on the message is safe.
 */
static int
enqueue(struct job *j, struct queue *q, struct queue_entry *ent,
    struct queue_envelope *qe, struct err *e)
{
	char *dir = send_queue_dir(&j->account), buf[65536];
	FILE *f;
	size_t n;
	int rc = -1;

	queue_entry_init(ent);
	if (queue_open(q, dir, e) == -1)
		goto out;
	if (queue_create(q, ent, &f, e) == -1)
		goto out;
	rewind(j->spool);
	while ((n = fread(buf, 1, sizeof(buf), j->spool)) > 0)
		if (fwrite(buf, 1, n, f) != n)
			break;
	if (ferror(j->spool)) {
		queue_abort(q, ent);
		err_set(e, ERR_IO, "cannot read the spooled message: %s",
		    strerror(errno));
		goto out;
	}
	if (queue_commit(q, ent, qe, e) == -1)
		goto out;
	rc = 0;
out:
	free(dir);
	return rc;
}

/* One attempt over the account's session. */
enum attempt_result {
	ATTEMPT_FAILED = -1,
	ATTEMPT_SENT = 0,
	ATTEMPT_PARTIAL = 1,	/* sent to some; res says who was not */
};

static enum attempt_result
attempt(struct job *j, struct smtp_result *res, struct err *e)
{
	struct smtp_envelope env;
	struct smtp_session *s;
	char tls[96] = "none";
	int rc;

	memset(res, 0, sizeof(*res));
	err_init(&res->refused);
	strlist_init(&res->deferred);
	strlist_init(&res->rejected);
	fill_envelope(j, &env);
	if ((s = send_session(j->ctx, &j->account, e)) == NULL) {
		log_outcome(j, tls, NULL, "failed", e->msg);
		return ATTEMPT_FAILED;
	}
	smtp_tls_info(s, tls, sizeof(tls));
	rc = smtp_send(s, &env, res, e);
	if (rc == 0 && res->refused.kind != ERR_NONE) {
		log_outcome(j, tls, res, "partial", res->refused.msg);
		*e = res->refused;
		return ATTEMPT_PARTIAL;
	}
	log_outcome(j, tls, res, rc == 0 ? "sent" : "failed",
	    rc == 0 ? NULL : e->msg);
	return rc == 0 ? ATTEMPT_SENT : ATTEMPT_FAILED;
}

static void
report_queued(struct job *j, const char *id, const char *why)
{
	if (j->ctx->opts->quiet)
		return;
	if (why != NULL)
		log_error("queued as %s, will retry: %s", id, why);
	else
		log_error("queued as %s", id);
}

/*
 * The message went to some recipients; the deferred ones wait in the
 * queue (unless the policy is "never"), the rejected ones are reported.
 */
static int
deliver_partial(struct job *j, struct queue *q, struct queue_entry *ent,
    struct queue_envelope *qe, int queued, struct smtp_result *res,
    struct err *e)
{
	const struct account *a = &j->account;
	struct err why = *e, qerr, temp;

	err_init(&qerr);
	if (res->deferred.n == 0 || strcmp(a->queue, "never") == 0) {
		if (queued && queue_remove(q, ent, &qerr) == -1)
			log_warn("%s", qerr.msg);
		return -1;	/* e: the refusals (or deferrals) */
	}
	queue_envelope_keep(qe, &res->deferred);
	if (!queued && enqueue(j, q, ent, qe, &qerr) == -1) {
		err_set(e, qerr.kind, "%s; and the message could not be "
		    "queued for the deferred recipients: %s", why.msg,
		    qerr.msg);
		return -1;
	}
	if (queued && queue_update_envelope(q, ent, qe, &qerr) == -1)
		log_warn("%s", qerr.msg);
	err_set(&temp, ERR_TEMP, "deferred by the server");
	if (runq_settle(j->ctx, q, ent, qe, a, &temp, 0, &qerr) == -1)
		log_warn("%s", qerr.msg);
	j->ctx->last_queued = 1;
	snprintf(j->ctx->last_id, sizeof(j->ctx->last_id), "%s", ent->id);
	report_queued(j, ent->id, why.msg);
	if (res->rejected.n > 0)
		return -1;	/* still tell about the rejected ones */
	return 0;
}

/*
 * Deliver the spooled message as the account's queue policy says:
 * "never" tries once; "on-failure" tries, and queues what failed for
 * now (exit 0: the message is safe), holds what needs a human, and
 * keeps what failed for good in failed/; "always" (and -odq) commits
 * it to the queue first.
 */
static int
deliver(struct job *j, char *status, size_t statussize, struct err *e)
{
	const struct account *a = &j->account;
	int queue_only = j->ctx->opts->delivery == CLI_DELIVER_QUEUE;
	int first = queue_only || strcmp(a->queue, "always") == 0;
	struct queue q;
	struct queue_entry ent;
	struct queue_envelope qe;
	struct smtp_result res;
	struct err qerr;
	char why[ERR_MSGMAX];
	int queued = 0, rc = -1;
	enum attempt_result ar;

	memset(&q, 0, sizeof(q));
	memset(&res, 0, sizeof(res));
	strlist_init(&res.deferred);
	strlist_init(&res.rejected);
	queue_entry_init(&ent);
	queue_envelope_of(j, &qe);
	j->ctx->last_queued = 0;
	j->ctx->last_id[0] = '\0';
	if (status != NULL)
		status[0] = '\0';
	if (first) {
		if (enqueue(j, &q, &ent, &qe, e) == -1)
			goto out;
		queued = 1;
		if (queue_only) {
			queue_unlock(&ent);
			report_queued(j, ent.id, NULL);
			j->ctx->last_queued = 1;
			snprintf(j->ctx->last_id, sizeof(j->ctx->last_id), "%s",
			    ent.id);
			rc = 0;
			goto out;
		}
	}
	ar = attempt(j, &res, e);
	if (status != NULL)
		snprintf(status, statussize, "%s", res.status);
	if (ar == ATTEMPT_SENT) {
		err_init(&qerr);
		if (queued && queue_remove(&q, &ent, &qerr) == -1)
			log_warn("%s", qerr.msg);
		if (!j->ctx->in_runq)
			runq_catch_up(j->ctx, a);
		rc = 0;
		goto out;
	}
	if (ar == ATTEMPT_PARTIAL) {
		rc = deliver_partial(j, &q, &ent, &qe, queued, &res, e);
		goto out;
	}
	if (strcmp(a->queue, "never") == 0 && !queued)
		goto out;
	err_init(&qerr);
	snprintf(why, sizeof(why), "%s", e->msg);
	if (!queued && enqueue(j, &q, &ent, &qe, &qerr) == -1) {
		err_set(e, qerr.kind, "%s; and the message could not be "
		    "queued either: %s", why, qerr.msg);
		goto out;
	}
	if (runq_settle(j->ctx, &q, &ent, &qe, a, e, 0, &qerr) == -1)
		log_warn("%s", qerr.msg);
	snprintf(j->ctx->last_id, sizeof(j->ctx->last_id), "%s", ent.id);
	if (err_class(e->kind) == ERR_CLASS_TEMP) {
		report_queued(j, ent.id, why);
		j->ctx->last_queued = 1;
		rc = 0;
	} else {
		if (err_class(e->kind) == ERR_CLASS_HOLD)
			j->ctx->last_queued = 2;	/* held */
		err_set(e, e->kind, "%s (the message is kept in %s as %s)",
		    why, err_class(e->kind) == ERR_CLASS_HOLD ?
		    "the queue, held," : "the queue's failed/ area", ent.id);
	}
out:
	smtp_result_release(&res);
	queue_unlock(&ent);
	queue_envelope_release(&qe);
	if (q.dir != NULL)
		queue_close(&q);
	if (!j->ctx->keep_open)
		send_session_close(j->ctx);
	return rc;
}

/*
 * --dry-run: the message as it would go, without the SMTP stuffing:
 * the spool copied a block at a time, less the first of the two dots
 * that start a stuffed line (in spool form no other '.' starts a line).
 */
static int
dry_run(struct job *j, struct err *e)
{
	static char buf[256 * 1024];
	size_t i, n, start;
	char *dot;
	char prev = '\n';	/* the byte before the block */

	if (j->ctx->opts->verbose) {
		fprintf(stderr, "envoi: account %s, MAIL FROM:<%s>\n",
		    j->account.name, j->sender);
		for (i = 0; i < j->rcpts.n; i++)
			fprintf(stderr, "envoi: RCPT TO:<%s>\n", j->rcpts.v[i]);
	}
	rewind(j->spool);
	while ((n = fread(buf, 1, sizeof(buf), j->spool)) > 0) {
		start = 0;
		for (i = 0; (dot = memchr(buf + i, '.', n - i)) != NULL;
		    i = (size_t)(dot - buf) + 1) {
			if ((dot > buf ? dot[-1] : prev) != '\n')
				continue;
			fwrite(buf + start, 1, (size_t)(dot - buf) - start,
			    stdout);
			start = (size_t)(dot - buf) + 1;
		}
		fwrite(buf + start, 1, n - start, stdout);
		prev = buf[n - 1];
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		return err_set(e, ERR_IO, "cannot write to stdout: %s",
		    strerror(errno));
	return 0;
}

int
send_message(struct send_ctx *ctx, struct lineread *lr,
    const struct send_args *args, char *status, size_t statussize,
    struct err *e)
{
	struct message_opts mo;
	const char *senders[3];
	struct job j;
	int rc = -1;

	memset(&j, 0, sizeof(j));
	j.ctx = ctx;
	j.args = args;
	j.e = e;
	message_init(&j.msg);
	strlist_init(&j.rcpts);

	memset(&mo, 0, sizeof(mo));
	mo.ignore_dots = args->ignore_dots;
	mo.smtp_data = args->smtp_data;
	if (message_read_headers(lr, &mo, &j.msg, e) == -1)
		goto out;
	senders[0] = args->sender;
	senders[1] = args->sender ? j.msg.from_addr : NULL;
	if (args->sender == NULL) {
		senders[0] = j.msg.from_addr;
		senders[1] = NULL;
	}
	senders[2] = NULL;
	if (config_account(&ctx->config, ctx->opts->account, senders,
	    &j.account, e) == -1)
		goto out;
	choose_domain(&j);
	if (load_aliases(&j, e) == -1 || choose_sender(&j, e) == -1)
		goto out;
	if (write_message(&j, lr, e) == -1)
		goto out;
	if (args->input_done != NULL && args->input_done(args->input_arg,
	    e) == -1)
		goto out;
	if (collect_rcpts(&j, e) == -1)
		goto out;
	if (ctx->opts->dry_run)
		rc = dry_run(&j, e);
	else
		rc = deliver(&j, status, statussize, e);
out:
	ctx->last_ended = j.msg.ended;
	if (j.spool != NULL)
		fclose(j.spool);
	free(j.spoolbuf);
	message_release(&j.msg);
	strlist_release(&j.rcpts);
	free(j.sender);
	free(j.from_header);
	return rc;
}
