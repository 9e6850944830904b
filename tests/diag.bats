#!/usr/bin/env bats
# --print-config, --check, --serverinfo and the provider presets.

load lib/common

setup_file() {
	common_setup_file
	start_server srv --starttls --tls --user "$AUTH_USER" --password "$AUTH_PASS"
}

@test "--print-config: effective settings in config syntax, password hidden" {
	std_config srv starttls
	run --separate-stderr envoi -C "$CFG" --print-config
	assert_status 0
	[[ $output == *'account "main" {'* ]]
	[[ $output == *'host = "127.0.0.1"'* ]]
	[[ $output == *'tls = "starttls"'* ]]
	[[ $output == *'tls_min_version = "1.2"'* ]]
	[[ $output == *'password = "<hidden>"'* ]]
	[[ $output != *"$AUTH_PASS"* ]]
	# The output is itself a valid configuration (with a password file
	# mode, since it names one).
	printf '%s\n' "$output" | sed 's/"<hidden>"/"x"/' >"$BATS_TEST_TMPDIR/again.conf"
	chmod 600 "$BATS_TEST_TMPDIR/again.conf"
	run --separate-stderr envoi -C "$BATS_TEST_TMPDIR/again.conf" --print-config
	assert_status 0
}

@test "provider presets fill host, port and tls; the file's own keys win" {
	write_config "$CFG" <<EOF
account "g" {
  provider = "gmail"
  user = "me@gmail.com"
  from = "me@gmail.com"
}
account "f" {
  provider = "fastmail"
  port = 2525
  from = "me@fastmail.com"
}
EOF
	run --separate-stderr envoi -C "$CFG" -a g --print-config
	assert_status 0
	[[ $output == *'host = "smtp.gmail.com"'* ]]
	[[ $output == *'port = 587'* ]]
	[[ $output == *'tls = "starttls"'* ]]
	run --separate-stderr envoi -C "$CFG" -a f --print-config
	assert_status 0
	[[ $output == *'host = "smtp.fastmail.com"'* ]]
	[[ $output == *'port = 2525'* ]]
	[[ $output == *'tls = "tls"'* ]]
}

@test "an unknown provider: file:line, exit 78, the known ones listed" {
	write_config "$CFG" <<EOF
account "x" {
  provider = "hotmale"
}
EOF
	run --separate-stderr envoi -C "$CFG" --print-config
	assert_status 78
	[[ $stderr == *"$CFG:2:"*"hotmale"*"gmail"* ]]
}

@test "every example in contrib/examples parses and names a known preset" {
	local f n=0
	for f in "$TESTS_DIR"/../contrib/examples/*.conf; do
		n=$((n + 1))
		run --separate-stderr envoi -C "$f" --print-config
		[ "$status" -eq 0 ] || { echo "$f: $stderr" >&2; return 1; }
		[[ $output == *'host = "'* ]]
	done
	[ "$n" -ge 10 ]
}

@test "--check: every step OK against the server, nothing sent" {
	std_config srv starttls
	run --separate-stderr envoi -C "$CFG" --check
	assert_status 0
	[[ $output == *"configuration  OK"* ]]
	[[ $output == *"TLS            OK (TLS1."* ]]
	[[ $output == *"login          OK (PLAIN as $AUTH_USER)"* ]]
	[ "$(msg_count srv)" -eq 0 ]
	! grep -q ' MAIL FROM' "$(transcript srv)"
}

@test "--check: a wrong password fails at the login step with a hint, exit 77" {
	std_config srv starttls password=wrong
	run --separate-stderr envoi -C "$CFG" --check
	assert_status 77
	[[ $output == *"FAILED"*"535"* ]]
	[[ $output == *"hint: check user and password"* ]]
}

@test "--check: an untrusted certificate fails with a hint to --serverinfo, exit 69" {
	std_config srv starttls tls_trust_file="$PKI/ca2.pem"
	run --separate-stderr envoi -C "$CFG" --check
	assert_status 69
	[[ $output == *"FAILED"*"certificate"* ]]
	[[ $output == *"--serverinfo"* ]]
}

@test "--serverinfo: capabilities before and under TLS, the chain with a pinnable fingerprint, no login" {
	# Even with a trust file that does not verify it, the chain is shown.
	std_config srv starttls tls_trust_file="$PKI/ca2.pem"
	run --separate-stderr envoi -C "$CFG" --serverinfo
	assert_status 0
	[[ $output == *"capabilities before TLS"*"STARTTLS"* ]]
	[[ $output == *"capabilities under TLS"*"AUTH"* ]]
	[[ $output == *"verification: FAILED"* ]]
	local fp
	fp=$(certtool --fingerprint --hash sha256 --infile "$PKI/server.pem" 2>/dev/null |
	    tail -n 1 | tr a-f A-F | sed 's/../&:/g; s/:$//')
	[[ $output == *"sha256  $fp"* ]]
	! grep -q ' AUTH ' "$(transcript srv)"
	# ...and that fingerprint, pinned, lets the message through.
	std_config srv starttls tls_fingerprint="$fp"
	run --separate-stderr envoi -C "$CFG" bob@example.org <<<"Subject: pinned"
	assert_status 0
}

@test "progress: shown on a terminal for a large message, never without one" {
	command -v script >/dev/null || skip "script(1) is not installed"
	std_config srv starttls
	local msg="$BATS_TEST_TMPDIR/big.eml"
	{ printf 'Subject: big\n\n'; head -c 3000000 /dev/zero | tr '\0' 'x' | fold -w 70; } >"$msg"
	run script -qec "'$ENVOI' -C '$CFG' bob@example.org < '$msg'" /dev/null
	[ "$status" -eq 0 ]
	[[ $output == *"sending 100% ("* ]]
	run --separate-stderr envoi -C "$CFG" bob@example.org <"$msg"
	assert_status 0
	[[ $stderr != *"sending"* ]]
	# A small message shows nothing, even on a terminal.
	run script -qec "printf 'Subject: s\n\nx\n' | '$ENVOI' -C '$CFG' bob@example.org" /dev/null
	[ "$status" -eq 0 ]
	[[ $output != *"sending"* ]]
}
