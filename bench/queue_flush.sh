#!/usr/bin/env bash
# bench/queue_flush.sh - flushing a queue of COUNT messages: "envoi -q"
# against msmtpq's "msmtp-queue -r", each into its own Postfix smtp-sink,
# plaintext, the same 2 KB message and recipient.
#
# envoi's queue is filled the real way, with COUNT runs of "envoi -odq"
# (timed once, for information).  msmtpq's queue (the Debian msmtp
# package's /usr/libexec/msmtp/msmtpq) is a directory of pairs ID.mail (the
# message as given) and ID.msmtp (msmtp's command-line arguments on one
# line), ID being the date (ccyy-mm-dd-hh.mm.ss) with "-N" appended to
# tell apart mails of the same second; "msmtp-queue -r" runs
# "msmtp $(cat ID.msmtp) < ID.mail" for every ID.mail and removes the pair
# when msmtp succeeds.  One entry is queued by msmtpq itself (its send
# fails: the sink is not up yet) and the other COUNT-1 are copies of it
# under new IDs, which is what msmtpq would have written, minus a minute
# of waiting.  msmtpq runs with EMAIL_CONN_TEST=x (its default connection
# test pings debian.org: not on this machine) and EMAIL_QUEUE_QUIET=t, and
# logs to a file as it does by default.
#
# dma (the DragonFly Mail Agent, Debian's dma package, downloaded and
# unpacked privately and run in a private mount namespace: see dma_get in
# bench/lib.sh) fills its queue the real way too: COUNT runs of "dma -f
# SENDER RCPT" with DEFER in its dma.conf (queue only, deliver on "dma
# -q"), same message.  "dma -q" forks one process per queued message, all
# at once, each with its own SMTP session, and returns before they are
# done (without -D it even daemonizes first): it is timed as "dma -D -q"
# under bench/subreap.py, which waits for every forked worker, so the time
# is that of the whole flush.  dma's "cpu" figure is low: dma ignores
# SIGCHLD, so the kernel reaps the workers that end while it runs and
# their CPU time is counted nowhere.  dma removes a delivered entry's two
# files without fsyncing the directory (envoi does: see fsync-floor).
# No root, no apt-get download, or no overlay over /etc: dma is skipped
# with the reason.
#
# Another contender, fsync-floor, is the cost of envoi's durability rule
# alone: in a copy of envoi's queue, remove the two files of each entry and
# fsync the directory after each, as envoi -q does after each delivery
# (Python, self-timed: no SMTP at all).
#
# Before every timed flush the queue directory is restored from a copy
# and synced (not timed).  ROUNDS rounds (default 3), alternating; the
# sinks count sessions and messages: envoi should use one session per
# flush, msmtpq and dma one per message.
#
# usage: bench/queue_flush.sh [--smoke] [COUNT]	(COUNT default 1000; --smoke: 20)
# environment: ROUNDS, ENVOI

. "$(dirname "$0")/lib.sh"
bench_init "$@"
need msmtp msmtpq msmtp-queue smtp-sink
COUNT=1000
for a; do
	case $a in [0-9]*) COUNT=$a ;; esac
done
ROUNDS=${ROUNDS:-3}
[ "$SMOKE" = 1 ] && COUNT=20 && ROUNDS=3

machine_line
say "queue directories on: $(df -T "$TMP" | awk 'NR == 2 { print $2 " (" $1 ")" }')"
MSG="$TMP/msg"
make_msg "$MSG" 2048
RCPT=rcpt@example.net
E_PORT=$(free_port)
M_PORT=$(free_port)

EQ="$TMP/envoi-queue"
envoi_cfg "$TMP/e.cfg" host=127.0.0.1 port="$E_PORT" tls=off auth=off \
	from=bench@example.org queue=on-failure queue_dir="$EQ" timeout=30
msmtp_rc "$TMP/m.rc" host=127.0.0.1 port="$M_PORT" tls=off auth=off \
	from=bench@example.org

