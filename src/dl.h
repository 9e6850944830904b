/*
 * dl.h - load a shared library on first use.  GnuTLS alone costs more
 * start-up work (its constructor and the relocation of its dependency
 * chain) than everything else a plain submission does, so the rooms
 * that need GnuTLS, libgsasl and libmagic load them only when a message
 * actually needs TLS, AUTH or a content type.
 */
#ifndef ENVOI_DL_H
#define ENVOI_DL_H

#include <stddef.h>

#include "err.h"

/*
 * dlopen soname and fill ptrs[i] with the address of names[i], for n
 * names.  Once loaded, later calls return at once.  *loaded tracks that.
 * Failure is ERR_UNAVAILABLE naming the library and the missing symbol.
 */
int	dl_load(const char *soname, const char *const *names, void **ptrs,
	    size_t n, int *loaded, struct err *e);

#endif
