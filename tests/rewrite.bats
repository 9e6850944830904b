#!/usr/bin/env bats
# What envoi changes on the way, per account: aliases (file in aliases(5)
# syntax), qualification of bare names (maildomain, from's domain, host
# name) in the envelope and in the header, the From/Date/Message-ID it
# adds (set_from_header, keep_original_from, set_date_header,
# set_msgid_header), allow_from_override, rcpt_policy, and the choice of
# the account (-a, from patterns, default_account, the only account).

# status, output, lines and stderr are set by bats' run
# shellcheck disable=SC2154

load lib/common

setup_file() {
	common_setup_file
	start_server srv --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
}

# cfg [key=value ...]: std_config for srv's STARTTLS listener
cfg() { std_config srv starttls "$@"; }

# not CMD...: CMD must fail (a bare "! CMD" does not fail a bats test)
not() {
	if "$@"; then
		echo "should have failed: $*" >&2
		return 1
	fi
}

setup() {
	common_setup
	MSG="$BATS_TEST_TMPDIR/msg"
	EXP="$BATS_TEST_TMPDIR/expected"
	AL="$BATS_TEST_TMPDIR/aliases"
	cfg
}

send() {
	run --separate-stderr envoi -C "$CFG" "$@" <"$MSG"
}

rcpts() { last_json srv rcpt_tos; }

# header NAME: the (unfolded) value of the first NAME field of the last
# message, as Python's email package reads it
header() {
	"$PY" -c '
import sys, email, email.policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.compat32)
v = m.get(sys.argv[2])
print("" if v is None else " ".join(str(v).split()))
' "$(last_eml srv)" "$1"
}

# count_field NAME: how many NAME fields the last message has
count_field() { grep -ci "^$1:" "$(last_eml srv)" || true; }

plain_msg() {
	write_msg "$MSG" <<'EOF'
From: Alice <alice@example.org>
Subject: rewrite
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <rw@example.org>

body
EOF
}

# --- qualification ---------------------------------------------------------

@test "a bare recipient gets the domain of the account's from address" {
	plain_msg
	send root
	assert_status 0
	[ "$(rcpts)" = root@example.org ]
}

@test "maildomain qualifies bare names in the envelope (recipients and -f sender)" {
	cfg maildomain=mail.example
	plain_msg
	send -f daemon root alice@example.org
	assert_status 0
	[ "$(rcpts)" = "$(printf '%s\n' root@mail.example alice@example.org)" ]
	[ "$(last_json srv mail_from)" = daemon@mail.example ]
}

@test "no maildomain and a from pattern: bare names get the host name" {
	cfg from='*@example.org'
	plain_msg
	send root
	assert_status 0
	local host
	host=$("$PY" -c 'import socket; print(socket.gethostname())')
	[ "$(rcpts)" = "root@$host" ]
}

@test "bare names in the header are qualified: From, To, Cc, Reply-To, Sender; comments and folding kept" {
	cfg maildomain=mail.example
	write_msg "$MSG" <<'EOF'
From: root (Cron Daemon)
To: Root User <root>,
	carol (Carol C)
Cc: "Ops, the team" <ops>, dave@example.net
Reply-To: webmaster
Sender: daemon
Subject: qualify
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <q@example.org>

body
EOF
	write_msg "$EXP" <<'EOF'
From: root@mail.example (Cron Daemon)
To: Root User <root@mail.example>,
	carol@mail.example (Carol C)
Cc: "Ops, the team" <ops@mail.example>, dave@example.net
Reply-To: webmaster@mail.example
Sender: daemon@mail.example
Subject: qualify
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <q@example.org>

body
EOF
	to_crlf "$EXP" "$EXP.crlf"
	send -t
	assert_status 0
	assert_same_file "$EXP.crlf" "$(last_eml srv)"
	[ "$(rcpts)" = "$(printf '%s\n' root@mail.example carol@mail.example ops@mail.example dave@example.net)" ]
}

