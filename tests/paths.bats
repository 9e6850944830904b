#!/usr/bin/env bats
# Paths envoi opens safely (issue #8): the queue directory and everything
# in it (tmp/, failed/, tls/, entry files) is never reached through a
# planted symbolic link, must belong to the effective user and must not
# be writable by group or others; files and directories get modes 0600 and
# 0700 whatever the umask; the configuration and aliases files are read
# only when no one but their owner (the user or root) can write them.
#
# Ownership tests need root (CI runs as root): they chown to "nobody" and
# run envoi as nobody with setpriv.  Without root they are skipped.

load lib/common
load lib/queue

setup_file() {
	common_setup_file
	start_server srv --user "$AUTH_USER" --password "$AUTH_PASS"
}

setup() {
	common_setup
	queue_setup
	TARGET="$BATS_TEST_TMPDIR/elsewhere"
	mkdir -m 700 "$TARGET"
}

teardown() {
	# a directory nobody can reach, made by as_nobody_dir
	if [ -n "${SHARED-}" ]; then rm -rf "$SHARED"; fi
}

# need_root: skip unless we can chown and switch users
need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (chown, setpriv)"
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	id nobody >/dev/null 2>&1 || skip "no user 'nobody'"
}

# one_line: stderr is exactly one "envoi: " line
one_line() {
	assert_error_line
	[ "$(printf '%s\n' "$stderr" | grep -c .)" -eq 1 ]
}

# empty DIR: DIR holds nothing at all
empty() { [ -z "$(find "$1" -mindepth 1 -print -quit)" ]; }

# mode PATH: octal permission bits of PATH itself (not followed)
mode() { stat -c %a "$1"; }

# queued_entry: queue one message with -odq (no connection); sets QID
queued_entry() {
	qconfig_down
	qsend -odq bob@example.org
	assert_status 0
	QID=$(q_ids)
	[ -n "$QID" ]
}

# ---------------------------------------------------------------------------
# the queue directory and its subdirectories

# refused PATH PROBLEM: queueing with -odq exits 73 with one line that
# names PATH and PROBLEM, and leaves no entry
refused() {
	qconfig_down
	qsend -odq bob@example.org
	assert_status 73
	one_line
	[[ $stderr == *"'$1'"*"$2"* ]]
	[ "$(q_count)" -eq 0 ]
}

@test "queue directory that is a symlink: exit 73, one line naming it; nothing written through it" {
	ln -s "$TARGET" "$QDIR"
	refused "$QDIR" "symbolic link"
	empty "$TARGET"
	# the same without -odq: the failed attempt cannot fall back on it
	qsend bob@example.org
	assert_status 73
	[[ $stderr == *"'$QDIR'"*"symbolic link"* ]]
	empty "$TARGET"
}

@test "tmp/ or failed/ that is a symlink: exit 73, names it; nothing written through it" {
	local sub
	for sub in tmp failed; do
		rm -rf "$QDIR"
		mkdir -m 700 "$QDIR"
		ln -s "$TARGET" "$QDIR/$sub"
		refused "$QDIR/$sub" "symbolic link"
		empty "$TARGET"
	done
}

@test "group-writable queue directory: exit 73, says so; fine once chmod 700" {
	mkdir "$QDIR"
	chmod 770 "$QDIR"
	refused "$QDIR" "writable by group or others"
	empty "$QDIR"
	chmod 700 "$QDIR"
	qsend -odq bob@example.org
	assert_status 0
	[ "$(q_count)" -eq 1 ]
}

@test "world-writable tmp/ inside a good queue: exit 73, names it" {
	mkdir -m 700 "$QDIR" "$QDIR/tmp"
	chmod 703 "$QDIR/tmp"
	refused "$QDIR/tmp" "writable by group or others"
}

@test "queue directory owned by another user: exit 73, names the owner" {
	need_root
	mkdir -m 700 "$QDIR"
	chown nobody "$QDIR"
	refused "$QDIR" "belongs to uid $(id -u nobody)"
	empty "$QDIR"
}

# as_nobody_dir: SHARED, a directory (removed by teardown) that user
# nobody can enter, with a config in it that root owns, mode 644 and
# without a password, and a root-owned queue directory
as_nobody_dir() {
	SHARED=$(mktemp -d /tmp/envoi-paths.XXXXXX)
	chmod 755 "$SHARED"
	mkdir -m 755 "$SHARED/queue"
	CFG="$SHARED/envoi.conf"
	qconfig_down queue_dir="$SHARED/queue" user= password=
	chmod 644 "$CFG"
}

