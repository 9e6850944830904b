#!/usr/bin/env bats
# The per-message log: logfile (one line per message, text or JSON with
# log_format), what each line holds (account, host, tls, from, recipients,
# size, status, outcome, error), never a password; syslog is only checked
# to be accepted.

# status, output, lines and stderr are set by bats' run
# shellcheck disable=SC2154

load lib/common

setup_file() {
	common_setup_file
	start_server srv --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
}

# cfg [key=value ...]: std_config for srv's STARTTLS listener, logging to $LOG
cfg() { std_config srv starttls logfile="$LOG" "$@"; }

# not CMD...: CMD must fail (a bare "! CMD" does not fail a bats test)
not() {
	if "$@"; then
		echo "should have failed: $*" >&2
		return 1
	fi
}

setup() {
	common_setup
	LOG="$BATS_TEST_TMPDIR/envoi.log"
	MSG="$BATS_TEST_TMPDIR/msg"
	std_msg "$MSG"
	cfg
}

send() {
	run --separate-stderr envoi -C "$CFG" "$@" <"$MSG"
}

# json_log: check the JSON log with Python; the script on stdin gets
# `lines` (the parsed lines, in order) and `eml` (the sizes of the
# server's messages, in order)
json_log() {
	"$PY" -c '
import json, os, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
mail = sys.argv[2]
eml = [os.path.getsize(os.path.join(mail, f)) for f in sorted(os.listdir(mail)) if f.endswith(".eml")]
KEYS = {"time", "account", "host", "tls", "from", "recipients", "size", "status", "outcome", "error"}
for l in lines:
    assert set(l) == KEYS, sorted(l)
exec(sys.stdin.read())
' "$LOG" "$(server_dir srv)/mail"
}

@test "text log: one line per message with account, host, tls, from, recipients, size, status, outcome" {
	send bob@example.org carol@example.org
	assert_status 0
	[ "$(wc -l <"$LOG")" -eq 1 ]
	local line size
	line=$(cat "$LOG")
	size=$(stat -c %s "$(last_eml srv)")
	[[ $line =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\  ]]
	[[ $line == *"account=main "* ]]
	[[ $line == *"host=127.0.0.1 "* ]]
	[[ $line == *"tls=TLS1."* ]]
	[[ $line == *"from=<alice@example.org> "* ]]
	[[ $line == *"to=<bob@example.org>,<carol@example.org> "* ]]
	[[ $line == *" size=$size "* ]]
	[[ $line == *'status="250 '*'"'* ]]
	[[ $line == *"outcome=sent"* ]]
	[[ $line != *error=* ]]
	no_secret "$LOG"
	[ "$(stat -c %a "$LOG")" = 600 ]
}

@test "text log: lines are appended, one per message" {
	echo "earlier line" >"$LOG"
	send bob@example.org
	assert_status 0
	send carol@example.org
	assert_status 0
	[ "$(wc -l <"$LOG")" -eq 3 ]
	head -n 1 "$LOG" | grep -qx 'earlier line'
	sed -n 2p "$LOG" | grep -q 'to=<bob@example.org> '
	sed -n 3p "$LOG" | grep -q 'to=<carol@example.org> '
}

@test "text log: a refused message is logged as failed, with the server's reply and the error" {
	cfg queue=never
	server_ctl srv reply-EOD '554 5.7.1 rejected by policy'
	send bob@example.org
	assert_status 69
	[ "$(wc -l <"$LOG")" -eq 1 ]
	grep -q 'outcome=failed' "$LOG"
	grep -q 'status="554 5.7.1 rejected by policy"' "$LOG"
	grep -q 'error="[^"]*rejected by policy' "$LOG"
}

@test "text log: a smarthost that cannot be reached is logged as failed, without TLS" {
	cfg queue=never port="$(free_port)"
	send bob@example.org
	assert_status 75
	[ "$(wc -l <"$LOG")" -eq 1 ]
	grep -q 'outcome=failed' "$LOG"
	grep -q 'tls=none ' "$LOG"
	grep -q 'error="' "$LOG"
}

@test "text log: partial delivery is logged as partial, naming the refused recipient" {
	cfg queue=never rcpt_policy=partial
	server_ctl srv reply-RCPT 'bad@example.org 550 5.1.1 no such user'
	send good@example.org bad@example.org
	assert_status 67
	grep -q 'outcome=partial' "$LOG"
	grep -q 'error="[^"]*bad@example.org' "$LOG"
}

