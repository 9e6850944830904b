#!/usr/bin/python3
"""SMTP test server for envoi's test suite, built on aiosmtpd.

Usage:
  /usr/bin/python3 smtpd.py --dir DIR --cert CERT --key KEY [--host 127.0.0.1]
        [--user U --password P] [--plain] [--starttls] [--tls]
        [--tls-min V] [--tls-max V] [--client-ca FILE [--client-cert-optional]]
        [--oauth-tokens FILE] [--lifetime SECONDS] [--debug]

Listeners (all on --host, port 0 so the kernel picks a free port; if none of
the three flags is given, all three are started):
  --plain     no TLS at all; AUTH (if --user) is offered in plaintext, so tests
              can check that the client refuses PLAIN/LOGIN over it
  --starttls  offers STARTTLS; AUTH is offered only once TLS is active
  --tls       implicit TLS from the first byte; AUTH is offered

TLS options (for --starttls and --tls; all listeners share one context, so
session tickets issued on one connection resume on the next):
  --tls-min V, --tls-max V   the oldest / newest TLS version the server
              accepts, V one of 1.0 1.1 1.2 1.3 (ssl minimum_version /
              maximum_version); default: OpenSSL's
  --client-ca FILE  ask for a client certificate and require it
              (verify_mode CERT_REQUIRED) to be signed by a CA in FILE: a
              client without one, or with one from another CA, fails the
              handshake
  --client-cert-optional  with --client-ca: ask, verify what is sent, but
              also accept a client that sends none (CERT_OPTIONAL)
A handshake that the server fails (no common version, no or a bad client
certificate) sends the TLS alert and half-closes the connection, as an
OpenSSL server does (asyncio on its own resets it without the alert).

Files in DIR:
  port.plain, port.starttls, port.tls   the bound port of each listener
  pid                                   this process's PID; written after all
                                        port files, so its presence means the
                                        server is ready (all files are written
                                        to a temporary name, then renamed)
  transcript.log   one line per line the client sent, prefixed with the
                   connection number: "3 EHLO foo", "3 MAIL FROM:<a@b>",
                   "3 AUTH PLAIN AGFsaWNl...", and AUTH continuation lines
                   ("3 YWxpY2U=").  The DATA payload is not logged.  Events:
                   "3 CONNECT plain|starttls|tls" when a connection is
                   accepted (for --tls: once the handshake succeeded),
                   "3 TLS" when TLS is active (for --tls right after CONNECT),
                   "3 TLS-FAILED" when a STARTTLS handshake failed.
                   Control characters in logged lines appear as \\xNN; a
                   command line over aiosmtpd's length limit is not logged.
  mail/NNNN.eml    each accepted message, raw bytes as received after SMTP
                   dot-unstuffing (CRLF line endings preserved)
  mail/NNNN.json   {"mail_from", "rcpt_tos", "mail_options", "rcpt_options",
                    "auth_user", "tls", "listener", "connection"}: auth_user
                   is null without AUTH, tls a bool, listener "plain",
                   "starttls" or "tls", connection the transcript's
                   connection number, mail_options/rcpt_options upper-cased
                   by aiosmtpd (e.g. "SIZE=123"); written after the .eml,
                   so its presence means the message is complete.  NNNN is a
                   zero-padded sequence number shared by all listeners.
                   Also: "tls_version" ("TLSv1.2", "TLSv1.3"; null without
                   TLS), "tls_resumed" (bool: the TLS session was resumed,
                   ssl session_reused), "tls_sni" (the server name the
                   client sent in its hello, null if none), "client_cert"
                   (the CN of the verified client certificate, null if
                   none), "auth_mech" (the mechanism of the successful AUTH,
                   upper case, null without AUTH) and "auth_cb" (for SCRAM:
                   the channel binding name the client used ("tls-unique",
                   "tls-exporter"), else null).
  events.log       one JSON object per line, for what the transcript does
                   not show:
                     {"conn": N, "event": "tls", "version": ..., "resumed":
                      bool, "sni": ..., "client_cert": ..., "cipher": ...}
                   when TLS is active on connection N (after the handshake);
                     {"conn": N, "event": "auth", "mech": "SCRAM-SHA-256",
                      "result": "ok" | "fail" | "aborted", "reason": ...,
                      "cbflag": "n" | "y" | "p", "cbname": ...,
                      "cb_verified": bool}
                   for every AUTH with a SCRAM mechanism, and with "mech"
                   and "result" only for every other AUTH.  "reason" names
                   why the server refused: "channel-binding-mismatch",
                   "invalid-proof", "unknown-user", "downgrade" (the client
                   sent the "y" flag although -PLUS was offered),
                   "cb-required" (a -PLUS mechanism without "p="),
                   "cb-not-supported" (channel binding with a non-PLUS
                   mechanism, or a binding type the server cannot
                   compute), "bad-nonce", "parse"; "aborted" means the
                   client cancelled with "*" (e.g. after the server's final
                   message).  The file is appended to (tests that read it
                   truncate it first).

Authentication: with --user/--password, AUTH PLAIN and LOGIN are offered and
MAIL is refused with "530 5.7.0 Authentication required" on every listener
until the client authenticated, unless control/no-auth or
control/auth-optional exists.  Without --user, AUTH is never offered.

SCRAM (RFC 5802, RFC 7677): SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS
variants are implemented for --user/--password (4096 iterations, a random
salt per exchange) and offered only when listed in control/auth-mechs.  The
server's final message is sent as a 334 challenge; the client's (empty)
answer to it gets 235.  A failed exchange gets "535 5.7.8 Authentication
credentials invalid".  For -PLUS the client must send "p=tls-unique" or
"p=tls-exporter" and the cbind data of its final message must be the GS2
header followed by the channel binding of this connection: for tls-unique
ssl's get_channel_binding("tls-unique") (TLS 1.2 and older only), for
tls-exporter (RFC 9266; TLS 1.3) the keying material exported with label
"EXPORTER-Channel-Binding", an empty context, 32 bytes (through ctypes and
libssl, since Python's ssl module has no exporter; if that is not
possible the exchange fails with reason "cb-not-supported").  A client
that sends the "y" flag on a connection where -PLUS was advertised fails
(RFC 5802 section 6, downgrade detection).

GSSAPI (RFC 4752), when listed in control/auth-mechs: python3-gssapi
accepts the client's Kerberos context with the keytab of KRB5_KTNAME
(tests/lib/krb5.bash), offers no security layer, and records the
initiator's principal as auth_user; events.log has its "principal".

OAuth2 (--oauth-tokens FILE): OAUTHBEARER (RFC 7628) and XOAUTH2 can be
advertised (control/auth-mechs) and are refused before TLS ("538").  The
user must be --user and the bearer token one of the lines of FILE (read on
every AUTH; the token endpoint stub, tokend.py, appends the tokens it
issues).  A wrong token gets the RFC 7628 error challenge, a 334 with
base64 of {"status":"invalid_token",...}; the client must answer with the
dummy response (^A, "AQ==") for OAUTHBEARER or an empty line for XOAUTH2,
then gets "535 5.7.8 Authentication credentials invalid".  The events.log
record has "reason" ("bad-token", "unknown-user", "parse"), "token_len"
and, after an error challenge, "dummy" (the client answered as it must).
With --oauth-tokens, command lines may be up to 64 KB long (long tokens).

Misbehaviour is controlled at run time by files in DIR/control/, looked up on
every command, so one server can serve many tests (remove the files to get
normal behaviour back):

  reply-VERB  VERB is any SMTP command (EHLO, HELO, MAIL, RCPT, DATA, AUTH,
              STARTTLS, RSET, NOOP, QUIT, ...) or EOD (the reply after the
              final dot of DATA).  The file holds a reply that is sent
              instead of the normal one, e.g. "451 4.3.0 try later"; the
              command is then not carried out (MAIL sets no sender, RCPT adds
              no recipient, DATA reads no data, AUTH reads no continuation;
              for EOD the message is not recorded).  Only the first reply is
              used: lines are taken up to and including the first line whose
              fourth character is not "-", so "451-first" then "451 second"
              gives a multi-line reply.  Blank lines and lines starting with
              "#" are ignored; an empty file is as if it did not exist.
  reply-RCPT  as above, but each line may also be "ADDRESS REPLY", e.g.
                  bad@example.org 550 5.1.1 no such user
              which refuses only that recipient (the address is compared
              without angle brackets, case-insensitively).  A line that
              starts with a three-digit code applies to every recipient.
              The first line that applies wins; a recipient to which no line
              applies is accepted normally.
  delay-VERB  sleep this many seconds (a decimal number, e.g. "5") before
              answering VERB; VERB may also be EOD or "greeting".
  delay-EOD-reply  sleep this many seconds after the message has been
              accepted and recorded (mail/NNNN.* written), before the 250
              reply to the final dot: a client that dies in this window
              leaves a message the server has but the client never saw
              acknowledged (the queue tests' duplicate window).
  drop-VERB   (exists) close the connection without a reply when VERB is
              received; VERB may also be EOD.
  greeting    its content is the greeting sent instead of
              "220 localhost envoi-test-smtpd" (same multi-line rule as
              reply-VERB).  After a greeting that does not start with "2",
              every command except QUIT gets "503 5.5.1 Bad sequence of
              commands"; after one that starts with "421" the server closes
              the connection.
  no-starttls (exists) STARTTLS is not advertised and is refused with
              "502 5.5.1 STARTTLS not available".
  no-auth     (exists) AUTH is not advertised and is refused with
              "502 5.5.1 AUTH not available"; MAIL needs no authentication.
  auth-optional (exists) AUTH is advertised as usual but MAIL needs no
              authentication.
  dsn         (exists) DSN (RFC 3461) is advertised after EHLO, and the DSN
              parameters RET= and ENVID= of MAIL and NOTIFY= and ORCPT= of
              RCPT are accepted: they are kept as sent (not upper-cased) at
              the end of mail_options / rcpt_options in the .json, and the
              transcript shows the command lines as sent.
  smtputf8    (exists when the connection is accepted) SMTPUTF8 (RFC 6531)
              is advertised and MAIL ... SMTPUTF8 accepted (UTF-8 addresses).
  auth-mechs  the AUTH mechanisms to advertise, in this order, separated by
              spaces or lines, e.g. "SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN"
              (from PLAIN, LOGIN, SCRAM-SHA-1, SCRAM-SHA-256,
              SCRAM-SHA-1-PLUS, SCRAM-SHA-256-PLUS, EXTERNAL, GSSAPI,
              and with --oauth-tokens OAUTHBEARER, XOAUTH2).  The -PLUS ones are
              advertised only once TLS is active.  A mechanism not
              advertised is refused with "504 5.5.4 Unrecognized
              authentication type".  Without the file: PLAIN and LOGIN.
  scram-bad-signature  (exists) the server's final SCRAM message carries a
              wrong ServerSignature (v=): a client must abort.
  scram-bad-cbind  (exists) the server computes the expected channel
              binding over different data (the real binding with every
              byte inverted), so that a -PLUS exchange fails with
              "channel-binding-mismatch" as it would if an attacker
              relayed the exchange to another TLS connection.
  starttls-inject  (exists) the reply "220 Ready to start TLS" is followed,
              in the same write, by this file's content as is (an empty
              file: "250 injected\r\n"), in clear, before the handshake:
              the STARTTLS response injection of CVE-2011-0411.

The server exits cleanly on SIGTERM or SIGINT, when its parent process goes
away, or after --lifetime seconds (default 900), so it can never be left
running by a test suite.
"""

