/*
 * queue.h - the durable local store: create, commit, list, lock, load,
 * update and remove queue entries.  Once queue_commit returns 0 the
 * message survives a crash or a power cut; before that, nothing of it is
 * visible.  The queue knows nothing of SMTP: it never retries, backs off
 * or connects (runq does), and it does not interpret the message.
 *
 * The queue directory (the caller names it) holds:
 *
 *	ID.msg, ID.env	entries waiting for delivery (held ones too)
 *	failed/		entries that failed for good, kept for recovery
 *	tmp/		files being written; renamed into place when done
 *	tls/		send's TLS session cache (queue_subdir)
 *
 * Every directory is created mode 0700 and every file 0600, all owned by
 * the effective user.  Those modes go to mkdir and open, so the umask can
 * only take bits away: a umask of 022 or 077 gives the same result, and
 * one stricter than 077 is obeyed (envoi then fails where it needs the
 * bit it took away).  A directory already there is used as it is if it
 * is a real directory (not a symbolic link), belongs to the effective
 * user and is not writable by group or others; the modes of existing
 * files are not changed.  Missing parents of the queue directory are
 * created 0700; existing parents are the user's business and not
 * checked.  Entry files are opened with O_NOFOLLOW relative to the
 * directory descriptors, new ones with O_CREAT | O_EXCL, and only regular
 * files are used: a symbolic link planted anywhere in the queue is
 * refused with an error naming it, never followed.
 *
 * An entry is a pair of files:
 *
 *	ID.msg	the message in spool form (message.h): CRLF lines,
 *		dot-stuffed, without the closing ".".  Stored as given.
 *	ID.env	the envelope: UTF-8 text, one "key: value" line each,
 *		every line ending in LF, "version: 1" first.
 *
 * The commit point: an entry exists exactly when its ID.env exists.  The
 * message is renamed into place (and the directory synced) before the
 * envelope, and on removal the envelope goes first, so a crash leaves at
 * worst an ID.msg without an ID.env.  That is not an entry: queue_list
 * skips it and queue_clean removes it once it is old.  An ID.env never
 * exists without its ID.msg.
 *
 * Held entries stay in the main directory with "held: 1" in the envelope,
 * so holding or releasing one is a single atomic envelope rewrite.
 * queue_list returns them; runq must skip them.
 *
 * IDs are "SSSSSSSSSS-UUUUU-PPPPPPPP-RRRRRRRR": seconds, microseconds,
 * process ID and 32 random bits, in fixed-width lowercase hex.  They sort
 * by creation time as plain strings, are safe as file names, and are
 * unique: within a process they strictly increase, and two processes
 * alive at once have different PIDs.
 *
 * Envelope keys, in the order written:
 *
 *	version: 1		always first; a reader refuses a higher one
 *	created: 1700000000	unix time the entry was committed
 *	sender: a@example.org	empty value for the null sender <>
 *	account: work		the account name, when there is one
 *	ret: HDRS		DSN RET, when given
 *	envid: abc		DSN ENVID, when given
 *	rcpt: b@example.org	one line per recipient, in order
 *	notify: SUCCESS,FAILURE	DSN NOTIFY of the rcpt line just above
 *	attempts: 0		delivery attempts so far
 *	next_try: 0		unix time before which runq leaves it alone
 *	last_error: ...		one line, control characters replaced
 *	held: 1			written only when held
 *
 * Readers ignore keys they do not know, so a newer writer may add some.
 *
 * Value encoding: the value is everything after ": " up to the LF.  So
 * that no value can add a line or be cut short, a writer encodes '%',
 * every control character (0x00-0x1f and 0x7f, which includes CR, LF
 * and NUL), every byte that is not part of valid UTF-8, and a space at
 * the start or end of the value, as '%' and two uppercase hex digits.
 * Everything else (spaces, quotes, backslashes, UTF-8) is written as it
 * is.  A reader decodes any "%XX"; a '%' without two hex digits after
 * it, or a decoded NUL, makes the envelope malformed.
 *
 * Locking: queue_lock takes flock(2) on the entry's ID.msg, which is
 * never rewritten (envelope updates replace ID.env, so a lock on it would
 * not stay with the entry).  flock locks belong to the open file and go
 * away when the holder closes it or dies.  A forked child shares its
 * parent's locks: it must not use the parent's entries.
 *
 * Fault injection for tests: when ENVOI_QUEUE_FAULT names one of these
 * steps, the process kills itself with SIGKILL there, exactly as a crash
 * would.  Nothing happens when the variable is unset.
 *
 *	commit:	msg-written	the message is flushed to its temp file
 *		msg-fsync	... and synced
 *		env-fsync	the envelope temp file is written and synced
 *		msg-rename	ID.msg is in place, ID.env is not
 *		env-rename	ID.env is in place, before the last dir sync
 *		dir-fsync	just before the directory is synced
 *	update:	update-written	the new envelope is synced, not renamed
 *	remove:	remove-between	ID.env is gone, ID.msg is not
 *	fail:	fail-link	ID.msg is linked into failed/
 *		fail-env	failed/ID.env is in place, the entry is in both
 *		fail-between	the main ID.env is gone, the main ID.msg not
 *
 * The module keeps the last ID it made in a static variable, so it is
 * not thread-safe.
 */
