#!/usr/bin/env bats
# The queue under stress, end to end through envoi: many concurrent
# flushers, SIGKILL at every step of an enqueue and of a delivery, and a
# full filesystem.  The rule: no accepted message is lost (exit 0 only once
# the entry is whole), nothing partial is ever listed, and at most the one
# message in flight when envoi died is delivered twice.
#
# ENVOI_QUEUE_FAULT=STEP makes envoi SIGKILL itself at STEP (src/queue.h);
# run through `timeout` the status is then 137.

load lib/common
load lib/queue

setup_file() {
	common_setup_file
	start_server srv --user "$AUTH_USER" --password "$AUTH_PASS"
}

setup() {
	common_setup
	queue_setup
	MNT=
}

teardown() {
	if [ -n "$MNT" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
}

# envoi_fault STEP ARGS...: envoi with ENVOI_QUEUE_FAULT=STEP
envoi_fault() {
	local step=$1
	shift
	ENVOI_QUEUE_FAULT=$step timeout -k 5 "$ENVOI_TIMEOUT" "$ENVOI" "$@"
}

# numbered_msg FILE N: a distinct small message
numbered_msg() {
	printf 'From: alice@example.org\nTo: bob@example.org\nSubject: number %d\nDate: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <n%d@example.org>\n\nThis is message number %d.\n.dot\n' \
		"$2" "$2" "$2" >"$1"
}

# assert_listed N: -bp and -bp --json list N entries, each of them whole:
# its ID.msg is the spool form of $MSG
assert_listed() {
	local id n
	run --separate-stderr envoi -C "$CFG" -bp --json
	assert_status 0
	n=$("$PY" -c 'import json, sys; print(len(json.loads(sys.argv[1])))' "$output")
	if [ "$n" -ne "$1" ]; then
		echo "-bp --json lists $n entries, expected $1: $output" >&2
		return 1
	fi
	run --separate-stderr envoi -C "$CFG" -bp
	assert_status 0
	if [ "$1" -eq 0 ]; then
		[ "$output" = "Mail queue is empty" ]
	else
		[ "$(wc -l <<<"$output")" -eq "$1" ]
	fi
	sed 's/^\./../' "$EXPECTED" >"$BATS_TEST_TMPDIR/stuffed"
	for id in $(q_ids); do
		assert_same_file "$BATS_TEST_TMPDIR/stuffed" "$QDIR/$id.msg"
	done
}

# ---------------------------------------------------------------------------
# concurrency

@test "200 entries, 4 concurrent envoi -q: each delivered exactly once, over at most 4 connections" {
	local i pids=() rc=0
	qconfig srv starttls
	for ((i = 1; i <= 200; i++)); do
		numbered_msg "$BATS_TEST_TMPDIR/m" "$i"
		"$ENVOI" -C "$CFG" -odq -oeq bob@example.org <"$BATS_TEST_TMPDIR/m" ||
			rc=1
	done
	[ "$rc" -eq 0 ]
	[ "$(q_count)" -eq 200 ]
	for i in 1 2 3 4; do
		timeout -k 5 60 "$ENVOI" -C "$CFG" -q 2>"$BATS_TEST_TMPDIR/err.$i" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || rc=$?
	done
	[ "$rc" -eq 0 ]
	cat "$BATS_TEST_TMPDIR"/err.* >&2
	[ "$(msg_count srv)" -eq 200 ]
	# each body exactly once
	local dir
	dir=$(server_dir srv)/mail
	[ "$(grep -h '^This is message number ' "$dir"/*.eml | sort -u | wc -l)" -eq 200 ]
	[ "$(mail_hashes srv | uniq | wc -l)" -eq 200 ]
	[ "$(conn_count srv)" -le 4 ]
	assert_queue_empty
	[ -z "$(ls -A "$QDIR/failed")" ]
}

# ---------------------------------------------------------------------------
# SIGKILL while enqueueing

# enqueue_crash STEP N ARGS...: envoi ARGS dies at STEP and leaves N whole
# entries; -q with the server up then delivers exactly N copies of $MSG
enqueue_crash() {
	local step=$1 n=$2
	shift 2
	rm -rf "$QDIR"
	server_reset srv
	run --separate-stderr envoi_fault "$step" -C "$CFG" "$@" bob@example.org <"$MSG"
	assert_status 137
	[ -z "$output" ]
	# killed before it could say "queued as"
	[[ ${stderr-} != *"queued as"* ]]
	assert_listed "$n"
	qconfig srv starttls
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq "$n" ]
	[ "$n" -eq 0 ] || assert_same_file "$EXPECTED" "$(last_eml srv)"
	assert_queue_empty_of_entries
}

