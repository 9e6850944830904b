#!/usr/bin/env bats
# The durable queue, end to end: what envoi queues and when (queue =
# on-failure / always / never, -odq), envoi -q (exactly once, backoff, one
# connection per account, failure notices, queue_max_age), held entries
# (authentication and TLS failures), the queue commands, mailq / -bp
# (--json), the catch-up after a direct send, and envelope quoting through
# the queue.  Crashes, concurrency and a full disk: queue_crash.bats.
#
# Entries are not due for about a minute after a failure; the tests make
# them due by setting next_try to 0 in ID.env (a documented text format,
# src/queue.h) or use --queue-retry.

load lib/common
load lib/queue

setup_file() {
	common_setup_file
	start_server srv --user "$AUTH_USER" --password "$AUTH_PASS"
}

setup() {
	common_setup
	queue_setup
}

# ---------------------------------------------------------------------------
# queueing at submission

@test "server down: exit 0, one 'queued as' line, one whole entry" {
	qconfig_down
	qsend bob@example.org
	assert_status 0
	[ -z "$output" ]
	assert_queued_line
	[[ $stderr == *"Connection refused"* ]]
	[ "$(q_count)" -eq 1 ]
	# the envelope
	[ "$(head -n 1 "$QDIR/$QID.env")" = "version: 1" ]
	[ "$(q_field "$QID" sender)" = alice@example.org ]
	[ "$(q_field "$QID" rcpt)" = bob@example.org ]
	[ "$(q_field "$QID" account)" = main ]
	[ "$(q_field "$QID" attempts)" = 1 ]
	[[ $(q_field "$QID" last_error) == *"Connection refused"* ]]
	[ -z "$(q_field "$QID" held)" ]
	# the message, in spool form: CRLF and dot-stuffed
	sed 's/^\./../' "$EXPECTED" >"$BATS_TEST_TMPDIR/stuffed"
	assert_same_file "$BATS_TEST_TMPDIR/stuffed" "$QDIR/$QID.msg"
	# modes; nothing left in tmp/, nothing failed
	[ "$(stat -c %a "$QDIR")" = 700 ]
	[ "$(stat -c %a "$QDIR/tmp")" = 700 ]
	[ "$(stat -c %a "$QDIR/failed")" = 700 ]
	[ "$(stat -c %a "$QDIR/$QID.msg")" = 600 ]
	[ "$(stat -c %a "$QDIR/$QID.env")" = 600 ]
	[ -z "$(ls -A "$QDIR/tmp")" ]
	[ -z "$(ls -A "$QDIR/failed")" ]
	[ "$(find "$QDIR" -maxdepth 1 -type f | wc -l)" -eq 2 ]
}

@test "-oeq: queued without a word on stderr" {
	qconfig_down
	qsend -oeq bob@example.org
	assert_status 0
	[ -z "$output" ]
	[ -z "$stderr" ]
	[ "$(q_count)" -eq 1 ]
}

@test "server back: -q delivers exactly once, byte for byte, as a direct send would; a second -q does nothing" {
	qconfig_down
	qsend bob@example.org
	assert_status 0
	assert_queued_line
	qconfig srv starttls
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ -z "$stderr" ]
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(conn_count srv)" -eq 1 ]
	assert_same_file "$EXPECTED" "$(last_eml srv)"
	[ "$(last_json srv mail_from)" = alice@example.org ]
	[ "$(last_json srv rcpt_tos)" = bob@example.org ]
	[ "$(last_json srv auth_user)" = "$AUTH_USER" ]
	[ "$(last_json srv tls)" = true ]
	assert_queue_empty
	[ -z "$(ls -A "$QDIR/failed")" ]
	cp "$(last_eml srv)" "$BATS_TEST_TMPDIR/via-queue"
	# nothing more: no message, not even a connection
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(conn_count srv)" -eq 1 ]
	# and a direct send of the same input gives the same bytes
	qsend bob@example.org
	assert_status 0
	[ "$(msg_count srv)" -eq 2 ]
	assert_same_file "$BATS_TEST_TMPDIR/via-queue" "$(last_eml srv)"
}

