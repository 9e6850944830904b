# bench/lib.sh - shared by the bench/*.sh scripts.  Source it, then call
# bench_init "$@".  bash only.
#
# What it gives a script:
#   bench_init "$@"   parse --smoke / --big / --help, build envoi, make $TMP
#                     (removed on exit), arm the traps that stop every server
#                     this script started (by PID, never by name)
#   need CMD...       make sure each command is there; as root, install the
#                     Debian package that has it when it is not (see
#                     bench_pkg_of); otherwise fail with a message
#   free_port         print a TCP port free on 127.0.0.1 now
#   start_sink NAME PORT [ARGS]   run Postfix's smtp-sink on 127.0.0.1:PORT
#   start_tls_sink NAME PORT MODE [-u USER -P PASS]   run bench/tls-sink.c
#                     (built here): STARTTLS, implicit TLS and AUTH
#   stop_server NAME  SIGTERM by recorded PID, SIGKILL after 5 s
#   make_pki DIR      test CA + localhost certificate (certtool)
#   compare ...       run two commands alternately and print median, min-max
#                     and ratios (bench/timing.py)
#   icount LABEL CMD...  callgrind instruction total of one run of CMD
#   dma_get, dma_conf PORT   a private dma (DragonFly Mail Agent), see there
#
# Every server listens on 127.0.0.1 only, every client run is bounded with
# timeout(1), and every loop has a fixed count.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH_DIR/.." && pwd)
# ENVOI given: that binary, as it is.  Otherwise src/envoi of this tree,
# which bench_init (re)builds with make.
ENVOI_GIVEN=${ENVOI:+1}
ENVOI=${ENVOI:-$TOP/src/envoi}
PY=/usr/bin/python3 # the system one: timing.py and friends need nothing else
TIMING="$BENCH_DIR/timing.py"
MSMTPQ_DIR=/usr/libexec/msmtp/msmtpq
RUN_TIMEOUT=${RUN_TIMEOUT:-120} # seconds, any one client run

# shellcheck disable=SC2034 # SMOKE and BIG are for the scripts
SMOKE=0
BIG=0
BENCH_NAME=$(basename "$0" .sh)
BENCH_SERVERS=()

bench_usage() {
	sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"
}

bench_init() {
	local a
	for a; do
		case $a in
		--smoke) SMOKE=1 ;;
		--big) BIG=1 ;;
		-h | --help)
			bench_usage
			exit 0
			;;
		esac
	done
	export LC_ALL=C
	[ -n "$ENVOI_GIVEN" ] || make -s -C "$TOP" >/dev/null || die "make failed"
	[ -x "$ENVOI" ] || die "no envoi binary at $ENVOI"
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/envoi-bench-$BENCH_NAME.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	# The msmtp and envoi runs must not read a developer's own files.
	export HOME="$TMP/home"
	mkdir -p "$HOME"
	unset MSMTPQ_Q MSMTPQ_LOG ENVOI_QUEUE_DIR
}

bench_cleanup() {
	local rc=$? n
	for n in "${BENCH_SERVERS[@]}"; do
		stop_server "$n"
	done
	[ -n "${TMP-}" ] && rm -rf "$TMP"
	exit "$rc"
}

die() {
	echo "$BENCH_NAME: $*" >&2
	exit 1
}

say() { printf '%s\n' "$*"; }
section() { printf '\n== %s\n' "$*"; }

# ---------------------------------------------------------------------------
# dependencies

# bench_pkg_of CMD: the Debian package that installs CMD
bench_pkg_of() {
	case $1 in
	msmtp) echo msmtp ;;
	msmtpq | msmtp-queue) echo msmtp ;;
	smtp-sink) echo postfix ;;
	certtool) echo gnutls-bin ;;
	valgrind | callgrind_annotate) echo valgrind ;;
	s-nail) echo s-nail ;;
	base64 | timeout | taskset) echo coreutils ;;
	time) echo time ;;
	ca-bundle) echo ca-certificates ;;
	*) echo "$1" ;;
	esac
}

