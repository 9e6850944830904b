#!/usr/bin/python3
"""The floor for a big message: the least an SMTP client can do to move a
file into a server, for bench/bigmsg.sh.

usage: floor.py --port N --file F [--starttls --cafile CA --user U --password P]
                [--report FILE]

The file must already be what goes on the wire between DATA and the
final dot: CRLF line ends, dot-stuffed, ending with CRLF.  The script
connects to 127.0.0.1:N, says EHLO (and, with --starttls, STARTTLS, EHLO
again and AUTH PLAIN), MAIL, RCPT, DATA, then moves the file: in the
clear with socket.sendfile() (the kernel's sendfile(2): no copy through
user space), under TLS with sendall() of 256 KiB blocks read from the file
(Python's ssl module, OpenSSL).  Then ".", QUIT.  Any reply other than the
expected one is an error (exit status 1).

With --report, the seconds from connect() to the reply to QUIT are written
to FILE: bench/timing.py (report=FILE) takes that as the run's time, so
the floor does not include the start-up of the Python interpreter.
"""

import argparse
import base64
import socket
import ssl
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--file", required=True)
    ap.add_argument("--starttls", action="store_true")
    ap.add_argument("--cafile")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--report")
    a = ap.parse_args()

    t0 = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", a.port), timeout=120)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rf = sock.makefile("rb")

    def reply(code):
        while True:
            line = rf.readline()
            if not line:
                sys.exit("floor.py: connection closed")
            if line[3:4] != b"-":
                break
        if not line.startswith(code):
            sys.exit("floor.py: expected %s, got %r" % (code.decode(), line))

    def cmd(line, code):
        sock.sendall(line + b"\r\n")
        reply(code)

    reply(b"220")
    cmd(b"EHLO floor", b"250")
    if a.starttls:
        cmd(b"STARTTLS", b"220")
        ctx = ssl.create_default_context(cafile=a.cafile)
        rf.close()
        sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        rf = sock.makefile("rb")
        cmd(b"EHLO floor", b"250")
        tok = base64.b64encode(b"\0" + a.user.encode() + b"\0" + a.password.encode())
        cmd(b"AUTH PLAIN " + tok, b"235")
    cmd(b"MAIL FROM:<bench@example.org>", b"250")
    cmd(b"RCPT TO:<rcpt@example.net>", b"250")
    cmd(b"DATA", b"354")
    with open(a.file, "rb") as f:
        if a.starttls:
            while True:
                block = f.read(262144)
                if not block:
                    break
                sock.sendall(block)
        else:
            sock.sendfile(f)
    cmd(b".", b"250")
    cmd(b"QUIT", b"221")
    t1 = time.perf_counter()
    sock.close()
    if a.report:
        with open(a.report, "w") as f:
            f.write("%.9f\n" % (t1 - t0))


if __name__ == "__main__":
    main()
