#!/usr/bin/env bats
# OAuth2: OAUTHBEARER (RFC 7628) and XOAUTH2 against a test server that
# checks the bearer token, and the oauth2 { } block: refresh against a
# local HTTPS token endpoint (tests/server/tokend.py), the token cache
# (reuse, expiry, mode 0600), one refresh and retry when the server
# refuses a cached token, an unreachable endpoint (queued), a refused
# grant (held, sanitised), and no token in -v output or the log.

load lib/common
load lib/queue

setup_file() {
	common_setup_file
	export TOKENS="$BATS_FILE_TMPDIR/tokens"
	: >"$TOKENS"
	start_server srv --user "$AUTH_USER" --oauth-tokens "$TOKENS"
	export TOKD="$BATS_FILE_TMPDIR/tokend"
	mkdir -p "$TOKD/control"
	"$PY" -B "$TESTS_DIR/server/tokend.py" --dir "$TOKD" \
		--cert "$PKI/server.pem" --key "$PKI/server.key" \
		--tokens "$TOKENS" --client-secret s3cret-client \
		>"$TOKD/log" 2>&1 </dev/null 3>&- &
	echo $! >"$TOKD/server.pid"
	local i
	for ((i = 0; i < 200; i++)); do
		[ -s "$TOKD/pid" ] && break
		sleep 0.05
	done
	[ -s "$TOKD/pid" ] || { cat "$TOKD/log" >&2; return 1; }
}