# assert_queue_empty_of_entries: no ID.env left (an orphan ID.msg or a file
# in tmp/ is left for queue_clean, but is never listed)
assert_queue_empty_of_entries() {
	[ "$(q_count)" -eq 0 ]
	run --separate-stderr envoi -C "$CFG" -bp
	[ "$output" = "Mail queue is empty" ]
}

@test "kill -9 at each step of an enqueue (-odq): no entry before the envelope is in place, a whole one after" {
	local step
	for step in msg-written msg-fsync env-fsync msg-rename; do
		qconfig srv starttls
		enqueue_crash "$step" 0 -odq
	done
	for step in env-rename dir-fsync; do
		qconfig srv starttls
		enqueue_crash "$step" 1 -odq
	done
}

@test "kill -9 at each step of an enqueue after a failed attempt (on-failure, server down)" {
	local step
	for step in msg-written msg-fsync env-fsync msg-rename; do
		qconfig_down
		enqueue_crash "$step" 0
	done
	for step in env-rename dir-fsync; do
		qconfig_down
		enqueue_crash "$step" 1
	done
}

@test "the queue works normally after an enqueue crash" {
	qconfig srv starttls
	run --separate-stderr envoi_fault msg-rename -C "$CFG" -odq bob@example.org <"$MSG"
	assert_status 137
	qsend -odq bob@example.org
	assert_status 0
	[ "$(q_count)" -eq 1 ]
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	assert_same_file "$EXPECTED" "$(last_eml srv)"
}

# ---------------------------------------------------------------------------
# SIGKILL while delivering

@test "kill -9 between the unlinks of a remove after delivery: delivered once, never again" {
	qconfig srv starttls
	qsend -odq bob@example.org
	assert_status 0
	run --separate-stderr envoi_fault remove-between -C "$CFG" -q
	assert_status 137
	[ "$(msg_count srv)" -eq 1 ]
	assert_queue_empty_of_entries
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	assert_same_file "$EXPECTED" "$(last_eml srv)"
}

@test "kill -9 while rewriting the envelope after a 4xx: the old envelope stays, delivered later once" {
	qconfig srv starttls
	qsend -odq bob@example.org
	assert_status 0
	local id
	id=$(q_ids)
	cp "$QDIR/$id.env" "$BATS_TEST_TMPDIR/env.before"
	server_ctl srv reply-MAIL "451 4.3.0 later"
	run --separate-stderr envoi_fault update-written -C "$CFG" -q
	assert_status 137
	assert_same_file "$BATS_TEST_TMPDIR/env.before" "$QDIR/$id.env"
	assert_listed 1
	server_ctl_clear srv
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	assert_same_file "$EXPECTED" "$(last_eml srv)"
	assert_queue_empty_of_entries
}

