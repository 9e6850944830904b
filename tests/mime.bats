#!/usr/bin/env bats
# Compose mode, the MIME side: what the test server receives is decoded with
# Python's email package (tests/lib/mimecheck.py) and compared with what was
# given: attachment bytes, text parts, the encoding chosen per part, file
# names (RFC 2231), encoded header text (RFC 2047), boundaries, and memory.

load lib/common
load lib/compose

# peak RSS limit for envoi's process tree (the composer is a child), KB
# The small attachments here are of no type envoi knows by signature or
# name, so libmagic classifies them, and libmagic's database alone is
# about 8 MB resident; a recognised or typed attachment, or one over 4 MiB,
# peaks near 2 MB (see the next test).  What must not happen is growth
# with the attachment's size.
RSS_LIMIT_KB=${RSS_LIMIT_KB:-14336}
RSS_TYPED_LIMIT_KB=${RSS_TYPED_LIMIT_KB:-6144}
# allowed growth from a 1 MB attachment to the 200 MB one, KB
RSS_GROWTH_KB=${RSS_GROWTH_KB:-2048}

setup_file() { compose_setup_file; }

# send ARGS... < BODY: envoi in compose mode with the std config, for real
send() {
	std_config srv starttls
	run --separate-stderr envoi -C "$CFG" "$@"
}

@test "binary attachments arrive byte for byte: empty, NUL bytes, random, Latin-1, block edges" {
	local d="$BATS_TEST_TMPDIR/att"
	mkdir -p "$d"
	pyfile "$d" <<'PY'
import os, random, sys
d = sys.argv[1]
rnd = random.Random(20240601)
files = {
    "empty": b"",
    "nul.dat": b"abc\x00def\n\x00\x00ghi\n",
    "random.bin": rnd.randbytes(300 * 1024),
    # one byte more than the composer's read block (57 * 16384)
    "block.bin": rnd.randbytes(57 * 16384 + 1),
    "one.bin": b"\xff",
    "two.bin": b"\xfe\x00",
    "latin1.txt": "Grüße aus Köln, ça va? Ærøskøbing\n".encode("latin-1") * 40,
}
for name, b in files.items():
    with open(os.path.join(d, name), "wb") as f:
        f.write(b)
PY
	local names=(empty nul.dat random.bin block.bin one.bin two.bin latin1.txt)
	local args=() n
	for n in "${names[@]}"; do args+=(-A "$d/$n"); done
	send -s binaries "${args[@]}" bob@example.org <<<"see the attachments"
	assert_status 0
	mimecheck "$(received)" "$d" "${names[@]}" <<'PY'
import os
d, names = args[0], args[1:]
check_raw()
eq(msg.get_content_type(), "multipart/mixed", "message type")
eq(len(leaves), 1 + len(names), "number of parts")
eq(leaves[0].get_content_type(), "text/plain", "body type")
eq([p.get_filename() for p in leaves[1:]], names, "attachments in order")
for p, name in zip(leaves[1:], names):
    want = readf(os.path.join(d, name))
    eq(p.get_content_disposition(), "attachment", name + " disposition")
    eq(data(p), want, name + " content")
    if want:
        eq(p["Content-Transfer-Encoding"], "base64", name + " encoding")
lat = leaves[names.index("latin1.txt") + 1]
assert lat.get_content_maintype() != "text", \
    "Latin-1 text labelled %s" % lat["Content-Type"]
assert lat.get_param("charset") is None, \
    "Latin-1 text with a charset: %s" % lat["Content-Type"]
PY
}