# bench_have CMD: is it there?  (some are not on PATH or not commands)
bench_have() {
	case $1 in
	smtp-sink) [ -x /usr/sbin/smtp-sink ] ;;
	msmtpq) [ -x "$MSMTPQ_DIR/msmtpq" ] ;;
	msmtp-queue) [ -x "$MSMTPQ_DIR/msmtp-queue" ] ;;
	time) [ -x /usr/bin/time ] ;;
	ca-bundle) [ -s /etc/ssl/certs/ca-certificates.crt ] ;;
	*) command -v "$1" >/dev/null 2>&1 ;;
	esac
}

# need CMD...: install the packages of the missing ones (root only).
# Installing postfix must not start or configure a mail server: debconf is
# preseeded with "No configuration" and a policy-rc.d that refuses every
# service start is in place for the install (an existing one is kept aside
# and put back afterwards).
need() {
	local c pkgs=() missing=()
	for c; do
		bench_have "$c" || {
			missing+=("$c")
			pkgs+=("$(bench_pkg_of "$c")")
		}
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing: ${missing[*]} (install: ${pkgs[*]})"
	command -v apt-get >/dev/null || die "missing: ${missing[*]}, and no apt-get"
	mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
	say "installing: ${pkgs[*]}" >&2
	local prc=/usr/sbin/policy-rc.d saved=
	if [ -e "$prc" ] || [ -L "$prc" ]; then
		saved="$prc.envoi-bench.$$"
		mv "$prc" "$saved"
	fi
	printf '#!/bin/sh\n# envoi bench: start no service while installing\nexit 101\n' >"$prc"
	chmod 755 "$prc"
	local rc=0
	(
		export DEBIAN_FRONTEND=noninteractive
		echo "postfix postfix/main_mailer_type select No configuration" |
			debconf-set-selections
		apt-get install -y -qq --no-install-recommends "${pkgs[@]}" </dev/null >&2 ||
			{ apt-get update -qq </dev/null >&2 &&
				apt-get install -y -qq --no-install-recommends "${pkgs[@]}" </dev/null >&2; }
	) || rc=$?
	rm -f "$prc"
	[ -n "$saved" ] && mv "$saved" "$prc"
	[ "$rc" -eq 0 ] || die "could not install ${pkgs[*]}"
	for c in "${missing[@]}"; do
		bench_have "$c" || die "$c still missing after installing its package"
	done
}

# ---------------------------------------------------------------------------
# servers

