#!/usr/bin/env bats
# Compose mode, the message side: the structure envoi builds (--html,
# attachments, attachments added to a message on stdin), the recipients
# (-c, -b/--bcc, arguments), refused input (header injection, missing
# files), -A options, --body-file and --dry-run.  What the test server
# receives is parsed with Python's email package (tests/lib/mimecheck.py).

# status, output and stderr are set by bats' run
# shellcheck disable=SC2154

load lib/common
load lib/compose

setup_file() { compose_setup_file; }

# send ARGS... < BODY: envoi with the std config, for real
send() {
	std_config srv starttls
	run --separate-stderr envoi -C "$CFG" "$@"
}

# html_file FILE: a small UTF-8 HTML document
html_file() {
	printf '<html><body><p>H\xc3\xa4llo <b>Bob</b></p></body></html>\n' >"$1"
}

@test "--html: multipart/alternative, text/plain first, then text/html" {
	local d=$BATS_TEST_TMPDIR
	html_file "$d/b.html"
	printf 'Hello Bob,\nthe plain version.\n' >"$d/body"
	send -s alternative --html "$d/b.html" bob@example.org <"$d/body"
	assert_status 0
	mimecheck "$(received)" "$d" <<'PY'
import os
d = args[0]
check_raw()
eq(structure(), "multipart/alternative[text/plain,text/html]", "structure")
eq(msg["MIME-Version"], "1.0", "MIME-Version")
eq(str(msg["Subject"]), "alternative", "Subject")
text_eq(data(leaves[0]), readf(os.path.join(d, "body")), "the text")
text_eq(data(leaves[1]), readf(os.path.join(d, "b.html")), "the html")
eq(leaves[1].get_param("charset").lower(), "utf-8", "html charset")
eq(leaves[1].get_content_disposition(), None, "html disposition")
eq(leaves[1].get_filename(), None, "html file name")
PY
}

@test "--html with attachments: the alternative is the first part of multipart/mixed" {
	local d=$BATS_TEST_TMPDIR
	html_file "$d/b.html"
	printf '%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%%%EOF\n' >"$d/doc.pdf"
	printf 'notes\n' >"$d/notes.txt"
	send -s mixed --html "$d/b.html" -A "$d/doc.pdf" -A "$d/notes.txt" \
		bob@example.org <<<"plain version"
	assert_status 0
	mimecheck "$(received)" "$d" <<'PY'
import os
d = args[0]
check_raw()
eq(structure(), "multipart/mixed[multipart/alternative[text/plain,text/html],"
   "application/pdf,text/plain]", "structure")
text_eq(data(leaves[0]), b"plain version\n", "the text")
text_eq(data(leaves[1]), readf(os.path.join(d, "b.html")), "the html")
eq(leaves[2].get_filename(), "doc.pdf", "pdf name")
eq(data(leaves[2]), readf(os.path.join(d, "doc.pdf")), "pdf content")
eq(leaves[3].get_filename(), "notes.txt", "notes name")
PY
}

@test "-A without -s: a single-part message becomes multipart/mixed, its headers kept" {
	local d=$BATS_TEST_TMPDIR
	printf '%s\n' 'From: Alice <alice@example.org>' 'To: Bob <bob@example.org>' \
		'Subject: the original' 'X-Custom: keep me' \
		'Date: Mon, 01 Jan 2024 00:00:00 +0000' \
		'Message-ID: <orig-1@example.org>' 'MIME-Version: 1.0' \
		'Content-Type: text/plain; charset=utf-8' \
		'Content-Transfer-Encoding: 8bit' '' >"$d/msg"
	printf 'H\xc3\xa4llo Bob,\n\nGr\xc3\xbc\xc3\x9fe,\nAlice\n' >"$d/orig-body"
	cat "$d/orig-body" >>"$d/msg"
	printf '\x00\x01\x02 attached\n' >"$d/file.bin"
	send -A "$d/file.bin" bob@example.org <"$d/msg"
	assert_status 0
	[ "$(last_json srv rcpt_tos)" = bob@example.org ]
	mimecheck "$(received)" "$d" <<'PY'
import os
d = args[0]
check_raw()
eq(structure(), "multipart/mixed[text/plain,application/octet-stream]",
   "structure")
for name, value in [("From", "Alice <alice@example.org>"),
                    ("To", "Bob <bob@example.org>"),
                    ("Subject", "the original"), ("X-Custom", "keep me"),
                    ("Date", "Mon, 01 Jan 2024 00:00:00 +0000"),
                    ("Message-ID", "<orig-1@example.org>"),
                    ("MIME-Version", "1.0")]:
    eq([str(v) for v in msg.get_all(name, [])], [value], name)
eq(len(msg.get_all("Content-Type")), 1, "Content-Type fields")
body = leaves[0]
eq((body.get_content_type(), body.get_param("charset")),
   ("text/plain", "utf-8"), "body Content-Type")
eq(body["Content-Transfer-Encoding"], "8bit", "body encoding")
eq(lf(data(body)), readf(os.path.join(d, "orig-body")), "the body")
eq(body.get_content().replace("\r\n", "\n"),
   readf(os.path.join(d, "orig-body")).decode(), "the body as text")
eq(leaves[1].get_filename(), "file.bin", "attachment name")
eq(data(leaves[1]), readf(os.path.join(d, "file.bin")), "the attachment")
PY
}

