#!/usr/bin/env bats
# AUTH GSSAPI (RFC 4752) through libgsasl against a real MIT Kerberos KDC
# on loopback (tests/lib/krb5.bash) and the test server's GSSAPI acceptor
# (python3-gssapi, keytab of KRB5_KTNAME).  GSSAPI is used only when auth
# names it; "on" never picks it.

load lib/common
load lib/krb5

setup_file() {
	common_setup_file
	if ! krb5_available; then
		# Without the packages there is nothing to test against.
		export GSSAPI_SKIP="MIT Kerberos (krb5-kdc, krb5-admin-server, krb5-user) or python3-gssapi not installed"
		return 0
	fi
	krb5_start
	# The server needs a user only to offer AUTH at all.
	start_server srv --plain --starttls --user "$AUTH_USER" \
		--password "$AUTH_PASS"
}

teardown_file() {
	common_teardown_file
	krb5_stop
}

setup() {
	[ -z "${GSSAPI_SKIP-}" ] || skip "$GSSAPI_SKIP"
	common_setup
	rm -f "$(server_dir srv)/events.log"
	MSG="$BATS_TEST_TMPDIR/msg"
	std_msg "$MSG"
	# Run if a password were looked up: leaves a mark.
	ASKED="$BATS_TEST_TMPDIR/password-asked"
	PWEVAL="touch $ASKED; echo $AUTH_PASS"
}

# send: envoi without a terminal, with the account of $CFG
send() {
	run --separate-stderr setsid -w timeout -k 5 "$ENVOI_TIMEOUT" \
		"$ENVOI" -C "$CFG" bob@example.org <"$MSG"
}

@test "GSSAPI: auth = gssapi without user or password logs in as alice@REALM" {
	server_ctl srv auth-mechs "GSSAPI PLAIN"
	std_config srv starttls user= password= auth=gssapi passwordeval="$PWEVAL"
	send
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv auth_mech)" = GSSAPI ]
	[ "$(last_json srv auth_user)" = "alice@$KRB5_REALM" ]
	[ ! -e "$ASKED" ]
	no_secret "$(transcript srv)"
}

@test "GSSAPI: with a user set and on a plain connection, still no password" {
	server_ctl srv auth-mechs "GSSAPI PLAIN"
	std_config srv plain password= auth=gssapi passwordeval="$PWEVAL"
	send
	assert_status 0
	[ "$(last_json srv auth_mech)" = GSSAPI ]
	[ "$(last_json srv auth_user)" = "alice@$KRB5_REALM" ]
	[ ! -e "$ASKED" ]
	grep -q '"result": "ok".*"principal": "alice@ENVOI.TEST"' \
		"$(server_dir srv)/events.log"
}

@test "GSSAPI: no ticket (empty ccache): one-line error naming GSSAPI, exit 77" {
	server_ctl srv auth-mechs "GSSAPI PLAIN"
	std_config srv starttls user= password= auth=gssapi passwordeval="$PWEVAL"
	KRB5CCNAME="FILE:$BATS_TEST_TMPDIR/empty.cc" send
	assert_status 77
	assert_error_line
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	[[ $stderr == *"SASL GSSAPI: no Kerberos credentials"*kinit* ]]
	[ "$(msg_count srv)" -eq 0 ]
	[ ! -e "$ASKED" ]
}

@test "GSSAPI: auth = on does not pick GSSAPI even when offered first" {
	server_ctl srv auth-mechs "GSSAPI PLAIN"
	std_config srv starttls auth=on
	send
	assert_status 0
	[ "$(last_json srv auth_mech)" = PLAIN ]
	[ "$(last_json srv auth_user)" = "$AUTH_USER" ]
}

@test "GSSAPI: auth = on without a user does not log in with the ticket" {
	server_ctl srv auth-mechs "GSSAPI"
	server_ctl srv auth-optional
	std_config srv starttls user= password= auth=on passwordeval="$PWEVAL"
	send
	assert_status 0
	[ "$(last_json srv auth_mech)" = null ] || [ -z "$(last_json srv auth_mech)" ]
	sent_verbs srv | grep -qx MAIL
	[ "$(sent_verbs srv | grep -cx AUTH)" -eq 0 ]
	[ ! -e "$ASKED" ]
}

@test "GSSAPI: auth = gssapi when the server does not offer it: exit 77 naming it" {
	server_ctl srv auth-mechs "PLAIN"
	std_config srv starttls user= password= auth=gssapi passwordeval="$PWEVAL"
	send
	assert_status 77
	assert_error_line
	[[ $stderr == *gssapi* || $stderr == *GSSAPI* ]]
	[ ! -e "$ASKED" ]
}
