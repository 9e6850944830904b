/*
 * safefile.c - the ownership and mode check on files envoi obeys.
 * safefile.h states the rule.  Whoever can write the configuration can
 * make envoi run a passwordeval command or send mail elsewhere, so a
 * file another user could change is refused, never read.  Root is
 * trusted as an owner: it could change the file anyway.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "safefile.h"

static int
safefile_check(int fd, const char *path, const char *what, struct err *e)
{
	struct stat st;
	uid_t me = geteuid();

	if (fstat(fd, &st) == -1)
		return err_set(e, ERR_CONFIG, "cannot read %s '%s': %s", what,
		    path, strerror(errno));
	if (st.st_uid != me && st.st_uid != 0) {
		if (me == 0)
			return err_set(e, ERR_CONFIG, "%s '%s' belongs to uid "
			    "%lu; only root may own it", what, path,
			    (unsigned long)st.st_uid);
		return err_set(e, ERR_CONFIG, "%s '%s' belongs to uid %lu; "
		    "only uid %lu (you) or root may own it", what, path,
		    (unsigned long)st.st_uid, (unsigned long)me);
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(e, ERR_CONFIG, "%s '%s' is writable by group "
		    "or others (chmod go-w it)", what, path);
	return 0;
}

FILE *
safefile_open(const char *path, const char *what, struct err *e)
{
	FILE *fp;
	int fd;

	/*
	 * O_NONBLOCK: a FIFO planted there must not hang the open; reads
	 * block again after it (a <(...) that is still writing is fine).
	 */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1) {
		err_set(e, ERR_CONFIG, "cannot read %s '%s': %s", what, path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if (safefile_check(fd, path, what, e) == -1) {
		close(fd);
		return NULL;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		err_set(e, ERR_CONFIG, "cannot read %s '%s': %s", what, path,
		    strerror(errno));
		close(fd);
	}
	return fp;
}
