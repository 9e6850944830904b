/*
 * oauth2.h - OAuth2 access tokens for SMTP AUTH (OAUTHBEARER, XOAUTH2):
 * a private cache file per account, and the refresh_token grant
 * (RFC 6749 6) against the provider's token endpoint over HTTPS, with
 * libcurl loaded on first use.  oauth2 reads no configuration: the
 * driver fills struct oauth2_params.
 */
#ifndef ENVOI_OAUTH2_H
#define ENVOI_OAUTH2_H

#include "err.h"

struct oauth2_params {
	/* The cache: <account>.token in the queue's checked oauth2/. */
	int		 cache_dfd;
	const char	*cache_name;
	const char	*token_url;	/* https:// */
	const char	*client_id;
	const char	*client_secret;	/* NULL: a public client */
	const char	*refresh_token;	/* never logged */
	/* Rewritten when the endpoint hands out a new refresh token. */
	const char	*refresh_token_file;
	const char	*scope;		/* NULL: what the grant had */
	const char	*trust_file;	/* CA file; NULL: the system's */
	int		 timeout_ms;
};

/*
 * The cached access token when it is still valid for at least
 * OAUTH2_MARGIN seconds: 1 and an allocated *token (wipe_free it);
 * 0 when there is none to use.
 */
#define OAUTH2_MARGIN	60
int	oauth2_cached(int dfd, const char *name, char **token);

/*
 * Ask the endpoint for a new access token and cache it.  Errors:
 * ERR_TEMP (unreachable, timeout, 5xx, 429), ERR_TLS (its certificate),
 * ERR_AUTH (it refused the grant: invalid_grant, invalid_client..., with
 * its error text sanitised), ERR_PROTOCOL (a reply that is not a token),
 * ERR_UNAVAILABLE (libcurl cannot be loaded).
 */
int	oauth2_refresh(const struct oauth2_params *, char **token,
	    struct err *);

/* Forget the cached token (it was refused). */
void	oauth2_forget(int dfd, const char *name);

#endif
