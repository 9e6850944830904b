#!/usr/bin/env bats
# Fallback smarthosts: host = {"primary", "backup:port", ...}.  On a
# temporary failure (connection refused, timeout, 4xx greeting) the next
# host is tried before the message is queued; a refusal or a certificate
# or authentication failure stops there.  The log names the host that
# took the message.

load lib/common
load lib/queue

setup_file() {
	common_setup_file
	start_server prim --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
	start_server back --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
}

setup() {
	common_setup
	queue_setup
	LOG="$BATS_TEST_TMPDIR/envoi.log"
	P=$(server_port prim starttls)
	B=$(server_port back starttls)
}

# fcfg HOSTS [key = value lines...]: an account whose host is the list
# HOSTS (libconfuse syntax, e.g. '{"a", "b"}'), STARTTLS, AUTH, logging
# to $LOG, the queue on failure in $QDIR
fcfg() {
	local hosts=$1
	shift
	{
		cat <<EOC
account "main" {
  host = $hosts
  port = $P
  tls = "starttls"
  tls_trust_file = "$PKI/ca.pem"
  timeout = 5
  user = "$AUTH_USER"
  password = "$AUTH_PASS"
  from = "alice@example.org"
  domain = "client.example"
  logfile = "$LOG"
  queue = "on-failure"
  queue_dir = "$QDIR"
EOC
		printf '  %s\n' "$@"
		echo '}'
	} | write_config "$CFG"
}

@test "fallback: primary refuses connections, the backup (own port) takes the message" {
	fcfg "{\"127.0.0.1:$(free_port)\", \"localhost:$B\"}"
	qsend -v bob@example.org
	assert_status 0
	[ "$(msg_count back)" -eq 1 ]
	[ "$(msg_count prim)" -eq 0 ]
	assert_same_file "$EXPECTED" "$(last_eml back)"
	[ -z "$(q_ids)" ]
	# said which host failed and which one is next; the log names the
	# host that took it
	grep -q "127.0.0.1: .*trying the next host, localhost" <<<"$stderr"
	grep -q "connected to localhost (host 2 of 2)" <<<"$stderr"
	grep -q "host=localhost .*status=sent\|host=localhost .*sent" "$LOG"
}

@test "fallback: a 421 greeting on the primary moves on to the backup" {
	server_ctl prim greeting "421 4.3.2 prim.example going down"
	fcfg "{\"127.0.0.1:$P\", \"127.0.0.1:$B\"}"
	qsend bob@example.org
	assert_status 0
	[ "$(conn_count prim)" -eq 1 ]
	[ "$(msg_count prim)" -eq 0 ]
	[ "$(msg_count back)" -eq 1 ]
}

@test "fallback: a primary that does not speak SMTP (a protocol error) moves on to the backup" {
	server_ctl prim greeting 'this is not an SMTP server'
	fcfg "{\"127.0.0.1:$P\", \"127.0.0.1:$B\"}"
	qsend bob@example.org
	assert_status 0
	[ "$(msg_count prim)" -eq 0 ]
	[ "$(msg_count back)" -eq 1 ]
}

@test "fallback: the first host that works is used; later ones are not tried" {
	fcfg "{\"127.0.0.1:$P\", \"127.0.0.1:$B\"}"
	qsend bob@example.org
	assert_status 0
	[ "$(msg_count prim)" -eq 1 ]
	[ "$(conn_count back)" -eq 0 ]
	grep -q "host=127.0.0.1 " "$LOG"
}

@test "fallback: a host name without a port uses the account's port" {
	fcfg "{\"127.0.0.1:$(free_port)\", \"127.0.0.1\"}"
	qsend bob@example.org
	assert_status 0
	[ "$(msg_count prim)" -eq 1 ]
}

@test "fallback: every host down: queued (exit 0), and -q later delivers through the backup" {
	local dead1 dead2
	dead1=$(free_port)
	dead2=$(free_port)
	fcfg "{\"127.0.0.1:$dead1\", \"[::1]:$dead2\"}"
	qsend bob@example.org
	assert_status 0
	[ "$(q_ids | wc -l)" -eq 1 ]
	grep -q "queued" <<<"$stderr"
	# now the backup is up at the second address
	fcfg "{\"127.0.0.1:$dead1\", \"localhost:$B\"}"
	q_make_due
	run --separate-stderr envoi -C "$CFG" -q
	assert_status 0
	[ "$(msg_count back)" -eq 1 ]
	assert_same_file "$EXPECTED" "$(last_eml back)"
	[ -z "$(q_ids)" ]
	grep -q "host=localhost " "$LOG"
}

@test "fallback: a 5xx refusal on the primary is final: the backup is not asked" {
	server_ctl prim reply-RCPT "550 5.1.1 no such user"
	fcfg "{\"127.0.0.1:$P\", \"127.0.0.1:$B\"}"
	qsend bob@example.org
	[ "$status" -ne 0 ]
	[ "$(conn_count back)" -eq 0 ]
	[ "$(msg_count back)" -eq 0 ]
}

@test "fallback: a certificate failure on the primary is not a reason to try the backup" {
	# the primary is verified against a name its certificate lacks
	fcfg "{\"127.0.0.1:$P\", \"127.0.0.1:$B\"}" \
	    'tls_host_override = "wrong.example"'
	qsend bob@example.org
	[ "$(conn_count back)" -eq 0 ]
	[ "$(msg_count back)" -eq 0 ]
	# held for a human, not lost
	[ "$(q_ids | wc -l)" -eq 1 ]
}

@test "fallback: an authentication failure on the primary is not retried on the backup" {
	fcfg "{\"127.0.0.1:$P\", \"127.0.0.1:$B\"}" 'password = "wrong"'
	sed -i '/password = "'"$AUTH_PASS"'"/d' "$CFG"
	qsend bob@example.org
	[ "$(conn_count prim)" -eq 1 ]
	[ "$(conn_count back)" -eq 0 ]
	[ "$(q_ids | wc -l)" -eq 1 ]
}

@test "fallback: host lists in --print-config, and bad entries refused with the key named" {
	fcfg "{\"a.example:2525\", \"[::1]:587\", \"b.example\"}"
	run --separate-stderr envoi -C "$CFG" --print-config
	assert_status 0
	grep -qF 'host = {"a.example:2525", "[::1]:587", "b.example"}' <<<"$output"
	local bad
	for bad in '"a.example:99999"' '"a.example:"' '"[::1"' '"a.example:x"' \
	    '{"ok.example", "bad host"}' '{}'; do
		fcfg "$bad"
		run --separate-stderr envoi -C "$CFG" --print-config
		[ "$status" -eq 78 ] || { echo "accepted: $bad" >&2; return 1; }
		grep -q "host" <<<"$stderr"
	done
	fcfg '{"h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"}'
	run --separate-stderr envoi -C "$CFG" --print-config
	[ "$status" -eq 78 ]
	grep -q "at most 8" <<<"$stderr"
}

@test "fallback: --check names the host it reached" {
	fcfg "{\"127.0.0.1:$(free_port)\", \"localhost:$B\"}"
	run --separate-stderr envoi -C "$CFG" --check
	assert_status 0
	grep -q "connection .*OK (localhost port $B)" <<<"$output"
}
