/*
 * main.c - the entry point: choose the mode by program name or flag,
 * run it, and turn its result into an exit status.  It is the only room
 * that exits.
 */
#include "autoconf.h"

#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bsmtp.h"
#include "cli.h"
#include "compose.h"
#include "err.h"
#include "lineread.h"
#include "log.h"
#include "runq.h"
#include "send.h"
#include "util.h"

/* The composer child: its pid and the pipe its error comes back on. */
struct composer {
	pid_t	pid;
	int	errfd;
};

/*
 * Run the composer in a child that writes the message into a pipe; the
 * parent reads the pipe like stdin.  Memory stays bounded, and encoding
 * and spooling run side by side.
 */
static int
composer_start(const struct opts *o, struct composer *c, int *msgfd,
    struct err *e)
{
	int msg[2], errp[2];
	struct err ce;
	FILE *out;

	if (pipe(msg) == -1 || pipe(errp) == -1)
		return err_set(e, ERR_OS, "pipe: %s", strerror(errno));
	fflush(NULL);
	if ((c->pid = fork()) == -1)
		return err_set(e, ERR_OS, "fork: %s", strerror(errno));
	if (c->pid == 0) {
		close(msg[0]);
		close(errp[0]);
		err_init(&ce);
		if ((out = fdopen(msg[1], "w")) == NULL ||
		    compose_write(o, STDIN_FILENO, out, &ce) == -1) {
			if (write(errp[1], &ce, sizeof(ce)) == -1)
				_exit(EX_OSERR);
			_exit(err_exitcode(ce.kind));
		}
		fclose(out);
		_exit(0);
	}
	close(msg[1]);
	close(errp[1]);
	*msgfd = msg[0];
	c->errfd = errp[0];
	return 0;
}

/* send_args.input_done: did the composer finish well? */
static int
composer_done(void *arg, struct err *e)
{
	struct composer *c = arg;
	struct err ce;
	int status;

	err_init(&ce);
	while (waitpid(c->pid, &status, 0) == -1 && errno == EINTR)
		;
	c->pid = -1;
	if (read(c->errfd, &ce, sizeof(ce)) == (ssize_t)sizeof(ce)) {
		*e = ce;
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return err_set(e, ERR_SOFTWARE, "composing the message "
		    "failed");
	return 0;
}

static int
run_send(const struct opts *o, struct err *e)
{
	struct composer c = { -1, -1 };
	struct send_ctx ctx;
	struct send_args args;
	struct lineread *lr = NULL;
	int fd = STDIN_FILENO, rc = -1;
	int composing = o->compose || o->attach.n > 0;

	if (!o->read_rcpts && o->nrcpts == 0 && o->cc.n == 0 &&
	    o->bcc.n == 0)
		return err_set(e, ERR_USAGE, "no recipients: give them as "
		    "arguments, or use -t to read To, Cc and Bcc");
	memset(&args, 0, sizeof(args));
	if (send_init(&ctx, o, e) == -1)
		goto out;
	args.sender = o->sender;
	args.rcpts = o->rcpts;
	args.nrcpts = (size_t)o->nrcpts;
	args.read_rcpts = o->read_rcpts;
	args.ignore_dots = o->ignore_dots;
	if (composing) {
		if (compose_check(o, e) == -1 ||
		    composer_start(o, &c, &fd, e) == -1)
			goto out;
		args.ignore_dots = 1;	/* the composer's output is whole */
		args.input_done = composer_done;
		args.input_arg = &c;
		if (o->compose) {
			/* Recipients are in To, Cc and Bcc now. */
			args.read_rcpts = 1;
			args.nrcpts = 0;
		}
	}
	lr = xmalloc(sizeof(*lr));
	lineread_init(lr, fd);
	rc = send_message(&ctx, lr, &args, NULL, 0, e);
out:
	if (fd != STDIN_FILENO)
		close(fd);
	if (c.pid > 0) {
		kill(c.pid, SIGTERM);
		waitpid(c.pid, NULL, 0);
	}
	if (c.errfd != -1)
		close(c.errfd);
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
		cli_release(&o);
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
	}
	cli_release(&o);
	return status;
}
