/*
 * freescan.c - an LD_PRELOAD free() for tests/wipe.bats: every block
 * freed by the program named $FREESCAN_PROG is searched for
 * $FREESCAN_SECRET and $FREESCAN_SECRET2; a block that holds one is
 * reported in $FREESCAN_OUT (with a backtrace when $FREESCAN_TRACE is
 * set).  Children of other names (a passwordeval command) are not
 * envoi's memory and are not searched.  A block freed with a frame of
 * $FREESCAN_IGNORE on the stack is not reported either: while it
 * derives the SCRAM keys, libgsasl (and libidn's SASLprep under it)
 * frees its working copies of the password uncleared, out of envoi's
 * reach.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void __libc_free(void *);

static int	 ready;
static char	 secret[256], secret2[512];
static size_t	 slen, slen2;
static char	 out[4096];

static void
setup(void)
{
	const char *prog = getenv("FREESCAN_PROG");
	const char *s = getenv("FREESCAN_SECRET");
	const char *s2 = getenv("FREESCAN_SECRET2");
	const char *o = getenv("FREESCAN_OUT");

	ready = 1;
	if (prog != NULL && strcmp(prog, program_invocation_short_name) != 0)
		return;
	if (s != NULL && strlen(s) < sizeof(secret)) {
		strcpy(secret, s);
		slen = strlen(s);
	}
	if (s2 != NULL && strlen(s2) < sizeof(secret2)) {
		strcpy(secret2, s2);
		slen2 = strlen(s2);
	}
	if (o != NULL && strlen(o) < sizeof(out))
		strcpy(out, o);
}

/* 1 when a frame of $FREESCAN_IGNORE is on the stack. */
static int
ignored(void)
{
	const char *what = getenv("FREESCAN_IGNORE");
	void *bt[32];
	char **names;
	int i, k, hit = 0;

	if (what == NULL || *what == '\0')
		return 0;
	k = backtrace(bt, 32);
	if ((names = backtrace_symbols(bt, k)) == NULL)
		return 0;
	for (i = 0; i < k && !hit; i++)
		hit = strstr(names[i], what) != NULL;
	__libc_free(names);
	return hit;
}

void
free(void *p)
{
	size_t n;
	int fd;

	if (p != NULL) {
		if (!ready)
			setup();
		n = malloc_usable_size(p);
		if (((slen && memmem(p, n, secret, slen)) ||
		    (slen2 && memmem(p, n, secret2, slen2))) && !ignored()) {
			if (out[0] && (fd = open(out, O_WRONLY | O_CREAT |
			    O_APPEND, 0600)) != -1) {
				void *bt[16];
				int k = backtrace(bt, 16);

				(void)write(fd, "freed with a secret\n", 20);
				if (getenv("FREESCAN_TRACE") != NULL)
					backtrace_symbols_fd(bt, k, fd);
				close(fd);
			}
		}
	}
	__libc_free(p);
}
