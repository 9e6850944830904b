#!/usr/bin/env bats
# envoi -bs: SMTP on standard input and output, as programs that run
# "sendmail -bs" use it (Symfony Mailer's SendmailTransport, for one).
# Each message is relayed through the account's smarthost before envoi
# answers the final dot, several messages share one smarthost connection,
# and the smarthost's verdict reaches the client: 4xx -> 451, 5xx -> 5xx.
# The client side is tests/lib/bsmtp_client.py, driven by the Python
# snippets below.

# status, output, lines and stderr are set by bats' run
# shellcheck disable=SC2154

load lib/common

setup_file() {
	common_setup_file
	start_server srv --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
}

# cfg [key=value ...]: std_config for srv's STARTTLS listener, with queue
# "never": what is tested here is the smarthost's verdict passed on to the
# client, not what a queue makes of it
cfg() { std_config srv starttls queue=never "$@"; }

setup() {
	common_setup
	cfg
	SRVDIR=$(server_dir srv)
	export CFG SRVDIR
}

# bsmtp: run the Python client script on stdin (bsmtp_client imported as bc)
bsmtp() {
	PYTHONPATH="$TESTS_DIR/lib" timeout -k 5 60 "$PY" -B - "$@"
}

# nth_json N: the .json of the Nth message the server received in this test
nth_json() { find "$SRVDIR/mail" -name '*.json' | sort | sed -n "$1p"; }

# eml N: path of the Nth message's bytes
eml() {
	local j
	j=$(nth_json "$1")
	echo "${j%.json}.eml"
}

# json_of N FIELD: like last_json, for the Nth message
json_of() {
	"$PY" -c '
import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print("\n".join(v) if isinstance(v, list) else ("" if v is None else v))
' "$(nth_json "$1")" "$2"
}

@test "-bs: greeting, EHLO offers PIPELINING and 8BITMIME, HELO, NOOP, RSET, unknown command, QUIT" {
	run --separate-stderr bsmtp <<'EOF'
import os, bsmtp_client as bc
def main():
    c = bc.Client([os.environ["ENVOI"], "-C", os.environ["CFG"], "-bs"])
    c.expect(220)
    lines = c.cmd("EHLO client.example", 250)
    kw = [l[4:].split(" ")[0].upper() for l in lines[1:]]
    if "PIPELINING" not in kw or "8BITMIME" not in kw:
        c.fail("EHLO keywords: %r" % kw)
    c.cmd("HELO client.example", 250)
    c.cmd("NOOP", 250)
    c.cmd("RSET", 250)
    c.cmd("XYZZY", "5")
    c.cmd("noop", 250)          # verbs are case-insensitive
    c.quit()
bc.run(main)
EOF
	assert_status 0
	# nothing to relay: the smarthost was never contacted
	[ "$(conn_count srv)" -eq 0 ]
}

@test "-bs: one message, Symfony style: envelope and bytes arrive, dot-stuffing undone" {
	run --separate-stderr bsmtp <<'EOF'
import os, bsmtp_client as bc
MSG = (b"From: Alice <alice@example.org>\r\n"
       b"To: Bob <bob@example.org>\r\n"
       b"Subject: via -bs\r\n"
       b"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
       b"Message-ID: <bs-1@example.org>\r\n"
       b"\r\n"
       b"first line\r\n"
       b".\r\n"
       b"..two\r\n"
       b".leading\r\n"
       b"last\r\n")
def main():
    c = bc.Client([os.environ["ENVOI"], "-C", os.environ["CFG"], "-bs"])
    c.greet()
    c.cmd("MAIL FROM:<alice@example.org>", 250)
    c.cmd("RCPT TO:<bob@example.org>", 250)
    c.cmd("RCPT TO:<carol@example.net>", 250)
    c.cmd("DATA", 354)
    payload = c.stuff(MSG)
    # the lone dot inside the body goes out stuffed as ".."
    assert b"\r\n..\r\n" in payload and b"\r\n...two\r\n" in payload
    c.send(payload)
    c.expect(250)
    c.quit()
    open(os.environ["BATS_TEST_TMPDIR"] + "/expected", "wb").write(MSG)
bc.run(main)
EOF
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	assert_same_file "$BATS_TEST_TMPDIR/expected" "$(last_eml srv)"
	[ "$(last_json srv mail_from)" = alice@example.org ]
	[ "$(last_json srv rcpt_tos)" = "$(printf '%s\n' bob@example.org carol@example.net)" ]
}

