#!/usr/bin/env bats
# import.c: msmtp configurations (msmtprc) converted into envoi's.  Each
# realistic file is converted with import_tool; the result must load in
# envoi (a --dry-run with the account picked by -a exits 0), hold the
# expected keys, and name what it could not carry over in comments.
# import_tool -r loads the result with envoi's own reader and prints every
# account as envoi resolves it, which checks inheritance and quoting end
# to end.

# status, output and stderr are set by bats' run
# shellcheck disable=SC2154

load lib/common

: "${IMPORT_TOOL:=$BATS_TEST_DIRNAME/unit/import_tool}"

# No servers and no PKI here.
setup_file() { :; }
teardown_file() { :; }

setup() {
	[ -x "$IMPORT_TOOL" ] || skip "import_tool not built (make -C tests unit/import_tool)"
	common_setup
	RC="$BATS_TEST_TMPDIR/msmtprc"
	OUT="$BATS_TEST_TMPDIR/envoi.conf"
}

# convert: $RC into $OUT (mode 600: it may hold a password); must exit 0
convert() {
	local rc=0
	(umask 077 && "$IMPORT_TOOL" "$RC" >"$OUT") || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "import_tool exited $rc" >&2
		return 1
	fi
}

# resolved: what envoi makes of the converted $RC (account.key=value)
resolved() {
	run --separate-stderr "$IMPORT_TOOL" -r "$RC"
	assert_status 0
	RESOLVED=$output
}

# has KEY=VALUE: a line of the resolved accounts
has() {
	if ! grep -qxF -- "$1" <<<"$RESOLVED"; then
		echo "not resolved: '$1'; got:" >&2
		printf '%s\n' "$RESOLVED" >&2
		return 1
	fi
}

# loads ACCOUNT: envoi takes $OUT and picks ACCOUNT
loads() {
	run --separate-stderr envoi -C "$OUT" -s x --dry-run -a "$1" \
		bob@example.org </dev/null
	assert_status 0
	[[ $output == *"Subject: x"* ]]
}

# in_out LINE: $OUT holds this exact line (leading tab included)
in_out() {
	if ! grep -qxF -- "$1" "$OUT"; then
		echo "no line '$1' in:" >&2
		cat "$OUT" >&2
		return 1
	fi
}

# ---------------------------------------------------------------------------
# realistic files

@test "gmail: STARTTLS on 587, passwordeval, account default : gmail" {
	cat >"$RC" <<'EOF'
# ~/.msmtprc
defaults
auth           on
tls            on
tls_trust_file /etc/ssl/certs/ca-certificates.crt
logfile        ~/.msmtp.log

# Gmail: an app password, kept encrypted
account        gmail
host           smtp.gmail.com
port           587
tls_starttls   on
from           alice.example@gmail.com
user           alice.example@gmail.com
passwordeval   "gpg --quiet --for-your-eyes-only --no-tty --decrypt ~/.msmtp-gmail.gpg"

# Set a default account
account default : gmail
EOF
	convert
	cat >"$BATS_TEST_TMPDIR/expected" <<'EOF'
# envoi configuration converted from the msmtp configuration 'MSMTPRC'.
# See envoi.conf(5); lines marked 'not carried over' need a look.

default_account = "gmail"	# msmtprc line 18: account default

defaults {
	tls = "starttls"
	tls_trust_file = "/etc/ssl/certs/ca-certificates.crt"
	auth = "on"
	logfile = "${HOME}/.msmtp.log"
}

account "gmail" {	# msmtprc line 9
	host = "smtp.gmail.com"
	port = 587
	user = "alice.example@gmail.com"
	passwordeval = "gpg --quiet --for-your-eyes-only --no-tty --decrypt ~/.msmtp-gmail.gpg"
	from = "alice.example@gmail.com"
}
EOF
	sed -i "s|MSMTPRC|$RC|" "$BATS_TEST_TMPDIR/expected"
	diff -u "$BATS_TEST_TMPDIR/expected" "$OUT"
	loads gmail
	resolved
	has "gmail.port=587"
	has "gmail.tls=starttls"
	has "gmail.auth=on"
	has "gmail.logfile=$HOME/.msmtp.log"
	has "gmail.passwordeval=gpg --quiet --for-your-eyes-only --no-tty --decrypt ~/.msmtp-gmail.gpg"
	has "default=gmail"
	# no account "default" of its own
	run ! grep -q 'account "default"' "$OUT"
}

