/*
 * lineread.h - a block reader over a file descriptor that hands out
 * lines without holding more than one block: a line longer than the
 * block comes out in pieces.  Used for the message on stdin and, with
 * -bs, for the SMTP commands around it (one reader, so no byte is lost
 * between a command and the data after it).
 */
#ifndef ENVOI_LINEREAD_H
#define ENVOI_LINEREAD_H

#include <stddef.h>

#define LINEREAD_SIZE	(64 * 1024)

struct lineread {
	int	fd;		/* borrowed */
	int	eof;
	size_t	start;
	size_t	end;
	char	buf[LINEREAD_SIZE];
};

void	lineread_init(struct lineread *, int fd);

/*
 * The next piece: 1 with *p (in the reader's buffer, valid until the
 * next call), *len (without the LF) and *eol (the piece ends a line);
 * 0 at end of input; -1 on a read error (errno set).  A piece cut short
 * by a full buffer never ends in CR, so a CRLF is never split.
 */
int	lineread_next(struct lineread *, const char **p, size_t *len,
	    int *eol);

/*
 * For block-wise readers: the bytes read but not yet handed out (*p,
 * *len; nothing is read), and lineread_skip() to hand out n of them.
 * Taking whole lines this way is the same as taking them with
 * lineread_next(), which then goes on after them.
 */
void	lineread_peek(const struct lineread *, const char **p, size_t *len);
void	lineread_skip(struct lineread *, size_t n);

#endif
