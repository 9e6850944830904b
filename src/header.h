/*
 * header.h - header field syntax (RFC 5322 2.2): where a field name
 * ends.  No I/O and no state; message.c holds the fields.
 */
#ifndef ENVOI_HEADER_H
#define ENVOI_HEADER_H

#include <stddef.h>

/*
 * Length of the field name when line starts a field ("Name:" with a
 * printable ASCII name, optional blanks before the colon), else 0.
 */
size_t	header_name_len(const char *line, size_t len);

#endif
