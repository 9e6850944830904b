#!/usr/bin/env bats
# Real programs from Debian driving envoi as their sendmail: git
# send-email (--sendmail-cmd, and sendemail.smtpServer set to a path),
# s-nail and mutt with attachments, PHP's mail(), cron's command lines
# (Debian's cron and cronie), and a logwatch-style "sendmail -t".
#
# The programs are installed in setup_file when they are missing and the
# tests run as root (apt-get, no recommends); otherwise their tests are
# skipped, saying why.  Each program runs envoi through a wrapper script
# in $BATS_TEST_TMPDIR that adds -C $CFG, since a program passes its own
# arguments; the wrapper also records those arguments in $ARGS.

# status, output, lines and stderr are set by bats' run
# shellcheck disable=SC2154

load lib/common

# caller_pkgs NAME: the Debian packages that caller NAME needs
caller_pkgs() {
	case $1 in
	git-send-email) echo git git-email libmailtools-perl ;;
	php) echo php-cli ;;
	*) echo "$1" ;;
	esac
}

# caller_ok NAME: is caller NAME usable?
caller_ok() {
	case $1 in
	git-send-email)
		command -v git >/dev/null &&
			[ -x "$(git --exec-path 2>/dev/null)/git-send-email" ] &&
			perl -MMail::Address -e 1 2>/dev/null
		;;
	cron) [ -x /usr/sbin/cron ] ;;
	*) command -v "$1" >/dev/null ;;
	esac
}

