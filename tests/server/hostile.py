#!/usr/bin/python3
"""A scripted hostile SMTP server for envoi's tests (tests/hostile.bats).

Usage:
  /usr/bin/python3 hostile.py --dir DIR --cert CERT --key KEY
        [--scenario NAME] [--list]

One plain listener on 127.0.0.1, port 0 (the kernel picks a free port).  It
speaks just enough SMTP to carry a message -- greeting, EHLO/HELO, STARTTLS
(with CERT/KEY), AUTH PLAIN (any credentials, offered under TLS only), MAIL,
RCPT, DATA, RSET, NOOP, QUIT -- and misbehaves at the step its scenario
names.  The scenario is read from DIR/control/scenario when a connection is
accepted (so one server serves a whole test file and each test picks its
own), else --scenario, else "normal".  --list prints the scenario names.

Steps a scenario can take over: greeting, EHLO, HELO, STARTTLS, AUTH, MAIL,
RCPT, DATA, body (once the first line of the message has been read) and
dot (once the final "." has been read).  What it can do there, for
example: send a reply as given (bytes, possibly malformed), send a reply
one byte at a time, send a line of 1 MB without CRLF, send "250-" lines
forever, say nothing, reset the connection (SO_LINGER 0, then close, so the
kernel sends RST), or break TLS.

Files in DIR (the conventions of tests/server/smtpd.py and
tests/lib/common.bash):
  port.plain       the bound port
  pid              this process's PID, written after the port file (both
                   written to a temporary name, then renamed)
  transcript.log   "N CONNECT plain", "N TLS", then one line per line the
                   client sent ("N EHLO foo"), with control characters as
                   \\xNN; the message itself is not logged
  mail/NNNN.eml    each accepted message, raw, after dot-unstuffing
  mail/NNNN.json   {"mail_from", "rcpt_tos", "tls", "connection"}, written
                   after the .eml

Every connection runs in its own thread with a 30 s socket timeout, so
nothing the client does (or does not do) keeps a thread forever.  SIGTERM
ends the server at once.
"""

import argparse
import json
import os
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time

HOSTNAME = b"hostile.test"
LONG_LINE = 1024 * 1024     # bytes of a reply line without CRLF
ENDLESS_MAX = 10 ** 6       # "250-" lines before giving up on a client
CONN_TIMEOUT = 30           # seconds any one socket operation may block


class Stop(Exception):
    """The scenario has ended the connection."""


# ---------------------------------------------------------------------------
# actions: what a scenario does in place of a step's normal reply


def send(data):
    def act(c):
        c.send(data)
    return act


def slow(data, delay):
    """data one byte at a time, delay seconds apart."""
    def act(c):
        for i in range(len(data)):
            c.send(data[i:i + 1])
            time.sleep(delay)
        raise Stop
    return act


def slow_endless(delay):
    """A multi-line reply that never ends, one byte at a time."""
    def act(c):
        line = b"250-slowly\r\n"
        while True:
            for i in range(len(line)):
                c.send(line[i:i + 1])
                time.sleep(delay)
    return act


def long_line(code):
    def act(c):
        c.send(code + b" " + b"x" * LONG_LINE)
        c.wait_close()
    return act


def endless(code):
    def act(c):
        c.send(code + b"-" + HOSTNAME + b"\r\n")
        for i in range(ENDLESS_MAX):
            c.send(code + b"-X-ENDLESS-%d\r\n" % i)
        raise Stop
    return act


def silent(c):
    c.wait_close()


def reset(c):
    """RST: SO_LINGER with a zero timeout, then close."""
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      struct.pack("ii", 1, 0))
    c.sock.close()
    raise Stop


def reset_later(c):
    """RST a moment after accepting: a reset at once can reach the
    client while it is still connecting, which would test connect."""
    time.sleep(0.2)
    reset(c)


def tls_garbage(c):
    """A TLS alert record (fatal, internal_error) in clear, on the socket
    under TLS, which the client cannot decrypt; then a clean TCP close."""
    if not c.tls:
        raise Stop
    os.write(c.sock.fileno(), b"\x15\x03\x03\x00\x02\x02\x50")
    c.drain_close()


def tls_alert(c):
    """A real fatal alert from the server's TLS library: a few bytes of
    the client's next record are taken off the socket behind its back, so
    that the record layer reads garbage, fails, and says so to the client
    (bad_record_mac or the like); then a clean TCP close."""
    if not c.tls:
        raise Stop
    fd = c.sock.fileno()
    if select.select([fd], [], [], CONN_TIMEOUT)[0]:
        os.read(fd, 7)
    try:
        while c.sock.recv(65536):
            pass
    except (OSError, ssl.SSLError):
        pass
    c.drain_close()