@test "text attachments: LF and CRLF text and UTF-8 over several blocks decode to the original" {
	local d="$BATS_TEST_TMPDIR/att"
	mkdir -p "$d"
	pyfile "$d" <<'PY'
import os, sys
d = sys.argv[1]
lines = ["one", "two", "", "three", ". a dot", ".", "From here", "  indented",
         "trailing blank ", "tab\tinside", "x" * 998]
files = {
    "lf.txt": "\n".join(lines).encode() + b"\n",
    "crlf.txt": "\r\n".join(lines).encode() + b"\r\n",
    "mixed.txt": b"lf\ncrlf\r\nlf again\n",
    "noeol.txt": b"no line break at the end",
    # > 57 * 16384 bytes, so that quoted-printable crosses read blocks,
    # with 2-, 3- and 4-byte characters straddling the block edges
    "utf8.txt": ("Grüße 履歴書 \U0001F600 ünd €\n" * 40000).encode(),
    # 7bit over several blocks, a CRLF split by the first block's end
    "crlf-big.txt": b"y" * 87 + b"\r\n" + (b"z" * 98 + b"\r\n") * 12000,
}
for name, b in files.items():
    with open(os.path.join(d, name), "wb") as f:
        f.write(b)
PY
	local names=(lf.txt crlf.txt mixed.txt noeol.txt utf8.txt crlf-big.txt)
	local args=() n
	for n in "${names[@]}"; do args+=(-A "$d/$n"); done
	send -s texts "${args[@]}" bob@example.org <<<"see the attachments"
	assert_status 0
	mimecheck "$(received)" "$d" "${names[@]}" <<'PY'
import os
d, names = args[0], args[1:]
check_raw()
eq(len(leaves), 1 + len(names), "number of parts")
eq([p.get_filename() for p in leaves[1:]], names, "attachments in order")
for p, name in zip(leaves[1:], names):
    want = readf(os.path.join(d, name))
    eq(p.get_content_type(), "text/plain", name + " type")
    text_eq(data(p), want, name + " content")
    # the charset is honoured: the text as str is the original
    eq(p.get_content().replace("\r\n", "\n").rstrip("\n"),
       lf(want).decode("utf-8").rstrip("\n"), name + " as text")
for name in ("lf.txt", "crlf.txt", "mixed.txt", "noeol.txt", "crlf-big.txt"):
    p = leaves[names.index(name) + 1]
    eq(p["Content-Transfer-Encoding"], "7bit", name + " encoding")
    eq(p.get_param("charset"), "us-ascii", name + " charset")
u = leaves[names.index("utf8.txt") + 1]
eq(u["Content-Transfer-Encoding"], "quoted-printable", "utf8.txt encoding")
eq(u.get_param("charset").lower(), "utf-8", "utf8.txt charset")
# 7bit text went over as it was, with CRLF line ends
assert b"\r\n. a dot\r\n.\r\nFrom here\r\n" in raw, "lf.txt lines not intact"
PY
}

@test "the final line break of a text part is kept (RFC 2046: the CRLF before a delimiter is the delimiter's)" {
	local d="$BATS_TEST_TMPDIR/att"
	mkdir -p "$d"
	printf 'a\nb\n' >"$d/ascii.txt"
	printf 'caf\xc3\xa9\n' >"$d/utf8.txt"
	printf 'two\n\n' >"$d/blank.txt"
	printf 'Hello Bob,\nsee the files.\n' >"$d/body"
	send -s eol -A "$d/ascii.txt" -A "$d/utf8.txt" -A "$d/blank.txt" \
		bob@example.org <"$d/body"
	assert_status 0
	mimecheck "$(received)" "$d" <<'PY'
import os
d = args[0]
eq(len(leaves), 4, "number of parts")
eq(lf(data(leaves[0])), readf(os.path.join(d, "body")), "the body")
for p, name in zip(leaves[1:], ("ascii.txt", "utf8.txt", "blank.txt")):
    eq(lf(data(p)), readf(os.path.join(d, name)), name)
PY
}

