#!/usr/bin/env bats
# sendmail(8) compatibility of the command line: modes (-bm, -bp, -bs is in
# bsmtp.bats, -bi, -q), program names (mailq, newaliases), -o options, the
# flags other MTAs accept and envoi ignores, grouped letters, comma lists,
# -f/-r/-F, -B and 8BITMIME, DSN (-N, -R, -V), -v and -X, SMTPUTF8, long
# lines, and the exit status for each kind of refusal after the data.

# status, output, lines and stderr are set by bats' run
# shellcheck disable=SC2154

load lib/common

setup_file() {
	common_setup_file
	start_server srv --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
}

# cfg [key=value ...]: std_config for srv's STARTTLS listener
cfg() { std_config srv starttls "$@"; }

# not CMD...: CMD must fail (a bare "! CMD" does not fail a bats test)
not() {
	if "$@"; then
		echo "should have failed: $*" >&2
		return 1
	fi
}

setup() {
	common_setup
	cfg
	MSG="$BATS_TEST_TMPDIR/msg"
	EXP="$BATS_TEST_TMPDIR/expected"
	std_msg "$MSG"
	to_crlf "$MSG" "$EXP"
}

# msg8: a complete message with an 8-bit body, on stdout
msg8() {
	printf 'From: alice@example.org\nTo: bob@example.org\nSubject: 8bit\nDate: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <8bit@example.org>\n\ncaf\xc3\xa9\n'
}

# send [envoi args...]: deliver $MSG with $CFG
send() {
	run --separate-stderr envoi -C "$CFG" "$@" <"$MSG"
}

# mail_line: the MAIL command of the last connection
mail_line() { last_conn srv | grep -i '^MAIL ' | tail -n 1; }

# rcpt_lines: the RCPT commands of the last connection
rcpt_lines() { last_conn srv | grep -i '^RCPT '; }

# --- modes and program names ------------------------------------------------

@test "-bm is the default mode: the message is sent as is" {
	send -bm bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
	[ "$(last_json srv rcpt_tos)" = bob@example.org ]
}

@test "-odq: queued, not sent; -bp and mailq list it alike; -q delivers it as it was" {
	send -odq bob@example.org
	assert_status 0
	[ "$(conn_count srv)" -eq 0 ]
	local id
	id=$(grep -o 'queued as [^ ,]*' <<<"$stderr" | sed 's/queued as //')
	[ -n "$id" ]
	run --separate-stderr envoi -C "$CFG" -bp </dev/null
	assert_status 0
	local listing=$output
	grep -qF -- "$id" <<<"$listing"
	grep -qF -- '<bob@example.org>' <<<"$listing"
	ln -s "$ENVOI" "$BATS_TEST_TMPDIR/mailq"
	run --separate-stderr timeout 10 "$BATS_TEST_TMPDIR/mailq" -C "$CFG" </dev/null
	assert_status 0
	grep -qF -- "$id" <<<"$output"
	grep -qF -- '<bob@example.org>' <<<"$output"
	[ "$(wc -l <<<"$output")" -eq "$(wc -l <<<"$listing")" ]
	[ "$(conn_count srv)" -eq 0 ]
	run --separate-stderr envoi -C "$CFG" -q </dev/null
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	assert_same_file "$EXP" "$(last_eml srv)"
	[ "$(last_json srv mail_from)" = alice@example.org ]
	[ "$(last_json srv rcpt_tos)" = bob@example.org ]
	run --separate-stderr envoi -C "$CFG" -bp </dev/null
	assert_status 0
	not grep -qF -- "$id" <<<"$output"
}

@test "-bp and mailq with an empty queue: exit 0, nothing sent" {
	run --separate-stderr envoi -C "$CFG" -bp </dev/null
	assert_status 0
	ln -s "$ENVOI" "$BATS_TEST_TMPDIR/mailq"
	local bp=$output
	run --separate-stderr timeout 10 "$BATS_TEST_TMPDIR/mailq" -C "$CFG" </dev/null
	assert_status 0
	[ "$output" = "$bp" ]
	[ "$(conn_count srv)" -eq 0 ]
}

