#!/usr/bin/env bats
# Hostile and broken servers (issue #8).  tests/server/hostile.py speaks
# SMTP until the step its scenario names, and there misbehaves: replies
# without end, bytes that do not belong, codes that are not codes, replies
# that come one byte at a time or never, a connection reset at every step,
# TLS broken in the middle of the message, data injected after STARTTLS.
#
# Whatever it does, envoi must end in bounded time (config timeout = 1 s;
# every run is also under `timeout`) and bounded memory, without a crash
# (status < 128), with one clean line on stderr naming the step, and with
# the message either queued (queue = on-failure: exit 0, one entry) or
# reported (queue = never: a sysexits status, nothing delivered).
#
# Classes: a reset, a timeout or a broken TLS session is temporary (75);
# a reply that is too long, endless, or not SMTP at all is a protocol error
# (76), which the queue also retries: the next attempt may reach a sane
# server.  Both are queued with queue = on-failure.

load lib/common
load lib/queue

# Each run of envoi is bounded by this many seconds (lib/common: envoi).
export ENVOI_TIMEOUT=20

setup_file() {
	common_setup_file
	SERVER_SCRIPT="$TESTS_DIR/server/hostile.py" start_server hs
	# Large enough that envoi is still sending when the server gives up.
	BIG="$BATS_FILE_TMPDIR/big"
	export BIG
	{
		printf 'From: alice@example.org\nTo: bob@example.org\n'
		printf 'Subject: big\n\n'
		"$PY" -c '
import sys
for i in range(100000):
    sys.stdout.write("line %06d of a message large enough to outlast "
                     "the socket buffers\n" % i)'
	} >"$BIG"
}

setup() {
	common_setup
	queue_setup
}

# try SCENARIO TLS POLICY [key=value...]: envoi against the scenario, with
# tls = TLS (off or starttls; AUTH only with starttls) and queue = POLICY;
# $MSG unless MSG is set otherwise.  Sets status/stderr (run) and
# ELAPSED_MS; with MEASURE_RSS set, runs under maxrss.py and sets RSS_KB,
# the peak RSS in KB.
try() {
	local scenario=$1 tls=$2 policy=$3
	shift 3
	local creds=(user= password=)
	[ "$tls" = off ] || creds=()
	server_reset hs
	rm -rf "$QDIR" "$BATS_TEST_TMPDIR/maxrss_kb"
	server_ctl hs scenario "$scenario"
	std_config hs plain tls="$tls" queue="$policy" queue_dir="$QDIR" \
		timeout=1 "${creds[@]}" "$@"
	local t0 measure=()
	# (a sanitizer build: memory means nothing, and LSan cannot run
	# under maxrss.py's ptrace)
	[ -z "${MEASURE_RSS-}" ] || sanitized || measure=(maxrss_kb)
	t0=$(date +%s%N)
	run --separate-stderr "${measure[@]}" envoi -C "$CFG" bob@example.org <"$MSG"
	ELAPSED_MS=$((($(date +%s%N) - t0) / 1000000))
	RSS_KB=$(cat "$BATS_TEST_TMPDIR/maxrss_kb" 2>/dev/null || echo 0)
}

# assert_printable: stderr has nothing but printable ASCII (and newlines)
assert_printable() {
	if LC_ALL=C grep -q '[^[:print:]]' <<<"$stderr"; then
		echo "unprintable bytes on stderr:" >&2
		od -c <<<"$stderr" | head >&2
		return 1
	fi
}

# assert_clean STEP: no crash, within 5 s, and stderr is one printable line
# "envoi: ..." that names the step as "(STEP)"
assert_clean() {
	[ "$status" -lt 128 ] || {
		echo "envoi crashed: status $status; stderr: $stderr" >&2
		return 1
	}
	[ "$ELAPSED_MS" -le 5000 ] || {
		echo "took $ELAPSED_MS ms" >&2
		return 1
	}
	assert_error_line
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || {
		echo "more than one line on stderr: $stderr" >&2
		return 1
	}
	assert_printable
	[[ $stderr == *"($1)"* ]] || {
		echo "stderr does not name the step ($1): $stderr" >&2
		return 1
	}
	[ "$(msg_count hs)" -eq 0 ]
}

