/*
 * runq.c - the queue's worker.
 *
 * A flush walks every queue directory the configuration names, in ID
 * (arrival) order.  Each entry is locked without blocking (another
 * flusher has it: skip), checked (held, not yet due: skip), and handed
 * to the account's SMTP session, which is opened once and reused for
 * every entry of that account (RSET between failures, PIPELINING where
 * offered).  When an account's smarthost cannot be reached, its other
 * entries are deferred with the same error instead of trying again and
 * again in one run.
 *
 * Retry decisions come from the error class (err_class), never from
 * the text.  Backoff doubles from RUNQ_BACKOFF_MIN to RUNQ_BACKOFF_MAX
 * with +-25% jitter, so that many entries that failed together do not
 * all come back at the same second.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "runq.h"
#include "smtp.h"
#include "util.h"

/* Accounts whose smarthost failed in this run, with why. */
struct runq_down {
	struct strlist	 names;
	struct err	*errs;
};

long
runq_backoff(unsigned long attempts)
{
	long b = RUNQ_BACKOFF_MIN;
	unsigned int r = 0;

	while (attempts-- > 1 && b < RUNQ_BACKOFF_MAX)
		b *= 2;
	if (b > RUNQ_BACKOFF_MAX)
		b = RUNQ_BACKOFF_MAX;
	if (getentropy(&r, sizeof(r)) == -1)
		r = (unsigned int)getpid();
	/* 75% to 125% of b. */
	return b * 3 / 4 + (long)(r % (unsigned int)(b / 2 + 1));
}

/* The enhanced status code in a reply, for the DSN; "5.0.0" without. */
static void
status_code(const char *reason, char *out, size_t size)
{
	const char *p;

	snprintf(out, size, "5.0.0");
	for (p = reason; *p; p++)
		if (p[0] == '5' && p[1] == '.' && p[2] >= '0' && p[2] <= '9') {
			size_t n = strspn(p, "0123456789.");

			if (n >= 5 && n < size) {
				memcpy(out, p, n);
				out[n] = '\0';
			}
			return;
		}
}