@test "fastmail-like: implicit TLS on 465, the only account" {
	cat >"$RC" <<'EOF'
account fastmail
host smtp.fastmail.com
port 465
tls on
tls_starttls off
auth on
user alice@fastmail.com
passwordeval pass show email/fastmail
from alice@fastmail.com
EOF
	convert
	in_out $'\ttls = "tls"'
	in_out $'\tport = 465'
	in_out $'\tpasswordeval = "pass show email/fastmail"'
	run ! grep -q '^default_account' "$OUT"
	loads fastmail
	resolved
	has "fastmail.tls=tls"
	has "fastmail.port=465"
	has "default=fastmail"
}

@test "implicit TLS without a port gets msmtp's 465, STARTTLS without one 25" {
	cat >"$RC" <<'EOF'
account smtps
host smtps.example.org
tls on
tls_starttls off

account submission
host mail.example.org
tls on

account plain
host relay.lan
EOF
	convert
	loads smtps
	resolved
	has "smtps.tls=tls"
	has "smtps.port=465"
	has "submission.tls=starttls"
	has "submission.port=25"
	# msmtp's default is no TLS at all, envoi's is STARTTLS
	has "plain.tls=off"
	has "plain.port=25"
	grep -q "msmtp's default: no TLS" "$OUT"
}

@test "several accounts: account work : defaultsish, account default : work" {
	cat >"$RC" <<'EOF'
defaults
tls on
tls_starttls on
auth on
timeout 30

account defaultsish
host mail.example.com
port 587
set_from_header on
syslog LOG_MAIL

account personal : defaultsish
from alice@example.com
user alice
passwordeval secret-tool lookup host mail.example.com user alice

account work : defaultsish
host smtp.corp.example
from alice.smith@corp.example
user asmith
password "s3cr$t pa\ss"
allow_from_override off

account default : work
EOF
	convert
	grep -q '^# It holds a password' "$OUT"
	grep -qx 'default_account = "work".*' "$OUT"
	in_out $'\ttimeout = 30'
	for a in defaultsish personal work; do
		loads "$a"
	done
	resolved
	has "default=work"
	# inherited from the base, over the defaults
	has "work.port=587"
	has "work.set_from_header=on"
	has "work.syslog=mail"
	has "work.tls=starttls"
	has "work.timeout=30"
	# its own lines over the base's
	has "work.host=smtp.corp.example"
	has "work.password=s3cr\$t pa\\ss"
	has "work.allow_from_override=0"
	has "personal.host=mail.example.com"
	has "personal.from=alice@example.com"
	has "personal.password="
	has "personal.allow_from_override=1"
	[ "$(grep -c '^account ' "$OUT")" -eq 3 ]
}

@test "aliases, logfile and syslog carried over" {
	printf 'root: admin@example.org\n' >"$BATS_TEST_TMPDIR/aliases"
	cat >"$RC" <<EOF
# /etc/msmtprc on a server: cron mail through the office relay
defaults
syslog on
logfile $BATS_TEST_TMPDIR/msmtp.log
aliases $BATS_TEST_TMPDIR/aliases

account relay
host relay.office.example
port 25
from root@server.example
maildomain server.example
set_date_header auto
set_msgid_header off

account quiet : relay
syslog off
logfile
EOF
	convert
	in_out $'\tsyslog = "user"\t# msmtp\'s default facility'
	in_out $'\taliases = "'"$BATS_TEST_TMPDIR"'/aliases"'
	in_out $'\tlogfile = "'"$BATS_TEST_TMPDIR"'/msmtp.log"'
	loads relay
	loads quiet
	resolved
	has "relay.syslog=user"
	has "relay.aliases=$BATS_TEST_TMPDIR/aliases"
	has "relay.logfile=$BATS_TEST_TMPDIR/msmtp.log"
	has "relay.maildomain=server.example"
	has "relay.set_date_header=1"
	has "relay.set_msgid_header=0"
	has "quiet.syslog=off"
	# envoi cannot unset what its defaults section sets: said so
	grep -q "'logfile' from defaults {} applies here too" "$OUT"
}