free_port() {
	"$PY" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# wait_port PORT PID: until 127.0.0.1:PORT accepts (at most 10 s)
wait_port() {
	"$PY" - "$1" "$2" <<'EOF'
import os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
for _ in range(200):
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("server %d died at startup" % pid)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("nothing listens on 127.0.0.1:%d after 10 s" % port)
EOF
}

bench_server_dir() { echo "$TMP/srv-$1"; }

_register() {
	BENCH_SERVERS+=("$1")
}

# start_sink NAME PORT [smtp-sink options]: Postfix's smtp-sink as a plain
# program: it accepts every message and throws it away.  -c counts
# sessions and messages (printed to its stdout, see sink_counts), -u
# drops root to nobody, 1000 is the listen backlog.
start_sink() {
	local name=$1 port=$2
	shift 2
	local d
	d=$(bench_server_dir "$name")
	mkdir -p "$d"
	local user=()
	[ "$(id -u)" -eq 0 ] && user=(-u nobody)
	/usr/sbin/smtp-sink "${user[@]}" -c "$@" "127.0.0.1:$port" 1000 \
		>"$d/log" 2>&1 </dev/null &
	echo $! >"$d/server.pid"
	echo "$port" >"$d/port"
	_register "$name"
	wait_port "$port" "$!" || { cat "$d/log" >&2; die "smtp-sink did not start"; }
}

# sink_counts NAME: "sessions messages" as smtp-sink -c last printed them
# (it prints "sess=N quit=N mesg=N" and a CR whenever a counter changes)
sink_counts() {
	tr '\r' '\n' <"$(bench_server_dir "$1")/log" |
		sed -n 's/^sess=\([0-9]*\) quit=[0-9]* mesg=\([0-9]*\).*/\1 \2/p' |
		tail -n 1 | grep . || echo "0 0"
}

# build_tls_sink: compile bench/tls-sink.c (GnuTLS) into $TMP
build_tls_sink() {
	[ -x "$TMP/tls-sink" ] && return 0
	local flags
	flags=$(pkg-config --cflags --libs gnutls 2>/dev/null || echo -lgnutls)
	# shellcheck disable=SC2086
	cc -O2 -o "$TMP/tls-sink" "$BENCH_DIR/tls-sink.c" $flags ||
		die "cannot build bench/tls-sink.c (needs cc and GnuTLS headers)"
}

# start_tls_sink NAME PORT MODE [-u USER -P PASS]: bench/tls-sink on
# 127.0.0.1:PORT, MODE plain|starttls|tls, certificate $PKI/server.pem
# (make_pki first, unless MODE is plain);
# counters in $(bench_server_dir NAME)/stats (see tls_sink_counts)
start_tls_sink() {
	local name=$1 port=$2 mode=$3
	shift 3
	local d
	d=$(bench_server_dir "$name")
	mkdir -p "$d"
	build_tls_sink
	local certs=()
	[ -n "${PKI-}" ] && certs=(-c "$PKI/server.pem" -k "$PKI/server.key")
	"$TMP/tls-sink" -p "$port" -m "$mode" ${certs[@]+"${certs[@]}"} \
		-s "$d/stats" "$@" >"$d/log" 2>&1 </dev/null &
	echo $! >"$d/server.pid"
	echo "$port" >"$d/port"
	_register "$name"
	wait_port "$port" "$!" || { cat "$d/log" >&2; die "tls-sink did not start"; }
}

# tls_sink_counts NAME: "sessions messages" so far
tls_sink_counts() {
	awk '$1 == "sessions" { s = $2 } $1 == "messages" { m = $2 } END { print s + 0, m + 0 }' \
		"$(bench_server_dir "$1")/stats"
}

_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}

