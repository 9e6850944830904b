/*
 * queue.c - the durable store of accepted mail.  queue.h describes the
 * layout, the envelope format and the commit point; this file keeps the
 * promise that a crash at any moment leaves either no entry or a
 * complete one.
 *
 * Every change follows one pattern: write the new file in tmp/ (same
 * filesystem), check fflush, ferror, fsync and close, rename it into
 * place, then fsync the directory that changed.  A rename is atomic, so
 * a reader sees the old file or the new one, never half of either; the
 * directory fsync makes the rename itself survive a power cut.  When two
 * renames must stay in order (ID.msg before ID.env), the directory is
 * synced between them.
 *
 * All file operations are relative to directory descriptors opened once
 * with O_NOFOLLOW, so a path swapped for a symbolic link after
 * queue_open is never followed.
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"

#define QUEUE_NAMELEN	(QUEUE_IDLEN + 4)	/* "ID.msg" */
#define QUEUE_LINEMAX	(64 * 1024)		/* envelope line cap */
#define QUEUE_ENVMAX	(16 * 1024 * 1024)	/* envelope file cap */
#define QUEUE_SUBMAX	sizeof("failed/")

#define TIME_MAX	(sizeof(time_t) >= 8 ? (unsigned long long)INT64_MAX \
			    : (unsigned long long)INT32_MAX)

static const char *queue_area_sub[QUEUE_AREA_LAST] = { "", "failed/" };

/* Envelope keys, in the order they are written. */
enum env_key {
	ENV_VERSION,
	ENV_CREATED,
	ENV_SENDER,
	ENV_ACCOUNT,
	ENV_RET,
	ENV_ENVID,
	ENV_BODY,
	ENV_RCPT,
	ENV_NOTIFY,
	ENV_ATTEMPTS,
	ENV_NEXT_TRY,
	ENV_LAST_ERROR,
	ENV_HELD,
	ENV_LAST
};

static const char *env_keys[ENV_LAST] = {
	"version", "created", "sender", "account", "ret", "envid", "body",
	"rcpt",
	"notify", "attempts", "next_try", "last_error", "held"
};

struct ebuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

/* What the reader has seen so far in one envelope. */
struct env_parse {
	struct queue_envelope	*env;
	const char		*path;
	unsigned long		 lineno;
	unsigned int		 seen;		/* bit per scalar env_key */
	int			 notified;	/* last rcpt has a notify */
	struct err		*e;
};

/* The last ID made, so that IDs from one process strictly increase. */
static struct timespec queue_last_id;

/*
 * Die here, as a crash would, when the test suite asks for it.  SIGKILL
 * rather than exit: no atexit handler or stdio flush may tidy up.
 */
static void
queue_fault(const char *step)
{
	const char *s = getenv("ENVOI_QUEUE_FAULT");

	if (s != NULL && strcmp(s, step) == 0) {
		raise(SIGKILL);
		_exit(99);
	}
}

/*
 * Running out of space or a failing disk is an I/O problem (EX_IOERR);
 * anything else that stops a file being created is one of permissions
 * or layout (EX_CANTCREAT).
 */
static enum err_kind
errno_kind(int errnum)
{
	switch (errnum) {
	case ENOSPC:
	case EDQUOT:
	case EIO:
	case EFBIG:
		return ERR_IO;
	default:
		return ERR_CANTCREAT;
	}
}

static void
entry_name(char *buf, const char *id, const char *ext)
{
	snprintf(buf, QUEUE_NAMELEN + 1, "%s%s", id, ext);
}

/* The full path of a file, for error messages only. */
static void
queue_path(const struct queue *q, char *buf, size_t size, const char *sub,
    const char *name)
{
	snprintf(buf, size, "%s/%s%s", q->dir, sub, name);
}

/* 1 if name exists in dfd, 0 if not, -1 (errno set) if we cannot tell. */
static int
exists_at(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/*
 * Open name (path in messages) in dfd for reading: a regular file, never
 * reached through a symbolic link and never a FIFO that would block the
 * open.  Returns the descriptor, -2 when it does not exist, or -1 with
 * e set.
 */
static int
open_entry_file(int dfd, const char *name, const char *path, struct err *e)
{
	struct stat st;
	int fd, saved;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		return -2;
	if (fd == -1 && errno == ELOOP)
		return err_set(e, ERR_CANTCREAT, "queue file '%s' is a "
		    "symbolic link; refusing to follow it", path);
	if (fd == -1)
		return err_set(e, ERR_IO, "cannot open '%s': %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1 || fcntl(fd, F_SETFL, 0) == -1) {
		saved = errno;
		close(fd);
		return err_set(e, ERR_IO, "cannot open '%s': %s", path,
		    strerror(saved));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, ERR_CANTCREAT, "queue file '%s' is not a "
		    "regular file; refusing to use it", path);
	}
	return fd;
}

static int
sync_dir(const struct queue *q, int dfd, const char *sub, struct err *e)
{
	if (fsync(dfd) == -1)
		return err_set(e, ERR_IO, "cannot sync queue directory "
		    "'%s/%s': %s", q->dir, sub, strerror(errno));
	return 0;
}

/*
 * Directories.
 */

/* Sync the directory holding path, after creating path in it. */
static int
sync_parent(const char *path, struct err *e)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, r;

	if (slash == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == path)
		snprintf(parent, sizeof(parent), "/");
	else
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path),
		    path);
	if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_set(e, ERR_CANTCREAT, "cannot open directory "
		    "'%s': %s", parent, strerror(errno));
	r = fsync(fd);
	close(fd);
	if (r == -1)
		return err_set(e, ERR_IO, "cannot sync directory '%s': %s",
		    parent, strerror(errno));
	return 0;
}

/* Create the parents of dir that are missing, mode 0700. */
static int
make_parents(const char *dir, struct err *e)
{
	char path[PATH_MAX];
	char *p;

	snprintf(path, sizeof(path), "%s", dir);
	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/' || p[-1] == '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) == 0) {
			if (sync_parent(path, e) == -1)
				return -1;
		} else if (errno != EEXIST)
			return err_set(e, errno_kind(errno), "cannot create "
			    "queue directory '%s': %s", path, strerror(errno));
		*p = '/';
	}
	return 0;
}

