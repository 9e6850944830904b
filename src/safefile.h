/*
 * safefile.h - opening the files that tell envoi what to do (the
 * configuration, the aliases) only when nobody else could have written
 * them.  The rule is ssh's: the file must belong to the effective user or
 * to root, and must not be writable by its group or by others.  Symbolic
 * links are followed; the file they lead to is the one checked, through
 * the open descriptor, so that what is checked is what is read.
 */
#ifndef ENVOI_SAFEFILE_H
#define ENVOI_SAFEFILE_H

#include <stdio.h>

#include "err.h"

/*
 * Open path for reading.  what names it in messages ("configuration",
 * "aliases").  A file that cannot be opened, or that fails the rule
 * above, is ERR_CONFIG with a one-line message naming path; NULL then.
 */
FILE	*safefile_open(const char *path, const char *what, struct err *e);

#endif
