/*
 * config.h - the configuration file: libconfuse schema, defaults, then
 * the account, then what the command line overrides; picking the
 * account.  It hands out a read-only struct account and knows nothing of
 * SMTP or the queue.
 *
 * File syntax:
 *
 *	default_account = "name"
 *	defaults { key = value ... }
 *	account "name" { key = value ... }
 *
 * An account inherits every key it does not set from defaults.
 */
#ifndef ENVOI_CONFIG_H
#define ENVOI_CONFIG_H

#include <confuse.h>
#include <stdio.h>

#include "err.h"
#include "util.h"

enum config_tls {
	CONFIG_TLS_STARTTLS,
	CONFIG_TLS_IMPLICIT,
	CONFIG_TLS_OFF,
	CONFIG_TLS_LAST
};

/*
 * Every string is borrowed from the struct config it came from and lives
 * as long as that; NULL where the key is unset and has no default.
 */
enum config_from_header {
	CONFIG_FROM_AUTO,	/* add From when missing */
	CONFIG_FROM_ON,		/* always the account's address */
	CONFIG_FROM_OFF,	/* never touch From */
	CONFIG_FROM_LAST
};

/* host = {"a", "b:2525", "[::1]:587"}: tried in order. */
#define CONFIG_HOSTS_MAX	8

struct config_host {
	char		 name[256];	/* without the ":port" */
	long		 port;		/* its own, else the account's */
};

struct config_values {
	const char	*v[CONFIG_HOSTS_MAX];
	size_t		 n;
};

/*
 * An oauth2 { } block: envoi refreshes the access token itself and
 * sends it with OAUTHBEARER or XOAUTH2.
 */
struct account_oauth2 {
	int		 set;		/* the account has the block */
	const char	*token_url;	/* https:// token endpoint */
	const char	*client_id;
	const char	*client_secret;
	const char	*client_secreteval;
	const char	*refresh_token;
	const char	*refresh_tokeneval;
	const char	*refresh_token_file;
	const char	*scope;
};

struct account {
	const char	*name;
	const char	*provider;	/* a preset: fills host, port, tls */
	struct config_values host_values;	/* as written */
	struct config_host hosts[CONFIG_HOSTS_MAX];
	size_t		 nhosts;	/* at least 1 */
	const char	*host;		/* hosts[0].name */
	long		 port;		/* hosts[0].port */
	const char	*tls_name;	/* as written */
	enum config_tls	 tls;
	const char	*tls_trust_file;
	const char	*tls_crl_file;
	const char	*tls_cert_file;
	const char	*tls_key_file;
	const char	*tls_priorities;
	const char	*tls_min_version_name;
	long		 tls_min_version;	/* 10..13 */
	const char	*tls_fingerprint_name;	/* as written */
	char		 tls_fingerprint[65];	/* hex, lower case; "" */
	const char	*tls_host_override;
	long		 tls_certcheck;
	long		 tls_session_cache;
	const char	*auth;		/* "on", "off" or mechanism names */
	const char	*user;
	const char	*password;
	const char	*passwordeval;
	const char	*from;
	const char	*domain;
	long		 timeout;	/* seconds */
	const char	*aliases;	/* aliases(5) file */
	const char	*maildomain;	/* qualifies bare names */
	const char	*set_from_header_name;
	enum config_from_header set_from_header;
	long		 keep_original_from;	/* old From to Reply-To */
	long		 set_date_header;
	long		 set_msgid_header;
	long		 allow_from_override;	/* may -f change MAIL FROM */
	const char	*rcpt_policy;	/* "all" or "partial" */
	const char	*logfile;
	const char	*syslog;	/* "off", "on" or a facility */
	const char	*log_format;	/* "text" or "json" */
	const char	*queue;		/* "on-failure", "always", "never" */
	const char	*queue_dir;	/* NULL: the default place */
	const char	*queue_max_age_name;
	long		 queue_max_age;	/* seconds */
	long		 queue_notify;	/* tell the sender of a failure */
	struct account_oauth2 oauth2;
	const char	*file;		/* the file it was read from */
};

struct config {
	cfg_t	*cfg;
	char	*path;
};

/*
 * The file envoi reads when -C is not given: the user's file when it
 * exists, else the system one.  The result is allocated.
 */
char	*config_default_path(void);

/*
 * Parse path into c.  Errors name the file and line (ERR_CONFIG).  A file
 * that holds a password must not be readable by group or others.
 */
int	 config_load(struct config *c, const char *path, struct err *e);

/*
 * Resolve an account: the named one; else the first whose from pattern
 * matches one of senders (a NULL-terminated list, tried in order: the
 * -f address, then the From header's); else default_account; else the
 * only account; else the defaults section alone.
 */
int	 config_account(const struct config *c, const char *name,
	    const char *const *senders, struct account *a, struct err *e);

/* Append the name of every account section to out. */
void	 config_account_names(const struct config *c, struct strlist *out);

/*
 * Split "name", "name:port", "[v6]:port" or a bare IPv6 address into
 * its name and port (0 when none is given).  -1 when it is malformed.
 */
int	 config_host_split(const char *s, char *name, size_t size,
	    long *port);

/* 1 when from is a pattern (holds * or ?), not an address. */
int	 config_from_is_pattern(const char *from);

/*
 * 1 when sender matches the pattern or address from: shell wildcards,
 * case-insensitive; "user+tag@domain" also matches "user@domain".
 */
int	 config_from_matches(const char *from, const char *sender);

/*
 * Parse a duration: a number with an optional unit s, m, h, d or w
 * ("5d").  Returns seconds, or -1 when it is not one.
 */
long	 config_duration(const char *);

/*
 * Write the account's effective settings in configuration syntax: the
 * password as <hidden>, keys without a value as comments.
 */
void	 config_print(const struct account *, FILE *);

/* The names of the provider presets, NULL-terminated. */
const char *const *config_provider_names(void);

/* Every account key, for documentation checks and --help. */
const char *const *config_key_names(void);

void	 config_release(struct config *c);

const char *config_tls_name(enum config_tls);

#endif
