#!/usr/bin/env bats
# Documentation: every flag of the option table (cli_options[] in
# src/cli.c) and every configuration key (config_keys[] in src/config.c,
# plus default_account) is documented in envoi(1), envoi.conf(5) and
# --help; both pages pass mandoc's lint.
#
# Needs no server: it reads the sources and runs envoi --help only.

# status and output are set by bats' run
# shellcheck disable=SC2154

bats_require_minimum_version 1.5.0

SRC=${top_srcdir:-$BATS_TEST_DIRNAME/..}
MAN1="$SRC/doc/envoi.1"
MAN5="$SRC/doc/envoi.conf.5"
: "${ENVOI:=$BATS_TEST_DIRNAME/../src/envoi}"

# One line per flag of cli_options[]: "short x IGN" or "long name IGN",
# IGN 1 when the entry has no help text (accepted and ignored), else 0.
# An entry runs from its "{" to the line that ends in "}," and starts
# { 'x', "long", ...   or   { OPT_NAME, "long", ...   or   { 'x', NULL, ...
cli_flags() {
	awk -v q="'" '
	function emit(e,   a, f1, f2, ign) {
		sub(/^[ \t]*\{[ \t]*/, "", e)
		split(e, a, ",")
		f1 = a[1]; f2 = a[2]
		gsub(/[ \t]/, "", f1); gsub(/[ \t]/, "", f2)
		ign = (e ~ /NULL[ \t]*\}[ \t]*,?[ \t]*$/) ? 1 : 0
		if (length(f1) == 3 && substr(f1, 1, 1) == q &&
		    substr(f1, 3, 1) == q)
			print "short", substr(f1, 2, 1), ign
		if (f2 ~ /^"[A-Za-z0-9-]+"$/)
			print "long", substr(f2, 2, length(f2) - 2), ign
	}
	/cli_options\[\][ \t]*=[ \t]*\{/ { on = 1; next }
	on && /^\};/ { exit }
	on && /^[ \t]*\{/ { ent = "" }
	on {
		ent = ent " " $0
		if ($0 ~ /\}[ \t]*,?[ \t]*$/) { emit(ent); ent = "" }
	}' "$SRC/src/cli.c"
}

# Every key of config_keys[] and of the oauth2 block (oauth2_keys[]), and
# default_account, one per line.
config_keys() {
	echo default_account
	sed -En '/config_keys\[\][[:space:]]*=[[:space:]]*\{/,/^\};/ s/^[[:space:]]*(KEY|BOOL)\("([A-Za-z0-9_]+)".*/\2/p' \
	    "$SRC/src/config.c"
	sed -En '/oauth2_keys\[\][[:space:]]*=[[:space:]]*\{/,/^\};/ s/^[[:space:]]*OKEY\("([A-Za-z0-9_]+)".*/\1/p' \
	    "$SRC/src/config.c"
}

# The flag as it appears in text: -x or --name.
dashed() {
	if [ "$1" = short ]; then printf -- '-%s\n' "$2"
	else printf -- '--%s\n' "$2"; fi
}

@test "docs: the option table and config_keys[] can be read" {
	local flags keys
	flags=$(cli_flags)
	keys=$(config_keys)
	# Known entries prove the parsers still understand the sources.
	grep -qx 'short t 0' <<<"$flags"
	grep -qx 'long read-recipients 0' <<<"$flags"
	grep -qx 'long help 0' <<<"$flags"
	grep -qx 'short G 1' <<<"$flags"
	grep -qx 'short O 1' <<<"$flags"
	grep -qx host <<<"$keys"
	grep -qx keep_original_from <<<"$keys"
	grep -qx refresh_token_file <<<"$keys"
	[ "$(wc -l <<<"$flags")" -ge 25 ]
	[ "$(wc -l <<<"$keys")" -ge 20 ]
}

@test "docs: envoi(1) documents every flag of the option table" {
	# A flag with help text needs an item of its own (".It Fl x ..." or
	# ".It ... , Fl \-long ..."); an accepted-and-ignored one needs to be
	# named (".Fl x"), as in the paragraph that lists them.
	local kind name ign pat where flag missing=""
	while read -r kind name ign; do
		if [ "$kind" = short ]; then
			pat="Fl[[:space:]]+$name([[:space:]]|\$)"
			flag="-$name"
		else
			pat="Fl[[:space:]]+\\\\?-$name([[:space:]]|\$)"
			flag="--$name"
		fi
		if [ "$ign" = 1 ]; then
			where="(^\\.|[[:space:]])"
		else
			where="^\\.It([[:space:]].*)?[[:space:]]"
		fi
		grep -Eq "$where$pat" "$MAN1" || missing="$missing $flag"
	done < <(cli_flags)
	if [ -n "$missing" ]; then
		echo "doc/envoi.1 lacks .Fl (.It Fl for those with help) for:$missing" >&2
		return 1
	fi
}

@test "docs: envoi.conf(5) documents every configuration key" {
	local key missing=""
	while read -r key; do
		grep -Eq "^\.It Ic $key([[:space:]]|\$)" "$MAN5" ||
		    missing="$missing $key"
	done < <(config_keys)
	if [ -n "$missing" ]; then
		echo "doc/envoi.conf.5 lacks .It Ic for:$missing" >&2
		return 1
	fi
}

@test "docs: --help lists every flag, the ignored ones in their paragraph" {
	[ -x "$ENVOI" ] || skip "envoi is not built ($ENVOI)"
	local kind name ign flag options compat missing=""
	run "$ENVOI" --help
	[ "$status" -eq 0 ]
	options=$(sed -n '/^Options:/,/^$/p' <<<"$output")
	compat=$(sed -n '/^Accepted for sendmail compatibility/,/^$/p' \
	    <<<"$output")
	[ -n "$options" ]
	[ -n "$compat" ]
	while read -r kind name ign; do
		flag=$(dashed "$kind" "$name")
		if [ "$ign" = 1 ]; then
			grep -Eq -- "(^|[[:space:]])$flag([[:space:],.]|\$)" \
			    <<<"$compat" || missing="$missing $flag(ignored)"
		else
			grep -Eq -- "(^|[[:space:]])$flag([[:space:],=]|\$)" \
			    <<<"$options" || missing="$missing $flag"
		fi
	done < <(cli_flags)
	if [ -n "$missing" ]; then
		echo "envoi --help lacks:$missing" >&2
		return 1
	fi
}

@test "docs: mandoc -Tlint finds nothing in either page" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	run mandoc -Tlint -W warning "$MAN1" "$MAN5"
	if [ "$status" -ne 0 ] || [ -n "$output" ]; then
		echo "$output" >&2
		return 1
	fi
}
