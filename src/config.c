/*
 * config.c - reading envoi.conf with libconfuse.
 *
 * config_keys[] is the single list of account keys: it builds the
 * libconfuse schema for both the defaults and the account sections,
 * carries each key's validation, and drives the resolution of an account
 * (account value, else defaults value, else the built-in default).
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "safefile.h"
#include "util.h"

#ifndef SYSCONFDIR
#error "SYSCONFDIR must be defined by the build"
#endif

enum key_type {
	KEY_STR,
	KEY_INT,
	KEY_BOOL,
	KEY_LIST,	/* struct config_values */
	KEY_LAST
};

typedef int (*key_check)(cfg_t *, const char *, const char *, long);

struct config_key {
	const char	*name;
	enum key_type	 type;
	size_t		 offset;	/* into struct account */
	key_check	 check;
	long		 def;		/* default of an int or bool */
};

static int check_tls(cfg_t *, const char *, const char *, long);
static int check_port(cfg_t *, const char *, const char *, long);
static int check_timeout(cfg_t *, const char *, const char *, long);
static int check_auth(cfg_t *, const char *, const char *, long);
static int check_from(cfg_t *, const char *, const char *, long);
static int check_domain(cfg_t *, const char *, const char *, long);
static int check_host(cfg_t *, const char *, const char *, long);
static int check_text(cfg_t *, const char *, const char *, long);
static int check_from_header(cfg_t *, const char *, const char *, long);
static int check_rcpt_policy(cfg_t *, const char *, const char *, long);
static int check_syslog(cfg_t *, const char *, const char *, long);
static int check_log_format(cfg_t *, const char *, const char *, long);
static int check_queue(cfg_t *, const char *, const char *, long);
static int check_provider(cfg_t *, const char *, const char *, long);
static int check_tls_version(cfg_t *, const char *, const char *, long);
static int check_fingerprint(cfg_t *, const char *, const char *, long);
static int check_path(cfg_t *, const char *, const char *, long);
static int check_duration(cfg_t *, const char *, const char *, long);

#define KEY(n, t, f, c) { n, t, offsetof(struct account, f), c, 0 }
#define BOOL(n, f, d) { n, KEY_BOOL, offsetof(struct account, f), NULL, d }
static const struct config_key config_keys[] = {
	KEY("provider",		KEY_STR, provider,	check_provider),
	KEY("host",		KEY_LIST, host_values,	check_host),
	KEY("port",		KEY_INT, port,		check_port),
	KEY("tls",		KEY_STR, tls_name,	check_tls),
	KEY("tls_trust_file",	KEY_STR, tls_trust_file, check_text),
	KEY("tls_crl_file",	KEY_STR, tls_crl_file,	check_text),
	KEY("tls_cert_file",	KEY_STR, tls_cert_file,	check_text),
	KEY("tls_key_file",	KEY_STR, tls_key_file,	check_text),
	KEY("tls_priorities",	KEY_STR, tls_priorities, check_text),
	KEY("tls_min_version",	KEY_STR, tls_min_version_name,
	    check_tls_version),
	KEY("tls_fingerprint",	KEY_STR, tls_fingerprint_name,
	    check_fingerprint),
	KEY("tls_host_override", KEY_STR, tls_host_override, check_domain),
	BOOL("tls_certcheck",	tls_certcheck,		1),
	BOOL("tls_session_cache", tls_session_cache,	1),
	KEY("auth",		KEY_STR, auth,		check_auth),
	KEY("user",		KEY_STR, user,		check_text),
	KEY("password",		KEY_STR, password,	check_text),
	KEY("passwordeval",	KEY_STR, passwordeval,	check_text),
	KEY("from",		KEY_STR, from,		check_from),
	KEY("domain",		KEY_STR, domain,	check_domain),
	KEY("timeout",		KEY_INT, timeout,	check_timeout),
	KEY("aliases",		KEY_STR, aliases,	check_text),
	KEY("maildomain",	KEY_STR, maildomain,	check_domain),
	KEY("set_from_header",	KEY_STR, set_from_header_name,
	    check_from_header),
	BOOL("keep_original_from", keep_original_from,	0),
	BOOL("set_date_header",	set_date_header,	1),
	BOOL("set_msgid_header", set_msgid_header,	1),
	BOOL("allow_from_override", allow_from_override, 1),
	KEY("rcpt_policy",	KEY_STR, rcpt_policy,	check_rcpt_policy),
	KEY("logfile",		KEY_STR, logfile,	check_text),
	KEY("syslog",		KEY_STR, syslog,	check_syslog),
	KEY("log_format",	KEY_STR, log_format,	check_log_format),
	KEY("queue",		KEY_STR, queue,		check_queue),
	KEY("queue_dir",	KEY_STR, queue_dir,	check_path),
	KEY("queue_max_age",	KEY_STR, queue_max_age_name, check_duration),
	BOOL("queue_notify",	queue_notify,		1),
};
#define NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static int check_https(cfg_t *, const char *, const char *, long);