@test "qualified addresses and domain literals are left alone" {
	write_msg "$MSG" <<'EOF'
From: Alice <alice@example.org>
To: bob@example.net, "x y"@example.com, postmaster@[127.0.0.1]
Subject: untouched
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <u@example.org>

body
EOF
	to_crlf "$MSG" "$EXP"
	send -t
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
	[ "$(rcpts)" = "$(printf '%s\n' bob@example.net '"x y"@example.com' 'postmaster@[127.0.0.1]')" ]
}

# --- aliases -------------------------------------------------------------------

@test "aliases: nested names, continuation lines, comments, a target given twice, case" {
	cat >"$AL" <<'EOF'
# system aliases
postmaster: root
root: admin
admin: ops@example.org,
	dev@example.org
  , carol

# staff is everyone
staff: root, Bob <bob@example.net>, ops@example.org
EOF
	cfg aliases="$AL"
	plain_msg
	send POSTMASTER
	assert_status 0
	[ "$(rcpts)" = "$(printf '%s\n' ops@example.org dev@example.org carol@example.org)" ]
	send staff
	assert_status 0
	[ "$(rcpts)" = "$(printf '%s\n' ops@example.org dev@example.org carol@example.org bob@example.net)" ]
}

@test "aliases: 'default:' catches unknown bare names, not qualified addresses nor nested names" {
	cat >"$AL" <<'EOF'
root: admin@example.org, helper
default: catchall@example.org
EOF
	cfg aliases="$AL"
	plain_msg
	send nosuchuser root someone@example.net
	assert_status 0
	# helper (reached through root) is not caught: it is qualified
	[ "$(rcpts)" = "$(printf '%s\n' catchall@example.org admin@example.org helper@example.org someone@example.net)" ]
}

@test "aliases: a name that maps to itself is the mailbox, qualified" {
	printf 'alice: alice, alice@example.net\n' >"$AL"
	cfg aliases="$AL"
	plain_msg
	send alice
	assert_status 0
	[ "$(rcpts)" = "$(printf '%s\n' alice@example.org alice@example.net)" ]
}

@test "aliases: a repeated name adds to the first entry" {
	printf 'team: a@example.org\nteam: b@example.org\n' >"$AL"
	cfg aliases="$AL"
	plain_msg
	send team
	assert_status 0
	[ "$(rcpts)" = "$(printf '%s\n' a@example.org b@example.org)" ]
}

@test "aliases apply in the header with -t: To, Cc, Bcc, names and comments kept, Bcc removed" {
	printf 'root: admin@example.org\nteam: a@example.org, b@example.org\n' >"$AL"
	cfg aliases="$AL"
	write_msg "$MSG" <<'EOF'
From: root (Cron Daemon)
To: Root User <root>,
  "Quoted, Name" <root> (c)
Cc: team
Bcc: secret
Subject: aliased
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <al@example.org>

body
EOF
	write_msg "$EXP" <<'EOF'
From: root@example.org (Cron Daemon)
To: Root User <admin@example.org>,
  "Quoted, Name" <admin@example.org> (c)
Cc: a@example.org, b@example.org
Subject: aliased
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <al@example.org>

body
EOF
	to_crlf "$EXP" "$EXP.crlf"
	send -t
	assert_status 0
	assert_same_file "$EXP.crlf" "$(last_eml srv)"
	[ "$(rcpts)" = "$(printf '%s\n' admin@example.org a@example.org b@example.org secret@example.org)" ]
}

@test "aliases apply to Resent-To, which then gives the recipients" {
	printf 'root: admin@example.org\n' >"$AL"
	cfg aliases="$AL"
	write_msg "$MSG" <<'EOF'
From: alice@example.org
To: bob@example.org
Resent-From: alice@example.org
Resent-To: root
Subject: resent
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <rs@example.org>

body
EOF
	send -t
	assert_status 0
	[ "$(rcpts)" = admin@example.org ]
	grep -q $'^Resent-To: admin@example.org\r$' "$(last_eml srv)"
	grep -q $'^To: bob@example.org\r$' "$(last_eml srv)"
}