@test "run as another user: a root-owned config is read, a root-owned queue directory is refused" {
	need_root
	as_nobody_dir
	run --separate-stderr setpriv --reuid=nobody --regid="$(id -g nobody)" \
		--clear-groups -- "$ENVOI" -C "$CFG" -odq bob@example.org <"$MSG"
	assert_status 73
	one_line
	[[ $stderr == *"'$SHARED/queue'"*"belongs to uid 0, not to uid $(id -u nobody)"* ]]
	empty "$SHARED/queue"
	# control: the queue nobody owns is used
	chown nobody "$SHARED/queue"
	run --separate-stderr setpriv --reuid=nobody --regid="$(id -g nobody)" \
		--clear-groups -- "$ENVOI" -C "$CFG" -odq bob@example.org <"$MSG"
	assert_status 0
	[ "$(q_count "$SHARED/queue")" -eq 1 ]
	[ "$(stat -c %U "$(ls -d "$SHARED"/queue/*.env)")" = nobody ]
}

# ---------------------------------------------------------------------------
# entry files

@test "ID.msg swapped for a symlink: -q sends nothing and names it; --queue-retry exits 73" {
	queued_entry
	printf 'Subject: secret\r\n\r\nnot for the queue\r\n' >"$TARGET/secret"
	cp "$TARGET/secret" "$BATS_TEST_TMPDIR/secret.orig"
	rm "$QDIR/$QID.msg"
	ln -s "$TARGET/secret" "$QDIR/$QID.msg"
	qconfig srv starttls
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	[[ $stderr == *"'$QDIR/$QID.msg' is a symbolic link"* ]]
	[ "$(msg_count srv)" -eq 0 ]
	run --separate-stderr envoi -C "$CFG" --queue-retry "$QID"
	assert_status 73
	one_line
	[[ $stderr == *"'$QDIR/$QID.msg' is a symbolic link"* ]]
	[ "$(msg_count srv)" -eq 0 ]
	cmp "$TARGET/secret" "$BATS_TEST_TMPDIR/secret.orig"
	[ -L "$QDIR/$QID.msg" ]
}

@test "ID.env swapped for a symlink: -q names it and sends nothing; the target is left alone" {
	queued_entry
	q_make_due
	mv "$QDIR/$QID.env" "$TARGET/env"
	cp "$TARGET/env" "$BATS_TEST_TMPDIR/env.orig"
	ln -s "$TARGET/env" "$QDIR/$QID.env"
	qconfig srv starttls
	run --separate-stderr envoi -C "$CFG" -q
	[[ $stderr == *"'$QDIR/$QID.env' is a symbolic link"* ]]
	[ "$(msg_count srv)" -eq 0 ]
	cmp "$TARGET/env" "$BATS_TEST_TMPDIR/env.orig"
	# the queue commands fail on it too, and mailq says so rather than
	# calling the queue empty
	local cmd
	for cmd in --queue-retry --queue-hold --queue-release --queue-remove; do
		run --separate-stderr envoi -C "$CFG" "$cmd" "$QID"
		[ "$status" -ne 0 ] || { echo "$cmd: exit 0" >&2; return 1; }
		[[ $stderr == *"is a symbolic link"* ]]
	done
	run --separate-stderr envoi -C "$CFG" -bp
	[[ $stderr == *"$QID"*"is a symbolic link"* ]]
	[[ $output != *"Mail queue is empty"* ]]
	cmp "$TARGET/env" "$BATS_TEST_TMPDIR/env.orig"
}

@test "ID.msg swapped for a FIFO: --queue-retry does not hang, exits 73 naming it" {
	queued_entry
	rm "$QDIR/$QID.msg"
	mkfifo -m 600 "$QDIR/$QID.msg"
	qconfig srv starttls
	ENVOI_TIMEOUT=10 run --separate-stderr envoi -C "$CFG" --queue-retry "$QID"
	assert_status 73
	[[ $stderr == *"'$QDIR/$QID.msg' is not a regular file"* ]]
}

# ---------------------------------------------------------------------------
# the TLS session cache (QDIR/tls)

@test "tls/ that is a symlink: delivered, a warning names it, no session written through it" {
	mkdir -m 700 "$QDIR"
	ln -s "$TARGET" "$QDIR/tls"
	std_config srv starttls queue_dir="$QDIR"
	run --separate-stderr envoi -C "$CFG" bob@example.org <"$MSG"
	assert_status 0
	[[ $stderr == *"TLS session cache"*"'$QDIR/tls'"*"symbolic link"* ]]
	[ "$(msg_count srv)" -eq 1 ]
	empty "$TARGET"
	# control: a real tls/ gets the session
	rm "$QDIR/tls"
	run --separate-stderr envoi -C "$CFG" bob@example.org <"$MSG"
	assert_status 0
	[ -z "$stderr" ]
	[ -s "$QDIR/tls/main.session" ]
}

@test "group-writable tls/: no session saved in it, a warning names it" {
	mkdir -m 700 "$QDIR" "$QDIR/tls"
	chmod 770 "$QDIR/tls"
	std_config srv starttls queue_dir="$QDIR"
	run --separate-stderr envoi -C "$CFG" bob@example.org <"$MSG"
	assert_status 0
	[[ $stderr == *"'$QDIR/tls'"*"writable by group or others"* ]]
	empty "$QDIR/tls"
}

# ---------------------------------------------------------------------------
# modes and the umask

# modes_under UMASK: queue one entry (and a TLS session) with UMASK into a
# queue whose two parents envoi creates, then check every mode
modes_under() {
	local q="$BATS_TEST_TMPDIR/new/state/queue"
	std_config srv starttls queue=on-failure queue_dir="$q"
	# a delivery (it saves the TLS session), then an entry left queued
	run --separate-stderr bash -c 'umask "$1"; shift; exec "$@"' umask "$1" \
		"$ENVOI" -C "$CFG" bob@example.org <"$MSG"
	assert_status 0
	run --separate-stderr bash -c 'umask "$1"; shift; exec "$@"' umask "$1" \
		"$ENVOI" -C "$CFG" -odq bob@example.org <"$MSG"
	assert_status 0
	local id
	id=$(q_ids "$q")
	[ -n "$id" ]
	local want=(
		"$BATS_TEST_TMPDIR/new" 700 "$BATS_TEST_TMPDIR/new/state" 700
		"$q" 700 "$q/tmp" 700 "$q/failed" 700 "$q/tls" 700
		"$q/$id.msg" 600 "$q/$id.env" 600 "$q/tls/main.session" 600
	)
	local i
	for ((i = 0; i < ${#want[@]}; i += 2)); do
		if [ "$(mode "${want[i]}")" != "${want[i + 1]}" ]; then
			echo "umask $1: ${want[i]} is $(mode "${want[i]}"), want ${want[i + 1]}" >&2
			return 1
		fi
	done
}

@test "umask 000: directories 0700, files 0600" {
	modes_under 000
}

@test "umask 022: directories 0700, files 0600" {
	modes_under 022
}

@test "umask 077: directories 0700, files 0600" {
	modes_under 077
}

# ---------------------------------------------------------------------------
# the configuration and aliases files

# nopw_config: a config without a password (so that its readability is
# no matter) for the plain listener, mode 644
nopw_config() {
	std_config srv plain user= password= "$@"
	chmod 644 "$CFG"
}

@test "group-writable config: exit 78, one line naming it" {
	nopw_config
	chmod 664 "$CFG"
	run --separate-stderr envoi -C "$CFG" --print-config
	assert_status 78
	one_line
	[[ $stderr == *"'$CFG'"*"writable by group or others"* ]]
	chmod 644 "$CFG"
	run --separate-stderr envoi -C "$CFG" --print-config
	assert_status 0
}

# cfg_refused PROBLEM: sending with $CFG exits 78 with one line naming
# $CFG and PROBLEM, without connecting
cfg_refused() {
	run --separate-stderr envoi -C "$CFG" bob@example.org <"$MSG"
	assert_status 78
	one_line
	[[ $stderr == *"'$CFG'"*"$1"* ]]
	[ "$(conn_count srv)" -eq 0 ]
}

@test "world-writable config: exit 78, nothing sent" {
	nopw_config
	chmod 646 "$CFG"
	cfg_refused "writable by group or others"
}

@test "config owned by another user: exit 78, names the owner" {
	need_root
	nopw_config
	chown nobody "$CFG"
	cfg_refused "belongs to uid $(id -u nobody)"
}

@test "config reached through a symlink: the file it leads to is checked" {
	nopw_config
	ln -s "$CFG" "$BATS_TEST_TMPDIR/link.conf"
	run --separate-stderr envoi -C "$BATS_TEST_TMPDIR/link.conf" --print-config
	assert_status 0
	chmod 664 "$CFG"
	run --separate-stderr envoi -C "$BATS_TEST_TMPDIR/link.conf" --print-config
	assert_status 78
	[[ $stderr == *"'$BATS_TEST_TMPDIR/link.conf'"*"writable by group or others"* ]]
}

@test "group-writable aliases file: exit 78 naming it, nothing queued; fine once chmod 644" {
	local al="$BATS_TEST_TMPDIR/aliases"
	echo 'bob: bob@example.org' >"$al"
	chmod 664 "$al"
	qconfig_down aliases="$al"
	qsend -odq bob
	assert_status 78
	one_line
	[[ $stderr == *"'$al'"*"writable by group or others"* ]]
	[ "$(q_count)" -eq 0 ]
	chmod 644 "$al"
	qsend -odq bob
	assert_status 0
	[ "$(q_count)" -eq 1 ]
}

@test "aliases file owned by another user: exit 78" {
	need_root
	local al="$BATS_TEST_TMPDIR/aliases"
	echo 'bob: bob@example.org' >"$al"
	chown nobody "$al"
	qconfig_down aliases="$al"
	qsend -odq bob
	assert_status 78
	[[ $stderr == *"'$al'"*"belongs to uid $(id -u nobody)"* ]]
	[ "$(q_count)" -eq 0 ]
}

@test "a FIFO planted as the config file does not hang envoi: exit 78 within the time limit" {
	rm -f "$CFG"
	mkfifo -m 600 "$CFG"
	SECONDS=0
	run --separate-stderr timeout 20 "$ENVOI" -C "$CFG" bob@example.org <"$MSG"
	[ "$status" -eq 78 ]
	[ "$SECONDS" -lt 10 ]
	[ "$(conn_count srv)" -eq 0 ]
}
