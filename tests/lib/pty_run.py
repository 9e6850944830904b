#!/usr/bin/python3
"""Run a command on a new pseudo-terminal (its controlling terminal) and
answer its prompts, as a person at a terminal would.

    pty_run.py [--stdin FILE] [--expect TEXT] [--answer TEXT]... [--signal SIG]
               [--background] [--log FILE] [--timeout S] -- CMD ARGS...

The command runs as a shell runs a job: in a process group of its own,
in the terminal's foreground unless --background.  Its stdin is FILE
(default /dev/null; "tty": the terminal); stdout and stderr are the
terminal.  When TEXT (default "password") shows up on the terminal, the
script notes whether echo is off, then types the first ANSWER and a
newline, or sends SIG (INT, TERM, TSTP...) to the command; after a TSTP
it waits until the command has stopped, sends CONT and waits for the
prompt again.  Each further ANSWER waits for TEXT to show up once more.
Everything the terminal showed goes to --log.
Prints, one per line:

    prompted 0|1        TEXT appeared
    echo_at_prompt 0|1  the terminal echoed input while the prompt waited
    echo_after 0|1      echo was on again once the command ended
    stopped 0|1         after TSTP, the command stopped (-1: not sent)
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


def job_control(a, info_w):
    """In the session leader: run the command as a shell runs a job, in a
    process group of its own in the terminal's foreground, whose parent
    (this process) is in the same session; so the group is not orphaned
    and a stop signal stops it.  Pass its pid on, then wait and exit as
    it did."""
    go_r, go_w = os.pipe()
    job = os.fork()
    if job == 0:
        os.close(go_w)
        os.setpgid(0, 0)
        os.read(go_r, 1)  # until it has the terminal
        # A job starts with the default dispositions, whatever ignored
        # what above us (Python ignores SIGPIPE; a shell's background
        # jobs ignore SIGINT and SIGQUIT).
        for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM,
                    signal.SIGHUP, signal.SIGTSTP, signal.SIGTTIN,
                    signal.SIGTTOU, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        if a.stdin != "tty":
            stdin = os.open(a.stdin, os.O_RDONLY)
            os.dup2(stdin, 0)
            os.close(stdin)
        try:
            os.execvp(a.cmd[0], a.cmd)
        finally:
            os._exit(127)
    os.setpgid(job, job)
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    if not a.background:
        os.tcsetpgrp(0, job)
    os.write(go_w, b"x")
    os.write(info_w, str(job).encode())
    os.close(info_w)
    while True:
        _, st = os.waitpid(job, os.WUNTRACED)
        if os.WIFSTOPPED(st):
            continue  # the test continues it
        if os.WIFSIGNALED(st):
            signal.signal(os.WTERMSIG(st), signal.SIG_DFL)
            os.kill(os.getpid(), os.WTERMSIG(st))
        os._exit(os.WEXITSTATUS(st))


def is_stopped(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "T"
    except OSError:
        return False


def echo_on(fd):
    return 1 if termios.tcgetattr(fd)[3] & termios.ECHO else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stdin", default="/dev/null")
    ap.add_argument("--expect", default="password")
    ap.add_argument("--answer", action="append", default=[])
    ap.add_argument("--signal")
    ap.add_argument("--background", action="store_true")
    ap.add_argument("--log", default="/dev/null")
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()

    info_r, info_w = os.pipe()
    pid, fd = pty.fork()
    if pid == 0:
        os.close(info_r)
        job_control(a, info_w)
    os.close(info_w)
    job = int(os.read(info_r, 32).decode() or pid)
    os.close(info_r)

    deadline = time.monotonic() + a.timeout
    buf = bytearray()
    prompted = read_until(fd, buf, a.expect, deadline)
    echo_at_prompt = -1
    seen = 1
    stopped = -1
    if prompted:
        echo_at_prompt = echo_on(fd)  # off before the prompt is written
        if a.signal:
            sig = getattr(signal, "SIG" + a.signal)
            os.kill(job, sig)
            if sig == signal.SIGTSTP:
                # Continue it once it has stopped.
                stopped = 0
                while time.monotonic() < deadline and not stopped:
                    stopped = 1 if is_stopped(job) else 0
                    time.sleep(0.05)
                os.kill(job, signal.SIGCONT)
                seen += 1
                read_until(fd, buf, a.expect, deadline, seen)
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
            os.kill(job, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status = -1
    # What it wrote just before it ended may still wait in the terminal.
    while select.select([fd], [], [], 0.2)[0]:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        buf.extend(data)
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
    print("stopped %d" % stopped)
    print("status %s" % code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