stop_server() {
	local d pid i
	d=$(bench_server_dir "$1")
	pid=$(cat "$d/server.pid" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		_alive "$pid" || break
		sleep 0.05
	done
	_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	rm -f "$d/server.pid"
}

# ---------------------------------------------------------------------------
# PKI: one test CA and a certificate for localhost / 127.0.0.1 signed by it

make_pki() {
	local d=$1
	mkdir -p "$d"
	printf '%s\n' 'cn = "envoi bench CA"' ca cert_signing_key \
		'expiration_days = 30' >"$d/ca.tmpl"
	printf '%s\n' 'cn = "localhost"' 'dns_name = "localhost"' \
		'ip_address = "127.0.0.1"' tls_www_server signing_key \
		'expiration_days = 30' >"$d/server.tmpl"
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 \
		--no-text --outfile "$d/ca.key" 2>/dev/null
	certtool --generate-self-signed --load-privkey "$d/ca.key" \
		--template "$d/ca.tmpl" --outfile "$d/ca.pem" --no-text 2>/dev/null
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 \
		--no-text --outfile "$d/server.key" 2>/dev/null
	certtool --generate-certificate --load-privkey "$d/server.key" \
		--load-ca-certificate "$d/ca.pem" --load-ca-privkey "$d/ca.key" \
		--template "$d/server.tmpl" --outfile "$d/server.pem" --no-text 2>/dev/null
	[ -s "$d/server.pem" ] || die "make_pki failed"
	# The system bundle with the test CA added: what the system trust store
	# would be had the test CA been installed in it.
	cat /etc/ssl/certs/ca-certificates.crt "$d/ca.pem" >"$d/system+ca.pem"
	PKI=$d
}

# with_system_ca CMD...: run CMD where the system trust store
# (/etc/ssl/certs/ca-certificates.crt) also holds the test CA: in a private
# mount namespace with $PKI/system+ca.pem bind-mounted over the bundle, so
# the system's own file is never changed.  Needs root and unshare(1).
can_system_ca() {
	[ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null &&
		unshare -m --propagation private true 2>/dev/null
}

# ---------------------------------------------------------------------------
# dma, the DragonFly Mail Agent, as a third contender
#
# Debian's dma package provides mail-transport-agent and so conflicts with
# postfix (smtp-sink): it is never installed.  dma_get downloads it with
# apt-get download and unpacks it with dpkg-deb -x into $TMP/dma/pkg.
# dma reads the compiled-in /etc/dma/dma.conf, so it runs in a private
# mount namespace (unshare -m, root) where $TMP/dma/etc is laid over /etc
# with a read-only overlay: /etc/dma/dma.conf is ours there, and the
# machine's /etc is neither changed nor hidden.  Started by root, dma drops
# to the user "mail" (compiled in); its spool is $TMP/dma/spool (SPOOLDIR),
# owned by mail.  dma_get and dma_conf set DMA_BIN, DMA_DIR, DMA_SPOOL and
# DMA_WRAP (the unshare prefix, "${DMA_WRAP[@]}" dma ...).

# dma_get: set DMA_BIN, or set DMA_WHY to the reason and fail
# shellcheck disable=SC2034 # DMA_WHY and DMA_VERSION are for the scripts
dma_get() {
	[ "$(id -u)" -eq 0 ] || { DMA_WHY="needs root (private mount namespace)"; return 1; }
	local c
	for c in apt-get dpkg-deb unshare mount; do
		command -v "$c" >/dev/null || { DMA_WHY="needs $c"; return 1; }
	done
	getent passwd mail >/dev/null || { DMA_WHY="needs the user mail (dma drops root to it)"; return 1; }
	DMA_DIR="$TMP/dma"
	mkdir -p "$DMA_DIR/deb" "$DMA_DIR/etc/dma"
	chmod 0777 "$DMA_DIR/deb" # apt-get download runs as _apt
	if ! (cd "$DMA_DIR/deb" && timeout 120 apt-get -qq download dma) >"$DMA_DIR/apt.log" 2>&1 </dev/null; then
		DMA_WHY="cannot download the dma package: $(tail -n 1 "$DMA_DIR/apt.log")"
		return 1
	fi
	local deb
	deb=$(find "$DMA_DIR/deb" -name 'dma_*.deb' | head -n 1)
	DMA_VERSION=$(dpkg-deb -f "$deb" Version 2>/dev/null)
	if ! dpkg-deb -x "$deb" "$DMA_DIR/pkg" || [ ! -x "$DMA_DIR/pkg/usr/sbin/dma" ]; then
		DMA_WHY="cannot unpack $deb"
		return 1
	fi
	DMA_BIN="$DMA_DIR/pkg/usr/sbin/dma"
	if ldd "$DMA_BIN" 2>/dev/null | grep -q 'not found'; then
		DMA_WHY="dma lacks libraries: $(ldd "$DMA_BIN" | awk '/not found/ { print $1 }' | tr '\n' ' ')"
		return 1
	fi
	# shellcheck disable=SC2016 # $0 and $@ are for the inner sh
	DMA_WRAP=(unshare -m --propagation private /bin/sh -c \
		'mount -t overlay -o "lowerdir=$0:/etc" envoi-bench-dma /etc && exec "$@"' \
		"$DMA_DIR/etc")
	"${DMA_WRAP[@]}" test -d /etc/dma 2>/dev/null ||
		{ DMA_WHY="cannot lay an overlay over /etc in a mount namespace"; return 1; }
	# dma runs as mail: it must reach its spool and configuration
	chmod 0711 "$TMP" "$DMA_DIR"
}

# dma_conf PORT [KEYWORD...]: $DMA_DIR/etc/dma/dma.conf for the smarthost
# 127.0.0.1:PORT, plaintext, no aliases (NULLCLIENT), plus the given
# keywords (DEFER: queue only); an empty spool
dma_conf() {
	local port=$1 k
	shift
	DMA_SPOOL="$DMA_DIR/spool"
	{
		echo "SMARTHOST 127.0.0.1"
		echo "PORT $port"
		echo "SPOOLDIR $DMA_SPOOL"
		echo "MAILNAME bench.example.org"
		echo "NULLCLIENT"
		for k; do echo "$k"; done
	} >"$DMA_DIR/etc/dma/dma.conf"
	chmod 0755 "$DMA_DIR/etc" "$DMA_DIR/etc/dma"
	chmod 0644 "$DMA_DIR/etc/dma/dma.conf"
	rm -rf "$DMA_SPOOL"
	mkdir -m 0770 "$DMA_SPOOL"
	chown mail:mail "$DMA_SPOOL"
}

# ---------------------------------------------------------------------------
# configs

# envoi_cfg FILE key=value...: one account "b"; numbers unquoted
envoi_cfg() {
	local f=$1 kv k v
	shift
	{
		echo 'account "b" {'
		for kv; do
			k=${kv%%=*}
			v=${kv#*=}
			if [[ $v =~ ^[0-9]+$ ]]; then
				printf '  %s = %s\n' "$k" "$v"
			else
				printf '  %s = "%s"\n' "$k" "$v"
			fi
		done
		echo '}'
	} >"$f"
	chmod 600 "$f"
}

# msmtp_rc FILE key=value...: one account "b" (msmtp's key names)
msmtp_rc() {
	local f=$1 kv
	shift
	{
		echo 'account b'
		for kv; do printf '%s %s\n' "${kv%%=*}" "${kv#*=}"; done
	} >"$f"
	chmod 600 "$f"
}

# ---------------------------------------------------------------------------
# messages

# make_msg FILE BYTES: a plain-text message of about BYTES bytes, CRLF-free
# (LF lines of 72 characters), with From/To/Subject/Date/Message-ID
make_msg() {
	"$PY" - "$1" "$2" <<'EOF'
import sys
path, size = sys.argv[1], int(sys.argv[2])
head = ("From: Bench Sender <bench@example.org>\n"
        "To: rcpt@example.net\n"
        "Subject: envoi bench message\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\n"
        "Message-ID: <bench.1@example.org>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n\n")
line = b"The quick brown fox jumps over the lazy dog, and then some more text!!\n"
with open(path, "wb") as f:
    f.write(head.encode())
    n = len(head)
    while n < size:
        chunk = line if size - n >= len(line) else line[: size - n - 1] + b"\n"
        f.write(chunk)
        n += len(chunk)
EOF
}

# make_big FILE MEGABYTES: a message of MEGABYTES MiB of 76-column text
# (like a base64 body: what big messages are once MIME-encoded)
make_big() {
	"$PY" - "$1" "$2" <<'EOF'
import base64, os, sys
path, mb = sys.argv[1], int(sys.argv[2])
head = (b"From: bench@example.org\nTo: rcpt@example.net\n"
        b"Subject: big\nMessage-ID: <big.1@example.org>\n"
        b"MIME-Version: 1.0\nContent-Type: application/octet-stream\n"
        b"Content-Transfer-Encoding: base64\n\n")
raw = os.urandom(57 * 1024)
block = b"".join(base64.b64encode(raw[i:i + 57]) + b"\n" for i in range(0, len(raw), 57))
total = mb * 1024 * 1024
with open(path, "wb") as f:
    f.write(head)
    n = len(head)
    while n + len(block) <= total:
        f.write(block)
        n += len(block)
    while total - n > 1:
        k = min(77, total - n)
        f.write(b"A" * (k - 1) + b"\n")
        n += k
EOF
}

# ---------------------------------------------------------------------------
# measuring

# compare [timing.py options] -- see bench/timing.py --help
compare() {
	"$PY" -B "$TIMING" "$@"
}

# icount LABEL CMD...: run CMD once under callgrind (stdin as given) and
# print "LABEL  N instructions"; the callgrind file is kept as
# $TMP/callgrind.LABEL for hot_spots.  When the array ICOUNT_WRAP is set,
# valgrind runs under that wrapper (e.g. unshare ...).
ICOUNT_WRAP=()
icount() {
	local label=$1
	shift
	need valgrind
	local out="$TMP/callgrind.$label" n
	timeout -k 5 300 ${ICOUNT_WRAP[@]+"${ICOUNT_WRAP[@]}"} valgrind --tool=callgrind \
		--callgrind-out-file="$out" "$@" >/dev/null 2>"$out.err" ||
		{ cat "$out.err" >&2; die "callgrind run of $label failed"; }
	n=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out.err" | tail -n 1)
	[ -n "$n" ] || die "no instruction count in callgrind's output for $label"
	printf '%-28s %14s instructions\n' "$label" "$(printf "%'d" "$n" 2>/dev/null || echo "$n")"
	eval "ICOUNT_$(echo "$label" | tr -c 'A-Za-z0-9\n' _)=$n"
}

# icount_ratio A B: print A/B of two icount labels
icount_ratio() {
	local a b
	a=$(eval echo "\$ICOUNT_$(echo "$1" | tr -c 'A-Za-z0-9\n' _)")
	b=$(eval echo "\$ICOUNT_$(echo "$2" | tr -c 'A-Za-z0-9\n' _)")
	awk -v a="$a" -v b="$b" -v la="$1" -v lb="$2" \
		'BEGIN { printf "instructions %s/%s = %.3f (%.1fx fewer)\n", la, lb, a / b, b / a }'
}

# hot_spots LABEL [N]: the N (12) functions of icount's run of LABEL with
# the most instructions of their own (self), then with their callees
# (inclusive; the frames every run has, from _start to main, left out).
# A function that callgrind_annotate lists twice (under two spellings of
# its file name) is shown once.
hot_spots() {
	local f="$TMP/callgrind.$1" n=${2:-12}
	callgrind_annotate --auto=no "$f" >"$f.self" 2>/dev/null || true
	callgrind_annotate --auto=no --inclusive=yes "$f" >"$f.incl" 2>/dev/null || true
	local kind
	for kind in self incl; do
		[ $kind = self ] && say "-- $1: top $n functions by instructions, self"
		[ $kind = incl ] && say "-- $1: top $n functions by instructions, inclusive"
		grep -E '^ *[0-9,]+ +\( *[0-9.]+%\) ' "$f.$kind" |
			grep -v -e 'PROGRAM TOTALS' -e '(below main)' -e 'libc-start.c' \
				-e '???:0x000000000001ab70' -e 'src/main.c:main$' |
			sed 's/ \[[^]]*\]$//' |
			awk -v n="$n" '{ fn = $NF; sub(/^.*\//, "", fn) }
				$1 == last && fn == lastfn { next }
				{ last = $1; lastfn = fn; if (++k <= n) print }'
	done
}

machine_line() {
	printf 'machine: %s cores, %s, kernel %s\n' "$(nproc)" \
		"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" "$(uname -r)"
	local rev=
	if [ -z "$ENVOI_GIVEN" ] && command -v git >/dev/null &&
		rev=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null); then
		git -C "$TOP" diff --quiet HEAD -- src 2>/dev/null || rev="$rev + uncommitted src/ changes"
	fi
	printf 'envoi: %s (%s%s)\n' "$ENVOI" "$("$ENVOI" --version 2>/dev/null | head -n 1)" \
		"${rev:+, tree $rev}${ENVOI_REV:+, $ENVOI_REV}"
}