@test "unsupported keys become comments naming the line" {
	cat >"$RC" <<'EOF'
account odd
host smtp.example.org
tls on
tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33
tls_min_dh_prime_bits 2048
ntlmdomain CORP
proxy_host 127.0.0.1
proxy_port 1080
source_ip 10.0.0.1
socket /run/smtp.sock
undisclosed_recipients on
remove_bcc_headers off
dsn_notify failure,delay
dsn_return headers
from_full_name "Alice Example"
logfile_time_format %Y-%m-%d
timeout off
logfile -
protocol lmtp
eval echo user alice
frobnicate yes
EOF
	convert
	local n=0 line
	for line in \
		"4: 'tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33'" \
		"5: 'tls_min_dh_prime_bits 2048'" \
		"6: 'ntlmdomain CORP'" \
		"7: 'proxy_host 127.0.0.1'" \
		"8: 'proxy_port 1080'" \
		"9: 'source_ip 10.0.0.1'" \
		"10: 'socket /run/smtp.sock'" \
		"11: 'undisclosed_recipients on'" \
		"12: 'remove_bcc_headers off'" \
		"13: 'dsn_notify failure,delay'" \
		"14: 'dsn_return headers'" \
		"15: 'from_full_name \"Alice Example\"'" \
		"16: 'logfile_time_format %Y-%m-%d'" \
		"17: 'timeout off'" \
		"18: 'logfile -'" \
		"19: 'protocol lmtp'" \
		"20: 'eval echo user alice'" \
		"21: 'frobnicate yes'"; do
		grep -qF -- "# msmtprc line $line not carried over: " "$OUT" ||
			{ echo "no comment for line $line" >&2; cat "$OUT" >&2; return 1; }
		n=$((n + 1))
	done
	[ "$(grep -c '# msmtprc line [0-9]*: .* not carried over: ' "$OUT")" -eq "$n" ]
	# none of them as a key
	run ! grep -Eq '^[[:space:]]*(ntlmdomain|proxy_host|source_ip|socket|dsn_notify) *=' "$OUT"
	loads odd
}

@test "a SHA-256 fingerprint, tls_certcheck off and client certificates load" {
	cat >"$RC" <<'EOF'
account pinned
host bridge.local
port 1025
tls on
tls_trust_file
tls_fingerprint 9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:4F:1B:2B:0B:82:2C:D1:5D:6C:15:B0:F0:0A:08
tls_cert_file ~/certs/me.pem
tls_key_file ~/certs/me.key

account lax
host mail.lan
tls on
tls_certcheck off
EOF
	convert
	# carried over when envoi has the key, a comment when not: both load
	grep -q '9F:86:D0:81' "$OUT"
	grep -Eq 'tls_certcheck = false|tls_certcheck off. not carried over' "$OUT"
	run ! grep -q "'tls_trust_file' not carried" "$OUT"
	loads pinned
	loads lax
}

@test "old msmtp: no account line, add_missing_from_header, tls_nostarttls" {
	cat >"$RC" <<'EOF'
host mail.example.net
tls
tls_nostarttls
tls_nocertcheck
add_missing_from_header off
add_missing_date_header on
connect_timeout 20
auth plain
user bob
password hunter2
EOF
	convert
	grep -qx 'default_account = "default"' "$OUT"
	loads default
	resolved
	has "default.tls=tls"
	has "default.port=465"
	has "default.set_from_header=off"
	has "default.set_date_header=1"
	has "default.timeout=20"
	has "default.auth=PLAIN"
	has "default.password=hunter2"
}

@test "user without auth: msmtp does not authenticate, neither does envoi" {
	cat >"$RC" <<'EOF'
account a
host smtp.example.org
user alice
passwordeval echo x
EOF
	convert
	loads a
	resolved
	has "a.auth=off"
}

@test "a user without password or passwordeval: a hint for the keyring" {
	cat >"$RC" <<'EOF'
account company
host mail.company.example
auth on
user company12345
from smithjoe@company.example
EOF
	convert
	grep -qF 'passwordeval = "secret-tool lookup host mail.company.example service smtp user company12345"' "$OUT"
	loads company
}

@test "defaults after an account apply to later accounts only (msmtp)" {
	cat >"$RC" <<'EOF'
account early
host early.example.org

defaults
port 2525

account late
host late.example.org
EOF
	convert
	resolved
	has "early.port=25"
	has "late.port=2525"
}

@test "account default with settings of its own stays an account" {
	cat >"$RC" <<'EOF'
account main
host smtp.example.org
from me@example.org

account default : main
port 2525
EOF
	convert
	grep -qx 'default_account = "default"' "$OUT"
	resolved
	has "default=default"
	has "default.host=smtp.example.org"
	has "default.port=2525"
	has "main.port=25"
}

