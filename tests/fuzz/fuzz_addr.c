/*
 * fuzz_addr.c - address lists: addr_parse_list and addr_parse_spans on
 * the raw input (NULs and all), the single-address checks on it as a C
 * string, and message_rewrite_list with a rewrite callback that keeps
 * some addresses, replaces some with one address and some with two.
 *
 * Properties, beyond memory safety:
 *  - both parsers agree on the result and the addresses;
 *  - every span lies inside the input, the addr-spec inside its mailbox;
 *  - every address found is at most ADDR_MAX bytes and parses again,
 *    alone, to exactly itself;
 *  - message_rewrite_list fails exactly when the list does not parse,
 *    and its result parses, to as many addresses as the callback said.
 * The last two only for input without NUL bytes: addresses are C
 * strings, and no caller passes a NUL (header lines refuse it).
 */
#include "autoconf.h"

#include "addr.h"
#include "message.h"
#include "util.h"

#include "fuzz.h"

struct rw {
	size_t	calls;
	size_t	added;		/* extra addresses the callback introduced */
};

/* Keep, upper-case, or replace with two addresses, by a hash of addr. */
static char *
rewrite(void *arg, const char *addr, int recipient)
{
	struct rw *rw = arg;
	unsigned h = 0;
	const char *p;
	char *r;

	rw->calls++;
	for (p = addr; *p; p++)
		h = h * 31 + (unsigned char)*p;
	switch ((h + (unsigned)recipient) % 3) {
	case 0:
		return NULL;
	case 1:
		r = xstrdup("rewritten@example.org");
		return r;
	default:
		rw->added++;
		return xstrdup("one@example.org, two@example.net");
	}
}

static void
check_reparse(const char *a)
{
	struct strlist l;
	char why[128];
	int rc;

	FUZZ_ASSERT(strlen(a) <= ADDR_MAX, "address of %zu bytes", strlen(a));
	strlist_init(&l);
	rc = addr_parse_list(a, strlen(a), &l, why, sizeof(why));
	if (rc != 0 || l.n != 1 || strcmp(l.v[0], a) != 0) {
		fuzz_dump("parsed address", a, strlen(a));
		if (rc != 0)
			fprintf(stderr, "reparse error: %s\n", why);
		else if (l.n != 1)
			fprintf(stderr, "reparse gives %zu addresses\n", l.n);
		else
			fuzz_dump("reparsed as", l.v[0], strlen(l.v[0]));
		fuzz_fail("an address found in a list does not parse alone "
		    "to itself");
	}
	strlist_release(&l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct strlist a, b, c;
	struct addr_spans sp;
	struct rw rw = { 0, 0 };
	char why1[128], why2[128], why3[128], *cstr, *nv;
	int rc1, rc2, nul = memchr(data, '\0', size) != NULL;
	size_t i;

	strlist_init(&a);
	strlist_init(&b);
	addr_spans_init(&sp);
	rc1 = addr_parse_list(s, size, &a, why1, sizeof(why1));
	rc2 = addr_parse_spans(s, size, &b, &sp, why2, sizeof(why2));
	FUZZ_ASSERT(rc1 == rc2, "parse_list %d, parse_spans %d", rc1, rc2);
	FUZZ_ASSERT(a.n == b.n, "%zu vs %zu addresses", a.n, b.n);
	FUZZ_ASSERT(sp.n == b.n, "%zu spans for %zu addresses", sp.n, b.n);
	for (i = 0; i < a.n; i++) {
		const struct addr_span *x = &sp.v[i];

		FUZZ_ASSERT(strcmp(a.v[i], b.v[i]) == 0, "address %zu differs",
		    i);
		FUZZ_ASSERT(x->mbox_start <= x->spec_start &&
		    x->spec_start < x->spec_end &&
		    x->spec_end <= x->mbox_end && x->mbox_end <= size,
		    "span %zu: mbox [%zu,%zu) spec [%zu,%zu) in %zu bytes", i,
		    x->mbox_start, x->mbox_end, x->spec_start, x->spec_end,
		    size);
		FUZZ_ASSERT(i == 0 || sp.v[i - 1].mbox_end <= x->mbox_start,
		    "span %zu overlaps the one before", i);
		if (rc1 == 0 && !nul)
			check_reparse(a.v[i]);
	}
	if (rc1 == -1)
		FUZZ_ASSERT(why1[0] != '\0' && strcmp(why1, why2) == 0,
		    "error text '%s' vs '%s'", why1, why2);

	/* The C-string entry points stop at the first NUL. */
	cstr = xstrndup(s, size);
	(void)addr_check_mailbox(cstr);
	if (addr_check_spec(cstr) == 0)
		FUZZ_ASSERT(addr_check_mailbox(cstr) == 0,
		    "a valid spec is not a valid mailbox");
	(void)addr_has_domain(cstr);
	free(cstr);

	nv = message_rewrite_list(s, size, rewrite, &rw, size & 1, why3,
	    sizeof(why3));
	FUZZ_ASSERT((nv != NULL) == (rc1 == 0), "rewrite %s, parse %d",
	    nv ? "succeeded" : "failed", rc1);
	if (nv != NULL && !nul) {
		FUZZ_ASSERT(rw.calls == a.n, "%zu callbacks for %zu addresses",
		    rw.calls, a.n);
		strlist_init(&c);
		if (addr_parse_list(nv, strlen(nv), &c, why3,
		    sizeof(why3)) != 0 || c.n != a.n + rw.added) {
			fuzz_dump("input", s, size);
			fuzz_dump("rewritten", nv, strlen(nv));
			fuzz_fail("the rewritten list gives %zu addresses, "
			    "expected %zu (%s)", c.n, a.n + rw.added, why3);
		}
		strlist_release(&c);
	}
	free(nv);
	strlist_release(&a);
	strlist_release(&b);
	addr_spans_release(&sp);
	return 0;
}
