/*
 * util.h - allocation that cannot fail quietly, a growable list of
 * strings, secret wiping and monotonic time.
 */
#ifndef ENVOI_UTIL_H
#define ENVOI_UTIL_H

#include <stddef.h>
#include <stdint.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

/* Overwrite a secret so it does not linger in memory. NULL is allowed. */
void	 wipe(void *, size_t);
/* Wipe and free a string. NULL is allowed. */
void	 wipe_free(char *);

/*
 * Files that hold secrets (saved TLS sessions, OAuth2 tokens).
 * private_read: only a regular file, not a symlink, owned by the
 * effective user and unreadable by others, of 1 to max - 1 bytes; *data
 * is allocated and NUL-terminated.  private_write: the data goes to a
 * new temporary file (O_EXCL, mode 0600, never through a symlink) that
 * is then renamed over path, so readers see the old or the new file.
 * Both return -1 with errno set.  The *at forms take name relative to
 * the directory descriptor dfd (AT_FDCWD for a plain path), so that a
 * directory checked once cannot be swapped for a link between the check
 * and the use.
 */
int	 private_readat(int dfd, const char *name, size_t max, char **data,
	    size_t *len);
int	 private_writeat(int dfd, const char *name, const void *data,
	    size_t len);
int	 private_read(const char *path, size_t max, char **data,
	    size_t *len);
int	 private_write(const char *path, const void *data, size_t len);

/* 1 when s holds a control character (below 0x20, or DEL). */
int	 has_ctl(const char *s);

/* 1 when any byte of p[0..len) is 0x80 or above; eight at a time. */
int	 has_8bit(const void *p, size_t len);

/*
 * Length of the UTF-8 character at p (1 for ASCII), or 0 when it is not
 * one: a bad lead byte, a missing continuation byte, an overlong form,
 * a surrogate or a code point past U+10FFFF.
 */
size_t	 utf8_len(const unsigned char *p, size_t len);

/*
 * A temporary file in $TMPDIR (else /tmp), already unlinked: only the
 * descriptor reaches it, and it goes away with it.  -1 with errno set.
 */
int	 tmp_fd(const char *prefix, char *dir, size_t dirsize);

/* Milliseconds on the monotonic clock. */
int64_t	 now_ms(void);

/*
 * A list of strings it owns: strlist_add copies its argument, and
 * strlist_release frees every element.
 */
struct strlist {
	char	**v;
	size_t	  n;
	size_t	  cap;
};

void	 strlist_init(struct strlist *);
void	 strlist_add(struct strlist *, const char *);
void	 strlist_addn(struct strlist *, const char *, size_t);
/* Add unless an equal string (ASCII case-insensitive) is present. */
void	 strlist_add_unique(struct strlist *, const char *);
void	 strlist_release(struct strlist *);

#endif