def tls_close(c):
    """close_notify (the TLS alert that ends a session), then close."""
    if not c.tls:
        raise Stop
    try:
        c.sock.settimeout(1)
        c.sock.unwrap()
    except (OSError, ValueError):
        pass
    c.drain_close()


SCENARIOS = {
    "normal": {},
    # replies longer than any sane limit, or never ending
    "long-greeting": {"greeting": long_line(b"220")},
    "long-ehlo": {"EHLO": long_line(b"250")},
    "endless-ehlo": {"EHLO": endless(b"250")},
    # bytes that do not belong in a reply
    "nul-8bit": {
        "greeting": send(b"220 " + HOSTNAME + b" \x00\xff\xfe ESMTP "
                         b"\xc3\xa9t\xc3\xa9\r\n"),
        "EHLO": send(b"250-" + HOSTNAME + b" \x00\x80\r\n250-8BITMIME\r\n"
                     b"250 X-\x00\xff\r\n"),
        "MAIL": send(b"550 5.7.1 go away\x00\x1b[2J\x07\xff\xfe\r\x1b]0;"
                     b"pwned\x07 now\r\n"),
    },
    # codes that are not SMTP codes
    "code-25O": {"greeting": send(b"25O " + HOSTNAME + b" ESMTP\r\n")},
    "code-099": {"EHLO": send(b"099 " + HOSTNAME + b"\r\n")},
    "code-600": {"MAIL": send(b"600 sure\r\n")},
    "code-mismatch": {"EHLO": send(b"250-" + HOSTNAME + b"\r\n"
                                   b"251-8BITMIME\r\n250 SIZE 1000\r\n")},
    # slowloris: every byte comes in time, the reply never does
    "slow-greeting": {"greeting": slow(b"220 " + HOSTNAME + b" ESMTP "
                                       b"one byte at a time\r\n", 0.2)},
    "slow-ehlo": {"EHLO": slow_endless(0.05)},
    # a greeting that never comes
    "silent": {"greeting": silent},
    # an old server
    "ehlo-500": {"EHLO": send(b"500 5.5.1 what is EHLO?\r\n")},
    # TLS broken in the middle of the message
    "tls-alert-body": {"body": tls_alert},
    "tls-garbage-body": {"body": tls_garbage},
    "tls-close-body": {"body": tls_close},
    # the STARTTLS command injection, seen from the client
    "starttls-inject": {"STARTTLS": send(b"220 2.0.0 go ahead\r\n"
                                         b"250-" + HOSTNAME + b"\r\n"
                                         b"250 AUTH PLAIN\r\n")},
    # AUTH that never ends
    "auth-endless": {"AUTH": lambda c: c.endless_challenges()},
}
SCENARIOS["reset-greeting"] = {"greeting": reset_later}
for _step in ("EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA",
              "body", "dot"):
    SCENARIOS["reset-" + _step] = {_step: reset}


# ---------------------------------------------------------------------------
# the server


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(data)
    os.rename(tmp, path)


def escape(raw):
    return "".join(chr(b) if 0x20 <= b < 0x7f else "\\x%02x" % b
                   for b in raw)


class State:
    def __init__(self, args):
        self.dir = args.dir
        self.default = args.scenario
        self.lock = threading.Lock()
        self.nconn = 0
        self.nmail = 0
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(args.cert, args.key)

    def log(self, n, text):
        with self.lock:
            with open(os.path.join(self.dir, "transcript.log"), "a") as f:
                f.write("%d %s\n" % (n, text))

    def scenario(self):
        try:
            with open(os.path.join(self.dir, "control", "scenario")) as f:
                name = f.read().strip()
        except OSError:
            name = self.default
        return SCENARIOS.get(name, {})

    def record(self, n, mail_from, rcpts, data, tls):
        with self.lock:
            self.nmail += 1
            base = os.path.join(self.dir, "mail", "%04d" % self.nmail)
        with open(base + ".eml", "wb") as f:
            f.write(data)
        write_atomic(base + ".json", json.dumps({
            "mail_from": mail_from, "rcpt_tos": rcpts, "tls": tls,
            "connection": n}))