@test "from %U@domain becomes maildomain; wildcards stay patterns" {
	cat >"$RC" <<'EOF'
account system
host mail.oursite.example
from %U@oursite.example
allow_from_override off
set_from_header on

account org
host smtp.example.org
from *@example.org
EOF
	convert
	grep -qF "'from %U@oursite.example' not carried over" "$OUT"
	loads system
	loads org
	resolved
	has "system.from="
	has "system.maildomain=oursite.example"
	has "system.set_from_header=on"
	has "org.from=*@example.org"
}

@test "quoting: \", \\ and \$ survive; ~ becomes \${HOME}; CRLF lines" {
	printf '%s\r\n' 'account q' 'host smtp.example.org' \
		'password "a\"b\\c $HOME ${HOME}"' 'user "quoted user"' \
		'logfile ~/x$y.log' >"$RC"
	convert
	in_out $'\tlogfile = "${HOME}/x\\$y.log"'
	loads q
	resolved
	has 'q.password=a\"b\\c $HOME ${HOME}'
	has 'q.user=quoted user'
	has "q.logfile=$HOME/x\$y.log"
}

@test "a value with a control character becomes a comment" {
	printf 'account t\nhost smtp.example.org\npasswordeval gpg\t-d pw.gpg\n' >"$RC"
	convert
	grep -qF "'passwordeval gpg?-d pw.gpg' not carried over: it holds a control character" "$OUT"
	loads t
}

# ---------------------------------------------------------------------------
# errors: 78, naming file and line; nothing on stdout

# fails_at LINE: import_tool on $RC exits 78 naming $RC:LINE
fails_at() {
	run --separate-stderr "$IMPORT_TOOL" "$RC"
	assert_status 78
	[ -z "$output" ]
	[[ $stderr == "import_tool: $RC:$1: "* ]] || {
		echo "stderr: $stderr" >&2
		return 1
	}
}

@test "error: unknown base account" {
	printf 'account a\nhost x.example\n\naccount b : a, nope\n' >"$RC"
	fails_at 4
	[[ $stderr == *"'nope'"* ]]
}

@test "error: a base defined later is unknown too" {
	printf 'account b : a\nhost x.example\naccount a\nhost y.example\n' >"$RC"
	fails_at 1
}

@test "error: a line that is not 'command [argument]'" {
	printf 'account a\nhost=smtp.example.org\n' >"$RC"
	fails_at 2
	[[ $stderr == *"expected 'command [argument]'"* ]]
}

@test "error: arguments msmtp refuses" {
	local bad
	for bad in 'tls maybe' 'port 0' 'port 65536' 'timeout soon' \
		'auth PLAIN' 'syslog LOG_KERN' 'set_date_header on' 'host' \
		'defaults now' 'tls_nostarttls yes' 'dsn_notify failure,,delay'; do
		printf 'account a\n%s\n' "$bad" >"$RC"
		fails_at 2
	done
}

@test "error: an account defined twice, or without a name" {
	printf 'account a\nhost x.example\naccount a\n' >"$RC"
	fails_at 3
	printf 'account   \n' >"$RC"
	fails_at 1
}

@test "error: a file that cannot be read" {
	run --separate-stderr "$IMPORT_TOOL" "$BATS_TEST_TMPDIR/missing"
	assert_status 78
	[[ $stderr == *"cannot read msmtp configuration"*"No such file"* ]]
}

@test "envoi --import-msmtprc FILE prints a configuration envoi loads; a missing file is 66" {
	printf 'account work\nhost smtp.example.org\ntls on\ntls_starttls on\nauth on\nuser me\npasswordeval "pass work"\nfrom me@example.org\naccount default : work\n' >"$BATS_TEST_TMPDIR/rc"
	run --separate-stderr "$ENVOI" --import-msmtprc "$BATS_TEST_TMPDIR/rc"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/out.conf"
	run --separate-stderr "$ENVOI" -C "$BATS_TEST_TMPDIR/out.conf" --print-config
	[ "$status" -eq 0 ]
	[[ $output == *'account "work"'* ]]
	[[ $output == *'host = "smtp.example.org"'* ]]
	[[ $output == *'tls = "starttls"'* ]]
	HOME="$BATS_TEST_TMPDIR/nohome" run --separate-stderr "$ENVOI" --import-msmtprc
	[ "$status" -eq 66 ]
	[[ $stderr == *".msmtprc"* ]]
}
