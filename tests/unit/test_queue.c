/*
 * test_queue.c - the queue store: envelope round trips with hostile
 * values, the reader's tolerance (unknown keys) and strictness (newer
 * versions, damage), entries that are not entries, remove, fail and
 * hold, locking between processes, ID uniqueness, and the refusal of
 * queue directories that others could tamper with.
 *
 * Everything happens in a private directory under $TMPDIR (or /tmp),
 * removed at the end.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"
#include "unit.h"

#define NRCPTS	1000
#define NIDS	10000
#define NPROCS	4

static char base[512];

static const char *hostile[] = {
	"plain@example.org",
	"\"with space\"@example.org",
	"quote\"and\\backslash@example.org",
	"percent % %% %25 %0A %zz %@example.org",
	"crlf\r\nrcpt: evil@example.org",
	"cr only\rsender: evil@example.org",
	"lf only\nheld: 1",
	"tab\tctl\x01\x1f del\x7f",
	"J\xc3\xb6rg@b\xc3\xbc\xc3\x9f" "e.example",
	"\xe2\x82\xac and \xf0\x9f\x93\xa7",
	"broken utf-8 \xff\xfe \xc3 \xed\xa0\x80 \xc0\xaf end",
	" leading space",
	"trailing space ",
	"  ",
	"",
	"colon: inside: value",
};
#define NHOSTILE (sizeof(hostile) / sizeof(hostile[0]))

static void
path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", base, name);
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(p);
	return unlink(p);
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	fwrite(data, 1, len, f);
	fclose(f);
}

/* The whole file, NUL-terminated; *len its size.  NULL if missing. */
static char *
read_file(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0, n = 0, r;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			buf = xrealloc(buf, cap);
		}
		r = fread(buf + n, 1, 4096, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

/* Entries in dir, "." and ".." aside; -1 if it cannot be read. */
static int
count_files(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int
file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int
mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return -1;
	return (int)(st.st_mode & 07777);
}

static int
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Queue body as a new entry with env; id gets its ID. */
static int
enqueue(struct queue *q, const struct queue_envelope *env, const char *body,
    size_t len, char *id)
{
	struct queue_entry ent;
	struct err e;
	FILE *f;

	err_init(&e);
	if (queue_create(q, &ent, &f, &e) == -1) {
		fprintf(stderr, "create: %s\n", e.msg);
		return -1;
	}
	fwrite(body, 1, len, f);
	if (queue_commit(q, &ent, env, &e) == -1) {
		fprintf(stderr, "commit: %s\n", e.msg);
		return -1;
	}
	CHECK(ent.lockfd != -1, "a committed entry stays locked");
	queue_unlock(&ent);
	memcpy(id, ent.id, QUEUE_IDLEN + 1);
	return 0;
}

static void
simple_env(struct queue_envelope *env)
{
	queue_envelope_init(env);
	queue_envelope_set(&env->sender, "alice@example.org");
	queue_envelope_add_rcpt(env, "bob@example.org", NULL);
}

static void
open_queue(struct queue *q, const char *name)
{
	char dir[PATH_MAX];
	struct err e;

	path_of(dir, sizeof(dir), name);
	err_init(&e);
	if (queue_open(q, dir, &e) == -1) {
		fprintf(stderr, "queue_open %s: %s\n", dir, e.msg);
		exit(2);
	}
}

static void
entry_path(char *buf, size_t size, const struct queue *q, const char *sub,
    const char *id, const char *ext)
{
	snprintf(buf, size, "%s/%s%s%s", q->dir, sub, id, ext);
}

static void
hostile_env(struct queue_envelope *env)
{
	char addr[64];
	size_t i;

	queue_envelope_init(env);
	queue_envelope_set(&env->sender, "a b\"c\\d%e %41\r\nsender: x");
	queue_envelope_set(&env->account, "work \"acct\" \xc3\xa9t\xc3\xa9");
	queue_envelope_set(&env->dsn_ret, "HDRS");
	queue_envelope_set(&env->dsn_envid, "env%id\nrcpt: evil");
	for (i = 0; i < NRCPTS; i++) {
		if (i < NHOSTILE) {
			queue_envelope_add_rcpt(env, hostile[i],
			    i % 2 ? hostile[NHOSTILE - 1 - i] : NULL);
			continue;
		}
		snprintf(addr, sizeof(addr), "user%zu@example.org", i);
		queue_envelope_add_rcpt(env, addr, i % 3 == 0 ?
		    "SUCCESS,FAILURE" : NULL);
	}
	env->created = 1700000000;
	env->attempts = 7;
	env->next_try = 1234567890;
	queue_envelope_set(&env->last_error, "550 5.1.1 bad\r\nmailbox\x1b[31m"
	    " \xc3\xbc%");
	env->held = 1;
}

static void
check_env_equal(const struct queue_envelope *a,
    const struct queue_envelope *b)
{
	size_t i, bad = 0;

	CHECK(same(a->sender, b->sender), "sender '%s'", b->sender);
	CHECK(same(a->account, b->account), "account '%s'", b->account);
	CHECK(same(a->dsn_ret, b->dsn_ret), "ret");
	CHECK(same(a->dsn_envid, b->dsn_envid), "envid '%s'", b->dsn_envid);
	CHECK(a->nrcpts == b->nrcpts, "%zu recipients, not %zu", b->nrcpts,
	    a->nrcpts);
	for (i = 0; i < a->nrcpts && i < b->nrcpts; i++)
		if (!same(a->rcpts[i].addr, b->rcpts[i].addr) ||
		    !same(a->rcpts[i].notify, b->rcpts[i].notify)) {
			if (bad++ < 5)
				CHECK(0, "rcpt %zu: '%s' notify '%s'", i,
				    b->rcpts[i].addr, b->rcpts[i].notify ?
				    b->rcpts[i].notify : "(null)");
		}
	CHECK(bad == 0, "%zu recipients differ", bad);
	CHECK(a->created == b->created, "created %lld", (long long)b->created);
	CHECK(a->attempts == b->attempts, "attempts %lu", b->attempts);
	CHECK(a->next_try == b->next_try, "next_try %lld",
	    (long long)b->next_try);
	CHECK(a->held == b->held, "held %d", b->held);
}

/* Every line of an envelope file is "key: ..." with a known shape. */
static void
check_env_text(const char *text)
{
	const char *line = text, *nl;
	int rcpts = 0, senders = 0, n = 0;

	CHECK(strncmp(text, "version: 1\n", 11) == 0, "version first");
	for (; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL) {
			CHECK(0, "last line has no LF");
			break;
		}
		n++;
		CHECK(memchr(line, '\r', (size_t)(nl - line)) == NULL,
		    "CR in line %d", n);
		CHECK(strcspn(line, ":") < (size_t)(nl - line), "line %d "
		    "has no key", n);
		if (strncmp(line, "rcpt: ", 6) == 0)
			rcpts++;
		if (strncmp(line, "sender: ", 8) == 0)
			senders++;
		CHECK(strncmp(line, "rcpt: evil", 10) != 0, "injected rcpt");
		CHECK(strncmp(line, "held: 1", 7) != 0 || nl - line == 7,
		    "held line");
	}
	CHECK(rcpts == NRCPTS, "%d rcpt lines", rcpts);
	CHECK(senders == 1, "%d sender lines", senders);
}

