/*
 * tls.c - GnuTLS behind one room.
 *
 * The socket is non-blocking; GnuTLS reaches it only through tls_push
 * and tls_pull, which wait with net_wait() until the deadline of the
 * operation in progress.  To GnuTLS the transport looks blocking, and
 * no peer can stall it past the timeout.
 */
#include "autoconf.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "encode.h"
#include "net.h"
#include "tls.h"
#include "dl.h"
#include "util.h"

/*
 * The library is loaded on first use (dl.h): every call goes through
 * this table, filled by gnutls_load().
 */
#define GT_API(X) \
	X(gnutls_bye) \
	X(gnutls_alert_get) \
	X(gnutls_alert_get_name) \
	X(gnutls_certificate_verify_peers3) \
	X(gnutls_x509_crt_init) \
	X(gnutls_x509_crt_import) \
	X(gnutls_x509_crt_get_dn3) \
	X(gnutls_x509_crt_get_issuer_dn3) \
	X(gnutls_x509_crt_get_activation_time) \
	X(gnutls_x509_crt_get_expiration_time) \
	X(gnutls_x509_crt_deinit) \
	X(gnutls_certificate_set_x509_crl_file) \
	X(gnutls_certificate_set_x509_key_file) \
	X(gnutls_priority_set_direct) \
	X(gnutls_certificate_get_peers) \
	X(gnutls_fingerprint) \
	X(gnutls_session_set_data) \
	X(gnutls_session_get_data2) \
	X(gnutls_session_is_resumed) \
	X(gnutls_session_channel_binding) \
	X(gnutls_certificate_allocate_credentials) \
	X(gnutls_certificate_free_credentials) \
	X(gnutls_certificate_set_x509_system_trust) \
	X(gnutls_certificate_set_x509_trust_file) \
	X(gnutls_certificate_type_get) \
	X(gnutls_certificate_verification_status_print) \
	X(gnutls_cipher_get) \
	X(gnutls_cipher_get_name) \
	X(gnutls_credentials_set) \
	X(gnutls_deinit) \
	X(gnutls_error_is_fatal) \
	X(gnutls_free) \
	X(gnutls_handshake) \
	X(gnutls_init) \
	X(gnutls_protocol_get_name) \
	X(gnutls_protocol_get_version) \
	X(gnutls_record_check_pending) \
	X(gnutls_record_recv) \
	X(gnutls_record_send) \
	X(gnutls_server_name_set) \
	X(gnutls_session_get_verify_cert_status) \
	X(gnutls_session_set_verify_cert) \
	X(gnutls_set_default_priority) \
	X(gnutls_strerror) \
	X(gnutls_transport_set_ptr) \
	X(gnutls_transport_set_pull_function) \
	X(gnutls_transport_set_push_function) \
	X(gnutls_transport_get_ptr) \
	X(gnutls_session_set_verify_function) \
	X(gnutls_certificate_set_x509_trust_mem) \
	X(gnutls_x509_crt_get_raw_dn) \
	X(gnutls_x509_crt_get_raw_issuer_dn)

static struct {
#define X(f) __typeof__(&f) f;
	GT_API(X)
#undef X
} gt;

static const char *const gt_names[] = {
#define X(f) #f,
	GT_API(X)
#undef X
};

static int gt_loaded;

static int
gnutls_load(struct err *e)
{
	return dl_load(GNUTLS_SONAME, gt_names, (void **)(void *)&gt,
	    sizeof(gt_names) / sizeof(gt_names[0]), &gt_loaded, e);
}

/*
 * The system trust store, read lazily: the PEM bundle GnuTLS's own
 * loader reads (the one configure found), held as text; only the CAs
 * whose subject is the issuer or the subject of a certificate the
 * server sent are decoded and trusted, just before the chain is
 * verified.  Parsing all of them costs ~69 M instructions a run
 * (doc/PERFORMANCE.md); the test for which ones are needed compares raw
 * DER names, as GnuTLS's trust list does to find an issuer.
 */
