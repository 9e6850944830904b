/*
 * compose.h - messages built from flags: -s subject, the body from
 * stdin or --body-file, --html, -A attachments, -c/-b/--from/--reply-to
 * and --header; or, with -A and no -s, attachments added to the complete
 * message on stdin.  The result is RFC 5322 text written to a FILE the
 * caller gives; the send pipeline reads it like any message (and adds
 * Date, Message-ID and the From of the account).
 *
 * -A takes "FILE" or "FILE;type=TYPE;name=NAME;inline" (options in any
 * order).  When FILE itself holds a ';', the whole argument is taken as
 * the file name if such a file exists.
 */
#ifndef ENVOI_COMPOSE_H
#define ENVOI_COMPOSE_H

#include <stdio.h>

#include "cli.h"
#include "err.h"

/*
 * Check everything that can be checked before a byte is written:
 * attachments and body files open and readable (ERR_NOINPUT naming the
 * file), header values free of control characters, names valid UTF-8
 * (ERR_USAGE).
 */
int	compose_check(const struct opts *, struct err *);

/* Write the message; in is the body (compose) or the message (add). */
int	compose_write(const struct opts *, int in, FILE *out, struct err *);

#endif
