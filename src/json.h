/*
 * json.h - read one member of a JSON object (RFC 8259), for the few
 * replies envoi reads: an OAuth2 token endpoint's answer and the error
 * status of an OAUTHBEARER challenge.  No tree is built: the text is
 * walked once per lookup, every value is checked as it is skipped, and
 * nesting is bounded, so hostile input costs at most its length.
 */
#ifndef ENVOI_JSON_H
#define ENVOI_JSON_H

#include <stddef.h>

/*
 * The string value of the top-level member key of the object in buf
 * (len bytes), unescaped, in an allocated NUL-terminated *out.  A value
 * that unescapes to a control character or a NUL is refused as
 * malformed.  Returns 1 when found, 0 when the object has no such string
 * member, -1 when buf is not one well-formed object.
 */
int	json_string(const char *buf, size_t len, const char *key, char **out);

/*
 * The same, but control characters (not NUL) are kept: for text that is
 * only shown, after the caller sanitised it.
 */
int	json_text(const char *buf, size_t len, const char *key, char **out);

/*
 * The value of a top-level member that is a non-negative integer (or a
 * string of digits, which some endpoints send for expires_in), capped
 * at 10^9.  Same returns as json_string.
 */
int	json_number(const char *buf, size_t len, const char *key, long *out);

#endif