# make_multipart FILE: a multipart/mixed message made by Python's email
# package, with a preamble and an epilogue; FILE.parts.json describes it
make_multipart() {
	pyfile "$1" <<'PY'
import email.policy, json, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "alice@example.org"
m["To"] = "bob@example.org"
m["Subject"] = "already multipart"
m["X-Custom"] = "kept"
m.set_content("first part\nsecond line\n")
m.add_attachment(b"\x00\x01\x02orig binary", maintype="application",
                 subtype="octet-stream", filename="orig.bin")
m.add_attachment("é ü ö\n", subtype="plain", filename="orig.txt")
m.preamble = "This is the preamble.\n"
m.epilogue = "This is the epilogue.\n"
open(sys.argv[1], "wb").write(m.as_bytes(policy=email.policy.SMTP))
PY
}

# the checks for a multipart/mixed message that got new.dat added
check_added() {
	mimecheck "$(received)" "$1" "$2" <<'PY'
import email, email.policy
# the original as it goes over SMTP: CRLF line ends
orig_raw = readf(args[0]).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
new = readf(args[1])
orig = email.message_from_bytes(orig_raw, policy=email.policy.default)
check_raw()
eq(msg.get_boundary(), orig.get_boundary(), "boundary")
eq(structure(), structure(orig)[:-1] + ",application/octet-stream]",
   "structure")
for name in ("From", "To", "Subject", "X-Custom", "MIME-Version"):
    eq(str(msg[name]), str(orig[name]), name)
olv = [p for p in orig.walk() if not p.is_multipart()]
for i, (a, b) in enumerate(zip(leaves, olv)):
    eq(a.items(), b.items(), "headers of part %d" % i)
    eq(data(a), data(b), "content of part %d" % i)
eq(leaves[-1].get_filename(), "new.dat", "new part's name")
eq(data(leaves[-1]), new, "new part's content")
eq(msg.preamble, orig.preamble, "preamble")
eq(msg.epilogue, orig.epilogue, "epilogue")
# byte for byte: the original body up to its closing delimiter is intact
def body(b):
    return b[b.index(b"\r\n\r\n") + 4:]
close = b"\r\n--" + orig.get_boundary().encode() + b"--"
ob = body(orig_raw)
ob = ob[:ob.index(close)]
assert body(raw).startswith(ob + b"\r\n--"), "original parts not intact"
PY
}

@test "-A without -s: a multipart/mixed message gains the new part last; parts, preamble, epilogue kept" {
	local d=$BATS_TEST_TMPDIR
	make_multipart "$d/multi.eml"
	printf '\x00new\xff part\n' >"$d/new.dat"
	send -A "$d/new.dat" bob@example.org <"$d/multi.eml"
	assert_status 0
	check_added "$d/multi.eml" "$d/new.dat"
}

@test "-A without -s: multipart/mixed with LF line ends and a folded, unquoted boundary" {
	local d=$BATS_TEST_TMPDIR
	printf '%s\n' 'From: alice@example.org' 'To: bob@example.org' \
		'Subject: folded' 'X-Custom: here' 'MIME-Version: 1.0' \
		'Content-Type: multipart/mixed;' ' boundary=simple-b0undary' '' \
		'preamble text' '--simple-b0undary' 'Content-Type: text/plain' '' \
		'part one' '--simple-b0undary' 'Content-Type: text/plain' '' \
		'part two' '' '--simple-b0undary--' 'epilogue text' >"$d/multi.eml"
	printf '\x00new\xff part\n' >"$d/new.dat"
	send -A "$d/new.dat" bob@example.org <"$d/multi.eml"
	assert_status 0
	check_added "$d/multi.eml" "$d/new.dat"
}

