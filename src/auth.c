/*
 * auth.c - libgsasl glue, and the bearer-token mechanisms.
 *
 * The automatic choice walks auth_prefs[] from the strongest mechanism
 * down: EXTERNAL when TLS carried a client certificate, then SCRAM.
 * Mechanisms that hand the password to the server (PLAIN, LOGIN) or
 * whose exchange is weak (CRAM-MD5) are only chosen under TLS.  GSSAPI
 * and others libgsasl has are used when auth names them.
 *
 * OAUTHBEARER (RFC 7628) and XOAUTH2 (Google's, also Microsoft's) send
 * an OAuth2 access token, which lets anyone who sees it act as the user:
 * they run under TLS only, and "on" picks them only for an account whose
 * password is such a token (auth_params.oauth2).  Their initial response:
 *
 *	OAUTHBEARER	"n,a=" user "," ^A "host=" host ^A "auth=Bearer "
 *			token ^A ^A
 *	XOAUTH2		"user=" user ^A "auth=Bearer " token ^A ^A
 *
 * On a refused token the server sends a 334 challenge holding a JSON
 * error ({"status":"invalid_token",...}); the client answers ^A
 * (OAUTHBEARER) or nothing (XOAUTH2) and the server ends with 535.  The
 * status is kept, sanitised, for the error message.
 */
#include "autoconf.h"

#include <gsasl.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "dl.h"
#include "encode.h"
#include "json.h"
#include "util.h"

/*
 * The library is loaded on first use (dl.h): every call goes through
 * this table, filled by gsasl_load().
 */
#define GS_API(X) \
	X(gsasl_base64_to) \
	X(gsasl_callback_set) \
	X(gsasl_client_start) \
	X(gsasl_client_support_p) \
	X(gsasl_done) \
	X(gsasl_finish) \
	X(gsasl_free) \
	X(gsasl_init) \
	X(gsasl_property_fast) \
	X(gsasl_property_set) \
	X(gsasl_session_hook_get) \
	X(gsasl_session_hook_set) \
	X(gsasl_step) \
	X(gsasl_strerror)

static struct {
#define X(f) __typeof__(&f) f;
	GS_API(X)
#undef X
} gs;

static const char *const gs_names[] = {
#define X(f) #f,
	GS_API(X)
#undef X
};

static int gs_loaded;

static int
gsasl_load(struct err *e)
{
	return dl_load(GSASL_SONAME, gs_names, (void **)(void *)&gs,
	    sizeof(gs_names) / sizeof(gs_names[0]), &gs_loaded, e);
}

static const struct {
	const char	*name;
	int		 needs_tls;	/* 1: TLS; 2: TLS channel binding;
					   3: TLS with a client certificate */
} auth_prefs[] = {
	/* The certificate TLS verified is the login: no secret sent. */
	{ "EXTERNAL",		3 },
	{ "SCRAM-SHA-256-PLUS",	2 },
	{ "SCRAM-SHA-1-PLUS",	2 },
	{ "SCRAM-SHA-256",	0 },
	{ "SCRAM-SHA-1",	0 },
	{ "PLAIN",		1 },
	{ "LOGIN",		1 },
	{ "CRAM-MD5",		1 },
};

/* Mechanisms in which the server speaks first. */
static const char *auth_server_first[] = {
	"LOGIN", "CRAM-MD5", "DIGEST-MD5"
};

/* The bearer-token mechanisms, in the order "on" prefers them. */
static const char *const auth_bearer[] = { "OAUTHBEARER", "XOAUTH2" };
#define NBEARER (sizeof(auth_bearer) / sizeof(auth_bearer[0]))

struct auth {
	Gsasl			*ctx;
	Gsasl_session		*session;
	const struct auth_params *params;
	int			 plus;	/* a -PLUS mechanism: binds to TLS */
	const char		*bearer;	/* a bearer mechanism, or NULL */
	char			 detail[96];	/* from an error challenge */
	char			 mech[32];	/* for errors */
};

