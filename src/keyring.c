/*
 * keyring.c - libsecret behind keyring.h.  Like GnuTLS (see dl.h), the
 * library is loaded with dlopen when a keyring is first asked: most runs
 * find their password in the configuration and never pay for GLib.
 *
 * Without a session bus nothing is loaded at all: GDBus would otherwise
 * try to start one (dbus-launch), which is wrong under cron.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyring.h"
#include "util.h"

#ifdef HAVE_LIBSECRET

#include <libsecret/secret.h>

#include "dl.h"

static struct {
	gchar		*(*lookup)(const SecretSchema *, GCancellable *,
			    GError **, ...);
	gboolean	 (*store)(const SecretSchema *, const gchar *,
			    const gchar *, const gchar *, GCancellable *,
			    GError **, ...);
	void		 (*pw_free)(gchar *);
	void		 (*error_free)(GError *);
} keyring_fn;

static const char *const keyring_names[] = {
	"secret_password_lookup_sync",
	"secret_password_store_sync",
	"secret_password_free",
	"g_error_free",
};

static int keyring_loaded;

/* envoi's own schema: matches entries of any schema with these names. */
static const SecretSchema keyring_schema = {
	"org.envoi.Password", SECRET_SCHEMA_DONT_MATCH_NAME,
	{
		{ "host", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "service", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ NULL, 0 },
	},
	0, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

/* What libgnome-keyring wrote (SECRET_SCHEMA_COMPAT_NETWORK). */
static const SecretSchema keyring_network = {
	"org.gnome.keyring.NetworkPassword", SECRET_SCHEMA_NONE,
	{
		{ "user", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "server", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "protocol", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ NULL, 0 },
	},
	0, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

/* A session bus to reach: named, or at the standard place. */
static int
keyring_bus(void)
{
	const char *addr = getenv("DBUS_SESSION_BUS_ADDRESS");
	const char *run = getenv("XDG_RUNTIME_DIR");
	char path[4096];
	struct stat st;

	if (addr != NULL && *addr != '\0')
		return 1;
	if (run == NULL || *run != '/')
		return 0;
	snprintf(path, sizeof(path), "%s/bus", run);
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int
keyring_load(struct err *e)
{
	void *ptrs[sizeof(keyring_names) / sizeof(keyring_names[0])];

	if (keyring_loaded)
		return 0;
	if (!keyring_bus())
		return err_set(e, ERR_UNAVAILABLE, "no session bus "
		    "(DBUS_SESSION_BUS_ADDRESS is not set)");
	if (dl_load(LIBSECRET_SONAME, keyring_names, ptrs,
	    sizeof(ptrs) / sizeof(ptrs[0]), &keyring_loaded, e) == -1)
		return -1;
	memcpy(&keyring_fn.lookup, &ptrs[0], sizeof(ptrs[0]));
	memcpy(&keyring_fn.store, &ptrs[1], sizeof(ptrs[1]));
	memcpy(&keyring_fn.pw_free, &ptrs[2], sizeof(ptrs[2]));
	memcpy(&keyring_fn.error_free, &ptrs[3], sizeof(ptrs[3]));
	return 0;
}

/* Move a libsecret password into our own allocation. */
static char *
keyring_take(gchar *pw)
{
	char *copy = xstrdup(pw);

	keyring_fn.pw_free(pw);	/* wipes it first */
	return copy;
}

static void
keyring_why(GError *ge, char *why, size_t whysize)
{
	if (why != NULL)
		snprintf(why, whysize, "%s", ge->message);
	keyring_fn.error_free(ge);
}

int
keyring_built(void)
{
	return 1;
}

int
keyring_lookup(const char *host, const char *user, char **password,
    char *why, size_t whysize)
{
	GError *ge = NULL;
	gchar *pw;
	struct err e;

	*password = NULL;
	err_init(&e);
	if (keyring_load(&e) == -1) {
		if (why != NULL)
			snprintf(why, whysize, "%s", e.msg);
		return 0;
	}
	pw = keyring_fn.lookup(&keyring_schema, NULL, &ge, "host", host,
	    "service", "smtp", "user", user, (char *)NULL);
	if (pw == NULL && ge == NULL)
		pw = keyring_fn.lookup(&keyring_network, NULL, &ge, "user",
		    user, "server", host, "protocol", "smtp", (char *)NULL);
	if (ge != NULL) {
		keyring_why(ge, why, whysize);
		return 0;
	}
	if (pw == NULL) {
		if (why != NULL)
			snprintf(why, whysize, "no entry");
		return 0;
	}
	*password = keyring_take(pw);
	return 1;
}

int
keyring_store(const char *host, const char *user, const char *password,
    struct err *e)
{
	GError *ge = NULL;
	char label[512], why[512];
	struct err le;

	err_init(&le);
	if (keyring_load(&le) == -1)
		return err_set(e, ERR_UNAVAILABLE, "cannot reach a keyring: %s",
		    le.msg);
	snprintf(label, sizeof(label), "envoi: %s at %s", user, host);
	if (!keyring_fn.store(&keyring_schema, SECRET_COLLECTION_DEFAULT,
	    label, password, NULL, &ge, "host", host, "service", "smtp",
	    "user", user, (char *)NULL)) {
		snprintf(why, sizeof(why), "%s", ge ? ge->message :
		    "unknown error");
		if (ge != NULL)
			keyring_fn.error_free(ge);
		return err_set(e, ERR_UNAVAILABLE, "cannot store the password "
		    "in the keyring: %s", why);
	}
	return 0;
}

#else /* !HAVE_LIBSECRET */

int
keyring_built(void)
{
	return 0;
}

int
keyring_lookup(const char *host, const char *user, char **password,
    char *why, size_t whysize)
{
	(void)host;
	(void)user;
	*password = NULL;
	if (why != NULL)
		snprintf(why, whysize, "envoi was built without libsecret");
	return 0;
}

int
keyring_store(const char *host, const char *user, const char *password,
    struct err *e)
{
	(void)host;
	(void)user;
	(void)password;
	return err_set(e, ERR_UNAVAILABLE, "envoi was built without "
	    "libsecret (configure --with-libsecret): store the password "
	    "with secret-tool, or use passwordeval or ~/.netrc");
}

#endif
