/*
 * smtp.h - the SMTP client: greeting, EHLO (HELO fallback), STARTTLS or
 * implicit TLS, AUTH, and for each message MAIL, RCPT, DATA and the body;
 * QUIT.  smtp reads no configuration, argv or queue: the driver fills
 * struct smtp_params and struct smtp_envelope.
 */
#ifndef ENVOI_SMTP_H
#define ENVOI_SMTP_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "tls.h"
#include "util.h"

enum smtp_tls {
	SMTP_TLS_STARTTLS,	/* plain connect, then STARTTLS (required) */
	SMTP_TLS_IMPLICIT,	/* TLS from the first byte */
	SMTP_TLS_OFF,		/* never TLS */
	SMTP_TLS_LAST
};

/* Every pointer is borrowed and must outlive the session. */
struct smtp_params {
	const char	*host;
	int		 port;
	enum smtp_tls	 tls;
	/*
	 * Everything TLS needs but the name and the timeout, which smtp
	 * fills in (host, or tls_name when set).
	 */
	struct tls_params tls_opts;
	const char	*tls_name;		/* name to verify; NULL: host */
	const char	*helo;			/* EHLO name */
	int		 timeout_ms;		/* each connect, read, write */
	const char	*auth;			/* "on", "off", mechanisms */
	const char	*user;			/* NULL: no AUTH with "on" */
	const char	*password;		/* never logged */
	int		 oauth2;		/* password: an access token */
	int		 no_auth;		/* stop before AUTH */
	/* Shown while a body is sent; NULL: nothing shown. */
	void		(*progress)(void *arg, off_t done, off_t total);
	void		*progress_arg;
};

/* What the server said of itself, for --serverinfo. */
struct smtp_info {
	char	greeting[512];
	char	ehlo_clear[4096];	/* EHLO reply lines before TLS */
	char	ehlo_tls[4096];		/* and after ("" without TLS) */
	char	mechanism[64];		/* the AUTH mechanism used, or "" */
};

/*
 * One message.  body_fd holds the message in spool form (CRLF lines,
 * dot-stuffed, see message.h) from offset 0 to size.
 */
struct smtp_envelope {
	const char	 *sender;	/* "" for the null sender */
	char		**rcpts;
	size_t		  nrcpts;
	int		  body_fd;
	off_t		  size;
	int		  eightbit;	/* declare BODY=8BITMIME */
	int		  utf8;		/* an address needs SMTPUTF8 */
	int		  partial;	/* deliver to the accepted ones */
	const char	 *dsn_notify;	/* NOTIFY=, or NULL */
	const char	 *dsn_ret;	/* RET=, or NULL */
	const char	 *dsn_envid;	/* ENVID=, or NULL */
};

/* What happened to one message, for the log and the caller. */
struct smtp_result {
	char		status[256];	/* the server's last reply */
	size_t		accepted;	/* recipients the server took */
	struct err	refused;	/* with partial: what was refused */
	struct strlist	deferred;	/* recipients answered 4xx */
	struct strlist	rejected;	/* recipients answered 5xx */
};

/* Free the lists of a result smtp_send filled. */
void			 smtp_result_release(struct smtp_result *);

struct smtp_session;

/*
 * Connect, greet, secure and authenticate.  On failure return NULL with
 * e filled: ERR_TEMP (4xx, refused, timeout, lost connection), ERR_NOHOST,
 * ERR_TLS (certificate, STARTTLS missing), ERR_AUTH, ERR_UNAVAILABLE
 * (5xx), ERR_PROTOCOL (a malformed or oversized reply, data after the
 * 220 to STARTTLS, AUTH challenges without end).  Once the server has
 * answered through TLS, a TLS failure is ERR_TEMP: the connection broke.
 * Every failure of the transport or the protocol names the step, as
 * "HOST port N (STEP): ...".
 */
struct smtp_session	*smtp_open(const struct smtp_params *, struct err *);

/*
 * Send one message.  All recipients must be accepted or nothing is sent
 * (a refused one is ERR_RCPT, a deferred one ERR_TEMP), unless partial is
 * set: then the message goes to the accepted ones, smtp_send returns 0,
 * and result->refused says what was refused.  An 8-bit body or a UTF-8
 * address the server cannot take is ERR_DATA, before anything is sent.  A 5xx at DATA or
 * after the body is ERR_DATA when it blames the content or size, else
 * ERR_UNAVAILABLE.  After a refusal the session is reset and can carry
 * the next message; after a transport error it cannot.
 */
int			 smtp_send(struct smtp_session *,
			    const struct smtp_envelope *, struct smtp_result *,
			    struct err *);

/*
 * The TLS session, to resume it next time (allocated; the caller frees
 * it); -1 when the session has no TLS or no data.
 */
int			 smtp_tls_session(struct smtp_session *, void **,
			    size_t *);

/* The session's record of the server (see struct smtp_info). */
const struct smtp_info	*smtp_info(struct smtp_session *);

/* The session's TLS, or NULL. */
struct tls		*smtp_tls(struct smtp_session *);

/* 1 when the TLS handshake resumed a saved session. */
int			 smtp_tls_resumed(struct smtp_session *);

/* "TLS1.3 / AES-256-GCM", or "none". */
const char		*smtp_tls_info(struct smtp_session *, char *,
			    size_t);

/* 1 when the session can still carry a message. */
int			 smtp_usable(const struct smtp_session *);

/*
 * Parse one reply line: "ddd", "ddd text" or "ddd-text" with a first
 * digit of 2 to 5.  Sets the code and whether more lines follow; -1 when
 * the line is malformed.  Pure, for the unit tests and the fuzzer.
 */
int			 smtp_reply_line(const char *, size_t, int *code,
			    int *more);

/* QUIT when the connection is still sound, then free everything. */
void			 smtp_close(struct smtp_session *);

#endif