@test "-A without -s: a multipart/alternative message becomes the first part of multipart/mixed" {
	local d=$BATS_TEST_TMPDIR
	pyfile "$d/alt.eml" <<'PY'
import email.policy, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "alice@example.org"
m["To"] = "bob@example.org"
m["Subject"] = "alternative"
m.set_content("plain text\n")
m.add_alternative("<p>html</p>\n", subtype="html")
open(sys.argv[1], "wb").write(m.as_bytes(policy=email.policy.SMTP))
PY
	printf 'attached\n' >"$d/a.txt"
	send -A "$d/a.txt" bob@example.org <"$d/alt.eml"
	assert_status 0
	mimecheck "$(received)" <<'PY'
check_raw()
eq(structure(), "multipart/mixed[multipart/alternative[text/plain,text/html],"
   "text/plain]", "structure")
eq(str(msg["Subject"]), "alternative", "Subject")
eq(len(msg.get_all("MIME-Version")), 1, "MIME-Version fields")
text_eq(data(leaves[0]), b"plain text\n", "text")
text_eq(data(leaves[1]), b"<p>html</p>\n", "html")
eq(leaves[2].get_filename(), "a.txt", "attachment")
PY
}

@test "recipients: To from the arguments, -c in Cc and the envelope, -b/--bcc in the envelope only" {
	send -s rcpts -c cc1@example.org -c 'Carol <carol@example.org>' \
		-b bcc1@example.org --bcc 'Dave <dave@example.org>' \
		-bm -b eve@example.org -Ac -Am \
		'Bob <bob@example.org>' to2@example.org <<<"body"
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv mail_from)" = alice@example.org ]
	diff <(last_json srv rcpt_tos | sort) <(printf '%s\n' bob@example.org \
		to2@example.org cc1@example.org carol@example.org \
		bcc1@example.org dave@example.org eve@example.org | sort)
	mimecheck "$(received)" <<'PY'
addrs = lambda h: [(a.display_name, a.addr_spec) for a in msg[h].addresses]
eq(addrs("To"), [("Bob", "bob@example.org"), ("", "to2@example.org")], "To")
eq(addrs("Cc"), [("", "cc1@example.org"), ("Carol", "carol@example.org")],
   "Cc")
eq(msg.get_all("Bcc"), None, "Bcc header")
for who in (b"bcc1@", b"dave@", b"eve@"):
    assert who not in raw, "%r appears in the message" % who
# -Ac and -Am are sendmail's: no attachment
eq(structure(), "text/plain", "structure")
PY
}

@test "-c with a list of addresses: every address in Cc and in the envelope" {
	send -s list -c 'Ann <ann@example.org>, Ben <ben@example.org>' \
		bob@example.org <<<"body"
	assert_status 0
	diff <(last_json srv rcpt_tos | sort) <(printf '%s\n' bob@example.org \
		ann@example.org ben@example.org | sort)
	mimecheck "$(received)" <<'PY'
eq([(a.display_name, a.addr_spec) for a in msg["Cc"].addresses],
   [("Ann", "ann@example.org"), ("Ben", "ben@example.org")], "Cc")
PY
}

@test "a quoted display name is not quoted again" {
	send -s quoted -c '"Smith, John" <js@example.org>' \
		--from '"Müller, Jörg" <j@example.org>' bob@example.org <<<"body"
	assert_status 0
	mimecheck "$(received)" <<'PY'
check_raw()
eq([(a.display_name, a.addr_spec) for a in msg["Cc"].addresses],
   [("Smith, John", "js@example.org")], "Cc")
eq([(a.display_name, a.addr_spec) for a in msg["From"].addresses],
   [("Müller, Jörg", "j@example.org")], "From")
PY
}