struct lazy_store {
	char	*pem;		/* the bundle, NUL-terminated; NULL: not lazy */
	size_t	 len;
	int	 loaded;	/* the matching CAs are in the credentials */
	unsigned int status;	/* the verification's result */
	int	 verified;	/* status is set */
};

struct tls {
	gnutls_session_t			 session;
	gnutls_certificate_credentials_t	 cred;
	int					 fd;
	int64_t					 deadline;
	int					 timed_out;
	char					 hostname[256];
	struct lazy_store			 store;
};

static ssize_t
tls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct tls *t = ptr;
	ssize_t n = net_read(t->fd, buf, len, t->deadline);

	if (n == -1 && errno == ETIMEDOUT)
		t->timed_out = 1;
	return n;
}

static ssize_t
tls_push(gnutls_transport_ptr_t ptr, const void *buf, size_t len)
{
	struct tls *t = ptr;
	ssize_t n = net_write(t->fd, buf, len, t->deadline);

	if (n == -1 && errno == ETIMEDOUT)
		t->timed_out = 1;
	return n;
}

static int
is_ip_literal(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

static int
tls_fail(struct tls *t, int rc, const char *what, struct err *e)
{
	if (t->timed_out)
		return err_set(e, ERR_TEMP, "%s: timed out", what);
	if (rc == GNUTLS_E_PUSH_ERROR || rc == GNUTLS_E_PULL_ERROR ||
	    rc == GNUTLS_E_PREMATURE_TERMINATION)
		return err_set(e, ERR_TEMP, "%s: connection lost (%s)", what,
		    gt.gnutls_strerror(rc));
	if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED && t->session != NULL)
		return err_set(e, ERR_TLS, "%s: the server sent the alert "
		    "'%s'", what, gt.gnutls_alert_get_name(
		    gt.gnutls_alert_get(t->session)));
	return err_set(e, ERR_TLS, "%s: %s", what, gt.gnutls_strerror(rc));
}

/* Explain why verification failed, in GnuTLS's words. */
static int
tls_verify_error(struct tls *t, struct err *e)
{
	unsigned int status = t->store.verified ? t->store.status :
	    gt.gnutls_session_get_verify_cert_status(t->session);
	gnutls_certificate_type_t type =
	    gt.gnutls_certificate_type_get(t->session);
	gnutls_datum_t out = { NULL, 0 };

	if (status != 0 && gt.gnutls_certificate_verification_status_print(
	    status, type, &out, 0) == 0) {
		size_t n = strlen((const char *)out.data);

		while (n > 0 && ((char *)out.data)[n - 1] == ' ')
			((char *)out.data)[--n] = '\0';
		err_set(e, ERR_TLS, "TLS certificate verification failed: %s",
		    (const char *)out.data);
		(*gt.gnutls_free)(out.data);
		return -1;
	}
	return err_set(e, ERR_TLS, "TLS certificate verification failed");
}

/* --- the system trust store, lazily --- */

/*
 * SYSTEM_TRUST_FILE is the bundle GnuTLS's system trust reads, as
 * configure found it in the library (--with-default-trust-store-file).
 * Without it (a GnuTLS whose system trust is p11-kit, which can also
 * distrust), or when the file is missing, GnuTLS's own loader runs.
 */
#ifdef SYSTEM_TRUST_FILE
static const char *const system_trust_file = SYSTEM_TRUST_FILE;
#else
static const char *const system_trust_file = NULL;
#endif

static int	tls_client_cert(struct tls *, const struct tls_params *,
		    struct err *);

#define PEM_BEGIN	"-----BEGIN CERTIFICATE-----"
#define PEM_END		"-----END CERTIFICATE-----"

/*
 * Read the bundle.  0 when it is there with certificates in it; -1 when
 * there is none (GnuTLS's loader is used then), with store->pem set when
 * the file is there but holds no certificate.
 */
