/*
 * bsmtp.h - sendmail's -bs: speak SMTP (server side) on a pair of file
 * descriptors to the calling program (Symfony Mailer, Laravel, Alpine),
 * and relay every message it hands over through the account, answering
 * with the smarthost's outcome.
 */
#ifndef ENVOI_BSMTP_H
#define ENVOI_BSMTP_H

#include "cli.h"
#include "err.h"

/*
 * Serve one SMTP session on in/out until QUIT or end of input.  Errors
 * of single messages are answered to the client; only a failure to
 * start (the configuration) or to talk to the client returns -1.
 */
int	bsmtp_run(const struct opts *, int in, int out, struct err *);

#endif
