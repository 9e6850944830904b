#!/bin/sh
# quickstart.sh - build envoi from a fresh clone on Debian 12 and either
# show it working or run the whole test suite.
#
#   ./quickstart.sh demo    install what is missing, build, start a
#                           throwaway SMTP server on 127.0.0.1 with TLS and
#                           AUTH, send a message through it with envoi, and
#                           print what the server received
#   ./quickstart.sh check   install what is missing, build, run make check
#   ./quickstart.sh deps    only install the build and test dependencies
#
# Installing packages needs root; as another user the script uses sudo.
set -eu

# Build: the compiler, autotools and five libraries, and libsecret's
# headers (optional).  Tests: bats, the aiosmtpd test server, certtool,
# mandoc, the real programs that call sendmail (git send-email, s-nail,
# mutt, PHP, cron), and a keyring to store passwords in (GNOME Keyring on
# a private session bus, secret-tool).
PACKAGES="gcc make autoconf automake pkg-config binutils libgnutls28-dev
libgsasl-dev libconfuse-dev libmagic-dev libcurl4-gnutls-dev libmagic-mgc media-types bats
python3 python3-aiosmtpd gnutls-bin mandoc valgrind git git-email
libmailtools-perl s-nail mutt php-cli cron libsecret-1-dev gnome-keyring
libsecret-tools dbus openssl krb5-kdc krb5-admin-server krb5-user python3-gssapi"

top=$(cd "$(dirname "$0")" && pwd)
cd "$top"

deps() {
	missing=""
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "quickstart: installing$missing"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq </dev/null
	# Packages such as cron would start their daemon: not here.
	guard=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d \
		    >/dev/null && $sudo chmod 755 /usr/sbin/policy-rc.d &&
		    guard=1
	fi
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $missing </dev/null
	rc=$?
	[ -z "$guard" ] || $sudo rm -f /usr/sbin/policy-rc.d
	return $rc
}

build() {
	[ -x configure ] || autoreconf -fi
	[ -f Makefile ] || ./configure --enable-werror
	make -j"$(nproc)"
}

demo() {
	tmp=$(mktemp -d)
	pid=""
	trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
	# A throwaway CA and a server certificate for 127.0.0.1.
	printf 'cn = "envoi demo CA"\nca\ncert_signing_key\nexpiration_days = 1\n' \
	    >"$tmp/ca.tmpl"
	printf 'cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\ntls_www_server\nexpiration_days = 1\n' \
	    >"$tmp/srv.tmpl"
	certtool -p --key-type ecdsa --outfile "$tmp/ca.key" 2>/dev/null
	certtool -s --load-privkey "$tmp/ca.key" --template "$tmp/ca.tmpl" \
	    --outfile "$tmp/ca.pem" 2>/dev/null
	certtool -p --key-type ecdsa --outfile "$tmp/srv.key" 2>/dev/null
	certtool -c --load-privkey "$tmp/srv.key" --load-ca-certificate \
	    "$tmp/ca.pem" --load-ca-privkey "$tmp/ca.key" \
	    --template "$tmp/srv.tmpl" --outfile "$tmp/srv.pem" 2>/dev/null
	mkdir "$tmp/srv"
	/usr/bin/python3 tests/server/smtpd.py --dir "$tmp/srv" \
	    --cert "$tmp/srv.pem" --key "$tmp/srv.key" --starttls \
	    --user demo --password 'demo secret' --lifetime 120 &
	pid=$!
	i=0
	while [ ! -f "$tmp/srv/pid" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || { echo "quickstart: server did not start" >&2; exit 1; }
		sleep 0.1
	done
	cat >"$tmp/config" <<CONF
account "demo" {
  host = "127.0.0.1"
  port = $(cat "$tmp/srv/port.starttls")
  tls = "starttls"
  tls_trust_file = "$tmp/ca.pem"
  user = "demo"
  password = "demo secret"
  from = "demo@example.org"
}
CONF
	chmod 600 "$tmp/config"
	echo "== envoi -v -t: STARTTLS + AUTH to 127.0.0.1"
	printf 'From: Demo <demo@example.org>\nTo: Alice <alice@example.org>\nSubject: hello from envoi\n\nIt works.\n' |
	    src/envoi -C "$tmp/config" -v -t
	echo "== envoi exited with status $?"
	echo "== the server received (envelope):"
	cat "$tmp"/srv/mail/0001.json
	echo
	echo "== the server received (message):"
	cat "$tmp"/srv/mail/0001.eml
}

case "${1:-}" in
deps)	deps ;;
demo)	deps; build; demo ;;
check)	deps; build; make check ;;
*)	echo "usage: ./quickstart.sh demo | check | deps" >&2; exit 64 ;;
esac
