/*
 * import.h - converting an msmtp configuration file (msmtprc) into an
 * envoi configuration file, for users who move from msmtp to envoi.
 *
 * The conversion is a translation, not a check: what envoi has an
 * equivalent for is carried over, with account inheritance flattened;
 * what it has none for becomes a comment that names the msmtprc line
 * and says why.  The mapping is described at the top of import.c.
 */
#ifndef ENVOI_IMPORT_H
#define ENVOI_IMPORT_H

#include <stdio.h>

#include "err.h"

#define IMPORT_LINEMAX	65536	/* longer msmtprc lines are refused */

/*
 * Read the msmtp configuration from in (name is the file name, used in
 * messages and in the comments written) and write the envoi
 * configuration to out.  Nothing is written unless the whole file was
 * read and converted.  Both streams stay the caller's.
 *
 * Returns 0, or -1 with e filled: ERR_CONFIG naming name:line for a
 * line that is not "command [argument]", an argument msmtp refuses, an
 * account defined twice or a base account that is not (yet) defined,
 * and ERR_CONFIG for in that cannot be read; ERR_IO when out cannot be
 * written.
 */
int	import_msmtprc(FILE *in, const char *name, FILE *out, struct err *e);

#endif
