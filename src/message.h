/*
 * message.h - read a message and write it, ready to transmit, into a
 * FILE * the caller gives; collect what the envelope needs from its
 * headers; apply the header edits the driver asks for.
 *
 * Two steps, because choosing the account may need the From header and
 * editing the headers needs the account: message_read_headers() holds
 * the header block (at most MESSAGE_HEADERS_MAX bytes), then
 * message_write() writes the edited headers and streams the body.  The
 * body is never held: memory does not grow with the message.
 *
 * The output ("spool form") is the message in SMTP transmission form:
 * every line ends in CRLF, no bare CR or LF remains, and every line that
 * starts with '.' has a second '.' in front (RFC 5321 4.5.2).  The
 * closing "." line is not written.  Sending it is therefore a plain
 * copy, and the same form is what the queue stores.
 */
#ifndef ENVOI_MESSAGE_H
#define ENVOI_MESSAGE_H

#include <stdio.h>
#include <sys/types.h>

#include "err.h"
#include "lineread.h"
#include "util.h"

#define MESSAGE_HEADERS_MAX	(1024 * 1024)

/*
 * Returns NULL to keep addr, or an allocated replacement: one address,
 * or several separated by ", ".  recipient is 1 for addresses in To,
 * Cc and Bcc (aliases apply), 0 for From, Sender and Reply-To.
 */
typedef char *(*message_rewrite_fn)(void *arg, const char *addr,
    int recipient);

struct message_opts {
	int		 ignore_dots;	/* -i: a lone "." does not end input */
	int		 smtp_data;	/* input is SMTP DATA: dot-stuffed */
	int		 read_rcpts;	/* -t: collect To, Cc, Bcc */

	/* Header edits (message_write only); borrowed strings. */
	const char	*from_header;	/* From value to add when missing */
	int		 force_from;	/* replace any From with from_header */
	int		 keep_from;	/* the replaced From goes to Reply-To */
	int		 add_date;
	const char	*msgid_domain;	/* add Message-ID when missing */
	message_rewrite_fn rewrite;	/* addresses in address headers */
	void		*rewrite_arg;
};

struct message_field {
	size_t	off;		/* into hbuf */
	size_t	len;		/* without the final CRLF */
	size_t	namelen;
};

struct message {
	struct strlist		 rcpts;		/* from the headers, with -t */
	char			*from_addr;	/* From's first address */
	off_t			 size;		/* bytes written */
	int			 has_from;
	int			 has_date;
	int			 has_msgid;
	int			 has_reply_to;
	int			 headerless;	/* no header block at all */
	int			 eightbit;	/* a byte >= 0x80 in the body */
	size_t			 longest;	/* longest body line, octets */

	/* Held between the two steps. */
	char			*hbuf;
	size_t			 hlen;
	size_t			 hcap;
	struct message_field	*fields;
	size_t			 nfields;
	size_t			 fcap;
	int			 body_follows;	/* an empty line was read */
	int			 ended;		/* a lone dot ended the input */
	/*
	 * The line now starting follows a CRLF (or starts the input): in
	 * SMTP DATA only "CRLF . CRLF" ends the message, so that a "\n.\n"
	 * or "\r.\r" in it cannot end it early (SMTP smuggling).
	 */
	int			 crlf_bol;
	char			*pending;	/* first body line (headerless) */
	size_t			 pendlen;
	int			 pendeol;
	int			 pendcrlf;	/* it ended in CRLF */
};

void	message_init(struct message *);
void	message_release(struct message *);

/*
 * Read the header block from lr.  A block that is not well formed is
 * ERR_DATA naming the line; a read error is ERR_IO.
 */
int	message_read_headers(struct lineread *lr, const struct message_opts *,
	    struct message *, struct err *);

/*
 * Write the edited headers and the body (read on from lr) to out in
 * spool form.  A bad address in a header that -t reads or that is
 * rewritten is ERR_DATA; I/O failures are ERR_IO.
 */
int	message_write(struct lineread *lr, FILE *out,
	    const struct message_opts *, struct message *, struct err *);

/* Both steps at once, for callers that edit nothing. */
int	message_read(struct lineread *lr, FILE *out,
	    const struct message_opts *, struct message *, struct err *);

/*
 * Re-encode a message in spool form whose body has lines too long for
 * SMTP: copy in to out with the body in quoted-printable, a
 * Content-Transfer-Encoding header to say so (and MIME-Version, and a
 * text/plain Content-Type when there was none).  Only a single-part
 * message whose body is not already encoded can be re-encoded this way:
 * a multipart one, or one in quoted-printable or base64 already, is
 * ERR_DATA.  Updates m->size and m->longest.
 */
int	message_reencode_qp(FILE *in, FILE *out, struct message *m,
	    struct err *e);

/*
 * Rewrite every address in an address-list header value with fn:
 * returns an allocated new value, or NULL with why filled when the list
 * does not parse.
 */
char	*message_rewrite_list(const char *value, size_t len,
	    message_rewrite_fn fn, void *arg, int recipient, char *why,
	    size_t whysize);

#endif
