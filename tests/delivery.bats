#!/usr/bin/env bats
# Delivery over the three transports (STARTTLS, implicit TLS, plain), IPv6,
# envelope sender and recipients.

load lib/common

setup_file() {
	common_setup_file
	start_server srv --user "$AUTH_USER" --password "$AUTH_PASS"
	if have_ipv6; then
		start_server srv6 --host ::1 --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
	fi
}

@test "STARTTLS + AUTH: delivered byte for byte" {
	std_config srv starttls
	std_msg "$BATS_TEST_TMPDIR/msg"
	to_crlf "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/expected"
	run --separate-stderr envoi -C "$CFG" bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	assert_same_file "$BATS_TEST_TMPDIR/expected" "$(last_eml srv)"
	[ "$(last_json srv mail_from)" = alice@example.org ]
	[ "$(last_json srv rcpt_tos)" = bob@example.org ]
	[ "$(last_json srv auth_user)" = "$AUTH_USER" ]
	[ "$(last_json srv tls)" = true ]
	[ "$(last_json srv listener)" = starttls ]
}

@test "STARTTLS: EHLO (with the configured domain) again after TLS, no AUTH/MAIL before" {
	std_config srv starttls domain=helo.client.example
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -C "$CFG" bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	assert_starttls_order srv
	[ "$(conn_count srv)" -eq 1 ]
	[ "$(last_conn srv | grep -ci '^EHLO helo\.client\.example$')" -eq 2 ]
}

@test "implicit TLS (tls = \"tls\") delivers" {
	std_config srv tls
	std_msg "$BATS_TEST_TMPDIR/msg"
	to_crlf "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/expected"
	run --separate-stderr envoi -C "$CFG" bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	assert_same_file "$BATS_TEST_TMPDIR/expected" "$(last_eml srv)"
	[ "$(last_json srv listener)" = tls ]
	[ "$(last_json srv tls)" = true ]
	[ "$(last_json srv auth_user)" = "$AUTH_USER" ]
	assert_not_sent srv STARTTLS
}

@test "tls = \"off\", auth = \"off\": delivers on the plain listener without AUTH" {
	server_ctl srv auth-optional
	std_config srv plain auth=off user= password=
	std_msg "$BATS_TEST_TMPDIR/msg"
	to_crlf "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/expected"
	run --separate-stderr envoi -C "$CFG" bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	assert_same_file "$BATS_TEST_TMPDIR/expected" "$(last_eml srv)"
	[ "$(last_json srv listener)" = plain ]
	[ "$(last_json srv tls)" = false ]
	[ -z "$(last_json srv auth_user)" ]
	assert_not_sent srv AUTH STARTTLS
}

@test "IPv6: delivers to [::1]" {
	have_ipv6 || skip "no IPv6 loopback"
	std_config srv6 starttls host=::1
	std_msg "$BATS_TEST_TMPDIR/msg"
	to_crlf "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/expected"
	run --separate-stderr envoi -C "$CFG" bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	assert_same_file "$BATS_TEST_TMPDIR/expected" "$(last_eml srv6)"
	[ "$(last_json srv6 tls)" = true ]
}

@test "the envelope sender is the account's from address" {
	std_config srv starttls from=sender@example.org
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -C "$CFG" bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	[ "$(last_json srv mail_from)" = sender@example.org ]
}

@test "-f ADDR sets the envelope sender" {
	std_config srv starttls
	std_msg "$BATS_TEST_TMPDIR/msg"
	to_crlf "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/expected"
	run --separate-stderr envoi -C "$CFG" -f bounces@example.org bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	[ "$(last_json srv mail_from)" = bounces@example.org ]
	# the header From: is left alone
	assert_same_file "$BATS_TEST_TMPDIR/expected" "$(last_eml srv)"
}

@test "-fADDR (attached) sets the envelope sender" {
	std_config srv starttls
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -C "$CFG" -fattached@example.org bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	[ "$(last_json srv mail_from)" = attached@example.org ]
}

@test "several recipient arguments: all of them, in order, one message" {
	std_config srv starttls
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -C "$CFG" bob@example.org carol@example.net dave@example.com <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv rcpt_tos)" = "$(printf '%s\n' bob@example.org carol@example.net dave@example.com)" ]
}

@test "two runs make two connections and two messages" {
	std_config srv starttls
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -C "$CFG" bob@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	run --separate-stderr envoi -C "$CFG" carol@example.org <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	[ "$(msg_count srv)" -eq 2 ]
	[ "$(conn_count srv)" -eq 2 ]
	[ "$(last_json srv rcpt_tos)" = carol@example.org ]
}
