#!/usr/bin/env bats
# Authentication: wrong password, mechanism choice and the plaintext rule,
# auth = "off", and -v never showing secrets.

load lib/common

setup_file() {
	common_setup_file
	start_server srv --user "$AUTH_USER" --password "$AUTH_PASS"
}

setup() {
	common_setup
	MSG="$BATS_TEST_TMPDIR/msg"
	std_msg "$MSG"
}

send() {
	run --separate-stderr envoi -C "$CFG" "$@" <"$MSG"
}

# secret_tokens NAME: every word the client sent to server NAME that is the
# password or base64 of something containing it (AUTH PLAIN blob, LOGIN
# password), one per line
secret_tokens() {
	"$PY" -c '
import base64, binascii, sys
pw = sys.argv[2].encode()
for line in open(sys.argv[1], encoding="utf-8"):
    for word in line.split()[1:]:
        if pw in word.encode():
            print(word)
            continue
        try:
            if pw in base64.b64decode(word, validate=True):
                print(word)
        except (binascii.Error, ValueError):
            pass
' "$(transcript "$1")" "$AUTH_PASS"
}

@test "wrong password: exit 77, nothing delivered" {
	std_config srv starttls password=not-the-password
	send bob@example.org
	assert_status 77
	assert_error_line
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv MAIL
}

@test "wrong password over implicit TLS: exit 77" {
	std_config srv tls password=not-the-password
	send bob@example.org
	assert_status 77
	[ "$(msg_count srv)" -eq 0 ]
}

@test "auth = \"on\" refuses PLAIN/LOGIN over an unencrypted connection: exit 77, no AUTH sent" {
	# the plain listener offers AUTH PLAIN LOGIN in plaintext
	std_config srv plain
	send bob@example.org
	assert_status 77
	assert_error_line
	[ "$(msg_count srv)" -eq 0 ]
	assert_not_sent srv AUTH MAIL
	[ -z "$(secret_tokens srv)" ]
}

@test "auth = \"plain\" explicitly allows PLAIN over an unencrypted connection" {
	std_config srv plain auth=plain
	send bob@example.org
	assert_status 0
	[ "$(last_json srv auth_user)" = "$AUTH_USER" ]
	[ "$(last_json srv tls)" = false ]
	grep -qi '^[0-9]* AUTH PLAIN' "$(transcript srv)"
}

@test "auth = \"login\" uses LOGIN" {
	std_config srv starttls auth=login
	send bob@example.org
	assert_status 0
	[ "$(last_json srv auth_user)" = "$AUTH_USER" ]
	grep -qi '^[0-9]* AUTH LOGIN' "$(transcript srv)"
	assert_starttls_order srv
}

@test "auth = \"plain\" uses PLAIN (over TLS)" {
	std_config srv starttls auth=plain
	send bob@example.org
	assert_status 0
	[ "$(last_json srv auth_user)" = "$AUTH_USER" ]
	grep -qi '^[0-9]* AUTH PLAIN' "$(transcript srv)"
}

@test "auth = \"off\": no AUTH is sent even when offered" {
	server_ctl srv auth-optional
	std_config srv starttls auth=off user= password=
	send bob@example.org
	assert_status 0
	[ -z "$(last_json srv auth_user)" ]
	assert_not_sent srv AUTH
}

@test "server requires AUTH, auth = \"off\": 530 to MAIL is a 5xx at MAIL, exit 69" {
	std_config srv starttls auth=off user= password=
	send bob@example.org
	assert_status 69
	[ "$(msg_count srv)" -eq 0 ]
}

@test "-v prints the SMTP dialogue but not the password nor the AUTH PLAIN blob" {
	std_config srv starttls auth=plain
	send -v bob@example.org
	assert_status 0
	grep -qi 'EHLO client\.example' <<<"$stderr"
	grep -q '250' <<<"$stderr"
	grep -qi 'STARTTLS' <<<"$stderr"
	grep -qi 'AUTH' <<<"$stderr"
	[[ $stderr != *"$AUTH_PASS"* ]]
	local tokens tok blob
	tokens=$(secret_tokens srv)
	[ -n "$tokens" ] # the check below is only meaningful if AUTH happened
	for tok in $tokens; do
		[[ $stderr != *"$tok"* ]]
	done
	blob=$(printf '\0%s\0%s' "$AUTH_USER" "$AUTH_PASS" | base64 -w0)
	[[ $stderr != *"$blob"* ]]
}

@test "-v with AUTH LOGIN does not print the password nor its base64" {
	std_config srv starttls auth=login
	send -v bob@example.org
	assert_status 0
	[[ $stderr != *"$AUTH_PASS"* ]]
	local tokens tok
	tokens=$(secret_tokens srv)
	[ -n "$tokens" ]
	for tok in $tokens; do
		[[ $stderr != *"$tok"* ]]
	done
	[[ $stderr != *"$(printf '%s' "$AUTH_PASS" | base64 -w0)"* ]]
}