@test "-bs: three messages in one session go over one smarthost connection" {
	run --separate-stderr bsmtp <<'EOF'
import os, bsmtp_client as bc
def msg(n):
    return ("From: a%d@example.org\r\nTo: r%d@example.org\r\nSubject: n%d\r\n"
            "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
            "Message-ID: <n%d@example.org>\r\n\r\nbody %d\r\n") % ((n,) * 5)
def main():
    c = bc.Client([os.environ["ENVOI"], "-C", os.environ["CFG"], "-bs"])
    c.greet()
    for n in (1, 2, 3):
        c.mail("a%d@example.org" % n, ["r%d@example.org" % n], msg(n))
    c.quit()
bc.run(main)
EOF
	assert_status 0
	[ "$(msg_count srv)" -eq 3 ]
	[ "$(conn_count srv)" -eq 1 ]
	local n
	for n in 1 2 3; do
		[ "$(json_of "$n" mail_from)" = "a$n@example.org" ]
		[ "$(json_of "$n" rcpt_tos)" = "r$n@example.org" ]
		grep -q "^body $n" "$(eml "$n")"
	done
	# one AUTH, one QUIT: the session was kept open between messages
	[ "$(grep -c ' AUTH ' "$(transcript srv)")" -eq 1 ]
	[ "$(grep -ci ' QUIT$' "$(transcript srv)")" -eq 1 ]
}

@test "-bs: pipelined commands in one write get their replies in order" {
	run --separate-stderr bsmtp <<'EOF'
import os, bsmtp_client as bc
def main():
    c = bc.Client([os.environ["ENVOI"], "-C", os.environ["CFG"], "-bs"])
    c.expect(220)
    c.send("EHLO client.example\r\nMAIL FROM:<alice@example.org>\r\n"
           "RCPT TO:<bob@example.org>\r\nRCPT TO:<carol@example.org>\r\n"
           "DATA\r\n")
    c.expect(250)   # EHLO
    c.expect(250)   # MAIL
    c.expect(250)   # RCPT
    c.expect(250)   # RCPT
    c.expect(354)   # DATA
    # the message, the dot and the next transaction in one write too
    c.send(c.stuff("Subject: piped\r\n\r\none\r\n") +
           b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<dave@example.org>\r\n"
           b"DATA\r\n")
    c.expect(250)   # end of data
    c.expect(250)   # MAIL
    c.expect(250)   # RCPT
    c.expect(354)   # DATA
    c.send(c.stuff("Subject: piped 2\r\n\r\ntwo\r\n") + b"QUIT\r\n")
    c.expect(250)
    c.expect(221)
    if c.wait() != 0:
        c.fail("exit status %d" % c.proc.returncode)
bc.run(main)
EOF
	assert_status 0
	[ "$(msg_count srv)" -eq 2 ]
	[ "$(json_of 1 rcpt_tos)" = "$(printf '%s\n' bob@example.org carol@example.org)" ]
	[ "$(json_of 2 rcpt_tos)" = dave@example.org ]
	grep -q $'^Subject: piped\r$' "$(eml 1)"
	grep -q '^one' "$(eml 1)"
	grep -q '^Subject: piped 2' "$(eml 2)"
	[ "$(conn_count srv)" -eq 1 ]
}

@test "-bs: a message the smarthost refuses (554) gets 5xx; the next one in the session is delivered" {
	run --separate-stderr bsmtp <<'EOF'
import os, bsmtp_client as bc
def main():
    c = bc.Client([os.environ["ENVOI"], "-C", os.environ["CFG"], "-bs"])
    c.greet()
    bc.ctl("reply-EOD", "554 5.7.1 nope\n")
    lines = c.mail("alice@example.org", ["bob@example.org"],
                   "Subject: refused\r\n\r\nno\r\n", "5")
    if "nope" not in " ".join(lines):
        c.fail("the smarthost's reason is not passed on: %r" % lines)
    bc.unctl("reply-EOD")
    c.mail("alice@example.org", ["carol@example.org"],
           "Subject: accepted\r\n\r\nyes\r\n", 250)
    c.quit()
bc.run(main)
EOF
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv rcpt_tos)" = carol@example.org ]
	grep -q '^Subject: accepted' "$(last_eml srv)"
}

@test "-bs: a temporary refusal (451 after the dot) gets 451; the client may retry in the same session" {
	run --separate-stderr bsmtp <<'EOF'
import os, bsmtp_client as bc
def main():
    c = bc.Client([os.environ["ENVOI"], "-C", os.environ["CFG"], "-bs"])
    c.greet()
    bc.ctl("reply-EOD", "451 4.3.0 try later\n")
    c.mail("alice@example.org", ["bob@example.org"], "Subject: t\r\n\r\nx\r\n", 451)
    bc.unctl("reply-EOD")
    c.mail("alice@example.org", ["bob@example.org"], "Subject: t\r\n\r\nx\r\n", 250)
    c.quit()
bc.run(main)
EOF
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
}

