/*
 * auth.h - SMTP AUTH mechanisms: choosing the mechanism and running its
 * steps, through libgsasl, or here for the bearer-token mechanisms
 * OAUTHBEARER (RFC 7628) and XOAUTH2, which libgsasl lacks.  auth never touches the socket: smtp
 * sends the lines auth produces and hands back the server's challenges.
 */
#ifndef ENVOI_AUTH_H
#define ENVOI_AUTH_H

#include <stddef.h>

#include "err.h"

struct auth_params {
	/*
	 * "on": the strongest mechanism both sides have, and never one
	 * that sends the password in clear on a connection without TLS;
	 * otherwise a list of mechanisms (space or comma separated) the
	 * user insists on, tried in that order, even without TLS.
	 */
	const char	*mechanisms;
	const char	*user;
	const char	*password;	/* borrowed; never logged */
	const char	*hostname;	/* the server's name, for GSASL */
	int		 encrypted;	/* the connection runs under TLS */
	int		 client_cert;	/* and we presented a certificate */
	/*
	 * The password is an OAuth2 access token: "on" then picks
	 * OAUTHBEARER or XOAUTH2 (under TLS only) and nothing else.
	 */
	int		 oauth2;
	/* TLS channel binding for SCRAM-*-PLUS; NULL type: none. */
	const char	*cb_type;	/* "tls-unique" or "tls-exporter" */
	unsigned char	*cb_data;	/* borrowed */
	size_t		 cb_len;
};

struct auth;

/*
 * Pick the mechanism to use from the server's AUTH offer (space
 * separated).  Fills mech; ERR_AUTH when none fits, naming what the
 * server offered.
 */
int		 auth_choose(const struct auth_params *, const char *offered,
		    char *mech, size_t size, struct err *);

/* 1 when the server's AUTH list offers mech. */
int		 auth_offered(const char *offered, const char *mech);

/*
 * 1 when every mechanism of an auth list logs in without a password
 * (EXTERNAL, GSSAPI): no password is looked up for it.
 */
int		 auth_secretless(const char *list);

/* 1 when the client speaks first (send an initial response). */
int		 auth_client_first(const char *mech);

struct auth	*auth_start(const struct auth_params *, const char *mech,
		    struct err *);
/*
 * One step: in is the server's base64 challenge (NULL for the initial
 * response).  *out is set to an allocated base64 response (possibly
 * empty) that the caller sends, then wipes and frees with wipe_free.
 * Returns 1 when more steps are expected, 0 when the client is done, -1
 * on error (ERR_AUTH).
 */
int		 auth_step(struct auth *, const char *in, char **out,
		    struct err *);
void		 auth_free(struct auth *);

/*
 * What the server said about a failed exchange beyond its reply (the
 * status of an OAUTHBEARER or XOAUTH2 error challenge), printable; ""
 * when nothing.
 */
const char	*auth_detail(const struct auth *);

#endif
