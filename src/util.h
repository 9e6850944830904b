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

/* mkdir -p with the given mode for what it creates; -1 with errno. */
int	 mkdir_p(const char *path, int mode);

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