teardown_file() {
	local pid
	pid=$(cat "$TOKD/server.pid" 2>/dev/null) || true
	[ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
	common_teardown_file
}

setup() {
	common_setup
	queue_setup
	rm -f "$TOKD"/control/* "$TOKD/calls.log"
	: >"$(server_dir srv)/events.log"
	server_ctl srv auth-mechs "OAUTHBEARER XOAUTH2 PLAIN"
	CACHE="$QDIR/oauth2/main.token"
}

# oauth_config [account lines...]: account "main" on the STARTTLS
# listener with an oauth2 block whose refresh token is rt-good; the
# arguments are extra lines for the account (and may replace the block
# with "NOBLOCK").
oauth_config() {
	local extra="" block=1 l
	for l; do
		if [ "$l" = NOBLOCK ]; then block=""; else extra+="  $l"$'\n'; fi
	done
	{
		cat <<EOF
default_account = "main"
defaults {
  tls_trust_file = "$PKI/ca.pem"
  timeout = 10
  queue = "on-failure"
  queue_dir = "$QDIR"
}
account "main" {
  host = "127.0.0.1"
  port = $(server_port srv starttls)
  tls = "starttls"
  user = "$AUTH_USER"
  from = "alice@example.org"
  domain = "client.example"
${extra}
EOF
		[ -z "$block" ] || cat <<EOF
  oauth2 {
    token_url = "${TOKEN_URL:-https://127.0.0.1:$(cat "$TOKD/port")/token}"
    client_id = "envoi-test"
    client_secret = "s3cret-client"
    refresh_token = "rt-good"
    scope = "https://mail.example/"
  }
EOF
		echo '}'
	} | write_config "$CFG"
}

send() {
	run --separate-stderr envoi -C "$CFG" "$@" <"$MSG"
}

calls() {
	[ -f "$TOKD/calls.log" ] || { echo 0; return; }
	wc -l <"$TOKD/calls.log"
}

# auth_events FIELD: that field of every auth record of events.log
auth_events() {
	"$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("event") == "auth":
        print(r.get(sys.argv[2]))
' "$(server_dir srv)/events.log" "$1"
}

# a token the server knows, issued as the endpoint would
known_token() {
	local t
	t="known-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	echo "$t" >>"$TOKENS"
	echo "$t"
}

@test "oauth2 block: OAUTHBEARER chosen, token refreshed, checked by the server, delivered" {
	oauth_config
	send bob@example.org
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv auth_mech)" = OAUTHBEARER ]
	[ "$(last_json srv auth_user)" = "$AUTH_USER" ]
	[ "$(auth_events result)" = ok ]
	# the endpoint saw one proper refresh_token grant
	[ "$(calls)" -eq 1 ]
	grep -q '"grant_type": "refresh_token"' "$TOKD/calls.log"
	grep -q '"client_secret_ok": true' "$TOKD/calls.log"
	grep -q '"scope": "https://mail.example/"' "$TOKD/calls.log"
}

@test "XOAUTH2 named by auth, token from passwordeval, no oauth2 block" {
	local t
	t=$(known_token)
	server_ctl srv auth-mechs "OAUTHBEARER XOAUTH2 PLAIN"
	oauth_config NOBLOCK 'auth = "xoauth2"' "passwordeval = \"echo $t\""
	send bob@example.org
	assert_status 0
	[ "$(last_json srv auth_mech)" = XOAUTH2 ]
	[ "$(calls)" -eq 0 ]
}

@test "without an oauth2 block or auth naming them, auth = on never picks a bearer mechanism" {
	oauth_config NOBLOCK "password = \"$(known_token)\""
	server_ctl srv auth-mechs "OAUTHBEARER XOAUTH2"
	send bob@example.org
	assert_status 77
	[[ $stderr == *"none"* || $stderr == *"no usable"* ]]
	assert_not_sent srv AUTH
}

@test "a wrong token: one-line error naming the mechanism and the server's status, dummy response sent" {
	oauth_config NOBLOCK 'auth = "oauthbearer"' 'password = "not-a-valid-token"'
	send bob@example.org
	assert_status 77
	assert_error_line
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	[[ $stderr == *"OAUTHBEARER"*"535"*"invalid_token"* ]]
	[ "$(auth_events reason)" = bad-token ]
	[ "$(auth_events dummy)" = True ]
	[ "$(msg_count srv)" -eq 0 ]
}

@test "a wrong XOAUTH2 token: the empty answer to the error challenge, then 535" {
	oauth_config NOBLOCK 'auth = "xoauth2"' 'password = "not-a-valid-token"'
	send bob@example.org
	assert_status 77
	[[ $stderr == *"XOAUTH2"*"535"* ]]
	[ "$(auth_events dummy)" = True ]
}

@test "bearer mechanisms are refused without TLS" {
	oauth_config NOBLOCK 'auth = "oauthbearer"' "password = \"$(known_token)\""
	sed -i "s/port = .*/port = $(server_port srv plain)/; s/tls = \"starttls\"/tls = \"off\"/" "$CFG"
	send bob@example.org
	assert_status 77
	[[ $stderr == *"without TLS"* ]]
	assert_not_sent srv AUTH
}

@test "a 10 KB access token works, sent after an empty challenge (AUTH line over 12288 octets)" {
	server_ctl srv auth-mechs "OAUTHBEARER"
	printf 10240 >"$TOKD/control/token-size"
	oauth_config
	send bob@example.org
	assert_status 0
	[ "$(auth_events token_len)" = 10240 ]
	[ "$(msg_count srv)" -eq 1 ]
	# RFC 4954 4: no initial response that long on the AUTH line
	last_conn srv | grep -qx 'AUTH OAUTHBEARER'
	[ "$(last_conn srv | awk 'length($0) > 12288' | wc -l)" -eq 1 ]
}

@test "a short token goes in the initial response, with user and host" {
	local t
	t=$(known_token)
	oauth_config NOBLOCK 'auth = "oauthbearer"' "password = \"$t\""
	send bob@example.org
	assert_status 0
	local ir
	ir=$(last_conn srv | sed -n 's/^AUTH OAUTHBEARER //p')
	[ -n "$ir" ]
	[ "$(base64 -d <<<"$ir" | od -An -c | tr -s ' ' | tr -d '\n')" = \
	    "$(printf 'n,a=%s,\001host=127.0.0.1\001auth=Bearer %s\001\001' "$AUTH_USER" "$t" | od -An -c | tr -s ' ' | tr -d '\n')" ]
}

@test "the token is cached 0600 and reused without calling the endpoint" {
	oauth_config
	send bob@example.org
	assert_status 0
	[ "$(calls)" -eq 1 ]
	[ "$(stat -c %a "$CACHE")" = 600 ]
	[ "$(stat -c %a "$(dirname "$CACHE")")" = 700 ]
	[ "$(head -n 1 "$CACHE")" = "envoi-oauth2 1" ]
	# the cached token is one the endpoint issued
	grep -qxF -e "$(sed -n 3p "$CACHE")" -- "$TOKENS"
	send bob@example.org
	assert_status 0
	[ "$(calls)" -eq 1 ]
	[ "$(msg_count srv)" -eq 2 ]
	[ "$(auth_events result | sort -u)" = ok ]
}

@test "an expired cached token is refreshed" {
	oauth_config
	send bob@example.org
	assert_status 0
	local old
	old=$(sed -n 3p "$CACHE")
	sed -i "2s/.*/$(($(date +%s) - 10))/" "$CACHE"
	send bob@example.org
	assert_status 0
	[ "$(calls)" -eq 2 ]
	[ "$(sed -n 3p "$CACHE")" != "$old" ]
	[ "$(sed -n 2p "$CACHE")" -gt "$(($(date +%s) + 3000))" ]
	# a token within the margin of its expiry counts as expired too
	sed -i "2s/.*/$(($(date +%s) + 30))/" "$CACHE"
	send bob@example.org
	assert_status 0
	[ "$(calls)" -eq 3 ]
}

@test "a cached token the server refuses: one refresh, one retry, delivered" {
	oauth_config
	mkdir -p "$(dirname "$CACHE")"
	printf 'envoi-oauth2 1\n%s\nrevoked-token-123\n' "$(($(date +%s) + 3600))" |
		(umask 077 && cat >"$CACHE")
	send bob@example.org
	assert_status 0
	[ "$(calls)" -eq 1 ]
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(auth_events result | tr '\n' ' ')" = "fail ok " ]
}

@test "a new token refused as well: no second refresh, exit 77" {
	oauth_config
	mkdir -p "$(dirname "$CACHE")"
	printf 'envoi-oauth2 1\n%s\nrevoked-token-123\n' "$(($(date +%s) + 3600))" |
		(umask 077 && cat >"$CACHE")
	# the endpoint issues a token the server does not know
	touch "$TOKD/control/unrecorded"
	send bob@example.org
	assert_status 77
	[ "$(calls)" -eq 1 ]
	[ "$(auth_events result | tr '\n' ' ')" = "fail fail " ]
}

@test "token endpoint unreachable: the message is queued (temporary)" {
	TOKEN_URL="https://127.0.0.1:$(free_port)/token" oauth_config
	send bob@example.org
	assert_status 0
	assert_queued_line
	[[ $stderr == *"token endpoint"*"unreachable"* ]]
	[ "$(q_count)" -eq 1 ]
	[ -z "$(q_field "$(q_ids)" held)" ]
	assert_not_sent srv AUTH
}

@test "endpoint answers 503: temporary, queued" {
	printf 503 >"$TOKD/control/status"
	oauth_config
	send bob@example.org
	assert_status 0
	[ "$(q_count)" -eq 1 ]
	[[ $stderr == *"HTTP 503"*"temporarily_unavailable"* ]]
}

@test "invalid_grant: held for a human, the endpoint's text sanitised" {
	printf 'some-other-token\n' >"$TOKD/control/refresh-tokens"
	oauth_config
	send bob@example.org
	assert_status 77
	[[ $stderr == *"invalid_grant"*"Token has been expired or revoked."* ]]
	[[ $stderr != *$'\e'* ]]
	[ "$(q_count)" -eq 1 ]
	[ -n "$(q_field "$(q_ids)" held)" ]
	[ "$(msg_count srv)" -eq 0 ]
}

@test "a rotated refresh token is saved to refresh_token_file" {
	printf 'rt-good\n' | (umask 077 && cat >"$BATS_TEST_TMPDIR/rt")
	oauth_config
	sed -i "s|refresh_token = \"rt-good\"|refresh_token_file = \"$BATS_TEST_TMPDIR/rt\"|" "$CFG"
	touch "$TOKD/control/rotate"
	send bob@example.org
	assert_status 0
	local rt
	rt=$(cat "$BATS_TEST_TMPDIR/rt")
	[[ $rt == rt-* && $rt != rt-good ]]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/rt")" = 600 ]
	# the next refresh uses the new one, which only the endpoint knows
	printf 'nothing-else\n' >"$TOKD/control/refresh-tokens"
	rm -f "$CACHE"
	send bob@example.org
	assert_status 0
	[ "$(calls)" -eq 2 ]
}