@test "header injection: a line break or control character in any value is refused (64), nothing sent" {
	local d=$BATS_TEST_TMPDIR
	printf 'file\n' >"$d/f.txt"
	std_config srv starttls
	local nl=$'\n' cr=$'\r'
	# check_refused ARGS...: envoi ARGS exits 64 and sends nothing
	check_refused() {
		run --separate-stderr envoi -C "$CFG" "$@" <<<"body"
		if [ "$status" -ne 64 ]; then
			echo "not refused (status $status): $(printf '%q ' "$@")" >&2
			echo "stderr: $stderr" >&2
			return 1
		fi
		assert_error_line
		assert_nothing_sent
	}
	check_refused -s "x${nl}Bcc: evil@example.org" bob@example.org
	check_refused -s "x${cr}Bcc: evil@example.org" bob@example.org
	check_refused -s $'x\e[31mred' bob@example.org
	check_refused -s x --header "X-A: 1${cr}${nl}X-B: 2" bob@example.org
	check_refused -s x --header "X-A: 1${nl}Bcc: evil@example.org" bob@example.org
	check_refused -s x --from "a@example.org${nl}Bcc: evil@example.org" bob@example.org
	check_refused -s x --reply-to "r@example.org${nl}Bcc: evil@example.org" bob@example.org
	check_refused -s x -c "c@example.org${nl}Bcc: evil@example.org" bob@example.org
	check_refused -s x --bcc "b@example.org${cr}${nl}X: y" bob@example.org
	check_refused -s x -b "b@example.org${nl}X: y" bob@example.org
	check_refused -s x "bob@example.org${nl}Bcc: evil@example.org"
	check_refused -s x -A "$d/f.txt;name=x${nl}Content-Type: text/html" bob@example.org
	check_refused -s x -A "$d/f.txt;type=text/plain${nl}X-Evil: 1" bob@example.org
	check_refused -A "$d/f.txt;name=x${cr}y" bob@example.org
	# sendmail mode: -F (the full name of the From envoi adds), -f
	check_refused -F "Name${nl}Bcc: evil@example.org" bob@example.org
	check_refused -f "a@example.org>${cr}${nl}RCPT TO:<evil@example.org" bob@example.org
	# and the values that build the MIME structure are envoi's
	check_refused -s x --header 'Content-Type: text/html' bob@example.org
	check_refused -s x --header 'MIME-Version: 2.0' bob@example.org
	check_refused -s x --header 'no colon here' bob@example.org
}

@test "text that is not UTF-8 in -s, --header or a display name is refused (64), not dropped or sent raw" {
	local latin1_e=$'\xe9' what failed=
	for what in subject header from cc; do
		case $what in
		subject) send -s "caf${latin1_e}" bob@example.org <<<"body" ;;
		header) send -s x --header "X-Note: caf${latin1_e}" bob@example.org <<<"body" ;;
		from) send -s x --from "J${latin1_e}r <j@example.org>" bob@example.org <<<"body" ;;
		cc) send -s x -c "J${latin1_e}r <j@example.org>" bob@example.org <<<"body" ;;
		esac
		if [ "$status" -ne 64 ] || [ "$(msg_count srv)" -ne 0 ]; then
			failed+=" $what"
			echo "$what: status $status, expected 64; $(msg_count srv) message(s) sent" >&2
			[ "$(msg_count srv)" -eq 0 ] || head -n 8 "$(received)" >&2
			server_reset srv
		fi
	done
	[ -z "$failed" ]
}

@test "long values: a 70000-character Subject and a 300-character non-ASCII display name are never dropped or sent raw" {
	local long_subject long_name failed=
	long_subject=$(printf 'a%.0s' {1..70000})
	long_name=$(printf '\xc3\xa9%.0s' {1..300})
	send -s "$long_subject" bob@example.org <<<"body"
	if [ "$status" -eq 0 ]; then
		mimecheck "$(received)" "$long_subject" <<'PY' || failed+=" subject"
eq(str(msg["Subject"] or ""), args[0], "Subject")
PY
	elif [ "$status" -ne 64 ] || [ "$(msg_count srv)" -ne 0 ]; then
		failed+=" subject(status $status)"
	fi
	server_reset srv
	send -s x --from "$long_name <j@example.org>" \
		-c "$long_name <c@example.org>" bob@example.org <<<"body"
	if [ "$status" -eq 0 ]; then
		mimecheck "$(received)" "$long_name" <<'PY' || failed+=" display-name"
check_raw()
# Python's policy.default puts a space between adjacent encoded-words in
# a phrase; RFC 2047 6.2 says that white space is ignored, and so does
# the older decode_header, used here on the raw field.
import email as _email
from email.header import decode_header, make_header
from email.utils import getaddresses
old = _email.message_from_bytes(raw)	# compat32: fields left encoded
for h in ("From", "Cc"):
    name, addr = getaddresses([old[h]])[0]
    eq(str(make_header(decode_header(name))), args[0], h + " display name")
PY
	elif [ "$status" -ne 64 ] || [ "$(msg_count srv)" -ne 0 ]; then
		failed+=" display-name(status $status)"
	fi
	if [ -n "$failed" ]; then
		echo "failed:$failed" >&2
		return 1
	fi
}