static int
lazy_open(struct lazy_store *st, const char *path)
{
	char buf[65536];
	size_t cap = 0;
	ssize_t n;
	int fd;

	if (path == NULL || *path == '\0' ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	for (;;) {
		if ((n = read(fd, buf, sizeof(buf))) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (st->len + (size_t)n + 1 > cap) {
			cap = (st->len + (size_t)n + 1) * 2;
			st->pem = xrealloc(st->pem, cap);
		}
		memcpy(st->pem + st->len, buf, (size_t)n);
		st->len += (size_t)n;
	}
	close(fd);
	if (n == -1) {
		free(st->pem);
		st->pem = NULL;
		st->len = 0;
		return -1;
	}
	if (st->pem == NULL)
		st->pem = xstrdup("");
	st->pem[st->len] = '\0';
	return memmem(st->pem, st->len, PEM_BEGIN, sizeof(PEM_BEGIN) - 1) !=
	    NULL ? 0 : -1;
}

/* One DER header at p (end: lim): the tag, *len and the content's start. */
static const unsigned char *
der_next(const unsigned char *p, const unsigned char *lim, int *tag,
    size_t *len)
{
	size_t n, k;

	if (lim - p < 2)
		return NULL;
	*tag = p[0];
	n = p[1];
	p += 2;
	if (n & 0x80) {
		k = n & 0x7f;
		if (k == 0 || k > 4 || (size_t)(lim - p) < k)
			return NULL;
		for (n = 0; k > 0; k--)
			n = n << 8 | *p++;
	}
	*len = n;
	return p;
}

/*
 * The subject Name of a DER certificate (its header included): walk
 * Certificate, tbsCertificate, [0] version, serial, signature, issuer,
 * validity.  Returns NULL when der is too short or not a certificate.
 */
static const unsigned char *
der_subject(const unsigned char *der, size_t size, size_t *slen)
{
	const unsigned char *p = der, *lim = der + size, *c;
	size_t len;
	int tag, i;

	if ((p = der_next(p, lim, &tag, &len)) == NULL || tag != 0x30 ||
	    (p = der_next(p, lim, &tag, &len)) == NULL || tag != 0x30)
		return NULL;
	for (i = 0; i < 6; i++) {
		c = p;
		if ((p = der_next(p, lim, &tag, &len)) == NULL)
			return NULL;
		if (i == 0 && tag != 0xa0)
			i++;	/* no version field (v1) */
		if (i == 5) {
			if (tag != 0x30 || len > (size_t)(lim - p))
				return NULL;
			*slen = (size_t)(p - c) + len;
			return c;
		}
		if (len > (size_t)(lim - p))
			return NULL;
		p += len;
	}
	return NULL;
}

/* Decode one PEM body (base64 between the lines) into out, allocated. */
static unsigned char *
pem_decode(const char *b64, size_t len, size_t *outlen)
{
	unsigned char *out = xmalloc(len / 4 * 3 + 3);

	if (b64_decode(b64, len, out, outlen) == -1) {
		free(out);
		return NULL;
	}
	return out;
}

/* Is name one of the n names in want? */
static int
name_wanted(const unsigned char *name, size_t len, const gnutls_datum_t *want,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (want[i].size == len && memcmp(want[i].data, name, len) == 0)
			return 1;
	return 0;
}

/*
 * The names to look for: the issuer and the subject of every
 * certificate the server sent (an issuer to find the anchor; a subject
 * because GnuTLS also cuts the chain at a certificate it trusts).
 */
static size_t
lazy_names(struct tls *t, gnutls_datum_t *want, size_t max)
{
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn;
	unsigned int n = 0, i;
	size_t k = 0;

	certs = gt.gnutls_certificate_get_peers(t->session, &n);
	for (i = 0; certs != NULL && i < n && k + 2 <= max; i++) {
		if (gt.gnutls_x509_crt_init(&crt) < 0)
			continue;
		if (gt.gnutls_x509_crt_import(crt, &certs[i],
		    GNUTLS_X509_FMT_DER) == 0) {
			/* Raw names point into crt: copy them. */
			if (gt.gnutls_x509_crt_get_raw_issuer_dn(crt, &dn) == 0) {
				want[k].data = xmalloc(dn.size ? dn.size : 1);
				memcpy(want[k].data, dn.data, dn.size);
				want[k++].size = dn.size;
				(*gt.gnutls_free)(dn.data);
			}
			if (gt.gnutls_x509_crt_get_raw_dn(crt, &dn) == 0) {
				want[k].data = xmalloc(dn.size ? dn.size : 1);
				memcpy(want[k].data, dn.data, dn.size);
				want[k++].size = dn.size;
				(*gt.gnutls_free)(dn.data);
			}
		}
		gt.gnutls_x509_crt_deinit(crt);
	}
	return k;
}

/*
 * The end of the first n lines of [p, lim), or lim: where to stop
 * decoding a PEM body when only its start is needed.
 */
static const char *
pem_lines(const char *p, const char *lim, int n)
{
	const char *nl;

	for (; n > 0 && p < lim; n--) {
		if ((nl = memchr(p, '\n', (size_t)(lim - p))) == NULL)
			return lim;
		p = nl + 1;
	}
	return p;
}

/*
 * Trust the bundle's CAs the server's chain may need.  Each PEM block
 * is decoded only up to its subject when that is enough: the first 8
 * lines of 64 characters are 384 bytes of DER, past the subject of
 * nearly every CA; the rest are decoded whole.  Base64 has no '-': the
 * first one after a BEGIN line starts the END line.
 */
static void
lazy_load(struct tls *t)
{
	struct lazy_store *st = &t->store;
	gnutls_datum_t want[32], der;
	const char *b, *body, *end, *lim, *cut;
	const unsigned char *subj;
	unsigned char *bin;
	size_t nwant, blen, slen, i;

	if (st->pem == NULL || st->loaded)
		return;
	st->loaded = 1;
	nwant = lazy_names(t, want, sizeof(want) / sizeof(want[0]));
	lim = st->pem + st->len;
	for (b = st->pem; nwant > 0 && (b = memmem(b, (size_t)(lim - b),
	    PEM_BEGIN, sizeof(PEM_BEGIN) - 1)) != NULL; b = end) {
		body = b + sizeof(PEM_BEGIN) - 1;
		if ((end = memchr(body, '-', (size_t)(lim - body))) == NULL)
			break;
		if ((size_t)(lim - end) < sizeof(PEM_END) - 1 ||
		    memcmp(end, PEM_END, sizeof(PEM_END) - 1) != 0)
			continue;	/* not a certificate: on to the next */
		cut = pem_lines(body, end, 9);	/* the BEGIN line's end too */
		bin = pem_decode(body, (size_t)(cut - body), &blen);
		subj = bin ? der_subject(bin, blen, &slen) : NULL;
		if (subj == NULL && cut < end) {
			free(bin);
			bin = pem_decode(body, (size_t)(end - body), &blen);
			subj = bin ? der_subject(bin, blen, &slen) : NULL;
		}
		if (subj != NULL && name_wanted(subj, slen, want, nwant)) {
			/* Whole, as GnuTLS's loader would take it. */
			der.data = (unsigned char *)(uintptr_t)b;
			der.size = (unsigned int)(end + sizeof(PEM_END) - 1 - b);
			(void)gt.gnutls_certificate_set_x509_trust_mem(t->cred,
			    &der, GNUTLS_X509_FMT_PEM);
		}
		free(bin);
	}
	for (i = 0; i < nwant; i++)
		free(want[i].data);
}

/*
 * The session's verify function in lazy mode: what
 * gnutls_session_set_verify_cert would do, with the trust filled first.
 */
static int
lazy_verify(gnutls_session_t session)
{
	struct tls *t = gt.gnutls_transport_get_ptr(session);

	lazy_load(t);
	t->store.verified = 1;
	t->store.status = 0;
	if (gt.gnutls_certificate_verify_peers3(session, t->hostname,
	    &t->store.status) < 0)
		return GNUTLS_E_CERTIFICATE_ERROR;
	return t->store.status != 0 ?
	    GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR : 0;
}

static int
tls_credentials(struct tls *t, const struct tls_params *p, struct err *e)
{
	int rc;

	if ((rc = gt.gnutls_certificate_allocate_credentials(&t->cred)) < 0)
		return err_set(e, ERR_TLS, "TLS: %s", gt.gnutls_strerror(rc));
	if (p->trust_file != NULL) {
		rc = gt.gnutls_certificate_set_x509_trust_file(t->cred,
		    p->trust_file, GNUTLS_X509_FMT_PEM);
		if (rc <= 0)
			return err_set(e, ERR_CONFIG, "cannot load trust file "
			    "'%s': %s", p->trust_file, rc == 0 ?
			    "no certificates in it" : gt.gnutls_strerror(rc));
	} else if (p->certcheck && p->fingerprint == NULL) {
		/* Only when it will be used: the store is costly to parse. */
		if (system_trust_file != NULL &&
		    lazy_open(&t->store, system_trust_file) == 0)
			return tls_client_cert(t, p, e);
		if (t->store.pem != NULL)
			return err_set(e, ERR_TLS, "cannot load the system "
			    "trust store: it is empty");
		rc = gt.gnutls_certificate_set_x509_system_trust(t->cred);
		if (rc <= 0)
			return err_set(e, ERR_TLS, "cannot load the system "
			    "trust store: %s", rc == 0 ? "it is empty" :
			    gt.gnutls_strerror(rc));
	}
	return tls_client_cert(t, p, e);
}

/* CRLs and the client certificate, when there are any. */
static int
tls_client_cert(struct tls *t, const struct tls_params *p, struct err *e)
{
	int rc;

	if (p->crl_file != NULL && (rc =
	    gt.gnutls_certificate_set_x509_crl_file(t->cred, p->crl_file,
	    GNUTLS_X509_FMT_PEM)) < 0)
		return err_set(e, ERR_CONFIG, "cannot load CRL file '%s': %s",
		    p->crl_file, gt.gnutls_strerror(rc));
	if (p->cert_file != NULL && (rc =
	    gt.gnutls_certificate_set_x509_key_file(t->cred, p->cert_file,
	    p->key_file ? p->key_file : p->cert_file,
	    GNUTLS_X509_FMT_PEM)) < 0)
		return err_set(e, ERR_CONFIG, "cannot load client certificate "
		    "'%s': %s", p->cert_file, gt.gnutls_strerror(rc));
	return 0;
}

#define DEFAULT_GROUPS	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:" \
	"+GROUP-SECP384R1:+GROUP-SECP521R1:+GROUP-X448:+GROUP-FFDHE2048:" \
	"+GROUP-FFDHE3072:+GROUP-FFDHE4096:+GROUP-FFDHE6144:+GROUP-FFDHE8192"

/*
 * The priority string: the user's (or GnuTLS's NORMAL), with the
 * protocol versions below min_version taken out.
 */
static int
tls_priority(struct tls *t, const struct tls_params *p, struct err *e)
{
	static const struct {
		int		 v;
		const char	*name;
	} vers[] = {
		{ 13, "+VERS-TLS1.3" }, { 12, "+VERS-TLS1.2" },
		{ 11, "+VERS-TLS1.1" }, { 10, "+VERS-TLS1.0" },
	};
	char prio[1024];
	const char *where = NULL;
	size_t i, n;
	int rc;

	if (p->priorities == NULL) {
		/*
		 * NORMAL, with exactly the versions from min_version up, and
		 * its key exchange groups with X25519 first: the one key
		 * share sent (GNUTLS_KEY_SHARE_TOP) is then the cheapest.
		 */
		n = (size_t)snprintf(prio, sizeof(prio), "NORMAL:%s:-VERS-ALL",
		    DEFAULT_GROUPS);
		for (i = 0; i < sizeof(vers) / sizeof(vers[0]) &&
		    n < sizeof(prio); i++)
			if (vers[i].v >= p->min_version)
				n += (size_t)snprintf(prio + n, sizeof(prio) - n,
				    ":%s", vers[i].name);
	} else {
		/*
		 * The user's string keeps its own choice of versions; only
		 * those below min_version are taken out.
		 */
		n = (size_t)snprintf(prio, sizeof(prio), "%s", p->priorities);
		for (i = 0; i < sizeof(vers) / sizeof(vers[0]) &&
		    n < sizeof(prio); i++)
			if (vers[i].v < p->min_version)
				n += (size_t)snprintf(prio + n, sizeof(prio) - n,
				    ":-%s", vers[i].name + 1);
	}
	if (n >= sizeof(prio))
		return err_set(e, ERR_CONFIG, "tls_priorities is too long");
	rc = gt.gnutls_priority_set_direct(t->session, prio, &where);
	if (rc < 0)
		return err_set(e, ERR_CONFIG, "tls_priorities '%s': %s (at "
		    "'%s')", p->priorities ? p->priorities : "NORMAL",
		    gt.gnutls_strerror(rc), where ? where : "?");
	return 0;
}

static int
tls_setup(struct tls *t, const struct tls_params *p, struct err *e)
{
	int rc;

	if (tls_credentials(t, p, e) == -1)
		return -1;
	/*
	 * One key share, for the first group of the priorities, not two
	 * (GnuTLS's default): one key generation fewer per handshake; a
	 * server that wants another group asks for it (HelloRetryRequest).
	 */
	if ((rc = gt.gnutls_init(&t->session, GNUTLS_CLIENT |
	    GNUTLS_KEY_SHARE_TOP)) < 0)
		return err_set(e, ERR_TLS, "TLS: %s", gt.gnutls_strerror(rc));
	if (tls_priority(t, p, e) == -1)
		return -1;
	if ((rc = gt.gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE,
	    t->cred)) < 0)
		return err_set(e, ERR_TLS, "TLS: %s", gt.gnutls_strerror(rc));
	/* SNI is for names only (RFC 6066 section 3). */
	if (!is_ip_literal(p->hostname))
		gt.gnutls_server_name_set(t->session, GNUTLS_NAME_DNS,
		    p->hostname, strlen(p->hostname));
	/*
	 * The chain and the name, and a stapled OCSP response when the
	 * server sends one (GnuTLS asks for it and checks it).  A pin
	 * replaces all of that; tls_certcheck = off skips it (the driver
	 * warns about that on every use).
	 */
	snprintf(t->hostname, sizeof(t->hostname), "%s", p->hostname);
	if (p->fingerprint == NULL && p->certcheck && !p->report_only) {
		if (t->store.pem != NULL)
			gt.gnutls_session_set_verify_function(t->session,
			    lazy_verify);
		else
			gt.gnutls_session_set_verify_cert(t->session,
			    p->hostname, 0);
	}
	if (p->session != NULL && p->session_len > 0)
		gt.gnutls_session_set_data(t->session, p->session,
		    p->session_len);
	gt.gnutls_transport_set_ptr(t->session, t);
	gt.gnutls_transport_set_push_function(t->session, tls_push);
	gt.gnutls_transport_set_pull_function(t->session, tls_pull);
	return 0;
}

/* The leaf certificate's SHA-256, raw (32 bytes). */
static int
tls_leaf_sha256(struct tls *t, unsigned char out[32])
{
	const gnutls_datum_t *certs;
	unsigned int n = 0;
	size_t len = 32;

	certs = gt.gnutls_certificate_get_peers(t->session, &n);
	if (certs == NULL || n == 0)
		return -1;
	return gt.gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[0], out,
	    &len) < 0 || len != 32 ? -1 : 0;
}

