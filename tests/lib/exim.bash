# A second real MTA for envoi's interoperability tests: Exim from Debian,
# run from a private copy of its package, with a private configuration and
# no system service.  Load after lib/common and lib/mta (whose generic
# helpers, _mta_wait and friends, it uses):
#
#   load lib/common
#   load lib/mta
#   load lib/exim
#
# Debian's MTA packages conflict with each other (postfix, exim4 and
# opensmtpd all provide mail-transport-agent), so Exim is not installed:
# exim4-daemon-light is downloaded with apt-get download and unpacked with
# dpkg-deb -x into $EXIM_CACHE/<version> (kept for the next run), and its
# libraries are installed when missing (plain libraries, no conflicts).
# The binary wants its compiled-in user, Debian-exim: when the system has
# none, the daemon runs in a mount namespace (unshare -m) where private
# copies of /etc/passwd and /etc/group, with that user added, are bound
# over the real ones.  Nothing outside $BATS_FILE_TMPDIR/exim and the cache
# is written.
#
# Started by root with -C, Exim gives up root for good and runs as
# Debian-exim; so it listens on high ports, and delivers as that user:
#
#   submission  127.0.0.1:<free port>  STARTTLS, then AUTH
#   smtps       127.0.0.1:<free port>  implicit TLS, then AUTH
#
# AUTH (PLAIN, LOGIN: plaintext authenticators; CRAM-MD5: cram_md5) is
# offered only under TLS and required before MAIL.  Mail for
# tN@example.test and tNb@example.test (N = 1..100) goes to the Maildir
# $EXIM_DIR/vmail/example.test/tN[b]/; other recipients are refused.  The
# ports are written to $(server_dir exim)/port.starttls and port.tls, so
# that std_config exim starttls works.
#
# Per test file: exim_setup_file, exim_setup (per test: skip with the reason
# when Exim could not be had), exim_teardown_file (stops it by PID).

# status, output and stderr are set by bats' run
# shellcheck disable=SC2154

EXIM_CACHE=${ENVOI_INTEROP_CACHE:-/var/cache/envoi-interop}
EXIM_PACKAGE=exim4-daemon-light
EXIM_USER=Debian-exim
# the shared libraries exim4-daemon-light depends on (Debian 12)
EXIM_LIBS="libc6 libcrypt1 libdb5.3 libgnutls-dane0 libgnutls30 libidn12
libidn2-0 libnsl2 libpcre2-8-0"

# ---------------------------------------------------------------------------
# the package

_exim_apt() { # apt-get arguments...: bounded, logged, non-interactive
	DEBIAN_FRONTEND=noninteractive timeout 300 apt-get -qq "$@" \
		>>"$BATS_FILE_TMPDIR/apt.log" 2>&1 </dev/null
}

# _exim_missing_libs BINARY: the shared libraries BINARY cannot find
_exim_missing_libs() { ldd "$1" 2>/dev/null | awk '/not found/ { print $1 }'; }

