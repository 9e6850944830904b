/*
 * cli.h - the command line: one option table drives getopt_long, the
 * usage line and --help.  cli fills a struct opts and prints nothing but
 * usage and help; it reads no files.
 *
 * sendmail's flags keep their meaning; those that make no sense for a
 * client that relays to a smarthost (-O, -L, -h, -G, -U, -m, -n, -A and
 * most -o options) are accepted and ignored, so callers need no change.
 */
#ifndef ENVOI_CLI_H
#define ENVOI_CLI_H

#include <stdio.h>

#include "err.h"

enum cli_mode {
	CLI_MODE_SEND,		/* -bm: submit the message on stdin */
	CLI_MODE_LISTQ,		/* -bp, or called as mailq */
	CLI_MODE_SMTP,		/* -bs: SMTP on stdin and stdout */
	CLI_MODE_NEWALIASES,	/* -bi, or called as newaliases */
	CLI_MODE_FLUSH,		/* -q */
	CLI_MODE_QCMD,		/* --queue-remove and the like */
	CLI_MODE_PRINT_CONFIG,	/* --print-config */
	CLI_MODE_CHECK,		/* --check */
	CLI_MODE_SERVERINFO,	/* --serverinfo */
	CLI_MODE_IMPORT,	/* --import-msmtprc */
	CLI_MODE_STORE_PASSWORD, /* --store-password */
	CLI_MODE_HELP,
	CLI_MODE_VERSION,
	CLI_MODE_LAST
};

enum cli_body {
	CLI_BODY_AUTO,		/* declare 8BITMIME when the body needs it */
	CLI_BODY_7BIT,		/* -B 7BIT */
	CLI_BODY_8BITMIME,	/* -B 8BITMIME */
	CLI_BODY_LAST
};

enum cli_delivery {
	CLI_DELIVER_NOW,	/* -odi, -odb: try now */
	CLI_DELIVER_QUEUE,	/* -odq: only queue */
	CLI_DELIVER_LAST
};

/*
 * Every string points into argv (borrowed for the life of the process);
 * rcpts is argv's tail.
 */
struct opts {
	enum cli_mode		  mode;
	const char		 *config_file;	/* -C */
	const char		 *account;	/* -a */
	const char		 *sender;	/* -f, -r */
	const char		 *fullname;	/* -F */
	int			  read_rcpts;	/* -t */
	int			  ignore_dots;	/* -i, -oi */
	int			  verbose;	/* -v */
	enum cli_body		  body;		/* -B */
	enum cli_delivery	  delivery;	/* -od */
	const char		 *dsn_notify;	/* -N, checked, upper case */
	char			  dsn_notify_buf[32];
	const char		 *dsn_ret;	/* -R: "FULL" or "HDRS" */
	const char		 *dsn_envid;	/* -V */
	const char		 *transcript;	/* -X file */
	int			  quiet;	/* -oeq: no "queued" line */
	int			  json;		/* --json, with -bp */
	int			  dry_run;	/* --dry-run: print, don't send */

	/* Compose mode (-s, --body-file or --html); see compose.h. */
	int			  compose;
	const char		 *subject;	/* -s */
	const char		 *from_header;	/* --from */
	const char		 *reply_to;	/* --reply-to */
	const char		 *body_file;	/* --body-file */
	const char		 *html_file;	/* --html */
	struct cli_list {
		const char	**v;		/* allocated; strings in argv */
		size_t		  n;
	}			  attach, cc, bcc, headers;
	int			  queue_cmd;	/* enum runq_cmd, QCMD mode */
	const char		 *queue_id;
	const char		 *import_file;	/* --import-msmtprc's file */
	char			**rcpts;
	int			  nrcpts;
};

/*
 * Fill o from argv; progname (argv[0]'s last component) chooses the mode
 * for mailq and newaliases.  On a usage error fill e (ERR_USAGE) and
 * return -1.
 */
int	cli_parse(int argc, char **argv, struct opts *o, struct err *e);
/* Free the lists cli_parse allocated. */
void	cli_release(struct opts *o);
void	cli_usage(FILE *);
void	cli_help(FILE *);

#endif