int
tls_peer_fingerprint(struct tls *t, char *buf, size_t size)
{
	unsigned char md[32];
	size_t i, n = 0;

	if (tls_leaf_sha256(t, md) == -1 || size < 96)
		return -1;
	for (i = 0; i < 32; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%02X",
		    i ? ":" : "", md[i]);
	return 0;
}

static int
tls_check_pin(struct tls *t, const char *want, struct err *e)
{
	char got[100], hex[65];
	unsigned char md[32];
	size_t i;

	if (tls_leaf_sha256(t, md) == -1)
		return err_set(e, ERR_TLS, "TLS: the server sent no "
		    "certificate to check against tls_fingerprint");
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (strcmp(hex, want) == 0)
		return 0;
	tls_peer_fingerprint(t, got, sizeof(got));
	return err_set(e, ERR_TLS, "TLS certificate fingerprint mismatch: "
	    "the server's is %s", got);
}

const char *
tls_verification(struct tls *t, char *buf, size_t size)
{
	gnutls_datum_t out = { NULL, 0 };
	unsigned int status = 0;

	lazy_load(t);
	if (gt.gnutls_certificate_verify_peers3(t->session, t->hostname,
	    &status) < 0) {
		snprintf(buf, size, "could not verify");
		return buf;
	}
	if (status == 0) {
		snprintf(buf, size, "OK (chain and name %s)", t->hostname);
		return buf;
	}
	if (gt.gnutls_certificate_verification_status_print(status,
	    GNUTLS_CRT_X509, &out, 0) == 0) {
		snprintf(buf, size, "FAILED: %s", (const char *)out.data);
		(*gt.gnutls_free)(out.data);
	} else
		snprintf(buf, size, "FAILED");
	return buf;
}

