/*
 * dl.c - lazy loading of the libraries behind tls.c, auth.c and mime.c.
 */
#include "autoconf.h"

#include <dlfcn.h>

#include "dl.h"

int
dl_load(const char *soname, const char *const *names, void **ptrs, size_t n,
    int *loaded, struct err *e)
{
	void *h;
	size_t i;

	if (*loaded)
		return 0;
	if ((h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return err_set(e, ERR_UNAVAILABLE, "cannot load %s: %s",
		    soname, dlerror());
	for (i = 0; i < n; i++) {
		if ((ptrs[i] = dlsym(h, names[i])) == NULL)
			return err_set(e, ERR_UNAVAILABLE, "%s has no %s",
			    soname, names[i]);
	}
	/* The handle stays open for the life of the process. */
	*loaded = 1;
	return 0;
}
