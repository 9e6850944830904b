/*
 * oauth2.c - access tokens: the cache file and the refresh_token grant.
 *
 * The cache file (mode 0600, read only when it is a regular file of
 * ours, written to a new temporary file and renamed over the old):
 *
 *	envoi-oauth2 1
 *	<expiry, seconds since the epoch>
 *	<access token>
 *
 * The grant is one POST (application/x-www-form-urlencoded) of
 * grant_type=refresh_token, refresh_token, client_id, and client_secret
 * and scope when set; the JSON reply gives access_token, expires_in and
 * perhaps a new refresh_token (RFC 6749 5.1), or error and
 * error_description (5.2).
 *
 * libcurl is loaded with dlopen (dl.h) the first time a token has to be
 * fetched: most runs find the token in the cache, and a run without
 * OAuth2 never pays for libcurl and its dependency chain at start-up.
 * Only https is allowed, redirects are not followed, the reply is
 * capped at OAUTH2_REPLY_MAX bytes, and every buffer that held a secret
 * is wiped.
 */
#include "autoconf.h"

/* The type-checking macros would hide the calls through the table. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dl.h"
#include "json.h"
#include "oauth2.h"
#include "util.h"

#define OAUTH2_REPLY_MAX	(64 * 1024)
#define OAUTH2_CACHE_MAX	(64 * 1024)
#define OAUTH2_MAGIC		"envoi-oauth2 1\n"
/* expires_in missing: assume little, ask again soon. */
#define OAUTH2_DEFAULT_LIFE	300

#define CURL_API(X) \
	X(curl_easy_cleanup) \
	X(curl_easy_escape) \
	X(curl_easy_getinfo) \
	X(curl_easy_init) \
	X(curl_easy_perform) \
	X(curl_easy_setopt) \
	X(curl_easy_strerror) \
	X(curl_free)

static struct {
#define X(f) __typeof__(&f) f;
	CURL_API(X)
#undef X
} cu;

static const char *const cu_names[] = {
#define X(f) #f,
	CURL_API(X)
#undef X
};

static int cu_loaded;

/* The reply body, in one fixed buffer (no realloc copies of secrets). */
struct reply {
	char	buf[OAUTH2_REPLY_MAX + 1];
	size_t	len;
	int	over;
};