/*
 * The keys of the oauth2 { } block inside an account (or defaults):
 * all strings, validated like config_keys[].
 */
#define OKEY(n, f, c) \
	{ n, KEY_STR, offsetof(struct account_oauth2, f), c, 0 }
static const struct config_key oauth2_keys[] = {
	OKEY("token_url",		token_url,		check_https),
	OKEY("client_id",		client_id,		check_text),
	OKEY("client_secret",		client_secret,		check_text),
	OKEY("client_secreteval",	client_secreteval,	check_text),
	OKEY("refresh_token",		refresh_token,		check_text),
	OKEY("refresh_tokeneval",	refresh_tokeneval,	check_text),
	OKEY("refresh_token_file",	refresh_token_file,	check_path),
	OKEY("scope",			scope,			check_text),
};
#define NOKEYS (sizeof(oauth2_keys) / sizeof(oauth2_keys[0]))
/* Keys whose value is a secret: the file must be private. */
static const char *const oauth2_secrets[] = {
	"client_secret", "refresh_token"
};

#define DEFAULT_TIMEOUT	60

static const char *config_tls_names[CONFIG_TLS_LAST] = {
	"starttls", "tls", "off"
};

/*
 * Provider presets: what a user of a well-known service would otherwise
 * have to look up.  They sit below everything the file sets.
 */
static const struct preset {
	const char	*name;
	const char	*host;
	long		 port;
	const char	*tls;
} config_presets[] = {
	{ "gmail",		"smtp.gmail.com",	587, "starttls" },
	{ "outlook",		"smtp.office365.com",	587, "starttls" },
	{ "fastmail",		"smtp.fastmail.com",	465, "tls" },
	{ "icloud",		"smtp.mail.me.com",	587, "starttls" },
	{ "yahoo",		"smtp.mail.yahoo.com",	465, "tls" },
	{ "gmx",		"mail.gmx.net",		587, "starttls" },
	{ "mailbox.org",	"smtp.mailbox.org",	465, "tls" },
	{ "posteo",		"posteo.de",		587, "starttls" },
	{ "zoho",		"smtp.zoho.com",	465, "tls" },
	{ "migadu",		"smtp.migadu.com",	465, "tls" },
	/* The Bridge listens locally with a self-signed certificate. */
	{ "proton-bridge",	"127.0.0.1",		1025, "starttls" },
};
#define NPRESETS (sizeof(config_presets) / sizeof(config_presets[0]))

static const char *config_from_names[CONFIG_FROM_LAST] = {
	"auto", "on", "off"
};

/*
 * libconfuse reports errors through a callback with no user pointer, so
 * the record being filled is parked here for the duration of one parse.
 * config_load is therefore not reentrant, which envoi never needs.
 */
static struct err *config_err;
static cfg_t *config_root;	/* sections do not know file and line */

const char *
config_tls_name(enum config_tls t)
{
	return t < CONFIG_TLS_LAST ? config_tls_names[t] : "?";
}

static void
config_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	char what[512];

	vsnprintf(what, sizeof(what), fmt, ap);
	if (config_err == NULL || config_err->kind != ERR_NONE)
		return;		/* keep the first error, the one to fix */
	if (config_root != NULL && (cfg == NULL || cfg->filename == NULL ||
	    cfg->line <= 0))
		cfg = config_root;
	if (cfg != NULL && cfg->filename != NULL && cfg->line > 0)
		err_set(config_err, ERR_CONFIG, "%s:%d: %s", cfg->filename,
		    cfg->line, what);
	else if (cfg != NULL && cfg->filename != NULL)
		err_set(config_err, ERR_CONFIG, "%s: %s", cfg->filename, what);
	else
		err_set(config_err, ERR_CONFIG, "%s", what);
}

static int
check_text(cfg_t *cfg, const char *key, const char *s, long n)
{
	(void)n;
	if (has_ctl(s)) {
		cfg_error(cfg, "%s: control characters are not allowed", key);
		return -1;
	}
	return 0;
}

static int
check_oneof(cfg_t *cfg, const char *key, const char *s,
    const char *const *names, size_t n, const char *list)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return 0;
	cfg_error(cfg, "%s: '%s' is not one of %s", key, s, list);
	return -1;
}

static int
check_tls_version(cfg_t *cfg, const char *key, const char *s, long n)
{
	static const char *names[] = { "1.0", "1.1", "1.2", "1.3" };

	(void)n;
	return check_oneof(cfg, key, s, names, 4, "1.0, 1.1, 1.2, 1.3");
}

/*
 * A SHA-256 fingerprint: 64 hex digits, with or without ':' between
 * pairs and an optional "sha256:" in front; into out (lower case) when
 * out is not NULL.  -1 when it is not one.
 */
