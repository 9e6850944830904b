/*
 * err.h - the error record every room fills, and the one table that turns
 * an error kind into a result class and a sysexits(3) exit status.
 *
 * A room that fails calls err_set() on a record its caller owns and
 * returns -1.  Only main.c turns the record into an exit status.
 */
#ifndef ENVOI_ERR_H
#define ENVOI_ERR_H

#include <stddef.h>

enum err_kind {
	ERR_NONE,
	ERR_USAGE,		/* bad command line */
	ERR_DATA,		/* malformed message or address */
	ERR_NOINPUT,		/* an input file is missing */
	ERR_RCPT,		/* a recipient was refused */
	ERR_NOHOST,		/* the host name does not resolve */
	ERR_UNAVAILABLE,	/* the server refused us for good */
	ERR_TLS,		/* TLS failed: certificate, handshake */
	ERR_SOFTWARE,		/* a bug: an impossible state */
	ERR_OS,			/* a system call failed */
	ERR_CANTCREAT,		/* a file cannot be created */
	ERR_IO,			/* an I/O error on a local file */
	ERR_TEMP,		/* try again later: 4xx, refused, timeout */
	ERR_PROTOCOL,		/* the server broke the protocol */
	ERR_AUTH,		/* authentication failed */
	ERR_CONFIG,		/* bad configuration */
	ERR_LAST
};

/* What the caller should do with a failure. */
enum err_class {
	ERR_CLASS_OK,		/* nothing went wrong */
	ERR_CLASS_TEMP,		/* keep the message and retry later */
	ERR_CLASS_HOLD,		/* keep the message, but a human must act */
	ERR_CLASS_PERM,		/* the message cannot be delivered */
	ERR_CLASS_LAST
};

#define ERR_MSGMAX 1024

struct err {
	enum err_kind	kind;
	char		msg[ERR_MSGMAX];
};

void		 err_init(struct err *);
/* Fill the record and return -1, so that rooms can "return err_set(...)". */
int		 err_set(struct err *, enum err_kind, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
int		 err_exitcode(enum err_kind);
enum err_class	 err_class(enum err_kind);
const char	*err_kindname(enum err_kind);

#endif