@test "backoff: about 60 s after the first failure, doubling, at most about an hour, with jitter" {
	local id created next now after
	qconfig_down
	qsend bob@example.org
	assert_status 0
	assert_queued_line
	id=$QID
	created=$(q_field "$id" created)
	next=$(q_field "$id" next_try)
	assert_between $((next - created)) 45 75 "first backoff"

	# not due yet: the server, now up, sees nothing of it
	qconfig srv starttls
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 0 ]
	[ "$(conn_count srv)" -eq 0 ]
	[ "$(q_field "$id" attempts)" = 1 ]
	[ "$(q_field "$id" next_try)" = "$next" ]

	# second and third failures: about 120 s, then about 240 s
	qconfig_down
	q_make_due
	now=$(date +%s)
	run --separate-stderr envoi -C "$CFG" -q
	after=$(date +%s)
	assert_status 0
	[ "$(q_field "$id" attempts)" = 2 ]
	next=$(q_field "$id" next_try)
	assert_between "$next" $((now + 90)) $((after + 150)) "second next_try"
	q_make_due
	now=$(date +%s)
	run --separate-stderr envoi -C "$CFG" -q
	after=$(date +%s)
	[ "$(q_field "$id" attempts)" = 3 ]
	next=$(q_field "$id" next_try)
	assert_between "$next" $((now + 180)) $((after + 300)) "third next_try"

	# capped at an hour (+-25%)
	q_set "$id" attempts 10
	q_make_due
	now=$(date +%s)
	run --separate-stderr envoi -C "$CFG" -q
	after=$(date +%s)
	[ "$(q_field "$id" attempts)" = 11 ]
	next=$(q_field "$id" next_try)
	assert_between "$next" $((now + 2700)) $((after + 4500)) "capped next_try"
}

@test "backoff jitter: entries that failed together are spread out" {
	local i id now after next
	local -A values=()
	qconfig srv starttls
	for i in 1 2 3 4 5 6 7 8; do
		qsend -odq bob@example.org
		assert_status 0
	done
	[ "$(q_count)" -eq 8 ]
	qconfig_down
	now=$(date +%s)
	run --separate-stderr envoi -C "$CFG" -q
	after=$(date +%s)
	assert_status 0
	for id in $(q_ids); do
		[ "$(q_field "$id" attempts)" = 1 ]
		next=$(q_field "$id" next_try)
		assert_between "$next" $((now + 45)) $((after + 75)) "next_try of $id"
		values[$next]=1
	done
	# 8 draws from 31 values: all equal would mean no jitter
	[ "${#values[@]}" -ge 2 ]
}

# four_xx_round VERB REPLY: with REPLY to VERB the message is queued (exit 0,
# the reply in the stderr line and last_error); once the server accepts, -q
# delivers it
four_xx_round() {
	server_reset srv
	rm -rf "$QDIR"
	qconfig srv starttls "${@:3}"
	server_ctl srv "reply-$1" "$2"
	qsend bob@example.org
	assert_status 0
	assert_queued_line
	[[ $stderr == *"$2"* ]]
	[[ $(q_field "$QID" last_error) == *"$2"* ]]
	[ "$(q_field "$QID" attempts)" = 1 ]
	[ "$(msg_count srv)" -eq 0 ]
	server_ctl_clear srv
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	assert_same_file "$EXPECTED" "$(last_eml srv)"
	assert_queue_empty
}

@test "4xx at MAIL or RCPT: queued with the reply; delivered once accepted" {
	four_xx_round MAIL "451 4.3.0 later"
	four_xx_round RCPT "450 4.2.1 mailbox busy"
}

@test "4xx to DATA or after the data: queued with the reply; delivered once accepted" {
	four_xx_round DATA "451 4.3.1 no room now"
	four_xx_round EOD "452 4.3.1 insufficient storage"
}

@test "queue = always, 4xx after the data: the committed entry stays queued" {
	four_xx_round EOD "451 4.3.0 try again later" queue=always
}

# ---------------------------------------------------------------------------
# failing for good