static int
fingerprint_parse(const char *s, char *out)
{
	size_t n = 0;

	if (strncasecmp(s, "sha256:", 7) == 0)
		s += 7;
	for (; *s; s++) {
		if (*s == ':')
			continue;
		if (!isxdigit((unsigned char)*s) || n == 64)
			return -1;
		if (out != NULL)
			out[n] = (char)tolower((unsigned char)*s);
		n++;
	}
	if (out != NULL)
		out[n] = '\0';
	return n == 64 ? 0 : -1;
}

static int
check_fingerprint(cfg_t *cfg, const char *key, const char *s, long n)
{
	(void)n;
	if (fingerprint_parse(s, NULL) == 0)
		return 0;
	cfg_error(cfg, "%s: '%s' is not a SHA-256 fingerprint (64 hex "
	    "digits, ':' allowed)", key, s);
	return -1;
}

static const struct preset *
preset_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < NPRESETS; i++)
		if (strcasecmp(config_presets[i].name, name) == 0)
			return &config_presets[i];
	return NULL;
}

const char *const *
config_provider_names(void)
{
	static const char *names[NPRESETS + 1];
	size_t i;

	for (i = 0; i < NPRESETS; i++)
		names[i] = config_presets[i].name;
	names[NPRESETS] = NULL;
	return names;
}

static int
check_provider(cfg_t *cfg, const char *key, const char *s, long n)
{
	char list[512] = "";
	size_t i;

	(void)n;
	if (preset_find(s) != NULL)
		return 0;
	for (i = 0; i < NPRESETS; i++) {
		strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
		strncat(list, config_presets[i].name,
		    sizeof(list) - strlen(list) - 1);
	}
	cfg_error(cfg, "%s: unknown provider '%s' (known: %s)", key, s, list);
	return -1;
}

static int
check_path(cfg_t *cfg, const char *key, const char *s, long n)
{
	if (check_text(cfg, key, s, n) == -1)
		return -1;
	/* Relative to what?  envoi runs from cron, scripts, anywhere. */
	if (s[0] != '/') {
		cfg_error(cfg, "%s: '%s' is not an absolute path", key, s);
		return -1;
	}
	return 0;
}

static int
check_https(cfg_t *cfg, const char *key, const char *s, long n)
{
	if (check_text(cfg, key, s, n) == -1)
		return -1;
	/* The refresh token must never cross the network in clear. */
	if (strncasecmp(s, "https://", 8) != 0 || s[8] == '\0' ||
	    strpbrk(s, " \t") != NULL) {
		cfg_error(cfg, "%s: '%s' is not an https:// URL", key, s);
		return -1;
	}
	return 0;
}

static int
check_tls(cfg_t *cfg, const char *key, const char *s, long n)
{
	(void)n;
	return check_oneof(cfg, key, s, config_tls_names, CONFIG_TLS_LAST,
	    "starttls, tls, off");
}

static int
check_from_header(cfg_t *cfg, const char *key, const char *s, long n)
{
	(void)n;
	return check_oneof(cfg, key, s, config_from_names, CONFIG_FROM_LAST,
	    "auto, on, off");
}

static int
check_rcpt_policy(cfg_t *cfg, const char *key, const char *s, long n)
{
	static const char *names[] = { "all", "partial" };

	(void)n;
	return check_oneof(cfg, key, s, names, 2, "all, partial");
}

static int
check_log_format(cfg_t *cfg, const char *key, const char *s, long n)
{
	static const char *names[] = { "text", "json" };

	(void)n;
	return check_oneof(cfg, key, s, names, 2, "text, json");
}

static int
check_syslog(cfg_t *cfg, const char *key, const char *s, long n)
{
	static const char *names[] = { "off", "on", "mail", "user",
	    "daemon", "local0", "local1", "local2", "local3", "local4",
	    "local5", "local6", "local7" };

	(void)n;
	return check_oneof(cfg, key, s, names, sizeof(names) /
	    sizeof(names[0]), "off, on, mail, user, daemon, local0-7");
}

static int
check_queue(cfg_t *cfg, const char *key, const char *s, long n)
{
	static const char *names[] = { "on-failure", "always", "never" };

	(void)n;
	return check_oneof(cfg, key, s, names, 3,
	    "on-failure, always, never");
}

long
config_duration(const char *s)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || end == s || n < 0)
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		n *= 60;
		break;
	case 'h':
		n *= 3600;
		break;
	case 'd':
		n *= 86400;
		break;
	case 'w':
		n *= 7 * 86400;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	return n;
}

static int
check_duration(cfg_t *cfg, const char *key, const char *s, long n)
{
	(void)n;
	if (config_duration(s) >= 0)
		return 0;
	cfg_error(cfg, "%s: '%s' is not a duration such as 30m, 12h or 5d",
	    key, s);
	return -1;
}

static int
check_port(cfg_t *cfg, const char *key, const char *s, long n)
{
	(void)s;
	if (n < 1 || n > 65535) {
		cfg_error(cfg, "%s: %ld is not a port number (1-65535)", key,
		    n);
		return -1;
	}
	return 0;
}

