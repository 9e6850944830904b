#!/usr/bin/env bats
# SCRAM (RFC 5802, RFC 7677) and channel binding: with auth = "on", envoi
# prefers SCRAM-SHA-256-PLUS / SCRAM-SHA-1-PLUS when the server offers them
# and TLS gives a channel binding (tls-unique on TLS 1.2, tls-exporter on
# TLS 1.3), then SCRAM-SHA-256, SCRAM-SHA-1, and PLAIN/LOGIN only under TLS.
#
# The test server (tests/server/smtpd.py) implements SCRAM itself, offers
# what control/auth-mechs lists and notes every exchange in events.log:
# mechanism, GS2 channel binding flag and name, whether it verified the
# binding, and why it refused.  Python can compute tls-unique (TLS <= 1.2)
# natively; tls-exporter (TLS 1.3) through ctypes, when that works.

# status, output and stderr are set by bats' run
# shellcheck disable=SC2154
load lib/common

setup_file() {
	common_setup_file
	local a=(--user "$AUTH_USER" --password "$AUTH_PASS")
	# TLS 1.3 (OpenSSL's default maximum), plain, STARTTLS and implicit
	launch_server srv "${a[@]}"
	# TLS 1.2 at most: tls-unique
	launch_server tls12 --starttls --tls --tls-max 1.2 "${a[@]}"
	wait_server srv
	wait_server tls12
}

setup() {
	common_setup
	local s
	for s in $(server_names); do
		rm -f "$(server_dir "$s")/events.log"
	done
	MSG="$BATS_TEST_TMPDIR/msg"
	std_msg "$MSG"
}

send() {
	run --separate-stderr envoi -C "$CFG" "$@" <"$MSG"
}

# no_match ARGS...: grep ARGS finds nothing (a bare "! grep" would not fail
# a bats test unless it is the last command)
no_match() {
	if grep "$@"; then
		echo "unexpected match: grep $*" >&2
		return 1
	fi
}

ALL_MECHS="PLAIN LOGIN SCRAM-SHA-1 SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-256-PLUS"

# auth_event NAME FIELD: FIELD of the last "auth" event of server NAME
# (a bool as true/false, null as nothing); fails if there is none
auth_event() {
	"$PY" -c '
import json, sys
last = None
try:
    for line in open(sys.argv[1], encoding="utf-8"):
        e = json.loads(line)
        if e["event"] == "auth":
            last = e
except FileNotFoundError:
    pass
if last is None:
    sys.exit("no AUTH event on the server")
v = last.get(sys.argv[2])
if v is not None:
    print("true" if v is True else "false" if v is False else v)
' "$(server_dir "$1")/events.log" "$2"
}

# auth_count NAME: number of AUTH exchanges server NAME saw
auth_count() {
	local f
	f="$(server_dir "$1")/events.log"
	[ -f "$f" ] || {
		echo 0
		return
	}
	grep -c '"event": "auth"' "$f" || true
}

# first_auth_line NAME: the decoded initial response of the last AUTH command
# (the SCRAM client-first-message)
first_auth_line() {
	local b64
	b64=$(awk 'toupper($2) == "AUTH" { v = $4 } END { print v }' "$(transcript "$1")")
	printf '%s' "$b64" | base64 -d
}

# scram_ok NAME MECH CBFLAG CBNAME: the last exchange used MECH and
# succeeded, with that GS2 flag and binding name ("" for none); the message
# was delivered with MECH recorded
scram_ok() {
	assert_status 0
	[ "$(auth_event "$1" mech)" = "$2" ]
	[ "$(auth_event "$1" result)" = ok ]
	[ "$(auth_event "$1" cbflag)" = "$3" ]
	[ "$(auth_event "$1" cbname)" = "$4" ]
	[ "$(msg_count "$1")" -eq 1 ]
	[ "$(last_json "$1" auth_mech)" = "$2" ]
	[ "$(last_json "$1" auth_user)" = "$AUTH_USER" ]
	[ "$(auth_count "$1")" -eq 1 ]
	no_match -i '^[0-9]* AUTH \(PLAIN\|LOGIN\)' "$(transcript "$1")"
}

