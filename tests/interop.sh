#!/bin/sh
# Run envoi's interoperability tests against a real MTA:
#
#   tests/interop.sh [postfix|exim] [bats options...]
#
# postfix (the default): a private Postfix + Dovecot SASL (interop.bats,
#   lib/mta.bash); installs postfix and dovecot-core from Debian when they
#   are missing.
# exim: a private Exim (interop-exim.bats, lib/exim.bash) unpacked from
#   exim4-daemon-light, which is not installed: Debian's MTA packages
#   conflict with each other.
# Both need root.  ENVOI: the binary under test (default: src/envoi next to
# this directory).  The exit status is bats'.
here=$(cd "$(dirname "$0")" && pwd) || exit 1
: "${ENVOI:=$here/../src/envoi}"
case $ENVOI in /*) ;; *) ENVOI="$PWD/$ENVOI" ;; esac
export ENVOI
suite=interop.bats
case ${1-} in
postfix) shift ;;
exim) suite=interop-exim.bats; shift ;;
esac
if [ ! -x "$ENVOI" ]; then
	echo "interop.sh: $ENVOI is not an executable; build envoi first" >&2
	exit 1
fi
exec "${BATS:-bats}" "$@" "$here/$suite"
