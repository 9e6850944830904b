#!/bin/sh
# bench/base64.sh - how fast envoi base64-encodes an attachment, against
# coreutils "base64 -w 76" on the same machine in the same run.
#
# Both encode the same file, already in the page cache, to /dev/null,
# one after the other for ROUNDS rounds; the script prints the median
# input MB/s (10^6 bytes a second) of each and their ratio.  envoi's
# encoder runs through tests/unit/encode_tool, which reads 64 KiB
# blocks and writes CRLF lines as the MIME writer will; make builds it
# with the flags configure chose.  Both run on one CPU when taskset(1)
# is there.
#
# usage: bench/base64.sh [megabytes]	(default 256)
# environment: BUILDDIR (default: the tree holding this script), ROUNDS (5)
set -eu

MB=${1:-256}
ROUNDS=${ROUNDS:-5}
BUILDDIR=${BUILDDIR:-$(cd "$(dirname "$0")/.." && pwd)}
TOOL="$BUILDDIR/tests/unit/encode_tool"

make -s -C "$BUILDDIR/tests" unit/encode_tool >/dev/null
command -v base64 >/dev/null || { echo "base64.sh: coreutils base64 not found" >&2; exit 1; }

PIN=
command -v taskset >/dev/null && PIN="taskset -c 0"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/envoi-b64.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
IN="$TMP/in"
head -c "$((MB * 1024 * 1024))" /dev/urandom >"$IN"
BYTES=$(wc -c <"$IN")
cat "$IN" >/dev/null

# mbps command...: run once on $IN, print input MB/s
mbps() {
	t0=$(date +%s%N)
	$PIN "$@" <"$IN" >/dev/null
	t1=$(date +%s%N)
	awk -v b="$BYTES" -v ns="$((t1 - t0))" 'BEGIN { printf "%.0f\n", b / ns * 1000 }'
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

: >"$TMP/envoi"
: >"$TMP/coreutils"
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	mbps "$TOOL" b64 >>"$TMP/envoi"
	mbps base64 -w 76 >>"$TMP/coreutils"
	i=$((i + 1))
done

E=$(median <"$TMP/envoi")
C=$(median <"$TMP/coreutils")
printf 'input: %s MB (%s bytes), %s rounds, median input MB/s\n' "$MB" "$BYTES" "$ROUNDS"
printf 'cpu:   %s\n' "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || uname -m)"
printf 'envoi     %6s MB/s   (rounds: %s)\n' "$E" "$(tr '\n' ' ' <"$TMP/envoi")"
printf 'coreutils %6s MB/s   (rounds: %s)  %s\n' "$C" "$(tr '\n' ' ' <"$TMP/coreutils")" "$(base64 --version | head -n 1)"
awk -v e="$E" -v c="$C" 'BEGIN { printf "ratio     %.2fx\n", e / c }'
