#!/usr/bin/env bats
# TLS: certificate verification (trust, host name, expiry) for STARTTLS and
# implicit TLS, STARTTLS not offered or refused. On every TLS failure nothing
# is delivered and no AUTH or MAIL is ever sent.

load lib/common

setup_file() {
	common_setup_file
	local a=(--starttls --tls --user "$AUTH_USER" --password "$AUTH_PASS")
	launch_server srv "${a[@]}"
	launch_server untrusted "${a[@]}" --cert "$PKI/untrusted.pem" --key "$PKI/untrusted.key"
	launch_server wrongname "${a[@]}" --cert "$PKI/wrong.pem" --key "$PKI/wrong.key"
	launch_server expired "${a[@]}" --cert "$PKI/expired.pem" --key "$PKI/expired.key"
	local s
	for s in srv untrusted wrongname expired; do
		wait_server "$s"
	done
}

setup() {
	common_setup
	MSG="$BATS_TEST_TMPDIR/msg"
	std_msg "$MSG"
}

send() {
	run --separate-stderr envoi -C "$CFG" "$@" <"$MSG"
}

# refused NAME: the run failed with 69 and server NAME got nothing
refused() {
	assert_status 69
	assert_error_line
	[ "$(msg_count "$1")" -eq 0 ]
	assert_not_sent "$1" AUTH MAIL RCPT DATA
}

# refused_after NAME N: as refused, when NAME already had N messages
refused_after() {
	assert_status 69
	assert_error_line
	[ "$(msg_count "$1")" -eq "$2" ]
}

@test "good certificate (STARTTLS): delivered over TLS" {
	std_config srv starttls
	send bob@example.org
	assert_status 0
	[ "$(last_json srv tls)" = true ]
	assert_starttls_order srv
}

@test "untrusted certificate (STARTTLS): exit 69, no AUTH/MAIL sent" {
	std_config untrusted starttls
	send bob@example.org
	refused untrusted
}

@test "untrusted certificate (implicit TLS): exit 69, nothing sent" {
	std_config untrusted tls
	send bob@example.org
	refused untrusted
}

@test "the same certificate is accepted when its CA is the trust file" {
	std_config untrusted starttls tls_trust_file="$PKI/ca2.pem"
	send bob@example.org
	assert_status 0
	[ "$(msg_count untrusted)" -eq 1 ]
}

@test "without tls_trust_file the test CA is not trusted: nothing sent" {
	# The interface does not say whether a missing trust file means "use
	# the system store" (then 69) or is a configuration error (78); either
	# way verification must not be skipped.
	std_config srv starttls tls_trust_file=
	send bob@example.org
	if [ "$status" -ne 78 ]; then
		assert_status 69
	fi
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv AUTH MAIL RCPT DATA
}

# sys_send BUNDLE ARGS...: envoi with BUNDLE in place of the system trust
# store's file (a bind mount in a private mount namespace: the system's
# file is not changed), the message on stdin
SYS_BUNDLE=/etc/ssl/certs/ca-certificates.crt
sys_send() {
	local b=$1
	shift
	run --separate-stderr timeout -k 5 "$ENVOI_TIMEOUT" \
		unshare -m --propagation private /bin/sh -c \
		'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh \
		"$b" "$SYS_BUNDLE" "$ENVOI" -C "$CFG" "$@" <"$MSG"
}