@test "called as newaliases, or with -bi: exit 0, silent, nothing sent" {
	ln -s "$ENVOI" "$BATS_TEST_TMPDIR/newaliases"
	run --separate-stderr timeout 10 "$BATS_TEST_TMPDIR/newaliases" </dev/null
	assert_status 0
	[ -z "$output" ]
	[ -z "$stderr" ]
	run --separate-stderr envoi -C "$CFG" -bi </dev/null
	assert_status 0
	[ -z "$output" ]
	[ -z "$stderr" ]
	[ "$(conn_count srv)" -eq 0 ]
}

@test "called as sendmail (or any other name): sends" {
	ln -s "$ENVOI" "$BATS_TEST_TMPDIR/sendmail"
	run --separate-stderr timeout 10 "$BATS_TEST_TMPDIR/sendmail" -C "$CFG" -oi bob@example.org <"$MSG"
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "-q and -q30m with an empty queue: exit 0, nothing sent" {
	run --separate-stderr envoi -C "$CFG" -q </dev/null
	assert_status 0
	run --separate-stderr envoi -C "$CFG" -q30m </dev/null
	assert_status 0
	[ "$(conn_count srv)" -eq 0 ]
}

@test "-odi and -odb deliver at once" {
	send -odi bob@example.org
	assert_status 0
	send -odb carol@example.org
	assert_status 0
	[ "$(msg_count srv)" -eq 2 ]
	assert_same_file "$EXP" "$(last_eml srv)"
	[ "$(last_json srv rcpt_tos)" = carol@example.org ]
}

@test "an unknown -b mode or -od mode: exit 64 naming it, nothing sent" {
	send -bx bob@example.org
	assert_status 64
	assert_error_line
	[[ $stderr == *-bx* ]]
	send -odz bob@example.org
	assert_status 64
	[[ $stderr == *-odz* ]]
	[ "$(conn_count srv)" -eq 0 ]
}

# --- accepted and ignored ----------------------------------------------------

@test "-oem -oep -oeq -oew -oee and other -o options are accepted and ignored" {
	send -oem -oep -oeq -oew -oee -oQ/var/spool/mqueue -oL9 -o i bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
	[ "$(last_json srv rcpt_tos)" = bob@example.org ]
}

@test "-O opt=val -L tag -h N -G -U -m -n -A c are accepted and change nothing" {
	send -O DeliveryMode=b -L tag -h 17 -G -U -m -n -A c -Am bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
	[ "$(last_json srv mail_from)" = alice@example.org ]
	[ "$(last_json srv rcpt_tos)" = bob@example.org ]
}

@test "unknown flag: exit 64, stderr names it, nothing sent" {
	send -k bob@example.org
	assert_status 64
	assert_error_line
	[[ $stderr == *"'-k'"* ]]
	send -tk bob@example.org
	assert_status 64
	[[ $stderr == *"'-k'"* ]]
	[ "$(conn_count srv)" -eq 0 ]
}

# --- grouped letters, --, comma lists ---------------------------------------

@test "grouped letters: -ti is -t -i (header recipients, and a lone dot does not end the message)" {
	write_msg "$MSG" <<'EOF'
From: alice@example.org
To: Bob <bob@example.org>
Cc: carol@example.org
Subject: grouped
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <grouped@example.org>

before
.
after
EOF
	to_crlf "$MSG" "$EXP"
	send -ti
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
	[ "$(last_json srv rcpt_tos)" = "$(printf '%s\n' bob@example.org carol@example.org)" ]
	send -it
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "-- ends the options: a recipient after it may start with a dash" {
	send -i -- -dash@example.org bob@example.org
	assert_status 0
	[ "$(last_json srv rcpt_tos)" = "$(printf '%s\n' -dash@example.org bob@example.org)" ]
}

@test "one argument holding a comma list (cron's MAILTO=a,b) is several recipients" {
	send -i 'bob@example.org,carol@example.net, Dave <dave@example.com>'
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv rcpt_tos)" = "$(printf '%s\n' bob@example.org carol@example.net dave@example.com)" ]
}

@test "a recipient given twice, across arguments and lists, is sent to once" {
	send 'bob@example.org,carol@example.org' bob@example.org
	assert_status 0
	[ "$(last_json srv rcpt_tos)" = "$(printf '%s\n' bob@example.org carol@example.org)" ]
	[ "$(rcpt_lines | wc -l)" -eq 2 ]
}

# --- -f, -r, -F ----------------------------------------------------------------

@test "-r ADDR is the same as -f ADDR (attached or separate)" {
	send -r bounce@example.org bob@example.org
	assert_status 0
	[ "$(last_json srv mail_from)" = bounce@example.org ]
	send -rbounce2@example.org bob@example.org
	assert_status 0
	[ "$(last_json srv mail_from)" = bounce2@example.org ]
	# the message is not touched: it has its own From
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "-f '<>' and -f '' give the null sender" {
	send -f '<>' bob@example.org
	assert_status 0
	grep -q '^MAIL FROM:<>' <(mail_line)
	send -f '' bob@example.org
	assert_status 0
	grep -q '^MAIL FROM:<>' <(mail_line)
	[ "$(msg_count srv)" -eq 2 ]
}

@test "-F NAME (separate) is the display name of the From that envoi adds" {
	printf 'To: bob@example.org\nSubject: no from\n\nbody\n' >"$MSG"
	send -F 'Cron Daemon' bob@example.org
	assert_status 0
	grep -qx $'From: Cron Daemon <alice@example.org>\r' "$(last_eml srv)"
	[ "$(grep -c '^From:' "$(last_eml srv)")" -eq 1 ]
}

@test "-FNAME attached, with -f: From is 'NAME <-f address>'" {
	printf 'To: bob@example.org\nSubject: no from\n\nbody\n' >"$MSG"
	send -FCronDaemon -f daemon@example.org bob@example.org
	assert_status 0
	grep -qx $'From: CronDaemon <daemon@example.org>\r' "$(last_eml srv)"
	[ "$(last_json srv mail_from)" = daemon@example.org ]
}

@test "-F with specials is quoted, with non-ASCII RFC 2047-encoded; Python reads the name back" {
	printf 'To: bob@example.org\nSubject: no from\n\nbody\n' >"$MSG"
	send -F 'Zoë Ünicode-Tëst' bob@example.org
	assert_status 0
	grep -q '^From: =?UTF-8?' "$(last_eml srv)"
	send -F 'Doe, John "JD"' bob@example.org
	assert_status 0
	"$PY" - "$(find "$(server_dir srv)/mail" -name '*.eml' | sort)" <<'EOF'
import sys, email, email.policy, email.utils
files = sys.argv[1].split()
want = ["Zoë Ünicode-Tëst", 'Doe, John "JD"']
for path, name in zip(files, want):
    msg = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
    got = msg["From"].addresses[0]
    assert (got.display_name, got.addr_spec) == (name, "alice@example.org"), (path, got)
EOF
}

@test "-F is ignored when the message has a From header" {
	send -F 'Somebody Else' bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "-F with a control character: exit 64, nothing sent" {
	printf 'To: bob@example.org\nSubject: no from\n\nbody\n' >"$MSG"
	send -F $'bad\x01name' bob@example.org
	assert_status 64
	assert_error_line
	[ "$(conn_count srv)" -eq 0 ]
}

# --- -B and 8BITMIME -------------------------------------------------------------

@test "8-bit body: MAIL carries BODY=8BITMIME (the server offers 8BITMIME)" {
	msg8 >"$MSG"
	send bob@example.org
	assert_status 0
	grep -q ' BODY=8BITMIME' <(mail_line)
	grep -q $'caf\xc3\xa9' "$(last_eml srv)"
}

@test "7-bit message: no BODY parameter" {
	send bob@example.org
	assert_status 0
	not grep -qi 'BODY=' <(mail_line)
}

@test "8-bit header field (raw UTF-8 Subject), 7-bit body: BODY=8BITMIME" {
	printf 'From: alice@example.org\nSubject: caf\xc3\xa9\n\nplain ascii body\n' >"$MSG"
	send bob@example.org
	assert_status 0
	grep -q ' BODY=8BITMIME' <(mail_line)
}

@test "-B 8BITMIME forces BODY=8BITMIME on a 7-bit message; -B8bitmime attached, any case" {
	send -B 8BITMIME bob@example.org
	assert_status 0
	grep -q ' BODY=8BITMIME' <(mail_line)
	send -B8bitmime bob@example.org
	assert_status 0
	grep -q ' BODY=8BITMIME' <(mail_line)
}

@test "-B 7BIT suppresses BODY=8BITMIME; the bytes still arrive unchanged" {
	msg8 >"$MSG"
	to_crlf "$MSG" "$EXP"
	send -B 7bit bob@example.org
	assert_status 0
	not grep -qi 'BODY=' <(mail_line)
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "-B with anything else: exit 64, nothing sent" {
	send -B 8BIT bob@example.org
	assert_status 64
	assert_error_line
	[[ $stderr == *8BIT* ]]
	send -B binarymime bob@example.org
	assert_status 64
	[ "$(conn_count srv)" -eq 0 ]
}

# --- DSN -----------------------------------------------------------------------

@test "-N, -R, -V: accepted; the server offers no DSN, so no NOTIFY, ORCPT, RET or ENVID is sent" {
	send -N success,failure,delay -R hdrs -V envid-1 bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
	not grep -Eiq 'NOTIFY=|ORCPT=|RET=|ENVID=' "$(transcript srv)"
	send -N never -R full bob@example.org
	assert_status 0
	[ "$(msg_count srv)" -eq 2 ]
}

@test "-N, -R, -V with bad values: exit 64, nothing sent" {
	local bad
	for bad in "-N bogus" "-N success,never" "-N ," "-N success,,delay" "-R all" "-B"; do
		# shellcheck disable=SC2086
		send $bad bob@example.org
		if [ "$status" -ne 64 ]; then
			echo "'$bad': status $status, expected 64" >&2
			return 1
		fi
	done
	# a flag at the end, without its argument
	for bad in -N -R -V -B; do
		send "$bad"
		assert_status 64
		[[ $stderr == *"'$bad' needs an argument"* ]]
	done
	send -V "$(printf 'x%.0s' {1..101})" bob@example.org
	assert_status 64
	send -V 'a b' bob@example.org
	assert_status 64
	send -V $'caf\xc3\xa9' bob@example.org
	assert_status 64
	[ "$(conn_count srv)" -eq 0 ]
}

@test "DSN offered: RCPT has NOTIFY and ORCPT=rfc822;xtext, MAIL has RET and ENVID as xtext" {
	server_ctl srv dsn
	send -N success,delay -R hdrs -V 'id+1=x' bob@example.org 'carol+tag@example.org'
	assert_status 0
	grep -Eiq '^MAIL FROM:<alice@example.org> .*RET=HDRS( |$)' <(mail_line)
	grep -q ' ENVID=id+2B1+3Dx\( \|$\)' <(mail_line)
	rcpt_lines >"$BATS_TEST_TMPDIR/rcpt"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/rcpt")" -eq 2 ]
	grep -Eiqx 'RCPT TO:<bob@example.org> NOTIFY=success,delay ORCPT=rfc822;bob@example.org' "$BATS_TEST_TMPDIR/rcpt"
	grep -Eiqx 'RCPT TO:<carol\+tag@example.org> NOTIFY=success,delay ORCPT=rfc822;carol\+2Btag@example.org' "$BATS_TEST_TMPDIR/rcpt"
	[ "$(last_json srv rcpt_tos)" = "$(printf '%s\n' bob@example.org carol+tag@example.org)" ]
}

@test "DSN offered: -N never gives NOTIFY=NEVER; without -R/-V no RET/ENVID" {
	server_ctl srv dsn
	send -N never bob@example.org
	assert_status 0
	grep -Eiqx 'RCPT TO:<bob@example.org> NOTIFY=NEVER ORCPT=rfc822;bob@example.org' <(rcpt_lines)
	not grep -Eiq 'RET=|ENVID=' <(mail_line)
}

@test "DSN offered but no DSN flags: plain MAIL and RCPT" {
	server_ctl srv dsn
	send bob@example.org
	assert_status 0
	grep -qx 'RCPT TO:<bob@example.org>' <(rcpt_lines)
	not grep -Eiq 'RET=|ENVID=' <(mail_line)
}

# --- -v and -X -------------------------------------------------------------------

@test "-X FILE appends the dialogue, with credentials hidden (PLAIN and LOGIN)" {
	local x="$BATS_TEST_TMPDIR/x.log"
	echo "already here" >"$x"
	send -X "$x" bob@example.org
	assert_status 0
	[ -z "$stderr" ]
	head -n 1 "$x" | grep -qx 'already here'
	grep -q -- '--> MAIL FROM:<alice@example.org>' "$x"
	grep -q -- '--> RCPT TO:<bob@example.org>' "$x"
	grep -q -- '<-- 250 2.0.0 OK queued as' "$x"
	grep -q -- '--> AUTH PLAIN <hidden>' "$x"
	local before
	before=$(wc -l <"$x")
	cfg auth=LOGIN
	send -X "$x" carol@example.org
	assert_status 0
	[ "$(wc -l <"$x")" -gt "$before" ]
	grep -q -- '--> AUTH LOGIN' "$x"
	grep -q -- '--> RCPT TO:<carol@example.org>' "$x"
	[ "$(grep -c -- '--> <hidden>' "$x")" -ge 2 ]
	# neither the password nor the base64 of user or password or PLAIN blob
	local secret
	for secret in "$AUTH_PASS" "$(printf %s "$AUTH_PASS" | base64)" \
		"$(printf %s "$AUTH_USER" | base64)" \
		"$(printf '\0%s\0%s' "$AUTH_USER" "$AUTH_PASS" | base64)"; do
		not grep -qF -- "$secret" "$x"
	done
	# the message itself is not in the transcript
	not grep -q 'Hello Bob' "$x"
}

@test "-X FILE that cannot be opened: exit 73, nothing sent" {
	send -X "$BATS_TEST_TMPDIR/no/such/dir/x.log" bob@example.org
	assert_status 73
	assert_error_line
	[ "$(conn_count srv)" -eq 0 ]
}

@test "-v shows the dialogue on stderr, credentials hidden, stdout silent" {
	send -v bob@example.org
	assert_status 0
	[ -z "$output" ]
	grep -q -- '--> MAIL FROM:<alice@example.org>' <<<"$stderr"
	grep -q -- '<-- 354' <<<"$stderr"
	grep -q -- '--> AUTH PLAIN <hidden>' <<<"$stderr"
	not grep -qF -- "$AUTH_PASS" <<<"$stderr"
	not grep -qF -- "$(printf '\0%s\0%s' "$AUTH_USER" "$AUTH_PASS" | base64)" <<<"$stderr"
}

# --- SMTPUTF8, long lines ----------------------------------------------------------

@test "non-ASCII address, server without SMTPUTF8: exit 65 with a clear message, nothing sent" {
	send 'josé@example.org'
	assert_status 65
	assert_error_line
	[[ $stderr == *SMTPUTF8* ]]
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv MAIL DATA
	send -f 'josé@example.org' bob@example.org
	assert_status 65
	[ "$(msg_count srv)" -eq 0 ]
}

@test "non-ASCII address, server offering SMTPUTF8: MAIL ... SMTPUTF8, delivered" {
	server_ctl srv smtputf8
	send 'josé@exämple.org'
	assert_status 0
	grep -q ' SMTPUTF8' <(mail_line)
	[ "$(last_json srv rcpt_tos)" = 'josé@exämple.org' ]
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "-v: a UTF-8 address reads as itself in the transcript; controls, bidi overrides and C1 bytes from the server show as '?'" {
	server_ctl srv smtputf8
	# U+202E (right-to-left override) and U+009B (a C1 control, CSI)
	server_ctl srv reply-RCPT "$(printf '550 5.1.1 evil\xe2\x80\xaeuser\xc2\x9bx \xc3\xa9t\xc3\xa9')"
	send -v 'josé@exämple.org'
	assert_status 67
	grep -qF -- '--> RCPT TO:<josé@exämple.org>' <<<"$stderr"
	grep -qF -- '<-- 550 5.1.1 evil???user??x été' <<<"$stderr"
	grep -qF 'evil???user??x été' <(tail -n 1 <<<"$stderr")
	not grep -qP '\xe2\x80\xae|\xc2\x9b' <<<"$stderr"
}

@test "ASCII addresses: no SMTPUTF8 even when the server offers it" {
	server_ctl srv smtputf8
	send bob@example.org
	assert_status 0
	not grep -q 'SMTPUTF8' <(mail_line)
}

@test "a body line over 998 octets: exit 65 and nothing sent, or re-encoded with no long line and the same text" {
	{
		printf 'From: alice@example.org\nTo: bob@example.org\nSubject: long\n\nshort line\n'
		for _ in $(seq 150); do printf 'é0123456789'; done
		printf '\nlast line\n'
	} >"$MSG"
	send bob@example.org
	if [ "$status" -eq 65 ]; then
		assert_error_line
		[ "$(msg_count srv)" -eq 0 ]
		return 0
	fi
	assert_status 0
	"$PY" - "$MSG" "$(last_eml srv)" <<'EOF'
import sys, email, email.policy
orig = open(sys.argv[1], "rb").read()
sent = open(sys.argv[2], "rb").read()
longest = max(len(l) for l in sent.split(b"\r\n"))
assert longest <= 998, "a line of %d octets was sent" % longest
want = orig.split(b"\n\n", 1)[1]
msg = email.message_from_bytes(sent, policy=email.policy.default)
got = msg.get_payload(decode=True).replace(b"\r\n", b"\n")
assert got == want, (got[:80], want[:80])
assert msg["Subject"] == "long"
EOF
}

# --- exit status after the data ------------------------------------------------------

@test "5xx after the final dot: 552 and 554 5.6.x/5.3.4 -> 65, other 5xx -> 69; 4xx -> 75" {
	cfg queue=never
	local reply want
	while IFS='|' read -r reply want; do
		server_ctl srv reply-EOD "$reply"
		send bob@example.org
		if [ "$status" -ne "$want" ]; then
			echo "'$reply': status $status, expected $want ($stderr)" >&2
			return 1
		fi
		[[ $stderr == *"${reply:0:3}"* ]]
	done <<'EOF'
552 5.3.4 message too big|65
552 5.2.2 mailbox full|65
554 5.6.0 bad content|65
554 5.3.4 too big for the system|65
554 5.7.1 rejected by policy|69
550 5.7.1 spam|69
554 no enhanced code|69
451 4.3.0 try later|75
EOF
	[ "$(msg_count srv)" -eq 0 ]
}