/* Printable ASCII, at most 200 characters: what an endpoint says. */
static void
sanitise(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src != NULL && src[i] && i < size - 1 && i < 200; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

int
oauth2_cached(int dfd, const char *name, char **token)
{
	char *data, *p, *end, *nl;
	long long expiry;
	size_t len;
	int ok = 0;

	*token = NULL;
	if (private_readat(dfd, name, OAUTH2_CACHE_MAX, &data, &len) == -1)
		return 0;
	if (strncmp(data, OAUTH2_MAGIC, strlen(OAUTH2_MAGIC)) != 0)
		goto out;
	p = data + strlen(OAUTH2_MAGIC);
	errno = 0;
	expiry = strtoll(p, &end, 10);
	if (errno != 0 || end == p || *end != '\n')
		goto out;
	p = end + 1;
	if ((nl = strchr(p, '\n')) == NULL || nl == p || nl[1] != '\0')
		goto out;
	*nl = '\0';
	if (has_ctl(p) || expiry - (long long)time(NULL) < OAUTH2_MARGIN)
		goto out;
	*token = xstrdup(p);
	ok = 1;
out:
	wipe(data, len);
	free(data);
	return ok;
}

void
oauth2_forget(int dfd, const char *name)
{
	(void)unlinkat(dfd, name, 0);
}

static void
cache_store(int dfd, const char *name, const char *token, long life)
{
	char *data;
	size_t size = strlen(token) + 64;
	int n;

	/* The caller made and checked the directory (queue_subdir). */
	data = xmalloc(size);
	n = snprintf(data, size, "%s%lld\n%s\n", OAUTH2_MAGIC,
	    (long long)time(NULL) + life, token);
	if (n > 0 && (size_t)n < size &&
	    private_writeat(dfd, name, data, (size_t)n) == -1)
		fprintf(stderr, "envoi: warning: cannot cache the OAuth2 "
		    "token in oauth2/%s: %s\n", name, strerror(errno));
	wipe(data, size);
	free(data);
}

/* The endpoint rotated the refresh token: keep the new one. */
static void
refresh_token_store(const struct oauth2_params *p, const char *rt)
{
	size_t len = strlen(rt);
	char *line;

	if (p->refresh_token_file == NULL) {
		if (strcmp(rt, p->refresh_token) != 0)
			fprintf(stderr, "envoi: warning: the token endpoint "
			    "issued a new refresh token; envoi can only save "
			    "it with refresh_token_file\n");
		return;
	}
	if (strcmp(rt, p->refresh_token) == 0 || has_ctl(rt))
		return;
	line = xmalloc(len + 2);
	memcpy(line, rt, len);
	memcpy(line + len, "\n", 2);
	if (private_write(p->refresh_token_file, line, len + 1) == -1)
		fprintf(stderr, "envoi: warning: cannot save the new refresh "
		    "token in %s: %s\n", p->refresh_token_file,
		    strerror(errno));
	wipe(line, len + 2);
	free(line);
}

static size_t
on_data(char *data, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t k = size * n;

	if (k > OAUTH2_REPLY_MAX - r->len) {
		r->over = 1;
		return 0;	/* libcurl stops with CURLE_WRITE_ERROR */
	}
	memcpy(r->buf + r->len, data, k);
	r->len += k;
	r->buf[r->len] = '\0';
	return k;
}

/* Append "&key=value" (value escaped) to the form body. */
static int
form_add(CURL *c, char **body, size_t *len, const char *key,
    const char *val)
{
	char *esc, *grown;
	size_t need, old = *len;

	if (val == NULL)
		return 0;
	if ((esc = cu.curl_easy_escape(c, val, 0)) == NULL)
		return -1;
	need = *len + strlen(key) + strlen(esc) + 3;
	grown = xmalloc(need);
	memcpy(grown, *body, *len);
	*len += (size_t)snprintf(grown + *len, need - *len, "%s%s=%s",
	    *len ? "&" : "", key, esc);
	wipe(*body, old + 1);
	free(*body);
	*body = grown;
	wipe(esc, strlen(esc));
	cu.curl_free(esc);
	return 0;
}

static char *
form_body(CURL *c, const struct oauth2_params *p, size_t *len)
{
	char *body = xcalloc(1, 1);

	*len = 0;
	if (form_add(c, &body, len, "grant_type", "refresh_token") == -1 ||
	    form_add(c, &body, len, "refresh_token", p->refresh_token) ==
	    -1 || form_add(c, &body, len, "client_id", p->client_id) == -1 ||
	    form_add(c, &body, len, "client_secret", p->client_secret) ==
	    -1 || form_add(c, &body, len, "scope", p->scope) == -1) {
		wipe(body, *len);
		free(body);
		return NULL;
	}
	return body;
}

static void
setup(CURL *c, const struct oauth2_params *p, struct reply *r,
    const char *body, size_t len)
{
	cu.curl_easy_setopt(c, CURLOPT_URL, p->token_url);
#if LIBCURL_VERSION_NUM >= 0x075500
	cu.curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
#else
	cu.curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	cu.curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	cu.curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu.curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
	cu.curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)p->timeout_ms);
	cu.curl_easy_setopt(c, CURLOPT_USERAGENT, "envoi/" PACKAGE_VERSION);
	if (p->trust_file != NULL)
		cu.curl_easy_setopt(c, CURLOPT_CAINFO, p->trust_file);
	cu.curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	cu.curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	cu.curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	cu.curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
}

/* A refusal (RFC 6749 5.2): its error code and description. */
static int
refused(const struct oauth2_params *p, long status, const struct reply *r,
    struct err *e)
{
	char *code = NULL, *desc = NULL, scode[64], sdesc[256], url[256];
	enum err_kind kind;

