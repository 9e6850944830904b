#!/usr/bin/env bats
# The README's five-minute setups, run as written: each test takes the
# configuration block marked "# setup: NAME" from the README, points it
# at the test server (host, port, trust file, credentials), and runs
# the setup's steps.  If the README changes, these follow or fail.

load lib/common

setup_file() {
	common_setup_file
	start_server srv --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
}

# readme_config NAME: the README block for setup NAME, made local.
readme_config() {
	local port
	port=$(server_port srv starttls)
	awk -v name="$1" '
		$0 ~ "^ *# setup: " name "$" { on = 1; next }
		on && /^ *$/ { exit }
		on { sub(/^    /, ""); print }
	' "$TESTS_DIR/../README" |
	sed -e "s|host = \"[^\"]*\"|host = \"127.0.0.1\"\n  port = $port\n  tls_trust_file = \"$PKI/ca.pem\"\n  queue_dir = \"$BATS_TEST_TMPDIR/queue\"|" \
	    -e "s|provider = \"[^\"]*\"|host = \"127.0.0.1\"\n  port = $port\n  tls = \"starttls\"\n  tls_trust_file = \"$PKI/ca.pem\"\n  queue_dir = \"$BATS_TEST_TMPDIR/queue\"|" \
	    -e "s|user = \"[^\"]*\"|user = \"$AUTH_USER\"|" \
	    -e "s|password = \"[^\"]*\"|password = \"$AUTH_PASS\"|" \
	    -e "s|passwordeval = \"[^\"]*\"|passwordeval = \"echo '$AUTH_PASS'\"|" \
	    -e "s|aliases = \"/etc/aliases\"|aliases = \"$BATS_TEST_TMPDIR/aliases\"|"
}

@test "README setup 1: cron mail to root reaches the admin, From is the account's" {
	readme_config cron | write_config "$CFG"
	grep -q 'set_from_header = "on"' "$CFG"
	echo "root: admin@example.org" >"$BATS_TEST_TMPDIR/aliases"
	# Debian cron's own command line.
	run --separate-stderr envoi -C "$CFG" -FCronDaemon -i -B8BITMIME -oem root <<'EOF'
From: root (Cron Daemon)
To: root
Subject: Cron <root@server1> run-parts /etc/cron.daily

output
EOF
	assert_status 0
	[ "$(last_json srv rcpt_tos)" = "admin@example.org" ]
	grep -q '^From: .*server1@example.com' "$(last_eml srv)"
	grep -q '^To: admin@example.org' "$(last_eml srv)"
}

@test "README setup 2: git send-email through sendemail.sendmailcmd" {
	command -v git >/dev/null && [ -x "$(git --exec-path)/git-send-email" ] ||
	    skip "git send-email is not installed"
	readme_config git | write_config "$CFG"
	local repo="$BATS_TEST_TMPDIR/repo"
	export GIT_AUTHOR_NAME=Me GIT_AUTHOR_EMAIL=me@example.com
	export GIT_COMMITTER_NAME=Me GIT_COMMITTER_EMAIL=me@example.com
	git init -q "$repo"
	echo fixed >"$repo/file"
	git -C "$repo" add file
	git -C "$repo" -c user.name=Me -c user.email=me@example.com \
	    commit -q -m "fix: a thing"
	git -C "$repo" format-patch -q -1 -o "$BATS_TEST_TMPDIR/p"
	# As the README says, with -C to find the test config.
	run git -C "$repo" -c sendemail.sendmailcmd="$ENVOI -C $CFG -i" \
	    send-email --confirm=never --quiet --suppress-cc=all \
	    --from="me@example.com" \
	    --to=list@example.org "$BATS_TEST_TMPDIR"/p/*.patch
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[ "$(msg_count srv)" -eq 1 ]
	grep -q '^Subject: \[PATCH\] fix: a thing' "$(last_eml srv)"
	[ "$(last_json srv rcpt_tos)" = "list@example.org" ]
}

@test "README setup 3: offline mail is queued (exit 0), mailq lists it, the next send takes it out" {
	readme_config laptop | write_config "$CFG"
	grep -q 'queue = "on-failure"' "$CFG"
	# Offline: the server refuses for now.
	server_ctl srv reply-MAIL "421 4.3.2 not now"
	run --separate-stderr envoi -C "$CFG" you@example.org <<<"Subject: offline"
	assert_status 0
	[[ $stderr == *"queued as"* ]]
	run --separate-stderr envoi -C "$CFG" -bp
	assert_status 0
	[[ $output == *"<you@example.org>"* ]]
	# Online again: make the entry due, then send something new.
	server_ctl_clear srv
	sed -i 's/^next_try: .*/next_try: 0/' "$BATS_TEST_TMPDIR"/queue/*.env
	run --separate-stderr envoi -C "$CFG" other@example.org <<<"Subject: online"
	assert_status 0
	[ "$(msg_count srv)" -eq 2 ]
	run --separate-stderr envoi -C "$CFG" -bp
	[[ $output == "Mail queue is empty" ]]
}