@test "a cache file that is a symlink or readable by others is not used, nor followed" {
	oauth_config
	mkdir -p "$(dirname "$CACHE")"
	local t
	t=$(known_token)
	printf 'envoi-oauth2 1\n%s\n%s\n' "$(($(date +%s) + 3600))" "$t" \
		>"$BATS_TEST_TMPDIR/elsewhere"
	chmod 600 "$BATS_TEST_TMPDIR/elsewhere"
	ln -s "$BATS_TEST_TMPDIR/elsewhere" "$CACHE"
	send bob@example.org
	assert_status 0
	[ "$(calls)" -eq 1 ]
	# replaced by a file of its own; the target untouched
	[ ! -L "$CACHE" ] && [ -f "$CACHE" ]
	[ "$(sed -n 3p "$BATS_TEST_TMPDIR/elsewhere")" = "$t" ]
	chmod 644 "$CACHE"
	send bob@example.org
	assert_status 0
	[ "$(calls)" -eq 2 ]
}

@test "no token or refresh token in the -v transcript, stderr or the log" {
	oauth_config 'logfile = "'"$BATS_TEST_TMPDIR/envoi.log"'"'
	send -v bob@example.org
	assert_status 0
	[[ $stderr == *"AUTH OAUTHBEARER <hidden>"* ]]
	local t
	t=$(sed -n 3p "$CACHE")
	[ -n "$t" ]
	[[ $stderr != *"$t"* && $output != *"$t"* ]]
	! grep -qF -e "$t" "$BATS_TEST_TMPDIR/envoi.log"
	[[ $stderr != *rt-good* ]]
	[[ $stderr != *s3cret-client* ]]
	# nor base64 of the initial response: the line is hidden whole
	! grep -q 'AUTH OAUTHBEARER [^<]' <<<"$stderr"
	# a second, cached run is as quiet about it
	send -v bob@example.org
	[[ $stderr != *"$t"* ]]
}

