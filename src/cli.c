/*
 * cli.c - command line parsing.
 *
 * One table, cli_options[], is the single list of flags: it builds the
 * getopt_long short and long option strings, the usage line and --help.
 * Parsing stops at the first non-option (as sendmail does): what follows
 * are recipients.  Letters may be grouped (-ti) and arguments attached
 * (-FCronDaemon, -oi, -B8BITMIME).
 */
#include "autoconf.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

enum {
	OPT_HELP = 256,
	OPT_VERSION,
	OPT_JSON,
	OPT_QREMOVE,
	OPT_QRETRY,
	OPT_QHOLD,
	OPT_QRELEASE,
	OPT_FROM,
	OPT_REPLY_TO,
	OPT_HEADER,
	OPT_BODY_FILE,
	OPT_HTML,
	OPT_DRY_RUN,
	OPT_BCC,
	OPT_PRINT_CONFIG,
	OPT_CHECK,
	OPT_SERVERINFO,
	OPT_IMPORT,
	OPT_STORE_PASSWORD,
};

struct cli_option {
	int		 val;		/* short letter, or OPT_* */
	const char	*name;		/* long name, or NULL */
	int		 has_arg;
	const char	*argname;
	const char	*help;		/* NULL: accepted, not listed */
};

static const struct cli_option cli_options[] = {
	{ 'C', "config", required_argument, "file",
	    "use this configuration file only" },
	{ 'a', "account", required_argument, "account",
	    "use this account from the configuration" },
	{ 'f', NULL, required_argument, "address",
	    "envelope sender address (MAIL FROM)" },
	{ 'r', NULL, required_argument, "address",
	    "the same as -f" },
	{ 'F', NULL, required_argument, "name",
	    "full name for a From header that envoi adds" },
	{ 't', "read-recipients", no_argument, NULL,
	    "also take recipients from To, Cc and Bcc" },
	{ 'i', NULL, no_argument, NULL,
	    "a line holding only \".\" does not end the message" },
	{ 'b', NULL, required_argument, "mode",
	    "m: send (default); p: list the queue; s: SMTP on stdin; "
	    "i: nothing to do (newaliases); a longer argument is --bcc" },
	{ 's', "subject", required_argument, "subject",
	    "compose a message with this subject; the body is stdin" },
	{ 'A', "attach", required_argument, "file[;opts]",
	    "attach a file (opts: type=T, name=N, inline); without -s, "
	    "add it to the message on stdin; -Ac and -Am are sendmail's" },
	{ 'c', "cc", required_argument, "address",
	    "compose: a Cc recipient" },
	{ OPT_BCC, "bcc", required_argument, "address",
	    "compose: a Bcc recipient (also -b address)" },
	{ OPT_FROM, "from", required_argument, "address",
	    "compose: the From header (default: the account's)" },
	{ OPT_REPLY_TO, "reply-to", required_argument, "address",
	    "compose: the Reply-To header" },
	{ OPT_HEADER, "header", required_argument, "'Name: value'",
	    "compose: one more header field" },
	{ OPT_BODY_FILE, "body-file", required_argument, "file",
	    "compose: the body text from file instead of stdin" },
	{ OPT_HTML, "html", required_argument, "file",
	    "compose: an HTML version of the body (multipart/alternative)" },
	{ OPT_DRY_RUN, "dry-run", no_argument, NULL,
	    "write the finished message to stdout instead of sending it" },
	{ 'q', NULL, optional_argument, NULL,
	    "deliver the queued messages that are due" },
	{ 'B', NULL, required_argument, "type",
	    "body type: 7BIT or 8BITMIME" },
	{ 'N', NULL, required_argument, "dsn",
	    "delivery status notifications: never, or a list of "
	    "success, failure, delay" },
	{ 'R', NULL, required_argument, "ret",
	    "what a notification returns: full or hdrs" },
	{ 'V', NULL, required_argument, "envid",
	    "envelope identifier for notifications" },
	{ 'o', NULL, required_argument, "option",
	    "sendmail option: -oi is -i, -odq queues only, -odi and -odb "
	    "deliver now; -oe* and the rest are accepted and ignored" },
	{ 'X', NULL, required_argument, "file",
	    "append the SMTP dialogue to file" },
	{ 'v', "verbose", no_argument, NULL,
	    "print the SMTP dialogue on stderr (credentials hidden)" },
	{ 'O', NULL, required_argument, "opt=value", NULL },
	{ 'L', NULL, required_argument, "tag", NULL },
	{ 'h', NULL, required_argument, "hops", NULL },
	{ 'G', NULL, no_argument, NULL, NULL },
	{ 'U', NULL, no_argument, NULL, NULL },
	{ 'm', NULL, no_argument, NULL, NULL },
	{ 'n', NULL, no_argument, NULL, NULL },
	{ OPT_JSON, "json", no_argument, NULL,
	    "with -bp (mailq): list the queue as JSON" },
	{ OPT_QREMOVE, "queue-remove", required_argument, "id",
	    "remove a queued message" },
	{ OPT_QRETRY, "queue-retry", required_argument, "id",
	    "try to deliver a queued message now (releases a held one)" },
	{ OPT_QHOLD, "queue-hold", required_argument, "id",
	    "hold a queued message: -q leaves it alone" },
	{ OPT_QRELEASE, "queue-release", required_argument, "id",
	    "release a held message" },
	{ OPT_CHECK, "check", no_argument, NULL,
	    "check the configuration, credentials, connection and login, "
	    "step by step, sending nothing" },
	{ OPT_SERVERINFO, "serverinfo", no_argument, NULL,
	    "show what the account's server offers: capabilities, TLS, "
	    "certificates" },
	{ OPT_PRINT_CONFIG, "print-config", no_argument, NULL,
	    "print the account's effective settings (password hidden)" },
	{ OPT_IMPORT, "import-msmtprc", no_argument, NULL,
	    "print the envoi configuration equivalent to an msmtprc "
	    "(the file named after it, else ~/.msmtprc)" },
	{ OPT_STORE_PASSWORD, "store-password", no_argument, NULL,
	    "store the account's password in the keyring (asked without "
	    "echo on a terminal, else read from stdin's first line)" },
	{ OPT_HELP, "help", no_argument, NULL,
	    "print this help and exit" },
	{ OPT_VERSION, "version", no_argument, NULL,
	    "print the version and exit" },
};

