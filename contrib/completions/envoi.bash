# bash completion for envoi(1)
#
# Install as /usr/share/bash-completion/completions/envoi, or source it
# from ~/.bashrc.  It needs nothing but bash, sed and grep.
#
# Completes the flags of the option table in src/cli.c (those --help
# lists), account names after -a/--account (the account "NAME" lines of
# the file given with -C/--config, else of the file envoi reads by
# default), queue IDs after --queue-remove, --queue-retry, --queue-hold
# and --queue-release (from "envoi -bp --json"), and files after -A, -C,
# -X, --attach, --config, --body-file and --html.

_envoi_short_opts='-C -a -f -r -F -t -i -b -s -A -c -q -B -N -R -V -o -X -v'
_envoi_long_opts='--config --account --read-recipients --subject --attach
--cc --bcc --from --reply-to --header --body-file --html --dry-run
--verbose --json --queue-remove --queue-retry --queue-hold
--queue-release --check --serverinfo --print-config --import-msmtprc
--store-password --help --version'

# The configuration file the command line names with -C, if any.
_envoi_config_arg() {
	local i w n=${#COMP_WORDS[@]}
	for ((i = 1; i < n; i++)); do
		((i == COMP_CWORD)) && continue
		w=${COMP_WORDS[i]}
		case $w in
		-C | --config)
			# "--config=FILE" splits into --config, =, FILE.
			[[ ${COMP_WORDS[i + 1]-} == = ]] && ((i++))
			((i + 1 == COMP_CWORD)) && continue
			w=${COMP_WORDS[i + 1]-}
			;;
		--config=?*) w=${w#--config=} ;;
		-C?*) w=${w#-C} ;;
		*) continue ;;
		esac
		[[ -n $w ]] && printf '%s\n' "${w/#\~/$HOME}"
		return
	done
}

# That file, else the one envoi reads by default: the user's when it
# exists, else the system's (under /etc or /usr/local/etc).
_envoi_config_file() {
	local file user
	file=$(_envoi_config_arg)
	if [[ -n $file ]]; then
		printf '%s\n' "$file"
		return
	fi
	if [[ ${XDG_CONFIG_HOME-} == /* ]]; then
		user=$XDG_CONFIG_HOME/envoi/config
	else
		user=$HOME/.config/envoi/config
	fi
	for file in "$user" /etc/envoi.conf /usr/local/etc/envoi.conf; do
		[[ -e $file ]] && break
	done
	printf '%s\n' "$file"
}

# The account names of a configuration file: account "NAME" { or
# account NAME {.
_envoi_accounts() {
	local file
	file=$(_envoi_config_file)
	[[ -r $file ]] || return 0
	sed -n -e 's/^[[:space:]]*account[[:space:]]*"\([^"]*\)".*/\1/p' \
		-e 's/^[[:space:]]*account[[:space:]]\{1,\}\([^"{[:space:]]\{1,\}\).*/\1/p' \
		"$file" 2>/dev/null
}

# The IDs of the queued messages, from envoi -bp --json.
_envoi_queue_ids() {
	local cmd=${COMP_WORDS[0]} file
	local -a conf=()
	file=$(_envoi_config_arg)
	[[ -n $file ]] && conf=(-C "$file")
	"$cmd" "${conf[@]}" -bp --json 2>/dev/null |
		grep -o '"id":"[^"]*"' | sed -e 's/^"id":"//' -e 's/"$//'
}

_envoi() {
	local cur=${COMP_WORDS[COMP_CWORD]-} prev="" prefix="" words
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	# --opt=value, split by COMP_WORDBREAKS or not.
	if [[ $cur == = && $prev == --* ]]; then
		cur=""
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		prev=${cur%%=*}
		prefix=$prev=
		cur=${cur#*=}
	fi

	case $prev in
	-a | --account)
		words=$(_envoi_accounts)
		;;
	--queue-remove | --queue-retry | --queue-hold | --queue-release)
		words=$(_envoi_queue_ids)
		;;
	-A | --attach | -C | --config | -X | --body-file | --html)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	-b)
		words=$(printf '%s\n' m p s i)
		;;
	-B)
		words=$(printf '%s\n' 7BIT 8BITMIME)
		;;
	-N)
		words=$(printf '%s\n' never success failure delay)
		;;
	-R)
		words=$(printf '%s\n' full hdrs)
		;;
	-o)
		words=$(printf '%s\n' i dq di db)
		;;
	-f | -r | -F | -s | --subject | -c | --cc | --bcc | --from | \
		--reply-to | --header | -V)
		return 0 # free text: nothing to offer
		;;
	*)
		[[ -n $prefix ]] && return 0
		case $cur in
		--*) words=$_envoi_long_opts ;;
		-*) words="$_envoi_short_opts $_envoi_long_opts" ;;
		*) return 0 ;; # recipients
		esac
		words=${words//[[:space:]]/$'\n'}
		;;
	esac
	# One candidate a line; names may hold blanks, so no compgen -W,
	# which would also expand them.
	local w
	while IFS= read -r w; do
		[[ -n $w && $w == "$cur"* ]] && COMPREPLY+=("$prefix$w")
	done <<<"$words"
	return 0
}

complete -F _envoi envoi
