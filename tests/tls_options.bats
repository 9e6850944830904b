#!/usr/bin/env bats
# The TLS account keys beyond tls/tls_trust_file: tls_fingerprint (pinning),
# tls_cert_file/tls_key_file (client certificates), tls_crl_file,
# tls_min_version, tls_priorities, tls_host_override, tls_certcheck and
# tls_session_cache, and the STARTTLS response injection defence.  Whenever
# TLS is refused, nothing is delivered and no AUTH or MAIL is ever sent.
#
# The test server records what it negotiated (tests/server/smtpd.py): the
# .json of a message has tls_version, tls_resumed, tls_sni and client_cert,
# and events.log one line per handshake, also for connections that
# delivered nothing.

# status, output and stderr are set by bats' run
# shellcheck disable=SC2154
load lib/common

setup_file() {
	common_setup_file
	extra_pki "$PKI"
	local a=(--starttls --tls --user "$AUTH_USER" --password "$AUTH_PASS")
	launch_server srv "${a[@]}"
	launch_server untrusted "${a[@]}" --cert "$PKI/untrusted.pem" --key "$PKI/untrusted.key"
	launch_server wrongname "${a[@]}" --cert "$PKI/wrong.pem" --key "$PKI/wrong.key"
	launch_server clientreq "${a[@]}" --client-ca "$PKI/ca.pem"
	launch_server clientopt "${a[@]}" --client-ca "$PKI/ca.pem" --client-cert-optional
	launch_server tls12 "${a[@]}" --tls-max 1.2
	# one key exchange group, not the X25519 envoi sends a share for
	launch_server p384 "${a[@]}" --curve secp384r1
	# TLS 1.0 and 1.1 only (the server lowers OpenSSL's security level)
	launch_server tls11 --starttls --user "$AUTH_USER" --password "$AUTH_PASS" \
		--tls-min 1.0 --tls-max 1.1
	local s
	for s in srv untrusted wrongname clientreq clientopt tls12 tls11 p384; do
		wait_server "$s"
	done
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

# extra_pki DIR: what make_pki does not make, signed with its CAs:
#   client.pem/.key       a client certificate (CN "envoi test client") from
#                         the test CA; client-both.pem holds it and its key
#   client2.pem/.key      the same, but from the unrelated CA (ca2)
#   crl-revoked.pem       a CRL of the test CA revoking server.pem
#   crl-empty.pem         a CRL of the test CA revoking nothing
extra_pki() {
	local d=$1 t="$1/tmpl"
	_client_cert() { # name ca cn
		printf '%s\n' "cn = \"$3\"" tls_www_client signing_key \
			'expiration_days = 30' >"$t/$1"
		certtool --generate-privkey --key-type ecdsa --curve secp256r1 \
			--no-text --outfile "$d/$1.key" 2>/dev/null
		certtool --generate-certificate --load-privkey "$d/$1.key" \
			--load-ca-certificate "$d/$2.pem" --load-ca-privkey "$d/$2.key" \
			--template "$t/$1" --outfile "$d/$1.pem" --no-text 2>/dev/null
	}
	_client_cert client ca "envoi test client"
	_client_cert client2 ca2 "envoi unrelated client"
	cat "$d/client.pem" "$d/client.key" >"$d/client-both.pem"
	printf '%s\n' 'crl_next_update = 30' 'crl_number = 1' >"$t/crl"
	certtool --generate-crl --load-ca-privkey "$d/ca.key" \
		--load-ca-certificate "$d/ca.pem" --load-certificate "$d/server.pem" \
		--template "$t/crl" --outfile "$d/crl-revoked.pem" --no-text 2>/dev/null
	certtool --generate-crl --load-ca-privkey "$d/ca.key" \
		--load-ca-certificate "$d/ca.pem" \
		--template "$t/crl" --outfile "$d/crl-empty.pem" --no-text 2>/dev/null
	local f
	for f in client client2 client-both crl-revoked crl-empty; do
		[ -s "$d/$f.pem" ] || {
			echo "extra_pki: $f.pem not created" >&2
			return 1
		}
	done
}

send() {
	run --separate-stderr envoi -C "$CFG" "$@" <"$MSG"
}

# refused NAME [STATUS]: the run failed with STATUS (69) and server NAME got
# nothing: no message, no AUTH, MAIL, RCPT or DATA
refused() {
	assert_status "${2:-69}"
	assert_error_line
	[ "$(msg_count "$1")" -eq 0 ]
	assert_not_sent "$1" AUTH MAIL RCPT DATA
}

# delivered NAME: the run succeeded and server NAME has one message, over TLS
delivered() {
	assert_status 0
	[ "$(msg_count "$1")" -eq 1 ]
	[ "$(last_json "$1" tls)" = true ]
}

# fingerprint FILE: SHA-256 of the certificate in FILE as certtool prints it
# (64 lower-case hex digits)
fingerprint() {
	certtool --fingerprint --hash sha256 --infile "$1" 2>/dev/null | tr -d '[:space:]'
}

# colons HEX: "ab12..." -> "AB:12:..."
colons() { tr '[:lower:]' '[:upper:]' <<<"$1" | sed 's/../&:/g; s/:$//'; }

# tls_events NAME FIELD: FIELD of each "tls" event of server NAME, one a line
tls_events() {
	local f
	f="$(server_dir "$1")/events.log"
	[ -f "$f" ] || return 0
	"$PY" -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if e["event"] == "tls":
        v = e.get(sys.argv[2])
        print("true" if v is True else "false" if v is False else v)
' "$f" "$2"
}

# cfg_line KEY: the line number of KEY in $CFG
cfg_line() { grep -n "^ *$1 = " "$CFG" | cut -d: -f1; }

# ---------------------------------------------------------------------------
# tls_fingerprint

@test "a server that takes only P-384 asks for it (HelloRetryRequest) and gets the message, TLS 1.3 and 1.2" {
	std_config p384 starttls tls_session_cache=false
	send bob@example.org
	assert_status 0
	std_config p384 tls tls_session_cache=false tls_priorities="NORMAL:-VERS-TLS1.3"
	send bob@example.org
	assert_status 0
	[ "$(msg_count p384)" -eq 2 ]
}

@test "tls_fingerprint: the right pin delivers, with no trust file and a certificate from an unknown CA" {
	local fp
	fp=$(fingerprint "$PKI/untrusted.pem")
	[ ${#fp} -eq 64 ]
	std_config untrusted starttls tls_trust_file= tls_fingerprint="$(colons "$fp")"
	send bob@example.org
	delivered untrusted
	assert_starttls_order untrusted
	[ "$(last_json untrusted auth_user)" = "$AUTH_USER" ]
}

@test "tls_fingerprint: lower case without colons and a sha256: prefix are accepted (implicit TLS)" {
	local fp
	fp=$(fingerprint "$PKI/untrusted.pem")
	std_config untrusted tls tls_trust_file= tls_fingerprint="$fp"
	send bob@example.org
	delivered untrusted
	server_reset untrusted
	std_config untrusted tls tls_trust_file= tls_fingerprint="sha256:$(colons "$fp")"
	send bob@example.org
	delivered untrusted
}

@test "tls_fingerprint: the host name is not checked either (certificate for wrong.example)" {
	std_config wrongname starttls tls_fingerprint="$(fingerprint "$PKI/wrong.pem")"
	send bob@example.org
	delivered wrongname
}

@test "tls_fingerprint: a wrong pin: exit 69, nothing sent, the server's fingerprint named" {
	local want got
	want=$(colons "$(fingerprint "$PKI/untrusted.pem")")
	std_config untrusted starttls tls_trust_file= \
		tls_fingerprint="$(fingerprint "$PKI/server.pem")"
	send bob@example.org
	refused untrusted
	[[ $stderr == *"$want"* ]]
	# and that is the only AA:BB:... fingerprint it names
	got=$(grep -oE '([0-9A-F]{2}:){31}[0-9A-F]{2}' <<<"$stderr" | sort -u)
	[ "$got" = "$want" ]
}

@test "tls_fingerprint: a wrong pin fails even when the chain and name are valid (implicit TLS)" {
	std_config srv tls tls_fingerprint="$(fingerprint "$PKI/untrusted.pem")"
	send bob@example.org
	refused srv
	[[ $stderr == *"$(colons "$(fingerprint "$PKI/server.pem")")"* ]]
}

@test "tls_fingerprint: not 64 hex digits: exit 78 naming the file and line" {
	local bad line
	for bad in abc "$(fingerprint "$PKI/server.pem")00" \
		"$(fingerprint "$PKI/server.pem" | sed 's/^./g/')" "md5:$(fingerprint "$PKI/server.pem")"; do
		std_config srv starttls tls_fingerprint="$bad"
		line=$(cfg_line tls_fingerprint)
		send bob@example.org
		assert_status 78
		assert_error_line
		[[ $stderr == *"$CFG:$line"* ]]
		[[ $stderr == *tls_fingerprint* ]]
	done
	[ "$(conn_count srv)" -eq 0 ]
}

@test "envoi -v prints the server's certificate fingerprint after the handshake" {
	# envoi.conf(5), tls_fingerprint: "envoi -v prints it after a handshake"
	std_config srv starttls
	send -v bob@example.org
	assert_status 0
	# in any case, with or without colons
	local flat
	flat=$(tr -d ':' <<<"$stderr" | tr '[:upper:]' '[:lower:]')
	[[ $flat == *"$(fingerprint "$PKI/server.pem")"* ]]
}

# ---------------------------------------------------------------------------
# tls_cert_file, tls_key_file

@test "client certificate: a server that requires one gets it (STARTTLS)" {
	std_config clientreq starttls tls_cert_file="$PKI/client.pem" \
		tls_key_file="$PKI/client.key"
	send bob@example.org
	delivered clientreq
	[ "$(last_json clientreq client_cert)" = "envoi test client" ]
	assert_starttls_order clientreq
}

@test "client certificate: implicit TLS, certificate and key in one file" {
	std_config clientreq tls tls_cert_file="$PKI/client-both.pem"
	send bob@example.org
	delivered clientreq
	[ "$(last_json clientreq client_cert)" = "envoi test client" ]
}

@test "client certificate: none configured, the server requires one: handshake fails, nothing sent" {
	std_config clientreq starttls
	send bob@example.org
	refused clientreq 69
	grep -q '^[0-9]* TLS-FAILED' "$(transcript clientreq)"
}

@test "client certificate: none configured, implicit TLS: nothing sent" {
	std_config clientreq tls
	send bob@example.org
	refused clientreq 69
}

@test "client certificate from an unrelated CA: refused by the server, nothing sent" {
	std_config clientreq starttls tls_cert_file="$PKI/client2.pem" \
		tls_key_file="$PKI/client2.key"
	send bob@example.org
	refused clientreq 69
	grep -q '^[0-9]* TLS-FAILED' "$(transcript clientreq)"
}

@test "client certificate configured, the server does not ask: delivered, none sent" {
	std_config srv starttls tls_cert_file="$PKI/client.pem" tls_key_file="$PKI/client.key"
	send bob@example.org
	delivered srv
	[ -z "$(last_json srv client_cert)" ]
}

@test "tls_key_file without tls_cert_file: exit 78, no connection" {
	std_config clientreq starttls tls_key_file="$PKI/client.key"
	send bob@example.org
	assert_status 78
	assert_error_line
	[[ $stderr == *tls_key_file* ]]
	[ "$(conn_count clientreq)" -eq 0 ]
}

@test "tls_cert_file that does not exist, or a key that does not match: exit 78, nothing sent" {
	std_config clientreq starttls tls_cert_file="$BATS_TEST_TMPDIR/nonexistent.pem"
	send bob@example.org
	assert_status 78
	assert_error_line
	[[ $stderr == *nonexistent.pem* ]]
	std_config clientreq starttls tls_cert_file="$PKI/client.pem" \
		tls_key_file="$PKI/client2.key"
	send bob@example.org
	assert_status 78
	assert_error_line
	[ "$(msg_count clientreq)" -eq 0 ]
	assert_not_sent clientreq AUTH MAIL
}

# ---------------------------------------------------------------------------
# tls_crl_file

@test "tls_crl_file revoking the server's certificate: exit 69, nothing sent" {
	std_config srv starttls tls_crl_file="$PKI/crl-revoked.pem"
	send bob@example.org
	refused srv
	grep -qi revoked <<<"$stderr"
}

@test "tls_crl_file revoking the server's certificate (implicit TLS): exit 69" {
	std_config srv tls tls_crl_file="$PKI/crl-revoked.pem"
	send bob@example.org
	refused srv
}

@test "tls_crl_file that revokes nothing: delivered" {
	std_config srv starttls tls_crl_file="$PKI/crl-empty.pem"
	send bob@example.org
	delivered srv
}

@test "tls_crl_file that cannot be read: exit 78, nothing sent" {
	std_config srv starttls tls_crl_file="$BATS_TEST_TMPDIR/nonexistent-crl.pem"
	send bob@example.org
	assert_status 78
	assert_error_line
	[[ $stderr == *nonexistent-crl.pem* ]]
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv AUTH MAIL
}

# ---------------------------------------------------------------------------
# tls_min_version, tls_priorities

@test "tls_min_version = \"1.3\" against a server capped at TLS 1.2: exit 69, nothing sent" {
	std_config tls12 starttls tls_min_version=1.3
	send bob@example.org
	refused tls12
	grep -q '^[0-9]* TLS-FAILED' "$(transcript tls12)"
}

@test "tls_min_version = \"1.3\" against a server capped at TLS 1.2 (implicit TLS): exit 69" {
	std_config tls12 tls tls_min_version=1.3
	send bob@example.org
	refused tls12
}

@test "default tls_min_version (1.2): a TLS 1.2 server is accepted" {
	std_config tls12 starttls
	send -v bob@example.org
	delivered tls12
	[ "$(last_json tls12 tls_version)" = TLSv1.2 ]
	grep -q 'TLS started: TLS1\.2' <<<"$stderr"
}

@test "tls_min_version = \"1.3\" with a TLS 1.3 server: delivered over TLS 1.3" {
	std_config srv starttls tls_min_version=1.3
	send bob@example.org
	delivered srv
	[ "$(last_json srv tls_version)" = TLSv1.3 ]
}

@test "default tls_min_version: a server that only speaks TLS 1.1 is refused" {
	std_config tls11 starttls
	send bob@example.org
	refused tls11
}

@test "tls_min_version = \"1.1\": the TLS 1.1 server is accepted (the check above is meaningful)" {
	std_config tls11 starttls tls_min_version=1.1
	send bob@example.org
	delivered tls11
	[ "$(last_json tls11 tls_version)" = TLSv1.1 ]
}

@test "tls_min_version out of range: exit 78" {
	local v
	for v in 1.4 2 TLS1.2; do
		std_config srv starttls tls_min_version="$v"
		send bob@example.org
		assert_status 78
		assert_error_line
		[[ $stderr == *tls_min_version* ]]
	done
	[ "$(conn_count srv)" -eq 0 ]
}

@test "tls_priorities = \"NORMAL:-VERS-TLS1.3\": TLS 1.2 is negotiated" {
	std_config srv starttls tls_priorities=NORMAL:-VERS-TLS1.3
	send -v bob@example.org
	delivered srv
	[ "$(last_json srv tls_version)" = TLSv1.2 ]
	grep -q 'TLS started: TLS1\.2' <<<"$stderr"
}

@test "tls_priorities without it: TLS 1.3 (the check above is meaningful)" {
	std_config srv starttls
	send -v bob@example.org
	delivered srv
	[ "$(last_json srv tls_version)" = TLSv1.3 ]
	grep -q 'TLS started: TLS1\.3' <<<"$stderr"
}

@test "tls_priorities that GnuTLS cannot parse: exit 78 naming it, nothing sent" {
	std_config srv starttls tls_priorities=NORMAL:+BOGUS-NONSENSE-42
	send bob@example.org
	assert_status 78
	assert_error_line
	[[ $stderr == *BOGUS-NONSENSE-42* ]]
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv AUTH MAIL
}

# ---------------------------------------------------------------------------
# tls_host_override

@test "tls_host_override: certificate for wrong.example, host = 127.0.0.1, override wrong.example: delivered, SNI sent" {
	std_config wrongname starttls tls_host_override=wrong.example
	send bob@example.org
	delivered wrongname
	[ "$(last_json wrongname tls_sni)" = wrong.example ]
}

@test "tls_host_override (implicit TLS): delivered" {
	std_config wrongname tls tls_host_override=wrong.example
	send bob@example.org
	delivered wrongname
	[ "$(last_json wrongname tls_sni)" = wrong.example ]
}

@test "tls_host_override: without it the same server is refused" {
	std_config wrongname starttls
	send bob@example.org
	refused wrongname
}

@test "tls_host_override replaces host in the check: a localhost certificate with override wrong.example: exit 69" {
	std_config srv starttls tls_host_override=wrong.example
	send bob@example.org
	refused srv
}

@test "SNI: sent for a host name, not for an IP address" {
	std_config srv starttls host=localhost
	send bob@example.org
	delivered srv
	[ "$(last_json srv tls_sni)" = localhost ]
	server_reset srv
	std_config srv starttls
	send bob@example.org
	delivered srv
	[ -z "$(last_json srv tls_sni)" ]
}

# ---------------------------------------------------------------------------
# tls_certcheck

@test "tls_certcheck = false: an untrusted certificate is accepted, with a warning on every run" {
	std_config untrusted starttls tls_certcheck=false
	# not "i": bats 1.8's run --separate-stderr overwrites a caller's $i
	local n
	for n in 1 2; do
		send bob@example.org
		assert_status 0
		[ "$(msg_count untrusted)" -eq "$n" ]
		grep -q '^envoi: .*tls_certcheck' <<<"$stderr"
	done
}

@test "tls_certcheck = false: a certificate for another name is accepted too (implicit TLS)" {
	std_config wrongname tls tls_certcheck=false
	send bob@example.org
	delivered wrongname
	grep -q '^envoi: .*tls_certcheck' <<<"$stderr"
}

@test "tls_certcheck = true (explicit): the untrusted certificate is refused, no warning" {
	std_config untrusted starttls tls_certcheck=true
	send bob@example.org
	refused untrusted
	[[ $stderr != *tls_certcheck* ]]
}

@test "no tls_certcheck warning for a normal, verified run" {
	std_config srv starttls
	send bob@example.org
	delivered srv
	[ -z "$stderr" ]
}

# ---------------------------------------------------------------------------
# tls_session_cache

# cache_file: where the session of account "main" is kept
cache_file() { echo "$ENVOI_QUEUE_DIR/tls/main.session"; }

# resumed_runs NAME: the server's "resumed" flag of each handshake
resumed_runs() { tls_events "$1" resumed | tr '\n' ' '; }

@test "session cache: the second run resumes the session (STARTTLS), the cache is mode 600" {
	std_config srv starttls
	send -v bob@example.org
	delivered srv
	[[ $stderr != *"resumed session"* ]]
	[ -f "$(cache_file)" ] && [ ! -L "$(cache_file)" ]
	[ "$(stat -c %a "$(cache_file)")" = 600 ]
	[ "$(stat -c %a "$(dirname "$(cache_file)")")" = 700 ]
	send -v bob@example.org
	assert_status 0
	grep -q 'TLS started: .*(resumed session)' <<<"$stderr"
	[ "$(resumed_runs srv)" = "false true " ]
	[ "$(last_json srv tls_resumed)" = true ]
	[ "$(stat -c %a "$(cache_file)")" = 600 ]
}

@test "session cache: implicit TLS resumes too" {
	std_config srv tls
	send bob@example.org
	assert_status 0
	send -v bob@example.org
	assert_status 0
	grep -q 'TLS started: .*(resumed session)' <<<"$stderr"
	[ "$(resumed_runs srv)" = "false true " ]
}

@test "session cache: a TLS 1.2 session resumes too" {
	std_config tls12 starttls
	send bob@example.org
	assert_status 0
	send -v bob@example.org
	assert_status 0
	grep -q 'TLS started: TLS1\.2.*(resumed session)' <<<"$stderr"
	[ "$(resumed_runs tls12)" = "false true " ]
}

@test "tls_session_cache = false: never resumed, no cache file" {
	std_config srv starttls tls_session_cache=false
	send -v bob@example.org
	assert_status 0
	send -v bob@example.org
	assert_status 0
	[[ $stderr != *"resumed session"* ]]
	[ "$(resumed_runs srv)" = "false false " ]
	[ ! -e "$(cache_file)" ]
	[ -z "$(find "$ENVOI_QUEUE_DIR" -name '*.session' 2>/dev/null)" ]
}

# fresh_cache COPY: one run (to server srv, account main, $CFG written) that
# leaves a session in the cache; COPY is a copy of it, mode 600
fresh_cache() {
	send bob@example.org
	assert_status 0
	cp -p "$(cache_file)" "$1"
	[ "$(stat -c %a "$1")" = 600 ]
}

@test "session cache: a group-readable cache file is ignored (not resumed), a private copy of it resumes" {
	std_config srv starttls
	local saved="$BATS_TEST_TMPDIR/saved.session"
	fresh_cache "$saved"
	chmod 640 "$(cache_file)"
	send -v bob@example.org
	assert_status 0
	[[ $stderr != *"resumed session"* ]]
	# control: the same bytes, mode 600, do resume
	cp -p "$saved" "$(cache_file)"
	send -v bob@example.org
	assert_status 0
	grep -q '(resumed session)' <<<"$stderr"
	[ "$(resumed_runs srv)" = "false false true " ]
}

@test "session cache: a cache file that is a symlink is ignored, and its target is left alone" {
	std_config srv starttls
	local saved="$BATS_TEST_TMPDIR/saved.session" target="$BATS_TEST_TMPDIR/target.session"
	fresh_cache "$saved"
	cp -p "$saved" "$target"
	ln -sf "$target" "$(cache_file)"
	send -v bob@example.org
	assert_status 0
	[[ $stderr != *"resumed session"* ]]
	cmp -s "$saved" "$target"
	# the run replaced the link by a regular private file, not written
	# through it
	if [ -L "$(cache_file)" ]; then
		[ "$(readlink "$(cache_file)")" = "$target" ]
	else
		[ "$(stat -c %a "$(cache_file)")" = 600 ]
	fi
	# control: the target's bytes, as a regular file, do resume
	rm -f "$(cache_file)"
	cp -p "$target" "$(cache_file)"
	send -v bob@example.org
	assert_status 0
	grep -q '(resumed session)' <<<"$stderr"
	[ "$(resumed_runs srv)" = "false false true " ]
}

# A resumed session has no certificate exchange: the certificate of the
# session must still be checked against the account's current settings,
# or a session cached while checks were weaker (or that a later CRL
# revokes) would bypass them for as long as the server keeps resuming it.

@test "session cache: a session cached with tls_certcheck = false does not bypass verification once it is back on" {
	std_config untrusted starttls tls_certcheck=false
	send bob@example.org
	assert_status 0
	[ -s "$(cache_file)" ]
	server_reset untrusted
	std_config untrusted starttls
	send bob@example.org
	refused untrusted
}

@test "session cache: a CRL revoking the server's certificate applies to a resumed session too" {
	std_config srv starttls
	send bob@example.org
	assert_status 0
	[ -s "$(cache_file)" ]
	server_reset srv
	std_config srv starttls tls_crl_file="$PKI/crl-revoked.pem"
	send bob@example.org
	refused srv
}

@test "session cache: the name is checked on a resumed session too (tls_host_override removed)" {
	std_config wrongname tls tls_host_override=wrong.example
	send bob@example.org
	assert_status 0
	[ -s "$(cache_file)" ]
	server_reset wrongname
	std_config wrongname tls
	send bob@example.org
	refused wrongname
}

@test "session cache: tls_fingerprint is checked on a resumed session too" {
	std_config untrusted tls tls_trust_file= tls_fingerprint="$(fingerprint "$PKI/untrusted.pem")"
	send bob@example.org
	assert_status 0
	server_reset untrusted
	std_config untrusted tls tls_trust_file= tls_fingerprint="$(fingerprint "$PKI/server.pem")"
	send bob@example.org
	refused untrusted
}

@test "session cache: a cached session that can no longer be resumed does not block later runs" {
	# The cache holds a TLS 1.1 session (tls_min_version = "1.1" against a
	# TLS 1.1 server); then the account is set back to the default (TLS
	# 1.2 at least) and another server.  The stale session must cost at
	# most a full handshake, never the delivery, and certainly not of
	# every later run.
	std_config tls11 starttls tls_min_version=1.1
	send bob@example.org
	assert_status 0
	[ -s "$(cache_file)" ]
	std_config srv starttls
	send bob@example.org
	delivered srv
	send bob@example.org
	assert_status 0
	[ "$(msg_count srv)" -eq 2 ]
}

@test "session cache: a garbage cache file does no harm (full handshake, delivered)" {
	std_config srv starttls
	mkdir -p "$(dirname "$(cache_file)")"
	chmod 700 "$(dirname "$(cache_file)")"
	head -c 300 /dev/urandom >"$(cache_file)"
	chmod 600 "$(cache_file)"
	send -v bob@example.org
	delivered srv
	[[ $stderr != *"resumed session"* ]]
	[ "$(resumed_runs srv)" = "false " ]
}

# ---------------------------------------------------------------------------
# STARTTLS response injection (CVE-2011-0411)

@test "STARTTLS response injection: extra bytes after 220: exit 76, nothing more sent" {
	server_ctl srv starttls-inject $'250 injected\r\n'
	std_config srv starttls
	send bob@example.org
	assert_status 76
	assert_error_line
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv AUTH MAIL RCPT DATA
	# nothing at all after STARTTLS: no handshake, no second EHLO (the
	# server notes the handshake that never came as TLS-FAILED)
	[ "$(last_conn srv | awk '$1 != "TLS-FAILED" {print $1}' | tr '\n' ' ')" = "CONNECT EHLO STARTTLS " ]
}

@test "STARTTLS response injection of a whole pipelined dialogue: exit 76" {
	server_ctl srv starttls-inject $'250-localhost\r\n250 AUTH PLAIN\r\n235 ok\r\n250 ok\r\n'
	std_config srv starttls
	send bob@example.org
	assert_status 76
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv AUTH MAIL RCPT DATA
}

# ---------------------------------------------------------------------------
# SASL EXTERNAL: the client certificate is the login

@test "SASL EXTERNAL: a client certificate and no user: the certificate logs in, no password anywhere" {
	server_ctl clientreq auth-mechs "EXTERNAL PLAIN"
	std_config clientreq starttls user= password= \
		tls_cert_file="$PKI/client.pem" tls_key_file="$PKI/client.key"
	send bob@example.org
	delivered clientreq
	[ "$(last_json clientreq auth_mech)" = EXTERNAL ]
	[ "$(last_json clientreq auth_user)" = "envoi test client" ]
	last_conn clientreq | grep -qx 'AUTH EXTERNAL ='
}

@test "SASL EXTERNAL: chosen before SCRAM and PLAIN when a certificate was presented" {
	server_ctl clientreq auth-mechs "SCRAM-SHA-256 PLAIN EXTERNAL"
	std_config clientreq starttls \
		tls_cert_file="$PKI/client.pem" tls_key_file="$PKI/client.key"
	send bob@example.org
	delivered clientreq
	[ "$(last_json clientreq auth_mech)" = EXTERNAL ]
}

@test "SASL EXTERNAL: offered, but no certificate configured: PLAIN logs in instead" {
	server_ctl clientopt auth-mechs "EXTERNAL PLAIN"
	std_config clientopt starttls
	send bob@example.org
	delivered clientopt
	[ "$(last_json clientopt auth_mech)" = PLAIN ]
	[ "$(last_json clientopt auth_user)" = "$AUTH_USER" ]
}

@test "SASL EXTERNAL: auth = external with a user and no password source: no password asked" {
	server_ctl clientreq auth-mechs "EXTERNAL PLAIN"
	std_config clientreq starttls password= auth=external \
		tls_cert_file="$PKI/client.pem" tls_key_file="$PKI/client.key"
	send bob@example.org </dev/null
	delivered clientreq
	[ "$(last_json clientreq auth_mech)" = EXTERNAL ]
}

@test "SASL EXTERNAL: forced without a certificate: the server refuses, exit 77 naming EXTERNAL" {
	server_ctl clientopt auth-mechs "EXTERNAL PLAIN"
	std_config clientopt starttls password= auth=external
	send bob@example.org
	assert_status 77
	assert_error_line
	[[ $stderr == *"EXTERNAL"* ]]
	[ "$(msg_count clientopt)" -eq 0 ]
}

# ---------------------------------------------------------------------------
# OCSP stapling: a stapled response is checked when the server sends one.
# The responses are signed by the test CA with openssl ocsp; the server is
# GnuTLS's gnutls-serv (implicit TLS, echo mode: it never greets, so a
# handshake that passes ends in a greeting timeout, exit 75).

# ocsp_response STATUS OUT: a response for server.pem, V (good) or R
# (revoked), signed by the test CA, valid for a week
ocsp_response() {
	local st=$1 out=$2 d="$BATS_TEST_TMPDIR/ocsp" serial exp rev
	mkdir -p "$d"
	serial=$(openssl x509 -in "$PKI/server.pem" -noout -serial | cut -d= -f2)
	exp=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
	rev=""
	[ "$st" = R ] && rev=$(date -u -d '-1 hour' +%y%m%d%H%M%SZ)
	printf '%s\t%s\t%s\t%s\tunknown\t/CN=localhost\n' "$st" "$exp" "$rev" \
		"$serial" >"$d/index"
	: >"$d/index.attr"
	openssl ocsp -index "$d/index" -rsigner "$PKI/ca.pem" -rkey "$PKI/ca.key" \
		-CA "$PKI/ca.pem" -issuer "$PKI/ca.pem" -cert "$PKI/server.pem" \
		-respout "$out" -ndays 7 -no_nonce >/dev/null 2>&1
	[ -s "$out" ]
}

# stapling_server RESPONSE: gnutls-serv on a free port sending RESPONSE;
# sets OCSP_PORT and OCSP_PID (stopped by teardown)
stapling_server() {
	local i
	OCSP_PORT=$(free_port)
	gnutls-serv --x509certfile "$PKI/server.pem" --x509keyfile "$PKI/server.key" \
		--ocsp-response "$1" --ignore-ocsp-response-errors \
		--port "$OCSP_PORT" --echo >"$BATS_TEST_TMPDIR/gnutls-serv.log" 2>&1 </dev/null &
	OCSP_PID=$!
	for ((i = 0; i < 100; i++)); do
		"$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' \
			"$OCSP_PORT" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "gnutls-serv did not start:" >&2
	cat "$BATS_TEST_TMPDIR/gnutls-serv.log" >&2
	return 1
}

teardown() {
	if [ -n "${OCSP_PID-}" ]; then
		kill "$OCSP_PID" 2>/dev/null || true
		wait "$OCSP_PID" 2>/dev/null || true
	fi
}

@test "OCSP stapling: a stapled 'revoked' response fails the handshake (exit 69), nothing sent" {
	ocsp_response R "$BATS_TEST_TMPDIR/revoked.der"
	stapling_server "$BATS_TEST_TMPDIR/revoked.der"
	std_config srv tls port="$OCSP_PORT" timeout=3
	send bob@example.org
	assert_status 69
	assert_error_line
	[[ $stderr == *"TLS handshake"*"revoked"* ]]
}

@test "OCSP stapling: a stapled 'good' response passes the handshake (then the echo server never greets)" {
	ocsp_response V "$BATS_TEST_TMPDIR/good.der"
	stapling_server "$BATS_TEST_TMPDIR/good.der"
	std_config srv tls port="$OCSP_PORT" timeout=2
	send bob@example.org
	assert_status 75
	[[ $stderr == *"(greeting)"* ]]
	[[ $stderr != *"revoked"* ]]
}