static void
test_roundtrip(void)
{
	static const char body[] = "Subject: x\r\n\r\n..dot\r\nnul\0byte "
	    "\xff\r\n%0A\r\n";
	struct queue_envelope env, got;
	struct queue_entry ent;
	struct strlist ids;
	struct queue q;
	struct err e;
	char id[QUEUE_IDLEN + 1], path[PATH_MAX], buf[256];
	off_t size = -1;
	char *text;
	ssize_t n;
	int fd;

	open_queue(&q, "rt/a/b/queue");
	path_of(path, sizeof(path), "rt/a");
	CHECK(mode_of(path) == 0700, "parent mode %o", mode_of(path));
	CHECK(mode_of(q.dir) == 0700, "queue mode %o", mode_of(q.dir));
	snprintf(path, sizeof(path), "%s/tmp", q.dir);
	CHECK(mode_of(path) == 0700, "tmp/ mode %o", mode_of(path));
	snprintf(path, sizeof(path), "%s/failed", q.dir);
	CHECK(mode_of(path) == 0700, "failed/ mode %o", mode_of(path));

	hostile_env(&env);
	if (enqueue(&q, &env, body, sizeof(body) - 1, id) == -1) {
		CHECK(0, "enqueue failed");
		goto out;
	}
	CHECK(queue_id_valid(id), "id '%s'", id);
	entry_path(path, sizeof(path), &q, "", id, ".msg");
	CHECK(mode_of(path) == 0600, "msg mode %o", mode_of(path));
	entry_path(path, sizeof(path), &q, "", id, ".env");
	CHECK(mode_of(path) == 0600, "env mode %o", mode_of(path));
	text = read_file(path, NULL);
	CHECK(text != NULL, "read %s", path);
	if (text != NULL)
		check_env_text(text);
	free(text);

	strlist_init(&ids);
	err_init(&e);
	CHECK(queue_list(&q, QUEUE_MAIN, &ids, &e) == 0, "list: %s", e.msg);
	CHECK(ids.n == 1 && strcmp(ids.v[0], id) == 0, "list has the entry");
	strlist_release(&ids);

	queue_envelope_init(&got);
	CHECK(queue_entry_set(&ent, QUEUE_MAIN, id, &e) == 0, "set");
	CHECK(queue_load_envelope(&q, &ent, &got, &e) == 0, "load: %s", e.msg);
	check_env_equal(&env, &got);
	CHECK(same(got.last_error, "550 5.1.1 bad  mailbox [31m \xc3\xbc%"),
	    "last_error '%s'", got.last_error);
	queue_envelope_release(&got);

	fd = queue_open_message(&q, &ent, &size, &e);
	CHECK(fd != -1, "open message: %s", e.msg);
	CHECK(size == (off_t)sizeof(body) - 1, "size %lld", (long long)size);
	if (fd != -1) {
		n = read(fd, buf, sizeof(buf));
		CHECK(n == (ssize_t)sizeof(body) - 1 &&
		    memcmp(buf, body, sizeof(body) - 1) == 0, "message bytes");
		close(fd);
	}

	/* The null sender and a minimal envelope. */
	queue_envelope_release(&env);
	simple_env(&env);
	queue_envelope_set(&env.sender, "");
	CHECK(enqueue(&q, &env, "", 0, id) == 0, "empty message");
	CHECK(queue_entry_set(&ent, QUEUE_MAIN, id, &e) == 0, "set");
	queue_envelope_init(&got);
	CHECK(queue_load_envelope(&q, &ent, &got, &e) == 0, "load: %s", e.msg);
	CHECK(same(got.sender, ""), "null sender");
	CHECK(got.account == NULL && got.dsn_ret == NULL &&
	    got.dsn_envid == NULL && got.last_error == NULL && !got.held,
	    "unset fields stay unset");
	CHECK(got.created != 0, "created stamped");
	queue_envelope_release(&got);
out:
	queue_envelope_release(&env);
	queue_close(&q);
}

