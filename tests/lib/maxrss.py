#!/usr/bin/python3
"""Run a command and report its peak resident set size.

Usage: maxrss.py (--out FILE | --fd N) [--] COMMAND [ARG...]

The command inherits stdin, stdout and stderr unchanged (so a message piped
into this script reaches the command directly).  When it ends, its peak RSS
in kilobytes is written as one decimal line to FILE or to the already open
file descriptor N, and this script exits with the command's exit status
(128+signal if it was killed by a signal, 127 if it could not be started).

Why not simply resource.getrusage(RUSAGE_CHILDREN).ru_maxrss: Linux folds
the RSS of the memory image a process had *before* execve into its
ru_maxrss, and a child forked (or vforked) from this Python process starts
out with Python's ~10 MB image, so even /bin/true would appear to use
~10 MB.  Instead the command runs under ptrace with PTRACE_O_TRACEEXIT: at
the exit stop, just before the kernel tears the process's memory down, its
VmHWM (the high-water mark of the image it exec'd) is read from
/proc/PID/status.

Every process of the command's tree is measured the same way (forks,
vforks and clones are followed, PTRACE_O_TRACEFORK and friends), and the
largest VmHWM of them is reported: envoi composes a message in a forked
child, which must count.  A forked child's VmHWM includes the pages it
shares with its parent; one that execs starts a new image and a new
high-water mark (so a passwordeval shell counts as its shell's size).
The script waits until every traced process has ended.  If ptrace is not
permitted, the getrusage figure is reported instead (an over-estimate)
with a warning.
"""

import argparse
import ctypes
import ctypes.util
import os
import resource
import signal
import sys

PTRACE_TRACEME = 0
PTRACE_CONT = 7
PTRACE_SETOPTIONS = 0x4200
PTRACE_O_TRACEFORK = 0x02
PTRACE_O_TRACEVFORK = 0x04
PTRACE_O_TRACECLONE = 0x08
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACEEXIT = 0x40
PTRACE_O_EXITKILL = 0x100000
PTRACE_EVENT_FORK = 1
PTRACE_EVENT_VFORK = 2
PTRACE_EVENT_CLONE = 3
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_EXIT = 6
WALL = 0x40000000  # __WALL: wait for clones (threads) too

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                        ctypes.c_void_p]


def ptrace(req, pid, data=0):
    return libc.ptrace(req, pid, None, ctypes.c_void_p(data))


def vm_hwm_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def run(cmd):
    """Run cmd traced; return (exit status, peak RSS KB or None).

    The peak is the largest VmHWM of any process of the tree."""
    pid = os.fork()
    if pid == 0:
        try:
            ptrace(PTRACE_TRACEME, 0)  # failure: runs untraced, see below
            os.execvp(cmd[0], cmd)
        except OSError as e:
            os.write(2, ("maxrss.py: %s: %s\n" % (cmd[0], e.strerror)).encode())
        os._exit(127)

    # Keep our own terminal signals from killing us before the child.
    for sig in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)

    peak = None
    rc = None
    options_set = False
    known = {pid}  # traced processes seen so far (new ones start stopped)
    while True:
        try:
            wpid, status = os.waitpid(-1, WALL)
        except ChildProcessError:
            break  # no traced process left
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            known.discard(wpid)
            if wpid == pid:
                rc = (os.WEXITSTATUS(status) if os.WIFEXITED(status)
                      else 128 + os.WTERMSIG(status))
                if not options_set:
                    break  # never traced: nothing else to wait for
            continue
        if not os.WIFSTOPPED(status):
            continue
        sig = os.WSTOPSIG(status)
        event = status >> 16
        deliver = 0
        if wpid not in known:
            # the first stop of a new process of the tree (SIGSTOP)
            known.add(wpid)
            if sig != signal.SIGSTOP:
                deliver = sig
        elif wpid == pid and not options_set and sig == signal.SIGTRAP \
                and event == 0:
            # the stop after the initial execve
            ptrace(PTRACE_SETOPTIONS, pid,
                   PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC |
                   PTRACE_O_EXITKILL | PTRACE_O_TRACEFORK |
                   PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE)
            options_set = True
        elif sig == signal.SIGTRAP and event == PTRACE_EVENT_EXIT:
            kb = vm_hwm_kb(wpid)
            if kb is not None and (peak is None or kb > peak):
                peak = kb
        elif sig == signal.SIGTRAP and event in (
                PTRACE_EVENT_EXEC, PTRACE_EVENT_FORK, PTRACE_EVENT_VFORK,
                PTRACE_EVENT_CLONE):
            pass
        else:
            deliver = sig  # an ordinary signal: pass it on
        ptrace(PTRACE_CONT, wpid, deliver)
    return (rc if rc is not None else 127), peak


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="FILE")
    where.add_argument("--fd", metavar="N", type=int)
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    cmd = args.command
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        p.error("no command given")

    rc, kb = run(cmd)
    if kb is None and rc != 127:
        kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print("maxrss.py: warning: ptrace unavailable, reporting ru_maxrss "
              "(includes the pre-exec image)", file=sys.stderr)
    line = "%d\n" % (kb or 0)
    if args.out is not None:
        with open(args.out, "w") as f:
            f.write(line)
    else:
        os.write(args.fd, line.encode())
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
