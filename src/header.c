/*
 * header.c - header field syntax.
 */
#include "autoconf.h"

#include "header.h"

size_t
header_name_len(const char *line, size_t len)
{
	size_t i, n;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == ':' || c == ' ' || c == '\t')
			break;
		if (c < 33 || c > 126)
			return 0;
	}
	n = i;
	if (n == 0)
		return 0;
	/* obs-optional: blanks between the name and the colon. */
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] != ':')
		return 0;
	return n;
}