	/* Overloaded or down for a while: try again later. */
	kind = status >= 500 || status == 429 || status == 408 ? ERR_TEMP :
	    ERR_AUTH;
	(void)json_text(r->buf, r->len, "error", &code);
	(void)json_text(r->buf, r->len, "error_description", &desc);
	sanitise(scode, sizeof(scode), code ? code : "no error code");
	sanitise(sdesc, sizeof(sdesc), desc ? desc : "");
	sanitise(url, sizeof(url), p->token_url);
	free(code);
	free(desc);
	return err_set(e, kind, "OAuth2 token endpoint %s refused the "
	    "refresh token (HTTP %ld): %s%s%s%s", url, status, scode,
	    *sdesc ? " (" : "", sdesc, *sdesc ? ")" : "");
}

/* A 200 reply: the new access token, cached. */
static int
granted(const struct oauth2_params *p, const struct reply *r, char **token,
    struct err *e)
{
	char *at = NULL, *rt = NULL, *type = NULL;
	long life = OAUTH2_DEFAULT_LIFE;
	int rc = -1;

	if (json_string(r->buf, r->len, "access_token", &at) != 1 ||
	    *at == '\0') {
		err_set(e, ERR_PROTOCOL, "OAuth2 token endpoint: the reply "
		    "holds no access_token");
		goto out;
	}
	if (json_string(r->buf, r->len, "token_type", &type) == 1 &&
	    strcasecmp(type, "bearer") != 0) {
		err_set(e, ERR_PROTOCOL, "OAuth2 token endpoint: token_type "
		    "is not Bearer");
		goto out;
	}
	if (json_number(r->buf, r->len, "expires_in", &life) != 1)
		life = OAUTH2_DEFAULT_LIFE;
	if (json_string(r->buf, r->len, "refresh_token", &rt) == 1 && *rt)
		refresh_token_store(p, rt);
	cache_store(p->cache_dfd, p->cache_name, at, life);
	*token = at;
	at = NULL;
	rc = 0;
out:
	wipe_free(at);
	wipe_free(rt);
	free(type);
	return rc;
}

static int
transfer_failed(const struct oauth2_params *p, CURLcode rc,
    const struct reply *r, struct err *e)
{
	char url[256];

	sanitise(url, sizeof(url), p->token_url);
	if (r->over)
		return err_set(e, ERR_PROTOCOL, "OAuth2 token endpoint %s: "
		    "reply larger than %d bytes", url, OAUTH2_REPLY_MAX);
	if (rc == CURLE_PEER_FAILED_VERIFICATION ||
	    rc == CURLE_SSL_CACERT_BADFILE)
		return err_set(e, ERR_TLS, "OAuth2 token endpoint %s: %s", url,
		    cu.curl_easy_strerror(rc));
	return err_set(e, ERR_TEMP, "OAuth2 token endpoint %s unreachable: "
	    "%s", url, cu.curl_easy_strerror(rc));
}

int
oauth2_refresh(const struct oauth2_params *p, char **token, struct err *e)
{
	struct reply *r;
	CURLcode rc;
	long status = 0;
	size_t len;
	char *body;
	CURL *c;
	int ret = -1;

	*token = NULL;
	if (dl_load(CURL_SONAME, cu_names, (void **)(void *)&cu,
	    sizeof(cu_names) / sizeof(cu_names[0]), &cu_loaded, e) == -1)
		return -1;
	if ((c = cu.curl_easy_init()) == NULL)
		return err_set(e, ERR_OS, "libcurl: cannot start a transfer");
	if ((body = form_body(c, p, &len)) == NULL) {
		cu.curl_easy_cleanup(c);
		return err_set(e, ERR_OS, "libcurl: cannot escape the form");
	}
	r = xcalloc(1, sizeof(*r));
	setup(c, p, r, body, len);
	rc = cu.curl_easy_perform(c);
	if (rc == CURLE_OK)
		cu.curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK)
		transfer_failed(p, rc, r, e);
	else if (status != 200)
		refused(p, status, r, e);
	else
		ret = granted(p, r, token, e);
	cu.curl_easy_cleanup(c);
	wipe(body, len);
	free(body);
	wipe(r, sizeof(*r));
	free(r);
	return ret;
}