/* Copy the header block of the queued message (spool form) to out. */
static void
copy_headers(int fd, FILE *out)
{
	FILE *in = fdopen(fd, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (in == NULL) {
		close(fd);
		return;
	}
	while ((n = getline(&line, &cap, in)) > 0) {
		if (n == 2 && line[0] == '\r')
			break;
		fwrite(line, 1, (size_t)n, out);
	}
	free(line);
	fclose(in);
}

/* Write the RFC 3464 report for a failed entry, in spool form. */
static void
bounce_write(FILE *f, struct queue *q, const struct queue_entry *ent,
    const struct queue_envelope *qe, const char *host, const char *reason)
{
	char date[64], boundary[64], code[16], clean[1100];
	time_t now = time(NULL);
	struct tm tm;
	off_t size;
	size_t i;
	struct err e;
	int fd;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	snprintf(boundary, sizeof(boundary), "envoi-report-%s", ent->id);
	status_code(reason, code, sizeof(code));
	log_sanitize(clean, sizeof(clean), reason, strlen(reason));
	fprintf(f, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	    "To: <%s>\r\nSubject: Undelivered mail returned to sender\r\n"
	    "Date: %s\r\nMessage-ID: <%s.bounce@%s>\r\n"
	    "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s\"\r\n\r\n", host, qe->sender, date, ent->id,
	    host, boundary);
	fprintf(f, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
	    "\r\nThis is envoi on %s.  Your message could not be delivered "
	    "to:\r\n\r\n", boundary, host);
	for (i = 0; i < qe->nrcpts; i++)
		fprintf(f, "  <%s>\r\n", qe->rcpts[i].addr);
	fprintf(f, "\r\nThe reason:\r\n\r\n  %s\r\n\r\n", clean);
	fprintf(f, "--%s\r\nContent-Type: message/delivery-status\r\n\r\n"
	    "Reporting-MTA: dns; %s\r\n\r\n", boundary, host);
	for (i = 0; i < qe->nrcpts; i++)
		fprintf(f, "Final-Recipient: rfc822; %s\r\nAction: failed\r\n"
		    "Status: %s\r\nDiagnostic-Code: smtp; %s\r\n\r\n",
		    qe->rcpts[i].addr, code, clean);
	fprintf(f, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n",
	    boundary);
	err_init(&e);
	if ((fd = queue_open_message(q, ent, &size, &e)) != -1)
		copy_headers(fd, f);
	fprintf(f, "\r\n--%s--\r\n", boundary);
}

/* Tell the sender that an entry failed for good. */
static void
bounce(struct send_ctx *ctx, struct queue *q, const struct queue_entry *ent,
    const struct queue_envelope *qe, const struct account *a,
    const char *reason)
{
	struct smtp_envelope env;
	struct smtp_result res;
	struct smtp_session *s;
	char host[256], *rcpt;
	struct err e;
	FILE *f;

	if (!a->queue_notify || qe->sender == NULL || *qe->sender == '\0')
		return;		/* never answer a bounce with a bounce */
	if ((f = tmpfile()) == NULL) {
		log_warn("cannot write a failure notice: %s", strerror(errno));
		return;
	}
	send_domain(a, host, sizeof(host));
	bounce_write(f, q, ent, qe, host, reason);
	fflush(f);
	memset(&env, 0, sizeof(env));
	env.sender = "";
	rcpt = qe->sender;
	env.rcpts = &rcpt;
	env.nrcpts = 1;
	env.body_fd = fileno(f);
	env.size = ftello(f);
	err_init(&e);
	if ((s = send_session(ctx, a, &e)) == NULL ||
	    smtp_send(s, &env, &res, &e) == -1)
		log_warn("cannot send the failure notice to <%s>: %s",
		    qe->sender, e.msg);
	fclose(f);
}

int
runq_settle(struct send_ctx *ctx, struct queue *q, struct queue_entry *ent,
    struct queue_envelope *qe, const struct account *a,
    const struct err *result, int notify, struct err *e)
{
	time_t now = time(NULL);
	char reason[ERR_MSGMAX + 128];
	int rc;

	if (result == NULL || result->kind == ERR_NONE)
		return queue_remove(q, ent, e);
	snprintf(reason, sizeof(reason), "%s", result->msg);
	queue_envelope_set(&qe->last_error, reason);
	qe->attempts++;
	switch (err_class(result->kind)) {
	case ERR_CLASS_TEMP:
		/* Age ends retries, never the first attempt. */
		if (qe->attempts > 1 && qe->created > 0 &&
		    now - qe->created >= a->queue_max_age) {
			snprintf(reason, sizeof(reason), "5.4.7 gave up after "
			    "%s in the queue; last error: %s",
			    a->queue_max_age_name, result->msg);
			break;
		}
		qe->next_try = now + runq_backoff(qe->attempts);
		rc = queue_update_envelope(q, ent, qe, e);
		queue_unlock(ent);
		return rc;
	case ERR_CLASS_HOLD:
		rc = queue_hold(q, ent, qe, e);
		queue_unlock(ent);
		return rc;
	default:
		break;
	}
	if (queue_fail(q, ent, qe, reason, e) == -1)
		return -1;
	log_warn("message %s failed for good: %s", ent->id, reason);
	if (notify)
		bounce(ctx, q, ent, qe, a, reason);
	return 0;
}

static int
down_find(const struct runq_down *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->names.n; i++)
		if (strcmp(d->names.v[i], name) == 0)
			return (int)i;
	return -1;
}

static void
down_add(struct runq_down *d, const char *name, const struct err *e)
{
	strlist_add(&d->names, name);
	d->errs = xrealloc(d->errs, d->names.n * sizeof(*d->errs));
	d->errs[d->names.n - 1] = *e;
}

