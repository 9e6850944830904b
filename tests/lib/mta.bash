# A real MTA for envoi's interoperability tests: a private Postfix instance
# that authenticates through a private Dovecot auth service and delivers
# into Maildirs.  Load after lib/common:
#
#   load lib/common
#   load lib/mta
#   load lib/interop   (mta_original and mta_added_headers need it)
#
# Nothing here touches the system's own Postfix or Dovecot: both run with
# configuration, queue, sockets, logs and mail under $BATS_FILE_TMPDIR/mta,
# and listen on loopback only:
#
#   submission  127.0.0.1:<free port>  STARTTLS required, then AUTH
#   smtps       127.0.0.1:<free port>  implicit TLS, then AUTH
#
# Both require AUTH (as $AUTH_USER / $AUTH_PASS from lib/common) before they
# accept a recipient.  Dovecot offers PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1
# SCRAM-SHA-256 (the password is stored as {PLAIN}, which serves all of
# them).  Mail for tN@example.test and tNb@example.test (N = 1..100) is
# delivered to the Maildir $MTA_DIR/vmail/example.test/tN[b]/ (see
# mta_maildir); other addresses there are unknown users, and nothing leaves
# the machine (every other destination is an error transport).
#
# The ports are also written as $(server_dir mta)/port.starttls and
# port.tls, so that lib/common's std_config works:  std_config mta starttls
#
# Per test file:
#   mta_setup_file     install packages if needed (root), start both
#   mta_setup          per test: skip, with the reason, when that was not
#                      possible (not root, packages not installable)
#   mta_teardown_file  stop both, by PID, with bounded waits
#
# Packages: postfix and dovecot-core from Debian.  When one is missing and
# we are root with apt-get, they are installed (non-interactively, with a
# temporary policy-rc.d so that no system service starts).  Set
# ENVOI_MTA_NO_INSTALL=1 to skip instead of installing.

# status, output and stderr are set by bats' run
# shellcheck disable=SC2154

MTA_DOMAIN=example.test
MTA_HOSTNAME=mta.example.test
MTA_WAIT=${MTA_WAIT:-10} # seconds: start-up, delivery and log waits
MTA_MAILBOXES=100        # t1..t100, t1b..t100b @example.test

# ---------------------------------------------------------------------------
# packages

_mta_have_tools() {
	local t
	for t in postfix postconf dovecot doveconf; do
		[ -x "/usr/sbin/$t" ] || command -v "$t" >/dev/null 2>&1 || return 1
	done
	[ -x /usr/lib/postfix/sbin/master ] && [ -x /usr/lib/dovecot/auth ]
}

