#!/usr/bin/env bats
# Secrets are wiped before their memory is freed: envoi runs with a
# free() that looks in every block it is given for the password (and
# its base64 form, which LOGIN sends) and reports a block that still
# holds it.  tests/lib/freescan.c, built here, is that free().  The
# password comes from passwordeval reading a file, so that the
# configuration text itself holds no secret.

load lib/common

setup_file() {
	common_setup_file
	start_server srv --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
	if ldd "$ENVOI" | grep -q 'libasan'; then
		export WIPE_SKIP="a sanitizer build replaces free() itself"
		return 0
	fi
	export FREESCAN="$BATS_FILE_TMPDIR/freescan.so"
	${CC:-cc} -shared -fPIC -O1 -o "$FREESCAN" "$TESTS_DIR/lib/freescan.c"
}

setup() {
	common_setup
	[ -z "${WIPE_SKIP-}" ] || skip "$WIPE_SKIP"
	printf '%s\n' "$AUTH_PASS" >"$BATS_TEST_TMPDIR/pw"
	std_config srv starttls password= \
		passwordeval="cat $BATS_TEST_TMPDIR/pw"
	std_msg "$BATS_TEST_TMPDIR/msg"
	FOUND="$BATS_TEST_TMPDIR/found"
}

# scanned ARGS...: envoi with the scanning free(), the message on stdin
scanned() {
	run --separate-stderr env LD_PRELOAD="$FREESCAN" FREESCAN_PROG=envoi \
		FREESCAN_IGNORE="${FREESCAN_IGNORE-}" \
		FREESCAN_SECRET="$AUTH_PASS" \
		FREESCAN_SECRET2="$(printf '%s' "$AUTH_PASS" | base64 -w0)" \
		FREESCAN_OUT="$FOUND" \
		timeout 30 "$ENVOI" -C "$CFG" "$@" <"$BATS_TEST_TMPDIR/msg"
}

# the scanner works: a block freed with the secret in it is reported
@test "wipe: the scanner sees a secret in a freed block (control)" {
	run env LD_PRELOAD="$FREESCAN" FREESCAN_SECRET="$AUTH_PASS" \
		FREESCAN_OUT="$FOUND" "$PY" -c 'import sys; s = sys.argv[1] * 1000; del s' "$AUTH_PASS"
	[ -s "$FOUND" ]
}

@test "wipe: AUTH PLAIN: no freed block holds the password" {
	server_ctl srv auth-mechs "PLAIN"
	scanned -v bob@example.org
	assert_status 0
	[ "$(last_json srv auth_mech)" = PLAIN ]
	[ ! -e "$FOUND" ] || { cat "$FOUND" >&2; return 1; }
}

@test "wipe: AUTH LOGIN: no freed block holds the password or its base64" {
	server_ctl srv auth-mechs "LOGIN"
	scanned -v bob@example.org
	assert_status 0
	[ "$(last_json srv auth_mech)" = LOGIN ]
	[ ! -e "$FOUND" ] || { cat "$FOUND" >&2; return 1; }
}

@test "wipe: SCRAM-SHA-256: no freed block holds the password (libgsasl's copy included)" {
	server_ctl srv auth-mechs "SCRAM-SHA-256"
	# libgsasl (and libidn's SASLprep under it) frees its working copies
	# of the password uncleared while deriving the SCRAM keys
	FREESCAN_IGNORE=gsasl_scram_secrets_from_password scanned bob@example.org
	assert_status 0
	[ "$(last_json srv auth_mech)" = SCRAM-SHA-256 ]
	[ ! -e "$FOUND" ] || { cat "$FOUND" >&2; return 1; }
}

@test "wipe: a refused password (535) is wiped too" {
	printf '%s\n' "$AUTH_PASS" >"$BATS_TEST_TMPDIR/pw"
	server_ctl srv reply-AUTH "535 5.7.8 no"
	server_ctl srv auth-mechs "PLAIN"
	scanned bob@example.org
	assert_status 77
	[ ! -e "$FOUND" ] || { cat "$FOUND" >&2; return 1; }
}
