/*
 * keyring.h - passwords in the desktop keyring (the freedesktop Secret
 * Service: GNOME Keyring, KeePassXC, KWallet) through libsecret, which
 * is loaded on first use, and only when a session bus is there to reach.
 *
 * An entry is found by the attributes msmtp and secret-tool use:
 *
 *	host	the account's host
 *	service	"smtp"
 *	user	the account's user
 *
 * so "secret-tool store --label=x host H service smtp user U" and
 * passwords msmtp stored are found too; after that, an entry of the old
 * GNOME network schema (server H, protocol smtp, user U).  envoi stores
 * under the first set, with the schema name "org.envoi.Password".
 */
#ifndef ENVOI_KEYRING_H
#define ENVOI_KEYRING_H

#include <stddef.h>

#include "err.h"

/* 1 when envoi was built with libsecret (configure --with-libsecret). */
int	keyring_built(void);

/*
 * Look the password up: 1 with *password (allocated: wipe and free it),
 * 0 when there is none, or no keyring can be reached; then why (when
 * not NULL) says which, in a few words.
 */
int	keyring_lookup(const char *host, const char *user, char **password,
	    char *why, size_t whysize);

/*
 * Store password for host and user in the default collection, replacing
 * an entry with the same attributes.  ERR_UNAVAILABLE when there is no
 * keyring to store it in.
 */
int	keyring_store(const char *host, const char *user,
	    const char *password, struct err *e);

#endif