@test "quoted-printable text without a final line break: a 1 MB line and an 8-bit body keep the next part separate" {
	local d="$BATS_TEST_TMPDIR/att"
	mkdir -p "$d"
	pyfile "$d" <<'PY'
import os, sys
d = sys.argv[1]
open(os.path.join(d, "long.txt"), "wb").write(b"x" * 1000000)
open(os.path.join(d, "after.txt"), "wb").write(b"the part after\n")
open(os.path.join(d, "body"), "wb").write("Grüße".encode())
PY
	send -s qp -A "$d/long.txt" -A "$d/after.txt" bob@example.org <"$d/body"
	assert_status 0
	mimecheck "$(received)" "$d" <<'PY'
import os
d = args[0]
check_raw()
eq(structure(), "multipart/mixed[text/plain,text/plain,text/plain]",
   "structure")
eq(leaves[0]["Content-Transfer-Encoding"], "quoted-printable", "body encoding")
eq(data(leaves[0]), "Grüße".encode(), "the body")
eq(leaves[1].get_filename(), "long.txt", "long.txt name")
eq(leaves[1]["Content-Transfer-Encoding"], "quoted-printable",
   "long.txt encoding")
eq(data(leaves[1]), readf(os.path.join(d, "long.txt")), "long.txt")
eq(leaves[2].get_filename(), "after.txt", "after.txt name")
text_eq(data(leaves[2]), b"the part after\n", "after.txt")
PY
}

@test "encoding per part: 7bit, quoted-printable, base64; detected and given types" {
	local d="$BATS_TEST_TMPDIR/att"
	mkdir -p "$d"
	pyfile "$d" <<'PY'
import os, struct, sys, zlib
d = sys.argv[1]
def png():
    def chunk(t, b):
        return struct.pack(">I", len(b)) + t + b + \
            struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) +
            chunk(b"IEND", b""))
files = {
    "ascii.txt": b"plain ASCII text\nsecond line\n",
    "utf8.txt": "naïve café\n".encode(),
    "line998.txt": b"y" * 998 + b"\n",
    "line999.txt": b"z" * 999 + b"\n",
    "barecr.txt": b"old\rmac\rtext\n",
    "latin1.txt": "déjà vu, ça va\n".encode("latin-1") * 10,
    "latin1-given.txt": "déjà vu, ça va\n".encode("latin-1") * 10,
    "nul.txt": b"text with a NUL\x00 inside\n",
    "pixel.png": png(),
    "custom.dat": b"ASCII, but the user says what it is\n",
}
for name, b in files.items():
    with open(os.path.join(d, name), "wb") as f:
        f.write(b)
PY
	send -s types -A "$d/ascii.txt" -A "$d/utf8.txt" -A "$d/line998.txt" \
		-A "$d/line999.txt" -A "$d/barecr.txt" -A "$d/latin1.txt" \
		-A "$d/latin1-given.txt;type=text/plain" -A "$d/nul.txt" \
		-A "$d/pixel.png" -A "$d/custom.dat;type=application/x-envoi-test" \
		bob@example.org <<<"body"
	assert_status 0
	mimecheck "$(received)" "$d" <<'PY'
import os
d = args[0]
check_raw()
want = [  # name, type, encoding, charset
    ("ascii.txt", "text/plain", "7bit", "us-ascii"),
    ("utf8.txt", "text/plain", "quoted-printable", "utf-8"),
    ("line998.txt", "text/plain", "7bit", "us-ascii"),
    ("line999.txt", "text/plain", "quoted-printable", "us-ascii"),
    ("barecr.txt", "application/octet-stream", "base64", None),
    ("latin1.txt", "application/octet-stream", "base64", None),
    ("latin1-given.txt", "text/plain", "base64", None),
    ("nul.txt", "application/octet-stream", "base64", None),
    ("pixel.png", "image/png", "base64", None),
    ("custom.dat", "application/x-envoi-test", "base64", None),
]
eq(len(leaves), 1 + len(want), "number of parts")
eq(leaves[0]["Content-Transfer-Encoding"], "7bit", "body encoding")
for p, (name, ctype, cte, cs) in zip(leaves[1:], want):
    eq(p.get_filename(), name, "name")
    eq(p.get_content_type(), ctype, name + " type")
    eq(p["Content-Transfer-Encoding"].lower(), cte, name + " encoding")
    charset = p.get_param("charset")
    eq(charset.lower() if charset else None, cs, name + " charset")
    orig = readf(os.path.join(d, name))
    if cte == "base64":
        eq(data(p), orig, name + " content")
    else:
        text_eq(data(p), orig, name + " content")