#ifndef ENVOI_QUEUE_H
#define ENVOI_QUEUE_H

#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "err.h"
#include "util.h"

#define QUEUE_VERSION	1
#define QUEUE_IDLEN	34		/* without the NUL */
#define QUEUE_ERRMAX	1000		/* bytes of last_error kept */
#define QUEUE_STALE	(24 * 60 * 60)	/* queue_clean's usual age */

enum queue_area {
	QUEUE_MAIN,			/* waiting (or held) */
	QUEUE_FAILED,			/* failed/: failed for good */
	QUEUE_AREA_LAST
};

struct queue {
	char	*dir;			/* allocated copy of the path */
	int	 fd[QUEUE_AREA_LAST];	/* directory of each area */
	int	 tmpfd;			/* tmp/ */
	/*
	 * Batch mode for queue runs: queue_remove leaves the directory
	 * sync to queue_sync.  A crash before it can bring back a removed
	 * entry, that is, send a message twice; never lose one.
	 */
	int	 defer_sync;
	int	 unsynced;
};

/*
 * One entry, by ID and area.  It owns its lock and, between queue_create
 * and queue_commit or queue_abort, the message file being written.
 */
struct queue_entry {
	char		 id[QUEUE_IDLEN + 1];
	enum queue_area	 area;
	int		 lockfd;	/* ID.msg under flock; -1: not locked */
	FILE		*msg;		/* the temp message; NULL otherwise */
};

struct queue_rcpt {
	char	*addr;
	char	*notify;		/* DSN NOTIFY; NULL when not given */
};

/*
 * The envelope owns every string in it; queue_envelope_release frees
 * them.  Set them with queue_envelope_set or xstrdup.
 */
struct queue_envelope {
	char			*sender;	/* "" is the null sender */
	struct queue_rcpt	*rcpts;
	size_t			 nrcpts;
	size_t			 rcptcap;
	char			*account;	/* NULL: none */
	char			*dsn_ret;	/* NULL: not given */
	char			*dsn_envid;	/* NULL: not given */
	char			*body;		/* "8BITMIME"; NULL: 7bit */
	time_t			 created;	/* 0: stamped by queue_commit */
	unsigned long		 attempts;
	time_t			 next_try;
	char			*last_error;	/* NULL: none yet */
	int			 held;
};

void	queue_envelope_init(struct queue_envelope *);
void	queue_envelope_release(struct queue_envelope *);
/* Replace *field, one of env's strings, with a copy of value (or NULL). */
void	queue_envelope_set(char **field, const char *value);
/* Append a recipient; both strings are copied, notify may be NULL. */
void	queue_envelope_add_rcpt(struct queue_envelope *, const char *addr,
	    const char *notify);

/*
 * Open the queue at dir, creating it and any missing parents (mode 0700)
 * and its tmp/ and failed/ subdirectories.  dir is copied.  A directory
 * that is a symbolic link, belongs to another user or is writable by
 * group or others is refused, as is one that cannot be created or
 * opened: ERR_CANTCREAT, naming the directory and the problem.
 * queue_close frees what q holds.
 */
/* Keep only the recipients whose address is in keep (order kept). */
void	queue_envelope_keep(struct queue_envelope *, const struct strlist *keep);

int	queue_open(struct queue *q, const char *dir, struct err *e);
void	queue_close(struct queue *q);
/*
 * Open (creating it if missing) the subdirectory name of an open queue,
 * for a caller's own private state (send keeps its TLS session cache in
 * "tls").  It is checked as queue_open checks the queue's own
 * directories.  Returns a descriptor the caller closes, or -1.
 */
int	queue_subdir(struct queue *q, const char *name, struct err *e);
/* Sync the main directory if removals were deferred (see defer_sync). */
int	queue_sync(struct queue *q, struct err *e);