@test "5xx during -q: the entry moves to failed/ with the reply, and the sender gets an RFC 3464 notice" {
	qconfig_down
	qsend bob@example.org
	assert_status 0
	assert_queued_line
	qconfig srv starttls
	server_ctl srv reply-RCPT "bob@example.org 550 5.1.1 no such user"
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	assert_queue_empty
	[ -f "$QDIR/failed/$QID.env" ]
	[ -f "$QDIR/failed/$QID.msg" ]
	[[ $(q_field "$QID" last_error "$QDIR/failed") == *"550 5.1.1 no such user"* ]]
	sed 's/^\./../' "$EXPECTED" >"$BATS_TEST_TMPDIR/stuffed"
	assert_same_file "$BATS_TEST_TMPDIR/stuffed" "$QDIR/failed/$QID.msg"
	# the notice: null sender, to the original sender, same connection
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(conn_count srv)" -eq 1 ]
	assert_null_sender "$(last_json srv mail_from)"
	[ "$(last_json srv rcpt_tos)" = alice@example.org ]
	grep -Eq '^[0-9]+ MAIL FROM:<>( |$)' "$(transcript srv)"
	check_notice "$(last_eml srv)" alice@example.org bob@example.org 5.1.1
	# failed for good: a later run does not try again
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(conn_count srv)" -eq 1 ]
	[ -f "$QDIR/failed/$QID.env" ]
}

@test "queue_notify = false: failed/, but no notice" {
	qconfig_down queue_notify=false
	qsend bob@example.org
	assert_status 0
	assert_queued_line
	qconfig srv starttls queue_notify=false
	server_ctl srv reply-RCPT "bob@example.org 550 5.1.1 no such user"
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	assert_queue_empty
	[ -f "$QDIR/failed/$QID.env" ]
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv DATA
}

@test "null sender: a permanent failure sends no notice" {
	qconfig_down from=
	qsend -f '<>' bob@example.org
	assert_status 0
	assert_queued_line
	[ -z "$(q_field "$QID" sender)" ]
	grep -qx 'sender: ' "$QDIR/$QID.env"
	qconfig srv starttls from=
	server_ctl srv reply-RCPT "bob@example.org 550 5.1.1 no such user"
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	assert_queue_empty
	[ -f "$QDIR/failed/$QID.env" ]
	[ "$(msg_count srv)" -eq 0 ]
	# it was tried with the null sender, once
	[ "$(grep -Ec '^[0-9]+ MAIL FROM:<>( |$)' "$(transcript srv)")" -eq 1 ]
	assert_not_sent srv DATA
}

@test "queue_max_age: a temporary failure of an older entry fails it for good, with a notice" {
	qconfig_down queue_max_age=1s
	qsend bob@example.org
	assert_status 0
	assert_queued_line
	# older than 1 s, without waiting
	q_set "$QID" created $(($(q_field "$QID" created) - 10))
	qconfig srv starttls queue_max_age=1s
	server_ctl srv reply-RCPT "bob@example.org 451 4.2.0 try later"
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	assert_queue_empty
	[ -f "$QDIR/failed/$QID.env" ]
	[[ $(q_field "$QID" last_error "$QDIR/failed") == *"451 4.2.0 try later"* ]]
	[ "$(msg_count srv)" -eq 1 ]
	assert_null_sender "$(last_json srv mail_from)"
	check_notice "$(last_eml srv)" alice@example.org bob@example.org
}

@test "a young entry with the default queue_max_age is only deferred by a 4xx" {
	qconfig_down
	qsend bob@example.org
	assert_status 0
	assert_queued_line
	q_set "$QID" created $(($(date +%s) - 4 * 86400))
	qconfig srv starttls
	server_ctl srv reply-RCPT "bob@example.org 451 4.2.0 try later"
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(q_count)" -eq 1 ]
	[ "$(q_field "$QID" attempts)" = 2 ]
	[ -z "$(ls -A "$QDIR/failed")" ]
	# past 5 days: failed for good
	q_set "$QID" created $(($(date +%s) - 5 * 86400 - 10))
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	assert_queue_empty
	[ -f "$QDIR/failed/$QID.env" ]
}