PY
}

@test "binary types: signature, then the extension, then libmagic only up to 4 MiB" {
	command -v file >/dev/null || skip "no file(1) to say what libmagic finds"
	local d="$BATS_TEST_TMPDIR/types" rc=0
	mkdir -p "$d"
	cp /bin/true "$d/prog"
	cp /bin/true "$d/bigprog"
	head -c $((5 * 1024 * 1024)) /dev/zero >>"$d/bigprog"
	head -c 5000 /dev/urandom >"$d/pkg.deb"
	printf 'From: a@b\n\nNUL\0\n' >"$d/raw.eml"
	local magic
	magic=$(file -b --mime-type "$d/prog")
	[ "$(file -b --mime-type "$d/bigprog")" = "$magic" ]
	std_config srv starttls
	envoi -C "$CFG" --dry-run -s types -A "$d/prog" -A "$d/bigprog" \
		-A "$d/pkg.deb" -A "$d/raw.eml" bob@example.org </dev/null \
		>"$d/out.eml" || rc=$?
	[ "$rc" -eq 0 ]
	MAGIC="$magic" mimecheck "$d/out.eml" "$d" <<'PY'
import os
want = [("prog", os.environ["MAGIC"]),
        ("bigprog", "application/octet-stream"),
        ("pkg.deb", "application/vnd.debian.binary-package")]
eq(len(leaves), 5, "number of parts")
for p, (name, ctype) in zip(leaves[1:], want):
    eq(p.get_filename(), name, "name")
    eq(p.get_content_type(), ctype, name + " type")
    eq(data(p), readf(os.path.join(args[0], name)), name + " content")
eq(leaves[4].get_filename(), "raw.eml", "name")
if leaves[4].get_content_type().startswith("message/"):
    raise SystemExit("binary raw.eml was given a message type")
PY
}

@test "file names: UTF-8, quotes, semicolons, backslashes, spaces, =?, 200 characters" {
	local d="$BATS_TEST_TMPDIR/names"
	mkdir -p "$d/files"
	# Python makes the files and the -A arguments (NUL-separated) and
	# lists the names to expect, in order.
	pyfile "$d" <<'PY'
import json, os, sys
d = sys.argv[1]
def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
real = ["Résumé 履歴書.pdf", 'a "quoted" name.txt', "semi;colon.txt",
        "back\\slash.txt", "two  spaces here .txt", "=?utf-8?q?x?=.txt",
        "n" * 196 + ".txt"]
given = ["a; b \"c\" \\d.txt", "semi;colon; name=evil.txt",
         "Ünïcödé-" * 25, "€" * 40 + ".tar.gz", "'single' & <angle>.txt"]
argv, expect = [], []
for i, n in enumerate(real):
    p = os.path.join(d, "files", n)
    open(p, "wb").write(b"content of %d\n" % i)
    argv += ["-A", p]
    expect.append(n)
for i, n in enumerate(given):
    p = os.path.join(d, "files", "given%d" % i)
    open(p, "wb").write(b"given content %d\n" % i)
    argv += ["-A", p + ";name=" + quote(n)]
    expect.append(n)
assert len("Ünïcödé-" * 25) == 200 and len("n" * 196 + ".txt") == 200
open(os.path.join(d, "args"), "wb").write(
    b"".join(a.encode() + b"\0" for a in argv))
json.dump(expect, open(os.path.join(d, "expect.json"), "w"))
PY
	local -a args
	mapfile -d '' -t args <"$d/args"
	send -s names "${args[@]}" bob@example.org <<<"names"
	assert_status 0
	mimecheck "$(received)" "$d" <<'PY'
import json, os
expect = json.load(open(os.path.join(args[0], "expect.json")))
check_raw()
eq(len(leaves), 1 + len(expect), "number of parts")
for p, name in zip(leaves[1:], expect):
    eq(p.get_filename(), name, "Content-Disposition filename")
    eq(p["Content-Type"].params.get("name"), name, "Content-Type name")
    eq(p.defects, [], "defects of %r" % name)
PY
}

