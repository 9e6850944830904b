/*
 * fuzz_aliases.c - aliases(5) files: the input is written to a file and
 * loaded with aliases_load; then a few names are expanded: root,
 * postmaster, default, one without an entry, one with a domain, and
 * (up to 16 of) the names the file defines.
 *
 * Properties, beyond memory safety: failures are ERR_CONFIG with a
 * message; a loaded table has non-empty, distinct names (repeats are
 * merged), each with at least one target, none of them a command, a
 * file or an include; an expansion gives at least one address, none
 * empty, and none twice (compared without case).
 */
#include "autoconf.h"

#include <strings.h>

#include "aliases.h"
#include "util.h"

#include "fuzz.h"

static char path[PATH_MAX];

static void
expand(const struct aliases *a, const char *name)
{
	struct strlist out;
	struct err e;
	size_t i, k;

	strlist_init(&out);
	err_init(&e);
	if (aliases_expand(a, name, &out, &e) == -1)
		FUZZ_ASSERT(e.kind == ERR_CONFIG && e.msg[0] != '\0',
		    "expanding '%s' failed with kind %s", name,
		    err_kindname(e.kind));
	else {
		FUZZ_ASSERT(out.n > 0, "'%s' expands to nothing", name);
		for (i = 0; i < out.n; i++) {
			FUZZ_ASSERT(out.v[i][0] != '\0', "'%s' expands to an "
			    "empty address", name);
			for (k = 0; k < i; k++)
				FUZZ_ASSERT(strcasecmp(out.v[i], out.v[k]) !=
				    0, "'%s' expands to '%s' twice", name,
				    out.v[i]);
		}
	}
	strlist_release(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"root", "postmaster", "default", "nobody-here",
		"user@example.org", "MAILER-DAEMON"
	};
	struct aliases a;
	struct err e;
	size_t i, k;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "%s/aliases", fuzz_scratch());
	fuzz_write_file(path, data, size);
	err_init(&e);
	if (aliases_load(&a, path, &e) == -1) {
		FUZZ_ASSERT(e.kind == ERR_CONFIG && e.msg[0] != '\0',
		    "aliases_load failed with kind %s",
		    err_kindname(e.kind));
		FUZZ_ASSERT(a.n == 0 && a.v == NULL, "a failed load left "
		    "%zu entries", a.n);
		return 0;
	}
	for (i = 0; i < a.n; i++) {
		const struct alias *al = &a.v[i];

		FUZZ_ASSERT(al->name[0] != '\0', "an empty alias name");
		FUZZ_ASSERT(al->targets.n > 0, "alias '%s' has no target",
		    al->name);
		for (k = 0; k < i; k++)
			FUZZ_ASSERT(strcasecmp(a.v[k].name, al->name) != 0,
			    "alias '%s' is in the table twice", al->name);
		for (k = 0; k < al->targets.n; k++) {
			const char *t = al->targets.v[k];

			FUZZ_ASSERT(t[0] != '|' && t[0] != '/' &&
			    strncasecmp(t, ":include:", 9) != 0,
			    "alias '%s' has target '%s'", al->name, t);
		}
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		expand(&a, names[i]);
	for (i = 0; i < a.n && i < 16; i++)
		expand(&a, a.v[i].name);
	aliases_release(&a);
	return 0;
}