import argparse
import asyncio
import base64
import binascii
import collections
import ctypes
import functools
import hashlib
import hmac
import json
import logging
import os
import re
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import (MISSING, SMTP, AuthResult, LoginPassword,
                           TLSSetupException)

HOSTNAME = "localhost"
IDENT = "envoi-test-smtpd"
LISTENERS = ("plain", "starttls", "tls")


def write_atomic(path, data):
    """Write bytes to path via a temporary file and rename."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def escape_line(raw):
    """Bytes of one client line (without EOL) -> printable one-line str."""
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(
        c if (c >= " " and c != "\x7f") else "\\x%02x" % ord(c) for c in text
    )


def parse_reply_lines(lines):
    """From a list of candidate lines, return the lines of the first reply."""
    out = []
    for line in lines:
        out.append(line)
        if len(line) < 4 or line[3] != "-":
            break
    return out


SCRAM_MECHS = {
    "SCRAM-SHA-1": "sha1",
    "SCRAM-SHA-256": "sha256",
    "SCRAM-SHA-1-PLUS": "sha1",
    "SCRAM-SHA-256-PLUS": "sha256",
}
BEARER_MECHS = ("OAUTHBEARER", "XOAUTH2")
KNOWN_MECHS = (("PLAIN", "LOGIN", "EXTERNAL", "GSSAPI") + tuple(SCRAM_MECHS)
               + BEARER_MECHS)
# RFC 7628 3.2.2: the error a server sends as a challenge
BEARER_ERROR = {"status": "invalid_token", "schemes": "bearer",
                "scope": "https://mail.example/"}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    TLS_VERSIONS = {
        "1.0": ssl.TLSVersion.TLSv1,
        "1.1": ssl.TLSVersion.TLSv1_1,
        "1.2": ssl.TLSVersion.TLSv1_2,
        "1.3": ssl.TLSVersion.TLSv1_3,
    }


def _libssl():
    """The libssl that Python's _ssl module uses, through ctypes, or None."""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 6 and "/libssl.so" in fields[5]:
                    lib = ctypes.CDLL(fields[5])
                    lib.SSL_version.argtypes = [ctypes.c_void_p]
                    lib.SSL_version.restype = ctypes.c_int
                    lib.SSL_export_keying_material.argtypes = [
                        ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                        ctypes.c_size_t, ctypes.c_int]
                    lib.SSL_export_keying_material.restype = ctypes.c_int
                    return lib
    except (OSError, AttributeError):
        pass
    return None