# mta_install_packages: install postfix and dovecot-core if missing.  Prints
# the reason and fails when they are missing and cannot be installed.
mta_install_packages() {
	_mta_have_tools && return 0
	if [ -n "${ENVOI_MTA_NO_INSTALL-}" ]; then
		echo "postfix/dovecot-core not installed (ENVOI_MTA_NO_INSTALL set)"
		return 1
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "postfix/dovecot-core not installed and not root to install them"
		return 1
	fi
	if ! command -v apt-get >/dev/null 2>&1 ||
		! command -v debconf-set-selections >/dev/null 2>&1; then
		echo "postfix/dovecot-core not installed and no apt-get/debconf here"
		return 1
	fi
	local log="$BATS_FILE_TMPDIR/apt.log" rc=0 made_policy=
	# No configuration for the system instance, and no daemon started by
	# the packages' maintainer scripts.
	echo 'postfix postfix/main_mailer_type select No configuration' |
		debconf-set-selections >>"$log" 2>&1 || true
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# envoi tests: no service starts during install\nexit 101\n' \
			>/usr/sbin/policy-rc.d
		chmod 0755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	_mta_apt() {
		DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq \
			--no-install-recommends postfix dovecot-core >>"$log" 2>&1
	}
	if ! _mta_apt; then
		# stale or missing package lists: update once and retry
		DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq \
			>>"$log" 2>&1 || true
		_mta_apt || rc=$?
	fi
	[ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
	if [ "$rc" -ne 0 ] || ! _mta_have_tools; then
		echo "cannot install postfix/dovecot-core (apt-get status $rc): $(tail -n 3 "$log" | tr '\n' ' ')"
		return 1
	fi
}

# ---------------------------------------------------------------------------
# helpers

# _mta_searchable DIR: let other users (postfix, dovecot, nobody) reach DIR.
# bats makes its run directory 0700; the directories from there down are
# ours and get o+x.  Anything above that is not searchable is an error.
_mta_searchable() {
	local d=$1 mode
	while [ -n "$d" ] && [ "$d" != / ]; do
		mode=$(stat -c %a "$d") || return 1
		if ((8#$mode & 1)) ; then
			:
		elif [ -n "${BATS_RUN_TMPDIR-}" ] && [[ $d == "$BATS_RUN_TMPDIR" || $d == "$BATS_RUN_TMPDIR"/* ]]; then
			chmod o+x "$d" || return 1
		else
			echo "$d is not searchable by other users (set TMPDIR to another directory)" >&2
			return 1
		fi
		d=${d%/*}
	done
}

# _mta_connects PORT: something accepts connections on 127.0.0.1:PORT
_mta_connects() {
	timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$1" 2>/dev/null
}

_mta_wait() { # seconds command...: poll every 50 ms until command succeeds
	local n=$(($1 * 20)) i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

_mta_fail() { # message: report with the logs
	echo "mta: $*" >&2
	local f
	for f in "$MTA_DIR/maillog" "$MTA_DIR/dovecot.log" "$MTA_DIR/postfix-start.log" \
		"$MTA_DIR/dovecot-start.log"; do
		[ -s "$f" ] || continue
		echo "--- $f:" >&2
		tail -n 30 "$f" >&2
	done
	return 1
}

# ---------------------------------------------------------------------------
# Dovecot (auth only)

_mta_start_dovecot() {
	local d="$MTA_DIR/dovecot"
	mkdir -p "$d/run" "$d/state"
	chmod 0755 "$d" "$d/state"
	printf '%s:{PLAIN}%s\n' "$AUTH_USER" "$AUTH_PASS" >"$d/users"
	chown root:dovecot "$d/users"
	chmod 0640 "$d/users"
	MTA_AUTH_SOCKET="$d/run/auth-postfix"
	cat >"$d/dovecot.conf" <<EOF
# private Dovecot for envoi's interop tests: the auth service only
base_dir = $d/run
state_dir = $d/state
instance_name = envoi-test-$$
log_path = $MTA_DIR/dovecot.log
info_log_path = $MTA_DIR/dovecot.log
protocols = none
ssl = no
disable_plaintext_auth = yes
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256
auth_failure_delay = 0
auth_verbose = yes
auth_debug = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/users
}
userdb {
  driver = static
  args = uid=$MTA_MAIL_UID gid=$MTA_MAIL_GID home=/nonexistent
}
# no growing delay after failed logins (the wrong-password tests would slow
# down every test after them): auth can't reach anvil's penalty socket
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
	if ! doveconf -c "$d/dovecot.conf" -n >"$MTA_DIR/doveconf.out" 2>&1; then
		_mta_fail "dovecot configuration rejected: $(grep -v "^#" "$MTA_DIR/doveconf.out")"
		return 1
	fi
	if ! timeout 10 dovecot -c "$d/dovecot.conf" >"$MTA_DIR/dovecot-start.log" 2>&1 </dev/null 3>&-; then
		_mta_fail "dovecot did not start"
		return 1
	fi
	MTA_DOVECOT_PIDFILE="$d/run/master.pid"
	_mta_wait "$MTA_WAIT" test -S "$MTA_AUTH_SOCKET" -a -s "$MTA_DOVECOT_PIDFILE" ||
		_mta_fail "dovecot auth socket $MTA_AUTH_SOCKET did not appear"
}

_mta_stop_dovecot() {
	local pidfile=${MTA_DOVECOT_PIDFILE:-$MTA_DIR/dovecot/run/master.pid} pid
	pid=$(cat "$pidfile" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	_mta_kill_wait "$pid"
}

# _mta_kill_wait PID: SIGTERM, wait at most 5 s, then SIGKILL it and the
# children it left
_mta_kill_wait() {
	local pid=$1 kids
	_proc_alive "$pid" || return 0
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ' | tr '\n' ' ')
	kill -TERM "$pid" 2>/dev/null || true
	_mta_wait 5 _mta_dead "$pid" && return 0
	kill -KILL "$pid" 2>/dev/null || true
	local k
	for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
	_mta_wait 2 _mta_dead "$pid" || true
}

_mta_dead() { ! _proc_alive "$1"; }

# ---------------------------------------------------------------------------
# Postfix

# _mta_if_known PARAM VALUE COMMENT: "PARAM = VALUE" when this Postfix
# knows PARAM (postconf warns about unknown ones, which fails the start)
_mta_if_known() {
	if [ -n "$(postconf -dh "$1" 2>/dev/null)" ]; then
		printf '%s\n%s = %s\n' "$3" "$1" "$2"
	fi
}

_mta_start_postfix() {
	local c="$MTA_DIR/postfix" q="$MTA_DIR/spool"
	mkdir -p "$c" "$q" "$MTA_DIR/data" "$MTA_DIR/vmail"
	chown postfix "$MTA_DIR/data"
	chown "$MTA_MAIL_UID:$MTA_MAIL_GID" "$MTA_DIR/vmail"
	chmod 0755 "$q"
	# The mailboxes: t1 ... t$MTA_MAILBOXES and t1b ... (virtual(8) allows
	# no regexp substitution, so they are listed), each a Maildir.
	local i
	for ((i = 1; i <= MTA_MAILBOXES; i++)); do
		printf '%s %s/%s/\n' "t$i@$MTA_DOMAIN" "$MTA_DOMAIN" "t$i" \
			"t${i}b@$MTA_DOMAIN" "$MTA_DOMAIN" "t${i}b"
	done >"$c/vmailbox"
	cat >"$c/main.cf" <<EOF
# private Postfix for envoi's interop tests
compatibility_level = 3.6
queue_directory = $q
data_directory = $MTA_DIR/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $MTA_HOSTNAME
mydomain = $MTA_DOMAIN
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
maillog_file = $MTA_DIR/maillog
maillog_file_prefixes = $MTA_DIR
alias_maps =
alias_database =
biff = no
# what envoi sends is what gets stored: no header rewriting
local_header_rewrite_clients =
$(_mta_if_known smtpd_forbid_bare_newline yes \
		"# be strict about the SMTP framing envoi produces")
$(_mta_if_known smtpd_peername_lookup no "# no DNS for 127.0.0.1")
smtpd_sasl_type = dovecot
smtpd_sasl_path = $MTA_AUTH_SOCKET
smtpd_sasl_authenticated_header = yes
smtpd_tls_chain_files = $PKI/server.key, $PKI/server.pem
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
virtual_mailbox_domains = $MTA_DOMAIN
virtual_mailbox_base = $MTA_DIR/vmail
virtual_mailbox_maps = texthash:$c/vmailbox
virtual_uid_maps = static:$MTA_MAIL_UID
virtual_gid_maps = static:$MTA_MAIL_GID
# nothing leaves this machine
local_transport = error:local delivery disabled
default_transport = error:outside delivery disabled
relay_transport = error:outside delivery disabled
notify_classes =
EOF
	local auth_opts="-o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
	cat >"$c/master.cf" <<EOF
# service type private unpriv chroot wakeup maxproc command + args
127.0.0.1:$MTA_SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  $auth_opts
127.0.0.1:$MTA_SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  $auth_opts
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	# A typo in a parameter name shows up as a warning here.
	postconf -c "$c" -n >/dev/null 2>"$MTA_DIR/postconf.out" || true
	if [ -s "$MTA_DIR/postconf.out" ]; then
		_mta_fail "postconf: $(cat "$MTA_DIR/postconf.out")"
		return 1
	fi
	if ! timeout 30 postfix -c "$c" start >"$MTA_DIR/postfix-start.log" 2>&1 </dev/null 3>&-; then
		_mta_fail "postfix did not start"
		return 1
	fi
	MTA_POSTFIX_PIDFILE="$q/pid/master.pid"
	_mta_wait "$MTA_WAIT" test -s "$MTA_POSTFIX_PIDFILE" ||
		{ _mta_fail "no $MTA_POSTFIX_PIDFILE"; return 1; }
	_mta_wait "$MTA_WAIT" _mta_connects "$MTA_SUBMISSION_PORT" ||
		{ _mta_fail "nothing listens on 127.0.0.1:$MTA_SUBMISSION_PORT"; return 1; }
	_mta_wait "$MTA_WAIT" _mta_connects "$MTA_SMTPS_PORT" ||
		{ _mta_fail "nothing listens on 127.0.0.1:$MTA_SMTPS_PORT"; return 1; }
}

_mta_stop_postfix() {
	local c="$MTA_DIR/postfix" pid
	pid=$(tr -d ' ' 2>/dev/null <"${MTA_POSTFIX_PIDFILE:-$MTA_DIR/spool/pid/master.pid}") || return 0
	[ -n "$pid" ] || return 0
	timeout 10 postfix -c "$c" stop >>"$MTA_DIR/postfix-stop.log" 2>&1 || true
	_mta_wait 10 _mta_dead "$pid" && return 0
	_mta_kill_wait "$pid"
}

# ---------------------------------------------------------------------------
# per-file setup / teardown

# mta_start: configure and start Dovecot, then Postfix.  Needs $PKI
# (common_setup_file).  Sets MTA_DIR, MTA_SUBMISSION_PORT, MTA_SMTPS_PORT.
mta_start() {
	export MTA_DIR="$BATS_FILE_TMPDIR/mta"
	mkdir -p "$MTA_DIR"
	chmod 0755 "$MTA_DIR"
	_mta_searchable "$MTA_DIR" || return 1
	MTA_MAIL_UID=$(id -u nobody) && MTA_MAIL_GID=$(id -g nobody) || return 1
	MTA_SUBMISSION_PORT=$(free_port) && MTA_SMTPS_PORT=$(free_port) || return 1
	while [ "$MTA_SMTPS_PORT" = "$MTA_SUBMISSION_PORT" ]; do
		MTA_SMTPS_PORT=$(free_port)
	done
	export MTA_MAIL_UID MTA_MAIL_GID MTA_SUBMISSION_PORT MTA_SMTPS_PORT
	# lib/common's std_config NAME LISTENER reads these
	local sd
	sd=$(server_dir mta)
	mkdir -p "$sd"
	echo "$MTA_SUBMISSION_PORT" >"$sd/port.starttls"
	echo "$MTA_SMTPS_PORT" >"$sd/port.tls"
	_mta_start_dovecot || return 1
	export MTA_AUTH_SOCKET MTA_DOVECOT_PIDFILE
	_mta_start_postfix || return 1
	export MTA_POSTFIX_PIDFILE
}

mta_stop() {
	[ -n "${MTA_DIR-}" ] || return 0
	_mta_stop_postfix
	_mta_stop_dovecot
}

# mta_setup_file: common_setup_file, packages, then both servers.  When the
# packages are missing and cannot be installed, or when not root (Postfix
# needs root to start), it exports MTA_SKIP with the reason, and mta_setup
# skips every test with it (bats 1.8 cannot skip from setup_file).
mta_setup_file() {
	common_setup_file
	local t0=$SECONDS
	if [ "$(id -u)" -ne 0 ]; then
		export MTA_SKIP="needs root to run a private Postfix instance"
		return 0
	fi
	if ! MTA_SKIP=$(mta_install_packages); then
		export MTA_SKIP
		return 0
	fi
	unset MTA_SKIP
	case $(dovecot --version) in
	2.3.*) ;;
	*)
		# Dovecot 2.4 (Debian 13) has a new configuration syntax
		MTA_SKIP="Dovecot $(dovecot --version | cut -d' ' -f1): lib/mta.bash writes a Dovecot 2.3 configuration"
		export MTA_SKIP
		return 0
		;;
	esac
	MTA_INSTALL_SECONDS=$((SECONDS - t0))
	if [ "$MTA_INSTALL_SECONDS" -gt 1 ]; then
		echo "# mta: postfix/dovecot-core installed in ${MTA_INSTALL_SECONDS} s" >&3
	fi
	t0=$(date +%s%N)
	mta_start || return 1
	MTA_START_MS=$((($(date +%s%N) - t0) / 1000000))
	export MTA_INSTALL_SECONDS MTA_START_MS
	echo "# mta: Postfix $(postconf -dh mail_version) + Dovecot $(dovecot --version | cut -d' ' -f1) started in ${MTA_START_MS} ms (submission 127.0.0.1:$MTA_SUBMISSION_PORT, smtps 127.0.0.1:$MTA_SMTPS_PORT)" >&3
}

# mta_setup: per test, after common_setup
mta_setup() {
	if [ -n "${MTA_SKIP-}" ]; then
		skip "$MTA_SKIP"
	fi
}

mta_teardown_file() {
	mta_stop
	common_teardown_file
}

# ---------------------------------------------------------------------------
# mail and logs

# mta_maildir LOCALPART: the Maildir of LOCALPART@example.test
mta_maildir() { echo "$MTA_DIR/vmail/$MTA_DOMAIN/$1"; }

_mta_count_new() { # maildir n: at least n messages in new/
	local c
	c=$(find "$1/new" -type f 2>/dev/null | wc -l)
	[ "$c" -ge "$2" ]
}

# _mta_newest MAILDIR N: wait (at most $MTA_WAIT s) until MAILDIR holds N
# messages, print the path of the newest
_mta_newest() {
	_mta_wait "$MTA_WAIT" _mta_count_new "$1" "$2" || return 1
	find "$1/new" -type f -printf '%T@ %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-
}

# mta_wait_mail LOCALPART [N]: wait (bounded) until the Maildir holds N
# messages (default 1), print the path of the newest.
mta_wait_mail() {
	_mta_newest "$(mta_maildir "$1")" "${2:-1}" && return 0
	echo "no delivery to $1@$MTA_DOMAIN within ${MTA_WAIT} s; mailq and log:" >&2
	postqueue -c "$MTA_DIR/postfix" -p >&2 2>&1 || true
	tail -n 20 "$MTA_DIR/maillog" >&2
	return 1
}

# mta_mail_count LOCALPART: messages delivered to LOCALPART so far
mta_mail_count() { find "$(mta_maildir "$1")" -path '*/new/*' -type f 2>/dev/null | wc -l; }

# A delivered file is what envoi sent, with the CRLF line ends stored as
# LF, under the header fields Postfix put on top: Return-Path,
# Delivered-To, X-Original-To and its own Received.
_mta_split() { # FILE added|original OUT
	interop_split "$1" "$2" "$3" "by $MTA_HOSTNAME (Postfix)" \
		Return-Path Delivered-To X-Original-To
}

# mta_added_headers FILE: print the fields Postfix added
mta_added_headers() { _mta_split "$1" added /dev/stdout; }

# mta_original FILE OUT: write the rest, the message as envoi sent it, to
# OUT, byte for byte
mta_original() { _mta_split "$1" original "$2"; }

# mta_received FILE: Postfix's Received field of a delivered FILE,
# unfolded onto one line
mta_received() {
	awk -v needle="by $MTA_HOSTNAME (Postfix)" '
	function check() {
		if (f ~ /^Received:/ && index(f, needle)) { print f; found = 1; exit }
	}
	/^$/ { check(); exit }
	/^[ \t]/ { f = f " " $0; next }
	{ check(); f = $0 }
	END { if (!found) check() }' "$1"
}

# mta_queue_id FILE: the Postfix queue ID of a delivered FILE
mta_queue_id() {
	mta_received "$1" | sed -n 's/.*(Postfix) with [A-Z0-9]* id \([0-9A-Za-z]*\).*/\1/p'
}

# mta_received_with FILE: the protocol in Postfix's Received field
# (ESMTPSA: ESMTP, under TLS, authenticated)
mta_received_with() {
	mta_received "$1" | sed -n 's/.*(Postfix) with \([A-Z0-9]*\) id .*/\1/p'
}

_mta_log_has() { grep -q -- "$1" "$MTA_DIR/maillog" 2>/dev/null; }

# mta_wait_log STRING: wait (bounded) until the Postfix log has STRING
mta_wait_log() {
	_mta_wait "$MTA_WAIT" _mta_log_has "$1" && return 0
	echo "no '$1' in the Postfix log within ${MTA_WAIT} s:" >&2
	tail -n 15 "$MTA_DIR/maillog" >&2
	return 1
}

# mta_log_line QID PATTERN: wait (bounded) for the maillog line of QID that
# matches PATTERN (an ERE), print it
mta_log_line() {
	_mta_wait "$MTA_WAIT" _mta_log_grep "$1" "$2" || {
		echo "no maillog line for $1 matching '$2':" >&2
		grep -- "$1" "$MTA_DIR/maillog" >&2
		return 1
	}
	_mta_log_grep "$1" "$2"
}
_mta_log_grep() {
	grep -F -- ": $1: " "$MTA_DIR/maillog" 2>/dev/null | grep -E -- "$2"
}

# mta_sasl_method QID: the SASL mechanism the client of QID authenticated
# with, as Postfix logged it
mta_sasl_method() {
	mta_log_line "$1" 'client=.*sasl_method=' |
		sed -n 's/.*sasl_method=\([^,]*\),.*/\1/p' | head -n 1
}

# mta_log: the Postfix log so far; mta_dovecot_log: Dovecot's
mta_log() { cat "$MTA_DIR/maillog" 2>/dev/null; }
mta_dovecot_log() { cat "$MTA_DIR/dovecot.log" 2>/dev/null; }