@test "log_format json: one JSON object per line with every key; values right" {
	cfg log_format=json
	send bob@example.org carol@example.org
	assert_status 0
	send -f 'bounce@example.net' dave@example.org
	assert_status 0
	no_secret "$LOG"
	json_log <<'EOF'
import re
assert len(lines) == 2, lines
a, b = lines
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", a["time"]), a["time"]
assert a["account"] == "main" and a["host"] == "127.0.0.1", a
assert a["tls"].startswith("TLS1."), a["tls"]
assert a["from"] == "alice@example.org", a
assert a["recipients"] == ["bob@example.org", "carol@example.org"], a
assert a["size"] == eml[0], (a["size"], eml)
assert a["status"].startswith("250 "), a
assert a["outcome"] == "sent" and a["error"] is None, a
assert b["from"] == "bounce@example.net" and b["recipients"] == ["dave@example.org"], b
assert b["size"] == eml[1]
EOF
}

@test "log_format json: failures carry status, outcome failed and the error; no connection: status null" {
	cfg log_format=json queue=never
	server_ctl srv reply-EOD '552 5.3.4 message too big'
	send bob@example.org
	assert_status 65
	server_ctl_clear srv
	cfg log_format=json queue=never port="$(free_port)"
	send bob@example.org
	assert_status 75
	json_log <<'EOF'
assert len(lines) == 2, lines
a, b = lines
assert a["outcome"] == "failed" and a["status"] == "552 5.3.4 message too big", a
assert "too big" in a["error"], a
assert b["outcome"] == "failed" and b["status"] is None and b["tls"] == "none", b
assert b["error"], b
EOF
}

@test "log_format json: quotes and backslashes in addresses are escaped" {
	cfg log_format=json
	send '"odd \"quoted\" \\ name"@example.org'
	assert_status 0
	[ "$(last_json srv rcpt_tos)" = '"odd \"quoted\" \\ name"@example.org' ]
	json_log <<'EOF'
assert len(lines) == 1, lines
assert lines[0]["recipients"] == ['"odd \\"quoted\\" \\\\ name"@example.org'], lines[0]["recipients"]
EOF
}

@test "-bs: one log line per message of the session" {
	cfg log_format=json
	run --separate-stderr envoi -C "$CFG" -bs < <(printf '%s\r\n' 'EHLO c' \
		'MAIL FROM:<a@example.org>' 'RCPT TO:<b@example.org>' DATA 'Subject: 1' '' one . \
		'MAIL FROM:<c@example.org>' 'RCPT TO:<d@example.org>' DATA 'Subject: 2' '' two . QUIT)
	assert_status 0
	[ "$(msg_count srv)" -eq 2 ]
	json_log <<'EOF'
assert [(l["from"], l["recipients"], l["outcome"]) for l in lines] == [
    ("a@example.org", ["b@example.org"], "sent"),
    ("c@example.org", ["d@example.org"], "sent")], lines
EOF
}

@test "passwordeval: the password is not logged either" {
	std_config srv starttls logfile="$LOG" password= passwordeval="echo $AUTH_PASS"
	send -v bob@example.org
	assert_status 0
	grep -q 'outcome=sent' "$LOG"
	no_secret "$LOG"
	not grep -qF -- "$AUTH_PASS" <<<"$stderr"
}

@test "a log file that cannot be written: a warning, the message is still sent, exit 0" {
	cfg logfile="$BATS_TEST_TMPDIR/no/such/dir/envoi.log"
	send bob@example.org
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[[ $stderr == *warning* ]]
}

@test "no logfile: nothing is written next to the config or in HOME" {
	std_config srv starttls
	send bob@example.org
	assert_status 0
	[ -z "$(find "$HOME" "$(dirname "$CFG")" -name '*.log')" ]
}

@test "syslog: off, on and facility names are accepted; anything else is exit 78" {
	local v
	for v in off on mail local3; do
		cfg syslog="$v"
		send bob@example.org
		assert_status 0
	done
	[ "$(msg_count srv)" -eq 4 ]
	cfg syslog=kernel
	send bob@example.org
	assert_status 78
	[[ $stderr == *syslog* ]]
}

@test "log_format other than text or json: exit 78" {
	cfg log_format=xml
	send bob@example.org
	assert_status 78
	[[ $stderr == *log_format* ]]
	[ "$(conn_count srv)" -eq 0 ]
}

@test "queue runs log too: deferred when queued, sent by -q" {
	cfg queue=on-failure
	server_ctl srv reply-MAIL "451 4.3.0 try later"
	send bob@example.org
	assert_status 0
	[ "$(wc -l <"$LOG")" -eq 1 ]
	grep -q 'outcome=failed' "$LOG"
	server_ctl_clear srv
	local env
	env=$(ls "$ENVOI_QUEUE_DIR"/*.env 2>/dev/null || ls "$BATS_TEST_TMPDIR"/queue/*.env)
	sed -i 's/^next_try: .*/next_try: 0/' $env
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(wc -l <"$LOG")" -eq 2 ]
	tail -n 1 "$LOG" | grep -q 'to=<bob@example.org> .*outcome=sent'
	no_secret "$LOG"
}