static int
is_utf8(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/*
 * rcpt_policy "partial" during a queue run: the message went to some
 * recipients.  The rejected ones get a notice; the deferred ones stay
 * in the entry for the next try (e becomes that deferral), else the
 * entry is done (e stays clear).
 */
static void
runq_partial(struct send_ctx *ctx, struct queue *q, struct queue_entry *ent,
    struct queue_envelope *qe, const struct account *a,
    const struct smtp_result *res, struct err *e)
{
	struct queue_envelope rej;
	size_t i;

	if (res->rejected.n > 0) {
		queue_envelope_init(&rej);
		queue_envelope_set(&rej.sender, qe->sender);
		for (i = 0; i < res->rejected.n; i++)
			queue_envelope_add_rcpt(&rej, res->rejected.v[i], NULL);
		bounce(ctx, q, ent, &rej, a, res->refused.msg);
		queue_envelope_release(&rej);
	}
	if (res->deferred.n > 0) {
		queue_envelope_keep(qe, &res->deferred);
		err_set(e, ERR_TEMP, "%s", res->refused.kind == ERR_TEMP ?
		    res->refused.msg : "some recipients were deferred");
	}
}

/* Send a locked, loaded entry; settle the outcome. */
static void
runq_send(struct send_ctx *ctx, struct queue *q, struct queue_entry *ent,
    struct queue_envelope *qe, const struct account *a,
    struct runq_down *down, struct runq_stats *st)
{
	struct smtp_envelope env;
	struct smtp_result res;
	struct smtp_session *s;
	struct err e, se;
	char **rcpts;
	size_t i;
	off_t size;
	int fd = -1, k;

	err_init(&e);
	err_init(&se);
	memset(&res, 0, sizeof(res));
	rcpts = xcalloc(qe->nrcpts, sizeof(*rcpts));
	memset(&env, 0, sizeof(env));
	for (i = 0; i < qe->nrcpts; i++) {
		rcpts[i] = qe->rcpts[i].addr;
		env.utf8 |= is_utf8(rcpts[i]);
	}
	env.sender = qe->sender;
	env.rcpts = rcpts;
	env.nrcpts = qe->nrcpts;
	env.eightbit = qe->body != NULL;
	env.utf8 |= is_utf8(qe->sender);
	env.partial = strcmp(a->rcpt_policy, "partial") == 0;
	env.dsn_notify = qe->nrcpts ? qe->rcpts[0].notify : NULL;
	env.dsn_ret = qe->dsn_ret;
	env.dsn_envid = qe->dsn_envid;
	if ((k = down_find(down, a->name)) != -1)
		e = down->errs[k];
	else if ((fd = queue_open_message(q, ent, &size, &e)) != -1) {
		env.body_fd = fd;
		env.size = size;
		if ((s = send_session(ctx, a, &e)) == NULL) {
			if (err_class(e.kind) != ERR_CLASS_PERM)
				down_add(down, a->name, &e);
		} else if (smtp_send(s, &env, &res, &e) == 0) {
			err_init(&e);
			if (res.refused.kind != ERR_NONE)
				runq_partial(ctx, q, ent, qe, a, &res, &e);
		}
		smtp_result_release(&res);
	}
	{
		char tls[96] = "none";
		static const char *outcome[ERR_CLASS_LAST] = {
			"sent", "deferred", "held", "failed"
		};

		if (ctx->session != NULL)
			smtp_tls_info(ctx->session, tls, sizeof(tls));
		send_log(ctx, a, tls, qe->sender, rcpts, qe->nrcpts,
		    (long long)env.size, res.status[0] ? res.status : NULL,
		    outcome[e.kind == ERR_NONE ? ERR_CLASS_OK :
		    err_class(e.kind)], e.kind == ERR_NONE ? NULL : e.msg);
	}
	switch (e.kind == ERR_NONE ? ERR_CLASS_OK : err_class(e.kind)) {
	case ERR_CLASS_OK:
		st->sent++;
		log_info("%s: delivered", ent->id);
		break;
	case ERR_CLASS_TEMP:
		st->deferred++;
		log_info("%s: deferred: %s", ent->id, e.msg);
		break;
	case ERR_CLASS_HOLD:
		st->held++;
		log_info("%s: held: %s", ent->id, e.msg);
		break;
	default:
		st->failed++;
		break;
	}
	if (runq_settle(ctx, q, ent, qe, a, &e, 1, &se) == -1)
		log_warn("%s", se.msg);
	if (fd != -1)
		close(fd);
	free(rcpts);
}

/* Lock, load and send one entry, when it is due. */
static void
runq_one(struct send_ctx *ctx, struct queue *q, const char *id, int force,
    const char *only, struct runq_down *down, struct runq_stats *st)
{
	struct queue_envelope qe;
	struct queue_entry ent;
	struct account a;
	struct err e;
	int rc;

	err_init(&e);
	queue_entry_init(&ent);
	queue_envelope_init(&qe);
	if (queue_entry_set(&ent, QUEUE_MAIN, id, &e) == -1)
		goto out;
	if ((rc = queue_lock(q, &ent, &e)) != 0) {
		if (rc == 1)
			st->busy++;
		goto out;
	}
	if (queue_load_envelope(q, &ent, &qe, &e) == -1)
		goto out;
	if (qe.held || (!force && qe.next_try > time(NULL)) ||
	    (only != NULL && (qe.account == NULL ||
	    strcmp(qe.account, only) != 0)))
		goto out;
	if (config_account(&ctx->config, qe.account, NULL, &a, &e) == -1) {
		struct err se;

		/* The account left the configuration: a human must act. */
		st->held++;
		queue_envelope_set(&qe.last_error, e.msg);
		err_init(&se);
		if (queue_hold(q, &ent, &qe, &se) == -1)
			log_warn("%s", se.msg);
		goto out;
	}
	runq_send(ctx, q, &ent, &qe, &a, down, st);
	err_init(&e);
out:
	if (e.kind != ERR_NONE)
		log_warn("%s: %s", id, e.msg);
	queue_unlock(&ent);
	queue_envelope_release(&qe);
}

/* Every queue directory the configuration's accounts use. */
static void
queue_dirs(struct send_ctx *ctx, struct strlist *dirs)
{
	struct strlist names;
	struct account a;
	struct err e;
	size_t i;
	char *d;

	strlist_init(&names);
	config_account_names(&ctx->config, &names);
	if (names.n == 0)
		strlist_add(&names, "");
	for (i = 0; i < names.n; i++) {
		err_init(&e);
		if (config_account(&ctx->config, *names.v[i] ? names.v[i] :
		    NULL, NULL, &a, &e) == -1)
			continue;
		d = send_queue_dir(&a);
		strlist_add_unique(dirs, d);
		free(d);
	}
	strlist_release(&names);
}

static int
dir_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
runq_dir(struct send_ctx *ctx, const char *dir, int force, const char *only,
    int64_t deadline, struct runq_down *down, struct runq_stats *st,
    struct err *e)
{
	struct strlist ids;
	struct queue q;
	size_t i;

	if (!dir_exists(dir))
		return 0;	/* nothing was ever queued there */
	memset(&q, 0, sizeof(q));
	if (queue_open(&q, dir, e) == -1)
		return -1;
	strlist_init(&ids);
	if (queue_list(&q, QUEUE_MAIN, &ids, e) == -1) {
		queue_close(&q);
		return -1;
	}
	/* One directory sync for the run's removals, not one each. */
	q.defer_sync = 1;
	for (i = 0; i < ids.n; i++) {
		if (deadline > 0 && now_ms() > deadline)
			break;
		runq_one(ctx, &q, ids.v[i], force, only, down, st);
	}
	strlist_release(&ids);
	if (queue_sync(&q, e) == -1)
		log_warn("%s", e->msg);
	if (queue_clean(&q, QUEUE_STALE, e) == -1)
		log_warn("%s", e->msg);
	queue_close(&q);
	return 0;
}

static void
down_release(struct runq_down *d)
{
	strlist_release(&d->names);
	free(d->errs);
	d->errs = NULL;
}

int
runq_flush(struct send_ctx *ctx, int force, struct runq_stats *st,
    struct err *e)
{
	struct runq_down down;
	struct strlist dirs;
	size_t i;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	memset(&down, 0, sizeof(down));
	strlist_init(&down.names);
	strlist_init(&dirs);
	ctx->keep_open = 1;
	ctx->in_runq = 1;
	queue_dirs(ctx, &dirs);
	for (i = 0; i < dirs.n && rc == 0; i++)
		rc = runq_dir(ctx, dirs.v[i], force, NULL, 0, &down, st, e);
	send_session_close(ctx);
	strlist_release(&dirs);
	down_release(&down);
	return rc;
}

void
runq_catch_up(struct send_ctx *ctx, const struct account *a)
{
	struct runq_stats st;
	struct runq_down down;
	char *dir = send_queue_dir(a);
	int keep = ctx->keep_open;
	struct err e;

	memset(&st, 0, sizeof(st));
	memset(&down, 0, sizeof(down));
	strlist_init(&down.names);
	err_init(&e);
	ctx->keep_open = 1;
	ctx->in_runq = 1;
	if (runq_dir(ctx, dir, 0, a->name, now_ms() + RUNQ_CATCHUP_MS, &down,
	    &st, &e) == -1)
		log_warn("%s", e.msg);
	else if (st.sent > 0)
		log_info("also delivered %zu queued message(s)", st.sent);
	ctx->in_runq = 0;
	ctx->keep_open = keep;
	down_release(&down);
	free(dir);
}

static void
age_str(time_t secs, char *buf, size_t size)
{
	if (secs < 120)
		snprintf(buf, size, "%lds", (long)secs);
	else if (secs < 7200)
		snprintf(buf, size, "%ldm", (long)secs / 60);
	else if (secs < 172800)
		snprintf(buf, size, "%ldh", (long)secs / 3600);
	else
		snprintf(buf, size, "%ldd", (long)secs / 86400);
}

/* A JSON string, escaped, on fp. */
static void
json_put(FILE *fp, const char *s)
{
	putc('"', fp);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(fp, "\\u%04x", c);
		else
			putc(c, fp);
	}
	putc('"', fp);
}

