# Helpers for the queue suites (queue.bats, queue_crash.bats).  Load after
# lib/common:   load lib/common
#               load lib/queue
#
# Every test gets its own queue directory, $QDIR (set by queue_setup), and
# every config written here names it: as root the default would be the
# system spool.  The envelope file (ID.env) is a documented text format
# (src/queue.h), so tests read it and, to make an entry due without waiting
# for its backoff, rewrite its next_try.

# status, output and stderr are set by bats' run
# shellcheck disable=SC2154

# queue_setup: per test; call from setup() after common_setup
queue_setup() {
	QDIR="$BATS_TEST_TMPDIR/queue"
	MSG="$BATS_TEST_TMPDIR/msg"
	EXPECTED="$BATS_TEST_TMPDIR/expected"
	queue_msg "$MSG"
	to_crlf "$MSG" "$EXPECTED"
}

# queue_msg FILE: a well-formed message (LF endings) with lines that start
# with dots, so the spool form is dot-stuffed, and every header envoi would
# otherwise add, so a delivery is byte-identical to the input in CRLF form.
queue_msg() {
	cat >"$1" <<'EOF'
From: Alice <alice@example.org>
To: Bob <bob@example.org>
Subject: envoi queue test
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <queue-1@example.org>

Hello Bob,
.a line that starts with a dot
..and one with two
this is a test.
EOF
}

# qconfig NAME LISTENER [key=value...]: std_config for server NAME with the
# queue on (on-failure unless given) in $QDIR
qconfig() {
	local name=$1 listener=$2
	shift 2
	std_config "$name" "$listener" queue=on-failure queue_dir="$QDIR" "$@"
}

# qconfig_down [key=value...]: the same, but the smarthost is a closed
# loopback port (connection refused); server "srv" must exist
qconfig_down() {
	qconfig srv starttls port="$(free_port)" "$@"
}

# qsend ARGS...: envoi -C $CFG ARGS < $MSG, run with separate stderr
qsend() {
	run --separate-stderr envoi -C "$CFG" "$@" <"$MSG"
}

# q_ids [DIR]: IDs of the entries (ID.env files) in DIR (default $QDIR),
# sorted, one per line
q_ids() {
	local d=${1:-$QDIR} f
	for f in "$d"/*.env; do
		[ -e "$f" ] || continue
		f=${f##*/}
		echo "${f%.env}"
	done
}

# q_count [DIR]: number of entries in DIR (default $QDIR)
q_count() { q_ids "$@" | grep -c . || true; }

# q_field ID KEY [DIR]: the (raw) value of KEY in ID's envelope, one line
# per occurrence
q_field() {
	sed -n "s/^$2: //p" "${3:-$QDIR}/$1.env"
}

# q_set ID KEY VALUE: rewrite KEY (which must be present) in ID's envelope
q_set() {
	local f="$QDIR/$1.env"
	grep -q "^$2: " "$f" || {
		echo "q_set: no '$2' in $f" >&2
		return 1
	}
	sed -i "s/^$2: .*/$2: $3/" "$f"
}

