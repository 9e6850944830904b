#!/usr/bin/env bats
# Where the password comes from (cred.h, envoi.conf(5) "PASSWORDS"): the
# file (only when private), passwordeval, the keyring (a real GNOME Keyring
# on a private session bus), ~/.netrc, and a prompt on the terminal (a real
# pseudo-terminal); their order; and the audit: the password is in no -v
# output, log, queue file, or argument and environment of a child.

# status, output, lines and stderr are set by bats' run
# shellcheck disable=SC2154

load lib/common

PTY_RUN="$TESTS_DIR/lib/pty_run.py"

# The keyring: a session bus and gnome-keyring-daemon of this file's own,
# both stopped by PID.  KEYRING_SKIP says why not when they cannot run.
keyring_start() {
	local d="$BATS_FILE_TMPDIR/keyring" i
	KEYRING_SKIP=""
	if ! grep -q 'libsecret-1\.so' "$ENVOI"; then
		KEYRING_SKIP="envoi was built without libsecret"
	elif ! command -v dbus-daemon >/dev/null ||
		! command -v gnome-keyring-daemon >/dev/null ||
		! command -v dbus-send >/dev/null ||
		! command -v secret-tool >/dev/null; then
		KEYRING_SKIP="needs dbus-daemon, dbus-send, gnome-keyring-daemon and secret-tool"
	fi
	export KEYRING_SKIP
	[ -z "$KEYRING_SKIP" ] || return 0
	mkdir -p "$d/home" "$d/run"
	chmod 700 "$d/run"
	KEYRING_BUS="unix:path=$d/bus"
	export KEYRING_BUS
	dbus-daemon --session --fork --address="$KEYRING_BUS" \
		--print-pid=1 >"$d/dbus.pid" 2>"$d/dbus.log" </dev/null
	# --unlock reads the new login keyring's password from stdin.
	printf 'keyring-password' | HOME="$d/home" XDG_RUNTIME_DIR="$d/run" \
		DBUS_SESSION_BUS_ADDRESS="$KEYRING_BUS" \
		gnome-keyring-daemon --foreground --unlock --components=secrets \
		>"$d/gk.log" 2>&1 3>&- &
	echo $! >"$d/gk.pid"
	for ((i = 0; i < 100; i++)); do
		DBUS_SESSION_BUS_ADDRESS="$KEYRING_BUS" dbus-send --session \
			--dest=org.freedesktop.DBus --print-reply \
			/org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
			string:org.freedesktop.secrets 2>/dev/null |
			grep -q 'boolean true' && return 0
		sleep 0.1
	done
	echo "gnome-keyring-daemon did not come up:" >&2
	cat "$d/gk.log" "$d/dbus.log" >&2
	return 1
}

