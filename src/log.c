/*
 * log.c - stderr output for errors, warnings and the -v dialogue.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static const char	*log_progname = "envoi";
static int		 log_level;
static FILE		*log_xfile;	/* -X transcript */

void
log_init(const char *progname, int verbose)
{
	if (progname != NULL)
		log_progname = progname;
	log_level = verbose;
}

int
log_verbose(void)
{
	return log_level;
}

/*
 * One line, whatever the message quotes: a value with a line break or
 * an escape sequence (a bad argument, a server's text) shows as '?'
 * and cannot forge a second line or drive the terminal.
 */
static void
log_vprint(const char *prefix, const char *fmt, va_list ap)
{
	char line[2048], clean[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	log_sanitize(clean, sizeof(clean), line, strlen(line));
	fprintf(stderr, "%s: %s%s\n", log_progname, prefix, clean);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint("", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint("warning: ", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_level == 0)
		return;
	va_start(ap, fmt);
	log_vprint("", fmt, ap);
	va_end(ap);
}

void
log_dialogue(const char *dir, const char *line, size_t len)
{
	char clean[1024];

	if (log_level == 0 && log_xfile == NULL)
		return;
	log_sanitize(clean, sizeof(clean), line, len);
	if (log_level > 0)
		fprintf(stderr, "%s %s\n", dir, clean);
	if (log_xfile != NULL) {
		fprintf(log_xfile, "%ld %s %s\n", (long)getpid(), dir, clean);
		fflush(log_xfile);
	}
}

int
log_transcript(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);

	if (fd == -1)
		return -1;
	if ((log_xfile = fdopen(fd, "a")) == NULL) {
		close(fd);
		return -1;
	}
	return 0;
}

/* Append s to buf as a JSON string (quotes included). */
static void
json_str(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf);

	if (s == NULL) {
		snprintf(buf + n, size - n, "null");
		return;
	}
	if (n + 1 < size)
		buf[n++] = '"';
	for (; *s && n + 7 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)c;
		} else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(buf + n, size - n, "\\u%04x", c);
		else
			buf[n++] = (char)c;
	}
	if (n + 1 < size)
		buf[n++] = '"';
	buf[n] = '\0';
}

static void
cat(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf);

	snprintf(buf + n, size - n, "%s", s);
}

static void
log_format_json(char *buf, size_t size, const struct log_record *r)
{
	char num[32], when[40];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf[0] = '\0';
	cat(buf, size, "{\"time\":");
	json_str(buf, size, when);
	cat(buf, size, ",\"account\":");
	json_str(buf, size, r->account);
	cat(buf, size, ",\"host\":");
	json_str(buf, size, r->host);
	cat(buf, size, ",\"tls\":");
	json_str(buf, size, r->tls);
	cat(buf, size, ",\"from\":");
	json_str(buf, size, r->from);
	cat(buf, size, ",\"recipients\":[");
	for (i = 0; i < r->nrcpts; i++) {
		if (i > 0)
			cat(buf, size, ",");
		json_str(buf, size, r->rcpts[i]);
	}
	snprintf(num, sizeof(num), "],\"size\":%lld", r->size);
	cat(buf, size, num);
	cat(buf, size, ",\"status\":");
	json_str(buf, size, r->status);
	cat(buf, size, ",\"outcome\":");
	json_str(buf, size, r->outcome);
	cat(buf, size, ",\"error\":");
	json_str(buf, size, r->error);
	cat(buf, size, "}");
}

static void
log_format_text(char *buf, size_t size, const struct log_record *r,
    int stamp)
{
	char when[40] = "";
	time_t now = time(NULL);
	struct tm tm;
	size_t i, n;

	if (stamp) {
		localtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S ", &tm);
	}
	snprintf(buf, size, "%saccount=%s host=%s tls=%s from=<%s> to=", when,
	    r->account ? r->account : "-", r->host ? r->host : "-",
	    r->tls ? r->tls : "-", r->from ? r->from : "");
	for (i = 0; i < r->nrcpts; i++) {
		n = strlen(buf);
		snprintf(buf + n, size - n, "%s<%s>", i ? "," : "",
		    r->rcpts[i]);
	}
	n = strlen(buf);
	snprintf(buf + n, size - n, " size=%lld status=\"%s\" outcome=%s",
	    r->size, r->status ? r->status : "", r->outcome);
	if (r->error != NULL) {
		n = strlen(buf);
		snprintf(buf + n, size - n, " error=\"%s\"", r->error);
	}
}

static int
log_facility(const char *name)
{
	static const struct {
		const char	*name;
		int		 facility;
	} f[] = {
		{ "on", LOG_MAIL }, { "mail", LOG_MAIL }, { "user", LOG_USER },
		{ "daemon", LOG_DAEMON }, { "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
	};
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (strcasecmp(name, f[i].name) == 0)
			return f[i].facility;
	return -1;
}

void
log_mail(const struct log_sink *sink, const struct log_record *r)
{
	char line[8192], clean[8192];
	int fd, facility;
	FILE *fp;

	if (sink->file != NULL) {
		if (sink->json)
			log_format_json(line, sizeof(line), r);
		else
			log_format_text(line, sizeof(line), r, 1);
		log_sanitize(clean, sizeof(clean), line, strlen(line));
		fd = open(sink->file, O_WRONLY | O_APPEND | O_CREAT |
		    O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd == -1 || (fp = fdopen(fd, "a")) == NULL) {
			log_warn("cannot write the log '%s': %s", sink->file,
			    strerror(errno));
			if (fd != -1)
				close(fd);
		} else {
			fprintf(fp, "%s\n", clean);
			if (fclose(fp) == EOF)
				log_warn("cannot write the log '%s': %s",
				    sink->file, strerror(errno));
		}
	}
	if (sink->syslog != NULL && strcmp(sink->syslog, "off") != 0 &&
	    (facility = log_facility(sink->syslog)) != -1) {
		if (sink->json)
			log_format_json(line, sizeof(line), r);
		else
			log_format_text(line, sizeof(line), r, 0);
		log_sanitize(clean, sizeof(clean), line, strlen(line));
		openlog("envoi", LOG_PID, facility);
		syslog(r->error ? LOG_ERR : LOG_INFO, "%s", clean);
		closelog();
	}
}

/* A UTF-8 character that shows as itself: no control, no bidi trick. */
static int
utf8_printable(const unsigned char *p, size_t n)
{
	uint32_t cp;

	if (n == 1)
		return p[0] >= 0x20 && p[0] < 0x7f;
	if (n == 2)
		cp = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	else if (n == 3)
		cp = (uint32_t)(p[0] & 0x0f) << 12 |
		    (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
	else
		return 1;	/* past the BMP: no controls there */
	return !(cp < 0xa0 || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f ||
	    cp == 0x061c);
}

char *
log_sanitize(char *dst, size_t size, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, n;

	if (size == 0)
		return dst;
	while (i < len && o < size - 1) {
		n = utf8_len(s + i, len - i);
		if (n == 0 || o + n > size - 1 || !utf8_printable(s + i, n)) {
			dst[o++] = '?';
			i++;
			continue;
		}
		memcpy(dst + o, s + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
	return dst;
}

char *
log_sanitize_ascii(char *dst, size_t size, const char *src, size_t len)
{
	size_t i, n;

	if (size == 0)
		return dst;
	n = len < size - 1 ? len : size - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	dst[n] = '\0';
	return dst;
}
