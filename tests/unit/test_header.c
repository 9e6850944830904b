/*
 * test_header.c - header field recognition, folding and unfolding, and
 * the message reader's transformations (CRLF, dot-stuffing, Bcc, -t).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "header.h"
#include "message.h"
#include "unit.h"

static void
test_names(void)
{
	CHECK(header_name_len("Subject: x", 10) == 7, "simple");
	CHECK(header_name_len("Subject:", 8) == 7, "empty value");
	CHECK(header_name_len("X-A b: c", 8) == 0, "space in name");
	CHECK(header_name_len("Subject : x", 11) == 7, "obs blank");
	CHECK(header_name_len(": x", 3) == 0, "no name");
	CHECK(header_name_len("no colon", 8) == 0, "no colon");
	CHECK(header_name_len("Sub\x80ject: x", 11) == 0, "8-bit name");
}

/* Run message_read on input; return the spool form (allocated). */
static char *
transform_opts(const char *in, size_t inlen, const struct message_opts *mo,
    struct message *m, int *rc)
{
	struct lineread *lr = malloc(sizeof(*lr));
	int fds[2];
	FILE *out = tmpfile();
	struct err e;
	char *buf;
	long n;

	if (pipe(fds) == -1 || out == NULL)
		abort();
	if (write(fds[1], in, inlen) != (ssize_t)inlen)
		abort();
	close(fds[1]);
	message_init(m);
	err_init(&e);
	lineread_init(lr, fds[0]);
	*rc = message_read(lr, out, mo, m, &e);
	free(lr);
	close(fds[0]);
	n = ftell(out);
	buf = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
	rewind(out);
	if (n > 0 && fread(buf, 1, (size_t)n, out) != (size_t)n)
		abort();
	fclose(out);
	return buf;
}

static char *
transform(const char *in, size_t inlen, int ignore_dots, int read_rcpts,
    struct message *m, int *rc)
{
	struct message_opts mo;

	memset(&mo, 0, sizeof(mo));
	mo.ignore_dots = ignore_dots;
	mo.read_rcpts = read_rcpts;
	return transform_opts(in, inlen, &mo, m, rc);
}

struct mvector {
	const char	*in;
	int		 ignore_dots;
	int		 rc;
	const char	*out;
};

static const struct mvector mvectors[] = {
	{ "Subject: a\n\nbody\n", 1, 0, "Subject: a\r\n\r\nbody\r\n" },
	{ "Subject: a\r\n\r\nbody\r\n", 1, 0, "Subject: a\r\n\r\nbody\r\n" },
	{ "Subject: a\n\nno newline", 1, 0,
	    "Subject: a\r\n\r\nno newline\r\n" },
	{ "Subject: a\n\n.\n..\n.x\n", 1, 0,
	    "Subject: a\r\n\r\n..\r\n...\r\n..x\r\n" },
	{ "Subject: a\n\nbefore\n.\nafter\n", 0, 0,
	    "Subject: a\r\n\r\nbefore\r\n" },
	{ "Subject: a\n\nbare\rcr\r\r\nend\n", 1, 0,
	    "Subject: a\r\n\r\nbare\r\ncr\r\nend\r\n" },
	{ "Subject: a\n\n\r.\r\n", 1, 0, "Subject: a\r\n\r\n\r\n..\r\n" },
	{ "Subject: a\n  folded\n\nb\n", 1, 0,
	    "Subject: a\r\n  folded\r\n\r\nb\r\n" },
	{ "From someone Mon Jan 1\nSubject: a\n\nb\n", 1, 0,
	    "Subject: a\r\n\r\nb\r\n" },
	{ "just a body\nline two\n", 1, 0, "\r\njust a body\r\nline two\r\n" },
	{ "To: a@x.org\nBcc: secret@x.org,\n  other@x.org\nSubject: s\n\nb\n",
	    1, 0, "To: a@x.org\r\nSubject: s\r\n\r\nb\r\n" },
	{ "Subject: a\nnot a header\n\nb\n", 1, -1, NULL },
	{ "Subject: a\0b\n\nb\n", 1, -1, NULL },
	{ "Subject: a\rb\n\nb\n", 1, -1, NULL },
	{ "Subject: only headers\n", 1, 0, "Subject: only headers\r\n" },
	{ "", 1, 0, "" },
};

static void
test_message(void)
{
	struct message m;
	size_t i;
	char *out;
	int rc;

	for (i = 0; i < sizeof(mvectors) / sizeof(mvectors[0]); i++) {
		const struct mvector *v = &mvectors[i];
		size_t inlen = strlen(v->in);

		if (i == 12)
			inlen = 16;	/* holds a NUL */
		out = transform(v->in, inlen, v->ignore_dots, 0, &m, &rc);
		CHECK(rc == v->rc, "vector %zu: rc %d", i, rc);
		if (v->out != NULL && rc == 0)
			CHECK(strcmp(out, v->out) == 0, "vector %zu: got "
			    "'%s'", i, out);
		free(out);
		message_release(&m);
	}
}

