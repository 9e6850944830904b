#!/usr/bin/env bats
# Injection: a line break or control character in a flag value, a config
# value, an alias target or a -bs command never becomes a header or an
# SMTP command.  Each is refused with one line on stderr (the bad value
# shown with '?' for the control characters) and nothing reaches the
# smarthost.

load lib/common

setup_file() {
	common_setup_file
	start_server srv --plain --user "$AUTH_USER" --password "$AUTH_PASS"
}

setup() {
	common_setup
	std_config srv plain
	std_msg "$BATS_TEST_TMPDIR/msg"
	MSG="$BATS_TEST_TMPDIR/msg"
}

# refused CODE ARGS...: envoi -C $CFG ARGS < $MSG exits CODE, says so in
# exactly one line without a raw CR, LF or ESC, and the server saw no
# connection at all
refused() {
	local want=$1
	shift
	run --separate-stderr envoi -C "$CFG" "$@" <"$MSG"
	[ "$status" -eq "$want" ] || {
		echo "exit $status, wanted $want: $stderr" >&2
		return 1
	}
	assert_error_line
	[ "$(printf '%s' "$stderr" | grep -c '^envoi: ')" -eq 1 ] || {
		echo "more than one line: $stderr" >&2
		return 1
	}
	if printf '%s' "$stderr" | grep -q $'\r\|\x1b'; then
		echo "raw control character on stderr: $stderr" >&2
		return 1
	fi
	[ "$(conn_count srv)" -eq 0 ]
	[ "$(msg_count srv)" -eq 0 ]
}

@test "injection: CRLF in -F, -f, a recipient, -N, -V, -R: exit 64, no connection" {
	refused 64 -F $'Alice\r\nBcc: evil@example.net' bob@example.org
	refused 64 -f $'alice@example.org\r\nRCPT TO:<evil@example.net>' bob@example.org
	refused 64 $'bob@example.org\r\nRCPT TO:<evil@example.net>'
	refused 64 $'bob@example.org>\r\nRSET\r\nMAIL FROM:<x@example.org'
	refused 64 -N $'success\r\nRSET' bob@example.org
	refused 64 -V $'id\r\nRSET' bob@example.org
	refused 64 -R $'full\r\nRSET' bob@example.org
}

@test "injection: an escape sequence in a bad value is not passed to the terminal" {
	refused 64 -f $'\x1b[2Jalice@example.org' bob@example.org
	grep -qF "'?[2Jalice@example.org'" <<<"$stderr"
}

@test "injection: compose flags: a line break in -s, --from, --reply-to, --header or -c: exit 64" {
	refused 64 -s $'hi\r\nBcc: evil@example.net' bob@example.org
	refused 64 -s hi --from $'alice@example.org\nBcc: evil@example.net' bob@example.org
	refused 64 -s hi --reply-to $'a@example.org\r\nX-Evil: 1' bob@example.org
	refused 64 -s hi --header $'X-A: 1\r\nBcc: evil@example.net' bob@example.org
	refused 64 -s hi -c $'c@example.org\r\nBcc: evil@example.net' bob@example.org
}

@test "injection: config values with \\r\\n escapes (domain, user, from, tls_host_override): exit 78" {
	local kv
	for kv in 'domain=x.example\r\nRSET' 'user=bob\r\nAUTH PLAIN' \
	    'from=alice@example.org\r\nRCPT TO:<evil@example.net>' \
	    'tls_host_override=a.example\nRSET' 'maildomain=x\r\nRSET'; do
		std_config srv plain "$kv"
		refused 78 bob@example.org
	done
}

@test "injection: an alias target that continues onto an SMTP command line is refused: exit 78" {
	printf 'bob: carol@example.org\r\n\tRCPT TO:<evil@example.net>\n' \
	    >"$BATS_TEST_TMPDIR/aliases"
	std_config srv plain aliases="$BATS_TEST_TMPDIR/aliases"
	refused 78 bob
	printf 'bob: "carol\r\nRSET"@example.org\n' >"$BATS_TEST_TMPDIR/aliases"
	refused 78 bob
}

@test "injection: -bs: a bare CR or LF inside a command does not split it into two" {
	run --separate-stderr env CFG="$CFG" bash -c '
	    printf "EHLO me\r\nMAIL FROM:<alice@example.org>\rRCPT TO:<evil@example.net>\r\nRCPT TO:<bob@example.org>\nRSET\r\nQUIT\r\n" |
	    timeout 20 "$ENVOI" -C "$CFG" -bs'
	assert_status 0
	# greeting, EHLO, then the MAIL line with its bare CR is refused as a
	# whole, so the RCPT after it (ended by a bare LF, which ends a line)
	# is out of sequence; RSET and QUIT succeed
	local codes
	codes=$(printf '%s\n' "$output" | tr -d '\r' | grep -o '^[0-9][0-9][0-9] ' | tr -d ' ' | tr '\n' ' ')
	[[ $codes == "220 250 500 503 250 221 " ]] || {
		echo "codes: $codes" >&2
		printf '%s\n' "$output" >&2
		return 1
	}
	[ "$(msg_count srv)" -eq 0 ]
}