def tls_exporter(sslobj, label=b"EXPORTER-Channel-Binding", length=32):
    """RFC 9266 tls-exporter channel binding of an ssl.SSLObject, or None.

    Python's ssl has no keying material exporter: the SSL pointer is read
    from CPython's PySSLSocket (PyObject_HEAD, PyObject *Socket, SSL *ssl)
    and checked with SSL_version() against what Python reports before it is
    used."""
    if sys.implementation.name != "cpython":
        return None
    lib = _libssl()
    inner = getattr(sslobj, "_sslobj", None)
    if lib is None or inner is None:
        return None
    want = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}.get(sslobj.version())
    ptr = ctypes.c_void_p.from_address(
        id(inner) + 3 * ctypes.sizeof(ctypes.c_void_p)).value
    if want is None or not ptr or lib.SSL_version(ptr) != want:
        return None
    out = ctypes.create_string_buffer(length)
    if lib.SSL_export_keying_material(ptr, out, length, label, len(label),
                                      b"", 0, 1) != 1:
        return None
    return out.raw


def scram_parse(msg):
    """'a=1,b=2' (bytes) -> list of (key, value) str pairs; ValueError."""
    out = []
    for item in msg.decode("utf-8").split(","):
        if len(item) < 2 or item[1] != "=":
            raise ValueError("bad attribute %r" % item)
        out.append((item[0], item[2:]))
    return out


def scram_unescape(name):
    if re.search(r"=(?!2C|3D)", name):
        raise ValueError("bad escape in %r" % name)
    return name.replace("=2C", ",").replace("=3D", "=")


def _hmac(hname, key, msg):
    return hmac.new(key, msg, hname).digest()


def _xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


class ScramFail(Exception):
    """A SCRAM exchange the server refuses; args[0] is the reason."""


class State:
    """Process-wide state shared by all listeners and connections."""

    def __init__(self, args):
        self.dir = args.dir
        self.ctl_dir = os.path.join(args.dir, "control")
        self.mail_dir = os.path.join(args.dir, "mail")
        os.makedirs(self.ctl_dir, exist_ok=True)
        os.makedirs(self.mail_dir, exist_ok=True)
        self.user = args.user
        self.password = args.password
        self.oauth_tokens = args.oauth_tokens
        self.conn_seq = 0
        self.msg_seq = 0
        for name in os.listdir(self.mail_dir):
            stem = name.split(".", 1)[0]
            if stem.isdigit():
                self.msg_seq = max(self.msg_seq, int(stem))
        self.transcript = open(
            os.path.join(args.dir, "transcript.log"), "a", buffering=1,
            encoding="utf-8", errors="backslashreplace")
        self.events_path = os.path.join(args.dir, "events.log")

    def log(self, conn, text):
        try:
            self.transcript.write("%d %s\n" % (conn, text))
        except Exception as e:  # never let logging break a session
            print("smtpd: transcript: %s" % e, file=sys.stderr)

    def event(self, conn, name, **fields):
        """Append one JSON line to events.log (opened per write, so that a
        test may truncate or remove the file at any time)."""
        rec = {"conn": conn, "event": name}
        rec.update(fields)
        try:
            with open(self.events_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
        except Exception as e:
            print("smtpd: events: %s" % e, file=sys.stderr)

    def auth_mechs(self, tls):
        """The mechanisms to advertise (control/auth-mechs), or None for
        aiosmtpd's own list (PLAIN LOGIN)."""
        lines = self.ctl_lines("auth-mechs")
        if not lines:
            return None
        mechs = []
        for word in " ".join(lines).replace(",", " ").split():
            word = word.upper()
            if word in KNOWN_MECHS and word not in mechs:
                if word.endswith("-PLUS") and not tls:
                    continue
                mechs.append(word)
        return mechs

    def bearer_valid(self, token):
        """True when token is one of the lines of --oauth-tokens."""
        if not self.oauth_tokens or not token:
            return False
        try:
            with open(self.oauth_tokens, encoding="ascii",
                      errors="replace") as f:
                return any(hmac.compare_digest(line.strip(), token)
                           for line in f if line.strip())
        except OSError:
            return False

    # --- control files -------------------------------------------------
    def ctl_path(self, name):
        return os.path.join(self.ctl_dir, name)

    def ctl_exists(self, name):
        return os.path.exists(self.ctl_path(name))

    def ctl_lines(self, name):
        """Meaningful lines of a control file, or None if absent/empty."""
        try:
            with open(self.ctl_path(name), "rb") as f:
                data = f.read()
        except OSError:
            return None
        lines = []
        for line in data.decode("utf-8", "replace").splitlines():
            line = line.rstrip()
            if line.strip() and not line.lstrip().startswith("#"):
                lines.append(line)
        return lines or None

    def ctl_reply(self, name):
        lines = self.ctl_lines(name)
        return parse_reply_lines(lines) if lines else None

    def ctl_delay(self, name):
        lines = self.ctl_lines(name)
        if not lines:
            return 0.0
        try:
            return max(0.0, float(lines[0].split()[0]))
        except ValueError:
            return 0.0

    def rcpt_reply(self, address):
        """Reply from control/reply-RCPT applying to address, or None."""
        lines = self.ctl_lines("reply-RCPT")
        if not lines:
            return None
        for i, line in enumerate(lines):
            first = line.split(None, 1)[0]
            if re.fullmatch(r"[0-9]{3}(-.*)?", first):
                return parse_reply_lines(lines[i:])
            rest = line[len(line.split(None, 1)[0]):].strip()
            want = first.strip("<>").lower()
            if address is not None and want == address.lower() and rest:
                return [rest]
        return None

    def auth_required(self):
        return (self.user is not None
                and not self.ctl_exists("no-auth")
                and not self.ctl_exists("auth-optional"))

    def auth_offered(self):
        return self.user is not None and not self.ctl_exists("no-auth")

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if (self.user is not None and isinstance(auth_data, LoginPassword)
                and auth_data.login == self.user.encode()
                and auth_data.password == self.password.encode()):
            return AuthResult(success=True, auth_data=self.user)
        return AuthResult(success=False, handled=False)

    def record(self, conn, envelope, session, listener, tls, extra=None):
        self.msg_seq += 1
        stem = os.path.join(self.mail_dir, "%04d" % self.msg_seq)
        write_atomic(stem + ".eml", envelope.original_content or b"")
        auth_user = session.auth_data if session.authenticated else None
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "rcpt_options": list(envelope.rcpt_options),
            "auth_user": auth_user if isinstance(auth_user, str) else None,
            "tls": bool(tls),
            "listener": listener,
            "connection": conn,
        }
        meta.update(extra or {})
        write_atomic(stem + ".json", (json.dumps(meta, indent=1) + "\n").encode())
        return "%04d" % self.msg_seq