keyring_stop() {
	local d="$BATS_FILE_TMPDIR/keyring" f pid
	for f in gk.pid dbus.pid; do
		pid=$(cat "$d/$f" 2>/dev/null) || continue
		[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	done
}

# with_keyring: this test talks to the file's keyring (or is skipped),
# which holds no SMTP password yet
with_keyring() {
	[ -z "$KEYRING_SKIP" ] || skip "$KEYRING_SKIP"
	export DBUS_SESSION_BUS_ADDRESS="$KEYRING_BUS"
	secret-tool clear service smtp 2>/dev/null || true # none: status 1
	run secret-tool search service smtp
	[ -z "$output" ]
}

setup_file() {
	common_setup_file
	start_server srv --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
	keyring_start
}

teardown_file() {
	keyring_stop
	common_teardown_file
}

setup() {
	common_setup
	# Never the developer's keyring, never a keyring by accident.
	unset DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR NETRC
	MSG="$BATS_TEST_TMPDIR/msg"
	std_msg "$MSG"
	# The account has a user, and the file names no password.
	std_config srv starttls password=
}

# send [ARGS...]: one message, without a controlling terminal (setsid), so
# that no prompt can happen unless a test asks for one.  The password the
# tests export is not in envoi's environment: the audit looks for it.
send() {
	run --separate-stderr setsid -w env -u AUTH_PASS timeout -k 5 \
		"$ENVOI_TIMEOUT" "$ENVOI" -C "$CFG" "$@" bob@example.org <"$MSG"
}

# netrc TEXT: ~/.netrc with TEXT, mode 600
netrc() {
	(umask 077 && printf '%s\n' "$1" >"$HOME/.netrc")
}

# pty_send ARGS...: one message through a pseudo-terminal (pty_run.py)
pty_send() {
	run --separate-stderr env -u AUTH_PASS "$PY" "$PTY_RUN" \
		--stdin "$MSG" --log "$BATS_TEST_TMPDIR/tty.log" "$@" -- \
		"$ENVOI" -C "$CFG" bob@example.org
}

# store_pw PASSWORD: envoi --store-password with the password on stdin
store_pw() {
	printf '%s\n' "$1" | envoi -C "$CFG" --store-password
}

# ---------------------------------------------------------------------------
# 1. password in the file

@test "password in a file that group or others can read: exit 78, names the file and chmod 600" {
	local mode
	# (group- or world-writable files are refused before: paths.bats)
	for mode in 0640 0604 0644; do
		std_config srv starttls
		chmod "$mode" "$CFG"
		send
		assert_status 78
		assert_error_line
		[[ $stderr == *"'$CFG'"* ]]
		[[ $stderr == *"chmod 600 '$CFG'"* ]]
	done
	[ "$(conn_count srv)" -eq 0 ]
}

@test "password in a private file: used, nothing else is asked" {
	std_config srv starttls
	netrc "machine 127.0.0.1 login $AUTH_USER password wrong-netrc"
	send -v
	assert_status 0
	[[ $stderr == *"password for account 'main' from the configuration"* ]]
	[ "$(last_json srv auth_user)" = "$AUTH_USER" ]
}

# ---------------------------------------------------------------------------
# 2. passwordeval

@test "passwordeval: a trailing CR LF is stripped and later lines ignored" {
	printf '%s\r\nsecond line\n' "$AUTH_PASS" >"$BATS_TEST_TMPDIR/pw"
	std_config srv starttls password= passwordeval="cat $BATS_TEST_TMPDIR/pw"
	send
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
}

@test "passwordeval: megabytes of output after the password are read, not a broken pipe" {
	# The script ends early (SIGPIPE, or exit 9) if envoi stops reading
	# after the first line; then "finished" is never written.
	cat >"$BATS_TEST_TMPDIR/pw.sh" <<EOF
printf '%s\n' '$AUTH_PASS'
head -c 3000000 /dev/zero | tr '\\0' x || exit 9
echo
echo done >"$BATS_TEST_TMPDIR/finished"
EOF
	std_config srv starttls password= passwordeval="sh $BATS_TEST_TMPDIR/pw.sh"
	send
	assert_status 0
	[ -f "$BATS_TEST_TMPDIR/finished" ]
}

@test "passwordeval: a long password line is read whole" {
	local long
	# As long as the test server's 512-byte AUTH line allows.
	long=$(head -c 360 /dev/zero | tr '\0' p)
	start_server long --starttls --user "$AUTH_USER" --password "$long"
	printf '%s\n' "$long" >"$BATS_TEST_TMPDIR/pw"
	std_config long starttls password= passwordeval="cat $BATS_TEST_TMPDIR/pw"
	send
	stop_server long
	assert_status 0
}

@test "passwordeval: a line over 1 MiB is refused, exit 78" {
	std_config srv starttls password= \
		passwordeval="head -c 1100000 /dev/zero | tr '\\\\0' x"
	send
	assert_status 78
	[[ $stderr == *"longer than"* ]]
	[ "$(conn_count srv)" -eq 0 ]
}

@test "passwordeval: a failing command is an error, no other source is tried" {
	netrc "machine 127.0.0.1 login $AUTH_USER password $AUTH_PASS"
	std_config srv starttls password= passwordeval="exit 3"
	send
	assert_status 78
	[[ $stderr == *"failed with status 3"* ]]
	[ "$(conn_count srv)" -eq 0 ]
}

@test "passwordeval: the command gets /dev/null on stdin and no other descriptor" {
	local d="$BATS_TEST_TMPDIR"
	printf '%s\n' "$AUTH_PASS" >"$d/pw"
	# ls lists its own descriptors, which are the shell's, which are
	# what envoi gave it; ls adds one for /proc/PID/fd as it reads it.
	std_config srv starttls password= \
		passwordeval="ls -l /proc/self/fd >$d/fds; cat >$d/stdin; cat $d/pw"
	send
	assert_status 0
	cat "$d/fds" >&2
	grep -q ' 0 -> /dev/null' "$d/fds"
	grep -q ' 2 -> ' "$d/fds"
	run ! grep -E ' ([3-9]|[1-9][0-9]+) -> ([^/]|/[^p])' "$d/fds"
	[ -f "$d/stdin" ] && [ ! -s "$d/stdin" ]
}

# ---------------------------------------------------------------------------
# 3. keyring

@test "keyring: --store-password from stdin, then the message is sent with it" {
	with_keyring
	run --separate-stderr store_pw "$AUTH_PASS"
	assert_status 0
	send -v
	assert_status 0
	[[ $stderr == *"password for account 'main' from the keyring"* ]]
	[ "$(last_json srv auth_user)" = "$AUTH_USER" ]
}

@test "keyring: an entry made by secret-tool with msmtp's attributes is found" {
	with_keyring
	printf '%s' "$AUTH_PASS" | secret-tool store --label='msmtp' \
		host 127.0.0.1 service smtp user "$AUTH_USER"
	# A different user on the same host must not get it.
	std_config srv starttls password= user=carol
	send
	assert_status 78
	std_config srv starttls password=
	send -v
	assert_status 0
	[[ $stderr == *"from the keyring"* ]]
	# And envoi stores under the same attributes: secret-tool reads it.
	std_config srv starttls password= user=dave
	run store_pw "dave's password"
	assert_status 0
	run secret-tool lookup host 127.0.0.1 service smtp user dave
	[ "$output" = "dave's password" ]
}

@test "keyring: --store-password on a terminal asks twice without echo" {
	with_keyring
	run env -u AUTH_PASS "$PY" "$PTY_RUN" --log "$BATS_TEST_TMPDIR/tty.log" \
		--stdin tty --answer "$AUTH_PASS" --answer "$AUTH_PASS" -- \
		"$ENVOI" -C "$CFG" --store-password
	[[ $output == *"echo_at_prompt 0"* ]]
	[[ $output == *"status 0"* ]]
	[ "$(grep -c 'password' "$BATS_TEST_TMPDIR/tty.log")" -eq 2 ]
	run ! grep -F -- "$AUTH_PASS" "$BATS_TEST_TMPDIR/tty.log"
	run secret-tool lookup host 127.0.0.1 service smtp user "$AUTH_USER"
	[ "$output" = "$AUTH_PASS" ]
	# Two different answers: nothing is stored, exit 65.
	run env -u AUTH_PASS "$PY" "$PTY_RUN" --log "$BATS_TEST_TMPDIR/tty.log" \
		--stdin tty --answer one --answer two -- \
		"$ENVOI" -C "$CFG" --store-password
	[[ $output == *"status 65"* ]]
	grep -q "the two passwords differ" "$BATS_TEST_TMPDIR/tty.log"
	run secret-tool lookup host 127.0.0.1 service smtp user "$AUTH_USER"
	[ "$output" = "$AUTH_PASS" ]
}

@test "keyring: --store-password refuses extra arguments and an empty stdin" {
	run --separate-stderr envoi -C "$CFG" --store-password x@example.org
	assert_status 64
	run --separate-stderr envoi -C "$CFG" --store-password </dev/null
	assert_status 65
	[[ $stderr == *"no password on standard input"* ]]
}

@test "keyring: no session bus: skipped quietly, and said so in the error" {
	send
	assert_status 78
	[[ $stderr == *"keyring: "* ]]
	[[ $stderr == *"keyring: no session bus"* ||
		$stderr == *"keyring: envoi was built without libsecret"* ]]
	run --separate-stderr store_pw "$AUTH_PASS"
	assert_status 69
}

# ---------------------------------------------------------------------------
# 4. netrc

@test "netrc: the machine entry for host and user" {
	netrc "machine other.example login $AUTH_USER password wrong1
machine 127.0.0.1 login bob password wrong2
machine 127.0.0.1 login $AUTH_USER password $AUTH_PASS"
	send -v
	assert_status 0
	[[ $stderr == *"from the netrc"* ]]
}

@test "netrc: quoted tokens, macdef skipped, \$NETRC names the file" {
	local f="$BATS_TEST_TMPDIR/my-netrc" pw='pa ss "q" \ end'
	start_server quoted --starttls --user "$AUTH_USER" --password "$pw"
	(umask 077 && cat >"$f") <<'EOF'
macdef init
machine 127.0.0.1 login alice password wrong-inside-macro

machine "127.0.0.1" login "alice" password "pa ss \"q\" \\ end"
EOF
	std_config quoted starttls password=
	NETRC="$f" send
	stop_server quoted
	assert_status 0
}

@test "netrc: the default entry when no machine matches" {
	netrc "machine 127.0.0.1 login bob password wrong
default login $AUTH_USER password $AUTH_PASS"
	send
	assert_status 0
	netrc "default login bob password $AUTH_PASS"
	send
	assert_status 78
}

@test "netrc: a FIFO as \$NETRC is refused at once, not waited on: exit 78" {
	local f="$BATS_TEST_TMPDIR/fifo-netrc"
	mkfifo -m 600 "$f"
	SECONDS=0
	NETRC="$f" send
	assert_status 78
	[[ $stderr == *"$f"*"not a netrc file"* ]]
	[ "$SECONDS" -lt 10 ]
}

@test "netrc: readable by group or others: refused, exit 78, chmod 600 named" {
	netrc "machine 127.0.0.1 login $AUTH_USER password $AUTH_PASS"
	chmod 0644 "$HOME/.netrc"
	send
	assert_status 78
	[[ $stderr == *"'$HOME/.netrc'"*"chmod 600 '$HOME/.netrc'"* ]]
	[ "$(conn_count srv)" -eq 0 ]
	# A readable netrc without an entry for us is none of our business.
	printf 'machine elsewhere login x password y\n' >"$HOME/.netrc"
	chmod 0644 "$HOME/.netrc"
	send
	assert_status 78
	[[ $stderr == *"no entry in '$HOME/.netrc'"* ]]
}

# ---------------------------------------------------------------------------
# 5. prompt

@test "prompt: asked on the terminal with echo off, echo back on afterwards" {
	pty_send --answer "$AUTH_PASS"
	assert_status 0
	[[ $output == *"prompted 1"* ]]
	[[ $output == *"echo_at_prompt 0"* ]]
	[[ $output == *"echo_after 1"* ]]
	[[ $output == *"status 0"* ]]
	grep -q "password for $AUTH_USER at 127.0.0.1 (account main)" \
		"$BATS_TEST_TMPDIR/tty.log"
	run ! grep -F -- "$AUTH_PASS" "$BATS_TEST_TMPDIR/tty.log"
	[ "$(msg_count srv)" -eq 1 ]
}

@test "prompt: ^C at the prompt ends envoi and leaves echo on" {
	pty_send --signal INT
	[[ $output == *"prompted 1"* ]]
	[[ $output == *"status -2"* ]]
	[[ $output == *"echo_after 1"* ]]
	[ "$(conn_count srv)" -eq 0 ]
}

@test "prompt: stopped (^Z) and continued, it asks again" {
	pty_send --signal TSTP --answer "$AUTH_PASS"
	[[ $output == *"stopped 1"* ]]
	[[ $output == *"status 0"* ]]
	[[ $output == *"echo_after 1"* ]]
	[ "$(grep -c 'password for' "$BATS_TEST_TMPDIR/tty.log")" -eq 2 ]
}

@test "prompt: a background job is not asked: exit 78" {
	pty_send --background --timeout 10 --expect 'password for' \
		--answer "$AUTH_PASS"
	[[ $output == *"prompted 0"* ]]
	[[ $output == *"status 78"* ]]
	grep -q "prompt: not in the terminal's foreground" \
		"$BATS_TEST_TMPDIR/tty.log"
	[ "$(conn_count srv)" -eq 0 ]
}

@test "prompt: an empty answer is an error, exit 78" {
	pty_send --answer ""
	[[ $output == *"status 78"* ]]
	grep -q "no password given at the prompt" "$BATS_TEST_TMPDIR/tty.log"
}

@test "prompt: without a controlling terminal nothing is asked: exit 78, every source named" {
	send
	assert_status 78
	assert_error_line
	[[ $stderr == *"$CFG: account 'main' has user '$AUTH_USER' but no password"* ]]
	[[ $stderr == *"netrc: no entry in '$HOME/.netrc'"* ]]
	[[ $stderr == *"prompt: no terminal to ask on"* ]]
	[[ $stderr == *"--store-password"* ]]
	[ "$(conn_count srv)" -eq 0 ]
}

# ---------------------------------------------------------------------------
# the order

@test "order: passwordeval before keyring, netrc and prompt; file before passwordeval" {
	netrc "machine 127.0.0.1 login $AUTH_USER password wrong-netrc"
	std_config srv starttls password= \
		passwordeval="touch $BATS_TEST_TMPDIR/ran; echo $AUTH_PASS"
	pty_send --answer wrong-prompt
	[[ $output == *"prompted 0"* ]]
	[[ $output == *"status 0"* ]]
	[ -f "$BATS_TEST_TMPDIR/ran" ]
	rm "$BATS_TEST_TMPDIR/ran"
	std_config srv starttls passwordeval="touch $BATS_TEST_TMPDIR/ran; echo wrong"
	send
	assert_status 0
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "order: keyring before netrc, netrc before the prompt" {
	netrc "machine 127.0.0.1 login $AUTH_USER password $AUTH_PASS"
	pty_send --answer wrong-prompt
	[[ $output == *"prompted 0"* ]]
	[[ $output == *"status 0"* ]]
	with_keyring
	run store_pw "$AUTH_PASS"
	assert_status 0
	netrc "machine 127.0.0.1 login $AUTH_USER password wrong-netrc"
	send -v
	assert_status 0
	[[ $stderr == *"from the keyring"* ]]
}

@test "--check names the source of the password" {
	netrc "machine 127.0.0.1 login $AUTH_USER password $AUTH_PASS"
	run --separate-stderr setsid -w "$ENVOI" -C "$CFG" --check
	assert_status 0
	[[ $output == *"password       OK (from the netrc)"* ]]
}

# ---------------------------------------------------------------------------
# audit

@test "audit: the password is in no -v output, log, queue file, or eval child's argv and environment" {
	local d="$BATS_TEST_TMPDIR" q="$BATS_TEST_TMPDIR/queue"
	printf '%s\n' "$AUTH_PASS" >"$d/pw"
	cat >"$d/pw.sh" <<EOF
cat /proc/\$\$/environ /proc/\$\$/cmdline /proc/\$PPID/cmdline >"$d/child" 2>&1
cat "$d/pw"
EOF
	# Accepted after AUTH, then deferred at MAIL: the message is queued.
	server_ctl srv reply-MAIL "451 4.3.0 try later"
	std_config srv starttls password= passwordeval="sh $d/pw.sh" \
		queue=on-failure logfile="$d/envoi.log"
	send -v -X "$d/transcript"
	assert_status 0
	grep -q '^[0-9]* AUTH' "$(transcript srv)"
	[ -n "$(find "$q" -type f)" ]
	[ -s "$d/child" ]
	printf '%s\n%s\n' "$output" "$stderr" >"$d/stdio"
	[[ $stderr == *"<hidden>"* ]]
	no_secret "$d/stdio" "$d/transcript" "$d/envoi.log" "$q" "$d/child"
	# The same with the netrc and the prompt as the source.
	netrc "machine 127.0.0.1 login $AUTH_USER password $AUTH_PASS"
	std_config srv starttls password= queue=on-failure logfile="$d/envoi.log"
	send -v
	assert_status 0
	printf '%s\n%s\n' "$output" "$stderr" >"$d/stdio"
	no_secret "$d/stdio" "$d/envoi.log" "$q"
	rm "$HOME/.netrc"
	pty_send --answer "$AUTH_PASS"
	[[ $output == *"status 0"* ]]
	no_secret "$BATS_TEST_TMPDIR/tty.log" "$d/envoi.log" "$q"
}
