/*
 * runq.h - working the queue: deliver what is due (envoi -q), settle
 * the outcome of an attempt (retry later with backoff, hold, or fail
 * for good and tell the sender), list the queue (mailq), and the
 * commands on single entries.  It never speaks SMTP itself: it gets
 * sessions from send.c and hands them envelopes.
 */
#ifndef ENVOI_RUNQ_H
#define ENVOI_RUNQ_H

#include <stdio.h>

#include "config.h"
#include "err.h"
#include "queue.h"
#include "send.h"

#define RUNQ_BACKOFF_MIN	60	/* first retry after about a minute */
#define RUNQ_BACKOFF_MAX	3600	/* then doubling, up to an hour */
#define RUNQ_CATCHUP_MS		10000	/* catch-up after a direct send */

enum runq_cmd {
	RUNQ_REMOVE,
	RUNQ_RETRY,
	RUNQ_HOLD,
	RUNQ_RELEASE,
	RUNQ_CMD_LAST
};

struct runq_stats {
	size_t	sent;
	size_t	deferred;
	size_t	failed;
	size_t	held;
	size_t	busy;		/* locked by another run */
};

/*
 * Settle an attempt on a locked entry: result NULL or ERR_NONE means
 * delivered (remove it); a temporary error retries later (or fails for
 * good past queue_max_age); a hold-class error holds it; a permanent one
 * moves it to failed/ and, with notify and queue_notify, tells the
 * sender.  The entry is unlocked afterwards.
 */
int	runq_settle(struct send_ctx *, struct queue *, struct queue_entry *,
	    struct queue_envelope *, const struct account *,
	    const struct err *result, int notify, struct err *e);

/*
 * Deliver every due entry of every queue directory the configuration
 * uses (all of them with force, due or not); one session per account.
 */
int	runq_flush(struct send_ctx *, int force, struct runq_stats *,
	    struct err *);

/* After a direct send: the account's due entries, briefly. */
void	runq_catch_up(struct send_ctx *, const struct account *);

/* mailq: one line per entry, or a JSON array. */
int	runq_list(struct send_ctx *, FILE *, int json, struct err *);

/* Act on the entry id (found in any of the queue directories). */
int	runq_command(struct send_ctx *, enum runq_cmd, const char *id,
	    struct err *);

/* Seconds until the next try after the given number of attempts. */
long	runq_backoff(unsigned long attempts);

#endif