class Handler:
    """aiosmtpd handler hooks; `server` is the TestSMTP instance."""

    def __init__(self, state):
        self.state = state

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        keep = []
        for r in responses:
            kw = r[4:].split(" ", 1)[0].upper()
            if kw == "STARTTLS" and self.state.ctl_exists("no-starttls"):
                continue
            if kw == "AUTH" and not self.state.auth_offered():
                continue
            keep.append(r[4:])
        if self.state.ctl_exists("dsn"):
            keep.insert(len(keep) - 1, "DSN")
        mechs = self.state.auth_mechs(server.tls_active)
        if mechs is not None:
            keep = [k for k in keep if k.split(" ", 1)[0].upper() != "AUTH"]
            if mechs and self.state.auth_offered() and (
                    server.listener != "starttls" or server.tls_active):
                keep.insert(len(keep) - 1, "AUTH " + " ".join(mechs))
            server.offered_mechs = mechs
        return ["250-" + k for k in keep[:-1]] + ["250 " + keep[-1]]

    async def handle_DATA(self, server, session, envelope):
        st = self.state
        delay = st.ctl_delay("delay-EOD")
        if delay:
            await asyncio.sleep(delay)
        if st.ctl_exists("drop-EOD"):
            server.drop()
            return "421 4.3.0 dropping"  # not seen: transport is closed
        reply = st.ctl_reply("reply-EOD")
        if reply:
            return "\r\n".join(reply)
        seq = st.record(server.conn_id, envelope, session, server.listener,
                        server.tls_active, server.record_extra())
        delay = st.ctl_delay("delay-EOD-reply")
        if delay:
            await asyncio.sleep(delay)
        return "250 2.0.0 OK queued as %s" % seq

    async def handle_exception(self, error):
        print("smtpd: session exception: %r" % (error,), file=sys.stderr)
        return "500 5.0.0 Error: (%s) %s" % (error.__class__.__name__, error)