static int
check_timeout(cfg_t *cfg, const char *key, const char *s, long n)
{
	(void)s;
	if (n < 1 || n > 86400) {
		cfg_error(cfg, "%s: %ld is not a number of seconds (1-86400)",
		    key, n);
		return -1;
	}
	return 0;
}

static int
check_auth(cfg_t *cfg, const char *key, const char *s, long n)
{
	const char *p;

	(void)n;
	if (*s == '\0')
		goto bad;
	for (p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == ' ' || *p == ','))
			goto bad;
	return 0;
bad:
	cfg_error(cfg, "%s: '%s' is not on, off or a list of mechanisms",
	    key, s);
	return -1;
}

static int
check_from(cfg_t *cfg, const char *key, const char *s, long n)
{
	(void)n;
	if (config_from_is_pattern(s) ? check_text(cfg, key, s, 0) == 0 :
	    addr_check_spec(s) == 0)
		return 0;
	cfg_error(cfg, "%s: '%s' is not a valid address", key, s);
	return -1;
}

static int
check_domain(cfg_t *cfg, const char *key, const char *s, long n)
{
	const char *p;

	(void)n;
	if (*s == '\0' || strlen(s) > 255)
		goto bad;
	for (p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == ':' || *p == '[' || *p == ']' || *p == '_'))
			goto bad;
	return 0;
bad:
	cfg_error(cfg, "%s: '%s' is not a host name", key, s);
	return -1;
}

int
config_host_split(const char *s, char *name, size_t size, long *port)
{
	const char *end, *colon;
	char *stop;
	size_t len;

	*port = 0;
	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		s++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (colon == NULL && end[1] != '\0')
			return -1;
	} else {
		colon = strchr(s, ':');
		/* Two colons or more: an IPv6 address, without a port. */
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL;
		end = colon != NULL ? colon : s + strlen(s);
	}
	len = (size_t)(end - s);
	if (len == 0 || len >= size)
		return -1;
	memcpy(name, s, len);
	name[len] = '\0';
	if (colon == NULL)
		return 0;
	if (colon[1] < '0' || colon[1] > '9')
		return -1;
	errno = 0;
	*port = strtol(colon + 1, &stop, 10);
	if (errno != 0 || *stop != '\0' || *port < 1 || *port > 65535)
		return -1;
	return 0;
}

static int
check_host(cfg_t *cfg, const char *key, const char *s, long n)
{
	char name[256];
	long port;

	(void)n;
	if (config_host_split(s, name, sizeof(name), &port) == -1) {
		cfg_error(cfg, "%s: '%s' is not a host name, or a host name "
		    "and a port (1-65535) as host:port or [address]:port",
		    key, s);
		return -1;
	}
	return check_domain(cfg, key, name, 0);
}

static const struct config_key *
key_find(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	for (i = 0; i < NOKEYS; i++)
		if (strcmp(oauth2_keys[i].name, name) == 0)
			return &oauth2_keys[i];
	return NULL;
}

static int
config_validate(cfg_t *cfg, cfg_opt_t *opt)
{
	const struct config_key *k = key_find(opt->name);

	unsigned int i;

	if (k == NULL || k->check == NULL || k->type == KEY_BOOL)
		return 0;
	if (k->type == KEY_INT)
		return k->check(cfg, k->name, NULL, cfg_opt_getnint(opt, 0));
	if (k->type == KEY_LIST && cfg_opt_size(opt) > CONFIG_HOSTS_MAX) {
		cfg_error(cfg, "%s: %u values; at most %d", k->name,
		    cfg_opt_size(opt), CONFIG_HOSTS_MAX);
		return -1;
	}
	if (k->type == KEY_LIST && cfg_opt_size(opt) == 0) {
		cfg_error(cfg, "%s: an empty list", k->name);
		return -1;
	}
	for (i = 0; i < cfg_opt_size(opt); i++)
		if (k->check(cfg, k->name, cfg_opt_getnstr(opt, i), 0) == -1)
			return -1;
	return 0;
}

/* The oauth2 { } block's options (cfg_init copies them). */
static cfg_opt_t *
config_oauth2_opts(void)
{
	cfg_opt_t *opts = xcalloc(NOKEYS + 1, sizeof(*opts));
	size_t i;

	for (i = 0; i < NOKEYS; i++) {
		cfg_opt_t s = CFG_STR(NULL, NULL, CFGF_NODEFAULT);

		opts[i] = s;
		opts[i].name = (char *)(uintptr_t)oauth2_keys[i].name;
	}
	opts[NOKEYS] = (cfg_opt_t)CFG_END();
	return opts;
}

