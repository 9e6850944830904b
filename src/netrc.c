/*
 * netrc.c - the netrc(5) file: a tokenizer, the entry matching described
 * in netrc.h, and the file's permission check.  Every copy of a token is
 * wiped: any of them may be the password.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "netrc.h"
#include "util.h"

#define NETRC_MAX	(1024 * 1024)	/* a bigger file is not a netrc */

struct netrc_lex {
	const char	*p;
	const char	*end;
	char		*tok;		/* scratch, as long as the text */
};

/* The entry being read. */
struct netrc_entry {
	int		 kind;		/* 0 none, 1 machine, 2 default */
	int		 host_ok;
	char		*login;
	char		*password;
};

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\f' || c == '\v';
}

/* The next token into l->tok: 1, or 0 at the end of the text. */
static int
lex_next(struct netrc_lex *l)
{
	size_t n = 0;

	while (l->p < l->end && is_space(*l->p))
		l->p++;
	if (l->p >= l->end)
		return 0;
	if (*l->p == '"') {
		for (l->p++; l->p < l->end && *l->p != '"'; l->p++) {
			if (*l->p == '\\' && l->p + 1 < l->end)
				l->p++;
			l->tok[n++] = *l->p;
		}
		if (l->p < l->end)
			l->p++;		/* the closing quote */
	} else {
		while (l->p < l->end && !is_space(*l->p))
			l->tok[n++] = *l->p++;
	}
	l->tok[n] = '\0';
	return 1;
}

/* A macro body runs from the next line to the first empty line. */
static void
lex_skip_macro(struct netrc_lex *l)
{
	const char *nl = memchr(l->p, '\n', (size_t)(l->end - l->p));

	while (nl != NULL && nl + 1 < l->end && nl[1] != '\n')
		nl = memchr(nl + 1, '\n', (size_t)(l->end - nl - 1));
	l->p = nl != NULL ? nl + 1 : l->end;
}

static void
entry_clear(struct netrc_entry *en)
{
	wipe_free(en->login);
	wipe_free(en->password);
	memset(en, 0, sizeof(*en));
}

static int
entry_matches(const struct netrc_entry *en, const char *user)
{
	return en->kind != 0 && en->host_ok && en->password != NULL &&
	    (en->login == NULL || strcmp(en->login, user) == 0);
}

/* Take the value token after a keyword into *slot. */
static void
entry_set(struct netrc_lex *l, char **slot)
{
	if (!lex_next(l))
		return;
	wipe_free(*slot);
	*slot = xstrdup(l->tok);
}

/*
 * The entry ends: 1 when it is a matching machine entry (the password
 * moves to *found); a matching default entry is kept in *fallback.
 */
static int
entry_end(struct netrc_entry *en, const char *user, char **found,
    char **fallback)
{
	int rc = 0;

	if (entry_matches(en, user)) {
		if (en->kind == 1) {
			*found = en->password;
			rc = 1;
		} else if (*fallback == NULL)
			*fallback = en->password;
		else
			wipe_free(en->password);
		en->password = NULL;
	}
	entry_clear(en);
	return rc;
}

int
netrc_parse(const char *text, size_t len, const char *host,
    const char *user, char **password)
{
	struct netrc_lex l;
	struct netrc_entry en;
	char *found = NULL, *fallback = NULL;

	memset(&en, 0, sizeof(en));
	l.p = text;
	l.end = text + len;
	l.tok = xmalloc(len + 1);
	while (found == NULL && lex_next(&l)) {
		if (strcmp(l.tok, "machine") == 0 ||
		    strcmp(l.tok, "default") == 0) {
			if (entry_end(&en, user, &found, &fallback))
				break;
			en.kind = l.tok[0] == 'm' ? 1 : 2;
			en.host_ok = en.kind == 2 || (lex_next(&l) &&
			    strcasecmp(l.tok, host) == 0);
		} else if (strcmp(l.tok, "login") == 0)
			entry_set(&l, &en.login);
		else if (strcmp(l.tok, "password") == 0)
			entry_set(&l, &en.password);
		else if (strcmp(l.tok, "account") == 0)
			(void)lex_next(&l);
		else if (strcmp(l.tok, "macdef") == 0) {
			(void)lex_next(&l);
			lex_skip_macro(&l);
		}
	}
	if (found == NULL)
		(void)entry_end(&en, user, &found, &fallback);
	entry_clear(&en);
	wipe(l.tok, len + 1);
	free(l.tok);
	if (found == NULL) {
		found = fallback;
		fallback = NULL;
	}
	wipe_free(fallback);
	*password = found;
	return found != NULL;
}

char *
netrc_path(void)
{
	const char *env = getenv("NETRC"), *home = getenv("HOME");
	size_t n;
	char *p;

	if (env != NULL && *env != '\0')
		return xstrdup(env);
	if (home == NULL || *home == '\0')
		return NULL;
	n = strlen(home) + sizeof("/.netrc");
	p = xmalloc(n);
	snprintf(p, n, "%s/.netrc", home);
	return p;
}

/* The whole file into an allocated buffer; *mode gets its mode. */
static int
netrc_read(const char *path, char **text, size_t *len, mode_t *mode,
    struct err *e)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	char *buf;
	int fd;

	/* O_NONBLOCK: a FIFO there must not hang us; it is refused below. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		return err_set(e, ERR_CONFIG, "cannot read '%s': %s", path,
		    strerror(errno));
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > NETRC_MAX) {
		close(fd);
		return err_set(e, ERR_CONFIG, "'%s' is not a netrc file (a "
		    "regular file under 1 MiB)", path);
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size &&
	    (n = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			/* Half a file could match the wrong entry. */
			n = errno;
			close(fd);
			wipe(buf, got);
			free(buf);
			return err_set(e, ERR_CONFIG, "cannot read '%s': %s",
			    path, strerror((int)n));
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*text = buf;
	*len = got;
	*mode = st.st_mode;
	return 1;
}

int
netrc_lookup(const char *path, const char *host, const char *user,
    char **password, struct err *e)
{
	char *text = NULL;
	size_t len = 0;
	mode_t mode = 0;
	int rc;

	*password = NULL;
	if ((rc = netrc_read(path, &text, &len, &mode, e)) <= 0)
		return rc;
	rc = netrc_parse(text, len, host, user, password);
	wipe(text, len);
	free(text);
	if (rc == 1 && (mode & (S_IRWXG | S_IRWXO)) != 0) {
		wipe_free(*password);
		*password = NULL;
		return err_set(e, ERR_CONFIG, "'%s' holds the password for "
		    "%s at %s but group or others have access to it (mode "
		    "%03o): chmod 600 '%s'", path, user, host,
		    (unsigned int)(mode & 0777), path);
	}
	return rc;
}