@test "--print-config hides client_secret and refresh_token" {
	oauth_config
	run --separate-stderr envoi -C "$CFG" --print-config
	assert_status 0
	[[ $output == *"oauth2 {"* ]]
	[[ $output == *'client_secret = "<hidden>"'* ]]
	[[ $output == *'refresh_token = "<hidden>"'* ]]
	[[ $output != *s3cret-client* && $output != *rt-good* ]]
}

@test "oauth2 block errors: no refresh token source, http URL, world-readable secret" {
	oauth_config
	sed -i '/refresh_token = /d' "$CFG"
	run --separate-stderr envoi -C "$CFG" --print-config
	assert_status 78
	[[ $stderr == *"exactly one of refresh_token"* ]]
	oauth_config
	sed -i 's|token_url = "https|token_url = "http|' "$CFG"
	run --separate-stderr envoi -C "$CFG" --print-config
	assert_status 78
	[[ $stderr == *"token_url"*"not an https:// URL"* ]]
	oauth_config
	chmod 644 "$CFG"
	run --separate-stderr envoi -C "$CFG" --print-config
	assert_status 78
	[[ $stderr == *"holds a password"* ]]
}

@test "oauth2 block and a server offering only XOAUTH2 (as Microsoft's): XOAUTH2" {
	server_ctl srv auth-mechs "XOAUTH2 PLAIN LOGIN"
	oauth_config
	send bob@example.org
	assert_status 0
	[ "$(last_json srv auth_mech)" = XOAUTH2 ]
}

@test "oauth2 block and a server without bearer mechanisms: exit 77, the password mechanisms untried" {
	server_ctl srv auth-mechs "PLAIN LOGIN"
	oauth_config
	send bob@example.org
	assert_status 77
	[[ $stderr == *"neither OAUTHBEARER nor XOAUTH2"* ]]
	assert_not_sent srv AUTH
}

@test "--check: the login step uses OAUTHBEARER" {
	oauth_config
	run --separate-stderr envoi -C "$CFG" --check
	assert_status 0
	[[ $output == *"login          OK (OAUTHBEARER as $AUTH_USER)"* ]]
	[ "$(msg_count srv)" -eq 0 ]
}