class Conn:
    def __init__(self, state, sock, n):
        self.state = state
        self.sock = sock
        self.n = n
        self.buf = b""
        self.tls = False
        self.acts = state.scenario()

    def send(self, data):
        self.sock.sendall(data)

    def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > 65536:
                raise Stop
            data = self.sock.recv(65536)
            if not data:
                raise Stop
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def wait_close(self):
        """Read and drop whatever comes until the client goes away."""
        while self.sock.recv(65536):
            pass
        raise Stop

    def drain_close(self):
        """Half-close, read until the client closes: no RST."""
        try:
            socket.socket.shutdown(self.sock, socket.SHUT_WR)
            raw = socket.socket(fileno=os.dup(self.sock.fileno()))
            raw.settimeout(CONN_TIMEOUT)
            try:
                while raw.recv(65536):
                    pass
            finally:
                raw.close()
        except OSError:
            pass
        raise Stop

    def step(self, name, normal):
        """Run the scenario's action for step name, else normal()."""
        act = self.acts.get(name)
        if act is None:
            normal()
        else:
            act(self)

    def ehlo_reply(self):
        lines = [HOSTNAME, b"8BITMIME", b"SIZE 10000000"]
        lines.append(b"AUTH PLAIN" if self.tls else b"STARTTLS")
        return b"".join(b"250" + (b" " if i == len(lines) - 1 else b"-") +
                        l + b"\r\n" for i, l in enumerate(lines))

    def starttls(self):
        self.send(b"220 2.0.0 ready to start TLS\r\n")
        if self.buf:
            raise Stop  # the client did not wait for the reply
        self.sock = self.state.ctx.wrap_socket(self.sock, server_side=True)
        self.tls = True
        self.state.log(self.n, "TLS")

    def auth(self, line):
        if len(line.split()) < 3:
            self.send(b"334 \r\n")
            self.readline()
        self.send(b"235 2.7.0 ok\r\n")

    def endless_challenges(self):
        for _ in range(ENDLESS_MAX):
            self.send(b"334 \r\n")
            self.readline()
        raise Stop

    def data(self, mail_from, rcpts):
        self.send(b"354 go ahead\r\n")
        body = []
        while True:
            line = self.readline()
            if line in (b".\r\n", b".\n"):
                break
            if not body:
                self.step("body", lambda: None)
            body.append(line[1:] if line.startswith(b".") else line)
        self.step("dot", lambda: None)
        self.state.record(self.n, mail_from, rcpts, b"".join(body), self.tls)
        self.send(b"250 2.0.0 accepted\r\n")

    def run(self):
        self.state.log(self.n, "CONNECT plain")
        self.step("greeting",
                  lambda: self.send(b"220 " + HOSTNAME + b" ESMTP\r\n"))
        mail_from, rcpts = None, []
        while True:
            line = self.readline()
            self.state.log(self.n, escape(line.rstrip(b"\r\n")))
            words = line.split()
            verb = words[0].upper().decode("ascii", "replace") if words \
                else ""
            if verb == "EHLO":
                self.step("EHLO", lambda: self.send(self.ehlo_reply()))
            elif verb == "HELO":
                self.step("HELO",
                          lambda: self.send(b"250 " + HOSTNAME + b"\r\n"))
            elif verb == "STARTTLS" and not self.tls:
                self.step("STARTTLS", self.starttls)
            elif verb == "AUTH" and self.tls:
                self.step("AUTH", lambda: self.auth(line))
            elif verb == "MAIL":
                mail_from, rcpts = line[10:].strip().decode(), []
                self.step("MAIL", lambda: self.send(b"250 2.1.0 ok\r\n"))
            elif verb == "RCPT":
                rcpts.append(line[8:].strip().decode())
                self.step("RCPT", lambda: self.send(b"250 2.1.5 ok\r\n"))
            elif verb == "DATA":
                self.step("DATA", lambda: self.data(mail_from, rcpts))
            elif verb in ("RSET", "NOOP"):
                self.send(b"250 2.0.0 ok\r\n")
            elif verb == "QUIT":
                self.send(b"221 2.0.0 bye\r\n")
                raise Stop
            else:
                self.send(b"500 5.5.2 what?\r\n")


def handle(state, sock, n):
    sock.settimeout(CONN_TIMEOUT)
    c = Conn(state, sock, n)
    try:
        c.run()
    except (Stop, OSError, ssl.SSLError, ValueError):
        pass
    finally:
        try:
            c.sock.close()
        except OSError:
            pass


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--scenario", default="normal")
    p.add_argument("--list", action="store_true")
    args = p.parse_args(argv)
    if args.list:
        print("\n".join(sorted(SCENARIOS)))
        return 0
    if not (args.dir and args.cert and args.key):
        p.error("--dir, --cert and --key are required")
    if args.scenario not in SCENARIOS:
        p.error("unknown scenario '%s'" % args.scenario)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    state = State(args)
    os.makedirs(os.path.join(args.dir, "mail"), exist_ok=True)
    os.makedirs(os.path.join(args.dir, "control"), exist_ok=True)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    write_atomic(os.path.join(args.dir, "port.plain"),
                 "%d\n" % lsock.getsockname()[1])
    write_atomic(os.path.join(args.dir, "pid"), "%d\n" % os.getpid())
    while True:
        sock, _ = lsock.accept()
        with state.lock:
            state.nconn += 1
            n = state.nconn
        threading.Thread(target=handle, args=(state, sock, n),
                         daemon=True).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