# --- envoi's queue: COUNT x envoi -odq
section "filling envoi's queue: $COUNT x envoi -odq"
t0=$(date +%s%N)
for ((i = 0; i < COUNT; i++)); do
	timeout -k 5 60 "$ENVOI" -C "$TMP/e.cfg" -odq "$RCPT" <"$MSG" 2>/dev/null ||
		die "envoi -odq failed"
done
t1=$(date +%s%N)
n=$(find "$EQ" -maxdepth 1 -name '*.env' | wc -l)
[ "$n" -eq "$COUNT" ] || die "envoi queued $n of $COUNT"
awk -v ns="$((t1 - t0))" -v n="$COUNT" \
	'BEGIN { printf "queued %d in %.3f s (%.3f ms each, shell loop included)\n", n, ns / 1e9, ns / 1e6 / n }'
mv "$EQ" "$TMP/envoi-queue.orig"

# --- msmtpq's queue
export PATH="$MSMTPQ_DIR:$PATH"
export MSMTPQ_Q="$TMP/msmtp-queue" MSMTPQ_LOG="$TMP/msmtpq.log"
export EMAIL_CONN_TEST=x EMAIL_QUEUE_QUIET=t
MQ=$MSMTPQ_Q
mkdir -m 700 "$MQ"
# the sink is not up yet: msmtp fails and msmtpq keeps the mail
timeout -k 5 60 "$MSMTPQ_DIR/msmtpq" -C "$TMP/m.rc" -a b "$RCPT" <"$MSG" 2>/dev/null || true
first=$(find "$MQ" -maxdepth 1 -name '*.mail' | head -n 1)
[ -n "$first" ] && [ -s "${first%.mail}.msmtp" ] || die "msmtpq did not queue the mail"
cmp -s "$first" "$MSG" || die "msmtpq's .mail differs from the message"
base=$(basename "$first" .mail)
for ((i = 1; i < COUNT; i++)); do
	cp "$first" "$MQ/$base-$i.mail"
	cp "${first%.mail}.msmtp" "$MQ/$base-$i.msmtp"
done
n=$(find "$MQ" -maxdepth 1 -name '*.mail' | wc -l)
[ "$n" -eq "$COUNT" ] || die "msmtpq queue has $n of $COUNT"
say "msmtpq queue entry: $base.mail + $base.msmtp ($(cat "${first%.mail}.msmtp"))"
mv "$MQ" "$TMP/msmtp-queue.orig"
: >"$MSMTPQ_LOG"

