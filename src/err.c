/*
 * err.c - error records and the single map from error kind to sysexits
 * status and result class.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"

static const struct {
	enum err_kind	 kind;
	int		 exitcode;
	enum err_class	 class;
	const char	*name;
} err_table[] = {
	{ ERR_NONE,		EX_OK,		ERR_CLASS_OK,	"none" },
	{ ERR_USAGE,		EX_USAGE,	ERR_CLASS_PERM,	"usage" },
	{ ERR_DATA,		EX_DATAERR,	ERR_CLASS_PERM,	"data" },
	{ ERR_NOINPUT,		EX_NOINPUT,	ERR_CLASS_PERM,	"noinput" },
	{ ERR_RCPT,		EX_NOUSER,	ERR_CLASS_PERM,	"recipient" },
	{ ERR_NOHOST,		EX_NOHOST,	ERR_CLASS_HOLD,	"nohost" },
	{ ERR_UNAVAILABLE,	EX_UNAVAILABLE,	ERR_CLASS_PERM,	"unavailable" },
	{ ERR_TLS,		EX_UNAVAILABLE,	ERR_CLASS_HOLD,	"tls" },
	{ ERR_SOFTWARE,		EX_SOFTWARE,	ERR_CLASS_HOLD,	"software" },
	{ ERR_OS,		EX_OSERR,	ERR_CLASS_TEMP,	"os" },
	{ ERR_CANTCREAT,	EX_CANTCREAT,	ERR_CLASS_TEMP,	"cantcreat" },
	{ ERR_IO,		EX_IOERR,	ERR_CLASS_TEMP,	"io" },
	{ ERR_TEMP,		EX_TEMPFAIL,	ERR_CLASS_TEMP,	"temporary" },
	{ ERR_PROTOCOL,		EX_PROTOCOL,	ERR_CLASS_TEMP,	"protocol" },
	{ ERR_AUTH,		EX_NOPERM,	ERR_CLASS_HOLD,	"auth" },
	{ ERR_CONFIG,		EX_CONFIG,	ERR_CLASS_HOLD,	"config" },
};

void
err_init(struct err *e)
{
	e->kind = ERR_NONE;
	e->msg[0] = '\0';
}

int
err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
{
	va_list ap;

	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
err_exitcode(enum err_kind kind)
{
	if (kind >= ERR_LAST)
		return EX_SOFTWARE;
	return err_table[kind].exitcode;
}

enum err_class
err_class(enum err_kind kind)
{
	if (kind >= ERR_LAST)
		return ERR_CLASS_HOLD;
	return err_table[kind].class;
}

const char *
err_kindname(enum err_kind kind)
{
	if (kind >= ERR_LAST)
		return "unknown";
	return err_table[kind].name;
}
