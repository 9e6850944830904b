/*
 * import.c - converting an msmtp configuration (msmtprc) into envoi's.
 *
 * Reading follows msmtp's own reader (conf.c): a line is a command and
 * an optional argument, separated by blanks; blanks around the argument
 * are dropped, and so are double quotes around all of it (nothing inside
 * is unescaped); a line whose first non-blank is '#' is a comment.
 * "defaults" starts the defaults, "account NAME" an account that starts
 * from the defaults as they stand at that line, and "account NAME :
 * A, B" one that then takes every setting that A, then B, made
 * themselves (or took from their own bases), not what they took from
 * the defaults.  Lines before any "defaults" or "account" make an
 * account named "default", as msmtp 1.2 did.
 *
 * Writing: the defaults as they stand at the first account line go into
 * envoi's defaults {} section; each account is flattened (defaults, then
 * bases, then its own lines) and gets every envoi setting that differs
 * from what defaults {} would give it.  "account default : NAME" that
 * sets nothing of its own becomes default_account = "NAME"; an account
 * "default" of its own stays an account, and is the default_account.
 *
 *	msmtp				envoi
 *	host, user, password,		the same, as strings
 *	passwordeval, maildomain,
 *	tls_priorities,
 *	tls_host_override
 *	port, timeout N			numbers; timeout off has no equivalent
 *	(no port)			port = 25, or 465 for implicit TLS:
 *					msmtp's defaults, not envoi's 587
 *	tls off, or no tls		tls = "off" (msmtp's default)
 *	tls on + tls_starttls on	tls = "starttls"
 *	tls on + tls_starttls off	tls = "tls"
 *	auth on|off|METHOD		"on", "off", or the method upper-cased
 *	(user without auth)		auth = "off": msmtp does not
 *					authenticate unless told to
 *	from ADDRESS|PATTERN		the same (wildcards mean the same)
 *	from %U@DOMAIN			maildomain = "DOMAIN" (envoi's sender
 *					without from is the login name there)
 *	domain				the same, unless it holds %H, %C or %M
 *	tls_trust_file, tls_crl_file,	the same, as paths; a leading ~ becomes
 *	tls_cert_file, tls_key_file,	${HOME}; tls_trust_file system is the
 *	aliases, logfile		default and is left out
 *	tls_fingerprint			SHA-256 only
 *	tls_certcheck, set_date_header,	booleans: on/auto is true, off false
 *	set_msgid_header,
 *	allow_from_override
 *	set_from_header			auto, on, off: the same
 *	syslog on|off|LOG_X		"user" (msmtp's default facility),
 *					"off", or x in lower case
 *	add_missing_from_header,	their modern forms (set_from_header,
 *	add_missing_date_header,	set_date_header, tls_certcheck,
 *	tls_nocertcheck,		tls_starttls, timeout)
 *	tls_nostarttls,
 *	connect_timeout
 *
 * The rest (dsn_notify, dsn_return, from_full_name, ntlmdomain,
 * proxy_host, proxy_port, source_ip, socket, protocol lmtp,
 * tls_min_dh_prime_bits, logfile_time_format, set_to_header,
 * undisclosed_recipients, remove_bcc_headers off, keepbcc, auto_from,
 * eval, and commands msmtp does not know) becomes a comment:
 *
 *	# msmtprc line N: 'command argument' not carried over: REASON
 *
 * unless its value is one envoi behaves as anyway (remove_bcc_headers
 * on, protocol smtp, dsn_notify off, an empty argument).  An envoi key
 * that the configuration reader linked in does not know (config.h
 * config_key_names) is treated the same way, so the output always
 * loads.  Strings are written in double quotes with '"', '\' and '$'
 * escaped, since libconfuse expands ${NAME} in them; a value holding a
 * control character, which envoi refuses, becomes a comment.
 *
 * Comments also mark what envoi cannot say: an account that empties a
 * key its defaults set ("user" alone) still inherits it in envoi, and an
 * account with user and auth but neither password nor passwordeval,
 * whose password msmtp (and envoi) look up in the keyring or ~/.netrc,
 * gets a comment saying so, with a secret-tool example.  msmtp's built-in defaults (port, tls, auth off)
 * go into defaults {} only when some account uses them.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "import.h"
#include "util.h"

/* One setting of msmtp's account_t; several commands may set one. */
enum imp_slot {
	IMP_HOST,
	IMP_PORT,
	IMP_TIMEOUT,
	IMP_PROTOCOL,
	IMP_DOMAIN,
	IMP_FROM,
	IMP_FROM_FULL_NAME,
	IMP_ALLOW_FROM_OVERRIDE,
	IMP_AUTO_FROM,
	IMP_MAILDOMAIN,
	IMP_DSN_RETURN,
	IMP_DSN_NOTIFY,
	IMP_AUTH,
	IMP_USER,
	IMP_PASSWORD,
	IMP_PASSWORDEVAL,
	IMP_NTLMDOMAIN,
	IMP_TLS,
	IMP_TLS_STARTTLS,
	IMP_TLS_KEY_FILE,
	IMP_TLS_CERT_FILE,
	IMP_TLS_TRUST_FILE,
	IMP_TLS_CRL_FILE,
	IMP_TLS_FINGERPRINT,
	IMP_TLS_CERTCHECK,
	IMP_TLS_MIN_DH_PRIME_BITS,
	IMP_TLS_PRIORITIES,
	IMP_TLS_HOST_OVERRIDE,
	IMP_LOGFILE,
	IMP_LOGFILE_TIME_FORMAT,
	IMP_SYSLOG,
	IMP_ALIASES,
	IMP_PROXY_HOST,
	IMP_PROXY_PORT,
	IMP_SET_FROM_HEADER,
	IMP_SET_DATE_HEADER,
	IMP_SET_MSGID_HEADER,
	IMP_SET_TO_HEADER,
	IMP_REMOVE_BCC_HEADERS,
	IMP_SOURCE_IP,
	IMP_SOCKET,
	IMP_LAST
};

/* What a command's argument may be, as msmtp checks it. */
enum imp_arg {
	IMP_ARG_TEXT,		/* anything; empty unsets */
	IMP_ARG_NEEDED,		/* anything but empty */
	IMP_ARG_WORD,		/* one of words; empty means empty_is */
	IMP_ARG_NUMBER,		/* 1 to max, or one of words */
	IMP_ARG_MECH,		/* one of words, or a SASL mechanism */
	IMP_ARG_DSN,		/* one of words, or a list of dsn_words */
	IMP_ARG_NONE,		/* nothing; stands for empty_is */
	IMP_ARG_LAST
};