static void
list_entry(FILE *fp, int json, int *first, const char *id,
    const struct queue_envelope *qe, off_t size)
{
	time_t now = time(NULL);
	char age[32], next[32];
	struct tm tm;
	size_t i;

	if (json) {
		fprintf(fp, "%s{\"id\":\"%s\",\"created\":%lld,\"size\":%lld,"
		    "\"sender\":", *first ? "" : ",\n", id,
		    (long long)qe->created, (long long)size);
		json_put(fp, qe->sender);
		fputs(",\"recipients\":[", fp);
		for (i = 0; i < qe->nrcpts; i++) {
			if (i > 0)
				putc(',', fp);
			json_put(fp, qe->rcpts[i].addr);
		}
		fprintf(fp, "],\"account\":");
		json_put(fp, qe->account);
		fprintf(fp, ",\"attempts\":%lu,\"next_try\":%lld,\"held\":%s,"
		    "\"last_error\":", qe->attempts, (long long)qe->next_try,
		    qe->held ? "true" : "false");
		if (qe->last_error != NULL)
			json_put(fp, qe->last_error);
		else
			fputs("null", fp);
		putc('}', fp);
		*first = 0;
		return;
	}
	age_str(now - qe->created, age, sizeof(age));
	if (qe->held)
		snprintf(next, sizeof(next), "held");
	else if (qe->next_try <= now)
		snprintf(next, sizeof(next), "now");
	else {
		localtime_r(&qe->next_try, &tm);
		strftime(next, sizeof(next), "%H:%M:%S", &tm);
	}
	fprintf(fp, "%s %5s %8lld <%s> ->", id, age, (long long)size,
	    qe->sender);
	for (i = 0; i < qe->nrcpts; i++)
		fprintf(fp, "%s<%s>", i ? "," : " ", qe->rcpts[i].addr);
	fprintf(fp, " tries=%lu next=%s", qe->attempts, next);
	if (qe->last_error != NULL)
		fprintf(fp, " error=\"%s\"", qe->last_error);
	putc('\n', fp);
}

