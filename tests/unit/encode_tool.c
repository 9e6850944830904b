/*
 * encode_tool.c - run one encoder of encode.c over stdin, for
 * encode.bats (which checks the output with Python's email package)
 * and bench/base64.sh.
 *
 *	encode_tool b64 [block]		base64, block bytes at a time
 *	encode_tool qp [block]		quoted-printable, likewise
 *	encode_tool 2047 [used]		rfc2047_encode of all of stdin
 *	encode_tool phrase [used]	rfc2047_phrase of all of stdin
 *	encode_tool 2231 name [used]	rfc2231_param of all of stdin
 *
 * The output is exactly what the encoder wrote, with no newline added.
 * Exits 1 when the encoder refuses the input, 64 on bad usage.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encode.h"

#define BLOCK_MAX	(1024 * 1024)

static unsigned char	 inbuf[BLOCK_MAX];
static char		 outbuf[QP_ENCODE_BOUND(BLOCK_MAX) + QP_FINISH_MAX];

static int
usage(void)
{
	fprintf(stderr, "usage: encode_tool b64|qp [block] | 2047|phrase "
	    "[used] | 2231 name [used]\n");
	return 64;
}

static int
write_all(const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(STDOUT_FILENO, p, n)) == -1) {
			perror("encode_tool: write");
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Fill the buffer with up to n bytes; returns 0 at end of input. */
static ssize_t
read_block(unsigned char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		if ((r = read(STDIN_FILENO, buf + got, n - got)) == -1) {
			perror("encode_tool: read");
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int
run_body(int qp, size_t block)
{
	struct b64_enc b;
	struct qp_enc q;
	ssize_t n;
	size_t k;

	b64_init(&b);
	qp_init(&q);
	while ((n = read_block(inbuf, block)) > 0) {
		if (qp)
			k = qp_encode(&q, inbuf, (size_t)n, outbuf);
		else
			k = b64_encode(&b, inbuf, (size_t)n, outbuf);
		if (write_all(outbuf, k) == -1)
			return 1;
	}
	if (n == -1)
		return 1;
	k = qp ? qp_finish(&q, outbuf) : b64_finish(&b, outbuf);
	return write_all(outbuf, k) == -1 ? 1 : 0;
}

static int
run_header(const char *mode, const char *name, size_t used)
{
	ssize_t n;
	int r;

	if ((n = read_block(inbuf, ENCODE_TEXT_MAX + 1)) == -1)
		return 1;
	inbuf[n] = '\0';
	if (strcmp(mode, "2047") == 0)
		r = rfc2047_encode((char *)inbuf, (size_t)n, used, outbuf,
		    sizeof(outbuf));
	else if (strcmp(mode, "phrase") == 0)
		r = rfc2047_phrase((char *)inbuf, (size_t)n, used, outbuf,
		    sizeof(outbuf));
	else
		r = rfc2231_param(name, (char *)inbuf, used, outbuf,
		    sizeof(outbuf));
	if (r == -1) {
		fprintf(stderr, "encode_tool: %s: input refused\n", mode);
		return 1;
	}
	if ((size_t)r >= sizeof(outbuf)) {
		fprintf(stderr, "encode_tool: %s: output too long\n", mode);
		return 1;
	}
	return write_all(outbuf, (size_t)r) == -1 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	const char *mode;
	long v = -1;

	if (argc < 2)
		return usage();
	mode = argv[1];
	if (strcmp(mode, "b64") == 0 || strcmp(mode, "qp") == 0) {
		if (argc > 3 || (argc == 3 && ((v = atol(argv[2])) < 1 ||
		    v > BLOCK_MAX)))
			return usage();
		return run_body(mode[0] == 'q', v > 0 ? (size_t)v :
		    64 * 1024);
	}
	if (strcmp(mode, "2047") == 0 || strcmp(mode, "phrase") == 0) {
		if (argc > 3 || (argc == 3 && (v = atol(argv[2])) < 0))
			return usage();
		return run_header(mode, NULL, v > 0 ? (size_t)v : 0);
	}
	if (strcmp(mode, "2231") == 0) {
		if (argc < 3 || argc > 4 || (argc == 4 &&
		    (v = atol(argv[3])) < 0))
			return usage();
		return run_header(mode, argv[2], v > 0 ? (size_t)v : 0);
	}
	return usage();
}