struct imp_cmd {
	const char	*name;
	enum imp_slot	 slot;
	enum imp_arg	 arg;
	const char	*words;		/* accepted words, blank-separated */
	const char	*empty_is;	/* an empty argument; NULL: refused */
	long		 max;		/* IMP_ARG_NUMBER */
	const char	*on_is;		/* old commands: what on means */
	const char	*off_is;	/* and off */
};

static const struct imp_cmd imp_cmds[] = {
	{ "host", IMP_HOST, IMP_ARG_NEEDED, NULL, NULL, 0, NULL, NULL },
	{ "port", IMP_PORT, IMP_ARG_NUMBER, "", NULL, 65535, NULL, NULL },
	{ "timeout", IMP_TIMEOUT, IMP_ARG_NUMBER, "off", NULL, INT_MAX,
	    NULL, NULL },
	{ "connect_timeout", IMP_TIMEOUT, IMP_ARG_NUMBER, "off", NULL,
	    INT_MAX, NULL, NULL },
	{ "protocol", IMP_PROTOCOL, IMP_ARG_WORD, "smtp lmtp", NULL, 0,
	    NULL, NULL },
	{ "domain", IMP_DOMAIN, IMP_ARG_TEXT, NULL, NULL, 0, NULL, NULL },
	{ "from", IMP_FROM, IMP_ARG_TEXT, NULL, NULL, 0, NULL, NULL },
	{ "from_full_name", IMP_FROM_FULL_NAME, IMP_ARG_TEXT, NULL, NULL, 0,
	    NULL, NULL },
	{ "allow_from_override", IMP_ALLOW_FROM_OVERRIDE, IMP_ARG_WORD,
	    "on off", NULL, 0, NULL, NULL },
	{ "auto_from", IMP_AUTO_FROM, IMP_ARG_WORD, "on off", "on", 0, NULL,
	    NULL },
	{ "maildomain", IMP_MAILDOMAIN, IMP_ARG_TEXT, NULL, NULL, 0, NULL,
	    NULL },
	{ "dsn_return", IMP_DSN_RETURN, IMP_ARG_WORD, "off headers full",
	    NULL, 0, NULL, NULL },
	{ "dsn_notify", IMP_DSN_NOTIFY, IMP_ARG_DSN, "off never", NULL, 0,
	    NULL, NULL },
	{ "auth", IMP_AUTH, IMP_ARG_MECH, "on off", "on", 0, NULL, NULL },
	{ "user", IMP_USER, IMP_ARG_TEXT, NULL, NULL, 0, NULL, NULL },
	{ "password", IMP_PASSWORD, IMP_ARG_TEXT, NULL, NULL, 0, NULL, NULL },
	{ "passwordeval", IMP_PASSWORDEVAL, IMP_ARG_TEXT, NULL, NULL, 0, NULL,
	    NULL },
	{ "ntlmdomain", IMP_NTLMDOMAIN, IMP_ARG_TEXT, NULL, NULL, 0, NULL,
	    NULL },
	{ "tls", IMP_TLS, IMP_ARG_WORD, "on off", "on", 0, NULL, NULL },
	{ "tls_starttls", IMP_TLS_STARTTLS, IMP_ARG_WORD, "on off", "on", 0,
	    NULL, NULL },
	{ "tls_nostarttls", IMP_TLS_STARTTLS, IMP_ARG_NONE, NULL, "off", 0,
	    NULL, NULL },
	{ "tls_key_file", IMP_TLS_KEY_FILE, IMP_ARG_TEXT, NULL, NULL, 0, NULL,
	    NULL },
	{ "tls_cert_file", IMP_TLS_CERT_FILE, IMP_ARG_TEXT, NULL, NULL, 0,
	    NULL, NULL },
	{ "tls_trust_file", IMP_TLS_TRUST_FILE, IMP_ARG_TEXT, NULL, NULL, 0,
	    NULL, NULL },
	{ "tls_crl_file", IMP_TLS_CRL_FILE, IMP_ARG_TEXT, NULL, NULL, 0, NULL,
	    NULL },
	{ "tls_fingerprint", IMP_TLS_FINGERPRINT, IMP_ARG_TEXT, NULL, NULL, 0,
	    NULL, NULL },
	{ "tls_certcheck", IMP_TLS_CERTCHECK, IMP_ARG_WORD, "on off", "on", 0,
	    NULL, NULL },
	{ "tls_nocertcheck", IMP_TLS_CERTCHECK, IMP_ARG_NONE, NULL, "off", 0,
	    NULL, NULL },
	{ "tls_min_dh_prime_bits", IMP_TLS_MIN_DH_PRIME_BITS, IMP_ARG_NUMBER,
	    "", "", INT_MAX, NULL, NULL },
	{ "tls_priorities", IMP_TLS_PRIORITIES, IMP_ARG_TEXT, NULL, NULL, 0,
	    NULL, NULL },
	{ "tls_host_override", IMP_TLS_HOST_OVERRIDE, IMP_ARG_TEXT, NULL,
	    NULL, 0, NULL, NULL },
	{ "logfile", IMP_LOGFILE, IMP_ARG_TEXT, NULL, NULL, 0, NULL, NULL },
	{ "logfile_time_format", IMP_LOGFILE_TIME_FORMAT, IMP_ARG_TEXT, NULL,
	    NULL, 0, NULL, NULL },
	{ "syslog", IMP_SYSLOG, IMP_ARG_WORD, "on off LOG_USER LOG_MAIL "
	    "LOG_LOCAL0 LOG_LOCAL1 LOG_LOCAL2 LOG_LOCAL3 LOG_LOCAL4 "
	    "LOG_LOCAL5 LOG_LOCAL6 LOG_LOCAL7", "on", 0, NULL, NULL },
	{ "aliases", IMP_ALIASES, IMP_ARG_TEXT, NULL, NULL, 0, NULL, NULL },
	{ "proxy_host", IMP_PROXY_HOST, IMP_ARG_TEXT, NULL, NULL, 0, NULL,
	    NULL },
	{ "proxy_port", IMP_PROXY_PORT, IMP_ARG_NUMBER, "", "", 65535, NULL,
	    NULL },
	{ "set_from_header", IMP_SET_FROM_HEADER, IMP_ARG_WORD, "auto on off",
	    "auto", 0, NULL, NULL },
	{ "set_date_header", IMP_SET_DATE_HEADER, IMP_ARG_WORD, "auto off",
	    "auto", 0, NULL, NULL },
	{ "set_msgid_header", IMP_SET_MSGID_HEADER, IMP_ARG_WORD, "auto off",
	    "auto", 0, NULL, NULL },
	{ "set_to_header", IMP_SET_TO_HEADER, IMP_ARG_WORD,
	    "on off undisclosed_recipients", "on", 0, NULL, NULL },
	{ "undisclosed_recipients", IMP_SET_TO_HEADER, IMP_ARG_WORD, "on off",
	    "on", 0, "undisclosed_recipients", "off" },
	{ "remove_bcc_headers", IMP_REMOVE_BCC_HEADERS, IMP_ARG_WORD,
	    "on off", "on", 0, NULL, NULL },
	{ "keepbcc", IMP_REMOVE_BCC_HEADERS, IMP_ARG_WORD, "on off", "on", 0,
	    "off", "on" },
	{ "add_missing_from_header", IMP_SET_FROM_HEADER, IMP_ARG_WORD,
	    "on off", "on", 0, "auto", "off" },
	{ "add_missing_date_header", IMP_SET_DATE_HEADER, IMP_ARG_WORD,
	    "on off", "on", 0, "auto", "off" },
	{ "source_ip", IMP_SOURCE_IP, IMP_ARG_TEXT, NULL, NULL, 0, NULL,
	    NULL },
	{ "socket", IMP_SOCKET, IMP_ARG_TEXT, NULL, NULL, 0, NULL, NULL },
};
#define IMP_NCMDS (sizeof(imp_cmds) / sizeof(imp_cmds[0]))

