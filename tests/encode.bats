#!/usr/bin/env bats
# encode.c against an independent decoder: what encode_tool writes for
# base64, quoted-printable, RFC 2047 and RFC 2231 must decode back to the
# input with Python's base64, quopri and email packages.

bats_require_minimum_version 1.5.0

PY=/usr/bin/python3
: "${ENCODE_TOOL:=$BATS_TEST_DIRNAME/unit/encode_tool}"

setup() {
	[ -x "$ENCODE_TOOL" ] || skip "encode_tool not built (make -C tests unit/encode_tool)"
	IN="$BATS_TEST_TMPDIR/in"
	OUT="$BATS_TEST_TMPDIR/out"
}

# encode mode [args...]: run the tool on $IN into $OUT; it must exit 0
encode() {
	local rc=0
	"$ENCODE_TOOL" "$@" <"$IN" >"$OUT" || rc=$?
	[ "$rc" -eq 0 ]
}

# check script [args...]: run a Python check on $IN and $OUT; it prints
# what differs and exits 1 on a mismatch
check() {
	local script=$1
	shift
	run "$PY" -c "$script" "$IN" "$OUT" "$@"
	[ -z "$output" ] || echo "$output"
	[ "$status" -eq 0 ]
}

B64_CHECK='
import base64, sys
data = open(sys.argv[1], "rb").read()
enc = open(sys.argv[2], "rb").read()
lines = enc.split(b"\r\n")
assert lines[-1] == b"", "output does not end in CRLF"
assert all(len(l) == 76 for l in lines[:-2]), "a line is not 76 long"
assert len(lines) < 2 or 0 < len(lines[-2]) <= 76, "last line length"
assert b"\n" not in enc.replace(b"\r\n", b""), "bare LF"
got = base64.b64decode(enc.replace(b"\r\n", b""), validate=True)
assert got == data, "decoded %d bytes, want %d" % (len(got), len(data))
'

@test "base64: python decodes every size and block split back to the input" {
	local size block
	for size in 0 1 2 3 56 57 58 76 114 1000 65536 100003; do
		head -c "$size" /dev/urandom >"$IN"
		for block in 1 7 57 4096; do
			[ "$size" -gt 5000 ] && [ "$block" -lt 57 ] && continue
			encode b64 "$block"
			check "$B64_CHECK"
		done
	done
}

@test "base64: same text as coreutils base64 -w 76, CRLF aside" {
	head -c 300000 /dev/urandom >"$IN"
	encode b64
	base64 -w 76 <"$IN" >"$BATS_TEST_TMPDIR/want"
	tr -d '\r' <"$OUT" | cmp - "$BATS_TEST_TMPDIR/want"
}

@test "base64: empty input gives empty output" {
	: >"$IN"
	encode b64
	[ ! -s "$OUT" ]
}

QP_CHECK='
import quopri, re, sys
data = open(sys.argv[1], "rb").read()
enc = open(sys.argv[2], "rb").read()
want = re.sub(rb"(?<!\r)\n", b"\r\n", data)
for i, line in enumerate(enc.split(b"\r\n")):
    assert len(line) <= 76, "line %d is %d long" % (i, len(line))
    assert not line.endswith((b" ", b"\t")), "line %d ends in a blank" % i
    assert not line.startswith((b".", b"From ")), "line %d: %r" % (i, line)
    assert re.fullmatch(rb"[\t\x20-\x7e]*", line), "line %d: %r" % (i, line)
got = quopri.decodestring(enc)
assert got == want, "decoded %r\nwant    %r" % (got[:200], want[:200])
'

@test "quoted-printable: python decodes text, 8-bit and odd line ends" {
	local block
	printf 'Hello,\nthis line has trailing blanks \t \nand = signs, caf\xc3\xa9, \x00\x7f\xff\r\n.dot start\nFrom the start\nlone\rCR and CR at end\r' >"$IN"
	for block in 1 2 3 5 64; do
		encode qp "$block"
		check "$QP_CHECK"
	done
}

@test "quoted-printable: long lines and long runs of blanks" {
	"$PY" -c '
import random, sys
random.seed(7)
words = ["x" * n for n in (1, 5, 74, 75, 76, 77, 200)] + [" " * 80, "=", "\xe9", ".", "From "]
text = "\n".join("".join(random.choice(words) for _ in range(random.randrange(12))) for _ in range(400))
sys.stdout.buffer.write(text.encode("latin-1"))
' >"$IN"
	encode qp 1000
	check "$QP_CHECK"
	encode qp 13
	check "$QP_CHECK"
}

@test "quoted-printable: random binary data" {
	head -c 100000 /dev/urandom >"$IN"
	encode qp
	check "$QP_CHECK"
}

# The header value decoded by the email package's modern policy, and by
# the classic decode_header API; lines checked against 76 columns.
SUBJECT_CHECK='
import sys, email, email.policy
from email.header import decode_header, make_header
text = open(sys.argv[1], "rb").read().decode("utf-8")
enc = open(sys.argv[2], "rb").read()
raw = b"Subject: " + enc + b"\r\n\r\nbody\r\n"
msg = email.message_from_bytes(raw, policy=email.policy.default)
got = str(msg["Subject"])
assert got == text, "policy.default: %r\nwant %r" % (got, text)
old = email.message_from_bytes(raw)
got = str(make_header(decode_header(old["Subject"])))
if "=?" in enc.decode():
    assert got == text, "decode_header: %r\nwant %r" % (got, text)