@test "missing attachment, --body-file or --html: 66 naming the file, nothing sent" {
	local d=$BATS_TEST_TMPDIR
	printf 'ok\n' >"$d/ok.txt"
	check_missing() { # name-in-message args...
		local name=$1
		shift
		run --separate-stderr envoi -C "$CFG" "$@" <<<"body"
		if [ "$status" -ne 66 ]; then
			echo "status $status, expected 66: $(printf '%q ' "$@")" >&2
			echo "stderr: $stderr" >&2
			return 1
		fi
		assert_error_line
		assert_stderr_has "$name"
		assert_nothing_sent
	}
	std_config srv starttls
	check_missing "$d/nope.pdf" -s x -A "$d/nope.pdf" bob@example.org
	check_missing "$d/nope.pdf" -s x -A "$d/ok.txt" -A "$d/nope.pdf;name=y.pdf" bob@example.org
	check_missing "$d/nope.txt" -s x --body-file "$d/nope.txt" bob@example.org
	check_missing "$d/nope.html" -s x --html "$d/nope.html" bob@example.org
	check_missing "$d/nope.bin" -A "$d/nope.bin" bob@example.org
	check_missing "$d/nope.pdf" -s x --dry-run -A "$d/nope.pdf" bob@example.org
	[ -z "$output" ]
	if [ "$(id -u)" -ne 0 ]; then
		printf 'secret\n' >"$d/locked.txt"
		chmod 000 "$d/locked.txt"
		check_missing "$d/locked.txt" -s x -A "$d/locked.txt" bob@example.org
	fi
	# a directory cannot be read either (74 or 66), nothing goes out
	run --separate-stderr envoi -C "$CFG" -s x -A "$d" bob@example.org <<<"body"
	[ "$status" -ne 0 ]
	assert_error_line
	assert_stderr_has "$d"
	assert_nothing_sent
}

@test "-A options: name=, type=, inline; a file name holding ';'; bad options refused" {
	local d=$BATS_TEST_TMPDIR
	printf 'data one\n' >"$d/one.txt"
	printf 'data two\n' >"$d/semi;colon.txt"
	printf '\x89PNG\r\n\x1a\n' >"$d/pic"
	send -s opts -A "$d/one.txt;name=renamed.txt;inline" \
		-A "$d/semi;colon.txt" \
		-A "$d/pic;type=image/png;name=\"pic; 1.png\"" \
		-A "$d/one.txt; type=text/x-custom; attachment" \
		bob@example.org <<<"body"
	assert_status 0
	mimecheck "$(received)" <<'PY'
eq(len(leaves), 5, "number of parts")
a, b, c, e = leaves[1:]
eq((a.get_filename(), a.get_content_disposition()), ("renamed.txt", "inline"),
   "name= and inline")
text_eq(data(a), b"data one\n", "renamed content")
eq(b.get_filename(), "semi;colon.txt", "a file name holding ';'")
text_eq(data(b), b"data two\n", "semi;colon content")
eq((c.get_filename(), c.get_content_type()), ("pic; 1.png", "image/png"),
   "quoted name= and type=")
eq(data(c), b"\x89PNG\r\n\x1a\n", "pic content")
eq((e.get_filename(), e.get_content_type(), e.get_content_disposition()),
   ("one.txt", "text/x-custom", "attachment"), "type= with blanks")
PY
	local bad
	for bad in "$d/one.txt;bogus" "$d/one.txt;name=\"unterminated" \
		"$d/one.txt;type=noslash" "$d/one.txt;type=text/plain; charset=x"; do
		run --separate-stderr envoi -C "$CFG" -s x -A "$bad" bob@example.org <<<"body"
		if [ "$status" -ne 64 ]; then
			echo "-A '$bad': status $status, expected 64" >&2
			return 1
		fi
		assert_error_line
	done
	[ "$(msg_count srv)" -eq 1 ]
}

