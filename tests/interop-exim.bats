#!/usr/bin/env bats
# envoi against a second real MTA: Exim from Debian, unpacked privately
# (tests/lib/exim.bash), over submission with STARTTLS and over implicit
# TLS, with each mechanism it offers (PLAIN, LOGIN, CRAM-MD5); every
# delivery is checked in the Maildir, byte for byte.  Run with
# tests/interop.sh exim (make check-interop-exim): it needs root, and
# fetches exim4-daemon-light with apt-get download.

# status, output and stderr are set by bats' run
# shellcheck disable=SC2154

load lib/common
load lib/mta
load lib/exim
load lib/interop

setup_file() { exim_setup_file; }
teardown_file() { exim_teardown_file; }
setup() {
	common_setup
	exim_setup
	# one Maildir per test: t<N>@example.test
	RCPT="t$BATS_TEST_NUMBER@$MTA_DOMAIN"
	LOCAL="t$BATS_TEST_NUMBER"
}

# delivered LOCALPART OUT: lib/interop's interface
delivered() {
	MAILFILE=$(exim_wait_mail "$1") || return 1
	exim_original "$MAILFILE" "$2"
}

# The name of Exim's authenticator (in exim.conf) for a mechanism
authenticator() {
	case $1 in
	PLAIN) echo plain ;;
	LOGIN) echo login ;;
	CRAM-MD5) echo cram ;;
	esac
}

# send_and_check LISTENER MECHANISM [std_config overrides...]: interop_send,
# then: delivered once, byte for byte; Exim's added fields are what its
# configuration asks for; it received the message over TLS, authenticated
# (esmtpsa), on LISTENER's port, through MECHANISM's authenticator, as
# alice.  Sets MAILFILE and XID (Exim's message ID).
send_and_check() {
	local listener=$1 mech=$2 port
	interop_send exim "$@"
	port=$(server_port exim "$listener")
	MAILFILE=$(exim_wait_mail "$LOCAL")
	[ "$(exim_mail_count "$LOCAL")" -eq 1 ]
	exim_original "$MAILFILE" "$BATS_TEST_TMPDIR/delivered"
	assert_same_file "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/delivered"
	exim_added_headers "$MAILFILE" >"$BATS_TEST_TMPDIR/added"
	grep -qx 'Return-path: <alice@example.org>' "$BATS_TEST_TMPDIR/added"
	grep -qx "Envelope-to: $RCPT" "$BATS_TEST_TMPDIR/added"
	exim_received "$MAILFILE" | grep -q "by $MTA_HOSTNAME with esmtpsa "
	XID=$(exim_msgid "$MAILFILE")
	[ -n "$XID" ]
	exim_log_line "^[-0-9: ]+$XID <= alice@example.org .*I=\[127\.0\.0\.1\]:$port P=esmtpsa X=TLS.* A=$(authenticator "$mech"):$AUTH_USER " >/dev/null
	exim_log_line "^[-0-9: ]+$XID => $LOCAL <$RCPT> R=vmail T=maildir" >/dev/null
}

@test "exim: submission, STARTTLS, auth = on: PLAIN (the first under TLS; no SCRAM here)" {
	send_and_check starttls PLAIN
}

@test "exim: submission, STARTTLS, auth = \"plain\"" {
	send_and_check starttls PLAIN auth=plain
}

@test "exim: submission, STARTTLS, auth = \"login\"" {
	send_and_check starttls LOGIN auth=login
}

@test "exim: submission, STARTTLS, auth = \"cram-md5\"" {
	send_and_check starttls CRAM-MD5 auth=cram-md5
}

@test "exim: smtps, implicit TLS, auth = on: PLAIN" {
	send_and_check tls PLAIN
}

@test "exim: smtps, implicit TLS, auth = \"plain\"" {
	send_and_check tls PLAIN auth=plain
}

@test "exim: smtps, implicit TLS, auth = \"login\"" {
	send_and_check tls LOGIN auth=login
}