for line in raw.split(b"\r\n"):
    assert len(line) <= 76 or b"=?" not in line, "long line %r" % line
'

@test "rfc2047: subjects decode back with Python's email package" {
	local s
	while IFS= read -r s; do
		printf '%s' "$s" >"$IN"
		encode 2047 9
		check "$SUBJECT_CHECK"
	done <<'EOF'
Plain ASCII subject
Re: Café au lait
Grüße aus Köln – ein sehr langer Betreff mit Umlauten, damit er gefaltet werden muss, bitte
日本語の件名はとても長いのでいくつかのエンコードされた単語に分割されなければなりません。よろしくお願いします。
Emoji 😀🎉🚀 party 🎂🎈🎁 with many 👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍👍 thumbs
mixed =?utf-8?q?not_an_encoded_word?= in ASCII
a_b=c?d "quoted" (paren) <angle> 100% tab	here
ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé
EOF
}

@test "rfc2047: a long ASCII subject is folded at blanks and unfolds to itself" {
	printf 'This is a long plain subject line that goes on and on well past the seventy-eight column limit of RFC 5322' >"$IN"
	encode 2047 9
	check "$SUBJECT_CHECK"
	grep -q $'\r' "$OUT"
	! grep -q '=?' "$OUT"
}

@test "rfc2047: invalid UTF-8 and control characters are refused" {
	printf 'bad \xff byte' >"$IN"
	run "$ENCODE_TOOL" 2047 9 <"$IN"
	[ "$status" -eq 1 ]
	printf 'line\nbreak' >"$IN"
	run "$ENCODE_TOOL" 2047 9 <"$IN"
	[ "$status" -eq 1 ]
}

PHRASE_CHECK='
import sys, email, email.policy
text = open(sys.argv[1], "rb").read().decode("utf-8")
enc = open(sys.argv[2], "rb").read()
raw = b"To: " + enc + b" <bob@example.org>\r\n\r\nbody\r\n"
msg = email.message_from_bytes(raw, policy=email.policy.default)
addrs = msg["To"].addresses
assert len(addrs) == 1, "parsed %d addresses from %r" % (len(addrs), raw)
got = addrs[0].display_name
assert got == text, "display name %r\nwant %r" % (got, text)
assert addrs[0].addr_spec == "bob@example.org", addrs[0].addr_spec
assert not msg["To"].defects, "defects: %r" % msg["To"].defects
'

@test "rfc2047: display names survive as one address, specials and all" {
	local s
	while IFS= read -r s; do
		printf '%s' "$s" >"$IN"
		encode phrase 4
		check "$PHRASE_CHECK"
	done <<'EOF'
John Smith
Smith, John
John Q. Public
O'Brien <Sales> @ "HQ"
back\slash and "quotes"
Jörg Müller-Lüdenscheid (CEO)
山田太郎
Zoë "Zed" Ångström, Ph.D.
👩‍💻 Dev Team; Ops: Night Shift
EOF
}

FILENAME_CHECK='
import sys, email, email.policy
name = open(sys.argv[1], "rb").read().decode("utf-8")
enc = open(sys.argv[2], "rb").read()
raw = (b"Content-Type: application/octet-stream\r\n"
       b"Content-Disposition: attachment" + enc + b"\r\n\r\nbody\r\n")
for policy in (email.policy.compat32, email.policy.default):
    msg = email.message_from_bytes(raw, policy=policy)
    got = msg.get_filename()
    assert got == name, "%s: %r\nwant %r" % (policy, got, name)
    got = email.utils.collapse_rfc2231_value(
        msg.get_param("filename", header="content-disposition"))
    assert got == name, "get_param: %r" % got
for line in raw.split(b"\r\n"):
    assert len(line) <= 76, "long line %r" % line
'

@test "rfc2231: file names survive a round trip through Python's email package" {
	local s
	while IFS= read -r s; do
		printf '%s' "$s" >"$IN"
		encode 2231 filename 31
		check "$FILENAME_CHECK"
	done <<'EOF'
simple.pdf
report 2024 (final).pdf
a "quoted" name.pdf
semi;colon.txt
back\slash.txt
€ invoice.pdf
Ünïcödé fïlé nämé.txt
日本語のファイル名.pdf
emoji 😀.png
=?utf-8?q?tricky?=.txt
EOF
}

@test "rfc2231: 200-character names, ASCII and UTF-8, split into continuations" {
	local unit
	for unit in a 'a b;"\' é 日 😀; do
		"$PY" -c '
import os, sys
u = os.fsencode(sys.argv[1]).decode("utf-8")
sys.stdout.buffer.write((u * (200 // len(u))).encode("utf-8"))
' "$unit" >"$IN"
		encode 2231 filename 31
		check "$FILENAME_CHECK"
	done
	grep -q 'filename\*1\*=' "$OUT"
}
