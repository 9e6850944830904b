#!/usr/bin/env bash
# bench/run-all.sh - run every benchmark, one after the other.
#
# usage: bench/run-all.sh [--smoke] [--big]
#   --smoke  tiny sizes and 3 rounds each: a check that every script works
#            (a few seconds each; this is what CI runs, no figure asserted)
#   --big    add the 1 GiB cases of bigmsg.sh and compose.sh
# Each script's output is printed as it comes, and kept in
# $BENCH_LOG_DIR/NAME.log when that is set.  The exit status is that of
# the first script that failed (the others still run).
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
rc=0
for name in submit seq1000 queue_flush bigmsg compose base64; do
	printf '\n######## bench/%s.sh %s\n' "$name" "$*"
	args=("$@")
	envs=()
	if [ "$name" = base64 ]; then
		# base64.sh takes a size, not flags; --smoke: 4 MiB, 3 rounds
		args=()
		for a; do
			[ "$a" = --smoke ] && args=(4) && envs=(ROUNDS=3)
		done
	fi
	start=$(date +%s)
	if [ -n "${BENCH_LOG_DIR-}" ]; then
		mkdir -p "$BENCH_LOG_DIR"
		env ${envs[@]+"${envs[@]}"} "$BENCH_DIR/$name.sh" ${args[@]+"${args[@]}"} 2>&1 |
			tee "$BENCH_LOG_DIR/$name.log"
		st=${PIPESTATUS[0]}
	else
		env ${envs[@]+"${envs[@]}"} "$BENCH_DIR/$name.sh" ${args[@]+"${args[@]}"}
		st=$?
	fi
	printf '######## bench/%s.sh: exit %d, %d s\n' "$name" "$st" "$(($(date +%s) - start))"
	[ "$st" -eq 0 ] || { [ "$rc" -ne 0 ] || rc=$st; }
done
exit "$rc"
