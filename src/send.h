/*
 * send.h - the submission driver: from the message on a line reader and
 * the envelope arguments, through the account and the header edits, to
 * the spool file and the SMTP session.  main.c uses it once per run; the
 * -bs server once per message, keeping the SMTP session open between
 * messages of the same account.
 */
#ifndef ENVOI_SEND_H
#define ENVOI_SEND_H

#include <stddef.h>

#include "aliases.h"
#include "cli.h"
#include "config.h"
#include "cred.h"
#include "err.h"
#include "lineread.h"
#include "smtp.h"

/* Everything borrowed; rcpts are address lists, as on a command line. */
struct send_args {
	const char	 *sender;	/* -f, or MAIL FROM; NULL: choose */
	char *const	 *rcpts;
	size_t		  nrcpts;
	int		  read_rcpts;	/* -t */
	int		  ignore_dots;	/* -i */
	int		  smtp_data;	/* input is SMTP DATA (-bs) */
	/*
	 * Called once the whole message is spooled, before anything is
	 * sent: -1 (with e filled) stops the message.  Compose uses it to
	 * learn whether its writer finished.  NULL: nothing to check.
	 */
	int		(*input_done)(void *arg, struct err *e);
	void		 *input_arg;
};

struct send_ctx {
	const struct opts	*opts;		/* borrowed */
	char			*config_path;
	struct config		 config;
	int			 config_loaded;
	struct aliases		 aliases;
	char			*aliases_path;	/* what aliases holds */
	struct smtp_session	*session;	/* kept open with keep_open */
	char			 session_account[128];
	char			 session_host[256];	/* last tried */
	size_t			 session_host_index;
	struct smtp_params	 params;	/* what session points into */
	void			*tls_cache;	/* saved TLS session: secret */
	size_t			 tls_cache_len;
	char			 helo[256];
	char			*password;	/* see cred.h: wiped */
	char			 password_account[128];
	enum cred_source	 password_source;
	char			*oauth2_token;	/* access token: wiped */
	int			 keep_open;
	int			 last_ended;	/* the last input was read to
						   its end (its final dot) */
	int			 in_runq;	/* no catch-up from inside */
	int			 diag;		/* --serverinfo: no AUTH, and
						   verification only reported */
	int			 last_queued;	/* 1 queued, 2 held */
	char			 last_id[64];	/* its queue ID */
};

/* Load the configuration (the -C file, else the default one). */
int	send_init(struct send_ctx *, const struct opts *, struct err *);

/*
 * Read one message from lr and deliver it.  The account is chosen from
 * -a, then by sender, then the default.  On success, *status (if not
 * NULL) gets the smarthost's final reply.
 */
int	send_message(struct send_ctx *, struct lineread *lr,
	    const struct send_args *, char *status, size_t statussize,
	    struct err *);

/* Close any open session and free everything. */
void	send_release(struct send_ctx *);

/*
 * The SMTP session for an account: the open one when it belongs to the
 * same account and is still usable, else a new one, trying the hosts in
 * order and going on to the next only after a temporary failure
 * (connection, timeout, 4xx, name lookup).  The context owns it; NULL
 * with e filled (by the last host) when it cannot be opened.
 */
struct smtp_session *send_session(struct send_ctx *,
	    const struct account *, struct err *);
void	send_session_close(struct send_ctx *);

/*
 * One line in the account's mail log (logfile, syslog), if it has one,
 * naming the host of ctx's last session attempt.
 */
void	send_log(const struct send_ctx *, const struct account *,
	    const char *tls, const char *from,
	    char *const *rcpts, size_t nrcpts, long long size,
	    const char *status, const char *outcome, const char *error);

/* The queue directory of an account (allocated). */
char	*send_queue_dir(const struct account *);

/* The domain bare names get for this account (maildomain, from, host). */
void	send_domain(const struct account *, char *, size_t);

#endif