class TestSMTP(SMTP):
    """aiosmtpd's SMTP with transcript logging and control-file hooks."""

    def __init__(self, state, listener, **kw):
        super().__init__(Handler(state), **kw)
        # RFC 4954 4: an AUTH line may hold 12288 octets (a Kerberos
        # ticket in a GSSAPI initial response is longer than aiosmtpd's
        # 512); with OAuth2 the whole token: allow 64 KB.
        auth_limit = 64 * 1024 if state.oauth_tokens else 12288
        self._strong_reader._limit = max(auth_limit,
                                         self._strong_reader._limit)
        self.command_size_limits = collections.defaultdict(
            lambda: SMTP.command_size_limit, AUTH=auth_limit)
        self.state = state
        self.listener = listener
        self.conn_id = 0
        self.in_data = False
        self.greeted = False
        self.bad_greeting = False
        self.implicit_tls = listener == "tls"
        self.tls_info = {}
        self.tls_failed = False
        self.offered_mechs = None   # None: aiosmtpd's own (PLAIN LOGIN)
        self.auth_mech = None
        self.auth_cb = None
        for verb, method in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._wrap(verb, method)

    @property
    def tls_active(self):
        return self.implicit_tls or self._tls_protocol is not None

    def drop(self):
        if self.transport is not None:
            self.transport.close()

    # --- connection events ----------------------------------------------
    def connection_made(self, transport):
        upgrading = self._original_transport is not None
        super().connection_made(transport)
        if not upgrading:
            self.enable_SMTPUTF8 = self.state.ctl_exists("smtputf8")
        if upgrading:
            self.state.log(self.conn_id, "TLS")
            self._note_tls(transport)
        else:
            self.state.conn_seq += 1
            self.conn_id = self.state.conn_seq
            self.state.log(self.conn_id, "CONNECT " + self.listener)
            if self.implicit_tls:
                self.state.log(self.conn_id, "TLS")
                self._note_tls(transport)

    def connection_lost(self, error):
        # After a failed STARTTLS handshake aiosmtpd closes the TCP
        # connection at once, which resets it while the client may still be
        # writing, before it read the alert: close it a little later (see
        # _send_alert_on_handshake_failure).
        orig = self._original_transport
        if self.tls_failed and orig is not None:
            self._original_transport = None
            self.loop.call_later(0.5, orig.close)
        super().connection_lost(error)

    def ssl_object(self):
        if self.transport is None:
            return None
        return self.transport.get_extra_info("ssl_object")

    def _note_tls(self, transport):
        """Record what the handshake negotiated (events.log, the .json)."""
        obj = transport.get_extra_info("ssl_object")
        if obj is None:
            return
        cn = None
        try:
            cert = obj.getpeercert()
            for rdn in (cert or {}).get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        cn = value
        except (ValueError, ssl.SSLError):
            pass
        cipher = obj.cipher()
        self.tls_info = {
            "tls_version": obj.version(),
            "tls_resumed": bool(obj.session_reused),
            "tls_sni": getattr(obj, "envoi_sni", None),
            "client_cert": cn,
        }
        self.state.event(self.conn_id, "tls", version=obj.version(),
                         resumed=bool(obj.session_reused),
                         sni=getattr(obj, "envoi_sni", None),
                         client_cert=cn,
                         cipher=cipher[0] if cipher else None)

    def record_extra(self):
        extra = {"tls_version": None, "tls_resumed": False, "tls_sni": None,
                 "client_cert": None}
        extra.update(self.tls_info)
        extra["auth_mech"] = (self.auth_mech if self.session.authenticated
                              else None)
        extra["auth_cb"] = self.auth_cb if self.session.authenticated else None
        return extra

    def _client_connected_cb(self, reader, writer):
        super()._client_connected_cb(reader, writer)
        # Log every line read outside DATA.  The command loop calls
        # readuntil() and AUTH continuations use readline(), which calls
        # readuntil() in turn, so wrapping readuntil catches both.
        orig = reader.readuntil

        async def readuntil(separator=b"\n"):
            line = await orig(separator)
            if not self.in_data:
                self.state.log(self.conn_id, escape_line(line.rstrip(b"\r\n")))
            return line

        reader.readuntil = readuntil

    async def push(self, status):
        if not self.greeted:
            self.greeted = True
            st = self.state
            delay = st.ctl_delay("delay-greeting")
            if delay:
                await asyncio.sleep(delay)
            greeting = st.ctl_reply("greeting")
            if greeting:
                status = "\r\n".join(greeting)
                if not status.startswith("2"):
                    self.bad_greeting = True
                await super().push(status)
                if status.startswith("421"):
                    self.drop()
                return
        if (status == "220 Ready to start TLS"
                and self.state.ctl_exists("starttls-inject")):
            try:
                with open(self.state.ctl_path("starttls-inject"), "rb") as f:
                    extra = f.read()
            except OSError:
                extra = b""
            # one write: the injected bytes arrive with the 220
            self._writer.write(status.encode() + b"\r\n"
                               + (extra or b"250 injected\r\n"))
            await self._writer.drain()
            return
        await super().push(status)

    # --- command dispatch -------------------------------------------------
    def _wrap(self, verb, method):
        @functools.wraps(method)
        async def wrapped(arg):
            st = self.state
            delay = st.ctl_delay("delay-" + verb)
            if delay:
                await asyncio.sleep(delay)
            if st.ctl_exists("drop-" + verb):
                self.drop()
                return
            if self.bad_greeting and verb != "QUIT":
                return await self.push("503 5.5.1 Bad sequence of commands")
            if verb == "RCPT":
                reply = st.rcpt_reply(self._rcpt_address(arg))
            else:
                reply = st.ctl_reply("reply-" + verb)
            if reply:
                return await self.push("\r\n".join(reply))
            if verb == "STARTTLS" and st.ctl_exists("no-starttls"):
                return await self.push("502 5.5.1 STARTTLS not available")
            if verb == "AUTH" and not st.auth_offered():
                return await self.push("502 5.5.1 AUTH not available")
            if verb == "AUTH":
                return await self._auth(method, arg)
            if (verb == "MAIL" and st.auth_required()
                    and not self.session.authenticated):
                return await self.push("530 5.7.0 Authentication required")
            if verb == "STARTTLS":
                try:
                    return await method(arg)
                except TLSSetupException:
                    st.log(self.conn_id, "TLS-FAILED")
                    self.tls_failed = True
                    raise
            if verb in ("MAIL", "RCPT") and st.ctl_exists("dsn") and arg:
                return await self._with_dsn(verb, method, arg)
            if verb == "DATA":
                self.in_data = True
                try:
                    return await method(arg)
                finally:
                    self.in_data = False
            return await method(arg)

        return wrapped

    # --- AUTH ----------------------------------------------------------------
    async def _auth(self, method, arg):
        """AUTH: the mechanisms of control/auth-mechs, SCRAM done here,
        PLAIN and LOGIN by aiosmtpd; the outcome is noted in events.log."""
        words = (arg or "").split()
        mech = words[0].upper() if words else ""
        offered = self.offered_mechs
        if offered is not None and mech and mech not in offered:
            return await self.push("504 5.5.4 Unrecognized authentication type")
        if mech == "EXTERNAL" and offered is not None:
            return await self._external(words)
        if mech == "GSSAPI" and offered is not None:
            return await self._gssapi(words)
        if mech not in tuple(SCRAM_MECHS) + BEARER_MECHS or offered is None:
            result = await method(arg)
            if mech and self.session.authenticated and self.auth_mech is None:
                self.auth_mech = mech
                self.state.event(self.conn_id, "auth", mech=mech, result="ok")
            elif mech:
                self.state.event(self.conn_id, "auth", mech=mech,
                                 result="fail")
            return result
        if not self.session.extended_smtp:
            return await self.push("503 5.5.1 Error: send EHLO first")
        if self.listener == "starttls" and not self.tls_active:
            return await self.push("538 5.7.11 Encryption required for "
                                   "requested authentication mechanism")
        if self.session.authenticated:
            return await self.push("503 Already authenticated")
        if len(words) > 2:
            return await self.push("501 Too many values")
        if mech in BEARER_MECHS:
            return await self._bearer(mech, words)
        info = {"mech": mech, "cbflag": None, "cbname": None,
                "cb_verified": False}
        try:
            ok = await self._scram(mech, words[1] if len(words) > 1 else None,
                                   info)
        except ScramFail as e:
            self.state.event(self.conn_id, "auth", result="fail",
                             reason=e.args[0], **info)
            return await self.push("535 5.7.8 Authentication credentials "
                                   "invalid")
        if not ok:  # the client cancelled; challenge_auth replied 501
            self.state.event(self.conn_id, "auth", result="aborted",
                             reason=None, **info)
            return
        self.session.authenticated = True
        self.session.auth_data = self.state.user
        self.auth_mech = mech
        self.auth_cb = info["cbname"]
        self.state.event(self.conn_id, "auth", result="ok", reason=None,
                         **info)
        return await self.push("235 2.7.0 Authentication successful")

    async def _external(self, words):
        """AUTH EXTERNAL (RFC 4422 appendix A): the login is the common
        name of the client certificate TLS verified (--client-ca); an
        authorization identity, when given, must be that name."""
        if self.session.authenticated:
            return await self.push("503 Already authenticated")
        if len(words) > 2:
            return await self.push("501 Too many values")
        if len(words) == 2 and words[1] == "=":
            raw = b""
        elif len(words) == 2:
            try:
                raw = base64.b64decode(words[1], validate=True)
            except (ValueError, binascii.Error):
                return await self.push("501 5.5.2 bad base64")
        else:
            raw = await self.challenge_auth(b"")
            if raw is MISSING:
                return
        cn = None
        obj = self.ssl_object()
        try:
            cert = obj.getpeercert() if obj is not None else None
            for rdn in (cert or {}).get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        cn = value
        except (ValueError, ssl.SSLError):
            cn = None
        try:
            authzid = raw.decode("utf-8")
        except UnicodeDecodeError:
            return await self.push("501 5.5.2 bad authorization identity")
        ok = cn is not None and authzid in ("", cn)
        self.state.event(self.conn_id, "auth", mech="EXTERNAL",
                         result="ok" if ok else "fail", authzid=authzid,
                         client_cert=cn)
        if not ok:
            return await self.push("535 5.7.8 no usable client certificate")
        self.session.authenticated = True
        self.session.auth_data = cn
        self.auth_mech = "EXTERNAL"
        return await self.push("235 2.7.0 Authentication successful")

    async def _gssapi(self, words):
        """AUTH GSSAPI (RFC 4752) with python3-gssapi, imported here so
        the server runs without it: the security context tokens go in 334
        challenges, then the server offers no security layer (wrapped
        4 octets) and the client answers with its choice and authzid.
        The keytab is the one of KRB5_KTNAME."""
        if self.session.authenticated:
            return await self.push("503 Already authenticated")
        if len(words) > 2:
            return await self.push("501 Too many values")
        try:
            import gssapi
        except ImportError:
            return await self.push("454 4.7.0 GSSAPI unavailable")
        info = {"mech": "GSSAPI"}
        if len(words) == 2:
            try:
                token = base64.b64decode(words[1], validate=True)
            except binascii.Error:
                return await self.push("501 5.5.2 bad base64")
        else:
            token = await self.challenge_auth(b"")
            if token is MISSING:
                return
        ctx = gssapi.SecurityContext(usage="accept")
        try:
            for _ in range(8):
                out = ctx.step(token)
                if ctx.complete:
                    break
                token = await self.challenge_auth(out or b"")
                if token is MISSING:
                    return
            if not ctx.complete:
                raise ValueError("too many rounds")
            if out:
                # The client's reply to the last context token is empty.
                if await self.challenge_auth(out) is MISSING:
                    return
            # Layer 1 (none), maximum message size 0xffffff.
            offer = ctx.wrap(b"\x01\xff\xff\xff", False).message
            answer = await self.challenge_auth(offer)
            if answer is MISSING:
                return
            plain = ctx.unwrap(answer).message
            if len(plain) < 4 or plain[0] != 1:
                raise ValueError("security layer %r" % plain[:1])
            authzid = plain[4:].decode("utf-8")
            principal = str(ctx.initiator_name)
        except (gssapi.exceptions.GSSError, ValueError) as e:
            self.state.event(self.conn_id, "auth", result="fail",
                             reason=str(e).splitlines()[0], **info)
            return await self.push("535 5.7.8 GSSAPI authentication failed")
        if authzid not in ("", principal):
            self.state.event(self.conn_id, "auth", result="fail",
                             reason="authzid", authzid=authzid, **info)
            return await self.push("535 5.7.8 authorization refused")
        self.session.authenticated = True
        self.session.auth_data = principal
        self.auth_mech = "GSSAPI"
        self.state.event(self.conn_id, "auth", result="ok", reason=None,
                         principal=principal, authzid=authzid, **info)
        return await self.push("235 2.7.0 Authentication successful")

    @staticmethod
    def bearer_parse(mech, msg):
        """(user, token) from an OAUTHBEARER or XOAUTH2 initial response;
        ValueError when malformed."""
        if not msg.endswith(b"\x01\x01"):
            raise ValueError("no final ^A^A")
        if mech == "OAUTHBEARER":
            gs2, _, rest = msg.partition(b"\x01")
            flag, authz, tail = gs2.split(b",", 2)
            if flag not in (b"n", b"y") or tail != b"":
                raise ValueError("gs2 header")
            if not authz.startswith(b"a="):
                raise ValueError("no a=")
            user = authz[2:].replace(b"=2C", b",").replace(b"=3D", b"=")
        else:
            rest = msg
            user = None
        pairs = {}
        for kv in rest[:-2].split(b"\x01"):
            if kv == b"":
                continue
            k, sep, v = kv.partition(b"=")
            if not sep:
                raise ValueError("key without value")
            pairs[k.decode("ascii")] = v
        if user is None:
            user = pairs.get("user")
        auth = pairs.get("auth", b"")
        if user is None or not auth.startswith(b"Bearer "):
            raise ValueError("no user or auth=Bearer")
        return user.decode("utf-8"), auth[7:].decode("ascii")

    async def _bearer(self, mech, words):
        """OAUTHBEARER / XOAUTH2 against the tokens of --oauth-tokens
        (after _auth's checks of EHLO, TLS and the argument count)."""
        st = self.state
        info = {"mech": mech, "token_len": None}
        if len(words) == 2:
            try:
                msg = base64.b64decode(words[1], validate=True)
            except binascii.Error:
                msg = None
        else:
            msg = await self.challenge_auth(b"")
            if msg is MISSING:
                st.event(self.conn_id, "auth", result="aborted", **info)
                return
        reason = None
        try:
            if msg is None:
                raise ValueError("base64")
            user, token = self.bearer_parse(mech, msg)
            info["token_len"] = len(token)
            if st.user is None or user != st.user:
                reason = "unknown-user"
            elif not st.bearer_valid(token):
                reason = "bad-token"
        except (ValueError, UnicodeDecodeError):
            reason = "parse"
        if reason is None:
            self.session.authenticated = True
            self.session.auth_data = st.user
            self.auth_mech = mech
            st.event(self.conn_id, "auth", result="ok", reason=None, **info)
            return await self.push("235 2.7.0 Authentication successful")
        if reason != "parse":
            # RFC 7628 3.2.2: the error as a challenge, then 535
            answer = await self.challenge_auth(
                json.dumps(BEARER_ERROR).encode())
            if answer is MISSING:
                st.event(self.conn_id, "auth", result="aborted",
                         reason=reason, **info)
                return
            info["dummy"] = answer == (b"\x01" if mech == "OAUTHBEARER"
                                       else b"")
        st.event(self.conn_id, "auth", result="fail", reason=reason, **info)
        return await self.push("535 5.7.8 Authentication credentials "
                               "invalid")

    def _channel_binding(self, cbname):
        """This connection's channel binding data of type cbname, or None."""
        obj = self.ssl_object()
        if obj is None:
            return None
        if cbname == "tls-unique":
            # not defined for TLS 1.3 (RFC 9266)
            if obj.version() not in ("TLSv1", "TLSv1.1", "TLSv1.2"):
                return None
            return obj.get_channel_binding("tls-unique")
        if cbname == "tls-exporter":
            if obj.version() != "TLSv1.3":
                return None
            return tls_exporter(obj)
        return None

    async def _scram(self, mech, initial, info):
        """One SCRAM exchange (RFC 5802).  True: authenticated; False: the
        client cancelled (already answered); ScramFail: refused."""
        st = self.state
        hname = SCRAM_MECHS[mech]
        plus = mech.endswith("-PLUS")
        if initial is None:
            first = await self.challenge_auth(b"")
            if first is MISSING:
                return False
        elif initial == "=":
            first = b""
        else:
            try:
                first = base64.b64decode(initial, validate=True)
            except binascii.Error:
                raise ScramFail("parse")
        # client-first-message = gs2-header client-first-message-bare
        try:
            cbflag, authzid, bare = first.split(b",", 2)
            gs2_header = first[:len(cbflag) + len(authzid) + 2]
            cbflag = cbflag.decode("ascii")
            attrs = scram_parse(bare)
            if attrs[0][0] == "m":
                raise ValueError("mandatory extension")
            user = scram_unescape(dict(attrs)["n"])
            cnonce = dict(attrs)["r"]
        except (ValueError, KeyError, IndexError, UnicodeDecodeError):
            raise ScramFail("parse")
        info["cbflag"] = cbflag[:1]
        if cbflag.startswith("p="):
            info["cbname"] = cbflag[2:]
        elif cbflag not in ("n", "y"):
            raise ScramFail("parse")
        if plus and not cbflag.startswith("p="):
            raise ScramFail("cb-required")
        if not plus and cbflag.startswith("p="):
            raise ScramFail("cb-not-supported")
        if cbflag == "y" and any(m.endswith("-PLUS")
                                 for m in (self.offered_mechs or ())):
            raise ScramFail("downgrade")
        cb_data = b""
        if plus:
            cb_data = self._channel_binding(info["cbname"])
            if cb_data is None:
                raise ScramFail("cb-not-supported")
            if st.ctl_exists("scram-bad-cbind"):
                cb_data = bytes(b ^ 0xFF for b in cb_data)
        salt = os.urandom(16)
        iters = 4096
        nonce = cnonce + base64.b64encode(os.urandom(18)).decode()
        server_first = ("r=%s,s=%s,i=%d" % (
            nonce, base64.b64encode(salt).decode(), iters)).encode()
        final = await self.challenge_auth(server_first)
        if final is MISSING:
            return False
        # client-final-message = without-proof ",p=" proof
        try:
            cut = final.rindex(b",p=")
            without_proof = final[:cut]
            proof = base64.b64decode(final[cut + 3:], validate=True)
            fattrs = dict(scram_parse(without_proof))
            cbind = base64.b64decode(fattrs["c"], validate=True)
            fnonce = fattrs["r"]
        except (ValueError, KeyError, binascii.Error, UnicodeDecodeError):
            raise ScramFail("parse")
        if fnonce != nonce:
            raise ScramFail("bad-nonce")
        if cbind != gs2_header + cb_data:
            raise ScramFail("channel-binding-mismatch")
        info["cb_verified"] = plus
        if st.user is None or user != st.user:
            raise ScramFail("unknown-user")
        salted = hashlib.pbkdf2_hmac(hname, st.password.encode(), salt, iters)
        client_key = _hmac(hname, salted, b"Client Key")
        stored_key = hashlib.new(hname, client_key).digest()
        auth_message = bare + b"," + server_first + b"," + without_proof
        client_sig = _hmac(hname, stored_key, auth_message)
        if len(proof) != len(client_sig) or not hmac.compare_digest(
                hashlib.new(hname, _xor(proof, client_sig)).digest(),
                stored_key):
            raise ScramFail("invalid-proof")
        server_key = _hmac(hname, salted, b"Server Key")
        server_sig = _hmac(hname, server_key, auth_message)
        if st.ctl_exists("scram-bad-signature"):
            server_sig = bytes(b ^ 0x01 for b in server_sig)
        last = await self.challenge_auth(b"v=" + base64.b64encode(server_sig))
        if last is MISSING:
            return False
        if last != b"":
            raise ScramFail("parse")
        return True

    DSN_PARAMS = {"MAIL": ("RET", "ENVID"), "RCPT": ("NOTIFY", "ORCPT")}

    async def _with_dsn(self, verb, method, arg):
        """Run MAIL/RCPT without its DSN parameters (which aiosmtpd does
        not know), then record them, as sent, if the command succeeded."""
        keys = self.DSN_PARAMS[verb]
        words = arg.split(" ")
        dsn = [w for w in words if w.split("=", 1)[0].upper() in keys]
        rest = " ".join(w for w in words if w not in dsn)
        env = self.envelope
        before = (env.mail_from, len(env.rcpt_tos))
        result = await method(rest)
        env = self.envelope
        if dsn and (env.mail_from, len(env.rcpt_tos)) != before:
            if verb == "MAIL":
                env.mail_options.extend(dsn)
            else:
                env.rcpt_options.extend(dsn)
        return result

    def _rcpt_address(self, arg):
        try:
            if not arg:
                return None
            rest = self._strip_command_keyword("TO:", arg)
            if rest is None:
                return None
            address, _ = self._getaddr(rest)
            return address or None
        except Exception:
            return None


