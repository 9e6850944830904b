# Helpers shared by envoi's bats tests.  Load with:   load lib/common
#
# Environment:
#   ENVOI       the binary under test (make check exports an absolute path);
#               default: $BATS_TEST_DIRNAME/../src/envoi
#   top_srcdir  exported by make check; not needed (paths are found from
#               $BATS_TEST_DIRNAME, so the source tree may be read-only)
#   PYTHON3     exported by make check; used if it can import aiosmtpd,
#               else /usr/bin/python3
#
# Everything a test writes goes under $BATS_FILE_TMPDIR / $BATS_TEST_TMPDIR.
#
# Per test file (setup_file):  common_setup_file makes a PKI under
#   $BATS_FILE_TMPDIR/pki (see make_pki) and exports PKI.  Start servers with
#   start_server there too; common_teardown_file stops every one of them.
# Per test (setup):  common_setup gives the test a private HOME and
#   XDG_CONFIG_HOME (so no developer config interferes), sets CFG (the default
#   config path for std_config) and resets every server of the file (control
#   files, received mail and transcript are cleared).
#
# A file that needs nothing more than the defaults below can rely on the
# setup_file/setup/teardown_file defined here; one that overrides them must
# call the common_* functions itself.

# status, output and stderr are set by bats' run
# shellcheck disable=SC2154

bats_require_minimum_version 1.5.0