static int
auth_is_bearer(const char *mech)
{
	size_t i;

	for (i = 0; i < NBEARER; i++)
		if (strcasecmp(mech, auth_bearer[i]) == 0)
			return 1;
	return 0;
}

static int
word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncasecmp(p, word, n) == 0 &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == ','))
			return 1;
		while (*p && *p != ' ' && *p != ',')
			p++;
	}
	return 0;
}

int
auth_offered(const char *offered, const char *mech)
{
	return word_in(offered, mech);
}

/* Mechanisms that log in without a password: a certificate, a ticket. */
static const char *const auth_secretless_mechs[] = { "EXTERNAL", "GSSAPI" };

int
auth_secretless(const char *list)
{
	const char *p = list;
	size_t i, n, words = 0;

	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		for (n = 0; p[n] && p[n] != ' ' && p[n] != ','; n++)
			;
		if (n == 0)
			break;
		for (i = 0; i < sizeof(auth_secretless_mechs) /
		    sizeof(auth_secretless_mechs[0]); i++)
			if (strlen(auth_secretless_mechs[i]) == n &&
			    strncasecmp(p, auth_secretless_mechs[i], n) == 0)
				break;
		if (i == sizeof(auth_secretless_mechs) /
		    sizeof(auth_secretless_mechs[0]))
			return 0;
		words++;
		p += n;
	}
	return words > 0;
}

int
auth_client_first(const char *mech)
{
	size_t i;

	for (i = 0; i < sizeof(auth_server_first) /
	    sizeof(auth_server_first[0]); i++)
		if (strcasecmp(mech, auth_server_first[i]) == 0)
			return 0;
	return 1;
}

static int
auth_supported(const char *mech)
{
	Gsasl *ctx;
	int ok;

	if (auth_is_bearer(mech))
		return 1;
	if (gs.gsasl_init(&ctx) != GSASL_OK)
		return 0;
	ok = gs.gsasl_client_support_p(ctx, mech);
	gs.gsasl_done(ctx);
	return ok;
}

static int
choose_forced(const struct auth_params *p, const char *offered, char *mech,
    size_t size, int *cleartoken)
{
	const char *s = p->mechanisms;
	char word[64];
	size_t n;

	while (*s) {
		while (*s == ' ' || *s == ',')
			s++;
		for (n = 0; s[n] && s[n] != ' ' && s[n] != ','; n++)
			;
		if (n > 0 && n < sizeof(word)) {
			size_t i;

			for (i = 0; i < n; i++)
				word[i] = (char)toupper((unsigned char)s[i]);
			word[n] = '\0';
			/* A bearer token is as good as the password. */
			if (auth_is_bearer(word) && !p->encrypted)
				*cleartoken = 1;
			else if (word_in(offered, word) &&
			    auth_supported(word)) {
				snprintf(mech, size, "%s", word);
				return 0;
			}
		}
		s += n;
	}
	return -1;
}

/* An OAuth2 account with auth "on": a bearer mechanism or nothing. */
static int
choose_bearer(const struct auth_params *p, const char *offered, char *mech,
    size_t size, struct err *e)
{
	size_t i;

	if (!p->encrypted)
		return err_set(e, ERR_AUTH, "refusing to send an OAuth2 token "
		    "on a connection without TLS");
	for (i = 0; i < NBEARER; i++)
		if (word_in(offered, auth_bearer[i])) {
			snprintf(mech, size, "%s", auth_bearer[i]);
			return 0;
		}
	return err_set(e, ERR_AUTH, "the account uses OAuth2, but the server "
	    "offers neither OAUTHBEARER nor XOAUTH2 (it offers: %s)", offered);
}