@test "-bs: a recipient the smarthost refuses: 5xx after the dot, nothing delivered" {
	server_ctl srv reply-RCPT 'nobody@example.org 550 5.1.1 no such user'
	run --separate-stderr bsmtp <<'EOF'
import os, bsmtp_client as bc
def main():
    c = bc.Client([os.environ["ENVOI"], "-C", os.environ["CFG"], "-bs"])
    c.greet()
    lines = c.mail("alice@example.org", ["bob@example.org", "nobody@example.org"],
                   "Subject: t\r\n\r\nx\r\n", "55")
    if "nobody@example.org" not in " ".join(lines):
        c.fail("the refused recipient is not named: %r" % lines)
    c.quit()
bc.run(main)
EOF
	assert_status 0
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv DATA
}

@test "-bs: smarthost unreachable: 451 (try again), and envoi goes on serving" {
	cfg port="$(free_port)"
	run --separate-stderr bsmtp <<'EOF'
import os, bsmtp_client as bc
def main():
    c = bc.Client([os.environ["ENVOI"], "-C", os.environ["CFG"], "-bs"])
    c.greet()
    c.mail("alice@example.org", ["bob@example.org"], "Subject: t\r\n\r\nx\r\n", 451)
    c.cmd("NOOP", 250)
    c.quit()
bc.run(main)
EOF
	assert_status 0
}

@test "-bs: command sequence errors and bad syntax get 503/501, the transaction survives" {
	run --separate-stderr bsmtp <<'EOF'
import os, bsmtp_client as bc
def main():
    c = bc.Client([os.environ["ENVOI"], "-C", os.environ["CFG"], "-bs"])
    c.greet()
    c.cmd("RCPT TO:<bob@example.org>", 503)
    c.cmd("DATA", 503)
    c.cmd("MAIL FROM:alice@example.org", 501)       # no angle brackets
    c.cmd("MAIL FROM:<alice@example.org>", 250)
    c.cmd("MAIL FROM:<other@example.org>", 503)     # nested MAIL
    c.cmd("DATA", 503)                              # no RCPT yet
    c.cmd("RCPT TO:<not an address>", 501)
    c.cmd("RCPT TO:<bob@example.org>", 250)
    c.data("Subject: survived\r\n\r\nx\r\n", 250)
    c.quit()
bc.run(main)
EOF
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv mail_from)" = alice@example.org ]
	[ "$(last_json srv rcpt_tos)" = bob@example.org ]
}

@test "-bs: RSET drops the transaction; the next one starts clean" {
	run --separate-stderr bsmtp <<'EOF'
import os, bsmtp_client as bc
def main():
    c = bc.Client([os.environ["ENVOI"], "-C", os.environ["CFG"], "-bs"])
    c.greet()
    c.cmd("MAIL FROM:<first@example.org>", 250)
    c.cmd("RCPT TO:<dropped@example.org>", 250)
    c.cmd("RSET", 250)
    c.cmd("DATA", 503)
    c.mail("second@example.org", ["kept@example.org"], "Subject: t\r\n\r\nx\r\n")
    c.quit()
bc.run(main)
EOF
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv mail_from)" = second@example.org ]
	[ "$(last_json srv rcpt_tos)" = kept@example.org ]
}

@test "-bs: null sender, bare recipient name qualified, 8-bit body relayed with BODY=8BITMIME" {
	run --separate-stderr bsmtp <<'EOF'
import os, bsmtp_client as bc
def main():
    c = bc.Client([os.environ["ENVOI"], "-C", os.environ["CFG"], "-bs"])
    c.greet()
    c.cmd("MAIL FROM:<> BODY=8BITMIME", 250)
    c.cmd("RCPT TO:<postmaster>", 250)
    c.data("Subject: bounce\r\n\r\ncaf\xc3\xa9\r\n".encode("latin-1"), 250)
    c.quit()
bc.run(main)
EOF
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	# aiosmtpd records the null sender as "<>"
	[[ "$(last_json srv mail_from)" == ?("<>") ]]
	[ "$(last_json srv rcpt_tos)" = postmaster@example.org ]
	grep -q '^[0-9]* MAIL FROM:<> .*BODY=8BITMIME' "$(transcript srv)"
	grep -q $'caf\xc3\xa9' "$(last_eml srv)"
}

