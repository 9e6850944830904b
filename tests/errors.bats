#!/usr/bin/env bats
# SMTP and network failures and their exit codes: 4xx anywhere -> 75,
# 5xx to RCPT -> 67 (all or nothing), 5xx at MAIL/greeting -> 69,
# connection refused / timeout -> 75, unknown host -> 68, garbage -> 76.

load lib/common

setup_file() {
	common_setup_file
	start_server srv --starttls --plain --user "$AUTH_USER" --password "$AUTH_PASS"
}

setup() {
	common_setup
	std_config srv starttls
	MSG="$BATS_TEST_TMPDIR/msg"
	std_msg "$MSG"
}

send() {
	run --separate-stderr envoi -C "$CFG" "$@" <"$MSG"
}

@test "4xx to MAIL: exit 75, nothing delivered" {
	server_ctl srv reply-MAIL '451 4.3.0 try again later'
	send bob@example.org
	assert_status 75
	assert_error_line
	[ "$(msg_count srv)" -eq 0 ]
}

@test "4xx to RCPT: exit 75, nothing delivered" {
	server_ctl srv reply-RCPT '450 4.2.1 mailbox busy'
	send bob@example.org
	assert_status 75
	assert_error_line
	[ "$(msg_count srv)" -eq 0 ]
}

@test "4xx to one of several RCPTs: exit 75, nothing delivered" {
	server_ctl srv reply-RCPT 'later@example.org 450 4.2.1 mailbox busy'
	send bob@example.org later@example.org carol@example.org
	assert_status 75
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv DATA
}

@test "4xx to DATA: exit 75, nothing delivered" {
	server_ctl srv reply-DATA '451 4.3.0 not now'
	send bob@example.org
	assert_status 75
	assert_error_line
	[ "$(msg_count srv)" -eq 0 ]
}

@test "4xx after the final dot: exit 75" {
	server_ctl srv reply-EOD '452 4.3.1 insufficient system storage'
	send bob@example.org
	assert_status 75
	assert_error_line
	[ "$(msg_count srv)" -eq 0 ]
}

@test "multi-line 4xx reply after the final dot: exit 75" {
	server_ctl srv reply-EOD "$(printf '451-4.3.0 first line\n451-4.3.0 second line\n451 4.3.0 last line')"
	send bob@example.org
	assert_status 75
	[ "$(msg_count srv)" -eq 0 ]
}

@test "4xx to AUTH: exit 75" {
	server_ctl srv reply-AUTH '454 4.7.0 temporary authentication failure'
	send bob@example.org
	assert_status 75
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv MAIL
}

@test "421 greeting: exit 75" {
	server_ctl srv greeting '421 4.3.2 service shutting down'
	send bob@example.org
	assert_status 75
	assert_error_line
	[ "$(msg_count srv)" -eq 0 ]
}

@test "5xx to one RCPT: exit 67, nothing delivered (all or nothing)" {
	server_ctl srv reply-RCPT 'bad@example.org 550 5.1.1 no such user'
	send good@example.org bad@example.org other@example.org
	assert_status 67
	assert_error_line
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv DATA
}

@test "5xx to the only RCPT: exit 67" {
	server_ctl srv reply-RCPT '550 5.1.1 no such user'
	send bob@example.org
	assert_status 67
	[ "$(msg_count srv)" -eq 0 ]
}

@test "5xx to MAIL: exit 69, nothing delivered" {
	server_ctl srv reply-MAIL '550 5.7.1 sender rejected'
	send bob@example.org
	assert_status 69
	assert_error_line
	[ "$(msg_count srv)" -eq 0 ]
}

@test "554 greeting: exit 69" {
	server_ctl srv greeting '554 5.3.2 go away'
	send bob@example.org
	assert_status 69
	assert_error_line
	assert_not_sent srv MAIL
}

@test "connection refused: exit 75" {
	std_config srv starttls port="$(free_port)"
	send bob@example.org
	assert_status 75
	assert_error_line
}

@test "host not found: exit 68" {
	std_config srv starttls host=nonexistent.invalid
	send bob@example.org
	assert_status 68
	assert_error_line
}

@test "timeout: a server that stops answering gives exit 75 within the configured time" {
	std_config srv starttls timeout=1
	server_ctl srv delay-MAIL 8
	local t0=$SECONDS
	send bob@example.org
	assert_status 75
	assert_error_line
	[ $((SECONDS - t0)) -le 5 ]
	[ "$(msg_count srv)" -eq 0 ]
}

@test "timeout waiting for the greeting: exit 75" {
	std_config srv starttls timeout=1
	server_ctl srv delay-greeting 8
	local t0=$SECONDS
	send bob@example.org
	assert_status 75
	[ $((SECONDS - t0)) -le 5 ]
}

@test "a greeting that is not SMTP: exit 76 (protocol error)" {
	server_ctl srv greeting 'this is not an SMTP server'
	send bob@example.org
	assert_status 76
	assert_error_line
	[ "$(msg_count srv)" -eq 0 ]
}

@test "recovery: with no misbehaviour the same server delivers" {
	send bob@example.org
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
}