/* One setting line as read; the import owns it, sections point to it. */
struct imp_line {
	char		*val;	/* the value, in msmtp's modern form */
	char		*text;	/* "command argument" as written */
	unsigned long	 line;
};

struct imp_sec {
	char			*name;		/* NULL: the defaults */
	unsigned long		 line;		/* of the account command */
	const struct imp_line	*set[IMP_LAST];	/* its own and its bases' */
	const struct imp_line	*defs[IMP_LAST]; /* the defaults at start */
	struct strlist		 notes;		/* lines that set nothing */
	char			*base;		/* its first base, or NULL */
	size_t			 nbases;
	size_t			 nown;		/* settings of its own */
};

struct imp {
	const char	 *name;
	struct imp_sec	  defaults;
	struct imp_sec	  first;	/* the defaults at the first account */
	int		  have_first;
	struct imp_sec	**acc;
	size_t		  nacc;
	struct imp_sec	 *cur;		/* what lines set; NULL: none yet */
	struct imp_line	**lines;
	size_t		  nlines;
};

/* A line of output: "key = value", or a whole comment line (key NULL). */
struct imp_item {
	char	*key;
	char	*text;
	char	*note;		/* a comment after the value, or NULL */
	int	 derived;	/* msmtp's built-in default, no line */
};

struct imp_items {
	struct imp_item	*v;
	size_t		 n;
	size_t		 cap;
};

struct imp_map;
typedef void (*imp_conv)(struct imp_items *, const struct imp_sec *,
    const struct imp_map *);

/* An envoi key, or a slot that has none, in the order of the output. */
struct imp_map {
	enum imp_slot	 slot;
	const char	*key;		/* envoi's; NULL: none */
	imp_conv	 conv;
	const char	*neutral;	/* a value envoi behaves as anyway */
	const char	*why;		/* why it is not carried over */
};

static char *
imp_printf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static char *
imp_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* A copy fit for a comment line: control characters become '?'. */
static char *
imp_printable(const char *s)
{
	char *t = xstrdup(s), *p;

	for (p = t; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return t;
}

/* s as a libconfuse string; a path's leading ~ becomes ${HOME}. */
static char *
imp_quote(const char *s, int path)
{
	char *q = xmalloc(2 * strlen(s) + 16), *p = q;

	*p++ = '"';
	if (path && *s == '~') {
		memcpy(p, "${HOME}", 7);
		p += 7;
		s++;
	}
	for (; *s; s++) {
		if (*s == '"' || *s == '\\' || *s == '$')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	return q;
}

static int
imp_word_in(const char *word, const char *words)
{
	size_t n = strlen(word);
	const char *p = words;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, word, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	return 0;
}

/* Blanks off both ends, then the double quotes around all of it. */
static char *
imp_trim(char *s)
{
	size_t n;

	s += strspn(s, " \t");
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s[n - 1] = '\0';
		s++;
	}
	return s;
}

/* ------------------------------------------------------------------ */
/* reading */

static struct imp_sec *
imp_sec_new(const char *name, unsigned long line)
{
	struct imp_sec *s = xcalloc(1, sizeof(*s));

	s->name = name != NULL ? xstrdup(name) : NULL;
	s->line = line;
	strlist_init(&s->notes);
	return s;
}

static void
imp_sec_release(struct imp_sec *s)
{
	free(s->name);
	free(s->base);
	strlist_release(&s->notes);
}

static struct imp_sec *
imp_find(const struct imp *im, const char *name)
{
	size_t i;

	for (i = 0; i < im->nacc; i++)
		if (strcmp(im->acc[i]->name, name) == 0)
			return im->acc[i];
	return NULL;
}

static struct imp_sec *
imp_add_account(struct imp *im, const char *name, unsigned long line)
{
	struct imp_sec *s = imp_sec_new(name, line);

	if (!im->have_first) {
		memcpy(im->first.set, im->defaults.set, sizeof(im->first.set));
		im->have_first = 1;
	}
	memcpy(s->defs, im->defaults.set, sizeof(s->defs));
	im->acc = xrealloc(im->acc, (im->nacc + 1) * sizeof(*im->acc));
	im->acc[im->nacc++] = s;
	return s;
}

/* "account NAME [: BASE, ...]": arg is already trimmed. */
static int
imp_account(struct imp *im, char *arg, unsigned long line, struct err *e)
{
	char *colon = strchr(arg, ':'), *name, *b, *comma;
	struct strlist bases;
	struct imp_sec *s, *base;
	size_t i, k;
	int ret = -1;

	strlist_init(&bases);
	if (colon != NULL)
		*colon = '\0';
	for (b = colon != NULL ? colon + 1 : NULL; b != NULL;
	    b = comma != NULL ? comma + 1 : NULL) {
		if ((comma = strchr(b, ',')) != NULL)
			*comma = '\0';
		strlist_add(&bases, imp_trim(b));
	}
	name = imp_trim(arg);
	if (*name == '\0') {
		err_set(e, ERR_CONFIG, "%s:%lu: missing account name",
		    im->name, line);
		goto out;
	}
	if (strchr(name, ',') != NULL) {
		err_set(e, ERR_CONFIG, "%s:%lu: account name '%s' holds a "
		    "comma", im->name, line, name);
		goto out;
	}
	if (imp_find(im, name) != NULL) {
		err_set(e, ERR_CONFIG, "%s:%lu: account '%s' is defined twice",
		    im->name, line, name);
		goto out;
	}
	for (k = 0; k < bases.n; k++) {
		if (*bases.v[k] == '\0') {
			err_set(e, ERR_CONFIG, "%s:%lu: missing base account "
			    "name", im->name, line);
			goto out;
		}
		if (imp_find(im, bases.v[k]) == NULL) {
			err_set(e, ERR_CONFIG, "%s:%lu: base account '%s' is "
			    "not defined (before this line)", im->name, line,
			    bases.v[k]);
			goto out;
		}
	}
	s = imp_add_account(im, name, line);
	for (k = 0; k < bases.n; k++) {
		base = imp_find(im, bases.v[k]);
		/* msmtp's mask: only what the base set, not its defaults. */
		for (i = 0; i < IMP_LAST; i++)
			if (base->set[i] != NULL)
				s->set[i] = base->set[i];
	}
	s->nbases = bases.n;
	if (bases.n > 0)
		s->base = xstrdup(bases.v[0]);
	im->cur = s;
	ret = 0;
out:
	strlist_release(&bases);
	return ret;
}

static int
imp_check_number(const char *arg, long max)
{
	char *end;
	long n;

	if (!isdigit((unsigned char)*arg))
		return -1;
	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > max)
		return -1;
	return 0;
}