# exim_install: unpack exim4-daemon-light into the cache unless it is there
# already; set EXIM_BIN.  Prints the reason and fails when it cannot.
exim_install() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "needs root to run a private Exim"
		return 1
	fi
	if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null ||
		! command -v unshare >/dev/null; then
		echo "needs apt-get, dpkg-deb and unshare"
		return 1
	fi
	local ver
	ver=$(apt-cache policy "$EXIM_PACKAGE" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
	if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
		_exim_apt update || true
		ver=$(apt-cache policy "$EXIM_PACKAGE" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
	fi
	if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
		echo "apt knows no $EXIM_PACKAGE package"
		return 1
	fi
	local dir="$EXIM_CACHE/$EXIM_PACKAGE-${ver//[:\/]/_}"
	EXIM_BIN="$dir/usr/sbin/exim4"
	if [ ! -x "$EXIM_BIN" ]; then
		if [ -n "${ENVOI_MTA_NO_INSTALL-}" ]; then
			echo "$EXIM_PACKAGE not unpacked in $EXIM_CACHE (ENVOI_MTA_NO_INSTALL set)"
			return 1
		fi
		local dl="$BATS_FILE_TMPDIR/exim-deb" deb
		mkdir -p "$dl" "$EXIM_CACHE"
		chmod 0777 "$dl" # apt-get download runs as _apt
		if ! (cd "$dl" && _exim_apt download "$EXIM_PACKAGE=$ver"); then
			(cd "$dl" && _exim_apt update && _exim_apt download "$EXIM_PACKAGE=$ver") || {
				echo "cannot download $EXIM_PACKAGE $ver: $(tail -n 2 "$BATS_FILE_TMPDIR/apt.log" | tr '\n' ' ')"
				return 1
			}
		fi
		deb=$(find "$dl" -name "${EXIM_PACKAGE}_*.deb" | head -n 1)
		# unpack beside, then rename: a cache entry is whole or absent
		rm -rf "$dir.new"
		if ! dpkg-deb -x "$deb" "$dir.new" || [ ! -x "$dir.new/usr/sbin/exim4" ]; then
			echo "cannot unpack $deb"
			return 1
		fi
		rm -rf "$dir"
		mv "$dir.new" "$dir"
	fi
	if [ -n "$(_exim_missing_libs "$EXIM_BIN")" ]; then
		# shellcheck disable=SC2086 # a list of package names
		_exim_apt install -y --no-install-recommends $EXIM_LIBS ||
			{ _exim_apt update && _exim_apt install -y --no-install-recommends $EXIM_LIBS; } || true
		local miss
		miss=$(_exim_missing_libs "$EXIM_BIN")
		if [ -n "$miss" ]; then
			echo "exim4 needs libraries that could not be installed: $miss"
			return 1
		fi
	fi
	EXIM_VERSION=$ver
}

# ---------------------------------------------------------------------------
# the user, and the namespace that has it

# _exim_free_id: a uid and gid that neither the passwd nor the group file uses
_exim_free_id() {
	local i
	for ((i = 64990; i > 64000; i--)); do
		if ! getent passwd "$i" >/dev/null && ! getent group "$i" >/dev/null; then
			echo "$i"
			return 0
		fi
	done
	return 1
}

# _exim_user: set EXIM_UID/EXIM_GID, and EXIM_ETC to a directory with
# passwd and group files that have $EXIM_USER when the system has none
_exim_user() {
	EXIM_ETC=
	if getent passwd "$EXIM_USER" >/dev/null; then
		EXIM_UID=$(id -u "$EXIM_USER") && EXIM_GID=$(id -g "$EXIM_USER")
		return
	fi
	EXIM_UID=$(_exim_free_id) || return 1
	EXIM_GID=$EXIM_UID
	EXIM_ETC="$EXIM_DIR/etc"
	mkdir -p "$EXIM_ETC"
	cp /etc/passwd /etc/group "$EXIM_ETC/"
	printf '%s:x:%s:%s:envoi interop tests:/nonexistent:/usr/sbin/nologin\n' \
		"$EXIM_USER" "$EXIM_UID" "$EXIM_GID" >>"$EXIM_ETC/passwd"
	getent group "$EXIM_USER" >/dev/null ||
		printf '%s:x:%s:\n' "$EXIM_USER" "$EXIM_GID" >>"$EXIM_ETC/group"
	chmod 0644 "$EXIM_ETC/passwd" "$EXIM_ETC/group"
}

# ---------------------------------------------------------------------------
# the daemon

_exim_fail() { # message: report with the logs
	echo "exim: $*" >&2
	local f
	for f in "$EXIM_DIR/start.log" "$EXIM_DIR/log/mainlog" "$EXIM_DIR/log/paniclog"; do
		[ -s "$f" ] || continue
		echo "--- $f:" >&2
		tail -n 30 "$f" >&2
	done
	return 1
}

_exim_config() {
	local d=$EXIM_DIR i
	for ((i = 1; i <= MTA_MAILBOXES; i++)); do
		printf 't%s: t%s\nt%sb: t%sb\n' "$i" "$i" "$i" "$i"
	done >"$d/mailboxes"
	# Exim expands $... in its configuration: \$ below is Exim's
	cat >"$d/exim.conf" <<EOF
# private Exim for envoi's interop tests
exim_path = $EXIM_BIN
spool_directory = $d/spool
log_file_path = $d/log/%slog
pid_file_path = $d/exim.pid
primary_hostname = $MTA_HOSTNAME
qualify_domain = $MTA_DOMAIN
domainlist local_domains = $MTA_DOMAIN
local_interfaces = <; 127.0.0.1.$EXIM_SUBMISSION_PORT ; 127.0.0.1.$EXIM_SMTPS_PORT
tls_on_connect_ports = $EXIM_SMTPS_PORT
tls_certificate = $d/tls/server.pem
tls_privatekey = $d/tls/server.key
tls_advertise_hosts = *
# AUTH only under TLS
auth_advertise_hosts = \${if def:tls_in_cipher {*}{}}
host_lookup =
rfc1413_hosts =
message_size_limit = 50M
keep_environment =
log_selector = +incoming_interface
acl_smtp_mail = acl_mail
acl_smtp_rcpt = acl_rcpt

begin acl
acl_mail:
  deny message = 530 authentication required
       !authenticated = *
  accept
acl_rcpt:
  accept local_parts = lsearch;$d/mailboxes
         domains = +local_domains
  deny message = unknown user

begin routers
vmail:
  driver = accept
  domains = +local_domains
  local_parts = lsearch;$d/mailboxes
  transport = maildir

begin transports
maildir:
  driver = appendfile
  directory = $d/vmail/$MTA_DOMAIN/\$local_part_data
  maildir_format
  create_directory
  delivery_date_add
  envelope_to_add
  return_path_add
  user = $EXIM_UID
  group = $EXIM_GID

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if and {{eq{\$auth2}{$AUTH_USER}}{eq{\$auth3}{$AUTH_PASS}}}}
  server_set_id = \$auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = \${if and {{eq{\$auth1}{$AUTH_USER}}{eq{\$auth2}{$AUTH_PASS}}}}
  server_set_id = \$auth1
cram:
  driver = cram_md5
  public_name = CRAM-MD5
  server_secret = \${if eq{\$auth1}{$AUTH_USER}{$AUTH_PASS}fail}
  server_set_id = \$auth1
EOF
	chmod 0644 "$d/exim.conf"
}