static cfg_opt_t *
config_section_opts(cfg_opt_t *oauth2)
{
	cfg_opt_t *opts = xcalloc(NKEYS + 2, sizeof(*opts));
	cfg_opt_t sec = CFG_SEC("oauth2", oauth2, CFGF_NODEFAULT);
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		cfg_opt_t s = CFG_STR(NULL, NULL, CFGF_NODEFAULT);
		cfg_opt_t n = CFG_INT(NULL, 0, CFGF_NODEFAULT);
		cfg_opt_t b = CFG_BOOL(NULL, cfg_false, CFGF_NODEFAULT);
		cfg_opt_t l = CFG_STR_LIST(NULL, NULL, CFGF_NODEFAULT);

		opts[i] = config_keys[i].type == KEY_INT ? n :
		    config_keys[i].type == KEY_BOOL ? b :
		    config_keys[i].type == KEY_LIST ? l : s;
		opts[i].name = (char *)(uintptr_t)config_keys[i].name;
	}
	opts[NKEYS] = sec;
	opts[NKEYS + 1] = (cfg_opt_t)CFG_END();
	return opts;
}

/* A validator for every key of a table, under each of the prefixes. */
static void
config_set_table_validators(cfg_t *cfg, const char *const *prefixes,
    const struct config_key *keys, size_t n)
{
	char path[128];
	size_t i;

	for (; *prefixes != NULL; prefixes++)
		for (i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s|%s", *prefixes,
			    keys[i].name);
			cfg_set_validate_func(cfg, path, config_validate);
		}
}

static void
config_set_validators(cfg_t *cfg)
{
	static const char *const sections[] = { "defaults", "account", NULL };
	static const char *const oauth2[] = { "defaults|oauth2",
	    "account|oauth2", NULL };

	config_set_table_validators(cfg, sections, config_keys, NKEYS);
	config_set_table_validators(cfg, oauth2, oauth2_keys, NOKEYS);
}

char *
config_default_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char path[PATH_MAX];

	if (xdg != NULL && *xdg == '/')
		snprintf(path, sizeof(path), "%s/envoi/config", xdg);
	else if (home != NULL && *home == '/')
		snprintf(path, sizeof(path), "%s/.config/envoi/config", home);
	else
		path[0] = '\0';
	if (path[0] != '\0' && access(path, F_OK) == 0)
		return xstrdup(path);
	return xstrdup(SYSCONFDIR "/envoi.conf");
}

static int
section_has_password(cfg_t *sec)
{
	cfg_t *o;
	size_t i;

	if (sec == NULL)
		return 0;
	if (cfg_size(sec, "password") > 0)
		return 1;
	if (cfg_size(sec, "oauth2") == 0 ||
	    (o = cfg_getsec(sec, "oauth2")) == NULL)
		return 0;
	for (i = 0; i < sizeof(oauth2_secrets) / sizeof(oauth2_secrets[0]);
	    i++)
		if (cfg_size(o, oauth2_secrets[i]) > 0)
			return 1;
	return 0;
}

/* mode: that of the file as it was opened and parsed. */
static int
config_check_secrets(const struct config *c, mode_t mode, struct err *e)
{
	unsigned int i, n;
	int secret = section_has_password(cfg_getsec(c->cfg, "defaults"));

	n = cfg_size(c->cfg, "account");
	for (i = 0; i < n && !secret; i++)
		secret = section_has_password(cfg_getnsec(c->cfg, "account",
		    i));
	if (!secret)
		return 0;
	if (mode & (S_IRWXG | S_IRWXO))
		return err_set(e, ERR_CONFIG, "'%s' holds a password but group "
		    "or others have access to it (mode %03o): chmod 600 '%s' "
		    "(or move the password to passwordeval, the keyring or "
		    "~/.netrc)", c->path, (unsigned int)(mode & 0777),
		    c->path);
	return 0;
}

/*
 * Parse path into cfg, through a descriptor checked by safefile_open:
 * the file must not be writable by anyone but its owner, the user or
 * root.  CFG_FILE_ERROR (with e set) when it cannot be read or is
 * refused.
 */
static int
config_parse_file(cfg_t *cfg, const char *path, mode_t *mode, struct err *e)
{
	struct stat st;
	FILE *fp;
	int rc;

	if ((fp = safefile_open(path, "configuration", e)) == NULL)
		return CFG_FILE_ERROR;
	*mode = fstat(fileno(fp), &st) == 0 ? st.st_mode : 0777;
	/* cfg_parse would set it; messages and cfg_free use it. */
	free(cfg->filename);
	cfg->filename = xstrdup(path);
	config_err = e;
	config_root = cfg;
	errno = 0;
	rc = cfg_parse_fp(cfg, fp);
	config_err = NULL;
	config_root = NULL;
	if (rc == CFG_FILE_ERROR)
		err_set(e, ERR_CONFIG, "cannot read configuration '%s': %s",
		    path, errno ? strerror(errno) : "unknown error");
	fclose(fp);
	return rc;
}

