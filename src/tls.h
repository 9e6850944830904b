/*
 * tls.h - TLS over a connected socket, with GnuTLS: trust store, host
 * name check, handshake, record I/O with deadlines.  It knows nothing
 * of the protocol that runs on top.
 */
#ifndef ENVOI_TLS_H
#define ENVOI_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "err.h"

struct tls_params {
	const char	*trust_file;	/* PEM CA file; NULL: system store */
	const char	*crl_file;	/* PEM CRLs; NULL: none */
	const char	*cert_file;	/* client certificate; NULL: none */
	const char	*key_file;	/* its key */
	const char	*priorities;	/* GnuTLS priority string; NULL */
	int		 min_version;	/* 10, 11, 12 or 13 (TLS 1.x) */
	/*
	 * SHA-256 of the server's certificate, 64 lower-case hex digits:
	 * when set, it alone decides (the chain need not verify).
	 */
	const char	*fingerprint;
	int		 certcheck;	/* 0: no verification at all */
	const char	*hostname;	/* checked against the certificate */
	int		 timeout_ms;	/* for the handshake */
	int		 report_only;	/* verify, but only to report it */
	const void	*session;	/* saved session to resume; NULL */
	size_t		 session_len;
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
/* 1 when the handshake resumed a saved session. */
int		 tls_resumed(struct tls *);

/*
 * The session, to resume it next time: allocated data the caller frees.
 * -1 when there is none.
 */
int		 tls_session_data(struct tls *, void **data, size_t *len);

/*
 * Channel binding for SCRAM-*-PLUS: tls-exporter (RFC 9266) under TLS
 * 1.3, tls-unique (RFC 5929) before.  Sets *type and allocated *data.
 */
int		 tls_channel_binding(struct tls *, const char **type,
		    unsigned char **data, size_t *len);

/* The SHA-256 fingerprint of the server's certificate, hex with ':'. */
int		 tls_peer_fingerprint(struct tls *, char *, size_t);

/*
 * With report_only: what verification says ("OK", or the reason), into
 * buf.
 */
const char	*tls_verification(struct tls *, char *, size_t);

/*
 * Describe the server's certificate chain: subject, issuer, validity
 * and SHA-256 fingerprint of each certificate, one block each.
 */
void		 tls_print_chain(struct tls *, FILE *);

/* Send close_notify (best effort) and free the session. */
void		 tls_free(struct tls *, int64_t deadline);

#endif