/* Write a new unique ID (QUEUE_IDLEN characters and a NUL) into buf. */
void	queue_id_new(char buf[QUEUE_IDLEN + 1]);
/* 1 if s has the form of an ID, else 0. */
int	queue_id_valid(const char *s);

/* An empty, unlocked entry. */
void	queue_entry_init(struct queue_entry *);
/* Name an existing entry; a malformed id is ERR_USAGE. */
int	queue_entry_set(struct queue_entry *, enum queue_area,
	    const char *id, struct err *e);

/*
 * Start a new entry: a fresh ID and an empty temp message file, locked.
 * *msg_out is the entry's: write the spool form to it, but do not close
 * it.  Then call exactly one of queue_commit and queue_abort.
 */
int	queue_create(struct queue *q, struct queue_entry *ent, FILE **msg_out,
	    struct err *e);

/*
 * Make the entry durable with envelope env (it needs a sender and at
 * least one recipient; created 0 means now).  On success the entry is
 * in the queue and still locked by the caller: deliver it and
 * queue_remove it, or queue_unlock it and leave it to runq.  On failure
 * it returns -1, ERR_CANTCREAT (permissions, creation) or ERR_IO (write,
 * sync, space) naming the path, and nothing of the entry remains; ent
 * is then unlocked.
 */
int	queue_commit(struct queue *q, struct queue_entry *ent,
	    const struct queue_envelope *env, struct err *e);
/* Give up a created entry: close and remove its temp files. */
void	queue_abort(struct queue *q, struct queue_entry *ent);

/*
 * Put the IDs of the entries in area into ids (the caller's, already
 * initialised; the IDs are added), sorted by ID, which is creation
 * order.  An ID.msg without its ID.env is not listed.
 */
int	queue_list(struct queue *q, enum queue_area area, struct strlist *ids,
	    struct err *e);

/*
 * Lock ent without waiting: 0 locked, 1 busy (another open file has it,
 * in this process or another) or gone (it was removed or failed while
 * we looked: skip it either way), -1 error.
 */
int	queue_lock(struct queue *q, struct queue_entry *ent, struct err *e);
/* Drop the lock, if ent holds one. */
void	queue_unlock(struct queue_entry *ent);

/*
 * Read ent's envelope into env, which is released first.  A missing
 * entry is ERR_NOINPUT, a malformed envelope ERR_DATA, one written by a
 * newer envoi ERR_CONFIG (leave it for that version), a read failure
 * ERR_IO.  No lock is needed to read.
 */
int	queue_load_envelope(struct queue *q, const struct queue_entry *ent,
	    struct queue_envelope *env, struct err *e);

/*
 * Open ent's message for reading.  Returns the descriptor, which the
 * caller closes, and its size in *size; -1 on error.
 */
int	queue_open_message(struct queue *q, const struct queue_entry *ent,
	    off_t *size, struct err *e);

/*
 * The calls below change an entry and need its lock (ERR_SOFTWARE
 * otherwise).  Each either completes or leaves the entry as it was,
 * whatever the moment of a crash.
 *
 * queue_update_envelope replaces the envelope with env as a whole
 * (attempts, next_try, last_error, held and the rest).
 */
int	queue_update_envelope(struct queue *q, struct queue_entry *ent,
	    const struct queue_envelope *env, struct err *e);
/* Set or clear env->held and write it, as queue_update_envelope. */
int	queue_hold(struct queue *q, struct queue_entry *ent,
	    struct queue_envelope *env, struct err *e);
int	queue_unhold(struct queue *q, struct queue_entry *ent,
	    struct queue_envelope *env, struct err *e);
/*
 * Delete the entry, ID.env first.  The lock is released whether or not
 * it succeeds.
 */
int	queue_remove(struct queue *q, struct queue_entry *ent, struct err *e);
/*
 * Move the entry into failed/ with env, whose last_error is set to
 * reason (copied) first; ent then names the failed entry.  The lock is
 * released whether or not it succeeds.  A crash part-way leaves the
 * entry whole in the main queue, in failed/, or in both; calling
 * queue_fail again finishes the move.
 */
int	queue_fail(struct queue *q, struct queue_entry *ent,
	    struct queue_envelope *env, const char *reason, struct err *e);

/*
 * Remove leftovers older than max_age seconds that nobody holds locked:
 * files in tmp/ and ID.msg files without an ID.env in either area.
 * Returns how many were removed, or -1.  Runq calls it with QUEUE_STALE.
 */
int	queue_clean(struct queue *q, time_t max_age, struct err *e);

#endif