@test "direct send, 5xx for every recipient: exit 67, kept in failed/, no notice" {
	qconfig srv starttls
	server_ctl srv reply-RCPT "550 5.1.1 no such user"
	qsend bob@example.org
	assert_status 67
	assert_error_line
	local id
	id=$(find "$QDIR/failed" -name '*.env' -printf '%f\n' | sed 's/\.env$//')
	[ -n "$id" ]
	[[ $stderr == *"$id"* ]]
	[[ $stderr == *"failed/"* ]]
	[[ $stderr == *"550 5.1.1 no such user"* ]]
	[ -f "$QDIR/failed/$id.msg" ]
	assert_queue_empty
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv DATA
}

@test "direct send, 5xx at MAIL: exit 69, kept in failed/" {
	qconfig srv starttls
	server_ctl srv reply-MAIL "550 5.7.1 sender refused"
	qsend bob@example.org
	assert_status 69
	[[ $stderr == *"failed/"* ]]
	[ "$(find "$QDIR/failed" -name '*.env' | wc -l)" -eq 1 ]
	assert_queue_empty
	[ "$(msg_count srv)" -eq 0 ]
}

@test "direct send, 5xx after the data blaming the content: exit 65, kept in failed/" {
	qconfig srv starttls
	server_ctl srv reply-EOD "554 5.6.0 content rejected"
	qsend bob@example.org
	assert_status 65
	[[ $stderr == *"failed/"* ]]
	[ "$(find "$QDIR/failed" -name '*.env' | wc -l)" -eq 1 ]
	assert_queue_empty
	[ "$(msg_count srv)" -eq 0 ]
}

@test "queue = never: exit 75 on a temporary failure, nothing queued" {
	qconfig_down queue=never
	qsend bob@example.org
	assert_status 75
	assert_error_line
	[[ $stderr != *"queued"* ]]
	[ "$(q_count)" -eq 0 ]
	[ -z "$(find "$QDIR" -type f 2>/dev/null)" ]
}