# q_make_due [ID...]: next_try 0 for the given entries (default: all)
q_make_due() {
	local id ids=("$@")
	[ $# -gt 0 ] || mapfile -t ids < <(q_ids)
	for id in "${ids[@]}"; do
		q_set "$id" next_try 0
	done
}

# queued_id: the ID in the "envoi: queued as ID..." line of $stderr
queued_id() {
	sed -n 's/^envoi: queued as \([0-9a-f-]*\).*/\1/p' <<<"${stderr-}"
}

# assert_queued_line: stderr is exactly one "queued as ID, will retry: ..."
# line, and ID is the one entry of $QDIR; sets QID
assert_queued_line() {
	local n
	n=$(printf '%s\n' "${stderr-}" | grep -c . || true)
	if [ "$n" -ne 1 ] ||
		! [[ ${stderr-} =~ ^envoi:\ queued\ as\ [0-9a-f-]{34},\ will\ retry:\ . ]]; then
		echo "expected one 'envoi: queued as ID, will retry: ...' line, got:" >&2
		printf '%s\n' "${stderr-}" >&2
		return 1
	fi
	QID=$(queued_id)
	[ "$(q_ids)" = "$QID" ] || {
		echo "queued as '$QID' but the queue holds: '$(q_ids)'" >&2
		return 1
	}
}

# assert_queue_empty [DIR]: no entry and no stray message in the main area
assert_queue_empty() {
	local d=${1:-$QDIR}
	if [ -n "$(find "$d" -maxdepth 1 -type f \( -name '*.env' -o -name '*.msg' \) 2>/dev/null)" ]; then
		echo "queue $d is not empty:" >&2
		ls -la "$d" >&2
		return 1
	fi
}

# mail_hashes NAME: for every message server NAME received, the sha256 of
# its .eml, one per line, sorted
mail_hashes() {
	find "$(server_dir "$1")/mail" -name '*.eml' -exec sha256sum {} + |
		awk '{ print $1 }' | sort
}

# json_of NAME N: path of server NAME's N-th message metadata (1-based, in
# arrival order)
json_of() {
	find "$(server_dir "$1")/mail" -name '*.json' | sort | sed -n "${2}p"
}

# jfield FILE FIELD: like last_json, for a given .json file
jfield() {
	"$PY" -c '
import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
if isinstance(v, bool):
    print("true" if v else "false")
elif isinstance(v, list):
    for x in v:
        print(x)
elif v is not None:
    print(v)
' "$1" "$2"
}

# assert_between VALUE LOW HIGH [WHAT]
assert_between() {
	if [ "$1" -lt "$2" ] || [ "$1" -gt "$3" ]; then
		echo "${4:-value} $1 is not within [$2, $3]" >&2
		return 1
	fi
}

# check_notice EML SENDER RCPT [STATUS]: EML is an RFC 3464 failure notice
# to SENDER about RCPT (Action: failed, Status 5.x.x, or exactly STATUS),
# quoting the original headers
check_notice() {
	"$PY" - "$@" <<'PYEOF'
import email, re, sys
from email import policy
path, sender, rcpt = sys.argv[1:4]
want_status = sys.argv[4] if len(sys.argv) > 4 else None
raw = open(path, "rb").read()
m = email.message_from_bytes(raw, policy=policy.compat32)
def fail(why):
    sys.exit("%s: %s\n%s" % (path, why, raw.decode("utf-8", "replace")))
if m.get_content_type() != "multipart/report":
    fail("Content-Type is %s" % m.get_content_type())
if m.get_param("report-type") != "delivery-status":
    fail("report-type is %r" % m.get_param("report-type"))
if sender.lower() not in (m["To"] or "").lower():
    fail("To is %r" % m["To"])
parts = m.get_payload()
if not isinstance(parts, list) or len(parts) < 2:
    fail("not a multipart with 2+ parts")
if parts[0].get_content_type() != "text/plain":
    fail("first part is %s" % parts[0].get_content_type())
ds = [p for p in parts if p.get_content_type() == "message/delivery-status"]
if len(ds) != 1:
    fail("%d message/delivery-status parts" % len(ds))
blocks = ds[0].get_payload()
if not isinstance(blocks, list) or len(blocks) < 2:
    fail("delivery-status has no per-recipient block")
if not blocks[0]["Reporting-MTA"]:
    fail("no Reporting-MTA")
found = None
for b in blocks[1:]:
    fr = b["Final-Recipient"] or ""
    typ, _, addr = fr.partition(";")
    if typ.strip().lower() == "rfc822" and addr.strip().lower() == rcpt.lower():
        found = b
if found is None:
    fail("no Final-Recipient: rfc822; %s" % rcpt)
if (found["Action"] or "").strip().lower() != "failed":
    fail("Action is %r" % found["Action"])
st = (found["Status"] or "").strip()
if not re.fullmatch(r"5\.\d{1,3}\.\d{1,3}", st):
    fail("Status is %r" % st)
if want_status and st != want_status:
    fail("Status is %r, expected %r" % (st, want_status))
hdrs = [p for p in parts if p.get_content_type() in
        ("text/rfc822-headers", "message/rfc822")]
if len(hdrs) != 1 or b"envoi queue test" not in hdrs[0].as_bytes():
    fail("the original headers are not returned")
PYEOF
}

# assert_null_sender VALUE: the server's mail_from for MAIL FROM:<>
# (aiosmtpd records it as "<>")
assert_null_sender() {
	if [ -n "$1" ] && [ "$1" != "<>" ]; then
		echo "mail_from is '$1', not the null sender" >&2
		return 1
	fi
}