static void
test_rcpts(void)
{
	const char *in = "To: A <a@x.org>, b@y.org\nCc: c@z.org\n"
	    "Bcc: d@w.org\nSubject: s\n\nbody\n";
	const char *resent = "To: a@x.org\nResent-To: r@x.org\n\nb\n";
	struct message m;
	char *out;
	int rc;

	out = transform(in, strlen(in), 1, 1, &m, &rc);
	CHECK(rc == 0 && m.rcpts.n == 4, "four recipients (%zu)", m.rcpts.n);
	CHECK(m.rcpts.n == 4 && strcmp(m.rcpts.v[3], "d@w.org") == 0,
	    "bcc collected");
	CHECK(strstr(out, "Bcc") == NULL, "bcc dropped");
	free(out);
	message_release(&m);

	out = transform(resent, strlen(resent), 1, 1, &m, &rc);
	CHECK(rc == 0 && m.rcpts.n == 1 && strcmp(m.rcpts.v[0],
	    "r@x.org") == 0, "resent-to wins");
	free(out);
	message_release(&m);

	out = transform("To: broken <a@x.org\n\nb\n", 24, 1, 1, &m, &rc);
	CHECK(rc == -1, "bad address in To with -t");
	free(out);
	message_release(&m);
}

/* -bs: input is SMTP DATA, dot-stuffed and ended by a lone dot. */
static void
test_smtp_data(void)
{
	const char *in = "Subject: s\r\n\r\n..one\r\n.two\r\n...\r\n.\r\nQUIT\r\n";
	struct message_opts mo;
	struct message m;
	char *out;
	int rc;

	memset(&mo, 0, sizeof(mo));
	mo.smtp_data = 1;
	out = transform_opts(in, strlen(in), &mo, &m, &rc);
	CHECK(rc == 0 && m.ended, "ended by the dot");
	CHECK(strcmp(out, "Subject: s\r\n\r\n..one\r\ntwo\r\n...\r\n") == 0,
	    "unstuffed then stuffed: '%s'", out);
	free(out);
	message_release(&m);
}

/* fuzz_message: -bs data whose first line is ".." is a body line ".". */
static void
test_smtp_dotdot(void)
{
	const char *in = "..\r\nRCPT TO:<x@y>\r\n.\r\nQUIT\r\n";
	struct message_opts mo;
	struct message m;
	char *out;
	int rc;

	memset(&mo, 0, sizeof(mo));
	mo.smtp_data = 1;
	out = transform_opts(in, strlen(in), &mo, &m, &rc);
	CHECK(rc == 0 && m.ended, "ended at the real final dot");
	CHECK(strcmp(out, "\r\n..\r\nRCPT TO:<x@y>\r\n") == 0,
	    "the first line '..' is the body line '.': '%s'", out);
	free(out);
	message_release(&m);
}

static char *
rw(void *arg, const char *addr, int recipient)
{
	(void)arg;
	if (strcmp(addr, "root") == 0 && recipient)
		return strdup("admin@x.org, ops@x.org");
	if (strchr(addr, '@') == NULL) {
		char *r = malloc(strlen(addr) + 10);

		sprintf(r, "%s@host.org", addr);
		return r;
	}
	return NULL;
}

static void
test_edits(void)
{
	const char *in = "From: root (Cron Daemon)\nTo: Root <root>, b@y.org,\n"
	    " bob\nSubject: s\n\nbody\n";
	struct message_opts mo;
	struct message m;
	char *out, *v, why[64];
	int rc;

	memset(&mo, 0, sizeof(mo));
	mo.rewrite = rw;
	mo.read_rcpts = 1;
	mo.add_date = 1;
	mo.msgid_domain = "host.org";
	out = transform_opts(in, strlen(in), &mo, &m, &rc);
	CHECK(rc == 0, "edits");
	CHECK(strstr(out, "From: root@host.org (Cron Daemon)\r\n") != NULL,
	    "From qualified, comment kept: '%s'", out);
	CHECK(strstr(out, "To: admin@x.org, ops@x.org, b@y.org,\r\n "
	    "bob@host.org\r\n") != NULL, "To aliased and qualified: '%s'", out);
	CHECK(strstr(out, "\r\nDate: ") != NULL, "Date added");
	CHECK(strstr(out, "\r\nMessage-ID: <") != NULL &&
	    strstr(out, "@host.org>\r\n\r\nbody") != NULL, "Message-ID added");
	CHECK(m.rcpts.n == 4, "rcpts after rewrite: %zu", m.rcpts.n);
	CHECK(m.from_addr && strcmp(m.from_addr, "root") == 0, "from_addr");
	free(out);
	message_release(&m);

	memset(&mo, 0, sizeof(mo));
	mo.from_header = "Me <me@x.org>";
	mo.force_from = 1;
	mo.keep_from = 1;
	out = transform_opts("From: other@y.org\n\nb\n", 22, &mo, &m, &rc);
	CHECK(rc == 0 && strcmp(out, "Reply-To: other@y.org\r\nFrom: Me "
	    "<me@x.org>\r\n\r\nb\r\n") == 0, "forced From: '%s'", out);
	free(out);
	message_release(&m);

	out = transform_opts("Subject: x\n\nb\n", 15, &mo, &m, &rc);
	CHECK(rc == 0 && strcmp(out, "Subject: x\r\nFrom: Me <me@x.org>"
	    "\r\n\r\nb\r\n") == 0, "From added: '%s'", out);
	free(out);
	message_release(&m);

	v = message_rewrite_list(" a@x.org (c), \"Q, R\" <bob>", 26, rw, NULL, 0,
	    why, sizeof(why));
	CHECK(v && strcmp(v, " a@x.org (c), \"Q, R\" <bob@host.org>") == 0,
	    "rewrite keeps the rest: '%s'", v);
	free(v);
	CHECK(message_rewrite_list("<broken", 7, rw, NULL, 0, why,
	    sizeof(why)) == NULL, "unparsable list");
}

int
main(void)
{
	test_names();
	test_smtp_data();
	test_smtp_dotdot();
	test_edits();
	test_message();
	test_rcpts();
	return unit_done();
}
