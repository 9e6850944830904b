# fish completion for envoi(1).  Install as envoi.fish in a directory of
# $fish_complete_path (such as ~/.config/fish/completions).
#
# Completes the flags of the option table in src/cli.c (those --help
# lists), account names after -a/--account (the account "NAME" lines of
# the file given with -C/--config, else of the file envoi reads by
# default), queue IDs after --queue-remove, --queue-retry, --queue-hold
# and --queue-release (from "envoi -bp --json"), and files after -A, -C,
# -X, --attach, --config, --body-file and --html.

# The configuration file the command line names with -C, if any.
function __envoi_config_arg
    set -l tokens (commandline -opc)
    set -l n (count $tokens)
    for i in (seq 2 $n)
        set -l w $tokens[$i]
        switch $w
            case -C --config
                if test $i -lt $n
                    set -l next $tokens[(math $i + 1)]
                    echo (string replace -r '^~' $HOME -- $next)
                    return
                end
            case '--config=?*'
                echo (string replace -r '^~' $HOME -- (string replace -- --config= '' $w))
                return
            case '-C?*'
                echo (string replace -r '^~' $HOME -- (string sub -s 3 -- $w))
                return
        end
    end
end

# That file, else envoi's default: the user's, else the system's.
function __envoi_config_file
    set -l file (__envoi_config_arg)
    if test -n "$file"
        echo $file
        return
    end
    set -l user $HOME/.config/envoi/config
    if string match -q '/*' -- "$XDG_CONFIG_HOME"
        set user $XDG_CONFIG_HOME/envoi/config
    end
    for file in $user /etc/envoi.conf /usr/local/etc/envoi.conf
        if test -e $file
            break
        end
    end
    echo $file
end

function __envoi_accounts
    set -l file (__envoi_config_file)
    test -r "$file"; or return
    sed -n -e 's/^[[:space:]]*account[[:space:]]*"\([^"]*\)".*/\1/p' \
        -e 's/^[[:space:]]*account[[:space:]]\{1,\}\([^"{[:space:]]\{1,\}\).*/\1/p' \
        $file 2>/dev/null
end

function __envoi_queue_ids
    set -l cmd (commandline -opc)[1]
    set -l file (__envoi_config_arg)
    set -l conf
    if test -n "$file"
        set conf -C $file
    end
    $cmd $conf -bp --json 2>/dev/null | grep -o '"id":"[^"]*"' |
        sed -e 's/^"id":"//' -e 's/"$//'
end

complete -c envoi -f
complete -c envoi -s C -l config -r -F -d 'use this configuration file only'
complete -c envoi -s a -l account -x -a '(__envoi_accounts)' -d 'use this account from the configuration'
complete -c envoi -s f -x -d 'envelope sender address (MAIL FROM)'
complete -c envoi -s r -x -d 'the same as -f'
complete -c envoi -s F -x -d 'full name for a From header that envoi adds'
complete -c envoi -s t -l read-recipients -d 'also take recipients from To, Cc and Bcc'
complete -c envoi -s i -d 'a line holding only "." does not end the message'
complete -c envoi -s b -x -a 'm\tsend p\t"list the queue" s\t"SMTP on stdin" i\t"nothing to do"' -d mode
complete -c envoi -s s -l subject -x -d 'compose a message with this subject'
complete -c envoi -s A -l attach -r -F -d 'attach a file'
complete -c envoi -s c -l cc -x -d 'compose: a Cc recipient'
complete -c envoi -l bcc -x -d 'compose: a Bcc recipient'
complete -c envoi -l from -x -d 'compose: the From header'
complete -c envoi -l reply-to -x -d 'compose: the Reply-To header'
complete -c envoi -l header -x -d 'compose: one more header field'
complete -c envoi -l body-file -r -F -d 'compose: the body text from file'
complete -c envoi -l html -r -F -d 'compose: an HTML version of the body'
complete -c envoi -l dry-run -d 'write the finished message to stdout instead of sending it'
complete -c envoi -s q -d 'deliver the queued messages that are due'
complete -c envoi -s B -x -a '7BIT 8BITMIME' -d 'body type'
complete -c envoi -s N -x -a 'never success failure delay' -d 'delivery status notifications'
complete -c envoi -s R -x -a 'full hdrs' -d 'what a notification returns'
complete -c envoi -s V -x -d 'envelope identifier for notifications'
complete -c envoi -s o -x -a 'i dq di db' -d 'sendmail option'
complete -c envoi -s X -r -F -d 'append the SMTP dialogue to file'
complete -c envoi -s v -l verbose -d 'print the SMTP dialogue on stderr'
complete -c envoi -l json -d 'with -bp (mailq): list the queue as JSON'
complete -c envoi -l queue-remove -x -a '(__envoi_queue_ids)' -d 'remove a queued message'
complete -c envoi -l queue-retry -x -a '(__envoi_queue_ids)' -d 'try to deliver a queued message now'
complete -c envoi -l queue-hold -x -a '(__envoi_queue_ids)' -d 'hold a queued message'
complete -c envoi -l queue-release -x -a '(__envoi_queue_ids)' -d 'release a held message'
complete -c envoi -l check -d 'check the configuration, credentials, connection and login, sending nothing'
complete -c envoi -l serverinfo -d "show what the account's server offers"
complete -c envoi -l import-msmtprc -F -d "print the envoi config for an msmtprc"
complete -c envoi -l print-config -d "print the account's effective settings"
complete -c envoi -l store-password -d "store the account's password in the keyring"
complete -c envoi -l help -d 'print the help and exit'
complete -c envoi -l version -d 'print the version and exit'