@test "queue = always: committed before the attempt, removed once delivered" {
	qconfig srv starttls queue=always
	server_ctl srv delay-EOD 1
	"$ENVOI" -C "$CFG" bob@example.org <"$MSG" \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! i seen=0
	# while the server sits on the data, the entry is in the queue
	for ((i = 0; i < 400; i++)); do
		if [ "$(q_count)" -eq 1 ] && grep -q ' DATA$' "$(transcript srv)"; then
			seen=1
			break
		fi
		_proc_alive "$pid" || break
		sleep 0.05
	done
	wait "$pid"
	[ "$seen" -eq 1 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	[ "$(msg_count srv)" -eq 1 ]
	assert_same_file "$EXPECTED" "$(last_eml srv)"
	assert_queue_empty
}

@test "queue = always, server down: queued, exit 0" {
	qconfig_down queue=always
	qsend bob@example.org
	assert_status 0
	assert_queued_line
	[ "$(q_field "$QID" attempts)" = 1 ]
}

@test "-odq: only queued (no connection), exit 0; -q delivers it" {
	qconfig srv starttls
	qsend -odq bob@example.org
	assert_status 0
	[ -z "$output" ]
	[ "$(conn_count srv)" -eq 0 ]
	[ "$(q_count)" -eq 1 ]
	local id
	id=$(q_ids)
	[ "$(q_field "$id" attempts)" = 0 ]
	[ "$(q_field "$id" next_try)" -le "$(date +%s)" ]
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	assert_same_file "$EXPECTED" "$(last_eml srv)"
	assert_queue_empty
}

# ---------------------------------------------------------------------------
# envelope quoting through the queue

@test "quoted local parts, -f, -V, -N, -R and an 8-bit body: the queue sends the same MAIL and RCPTs as a direct send" {
	server_ctl srv dsn
	printf 'From: alice@example.org\nSubject: envoi queue test\nDate: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <q8@example.org>\n\nGr\303\274\303\237e, 8 bits.\n' >"$MSG"
	local args=(-f '"x y"@example.org' -V 'env+id=1/x' -N 'success,failure' -R hdrs
		'"john smith"@example.org' '"a\"b"@example.org' bob@example.org)
	qconfig srv starttls
	qsend "${args[@]}"
	assert_status 0
	grep -E '^[0-9]+ (MAIL|RCPT) ' "$(transcript srv)" | sed 's/^[0-9]* //' \
		>"$BATS_TEST_TMPDIR/direct"
	cp "$(last_eml srv)" "$BATS_TEST_TMPDIR/direct.eml"
	[ "$(last_json srv mail_from)" = '"x y"@example.org' ]
	[ "$(last_json srv rcpt_tos)" = "$(printf '%s\n' '"john smith"@example.org' '"a\"b"@example.org' bob@example.org)" ]

	server_reset srv
	server_ctl srv dsn
	qconfig_down
	qsend "${args[@]}"
	assert_status 0
	assert_queued_line
	[ "$(q_field "$QID" sender)" = '"x y"@example.org' ]
	[ "$(q_field "$QID" rcpt)" = "$(printf '%s\n' '"john smith"@example.org' '"a\"b"@example.org' bob@example.org)" ]
	[ "$(q_field "$QID" envid)" = 'env+id=1/x' ]
	[ "$(q_field "$QID" ret)" = HDRS ]
	qconfig srv starttls
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	grep -E '^[0-9]+ (MAIL|RCPT) ' "$(transcript srv)" | sed 's/^[0-9]* //' \
		>"$BATS_TEST_TMPDIR/queued"
	diff -u "$BATS_TEST_TMPDIR/direct" "$BATS_TEST_TMPDIR/queued"
	# and exactly what was meant
	grep -qF 'MAIL FROM:<"x y"@example.org> ' "$BATS_TEST_TMPDIR/queued"
	grep -q 'ENVID=env+2Bid+3D1/x' "$BATS_TEST_TMPDIR/queued"
	grep -q 'RET=HDRS' "$BATS_TEST_TMPDIR/queued"
	grep -q 'BODY=8BITMIME' "$BATS_TEST_TMPDIR/queued"
	grep -qiF 'RCPT TO:<"john smith"@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;"john+20smith"@example.org' \
		"$BATS_TEST_TMPDIR/queued"
	grep -qiF 'RCPT TO:<"a\"b"@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;"a\"b"@example.org' \
		"$BATS_TEST_TMPDIR/queued"
	[ "$(last_json srv mail_from)" = '"x y"@example.org' ]
	[ "$(last_json srv rcpt_tos)" = "$(printf '%s\n' '"john smith"@example.org' '"a\"b"@example.org' bob@example.org)" ]
	assert_same_file "$BATS_TEST_TMPDIR/direct.eml" "$(last_eml srv)"
	assert_queue_empty
}

# ---------------------------------------------------------------------------
# mailq, -bp, --json and the queue commands

@test "mailq (a symlink) and -bp: an empty queue" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	ln -s "$ENVOI" "$BATS_TEST_TMPDIR/bin/mailq"
	qconfig srv starttls
	run --separate-stderr timeout 10 "$BATS_TEST_TMPDIR/bin/mailq" -C "$CFG"
	assert_status 0
	[ "$output" = "Mail queue is empty" ]
	run --separate-stderr envoi -C "$CFG" -bp
	assert_status 0
	[ "$output" = "Mail queue is empty" ]
	run --separate-stderr envoi -C "$CFG" -bp --json
	assert_status 0
	"$PY" -c 'import json, sys; assert json.loads(sys.argv[1]) == []' "$output"
}

@test "mailq (a symlink), -bp and -bp --json list every entry" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	ln -s "$ENVOI" "$BATS_TEST_TMPDIR/bin/mailq"
	qconfig_down
	qsend bob@example.org carol@example.org
	assert_status 0
	local id1 id2 size1 size2
	id1=$(queued_id)
	qsend '"john smith"@example.org' '"a\"b"@example.org'
	assert_status 0
	id2=$(queued_id)
	[ "$(q_count)" -eq 2 ]
	[[ $id1 < $id2 ]]
	size1=$(stat -c %s "$QDIR/$id1.msg")
	size2=$(stat -c %s "$QDIR/$id2.msg")

	run --separate-stderr timeout 10 "$BATS_TEST_TMPDIR/bin/mailq" -C "$CFG"
	assert_status 0
	[ "$(wc -l <<<"$output")" -eq 2 ]
	local re='^'"$id1"' +[0-9]+s +'"$size1"' <alice@example\.org> -> <bob@example\.org>,<carol@example\.org> tries=1 next=[0-9]{2}:[0-9]{2}:[0-9]{2} error="cannot connect to 127\.0\.0\.1 port [0-9]+: Connection refused"$'
	[[ $(sed -n 1p <<<"$output") =~ $re ]]
	re='^'"$id2"' +[0-9]+s +'"$size2"' <alice@example\.org> -> <"john smith"@example\.org>,<"a\\"b"@example\.org> tries=1 next='
	[[ $(sed -n 2p <<<"$output") =~ $re ]]
	# The age column may tick between the two runs: compare without it.
	local mailq_out
	mailq_out=$(sed -E 's/^([^ ]+) +[0-9]+[smhd] /\1 /' <<<"$output")
	run --separate-stderr envoi -C "$CFG" -bp
	assert_status 0
	[ "$(sed -E 's/^([^ ]+) +[0-9]+[smhd] /\1 /' <<<"$output")" = "$mailq_out" ]

	run --separate-stderr envoi -C "$CFG" -bp --json
	assert_status 0
	"$PY" - "$output" "$id1" "$size1" "$(q_field "$id1" next_try)" \
		"$(q_field "$id1" created)" "$id2" "$size2" <<'EOF'
import json, sys
out, id1, size1, next1, created1, id2, size2 = sys.argv[1:]
v = json.loads(out)
assert isinstance(v, list) and len(v) == 2, v
keys = {"id", "created", "size", "sender", "recipients", "account",
        "attempts", "next_try", "held", "last_error"}
for e in v:
    assert set(e) == keys, sorted(e)
a, b = v
assert a["id"] == id1 and b["id"] == id2, v
assert a["size"] == int(size1) and b["size"] == int(size2), v
assert a["created"] == int(created1), v
assert a["next_try"] == int(next1), v
assert a["sender"] == "alice@example.org", a
assert a["recipients"] == ["bob@example.org", "carol@example.org"], a
assert b["recipients"] == ['"john smith"@example.org', '"a\\"b"@example.org'], b
assert a["account"] == "main" and a["attempts"] == 1 and a["held"] is False, a
assert "Connection refused" in a["last_error"], a
EOF
	# the same through the mailq name
	run --separate-stderr timeout 10 "$BATS_TEST_TMPDIR/bin/mailq" -C "$CFG" --json
	assert_status 0
	"$PY" -c 'import json, sys; assert len(json.loads(sys.argv[1])) == 2' "$output"
}

@test "--queue-hold / --queue-release: -q leaves a held entry alone" {
	qconfig_down
	qsend bob@example.org
	assert_status 0
	local a b
	a=$(queued_id)
	qsend carol@example.org
	assert_status 0
	b=$(queued_id)
	qconfig srv starttls
	run --separate-stderr envoi -C "$CFG" --queue-hold "$a"
	assert_status 0
	[ "$(q_field "$a" held)" = 1 ]
	run --separate-stderr envoi -C "$CFG" -bp
	[[ $(grep "^$a " <<<"$output") == *" next=held "* ]]
	run --separate-stderr envoi -C "$CFG" -bp --json
	"$PY" -c '
import json, sys
v = {e["id"]: e for e in json.loads(sys.argv[1])}
assert v[sys.argv[2]]["held"] is True and v[sys.argv[3]]["held"] is False, v
' "$output" "$a" "$b"
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv rcpt_tos)" = carol@example.org ]
	[ "$(q_ids)" = "$a" ]
	[ "$(q_field "$a" attempts)" = 1 ]

	run --separate-stderr envoi -C "$CFG" --queue-release "$a"
	assert_status 0
	[ -z "$(q_field "$a" held)" ]
	[ "$(q_field "$a" next_try)" = 0 ]
	run --separate-stderr envoi -C "$CFG" -bp
	[[ $(grep "^$a " <<<"$output") == *" next=now "* ]]
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 2 ]
	[ "$(last_json srv rcpt_tos)" = bob@example.org ]
	assert_same_file "$EXPECTED" "$(last_eml srv)"
	assert_queue_empty
}

