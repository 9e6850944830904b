"""A scripted SMTP client for envoi -bs, used by tests/bsmtp.bats.

It talks to a child process over its stdin/stdout the way a program that
runs "sendmail -bs" does (Symfony Mailer's SendmailTransport in -bs mode,
for one): read the 220 greeting, EHLO, MAIL FROM, RCPT TO, DATA, the
message dot-stuffed and ended with ".", QUIT, checking every reply code.

    import bsmtp_client as bc
    c = bc.Client(["envoi", "-C", cfg, "-bs"])
    c.expect(220)
    c.cmd("EHLO client.example", 250)
    ...
    c.quit()            # QUIT, 221, then the child's exit status must be 0

Any unexpected reply, a reply that does not arrive within TIMEOUT seconds,
or a child that does not exit raises Failure, whose message shows the
conversation so far; run() turns it into exit status 1 for bats.
"""

import os
import select
import subprocess
import sys
import time

TIMEOUT = float(os.environ.get("BSMTP_TIMEOUT", "20"))


class Failure(Exception):
    pass


class Client:
    def __init__(self, argv, env=None):
        self.log = []
        self.buf = b""
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=env)
        self.out = self.proc.stdout.fileno()

    # --- low level -------------------------------------------------------
    def fail(self, why):
        try:
            self.proc.kill()
        except OSError:
            pass
        err = b""
        try:
            err = self.proc.communicate(timeout=5)[1] or b""
        except Exception:
            pass
        raise Failure("%s\n--- conversation:\n%s\n--- envoi's stderr:\n%s" % (
            why, "\n".join(self.log), err.decode("utf-8", "replace")))

    def send(self, data):
        """Write bytes (or str) to envoi's stdin in one write."""
        if isinstance(data, str):
            data = data.encode()
        for line in data.split(b"\r\n")[:-1][:40]:
            self.log.append("C: " + line.decode("utf-8", "replace")[:200])
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.fail("envoi closed its input")

    def readline(self):
        deadline = time.monotonic() + TIMEOUT
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail("no reply within %g s" % TIMEOUT)
            r, _, _ = select.select([self.out], [], [], left)
            if not r:
                continue
            chunk = os.read(self.out, 65536)
            if not chunk:
                self.fail("envoi closed its output")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        if not line.endswith(b"\r"):
            self.fail("reply line without CRLF: %r" % line)
        text = line[:-1].decode("utf-8", "replace")
        self.log.append("S: " + text)
        return text

    def reply(self):
        """One whole reply: (code, [lines])."""
        lines = []
        while True:
            line = self.readline()
            if len(line) < 3 or not line[:3].isdigit() or (
                    len(line) > 3 and line[3] not in " -"):
                self.fail("malformed reply line %r" % line)
            if lines and line[:3] != lines[0][:3]:
                self.fail("reply code changed within a reply")
            lines.append(line)
            if len(line) == 3 or line[3] == " ":
                return int(line[:3]), lines

    def expect(self, want):
        """Read a reply; want is a code (250) or its first digit ("5")."""
        code, lines = self.reply()
        if isinstance(want, str):
            ok = str(code).startswith(want)
        else:
            ok = code == want
        if not ok:
            self.fail("expected %s, got %r" % (want, lines))
        return lines

    # --- SMTP ------------------------------------------------------------
    def cmd(self, line, want):
        self.send(line + "\r\n")
        return self.expect(want)

    @staticmethod
    def stuff(message):
        """Message bytes -> DATA payload: CRLF lines, leading dots doubled,
        ended with CRLF.CRLF."""
        if isinstance(message, str):
            message = message.encode()
        lines = message.replace(b"\r\n", b"\n").split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        out = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n"
                       for l in lines)
        return out + b".\r\n"

    def data(self, message, want=250):
        """DATA (354), the message, the final dot; the reply is checked."""
        self.cmd("DATA", 354)
        self.send(self.stuff(message))
        return self.expect(want)

    def greet(self, name="client.example"):
        self.expect(220)
        return self.cmd("EHLO " + name, 250)

    def mail(self, sender, rcpts, message, want=250):
        self.cmd("MAIL FROM:<%s>" % sender, 250)
        for r in rcpts:
            self.cmd("RCPT TO:<%s>" % r, 250)
        return self.data(message, want)

    def wait(self):
        """Close envoi's input and wait for it to exit."""
        try:
            _, err = self.proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("envoi did not exit")
        self.stderr = (err or b"").decode("utf-8", "replace")
        return self.proc.returncode

    def quit(self, status=0):
        self.cmd("QUIT", 221)
        rc = self.wait()
        if rc != status:
            self.fail("exit status %d, expected %d" % (rc, status))
        if self.buf:
            self.fail("output after 221: %r" % self.buf)


def ctl(name, content=""):
    """Create control file NAME of the test server ($SRVDIR/control)."""
    path = os.path.join(os.environ["SRVDIR"], "control", name)
    with open(path + ".tmp", "w") as f:
        f.write(content)
    os.rename(path + ".tmp", path)


def unctl(name):
    os.unlink(os.path.join(os.environ["SRVDIR"], "control", name))


def run(fn):
    try:
        fn()
    except Failure as e:
        print(e, file=sys.stderr)
        sys.exit(1)
