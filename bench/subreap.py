#!/usr/bin/python3
"""Run a command and wait for it and for every process it leaves behind.

usage: subreap.py [--report FILE] LIMIT ARGV...

For commands that fork workers and exit before they are done ("dma -q"
forks one process per queued message and does not wait for them): this
process becomes a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so the
orphaned workers are re-parented to it, and it waits until it has no child
left.  So its own run time is that of the whole job.  With --report FILE, the
seconds from spawning the command to reaping the last process are written
to FILE (bench/timing.py's report=FILE: Python's start-up left out).

Exit status: 0 when the command and every process reaped exited 0;
1 when any exited otherwise (the count is printed); 2 when LIMIT seconds
passed first: then every process still there (a child of this one, found
in /proc by its parent pid) is killed by pid, and reaped.
"""

import ctypes
import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


class Late(Exception):
    pass


def children():
    me = str(os.getpid())
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        if st[st.rindex(")") + 2:].split()[1] == me:
            pids.append(int(d))
    return pids


def kill_all():
    for _ in range(100):
        pids = children()
        if not pids:
            return
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            return
        time.sleep(0.05)


def main():
    args = sys.argv[1:]
    report = None
    if args[:1] == ["--report"] and len(args) > 1:
        report, args = args[1], args[2:]
    if len(args) < 2:
        sys.exit(__doc__)
    limit, argv = float(args[0]), args[1:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("subreap.py: prctl: %s" % os.strerror(ctypes.get_errno()))

    def late(*_):
        raise Late()

    signal.signal(signal.SIGALRM, late)
    signal.setitimer(signal.ITIMER_REAL, limit)
    bad = 0
    try:
        t0 = time.perf_counter()
        os.posix_spawnp(argv[0], argv, os.environ)
        while True:
            try:
                _, st = os.wait()
            except ChildProcessError:
                t1 = time.perf_counter()
                break
            if os.waitstatus_to_exitcode(st) != 0:
                bad += 1
    except Late:
        kill_all()
        sys.stderr.write("subreap.py: %s still running after %g s, killed\n"
                         % (argv[0], limit))
        return 2
    signal.setitimer(signal.ITIMER_REAL, 0)
    if report:
        with open(report, "w") as f:
            f.write("%.9f\n" % (t1 - t0))
    if bad:
        sys.stderr.write("subreap.py: %d process(es) exited non-zero\n" % bad)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