@test "file name parameters are folded: no part header line over 78 characters" {
	local d="$BATS_TEST_TMPDIR/fold"
	mkdir -p "$d"
	printf 'text\n' >"$d/text.txt"
	printf '\x00\x01' >"$d/bin.dat"
	local names=('=?utf-8?q?x?=.txt' 'Résumé.txt'
		"$(printf 'n%.0s' {1..60}).txt" "$(printf 'é%.0s' {1..30}).txt")
	local args=() n
	for n in "${names[@]}"; do
		args+=(-A "$d/text.txt;name=$n" -A "$d/bin.dat;name=$n")
	done
	send -s fold "${args[@]}" bob@example.org <<<"fold"
	assert_status 0
	mimecheck "$(received)" "${names[@]}" <<'PY'
eq([p.get_filename() for p in leaves[1:]],
   [n for n in args for _ in (0, 1)], "names")
checked = 0
for line in raw.split(b"\r\n"):
    if b"name" in line and (line.startswith(b"Content-") or
                            line[:1] in (b" ", b"\t")):
        checked += 1
        assert len(line) <= 78, "header line of %d: %r" % (len(line), line)
assert checked >= 16, "only %d lines checked" % checked
PY
}

@test "non-ASCII Subject, display names and --header values: RFC 2047, decoded to the originals" {
	local subject='Grüße aus Köln — ein sehr langer Betreff, damit der Kodierer falten muss: 履歴書 und noch mehr Text am Ende'
	local note='naïve café — déjà vu, ein langer Wert, der ebenfalls gefaltet werden muss 日本語 ✓'
	local long_ascii
	long_ascii=$(printf 'word%d ' {1..40})
	long_ascii=${long_ascii% }
	send -s "$subject" --from 'Jörg Müller <j@example.org>' \
		--reply-to 'Zoë Ünal <zoe@example.org>' \
		--header "X-Note: $note" --header "X-Long: $long_ascii" \
		'Björn Ångström <bjorn@example.org>' plain@example.org <<<"body"
	assert_status 0
	mimecheck "$(received)" "$subject" "$note" "$long_ascii" <<'PY'
subject, note, long_ascii = args
check_raw()  # the header section is ASCII only
eq(str(msg["Subject"]), subject, "Subject")
eq(str(msg["X-Note"]), note, "X-Note")
eq(str(msg["X-Long"]), long_ascii, "X-Long")
addrs = lambda h: [(a.display_name, a.addr_spec) for a in msg[h].addresses]
eq(addrs("From"), [("Jörg Müller", "j@example.org")], "From")
eq(addrs("To"), [("Björn Ångström", "bjorn@example.org"),
                 ("", "plain@example.org")], "To")
eq(addrs("Reply-To"), [("Zoë Ünal", "zoe@example.org")], "Reply-To")
for name in ("Subject", "X-Note", "X-Long", "From", "To", "Reply-To"):
    eq(len(msg.get_all(name)), 1, "number of %s fields" % name)
# the fields the encoder wrote are folded: no line over 78 characters
fields, cur = [], None
for line in head_lines():
    if line[:1] in (b" ", b"\t") and cur is not None:
        cur.append(line)
    else:
        cur = [line]
        fields.append(cur)
checked = 0
for f in fields:
    name = f[0].split(b":", 1)[0].lower()
    if name in (b"subject", b"x-note", b"x-long", b"from", b"to",
                b"reply-to"):
        checked += 1
        for line in f:
            assert len(line) <= 78, "line of %d: %r" % (len(line), line)
eq(checked, 6, "fields checked")
assert b"=?" in b"".join(b"".join(f) for f in fields
                         if f[0].lower().startswith(b"subject:")), \
    "Subject is not RFC 2047-encoded"
PY
}

