/*
 * tls.h - TLS over a connected socket, with GnuTLS: trust store, host
 * name check, handshake, record I/O with deadlines.  It knows nothing
 * of the protocol that runs on top.
 */
#ifndef ENVOI_TLS_H
#define ENVOI_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

struct tls_params {
	const char	*trust_file;	/* PEM CA file; NULL: system store */
	const char	*hostname;	/* checked against the certificate */
	int		 timeout_ms;	/* for the handshake */
};

struct tls;

/*
 * Run a TLS handshake on fd and verify the server's certificate chain and
 * name.  Any failure is ERR_TLS naming the reason (expired, unknown
 * issuer, wrong name) or ERR_TEMP for a network failure; no session is
 * returned then.  The returned session borrows fd.
 */
struct tls	*tls_start(int fd, const struct tls_params *, struct err *);

/* Read up to len bytes; 0 at a clean close; -1 with e filled. */
ssize_t		 tls_read(struct tls *, void *, size_t, int64_t deadline,
		    struct err *);
/* Write all len bytes; -1 with e filled. */
ssize_t		 tls_write(struct tls *, const void *, size_t,
		    int64_t deadline, struct err *);
/* Bytes already decrypted and waiting to be read. */
size_t		 tls_pending(struct tls *);
/* "TLS1.3 / AES-256-GCM" and the like, for -v. */
const char	*tls_describe(struct tls *, char *, size_t);
/* Send close_notify (best effort) and free the session. */
void		 tls_free(struct tls *, int64_t deadline);

#endif