int
config_load(struct config *c, const char *path, struct err *e)
{
	cfg_opt_t *oauth2_opts = config_oauth2_opts();
	cfg_opt_t *defaults_opts = config_section_opts(oauth2_opts);
	cfg_opt_t *account_opts = config_section_opts(oauth2_opts);
	cfg_opt_t top[] = {
		CFG_STR("default_account", NULL, CFGF_NODEFAULT),
		CFG_SEC("defaults", defaults_opts, CFGF_NONE),
		CFG_SEC("account", account_opts,
		    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
		CFG_END()
	};
	mode_t mode = 0;
	int rc, ret = -1;

	c->path = xstrdup(path);
	c->cfg = cfg_init(top, CFGF_NONE);
	cfg_set_error_function(c->cfg, config_errfunc);
	config_set_validators(c->cfg);

	err_init(e);
	if ((rc = config_parse_file(c->cfg, path, &mode, e)) ==
	    CFG_FILE_ERROR)
		goto out;
	if (rc != CFG_SUCCESS) {
		if (e->kind == ERR_NONE)
			err_set(e, ERR_CONFIG, "%s: syntax error", path);
		goto out;
	}
	if (config_check_secrets(c, mode, e) == -1)
		goto out;
	ret = 0;
out:
	/* cfg_init copies the option tables. */
	free(defaults_opts);
	free(account_opts);
	free(oauth2_opts);
	if (ret == -1)
		config_release(c);
	return ret;
}

int
config_from_is_pattern(const char *from)
{
	return strpbrk(from, "*?[") != NULL;
}

int
config_from_matches(const char *from, const char *sender)
{
	const char *plus, *at;
	char base[512];

	if (fnmatch(from, sender, FNM_CASEFOLD) == 0)
		return 1;
	/* user+tag@domain is user@domain's (RFC 5233 subaddress). */
	plus = strchr(sender, '+');
	at = strrchr(sender, '@');
	if (plus == NULL || at == NULL || plus > at ||
	    strlen(sender) >= sizeof(base))
		return 0;
	snprintf(base, sizeof(base), "%.*s%s", (int)(plus - sender), sender,
	    at);
	return fnmatch(from, base, FNM_CASEFOLD) == 0;
}

static cfg_t *
config_by_sender(const struct config *c, const char *const *senders)
{
	unsigned int i, n = cfg_size(c->cfg, "account");
	cfg_t *defs = cfg_getsec(c->cfg, "defaults"), *sec;
	const char *from;

	for (; senders != NULL && *senders != NULL; senders++) {
		if (**senders == '\0')
			continue;
		for (i = 0; i < n; i++) {
			sec = cfg_getnsec(c->cfg, "account", i);
			if (cfg_size(sec, "from") > 0)
				from = cfg_getstr(sec, "from");
			else if (defs != NULL && cfg_size(defs, "from") > 0)
				from = cfg_getstr(defs, "from");
			else
				continue;
			if (config_from_matches(from, *senders))
				return sec;
		}
	}
	return NULL;
}

static cfg_t *
config_pick(const struct config *c, const char *name,
    const char *const *senders, struct err *e)
{
	unsigned int n = cfg_size(c->cfg, "account");
	cfg_t *sec;

	if (name == NULL && (sec = config_by_sender(c, senders)) != NULL)
		return sec;
	if (name == NULL && cfg_size(c->cfg, "default_account") > 0)
		name = cfg_getstr(c->cfg, "default_account");
	if (name != NULL) {
		sec = cfg_gettsec(c->cfg, "account", name);
		if (sec == NULL)
			err_set(e, ERR_CONFIG, "%s: no account '%s'", c->path,
			    name);
		return sec;
	}
	if (n == 1)
		return cfg_getnsec(c->cfg, "account", 0);
	if (n == 0)
		return cfg_getsec(c->cfg, "defaults");
	err_set(e, ERR_CONFIG, "%s: %u accounts, no default_account, and "
	    "no from pattern matches the sender; choose one with -a",
	    c->path, n);
	return NULL;
}

static void
values_get(struct config_values *v, cfg_t *sec, const char *name)
{
	size_t i;

	v->n = cfg_size(sec, name);
	if (v->n > CONFIG_HOSTS_MAX)
		v->n = CONFIG_HOSTS_MAX;	/* refused at load */
	for (i = 0; i < v->n; i++)
		v->v[i] = cfg_getnstr(sec, name, (unsigned int)i);
}

/* Fill hosts[] from host_values, with port where one is not given. */
static int
hosts_resolve(const struct config *c, struct account *a, struct err *e)
{
	size_t i;

	if (a->host_values.n == 0)
		return err_set(e, ERR_CONFIG, "%s: account '%s' has no host",
		    c->path, a->name);
	for (i = 0; i < a->host_values.n; i++) {
		struct config_host *h = &a->hosts[i];

		if (config_host_split(a->host_values.v[i], h->name,
		    sizeof(h->name), &h->port) == -1)
			return err_set(e, ERR_CONFIG, "%s: account '%s': bad "
			    "host '%s'", c->path, a->name,
			    a->host_values.v[i]);
		if (h->port == 0)
			h->port = a->port;
	}
	a->nhosts = a->host_values.n;
	a->host = a->hosts[0].name;
	a->port = a->hosts[0].port;
	return 0;
}

static void
key_resolve(const struct config_key *k, cfg_t *acct, cfg_t *defs,
    struct account *a)
{
	cfg_t *from = NULL;
	char *field = (char *)a + k->offset;

	if (acct != NULL && cfg_size(acct, k->name) > 0)
		from = acct;
	else if (defs != NULL && cfg_size(defs, k->name) > 0)
		from = defs;
	if (from == NULL) {
		if (k->type == KEY_BOOL)
			*(long *)(void *)field = k->def;
		return;
	}
	if (k->type == KEY_INT)
		*(long *)(void *)field = cfg_getint(from, k->name);
	else if (k->type == KEY_BOOL)
		*(long *)(void *)field = cfg_getbool(from, k->name) ? 1 : 0;
	else if (k->type == KEY_LIST)
		values_get((struct config_values *)(void *)field, from,
		    k->name);
	else
		*(const char **)(void *)field = cfg_getstr(from, k->name);
}

/* The oauth2 block: the account's, else the defaults' (never mixed). */
static int
oauth2_resolve(const struct config *c, cfg_t *acct, cfg_t *defs,
    struct account *a, struct err *e)
{
	struct account_oauth2 *o = &a->oauth2;
	cfg_t *sec = NULL;
	size_t i;
	int n;

	if (acct != NULL && cfg_size(acct, "oauth2") > 0)
		sec = cfg_getsec(acct, "oauth2");
	else if (defs != NULL && cfg_size(defs, "oauth2") > 0)
		sec = cfg_getsec(defs, "oauth2");
	if (sec == NULL)
		return 0;
	o->set = 1;
	for (i = 0; i < NOKEYS; i++)
		if (cfg_size(sec, oauth2_keys[i].name) > 0)
			*(const char **)(void *)((char *)o +
			    oauth2_keys[i].offset) =
			    cfg_getstr(sec, oauth2_keys[i].name);
	if (o->token_url == NULL || o->client_id == NULL)
		return err_set(e, ERR_CONFIG, "%s: account '%s': the oauth2 "
		    "block needs token_url and client_id", c->path, a->name);
	n = (o->refresh_token != NULL) + (o->refresh_tokeneval != NULL) +
	    (o->refresh_token_file != NULL);
	if (n != 1)
		return err_set(e, ERR_CONFIG, "%s: account '%s': the oauth2 "
		    "block needs exactly one of refresh_token, "
		    "refresh_tokeneval and refresh_token_file", c->path,
		    a->name);
	if (o->client_secret != NULL && o->client_secreteval != NULL)
		return err_set(e, ERR_CONFIG, "%s: account '%s': the oauth2 "
		    "block has both client_secret and client_secreteval",
		    c->path, a->name);
	if (a->user == NULL)
		return err_set(e, ERR_CONFIG, "%s: account '%s': OAuth2 needs "
		    "a user (the mailbox to log in to)", c->path, a->name);
	return 0;
}

int
config_account(const struct config *c, const char *name,
    const char *const *senders, struct account *a, struct err *e)
{
	cfg_t *defs = cfg_getsec(c->cfg, "defaults");
	const struct preset *pre;
	cfg_t *acct;
	size_t i;

	acct = config_pick(c, name, senders, e);
	if (acct == NULL)
		return -1;
	memset(a, 0, sizeof(*a));
	a->name = acct == defs ? "defaults" : cfg_title(acct);
	a->file = c->path;
	a->timeout = DEFAULT_TIMEOUT;
	a->auth = "on";
	/* The preset first, so that every key the file sets wins. */
	key_resolve(&config_keys[0], acct, defs, a);
	if ((pre = preset_find(a->provider)) != NULL) {
		a->host_values.v[0] = pre->host;
		a->host_values.n = 1;
		a->port = pre->port;
		a->tls_name = pre->tls;
	}
	for (i = 0; i < NKEYS; i++)
		key_resolve(&config_keys[i], acct, defs, a);
	a->tls = CONFIG_TLS_STARTTLS;
	for (i = 0; a->tls_name != NULL && i < CONFIG_TLS_LAST; i++)
		if (strcmp(a->tls_name, config_tls_names[i]) == 0)
			a->tls = (enum config_tls)i;
	a->tls_name = config_tls_names[a->tls];
	a->set_from_header = CONFIG_FROM_AUTO;
	for (i = 0; a->set_from_header_name != NULL && i < CONFIG_FROM_LAST;
	    i++)
		if (strcmp(a->set_from_header_name, config_from_names[i]) == 0)
			a->set_from_header = (enum config_from_header)i;
	a->set_from_header_name = config_from_names[a->set_from_header];
	if (a->rcpt_policy == NULL)
		a->rcpt_policy = "all";
	if (a->syslog == NULL)
		a->syslog = "off";
	if (a->log_format == NULL)
		a->log_format = "text";
	if (a->queue == NULL)
		a->queue = "on-failure";
	if (a->tls_min_version_name == NULL)
		a->tls_min_version_name = "1.2";
	a->tls_min_version = 10 + (a->tls_min_version_name[2] - '0');
	a->tls_fingerprint[0] = '\0';
	if (a->tls_fingerprint_name != NULL)
		fingerprint_parse(a->tls_fingerprint_name, a->tls_fingerprint);
	if (a->tls_key_file != NULL && a->tls_cert_file == NULL)
		return err_set(e, ERR_CONFIG, "%s: account '%s' has "
		    "tls_key_file but no tls_cert_file", c->path, a->name);
	if (a->queue_max_age_name == NULL)
		a->queue_max_age_name = "5d";
	a->queue_max_age = config_duration(a->queue_max_age_name);
	if (a->port == 0)
		a->port = a->tls == CONFIG_TLS_IMPLICIT ? 465 : 587;
	if (hosts_resolve(c, a, e) == -1)
		return -1;
	return oauth2_resolve(c, acct == defs ? NULL : acct, defs, a, e);
}

/* One value in configuration syntax, quoted and escaped. */
static void
print_str(FILE *out, const char *v)
{
	putc('"', out);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\' || *v == '$')
			putc('\\', out);
		putc(*v, out);
	}
	putc('"', out);
}