@test "kill -9 at each step of moving a refused entry to failed/: kept, in failed/ once, at most one notice" {
	local step listed id notices
	for step in fail-link:1 fail-env:1 fail-between:0; do
		listed=${step#*:} step=${step%:*}
		rm -rf "$QDIR"
		server_reset srv
		qconfig srv starttls
		qsend -odq bob@example.org
		assert_status 0
		id=$(q_ids)
		server_ctl srv reply-RCPT "bob@example.org 550 5.1.1 no such user"
		run --separate-stderr envoi_fault "$step" -C "$CFG" -q
		assert_status 137
		[ "$(msg_count srv)" -eq 0 ]
		assert_listed "$listed"
		# a later run finishes the job
		run --separate-stderr envoi -C "$CFG" -q
		assert_status 0
		assert_queue_empty_of_entries
		[ -f "$QDIR/failed/$id.env" ]
		[ -f "$QDIR/failed/$id.msg" ]
		[ "$(q_count "$QDIR/failed")" -eq 1 ]
		sed 's/^\./../' "$EXPECTED" >"$BATS_TEST_TMPDIR/stuffed"
		assert_same_file "$BATS_TEST_TMPDIR/stuffed" "$QDIR/failed/$id.msg"
		notices=$(msg_count srv)
		[ "$notices" -le 1 ]
		if [ "$listed" -eq 1 ]; then
			# still queued after the crash, so the next run notified
			[ "$notices" -eq 1 ]
			check_notice "$(last_eml srv)" alice@example.org bob@example.org 5.1.1
		fi
	done
}

# flush_and_kill CTL: queue 3 distinct messages, make the server sleep at
# CTL (a delay control file) for the first one, SIGKILL envoi -q while it
# waits there, then flush again with the server normal.  Sets FIRST, the
# body line of the message in flight.
flush_and_kill() {
	local ctl=$1 i pid
	qconfig srv starttls
	for i in 1 2 3; do
		numbered_msg "$BATS_TEST_TMPDIR/m$i" "$i"
		run --separate-stderr envoi -C "$CFG" -odq -oeq bob@example.org <"$BATS_TEST_TMPDIR/m$i"
		assert_status 0
	done
	[ "$(q_count)" -eq 3 ]
	server_ctl srv "$ctl" 20
	"$ENVOI" -C "$CFG" -q 2>/dev/null &
	pid=$!
	# wait until the first message's data is in (and, for
	# delay-EOD-reply, recorded by the server)
	local seen=0
	for ((i = 0; i < 200; i++)); do
		if grep -q ' DATA$' "$(transcript srv)"; then
			if [ "$ctl" != delay-EOD-reply ] || [ "$(msg_count srv)" -eq 1 ]; then
				seen=1
				break
			fi
		fi
		sleep 0.05
	done
	sleep 0.2
	kill -KILL "$pid"
	wait "$pid" || true
	[ "$seen" -eq 1 ]
	[ "$(msg_count srv)" -le 1 ]
	server_ctl_clear srv
	[ "$(q_count)" -eq 3 ]
	assert_listed_count 3
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	assert_queue_empty_of_entries
	FIRST="This is message number 1."
}

# assert_listed_count N: -bp --json lists N entries
assert_listed_count() {
	run --separate-stderr envoi -C "$CFG" -bp --json
	assert_status 0
	[ "$("$PY" -c 'import json, sys; print(len(json.loads(sys.argv[1])))' "$output")" -eq "$1" ]
}

# bodies NAME: the "This is message number N." line of every message, one
# per line, sorted
bodies() {
	grep -h '^This is message number ' "$(server_dir "$1")"/mail/*.eml |
		tr -d '\r' | sort
}

@test "kill -9 of envoi -q before the server has the data: each message delivered exactly once" {
	flush_and_kill delay-EOD
	[ "$(bodies srv | sort -u | wc -l)" -eq 3 ]
	# the server dropped the one in flight with the connection
	[ "$(msg_count srv)" -eq 3 ]
}

@test "kill -9 of envoi -q after the server took the data, before its reply: only that one twice" {
	flush_and_kill delay-EOD-reply
	[ "$(bodies srv | sort -u | wc -l)" -eq 3 ]
	[ "$(msg_count srv)" -eq 4 ]
	[ "$(bodies srv | uniq -d)" = "$FIRST" ]
}

# ---------------------------------------------------------------------------
# a full filesystem

# mount_tiny: a 64 KB tmpfs as the queue directory's parent; QDIR inside
mount_tiny() {
	MNT="$BATS_TEST_TMPDIR/mnt"
	mkdir -p "$MNT"
	if ! mount -t tmpfs -o size=64k,mode=0700 envoi-test "$MNT" 2>/dev/null; then
		MNT=
		skip "mount -t tmpfs is not permitted here (needs root)"
	fi
	QDIR="$MNT/q"
}

# big_msg FILE: a 1 MB well-formed message
big_msg() {
	"$PY" -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("From: alice@example.org\nSubject: big\n\n")
    line = "0123456789" * 7 + "\n"
    f.write(line * (1048576 // len(line)))
' "$1"
}

# assert_nothing_written: no file at all under $QDIR (tmp/ included)
assert_nothing_written() {
	if [ -n "$(find "$QDIR" -type f)" ]; then
		echo "files left in the queue:" >&2
		find "$QDIR" -type f -ls >&2
		return 1
	fi
}

@test "full filesystem, server down: the 1 MB message is refused with 74 naming the file; nothing half-written" {
	mount_tiny
	big_msg "$MSG"
	qconfig_down
	qsend bob@example.org
	assert_status 74
	assert_error_line
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	# the original failure and the queue's, with the path
	[[ $stderr == *"Connection refused"* ]]
	[[ $stderr == *"could not be queued"* ]]
	[[ $stderr == *"'$QDIR/tmp/"*".msg'"* ]]
	[[ $stderr == *"No space left on device"* ]]
	[[ $stderr != *"queued as"* ]]
	assert_nothing_written
	[ -z "$(ls -A "$QDIR/tmp")" ]
	# the space is free again: a small message still queues
	queue_msg "$MSG"
	qsend bob@example.org
	assert_status 0
	assert_queued_line
}

@test "full filesystem, -odq: exit 74 naming the file; nothing half-written" {
	mount_tiny
	big_msg "$MSG"
	qconfig srv starttls
	qsend -odq bob@example.org
	assert_status 74
	assert_error_line
	[[ $stderr == *"'$QDIR/tmp/"*".msg'"* ]]
	[[ $stderr == *"No space left on device"* ]]
	assert_nothing_written
	[ "$(conn_count srv)" -eq 0 ]
}

@test "full filesystem, queue = always: exit 74; nothing half-written" {
	mount_tiny
	big_msg "$MSG"
	qconfig srv starttls queue=always
	qsend bob@example.org
	assert_status 74
	[[ $stderr == *"'$QDIR/tmp/"*".msg'"* ]]
	[[ $stderr == *"No space left on device"* ]]
	assert_nothing_written
}