/* Write ID.msg and ID.env by hand; return the ID in id. */
static void
plant(const struct queue *q, const char *env, const char *msg, char *id)
{
	char path[PATH_MAX];

	queue_id_new(id);
	if (msg != NULL) {
		entry_path(path, sizeof(path), q, "", id, ".msg");
		write_file(path, msg, strlen(msg));
	}
	if (env != NULL) {
		entry_path(path, sizeof(path), q, "", id, ".env");
		write_file(path, env, strlen(env));
	}
}

static int
load_planted(struct queue *q, const char *text, struct queue_envelope *env,
    struct err *e)
{
	struct queue_entry ent;
	char id[QUEUE_IDLEN + 1];

	plant(q, text, "m\r\n", id);
	err_init(e);
	queue_entry_set(&ent, QUEUE_MAIN, id, e);
	return queue_load_envelope(q, &ent, env, e);
}

static void
test_reader(void)
{
	static const char *bad[] = {
		"",
		"sender: a\nversion: 1\nrcpt: b\n",
		"version: 1\nversion: 1\nsender: a\nrcpt: b\n",
		"version: 1\nsender: a%zzb\nrcpt: c\n",
		"version: 1\nsender: a%0\nrcpt: c\n",
		"version: 1\nsender: a%00b\nrcpt: c\n",
		"version: 1\nsender: a\nrcpt: c",
		"version: 1\nsender: a\nsender: b\nrcpt: c\n",
		"version: 1\nsender: a\nnotify: NEVER\nrcpt: c\n",
		"version: 1\nsender: a\nrcpt: c\nnotify: X\nnotify: Y\n",
		"version: 1\nsender: a\n",
		"version: 1\nrcpt: c\n",
		"version: x\nsender: a\nrcpt: c\n",
		"version: 0\nsender: a\nrcpt: c\n",
		"version: 1\nsender: a\nrcpt: c\nheld: 2\n",
		"version: 1\nsender: a\nrcpt: c\nattempts: -1\n",
		"version: 1\nsender: a\nrcpt: c\nnext_try: 1x\n",
		"version: 1\nsender: a\nrcpt: c\ncreated: "
		    "99999999999999999999999\n",
		"version: 1\nsender: a\nrcpt: c\nno colon here\n",
		"version: 1\nsender: a\nrcpt: c\nBad Key: x\n",
	};
	struct queue_envelope env;
	struct queue q;
	struct err e;
	size_t i;

	open_queue(&q, "reader");
	queue_envelope_init(&env);

	/* Keys from a newer writer are skipped, even undecodable ones. */
	CHECK(load_planted(&q, "version: 1\nfuture_key: %zz whatever\n"
	    "sender: a@b\nx-thing:\nrcpt: c@d\nnotify: NEVER\ncolor: blue\n"
	    "rcpt:e@f\nheld: 0\n", &env, &e) == 0, "unknown keys: %s", e.msg);
	CHECK(same(env.sender, "a@b") && env.nrcpts == 2 &&
	    same(env.rcpts[0].addr, "c@d") &&
	    same(env.rcpts[0].notify, "NEVER") &&
	    same(env.rcpts[1].addr, "e@f") && env.rcpts[1].notify == NULL,
	    "fields around unknown keys");
	CHECK(env.created == 0 && env.attempts == 0 && !env.held, "defaults");

	/* A newer format is refused by kind, and env is left empty. */
	CHECK(load_planted(&q, "version: 2\nsender: a@b\nrcpt: c@d\n"
	    "newthing: 1\n", &env, &e) == -1, "version 2 loaded");
	CHECK(e.kind == ERR_CONFIG, "version 2: kind %s",
	    err_kindname(e.kind));
	CHECK(strstr(e.msg, "version 2") != NULL, "message: %s", e.msg);
	CHECK(env.sender == NULL && env.nrcpts == 0, "env left empty");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(load_planted(&q, bad[i], &env, &e) == -1, "bad[%zu] "
		    "loaded", i);
		CHECK(e.kind == ERR_DATA, "bad[%zu]: kind %s: %s", i,
		    err_kindname(e.kind), e.msg);
		CHECK(env.sender == NULL && env.nrcpts == 0,
		    "bad[%zu]: env left empty", i);
	}
	queue_envelope_release(&env);
	queue_close(&q);
}