# Python with aiosmtpd: $ENVOI_TEST_PY (exported by common_setup_file after
# checking), else $PYTHON3 (exported by make check), else /usr/bin/python3.
PY=${ENVOI_TEST_PY:-${PYTHON3:-/usr/bin/python3}}
TESTS_DIR=$(cd "$BATS_TEST_DIRNAME" && pwd)
SMTPD="$TESTS_DIR/server/smtpd.py"
MAXRSS="$TESTS_DIR/lib/maxrss.py"
: "${ENVOI:=$BATS_TEST_DIRNAME/../src/envoi}"
case $ENVOI in /*) ;; *) ENVOI="$PWD/$ENVOI" ;; esac
export ENVOI

# The account every test server accepts.
AUTH_USER=alice
AUTH_PASS='Tr0ub4dor-x7q'
export AUTH_USER AUTH_PASS

# Upper bound for one envoi run; a hang shows up as status 124.
ENVOI_TIMEOUT=${ENVOI_TIMEOUT:-30}

# ---------------------------------------------------------------------------
# setup / teardown

common_setup_file() {
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true # servers are shared
	if ! "$PY" -c 'import aiosmtpd' 2>/dev/null; then
		PY=/usr/bin/python3 # e.g. a pyenv python3 first on PATH
	fi
	export ENVOI_TEST_PY="$PY"
	export PKI="$BATS_FILE_TMPDIR/pki"
	make_pki "$PKI"
}

common_setup() {
	export HOME="$BATS_TEST_TMPDIR/home"
	export XDG_CONFIG_HOME="$HOME/.config"
	# Whatever a test's config says, never the system spool (CI is root).
	export ENVOI_QUEUE_DIR="$BATS_TEST_TMPDIR/queue"
	mkdir -p "$XDG_CONFIG_HOME"
	CFG="$BATS_TEST_TMPDIR/envoi.conf"
	local name
	for name in $(server_names); do
		server_reset "$name"
	done
}

common_teardown_file() {
	stop_all_servers
}

setup_file() { common_setup_file; }
setup() { common_setup; }
teardown_file() { common_teardown_file; }

# ---------------------------------------------------------------------------
# PKI

# make_pki DIR: a test CA and certificates issued by it, all ECDSA P-256:
#   ca.pem                    the test CA (trust this one)
#   server.pem/.key           CN localhost, SAN DNS localhost, IP 127.0.0.1, ::1
#   wrong.pem/.key            CN/SAN wrong.example (signed by the test CA)
#   expired.pem/.key          like server.pem but valid 2010-2011 only
#   ca2.pem                   a second, unrelated CA
#   untrusted.pem/.key        like server.pem but signed by ca2
make_pki() {
	local d=$1
	mkdir -p "$d"
	local t="$d/tmpl"
	mkdir -p "$t"
	_pki_key() {
		certtool --generate-privkey --key-type ecdsa --curve secp256r1 \
			--no-text --outfile "$d/$1.key" 2>/dev/null
	}
	_pki_ca() { # name cn
		printf '%s\n' "cn = \"$2\"" ca cert_signing_key crl_signing_key \
			'activation_date = "2000-01-01 00:00:00"' \
			'expiration_date = "2099-12-31 23:59:59"' >"$t/$1"
		_pki_key "$1"
		certtool --generate-self-signed --load-privkey "$d/$1.key" \
			--template "$t/$1" --outfile "$d/$1.pem" --no-text 2>/dev/null
	}
	_pki_cert() { # name ca template-lines...
		local name=$1 ca=$2
		shift 2
		printf '%s\n' tls_www_server signing_key "$@" >"$t/$name"
		_pki_key "$name"
		certtool --generate-certificate --load-privkey "$d/$name.key" \
			--load-ca-certificate "$d/$ca.pem" --load-ca-privkey "$d/$ca.key" \
			--template "$t/$name" --outfile "$d/$name.pem" --no-text 2>/dev/null
	}
	local good=('cn = "localhost"' 'dns_name = "localhost"'
		'ip_address = "127.0.0.1"' 'ip_address = "::1"')
	_pki_ca ca "envoi test CA"
	_pki_ca ca2 "envoi unrelated CA"
	_pki_cert server ca "${good[@]}" 'expiration_days = 30'
	_pki_cert wrong ca 'cn = "wrong.example"' 'dns_name = "wrong.example"' \
		'expiration_days = 30'
	_pki_cert expired ca "${good[@]}" \
		'activation_date = "2010-01-01 00:00:00"' \
		'expiration_date = "2011-01-01 00:00:00"'
	_pki_cert untrusted ca2 "${good[@]}" 'expiration_days = 30'
	local f
	for f in ca ca2 server wrong expired untrusted; do
		[ -s "$d/$f.pem" ] || {
			echo "make_pki: $f.pem not created" >&2
			return 1
		}
	done
}

# ---------------------------------------------------------------------------
# test SMTP servers (tests/server/smtpd.py)

server_dir() { echo "$BATS_FILE_TMPDIR/srv-$1"; }
server_names() { cat "$BATS_FILE_TMPDIR/servers.list" 2>/dev/null || true; }

_proc_alive() { # pid: running and not a zombie
	kill -0 "$1" 2>/dev/null || return 1
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# launch_server NAME [smtpd.py args...]: start without waiting.  The server
# gets --cert/--key of $PKI/server.* unless the args give others (argparse
# keeps the last one).  Without --plain/--starttls/--tls it runs all three.
# SERVER_SCRIPT names another server that follows the same conventions
# (--dir, --cert, --key; port files, then pid), e.g. server/hostile.py.
launch_server() {
	local name=$1
	shift
	local dir
	dir=$(server_dir "$name")
	mkdir -p "$dir/control" "$dir/mail"
	rm -f "$dir/pid" "$dir"/port.*
	"$PY" -B "${SERVER_SCRIPT:-$SMTPD}" --dir "$dir" --cert "$PKI/server.pem" \
		--key "$PKI/server.key" "$@" >"$dir/server.log" 2>&1 </dev/null 3>&- &
	echo $! >"$dir/server.pid"
	grep -qx -- "$name" "$BATS_FILE_TMPDIR/servers.list" 2>/dev/null ||
		echo "$name" >>"$BATS_FILE_TMPDIR/servers.list"
}

# wait_server NAME: wait (at most 10 s) until the server has written its pid
# file (written after every port file).
wait_server() {
	local dir pid i
	dir=$(server_dir "$1")
	pid=$(cat "$dir/server.pid")
	for ((i = 0; i < 200; i++)); do
		[ -s "$dir/pid" ] && return 0
		if ! _proc_alive "$pid"; then
			echo "server $1 died at startup:" >&2
			cat "$dir/server.log" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "server $1 did not start within 10 s:" >&2
	cat "$dir/server.log" >&2
	return 1
}

start_server() {
	launch_server "$@"
	wait_server "$1"
}

# stop_server NAME: SIGTERM by recorded PID, wait at most 5 s, then SIGKILL.
stop_server() {
	local dir pid i
	dir=$(server_dir "$1")
	pid=$(cat "$dir/server.pid" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		_proc_alive "$pid" || break
		sleep 0.05
	done
	if _proc_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	rm -f "$dir/server.pid"
}

stop_all_servers() {
	local name
	for name in $(server_names); do
		stop_server "$name"
	done
}

# server_port NAME plain|starttls|tls
server_port() { cat "$(server_dir "$1")/port.$2"; }

# server_ctl NAME FILE [CONTENT]: create control file (empty without CONTENT)
server_ctl() {
	local dir
	dir=$(server_dir "$1")/control
	printf '%s' "${3-}" >"$dir/.$2.tmp"
	mv -f "$dir/.$2.tmp" "$dir/$2"
}

server_ctl_clear() { rm -f "$(server_dir "$1")"/control/*; }

# server_reset NAME: no control files, no received mail, empty transcript
server_reset() {
	local dir
	dir=$(server_dir "$1")
	rm -f "$dir"/control/* "$dir"/mail/*
	: >"$dir/transcript.log"
}

msg_count() { find "$(server_dir "$1")/mail" -name '*.json' | wc -l; }

# last_eml NAME: path of the newest complete message (empty if none)
last_eml() {
	local j
	j=$(find "$(server_dir "$1")/mail" -name '*.json' | sort | tail -n 1)
	[ -n "$j" ] && echo "${j%.json}.eml"
}

# last_json NAME FIELD: a field of the newest message's metadata: a string
# as is, a list one item per line, a bool as true/false, null as nothing.
last_json() {
	local j
	j=$(find "$(server_dir "$1")/mail" -name '*.json' | sort | tail -n 1)
	[ -n "$j" ] || {
		echo "last_json: no message on server $1" >&2
		return 1
	}
	"$PY" -c '
import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
if isinstance(v, bool):
    print("true" if v else "false")
elif isinstance(v, list):
    for x in v:
        print(x)
elif v is not None:
    print(v)
' "$j" "$2"
}

transcript() { echo "$(server_dir "$1")/transcript.log"; }

# conn_count NAME: number of connections seen
conn_count() { grep -c '^[0-9]* CONNECT ' "$(transcript "$1")" || true; }

# last_conn NAME: the client lines/events of the last connection, without
# the connection number
last_conn() {
	local t id
	t=$(transcript "$1")
	id=$(awk '$2 == "CONNECT" { id = $1 } END { print id }' "$t")
	[ -n "$id" ] || return 0
	awk -v id="$id" '$1 == id { sub(/^[0-9]+ /, ""); print }' "$t"
}

# ---------------------------------------------------------------------------
# configuration

# write_config FILE: config from stdin, mode 0600
write_config() {
	(umask 077 && cat >"$1")
	chmod 0600 "$1"
}

# std_config NAME LISTENER [key=value ...]: write $CFG for account "main"
# talking to server NAME's LISTENER (plain|starttls|tls) as alice, with the
# test CA as trust file.  key=value overrides or adds a setting (a value of
# digits only is written unquoted); key= (empty) leaves the key out.
# tls_trust_file and timeout go into the defaults section, the rest into
# the account.
std_config() {
	local name=$1 listener=$2
	shift 2
	local -A v=(
		[tls_trust_file]="$PKI/ca.pem" [timeout]=10
		[queue]=never [queue_dir]="$BATS_TEST_TMPDIR/queue"
		[host]=127.0.0.1 [port]="$(server_port "$name" "$listener")"
		[user]="$AUTH_USER" [password]="$AUTH_PASS"
		[from]=alice@example.org [domain]=client.example
	)
	case $listener in
	plain) v[tls]=off ;;
	*) v[tls]=$listener ;;
	esac
	# queue = never: these suites check what a single attempt does; the
	# queue suites ask for on-failure.  queue_dir keeps a root run out
	# of the system spool whatever the test asks for.
	local defaults=(tls_trust_file timeout queue queue_dir)
	local order=(host port tls auth user password passwordeval from domain)
	local kv k known
	for kv; do
		k=${kv%%=*}
		v[$k]=${kv#*=}
		known=$(printf '%s\n' "${defaults[@]}" "${order[@]}" | grep -cx -- "$k" || true)
		[ "$known" -gt 0 ] || order+=("$k")
	done
	_cfg_line() {
		local val=${v[$1]-}
		[ -n "$val" ] || return 0
		if [[ $val =~ ^[0-9]+$ ]]; then
			printf '  %s = %s\n' "$1" "$val"
		else
			printf '  %s = "%s"\n' "$1" "$val"
		fi
	}
	{
		echo 'default_account = "main"'
		echo 'defaults {'
		for k in "${defaults[@]}"; do _cfg_line "$k"; done
		echo '}'
		echo 'account "main" {'
		for k in "${order[@]}"; do _cfg_line "$k"; done
		echo '}'
	} | write_config "$CFG"
}

# no_secret FILE|DIR...: neither the test password nor a base64 form of
# the credentials (as AUTH PLAIN or LOGIN would send them) is in any FILE,
# or in any file under DIR
no_secret() {
	local s f
	for f; do
		for s in "$AUTH_PASS" "$(printf %s "$AUTH_PASS" | base64)" \
			"$(printf '\0%s\0%s' "$AUTH_USER" "$AUTH_PASS" | base64)"; do
			if grep -rqaF -- "$s" "$f"; then
				echo "a secret is in $f" >&2
				return 1
			fi
		done
	done
}

# ---------------------------------------------------------------------------
# running envoi

# envoi ARGS...: the binary under test, bounded by $ENVOI_TIMEOUT seconds
envoi() {
	timeout -k 5 "$ENVOI_TIMEOUT" "$ENVOI" "$@"
}

# maxrss_kb CMD...: run CMD (stdin/stdout/stderr passed through), store its
# peak RSS in KB in $BATS_TEST_TMPDIR/maxrss_kb, return CMD's exit status.
# The shell function `envoi` is resolved to the real binary; the whole run
# is bounded by $ENVOI_TIMEOUT seconds.
maxrss_kb() {
	if [ "$1" = envoi ]; then
		shift
		set -- "$ENVOI" "$@"
	fi
	timeout -k 5 "$ENVOI_TIMEOUT" \
		"$PY" -B "$MAXRSS" --out "$BATS_TEST_TMPDIR/maxrss_kb" -- "$@"
}

# ---------------------------------------------------------------------------
# messages and assertions

# to_crlf IN OUT: every LF not already preceded by CR becomes CRLF
to_crlf() {
	"$PY" -c '
import re, sys
data = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(re.sub(rb"(?<!\r)\n", b"\r\n", data))
' "$1" "$2"
}

# assert_status N: compare $status of the last `run`; show output if not
assert_status() {
	if [ "$status" -ne "$1" ]; then
		echo "expected exit status $1, got $status" >&2
		echo "--- stdout:" >&2
		printf '%s\n' "$output" >&2
		echo "--- stderr:" >&2
		printf '%s\n' "${stderr-}" >&2
		return 1
	fi
}

# assert_same_file EXPECTED ACTUAL: byte-for-byte, with a readable diff
assert_same_file() {
	if [ ! -f "$2" ]; then
		echo "no such file: '$2'" >&2
		return 1
	fi
	if ! cmp -s "$1" "$2"; then
		echo "files differ: $1 $2" >&2
		diff <(od -An -c "$1") <(od -An -c "$2") | head -n 40 >&2
		return 1
	fi
}

# assert_error_line: stderr of the last `run --separate-stderr` is (at least)
# one line starting with "envoi: "
assert_error_line() {
	if [[ ${stderr-} != "envoi: "* ]]; then
		echo "stderr does not start with 'envoi: ': '${stderr-}'" >&2
		return 1
	fi
}

# write_msg FILE: a message from stdin (use a quoted heredoc)
write_msg() { cat >"$1"; }

# std_msg FILE: a small, well-formed message (LF line endings)
std_msg() {
	cat >"$1" <<'EOF'
From: Alice <alice@example.org>
To: Bob <bob@example.org>
Subject: envoi test
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <std-1@example.org>

Hello Bob,
this is a test.
EOF
}

# assert_no_bare_lf FILE: every LF in FILE is preceded by CR
assert_no_bare_lf() {
	"$PY" -c '
import re, sys
data = open(sys.argv[1], "rb").read()
bad = [m.start() for m in re.finditer(rb"(?<!\r)\n", data)]
if bad:
    sys.exit("bare LF at offsets %s" % bad[:10])
' "$1"
}

# ---------------------------------------------------------------------------
# transcript assertions (verbs compared case-insensitively)

# sent_verbs NAME: the upper-cased first word of every client line
sent_verbs() {
	awk '$2 != "CONNECT" && $2 != "TLS" && $2 != "TLS-FAILED" { print toupper($2) }' \
		"$(transcript "$1")"
}

# assert_not_sent NAME VERB...: no client line of the transcript starts so
assert_not_sent() {
	local name=$1 v
	shift
	for v; do
		if sent_verbs "$name" | grep -qx -- "$v"; then
			echo "$v was sent to server $name:" >&2
			cat "$(transcript "$name")" >&2
			return 1
		fi
	done
}

# assert_sent NAME VERB...: each VERB was sent at least once
assert_sent() {
	local name=$1 v
	shift
	for v; do
		if ! sent_verbs "$name" | grep -qx -- "$v"; then
			echo "$v was not sent to server $name:" >&2
			cat "$(transcript "$name")" >&2
			return 1
		fi
	done
}

# assert_starttls_order NAME: in the last connection EHLO, STARTTLS, TLS
# came in that order, EHLO was sent again after TLS, and no AUTH, MAIL,
# RCPT or DATA was sent before TLS.
assert_starttls_order() {
	if ! last_conn "$1" | awk '
		$1 == "TLS" { if (!starttls) bad = bad " TLS-without-STARTTLS"; tls = 1; next }
		$1 == "CONNECT" || $1 == "TLS-FAILED" { next }
		{ v = toupper($1) }
		v == "EHLO" { if (tls) ehlo2 = 1; else ehlo1 = 1 }
		v == "STARTTLS" { if (!ehlo1) bad = bad " STARTTLS-before-EHLO"; starttls = 1 }
		!tls && (v == "AUTH" || v == "MAIL" || v == "RCPT" || v == "DATA") { bad = bad " " v "-before-TLS" }
		END {
			if (!tls) bad = bad " no-TLS"
			if (!ehlo2) bad = bad " no-EHLO-after-TLS"
			if (bad != "") { print "bad STARTTLS sequence:" bad; exit 1 }
		}' >&2; then
		last_conn "$1" >&2
		return 1
	fi
}

# sanitized: envoi is built with AddressSanitizer (or run with ASAN_OPTIONS):
# its memory use means nothing then, and LeakSanitizer cannot run under the
# ptrace that maxrss.py uses
sanitized() {
	[ -n "${ASAN_OPTIONS-}" ] && return 0
	ldd "$ENVOI" 2>/dev/null | grep -Eq 'lib(a|l|t)san'
}

# free_port: a loopback TCP port that nothing listens on (just closed)
free_port() {
	"$PY" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
'
}

# have_ipv6: ::1 can be bound
have_ipv6() {
	"$PY" -c '
import socket
s = socket.socket(socket.AF_INET6)
s.bind(("::1", 0))
' 2>/dev/null
}