int
auth_choose(const struct auth_params *p, const char *offered, char *mech,
    size_t size, struct err *e)
{
	int cleartoken = 0;
	size_t i;

	if (strcasecmp(p->mechanisms, "on") == 0 && p->oauth2)
		return choose_bearer(p, offered, mech, size, e);
	if (gsasl_load(e) == -1)
		return -1;
	if (strcasecmp(p->mechanisms, "on") != 0) {
		if (choose_forced(p, offered, mech, size, &cleartoken) == 0)
			return 0;
		if (cleartoken)
			return err_set(e, ERR_AUTH, "OAUTHBEARER and XOAUTH2 "
			    "send a bearer token: refusing them on a "
			    "connection without TLS");
		return err_set(e, ERR_AUTH, "the server offers none of the "
		    "configured mechanisms '%s' (it offers: %s)",
		    p->mechanisms, offered);
	}
	for (i = 0; i < sizeof(auth_prefs) / sizeof(auth_prefs[0]); i++) {
		if (auth_prefs[i].needs_tls && !p->encrypted)
			continue;
		if (auth_prefs[i].needs_tls == 3 && !p->client_cert)
			continue;
		/* 2: channel binding, which needs its data from TLS. */
		if (auth_prefs[i].needs_tls == 2 && p->cb_type == NULL)
			continue;
		if (word_in(offered, auth_prefs[i].name) &&
		    auth_supported(auth_prefs[i].name)) {
			snprintf(mech, size, "%s", auth_prefs[i].name);
			return 0;
		}
	}
	if (!p->encrypted)
		return err_set(e, ERR_AUTH, "no safe authentication mechanism "
		    "without TLS (the server offers: %s); enable TLS, or name "
		    "a mechanism with auth", offered);
	return err_set(e, ERR_AUTH, "no usable authentication mechanism "
	    "(the server offers: %s)", offered);
}

/* The channel binding data, base64, when the TLS version has it. */
static int
auth_cb(struct auth *a, Gsasl_session *sctx, Gsasl_property prop)
{
	const struct auth_params *p = a->params;
	const char *want = prop == GSASL_CB_TLS_UNIQUE ? "tls-unique" :
	    "tls-exporter";
	char *b64 = NULL;
	size_t len = 0;

	/*
	 * Only a -PLUS mechanism gets the data: offered to plain SCRAM,
	 * libgsasl 2.2 fails its first step instead of sending "n,,".
	 */
	if (!a->plus || p->cb_type == NULL || strcmp(p->cb_type, want) != 0)
		return GSASL_NO_CALLBACK;
	if (gs.gsasl_base64_to((const char *)p->cb_data, p->cb_len, &b64,
	    &len) != GSASL_OK)
		return GSASL_NO_CALLBACK;
	gs.gsasl_property_set(sctx, prop, b64);
	gs.gsasl_free(b64);
	return GSASL_OK;
}

static int
auth_callback(Gsasl *ctx, Gsasl_session *sctx, Gsasl_property prop)
{
	struct auth *a = gs.gsasl_session_hook_get(sctx);
	const char *v = NULL;

	(void)ctx;
	if (a == NULL)
		return GSASL_NO_CALLBACK;
	switch (prop) {
	case GSASL_AUTHID:
		v = a->params->user;
		break;
	case GSASL_PASSWORD:
		v = a->params->password;
		break;
	case GSASL_SERVICE:
		v = "smtp";
		break;
	case GSASL_HOSTNAME:
		v = a->params->hostname;
		break;
	case GSASL_CB_TLS_UNIQUE:
	case GSASL_CB_TLS_EXPORTER:
		return auth_cb(a, sctx, prop);
	default:
		break;
	}
	if (v == NULL)
		return GSASL_NO_CALLBACK;
	gs.gsasl_property_set(sctx, prop, v);
	return GSASL_OK;
}

