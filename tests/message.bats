#!/usr/bin/env bats
# Message handling: line endings, dot-stuffing, -i/-oi, 8-bit data,
# malformed headers, -t recipient extraction, Bcc removal.

load lib/common

setup_file() {
	common_setup_file
	start_server srv --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
}

setup() {
	common_setup
	std_config srv starttls
	MSG="$BATS_TEST_TMPDIR/msg"
	EXP="$BATS_TEST_TMPDIR/expected"
}

# send [envoi args...]: deliver $MSG with $CFG
send() {
	run --separate-stderr envoi -C "$CFG" "$@" <"$MSG"
}

@test "bare LF input is sent with CRLF line endings" {
	std_msg "$MSG"
	to_crlf "$MSG" "$EXP"
	send bob@example.org
	assert_status 0
	assert_no_bare_lf "$(last_eml srv)"
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "CRLF input (and mixed CRLF/LF) is not doubled" {
	printf 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: crlf\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\nMessage-ID: <crlf@example.org>\n\r\nline one\r\nline two\nline three\r\n' >"$MSG"
	printf 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: crlf\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\nMessage-ID: <crlf@example.org>\r\n\r\nline one\r\nline two\r\nline three\r\n' >"$EXP"
	send bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "a last line without newline gets CRLF" {
	printf 'From: alice@example.org\nTo: bob@example.org\nSubject: no eol\nDate: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <noeol@example.org>\n\nno newline here' >"$MSG"
	printf 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: no eol\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\nMessage-ID: <noeol@example.org>\r\n\r\nno newline here\r\n' >"$EXP"
	send bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "dot-stuffing round trip (-i): leading dots arrive unchanged" {
	write_msg "$MSG" <<'EOF'
From: alice@example.org
To: bob@example.org
Subject: dots
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <dots@example.org>

.
..
...
.leading dot
..two leading dots
 .space then dot
. dot then space
end with dot.
.
EOF
	to_crlf "$MSG" "$EXP"
	send -i bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
	[ "$(msg_count srv)" -eq 1 ]
}

@test "-oi is the same as -i" {
	printf 'From: alice@example.org\nTo: bob@example.org\nSubject: oi\nDate: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <oi@example.org>\n\nbefore\n.\nafter\n' >"$MSG"
	to_crlf "$MSG" "$EXP"
	send -oi bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "without -i a line holding only '.' ends the message" {
	printf 'From: alice@example.org\nTo: bob@example.org\nSubject: lone dot\nDate: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <lone@example.org>\n\n.not the end\n..\nlast line\n.\nthis is not sent\n' >"$MSG"
	printf 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: lone dot\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\nMessage-ID: <lone@example.org>\r\n\r\n.not the end\r\n..\r\nlast line\r\n' >"$EXP"
	send bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "a body of many 64 KiB blocks: every line ending, dot and late 8-bit byte as if read line by line" {
	# Lines of every kind (LF, CRLF, CR...CRLF, bare CR, leading dots,
	# empty) across block boundaries, one 8-bit byte only near the end;
	# the expected text comes from the rules, not from envoi.
	"$PY" - "$MSG" "$EXP" <<'PYEOF'
import random, re, sys
rnd = random.Random(7)
head = (b"From: alice@example.org\nTo: bob@example.org\nSubject: blocks\n"
        b"Date: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <blk@example.org>\n\n")
kinds = [b"\n", b"\r\n", b"\r\r\n", b"\r"]
body = []
for i in range(20000):
    line = rnd.choice([b"", b".", b"..", b".x", b"x" * rnd.randint(1, 120)])
    body.append(line + rnd.choice(kinds))
body.append(b"caf\xc3\xa9\n.\nlast without newline")
body = b"".join(body)
open(sys.argv[1], "wb").write(head + body)
# A line ends at CR...CRLF, LF, or a CR not before those; out: CRLF.
lines = re.split(rb"\r*\n|\r", body)
exp = head.replace(b"\n", b"\r\n") + b"".join(l + b"\r\n" for l in lines)
open(sys.argv[2], "wb").write(exp)
PYEOF
	send -i bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
	grep -q '^[0-9]* MAIL FROM:<[^>]*> .*BODY=8BITMIME' "$(transcript srv)"
}

@test "--dry-run undoes the dot-stuffing, a stuffed pair split between two blocks included" {
	# Lines "..", stuffed to "...\r\n" (5 bytes): one of five header
	# lengths puts a block edge (256 KiB) between the first two dots.
	local pad
	for pad in "" x xx xxx xxxx; do
		"$PY" - "$MSG" "$EXP" "$pad" <<'PYEOF'
import sys
head = ("From: alice@example.org\nTo: bob@example.org\nSubject: dots%s\n"
        "Date: Mon, 01 Jan 2024 00:00:00 +0000\n"
        "Message-ID: <dry@example.org>\n\n" % sys.argv[3]).encode()
body = b"..\n" * 120000 + b".x\n.\nend\n"
open(sys.argv[1], "wb").write(head + body)
open(sys.argv[2], "wb").write((head + body).replace(b"\n", b"\r\n"))
PYEOF
		envoi -C "$CFG" --dry-run -i bob@example.org <"$MSG" >"$MSG.out"
		assert_same_file "$EXP" "$MSG.out"
	done
}

@test "8-bit body bytes arrive unchanged" {
	printf 'From: alice@example.org\nTo: bob@example.org\nSubject: 8bit\nDate: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <8bit@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGr\xc3\xbc\xc3\x9fe, \xe2\x82\xac\nlatin1 \xe9\xff\x80\n\ttab\x7f\x01\n' >"$MSG"
	to_crlf "$MSG" "$EXP"
	send bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "message of headers only (no body) is sent as is" {
	printf 'From: alice@example.org\nTo: bob@example.org\nSubject: headers only\nDate: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <hdr@example.org>\n' >"$MSG"
	to_crlf "$MSG" "$EXP"
	send bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "folded header lines are not malformed and arrive unchanged" {
	write_msg "$MSG" <<'EOF'
From: alice@example.org
To: bob@example.org
Subject: a subject that is
 folded over
	three lines
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <fold@example.org>
X-Empty:

body
EOF
	to_crlf "$MSG" "$EXP"
	send bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "malformed header (non-header line before the blank line): exit 65, nothing sent" {
	printf 'Subject: x\nthis line is not a header\n\nbody\n' >"$MSG"
	send bob@example.org
	assert_status 65
	assert_error_line
	[ "$(msg_count srv)" -eq 0 ]
}

@test "malformed header after several good ones: exit 65" {
	printf 'From: alice@example.org\nTo: bob@example.org\nSubject: x\nX-Fine: yes\nbroken line without colon\n\nbody\n' >"$MSG"
	send bob@example.org
	assert_status 65
	[ "$(msg_count srv)" -eq 0 ]
}

@test "a message without any header line is all body, after the headers envoi adds" {
	# RFC 5322: the body follows the header section and an empty line, so
	# the receiver cannot take the first body line for a header.  envoi
	# adds From, Date and Message-ID (set_*_header default on) and changes
	# nothing in the body.
	printf 'hello, this is no header\nsecond line\n' >"$MSG"
	send bob@example.org
	assert_status 0
	local eml
	eml=$(last_eml srv)
	# The body, byte for byte, after the first empty line.
	printf 'hello, this is no header\r\nsecond line\r\n' >"$EXP"
	$PY -B -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.stdout.buffer.write(d.split(b"\r\n\r\n",1)[1])' "$eml" >"$BATS_TEST_TMPDIR/body"
	assert_same_file "$EXP" "$BATS_TEST_TMPDIR/body"
	# The header section holds exactly the three added fields.
	run $PY -B -c 'import sys; d=open(sys.argv[1],"rb").read(); print(" ".join(l.split(b":")[0].decode() for l in d.split(b"\r\n\r\n",1)[0].split(b"\r\n")))' "$eml"
	[ "$output" = "From Date Message-ID" ]
	grep -q '^From: alice@example.org' "$eml"
}

@test "-t: recipients from To, Cc and Bcc (display names, quotes, comments, groups, folding)" {
	write_msg "$MSG" <<'EOF'
From: Alice <alice@example.org>
To: "Doe, John" <john@example.org>, bob@example.org (Bob, the builder),
  "carol@fake.example" <carol@example.org>
Cc: team: dave@example.org, "Eve E." <eve@example.org>;, frank@example.org
Bcc: grace@example.org
Subject: -t test
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <t1@example.org>

To: notme@example.org
EOF
	send -t
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	diff <(last_json srv rcpt_tos | sort) <(printf '%s\n' bob@example.org carol@example.org \
		dave@example.org eve@example.org frank@example.org grace@example.org john@example.org)
}

@test "-t: several To/Cc headers, empty group, undisclosed-recipients" {
	write_msg "$MSG" <<'EOF'
From: alice@example.org
To: undisclosed-recipients:;
To: one@example.org
Cc: two@example.org,three@example.org
Cc: nobody:;
Subject: many headers
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <t2@example.org>

body
EOF
	send -t
	assert_status 0
	diff <(last_json srv rcpt_tos | sort) <(printf '%s\n' one@example.org three@example.org two@example.org)
}

@test "-t: header names are case-insensitive" {
	write_msg "$MSG" <<'EOF'
From: alice@example.org
TO: upper@example.org
cc: lower@example.org
BCC: hidden@example.org
Subject: case
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <t3@example.org>

body
EOF
	send -t
	assert_status 0
	diff <(last_json srv rcpt_tos | sort) <(printf '%s\n' hidden@example.org lower@example.org upper@example.org)
	[ "$(grep -ci '^bcc' "$(last_eml srv)")" -eq 0 ]
}

@test "-t adds argument recipients to the header ones" {
	std_msg "$MSG" # To: Bob <bob@example.org>
	send -t extra@example.net
	assert_status 0
	diff <(last_json srv rcpt_tos | sort) <(printf '%s\n' bob@example.org extra@example.net)
}

@test "-t removes the Bcc header (with its continuation lines), nothing else changes" {
	write_msg "$MSG" <<'EOF'
From: Alice <alice@example.org>
To: bob@example.org
Bcc: grace@example.org,
  heidi@example.org
Subject: blind
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <bcc@example.org>

Bcc: this body line stays
EOF
	printf 'From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: blind\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\nMessage-ID: <bcc@example.org>\r\n\r\nBcc: this body line stays\r\n' >"$EXP"
	send -t
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
	diff <(last_json srv rcpt_tos | sort) <(printf '%s\n' bob@example.org grace@example.org heidi@example.org)
}

@test "without -t header recipients are ignored" {
	std_msg "$MSG" # To: Bob <bob@example.org>
	send carol@example.org
	assert_status 0
	[ "$(last_json srv rcpt_tos)" = carol@example.org ]
}