def _send_alert_on_handshake_failure():
    """Make a failed server handshake end as an OpenSSL server's does.

    asyncio (3.11) closes the transport of a failed server handshake at
    once: the alert OpenSSL wrote (protocol_version, unknown_ca,
    certificate_required, ...) is dropped, and a client still writing its
    flight (or, in TLS 1.3, its first command) gets a reset instead.  Send
    the alert, half-close (FIN), discard whatever the client still sends and
    close 0.5 s later, so that the client reads the alert."""
    try:
        from asyncio import sslproto
        orig = sslproto.SSLProtocol._on_handshake_complete
        unwrapped = sslproto.SSLProtocolState.UNWRAPPED
    except (ImportError, AttributeError):
        return

    def on_handshake_complete(self, handshake_exc):
        transport = self._transport
        if handshake_exc is None or transport is None:
            return orig(self, handshake_exc)
        try:
            if self._handshake_timeout_handle is not None:
                self._handshake_timeout_handle.cancel()
                self._handshake_timeout_handle = None
            self._process_outgoing()  # the alert
            self._set_state(unwrapped)  # from now on input is discarded
            transport.write_eof()
            self._loop.call_later(0.5, transport.close)
        except Exception:
            return orig(self, handshake_exc)
        print("smtpd: TLS handshake failed: %r" % (handshake_exc,),
              file=sys.stderr)
        self._wakeup_waiter(handshake_exc)

    sslproto.SSLProtocol._on_handshake_complete = on_handshake_complete


