#!/usr/bin/env bats
# Command line: --help, --version, unknown options, recipients, --, -a.

load lib/common

setup_file() {
	common_setup_file
	start_server srv --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
}

@test "--help prints usage and exits 0" {
	run envoi --help </dev/null
	assert_status 0
	grep -qi usage <<<"$output"
}

@test "--version prints envoi's name and exits 0" {
	run --separate-stderr envoi --version </dev/null
	assert_status 0
	grep -qi envoi <<<"$output"
}

@test "unknown long option: exit 64, stderr names it" {
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi --no-such-flag bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 64
	assert_error_line
	[[ $stderr == *no-such-flag* ]]
	[ "$(msg_count srv)" -eq 0 ]
}

@test "unknown short option: exit 64, stderr names it" {
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -Y bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 64
	assert_error_line
	[[ $stderr == *Y* ]]
}

@test "no recipients at all: exit 64, nothing sent" {
	std_config srv starttls
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -C "$CFG" <"$BATS_TEST_TMPDIR/msg"
	assert_status 64
	assert_error_line
	[ "$(conn_count srv)" -eq 0 ]
}

@test "-t with no recipient header and no argument: exit 64" {
	std_config srv starttls
	write_msg "$BATS_TEST_TMPDIR/msg" <<'EOF'
From: Alice <alice@example.org>
Subject: nobody to send to
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <cli-1@example.org>

body
EOF
	run --separate-stderr envoi -C "$CFG" -t <"$BATS_TEST_TMPDIR/msg"
	assert_status 64
	assert_error_line
	[ "$(msg_count srv)" -eq 0 ]
}

@test "-- ends the options" {
	std_config srv starttls
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -C "$CFG" -- bob@example.org carol@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv rcpt_tos)" = "$(printf '%s\n' bob@example.org carol@example.org)" ]
}

@test "success is silent" {
	std_config srv starttls
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -C "$CFG" bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "-a selects another account" {
	local port
	port=$(server_port srv starttls)
	write_config "$CFG" <<EOF
default_account = "main"
defaults {
  tls_trust_file = "$PKI/ca.pem"
  timeout = 10
  host = "127.0.0.1"
  port = $port
  tls = "starttls"
  user = "$AUTH_USER"
  password = "$AUTH_PASS"
}
account "main" {
  from = "main@example.org"
}
account "other" {
  from = "other@example.org"
}
EOF
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -C "$CFG" -a other bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	[ "$(last_json srv mail_from)" = other@example.org ]

	run --separate-stderr envoi -C "$CFG" bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	[ "$(last_json srv mail_from)" = main@example.org ]
}

@test "-a with an unknown account: exit 78" {
	std_config srv starttls
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -C "$CFG" -a nosuchaccount bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 78
	assert_error_line
	[ "$(conn_count srv)" -eq 0 ]
}