@test "--queue-remove: gone for good; a second remove is exit 66" {
	qconfig_down
	qsend bob@example.org
	assert_status 0
	assert_queued_line
	qconfig srv starttls
	run --separate-stderr envoi -C "$CFG" --queue-remove "$QID"
	assert_status 0
	[ "$(q_count)" -eq 0 ]
	[ -z "$(find "$QDIR" -type f)" ]
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 0 ]
	run --separate-stderr envoi -C "$CFG" --queue-remove "$QID"
	assert_status 66
	[[ $stderr == *"$QID"* ]]
	run --separate-stderr envoi -C "$CFG" --queue-hold not-an-id
	assert_status 64
}

@test "--queue-retry: delivers now (due or not, held or not); exit 75 when it fails again" {
	qconfig_down
	qsend bob@example.org
	assert_status 0
	assert_queued_line
	# still down: 75, still queued, one more attempt
	run --separate-stderr envoi -C "$CFG" --queue-retry "$QID"
	assert_status 75
	assert_error_line
	[[ $stderr == *"$QID"* ]]
	[ "$(q_ids)" = "$QID" ]
	[ "$(q_field "$QID" attempts)" = 2 ]
	# a held entry is released and sent; not due, but forced
	run --separate-stderr envoi -C "$CFG" --queue-hold "$QID"
	assert_status 0
	qconfig srv starttls
	[ "$(q_field "$QID" next_try)" -gt "$(date +%s)" ]
	run --separate-stderr envoi -C "$CFG" --queue-retry "$QID"
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	assert_same_file "$EXPECTED" "$(last_eml srv)"
	assert_queue_empty
}

