#!/usr/bin/env bash
# bench/bigmsg.sh - submitting a big message (100 MiB; 1 GiB too with
# --big): envoi against msmtp, and against the floor, the least any client
# could do (bench/floor.py: the same SMTP dialogue, the message already in
# wire form, moved with socket.sendfile() in the clear, with sendall() of
# 256 KiB blocks under TLS).
#
#   plaintext, smtp-sink   no TLS, into Postfix's smtp-sink; smtp-sink
#           reads DATA slowly (~150 MB/s here), so every client, the floor
#           included, is held back by it
#   plaintext, tls-sink -m plain   no TLS, into bench/tls-sink without TLS,
#           which reads 64 KiB blocks and scans them with memchr: a sink
#           that is not the bottleneck (msmtp left out at 1 GiB)
#   STARTTLS + AUTH PLAIN, one-CA trust file, into bench/tls-sink
#
# The message is 76-column text lines (what a big attachment is once
# base64-encoded) with LF line ends, as a local program would hand it
# over; both clients turn them into CRLF.  It is read once beforehand so
# that it is in the page cache.  MB/s is the message's size (10^6 bytes)
# over the median wall time.  Peak RSS is VmHWM (tests/lib/maxrss.py).
# The floor's time runs from its connect() to the reply to QUIT (no
# interpreter start-up).
#
# usage: bench/bigmsg.sh [--smoke] [--big]   (--smoke: 2 MiB, 3 rounds;
#        --big: 1 GiB as well, 2 rounds, no warm-up)
# environment: ROUNDS (default 5), ENVOI

. "$(dirname "$0")/lib.sh"
bench_init "$@"
need msmtp smtp-sink certtool cc
ROUNDS=${ROUNDS:-5}
SIZES=(100)
[ "$BIG" = 1 ] && SIZES+=(1024)
[ "$SMOKE" = 1 ] && SIZES=(2) && ROUNDS=3

machine_line
make_pki "$TMP/pki"
RCPT=rcpt@example.net
USER_=alice
PASS_=Tr0ub4dor-x7q
SINK=$(free_port)
start_sink sink "$SINK"
FAST=$(free_port)
start_tls_sink fast "$FAST" plain
STLS=$(free_port)
start_tls_sink tls "$STLS" starttls -u "$USER_" -P "$PASS_"

envoi_cfg "$TMP/e.plain" host=127.0.0.1 port="$SINK" tls=off auth=off \
	from=bench@example.org queue=never timeout=120
msmtp_rc "$TMP/m.plain" host=127.0.0.1 port="$SINK" tls=off auth=off \
	from=bench@example.org timeout=120
envoi_cfg "$TMP/e.fast" host=127.0.0.1 port="$FAST" tls=off auth=off \
	from=bench@example.org queue=never timeout=120
msmtp_rc "$TMP/m.fast" host=127.0.0.1 port="$FAST" tls=off auth=off \
	from=bench@example.org timeout=120
envoi_cfg "$TMP/e.tls" host=127.0.0.1 port="$STLS" tls=starttls tls_trust_file="$PKI/ca.pem" \
	auth=on user="$USER_" password="$PASS_" from=bench@example.org queue=never timeout=120 \
	tls_session_cache=false
msmtp_rc "$TMP/m.tls" host=127.0.0.1 port="$STLS" tls=on tls_starttls=on \
	tls_trust_file="$PKI/ca.pem" auth=on user="$USER_" password="$PASS_" \
	from=bench@example.org timeout=120

FLOOR="$BENCH_DIR/floor.py"
# one CASE TITLE PORT ECFG MCFG [floor options]: envoi, msmtp (unless MCFG
# is -) and the floor, ROUNDS_ rounds
one() {
	local title=$1 port=$2 ecfg=$3 mcfg=$4
	shift 4
	local m=()
	[ "$mcfg" != - ] && m=(--- msmtp stdin="$MSG" ${MSMTP_RSS:+"$MSMTP_RSS"} : msmtp -C "$mcfg" -a b "$RCPT")
	section "$title ($ROUNDS_ rounds)"
	compare --rounds "$ROUNDS_" --warmup "$WARMUP_" --bytes "$BYTES" --title "$title" \
		--tsv "$TMP/results.tsv" \
		--- envoi stdin="$MSG" : "$ENVOI" -C "$ecfg" "$RCPT" \
		${m[@]+"${m[@]}"} \
		--- floor rss=0 report="$TMP/floor.time" : "$PY" -B "$FLOOR" --port "$port" \
		--file "$WIRE" --report "$TMP/floor.time" "$@"
}

for mb in "${SIZES[@]}"; do
	MSG="$TMP/big.$mb"
	WIRE="$TMP/big.$mb.wire"
	make_big "$MSG" "$mb"
	# wire form: CRLF line ends (no line starts with a dot: nothing to stuff)
	sed 's/$/\r/' "$MSG" >"$WIRE"
	cat "$MSG" "$WIRE" >/dev/null
	BYTES=$(stat -c %s "$MSG")
	ROUNDS_=$ROUNDS WARMUP_=1 MSMTP_RSS=
	if [ "$mb" -ge 1024 ]; then
		# msmtp needs ~1 minute a GiB: 2 rounds, no warm-up, no RSS run
		ROUNDS_=2 WARMUP_=0 MSMTP_RSS=rss=0
	fi
	say ""
	say "#### $mb MiB message ($BYTES bytes)"
	one "$mb MiB plaintext, smtp-sink" "$SINK" "$TMP/e.plain" "$TMP/m.plain"
	one "$mb MiB plaintext, tls-sink -m plain (a faster sink)" "$FAST" "$TMP/e.fast" \
		"$([ "$mb" -ge 1024 ] && echo - || echo "$TMP/m.fast")"
	one "$mb MiB STARTTLS + AUTH PLAIN, tls-sink" "$STLS" "$TMP/e.tls" "$TMP/m.tls" \
		--starttls --cafile "$PKI/ca.pem" --user "$USER_" --password "$PASS_"
	rm -f "$MSG" "$WIRE"
done

section "what the sinks received (sessions messages; one readiness probe each)"
sleep 0.3
say "smtp-sink: $(sink_counts sink)   tls-sink plain: $(tls_sink_counts fast)   tls-sink starttls: $(tls_sink_counts tls)"
