#!/usr/bin/env bash
# bench/seq1000.sh - COUNT sequential submissions from a shell loop, one
# process (and one SMTP session) per message: envoi against msmtp, both
# into Postfix's smtp-sink, plaintext, with the same 2 KB message.
#
# A round is one whole loop of COUNT runs; envoi's loop and msmtp's
# alternate for ROUNDS rounds (default 3).  Each contender has its own
# smtp-sink, whose counters show that every message arrived.
#
# usage: bench/seq1000.sh [--smoke] [COUNT]	(COUNT default 1000; --smoke: 20)
# environment: ROUNDS, ENVOI

. "$(dirname "$0")/lib.sh"
bench_init "$@"
need msmtp smtp-sink
COUNT=1000
for a; do
	case $a in [0-9]*) COUNT=$a ;; esac
done
ROUNDS=${ROUNDS:-3}
[ "$SMOKE" = 1 ] && COUNT=20 && ROUNDS=3

machine_line
MSG="$TMP/msg"
make_msg "$MSG" 2048
E_PORT=$(free_port)
start_sink sink-envoi "$E_PORT"
M_PORT=$(free_port)
start_sink sink-msmtp "$M_PORT"
envoi_cfg "$TMP/e.cfg" host=127.0.0.1 port="$E_PORT" tls=off auth=off \
	from=bench@example.org queue=never timeout=30
msmtp_rc "$TMP/m.rc" host=127.0.0.1 port="$M_PORT" tls=off auth=off \
	from=bench@example.org

# loop CMD...: run CMD COUNT times, the message on stdin, stop at the first
# failure (bounded: COUNT iterations, each bounded by timeout(1))
cat >"$TMP/loop.sh" <<'EOF'
n=$1 msg=$2
shift 2
i=0
while [ "$i" -lt "$n" ]; do
	timeout -k 5 60 "$@" <"$msg" || exit 1
	i=$((i + 1))
done
EOF

section "$COUNT sequential submissions, plaintext, smtp-sink ($ROUNDS rounds)"
compare --rounds "$ROUNDS" --warmup 0 --rss 0 \
	--title "$COUNT sequential 2 KB submissions" --tsv "$TMP/results.tsv" \
	--- envoi : /bin/sh "$TMP/loop.sh" "$COUNT" "$MSG" "$ENVOI" -C "$TMP/e.cfg" rcpt@example.net \
	--- msmtp : /bin/sh "$TMP/loop.sh" "$COUNT" "$MSG" msmtp -C "$TMP/m.rc" -a b rcpt@example.net
awk -F'\t' -v n="$COUNT" '{ printf "%-6s %8.3f ms per message (median round / %d)\n", $2, $4 * 1000 / n, n }' \
	"$TMP/results.tsv"

sleep 0.3 # smtp-sink prints its counters as sessions end
read -r es em <<<"$(sink_counts sink-envoi)"
read -r ms mm <<<"$(sink_counts sink-msmtp)"
want=$((ROUNDS * COUNT))
say "smtp-sink for envoi: $em messages in $es sessions; smtp-sink for msmtp: $mm messages in $ms sessions"
say "(each includes one readiness probe session; expected $want messages each)"
[ "$em" -eq "$want" ] && [ "$mm" -eq "$want" ] || die "message count mismatch"