@test "boundaries cannot collide: boundary-like lines and a whole composed message inside parts" {
	local d="$BATS_TEST_TMPDIR/bnd"
	mkdir -p "$d"
	printf '%s\n' 'body before' '--=_envoi_' '--=_envoi_0000' \
		'--=_envoi_00000000000000000000000000000000--' '--' '-- ' \
		'body after' >"$d/body"
	printf '%s\n' '--=_envoi_0000' 'inside the attachment' \
		'--=_envoi_0000--' '--=_envoi_' >"$d/lines.txt"
	# a composed message (with envoi boundaries of its own) as a text part
	std_config srv starttls
	printf 'inner body\n' | envoi -C "$CFG" --dry-run -s inner \
		-A "$d/lines.txt" --html "$d/lines.txt" bob@example.org >"$d/inner.eml"
	grep -q '^--=_envoi_' "$d/inner.eml"
	send -s boundaries -A "$d/lines.txt" \
		-A "$d/inner.eml;type=text/plain;name=inner.txt" \
		--html "$d/lines.txt" bob@example.org <"$d/body"
	assert_status 0
	mimecheck "$(received)" "$d" <<'PY'
import os
d = args[0]
check_raw()
eq(structure(), "multipart/mixed[multipart/alternative[text/plain,text/html],"
   "text/plain,text/plain]", "structure")
text_eq(data(leaves[0]), readf(os.path.join(d, "body")), "the body")
text_eq(data(leaves[1]), readf(os.path.join(d, "lines.txt")), "the html")
text_eq(data(leaves[2]), readf(os.path.join(d, "lines.txt")), "lines.txt")
text_eq(data(leaves[3]), readf(os.path.join(d, "inner.eml")), "inner.eml")
for p in msg.walk():
    eq(p.defects, [], "defects of a %s part" % p.get_content_type())
PY
}

@test "a message attached as a file can be recovered (message/rfc822 is never base64, RFC 2046 5.2.1)" {
	local d="$BATS_TEST_TMPDIR/fwd"
	mkdir -p "$d"
	std_msg "$d/fwd.eml"
	send -s forward -A "$d/fwd.eml" bob@example.org <<<"forwarded"
	assert_status 0
	mimecheck "$(received)" "$d" <<'PY'
import os
d = args[0]
orig = readf(os.path.join(d, "fwd.eml"))
eq(len([p for p in msg.iter_parts()]), 2, "number of parts")
p = list(msg.iter_parts())[1]
eq(p.get_filename(), "fwd.eml", "name")
if p.get_content_type() == "message/rfc822":
    cte = (p["Content-Transfer-Encoding"] or "7bit").lower()
    assert cte in ("7bit", "8bit", "binary"), \
        "message/rfc822 with Content-Transfer-Encoding %s" % cte
    inner = p.get_content()
    eq(str(inner["Subject"]), "envoi test", "the attached message's Subject")
    eq(inner.get_content().replace("\r\n", "\n").rstrip("\n"),
       "Hello Bob,\nthis is a test.", "the attached message's body")
else:
    eq(data(p), orig, "the attached message's bytes")
PY
}

# make_big FILE MB: MB megabytes of 'x' (one long line) and then 64 KB of
# fixed binary, so that the part is base64 (and libmagic sees text first)
make_big() {
	head -c "$(($2 * 1024 * 1024))" /dev/zero | tr '\0' x >"$1"
	"$PY" -c '
import random, sys
sys.stdout.buffer.write(random.Random(7).randbytes(65536))' >>"$1"
}

