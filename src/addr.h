/*
 * addr.h - RFC 5321/5322 addresses: parse header address lists (display
 * names, quoted strings, comments, groups, routes) down to their
 * addr-specs, and check single envelope addresses.  Pure: no I/O.
 */
#ifndef ENVOI_ADDR_H
#define ENVOI_ADDR_H

#include <stddef.h>

#include "util.h"

/* Longest addr-spec accepted (RFC 5321 path limit). */
#define ADDR_MAX	256

/*
 * Parse an address list (the value of To, Cc, Bcc or a recipient
 * argument) and append each addr-spec ("local@domain", or a bare
 * "local") to out.  Empty lists and empty groups add nothing.  On a
 * syntax error return -1 with a description in why; out may then hold
 * the addresses found before the error.
 */
int	addr_parse_list(const char *s, size_t len, struct strlist *out,
	    char *why, size_t whysize);

/* Where one mailbox lies in the parsed text: [start, end) offsets. */
struct addr_span {
	size_t	spec_start;	/* the addr-spec */
	size_t	spec_end;
	size_t	mbox_start;	/* display name and angle brackets too */
	size_t	mbox_end;
};

/* A growable array of spans; it owns v. */
struct addr_spans {
	struct addr_span	*v;
	size_t			 n;
	size_t			 cap;
};

void	addr_spans_init(struct addr_spans *);
void	addr_spans_add(struct addr_spans *, const struct addr_span *);
void	addr_spans_release(struct addr_spans *);

/* addr_parse_list, also reporting where each mailbox lies in s. */
int	addr_parse_spans(const char *s, size_t len, struct strlist *out,
	    struct addr_spans *spans, char *why, size_t whysize);

/*
 * Check one envelope address, bare or in angle brackets; "<>" and ""
 * (the null sender) are refused here: callers accept them explicitly.
 * Returns 0 when valid, -1 otherwise.
 */
int	addr_check_mailbox(const char *s);

/* Like addr_check_mailbox, but only a bare addr-spec: no name, no <>. */
int	addr_check_spec(const char *s);

/* 1 when the addr-spec has a domain part. */
int	addr_has_domain(const char *s);

#endif
