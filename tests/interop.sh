#!/bin/sh
# Run envoi's interoperability tests against a real Postfix + Dovecot
# (tests/interop.bats; see tests/lib/mta.bash).  Needs root; installs
# postfix and dovecot-core from Debian when they are missing.
#
#   tests/interop.sh [bats options...]
#
# ENVOI: the binary under test (default: src/envoi next to this directory).
# The exit status is bats'.
here=$(cd "$(dirname "$0")" && pwd) || exit 1
: "${ENVOI:=$here/../src/envoi}"
case $ENVOI in /*) ;; *) ENVOI="$PWD/$ENVOI" ;; esac
export ENVOI
if [ ! -x "$ENVOI" ]; then
	echo "interop.sh: $ENVOI is not an executable; build envoi first" >&2
	exit 1
fi
exec "${BATS:-bats}" "$@" "$here/interop.bats"