#define NOPTIONS (sizeof(cli_options) / sizeof(cli_options[0]))

static void
cli_build(char *shortopts, size_t size, struct option *longopts)
{
	size_t i, n = 0, k = 0;

	shortopts[n++] = '+';	/* stop at the first recipient */
	shortopts[n++] = ':';	/* report a missing argument as ':' */
	for (i = 0; i < NOPTIONS; i++) {
		const struct cli_option *c = &cli_options[i];

		if (c->val < 256 && n + 4 < size) {
			shortopts[n++] = (char)c->val;
			if (c->has_arg != no_argument)
				shortopts[n++] = ':';
			if (c->has_arg == optional_argument)
				shortopts[n++] = ':';
		}
		if (c->name != NULL) {
			longopts[k].name = c->name;
			longopts[k].has_arg = c->has_arg;
			longopts[k].flag = NULL;
			longopts[k].val = c->val;
			k++;
		}
	}
	shortopts[n] = '\0';
	memset(&longopts[k], 0, sizeof(longopts[k]));
}

static const char *
cli_optname(int val, char *buf, size_t size)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		if (cli_options[i].val == val && cli_options[i].name &&
		    val >= 256) {
			snprintf(buf, size, "--%s", cli_options[i].name);
			return buf;
		}
	if (val > 32 && val < 127)
		snprintf(buf, size, "-%c", val);
	else
		snprintf(buf, size, "-?");
	return buf;
}

static void
cli_list_add(struct cli_list *l, const char *s)
{
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	if (l->v == NULL) {
		fputs("envoi: out of memory\n", stderr);
		abort();
	}
	l->v[l->n++] = s;
}

void
cli_release(struct opts *o)
{
	free(o->attach.v);
	free(o->cc.v);
	free(o->bcc.v);
	free(o->headers.v);
	o->attach.v = o->cc.v = o->bcc.v = o->headers.v = NULL;
}