static size_t
list_count(struct queue *q, enum queue_area area)
{
	struct strlist ids;
	struct err e;
	size_t n;

	strlist_init(&ids);
	err_init(&e);
	if (queue_list(q, area, &ids, &e) == -1) {
		CHECK(0, "list: %s", e.msg);
		return (size_t)-1;
	}
	n = ids.n;
	strlist_release(&ids);
	return n;
}

static void
test_partial(void)
{
	struct queue_envelope env;
	struct queue_entry ent;
	struct queue q;
	struct err e;
	char id[QUEUE_IDLEN + 1], path[PATH_MAX], tmp[PATH_MAX];
	FILE *f;
	int r;

	open_queue(&q, "partial");
	snprintf(tmp, sizeof(tmp), "%s/tmp", q.dir);
	simple_env(&env);
	err_init(&e);

	/* Being written: invisible, and queue_clean leaves it alone. */
	CHECK(queue_create(&q, &ent, &f, &e) == 0, "create: %s", e.msg);
	fputs("half a message", f);
	fflush(f);
	CHECK(list_count(&q, QUEUE_MAIN) == 0, "uncommitted entry listed");
	CHECK(queue_clean(&q, 0, &e) == 0, "clean took a locked temp file");
	CHECK(count_files(tmp) == 1, "temp file kept");
	queue_abort(&q, &ent);
	CHECK(count_files(tmp) == 0, "abort left %d temp files",
	    count_files(tmp));
	CHECK(ent.lockfd == -1 && ent.msg == NULL, "abort unlocked");

	/* A bad envelope fails the commit and leaves nothing. */
	queue_envelope_release(&env);
	queue_envelope_init(&env);
	queue_envelope_set(&env.sender, "a@b");
	CHECK(queue_create(&q, &ent, &f, &e) == 0, "create: %s", e.msg);
	fputs("x\r\n", f);
	CHECK(queue_commit(&q, &ent, &env, &e) == -1, "no rcpt committed");
	CHECK(e.kind == ERR_SOFTWARE, "kind %s", err_kindname(e.kind));
	CHECK(count_files(tmp) == 0, "failed commit left temp files");
	CHECK(count_files(q.dir) == 2, "failed commit left %d files",
	    count_files(q.dir) - 2);
	queue_envelope_add_rcpt(&env, "c@d", NULL);

	/* A message without its envelope, and the reverse, are no entry. */
	plant(&q, NULL, "orphan\r\n", id);
	CHECK(list_count(&q, QUEUE_MAIN) == 0, "orphan .msg listed");
	plant(&q, "version: 1\nsender: a\nrcpt: b\n", NULL, id);
	CHECK(list_count(&q, QUEUE_MAIN) == 0, "lone .env listed");
	entry_path(path, sizeof(path), &q, "", id, ".env");
	unlink(path);
	snprintf(path, sizeof(path), "%s/tmp/junk", q.dir);
	write_file(path, "x", 1);
	snprintf(path, sizeof(path), "%s/not-an-id.msg", q.dir);
	write_file(path, "x", 1);

	/*
	 * Young leftovers stay; old ones go.  "Old" is a cutoff a few
	 * seconds ahead (max age -5): a file's timestamp can be a tick
	 * ahead of time(), so an age of 0 is a race.
	 */
	CHECK(queue_clean(&q, QUEUE_STALE, &e) == 0, "clean removed young");
	r = queue_clean(&q, -5, &e);
	CHECK(r == 2, "clean removed %d: %s", r, e.msg);
	CHECK(count_files(tmp) == 0, "tmp/ not cleaned");
	CHECK(file_exists(path), "clean removed a file it does not know");
	unlink(path);

	CHECK(enqueue(&q, &env, "m\r\n", 3, id) == 0, "enqueue");
	CHECK(queue_clean(&q, -5, &e) == 0, "clean took a complete entry");
	CHECK(list_count(&q, QUEUE_MAIN) == 1, "entry lost");
	queue_envelope_release(&env);
	queue_close(&q);
}