struct auth *
auth_start(const struct auth_params *p, const char *mech, struct err *e)
{
	struct auth *a;
	int rc;

	if (auth_is_bearer(mech)) {
		a = xcalloc(1, sizeof(*a));
		a->params = p;
		a->bearer = strcasecmp(mech, "XOAUTH2") == 0 ? "XOAUTH2" :
		    "OAUTHBEARER";
		return a;
	}
	if (gsasl_load(e) == -1)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	a->params = p;
	snprintf(a->mech, sizeof(a->mech), "%s", mech);
	a->plus = strlen(mech) > 5 &&
	    strcasecmp(mech + strlen(mech) - 5, "-PLUS") == 0;
	if ((rc = gs.gsasl_init(&a->ctx)) != GSASL_OK) {
		err_set(e, ERR_AUTH, "SASL: %s", gs.gsasl_strerror(rc));
		goto fail;
	}
	gs.gsasl_callback_set(a->ctx, auth_callback);
	if ((rc = gs.gsasl_client_start(a->ctx, mech, &a->session)) !=
	    GSASL_OK) {
		err_set(e, ERR_AUTH, "SASL %s: %s", mech, gs.gsasl_strerror(rc));
		goto fail;
	}
	gs.gsasl_session_hook_set(a->session, a);
	return a;
fail:
	auth_free(a);
	return NULL;
}

/* base64 on one line (encode.c wraps at 76 and ends with CRLF). */
static char *
b64_line_of(const char *in, size_t len)
{
	struct b64_enc enc;
	char *out = xmalloc(b64_encode_bound(len) + B64_FINISH_MAX + 1);
	size_t n, i, k;

	b64_init(&enc);
	n = b64_encode(&enc, (const unsigned char *)in, len, out);
	n += b64_finish(&enc, out + n);
	for (i = k = 0; i < n; i++)
		if (out[i] != '\r' && out[i] != '\n')
			out[k++] = out[i];
	out[k] = '\0';
	return out;
}

/* RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-._~+/" ) *"=" */
static int
bearer_token_ok(const char *t)
{
	size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~+/");

	if (n == 0)
		return 0;
	return t[n + strspn(t + n, "=")] == '\0';
}

/* Append n bytes at *o. */
static void
put(char **o, const char *s, size_t n)
{
	memcpy(*o, s, n);
	*o += n;
}

/* RFC 5801 saslname: ',' and '=' are escaped as =2C and =3D. */
static void
put_gs2_name(char **o, const char *user)
{
	for (; *user; user++) {
		if (*user == ',')
			put(o, "=2C", 3);
		else if (*user == '=')
			put(o, "=3D", 3);
		else
			put(o, user, 1);
	}
}

static int
bearer_initial(struct auth *a, char **out, struct err *e)
{
	const struct auth_params *p = a->params;
	const char *host = p->hostname ? p->hostname : "";
	size_t size;
	char *msg, *o;

	if (p->password == NULL || !bearer_token_ok(p->password))
		return err_set(e, ERR_AUTH, "%s: the access token is empty or "
		    "holds characters a bearer token cannot have", a->bearer);
	if (p->user == NULL || has_ctl(p->user) || has_ctl(host))
		return err_set(e, ERR_AUTH, "%s: the user or host name holds "
		    "control characters", a->bearer);
	size = 32 + 3 * strlen(p->user) + strlen(host) + strlen(p->password);
	o = msg = xmalloc(size);
	if (strcmp(a->bearer, "OAUTHBEARER") == 0) {
		put(&o, "n,a=", 4);
		put_gs2_name(&o, p->user);
		put(&o, ",\1host=", 7);
		put(&o, host, strlen(host));
	} else {
		put(&o, "user=", 5);
		put(&o, p->user, strlen(p->user));
	}
	put(&o, "\1auth=Bearer ", 13);
	put(&o, p->password, strlen(p->password));
	put(&o, "\1\1", 2);
	*out = b64_line_of(msg, (size_t)(o - msg));
	wipe(msg, size);
	free(msg);
	return 1;
}

/*
 * The server's error challenge: keep its status; answer ^A (RFC 7628
 * 3.2.3) or, for XOAUTH2, an empty line.
 */
