#!/usr/bin/env bats
# contrib/completions: the bash, zsh and fish completions.  Each must be
# valid in its shell (checked when the shell is installed), offer every
# flag that envoi --help lists, and complete account names from the
# configuration and queue IDs from envoi -bp --json.  bash and fish are
# driven for real: bash by calling the completion function with
# COMP_WORDS set, fish with complete -C.

load lib/common

COMPL="$BATS_TEST_DIRNAME/../contrib/completions"
: "${QUEUE_TOOL:=$BATS_TEST_DIRNAME/unit/queue_tool}"

setup_file() { :; }
teardown_file() { :; }

setup() {
	common_setup
	cat >"$CFG" <<'EOF'
default_account = "work"

defaults {
	tls = "starttls"
}

account "work" {
	host = "smtp.corp.example"
}

  account   "home"{	# odd spacing
	host = "smtp.example.org"
}
EOF
	# A stub envoi for queue IDs: prints what envoi -bp --json prints and
	# records its arguments.
	STUB="$BATS_TEST_TMPDIR/bin/envoi"
	mkdir -p "${STUB%/*}"
	cat >"$STUB" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >"$BATS_TEST_TMPDIR/stub.args"
printf '%s\n' '[{"id":"0069a1b2c3-1f2e-00000010-0a0b0c0d","created":1,"size":3,"sender":"a@example.org","recipients":["b@example.org"],"account":"work","attempts":1,"next_try":0,"held":false,"last_error":null},' \
	'{"id":"0069a1b2c4-1f2f-00000011-0e0f1011","created":2,"size":3,"sender":"a@example.org","recipients":["c@example.org"],"account":"home","attempts":0,"next_try":0,"held":true,"last_error":"x \\"id\\":\\"no\\""}' ']'
EOF
	chmod +x "$STUB"
}

# bash_complete WORD...: COMPREPLY, one a line, for the command line
# WORD... with the cursor on the last word (bash, completion sourced)
bash_complete() {
	bash --norc --noprofile -c '
		source "$1/envoi.bash" || exit 9
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_envoi || exit 8
		printf "%s\n" "${COMPREPLY[@]}"' bash "$COMPL" "$@"
}

# The flags envoi --help lists, one a line: -C, --config, ...
help_flags() {
	"$ENVOI" --help | sed -n '/^Options:/,/^$/p' |
		grep -oE '^  (-[A-Za-z0-9], )?--?[A-Za-z0-9][A-Za-z0-9-]*' |
		grep -oE -- '--?[A-Za-z0-9][A-Za-z0-9-]*'
}

# ---------------------------------------------------------------------------
# syntax

@test "bash -n" {
	bash -n "$COMPL/envoi.bash"
}

@test "zsh -n" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	zsh -n "$COMPL/_envoi"
	head -n 1 "$COMPL/_envoi" | grep -qx '#compdef envoi'
}

@test "fish -n" {
	command -v fish >/dev/null || skip "fish is not installed"
	fish -n "$COMPL/envoi.fish"
}

# ---------------------------------------------------------------------------
# every flag of --help, in every file

@test "every flag that --help lists is in each completion" {
	local flags f file bashflags
	flags=$(help_flags)
	[ "$(wc -l <<<"$flags")" -gt 30 ]
	bashflags=$(bash --norc --noprofile -c 'source "$1" &&
		printf "%s\n" $_envoi_short_opts $_envoi_long_opts' bash \
		"$COMPL/envoi.bash")
	for f in $flags; do
		# bash: in the lists of flags
		grep -qxF -- "$f" <<<"$bashflags" ||
			{ echo "envoi.bash lacks $f" >&2; return 1; }
		# zsh: in an _arguments spec
		grep -qE -- "['\"{,*)]${f}[-+=[,}']" "$COMPL/_envoi" ||
			{ echo "_envoi lacks $f" >&2; return 1; }
		# fish: -s X or -l name
		case $f in
		--*) file="-l ${f#--}" ;;
		*) file="-s ${f#-}" ;;
		esac
		grep -qE -- "complete -c envoi .*$file( |\$)" "$COMPL/envoi.fish" ||
			{ echo "envoi.fish lacks $f" >&2; return 1; }
	done
}

# ---------------------------------------------------------------------------
# bash, for real

@test "bash: envoi -C FILE -a <TAB> gives both accounts" {
	run bash_complete envoi -C "$CFG" -a ""
	assert_status 0
	[ "$output" = $'work\nhome' ]
}

