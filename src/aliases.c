/*
 * aliases.c - reading and expanding aliases(5) files.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "aliases.h"
#include "safefile.h"

static struct alias *
aliases_find(const struct aliases *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcasecmp(a->v[i].name, name) == 0)
			return &a->v[i];
	return NULL;
}

static int
aliases_check_target(const char *t, const char *path, unsigned long line,
    struct err *e)
{
	const char *u = t;

	/* A quoted "|command" is still a command. */
	while (*u == '"' || *u == ' ' || *u == '\t')
		u++;
	if (u[0] == '|' || u[0] == '/' || strncasecmp(u, ":include:", 9) == 0)
		return err_set(e, ERR_CONFIG, "%s:%lu: '%s': envoi relays to "
		    "a smarthost and cannot deliver to commands or files",
		    path, line, t);
	return 0;
}

/* Add one "name: targets" entry (continuations already joined). */
static int
aliases_entry(struct aliases *a, char *text, const char *path,
    unsigned long line, struct err *e)
{
	struct strlist targets;
	char *colon = strchr(text, ':'), *name = text, *end, why[128];
	struct alias *al;
	size_t i;

	if (colon == NULL)
		return err_set(e, ERR_CONFIG, "%s:%lu: expected 'name: "
		    "address, ...'", path, line);
	*colon = '\0';
	while (*name == ' ' || *name == '\t')
		name++;
	for (end = colon; end > name && (end[-1] == ' ' || end[-1] == '\t');)
		*--end = '\0';
	if (*name == '\0' || strpbrk(name, " \t@,") != NULL)
		return err_set(e, ERR_CONFIG, "%s:%lu: bad alias name '%s'",
		    path, line, name);
	strlist_init(&targets);
	/*
	 * Commands and files, first as written (the message names them
	 * as the user wrote them), then again once parsed, below.
	 */
	{
		char *t = colon + 1, *comma;

		for (;;) {
			while (*t == ' ' || *t == '\t')
				t++;
			comma = strchr(t, ',');
			if (comma != NULL)
				*comma = '\0';
			if (*t != '\0' && aliases_check_target(t, path, line,
			    e) == -1)
				return -1;
			if (comma == NULL)
				break;
			*comma = ',';
			t = comma + 1;
		}
	}
	if (addr_parse_list(colon + 1, strlen(colon + 1), &targets, why,
	    sizeof(why)) == -1 || targets.n == 0) {
		strlist_release(&targets);
		return err_set(e, ERR_CONFIG, "%s:%lu: alias '%s': %s", path,
		    line, name, targets.n == 0 ? "no target" : why);
	}
	/*
	 * Checked on the parsed targets: '|' and '/' are atext, so a
	 * command or a file parses as a local part, behind quotes, a
	 * comment or a group.
	 */
	for (i = 0; i < targets.n; i++)
		if (aliases_check_target(targets.v[i], path, line, e) == -1) {
			strlist_release(&targets);
			return -1;
		}
	if ((al = aliases_find(a, name)) != NULL) {
		/* A repeated name adds to the first (as newaliases does). */
		for (i = 0; i < targets.n; i++)
			strlist_add(&al->targets, targets.v[i]);
		strlist_release(&targets);
		return 0;
	}
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n].name = xstrdup(name);
	a->v[a->n].targets = targets;
	a->n++;
	return 0;
}

int
aliases_load(struct aliases *a, const char *path, struct err *e)
{
	char *line = NULL, *entry = NULL;
	size_t cap = 0, elen = 0;
	unsigned long lineno = 0, start = 0;
	ssize_t n;
	FILE *fp;
	int ret = -1;

	memset(a, 0, sizeof(*a));
	if ((fp = safefile_open(path, "aliases", e)) == NULL)
		return -1;
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (memchr(line, '\0', (size_t)n) != NULL) {
			err_set(e, ERR_CONFIG, "%s:%lu: NUL byte", path, lineno);
			goto out;
		}
		if (line[0] == '#' || strspn(line, " \t") == (size_t)n)
			continue;	/* comments and blank lines */
		if ((line[0] == ' ' || line[0] == '\t') && entry != NULL) {
			entry = xrealloc(entry, elen + (size_t)n + 1);
			memcpy(entry + elen, line, (size_t)n + 1);
			elen += (size_t)n;
			continue;
		}
		if (entry != NULL && aliases_entry(a, entry, path, start,
		    e) == -1)
			goto out;
		free(entry);
		entry = xstrdup(line);
		elen = (size_t)n;
		start = lineno;
	}
	if (ferror(fp)) {
		err_set(e, ERR_CONFIG, "cannot read aliases '%s': %s", path,
		    strerror(errno));
		goto out;
	}
	if (entry != NULL && aliases_entry(a, entry, path, start, e) == -1)
		goto out;
	ret = 0;
out:
	free(entry);
	free(line);
	fclose(fp);
	if (ret == -1)
		aliases_release(a);
	return ret;
}

void
aliases_release(struct aliases *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->v[i].name);
		strlist_release(&a->v[i].targets);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static int
on_path(const struct strlist *path, const char *name)
{
	size_t i;

	for (i = 0; i < path->n; i++)
		if (strcasecmp(path->v[i], name) == 0)
			return 1;
	return 0;
}

/*
 * path holds the names being expanded right now (a name met again
 * there is a loop); seen holds every name already expanded (met again
 * elsewhere, it adds nothing: "a: b, b" nested ten deep is not 2^10
 * work).
 */
static int
expand(const struct aliases *a, const char *name, struct strlist *out,
    struct strlist *path, struct strlist *seen, int depth, struct err *e)
{
	const struct alias *al;
	size_t i, n = seen->n;
	int rc = 0;

	if (on_path(path, name))
		return err_set(e, ERR_CONFIG, "aliases: '%s' leads back to "
		    "itself (a loop)", name);
	strlist_add_unique(seen, name);
	if (seen->n == n)
		return 0;
	if (depth > ALIASES_DEPTH)
		return err_set(e, ERR_CONFIG, "aliases: '%s' nests more than "
		    "%d deep (a loop?)", name, ALIASES_DEPTH);
	al = aliases_find(a, name);
	if (al == NULL && depth == 0)
		al = aliases_find(a, "default");
	if (al == NULL) {
		strlist_add_unique(out, name);
		return 0;
	}
	strlist_add(path, name);
	for (i = 0; i < al->targets.n && rc == 0; i++) {
		const char *t = al->targets.v[i];

		/* A name that maps to itself is the mailbox itself. */
		if (addr_has_domain(t) || strcasecmp(t, name) == 0)
			strlist_add_unique(out, t);
		else
			rc = expand(a, t, out, path, seen, depth + 1, e);
	}
	free(path->v[--path->n]);
	return rc;
}

int
aliases_expand(const struct aliases *a, const char *name,
    struct strlist *out, struct err *e)
{
	struct strlist path, seen;
	int rc;

	strlist_init(&path);
	strlist_init(&seen);
	rc = expand(a, name, out, &path, &seen, 0, e);
	strlist_release(&path);
	strlist_release(&seen);
	return rc;
}
