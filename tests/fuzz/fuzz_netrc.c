/*
 * fuzz_netrc.c - netrc(5) text: netrc_parse for a few hosts and users.
 *
 * Properties, beyond memory safety: a match comes with a password and
 * no match without one; the password is no longer than the input; the
 * host is compared without case (the same answer for "H.EXAMPLE" as for
 * "h.example"); the same input gives the same answer twice.
 */
#include "autoconf.h"

#include <strings.h>

#include "netrc.h"
#include "util.h"

#include "fuzz.h"

static void
check(const uint8_t *data, size_t size, const char *host, const char *upper,
    const char *user)
{
	char *pw = NULL, *again = NULL, *up = NULL;
	int rc, rc2, rc3;

	rc = netrc_parse((const char *)data, size, host, user, &pw);
	FUZZ_ASSERT((rc == 1) == (pw != NULL), "rc %d with password %p", rc,
	    (void *)pw);
	if (pw != NULL)
		FUZZ_ASSERT(strlen(pw) <= size, "password longer than input");
	rc2 = netrc_parse((const char *)data, size, host, user, &again);
	FUZZ_ASSERT(rc2 == rc && (rc == 0 || strcmp(pw, again) == 0),
	    "a second parse differs");
	rc3 = netrc_parse((const char *)data, size, upper, user, &up);
	FUZZ_ASSERT(rc3 == rc && (rc == 0 || strcmp(pw, up) == 0),
	    "'%s' and '%s' differ", host, upper);
	wipe_free(pw);
	wipe_free(again);
	wipe_free(up);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size, "h.example", "H.EXAMPLE", "u");
	check(data, size, "mail", "MAIL", "alice");
	check(data, size, "", "", "");
	return 0;
}
