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
#include "cred.h"
#include "err.h"
#include "import.h"
#include "lineread.h"
#include "log.h"
#include "runq.h"
#include "send.h"
#include "smtp.h"
#include "tls.h"
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
run_print_config(const struct opts *o, struct err *e)
{
	struct send_ctx ctx;
	struct account a;
	char *q;
	int rc = -1;

	if (send_init(&ctx, o, e) == -1 ||
	    config_account(&ctx.config, o->account, NULL, &a, e) == -1)
		goto out;
	config_print(&a, stdout);
	q = send_queue_dir(&a);
	printf("# queue directory: %s\n", q);
	free(q);
	rc = 0;
out:
	send_release(&ctx);
	return rc;
}

static const char *
check_hint(enum err_kind k)
{
	switch (k) {
	case ERR_TLS:
		return "check tls_trust_file; or see the certificate with "
		    "envoi --serverinfo and pin it with tls_fingerprint";
	case ERR_AUTH:
		return "check user and password; many providers want an app "
		    "password, or OAuth2";
	case ERR_NOHOST:
		return "check host";
	case ERR_TEMP:
		return "check host, port and tls (587 is starttls, 465 is "
		    "tls), and the network";
	case ERR_CONFIG:
		return "see envoi.conf(5)";
	default:
		return "run again with -v to see the dialogue";
	}
}

static void
step(const char *what, const struct err *e)
{
	if (e == NULL || e->kind == ERR_NONE)
		printf("%-14s OK\n", what);
	else
		printf("%-14s FAILED: %s\n%-14s hint: %s\n", what, e->msg, "",
		    check_hint(e->kind));
}

/* --check: each step, OK or why not, in order; stop before MAIL. */
static int
run_check(const struct opts *o, struct err *e)
{
	struct strlist names;
	struct send_ctx ctx;
	struct account a;
	struct smtp_session *s;
	char tls[128];
	size_t i;
	int rc = -1;

	strlist_init(&names);
	if (send_init(&ctx, o, e) == -1) {
		step("configuration", e);
		goto out;
	}
	printf("%-14s OK (%s)\n", "configuration", ctx.config_path);
	config_account_names(&ctx.config, &names);
	for (i = 0; i < names.n; i++)
		if (config_account(&ctx.config, names.v[i], NULL, &a, e) ==
		    -1) {
			step("accounts", e);
			goto out;
		}
	if (config_account(&ctx.config, o->account, NULL, &a, e) == -1) {
		step("account", e);
		goto out;
	}
	printf("%-14s OK (%s: %s port %ld%s, tls %s, auth %s%s%s)\n",
	    "account", a.name, a.host, a.port,
	    a.nhosts > 1 ? " and fallbacks" : "", a.tls_name, a.auth,
	    a.user ? ", user " : "", a.user ? a.user : "");
	ctx.keep_open = 1;
	if ((s = send_session(&ctx, &a, e)) == NULL) {
		step("session", e);
		goto out;
	}
	smtp_tls_info(s, tls, sizeof(tls));
	printf("%-14s OK (%s port %ld)\n", "connection", ctx.session_host,
	    a.hosts[ctx.session_host_index].port);
	printf("%-14s OK (%s)\n", "TLS", tls);
	if (ctx.password_source != CRED_NONE)
		printf("%-14s OK (from the %s)\n", "password",
		    cred_source_name(ctx.password_source));
	if (smtp_info(s)->mechanism[0])
		printf("%-14s OK (%s as %s)\n", "login",
		    smtp_info(s)->mechanism, a.user);
	else
		printf("%-14s none (no user, or auth off)\n", "login");
	rc = 0;
out:
	strlist_release(&names);
	send_release(&ctx);
	return rc;
}

static void
print_lines(const char *title, const char *text)
{
	const char *p = text, *nl;

	printf("%s\n", title);
	if (*text == '\0')
		return;
	for (; p != NULL; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		printf("  %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
	}
}

/* --serverinfo: what the server offers, and its certificates. */
static int
run_serverinfo(const struct opts *o, struct err *e)
{
	struct send_ctx ctx;
	struct account a;
	struct smtp_session *s;
	const struct smtp_info *si;
	char buf[512];
	int rc = -1;

	if (send_init(&ctx, o, e) == -1 ||
	    config_account(&ctx.config, o->account, NULL, &a, e) == -1)
		goto out;
	ctx.keep_open = 1;
	ctx.diag = 1;
	if ((s = send_session(&ctx, &a, e)) == NULL)
		goto out;
	si = smtp_info(s);
	printf("server %s port %ld (account %s)\n", ctx.session_host,
	    a.hosts[ctx.session_host_index].port, a.name);
	printf("greeting\n  %s\n", si->greeting);
	print_lines("capabilities before TLS", si->ehlo_clear);
	if (smtp_tls(s) != NULL) {
		if (si->ehlo_tls[0])
			print_lines("capabilities under TLS", si->ehlo_tls);
		printf("TLS\n  %s\n", smtp_tls_info(s, buf, sizeof(buf)));
		printf("  verification: %s\n",
		    tls_verification(smtp_tls(s), buf, sizeof(buf)));
		printf("certificates (pin one with tls_fingerprint)\n");
		tls_print_chain(smtp_tls(s), stdout);
	} else
		printf("TLS\n  none\n");
	rc = 0;
out:
	send_release(&ctx);
	return rc;
}

/* --store-password: the account's password into the keyring. */
static int
run_store_password(const struct opts *o, struct err *e)
{
	struct cred_params cp;
	struct send_ctx ctx;
	struct account a;
	int rc = -1;

	if (send_init(&ctx, o, e) == -1 ||
	    config_account(&ctx.config, o->account, NULL, &a, e) == -1)
		goto out;
	memset(&cp, 0, sizeof(cp));
	cp.account = a.name;
	cp.file = a.file;
	cp.host = a.host;
	cp.user = a.user;
	if ((rc = cred_store(&cp, e)) == 0 && a.password != NULL)
		log_warn("account '%s' sets password in '%s', which is used "
		    "before the keyring", a.name, a.file);
	else if (rc == 0 && a.passwordeval != NULL)
		log_warn("account '%s' sets passwordeval in '%s', which is "
		    "used before the keyring", a.name, a.file);
out:
	send_release(&ctx);
	return rc;
}

/* --import-msmtprc: the given file, else ~/.msmtprc, to stdout. */
static int
run_import(const struct opts *o, struct err *e)
{
	const char *home = getenv("HOME");
	char path[4096];
	FILE *in;
	int rc;

	if (o->import_file != NULL)
		snprintf(path, sizeof(path), "%s", o->import_file);
	else if (home != NULL)
		snprintf(path, sizeof(path), "%s/.msmtprc", home);
	else
		return err_set(e, ERR_USAGE, "--import-msmtprc: name the file "
		    "(HOME is not set)");
	if ((in = fopen(path, "r")) == NULL)
		return err_set(e, ERR_NOINPUT, "cannot read '%s': %s", path,
		    strerror(errno));
	rc = import_msmtprc(in, path, stdout, e);
	fclose(in);
	if (rc == 0 && fflush(stdout) == EOF)
		rc = err_set(e, ERR_IO, "cannot write: %s", strerror(errno));
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
	case CLI_MODE_PRINT_CONFIG:
		return run_print_config(o, e);
	case CLI_MODE_IMPORT:
		return run_import(o, e);
	case CLI_MODE_STORE_PASSWORD:
		return run_store_password(o, e);
	case CLI_MODE_CHECK:
		return run_check(o, e);
	case CLI_MODE_SERVERINFO:
		return run_serverinfo(o, e);
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
