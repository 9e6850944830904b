/*
 * log.h - messages to stderr: one-line errors and warnings, and the -v
 * transcript.  Nothing here is ever given a credential: callers print
 * "<hidden>" in its place.
 */
#ifndef ENVOI_LOG_H
#define ENVOI_LOG_H

#include <stddef.h>

void	log_init(const char *progname, int verbose);
int	log_verbose(void);
void	log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
/* One line of the SMTP dialogue: dir is "<--" or "-->". */
void	log_dialogue(const char *dir, const char *line, size_t len);

/*
 * Also append the dialogue to path (sendmail's -X); -1 with errno set
 * when it cannot be opened.
 */
int	log_transcript(const char *path);

/* One delivery attempt, for the mail log.  Every string is borrowed. */
struct log_record {
	const char	 *account;
	const char	 *host;
	const char	 *tls;		/* "TLS1.3" or "none" */
	const char	 *from;
	char *const	 *rcpts;
	size_t		  nrcpts;
	long long	  size;
	const char	 *status;	/* the server's last reply */
	const char	 *outcome;	/* "sent", "failed", "queued", ... */
	const char	 *error;	/* NULL when none */
};

struct log_sink {
	const char	*file;		/* NULL: none */
	const char	*syslog;	/* "off", "on" or a facility */
	int		 json;
};

/*
 * Write one line per message to the sink's file and/or syslog.  Never
 * fails the delivery: a log that cannot be written gets a warning.
 */
void	log_mail(const struct log_sink *, const struct log_record *);

/*
 * Copy src (len bytes) into dst (size bytes, always terminated) with
 * every byte that could drive a terminal or forge a line replaced by
 * '?': C0 and C1 controls, DEL, bytes that are not well-formed UTF-8,
 * and the Unicode line separators and bidirectional overrides.  Other
 * UTF-8 characters stay as they are, so that an SMTPUTF8 address reads
 * right.  A character cut by dst's size becomes '?' too.  Returns dst.
 */
char	*log_sanitize(char *dst, size_t size, const char *src, size_t len);

/* The same, with every byte outside printable ASCII a '?' (SMTP replies). */
char	*log_sanitize_ascii(char *dst, size_t size, const char *src,
	    size_t len);

#endif