# auth_refused NAME: exit 77, nothing delivered, MAIL never sent
auth_refused() {
	assert_status 77
	assert_error_line
	[ "$(msg_count "$1")" -eq 0 ]
	assert_not_sent "$1" MAIL RCPT DATA
}

# ---------------------------------------------------------------------------
# channel binding: -PLUS

@test "auth = on, TLS 1.2, -PLUS offered: SCRAM-SHA-256-PLUS with tls-unique, verified by the server" {
	server_ctl tls12 auth-mechs "SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN"
	std_config tls12 starttls
	send bob@example.org
	scram_ok tls12 SCRAM-SHA-256-PLUS p tls-unique
	[ "$(auth_event tls12 cb_verified)" = true ]
	[ "$(last_json tls12 auth_cb)" = tls-unique ]
	[ "$(last_json tls12 tls_version)" = TLSv1.2 ]
	[[ $(first_auth_line tls12) == "p=tls-unique,,n=$AUTH_USER,r="* ]]
	assert_starttls_order tls12
}

@test "auth = on, TLS 1.2, implicit TLS: SCRAM-SHA-256-PLUS, whatever the order the server lists" {
	server_ctl tls12 auth-mechs "$ALL_MECHS"
	std_config tls12 tls
	send bob@example.org
	scram_ok tls12 SCRAM-SHA-256-PLUS p tls-unique
	[ "$(auth_event tls12 cb_verified)" = true ]
}

@test "auth = on: SCRAM-SHA-1-PLUS is preferred to SCRAM-SHA-256 without binding" {
	server_ctl tls12 auth-mechs "PLAIN SCRAM-SHA-256 SCRAM-SHA-1-PLUS"
	std_config tls12 starttls
	send bob@example.org
	scram_ok tls12 SCRAM-SHA-1-PLUS p tls-unique
	[ "$(auth_event tls12 cb_verified)" = true ]
}

@test "TLS 1.2 resumed session: -PLUS still binds to the (resumed) channel" {
	# tls-unique of a resumed session is the server's Finished, not the
	# client's: both sides must agree on that
	server_ctl tls12 auth-mechs "SCRAM-SHA-256-PLUS PLAIN"
	std_config tls12 starttls
	send bob@example.org
	assert_status 0
	send -v bob@example.org
	assert_status 0
	grep -q '(resumed session)' <<<"$stderr"
	[ "$(last_json tls12 tls_resumed)" = true ]
	[ "$(auth_event tls12 mech)" = SCRAM-SHA-256-PLUS ]
	[ "$(auth_event tls12 result)" = ok ]
	[ "$(auth_event tls12 cb_verified)" = true ]
	[ "$(msg_count tls12)" -eq 2 ]
}

@test "auth = on, TLS 1.3: SCRAM-SHA-256-PLUS with tls-exporter, verified by the server" {
	server_ctl srv auth-mechs "SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN"
	std_config srv starttls
	send bob@example.org
	if [ "$(auth_event srv reason)" = cb-not-supported ]; then
		skip "the test server cannot compute tls-exporter here (ctypes/libssl)"
	fi
	scram_ok srv SCRAM-SHA-256-PLUS p tls-exporter
	[ "$(auth_event srv cb_verified)" = true ]
	[ "$(last_json srv tls_version)" = TLSv1.3 ]
	[[ $(first_auth_line srv) == "p=tls-exporter,,n=$AUTH_USER,r="* ]]
}

