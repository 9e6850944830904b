#!/usr/bin/env bats
# Configuration file: errors (exit 78), permissions, lookup order,
# inheritance from defaults, passwordeval.

load lib/common

setup_file() {
	common_setup_file
	start_server srv --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
}

# a config whose line 5 is LINE5 (inside account "main")
config_with_line5() {
	write_config "$CFG" <<EOF
default_account = "main"
account "main" {
  host = "127.0.0.1"
  port = $(server_port srv starttls)
$1
  tls = "starttls"
  tls_trust_file = "$PKI/ca.pem"
  user = "$AUTH_USER"
  password = "$AUTH_PASS"
  from = "alice@example.org"
}
EOF
}

run_std() {
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi "$@" bob@example.org <"$BATS_TEST_TMPDIR/msg"
}

@test "the config written by the tests' helper works" {
	config_with_line5 '  domain = "client.example"'
	run_std -C "$CFG"
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
}

@test "unknown key: exit 78, FILE:LINE: on stderr" {
	config_with_line5 '  no_such_key = "x"'
	run_std -C "$CFG"
	assert_status 78
	assert_error_line
	[[ $stderr == *"$CFG:5:"* ]]
	[ "$(conn_count srv)" -eq 0 ]
}

@test "bad tls value: exit 78, FILE:LINE: on stderr" {
	write_config "$CFG" <<EOF
default_account = "main"
account "main" {
  host = "127.0.0.1"
  port = $(server_port srv starttls)
  tls = "maybe"
  from = "alice@example.org"
}
EOF
	run_std -C "$CFG"
	assert_status 78
	assert_error_line
	[[ $stderr == *"$CFG:5:"* ]]
}

@test "port 0: exit 78, FILE:LINE: on stderr" {
	write_config "$CFG" <<EOF
default_account = "main"
account "main" {
  host = "127.0.0.1"
  tls = "starttls"
  port = 0
  from = "alice@example.org"
}
EOF
	run_std -C "$CFG"
	assert_status 78
	assert_error_line
	[[ $stderr == *"$CFG:5:"* ]]
}

@test "port 70000: exit 78, FILE:LINE: on stderr" {
	write_config "$CFG" <<EOF
default_account = "main"
account "main" {
  host = "127.0.0.1"
  tls = "starttls"
  port = 70000
  from = "alice@example.org"
}
EOF
	run_std -C "$CFG"
	assert_status 78
	assert_error_line
	[[ $stderr == *"$CFG:5:"* ]]
}

@test "missing config file: exit 78, stderr names the file" {
	local missing="$BATS_TEST_TMPDIR/does-not-exist.conf"
	run_std -C "$missing"
	assert_status 78
	assert_error_line
	[[ $stderr == *"$missing"* ]]
}

@test "group-readable config holding a password: exit 78" {
	std_config srv starttls
	chmod 0640 "$CFG"
	run_std -C "$CFG"
	assert_status 78
	assert_error_line
	grep -Eqi 'readable|permission|mode' <<<"$stderr"
	[ "$(conn_count srv)" -eq 0 ]
}

@test "world-readable config holding a password: exit 78" {
	std_config srv starttls
	chmod 0644 "$CFG"
	run_std -C "$CFG"
	assert_status 78
	assert_error_line
	grep -Eqi 'readable|permission|mode' <<<"$stderr"
	[ "$(conn_count srv)" -eq 0 ]
}

@test "readable config without a password (passwordeval) is fine" {
	printf '%s\n' "$AUTH_PASS" >"$BATS_TEST_TMPDIR/pw"
	std_config srv starttls password= passwordeval="cat $BATS_TEST_TMPDIR/pw"
	chmod 0644 "$CFG"
	run_std -C "$CFG"
	assert_status 0
	[ "$(last_json srv auth_user)" = "$AUTH_USER" ]
}

@test "passwordeval: the first output line is the password" {
	printf '%s\nnot-the-password\n' "$AUTH_PASS" >"$BATS_TEST_TMPDIR/pw"
	std_config srv starttls password= passwordeval="cat $BATS_TEST_TMPDIR/pw"
	run_std -C "$CFG"
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv auth_user)" = "$AUTH_USER" ]
}

@test "passwordeval giving a wrong password: exit 77" {
	std_config srv starttls password= passwordeval="echo wrong-password"
	run_std -C "$CFG"
	assert_status 77
	[ "$(msg_count srv)" -eq 0 ]
}

@test "\$XDG_CONFIG_HOME/envoi/config is used without -C" {
	std_config srv starttls
	mkdir -p "$XDG_CONFIG_HOME/envoi"
	cp -p "$CFG" "$XDG_CONFIG_HOME/envoi/config"
	run_std
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
}

@test "-C takes precedence over \$XDG_CONFIG_HOME/envoi/config" {
	mkdir -p "$XDG_CONFIG_HOME/envoi"
	std_config srv starttls port="$(free_port)"
	cp -p "$CFG" "$XDG_CONFIG_HOME/envoi/config"
	std_config srv starttls from=via-dash-c@example.org
	run_std -C "$CFG"
	assert_status 0
	[ "$(last_json srv mail_from)" = via-dash-c@example.org ]
}

@test "accounts inherit settings from defaults" {
	write_config "$CFG" <<EOF
default_account = "main"
defaults {
  tls_trust_file = "$PKI/ca.pem"
  timeout = 10
  host = "127.0.0.1"
  port = $(server_port srv starttls)
  tls = "starttls"
  user = "$AUTH_USER"
  password = "$AUTH_PASS"
  domain = "inherited.example"
}
account "main" {
  from = "inherit@example.org"
}
EOF
	run_std -C "$CFG"
	assert_status 0
	[ "$(last_json srv mail_from)" = inherit@example.org ]
	[ "$(last_json srv auth_user)" = "$AUTH_USER" ]
	last_conn srv | grep -qix 'EHLO inherited.example'
}

@test "account settings override defaults" {
	write_config "$CFG" <<EOF
default_account = "main"
defaults {
  tls_trust_file = "$PKI/ca.pem"
  host = "127.0.0.1"
  port = $(free_port)
  tls = "off"
  user = "$AUTH_USER"
  password = "wrong-password"
  from = "defaults@example.org"
}
account "main" {
  port = $(server_port srv starttls)
  tls = "starttls"
  password = "$AUTH_PASS"
  from = "account@example.org"
}
EOF
	run_std -C "$CFG"
	assert_status 0
	[ "$(last_json srv mail_from)" = account@example.org ]
	[ "$(last_json srv tls)" = true ]
}

@test "queue_dir must be an absolute path: file:line, exit 78" {
	write_config "$CFG" <<EOF
account "a" {
  host = "127.0.0.1"
  from = "alice@example.org"
  queue_dir = "relative/queue"
}
EOF
	run --separate-stderr envoi -C "$CFG" bob@example.org <<<"Subject: x"
	assert_status 78
	[[ $stderr == *"$CFG:4:"*"absolute path"* ]]
}
