#!/usr/bin/env bash
# bench/submit.sh - submitting one 2 KB message: envoi against msmtp.
#
# Cases, each with the same message, the same recipient and equivalent
# settings for both clients:
#   plain       no TLS, no AUTH, into Postfix's smtp-sink; dma (the
#               DragonFly Mail Agent, see dma_get in bench/lib.sh) too, as
#               "dma -D -f SENDER RCPT": -D keeps it in the foreground, so
#               that it returns once the message is delivered, as envoi and
#               msmtp do (by default it returns after spooling and delivers
#               from a daemon); dma runs in a private mount namespace that
#               gives it its own /etc/dma, and the case's timing.py runs
#               in that namespace for all three (no unshare in the timing);
#               dma is left out, with the reason, when it cannot be had;
#               like msmtp, dma writes the message a line per write(2)
#               without TCP_NODELAY, so its final ".\r\n" waits ~40 ms
#               for the sink's delayed ACK (strace: 45 ms between "." and
#               the 250 reply)
#   starttls    STARTTLS + AUTH PLAIN, trust file holding the one test CA
#   starttls-system  the same with the system trust store (the Debian
#               bundle, ~140 CAs); the test CA is added to it for the
#               clients only, in a private mount namespace (root), so the
#               system's file is never changed; without root, the bundle +
#               test CA is given as a trust file instead (same parsing work)
#   tls         implicit TLS (port-465 style) + AUTH PLAIN, one-CA trust file
#   resumed     STARTTLS + AUTH PLAIN, one-CA trust file, envoi with its TLS
#               session cache on (tls_session_cache, kept under queue_dir):
#               after the first run every envoi run resumes the session and
#               skips the certificate checks; msmtp keeps no session across
#               runs, so it does full handshakes as in "starttls"
# In the other TLS cases envoi runs with tls_session_cache = false.
# The TLS endpoint is bench/tls-sink (C, GnuTLS, preforked workers, session
# tickets):
# smtp-sink has no TLS and answers AUTH with 250 (not 235).
#
# For each case: ROUNDS rounds (default 30) of one envoi run and one msmtp
# run, alternating, with median, min-max and the envoi/msmtp ratio; then
# one run of each under callgrind for instruction totals, and envoi's
# hottest functions.
#
# usage: bench/submit.sh [--smoke]
#        (--smoke: 3 rounds, callgrind for the plaintext case only, no
#        hot-spot lists)
# environment: ROUNDS, ENVOI (default: src/envoi of this tree)

. "$(dirname "$0")/lib.sh"
bench_init "$@"
need msmtp smtp-sink certtool valgrind callgrind_annotate ca-bundle cc
ROUNDS=${ROUNDS:-30}
[ "$SMOKE" = 1 ] && ROUNDS=3

machine_line
make_pki "$TMP/pki"
MSG="$TMP/msg"
make_msg "$MSG" 2048
RCPT=rcpt@example.net
USER_=alice
PASS_=Tr0ub4dor-x7q

SINK=$(free_port)
start_sink sink "$SINK"
STARTTLS=$(free_port)
start_tls_sink starttls "$STARTTLS" starttls -u "$USER_" -P "$PASS_"
IMPLICIT=$(free_port)
start_tls_sink implicit "$IMPLICIT" tls -u "$USER_" -P "$PASS_"

# tls_session_cache=false: every envoi run does a full handshake, as
# msmtp's do; the "resumed" case turns the cache on
common_e=(from=bench@example.org queue=never timeout=30)
nocache=(tls_session_cache=false)
common_m=(from=bench@example.org)
auth_e=(auth=on user="$USER_" password="$PASS_")
auth_m=(auth=on user="$USER_" password="$PASS_")

