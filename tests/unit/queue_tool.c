/*
 * queue_tool.c - a thin command line over the queue room, so that
 * queue_store.bats can crash it at chosen points (ENVOI_QUEUE_FAULT) and
 * look at what is left from outside.
 *
 *	queue_tool enqueue DIR [SENDER [RCPT...]] < message	prints the ID
 *	queue_tool list DIR [failed]		one ID per line, in order
 *	queue_tool show DIR ID [failed]		the envelope, decoded
 *	queue_tool cat DIR ID [failed]		the message, byte for byte
 *	queue_tool remove DIR ID
 *	queue_tool fail DIR ID REASON
 *	queue_tool hold DIR ID | unhold DIR ID
 *	queue_tool clean DIR [SECONDS]		prints how many were removed
 *
 * The message is stored as read: the tool does not make spool form.  A
 * failure prints one line and exits with the error's sysexits status;
 * an entry locked by someone else exits 75.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "queue.h"

static int
fail(const struct err *e)
{
	fprintf(stderr, "queue_tool: %s\n", e->msg);
	return err_exitcode(e->kind);
}

static int
usage(void)
{
	fputs("usage: queue_tool enqueue|list|show|cat|remove|fail|hold|"
	    "unhold|clean DIR [ARG...]\n", stderr);
	return EX_USAGE;
}

static int
do_enqueue(struct queue *q, int argc, char **argv, struct err *e)
{
	struct queue_envelope env;
	struct queue_entry ent;
	char buf[8192];
	size_t n;
	FILE *f;
	int i;

	queue_envelope_init(&env);
	queue_envelope_set(&env.sender, argc > 0 ? argv[0] :
	    "sender@example.org");
	for (i = 1; i < argc; i++)
		queue_envelope_add_rcpt(&env, argv[i], NULL);
	if (argc < 2)
		queue_envelope_add_rcpt(&env, "rcpt@example.org", NULL);
	if (queue_create(q, &ent, &f, e) == -1)
		goto fail;
	/* Write errors stick to the stream; queue_commit reports them. */
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		if (fwrite(buf, 1, n, f) != n)
			break;
	if (ferror(stdin)) {
		err_set(e, ERR_IO, "cannot read standard input: %s",
		    strerror(errno));
		queue_abort(q, &ent);
		goto fail;
	}
	if (queue_commit(q, &ent, &env, e) == -1)
		goto fail;
	queue_unlock(&ent);
	printf("%s\n", ent.id);
	queue_envelope_release(&env);
	return 0;
fail:
	queue_envelope_release(&env);
	return -1;
}

static int
do_list(struct queue *q, enum queue_area area, struct err *e)
{
	struct strlist ids;
	size_t i;

	strlist_init(&ids);
	if (queue_list(q, area, &ids, e) == -1) {
		strlist_release(&ids);
		return -1;
	}
	for (i = 0; i < ids.n; i++)
		printf("%s\n", ids.v[i]);
	strlist_release(&ids);
	return 0;
}

static void
show_str(const char *key, const char *v)
{
	if (v != NULL)
		printf("%s=%s\n", key, v);
}

static int
do_show(struct queue *q, const struct queue_entry *ent, struct err *e)
{
	struct queue_envelope env;
	size_t i;

	queue_envelope_init(&env);
	if (queue_load_envelope(q, ent, &env, e) == -1)
		return -1;
	show_str("sender", env.sender);
	for (i = 0; i < env.nrcpts; i++) {
		show_str("rcpt", env.rcpts[i].addr);
		show_str("notify", env.rcpts[i].notify);
	}
	show_str("account", env.account);
	show_str("ret", env.dsn_ret);
	show_str("envid", env.dsn_envid);
	printf("created=%lld\n", (long long)env.created);
	printf("attempts=%lu\n", env.attempts);
	printf("next_try=%lld\n", (long long)env.next_try);
	show_str("last_error", env.last_error);
	printf("held=%d\n", env.held);
	queue_envelope_release(&env);
	return 0;
}

static int
do_cat(struct queue *q, const struct queue_entry *ent, struct err *e)
{
	char buf[8192];
	ssize_t n;
	off_t size;
	int fd;

	if ((fd = queue_open_message(q, ent, &size, e)) == -1)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	if (n == -1)
		return err_set(e, ERR_IO, "read: %s", strerror(errno));
	return 0;
}

/* Lock ent, run the change named by cmd, and unlock. */
static int
do_change(struct queue *q, struct queue_entry *ent, const char *cmd,
    const char *arg, struct err *e)
{
	struct queue_envelope env;
	int r;

	queue_envelope_init(&env);
	if ((r = queue_lock(q, ent, e)) != 0) {
		if (r == 1)
			err_set(e, ERR_TEMP, "entry '%s' is busy or gone",
			    ent->id);
		return -1;
	}
	if (strcmp(cmd, "remove") == 0)
		r = queue_remove(q, ent, e);
	else if ((r = queue_load_envelope(q, ent, &env, e)) == 0) {
		if (strcmp(cmd, "fail") == 0)
			r = queue_fail(q, ent, &env, arg, e);
		else if (strcmp(cmd, "hold") == 0)
			r = queue_hold(q, ent, &env, e);
		else
			r = queue_unhold(q, ent, &env, e);
	}
	queue_unlock(ent);
	queue_envelope_release(&env);
	return r;
}

static int
run(struct queue *q, const char *cmd, int argc, char **argv, struct err *e)
{
	struct queue_entry ent;
	enum queue_area area = QUEUE_MAIN;
	int n;

	if (strcmp(cmd, "enqueue") == 0)
		return do_enqueue(q, argc, argv, e);
	if (strcmp(cmd, "list") == 0)
		return do_list(q, argc > 0 && strcmp(argv[0], "failed") == 0 ?
		    QUEUE_FAILED : QUEUE_MAIN, e);
	if (strcmp(cmd, "clean") == 0) {
		n = queue_clean(q, argc > 0 ? atol(argv[0]) : QUEUE_STALE, e);
		if (n == -1)
			return -1;
		printf("%d\n", n);
		return 0;
	}
	if (argc < 1)
		return err_set(e, ERR_USAGE, "%s needs an ID", cmd);
	if (argc > 1 && strcmp(argv[1], "failed") == 0)
		area = QUEUE_FAILED;
	if (queue_entry_set(&ent, area, argv[0], e) == -1)
		return -1;
	if (strcmp(cmd, "show") == 0)
		return do_show(q, &ent, e);
	if (strcmp(cmd, "cat") == 0)
		return do_cat(q, &ent, e);
	if (strcmp(cmd, "fail") == 0 && argc < 2)
		return err_set(e, ERR_USAGE, "fail needs a reason");
	if (strcmp(cmd, "remove") == 0 || strcmp(cmd, "fail") == 0 ||
	    strcmp(cmd, "hold") == 0 || strcmp(cmd, "unhold") == 0)
		return do_change(q, &ent, cmd, argc > 1 ? argv[1] : NULL, e);
	return err_set(e, ERR_USAGE, "unknown command '%s'", cmd);
}

int
main(int argc, char **argv)
{
	struct queue q;
	struct err e;
	int r;

	if (argc < 3)
		return usage();
	err_init(&e);
	if (queue_open(&q, argv[2], &e) == -1)
		return fail(&e);
	r = run(&q, argv[1], argc - 3, argv + 3, &e);
	queue_close(&q);
	if (fflush(stdout) == EOF) {
		perror("queue_tool: stdout");
		return EX_IOERR;
	}
	return r == -1 ? fail(&e) : 0;
}
