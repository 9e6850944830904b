# What the interoperability suites share (tests/interop*.bats): the test
# messages, and taking a delivered Maildir file apart into the header
# fields the MTA put on top and the message as envoi sent it.  Load after
# lib/common.
#
# A suite defines
#   delivered LOCALPART OUT   wait for the (single, newest) delivery to
#                             LOCALPART@example.test, set MAILFILE to its
#                             path and write the message as envoi sent it,
#                             minus what the MTA added, to OUT
# and runs the content cases with interop_content KIND (see interop_msg).
# The messages carry From, Date and Message-ID, so envoi adds nothing and
# the comparison is byte for byte: header lines and body.

# status, output and stderr are set by bats' run
# shellcheck disable=SC2154

# interop_split FILE added|original OUT NEEDLE NAME...: the header fields at
# the top of FILE named NAME (case-insensitively), and the Received fields
# that contain NEEDLE, are what the MTA added; write either those or the
# rest to OUT.
interop_split() {
	"$PY" -B - "$@" <<'PY'
import re, sys
path, which, out, needle = sys.argv[1:5]
names = {n.lower().encode() for n in sys.argv[5:]}
data = open(path, "rb").read()
pos = 0
while True:
    m = re.match(rb"([!-9;-~]+):[^\n]*\n(?:[ \t][^\n]*\n)*", data[pos:])
    if not m:
        break
    name = m.group(1).lower()
    if name in names or (name == b"received" and needle.encode() in m.group(0)):
        pos += m.end()
        continue
    break
part = data[:pos] if which == "added" else data[pos:]
with open(out, "wb") as f:
    f.write(part)
PY
}

# interop_msg KIND FILE: write a test message of KIND (LF line ends):
#   dots       dot-stuffing cases and an 8-bit UTF-8 body
#   line998    body lines of exactly 998 octets, 8-bit, one of them
#              starting with a dot (999 octets once dot-stuffed)
#   longline   a 5000-octet body line: envoi sends it quoted-printable
#   attachment multipart/mixed: an 8-bit text part and a 5 MB base64
#              attachment of (seeded) random bytes
#   bigdots    2 MB of random lines, many of them starting with a dot
interop_msg() {
	"$PY" -B - "$@" <<'PY'
import base64, random, sys
kind, path = sys.argv[1:3]
r = random.Random(kind)
head = [
    "From: Alice <alice@example.org>",
    "To: Someone <someone@example.test>",
    "Subject: interop " + kind,
    "Date: Mon, 01 Jan 2024 00:00:00 +0000",
    "Message-ID: <interop-%s@example.org>" % kind,
]
utf8 = ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit"]
if kind == "dots":
    lines = head + utf8 + ["", ".leading dot", "..two dots", ". dot space",
                           "", "caf\u00e9 \u00b7 na\u00efve \u00b7 \u20ac", ".", "last line"]
elif kind == "line998":
    # "\u00e9" is two octets: 499 of them make 998
    lines = head + utf8 + ["", "\u00e9" * 499, "." + "x" * 997, "a" * 998, "end"]
elif kind == "longline":
    # no MIME fields: envoi adds them along with the encoding
    lines = head + ["", "short line", "=start " + "na\u00efve words " * 400 + " trailing ",
                    ".dotted " + "y" * 2000, "end"]
elif kind == "attachment":
    blob = base64.encodebytes(r.randbytes(5 * 1024 * 1024)).decode()
    lines = head + [
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="=-envoi-interop"', "",
        "This is a multi-part message in MIME format.", "",
        "--=-envoi-interop",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit", "",
        "The attachment is 5 MB of random bytes.", ".", "..also", "\u00e7a va",
        "", "--=-envoi-interop",
        "Content-Type: application/octet-stream",
        'Content-Disposition: attachment; filename="random.bin"',
        "Content-Transfer-Encoding: base64", "",
        blob.rstrip("\n"),
        "--=-envoi-interop--"]
elif kind == "bigdots":
    lines = head + [""] + ["".join(r.choice("abcdefghij .") for _ in range(r.randint(0, 150)))
                           for _ in range(26000)]
else:
    sys.exit("interop_msg: unknown kind " + kind)
with open(path, "wb") as f:
    f.write(("\n".join(lines) + "\n").encode())
PY
}