@test "aliases do not apply to From, Reply-To or the envelope sender" {
	printf 'root: admin@example.org\n' >"$AL"
	cfg aliases="$AL"
	write_msg "$MSG" <<'EOF'
From: root
Reply-To: root
Subject: sender side
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <ss@example.org>

body
EOF
	send -f root bob@example.org
	assert_status 0
	[ "$(last_json srv mail_from)" = root@example.org ]
	[ "$(header From)" = root@example.org ]
	[ "$(header Reply-To)" = root@example.org ]
}

@test "aliases: pipes, files and :include: are refused with FILE:LINE, exit 78, nothing sent" {
	local target
	for target in '|/usr/bin/procmail' '/var/mail/root' ':include:/etc/mail/staff'; do
		printf '# header\nok: a@example.org\nroot: admin@example.org,\n  %s\n' "$target" >"$AL"
		cfg aliases="$AL"
		plain_msg
		send bob@example.org
		assert_status 78
		assert_error_line
		# the line of the entry, or of its continuation with the target
		[[ $stderr == *"$AL:3"* || $stderr == *"$AL:4"* ]]
		[[ $stderr == *"$target"* ]]
	done
	[ "$(conn_count srv)" -eq 0 ]
}

@test "aliases: quoted pipes and files (\"|cmd args\") are refused too" {
	local target
	for target in '"| /usr/bin/procmail -d root"' '"/var/mail/root"' '":include:/etc/mail/staff"'; do
		printf 'root: %s\n' "$target" >"$AL"
		cfg aliases="$AL"
		plain_msg
		send root
		if [ "$status" -ne 78 ]; then
			echo "alias target $target: status $status, expected 78" >&2
			cat "$(transcript srv)" >&2
			return 1
		fi
		[[ $stderr == *"$AL:1"* ]]
	done
	[ "$(msg_count srv)" -eq 0 ]
}

@test "aliases: a loop, a missing file, a line without a colon: exit 78, nothing sent" {
	printf 'a: b\nb: c\nc: a\n' >"$AL"
	cfg aliases="$AL"
	plain_msg
	send a
	assert_status 78
	assert_error_line
	cfg aliases="$BATS_TEST_TMPDIR/no-such-aliases"
	send bob@example.org
	assert_status 78
	[[ $stderr == *no-such-aliases* ]]
	printf 'root: a@example.org\nthis line has no colon\n' >"$AL"
	cfg aliases="$AL"
	send bob@example.org
	assert_status 78
	[[ $stderr == *"$AL:2"* ]]
	[ "$(conn_count srv)" -eq 0 ]
}

@test "aliases are per account, inherited from defaults" {
	printf 'root: admin@example.org\n' >"$AL"
	write_config "$CFG" <<EOF
defaults {
  tls_trust_file = "$PKI/ca.pem"
  host = "127.0.0.1"
  port = $(server_port srv starttls)
  user = "$AUTH_USER"
  password = "$AUTH_PASS"
  aliases = "$AL"
}
account "a" {
  from = "a@example.org"
}
account "b" {
  from = "b@example.org"
}
EOF
	plain_msg
	send -a a root
	assert_status 0
	[ "$(rcpts)" = admin@example.org ]
}

# --- From, Date, Message-ID ------------------------------------------------------

@test "set_from_header auto (default): From, Date and Message-ID added when missing" {
	cfg maildomain=mail.example
	printf 'To: bob@example.org\nSubject: bare\n\nbody\n' >"$MSG"
	send -F 'Cron Daemon' bob@example.org
	assert_status 0
	[ "$(header From)" = 'Cron Daemon <alice@example.org>' ]
	[ "$(count_field From)" -eq 1 ]
	[ "$(count_field Date)" -eq 1 ]
	[ "$(count_field Message-ID)" -eq 1 ]
	# Date parses and is recent; Message-ID is <...@qualification domain>
	"$PY" - "$(header Date)" "$(header Message-ID)" <<'EOF'
import sys, time, email.utils, re
d = email.utils.parsedate_to_datetime(sys.argv[1])
assert abs(d.timestamp() - time.time()) < 300, sys.argv[1]
assert re.fullmatch(r"<[^<>@\s]+@mail\.example>", sys.argv[2]), sys.argv[2]
EOF
}

