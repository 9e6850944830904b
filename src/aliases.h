/*
 * aliases.h - aliases(5) files: local names (root, postmaster, users)
 * mapped to addresses, with a "default" catch-all.  A relay cannot run
 * pipes or write files, so "|command", "/file" and ":include:" targets
 * are refused when the file is read.
 *
 *	# comment
 *	root: admin@example.org, ops
 *	ops: alice@example.org,
 *	     bob@example.org
 *	default: admin@example.org
 */
#ifndef ENVOI_ALIASES_H
#define ENVOI_ALIASES_H

#include "err.h"
#include "util.h"

#define ALIASES_DEPTH	10	/* nesting beyond this is a loop */

struct alias {
	char		*name;
	struct strlist	 targets;
};

/* The table owns everything in it. */
struct aliases {
	struct alias	*v;
	size_t		 n;
	size_t		 cap;
};

/*
 * Read path into a; errors name file and line: ERR_CONFIG for syntax,
 * refused targets, and a file that cannot be read.
 */
int	aliases_load(struct aliases *a, const char *path, struct err *e);
void	aliases_release(struct aliases *a);

/*
 * Expand the local name (no domain) into out: its targets, recursively
 * for targets that are local names themselves; a name without an entry
 * falls to "default", and without that stays as it is.  Returns 0, or -1
 * with ERR_CONFIG on a loop.
 */
int	aliases_expand(const struct aliases *a, const char *name,
	    struct strlist *out, struct err *e);

#endif
