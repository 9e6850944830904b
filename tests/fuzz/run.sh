#!/bin/sh
# run.sh - run the libFuzzer targets for a while and fail if any of them
# finds a crash, a leak, a timeout or a broken property.
#
#	tests/fuzz/run.sh [-s SECONDS] [-j JOBS] [-b BINDIR] [-B BUILDDIR]
#	    [-c CORPUS] [-o CRASHDIR] [TARGET...]
#
# Each target (addr, message, reply, config, aliases, envelope, encode,
# netrc, json; all of them by default) runs for SECONDS (default
# $FUZZ_SECONDS, else 60) on a copy of CORPUS/TARGET (default: corpus/
# next to this script) in a temporary directory, so the checked-in seeds
# never change.  What
# a failing target leaves (crash-*, leak-*, timeout-*, oom-*) is copied
# to CRASHDIR/TARGET (default: crashes/ next to the bin/ directory the
# targets run from, so a build outside the source tree never writes into
# the sources) and its report is shown.  A table of runs, exec/s and coverage ends the output.
#
# Without -b the targets are built first, with "make -C BUILDDIR/tests
# fuzz" (BUILDDIR: the configured tree; default $FUZZ_BUILDDIR, else the
# tree this script is in), and taken from BUILDDIR/tests/fuzz/bin.
# -j runs that many targets at once (default $FUZZ_JOBS, else 1).
# FUZZ_TIMEOUT (default 10) is the seconds one input may take;
# FUZZ_FLAGS adds libFuzzer flags.
set -u

here=$(cd "$(dirname "$0")" && pwd)
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
bindir=
builddir=${FUZZ_BUILDDIR:-}
corpus=$here/corpus
crashes=
all="addr message reply config aliases envelope encode netrc json"

usage() {
	sed -n '4,6p' "$0" | sed 's/^#//' >&2
	exit 2
}

while getopts s:j:b:B:c:o:h opt; do
	case $opt in
	s) seconds=$OPTARG ;;
	j) jobs=$OPTARG ;;
	b) bindir=$OPTARG ;;
	B) builddir=$OPTARG ;;
	c) corpus=$OPTARG ;;
	o) crashes=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
targets=${*:-$all}

case $seconds in ''|*[!0-9]*) echo "run.sh: -s wants seconds" >&2; exit 2 ;; esac
case $jobs in ''|*[!0-9]*|0) echo "run.sh: -j wants a count" >&2; exit 2 ;; esac

if [ -z "$bindir" ]; then
	[ -n "$builddir" ] || builddir=$here/../..
	if [ ! -f "$builddir/tests/Makefile" ]; then
		echo "run.sh: $builddir is not a configured tree; run" \
		    "./configure first, or give -B BUILDDIR or -b BINDIR" >&2
		exit 2
	fi
	make -C "$builddir/tests" fuzz || exit 1
	bindir=$builddir/tests/fuzz/bin
fi
bindir=$(cd "$bindir" && pwd) || exit 2
[ -n "$crashes" ] || crashes=$(dirname "$bindir")/crashes
mkdir -p "$crashes" && crashes=$(cd "$crashes" && pwd) || exit 2
corpus=$(cd "$corpus" && pwd) || exit 2

work=$(mktemp -d "${TMPDIR:-/tmp}/envoi-fuzz-run.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# One target, in the background when -j > 1; leaves $work/T/status.
run_one() {
	t=${1#fuzz_}
	bin=$bindir/fuzz_$t
	d=$work/$t
	mkdir -p "$d/corpus" "$d/artifacts" "$d/tmp"
	if [ ! -x "$bin" ]; then
		echo "no target $bin" >"$d/log"
		echo missing >"$d/status"
		return
	fi
	if [ -d "$corpus/$t" ]; then
		cp "$corpus/$t"/* "$d/corpus/" 2>/dev/null
	fi
	dict=
	[ -f "$here/dict/$t.dict" ] && dict=-dict=$here/dict/$t.dict
	# shellcheck disable=SC2086 # FUZZ_FLAGS and dict are word lists
	TMPDIR=$d/tmp \
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	    "$bin" -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-10}" \
	    -rss_limit_mb=4096 -print_final_stats=1 \
	    -artifact_prefix="$d/artifacts/" $dict ${FUZZ_FLAGS:-} \
	    "$d/corpus" >"$d/log" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$(ls "$d/artifacts")" ]; then
		echo ok >"$d/status"
	else
		echo "FAILED($rc)" >"$d/status"
	fi
}

echo "fuzzing for ${seconds}s each: $targets"
n=0
for t in $targets; do
	if [ "$jobs" -gt 1 ]; then
		run_one "$t" &
		n=$((n + 1))
		if [ $n -ge "$jobs" ]; then
			wait
			n=0
		fi
	else
		echo "== ${t#fuzz_}"
		run_one "$t"
	fi
done
wait

failed=0
for t in $targets; do
	t=${t#fuzz_}
	d=$work/$t
	status=$(cat "$d/status" 2>/dev/null || echo missing)
	[ "$status" = ok ] && continue
	failed=1
	echo
	echo "==== $t: $status"
	if ls "$d/artifacts"/* >/dev/null 2>&1; then
		mkdir -p "$crashes/$t"
		cp "$d/artifacts"/* "$crashes/$t/"
		for a in "$d/artifacts"/*; do
			echo "reproducer: $crashes/$t/$(basename "$a")"
			echo "  rerun: $bindir/fuzz_$t $crashes/$t/$(basename "$a")"
		done
	fi
	# The report: from the first sanitizer or property line on.
	awk '/^(==[0-9]+==|fuzz: |.*runtime error:|ALARM|MS: )/ \
	    { on = 1 } on' "$d/log" | head -n 80
done

echo
printf '%-10s %-12s %12s %8s %7s %8s %8s\n' target result runs exec/s cov ft corpus
for t in $targets; do
	t=${t#fuzz_}
	d=$work/$t
	log=$d/log
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" 2>/dev/null)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" 2>/dev/null)
	last=$(grep -E '^#[0-9]+.* cov: ' "$log" 2>/dev/null | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p')
	printf '%-10s %-12s %12s %8s %7s %8s %8s\n' "$t" \
	    "$(cat "$d/status" 2>/dev/null || echo missing)" "${runs:--}" \
	    "${eps:--}" "${cov:--}" "${ft:--}" "${corp:--}"
done
exit $failed