static int
list_dir(const char *dir, FILE *fp, int json, int *first, size_t *count,
    size_t *broken, struct err *e)
{
	struct queue_envelope qe;
	struct queue_entry ent;
	struct strlist ids;
	struct queue q;
	off_t size;
	size_t i;
	int fd;

	if (!dir_exists(dir))
		return 0;
	memset(&q, 0, sizeof(q));
	if (queue_open(&q, dir, e) == -1)
		return -1;
	strlist_init(&ids);
	if (queue_list(&q, QUEUE_MAIN, &ids, e) == -1) {
		queue_close(&q);
		return -1;
	}
	for (i = 0; i < ids.n; i++) {
		queue_entry_init(&ent);
		queue_envelope_init(&qe);
		if (queue_entry_set(&ent, QUEUE_MAIN, ids.v[i], e) == 0 &&
		    queue_load_envelope(&q, &ent, &qe, e) == 0) {
			size = 0;
			if ((fd = queue_open_message(&q, &ent, &size, e)) != -1)
				close(fd);
			list_entry(fp, json, first, ids.v[i], &qe, size);
			(*count)++;
		} else {
			/* Said, not hidden: "empty" must mean empty. */
			log_warn("%s: %s", ids.v[i], e->msg);
			err_init(e);
			(*broken)++;
		}
		queue_envelope_release(&qe);
	}
	strlist_release(&ids);
	queue_close(&q);
	return 0;
}

