/*
 * cred.h - where an account's password comes from.  The sources, in the
 * order they are tried (envoi.conf(5) documents it):
 *
 *	1. password	in the configuration file (config.c refuses a
 *			file that group or others may read)
 *	2. passwordeval	the first line of a command's output
 *	3. keyring	the Secret Service, through libsecret (keyring.h)
 *	4. netrc	$NETRC, else ~/.netrc (netrc.h)
 *	5. prompt	asked on the controlling terminal, without echo
 *
 * A password or passwordeval in the file is the answer, right or wrong:
 * a failing passwordeval is an error, not a reason to look further.
 * The other three are tried in turn when the file names neither.  The
 * prompt needs a controlling terminal with envoi in its foreground, so
 * it never happens under cron, in a daemon or in a background job.
 *
 * Secrets never reach a log line, an argument or an environment
 * variable: the passwordeval command gets envoi's own environment (which
 * holds none), /dev/null on stdin, and no descriptor but stdout and
 * stderr.
 */
#ifndef ENVOI_CRED_H
#define ENVOI_CRED_H

#include "err.h"

enum cred_source {
	CRED_NONE,
	CRED_CONFIG,
	CRED_EVAL,
	CRED_KEYRING,
	CRED_NETRC,
	CRED_PROMPT,
	CRED_LAST
};

/* What to look for; every string is borrowed. */
struct cred_params {
	const char	*account;	/* its name, for messages */
	const char	*file;		/* the configuration file */
	const char	*host;
	const char	*user;
	const char	*password;	/* from the file, or NULL */
	const char	*passwordeval;	/* from the file, or NULL */
};

/*
 * Find the password: *password is allocated (the caller wipes and frees
 * it with wipe_free) and *source says where it came from.  ERR_CONFIG
 * when no source has one, naming what was tried; the error of a failing
 * passwordeval or an unsafe netrc; ERR_CONFIG when the prompt is
 * interrupted or answered with nothing.
 */
int	cred_password(const struct cred_params *, char **password,
	    enum cred_source *source, struct err *);

/*
 * Run a *eval command (key names it in errors: "passwordeval",
 * "refresh_tokeneval", ...) as passwordeval is run: *out is the first
 * line of its output (allocated; wipe_free it).
 */
int	cred_eval(const char *key, const char *cmd, char **out,
	    struct err *e);

/* "configuration", "passwordeval", "keyring", "netrc", "prompt". */
const char *cred_source_name(enum cred_source);

/*
 * envoi --store-password: read a password (asked twice without echo
 * when stdin is a terminal, else stdin's first line) and store it in
 * the keyring for the account's host and user.
 */
int	cred_store(const struct cred_params *, struct err *);

#endif