envoi_cfg "$TMP/e.plain" host=127.0.0.1 port="$SINK" tls=off auth=off "${common_e[@]}"
msmtp_rc "$TMP/m.plain" host=127.0.0.1 port="$SINK" tls=off auth=off "${common_m[@]}"
envoi_cfg "$TMP/e.starttls" host=127.0.0.1 port="$STARTTLS" tls=starttls \
	tls_trust_file="$PKI/ca.pem" "${auth_e[@]}" "${common_e[@]}" "${nocache[@]}"
# envoi keeps its TLS session in QUEUE_DIR/tls/b.session and resumes it
envoi_cfg "$TMP/e.resumed" host=127.0.0.1 port="$STARTTLS" tls=starttls \
	tls_trust_file="$PKI/ca.pem" "${auth_e[@]}" "${common_e[@]}" \
	queue_dir="$TMP/envoi-state" tls_session_cache=true
msmtp_rc "$TMP/m.resumed" host=127.0.0.1 port="$STARTTLS" tls=on tls_starttls=on \
	tls_trust_file="$PKI/ca.pem" "${auth_m[@]}" "${common_m[@]}"
msmtp_rc "$TMP/m.starttls" host=127.0.0.1 port="$STARTTLS" tls=on tls_starttls=on \
	tls_trust_file="$PKI/ca.pem" "${auth_m[@]}" "${common_m[@]}"
envoi_cfg "$TMP/e.tls" host=127.0.0.1 port="$IMPLICIT" tls=tls \
	tls_trust_file="$PKI/ca.pem" "${auth_e[@]}" "${common_e[@]}" "${nocache[@]}"
msmtp_rc "$TMP/m.tls" host=127.0.0.1 port="$IMPLICIT" tls=on tls_starttls=off \
	tls_trust_file="$PKI/ca.pem" "${auth_m[@]}" "${common_m[@]}"

# The system trust store: in a mount namespace where the bundle holds the
# test CA too, or (no root) the bundle + CA as a trust file.
SYSWRAP=()
if can_system_ca; then
	envoi_cfg "$TMP/e.system" host=127.0.0.1 port="$STARTTLS" tls=starttls \
		"${auth_e[@]}" "${common_e[@]}" "${nocache[@]}"
	msmtp_rc "$TMP/m.system" host=127.0.0.1 port="$STARTTLS" tls=on tls_starttls=on \
		tls_trust_file=system "${auth_m[@]}" "${common_m[@]}"
	# shellcheck disable=SC2016 # $0 and $@ are for the inner sh
	SYSWRAP=(unshare -m --propagation private /bin/sh -c \
		'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"' \
		"$PKI/system+ca.pem")
	SYSNOTE="system trust store (test CA bind-mounted into the bundle, private mount namespace)"
else
	envoi_cfg "$TMP/e.system" host=127.0.0.1 port="$STARTTLS" tls=starttls \
		tls_trust_file="$PKI/system+ca.pem" "${auth_e[@]}" "${common_e[@]}" "${nocache[@]}"
	msmtp_rc "$TMP/m.system" host=127.0.0.1 port="$STARTTLS" tls=on tls_starttls=on \
		tls_trust_file="$PKI/system+ca.pem" "${auth_m[@]}" "${common_m[@]}"
	SYSNOTE="system bundle + test CA given as a trust file (not root: no mount namespace)"
fi
say "trust store bundle: $(grep -c 'BEGIN CERTIFICATE' /etc/ssl/certs/ca-certificates.crt) certificates"

# dma in the plain case: delivering at once (no DEFER) into the sink
DMA_GROUP=()
if dma_get; then
	dma_conf "$SINK"
	DMA_GROUP=(--- dma stdin="$MSG" "check=! ls '$DMA_SPOOL'/Q* >/dev/null 2>&1" rss=0
		: "$DMA_BIN" -D -f bench@example.org "$RCPT")
	say "dma: $DMA_VERSION (Debian package, unpacked in $DMA_DIR)"
else
	say "dma left out: $DMA_WHY"
fi