int
runq_list(struct send_ctx *ctx, FILE *fp, int json, struct err *e)
{
	struct strlist dirs;
	size_t i, count = 0, broken = 0;
	int first = 1, rc = 0;

	strlist_init(&dirs);
	queue_dirs(ctx, &dirs);
	if (json)
		fputs("[", fp);
	for (i = 0; i < dirs.n && rc == 0; i++)
		rc = list_dir(dirs.v[i], fp, json, &first, &count, &broken,
		    e);
	if (json)
		fputs(first ? "]\n" : "\n]\n", fp);
	else if (rc == 0 && count == 0 && !broken)
		fputs("Mail queue is empty\n", fp);
	strlist_release(&dirs);
	return rc;
}

static int
command_apply(struct send_ctx *ctx, struct queue *q, enum runq_cmd cmd,
    const char *id, struct err *e)
{
	struct queue_envelope qe;
	struct queue_entry ent;
	struct runq_stats st;
	struct runq_down down;
	int rc;

	queue_entry_init(&ent);
	queue_envelope_init(&qe);
	if (queue_entry_set(&ent, QUEUE_MAIN, id, e) == -1)
		return -1;
	if ((rc = queue_lock(q, &ent, e)) == 1)
		return err_set(e, ERR_TEMP, "%s is being delivered right now",
		    id);
	/* A broken or planted envelope is an error, not a silent 0. */
	if (rc == -1 || queue_load_envelope(q, &ent, &qe, e) == -1) {
		rc = -1;
		goto out;
	}
	rc = -1;
	switch (cmd) {
	case RUNQ_REMOVE:
		rc = queue_remove(q, &ent, e);
		break;
	case RUNQ_HOLD:
		rc = queue_hold(q, &ent, &qe, e);
		break;
	case RUNQ_RELEASE:
		qe.next_try = 0;
		rc = queue_unhold(q, &ent, &qe, e);
		break;
	case RUNQ_RETRY:
		qe.next_try = 0;
		if ((rc = queue_unhold(q, &ent, &qe, e)) == 0) {
			queue_unlock(&ent);
			memset(&st, 0, sizeof(st));
			memset(&down, 0, sizeof(down));
			strlist_init(&down.names);
			runq_one(ctx, q, id, 1, NULL, &down, &st);
			down_release(&down);
			if (st.sent == 0)
				rc = err_set(e, ERR_TEMP, "%s was not "
				    "delivered; see mailq", id);
		}
		break;
	default:
		rc = err_set(e, ERR_SOFTWARE, "command_apply: %d", cmd);
	}
out:
	queue_unlock(&ent);
	queue_envelope_release(&qe);
	return rc;
}

int
runq_command(struct send_ctx *ctx, enum runq_cmd cmd, const char *id,
    struct err *e)
{
	struct strlist dirs;
	struct queue q;
	size_t i;
	int rc = -2;

	if (!queue_id_valid(id))
		return err_set(e, ERR_USAGE, "'%s' is not a queue ID", id);
	strlist_init(&dirs);
	queue_dirs(ctx, &dirs);
	for (i = 0; i < dirs.n && rc == -2; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s.env", dirs.v[i], id);
		if (access(path, F_OK) != 0)
			continue;
		memset(&q, 0, sizeof(q));
		if (queue_open(&q, dirs.v[i], e) == -1) {
			rc = -1;
			break;
		}
		ctx->keep_open = 1;
		ctx->in_runq = 1;
		rc = command_apply(ctx, &q, cmd, id, e);
		send_session_close(ctx);
		queue_close(&q);
	}
	strlist_release(&dirs);
	if (rc == -2)
		return err_set(e, ERR_NOINPUT, "no queued message %s", id);
	return rc;
}