def tls_context(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    with warnings.catch_warnings():  # TLS 1.0 and 1.1 are deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        if args.tls_min:
            ctx.minimum_version = TLS_VERSIONS[args.tls_min]
        if args.tls_max:
            ctx.maximum_version = TLS_VERSIONS[args.tls_max]
    if args.tls_min in ("1.0", "1.1") or args.tls_max in ("1.0", "1.1"):
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if args.curve:  # the only key exchange group (TLS 1.3 too)
        ctx.set_ecdh_curve(args.curve)
    if args.client_ca:
        ctx.load_verify_locations(cafile=args.client_ca)
        ctx.verify_mode = (ssl.CERT_OPTIONAL if args.client_cert_optional
                           else ssl.CERT_REQUIRED)

    def sni(obj, name, _ctx):
        try:
            obj.envoi_sni = name  # read back by TestSMTP._note_tls
        except AttributeError:
            pass
        return None

    ctx.sni_callback = sni
    return ctx


def parse_args(argv):
    p = argparse.ArgumentParser(description="SMTP test server for envoi")
    p.add_argument("--dir", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--user")
    p.add_argument("--password", default="")
    p.add_argument("--plain", action="store_true")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--tls-min", choices=sorted(TLS_VERSIONS))
    p.add_argument("--tls-max", choices=sorted(TLS_VERSIONS))
    p.add_argument("--curve")
    p.add_argument("--client-ca")
    p.add_argument("--client-cert-optional", action="store_true")
    p.add_argument("--oauth-tokens")
    p.add_argument("--lifetime", type=float, default=900.0)
    p.add_argument("--debug", action="store_true")
    args = p.parse_args(argv)
    if not (args.plain or args.starttls or args.tls):
        args.plain = args.starttls = args.tls = True
    if (args.starttls or args.tls) and not (args.cert and args.key):
        p.error("--starttls and --tls need --cert and --key")
    return args


async def serve(args):
    state = State(args)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def on_loop_error(loop, context):
        # e.g. a client aborting a TLS handshake: note it, never die of it
        exc = context.get("exception")
        print("smtpd: %s %r" % (context.get("message"), exc), file=sys.stderr)

    loop.set_exception_handler(on_loop_error)

    _send_alert_on_handshake_failure()
    ctx = tls_context(args) if (args.starttls or args.tls) else None
    common = dict(hostname=HOSTNAME, ident=IDENT, timeout=60,
                  data_size_limit=64 * 1024 * 1024, auth_required=False,
                  authenticator=state.authenticate, loop=loop)
    factories = {
        "plain": lambda: TestSMTP(state, "plain", auth_require_tls=False,
                                  **common),
        "starttls": lambda: TestSMTP(state, "starttls", tls_context=ctx,
                                     auth_require_tls=True, **common),
        "tls": lambda: TestSMTP(state, "tls", auth_require_tls=False,
                                **common),
    }

    for name in LISTENERS + ("pid",):
        path = os.path.join(args.dir, name if name == "pid" else "port." + name)
        if os.path.exists(path):
            os.unlink(path)

    servers = []
    for name in LISTENERS:
        if not getattr(args, name):
            continue
        srv = await loop.create_server(
            factories[name], host=args.host, port=0,
            ssl=ctx if name == "tls" else None, reuse_address=True)
        servers.append(srv)
        port = srv.sockets[0].getsockname()[1]
        write_atomic(os.path.join(args.dir, "port." + name),
                     ("%d\n" % port).encode())
    write_atomic(os.path.join(args.dir, "pid"), ("%d\n" % os.getpid()).encode())

    parent = os.getppid()

    async def watchdog():
        deadline = loop.time() + args.lifetime
        while not stop.is_set():
            if os.getppid() != parent or loop.time() > deadline:
                stop.set()
                break
            await asyncio.sleep(0.5)

    dog = asyncio.ensure_future(watchdog())
    await stop.wait()
    dog.cancel()
    for srv in servers:
        srv.close()
    try:
        os.unlink(os.path.join(args.dir, "pid"))
    except OSError:
        pass
    state.transcript.close()


def main(argv):
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr,
                        level=logging.DEBUG if args.debug else logging.ERROR)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