static void
print_values(FILE *out, const char *name, const struct config_values *v)
{
	size_t i;

	if (v->n == 0) {
		fprintf(out, "  # %s is not set\n", name);
		return;
	}
	fprintf(out, "  %s = ", name);
	if (v->n > 1)
		putc('{', out);
	for (i = 0; i < v->n; i++) {
		if (i > 0)
			fputs(", ", out);
		print_str(out, v->v[i]);
	}
	if (v->n > 1)
		putc('}', out);
	putc('\n', out);
}

static void
oauth2_print(const struct account_oauth2 *o, FILE *out)
{
	const char *v;
	size_t i, k;
	int secret;

	fputs("  oauth2 {\n", out);
	for (i = 0; i < NOKEYS; i++) {
		v = *(const char *const *)(const void *)((const char *)o +
		    oauth2_keys[i].offset);
		if (v == NULL)
			continue;
		secret = 0;
		for (k = 0; k < sizeof(oauth2_secrets) /
		    sizeof(oauth2_secrets[0]); k++)
			if (strcmp(oauth2_keys[i].name, oauth2_secrets[k]) == 0)
				secret = 1;
		fprintf(out, "    %s = ", oauth2_keys[i].name);
		if (secret)
			fputs("\"<hidden>\"", out);
		else
			print_str(out, v);
		putc('\n', out);
	}
	fputs("  }\n", out);
}