@test "-bs: the client hanging up without QUIT ends envoi; nothing half-sent is delivered" {
	run --separate-stderr bsmtp <<'EOF'
import os, bsmtp_client as bc
def main():
    c = bc.Client([os.environ["ENVOI"], "-C", os.environ["CFG"], "-bs"])
    c.greet()
    c.cmd("MAIL FROM:<alice@example.org>", 250)
    c.cmd("RCPT TO:<bob@example.org>", 250)
    c.cmd("DATA", 354)
    c.send("Subject: cut\r\n\r\nhalf a mess")
    c.wait()            # closes stdin; must exit within the timeout
bc.run(main)
EOF
	assert_status 0
	[ "$(msg_count srv)" -eq 0 ]
}

@test "-bs: a 64 KiB header line that starts with a dot is refused, not split into a second header" {
	# The reader's 64 KiB limit counts the SMTP dot: a line of exactly
	# 64 KiB as sent ('.' + 65535 bytes) once slipped under the limit after
	# the dot was stripped, and its tail became a header of its own.
	run --separate-stderr bsmtp <<'EOF2'
import os, bsmtp_client as bc
def main():
    c = bc.Client([os.environ["ENVOI"], "-C", os.environ["CFG"], "-bs"])
    c.greet()
    c.cmd("MAIL FROM:<alice@example.org>", 250)
    c.cmd("RCPT TO:<bob@example.org>", 250)
    c.cmd("DATA", 354)
    head = b".X-A: "
    line = head + b"a" * (65536 - len(head))
    assert len(line) == 65536
    c.send(b"From: alice@example.org\r\n" + line +
           b"X-Injected: yes\r\n\r\nbody\r\n.\r\n")
    lines = c.expect("5")
    assert "longer than" in "".join(lines), lines
    c.quit()
bc.run(main)
EOF2
	assert_status 0
	[ "$(msg_count srv)" -eq 0 ]
}

@test "-bs: SMTP smuggling: only CRLF . CRLF ends DATA; \\n.\\n, \\r\\n.\\n, \\n.\\r\\n, \\r.\\r stay in the message" {
	run --separate-stderr bsmtp <<'EOF2'
import os, bsmtp_client as bc
ENDS = [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\r", b"\r.\r\n"]
def main():
    c = bc.Client([os.environ["ENVOI"], "-C", os.environ["CFG"], "-bs"])
    c.greet()
    for i, end in enumerate(ENDS):
        c.cmd("MAIL FROM:<alice@example.org>", 250)
        c.cmd("RCPT TO:<bob@example.org>", 250)
        c.cmd("DATA", 354)
        c.send(b"From: alice@example.org\r\nSubject: smuggle %d\r\n\r\nbody"
               % i + end + b"MAIL FROM:<evil@example.org>\r\n"
               b"RCPT TO:<victim@example.org>\r\nDATA\r\n"
               b"Subject: smuggled\r\n\r\nevil\r\n.\r\n")
        c.expect(250)
    # a line that ends in CR CR LF is followed by CRLF . CRLF: the end
    c.cmd("MAIL FROM:<alice@example.org>", 250)
    c.cmd("RCPT TO:<bob@example.org>", 250)
    c.cmd("DATA", 354)
    c.send(b"From: alice@example.org\r\nSubject: crcrlf\r\n\r\nx\r\r\n.\r\n")
    c.expect(250)
    # a message refused for its header (a 5xx) is skipped to the same end
    c.cmd("MAIL FROM:<alice@example.org>", 250)
    c.cmd("RCPT TO:<bob@example.org>", 250)
    c.cmd("DATA", 354)
    c.send(b"From: alice@example.org\r\nnot a header\r\n\r\nx\n.\n"
           b"MAIL FROM:<evil@example.org>\r\n.\r\n")
    c.expect("5")
    c.quit()
bc.run(main)
EOF2
	assert_status 0
	[ "$(msg_count srv)" -eq 7 ]
	local i
	for i in 1 2 3 4 5 6; do
		[ "$(json_of "$i" rcpt_tos)" = bob@example.org ]
		grep -q '^MAIL FROM:<evil@example.org>' "$(eml "$i")"
		# the stray dot is a line of its own (sent stuffed, so it
		# could not end DATA at the smarthost either)
		tr -d '\r' <"$(eml "$i")" | grep -qx '\.'
	done
	# and no seventh message: the smuggled one does not exist
	[ "$(grep -c 'victim@example.org' "$SRVDIR"/mail/*.json | grep -vc ':0$')" -eq 0 ]
}
