/*
 * mime.h - the multipart writer: boundaries, part headers (content type,
 * transfer encoding, RFC 2231 file names) and the part bodies, encoded
 * from a file descriptor in blocks.  It knows what each encoding is for;
 * how bytes are encoded is encode.c's business.
 *
 * Every part is scanned once before it is written (mime_scan), so that
 * the encoding is chosen from what the part holds:
 *
 *	7bit		ASCII text, lines of at most 998 octets, no NUL, no
 *			bare CR, no line that could pass for a boundary
 *	quoted-printable text with 8-bit bytes (valid UTF-8) or long lines
 *	base64		everything else
 *
 * Text travels in canonical form (CRLF line ends), as MIME wants; the
 * receiver's mail reader restores its own line ends.  Text that is not
 * US-ASCII or UTF-8 is sent as binary data rather than mislabelled.
 */
#ifndef ENVOI_MIME_H
#define ENVOI_MIME_H

#include <stdint.h>
#include <stdio.h>

#include "err.h"

#define MIME_BOUNDARY_PREFIX	"=_envoi_"
#define MIME_BOUNDARY_MAX	64

enum mime_cte {
	MIME_7BIT,
	MIME_8BIT,		/* a message part with UTF-8 text */
	MIME_QP,
	MIME_BASE64,
	MIME_CTE_LAST
};

struct mime_scan {
	uint64_t	size;
	int		nul;		/* a NUL byte */
	int		bare_cr;	/* a CR not before LF */
	int		eightbit;	/* a byte >= 0x80 */
	int		utf8;		/* the 8-bit bytes are valid UTF-8 */
	int		longline;	/* a line over 998 octets */
	int		boundary;	/* a line starting "--=_envoi_" */
};

struct mime_part {
	int		 fd;		/* borrowed; read from its start */
	const char	*type;		/* "text/plain"; NULL: detect */
	int		 type_given;	/* the user said so: keep it */
	const char	*filename;	/* NULL: no Content-Disposition name */
	int		 disposition;	/* 0 none, 1 attachment, 2 inline */
};

/* A fresh random boundary, MIME_BOUNDARY_PREFIX + 32 hex digits. */
void	mime_boundary(char buf[MIME_BOUNDARY_MAX]);

/*
 * Read fd to its end and describe it; leaves the offset at the end.
 * boundary is what a line must not start with ("--" + boundary), to
 * rule out 7bit for such a part.
 */
int	mime_scan_fd(int fd, const char *boundary, struct mime_scan *,
	    struct err *);

/* Files larger than this are not shown to libmagic. */
#define MIME_MAGIC_MAX	(4 * 1024 * 1024)

/*
 * The content type of fd, into buf.  Cheap answers first: well-known
 * signatures at the start of the file; for text (as mime_scan found
 * it), the type /etc/mime.types gives the name's extension, else
 * text/plain; for other files, the extension's type unless it is a kind
 * of text, message or multipart.  Only what is left goes to libmagic,
 * whose database costs 8 MB of memory and its loading time, and only
 * for files up to MIME_MAGIC_MAX: a bigger one is
 * application/octet-stream.
 */
void	mime_detect(int fd, const char *name, int text, char *buf,
	    size_t size);

/*
 * Write one part of a multipart body: the delimiter (none when boundary
 * is NULL: the part is the whole message body), the part headers and
 * the encoded content.  name is the file's name for the error
 * message.  Read errors are ERR_IO naming it.
 */
int	mime_write_part(FILE *out, const char *boundary,
	    const struct mime_part *, const char *name, struct err *);

/* The closing delimiter. */
void	mime_close(FILE *out, const char *boundary);

#endif