static void
test_changes(void)
{
	struct queue_envelope env, got;
	struct queue_entry ent;
	struct queue q;
	struct err e;
	char id[QUEUE_IDLEN + 1], path[PATH_MAX];
	char *msg;
	size_t len;

	open_queue(&q, "changes");
	simple_env(&env);
	queue_envelope_init(&got);
	err_init(&e);

	/* Changes need the lock. */
	CHECK(enqueue(&q, &env, "one\r\n", 5, id) == 0, "enqueue");
	queue_entry_set(&ent, QUEUE_MAIN, id, &e);
	CHECK(queue_remove(&q, &ent, &e) == -1 && e.kind == ERR_SOFTWARE,
	    "remove without the lock");
	CHECK(queue_update_envelope(&q, &ent, &env, &e) == -1 &&
	    e.kind == ERR_SOFTWARE, "update without the lock");

	/* Update, hold and unhold. */
	CHECK(queue_lock(&q, &ent, &e) == 0, "lock: %s", e.msg);
	CHECK(queue_load_envelope(&q, &ent, &got, &e) == 0, "load");
	got.attempts = 3;
	got.next_try = 2000000000;
	queue_envelope_set(&got.last_error, "421 try later");
	CHECK(queue_update_envelope(&q, &ent, &got, &e) == 0, "update: %s",
	    e.msg);
	CHECK(queue_hold(&q, &ent, &got, &e) == 0, "hold: %s", e.msg);
	CHECK(queue_load_envelope(&q, &ent, &got, &e) == 0, "load");
	CHECK(got.held && got.attempts == 3 && got.next_try == 2000000000 &&
	    same(got.last_error, "421 try later"), "updated fields");
	CHECK(list_count(&q, QUEUE_MAIN) == 1, "held entry not listed");
	CHECK(queue_unhold(&q, &ent, &got, &e) == 0, "unhold: %s", e.msg);
	CHECK(queue_load_envelope(&q, &ent, &got, &e) == 0, "load");
	CHECK(!got.held, "still held");
	snprintf(path, sizeof(path), "%s/tmp", q.dir);
	CHECK(count_files(path) == 0, "update left temp files");

	/* Remove: both files go, the lock with them. */
	CHECK(queue_remove(&q, &ent, &e) == 0, "remove: %s", e.msg);
	CHECK(ent.lockfd == -1, "remove kept the lock");
	CHECK(list_count(&q, QUEUE_MAIN) == 0, "removed entry listed");
	CHECK(count_files(q.dir) == 2, "remove left files");
	CHECK(queue_lock(&q, &ent, &e) == 1, "removed entry locked");
	CHECK(queue_load_envelope(&q, &ent, &got, &e) == -1 &&
	    e.kind == ERR_NOINPUT, "load of a removed entry");

	/* Fail: the entry moves to failed/ with its reason. */
	CHECK(enqueue(&q, &env, "two\r\n", 5, id) == 0, "enqueue");
	queue_entry_set(&ent, QUEUE_MAIN, id, &e);
	CHECK(queue_lock(&q, &ent, &e) == 0, "lock: %s", e.msg);
	CHECK(queue_load_envelope(&q, &ent, &got, &e) == 0, "load");
	CHECK(queue_fail(&q, &ent, &got, "550 5.1.1 no such user\r\n", &e) ==
	    0, "fail: %s", e.msg);
	CHECK(ent.area == QUEUE_FAILED && ent.lockfd == -1, "failed entry");
	CHECK(list_count(&q, QUEUE_MAIN) == 0, "failed entry still queued");
	CHECK(list_count(&q, QUEUE_FAILED) == 1, "failed entry not in failed/");
	CHECK(count_files(q.dir) == 2, "fail left files in the queue");
	CHECK(queue_load_envelope(&q, &ent, &got, &e) == 0, "load failed: %s",
	    e.msg);
	CHECK(same(got.last_error, "550 5.1.1 no such user  "),
	    "last_error '%s'", got.last_error);
	entry_path(path, sizeof(path), &q, "failed/", id, ".msg");
	msg = read_file(path, &len);
	CHECK(msg != NULL && len == 5 && memcmp(msg, "two\r\n", 5) == 0,
	    "failed message");
	free(msg);
	CHECK(queue_lock(&q, &ent, &e) == 0, "lock failed entry");
	CHECK(queue_remove(&q, &ent, &e) == 0, "remove failed entry");
	CHECK(list_count(&q, QUEUE_FAILED) == 0, "failed/ not empty");

	queue_envelope_release(&got);
	queue_envelope_release(&env);
	queue_close(&q);
}

