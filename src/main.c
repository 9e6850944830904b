/*
 * main.c - the entry point: choose the mode by program name or flag,
 * run it, and turn its result into an exit status.  It is the only room
 * that exits.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bsmtp.h"
#include "cli.h"
#include "err.h"
#include "lineread.h"
#include "log.h"
#include "runq.h"
#include "send.h"
#include "util.h"

static int
run_send(const struct opts *o, struct err *e)
{
	struct send_ctx ctx;
	struct send_args args;
	struct lineread *lr;
	int rc;

	if (!o->read_rcpts && o->nrcpts == 0)
		return err_set(e, ERR_USAGE, "no recipients: give them as "
		    "arguments, or use -t to read To, Cc and Bcc");
	if (send_init(&ctx, o, e) == -1) {
		send_release(&ctx);
		return -1;
	}
	memset(&args, 0, sizeof(args));
	args.sender = o->sender;
	args.rcpts = o->rcpts;
	args.nrcpts = (size_t)o->nrcpts;
	args.read_rcpts = o->read_rcpts;
	args.ignore_dots = o->ignore_dots;
	lr = xmalloc(sizeof(*lr));
	lineread_init(lr, STDIN_FILENO);
	rc = send_message(&ctx, lr, &args, NULL, 0, e);
	free(lr);
	send_release(&ctx);
	return rc;
}

static int
run_queue(const struct opts *o, struct err *e)
{
	struct runq_stats st;
	struct send_ctx ctx;
	int rc = -1;

	if (send_init(&ctx, o, e) == -1)
		goto out;
	switch (o->mode) {
	case CLI_MODE_LISTQ:
		rc = runq_list(&ctx, stdout, o->json, e);
		if (fflush(stdout) == EOF)
			rc = err_set(e, ERR_IO, "cannot write the listing: %s",
			    strerror(errno));
		break;
	case CLI_MODE_FLUSH:
		rc = runq_flush(&ctx, 0, &st, e);
		if (rc == 0)
			log_info("queue run: %zu sent, %zu deferred, %zu failed, "
			    "%zu held, %zu busy", st.sent, st.deferred,
			    st.failed, st.held, st.busy);
		break;
	default:
		rc = runq_command(&ctx, (enum runq_cmd)o->queue_cmd,
		    o->queue_id, e);
		break;
	}
out:
	send_release(&ctx);
	return rc;
}

static int
run(const struct opts *o, struct err *e)
{
	if (o->transcript != NULL && log_transcript(o->transcript) == -1)
		return err_set(e, ERR_CANTCREAT, "cannot open the transcript "
		    "'%s': %s", o->transcript, strerror(errno));
	switch (o->mode) {
	case CLI_MODE_SEND:
		return run_send(o, e);
	case CLI_MODE_SMTP:
		return bsmtp_run(o, STDIN_FILENO, STDOUT_FILENO, e);
	case CLI_MODE_NEWALIASES:
		return 0;	/* aliases are read as they are: no database */
	case CLI_MODE_LISTQ:
	case CLI_MODE_FLUSH:
	case CLI_MODE_QCMD:
		return run_queue(o, e);
	default:
		return err_set(e, ERR_SOFTWARE, "run: mode %d", o->mode);
	}
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct err e;
	int status = EX_OK;

	err_init(&e);
	log_init("envoi", 0);
	if (cli_parse(argc, argv, &o, &e) == -1) {
		log_error("%s", e.msg);
		cli_usage(stderr);
		return EX_USAGE;
	}
	if (o.mode == CLI_MODE_HELP) {
		cli_help(stdout);
		return EX_OK;
	}
	if (o.mode == CLI_MODE_VERSION) {
		printf("envoi %s\n", PACKAGE_VERSION);
		return EX_OK;
	}
	log_init("envoi", o.verbose);
	if (run(&o, &e) == -1) {
		log_error("%s", e.msg);
		status = err_exitcode(e.kind);
	} else if (o.mode == CLI_MODE_SEND)
		log_info("message delivered");
	return status;
}