void
config_print(const struct account *a, FILE *out)
{
	const char *field, *v;
	size_t i;

	fprintf(out, "# from %s\naccount ", a->file ? a->file : "?");
	print_str(out, a->name);
	fputs(" {\n", out);
	for (i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_keys[i];

		field = (const char *)a + k->offset;
		if (k->type == KEY_INT) {
			fprintf(out, "  %s = %ld\n", k->name,
			    *(const long *)(const void *)field);
			continue;
		}
		if (k->type == KEY_BOOL) {
			fprintf(out, "  %s = %s\n", k->name,
			    *(const long *)(const void *)field ? "true" :
			    "false");
			continue;
		}
		if (k->type == KEY_LIST) {
			print_values(out, k->name,
			    (const struct config_values *)(const void *)field);
			continue;
		}
		v = *(const char *const *)(const void *)field;
		if (v == NULL) {
			fprintf(out, "  # %s is not set\n", k->name);
			continue;
		}
		fprintf(out, "  %s = ", k->name);
		if (strcmp(k->name, "password") == 0)
			fputs("\"<hidden>\"", out);
		else
			print_str(out, v);
		putc('\n', out);
	}
	if (a->oauth2.set)
		oauth2_print(&a->oauth2, out);
	fputs("}\n", out);
}

void
config_account_names(const struct config *c, struct strlist *out)
{
	unsigned int i, n = cfg_size(c->cfg, "account");

	for (i = 0; i < n; i++)
		strlist_add(out, cfg_title(cfg_getnsec(c->cfg, "account", i)));
}

const char *const *
config_key_names(void)
{
	static const char *names[NKEYS + 2];
	size_t i;

	names[0] = "default_account";
	for (i = 0; i < NKEYS; i++)
		names[i + 1] = config_keys[i].name;
	names[NKEYS + 1] = NULL;
	return names;
}

/* libconfuse frees its strings without clearing them. */
static void
wipe_password(cfg_t *sec)
{
	char *pw;

	if (section_has_password(sec) &&
	    (pw = cfg_getstr(sec, "password")) != NULL)
		wipe(pw, strlen(pw));
}

void
config_release(struct config *c)
{
	unsigned int i, n;

	if (c->cfg != NULL) {
		wipe_password(cfg_getsec(c->cfg, "defaults"));
		n = cfg_size(c->cfg, "account");
		for (i = 0; i < n; i++)
			wipe_password(cfg_getnsec(c->cfg, "account", i));
		cfg_free(c->cfg);
	}
	c->cfg = NULL;
	free(c->path);
	c->path = NULL;
}
