# Helpers for the compose-mode suites (compose.bats, mime.bats).  Load after
# lib/common:   load lib/common
#               load lib/compose

# shellcheck disable=SC2154

MIMECHECK="$TESTS_DIR/lib/mimecheck.py"

# Every test of these files talks to one server, "srv" (STARTTLS + AUTH).
compose_setup_file() {
	common_setup_file
	start_server srv --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
}

# mimecheck EML [ARG...] < CODE: run Python CODE against EML parsed by
# Python's email package (see tests/lib/mimecheck.py for the names CODE
# can use); fails with a description and an outline of the message
mimecheck() {
	"$PY" -B "$MIMECHECK" "$@"
}

# pyfile PATH < CODE: run Python CODE with sys.argv[1] = PATH (to make test
# files: CODE writes PATH)
pyfile() {
	"$PY" -B - "$@"
}

# received: the newest message on srv; fails (with the stderr of the last
# run) when the server holds no message
received() {
	local e
	e=$(last_eml srv)
	if [ -z "$e" ] || [ ! -f "$e" ]; then
		echo "no message on the server; envoi's stderr: ${stderr-}" >&2
		return 1
	fi
	echo "$e"
}

# assert_nothing_sent: the server accepted no message and saw no MAIL
assert_nothing_sent() {
	if [ "$(msg_count srv)" -ne 0 ]; then
		echo "a message was delivered" >&2
		return 1
	fi
	assert_not_sent srv MAIL DATA
}

# assert_stderr_has TEXT: stderr of the last run contains TEXT
assert_stderr_has() {
	if [[ ${stderr-} != *"$1"* ]]; then
		echo "stderr does not mention '$1': '${stderr-}'" >&2
		return 1
	fi
}
