/*
 * fuzz_envelope.c - queue envelopes: the input becomes ID.env (next to
 * an empty ID.msg) in a queue directory made once, and
 * queue_load_envelope reads it.  The same entry is overwritten on every
 * run.
 *
 * An envelope that loads is then written back with
 * queue_update_envelope (under queue_lock) and read again, and the two
 * readings must agree: the writer's %-encoding must carry every value
 * it is given, whatever bytes are in it, to the reader.  Exceptions the
 * format documents: created 0 is stamped with the time, and last_error
 * is compared only when it is short and has no control character (the
 * writer keeps one line of at most QUEUE_ERRMAX bytes).
 *
 * Properties, beyond memory safety: a failure is ERR_DATA, ERR_CONFIG
 * (a newer version) or ERR_IO, with a message, and leaves the envelope
 * empty; a success has a sender and at least one recipient; the round
 * trip above.
 */
#include "autoconf.h"

#include "queue.h"
#include "util.h"

#include "fuzz.h"

#define ID	"0000000001-00000-00000001-00000001"

static struct queue q;
static struct queue_entry ent;
static char envpath[PATH_MAX];

static void
setup(void)
{
	char dir[PATH_MAX], msg[PATH_MAX];
	struct err e;

	snprintf(dir, sizeof(dir), "%s/queue", fuzz_scratch());
	err_init(&e);
	if (queue_open(&q, dir, &e) == -1 ||
	    queue_entry_set(&ent, QUEUE_MAIN, ID, &e) == -1) {
		fprintf(stderr, "fuzz_envelope: %s\n", e.msg);
		abort();
	}
	snprintf(msg, sizeof(msg), "%s/" ID ".msg", dir);
	fuzz_write_file(msg, "", 0);
	snprintf(envpath, sizeof(envpath), "%s/" ID ".env", dir);
}

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
plain_error(const char *s)
{
	if (s == NULL)
		return 1;
	if (strlen(s) > QUEUE_ERRMAX)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

#define SAME(field) FUZZ_ASSERT(same_str(a->field, b->field),		\
	"%s: '%s' read back as '%s'", #field,				\
	a->field ? a->field : "(null)", b->field ? b->field : "(null)")

static void
compare(const struct queue_envelope *a, const struct queue_envelope *b)
{
	size_t i;

	SAME(sender);
	SAME(account);
	SAME(dsn_ret);
	SAME(dsn_envid);
	SAME(body);
	if (plain_error(a->last_error))
		SAME(last_error);
	else
		FUZZ_ASSERT(b->last_error != NULL, "last_error lost");
	FUZZ_ASSERT(a->nrcpts == b->nrcpts, "%zu recipients read back as %zu",
	    a->nrcpts, b->nrcpts);
	for (i = 0; i < a->nrcpts; i++) {
		SAME(rcpts[i].addr);
		SAME(rcpts[i].notify);
	}
	FUZZ_ASSERT(a->created == 0 || a->created == b->created,
	    "created %lld read back as %lld", (long long)a->created,
	    (long long)b->created);
	FUZZ_ASSERT(a->attempts == b->attempts, "attempts %lu vs %lu",
	    a->attempts, b->attempts);
	FUZZ_ASSERT(a->next_try == b->next_try, "next_try %lld vs %lld",
	    (long long)a->next_try, (long long)b->next_try);
	FUZZ_ASSERT(a->held == b->held, "held %d vs %d", a->held, b->held);
}

static void
round_trip(const struct queue_envelope *env)
{
	struct queue_envelope back;
	struct err e;
	int rc;

	err_init(&e);
	rc = queue_lock(&q, &ent, &e);
	FUZZ_ASSERT(rc == 0, "queue_lock: %d %s", rc, e.msg);
	rc = queue_update_envelope(&q, &ent, env, &e);
	queue_unlock(&ent);
	FUZZ_ASSERT(rc == 0, "queue_update_envelope: %s", e.msg);
	queue_envelope_init(&back);
	if (queue_load_envelope(&q, &ent, &back, &e) == -1)
		fuzz_fail("the envelope envoi wrote does not load: %s", e.msg);
	compare(env, &back);
	queue_envelope_release(&back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_envelope env;
	struct err e;

	if (envpath[0] == '\0')
		setup();
	fuzz_write_file(envpath, data, size);
	queue_envelope_init(&env);
	err_init(&e);
	if (queue_load_envelope(&q, &ent, &env, &e) == -1) {
		FUZZ_ASSERT((e.kind == ERR_DATA || e.kind == ERR_CONFIG ||
		    e.kind == ERR_IO) && e.msg[0] != '\0',
		    "failed with kind %s '%s'", err_kindname(e.kind), e.msg);
		FUZZ_ASSERT(env.sender == NULL && env.nrcpts == 0 &&
		    env.rcpts == NULL && env.account == NULL &&
		    env.last_error == NULL, "a failed load left data behind");
		return 0;
	}
	FUZZ_ASSERT(env.sender != NULL && env.nrcpts > 0,
	    "loaded without a sender or a recipient");
	round_trip(&env);
	queue_envelope_release(&env);
	return 0;
}