@test "bash: -a <TAB> reads the user's config when there is no -C" {
	mkdir -p "$XDG_CONFIG_HOME/envoi"
	cp "$CFG" "$XDG_CONFIG_HOME/envoi/config"
	run bash_complete envoi -a ""
	assert_status 0
	[ "$output" = $'work\nhome' ]
	run bash_complete envoi --account h
	[ "$output" = home ]
}

@test "bash: --config=FILE --account=<TAB>, split at = or not" {
	# COMP_WORDBREAKS holds '=' by default: --account, =, ''
	run bash_complete envoi --config = "$CFG" --account = ""
	assert_status 0
	[ "$output" = $'work\nhome' ]
	# without '=' in COMP_WORDBREAKS the word stays whole
	run bash_complete envoi "--config=$CFG" --account=w
	assert_status 0
	[ "$output" = --account=work ]
	run bash_complete envoi "-C$CFG" -a ""
	[ "$output" = $'work\nhome' ]
}

@test "bash: envoi --que<TAB> gives the four --queue-* flags" {
	run bash_complete envoi --que
	assert_status 0
	[ "$output" = $'--queue-remove\n--queue-retry\n--queue-hold\n--queue-release' ]
}

@test "bash: flags after -, none for recipients" {
	run bash_complete envoi -
	assert_status 0
	grep -qx -- -C <<<"$output"
	grep -qx -- --dry-run <<<"$output"
	run bash_complete envoi -t bo
	assert_status 0
	[ -z "$output" ]
}

@test "bash: --queue-retry <TAB> gives the IDs of envoi -bp --json" {
	run bash_complete "$STUB" -C "$CFG" --queue-retry ""
	assert_status 0
	[ "$output" = $'0069a1b2c3-1f2e-00000010-0a0b0c0d\n0069a1b2c4-1f2f-00000011-0e0f1011' ]
	[ "$(cat "$BATS_TEST_TMPDIR/stub.args")" = "-C $CFG -bp --json" ]
	run bash_complete "$STUB" --queue-hold 0069a1b2c4
	[ "$output" = 0069a1b2c4-1f2f-00000011-0e0f1011 ]
	# no -C: envoi finds its own configuration
	[ "$(cat "$BATS_TEST_TMPDIR/stub.args")" = "-bp --json" ]
}

@test "bash: queue IDs from the real envoi and its queue" {
	[ -x "$QUEUE_TOOL" ] || skip "queue_tool not built"
	local id1 id2
	mkdir -p "$ENVOI_QUEUE_DIR"
	id1=$(echo hi | "$QUEUE_TOOL" enqueue "$ENVOI_QUEUE_DIR")
	id2=$(echo hi | "$QUEUE_TOOL" enqueue "$ENVOI_QUEUE_DIR")
	run bash_complete "$ENVOI" -C "$CFG" --queue-remove ""
	assert_status 0
	[ "$(sort <<<"$output")" = "$(printf '%s\n' "$id1" "$id2" | sort)" ]
}

@test "bash: files after -A, -C, -X, --body-file, --html" {
	touch "$BATS_TEST_TMPDIR/report.pdf"
	local opt
	for opt in -A --attach -C -X --body-file --html; do
		run bash_complete envoi "$opt" "$BATS_TEST_TMPDIR/rep"
		assert_status 0
		[ "$output" = "$BATS_TEST_TMPDIR/report.pdf" ]
	done
}

# ---------------------------------------------------------------------------
# fish, for real

# fish_complete LINE: what fish offers for LINE, without descriptions
fish_complete() {
	fish --no-config -c 'source $argv[1]; complete -C $argv[2]' \
		"$COMPL/envoi.fish" "$1" | cut -f 1
}

@test "fish: accounts, --queue-* flags and queue IDs" {
	command -v fish >/dev/null || skip "fish is not installed"
	run fish_complete "envoi -C $CFG -a "
	assert_status 0
	[ "$(sort <<<"$output")" = $'home\nwork' ]
	run fish_complete "envoi --que"
	[ "$(sort <<<"$output")" = $'--queue-hold\n--queue-release\n--queue-remove\n--queue-retry' ]
	run fish_complete "$STUB -C $CFG --queue-release "
	[ "$(sort <<<"$output")" = $'0069a1b2c3-1f2e-00000010-0a0b0c0d\n0069a1b2c4-1f2f-00000011-0e0f1011' ]
}