# _exim_cmd ARGS...: Exim with our configuration, in a mount namespace
# with the private passwd and group files when there are any.  unshare and
# sh exec into Exim, so that "_exim_cmd ... &" leaves Exim's PID in $!
# (the command is built into an array: a function in the background would
# run in a subshell of its own).
_exim_argv() {
	local binds=
	if [ -n "$EXIM_ETC" ]; then
		binds="mount --bind '$EXIM_ETC/passwd' /etc/passwd && mount --bind '$EXIM_ETC/group' /etc/group && "
	fi
	EXIM_ARGV=(unshare -m --propagation private sh -c
		"${binds}exec \"\$0\" -C \"\$@\"" "$EXIM_BIN" "$EXIM_DIR/exim.conf")
}
_exim_cmd() {
	local EXIM_ARGV
	_exim_argv
	"${EXIM_ARGV[@]}" "$@"
}

exim_start() {
	export EXIM_DIR="$BATS_FILE_TMPDIR/exim"
	local d=$EXIM_DIR
	rm -rf "$d"
	mkdir -p "$d/spool" "$d/log" "$d/vmail" "$d/tls"
	chmod 0755 "$d"
	_mta_searchable "$d" || return 1
	_exim_user || { _exim_fail "no free uid for $EXIM_USER"; return 1; }
	EXIM_SUBMISSION_PORT=$(free_port) && EXIM_SMTPS_PORT=$(free_port) || return 1
	while [ "$EXIM_SMTPS_PORT" = "$EXIM_SUBMISSION_PORT" ]; do
		EXIM_SMTPS_PORT=$(free_port)
	done
	export EXIM_SUBMISSION_PORT EXIM_SMTPS_PORT EXIM_UID EXIM_GID EXIM_ETC
	local sd
	sd=$(server_dir exim)
	mkdir -p "$sd"
	echo "$EXIM_SUBMISSION_PORT" >"$sd/port.starttls"
	echo "$EXIM_SMTPS_PORT" >"$sd/port.tls"
	# Exim reads the key after it has given up root
	cp "$PKI/server.pem" "$PKI/server.key" "$d/tls/"
	chmod 0600 "$d/tls/server.key"
	chown -R "$EXIM_UID:$EXIM_GID" "$d/spool" "$d/log" "$d/vmail" "$d/tls"
	_exim_config
	# -bdf: the daemon stays in the foreground, so $! is its PID (see
	# _exim_argv); fd 3 is bats' and must not be inherited
	local EXIM_ARGV
	_exim_argv
	"${EXIM_ARGV[@]}" -bdf </dev/null >"$d/start.log" 2>&1 3>&- &
	EXIM_PID=$!
	export EXIM_PID
	_mta_wait "$MTA_WAIT" _mta_connects "$EXIM_SUBMISSION_PORT" ||
		{ _exim_fail "nothing listens on 127.0.0.1:$EXIM_SUBMISSION_PORT"; return 1; }
	_mta_wait "$MTA_WAIT" _mta_connects "$EXIM_SMTPS_PORT" ||
		{ _exim_fail "nothing listens on 127.0.0.1:$EXIM_SMTPS_PORT"; return 1; }
	_proc_alive "$EXIM_PID" || { _exim_fail "exim (PID $EXIM_PID) exited"; return 1; }
	# the PID teardown kills is the daemon's
	[ "$(readlink "/proc/$EXIM_PID/exe")" = "$(readlink -f "$EXIM_BIN")" ] ||
		{ _exim_fail "PID $EXIM_PID is not exim"; return 1; }
}

