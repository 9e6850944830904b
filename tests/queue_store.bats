#!/usr/bin/env bats
# The queue store under crashes and a full disk.  ENVOI_QUEUE_FAULT makes
# unit/queue_tool kill itself (SIGKILL, status 137) at a named step of a
# commit, update, remove or fail (see src/queue.h).  Whatever the step,
# the queue must then list no entry or one whole entry whose message is
# byte-identical to the input, and no ID.env may exist without its ID.msg.

load lib/common

: "${QUEUE_TOOL:=$BATS_TEST_DIRNAME/unit/queue_tool}"

# No PKI and no servers: this file only drives the queue.
setup_file() { :; }
teardown_file() { :; }

setup() {
	Q="$BATS_TEST_TMPDIR/queue"
	MSG="$BATS_TEST_TMPDIR/msg"
	MNT=
	make_msg "$MSG"
}

teardown() {
	if [ -n "$MNT" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
}

# make_msg FILE: about 100 KB in spool form, with a stuffed dot and
# bytes that text tools would mangle
make_msg() {
	{
		printf 'From: alice@example.org\r\nSubject: crash test\r\n\r\n'
		printf '..a stuffed dot\r\n'
		local i
		for ((i = 0; i < 2000; i++)); do
			printf 'line %d of a message that takes a while\r\n' "$i"
		done
		printf 'nul \0 and \377 bytes\r\n'
	} >"$1"
}

qt() { "$QUEUE_TOOL" "$@"; }

# count_lines TEXT
count_lines() { [ -z "$1" ] && echo 0 || wc -l <<<"$1"; }

# assert_consistent DIR: no envelope without its message, in either area
assert_consistent() {
	local f
	for f in "$1"/*.env "$1"/failed/*.env; do
		[ -e "$f" ] || continue
		if [ ! -f "${f%.env}.msg" ]; then
			echo "envelope without its message: $f" >&2
			return 1
		fi
	done
}

# assert_entries DIR AREA N: the area lists N entries, each whole and
# holding exactly $MSG; sets IDS
assert_entries() {
	local dir=$1 area=$2 n=$3 id
	run qt list "$dir" "$area"
	assert_status 0
	IDS=$output
	if [ "$(count_lines "$IDS")" -ne "$n" ]; then
		echo "expected $n entries in $area, found: '$IDS'" >&2
		return 1
	fi
	for id in $IDS; do
		qt show "$dir" "$id" "$area" >/dev/null
		qt cat "$dir" "$id" "$area" >"$BATS_TEST_TMPDIR/got"
		cmp "$MSG" "$BATS_TEST_TMPDIR/got"
	done
}

# assert_tidy DIR N: after a clean with max age 0, only N whole entries
# remain in the main queue and tmp/ is empty
assert_tidy() {
	run qt clean "$1" 0
	assert_status 0
	assert_consistent "$1"
	assert_entries "$1" main "$2"
	[ -z "$(ls -A "$1/tmp")" ]
	[ "$(find "$1" -maxdepth 1 -type f | wc -l)" -eq $(($2 * 2)) ]
}

# commit_crash STEP N: enqueue dies at STEP and leaves N entries
commit_crash() {
	run env ENVOI_QUEUE_FAULT="$1" "$QUEUE_TOOL" enqueue "$Q" <"$MSG"
	assert_status 137
	[ -z "$output" ] # no ID was printed: the sender was told nothing
	assert_consistent "$Q"
	assert_entries "$Q" main "$2"
	assert_tidy "$Q" "$2"
}

@test "no fault: enqueue, list, cat and remove" {
	run qt enqueue "$Q" <"$MSG"
	assert_status 0
	local id=$output
	assert_entries "$Q" main 1
	[ "$IDS" = "$id" ]
	run qt remove "$Q" "$id"
	assert_status 0
	assert_entries "$Q" main 0
	[ -z "$(find "$Q" -type f)" ]
}

@test "crash after the temp message is written: no entry" {
	commit_crash msg-written 0
}

@test "crash after the message fsync: no entry" {
	commit_crash msg-fsync 0
}

@test "crash after the envelope temp file is synced: no entry" {
	commit_crash env-fsync 0
}

@test "crash after ID.msg is renamed into place: an orphan, no entry" {
	run env ENVOI_QUEUE_FAULT=msg-rename "$QUEUE_TOOL" enqueue "$Q" <"$MSG"
	assert_status 137
	[ "$(find "$Q" -maxdepth 1 -name '*.msg' | wc -l)" -eq 1 ]
	[ "$(find "$Q" -maxdepth 1 -name '*.env' | wc -l)" -eq 0 ]
	assert_entries "$Q" main 0
	# A young orphan survives the usual clean; only an old one goes.
	run qt clean "$Q"
	assert_status 0
	[ "$output" = 0 ]
	assert_tidy "$Q" 0
}

@test "crash after ID.env is renamed into place: one whole entry" {
	commit_crash env-rename 1
}

@test "crash before the final directory fsync: one whole entry" {
	commit_crash dir-fsync 1
}

@test "the queue still works after a crash" {
	run env ENVOI_QUEUE_FAULT=msg-rename "$QUEUE_TOOL" enqueue "$Q" <"$MSG"
	assert_status 137
	run qt enqueue "$Q" <"$MSG"
	assert_status 0
	assert_entries "$Q" main 1
}

@test "crash between the two unlinks of a remove: no entry, one orphan" {
	run qt enqueue "$Q" <"$MSG"
	assert_status 0
	local id=$output
	run env ENVOI_QUEUE_FAULT=remove-between "$QUEUE_TOOL" remove "$Q" "$id"
	assert_status 137
	[ ! -e "$Q/$id.env" ]
	[ -e "$Q/$id.msg" ]
	assert_consistent "$Q"
	assert_entries "$Q" main 0
	assert_tidy "$Q" 0
}

@test "crash while rewriting an envelope: the old one stays" {
	run qt enqueue "$Q" <"$MSG"
	assert_status 0
	local id=$output
	run env ENVOI_QUEUE_FAULT=update-written "$QUEUE_TOOL" hold "$Q" "$id"
	assert_status 137
	run qt show "$Q" "$id"
	assert_status 0
	grep -qx 'held=0' <<<"$output"
	assert_tidy "$Q" 1
	run qt hold "$Q" "$id"
	assert_status 0
	run qt show "$Q" "$id"
	grep -qx 'held=1' <<<"$output"
}

# fail_crash STEP MAIN FAILED: queue_tool fail dies at STEP and leaves
# MAIN entries in the queue and FAILED in failed/
fail_crash() {
	run qt enqueue "$Q" <"$MSG"
	assert_status 0
	local id=$output
	run env ENVOI_QUEUE_FAULT="$1" "$QUEUE_TOOL" fail "$Q" "$id" "550 no"
	assert_status 137
	assert_consistent "$Q"
	assert_entries "$Q" main "$2"
	assert_entries "$Q" failed "$3"
	[ $(($2 + $3)) -ge 1 ]
	# Finishing the job, or a clean, leaves one failed entry.
	if [ "$2" -eq 1 ]; then
		run qt fail "$Q" "$id" "550 no"
		assert_status 0
	fi
	run qt clean "$Q" 0
	assert_status 0
	assert_consistent "$Q"
	assert_entries "$Q" main 0
	assert_entries "$Q" failed 1
	run qt show "$Q" "$id" failed
	grep -qx 'last_error=550 no' <<<"$output"
	[ "$(find "$Q" -type f | wc -l)" -eq 2 ]
}

@test "crash after linking into failed/: still queued" {
	fail_crash fail-link 1 0
}

@test "crash with the entry in both areas: nothing lost" {
	fail_crash fail-env 1 1
}

@test "crash between the unlinks of a fail: only in failed/" {
	fail_crash fail-between 0 1
}

# mount_tiny: a 64 KiB tmpfs at $MNT, or skip
mount_tiny() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "mounting a tmpfs needs root"
	fi
	MNT="$BATS_TEST_TMPDIR/mnt"
	mkdir -p "$MNT"
	if ! mount -t tmpfs -o size=64k envoi-test "$MNT" 2>/dev/null; then
		MNT=
		skip "mount -t tmpfs is not permitted here"
	fi
}

@test "full disk: 1 MB fails with 74, names the file, leaves nothing" {
	mount_tiny
	head -c 1048576 /dev/urandom >"$MSG"
	run --separate-stderr "$QUEUE_TOOL" enqueue "$MNT/q" <"$MSG"
	assert_status 74
	[ -z "$output" ]
	[[ $stderr == *"'$MNT/q/tmp/"*".msg'"* ]]
	[[ $stderr == *"No space left on device"* ]]
	[ -z "$(ls -A "$MNT/q/tmp")" ]
	[ -z "$(find "$MNT/q" -type f)" ]
	assert_entries "$MNT/q" main 0
}

@test "full disk at every point near the limit: all or nothing" {
	mount_tiny
	local size full=0
	for size in 57344 61440 63488 64512 65024 65536; do
		rm -rf "$MNT/q"
		head -c "$size" /dev/urandom >"$MSG"
		run --separate-stderr "$QUEUE_TOOL" enqueue "$MNT/q" <"$MSG"
		case $status in
		0)
			assert_entries "$MNT/q" main 1 ;;
		74)
			full=$((full + 1))
			[[ $stderr == *"'$MNT/q/tmp/"* ]]
			[ -z "$(find "$MNT/q" -type f)" ] ;;
		*)
			assert_status 74 ;;
		esac
		assert_consistent "$MNT/q"
	done
	[ "$full" -ge 1 ]
}
