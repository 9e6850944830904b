/*
 * import_tool.c - a thin command line over the import room, for
 * import.bats.
 *
 *	import_tool FILE	the envoi configuration converted from the
 *				msmtprc FILE, on stdout
 *	import_tool -r FILE	convert, load the result with envoi's own
 *				reader, and print every account as envoi
 *				resolves it, one "account.key=value" a line,
 *				then "default=NAME" (the account envoi picks
 *				without -a), or "default=" when it needs -a
 *
 * A failure prints one line and exits with the error's sysexits status.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "import.h"
#include "util.h"

static int
fail(const struct err *e)
{
	fprintf(stderr, "import_tool: %s\n", e->msg);
	return err_exitcode(e->kind);
}

static void
put(const char *acct, const char *key, const char *val)
{
	printf("%s.%s=%s\n", acct, key, val != NULL ? val : "");
}

static void
put_num(const char *acct, const char *key, long n)
{
	printf("%s.%s=%ld\n", acct, key, n);
}

static void
print_account(const struct account *a)
{
	const char *n = a->name;

	put(n, "host", a->host);
	put_num(n, "port", a->port);
	put(n, "tls", a->tls_name);
	put(n, "tls_trust_file", a->tls_trust_file);
	put(n, "auth", a->auth);
	put(n, "user", a->user);
	put(n, "password", a->password);
	put(n, "passwordeval", a->passwordeval);
	put(n, "from", a->from);
	put(n, "domain", a->domain);
	put_num(n, "timeout", a->timeout);
	put(n, "aliases", a->aliases);
	put(n, "maildomain", a->maildomain);
	put(n, "set_from_header", a->set_from_header_name);
	put_num(n, "set_date_header", a->set_date_header);
	put_num(n, "set_msgid_header", a->set_msgid_header);
	put_num(n, "allow_from_override", a->allow_from_override);
	put(n, "logfile", a->logfile);
	put(n, "syslog", a->syslog);
}

/* Load the converted file and print what envoi makes of it. */
static int
resolve(const char *path, struct err *e)
{
	struct config c;
	struct account a;
	struct strlist names;
	struct err e2;
	size_t i;
	int ret = -1;

	if (config_load(&c, path, e) == -1)
		return -1;
	strlist_init(&names);
	config_account_names(&c, &names);
	for (i = 0; i < names.n; i++) {
		if (config_account(&c, names.v[i], NULL, &a, e) == -1)
			goto out;
		print_account(&a);
	}
	err_init(&e2);
	if (config_account(&c, NULL, NULL, &a, &e2) == 0)
		printf("default=%s\n", a.name);
	else
		printf("default=\n");
	ret = 0;
out:
	strlist_release(&names);
	config_release(&c);
	return ret;
}

static int
convert(const char *file, FILE *out, struct err *e)
{
	FILE *in;
	int rc;

	if ((in = fopen(file, "r")) == NULL)
		return err_set(e, ERR_CONFIG, "cannot read msmtp configuration "
		    "'%s': %s", file, strerror(errno));
	rc = import_msmtprc(in, file, out, e);
	fclose(in);
	return rc;
}

static int
roundtrip(const char *file, struct err *e)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	FILE *out;
	int fd, rc = -1;

	snprintf(path, sizeof(path), "%s/import_tool.XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp");
	if ((fd = mkstemp(path)) == -1)
		return err_set(e, ERR_CANTCREAT, "cannot create '%s': %s",
		    path, strerror(errno));
	if ((out = fdopen(fd, "w")) == NULL) {
		err_set(e, ERR_OS, "fdopen: %s", strerror(errno));
		close(fd);
		goto out;
	}
	rc = convert(file, out, e);
	if (fclose(out) == EOF && rc == 0)
		rc = err_set(e, ERR_IO, "cannot write '%s': %s", path,
		    strerror(errno));
	if (rc == 0)
		rc = resolve(path, e);
out:
	unlink(path);
	return rc;
}

int
main(int argc, char **argv)
{
	struct err e;

	err_init(&e);
	if (argc == 2 && argv[1][0] != '-')
		return convert(argv[1], stdout, &e) == -1 ? fail(&e) : 0;
	if (argc == 3 && strcmp(argv[1], "-r") == 0)
		return roundtrip(argv[2], &e) == -1 ? fail(&e) : 0;
	fputs("usage: import_tool [-r] msmtprc\n", stderr);
	return EX_USAGE;
}