# ---------------------------------------------------------------------------
# connections

@test "catch-up: after a direct send the due queued message goes out over the same connection" {
	qconfig_down
	qsend bob@example.org
	assert_status 0
	assert_queued_line
	qconfig srv starttls
	q_make_due
	printf 'Subject: second\nMessage-ID: <second@example.org>\nDate: Mon, 01 Jan 2024 00:00:00 +0000\nFrom: alice@example.org\n\nthe second\n' \
		>"$BATS_TEST_TMPDIR/msg2"
	to_crlf "$BATS_TEST_TMPDIR/msg2" "$BATS_TEST_TMPDIR/expected2"
	run --separate-stderr envoi -C "$CFG" carol@example.org <"$BATS_TEST_TMPDIR/msg2"
	assert_status 0
	[ -z "$stderr" ]
	[ "$(msg_count srv)" -eq 2 ]
	[ "$(conn_count srv)" -eq 1 ]
	assert_same_file "$BATS_TEST_TMPDIR/expected2" "$(json_of srv 1 | sed 's/json$/eml/')"
	[ "$(jfield "$(json_of srv 1)" connection)" = "$(jfield "$(json_of srv 2)" connection)" ]
	assert_same_file "$EXPECTED" "$(json_of srv 2 | sed 's/json$/eml/')"
	[ "$(jfield "$(json_of srv 2)" rcpt_tos)" = bob@example.org ]
	assert_queue_empty
}

@test "catch-up leaves an entry that is not due yet alone" {
	qconfig_down
	qsend bob@example.org
	assert_status 0
	assert_queued_line
	qconfig srv starttls
	run --separate-stderr envoi -C "$CFG" carol@example.org <"$MSG"
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv rcpt_tos)" = carol@example.org ]
	[ "$(q_ids)" = "$QID" ]
	[ "$(q_field "$QID" attempts)" = 1 ]
}

@test "-q: one connection for many entries; an unreachable smarthost is tried once per run" {
	local i
	qconfig srv starttls
	for i in 1 2 3 4 5; do
		qsend -odq bob@example.org
		assert_status 0
	done
	server_ctl srv greeting "421 4.3.2 busy, come back later"
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(conn_count srv)" -eq 1 ]
	[ "$(q_count)" -eq 5 ]
	for i in $(q_ids); do
		[ "$(q_field "$i" attempts)" = 1 ]
		[[ $(q_field "$i" last_error) == *"421 4.3.2 busy"* ]]
	done
	server_reset srv
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 5 ]
	[ "$(conn_count srv)" -eq 1 ]
	assert_queue_empty
}