# --- dma's queue: COUNT x dma with DEFER
DMA=()
if dma_get; then
	D_PORT=$(free_port)
	dma_conf "$D_PORT" DEFER
	section "filling dma's queue: $COUNT x dma -f bench@example.org $RCPT (dma $DMA_VERSION, DEFER)"
	t0=$(date +%s%N)
	# one namespace for the loop; every run bounded
	# shellcheck disable=SC2016 # for the inner sh
	"${DMA_WRAP[@]}" /bin/sh -c '
		i=0
		while [ "$i" -lt "$1" ]; do
			timeout -k 5 60 "$2" -f bench@example.org "$3" <"$4" || exit 1
			i=$((i + 1))
		done' sh "$COUNT" "$DMA_BIN" "$RCPT" "$MSG" || die "dma failed to queue"
	t1=$(date +%s%N)
	n=$(find "$DMA_SPOOL" -maxdepth 1 -name 'Q*' | wc -l)
	[ "$n" -eq "$COUNT" ] || die "dma queued $n of $COUNT"
	awk -v ns="$((t1 - t0))" -v n="$COUNT" \
		'BEGIN { printf "queued %d in %.3f s (%.3f ms each, shell loop included)\n", n, ns / 1e9, ns / 1e6 / n }'
	first=$(find "$DMA_SPOOL" -maxdepth 1 -name 'Q*' -print -quit)
	say "dma queue entry: $(basename "$first") ($(grep -c . "$first") lines) + M${first##*/Q} ($(wc -c <"${first%/Q*}/M${first##*/Q}") bytes)"
	mv "$DMA_SPOOL" "$TMP/dma-spool.orig"
	DMA=(--- dma "setup=rm -rf '$DMA_SPOOL' && cp -a '$TMP/dma-spool.orig' '$DMA_SPOOL' && sync"
		"check=! ls '$DMA_SPOOL'/Q* >/dev/null 2>&1" rss=0 report="$TMP/dma.time"
		: "$PY" -B "$BENCH_DIR/subreap.py" --report "$TMP/dma.time" "$RUN_TIMEOUT"
		"${DMA_WRAP[@]}" "$DMA_BIN" -D -q)
else
	section "dma skipped: $DMA_WHY"
fi

start_sink sink-envoi "$E_PORT"
start_sink sink-msmtpq "$M_PORT"
[ ${#DMA[@]} -eq 0 ] || start_sink sink-dma "$D_PORT"

# The cost of envoi's durability rule alone: for every entry of a copy of
# envoi's queue, remove its two files and fsync the directory, as envoi -q
# does after each delivery; self-timed.
FQ="$TMP/fsync-floor"
cat >"$TMP/fsync_floor.py" <<'EOF'
import os, sys, time
d, report = sys.argv[1], sys.argv[2]
fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
ids = sorted(n[:-4] for n in os.listdir(fd) if n.endswith(".env"))
t0 = time.perf_counter()
for i in ids:
    os.unlink(i + ".env", dir_fd=fd)
    os.unlink(i + ".msg", dir_fd=fd)
    os.fsync(fd)
t1 = time.perf_counter()
open(report, "w").write("%.9f\n" % (t1 - t0))
EOF

section "flush $COUNT queued messages ($ROUNDS rounds)"
compare --rounds "$ROUNDS" --warmup 0 --title "flush of $COUNT queued 2 KB messages" \
	--tsv "$TMP/results.tsv" \
	--- envoi "setup=rm -rf '$EQ' && cp -a '$TMP/envoi-queue.orig' '$EQ' && sync" \
	"check=! ls '$EQ'/*.env >/dev/null 2>&1" \
	: "$ENVOI" -C "$TMP/e.cfg" -q \
	--- msmtpq "setup=rm -rf '$MQ' && cp -a '$TMP/msmtp-queue.orig' '$MQ' && sync" \
	"check=! ls '$MQ'/*.mail >/dev/null 2>&1" rss=0 \
	: "$MSMTPQ_DIR/msmtp-queue" -r \
	${DMA[@]+"${DMA[@]}"} \
	--- fsync-floor "setup=rm -rf '$FQ' && cp -a '$TMP/envoi-queue.orig' '$FQ' && sync" \
	"check=! ls '$FQ'/*.env >/dev/null 2>&1" rss=0 report="$TMP/fsync.time" \
	: "$PY" -B "$TMP/fsync_floor.py" "$FQ" "$TMP/fsync.time"
awk -F'\t' -v n="$COUNT" '{ printf "%-11s %8.3f ms per message (median / %d)\n", $2, $4 * 1000 / n, n }' \
	"$TMP/results.tsv"

sleep 0.3
read -r es em <<<"$(sink_counts sink-envoi)"
read -r ms mm <<<"$(sink_counts sink-msmtpq)"
say "smtp-sink for envoi:  $em messages in $es sessions ($((ROUNDS + 1)) flushes, the peak-RSS run included, + 1 probe session)"
say "smtp-sink for msmtpq: $mm messages in $ms sessions ($ROUNDS flushes + 1 probe session)"
[ "$em" -eq $(((ROUNDS + 1) * COUNT)) ] && [ "$mm" -eq $((ROUNDS * COUNT)) ] ||
	die "message count mismatch"
if [ ${#DMA[@]} -ne 0 ]; then
	read -r ds dm <<<"$(sink_counts sink-dma)"
	say "smtp-sink for dma:    $dm messages in $ds sessions ($ROUNDS flushes + 1 probe session)"
	[ "$dm" -eq $((ROUNDS * COUNT)) ] || die "dma: message count mismatch"
fi