/*
 * For a child: open the queue afresh and try to lock id.  Returns 0
 * locked, 1 busy, 2 error, for the exit status.
 */
static int
child_lock(const char *name, const char *id)
{
	struct queue_entry ent;
	struct queue q;
	struct err e;
	int r;

	open_queue(&q, name);
	err_init(&e);
	queue_entry_set(&ent, QUEUE_MAIN, id, &e);
	r = queue_lock(&q, &ent, &e);
	/* The lock lives in ent, not in q: it stays until we exit. */
	queue_close(&q);
	return r == -1 ? 2 : r;
}

static int
wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void
test_lock(void)
{
	struct queue_envelope env;
	struct queue_entry ent, other;
	struct queue q;
	struct err e;
	char id[QUEUE_IDLEN + 1], c;
	int go[2], ready[2], r;
	pid_t pid;

	open_queue(&q, "lock");
	simple_env(&env);
	err_init(&e);
	CHECK(enqueue(&q, &env, "m\r\n", 3, id) == 0, "enqueue");
	queue_entry_set(&ent, QUEUE_MAIN, id, &e);
	queue_entry_set(&other, QUEUE_MAIN, id, &e);

	CHECK(queue_lock(&q, &ent, &e) == 0, "lock: %s", e.msg);
	CHECK(queue_lock(&q, &other, &e) == 1, "second lock in one process");
	CHECK(queue_lock(&q, &ent, &e) == -1 && e.kind == ERR_SOFTWARE,
	    "relock of a held entry");
	fflush(NULL);
	if ((pid = fork()) == 0)
		_exit(child_lock("lock", id));
	CHECK(wait_child(pid) == 1, "another process took a held lock");
	queue_unlock(&ent);

	/* The child holds it; its death, not an unlock, frees it. */
	if (pipe(go) == -1 || pipe(ready) == -1) {
		CHECK(0, "pipe");
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) == 0) {
		close(go[1]);
		r = child_lock("lock", id);
		c = (char)('0' + r);
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 0)
			_exit(3);
		_exit(r);
	}
	close(go[0]);
	close(ready[1]);
	CHECK(read(ready[0], &c, 1) == 1 && c == '0', "child lock");
	CHECK(queue_lock(&q, &ent, &e) == 1, "parent took the child's lock");
	close(go[1]);
	CHECK(wait_child(pid) == 0, "child status");
	close(ready[0]);
	CHECK(queue_lock(&q, &ent, &e) == 0, "lock after the holder died");
	queue_unlock(&ent);