static void
print_time(FILE *out, const char *what, time_t t)
{
	char buf[64];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(out, "    %s %s\n", what, buf);
}

void
tls_print_chain(struct tls *t, FILE *out)
{
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn;
	unsigned char md[32];
	unsigned int n = 0, i, k;
	size_t len;

	certs = gt.gnutls_certificate_get_peers(t->session, &n);
	for (i = 0; certs != NULL && i < n; i++) {
		fprintf(out, "  certificate %u:\n", i);
		if (gt.gnutls_x509_crt_init(&crt) < 0)
			continue;
		if (gt.gnutls_x509_crt_import(crt, &certs[i],
		    GNUTLS_X509_FMT_DER) == 0) {
			if (gt.gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
				fprintf(out, "    subject %s\n", dn.data);
				(*gt.gnutls_free)(dn.data);
			}
			if (gt.gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0) ==
			    0) {
				fprintf(out, "    issuer  %s\n", dn.data);
				(*gt.gnutls_free)(dn.data);
			}
			print_time(out, "valid from",
			    gt.gnutls_x509_crt_get_activation_time(crt));
			print_time(out, "valid to  ",
			    gt.gnutls_x509_crt_get_expiration_time(crt));
		}
		gt.gnutls_x509_crt_deinit(crt);
		len = sizeof(md);
		if (gt.gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[i], md,
		    &len) == 0) {
			fputs("    sha256  ", out);
			for (k = 0; k < len; k++)
				fprintf(out, "%s%02X", k ? ":" : "", md[k]);
			putc('\n', out);
		}
	}
}