static int
imp_check_mech(const char *arg)
{
	const char *p;

	for (p = arg; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p)
		    && *p != '-')
			return -1;
	return 0;
}

static int
imp_check_dsn(const char *arg)
{
	char *copy = xstrdup(arg), *w, *save = NULL;
	int ret = 0;

	for (w = strtok_r(copy, ",", &save); w != NULL && ret == 0;
	    w = strtok_r(NULL, ",", &save))
		if (!imp_word_in(w, "failure delay success"))
			ret = -1;
	if (*arg == '\0' || arg[strlen(arg) - 1] == ',' || *arg == ',' ||
	    strstr(arg, ",,") != NULL)
		ret = -1;
	free(copy);
	return ret;
}

static int
imp_arg_ok(const struct imp_cmd *c, const char *arg)
{
	switch (c->arg) {
	case IMP_ARG_TEXT:
	case IMP_ARG_NEEDED:
		return 1;
	case IMP_ARG_WORD:
		return imp_word_in(arg, c->words);
	case IMP_ARG_NUMBER:
		return imp_word_in(arg, c->words) ||
		    imp_check_number(arg, c->max) == 0;
	case IMP_ARG_MECH:
		return imp_word_in(arg, c->words) || imp_check_mech(arg) == 0;
	case IMP_ARG_DSN:
		return imp_word_in(arg, c->words) || imp_check_dsn(arg) == 0;
	default:
		return 0;	/* IMP_ARG_NONE with an argument */
	}
}

/* The value an argument stands for, or NULL when msmtp refuses it. */
static const char *
imp_check_arg(const struct imp_cmd *c, const char *arg)
{
	const char *v = arg;

	if (*arg == '\0' && c->arg != IMP_ARG_TEXT)
		v = c->empty_is;
	else if (!imp_arg_ok(c, arg))
		v = NULL;
	if (v == NULL)
		return NULL;
	if (c->on_is != NULL && strcmp(v, "on") == 0)
		v = c->on_is;
	else if (c->off_is != NULL && strcmp(v, "off") == 0)
		v = c->off_is;
	return v;
}

/* What a command takes, for the error message. */
static const char *
imp_expected(const struct imp_cmd *c, char *buf, size_t size)
{
	const char *w;
	size_t n;

	switch (c->arg) {
	case IMP_ARG_NEEDED:
		return "an argument";
	case IMP_ARG_WORD:
		/* "on off" becomes "on, off". */
		n = (size_t)snprintf(buf, size, "one of: ");
		for (w = c->words; *w != '\0' && n + 3 < size; w++) {
			if (*w == ' ')
				buf[n++] = ',';
			buf[n++] = *w;
		}
		buf[n] = '\0';
		return buf;
	case IMP_ARG_NUMBER:
		snprintf(buf, size, "a number from 1 to %ld%s", c->max,
		    c->words[0] != '\0' ? ", or off" : "");
		return buf;
	case IMP_ARG_MECH:
		return "on, off or an authentication method";
	case IMP_ARG_DSN:
		return "off, never or a list of failure, delay, success";
	default:
		return "no argument";
	}
}

static void
imp_note(struct imp_sec *s, unsigned long line, const char *text,
    const char *why)
{
	char *t = imp_printable(text), *n;

	n = imp_printf("# msmtprc line %lu: '%s' not carried over: %s", line,
	    t, why);
	strlist_add(&s->notes, n);
	free(n);
	free(t);
}

static int
imp_setting(struct imp *im, const char *cmd, const char *arg,
    const char *text, unsigned long line, struct err *e)
{
	const struct imp_cmd *c = NULL;
	struct imp_line *l;
	const char *v;
	char buf[256];
	size_t i;

	for (i = 0; i < IMP_NCMDS; i++)
		if (strcmp(imp_cmds[i].name, cmd) == 0)
			c = &imp_cmds[i];
	if (c == NULL) {
		if (strcmp(cmd, "tls_force_sslv3") == 0)
			imp_note(im->cur, line, text, "obsolete; msmtp "
			    "ignores it too");
		else
			imp_note(im->cur, line, text, "not an msmtp command");
		return 0;
	}
	if ((v = imp_check_arg(c, arg)) == NULL)
		return err_set(e, ERR_CONFIG, "%s:%lu: '%s': expected %s",
		    im->name, line, text, imp_expected(c, buf, sizeof(buf)));
	l = xcalloc(1, sizeof(*l));
	l->val = xstrdup(v);
	l->text = xstrdup(text);
	l->line = line;
	im->lines = xrealloc(im->lines, (im->nlines + 1) * sizeof(*im->lines));
	im->lines[im->nlines++] = l;
	im->cur->set[c->slot] = l;
	im->cur->nown++;
	return 0;
}

