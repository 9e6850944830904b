#!/usr/bin/python3
"""SMTP test server for envoi's test suite, built on aiosmtpd.

Usage:
  /usr/bin/python3 smtpd.py --dir DIR --cert CERT --key KEY [--host 127.0.0.1]
        [--user U --password P] [--plain] [--starttls] [--tls]
        [--lifetime SECONDS] [--debug]

Listeners (all on --host, port 0 so the kernel picks a free port; if none of
the three flags is given, all three are started):
  --plain     no TLS at all; AUTH (if --user) is offered in plaintext, so tests
              can check that the client refuses PLAIN/LOGIN over it
  --starttls  offers STARTTLS; AUTH is offered only once TLS is active
  --tls       implicit TLS from the first byte; AUTH is offered

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

Authentication: with --user/--password, AUTH PLAIN and LOGIN are offered and
MAIL is refused with "530 5.7.0 Authentication required" on every listener
until the client authenticated, unless control/no-auth or
control/auth-optional exists.  Without --user, AUTH is never offered.

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

The server exits cleanly on SIGTERM or SIGINT, when its parent process goes
away, or after --lifetime seconds (default 900), so it can never be left
running by a test suite.
"""

import argparse
import asyncio
import functools
import json
import logging
import os
import re
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword, TLSSetupException

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
        self.conn_seq = 0
        self.msg_seq = 0
        for name in os.listdir(self.mail_dir):
            stem = name.split(".", 1)[0]
            if stem.isdigit():
                self.msg_seq = max(self.msg_seq, int(stem))
        self.transcript = open(
            os.path.join(args.dir, "transcript.log"), "a", buffering=1,
            encoding="utf-8", errors="backslashreplace")

    def log(self, conn, text):
        try:
            self.transcript.write("%d %s\n" % (conn, text))
        except Exception as e:  # never let logging break a session
            print("smtpd: transcript: %s" % e, file=sys.stderr)

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

    def record(self, conn, envelope, session, listener, tls):
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
                        server.tls_active)
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
        self.state = state
        self.listener = listener
        self.conn_id = 0
        self.in_data = False
        self.greeted = False
        self.bad_greeting = False
        self.implicit_tls = listener == "tls"
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
        else:
            self.state.conn_seq += 1
            self.conn_id = self.state.conn_seq
            self.state.log(self.conn_id, "CONNECT " + self.listener)
            if self.implicit_tls:
                self.state.log(self.conn_id, "TLS")

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
            if (verb == "MAIL" and st.auth_required()
                    and not self.session.authenticated):
                return await self.push("530 5.7.0 Authentication required")
            if verb == "STARTTLS":
                try:
                    return await method(arg)
                except TLSSetupException:
                    st.log(self.conn_id, "TLS-FAILED")
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


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
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

    ctx = tls_context(args.cert, args.key) if (args.starttls or args.tls) else None
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