int
tls_resumed(struct tls *t)
{
	return gt.gnutls_session_is_resumed(t->session) != 0;
}

int
tls_session_data(struct tls *t, void **data, size_t *len)
{
	gnutls_datum_t d = { NULL, 0 };

	if (gt.gnutls_session_get_data2(t->session, &d) < 0 || d.size == 0)
		return -1;
	*data = xmalloc(d.size);
	memcpy(*data, d.data, d.size);
	*len = d.size;
	(*gt.gnutls_free)(d.data);
	return 0;
}

int
tls_channel_binding(struct tls *t, const char **type, unsigned char **data,
    size_t *len)
{
	gnutls_datum_t d = { NULL, 0 };
	int v13 = gt.gnutls_protocol_get_version(t->session) == GNUTLS_TLS1_3;

	if (gt.gnutls_session_channel_binding(t->session, v13 ?
	    GNUTLS_CB_TLS_EXPORTER : GNUTLS_CB_TLS_UNIQUE, &d) < 0)
		return -1;
	*type = v13 ? "tls-exporter" : "tls-unique";
	*data = xmalloc(d.size ? d.size : 1);
	memcpy(*data, d.data, d.size);
	*len = d.size;
	(*gt.gnutls_free)(d.data);
	return 0;
}

static int
tls_verify_now(struct tls *t, struct err *e)
{
	unsigned int status = 0;
	gnutls_datum_t out = { NULL, 0 };

	lazy_load(t);
	if (gt.gnutls_certificate_verify_peers3(t->session, t->hostname,
	    &status) < 0)
		return err_set(e, ERR_TLS, "TLS certificate verification "
		    "failed (resumed session)");
	if (status == 0)
		return 0;
	if (gt.gnutls_certificate_verification_status_print(status,
	    GNUTLS_CRT_X509, &out, 0) == 0) {
		err_set(e, ERR_TLS, "TLS certificate verification failed: %s",
		    (const char *)out.data);
		(*gt.gnutls_free)(out.data);
		return -1;
	}
	return err_set(e, ERR_TLS, "TLS certificate verification failed");
}