static int
imp_cmd_ok(const char *cmd)
{
	for (; *cmd; cmd++)
		if (!isalnum((unsigned char)*cmd) && *cmd != '_')
			return 0;
	return 1;
}

/* One line, without its line end. */
static int
imp_line(struct imp *im, char *line, unsigned long lineno, struct err *e)
{
	char *cmd, *rest, *arg, *text;
	size_t n;
	int ret = 0;

	cmd = line + strspn(line, " \t");
	if (*cmd == '#' || *cmd == '\0')
		return 0;
	n = strcspn(cmd, " \t");
	rest = cmd + n;
	if (*rest != '\0')
		*rest++ = '\0';
	if (!imp_cmd_ok(cmd))
		return err_set(e, ERR_CONFIG, "%s:%lu: '%s' is not a command: "
		    "expected 'command [argument]'", im->name, lineno, cmd);
	/* The line as written, for comments: quotes kept, blanks not. */
	text = imp_printf("%s %s", cmd, rest + strspn(rest, " \t"));
	n = strlen(text);
	while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t'))
		text[--n] = '\0';
	arg = imp_trim(rest);
	if (strcmp(cmd, "defaults") == 0) {
		if (*arg != '\0')
			ret = err_set(e, ERR_CONFIG, "%s:%lu: defaults takes "
			    "no argument", im->name, lineno);
		im->cur = &im->defaults;
	} else if (strcmp(cmd, "account") == 0)
		ret = imp_account(im, arg, lineno, e);
	else if (strcmp(cmd, "eval") == 0)
		imp_note(im->cur != NULL ? im->cur : &im->defaults, lineno,
		    text, "envoi runs no commands while reading its "
		    "configuration; write the setting itself");
	else {
		if (im->cur == NULL)	/* msmtp 1.2: an implicit account */
			im->cur = imp_add_account(im, "default", lineno);
		ret = imp_setting(im, cmd, arg, text, lineno, e);
	}
	wipe_free(text);	/* it may be a password line */
	return ret;
}

static int
imp_read(struct imp *im, FILE *in, struct err *e)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	ssize_t n;
	int ret = -1;

	while ((n = getline(&line, &cap, in)) != -1) {
		lineno++;
		if (n > IMPORT_LINEMAX) {
			err_set(e, ERR_CONFIG, "%s:%lu: line longer than %d "
			    "bytes", im->name, lineno, IMPORT_LINEMAX);
			goto out;
		}
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (memchr(line, '\0', (size_t)n) != NULL) {
			err_set(e, ERR_CONFIG, "%s:%lu: NUL byte", im->name,
			    lineno);
			goto out;
		}
		if (imp_line(im, line, lineno, e) == -1)
			goto out;
	}
	if (ferror(in)) {
		err_set(e, ERR_CONFIG, "cannot read msmtp configuration '%s': "
		    "%s", im->name, strerror(errno));
		goto out;
	}
	if (!im->have_first) {
		memcpy(im->first.set, im->defaults.set, sizeof(im->first.set));
		im->have_first = 1;
	}
	ret = 0;
out:
	if (line != NULL)
		wipe(line, cap);
	free(line);
	return ret;
}

/* ------------------------------------------------------------------ */
/* converting one flattened section into envoi lines */

static const struct imp_line *
imp_eff(const struct imp_sec *s, enum imp_slot i)
{
	return s->set[i] != NULL ? s->set[i] : s->defs[i];
}

/* The value, or NULL when the setting is unset or empty. */
static const char *
imp_val(const struct imp_sec *s, enum imp_slot i)
{
	const struct imp_line *l = imp_eff(s, i);

	return l != NULL && l->val[0] != '\0' ? l->val : NULL;
}

static int
imp_envoi_has(const char *key)
{
	const char *const *k;

	for (k = config_key_names(); *k != NULL; k++)
		if (strcmp(*k, key) == 0)
			return 1;
	return 0;
}

static void
imp_push(struct imp_items *it, const char *key, char *text, const char *note,
    int derived)
{
	struct imp_item *i;

	if (it->n == it->cap) {
		it->cap = it->cap ? it->cap * 2 : 32;
		it->v = xrealloc(it->v, it->cap * sizeof(*it->v));
	}
	i = &it->v[it->n++];
	i->key = key != NULL ? xstrdup(key) : NULL;
	i->text = text;
	i->note = note != NULL ? xstrdup(note) : NULL;
	i->derived = derived;
}

static void
imp_skip(struct imp_items *it, const struct imp_line *src, const char *why)
{
	char *t = imp_printable(src->text);

	imp_push(it, NULL, imp_printf("# msmtprc line %lu: '%s' not carried "
	    "over: %s", src->line, t, why), NULL, 0);
	free(t);
}

/* key = value (value is taken); src NULL for msmtp's built-in defaults. */
static void
imp_set(struct imp_items *it, const char *key, const struct imp_line *src,
    char *value, const char *note)
{
	char why[128];

	if (!imp_envoi_has(key)) {
		snprintf(why, sizeof(why), "envoi has no '%s' setting", key);
		if (src != NULL)
			imp_skip(it, src, why);
	} else
		imp_push(it, key, imp_printf("%s = %s", key, value), note,
		    src == NULL);
	free(value);
}

/* The text of a string setting, or NULL after a comment. */
static const struct imp_line *
imp_text_of(struct imp_items *it, const struct imp_sec *s, enum imp_slot i)
{
	const struct imp_line *l = imp_eff(s, i);

	if (l == NULL || l->val[0] == '\0')
		return NULL;
	if (has_ctl(l->val)) {
		imp_skip(it, l, "it holds a control character, which envoi "
		    "refuses");
		return NULL;
	}
	return l;
}

static void
conv_text(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_text_of(it, s, m->slot);

	if (l != NULL)
		imp_set(it, m->key, l, imp_quote(l->val, 0), NULL);
}

static void
conv_path(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_text_of(it, s, m->slot);

	if (l != NULL)
		imp_set(it, m->key, l, imp_quote(l->val, 1), NULL);
}

