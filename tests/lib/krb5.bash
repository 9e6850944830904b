# krb5.bash - a private MIT Kerberos KDC on loopback for tests/gssapi.bats.
# Everything lives under $BATS_FILE_TMPDIR/krb5: krb5.conf (KRB5_CONFIG),
# kdc.conf (KRB5_KDC_PROFILE), the database, the service keytab
# (KRB5_KTNAME, read by the test server) and alice's ccache (KRB5CCNAME).
# The KDC runs in the foreground (krb5kdc -n) as a child of bats and is
# killed by its PID in krb5_stop.

KRB5_REALM=ENVOI.TEST
KRB5_ALICE_PASS='Kdc-only-9zq'

# krb5_available: the MIT KDC tools and python3-gssapi are installed
krb5_available() {
	command -v krb5kdc >/dev/null && command -v kdb5_util >/dev/null &&
		command -v kadmin.local >/dev/null && command -v kinit >/dev/null &&
		"$PY" -c 'import gssapi' 2>/dev/null
}

# _krb5_free_port: a TCP and UDP port free on 127.0.0.1 right now
_krb5_free_port() {
	"$PY" - <<'PYEOF'
import socket
for _ in range(50):
    t = socket.socket()
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close()
        continue
    u.close()
    t.close()
    print(port)
    break
PYEOF
}

# krb5_start: create the realm, start the KDC, make the keytab and kinit
# alice; exports KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5_KTNAME, KRB5CCNAME.
krb5_start() {
	local d=$BATS_FILE_TMPDIR/krb5 port i
	mkdir -p "$d"
	port=$(_krb5_free_port)
	[ -n "$port" ] || return 1
	cat >"$d/krb5.conf" <<EOT
[libdefaults]
	default_realm = $KRB5_REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
[realms]
	$KRB5_REALM = {
		kdc = 127.0.0.1:$port
	}
EOT
	cat >"$d/kdc.conf" <<EOT
[kdcdefaults]
	kdc_listen = 127.0.0.1:$port
	kdc_tcp_listen = 127.0.0.1:$port
[realms]
	$KRB5_REALM = {
		database_name = $d/principal
		key_stash_file = $d/stash
		acl_file = $d/kadm5.acl
		kdc_listen = 127.0.0.1:$port
		kdc_tcp_listen = 127.0.0.1:$port
	}
[logging]
	kdc = FILE:$d/kdc.log
EOT
	: >"$d/kadm5.acl"
	export KRB5_CONFIG=$d/krb5.conf KRB5_KDC_PROFILE=$d/kdc.conf
	export KRB5_KTNAME=FILE:$d/smtp.keytab KRB5CCNAME=FILE:$d/alice.cc
	kdb5_util -r "$KRB5_REALM" -P "kdb-master-$$" create -s \
		>"$d/kdb5_util.log" 2>&1 || { cat "$d/kdb5_util.log" >&2; return 1; }
	local q
	for q in "addprinc -pw $KRB5_ALICE_PASS alice" \
		"addprinc -randkey smtp/localhost" \
		"addprinc -randkey smtp/127.0.0.1" \
		"ktadd -k $d/smtp.keytab smtp/localhost smtp/127.0.0.1"; do
		if ! kadmin.local -r "$KRB5_REALM" -q "$q" >>"$d/kadmin.log" 2>&1; then
			cat "$d/kadmin.log" >&2
			return 1
		fi
	done
	krb5kdc -n -r "$KRB5_REALM" >"$d/krb5kdc.out" 2>&1 </dev/null 3>&- &
	echo $! >"$d/kdc.pid"
	# kinit retries until the KDC answers (at most 10 s).
	for ((i = 0; i < 100; i++)); do
		if printf '%s\n' "$KRB5_ALICE_PASS" |
			kinit "alice@$KRB5_REALM" >"$d/kinit.log" 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "krb5: kinit alice failed:" >&2
	cat "$d/kinit.log" "$d/krb5kdc.out" "$d/kdc.log" >&2 2>/dev/null
	return 1
}

# krb5_stop: kill the KDC by its PID
krb5_stop() {
	local pid
	pid=$(cat "$BATS_FILE_TMPDIR/krb5/kdc.pid" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