static int
cli_mode_b(struct opts *o, const char *arg, struct err *e)
{
	/* sendmail's modes are one letter; anything longer is a Bcc. */
	if (strlen(arg) > 1) {
		cli_list_add(&o->bcc, arg);
		return 0;
	}
	if (strcmp(arg, "m") == 0)
		o->mode = CLI_MODE_SEND;
	else if (strcmp(arg, "p") == 0)
		o->mode = CLI_MODE_LISTQ;
	else if (strcmp(arg, "s") == 0)
		o->mode = CLI_MODE_SMTP;
	else if (strcmp(arg, "i") == 0)
		o->mode = CLI_MODE_NEWALIASES;
	else
		return err_set(e, ERR_USAGE, "unsupported mode '-b%s' (envoi "
		    "knows -bm, -bp, -bs and -bi)", arg);
	return 0;
}

/* -o: the sendmail options that mean something to envoi. */
static int
cli_o(struct opts *o, const char *arg, struct err *e)
{
	if (strcmp(arg, "i") == 0)
		o->ignore_dots = 1;
	else if (strcmp(arg, "dq") == 0)
		o->delivery = CLI_DELIVER_QUEUE;
	else if (strcmp(arg, "di") == 0 || strcmp(arg, "db") == 0 ||
	    strcmp(arg, "d") == 0)
		o->delivery = CLI_DELIVER_NOW;
	else if (arg[0] == 'd')
		return err_set(e, ERR_USAGE, "unsupported delivery mode "
		    "'-o%s' (envoi knows -odi, -odb and -odq)", arg);
	else if (strcmp(arg, "eq") == 0)
		o->quiet = 1;
	/* -oem, -oep, -oeq, -oew, -oee and the rest: nothing to do. */
	return 0;
}

static int
cli_notify(struct opts *o, const char *arg, struct err *e)
{
	const char *p = arg;
	size_t n;

	if (strcasecmp(arg, "never") == 0) {
		o->dsn_notify = "NEVER";
		return 0;
	}
	while (*p) {
		n = strcspn(p, ",");
		if (!((n == 7 && strncasecmp(p, "success", 7) == 0) ||
		    (n == 7 && strncasecmp(p, "failure", 7) == 0) ||
		    (n == 5 && strncasecmp(p, "delay", 5) == 0)))
			return err_set(e, ERR_USAGE, "bad -N '%s': use never, "
			    "or a list of success, failure, delay", arg);
		p += n;
		if (*p == ',')
			p++;
	}
	if (*arg == '\0' || strlen(arg) >= sizeof(o->dsn_notify_buf))
		return err_set(e, ERR_USAGE, "bad -N '%s'", arg);
	/* RFC 3461 4.1 spells the keywords in upper case. */
	for (p = arg; *p; p++)
		o->dsn_notify_buf[p - arg] = (char)toupper((unsigned char)*p);
	o->dsn_notify_buf[p - arg] = '\0';
	o->dsn_notify = o->dsn_notify_buf;
	return 0;
}

static int
cli_envid(struct opts *o, const char *arg, struct err *e)
{
	const char *p;

	/* RFC 3461 4.4: printable ASCII, at most 100 characters. */
	if (*arg == '\0' || strlen(arg) > 100)
		return err_set(e, ERR_USAGE, "bad -V envid: 1 to 100 "
		    "characters");
	for (p = arg; *p; p++)
		if (*p < 33 || *p > 126)
			return err_set(e, ERR_USAGE, "bad -V envid: only "
			    "printable ASCII without spaces");
	o->dsn_envid = arg;
	return 0;
}