/* on, auto: true; off: false. */
static void
conv_bool(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_eff(s, m->slot);

	if (l != NULL)
		imp_set(it, m->key, l, xstrdup(strcmp(l->val, "off") == 0 ?
		    "false" : "true"), NULL);
}

static void
conv_word(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_eff(s, m->slot);

	if (l != NULL)
		imp_set(it, m->key, l, imp_quote(l->val, 0), NULL);
}

/* envoi's tls value for a section. */
static const char *
imp_tls_mode(const struct imp_sec *s)
{
	const char *tls = imp_val(s, IMP_TLS);
	const char *starttls = imp_val(s, IMP_TLS_STARTTLS);

	if (tls == NULL || strcmp(tls, "off") == 0)
		return "off";
	return starttls != NULL && strcmp(starttls, "off") == 0 ? "tls" :
	    "starttls";
}

static void
conv_tls(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_eff(s, IMP_TLS);

	/* Without a tls line, the value is msmtp's built-in default. */
	imp_set(it, m->key, l, imp_quote(imp_tls_mode(s), 0), l == NULL ?
	    "msmtp's default: no TLS" : NULL);
}

static void
conv_port(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_eff(s, m->slot);
	int implicit = strcmp(imp_tls_mode(s), "tls") == 0;

	if (l != NULL)
		imp_set(it, m->key, l, imp_printf("%ld", strtol(l->val, NULL,
		    10)), NULL);
	else
		imp_set(it, m->key, NULL, xstrdup(implicit ? "465" : "25"),
		    "msmtp's default port");
}

static void
conv_auth(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_eff(s, m->slot);
	char *v, *p;

	if (l == NULL) {
		if (imp_val(s, IMP_USER) != NULL)
			imp_set(it, m->key, NULL, xstrdup("\"off\""), "msmtp "
			    "authenticates only with auth on");
		return;
	}
	v = xstrdup(l->val);
	if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
		for (p = v; *p; p++)
			*p = (char)toupper((unsigned char)*p);
	imp_set(it, m->key, l, imp_quote(v, 0), NULL);
	free(v);
}

static void
conv_trust(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_eff(s, m->slot);
	const char *check = imp_val(s, IMP_TLS_CERTCHECK);

	if (l == NULL || strcmp(l->val, "system") == 0)
		return;		/* envoi's default: the system store */
	if (l->val[0] == '\0') {
		/* Trusting no CA makes sense with a fingerprint. */
		if (imp_val(s, IMP_TLS_FINGERPRINT) == NULL && (check == NULL ||
		    strcmp(check, "off") != 0))
			imp_skip(it, l, "envoi trusts the system's CAs unless "
			    "given a file");
		return;
	}
	conv_path(it, s, m);
}

static int
imp_is_sha256(const char *fp)
{
	size_t n = 0;

	for (; *fp; fp++) {
		if (*fp == ':')
			continue;
		if (!isxdigit((unsigned char)*fp))
			return 0;
		n++;
	}
	return n == 64;
}

static void
conv_fingerprint(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_eff(s, m->slot);

	if (l == NULL || l->val[0] == '\0')
		return;
	if (!imp_is_sha256(l->val))
		imp_skip(it, l, "envoi pins SHA-256 fingerprints only");
	else
		conv_text(it, s, m);
}

static void
conv_from(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_text_of(it, s, m->slot);

	if (l == NULL)
		return;
	if (strchr(l->val, '%') == NULL) {
		imp_set(it, m->key, l, imp_quote(l->val, 0), NULL);
		return;
	}
	/* %U@domain: envoi's sender without from is login@maildomain. */
	if (strncmp(l->val, "%U@", 3) == 0 && strchr(l->val + 3, '%') == NULL &&
	    imp_val(s, IMP_MAILDOMAIN) == NULL) {
		imp_skip(it, l, "envoi has no %U: without from, its sender "
		    "is the login name at maildomain");
		imp_set(it, "maildomain", NULL, imp_quote(l->val + 3, 0),
		    "from msmtp's from %U@...");
		return;
	}
	imp_skip(it, l, "envoi does not expand msmtp's %F, %U, %H, %C, %M");
}

static void
conv_domain(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_text_of(it, s, m->slot);

	if (l == NULL)
		return;
	if (strchr(l->val, '%') != NULL)
		imp_skip(it, l, "envoi does not expand %H, %C, %M; its "
		    "default is the host name");
	else
		imp_set(it, m->key, l, imp_quote(l->val, 0), NULL);
}

static void
conv_timeout(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_eff(s, m->slot);
	long n;

	if (l == NULL)
		return;
	if (strcmp(l->val, "off") == 0) {
		imp_skip(it, l, "envoi always has a timeout (60 seconds "
		    "unless set)");
		return;
	}
	n = strtol(l->val, NULL, 10);
	if (n > 86400)
		imp_skip(it, l, "envoi's longest timeout is 86400 seconds");
	else
		imp_set(it, m->key, l, imp_printf("%ld", n), NULL);
}

static void
conv_logfile(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_eff(s, m->slot);

	if (l != NULL && strcmp(l->val, "-") == 0)
		imp_skip(it, l, "envoi cannot log to standard output");
	else
		conv_path(it, s, m);
}