/*
 * The queue holds other people's mail: only its owner may be able to
 * change it, and it must be the directory it claims to be.
 */
static int
check_dir(int fd, const char *path, struct err *e)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return err_set(e, ERR_CANTCREAT, "cannot stat queue directory "
		    "'%s': %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(e, ERR_CANTCREAT, "queue directory '%s' is not "
		    "a directory", path);
	if (st.st_uid != geteuid())
		return err_set(e, ERR_CANTCREAT, "queue directory '%s' belongs "
		    "to "
		    "uid %lu, not to uid %lu", path, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(e, ERR_CANTCREAT, "queue directory '%s' is "
		    "writable by group or others (chmod 700 it)", path);
	return 0;
}

/*
 * Open (creating it if missing) directory name under atfd; path names it
 * in messages.  Returns the descriptor or -1.
 */
static int
open_dir(int atfd, const char *name, const char *path, int syncfd,
    struct err *e)
{
	struct stat st;
	int fd, created;

	created = mkdirat(atfd, name, 0700) == 0;
	if (!created && errno != EEXIST)
		return err_set(e, errno_kind(errno), "cannot create queue "
		    "directory '%s': %s", path, strerror(errno));
	fd = openat(atfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		if ((errno == ELOOP || errno == ENOTDIR) &&
		    fstatat(atfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			return err_set(e, ERR_CANTCREAT, "queue directory '%s' "
			    "is a symbolic link; refusing to follow it", path);
		return err_set(e, ERR_CANTCREAT, "cannot open queue directory "
		    "'%s': %s", path, strerror(errno));
	}
	if (check_dir(fd, path, e) == -1)
		goto fail;
	if (created) {
		if (syncfd != -1 && fsync(syncfd) == -1) {
			err_set(e, ERR_IO, "cannot sync the parent of '%s': %s",
			    path, strerror(errno));
			goto fail;
		}
		if (syncfd == -1 && sync_parent(path, e) == -1)
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int
queue_open(struct queue *q, const char *dir, struct err *e)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);
	int i;

	q->dir = NULL;
	q->tmpfd = -1;
	for (i = 0; i < QUEUE_AREA_LAST; i++)
		q->fd[i] = -1;
	if (len == 0)
		return err_set(e, ERR_CONFIG, "the queue directory is empty");
	/* Room for "/failed/ID.msg" keeps every later snprintf whole. */
	if (len + 1 + QUEUE_SUBMAX + QUEUE_NAMELEN >= PATH_MAX)
		return err_set(e, ERR_CANTCREAT, "queue directory '%s': %s",
		    dir, strerror(ENAMETOOLONG));
	q->dir = xstrdup(dir);
	while (len > 1 && q->dir[len - 1] == '/')
		q->dir[--len] = '\0';

	if (make_parents(q->dir, e) == -1)
		goto fail;
	if ((q->fd[QUEUE_MAIN] = open_dir(AT_FDCWD, q->dir, q->dir, -1,
	    e)) == -1)
		goto fail;
	queue_path(q, path, sizeof(path), "", "tmp");
	if ((q->tmpfd = open_dir(q->fd[QUEUE_MAIN], "tmp", path,
	    q->fd[QUEUE_MAIN], e)) == -1)
		goto fail;
	queue_path(q, path, sizeof(path), "", "failed");
	if ((q->fd[QUEUE_FAILED] = open_dir(q->fd[QUEUE_MAIN], "failed", path,
	    q->fd[QUEUE_MAIN], e)) == -1)
		goto fail;
	return 0;
fail:
	queue_close(q);
	return -1;
}

int
queue_subdir(struct queue *q, const char *name, struct err *e)
{
	char path[PATH_MAX];

	if (strchr(name, '/') != NULL || strcmp(name, "tmp") == 0 ||
	    strcmp(name, "failed") == 0)
		return err_set(e, ERR_SOFTWARE, "queue_subdir: '%s' is not "
		    "a name of its own", name);
	queue_path(q, path, sizeof(path), "", name);
	return open_dir(q->fd[QUEUE_MAIN], name, path, q->fd[QUEUE_MAIN], e);
}

void
queue_close(struct queue *q)
{
	int i;

	for (i = 0; i < QUEUE_AREA_LAST; i++) {
		if (q->fd[i] != -1)
			close(q->fd[i]);
		q->fd[i] = -1;
	}
	if (q->tmpfd != -1)
		close(q->tmpfd);
	q->tmpfd = -1;
	free(q->dir);
	q->dir = NULL;
}

/*
 * IDs.
 */

void
queue_id_new(char buf[QUEUE_IDLEN + 1])
{
	struct timespec ts;
	uint32_t rnd = 0;
	char tmp[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec = ts.tv_nsec / 1000 * 1000;
	if (ts.tv_sec < queue_last_id.tv_sec ||
	    (ts.tv_sec == queue_last_id.tv_sec &&
	    ts.tv_nsec <= queue_last_id.tv_nsec)) {
		/* Same microsecond, or the clock went back. */
		ts = queue_last_id;
		ts.tv_nsec += 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_nsec = 0;
			ts.tv_sec++;
		}
	}
	queue_last_id = ts;
	/* The random part only adds margin; time and PID suffice. */
	if (getentropy(&rnd, sizeof(rnd)) == -1)
		rnd = 0;
	snprintf(tmp, sizeof(tmp), "%010llx-%05lx-%08lx-%08lx",
	    (unsigned long long)ts.tv_sec & 0xffffffffffULL,
	    (unsigned long)(ts.tv_nsec / 1000),
	    (unsigned long)getpid() & 0xffffffffUL, (unsigned long)rnd);
	memcpy(buf, tmp, QUEUE_IDLEN);
	buf[QUEUE_IDLEN] = '\0';
}

int
queue_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < QUEUE_IDLEN; i++) {
		if (i == 10 || i == 16 || i == 25) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[QUEUE_IDLEN] == '\0';
}

void
queue_entry_init(struct queue_entry *ent)
{
	ent->id[0] = '\0';
	ent->area = QUEUE_MAIN;
	ent->lockfd = -1;
	ent->msg = NULL;
}

int
queue_entry_set(struct queue_entry *ent, enum queue_area area,
    const char *id, struct err *e)
{
	queue_entry_init(ent);
	if (area >= QUEUE_AREA_LAST)
		return err_set(e, ERR_SOFTWARE, "queue_entry_set: no area %d",
		    (int)area);
	/* The ID becomes a file name: nothing else may get through. */
	if (!queue_id_valid(id))
		return err_set(e, ERR_USAGE, "'%s' is not a queue ID", id);
	memcpy(ent->id, id, QUEUE_IDLEN + 1);
	ent->area = area;
	return 0;
}

/*
 * Envelopes in memory.
 */

void
queue_envelope_init(struct queue_envelope *env)
{
	memset(env, 0, sizeof(*env));
}

void
queue_envelope_keep(struct queue_envelope *qe, const struct strlist *keep)
{
	struct queue_envelope n;
	size_t i, k;

	queue_envelope_init(&n);
	for (i = 0; i < qe->nrcpts; i++)
		for (k = 0; k < keep->n; k++)
			if (strcmp(qe->rcpts[i].addr, keep->v[k]) == 0) {
				queue_envelope_add_rcpt(&n, qe->rcpts[i].addr,
				    qe->rcpts[i].notify);
				break;
			}
	for (i = 0; i < qe->nrcpts; i++) {
		free(qe->rcpts[i].addr);
		free(qe->rcpts[i].notify);
	}
	free(qe->rcpts);
	qe->rcpts = n.rcpts;
	qe->nrcpts = n.nrcpts;
	qe->rcptcap = n.rcptcap;
}

void
queue_envelope_release(struct queue_envelope *env)
{
	size_t i;

	for (i = 0; i < env->nrcpts; i++) {
		free(env->rcpts[i].addr);
		free(env->rcpts[i].notify);
	}
	free(env->rcpts);
	free(env->sender);
	free(env->account);
	free(env->dsn_ret);
	free(env->dsn_envid);
	free(env->body);
	free(env->last_error);
	queue_envelope_init(env);
}

void
queue_envelope_set(char **field, const char *value)
{
	free(*field);
	*field = value != NULL ? xstrdup(value) : NULL;
}

void
queue_envelope_add_rcpt(struct queue_envelope *env, const char *addr,
    const char *notify)
{
	struct queue_rcpt *r;

	if (env->nrcpts == env->rcptcap) {
		env->rcptcap = env->rcptcap ? env->rcptcap * 2 : 8;
		env->rcpts = xrealloc(env->rcpts,
		    env->rcptcap * sizeof(*env->rcpts));
	}
	r = &env->rcpts[env->nrcpts++];
	r->addr = xstrdup(addr);
	r->notify = notify != NULL ? xstrdup(notify) : NULL;
}

/*
 * Envelopes on disk: writing.
 */

static void
ebuf_add(struct ebuf *b, const char *p, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
}

/*
 * The length of the valid UTF-8 sequence of two or more bytes at s, or 0
 * (RFC 3629: no overlong forms, surrogates or values past U+10FFFF).
 */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

/* Add value encoded as queue.h describes. */
static void
env_encode(struct ebuf *b, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t n = strlen(value), i = 0, k;
	char hex[4];

	while (i < n) {
		if (s[i] >= 0x80 && (k = utf8_seq(s + i, n - i)) > 0) {
			ebuf_add(b, value + i, k);
			i += k;
			continue;
		}
		if (s[i] < 0x20 || s[i] >= 0x7f || s[i] == '%' ||
		    (s[i] == ' ' && (i == 0 || i == n - 1))) {
			snprintf(hex, sizeof(hex), "%%%02X", s[i]);
			ebuf_add(b, hex, 3);
		} else
			ebuf_add(b, value + i, 1);
		i++;
	}
}

static void
env_put(struct ebuf *b, enum env_key k, const char *value)
{
	ebuf_add(b, env_keys[k], strlen(env_keys[k]));
	ebuf_add(b, ": ", 2);
	env_encode(b, value);
	ebuf_add(b, "\n", 1);
}

static void
env_putnum(struct ebuf *b, enum env_key k, unsigned long long n)
{
	char num[32];

	snprintf(num, sizeof(num), "%llu", n);
	env_put(b, k, num);
}

/*
 * last_error is for people: one line, no control characters (they
 * become spaces), at most QUEUE_ERRMAX bytes, cut between characters.
 */
static char *
error_line(const char *s)
{
	size_t len = strlen(s), i;
	char *r;

	if (len > QUEUE_ERRMAX) {
		len = QUEUE_ERRMAX;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	r = xstrndup(s, len);
	for (i = 0; i < len; i++)
		if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
			r[i] = ' ';
	return r;
}

static int
env_format(const struct queue_envelope *env, struct ebuf *b, struct err *e)
{
	time_t created = env->created ? env->created : time(NULL);
	char *line;
	size_t i;

	if (env->sender == NULL || env->nrcpts == 0)
		return err_set(e, ERR_SOFTWARE, "queue: an envelope needs a "
		    "sender and at least one recipient");
	env_putnum(b, ENV_VERSION, QUEUE_VERSION);
	env_putnum(b, ENV_CREATED, (unsigned long long)created);
	env_put(b, ENV_SENDER, env->sender);
	if (env->account != NULL)
		env_put(b, ENV_ACCOUNT, env->account);
	if (env->dsn_ret != NULL)
		env_put(b, ENV_RET, env->dsn_ret);
	if (env->dsn_envid != NULL)
		env_put(b, ENV_ENVID, env->dsn_envid);
	if (env->body != NULL)
		env_put(b, ENV_BODY, env->body);
	for (i = 0; i < env->nrcpts; i++) {
		env_put(b, ENV_RCPT, env->rcpts[i].addr);
		if (env->rcpts[i].notify != NULL)
			env_put(b, ENV_NOTIFY, env->rcpts[i].notify);
	}
	env_putnum(b, ENV_ATTEMPTS, env->attempts);
	env_putnum(b, ENV_NEXT_TRY, env->next_try > 0 ?
	    (unsigned long long)env->next_try : 0);
	if (env->last_error != NULL) {
		line = error_line(env->last_error);
		env_put(b, ENV_LAST_ERROR, line);
		free(line);
	}
	if (env->held)
		env_put(b, ENV_HELD, "1");
	return 0;
}

/*
 * Write env, synced, to tmp/ID.env.  We hold the entry's lock, so a file
 * already there is a leftover of a crash and can go.
 */
static int
env_write_tmp(struct queue *q, const struct queue_entry *ent,
    const struct queue_envelope *env, struct err *e)
{
	struct ebuf b = { NULL, 0, 0 };
	char name[QUEUE_NAMELEN + 1], path[PATH_MAX];
	size_t off = 0;
	ssize_t n;
	int fd = -1;

	entry_name(name, ent->id, ".env");
	queue_path(q, path, sizeof(path), "tmp/", name);
	if (env_format(env, &b, e) == -1)
		goto fail;
	(void)unlinkat(q->tmpfd, name, 0);
	fd = openat(q->tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1) {
		err_set(e, errno_kind(errno), "cannot create '%s': %s", path,
		    strerror(errno));
		goto fail;
	}
	while (off < b.len) {
		if ((n = write(fd, b.p + off, b.len - off)) == -1) {
			if (errno == EINTR)
				continue;
			err_set(e, ERR_IO, "cannot write '%s': %s", path,
			    strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1) {
		err_set(e, ERR_IO, "cannot sync '%s': %s", path,
		    strerror(errno));
		goto fail;
	}
	n = close(fd);
	fd = -1;
	if (n == -1) {
		err_set(e, ERR_IO, "cannot write '%s': %s", path,
		    strerror(errno));
		goto fail;
	}
	free(b.p);
	return 0;
fail:
	if (fd != -1) {
		close(fd);
		(void)unlinkat(q->tmpfd, name, 0);
	}
	free(b.p);
	return -1;
}

/*
 * Envelopes on disk: reading.
 */

static int
env_bad(struct env_parse *p, const char *what)
{
	return err_set(p->e, ERR_DATA, "malformed queue envelope '%s', line "
	    "%lu: %s", p->path, p->lineno, what);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode value into a new string; NULL if it is malformed. */
static char *
env_decode(const char *value)
{
	char *r = xmalloc(strlen(value) + 1), *o = r;
	const char *s;
	int hi, lo;

	for (s = value; *s != '\0'; s++) {
		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		if ((hi = hexval(s[1])) == -1 || (lo = hexval(s[2])) == -1 ||
		    (hi == 0 && lo == 0)) {
			free(r);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*o = '\0';
	return r;
}

/* A decimal number up to max, digits only. */
static int
parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long n = 0, d;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned long long)(*s - '0');
		if (d > max || n > (max - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

static int
env_apply_num(struct env_parse *p, enum env_key k, const char *value)
{
	struct queue_envelope *env = p->env;
	unsigned long long n;
	unsigned long long max = k == ENV_ATTEMPTS ? ULONG_MAX : TIME_MAX;

	if (k == ENV_HELD)
		max = 1;
	if (parse_num(value, max, &n) == -1)
		return env_bad(p, "not a number in range");
	switch (k) {
	case ENV_CREATED:
		env->created = (time_t)n;
		break;
	case ENV_ATTEMPTS:
		env->attempts = (unsigned long)n;
		break;
	case ENV_NEXT_TRY:
		env->next_try = (time_t)n;
		break;
	case ENV_HELD:
		env->held = (int)n;
		break;
	default:
		return err_set(p->e, ERR_SOFTWARE, "env_apply_num: key %s",
		    env_keys[k]);
	}
	return 0;
}

static int
env_apply_str(struct env_parse *p, enum env_key k, const char *value)
{
	struct queue_envelope *env = p->env;
	char *s;

	if ((s = env_decode(value)) == NULL)
		return env_bad(p, "bad %-escape");
	switch (k) {
	case ENV_SENDER:
		env->sender = s;
		break;
	case ENV_ACCOUNT:
		env->account = s;
		break;
	case ENV_RET:
		env->dsn_ret = s;
		break;
	case ENV_ENVID:
		env->dsn_envid = s;
		break;
	case ENV_BODY:
		env->body = s;
		break;
	case ENV_LAST_ERROR:
		env->last_error = s;
		break;
	case ENV_RCPT:
		queue_envelope_add_rcpt(env, s, NULL);
		free(s);
		p->notified = 0;
		break;
	case ENV_NOTIFY:
		if (env->nrcpts == 0 || p->notified) {
			free(s);
			return env_bad(p, "notify without its rcpt");
		}
		env->rcpts[env->nrcpts - 1].notify = s;
		p->notified = 1;
		break;
	default:
		free(s);
		return err_set(p->e, ERR_SOFTWARE, "env_apply_str: key %s",
		    env_keys[k]);
	}
	return 0;
}

static int
env_version(struct env_parse *p, const char *value)
{
	unsigned long long v;

	if (parse_num(value, ULONG_MAX, &v) == -1 || v == 0)
		return env_bad(p, "bad version");
	/* A newer envoi wrote it: leave it alone for that one to handle. */
	if (v > QUEUE_VERSION)
		return err_set(p->e, ERR_CONFIG, "queue envelope '%s' has "
		    "version %llu; this envoi reads version %d only", p->path,
		    v, QUEUE_VERSION);
	return 0;
}

/* One line, without its LF. */
static int
env_parse_line(struct env_parse *p, const char *line)
{
	const char *colon, *value, *c;
	int k;

	colon = strchr(line, ':');
	if (colon == NULL || colon == line)
		return env_bad(p, "not a 'key: value' line");
	for (c = line; c < colon; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		    *c == '_' || *c == '-'))
			return env_bad(p, "bad key");
	value = colon[1] == ' ' ? colon + 2 : colon + 1;
	for (k = 0; k < ENV_LAST; k++)
		if (strlen(env_keys[k]) == (size_t)(colon - line) &&
		    strncmp(env_keys[k], line, (size_t)(colon - line)) == 0)
			break;
	if ((p->lineno == 1) != (k == ENV_VERSION))
		return env_bad(p, "version must come first, and only there");
	if (k == ENV_LAST)
		return 0;	/* a key from a newer writer */
	if (k != ENV_RCPT && k != ENV_NOTIFY) {
		if (p->seen & (1U << k))
			return env_bad(p, "key given twice");
		p->seen |= 1U << k;
	}
	switch (k) {
	case ENV_VERSION:
		return env_version(p, value);
	case ENV_CREATED:
	case ENV_ATTEMPTS:
	case ENV_NEXT_TRY:
	case ENV_HELD:
		return env_apply_num(p, (enum env_key)k, value);
	default:
		return env_apply_str(p, (enum env_key)k, value);
	}
}

static int
env_read(FILE *f, struct env_parse *p)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int ret = -1;

	while ((n = getline(&line, &cap, f)) != -1) {
		p->lineno++;
		if (n > QUEUE_LINEMAX) {
			env_bad(p, "line too long");
			goto out;
		}
		/* We write whole files only: a missing LF means damage. */
		if (line[n - 1] != '\n') {
			env_bad(p, "truncated");
			goto out;
		}
		line[--n] = '\0';
		if (strlen(line) != (size_t)n) {
			env_bad(p, "NUL byte");
			goto out;
		}
		if (env_parse_line(p, line) == -1)
			goto out;
	}
	if (ferror(f)) {
		err_set(p->e, ERR_IO, "cannot read '%s': %s", p->path,
		    strerror(errno));
		goto out;
	}
	if (p->lineno == 0)
		env_bad(p, "empty");
	else if (p->env->sender == NULL)
		env_bad(p, "no sender");
	else if (p->env->nrcpts == 0)
		env_bad(p, "no recipient");
	else
		ret = 0;
out:
	free(line);
	return ret;
}

int
queue_load_envelope(struct queue *q, const struct queue_entry *ent,
    struct queue_envelope *env, struct err *e)
{
	char name[QUEUE_NAMELEN + 1], path[PATH_MAX];
	struct env_parse p;
	struct stat st;
	FILE *f;
	int fd;

	queue_envelope_release(env);
	entry_name(name, ent->id, ".env");
	queue_path(q, path, sizeof(path), queue_area_sub[ent->area], name);
	fd = open_entry_file(q->fd[ent->area], name, path, e);
	if (fd == -2)
		return err_set(e, ERR_NOINPUT, "no queue entry '%s'", ent->id);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || (f = fdopen(fd, "r")) == NULL) {
		err_set(e, ERR_IO, "cannot open '%s': %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	/* We never write one this big: it is damage, not an envelope. */
	if (!S_ISREG(st.st_mode) || st.st_size > QUEUE_ENVMAX) {
		fclose(f);
		return err_set(e, ERR_DATA, "malformed queue envelope '%s': "
		    "not a regular file of at most %d bytes", path,
		    QUEUE_ENVMAX);
	}
	memset(&p, 0, sizeof(p));
	p.env = env;
	p.path = path;
	p.e = e;
	if (env_read(f, &p) == -1) {
		fclose(f);
		queue_envelope_release(env);
		return -1;
	}
	fclose(f);
	return 0;
}

/*
 * Writing an entry.
 */

/* An ID is taken if its ID.msg exists in either area (ID.env needs one). */
static int
id_taken(struct queue *q, const char *id)
{
	char name[QUEUE_NAMELEN + 1];
	int i;

	entry_name(name, id, ".msg");
	for (i = 0; i < QUEUE_AREA_LAST; i++)
		if (exists_at(q->fd[i], name) != 0)
			return 1;
	return 0;
}

int
queue_create(struct queue *q, struct queue_entry *ent, FILE **msg_out,
    struct err *e)
{
	char name[QUEUE_NAMELEN + 1], path[PATH_MAX];
	int fd = -1, fd2, tries;

	queue_entry_init(ent);
	for (tries = 0; fd == -1; tries++) {
		/*
		 * IDs do not repeat unless the clock went back and a PID
		 * came round again; then try another.
		 */
		queue_id_new(ent->id);
		entry_name(name, ent->id, ".msg");
		queue_path(q, path, sizeof(path), "tmp/", name);
		if (id_taken(q, ent->id)) {
			if (tries < 10)
				continue;
			return err_set(e, ERR_CANTCREAT, "cannot find a free "
			    "queue ID in '%s'", q->dir);
		}
		fd = openat(q->tmpfd, name, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd == -1 && (errno != EEXIST || tries >= 10))
			return err_set(e, errno_kind(errno), "cannot create "
			    "'%s': %s", path, strerror(errno));
	}
	/*
	 * The lock travels with the file into the queue, so that runq
	 * cannot take the entry while its creator still works on it, and
	 * queue_clean cannot take the temp file.
	 */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1 ||
	    (fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		err_set(e, ERR_OS, "cannot lock '%s': %s", path,
		    strerror(errno));
		goto fail;
	}
	if ((ent->msg = fdopen(fd2, "w")) == NULL) {
		err_set(e, ERR_OS, "cannot open '%s': %s", path,
		    strerror(errno));
		close(fd2);
		goto fail;
	}
	ent->lockfd = fd;
	ent->area = QUEUE_MAIN;
	*msg_out = ent->msg;
	return 0;
fail:
	close(fd);
	(void)unlinkat(q->tmpfd, name, 0);
	queue_entry_init(ent);
	return -1;
}

/*
 * Why a write to the stream failed.  stdio keeps only an error flag, and
 * the caller's write that failed is long past, so when fflush has
 * nothing to say, look at the filesystem: a full one is the usual cause.
 */
static const char *
write_error(FILE *f, int errnum)
{
	struct statvfs sv;

	if (errnum != 0)
		return strerror(errnum);
	if (fstatvfs(fileno(f), &sv) == 0 && sv.f_bavail == 0)
		return strerror(ENOSPC);
	return "write error";
}

/* Flush, check and sync the message file, then close it. */
static int
commit_msg(FILE *f, const char *path, struct err *e)
{
	int r;

	errno = 0;
	if (fflush(f) == EOF || ferror(f)) {
		err_set(e, ERR_IO, "cannot write '%s': %s", path,
		    write_error(f, errno));
		fclose(f);
		return -1;
	}
	queue_fault("msg-written");
	if (fsync(fileno(f)) == -1) {
		err_set(e, ERR_IO, "cannot sync '%s': %s", path,
		    strerror(errno));
		fclose(f);
		return -1;
	}
	queue_fault("msg-fsync");
	r = fclose(f);
	if (r == EOF)
		return err_set(e, ERR_IO, "cannot write '%s': %s", path,
		    strerror(errno));
	return 0;
}

int
queue_commit(struct queue *q, struct queue_entry *ent,
    const struct queue_envelope *env, struct err *e)
{
	char msg[QUEUE_NAMELEN + 1], envname[QUEUE_NAMELEN + 1];
	char path[PATH_MAX];
	int dfd = q->fd[QUEUE_MAIN], placed = 0;
	FILE *f = ent->msg;

	if (f == NULL || ent->lockfd == -1)
		return err_set(e, ERR_SOFTWARE, "queue_commit: entry '%s' was "
		    "not created", ent->id);
	ent->msg = NULL;
	entry_name(msg, ent->id, ".msg");
	entry_name(envname, ent->id, ".env");
	queue_path(q, path, sizeof(path), "tmp/", msg);
	if (commit_msg(f, path, e) == -1)
		goto fail;
	if (env_write_tmp(q, ent, env, e) == -1)
		goto fail;
	queue_fault("env-fsync");

	if (renameat(q->tmpfd, msg, dfd, msg) == -1) {
		queue_path(q, path, sizeof(path), "", msg);
		err_set(e, errno_kind(errno), "cannot move '%s' into place: "
		    "%s", path, strerror(errno));
		goto fail;
	}
	placed = 1;
	queue_fault("msg-rename");
	/* ID.msg must be on disk before ID.env can be. */
	if (sync_dir(q, dfd, "", e) == -1)
		goto fail;
	if (renameat(q->tmpfd, envname, dfd, envname) == -1) {
		queue_path(q, path, sizeof(path), "", envname);
		err_set(e, errno_kind(errno), "cannot move '%s' into place: "
		    "%s", path, strerror(errno));
		goto fail;
	}
	placed = 2;
	queue_fault("env-rename");
	queue_fault("dir-fsync");
	if (sync_dir(q, dfd, "", e) == -1)
		goto fail;
	/* From here on the mail is safe. */
	return 0;
fail:
	/*
	 * The caller will report a failure, so an entry must not remain
	 * to be delivered behind its back: remove even a complete one.
	 */
	if (placed == 2)
		(void)unlinkat(dfd, envname, 0);
	if (placed >= 1) {
		(void)unlinkat(dfd, msg, 0);
		(void)fsync(dfd);
	}
	(void)unlinkat(q->tmpfd, msg, 0);
	(void)unlinkat(q->tmpfd, envname, 0);
	queue_unlock(ent);
	return -1;
}

void
queue_abort(struct queue *q, struct queue_entry *ent)
{
	char name[QUEUE_NAMELEN + 1];

	if (ent->msg == NULL)
		return;
	fclose(ent->msg);
	ent->msg = NULL;
	entry_name(name, ent->id, ".msg");
	(void)unlinkat(q->tmpfd, name, 0);
	entry_name(name, ent->id, ".env");
	(void)unlinkat(q->tmpfd, name, 0);
	queue_unlock(ent);
}

/*
 * Reading the queue.
 */

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Open a fresh directory stream on dfd; it shares no file offset. */
static DIR *
open_stream(const struct queue *q, int dfd, const char *sub, struct err *e)
{
	DIR *d;
	int fd;

	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		err_set(e, ERR_IO, "cannot read queue directory '%s/%s': %s",
		    q->dir, sub, strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	return d;
}

/* If name is "ID.ext" with a valid ID, copy the ID into id. */
static int
split_name(const char *name, const char *ext, char id[QUEUE_IDLEN + 1])
{
	if (strlen(name) != QUEUE_NAMELEN || strcmp(name + QUEUE_IDLEN, ext))
		return 0;
	memcpy(id, name, QUEUE_IDLEN);
	id[QUEUE_IDLEN] = '\0';
	return queue_id_valid(id);
}

int
queue_list(struct queue *q, enum queue_area area, struct strlist *ids,
    struct err *e)
{
	char id[QUEUE_IDLEN + 1], msg[QUEUE_NAMELEN + 1];
	const char *sub = queue_area_sub[area];
	struct dirent *de;
	size_t first = ids->n;
	DIR *d;
	int r;

	if ((d = open_stream(q, q->fd[area], sub, e)) == NULL)
		return -1;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (!split_name(de->d_name, ".env", id))
			continue;
		entry_name(msg, id, ".msg");
		if ((r = exists_at(q->fd[area], msg)) == -1)
			break;
		if (r == 1)
			strlist_add(ids, id);
	}
	if (errno != 0) {
		err_set(e, ERR_IO, "cannot read queue directory '%s/%s': %s",
		    q->dir, sub, strerror(errno));
		closedir(d);
		return -1;
	}
	closedir(d);
	if (ids->n > first)	/* qsort wants a real array, even empty */
		qsort(ids->v + first, ids->n - first, sizeof(*ids->v), id_cmp);
	return 0;
}

int
queue_lock(struct queue *q, struct queue_entry *ent, struct err *e)
{
	char msg[QUEUE_NAMELEN + 1], envname[QUEUE_NAMELEN + 1];
	char path[PATH_MAX];
	int dfd = q->fd[ent->area], fd, saved, r;
	struct stat st, now;

	if (ent->lockfd != -1)
		return err_set(e, ERR_SOFTWARE, "queue_lock: entry '%s' is "
		    "locked already", ent->id);
	entry_name(msg, ent->id, ".msg");
	entry_name(envname, ent->id, ".env");
	queue_path(q, path, sizeof(path), queue_area_sub[ent->area], msg);
	if ((fd = open_entry_file(dfd, msg, path, e)) < 0)
		return fd == -2 ? 1 : -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		saved = errno;
		close(fd);
		if (saved == EWOULDBLOCK)
			return 1;
		return err_set(e, ERR_OS, "cannot lock '%s': %s", path,
		    strerror(saved));
	}
	/*
	 * Whoever held it before may have removed or failed the entry in
	 * the meantime; then our lock is on a file no longer in place.
	 */
	if (fstat(fd, &st) == -1 ||
	    fstatat(dfd, msg, &now, AT_SYMLINK_NOFOLLOW) == -1) {
		saved = errno;
		close(fd);
		if (saved == ENOENT)
			return 1;
		return err_set(e, ERR_IO, "cannot stat '%s': %s", path,
		    strerror(saved));
	}
	if (st.st_ino != now.st_ino || st.st_dev != now.st_dev ||
	    (r = exists_at(dfd, envname)) == 0) {
		close(fd);
		return 1;
	}
	if (r == -1) {
		saved = errno;
		close(fd);
		return err_set(e, ERR_IO, "cannot stat '%s': %s", path,
		    strerror(saved));
	}
	ent->lockfd = fd;
	return 0;
}

void
queue_unlock(struct queue_entry *ent)
{
	/* Close, not LOCK_UN: a forked child may share the open file. */
	if (ent->lockfd != -1)
		close(ent->lockfd);
	ent->lockfd = -1;
}

int
queue_open_message(struct queue *q, const struct queue_entry *ent,
    off_t *size, struct err *e)
{
	char name[QUEUE_NAMELEN + 1], path[PATH_MAX];
	struct stat st;
	int fd;

	entry_name(name, ent->id, ".msg");
	queue_path(q, path, sizeof(path), queue_area_sub[ent->area], name);
	fd = open_entry_file(q->fd[ent->area], name, path, e);
	if (fd == -2)
		return err_set(e, ERR_NOINPUT, "no queue entry '%s'", ent->id);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		err_set(e, ERR_IO, "cannot stat '%s': %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	*size = st.st_size;
	return fd;
}

/*
 * Changing an entry.
 */

static int
need_lock(const struct queue_entry *ent, const char *fn, struct err *e)
{
	if (ent->lockfd == -1)
		return err_set(e, ERR_SOFTWARE, "%s: entry '%s' is not locked",
		    fn, ent->id);
	return 0;
}

int
queue_update_envelope(struct queue *q, struct queue_entry *ent,
    const struct queue_envelope *env, struct err *e)
{
	char name[QUEUE_NAMELEN + 1], path[PATH_MAX];
	int dfd = q->fd[ent->area];

	if (need_lock(ent, "queue_update_envelope", e) == -1)
		return -1;
	if (env_write_tmp(q, ent, env, e) == -1)
		return -1;
	queue_fault("update-written");
	entry_name(name, ent->id, ".env");
	if (renameat(q->tmpfd, name, dfd, name) == -1) {
		queue_path(q, path, sizeof(path), queue_area_sub[ent->area],
		    name);
		err_set(e, errno_kind(errno), "cannot replace '%s': %s", path,
		    strerror(errno));
		(void)unlinkat(q->tmpfd, name, 0);
		return -1;
	}
	return sync_dir(q, dfd, queue_area_sub[ent->area], e);
}

static int
set_held(struct queue *q, struct queue_entry *ent,
    struct queue_envelope *env, int held, struct err *e)
{
	int was = env->held;

	env->held = held;
	if (queue_update_envelope(q, ent, env, e) == -1) {
		env->held = was;
		return -1;
	}
	return 0;
}

int
queue_hold(struct queue *q, struct queue_entry *ent,
    struct queue_envelope *env, struct err *e)
{
	return set_held(q, ent, env, 1, e);
}

int
queue_unhold(struct queue *q, struct queue_entry *ent,
    struct queue_envelope *env, struct err *e)
{
	return set_held(q, ent, env, 0, e);
}

int
queue_sync(struct queue *q, struct err *e)
{
	if (!q->unsynced)
		return 0;
	q->unsynced = 0;
	return sync_dir(q, q->fd[QUEUE_MAIN], queue_area_sub[QUEUE_MAIN], e);
}

int
queue_remove(struct queue *q, struct queue_entry *ent, struct err *e)
{
	char name[QUEUE_NAMELEN + 1], path[PATH_MAX];
	const char *sub = queue_area_sub[ent->area];
	int dfd = q->fd[ent->area], ret = -1;

	if (need_lock(ent, "queue_remove", e) == -1)
		return -1;
	/* The envelope first: without it, what is left is no entry. */
	entry_name(name, ent->id, ".env");
	if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
		goto fail;
	queue_fault("remove-between");
	entry_name(name, ent->id, ".msg");
	if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
		goto fail;
	if (q->defer_sync && ent->area == QUEUE_MAIN) {
		q->unsynced = 1;
		ret = 0;
	} else
		ret = sync_dir(q, dfd, sub, e);
	queue_unlock(ent);
	return ret;
fail:
	queue_path(q, path, sizeof(path), sub, name);
	err_set(e, errno_kind(errno), "cannot remove '%s': %s", path,
	    strerror(errno));
	queue_unlock(ent);
	return -1;
}

/*
 * Link the main ID.msg into failed/.  A link already there is ours from
 * a fail that crashed half-way, if it is the same file.  *linked tells
 * whether this call made it.
 */
static int
fail_link(struct queue *q, const char *msg, int *linked, struct err *e)
{
	struct stat a, b;
	char path[PATH_MAX];
	int mfd = q->fd[QUEUE_MAIN], ffd = q->fd[QUEUE_FAILED];

	*linked = 0;
	queue_path(q, path, sizeof(path), "failed/", msg);
	if (linkat(mfd, msg, ffd, msg, 0) == 0) {
		*linked = 1;
		return sync_dir(q, ffd, "failed/", e);
	}
	if (errno != EEXIST)
		return err_set(e, errno_kind(errno), "cannot link '%s': %s",
		    path, strerror(errno));
	if (fstatat(mfd, msg, &a, AT_SYMLINK_NOFOLLOW) == -1 ||
	    fstatat(ffd, msg, &b, AT_SYMLINK_NOFOLLOW) == -1)
		return err_set(e, ERR_IO, "cannot stat '%s': %s", path,
		    strerror(errno));
	if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		return err_set(e, ERR_CANTCREAT, "cannot link '%s': another "
		    "file is in the way", path);
	return 0;
}

/*
 * The order keeps the entry whole in at least one area at every moment:
 * link ID.msg into failed/, put failed/ID.env in place (the entry is now
 * in both), then remove it from the main queue, envelope first.
 */
int
queue_fail(struct queue *q, struct queue_entry *ent,
    struct queue_envelope *env, const char *reason, struct err *e)
{
	char msg[QUEUE_NAMELEN + 1], envname[QUEUE_NAMELEN + 1];
	char path[PATH_MAX];
	int mfd = q->fd[QUEUE_MAIN], ffd = q->fd[QUEUE_FAILED], linked = 0;

	if (need_lock(ent, "queue_fail", e) == -1)
		return -1;
	if (ent->area != QUEUE_MAIN) {
		err_set(e, ERR_SOFTWARE, "queue_fail: entry '%s' has failed "
		    "already", ent->id);
		goto out;
	}
	entry_name(msg, ent->id, ".msg");
	entry_name(envname, ent->id, ".env");
	queue_envelope_set(&env->last_error, reason);
	if (env_write_tmp(q, ent, env, e) == -1)
		goto out;
	if (fail_link(q, msg, &linked, e) == -1)
		goto undo;
	queue_fault("fail-link");
	if (renameat(q->tmpfd, envname, ffd, envname) == -1) {
		queue_path(q, path, sizeof(path), "failed/", envname);
		err_set(e, errno_kind(errno), "cannot move '%s' into place: "
		    "%s", path, strerror(errno));
		goto undo;
	}
	if (sync_dir(q, ffd, "failed/", e) == -1)
		goto out;
	queue_fault("fail-env");
	ent->area = QUEUE_FAILED;
	queue_path(q, path, sizeof(path), "", envname);
	if (unlinkat(mfd, envname, 0) == -1 && errno != ENOENT)
		goto unlink_failed;
	queue_fault("fail-between");
	queue_path(q, path, sizeof(path), "", msg);
	if (unlinkat(mfd, msg, 0) == -1 && errno != ENOENT)
		goto unlink_failed;
	queue_unlock(ent);
	return sync_dir(q, mfd, "", e);
unlink_failed:
	/* It is in failed/ now; a copy left behind is runq's to skip. */
	err_set(e, errno_kind(errno), "cannot remove '%s': %s", path,
	    strerror(errno));
	goto out;
undo:
	(void)unlinkat(q->tmpfd, envname, 0);
	if (linked)
		(void)unlinkat(ffd, msg, 0);
out:
	queue_unlock(ent);
	return -1;
}

/*
 * Cleaning up after crashes.
 */

/*
 * Remove name from dfd if it is an old regular file nobody has locked
 * and, when env is set, its envelope env still does not exist.  Returns
 * 1 removed, 0 left, -1 error.
 */
static int
clean_one(int dfd, const char *name, const char *env, time_t cutoff)
{
	struct stat st;
	int fd, r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISREG(st.st_mode) || st.st_mtime > cutoff)
		return 0;
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	/* A writer that is still alive holds the lock: leave it be. */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1)
		goto out;
	if (env != NULL && exists_at(dfd, env) != 0)
		goto out;
	if (unlinkat(dfd, name, 0) == 0)
		r = 1;
	else if (errno != ENOENT)
		r = -1;
out:
	close(fd);
	return r;
}

static int
clean_dir(struct queue *q, int dfd, const char *sub, int tmp, time_t cutoff,
    struct err *e)
{
	char id[QUEUE_IDLEN + 1], env[QUEUE_NAMELEN + 1], path[PATH_MAX];
	struct dirent *de;
	int n = 0, r;
	DIR *d;

	if ((d = open_stream(q, dfd, sub, e)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (tmp)
			r = clean_one(dfd, de->d_name, NULL, cutoff);
		else if (split_name(de->d_name, ".msg", id)) {
			entry_name(env, id, ".env");
			r = clean_one(dfd, de->d_name, env, cutoff);
		} else
			continue;
		if (r == -1) {
			queue_path(q, path, sizeof(path), sub, de->d_name);
			err_set(e, ERR_IO, "cannot clean up '%s': %s", path,
			    strerror(errno));
			closedir(d);
			return -1;
		}
		n += r;
	}
	closedir(d);
	if (n > 0 && sync_dir(q, dfd, sub, e) == -1)
		return -1;
	return n;
}

int
queue_clean(struct queue *q, time_t max_age, struct err *e)
{
	time_t cutoff = time(NULL) - max_age;
	int n = 0, r, i;

	if ((r = clean_dir(q, q->tmpfd, "tmp/", 1, cutoff, e)) == -1)
		return -1;
	n += r;
	for (i = 0; i < QUEUE_AREA_LAST; i++) {
		r = clean_dir(q, q->fd[i], queue_area_sub[i], 0, cutoff, e);
		if (r == -1)
			return -1;
		n += r;
	}
	return n;
}
