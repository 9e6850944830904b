/*
 * auth.c - libgsasl glue.
 *
 * The automatic choice walks auth_prefs[] from the strongest mechanism
 * down: EXTERNAL when TLS carried a client certificate, then SCRAM.
 * Mechanisms that hand the password to the server (PLAIN, LOGIN) or
 * whose exchange is weak (CRAM-MD5) are only chosen under TLS.  GSSAPI
 * and others libgsasl has are used when auth names them.
 */
#include "autoconf.h"

#include <gsasl.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "dl.h"
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
	X(gsasl_property_set) \
	X(gsasl_session_hook_get) \
	X(gsasl_session_hook_set) \
	X(gsasl_step64) \
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

struct auth {
	Gsasl			*ctx;
	Gsasl_session		*session;
	const struct auth_params *params;
	int			 plus;	/* a -PLUS mechanism: binds to TLS */
};

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

	if (gs.gsasl_init(&ctx) != GSASL_OK)
		return 0;
	ok = gs.gsasl_client_support_p(ctx, mech);
	gs.gsasl_done(ctx);
	return ok;
}

static int
choose_forced(const struct auth_params *p, const char *offered, char *mech,
    size_t size)
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
			if (word_in(offered, word) && auth_supported(word)) {
				snprintf(mech, size, "%s", word);
				return 0;
			}
		}
		s += n;
	}
	return -1;
}

int
auth_choose(const struct auth_params *p, const char *offered, char *mech,
    size_t size, struct err *e)
{
	size_t i;

	if (gsasl_load(e) == -1)
		return -1;
	if (strcasecmp(p->mechanisms, "on") != 0) {
		if (choose_forced(p, offered, mech, size) == 0)
			return 0;
		return err_set(e, ERR_AUTH, "the server offers none of the "
		    "configured mechanisms '%s' (it offers: %s)",
		    p->mechanisms, offered);
	}
	for (i = 0; i < sizeof(auth_prefs) / sizeof(auth_prefs[0]); i++) {
		if (auth_prefs[i].needs_tls && !p->encrypted)
			continue;
		/* 2: channel binding, which needs its data from TLS. */
		if (auth_prefs[i].needs_tls == 3 && !p->client_cert)
			continue;
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

	if (gsasl_load(e) == -1)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	a->params = p;
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

int
auth_step(struct auth *a, const char *in, char **out, struct err *e)
{
	char *o = NULL;
	int rc;

	*out = NULL;
	rc = gs.gsasl_step64(a->session, in ? in : "", &o);
	if (rc != GSASL_OK && rc != GSASL_NEEDS_MORE) {
		if (o != NULL)
			gs.gsasl_free(o);
		return err_set(e, ERR_AUTH, "SASL: %s", gs.gsasl_strerror(rc));
	}
	*out = xstrdup(o ? o : "");
	if (o != NULL) {
		wipe(o, strlen(o));
		gs.gsasl_free(o);
	}
	return rc == GSASL_NEEDS_MORE ? 1 : 0;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	if (a->session != NULL)
		gs.gsasl_finish(a->session);
	if (a->ctx != NULL)
		gs.gsasl_done(a->ctx);
	free(a);
}