static void
conv_syslog(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_eff(s, m->slot);
	char *v, *p;

	if (l == NULL)
		return;
	if (strcmp(l->val, "on") == 0) {
		imp_set(it, m->key, l, xstrdup("\"user\""), "msmtp's default "
		    "facility");
		return;
	}
	v = xstrdup(strncmp(l->val, "LOG_", 4) == 0 ? l->val + 4 : l->val);
	for (p = v; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	imp_set(it, m->key, l, imp_quote(v, 0), NULL);
	free(v);
}

/* No envoi key: a comment, unless envoi behaves so anyway. */
static void
conv_none(struct imp_items *it, const struct imp_sec *s,
    const struct imp_map *m)
{
	const struct imp_line *l = imp_eff(s, m->slot);

	if (l == NULL || l->val[0] == '\0' || (m->neutral != NULL &&
	    strcmp(l->val, m->neutral) == 0))
		return;
	imp_skip(it, l, m->why);
}

static const struct imp_map imp_maps[] = {
	{ IMP_HOST, "host", conv_text, NULL, NULL },
	{ IMP_PORT, "port", conv_port, NULL, NULL },
	{ IMP_TLS, "tls", conv_tls, NULL, NULL },
	{ IMP_TLS_TRUST_FILE, "tls_trust_file", conv_trust, NULL, NULL },
	{ IMP_TLS_CRL_FILE, "tls_crl_file", conv_path, NULL, NULL },
	{ IMP_TLS_FINGERPRINT, "tls_fingerprint", conv_fingerprint, NULL,
	    NULL },
	{ IMP_TLS_CERT_FILE, "tls_cert_file", conv_path, NULL, NULL },
	{ IMP_TLS_KEY_FILE, "tls_key_file", conv_path, NULL, NULL },
	{ IMP_TLS_PRIORITIES, "tls_priorities", conv_text, NULL, NULL },
	{ IMP_TLS_HOST_OVERRIDE, "tls_host_override", conv_text, NULL, NULL },
	{ IMP_TLS_CERTCHECK, "tls_certcheck", conv_bool, NULL, NULL },
	{ IMP_AUTH, "auth", conv_auth, NULL, NULL },
	{ IMP_USER, "user", conv_text, NULL, NULL },
	{ IMP_PASSWORD, "password", conv_text, NULL, NULL },
	{ IMP_PASSWORDEVAL, "passwordeval", conv_text, NULL, NULL },
	{ IMP_FROM, "from", conv_from, NULL, NULL },
	{ IMP_DOMAIN, "domain", conv_domain, NULL, NULL },
	{ IMP_TIMEOUT, "timeout", conv_timeout, NULL, NULL },
	{ IMP_ALIASES, "aliases", conv_path, NULL, NULL },
	{ IMP_MAILDOMAIN, "maildomain", conv_text, NULL, NULL },
	{ IMP_SET_FROM_HEADER, "set_from_header", conv_word, NULL, NULL },
	{ IMP_SET_DATE_HEADER, "set_date_header", conv_bool, NULL, NULL },
	{ IMP_SET_MSGID_HEADER, "set_msgid_header", conv_bool, NULL, NULL },
	{ IMP_ALLOW_FROM_OVERRIDE, "allow_from_override", conv_bool, NULL,
	    NULL },
	{ IMP_LOGFILE, "logfile", conv_logfile, NULL, NULL },
	{ IMP_SYSLOG, "syslog", conv_syslog, NULL, NULL },
	{ IMP_PROTOCOL, NULL, conv_none, "smtp", "envoi speaks SMTP, not "
	    "LMTP" },
	{ IMP_FROM_FULL_NAME, NULL, conv_none, NULL, "envoi takes the full "
	    "name per message, with -F" },
	{ IMP_AUTO_FROM, NULL, conv_none, "off", "obsolete; without from, "
	    "envoi's sender is the login name at maildomain" },
	{ IMP_DSN_NOTIFY, NULL, conv_none, "off", "envoi asks for "
	    "notifications per message, with -N" },
	{ IMP_DSN_RETURN, NULL, conv_none, "off", "envoi asks for "
	    "notifications per message, with -R" },
	{ IMP_NTLMDOMAIN, NULL, conv_none, NULL, "envoi does not offer NTLM" },
	{ IMP_TLS_MIN_DH_PRIME_BITS, NULL, conv_none, NULL, "envoi has no "
	    "such setting; tls_priorities can say it" },
	{ IMP_LOGFILE_TIME_FORMAT, NULL, conv_none, NULL, "envoi's log "
	    "format is fixed (see log_format)" },
	{ IMP_PROXY_HOST, NULL, conv_none, NULL, "envoi does not use SOCKS "
	    "proxies" },
	{ IMP_PROXY_PORT, NULL, conv_none, NULL, "envoi does not use SOCKS "
	    "proxies" },
	{ IMP_SOURCE_IP, NULL, conv_none, NULL, "envoi does not choose its "
	    "source address" },
	{ IMP_SOCKET, NULL, conv_none, NULL, "envoi connects over TCP only" },
	{ IMP_SET_TO_HEADER, NULL, conv_none, "off", "envoi does not add a "
	    "To header" },
	{ IMP_REMOVE_BCC_HEADERS, NULL, conv_none, "on", "envoi always "
	    "removes Bcc headers" },
};
#define IMP_NMAPS (sizeof(imp_maps) / sizeof(imp_maps[0]))

/*
 * msmtp falls back on the keyring and ~/.netrc for a password that the
 * file does not give.  envoi does the same (cred.h), but a user reading
 * the converted file should see where the password will come from.
 */
static void
imp_password_hint(const struct imp_sec *s, struct imp_items *it)
{
	const char *user = imp_val(s, IMP_USER), *auth = imp_val(s, IMP_AUTH);
	const char *host = imp_val(s, IMP_HOST);
	char *u, *h;

	if (user == NULL || host == NULL || auth == NULL ||
	    strcmp(auth, "off") == 0 ||
	    imp_val(s, IMP_PASSWORD) != NULL ||
	    imp_val(s, IMP_PASSWORDEVAL) != NULL)
		return;
	u = imp_printable(user);
	h = imp_printable(host);
	imp_push(it, NULL, imp_printf("# msmtp took the password of '%s' "
	    "from the keyring or ~/.netrc, and envoi looks there too; to "
	    "name the source, set passwordeval = \"secret-tool lookup "
	    "host %s service smtp user %s\"", u, h, u), NULL, 0);
	free(u);
	free(h);
}

static void
imp_convert(const struct imp_sec *s, struct imp_items *it)
{
	size_t i;

	for (i = 0; i < IMP_NMAPS; i++)
		imp_maps[i].conv(it, s, &imp_maps[i]);
	imp_password_hint(s, it);
	for (i = 0; i < s->notes.n; i++)
		imp_push(it, NULL, xstrdup(s->notes.v[i]), NULL, 0);
}

static void
imp_items_release(struct imp_items *it)
{
	size_t i;

	for (i = 0; i < it->n; i++) {
		free(it->v[i].key);
		wipe_free(it->v[i].text);	/* password = "..." */
		free(it->v[i].note);
	}
	free(it->v);
	memset(it, 0, sizeof(*it));
}

static const struct imp_item *
imp_item_find(const struct imp_items *it, const char *key, const char *text)
{
	size_t i;

	for (i = 0; i < it->n; i++)
		if (key != NULL ? it->v[i].key != NULL &&
		    strcmp(it->v[i].key, key) == 0 : it->v[i].key == NULL &&
		    strcmp(it->v[i].text, text) == 0)
			return &it->v[i];
	return NULL;
}

static int
imp_items_equal(const struct imp_items *a, const struct imp_items *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].text, b->v[i].text) != 0)
			return 0;
	return 1;
}

