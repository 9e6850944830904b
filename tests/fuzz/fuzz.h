/*
 * fuzz.h - what the libFuzzer targets share: a failure that libFuzzer
 * records as a crash (with a message saying which property broke), a
 * private scratch directory, and files rewritten with the input.
 *
 * Each target is one fuzz_*.c with LLVMFuzzerTestOneInput, linked with
 * the project's sources compiled by clang with -fsanitize=fuzzer,
 * address,undefined (see tests/Makefile.am: make fuzz, make fuzz-run).
 */
#ifndef ENVOI_FUZZ_H
#define ENVOI_FUZZ_H

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken property: say which, then abort so libFuzzer keeps the input. */
static void fuzz_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn, unused));

static void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz: property failed: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* FUZZ_ASSERT(cond, fmt, ...): a property; the message says what broke. */
#define FUZZ_ASSERT(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__,		\
		    __LINE__, #cond);					\
		fuzz_fail(__VA_ARGS__);					\
	}								\
} while (0)

/* Show a byte string with escapes, for property messages. */
static void __attribute__((unused))
fuzz_dump(const char *what, const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i;

	fprintf(stderr, "%s (%zu bytes): \"", what, len);
	for (i = 0; i < len && i < 2000; i++) {
		if (s[i] == '\\' || s[i] == '"')
			fprintf(stderr, "\\%c", s[i]);
		else if (s[i] >= 0x20 && s[i] < 0x7f)
			fputc(s[i], stderr);
		else
			fprintf(stderr, "\\x%02x", s[i]);
	}
	fprintf(stderr, "%s\"\n", i < len ? "..." : "");
}

static int
fuzz_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static char fuzz_dir[PATH_MAX];

static void
fuzz_cleanup(void)
{
	if (fuzz_dir[0] != '\0')
		(void)nftw(fuzz_dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	fuzz_dir[0] = '\0';
}

/*
 * A private directory for this process, made on first use under
 * $TMPDIR, else /dev/shm (no disk behind fsync), else /tmp; removed at
 * exit.  run.sh also points TMPDIR at a directory it removes, for the
 * exits that skip atexit handlers.
 */
static const char * __attribute__((unused))
fuzz_scratch(void)
{
	const char *base = getenv("TMPDIR");

	if (fuzz_dir[0] != '\0')
		return fuzz_dir;
	if (base == NULL || *base == '\0')
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/envoi-fuzz-XXXXXX", base);
	if (mkdtemp(fuzz_dir) == NULL) {
		perror(fuzz_dir);
		abort();
	}
	atexit(fuzz_cleanup);
	return fuzz_dir;
}

/* Replace the file at path with the bytes given (mode 0600). */
static void __attribute__((unused))
fuzz_write_file(const char *path, const void *data, size_t size)
{
	const char *p = data;
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1) {
		perror(path);
		abort();
	}
	while (size > 0) {
		n = write(fd, p, size);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror(path);
			abort();
		}
		p += n;
		size -= (size_t)n;
	}
	close(fd);
}

#endif
