#!/usr/bin/python3
"""Run a command on a new pseudo-terminal (its controlling terminal) and
answer one prompt, as a person at a terminal would.

    pty_run.py [--stdin FILE] [--expect TEXT] [--answer TEXT]... [--signal SIG]
               [--log FILE] [--timeout S] -- CMD ARGS...

The command's stdin is FILE (default /dev/null; "tty": the terminal);
stdout and stderr are the terminal.  When TEXT (default "password") shows up on the terminal, the
script notes whether echo is off, then types the first ANSWER and a
newline, or sends SIG (INT, TERM, TSTP...) to the command; after a TSTP it
sends CONT and waits for the prompt again.  Each further ANSWER waits for
TEXT to show up once more.  Everything the terminal showed goes to --log.
Prints, one per line:

    prompted 0|1        TEXT appeared
    echo_at_prompt 0|1  the terminal echoed input while the prompt waited
    echo_after 0|1      echo was on again once the command ended
    status N            exit status, or -SIGNAL when a signal ended it
"""

import argparse
import os
import pty
import select
import signal
import sys
import termios
import time


def read_until(fd, buf, text, deadline, times=1):
    """Read from fd into buf until text is in it times times (True), or
    EOF or the deadline (False)."""
    while buf.count(text.encode()) < times:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        buf.extend(data)
    return True


def echo_on(fd):
    return 1 if termios.tcgetattr(fd)[3] & termios.ECHO else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stdin", default="/dev/null")
    ap.add_argument("--expect", default="password")
    ap.add_argument("--answer", action="append", default=[])
    ap.add_argument("--signal")
    ap.add_argument("--log", default="/dev/null")
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()

    pid, fd = pty.fork()
    if pid == 0:
        if a.stdin != "tty":
            stdin = os.open(a.stdin, os.O_RDONLY)
            os.dup2(stdin, 0)
            os.close(stdin)
        try:
            os.execvp(a.cmd[0], a.cmd)
        finally:
            os._exit(127)

    deadline = time.monotonic() + a.timeout
    buf = bytearray()
    prompted = read_until(fd, buf, a.expect, deadline)
    echo_at_prompt = -1
    seen = 1
    if prompted:
        time.sleep(0.2)  # let the prompt switch echo off after writing
        echo_at_prompt = echo_on(fd)
        if a.signal:
            sig = getattr(signal, "SIG" + a.signal)
            os.kill(pid, sig)
            if sig == signal.SIGTSTP:
                time.sleep(0.3)
                os.kill(pid, signal.SIGCONT)
                seen += 1
                read_until(fd, buf, a.expect, deadline, seen)
                time.sleep(0.2)
        for i, answer in enumerate(a.answer):
            if i > 0:
                seen += 1
                if not read_until(fd, buf, a.expect, deadline, seen):
                    break
                time.sleep(0.2)
            os.write(fd, answer.encode() + b"\n")
    # The rest of the output, until the command ends.
    status = None
    while status is None:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 4096)
                buf.extend(data)
            except OSError:
                data = b""
        wpid, wst = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            status = wst
        elif time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status = -1
    try:
        after = echo_on(fd)
    except termios.error:
        after = -1
    with open(a.log, "wb") as f:
        f.write(bytes(buf))
    if status == -1:
        code = "timeout"
    elif os.WIFSIGNALED(status):
        code = -os.WTERMSIG(status)
    else:
        code = os.WEXITSTATUS(status)
    print("prompted %d" % (1 if prompted else 0))
    print("echo_at_prompt %d" % echo_at_prompt)
    print("echo_after %d" % after)
    print("status %s" % code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
