/*
 * fuzz_config.c - the configuration file: the input is written to a
 * file of mode 0600 (so that a password in it is allowed), loaded with
 * config_load, and every way of choosing an account is tried on it:
 * by sender (a -f address and a From address, one with a +tag), by
 * default_account or the only account, by each account's name, and by
 * a name that is not there.  What is chosen is printed with
 * config_print.
 *
 * Properties, beyond memory safety: a failed call says why (ERR_CONFIG
 * with a message); an account that resolves has a name, a host, a port
 * from 1 to 65535, a known TLS mode and a TLS version from 10 to 13.
 */
#include "autoconf.h"

#include "config.h"
#include "util.h"

#include "fuzz.h"

static char path[PATH_MAX];
static FILE *devnull;

static void
check_account(const struct config *c, const char *name,
    const char *const *senders)
{
	struct account a;
	struct err e;

	err_init(&e);
	if (config_account(c, name, senders, &a, &e) == -1) {
		FUZZ_ASSERT(e.kind == ERR_CONFIG && e.msg[0] != '\0',
		    "config_account failed with kind %s '%s'",
		    err_kindname(e.kind), e.msg);
		return;
	}
	FUZZ_ASSERT(a.name != NULL && a.host != NULL, "no name or host");
	FUZZ_ASSERT(a.port >= 1 && a.port <= 65535, "port %ld", a.port);
	FUZZ_ASSERT(a.tls < CONFIG_TLS_LAST, "tls %d", (int)a.tls);
	FUZZ_ASSERT(a.tls_min_version >= 10 && a.tls_min_version <= 13,
	    "tls_min_version %ld from '%s'", a.tls_min_version,
	    a.tls_min_version_name);
	FUZZ_ASSERT(a.set_from_header < CONFIG_FROM_LAST, "from header %d",
	    (int)a.set_from_header);
	FUZZ_ASSERT(strlen(a.tls_fingerprint) == 0 ||
	    strlen(a.tls_fingerprint) == 64, "fingerprint '%s'",
	    a.tls_fingerprint);
	if (a.from != NULL) {
		(void)config_from_is_pattern(a.from);
		(void)config_from_matches(a.from, "user+tag@example.org");
	}
	config_print(&a, devnull);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const senders[] = {
		"user+tag@example.org", "Someone@Example.NET", NULL
	};
	static const char *const none[] = { NULL };
	struct strlist names;
	struct config c;
	struct err e;
	size_t i;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "%s/config", fuzz_scratch());
		if ((devnull = fopen("/dev/null", "w")) == NULL)
			abort();
	}
	fuzz_write_file(path, data, size);
	memset(&c, 0, sizeof(c));
	err_init(&e);
	if (config_load(&c, path, &e) == -1) {
		FUZZ_ASSERT(e.kind == ERR_CONFIG && e.msg[0] != '\0',
		    "config_load failed with kind %s '%s'",
		    err_kindname(e.kind), e.msg);
		return 0;
	}
	check_account(&c, NULL, senders);
	check_account(&c, NULL, none);
	check_account(&c, NULL, NULL);
	check_account(&c, "no-such-account", senders);
	strlist_init(&names);
	config_account_names(&c, &names);
	for (i = 0; i < names.n && i < 16; i++)
		check_account(&c, names.v[i], NULL);
	strlist_release(&names);
	config_release(&c);
	return 0;
}