@test "exim: wrong password: exit 77, nothing delivered" {
	std_config exim starttls password=not-the-password auth=plain
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -C "$CFG" "$RCPT" <"$BATS_TEST_TMPDIR/msg"
	assert_status 77
	assert_error_line
	exim_log_line "plain authenticator failed for .*\[127\.0\.0\.1\].*$AUTH_USER" >/dev/null
	[ "$(exim_mail_count "$LOCAL")" -eq 0 ]
}

@test "exim: a mechanism the server does not offer (SCRAM-SHA-256): exit 77, nothing sent" {
	std_config exim starttls auth=scram-sha-256
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -v -C "$CFG" "$RCPT" <"$BATS_TEST_TMPDIR/msg"
	assert_status 77
	grep -q "^envoi: the server offers none of the configured mechanisms 'scram-sha-256' (it offers: PLAIN LOGIN CRAM-MD5)" <<<"$stderr"
	run grep -c -- '--> AUTH\|--> MAIL' <<<"$stderr"
	[ "$output" -eq 0 ]
	[ "$(exim_mail_count "$LOCAL")" -eq 0 ]
}

@test "exim: dot-stuffing, 8-bit body, two recipients in one transaction, byte for byte" {
	std_config exim starttls auth=plain
	interop_msg dots "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -v -i -C "$CFG" "$RCPT" "${LOCAL}b@$MTA_DOMAIN" \
		<"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	grep -q -- '--> MAIL FROM:<alice@example.org>.*BODY=8BITMIME' <<<"$stderr"
	local f ids=()
	for f in "$LOCAL" "${LOCAL}b"; do
		MAILFILE=$(exim_wait_mail "$f")
		exim_original "$MAILFILE" "$BATS_TEST_TMPDIR/delivered-$f"
		assert_same_file "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/delivered-$f"
		ids+=("$(exim_msgid "$MAILFILE")")
	done
	[ -n "${ids[0]}" ] && [ "${ids[0]}" = "${ids[1]}" ]
}

@test "exim: lines of exactly 998 octets (8-bit, dot-stuffed) arrive byte for byte" {
	std_config exim starttls auth=plain
	interop_content line998
}

@test "exim: a 5000-octet line: sent quoted-printable, decodes to the original body" {
	std_config exim tls auth=plain
	interop_content longline
}

@test "exim: a 5 MB attachment arrives byte for byte" {
	std_config exim starttls auth=plain
	interop_content attachment
}

@test "exim: CRLF input: stored as the same message as LF input" {
	std_config exim tls auth=plain
	std_msg "$BATS_TEST_TMPDIR/msg"
	to_crlf "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/msg.crlf"
	run --separate-stderr envoi -C "$CFG" "$RCPT" <"$BATS_TEST_TMPDIR/msg.crlf"
	assert_status 0
	delivered "$LOCAL" "$BATS_TEST_TMPDIR/delivered"
	assert_same_file "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/delivered"
}

@test "exim: tls = off: no AUTH offered in clear, so envoi sends none: exit 77" {
	# auth = "plain" would allow PLAIN without TLS; Exim offers none
	std_config exim plain port="$(server_port exim starttls)" auth=plain
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -v -C "$CFG" "$RCPT" <"$BATS_TEST_TMPDIR/msg"
	assert_status 77
	grep -q '^envoi: 127.0.0.1 offers no authentication (AUTH), but a user is configured' <<<"$stderr"
	run grep -c -- '--> STARTTLS\|--> AUTH\|--> MAIL' <<<"$stderr"
	[ "$output" -eq 0 ]
	[ "$(exim_mail_count "$LOCAL")" -eq 0 ]
}

@test "exim: a UTF-8 envelope sender: SMTPUTF8, delivered byte for byte" {
	interop_utf8_sender exim
	exim_added_headers "$MAILFILE" | grep -qx 'Return-path: <élise@exemple.org>'
	exim_received "$MAILFILE" | grep -q "by $MTA_HOSTNAME with utf8esmtpsa "
}