struct tls *
tls_start(int fd, const struct tls_params *p, struct err *e)
{
	struct tls *t;
	int rc;

	if (gnutls_load(e) == -1)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	t->fd = fd;
	if (tls_setup(t, p, e) == -1)
		goto fail;
	t->deadline = now_ms() + p->timeout_ms;
	do {
		rc = gt.gnutls_handshake(t->session);
	} while (rc < 0 && gt.gnutls_error_is_fatal(rc) == 0 && !t->timed_out);
	if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		tls_verify_error(t, e);
		goto fail;
	}
	if (rc < 0) {
		tls_fail(t, rc, "TLS handshake failed", e);
		goto fail;
	}
	if (p->fingerprint != NULL && tls_check_pin(t, p->fingerprint,
	    e) == -1)
		goto fail;
	/*
	 * A resumed session brings no new certificate check: the one made
	 * when it was saved may have been made under other settings (no
	 * check at all, no CRL, another name).  Check again, now.
	 */
	if (rc >= 0 && p->fingerprint == NULL && p->certcheck &&
	    !p->report_only && gt.gnutls_session_is_resumed(t->session) &&
	    tls_verify_now(t, e) == -1)
		goto fail;
	return t;
fail:
	tls_free(t, 0);
	return NULL;
}

ssize_t
tls_read(struct tls *t, void *buf, size_t len, int64_t deadline,
    struct err *e)
{
	ssize_t n;