exim_stop() {
	[ -n "${EXIM_PID-}" ] || return 0
	_mta_kill_wait "$EXIM_PID"
}

exim_setup_file() {
	common_setup_file
	local t0=$SECONDS
	if ! exim_install >"$BATS_FILE_TMPDIR/exim-skip"; then
		EXIM_SKIP=$(cat "$BATS_FILE_TMPDIR/exim-skip")
		export EXIM_SKIP
		return 0
	fi
	unset EXIM_SKIP
	EXIM_INSTALL_SECONDS=$((SECONDS - t0))
	t0=$(date +%s%N)
	exim_start || return 1
	EXIM_START_MS=$((($(date +%s%N) - t0) / 1000000))
	export EXIM_BIN EXIM_VERSION EXIM_INSTALL_SECONDS EXIM_START_MS
	echo "# exim: $EXIM_PACKAGE $EXIM_VERSION ready in ${EXIM_INSTALL_SECONDS} s, started in ${EXIM_START_MS} ms (submission 127.0.0.1:$EXIM_SUBMISSION_PORT, smtps 127.0.0.1:$EXIM_SMTPS_PORT${EXIM_ETC:+, private $EXIM_USER uid $EXIM_UID})" >&3
}

exim_setup() {
	if [ -n "${EXIM_SKIP-}" ]; then
		skip "$EXIM_SKIP"
	fi
}

exim_teardown_file() {
	exim_stop
	common_teardown_file
}

# ---------------------------------------------------------------------------
# mail and logs

exim_maildir() { echo "$EXIM_DIR/vmail/$MTA_DOMAIN/$1"; }

exim_mail_count() { find "$(exim_maildir "$1")" -path '*/new/*' -type f 2>/dev/null | wc -l; }

# exim_wait_mail LOCALPART [N]: wait (bounded) until the Maildir holds N
# messages (default 1), print the path of the newest
exim_wait_mail() {
	_mta_newest "$(exim_maildir "$1")" "${2:-1}" && return 0
	echo "no delivery to $1@$MTA_DOMAIN within ${MTA_WAIT} s; queue and log:" >&2
	_exim_cmd -bp >&2 || true
	tail -n 20 "$EXIM_DIR/log/mainlog" >&2
	return 1
}

# What Exim puts on top of a delivered message: the fields its maildir
# transport adds (return_path_add, envelope_to_add, delivery_date_add) and
# its own Received.
_exim_split() { # FILE added|original OUT
	interop_split "$1" "$2" "$3" "by $MTA_HOSTNAME with " \
		Return-path Envelope-to Delivery-date
}
exim_added_headers() { _exim_split "$1" added /dev/stdout; }
exim_original() { _exim_split "$1" original "$2"; }

# exim_received FILE: Exim's Received field, unfolded onto one line
exim_received() {
	exim_added_headers "$1" | awk '
	/^[ \t]/ { if (r) { sub(/^[ \t]+/, ""); f = f " " $0 }; next }
	{ if (r) exit; r = /^Received:/; f = $0 }
	END { if (r) print f }'
}

# exim_msgid FILE: Exim's message ID, from its Received field
exim_msgid() { exim_received "$1" | sed -n 's/.* id \([0-9A-Za-z-]*\).*/\1/p'; }

_exim_log_grep() { grep -E -- "$1" "$EXIM_DIR/log/mainlog" 2>/dev/null; }

# exim_log_line PATTERN: wait (bounded) for a mainlog line matching PATTERN
# (an ERE), print it
exim_log_line() {
	_mta_wait "$MTA_WAIT" _exim_log_grep "$1" >/dev/null || {
		echo "no Exim log line matching '$1':" >&2
		tail -n 15 "$EXIM_DIR/log/mainlog" >&2
		return 1
	}
	_exim_log_grep "$1"
}