setup_file() {
	local name pkgs=()
	for name in git-send-email s-nail mutt php cron; do
		# shellcheck disable=SC2207
		caller_ok "$name" || pkgs+=($(caller_pkgs "$name"))
	done
	if [ "${#pkgs[@]}" -gt 0 ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		local -x DEBIAN_FRONTEND=noninteractive
		{
			apt-get install -y -qq --no-install-recommends "${pkgs[@]}" ||
				{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; }
		} </dev/null >"$BATS_FILE_TMPDIR/apt.log" 2>&1 || true
	fi
	common_setup_file
	start_server srv --starttls --user "$AUTH_USER" --password "$AUTH_PASS"
}

setup() {
	common_setup
	std_config srv starttls
	ARGS="$BATS_TEST_TMPDIR/args"
	WRAPPER="$BATS_TEST_TMPDIR/sendmail"
	# the wrapper: records its arguments (one per line), then runs envoi
	cat >"$WRAPPER" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >"$ARGS"
exec "$ENVOI" -C "$CFG" "\$@"
EOF
	chmod +x "$WRAPPER"
	export GIT_AUTHOR_NAME="Alice Dev" GIT_AUTHOR_EMAIL=alice@example.org
	export GIT_COMMITTER_NAME="Alice Dev" GIT_COMMITTER_EMAIL=alice@example.org
	export GIT_CONFIG_NOSYSTEM=1
}

need() {
	caller_ok "$1" || skip "$1 is not installed (it is installed only when missing and running as root)"
}

# args: the arguments the caller gave the last wrapper run, one a line
args() { cat "$ARGS"; }

# a repository with two commits; the second, whose patch is sent, has
# lines that trip up mail: a lone dot (in the commit message: in the diff
# every line starts with a blank, + or -), dots, "From ", 8-bit, trailing
# blanks, a long line
make_repo() {
	REPO="$BATS_TEST_TMPDIR/repo"
	git init -q "$REPO"
	printf 'first\n' >"$REPO/file"
	git -C "$REPO" add file
	git -C "$REPO" commit -q -m initial
	{
		printf '.\n..\n.leading dot\nFrom the start of a line\n'
		printf 'caf\xc3\xa9 na\xc3\xafve\ntrailing blanks   \n'
		for _ in $(seq 90); do printf 'long '; done
		printf '\n'
	} >>"$REPO/file"
	git -C "$REPO" commit -q -a -m 'file: lines that mail tends to mangle' \
		-m "$(printf 'A lone dot follows:\n.\nand the message goes on.')"
	PATCH=$(git -C "$REPO" format-patch -1 -o "$BATS_TEST_TMPDIR/patches")
}

# applies_cleanly EML: git am of EML on the first commit gives the same
# tree as the second
applies_cleanly() {
	local clone="$BATS_TEST_TMPDIR/clone"
	git clone -q "$REPO" "$clone"
	git -C "$clone" reset -q --hard HEAD~1
	git -C "$clone" am -q <"$1" 2>/dev/null
	[ "$(git -C "$clone" rev-parse 'HEAD^{tree}')" = "$(git -C "$REPO" rev-parse 'HEAD^{tree}')" ]
	[ "$(git -C "$clone" log -1 --format=%B)" = "$(git -C "$REPO" log -1 --format=%B)" ]
}

# body_of FILE: the body of a message (after the first empty line), LF
body_of() { tr -d '\r' <"$1" | sed '1,/^$/d'; }

@test "git send-email --sendmail-cmd: envelope, headers, and a patch that git am applies" {
	need git-send-email
	make_repo
	run --separate-stderr timeout 60 git -C "$REPO" send-email \
		--sendmail-cmd="$WRAPPER" --to=bob@example.org \
		--cc='Carol <carol@example.net>' --confirm=never --no-annotate \
		--suppress-cc=self --8bit-encoding=UTF-8 --quiet "$PATCH" </dev/null
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	grep -qx -- -i <(args)
	[ "$(last_json srv mail_from)" = alice@example.org ]
	[ "$(last_json srv rcpt_tos | sort)" = "$(printf '%s\n' bob@example.org carol@example.net)" ]
	grep -q '^Subject: \[PATCH\] file: lines that mail tends to mangle' "$(last_eml srv)"
	grep -q '^X-Mailer: git-send-email' "$(last_eml srv)"
	# the patch text is the same, byte for byte
	diff <(body_of "$PATCH") <(body_of "$(last_eml srv)")
	applies_cleanly "$(last_eml srv)"
}

@test "git send-email with sendemail.smtpServer set to a sendmail path: -i, -f envelopeSender, recipients" {
	need git-send-email
	make_repo
	run --separate-stderr timeout 60 git -C "$REPO" \
		-c sendemail.smtpServer="$WRAPPER" \
		-c sendemail.envelopeSender=bounces@example.org \
		send-email --to=bob@example.org --confirm=never --no-annotate \
		--suppress-cc=all --8bit-encoding=UTF-8 --quiet "$PATCH" </dev/null
	assert_status 0
	grep -qx -- -i <(args)
	grep -qx -- -f <(args)
	[ "$(last_json srv mail_from)" = bounces@example.org ]
	[ "$(last_json srv rcpt_tos)" = bob@example.org ]
	diff <(body_of "$PATCH") <(body_of "$(last_eml srv)")
	applies_cleanly "$(last_eml srv)"
}

@test "git send-email: a refused recipient makes git send-email fail" {
	need git-send-email
	make_repo
	std_config srv starttls queue=never
	server_ctl srv reply-RCPT '550 5.1.1 no such user'
	run --separate-stderr timeout 60 git -C "$REPO" send-email \
		--sendmail-cmd="$WRAPPER" --to=nobody@example.org --confirm=never \
		--no-annotate --suppress-cc=all --8bit-encoding=UTF-8 --quiet "$PATCH" </dev/null
	[ "$status" -ne 0 ]
	[ "$(msg_count srv)" -eq 0 ]
}

# check_attachment EML FILE NAME: EML has an attachment named NAME whose
# decoded bytes are FILE's; prints the text part
check_attachment() {
	"$PY" - "$@" <<'EOF'
import sys, email, email.policy
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
want = open(sys.argv[2], "rb").read()
atts = [p for p in msg.iter_attachments() if p.get_filename() == sys.argv[3]]
assert len(atts) == 1, [p.get_filename() for p in msg.iter_attachments()]
got = atts[0].get_payload(decode=True)
assert got == want, "attachment differs: %d bytes, expected %d" % (len(got), len(want))
body = msg.get_body(preferencelist=("plain",))
print(body.get_content(), end="")
EOF
}

@test "s-nail (mailx) with an attachment: -r sender, the file decodes identical" {
	need s-nail
	head -c 5000 /dev/urandom >"$BATS_TEST_TMPDIR/data.bin"
	printf 'Hello from s-nail\n.\nlast line\n' >"$BATS_TEST_TMPDIR/body"
	run --separate-stderr env MAILRC=/dev/null HOME="$HOME" timeout 30 s-nail -:/ \
		-S mta="$WRAPPER" -S sendwait -S expandaddr \
		-r alice@example.org -s 'report from s-nail' \
		-a "$BATS_TEST_TMPDIR/data.bin" bob@example.org <"$BATS_TEST_TMPDIR/body"
	assert_status 0
	[ "$(msg_count srv)" -eq 1 ]
	[ "$(last_json srv mail_from)" = alice@example.org ]
	[ "$(last_json srv rcpt_tos)" = bob@example.org ]
	grep -q '^Subject: report from s-nail' "$(last_eml srv)"
	run check_attachment "$(last_eml srv)" "$BATS_TEST_TMPDIR/data.bin" data.bin
	assert_status 0
	# the lone dot did not end the message (s-nail passes -i)
	grep -qx 'last line' <<<"$output"
	grep -qx '\.' <<<"$output"
}

@test "mutt in batch mode with an attachment: Debian's sendmail setting, -f, recipients after --" {
	need mutt
	head -c 7000 /dev/urandom >"$BATS_TEST_TMPDIR/data.bin"
	mkdir -p "$HOME/Mail"
	cat >"$BATS_TEST_TMPDIR/muttrc" <<EOF
set sendmail="$WRAPPER -oem -oi"
set from="Alice <alice@example.org>"
set use_from=yes
set envelope_from=yes
set record=""
set postpone=no
set folder="$HOME/Mail"
set spoolfile="$HOME/Mail/inbox"
set charset="utf-8"
set send_charset="utf-8"
EOF
	printf 'Hello from mutt, caf\xc3\xa9\n.\nlast line\n' >"$BATS_TEST_TMPDIR/body"
	run --separate-stderr env MAIL="$HOME/Mail/inbox" timeout 30 mutt -n \
		-F "$BATS_TEST_TMPDIR/muttrc" -s 'report from mutt' \
		-a "$BATS_TEST_TMPDIR/data.bin" -- bob@example.org carol@example.net \
		<"$BATS_TEST_TMPDIR/body"
	assert_status 0
	grep -qx -- -- <(args)
	grep -qx -- -oi <(args)
	[ "$(last_json srv mail_from)" = alice@example.org ]
	[ "$(last_json srv rcpt_tos)" = "$(printf '%s\n' bob@example.org carol@example.net)" ]
	grep -q ' BODY=8BITMIME' <(last_conn srv | grep '^MAIL ')
	run check_attachment "$(last_eml srv)" "$BATS_TEST_TMPDIR/data.bin" data.bin
	assert_status 0
	grep -qx $'Hello from mutt, caf\xc3\xa9' <<<"$output"
	grep -qx 'last line' <<<"$output"
}

# cron_argv MAILTO: the arguments Debian's cron gives sendmail, taken from
# the installed binary's format string ("%s -FCronDaemon ... %s"), or as
# Debian's cron 3.0pl1 has it when cron is not installed, split on blanks
# as cron's cron_popen does (not by a shell), one per line
cron_argv() {
	local fmt w words=()
	fmt=$(strings /usr/sbin/cron 2>/dev/null | grep -m1 -- ' -FCronDaemon ')
	[ -n "$fmt" ] || fmt='%s -FCronDaemon -i -B8BITMIME -oem  %s'
	read -r -a words <<<"$fmt"
	for w in "${words[@]:1}"; do
		[ "$w" = %s ] && w=$1
		printf '%s\n' "$w"
	done
}

@test "Debian cron's command line: -FCronDaemon -i -B8BITMIME -oem, MAILTO 'root,ops' as one argument, aliases" {
	printf 'root: admin@example.org\n' >"$BATS_TEST_TMPDIR/aliases"
	std_config srv starttls aliases="$BATS_TEST_TMPDIR/aliases" maildomain=host.example
	local argv=()
	mapfile -t argv < <(cron_argv 'root,ops')
	[ "${argv[*]}" = "-FCronDaemon -i -B8BITMIME -oem root,ops" ]
	# the message as cron's do_command.c writes it
	printf '%s\n' 'From: root (Cron Daemon)' 'To: root,ops' \
		'Subject: Cron <root@host> /usr/local/bin/nightly' 'MIME-Version: 1.0' \
		'Content-Type: text/plain; charset=UTF-8' 'Content-Transfer-Encoding: 8bit' \
		'X-Cron-Env: <SHELL=/bin/sh>' 'X-Cron-Env: <HOME=/root>' \
		'X-Cron-Env: <LOGNAME=root>' '' 'nightly: caf'$'\xc3\xa9'' done' '.' 'exit 0' \
		>"$BATS_TEST_TMPDIR/cronmail"
	run --separate-stderr "$WRAPPER" "${argv[@]}" <"$BATS_TEST_TMPDIR/cronmail"
	assert_status 0
	[ "$(args | tail -n 1)" = root,ops ]
	[ "$(last_json srv rcpt_tos)" = "$(printf '%s\n' admin@example.org ops@host.example)" ]
	local eml
	eml=$(last_eml srv)
	grep -qx $'From: root@host.example (Cron Daemon)\r' "$eml"
	grep -qx $'To: admin@example.org,ops@host.example\r' "$eml"
	grep -q ' BODY=8BITMIME' <(last_conn srv | grep '^MAIL ')
	# -i: the lone dot is part of the output
	grep -qx $'exit 0\r' "$eml"
	grep -q '^Date: ' "$eml"
	grep -q '^Message-ID: <.*@host.example>' "$eml"
}

@test "Debian cron, MAILTO with a qualified address and a bare name in one argument" {
	printf 'root: admin@example.org\n' >"$BATS_TEST_TMPDIR/aliases"
	std_config srv starttls aliases="$BATS_TEST_TMPDIR/aliases"
	printf 'From: root (Cron Daemon)\nTo: root,admin@example.org\nSubject: Cron <root@host> true\n\nout\n' \
		>"$BATS_TEST_TMPDIR/cronmail"
	run --separate-stderr "$WRAPPER" -FCronDaemon -i -B8BITMIME -oem 'root,admin@example.org' \
		<"$BATS_TEST_TMPDIR/cronmail"
	assert_status 0
	# root is admin@example.org: one recipient, once
	[ "$(last_json srv rcpt_tos)" = admin@example.org ]
	grep -qx $'From: root@example.org (Cron Daemon)\r' "$(last_eml srv)"
}

@test "cronie's command line: -FCronDaemon -i -odi -oem -oi -t -f root" {
	printf 'root: admin@example.org\n' >"$BATS_TEST_TMPDIR/aliases"
	std_config srv starttls aliases="$BATS_TEST_TMPDIR/aliases" maildomain=host.example
	# the message as cronie's do_command.c writes it
	printf '%s\n' 'From: "(Cron Daemon)" <root>' 'To: root' \
		'Subject: Cron <root@host> /usr/local/bin/nightly' 'MIME-Version: 1.0' \
		'Content-Type: text/plain; charset=UTF-8' 'Auto-Submitted: auto-generated' \
		'Precedence: bulk' 'X-Cron-Env: <SHELL=/bin/sh>' '' 'done' \
		>"$BATS_TEST_TMPDIR/cronmail"
	run --separate-stderr "$WRAPPER" -FCronDaemon -i -odi -oem -oi -t -f root \
		<"$BATS_TEST_TMPDIR/cronmail"
	assert_status 0
	[ "$(last_json srv mail_from)" = root@host.example ]
	[ "$(last_json srv rcpt_tos)" = admin@example.org ]
	grep -qx $'From: "(Cron Daemon)" <root@host.example>\r' "$(last_eml srv)"
	grep -qx $'To: admin@example.org\r' "$(last_eml srv)"
}

@test "PHP mail() through sendmail_path \"... -t -i\": arrives; mail() is false when envoi fails" {
	need php
	# shellcheck disable=SC2016 # PHP code
	run --separate-stderr timeout 30 php -n -d sendmail_path="$WRAPPER -t -i" -r '
		$ok = mail("bob@example.org", "php subject", "line one\n.\nline three",
			"From: alice@example.org\r\nX-PHP-Test: yes");
		echo $ok ? "true" : "false";'
	assert_status 0
	[ "$output" = true ]
	[ "$(args | tr '\n' ' ')" = "-t -i " ]
	[ "$(last_json srv mail_from)" = alice@example.org ]
	[ "$(last_json srv rcpt_tos)" = bob@example.org ]
	local eml
	eml=$(last_eml srv)
	grep -qx $'To: bob@example.org\r' "$eml"
	grep -qx $'Subject: php subject\r' "$eml"
	grep -qx $'X-PHP-Test: yes\r' "$eml"
	[ "$(body_of "$eml")" = "$(printf 'line one\n.\nline three')" ]
	# a refused recipient: envoi exits 67, PHP reports false
	std_config srv starttls queue=never
	server_ctl srv reply-RCPT '550 5.1.1 no such user'
	run --separate-stderr timeout 30 php -n -d sendmail_path="$WRAPPER -t -i" -r '
		echo mail("nobody@example.org", "s", "b", "From: alice@example.org") ? "true" : "false";'
	[ "$output" = false ]
	[ "$(msg_count srv)" -eq 1 ]
}

@test "logwatch style: a report with To/From headers piped to sendmail -t" {
	printf '%s\n' 'To: root, Ops <ops@example.net>' 'From: Logwatch' \
		'Subject: Logwatch for host (Linux)' 'Auto-Submitted: auto-generated' \
		'MIME-Version: 1.0' 'Content-Transfer-Encoding: 7bit' \
		'Content-Type: text/plain; charset="iso-8859-1"' '' \
		' ################### Logwatch 7.8 (01/22/23) ####################' \
		'        Processing Initiated: Mon Jan  1 00:00:00 2024' '' \
		' ###################### Logwatch End #########################' \
		>"$BATS_TEST_TMPDIR/report"
	# shellcheck disable=SC2016 # expanded by the inner shell
	run --separate-stderr bash -c '"$1" -t <"$2"' _ "$WRAPPER" "$BATS_TEST_TMPDIR/report"
	assert_status 0
	[ "$(last_json srv rcpt_tos)" = "$(printf '%s\n' root@example.org ops@example.net)" ]
	local eml
	eml=$(last_eml srv)
	grep -qx $'From: Logwatch@example.org\r' "$eml"
	grep -qx $'To: root@example.org, Ops <ops@example.net>\r' "$eml"
	[ "$(body_of "$eml")" = "$(sed '1,/^$/d' "$BATS_TEST_TMPDIR/report")" ]
}
