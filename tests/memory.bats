#!/usr/bin/env bats
# A 20 MB message is delivered intact and envoi's memory does not grow with
# the message size.

load lib/common

# peak RSS limit for envoi, KB
RSS_LIMIT_KB=${RSS_LIMIT_KB:-8192}
# allowed growth from a tiny message to the 20 MB one, KB
RSS_GROWTH_KB=${RSS_GROWTH_KB:-1024}

setup_file() {
	common_setup_file
	start_server srv --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
}

# make_big FILE BYTES: a message of about BYTES bytes with LF line endings and
# lines of varied length (0..200), some starting with dots (no line is a
# lone "."); prints the sha256 of its CRLF form
make_big() {
	"$PY" -c '
import hashlib, random, sys
path, size = sys.argv[1], int(sys.argv[2])
rnd = random.Random(20240101)
alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 +/=-"
head = (b"From: alice@example.org\nTo: bob@example.org\nSubject: big\n"
        b"Date: Mon, 01 Jan 2024 00:00:00 +0000\n"
        b"Message-ID: <big@example.org>\n\n")
h = hashlib.sha256()
with open(path, "wb") as f:
    f.write(head)
    h.update(head.replace(b"\n", b"\r\n"))
    n = len(head)
    pool = bytes(rnd.choice(alphabet) for _ in range(4096))
    i = 0
    while n < size:
        k = rnd.randrange(0, 201)
        start = rnd.randrange(0, 4096 - 201)
        line = pool[start:start + k]
        i += 1
        if i % 97 == 0:
            line = b"." + (line or b"x")
        elif i % 89 == 0:
            line = b".."
        f.write(line + b"\n")
        h.update(line + b"\r\n")
        n += len(line) + 1
print(h.hexdigest())
' "$1" "$2"
}

@test "20 MB message: delivered intact, peak RSS small and flat" {
	std_config srv starttls
	if sanitized; then
		local big="$BATS_TEST_TMPDIR/big" big_sum
		big_sum=$(make_big "$big" 20000000)
		run --separate-stderr envoi -C "$CFG" bob@example.org < <(cat "$big")
		assert_status 0
		[ "$(sha256sum <"$(last_eml srv)" | cut -d' ' -f1)" = "$big_sum" ]
		skip "sanitizer build: delivered intact; memory use not measured"
	fi
	local small="$BATS_TEST_TMPDIR/small" big="$BATS_TEST_TMPDIR/big"
	local small_sum big_sum small_rss big_rss
	small_sum=$(make_big "$small" 2000)
	big_sum=$(make_big "$big" 20000000)

	run --separate-stderr maxrss_kb envoi -C "$CFG" bob@example.org < <(cat "$small")
	assert_status 0
	small_rss=$(cat "$BATS_TEST_TMPDIR/maxrss_kb")
	[ "$(sha256sum <"$(last_eml srv)" | cut -d' ' -f1)" = "$small_sum" ]

	run --separate-stderr maxrss_kb envoi -C "$CFG" bob@example.org < <(cat "$big")
	assert_status 0
	big_rss=$(cat "$BATS_TEST_TMPDIR/maxrss_kb")
	[ "$(msg_count srv)" -eq 2 ]
	[ "$(sha256sum <"$(last_eml srv)" | cut -d' ' -f1)" = "$big_sum" ]

	echo "# peak RSS: small message ${small_rss} KB, 20 MB message ${big_rss} KB" >&3
	[ "$big_rss" -gt 0 ]
	[ "$big_rss" -lt "$RSS_LIMIT_KB" ]
	[ $((big_rss - small_rss)) -lt "$RSS_GROWTH_KB" ]
}