@test "--body-file replaces stdin; an empty body is allowed" {
	local d=$BATS_TEST_TMPDIR
	printf 'from the file\n' >"$d/body.txt"
	: >"$d/empty"
	printf 'att\n' >"$d/a.txt"
	send -s bodyfile --body-file "$d/body.txt" bob@example.org <<<"from stdin"
	assert_status 0
	mimecheck "$(received)" <<'PY'
eq(structure(), "text/plain", "structure")
text_eq(data(msg), b"from the file\n", "the body")
assert b"from stdin" not in raw, "stdin was read"
PY
	send -s empty bob@example.org </dev/null
	assert_status 0
	mimecheck "$(received)" <<'PY'
check_raw()
eq(structure(), "text/plain", "structure")
eq(str(msg["Subject"]), "empty", "Subject")
eq(data(msg), b"", "the body")
PY
	send -s empty-with-att --body-file "$d/empty" -A "$d/a.txt" bob@example.org </dev/null
	assert_status 0
	mimecheck "$(received)" <<'PY'
check_raw()
eq(structure(), "multipart/mixed[text/plain,text/plain]", "structure")
eq(data(leaves[0]), b"", "the body")
text_eq(data(leaves[1]), b"att\n", "the attachment")
for p in msg.walk():
    eq(p.defects, [], "defects")
PY
	[ "$(msg_count srv)" -eq 3 ]
}

@test "usage: -c, --bcc, --from, --reply-to, --header need -s (64)" {
	std_config srv starttls
	local opt
	for opt in "-c a@example.org" "--bcc b@example.org" "-b b@example.org" \
		"--from f@example.org" "--reply-to r@example.org" "--header X-A:1"; do
		# shellcheck disable=SC2086
		run --separate-stderr envoi -C "$CFG" $opt bob@example.org <<<"Subject: x

body"
		if [ "$status" -ne 64 ]; then
			echo "$opt: status $status, expected 64" >&2
			return 1
		fi
		assert_error_line
	done
	assert_nothing_sent
}

# normalise FILE: the message without Date and Message-ID, envoi's
# boundaries numbered in order of appearance
normalise() {
	"$PY" -c '
import re, sys
raw = open(sys.argv[1], "rb").read()
raw = re.sub(rb"(?m)^(Date|Message-ID):[^\r\n]*\r?\n", b"", raw)
seen = {}
def num(m):
    return seen.setdefault(m.group(0), b"=_BOUNDARY_%d" % len(seen))
sys.stdout.buffer.write(re.sub(rb"=_envoi_[0-9a-f]{32}", num, raw))
' "$1"
}

@test "--dry-run: the message parses and equals what the server receives" {
	local d=$BATS_TEST_TMPDIR
	html_file "$d/b.html"
	printf '\x00\x01bin\n' >"$d/x.bin"
	printf '. a dot line\n..two dots\nnaïve\n' >"$d/body"
	printf '. a dot line\n..two dots\n.\nFrom me\n' >"$d/dots.txt"
	std_config srv starttls
	local args=(-s 'Dry rün' --from 'Jörg <j@example.org>' -c cc@example.org
		-b hidden@example.org --header 'X-Test: yes' --html "$d/b.html"
		-A "$d/x.bin" -A "$d/dots.txt" 'Bob <bob@example.org>')
	run --separate-stderr envoi -C "$CFG" --dry-run -v "${args[@]}" <"$d/body"
	assert_status 0
	[ "$(msg_count srv)" -eq 0 ]
	[ "$(conn_count srv)" -eq 0 ]
	# -v: the envelope on stderr
	[[ $stderr == *"MAIL FROM:<alice@example.org>"* ]]
	local r
	for r in bob@example.org cc@example.org hidden@example.org; do
		[[ $stderr == *"RCPT TO:<$r>"* ]]
	done
	envoi -C "$CFG" --dry-run "${args[@]}" <"$d/body" >"$d/dry.eml"
	run --separate-stderr envoi -C "$CFG" "${args[@]}" <"$d/body"
	assert_status 0
	mimecheck "$d/dry.eml" <<'PY'
check_raw()
eq(structure(), "multipart/mixed[multipart/alternative[text/plain,text/html],"
   "application/octet-stream,text/plain]", "structure")
eq(str(msg["Subject"]), "Dry rün", "Subject")
for name in ("Date", "Message-ID", "From", "To", "Cc"):
    eq(len(msg.get_all(name, [])), 1, name)
eq(msg.get_all("Bcc"), None, "Bcc")
eq(leaves[3]["Content-Transfer-Encoding"], "7bit", "dots.txt encoding")
assert b"\r\n. a dot line\r\n..two dots\r\n.\r\n" in raw, "dot lines"
PY
	normalise "$d/dry.eml" >"$d/dry.norm"
	normalise "$(received)" >"$d/sent.norm"
	assert_same_file "$d/sent.norm" "$d/dry.norm"
	grep -q '=_BOUNDARY_1' "$d/dry.norm"
}