static int
bearer_error(struct auth *a, const char *in, char **out)
{
	size_t len = strlen(in), n = 0, i;
	unsigned char *raw = xmalloc(len / 4 * 3 + 3);
	char *status = NULL;

	if (b64_decode(in, len, raw, &n) == 0 &&
	    json_text((const char *)raw, n, "status", &status) == 1) {
		for (i = 0; status[i] && i < sizeof(a->detail) - 1; i++)
			a->detail[i] = isalnum((unsigned char)status[i]) ||
			    strchr("_-. ", status[i]) ? status[i] : '?';
		a->detail[i] = '\0';
	} else
		snprintf(a->detail, sizeof(a->detail), "%s",
		    "an unreadable error challenge");
	free(status);
	free(raw);
	*out = xstrdup(strcmp(a->bearer, "OAUTHBEARER") == 0 ? "AQ==" : "");
	return 0;
}

static int
auth_step_error(const struct auth *a, int rc, struct err *e)
{
	/* libgsasl's text for it blames "malicious interactions". */
	if (rc == GSASL_GSSAPI_INIT_SEC_CONTEXT_ERROR)
		return err_set(e, ERR_AUTH, "SASL %s: no Kerberos credentials "
		    "for smtp@%s (no ticket: run kinit; or the service is not "
		    "in the realm)", a->mech, a->params->hostname ?
		    a->params->hostname : "?");
	return err_set(e, ERR_AUTH, "SASL %s: %s", a->mech,
	    gs.gsasl_strerror(rc));
}

int
auth_step(struct auth *a, const char *in, char **out, struct err *e)
{
	unsigned char *raw;
	char *o = NULL;
	size_t len, rawlen, olen = 0;
	int rc;

	*out = NULL;
	if (a->bearer != NULL)
		return in == NULL ? bearer_initial(a, out, e) :
		    bearer_error(a, in, out);
	/*
	 * The base64 is done here, not by gsasl_step64, which frees the
	 * raw response (a PLAIN response is the password) without
	 * clearing it.
	 */
	len = in != NULL ? strlen(in) : 0;
	raw = xmalloc(len / 4 * 3 + 1);
	if (b64_decode(in != NULL ? in : "", len, raw, &rawlen) == -1) {
		free(raw);
		return err_set(e, ERR_PROTOCOL, "the server's SASL challenge "
		    "is not base64");
	}
	rc = gs.gsasl_step(a->session, (const char *)raw, rawlen, &o, &olen);
	wipe(raw, rawlen);
	free(raw);
	if (rc != GSASL_OK && rc != GSASL_NEEDS_MORE) {
		if (o != NULL) {
			wipe(o, olen);
			gs.gsasl_free(o);
		}
		return auth_step_error(a, rc, e);
	}
	*out = b64_line_of(o != NULL ? o : "", o != NULL ? olen : 0);
	if (o != NULL) {
		wipe(o, olen);
		gs.gsasl_free(o);
	}
	return rc == GSASL_NEEDS_MORE ? 1 : 0;
}

const char *
auth_detail(const struct auth *a)
{
	return a->detail;
}

void
auth_free(struct auth *a)
{
	static const Gsasl_property secrets[] = {
		GSASL_PASSWORD, GSASL_SCRAM_SALTED_PASSWORD
	};
	const char *v;
	size_t i;

	if (a == NULL)
		return;
	/*
	 * libgsasl keeps its own copies of the password and of what SCRAM
	 * derives from it, and frees them without clearing: clear them
	 * first, so that no copy of a secret outlives the exchange.
	 */
	for (i = 0; a->session != NULL && i < sizeof(secrets) /
	    sizeof(secrets[0]); i++)
		if ((v = gs.gsasl_property_fast(a->session, secrets[i])) !=
		    NULL)
			wipe((char *)(uintptr_t)v, strlen(v));
	if (a->session != NULL)
		gs.gsasl_finish(a->session);
	if (a->ctx != NULL)
		gs.gsasl_done(a->ctx);
	free(a);
}