@test "a server that computes the binding over other data refuses -PLUS (TLS 1.2): exit 77, no MAIL" {
	server_ctl tls12 auth-mechs "SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN"
	server_ctl tls12 scram-bad-cbind
	std_config tls12 starttls
	send bob@example.org
	auth_refused tls12
	[ "$(auth_event tls12 mech)" = SCRAM-SHA-256-PLUS ]
	[ "$(auth_event tls12 result)" = fail ]
	[ "$(auth_event tls12 reason)" = channel-binding-mismatch ]
	# and envoi does not retry with a weaker mechanism
	[ "$(auth_count tls12)" -eq 1 ]
	no_match -i '^[0-9]* AUTH PLAIN' "$(transcript tls12)"
}

@test "a server that computes the binding over other data refuses -PLUS (TLS 1.3, tls-exporter): exit 77" {
	server_ctl srv auth-mechs "SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN"
	server_ctl srv scram-bad-cbind
	std_config srv starttls
	send bob@example.org
	if [ "$(auth_event srv reason)" = cb-not-supported ]; then
		skip "the test server cannot compute tls-exporter here (ctypes/libssl)"
	fi
	auth_refused srv
	[ "$(auth_event srv reason)" = channel-binding-mismatch ]
	[ "$(auth_count srv)" -eq 1 ]
}

# ---------------------------------------------------------------------------
# SCRAM without channel binding

@test "auth = on, TLS 1.2, no -PLUS offered: SCRAM-SHA-256 (not PLAIN)" {
	server_ctl tls12 auth-mechs "PLAIN LOGIN SCRAM-SHA-1 SCRAM-SHA-256"
	std_config tls12 starttls
	send bob@example.org
	assert_status 0
	# RFC 5802 wants the GS2 flag "y" (the client could bind, the server
	# does not offer it); "n" is tolerated: GNU SASL 2.2.0 cannot send "y"
	# without failing, so a client may well withhold the binding data from
	# non-PLUS mechanisms
	local flag
	flag=$(auth_event tls12 cbflag)
	[[ $flag == y || $flag == n ]]
	scram_ok tls12 SCRAM-SHA-256 "$flag" ""
	[ -z "$(last_json tls12 auth_cb)" ]
	[[ $(first_auth_line tls12) == "$flag,,n=$AUTH_USER,r="* ]]
}

@test "auth = on, TLS 1.3, no -PLUS offered: SCRAM-SHA-256" {
	server_ctl srv auth-mechs "PLAIN SCRAM-SHA-256"
	std_config srv tls
	send bob@example.org
	assert_status 0
	[ "$(auth_event srv mech)" = SCRAM-SHA-256 ]
	[ "$(auth_event srv result)" = ok ]
	[ "$(last_json srv auth_mech)" = SCRAM-SHA-256 ]
}

@test "auth = on, no TLS (tls = off), SCRAM-SHA-256 and PLAIN offered: SCRAM-SHA-256, never PLAIN" {
	server_ctl srv auth-mechs "PLAIN LOGIN SCRAM-SHA-256"
	std_config srv plain
	send bob@example.org
	scram_ok srv SCRAM-SHA-256 n ""
	[ "$(last_json srv tls)" = false ]
	[[ $(first_auth_line srv) == "n,,n=$AUTH_USER,r="* ]]
	# the password itself never crossed the wire
	no_match -F "$AUTH_PASS" "$(transcript srv)"
}

@test "auth = on, no TLS, only SCRAM-SHA-1 (and PLAIN) offered: SCRAM-SHA-1" {
	server_ctl srv auth-mechs "PLAIN SCRAM-SHA-1"
	std_config srv plain
	send bob@example.org
	scram_ok srv SCRAM-SHA-1 n ""
}

@test "auth = on, no TLS: SCRAM-SHA-256 preferred to SCRAM-SHA-1" {
	server_ctl srv auth-mechs "SCRAM-SHA-1 SCRAM-SHA-256"
	std_config srv plain
	send bob@example.org
	scram_ok srv SCRAM-SHA-256 n ""
}