static int
cli_apply(struct opts *o, int c, const char *arg, struct err *e)
{
	switch (c) {
	case 'C':
		o->config_file = arg;
		break;
	case 'a':
		o->account = arg;
		break;
	case 'f':
	case 'r':
		o->sender = arg;
		break;
	case 'F':
		o->fullname = arg;
		break;
	case 't':
		o->read_rcpts = 1;
		break;
	case 'i':
		o->ignore_dots = 1;
		break;
	case 'b':
		return cli_mode_b(o, arg, e);
	case 'q':
		o->mode = CLI_MODE_FLUSH;
		break;
	case 'B':
		if (strcasecmp(arg, "7BIT") == 0)
			o->body = CLI_BODY_7BIT;
		else if (strcasecmp(arg, "8BITMIME") == 0)
			o->body = CLI_BODY_8BITMIME;
		else
			return err_set(e, ERR_USAGE, "bad -B '%s': use 7BIT "
			    "or 8BITMIME", arg);
		break;
	case 'N':
		return cli_notify(o, arg, e);
	case 'R':
		if (strcasecmp(arg, "full") == 0)
			o->dsn_ret = "FULL";
		else if (strcasecmp(arg, "hdrs") == 0)
			o->dsn_ret = "HDRS";
		else
			return err_set(e, ERR_USAGE, "bad -R '%s': use full "
			    "or hdrs", arg);
		break;
	case 'V':
		return cli_envid(o, arg, e);
	case 'o':
		return cli_o(o, arg, e);
	case 'X':
		o->transcript = arg;
		break;
	case 'v':
		o->verbose++;
		break;
	case 'A':
		/* sendmail's -Ac and -Am choose its config files. */
		if (strcmp(arg, "c") != 0 && strcmp(arg, "m") != 0)
			cli_list_add(&o->attach, arg);
		break;
	case 's':
		o->subject = arg;
		o->compose = 1;
		break;
	case 'c':
		cli_list_add(&o->cc, arg);
		break;
	case OPT_BCC:
		cli_list_add(&o->bcc, arg);
		break;
	case OPT_FROM:
		o->from_header = arg;
		break;
	case OPT_REPLY_TO:
		o->reply_to = arg;
		break;
	case OPT_HEADER:
		cli_list_add(&o->headers, arg);
		break;
	case OPT_BODY_FILE:
		o->body_file = arg;
		o->compose = 1;
		break;
	case OPT_HTML:
		o->html_file = arg;
		o->compose = 1;
		break;
	case OPT_DRY_RUN:
		o->dry_run = 1;
		break;
	case 'O': case 'L': case 'h': case 'G': case 'U': case 'm': case 'n':
		break;		/* sendmail's; nothing to do for a relay */
	case OPT_JSON:
		o->json = 1;
		break;
	case OPT_QREMOVE:
	case OPT_QRETRY:
	case OPT_QHOLD:
	case OPT_QRELEASE:
		o->mode = CLI_MODE_QCMD;
		/* In the order of enum runq_cmd. */
		o->queue_cmd = c - OPT_QREMOVE;
		o->queue_id = arg;
		break;
	case OPT_PRINT_CONFIG:
		o->mode = CLI_MODE_PRINT_CONFIG;
		break;
	case OPT_CHECK:
		o->mode = CLI_MODE_CHECK;
		break;
	case OPT_SERVERINFO:
		o->mode = CLI_MODE_SERVERINFO;
		break;
	case OPT_STORE_PASSWORD:
		o->mode = CLI_MODE_STORE_PASSWORD;
		break;
	case OPT_IMPORT:
		o->mode = CLI_MODE_IMPORT;
		break;
	case OPT_HELP:
		o->mode = CLI_MODE_HELP;
		break;
	case OPT_VERSION:
		o->mode = CLI_MODE_VERSION;
		break;
	default:
		return err_set(e, ERR_SOFTWARE, "cli_apply: option %d", c);
	}
	return 0;
}