@test "rcpt_policy = partial, -q: a recipient deferred with 4xx stays queued; the accepted one gets it once" {
	qconfig_down rcpt_policy=partial
	qsend bob@example.org carol@example.org
	assert_status 0
	assert_queued_line
	qconfig srv starttls rcpt_policy=partial
	server_ctl srv reply-RCPT "carol@example.org 451 4.2.0 try later"
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv rcpt_tos)" = bob@example.org ]
	# carol is still owed the message
	[ "$(q_count)" -eq 1 ]
	server_ctl_clear srv
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	assert_queue_empty
	local dir
	dir=$(server_dir srv)/mail
	[ "$(cat "$dir"/*.json | grep -c '"bob@example.org"')" -eq 1 ]
	[ "$(cat "$dir"/*.json | grep -c '"carol@example.org"')" -eq 1 ]
}

@test "rcpt_policy = partial, -q: a recipient refused with 5xx is reported to the sender" {
	qconfig_down rcpt_policy=partial
	qsend bob@example.org carol@example.org
	assert_status 0
	assert_queued_line
	qconfig srv starttls rcpt_policy=partial
	server_ctl srv reply-RCPT "carol@example.org 550 5.1.1 no such user"
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	assert_queue_empty
	[ "$(jfield "$(json_of srv 1)" rcpt_tos)" = bob@example.org ]
	# and a notice about carol to alice
	[ "$(msg_count srv)" -eq 2 ]
	assert_null_sender "$(last_json srv mail_from)"
	check_notice "$(last_eml srv)" alice@example.org carol@example.org 5.1.1
}

@test "an entry whose account left the configuration is held, with a warning that says why" {
	qconfig_down
	qsend bob@example.org
	assert_status 0
	assert_queued_line
	# the same queue directory, but the account is now called "other"
	sed -i 's/"main"/"other"/' "$CFG"
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(q_field "$QID" held)" = 1 ]
	[ "$(msg_count srv)" -eq 0 ]
	[[ $stderr == *"$QID"* ]]
	[[ $stderr == *main* ]]
}

# ---------------------------------------------------------------------------
# held entries

@test "authentication failure: exit 77, held; -q leaves it; delivered after fixing the config, release and -q" {
	qconfig srv starttls password=not-the-password
	qsend bob@example.org
	assert_status 77
	assert_error_line
	[[ $stderr == *held* ]]
	[ "$(q_count)" -eq 1 ]
	local id
	id=$(q_ids)
	[[ $stderr == *"$id"* ]]
	[ "$(q_field "$id" held)" = 1 ]
	run --separate-stderr envoi -C "$CFG" -bp
	[[ $output == *" next=held "* ]]
	# fixed, due, but held: -q does not touch it
	qconfig srv starttls
	q_make_due
	server_reset srv
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(conn_count srv)" -eq 0 ]
	[ "$(q_count)" -eq 1 ]
	run --separate-stderr envoi -C "$CFG" --queue-release "$id"
	assert_status 0
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	assert_same_file "$EXPECTED" "$(last_eml srv)"
	assert_queue_empty
}

@test "TLS failure (untrusted certificate): exit 69, held; delivered after fixing the config, release and -q" {
	qconfig srv starttls tls_trust_file="$PKI/ca2.pem"
	qsend bob@example.org
	assert_status 69
	assert_error_line
	[[ $stderr == *held* ]]
	local id
	id=$(q_ids)
	[ -n "$id" ]
	[ "$(q_field "$id" held)" = 1 ]
	assert_not_sent srv MAIL
	qconfig srv starttls
	q_make_due
	server_reset srv
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(conn_count srv)" -eq 0 ]
	run --separate-stderr envoi -C "$CFG" --queue-release "$id"
	assert_status 0
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv tls)" = true ]
	assert_queue_empty
}

@test "an authentication failure during -q holds the entry" {
	qconfig_down
	qsend bob@example.org
	assert_status 0
	assert_queued_line
	qconfig srv starttls password=not-the-password
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(q_field "$QID" held)" = 1 ]
	[ "$(q_field "$QID" attempts)" = 2 ]
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv MAIL
}