	t->deadline = deadline;
	do {
		n = gt.gnutls_record_recv(t->session, buf, len);
	} while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	if (n >= 0)
		return n;
	return tls_fail(t, (int)n, "TLS read failed", e);
}

ssize_t
tls_write(struct tls *t, const void *buf, size_t len, int64_t deadline,
    struct err *e)
{
	const char *p = buf;
	size_t done = 0;
	ssize_t n;

	t->deadline = deadline;
	while (done < len) {
		n = gt.gnutls_record_send(t->session, p + done, len - done);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n < 0)
			return tls_fail(t, (int)n, "TLS write failed", e);
		done += (size_t)n;
	}
	return (ssize_t)done;
}

size_t
tls_pending(struct tls *t)
{
	return gt.gnutls_record_check_pending(t->session);
}

const char *
tls_describe(struct tls *t, char *buf, size_t size)
{
	snprintf(buf, size, "%s / %s",
	    gt.gnutls_protocol_get_name(gt.gnutls_protocol_get_version(t->session)),
	    gt.gnutls_cipher_get_name(gt.gnutls_cipher_get(t->session)));
	return buf;
}

void
tls_free(struct tls *t, int64_t deadline)
{
	if (t == NULL)
		return;
	if (t->session != NULL) {
		if (deadline > 0) {
			t->deadline = deadline;
			gt.gnutls_bye(t->session, GNUTLS_SHUT_WR);
		}
		gt.gnutls_deinit(t->session);
	}
	if (t->cred != NULL)
		gt.gnutls_certificate_free_credentials(t->cred);
	free(t->store.pem);
	free(t);
}