# case NAME TITLE: time and count one case
run_case() {
	local name=$1 title=$2
	local wrap=() more=()
	[ "$name" = system ] && wrap=("${SYSWRAP[@]}")
	if [ "$name" = plain ] && [ ${#DMA_GROUP[@]} -ne 0 ]; then
		wrap=("${DMA_WRAP[@]}")
		more=("${DMA_GROUP[@]}")
	fi
	section "$title"
	# each side's first run must deliver (a broken setup fails here)
	timeout -k 5 "$RUN_TIMEOUT" ${wrap[@]+"${wrap[@]}"} "$ENVOI" -C "$TMP/e.$name" "$RCPT" <"$MSG" ||
		die "envoi failed in case $name"
	timeout -k 5 "$RUN_TIMEOUT" ${wrap[@]+"${wrap[@]}"} msmtp -C "$TMP/m.$name" -a b "$RCPT" <"$MSG" ||
		die "msmtp failed in case $name"
	if [ ${#more[@]} -ne 0 ]; then
		timeout -k 5 "$RUN_TIMEOUT" "${wrap[@]}" "$DMA_BIN" -D -f bench@example.org "$RCPT" <"$MSG" ||
			die "dma failed in case $name"
	fi
	# The wrapper (when any) runs around timing.py, not inside the timing.
	${wrap[@]+"${wrap[@]}"} "$PY" -B "$TIMING" --rounds "$ROUNDS" --title "$title" \
		--tsv "$TMP/results.tsv" \
		--- envoi stdin="$MSG" : "$ENVOI" -C "$TMP/e.$name" "$RCPT" \
		--- msmtp stdin="$MSG" : msmtp -C "$TMP/m.$name" -a b "$RCPT" \
		${more[@]+"${more[@]}"}
	if [ "$SMOKE" = 1 ] && [ "$name" != plain ]; then
		say "(smoke: no callgrind run for this case)"
		return 0
	fi
	ICOUNT_WRAP=(${wrap[@]+"${wrap[@]}"})
	icount "envoi-$name" "$ENVOI" -C "$TMP/e.$name" "$RCPT" <"$MSG"
	icount "msmtp-$name" msmtp -C "$TMP/m.$name" -a b "$RCPT" <"$MSG"
	if [ ${#more[@]} -ne 0 ]; then
		# valgrind does not run set-group-id programs: a copy without
		# the bit (dma, started by root, runs as mail all the same); as
		# mail, callgrind can write its file only if mail owns it
		install -m 0755 "$DMA_BIN" "$DMA_DIR/dma.nosgid"
		install -m 0600 -o mail /dev/null "$TMP/callgrind.dma-$name"
		icount "dma-$name" "$DMA_DIR/dma.nosgid" -D -f bench@example.org "$RCPT" <"$MSG"
	fi
	ICOUNT_WRAP=()
	icount_ratio "envoi-$name" "msmtp-$name"
	[ ${#more[@]} -eq 0 ] || icount_ratio "envoi-$name" "dma-$name"
	[ "$SMOKE" = 1 ] || hot_spots "envoi-$name" 15
}

run_case plain "2 KB message, plaintext, smtp-sink"
run_case starttls "2 KB message, STARTTLS + AUTH PLAIN, one-CA trust file, tls-sink"
run_case system "2 KB message, STARTTLS + AUTH PLAIN, $SYSNOTE, tls-sink"
run_case tls "2 KB message, implicit TLS + AUTH PLAIN, one-CA trust file, tls-sink"
run_case resumed "2 KB message, STARTTLS + AUTH PLAIN, one-CA trust file, envoi resuming its cached TLS session (msmtp: full handshake), tls-sink"

section "sessions seen by the servers (sessions messages; includes one readiness probe each)"
say "smtp-sink:        $(sink_counts sink)"
say "tls-sink starttls: $(tls_sink_counts starttls), of which resumed: $(awk '$1 == "resumed" { print $2 }' "$(bench_server_dir starttls)/stats")"
say "tls-sink implicit: $(tls_sink_counts implicit)"
