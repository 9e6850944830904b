#!/usr/bin/env bash
# bench/compose.sh - building a message with a big attachment (100 MiB of
# random bytes, so base64): envoi's composer against s-nail's, and
# against coreutils "base64 -w 76" alone (the encoding and nothing else).
#
#   envoi    envoi -C CFG -s SUBJ -A FILE --dry-run RCPT < body > /dev/null
#   s-nail   s-nail -:/ -S mta=MTA -S sendwait -s SUBJ -a FILE RCPT < body
#            where MTA is a two-line script, "exec cat >/dev/null": s-nail
#            hands the finished message to its "MTA" on a pipe, and waits
#            for it (sendwait); -:/ loads no resource file
#   base64   base64 -w 76 FILE > /dev/null
#
# envoi writes CRLF line ends (what goes on the wire), s-nail LF (what a
# local MTA is given), so envoi writes ~1.3% more bytes.  MB/s is the
# attachment's size (10^6 bytes) over the median wall time.  Peak RSS is
# VmHWM, the largest over each command's process tree (tests/lib/maxrss.py).
#
# usage: bench/compose.sh [--smoke] [--big]  (--smoke: 1 MiB, 3 rounds;
#        --big: 1 GiB as well)
# environment: ROUNDS (default 5), ENVOI

. "$(dirname "$0")/lib.sh"
bench_init "$@"
need s-nail base64
ROUNDS=${ROUNDS:-5}
SIZES=(100)
[ "$BIG" = 1 ] && SIZES+=(1024)
[ "$SMOKE" = 1 ] && SIZES=(1) && ROUNDS=3

machine_line
say "s-nail: $(s-nail -:/ -Xversion -Xx 2>/dev/null | head -n 1)"
envoi_cfg "$TMP/e.cfg" host=127.0.0.1 from=bench@example.org queue=never
printf 'Hello,\n\nthe file is attached.\n' >"$TMP/body"
printf '#!/bin/sh\nexec cat >/dev/null\n' >"$TMP/mta"
chmod +x "$TMP/mta"

for mb in "${SIZES[@]}"; do
	ATT="$TMP/attachment-$mb.bin"
	head -c "$((mb * 1024 * 1024))" /dev/urandom >"$ATT"
	cat "$ATT" >/dev/null
	BYTES=$(stat -c %s "$ATT")
	rounds=$ROUNDS
	[ "$mb" -ge 1024 ] && rounds=3
	# sanity: envoi's output is a message with the attachment, whole (a
	# streaming check: the base64 lines of the attachment part decode to
	# the file)
	"$ENVOI" -C "$TMP/e.cfg" -s "bench" -A "$ATT" --dry-run rcpt@example.net \
		<"$TMP/body" >"$TMP/out.eml" || die "envoi --dry-run failed"
	"$PY" - "$TMP/out.eml" "$ATT" <<'EOF' || die "envoi's message does not hold the attachment"
import base64, hashlib, sys
want = hashlib.sha256()
with open(sys.argv[2], "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        want.update(block)
got, state, pending = hashlib.sha256(), 0, b""
with open(sys.argv[1], "rb") as f:
    for line in f:
        line = line.rstrip(b"\r\n")
        if state == 0 and line.lower().startswith(b"content-disposition: attachment"):
            state = 1          # the part's header: its body follows the blank line
        elif state == 1 and line == b"":
            state = 2
        elif state == 2:
            if line.startswith(b"--"):
                break
            pending += line
            k = len(pending) // 4 * 4
            got.update(base64.b64decode(pending[:k]))
            pending = pending[k:]
got.update(base64.b64decode(pending))
sys.exit(0 if got.digest() == want.digest() else 1)
EOF
	rm -f "$TMP/out.eml"

	section "message with a $mb MiB attachment ($BYTES bytes), $rounds rounds"
	compare --rounds "$rounds" --bytes "$BYTES" --title "compose, $mb MiB attachment" \
		--tsv "$TMP/results.tsv" \
		--- envoi stdin="$TMP/body" : "$ENVOI" -C "$TMP/e.cfg" -s bench -A "$ATT" \
		--dry-run rcpt@example.net \
		--- s-nail stdin="$TMP/body" : s-nail -:/ -S mta="$TMP/mta" -S sendwait \
		-s bench -a "$ATT" rcpt@example.net \
		--- base64 : base64 -w 76 "$ATT"
	rm -f "$ATT"
done