@test "auth = on, no TLS, only PLAIN and LOGIN offered: exit 77, no AUTH sent (the control)" {
	server_ctl srv auth-mechs "PLAIN LOGIN"
	std_config srv plain
	send bob@example.org
	auth_refused srv
	assert_not_sent srv AUTH
}

@test "auth = on, TLS, no SCRAM offered: PLAIN" {
	server_ctl tls12 auth-mechs "LOGIN PLAIN"
	std_config tls12 starttls
	send bob@example.org
	assert_status 0
	[ "$(last_json tls12 auth_mech)" = PLAIN ]
}

@test "auth = \"SCRAM-SHA-1\" forces SCRAM-SHA-1 although SCRAM-SHA-256 is offered" {
	server_ctl srv auth-mechs "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN"
	std_config srv plain auth=SCRAM-SHA-1
	send bob@example.org
	scram_ok srv SCRAM-SHA-1 n ""
}

@test "auth = \"scram-sha-256, plain\": the first one offered, in the configured order" {
	server_ctl tls12 auth-mechs "PLAIN SCRAM-SHA-256"
	std_config tls12 starttls "auth=scram-sha-256, plain"
	send bob@example.org
	assert_status 0
	[ "$(last_json tls12 auth_mech)" = SCRAM-SHA-256 ]
}

# ---------------------------------------------------------------------------
# failures

@test "SCRAM with a wrong password: exit 77, no MAIL" {
	server_ctl srv auth-mechs "SCRAM-SHA-256 PLAIN"
	std_config srv plain password=not-the-password
	send bob@example.org
	auth_refused srv
	[ "$(auth_event srv mech)" = SCRAM-SHA-256 ]
	[ "$(auth_event srv reason)" = invalid-proof ]
}

@test "SCRAM-SHA-256-PLUS with a wrong password: exit 77, no MAIL" {
	server_ctl tls12 auth-mechs "SCRAM-SHA-256-PLUS"
	std_config tls12 starttls password=not-the-password
	send bob@example.org
	auth_refused tls12
	[ "$(auth_event tls12 mech)" = SCRAM-SHA-256-PLUS ]
	[ "$(auth_event tls12 reason)" = invalid-proof ]
	# the binding itself was right
	[ "$(auth_event tls12 cb_verified)" = true ]
}

@test "a server whose final message has a bad signature is not trusted: exit 77, MAIL never sent" {
	server_ctl srv auth-mechs "SCRAM-SHA-256 PLAIN"
	server_ctl srv scram-bad-signature
	std_config srv plain
	send bob@example.org
	auth_refused srv
	# the client cancelled the exchange on the server's final message
	[ "$(auth_event srv result)" = aborted ]
	grep -qx '[0-9]* \*' "$(transcript srv)"
	[ "$(auth_count srv)" -eq 1 ]
}

@test "bad server signature with SCRAM-SHA-256-PLUS over TLS: exit 77, MAIL never sent" {
	server_ctl tls12 auth-mechs "SCRAM-SHA-256-PLUS PLAIN"
	server_ctl tls12 scram-bad-signature
	std_config tls12 starttls
	send bob@example.org
	auth_refused tls12
	[ "$(auth_event tls12 result)" = aborted ]
	[ "$(auth_count tls12)" -eq 1 ]
	no_match -i '^[0-9]* AUTH PLAIN' "$(transcript tls12)"
}

@test "-v shows the SCRAM exchange hidden" {
	server_ctl srv auth-mechs "SCRAM-SHA-256"
	std_config srv plain
	send -v bob@example.org
	assert_status 0
	grep -q 'AUTH SCRAM-SHA-256 <hidden>' <<<"$stderr"
	[[ $stderr != *"$AUTH_PASS"* ]]
	# the client's proof (second line of the exchange) is not printed
	local proof
	proof=$(awk '$2 ~ /^Yz1/ { print $2 }' "$(transcript srv)")
	[ -n "$proof" ]
	[[ $stderr != *"$proof"* ]]
}