@test "set_from_header auto: the added From has the envelope sender (-f)" {
	printf 'To: bob@example.org\nSubject: bare\n\nbody\n' >"$MSG"
	send -f robot@example.net bob@example.org
	assert_status 0
	[ "$(header From)" = robot@example.net ]
	[ "$(last_json srv mail_from)" = robot@example.net ]
}

@test "set_from_header auto: an existing From is kept as is" {
	plain_msg
	to_crlf "$MSG" "$EXP"
	send -F Ignored -f other@example.net bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "set_from_header on: any From becomes the account's address (-F as name), original dropped" {
	cfg set_from_header=on
	write_msg "$MSG" <<'EOF'
From: Mallory <mallory@evil.example>
To: bob@example.org
Subject: forced
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <f@example.org>

body
EOF
	send -F 'Alice A' bob@example.org
	assert_status 0
	[ "$(header From)" = 'Alice A <alice@example.org>' ]
	[ "$(count_field From)" -eq 1 ]
	[ "$(count_field Reply-To)" -eq 0 ]
	not grep -q mallory "$(last_eml srv)"
}

@test "set_from_header on + keep_original_from: the replaced From goes to Reply-To" {
	cfg set_from_header=on keep_original_from=true
	write_msg "$MSG" <<'EOF'
From: Zed <zed@other.example>
To: bob@example.org
Subject: kept
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <k@example.org>

body
EOF
	send bob@example.org
	assert_status 0
	[ "$(header From)" = alice@example.org ]
	[ "$(header Reply-To)" = 'Zed <zed@other.example>' ]
	[ "$(count_field Reply-To)" -eq 1 ]
}

@test "keep_original_from: an existing Reply-To wins and is not doubled" {
	cfg set_from_header=on keep_original_from=true
	write_msg "$MSG" <<'EOF'
From: Zed <zed@other.example>
Reply-To: list@other.example
To: bob@example.org
Subject: kept
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <k2@example.org>

body
EOF
	send bob@example.org
	assert_status 0
	[ "$(header From)" = alice@example.org ]
	[ "$(header Reply-To)" = list@other.example ]
	[ "$(count_field Reply-To)" -eq 1 ]
}

@test "set_from_header off, set_date_header and set_msgid_header false: nothing is added" {
	cfg set_from_header=off set_date_header=false set_msgid_header=false
	printf 'To: bob@example.org\nSubject: bare\n\nbody\n' >"$MSG"
	to_crlf "$MSG" "$EXP"
	send -F Nobody bob@example.org
	assert_status 0
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "bad set_from_header value: exit 78 naming the key" {
	cfg set_from_header=always
	plain_msg
	send bob@example.org
	assert_status 78
	[[ $stderr == *set_from_header* ]]
	[ "$(conn_count srv)" -eq 0 ]
}

# --- allow_from_override -------------------------------------------------------

@test "allow_from_override (default on): -f sets the envelope sender" {
	plain_msg
	send -f bounces@example.net bob@example.org
	assert_status 0
	[ "$(last_json srv mail_from)" = bounces@example.net ]
}

@test "allow_from_override off: -f is ignored, the account's from is the sender" {
	cfg allow_from_override=false
	plain_msg
	send -f mallory@evil.example bob@example.org
	assert_status 0
	[ "$(last_json srv mail_from)" = alice@example.org ]
	send -r mallory@evil.example bob@example.org
	assert_status 0
	[ "$(last_json srv mail_from)" = alice@example.org ]
}

@test "allow_from_override off, from is a pattern: -f still gives the sender" {
	cfg allow_from_override=false from='*@example.org'
	plain_msg
	send -f bob@example.org carol@example.org
	assert_status 0
	[ "$(last_json srv mail_from)" = bob@example.org ]
}

@test "from pattern, no -f: the envelope sender is the From header's address" {
	cfg from='*@example.org'
	write_msg "$MSG" <<'EOF'
From: Bob <bob@example.org>
Subject: pattern
Date: Mon, 01 Jan 2024 00:00:00 +0000
Message-ID: <p@example.org>

body
EOF
	send carol@example.org
	assert_status 0
	[ "$(last_json srv mail_from)" = bob@example.org ]
}

# --- rcpt_policy -----------------------------------------------------------------

@test "rcpt_policy all (default): one refused recipient -> nothing sent, exit 67 naming it" {
	cfg queue=never
	server_ctl srv reply-RCPT 'bad@example.org 550 5.1.1 no such user'
	plain_msg
	send good@example.org bad@example.org
	assert_status 67
	[[ $stderr == *bad@example.org* ]]
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv DATA
}

@test "rcpt_policy partial: delivered to the accepted ones, exit 67 naming the refused" {
	cfg queue=never rcpt_policy=partial
	server_ctl srv reply-RCPT 'bad@example.org 550 5.1.1 no such user'
	plain_msg
	to_crlf "$MSG" "$EXP"
	send good@example.org bad@example.org other@example.org
	assert_status 67
	[[ $stderr == *bad@example.org* ]]
	[[ $stderr != *good@example.org* ]]
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(rcpts)" = "$(printf '%s\n' good@example.org other@example.org)" ]
	assert_same_file "$EXP" "$(last_eml srv)"
}

@test "rcpt_policy partial: every refused recipient is named" {
	cfg queue=never rcpt_policy=partial
	server_ctl srv reply-RCPT $'bad1@example.org 550 5.1.1 no such user\nbad2@example.org 553 5.1.3 bad mailbox'
	plain_msg
	send bad1@example.org good@example.org bad2@example.org
	assert_status 67
	[ "$(rcpts)" = good@example.org ]
	[[ $stderr == *bad1@example.org* ]]
	[[ $stderr == *bad2@example.org* ]]
}

@test "rcpt_policy partial, every recipient refused: exit 67, nothing sent" {
	cfg queue=never rcpt_policy=partial
	server_ctl srv reply-RCPT '550 5.1.1 nobody here'
	plain_msg
	send a@example.org b@example.org
	assert_status 67
	[ "$(msg_count srv)" -eq 0 ]
}

@test "bad rcpt_policy value: exit 78" {
	cfg rcpt_policy=some
	plain_msg
	send bob@example.org
	assert_status 78
	[[ $stderr == *rcpt_policy* ]]
}

# --- choosing the account -----------------------------------------------------------

# accounts_config [default]: four accounts on the same server, told apart
# by their EHLO name; default_account if given
accounts_config() {
	{
		[ -z "${1-}" ] || echo "default_account = \"$1\""
		cat <<EOF
defaults {
  tls_trust_file = "$PKI/ca.pem"
  host = "127.0.0.1"
  port = $(server_port srv starttls)
  user = "$AUTH_USER"
  password = "$AUTH_PASS"
}
account "work" {
  from = "*@work.example"
  domain = "work.helo"
}
account "home" {
  from = "me@home.example"
  domain = "home.helo"
}
account "other" {
  from = "x?z@other.example"
  domain = "other.helo"
}
account "fallback" {
  from = "fallback@example.org"
  domain = "fallback.helo"
}
EOF
	} | write_config "$CFG"
}

# used_account: the EHLO name of the last connection
used_account() { last_conn srv | awk 'toupper($1) == "EHLO" { print $2; exit }'; }

# from_msg ADDR: a message whose From is ADDR
from_msg() {
	printf 'From: %s\nTo: rcpt@example.org\nSubject: choose\nDate: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <c@example.org>\n\nbody\n' "$1" >"$MSG"
}

@test "account choice: -f matching a pattern picks that account, whatever the From" {
	accounts_config fallback
	from_msg 'me@home.example'
	send -f bot@work.example rcpt@example.org
	assert_status 0
	[ "$(used_account)" = work.helo ]
	[ "$(last_json srv mail_from)" = bot@work.example ]
}

@test "account choice: without -f the From header decides; case-insensitive; user+tag matches user" {
	accounts_config fallback
	from_msg 'Bob <BOB@Work.Example>'
	send rcpt@example.org
	assert_status 0
	[ "$(used_account)" = work.helo ]
	from_msg 'Me <me+lists@HOME.example>'
	send rcpt@example.org
	assert_status 0
	[ "$(used_account)" = home.helo ]
	# the account's own address is the sender
	[ "$(last_json srv mail_from)" = me@home.example ]
	from_msg 'xyz@other.example'
	send rcpt@example.org
	assert_status 0
	[ "$(used_account)" = other.helo ]
}

@test "account choice: no match -> default_account" {
	accounts_config fallback
	from_msg 'nobody@elsewhere.example'
	send rcpt@example.org
	assert_status 0
	[ "$(used_account)" = fallback.helo ]
	from_msg 'xyyz@other.example' # ? is one character
	send rcpt@example.org
	assert_status 0
	[ "$(used_account)" = fallback.helo ]
}

@test "account choice: -a wins over the patterns; -a with an unknown name: exit 78" {
	accounts_config fallback
	from_msg 'bob@work.example'
	send -a home rcpt@example.org
	assert_status 0
	[ "$(used_account)" = home.helo ]
	send -a nosuch rcpt@example.org
	assert_status 78
	[[ $stderr == *nosuch* ]]
}

@test "account choice: several accounts, no default, no match: exit 78, nothing sent" {
	accounts_config
	from_msg 'nobody@elsewhere.example'
	send rcpt@example.org
	assert_status 78
	assert_error_line
	[ "$(conn_count srv)" -eq 0 ]
}

@test "account choice: the only account is used whatever the sender" {
	cfg
	sed -i '/^default_account/d' "$CFG"
	not grep -q default_account "$CFG"
	from_msg 'stranger@elsewhere.example'
	send -f stranger@elsewhere.example rcpt@example.org
	assert_status 0
	[ "$(used_account)" = client.example ]
	[ "$(last_json srv mail_from)" = stranger@elsewhere.example ]
}

@test "aliases: commands and files hidden behind a group or a comment are refused (fuzz_aliases)" {
	printf 'root: g:;/etc/passwd, (c)|/usr/bin/procmail\n' >"$BATS_TEST_TMPDIR/al"
	std_config srv starttls aliases="$BATS_TEST_TMPDIR/al"
	run --separate-stderr envoi -C "$CFG" root <<<"Subject: x"
	assert_status 78
	[[ $stderr == *"$BATS_TEST_TMPDIR/al:1:"* ]]
	[ "$(msg_count srv)" -eq 0 ]
}

@test "aliases: every name is expanded once, so nesting cannot explode (fuzz_aliases)" {
	local f="$BATS_TEST_TMPDIR/al" i
	for i in $(seq 0 9); do
		printf 'a%d: a%d, a%d, a%d, a%d, a%d, a%d, a%d, a%d\n' "$i" \
		    $((i + 1)) $((i + 1)) $((i + 1)) $((i + 1)) $((i + 1)) \
		    $((i + 1)) $((i + 1)) $((i + 1))
	done >"$f"
	echo 'a10: end@example.org' >>"$f"
	std_config srv starttls aliases="$f"
	run --separate-stderr timeout 10 "$ENVOI" -C "$CFG" a0 <<<"Subject: x"
	assert_status 0
	[ "$(last_json srv rcpt_tos)" = "end@example.org" ]
}