# small: peak RSS under 16 MB
small() {
	if [ "$RSS_KB" -le 0 ] || [ "$RSS_KB" -ge 16384 ]; then
		echo "peak RSS $RSS_KB KB" >&2
		return 1
	fi
}

# gives_up SCENARIO TLS STEP STATUS [key=value...]: with queue = never,
# exit STATUS and nothing queued; with queue = on-failure, exit 0 and the
# message is the one entry of the queue, its last_error naming the step.
# Both runs end cleanly (assert_clean), and with MEASURE_RSS set, small.
gives_up() {
	local scenario=$1 tls=$2 step=$3 code=$4
	shift 4
	try "$scenario" "$tls" never "$@"
	assert_status "$code"
	assert_clean "$step"
	[ -z "${MEASURE_RSS-}" ] || sanitized || small
	[[ $stderr != *queued* ]]
	[ "$(q_count)" -eq 0 ]
	try "$scenario" "$tls" on-failure "$@"
	assert_status 0
	assert_clean "$step"
	[ -z "${MEASURE_RSS-}" ] || sanitized || small
	assert_queued_line
	[[ $(q_field "$QID" last_error) == *"($step)"* ]]
	[ -z "$(q_field "$QID" held)" ]
	[ "$("$ENVOI" -C "$CFG" -bp | grep -c "$QID")" -eq 1 ]
}

@test "the hostile server itself delivers when it behaves (clear and STARTTLS)" {
	try normal off never
	assert_status 0
	assert_same_file "$EXPECTED" "$(last_eml hs)"
	try normal starttls never
	assert_status 0
	assert_same_file "$EXPECTED" "$(last_eml hs)"
	[ "$(last_json hs tls)" = true ]
	assert_sent hs AUTH
}

# ---------------------------------------------------------------------------
# replies without end

@test "1 MB greeting line without CRLF: protocol error (76), queued; small memory" {
	MEASURE_RSS=1 gives_up long-greeting off greeting 76
	[[ $stderr == *"longer than"* ]]
}

@test "1 MB EHLO line without CRLF: protocol error (76), queued; small memory" {
	MEASURE_RSS=1 gives_up long-ehlo off EHLO 76
}

@test "endless multi-line EHLO reply: protocol error (76) after a bounded number of lines, queued; small memory" {
	MEASURE_RSS=1 gives_up endless-ehlo off EHLO 76
	[[ $stderr == *"lines"* ]]
}

# ---------------------------------------------------------------------------
# bytes and codes that do not belong

@test "NUL, 8-bit and escape bytes in replies: tolerated in the greeting and EHLO; the 550 to MAIL is shown printable, exit 69, kept in failed/" {
	try nul-8bit off never
	assert_status 69
	assert_sent hs EHLO MAIL
	[[ $stderr == *"rejected sender: 550 5.7.1 go away"*" now" ]]
	assert_error_line
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	assert_printable
	[ "$(q_count)" -eq 0 ]
	# on-failure: a permanent refusal keeps the message in failed/
	try nul-8bit off on-failure
	assert_status 69
	assert_printable
	[[ $stderr == *"failed/"* ]]
	[ "$(find "$QDIR/failed" -name '*.msg' | wc -l)" -eq 1 ]
	[ "$(msg_count hs)" -eq 0 ]
}

@test "reply code '25O' in the greeting: protocol error (76), queued" {
	gives_up code-25O off greeting 76
	[[ $stderr == *"malformed reply"* ]]
}

@test "reply code 099 to EHLO: protocol error (76), queued" {
	gives_up code-099 off EHLO 76
}

@test "reply code 600 to MAIL: protocol error (76), queued" {
	gives_up code-600 off "MAIL FROM" 76
}