@test "memory: a 200 MB attachment (dry run) and a 20 MB one (sent): peak RSS small and flat" {
	sanitized && skip "sanitizer build: memory use not measured"
	local d="$BATS_TEST_TMPDIR/mem" rc
	mkdir -p "$d"
	make_big "$d/small" 1
	make_big "$d/mid" 20
	make_big "$d/big" 200
	std_config srv starttls

	rc=0
	maxrss_kb envoi -C "$CFG" --dry-run -s small -A "$d/small" \
		bob@example.org </dev/null >"$d/small.eml" || rc=$?
	[ "$rc" -eq 0 ]
	local small_rss
	small_rss=$(cat "$BATS_TEST_TMPDIR/maxrss_kb")
	mimecheck "$d/small.eml" "$d/small" <<'PY'
eq(len(leaves), 2, "number of parts")
eq(leaves[1]["Content-Transfer-Encoding"], "base64", "encoding")
eq(data(leaves[1]), readf(args[0]), "the attachment")
PY

	# the 200 MB one: only its size is checked (decoding it in Python
	# would take longer than the run); the content is checked on the
	# 20 MB one below
	maxrss_kb envoi -C "$CFG" --dry-run -s big -A "$d/big" \
		bob@example.org </dev/null | wc -c >"$d/big.size"
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 0 ]
	local big_rss big_size
	big_rss=$(cat "$BATS_TEST_TMPDIR/maxrss_kb")
	big_size=$(cat "$d/big.size")
	# base64: 4/3 of the input, and line ends
	[ "$big_size" -gt $(((200 * 1024 * 1024 + 65536) * 4 / 3)) ]

	# a real delivery (the test server takes up to 64 MB)
	run --separate-stderr maxrss_kb envoi -C "$CFG" -s mid -A "$d/mid" \
		bob@example.org </dev/null
	assert_status 0
	local mid_rss
	mid_rss=$(cat "$BATS_TEST_TMPDIR/maxrss_kb")
	mimecheck "$(received)" "$d/mid" <<'PY'
eq(len(leaves), 2, "number of parts")
eq(data(leaves[1]), readf(args[0]), "the 20 MB attachment")
PY

	echo "# peak RSS (largest process): 1 MB ${small_rss} KB, 20 MB sent ${mid_rss} KB, 200 MB ${big_rss} KB" >&3
	[ "$small_rss" -gt 0 ]
	local bad=0
	if [ $((big_rss - small_rss)) -ge "$RSS_GROWTH_KB" ]; then
		echo "grows with the attachment: +$((big_rss - small_rss)) KB from 1 MB to 200 MB (limit $RSS_GROWTH_KB)" >&2
		bad=1
	fi
	if [ "$big_rss" -ge "$RSS_LIMIT_KB" ] || [ "$mid_rss" -ge "$RSS_LIMIT_KB" ]; then
		echo "peak RSS over $RSS_LIMIT_KB KB" >&2
		bad=1
	fi
	[ "$bad" -eq 0 ]
}

@test "memory: a 200 MB attachment of a known type stays under 6 MB" {
	sanitized && skip "sanitizer build: memory use not measured"
	local d="$BATS_TEST_TMPDIR/mem2" rc
	mkdir -p "$d"
	head -c $((200 * 1024 * 1024)) /dev/zero >"$d/big.bin"
	std_config srv starttls
	rc=0
	maxrss_kb envoi -C "$CFG" --dry-run -s big \
		-A "$d/big.bin;type=application/octet-stream" \
		bob@example.org </dev/null >/dev/null || rc=$?
	[ "$rc" -eq 0 ]
	local rss
	rss=$(cat "$BATS_TEST_TMPDIR/maxrss_kb")
	echo "# peak RSS (largest process), 200 MB typed attachment: $rss KB" >&3
	[ "$rss" -gt 0 ]
	[ "$rss" -lt "$RSS_TYPED_LIMIT_KB" ]
}