# interop_check_qp SENT DELIVERED: DELIVERED is SENT with its body encoded
# quoted-printable: the same header lines in the same order, then the MIME
# fields envoi adds; lines of at most 76 octets; the body decodes to SENT's
# body byte for byte.
interop_check_qp() {
	"$PY" -B - "$1" "$2" <<'PY'
import binascii, sys
sent = open(sys.argv[1], "rb").read()
got = open(sys.argv[2], "rb").read()
sh, sb = sent.split(b"\n\n", 1)
gh, gb = got.split(b"\n\n", 1)
want = sh + b"\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8" \
    b"\nContent-Transfer-Encoding: quoted-printable"
if gh != want:
    sys.exit("header differs:\n%r\n%r" % (want, gh))
long = [l for l in gb.split(b"\n") if len(l) > 76]
if long:
    sys.exit("%d encoded lines longer than 76 octets" % len(long))
if binascii.a2b_qp(gb) != sb:
    sys.exit("the decoded body differs from what was sent")
PY
}

# interop_content KIND [std_config overrides...]: send interop_msg KIND to
# $RCPT (already configured with std_config: CFG) and check the delivery
interop_content() {
	local kind=$1 msg="$BATS_TEST_TMPDIR/msg.$1" got="$BATS_TEST_TMPDIR/got.$1"
	interop_msg "$kind" "$msg"
	run --separate-stderr envoi -i -C "$CFG" "$RCPT" <"$msg"
	assert_status 0
	delivered "$LOCAL" "$got"
	case $kind in
	longline) interop_check_qp "$msg" "$got" ;;
	*) assert_same_file "$msg" "$got" ;;
	esac
}

# interop_send SERVER LISTENER MECHANISM [std_config overrides...]: send
# std_msg ($BATS_TEST_TMPDIR/msg) to $RCPT as alice through SERVER's
# LISTENER (starttls or tls); check the exit status, and that envoi -v
# showed AUTH MECHANISM (and, over implicit TLS, no STARTTLS).
interop_send() {
	local server=$1 listener=$2 mech=$3
	shift 3
	std_config "$server" "$listener" "$@"
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -v -C "$CFG" "$RCPT" <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	if ! grep -Eqx -- "--> AUTH $mech( <hidden>)?" <<<"$stderr"; then
		echo "envoi did not show 'AUTH $mech':" >&2
		printf '%s\n' "$stderr" >&2
		return 1
	fi
	local starttls
	starttls=$(grep -c -- '--> STARTTLS' <<<"$stderr" || true)
	case $listener in
	starttls) [ "$starttls" -eq 1 ] ;;
	tls) [ "$starttls" -eq 0 ] ;;
	esac
}

# interop_utf8_sender SERVER: send std_msg from élise@exemple.org through
# SERVER's STARTTLS listener, check that envoi asked for SMTPUTF8 and the
# message arrived byte for byte.  Sets MAILFILE (via the suite's
# delivered) to the delivered file.
interop_utf8_sender() {
	std_config "$1" starttls auth=plain from=élise@exemple.org
	std_msg "$BATS_TEST_TMPDIR/msg"
	run --separate-stderr envoi -v -C "$CFG" "$RCPT" <"$BATS_TEST_TMPDIR/msg"
	assert_status 0
	# (-v shows well-formed UTF-8 as itself)
	grep -Eq -- '--> MAIL FROM:<élise@exemple.org> .*SMTPUTF8' <<<"$stderr"
	delivered "$LOCAL" "$BATS_TEST_TMPDIR/delivered"
	assert_same_file "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/delivered"
}
