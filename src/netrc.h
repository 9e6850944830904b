/*
 * netrc.h - passwords from a netrc(5) file, as ftp(1) and curl read it.
 *
 * Tokens are separated by white space; a token may be quoted with double
 * quotes, inside which a backslash takes the next character as it is.
 *
 *	machine NAME	starts an entry for host NAME
 *	default		starts the entry for any host (the last one)
 *	login NAME	the entry's user
 *	password TEXT	the entry's password
 *	account TEXT	read and ignored
 *	macdef NAME	a macro: skipped up to the next empty line
 *
 * An entry matches when its machine equals the host (ASCII case
 * insensitive) or it is the default entry, its login equals the user or
 * it has none, and it has a password.  The first matching machine entry
 * wins; the default entry only when no machine entry matches.
 */
#ifndef ENVOI_NETRC_H
#define ENVOI_NETRC_H

#include <stddef.h>

#include "err.h"

/*
 * Find the password for host and user in text[0..len): 1 and *password
 * (allocated; the caller wipes and frees it) when an entry matches, 0
 * when none does.  Pure: no I/O.
 */
int	netrc_parse(const char *text, size_t len, const char *host,
	    const char *user, char **password);

/*
 * The netrc file: $NETRC, else ~/.netrc; NULL when neither can be named.
 * Allocated.
 */
char	*netrc_path(void);

/*
 * Look host and user up in the file at path: 1 with *password (allocated)
 * when found, 0 when the file is missing or has no entry for them, -1
 * (ERR_CONFIG) when it cannot be read, or when it holds the password but
 * group or others may read it (as ftp(1) refuses it).
 */
int	netrc_lookup(const char *path, const char *host, const char *user,
	    char **password, struct err *e);

#endif