int
cli_parse(int argc, char **argv, struct opts *o, struct err *e)
{
	char shortopts[3 * NOPTIONS + 4], name[64];
	struct option longopts[NOPTIONS + 1];
	const char *prog;
	int c, longidx;

	memset(o, 0, sizeof(*o));
	o->mode = CLI_MODE_SEND;
	prog = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
	prog = prog ? prog + 1 : (argc > 0 && argv[0] ? argv[0] : "envoi");
	if (strcmp(prog, "mailq") == 0)
		o->mode = CLI_MODE_LISTQ;
	else if (strcmp(prog, "newaliases") == 0)
		o->mode = CLI_MODE_NEWALIASES;
	cli_build(shortopts, sizeof(shortopts), longopts);

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts,
	    &longidx)) != -1) {
		if (c == '?') {
			if (optopt != 0)
				return err_set(e, ERR_USAGE,
				    "unknown option '%s'",
				    cli_optname(optopt, name, sizeof(name)));
			return err_set(e, ERR_USAGE, "unknown option '%s'",
			    argv[optind - 1]);
		}
		if (c == ':')
			return err_set(e, ERR_USAGE,
			    "option '%s' needs an argument",
			    optopt ? cli_optname(optopt, name, sizeof(name)) :
			    argv[optind - 1]);
		if (cli_apply(o, c, optarg, e) == -1)
			return -1;
	}
	o->rcpts = argv + optind;
	o->nrcpts = argc - optind;
	if (o->mode == CLI_MODE_IMPORT) {
		if (o->nrcpts > 1)
			return err_set(e, ERR_USAGE, "--import-msmtprc takes "
			    "one file");
		o->import_file = o->nrcpts == 1 ? o->rcpts[0] : NULL;
		o->nrcpts = 0;
	}
	if (o->mode == CLI_MODE_STORE_PASSWORD && o->nrcpts > 0)
		return err_set(e, ERR_USAGE, "--store-password takes no "
		    "arguments (choose the account with -a)");
	if (!o->compose && (o->cc.n || o->bcc.n || o->from_header ||
	    o->reply_to || o->headers.n))
		return err_set(e, ERR_USAGE, "-c, --bcc, --from, --reply-to "
		    "and --header build a new message: use them with -s");
	return 0;
}

void
cli_usage(FILE *fp)
{
	fputs("usage: envoi [-GUimntv] [-B type] [-b mode] [-C file] "
	    "[-a account] [-F name]\n"
	    "             [-f address] [-h hops] [-L tag] [-N dsn] "
	    "[-O opt=value] [-o option]\n"
	    "             [-q] [-R ret] [-r address] [-V envid] [-X file] "
	    "[--] [recipient ...]\n"
	    "       envoi -s subject [-A file] [-c address] [-b address] "
	    "[--from address]\n"
	    "             [--reply-to address] [--header 'Name: value'] "
	    "[--body-file file]\n"
	    "             [--html file] [--dry-run] [--] recipient ...\n"
	    "       envoi -A file [--dry-run] [-t] [recipient ...] < message\n"
	    "       envoi -bp [--json] | -q | -bs | --queue-retry id | "
	    "--queue-hold id\n"
	    "             | --queue-release id | --queue-remove id\n"
	    "       envoi [-C file] [-a account] --check | --serverinfo | "
	    "--print-config\n"
	    "       envoi --import-msmtprc [file]\n", fp);
}

void
cli_help(FILE *fp)
{
	char left[64];
	size_t i;

	cli_usage(fp);
	fputs("\nReads a message on standard input and submits it to the "
	    "account's smarthost.\n\nOptions:\n", fp);
	for (i = 0; i < NOPTIONS; i++) {
		const struct cli_option *c = &cli_options[i];
		const char *arg = c->argname ? c->argname : "";
		const char *sep = c->argname ? " " : "";

		if (c->help == NULL)
			continue;
		if (c->val < 256 && c->name != NULL)
			snprintf(left, sizeof(left), "-%c, --%s%s%s",
			    c->val, c->name, c->argname ? "=" : "", arg);
		else if (c->val < 256)
			snprintf(left, sizeof(left), "-%c%s%s", c->val, sep,
			    arg);
		else
			snprintf(left, sizeof(left), "--%s%s%s", c->name,
			    c->argname ? "=" : "", arg);
		fprintf(fp, "  %-26s %s\n", left, c->help);
	}
	fputs("\nAccepted for sendmail compatibility and ignored: -O opt=value,"
	    " -L tag, -h hops,\n-Ac, -Am, -G, -U, -m, -n, and -o options other "
	    "than those above.\n", fp);
	fputs("\nExit status follows sysexits(3); see envoi(1).\n", fp);
}