/* ------------------------------------------------------------------ */
/* writing */

static void
imp_write_item(FILE *out, const struct imp_item *i)
{
	if (i->note != NULL)
		fprintf(out, "\t%s\t# %s\n", i->text, i->note);
	else
		fprintf(out, "\t%s\n", i->text);
}

/* What an account needs beyond defaults: what differs, and what it lacks. */
static void
imp_write_account(FILE *out, const struct imp_sec *s,
    const struct imp_items *a, const struct imp_items *d)
{
	const struct imp_item *di;
	char *q = imp_quote(s->name, 0);
	size_t i;

	fprintf(out, "\naccount %s {\t# msmtprc line %lu\n", q, s->line);
	free(q);
	for (i = 0; i < a->n; i++) {
		di = imp_item_find(d, a->v[i].key, a->v[i].text);
		if (di == NULL || strcmp(di->text, a->v[i].text) != 0)
			imp_write_item(out, &a->v[i]);
	}
	for (i = 0; i < d->n; i++)
		if (d->v[i].key != NULL && imp_item_find(a, d->v[i].key,
		    NULL) == NULL)
			fprintf(out, "\t# '%s' from defaults {} applies here "
			    "too: envoi cannot unset it\n", d->v[i].key);
	fputs("}\n", out);
}

/*
 * Drop from the defaults what msmtp's built-in defaults gave them and
 * every account sets otherwise: port = 25 when all accounts have a port.
 */
static void
imp_trim_defaults(struct imp_items *d, struct imp_items *acc, size_t n,
    const int *skip)
{
	const struct imp_item *ai;
	size_t i, j, k;
	int used;

	for (i = 0, k = 0; i < d->n; i++) {
		used = n == 0 || !d->v[i].derived;
		for (j = 0; j < n && !used; j++) {
			if (skip[j])
				continue;
			ai = imp_item_find(&acc[j], d->v[i].key, NULL);
			used = ai == NULL ||
			    strcmp(ai->text, d->v[i].text) == 0;
		}
		if (used)
			d->v[k++] = d->v[i];
		else {
			free(d->v[i].key);
			free(d->v[i].text);
			free(d->v[i].note);
		}
	}
	d->n = k;
}

static int
imp_has_password(const struct imp *im)
{
	size_t i;

	if (imp_val(&im->first, IMP_PASSWORD) != NULL)
		return 1;
	for (i = 0; i < im->nacc; i++)
		if (imp_val(im->acc[i], IMP_PASSWORD) != NULL)
			return 1;
	return 0;
}

/* The account that "account default : NAME" only renames, or NULL. */
static const struct imp_sec *
imp_default_alias(const struct imp *im, const struct imp_items *acc,
    int *skip)
{
	const struct imp_sec *d = imp_find(im, "default");
	size_t i, id = 0, ib = 0;

	if (d == NULL || d->nbases != 1 || d->nown != 0 || d->notes.n != 0)
		return NULL;
	for (i = 0; i < im->nacc; i++) {
		if (im->acc[i] == d)
			id = i;
		if (strcmp(im->acc[i]->name, d->base) == 0)
			ib = i;
	}
	if (!imp_items_equal(&acc[id], &acc[ib]))
		return NULL;
	skip[id] = 1;
	return d;
}

static void
imp_write(const struct imp *im, FILE *out)
{
	struct imp_items d, *acc;
	const struct imp_sec *alias;
	int *skip;
	char *q;
	size_t i;

	memset(&d, 0, sizeof(d));
	acc = xcalloc(im->nacc + 1, sizeof(*acc));
	skip = xcalloc(im->nacc + 1, sizeof(*skip));
	imp_convert(&im->first, &d);
	for (i = 0; i < im->defaults.notes.n; i++)
		imp_push(&d, NULL, xstrdup(im->defaults.notes.v[i]), NULL, 0);
	for (i = 0; i < im->nacc; i++)
		imp_convert(im->acc[i], &acc[i]);
	alias = imp_default_alias(im, acc, skip);
	imp_trim_defaults(&d, acc, im->nacc, skip);

	q = imp_printable(im->name);
	fprintf(out, "# envoi configuration converted from the msmtp "
	    "configuration '%s'.\n# See envoi.conf(5); lines marked 'not "
	    "carried over' need a look.\n", q);
	free(q);
	if (imp_has_password(im))
		fputs("# It holds a password: envoi refuses it unless only "
		    "its owner can read it (chmod 600).\n", out);
	if (alias != NULL) {
		q = imp_quote(alias->base, 0);
		fprintf(out, "\ndefault_account = %s\t# msmtprc line %lu: "
		    "account default\n", q, alias->line);
		free(q);
	} else if (imp_find(im, "default") != NULL)
		fputs("\ndefault_account = \"default\"\n", out);

	if (d.n > 0) {
		fputs("\ndefaults {\n", out);
		for (i = 0; i < d.n; i++)
			imp_write_item(out, &d.v[i]);
		fputs("}\n", out);
	}
	for (i = 0; i < im->nacc; i++)
		if (!skip[i])
			imp_write_account(out, im->acc[i], &acc[i], &d);

	for (i = 0; i < im->nacc; i++)
		imp_items_release(&acc[i]);
	free(acc);
	free(skip);
	imp_items_release(&d);
}

static void
imp_release(struct imp *im)
{
	size_t i;

	for (i = 0; i < im->nacc; i++) {
		imp_sec_release(im->acc[i]);
		free(im->acc[i]);
	}
	free(im->acc);
	for (i = 0; i < im->nlines; i++) {
		/* A password may be among them. */
		wipe_free(im->lines[i]->val);
		wipe_free(im->lines[i]->text);
		free(im->lines[i]);
	}
	free(im->lines);
	imp_sec_release(&im->defaults);
	imp_sec_release(&im->first);
}

int
import_msmtprc(FILE *in, const char *name, FILE *out, struct err *e)
{
	struct imp im;
	int ret = -1;

	memset(&im, 0, sizeof(im));
	im.name = name;
	strlist_init(&im.defaults.notes);
	strlist_init(&im.first.notes);
	if (imp_read(&im, in, e) == -1)
		goto out;
	imp_write(&im, out);
	if (fflush(out) == EOF || ferror(out)) {
		err_set(e, ERR_IO, "cannot write the converted configuration: "
		    "%s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	imp_release(&im);
	return ret;
}
