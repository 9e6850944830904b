/*
 * bench/msgpath.c - the message path alone, for callgrind: message_read
 * of FILE into /dev/null (through a 64 KiB stdio buffer, as the spool
 * has), nothing else.  Not part of envoi.
 *
 *	cc -O2 -I. -Isrc -o msgpath bench/msgpath.c src/libenvoi.a \
 *	    -lconfuse -ldl
 *	{ printf 'Subject: x\n\n'; head -c 15M /dev/urandom |
 *	    base64 -w 76; } >m20		# 20 MiB of LF lines
 *	sed 's/$/\r/' m20 >m20crlf		# the same with CRLF
 *	valgrind --tool=callgrind ./msgpath m20
 */
#include "autoconf.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lineread.h"
#include "message.h"

static struct lineread lr;
static char sbuf[64 * 1024];

int
main(int argc, char **argv)
{
	struct message_opts o;
	struct message m;
	struct err e;
	FILE *out;
	int fd;

	if (argc != 2 || (fd = open(argv[1], O_RDONLY)) == -1 ||
	    (out = fopen("/dev/null", "w")) == NULL) {
		fprintf(stderr, "usage: msgpath FILE\n");
		return 2;
	}
	setvbuf(out, sbuf, _IOFBF, sizeof(sbuf));
	memset(&o, 0, sizeof(o));
	err_init(&e);
	message_init(&m);
	lineread_init(&lr, fd);
	if (message_read(&lr, out, &o, &m, &e) == -1) {
		fprintf(stderr, "msgpath: %s\n", e.msg);
		return 1;
	}
	printf("longest line %zu, 8-bit %d\n", m.longest, m.eightbit);
	message_release(&m);
	return 0;
}