@test "system trust store: only a chain whose root is in the bundle is accepted, the lazily read one as strictly" {
	[ "$(id -u)" -eq 0 ] && [ -f "$SYS_BUNDLE" ] &&
		unshare -m --propagation private true 2>/dev/null ||
		skip "needs root, unshare(1) and $SYS_BUNDLE"
	local d="$BATS_TEST_TMPDIR/sys"
	mkdir -p "$d"
	# an impostor: a CA with the test CA's very name, another key
	printf '%s\n' 'cn = "envoi test CA"' ca cert_signing_key \
		'activation_date = "2000-01-01 00:00:00"' \
		'expiration_date = "2099-12-31 23:59:59"' >"$d/tmpl"
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 \
		--no-text --outfile "$d/imp.key" 2>/dev/null
	certtool --generate-self-signed --load-privkey "$d/imp.key" \
		--template "$d/tmpl" --outfile "$d/imp.pem" --no-text 2>/dev/null
	cat "$SYS_BUNDLE" "$PKI/ca.pem" >"$d/with-ca.pem"
	cat "$PKI/ca.pem" "$SYS_BUNDLE" >"$d/ca-first.pem"
	cat "$SYS_BUNDLE" "$PKI/ca2.pem" >"$d/with-ca2.pem"
	cat "$SYS_BUNDLE" "$d/imp.pem" >"$d/impostor.pem"
	cat "$d/imp.pem" "$SYS_BUNDLE" "$PKI/ca.pem" >"$d/impostor-and-ca.pem"
	: >"$d/empty.pem"

	std_config srv starttls tls_trust_file= tls_session_cache=false
	sys_send "$d/with-ca.pem" bob@example.org
	assert_status 0
	sys_send "$d/ca-first.pem" bob@example.org
	assert_status 0
	sys_send "$d/impostor-and-ca.pem" bob@example.org
	assert_status 0
	[ "$(msg_count srv)" -eq 3 ]
	local b
	for b in "$SYS_BUNDLE" with-ca2.pem impostor.pem empty.pem; do
		[ "$b" = "$SYS_BUNDLE" ] || b="$d/$b"
		sys_send "$b" bob@example.org
		refused_after srv 3
	done
	# the reason is GnuTLS's, as with the whole store
	sys_send "$d/impostor.pem" bob@example.org
	[[ $stderr == *"verification failed: The certificate is NOT trusted."* ]]
	# the name and the dates are still checked
	std_config wrongname starttls tls_trust_file= tls_session_cache=false
	sys_send "$d/with-ca.pem" bob@example.org
	refused wrongname
	std_config expired tls tls_trust_file= tls_session_cache=false
	sys_send "$d/with-ca.pem" bob@example.org
	refused expired
	# a resumed session is checked against the store of the new run
	std_config srv tls tls_trust_file=
	sys_send "$d/with-ca.pem" bob@example.org
	assert_status 0
	sys_send "$d/with-ca2.pem" bob@example.org
	refused_after srv 4
}

@test "certificate for another host name (STARTTLS): exit 69" {
	std_config wrongname starttls
	send bob@example.org
	refused wrongname
}

@test "certificate for another host name (implicit TLS): exit 69" {
	std_config wrongname tls
	send bob@example.org
	refused wrongname
}

@test "host name checked by DNS name: host = \"localhost\" matches the certificate" {
	std_config srv starttls host=localhost
	send bob@example.org
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
}

@test "host name checked by DNS name: wrong certificate with host = \"localhost\": exit 69" {
	std_config wrongname starttls host=localhost
	send bob@example.org
	refused wrongname
}

@test "expired certificate (STARTTLS): exit 69" {
	std_config expired starttls
	send bob@example.org
	refused expired
}

@test "expired certificate (implicit TLS): exit 69" {
	std_config expired tls
	send bob@example.org
	refused expired
}

@test "STARTTLS configured but not offered: exit 69, no AUTH/MAIL sent" {
	server_ctl srv no-starttls
	std_config srv starttls
	send bob@example.org
	refused srv
	assert_not_sent srv STARTTLS
}

@test "STARTTLS offered but refused with 454: exit 75, no AUTH/MAIL sent in plaintext" {
	server_ctl srv reply-STARTTLS '454 4.7.0 TLS not available due to temporary reason'
	std_config srv starttls
	send bob@example.org
	assert_status 75
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv AUTH MAIL RCPT DATA
}