out:
	queue_envelope_release(&env);
	queue_close(&q);
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void
test_ids(void)
{
	char (*ids)[QUEUE_IDLEN + 1] = xcalloc(NIDS, sizeof(*ids));
	char path[PATH_MAX], *text, *p;
	struct queue_entry ent;
	struct err e;
	size_t i, n = 0, bad = 0, dup = 0;
	pid_t pids[NPROCS];
	FILE *f;
	int k;

	for (i = 0; i < NIDS; i++) {
		queue_id_new(ids[i]);
		if (!queue_id_valid(ids[i]) ||
		    (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0))
			bad++;
	}
	CHECK(bad == 0, "%zu IDs invalid or out of order", bad);

	/* Several processes at once, as many envoi runs would be. */
	fflush(NULL);
	for (k = 0; k < NPROCS; k++) {
		if ((pids[k] = fork()) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/ids.%d", base, k);
		if ((f = fopen(path, "w")) == NULL)
			_exit(2);
		for (i = 0; i < NIDS / NPROCS; i++) {
			queue_id_new(ids[0]);
			fprintf(f, "%s\n", ids[0]);
		}
		_exit(fclose(f) == 0 ? 0 : 2);
	}
	for (k = 0; k < NPROCS; k++)
		CHECK(wait_child(pids[k]) == 0, "id child %d", k);
	for (k = 0; k < NPROCS; k++) {
		snprintf(path, sizeof(path), "%s/ids.%d", base, k);
		if ((text = read_file(path, NULL)) == NULL)
			continue;
		for (p = strtok(text, "\n"); p != NULL && n < NIDS;
		    p = strtok(NULL, "\n"))
			snprintf(ids[n++], QUEUE_IDLEN + 1, "%s", p);
		free(text);
	}
	CHECK(n == NIDS, "%zu IDs from the children", n);
	qsort(ids, n, sizeof(*ids), id_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			dup++;
	CHECK(dup == 0, "%zu duplicate IDs across processes", dup);
	free(ids);

	CHECK(!queue_id_valid("../../../etc/passwd"), "path accepted");
	CHECK(!queue_id_valid(""), "empty ID accepted");
	CHECK(!queue_id_valid("0065A1B2C3-f423f-00001234-9ab3c2d1"),
	    "uppercase ID accepted");
	CHECK(!queue_id_valid("0065a1b2c3-f423f-00001234-9ab3c2d1x"),
	    "long ID accepted");
	CHECK(queue_id_valid("0065a1b2c3-f423f-00001234-9ab3c2d1"),
	    "good ID refused");
	err_init(&e);
	CHECK(queue_entry_set(&ent, QUEUE_MAIN, "../x", &e) == -1 &&
	    e.kind == ERR_USAGE, "entry_set took a path");
}

static void
expect_refused(const char *name, enum err_kind kind, const char *what)
{
	char dir[PATH_MAX];
	struct queue q;
	struct err e;

	path_of(dir, sizeof(dir), name);
	err_init(&e);
	CHECK(queue_open(&q, dir, &e) == -1, "%s: opened", name);
	CHECK(e.kind == kind, "%s: kind %s: %s", name, err_kindname(e.kind),
	    e.msg);
	CHECK(strstr(e.msg, what) != NULL, "%s: message '%s'", name, e.msg);
	CHECK(strstr(e.msg, dir) != NULL || strstr(e.msg, base) != NULL,
	    "%s: message names no path: '%s'", name, e.msg);
}

static void
test_refusals(void)
{
	char a[PATH_MAX], b[PATH_MAX];

	path_of(a, sizeof(a), "real");
	mkdir(a, 0700);
	path_of(b, sizeof(b), "link");
	CHECK(symlink(a, b) == 0, "symlink");
	expect_refused("link", ERR_CANTCREAT, "symbolic link");

	path_of(a, sizeof(a), "groupw");
	mkdir(a, 0700);
	chmod(a, 0770);
	expect_refused("groupw", ERR_CANTCREAT, "writable");
	path_of(a, sizeof(a), "otherw");
	mkdir(a, 0700);
	chmod(a, 0703);
	expect_refused("otherw", ERR_CANTCREAT, "writable");

	/* A tmp/ swapped for a link to elsewhere. */
	path_of(a, sizeof(a), "subl");
	mkdir(a, 0700);
	path_of(a, sizeof(a), "subl/tmp");
	path_of(b, sizeof(b), "real");
	CHECK(symlink(b, a) == 0, "symlink");
	expect_refused("subl", ERR_CANTCREAT, "symbolic link");

	path_of(a, sizeof(a), "afile");
	write_file(a, "x", 1);
	expect_refused("afile/queue", ERR_CANTCREAT, "cannot create");
	expect_refused("afile", ERR_CANTCREAT, "cannot open");

	if (geteuid() == 0) {
		path_of(a, sizeof(a), "others");
		mkdir(a, 0700);
		CHECK(chown(a, 65534, 65534) == 0, "chown");
		expect_refused("others", ERR_CANTCREAT, "belongs to");
	} else {
		/* Root would be let in anyway. */
		path_of(a, sizeof(a), "ro");
		mkdir(a, 0500);
		expect_refused("ro/queue", ERR_CANTCREAT, "cannot create");
		fprintf(stderr, "test_queue: not root: ownership check "
		    "skipped\n");
	}
}

/* queue_subdir: a private directory, checked like the queue's own. */
static void
test_subdir(void)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct queue q;
	struct stat st;
	struct err e;
	int fd;

	open_queue(&q, "sub");
	err_init(&e);
	fd = queue_subdir(&q, "tls", &e);
	CHECK(fd != -1, "subdir: %s", e.msg);
	path_of(a, sizeof(a), "sub/tls");
	CHECK(lstat(a, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 07777) == 0700, "subdir mode %o", st.st_mode);
	if (fd != -1)
		close(fd);
	err_init(&e);
	CHECK(queue_subdir(&q, "tmp", &e) == -1 && e.kind == ERR_SOFTWARE,
	    "subdir tmp allowed");
	err_init(&e);
	CHECK(queue_subdir(&q, "a/b", &e) == -1 && e.kind == ERR_SOFTWARE,
	    "subdir a/b allowed");
	path_of(a, sizeof(a), "sub/link");
	path_of(b, sizeof(b), "real");
	CHECK(symlink(b, a) == 0, "symlink");
	err_init(&e);
	CHECK(queue_subdir(&q, "link", &e) == -1 && e.kind == ERR_CANTCREAT &&
	    strstr(e.msg, "symbolic link") != NULL &&
	    strstr(e.msg, "sub/link") != NULL, "link: %s", e.msg);
	path_of(a, sizeof(a), "sub/gw");
	mkdir(a, 0700);
	chmod(a, 0770);
	err_init(&e);
	CHECK(queue_subdir(&q, "gw", &e) == -1 && e.kind == ERR_CANTCREAT &&
	    strstr(e.msg, "writable") != NULL, "gw: %s", e.msg);
	queue_close(&q);
}

/*
 * An entry whose files were swapped for a symbolic link or a FIFO is
 * refused by name, never followed or waited on.
 */
static void
test_planted(void)
{
	char msg[PATH_MAX], env[PATH_MAX], target[PATH_MAX];
	struct queue_envelope qe, got;
	struct queue_entry ent;
	struct queue q;
	struct err e;
	off_t size;
	FILE *f;

	open_queue(&q, "planted");
	simple_env(&qe);
	queue_envelope_init(&got);
	err_init(&e);
	CHECK(queue_create(&q, &ent, &f, &e) == 0, "create: %s", e.msg);
	fputs("x\r\n", f);
	CHECK(queue_commit(&q, &ent, &qe, &e) == 0, "commit: %s", e.msg);
	queue_unlock(&ent);
	entry_path(msg, sizeof(msg), &q, "", ent.id, ".msg");
	entry_path(env, sizeof(env), &q, "", ent.id, ".env");
	path_of(target, sizeof(target), "secret");
	write_file(target, "secret\r\n", 8);

	CHECK(unlink(msg) == 0 && symlink(target, msg) == 0, "plant msg");
	err_init(&e);
	CHECK(queue_lock(&q, &ent, &e) == -1 && e.kind == ERR_CANTCREAT &&
	    strstr(e.msg, "symbolic link") != NULL &&
	    strstr(e.msg, msg) != NULL, "lock through a link: %s", e.msg);
	err_init(&e);
	CHECK(queue_open_message(&q, &ent, &size, &e) == -1 &&
	    strstr(e.msg, "symbolic link") != NULL, "open through a link");

	CHECK(unlink(msg) == 0 && mkfifo(msg, 0600) == 0, "plant fifo");
	err_init(&e);
	CHECK(queue_lock(&q, &ent, &e) == -1 &&
	    strstr(e.msg, "not a regular file") != NULL, "fifo: %s", e.msg);

	CHECK(rename(env, target) == 0 && symlink(target, env) == 0,
	    "plant env");
	err_init(&e);
	CHECK(queue_load_envelope(&q, &ent, &got, &e) == -1 &&
	    e.kind == ERR_CANTCREAT && strstr(e.msg, env) != NULL,
	    "load through a link: %s", e.msg);
	queue_envelope_release(&got);
	queue_envelope_release(&qe);
	queue_close(&q);
}

int
main(void)
{
	const char *tmpdir = getenv("TMPDIR");

	snprintf(base, sizeof(base), "%s/envoi-test-queue.XXXXXX",
	    tmpdir != NULL && *tmpdir == '/' ? tmpdir : "/tmp");
	if (mkdtemp(base) == NULL) {
		perror(base);
		return 2;
	}
	/* Modes must come from the queue, not from a kind umask. */
	umask(0);
	test_roundtrip();
	test_reader();
	test_partial();
	test_changes();
	test_lock();
	test_ids();
	test_refusals();
	test_subdir();
	test_planted();
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return unit_done();
}
