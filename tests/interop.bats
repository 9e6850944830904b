#!/usr/bin/env bats
# envoi against a real MTA: a private Postfix with Dovecot SASL
# (tests/lib/mta.bash), over submission with STARTTLS and over implicit
# TLS, with each SASL mechanism; every delivery is checked in the Maildir,
# byte for byte.  Run with tests/interop.sh (make check-interop): it needs
# root, and installs postfix and dovecot-core from Debian when missing.

# status, output and stderr are set by bats' run
# shellcheck disable=SC2154

load lib/common
load lib/mta
load lib/interop

setup_file() { mta_setup_file; }
teardown_file() { mta_teardown_file; }
setup() {
	common_setup
	mta_setup
	# one Maildir per test: t<N>@example.test
	RCPT="t$BATS_TEST_NUMBER@$MTA_DOMAIN"
	LOCAL="t$BATS_TEST_NUMBER"
}

# delivered LOCALPART OUT: lib/interop's interface
delivered() {
	MAILFILE=$(mta_wait_mail "$1") || return 1
	mta_original "$MAILFILE" "$2"
}

# send_and_check LISTENER MECHANISM [std_config overrides...]: interop_send
# (std_msg to $RCPT as alice, envoi chose MECHANISM), then: the message
# arrived once, byte for byte, over TLS and authenticated (ESMTPSA), and
# Postfix logged MECHANISM as the SASL method.  Sets MAILFILE and QID.
send_and_check() {
	local mech=$2
	interop_send mta "$@"
	MAILFILE=$(mta_wait_mail "$LOCAL")
	[ "$(mta_mail_count "$LOCAL")" -eq 1 ]
	mta_original "$MAILFILE" "$BATS_TEST_TMPDIR/delivered"
	assert_same_file "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/delivered"
	mta_added_headers "$MAILFILE" >"$BATS_TEST_TMPDIR/added"
	grep -qx 'Return-Path: <alice@example.org>' "$BATS_TEST_TMPDIR/added"
	grep -qx "Delivered-To: $RCPT" "$BATS_TEST_TMPDIR/added"
	grep -q "(Authenticated sender: $AUTH_USER)" "$BATS_TEST_TMPDIR/added"
	[ "$(mta_received_with "$MAILFILE")" = ESMTPSA ]
	QID=$(mta_queue_id "$MAILFILE")
	[ -n "$QID" ]
	[ "$(mta_sasl_method "$QID")" = "$mech" ]
	mta_log_line "$QID" "sasl_username=$AUTH_USER" >/dev/null
}

@test "submission, STARTTLS, auth = on: SCRAM-SHA-256, delivered byte for byte" {
	send_and_check starttls SCRAM-SHA-256
	mta_log_line "$QID" 'postfix/submission/smtpd.*client=' >/dev/null
}

@test "submission, STARTTLS, auth = \"plain\"" {
	send_and_check starttls PLAIN auth=plain
}

@test "submission, STARTTLS, auth = \"login\"" {
	send_and_check starttls LOGIN auth=login
}

@test "submission, STARTTLS, auth = \"cram-md5\"" {
	send_and_check starttls CRAM-MD5 auth=cram-md5
}

@test "submission, STARTTLS, auth = \"scram-sha-1\"" {
	send_and_check starttls SCRAM-SHA-1 auth=scram-sha-1
}

@test "smtps, implicit TLS, auth = on: SCRAM-SHA-256, delivered byte for byte" {
	send_and_check tls SCRAM-SHA-256
	mta_log_line "$QID" 'postfix/smtps/smtpd.*client=' >/dev/null
}

@test "smtps, implicit TLS, auth = \"plain\"" {
	send_and_check tls PLAIN auth=plain
	mta_log_line "$QID" 'postfix/smtps/smtpd.*client=' >/dev/null
}

@test "smtps, implicit TLS, auth = \"scram-sha-1\"" {
	send_and_check tls SCRAM-SHA-1 auth=scram-sha-1
}

@test "wrong password: exit 77, nothing delivered" {
	std_config mta starttls password=not-the-password
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -C "$CFG" "$RCPT" <"$BATS_TEST_TMPDIR/msg"
	assert_status 77
	assert_error_line
	# the server refused the credentials (SCRAM-SHA-256, the strongest)
	mta_wait_log 'SASL SCRAM-SHA-256 authentication failed'
	[ "$(mta_mail_count "$LOCAL")" -eq 0 ]
}

@test "wrong password over implicit TLS with auth = \"plain\": exit 77" {
	std_config mta tls password=not-the-password auth=plain
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -C "$CFG" "$RCPT" <"$BATS_TEST_TMPDIR/msg"
	assert_status 77
	assert_error_line
	mta_wait_log 'SASL PLAIN authentication failed'
	[ "$(mta_mail_count "$LOCAL")" -eq 0 ]
}

# The content tests name PLAIN, so that they do not depend on SCRAM.
@test "dot-stuffing, 8-bit body, several recipients: each Maildir gets the message byte for byte" {
	std_config mta starttls auth=plain
	interop_msg dots "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -v -i -C "$CFG" "$RCPT" "${LOCAL}b@$MTA_DOMAIN" \
		<"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	# the 8-bit body was declared
	grep -q -- '--> MAIL FROM:<alice@example.org>.*BODY=8BITMIME' <<<"$stderr"
	local f
	for f in "$LOCAL" "${LOCAL}b"; do
		MAILFILE=$(mta_wait_mail "$f")
		mta_original "$MAILFILE" "$BATS_TEST_TMPDIR/delivered-$f"
		assert_same_file "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/delivered-$f"
	done
	# one transaction for both
	[ "$(mta_queue_id "$(mta_wait_mail "$LOCAL")")" = "$(mta_queue_id "$MAILFILE")" ]
}

@test "CRLF input: stored as the same message as LF input" {
	std_config mta starttls auth=plain
	std_msg "$BATS_TEST_TMPDIR/msg"
	to_crlf "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/msg.crlf"
	run --separate-stderr envoi -C "$CFG" "$RCPT" <"$BATS_TEST_TMPDIR/msg.crlf"
	assert_status 0
	MAILFILE=$(mta_wait_mail "$LOCAL")
	mta_original "$MAILFILE" "$BATS_TEST_TMPDIR/delivered"
	assert_same_file "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/delivered"
}

@test "a 2 MB message of random lines, many starting with a dot, arrives byte for byte" {
	std_config mta starttls auth=plain
	interop_content bigdots
}

@test "lines of exactly 998 octets (8-bit, dot-stuffed) arrive byte for byte" {
	std_config mta starttls auth=plain
	interop_content line998
}

@test "a 5000-octet line: sent quoted-printable, decodes to the original body" {
	std_config mta tls auth=plain
	interop_content longline
}

@test "a 5 MB attachment arrives byte for byte" {
	std_config mta starttls auth=plain
	interop_content attachment
}

@test "a UTF-8 envelope sender: SMTPUTF8, delivered byte for byte" {
	interop_utf8_sender mta
	mta_added_headers "$MAILFILE" | grep -qx 'Return-Path: <élise@exemple.org>'
	[ "$(mta_received_with "$MAILFILE")" = UTF8SMTPSA ]
}