@test "codes 250 and 251 within one EHLO reply: protocol error (76), queued" {
	gives_up code-mismatch off EHLO 76
	[[ $stderr == *"changed"* ]]
}

# ---------------------------------------------------------------------------
# slowloris and silence: bounded by the configured timeout, not per byte

@test "greeting one byte every 0.2 s (9 s in all): timeout after 1 s (75), queued" {
	gives_up slow-greeting off greeting 75
	[[ $stderr == *"timed out"* ]]
	[ "$ELAPSED_MS" -ge 950 ]
}

@test "endless EHLO reply one byte every 50 ms: timeout after 1 s (75), queued; small memory" {
	MEASURE_RSS=1 gives_up slow-ehlo off EHLO 75
	[ "$ELAPSED_MS" -ge 950 ]
}

@test "a greeting that never comes: timeout after 1 s (75), queued" {
	gives_up silent off greeting 75
	[ "$ELAPSED_MS" -ge 950 ]
}

# ---------------------------------------------------------------------------
# connection reset (RST) at every step: temporary (75), queued

@test "reset instead of the greeting: 75, queued" {
	gives_up reset-greeting off greeting 75
}

@test "reset at EHLO: 75, queued" {
	gives_up reset-EHLO off EHLO 75
}

@test "reset at STARTTLS: 75, queued" {
	gives_up reset-STARTTLS starttls STARTTLS 75
}

@test "reset at AUTH (under TLS): 75, queued" {
	gives_up reset-AUTH starttls AUTH 75
}

@test "reset at MAIL: 75, queued" {
	gives_up reset-MAIL off "MAIL FROM" 75
}

@test "reset at RCPT: 75, queued" {
	gives_up reset-RCPT off "RCPT TO" 75
}

@test "reset at DATA: 75, queued" {
	gives_up reset-DATA off DATA 75
}

@test "reset during a 6 MB body, in clear: 75 (no SIGPIPE), queued" {
	MSG=$BIG
	# sendfile(2) raised SIGPIPE on some runs: try a few times.
	gives_up reset-body off "message body" 75
	gives_up reset-body off "message body" 75
	gives_up reset-body off "message body" 75
}

@test "reset during a 6 MB body, under TLS: 75, queued" {
	MSG=$BIG
	gives_up reset-body starttls "message body" 75
}

@test "reset after the final dot: 75, queued" {
	gives_up reset-dot off "end of data" 75
}

# ---------------------------------------------------------------------------
# old servers

@test "EHLO answered 500: HELO, and the message is delivered" {
	try ehlo-500 off never
	assert_status 0
	[ -z "$stderr" ]
	assert_sent hs EHLO HELO MAIL RCPT DATA
	assert_same_file "$EXPECTED" "$(last_eml hs)"
	[ "$(last_json hs mail_from)" = "<alice@example.org>" ]
}

# ---------------------------------------------------------------------------
# TLS broken in the middle of the message

@test "fatal TLS alert from the server mid-body: temporary (75), queued" {
	MSG=$BIG
	gives_up tls-alert-body starttls "end of data" 75
	[[ $stderr == *"alert"* ]]
}

@test "a TLS record that does not decrypt, mid-body: temporary (75), queued" {
	gives_up tls-garbage-body starttls "end of data" 75
}

@test "TLS closed (close_notify) mid-body: temporary (75), queued" {
	gives_up tls-close-body starttls "end of data" 75
}

# ---------------------------------------------------------------------------
# protocol attacks

@test "data after STARTTLS's 220 (injection): refused as a protocol error (76) before TLS, queued" {
	gives_up starttls-inject starttls STARTTLS 76
	[[ $stderr == *"injection"* ]]
	assert_not_sent hs AUTH MAIL
	run ! grep -q '^[0-9]* TLS$' "$(transcript hs)"
}

@test "AUTH challenges without end: protocol error (76) after a bounded number, no crash, queued" {
	gives_up auth-endless starttls AUTH 76
	[[ $stderr == *"challenges"* ]]
	assert_not_sent hs MAIL
}
