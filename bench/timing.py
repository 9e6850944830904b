#!/usr/bin/python3
"""Run two (or more) commands alternately and compare their wall times.

usage: timing.py [--rounds N] [--warmup N] [--bytes N] [--timeout S]
                 [--title TEXT] [--tsv FILE] [--rss 0|1]
                 --- LABEL [stdin=FILE] [stdout=FILE] [setup=SHELL] [check=SHELL]
                     [rss=0] [report=FILE] : ARGV...
                 --- LABEL ... : ARGV...

Each "---" group is one contender: a label, options, ":" and the command
(argv, run without a shell, so that no shell start-up is timed).  In round
i the contenders run one after the other, in the given order on even
rounds and in reverse order on odd ones (A B, B A, A B, ...), so that
neither always runs first on a noisy machine.  Before each timed run the
contender's setup command (sh -c, not timed) runs; after it, its check
command (not timed) must succeed.  A run that exits non-zero stops
everything, with its standard error shown.

With report=FILE, the command writes the seconds it took to FILE itself,
and that is its time (bench/floor.py: so that the floor does not include
the interpreter's start-up).  Otherwise what is timed: fork/exec to exit
of the command (time.perf_counter around
Popen and os.wait4); the rusage that os.wait4 returns gives its CPU time
(user + system, its waited-for children included).  Peak RSS is not taken
from that rusage (Linux folds the pre-exec image, here Python's ~10 MiB,
into ru_maxrss): after the timed rounds each contender runs once more
under tests/lib/maxrss.py, which reads VmHWM of every process of the
command's tree at its exit (ptrace) and reports the largest (--rss 0, or
rss=0 for one contender, skips that run).

Printed for each contender: median, min and max wall time, median CPU
time, peak RSS, MB/s (with --bytes; 10^6 bytes a second, from the
median); then, for each contender after the first, the ratio of the first
one's median to its median (first/other: below 1 means the first is
faster) with the speed-up (other/first), and the median of the per-round
ratios, which pairs runs that were close in time.  With --tsv, one line a
contender is appended: title, label, rounds, median_s, min_s, max_s,
cpu_s, maxrss_kb, mbps.
"""

import os
import shlex
import statistics
import subprocess
import signal
import sys
import time


def usage(msg):
    sys.stderr.write("timing.py: %s\n" % msg)
    sys.stderr.write(__doc__)
    sys.exit(2)


def parse(argv):
    opts = {"rounds": 5, "warmup": 1, "bytes": 0, "timeout": 300.0,
            "title": "", "tsv": None, "rss": 1}
    i = 0
    while i < len(argv) and argv[i] != "---":
        a = argv[i]
        if not a.startswith("--") or i + 1 >= len(argv):
            usage("bad option %r" % a)
        k = a[2:]
        if k not in opts:
            usage("unknown option %r" % a)
        v = argv[i + 1]
        opts[k] = type(opts[k])(v) if opts[k] is not None else v
        i += 2
    groups = []
    while i < len(argv):
        assert argv[i] == "---"
        i += 1
        if i >= len(argv):
            usage("empty group")
        g = {"label": argv[i], "stdin": "/dev/null", "stdout": "/dev/null",
             "setup": None, "check": None, "rss": "1", "report": None,
             "argv": []}
        i += 1
        while i < len(argv) and argv[i] != ":":
            k, sep, v = argv[i].partition("=")
            if not sep or k not in ("stdin", "stdout", "setup", "check", "rss",
                                    "report"):
                usage("bad group option %r" % argv[i])
            g[k] = v
            i += 1
        if i >= len(argv):
            usage("group %s has no ':' before its command" % g["label"])
        i += 1
        while i < len(argv) and argv[i] != "---":
            g["argv"].append(argv[i])
            i += 1
        if not g["argv"]:
            usage("group %s has no command" % g["label"])
        groups.append(g)
    if len(groups) < 1:
        usage("nothing to run")
    return opts, groups


def sh(cmd, what):
    r = subprocess.run(["/bin/sh", "-c", cmd], stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        sys.exit("timing.py: %s failed (status %d): %s" % (what, r.returncode, cmd))


MAXRSS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "..", "tests", "lib", "maxrss.py")


def run_once(g, timeout, wrap=None):
    if g["setup"]:
        sh(g["setup"], "setup of " + g["label"])
    errpath = "/tmp/timing-%d.err" % os.getpid()
    with open(g["stdin"], "rb") as fin, open(g["stdout"], "wb") as fout, \
            open(errpath, "w+b") as ferr:
        # The timeout: SIGALRM kills the child; wait4 then returns.
        box = []
        signal.signal(signal.SIGALRM, lambda *_: box and box[0].kill())
        signal.setitimer(signal.ITIMER_REAL, timeout)
        t0 = time.perf_counter()
        p = subprocess.Popen((wrap or []) + g["argv"], stdin=fin, stdout=fout,
                             stderr=ferr)
        box.append(p)
        pid, status, ru = os.wait4(p.pid, 0)
        t1 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, 0)
        if time.perf_counter() - t0 >= timeout:
            sys.exit("timing.py: %s timed out after %gs" % (g["label"], timeout))
        p.returncode = os.waitstatus_to_exitcode(status)
        ferr.seek(0)
        err = ferr.read()
    os.unlink(errpath)
    if p.returncode != 0:
        sys.stderr.write(err.decode(errors="replace")[-4000:])
        sys.exit("timing.py: %s exited with status %d: %s" % (
            g["label"], p.returncode, shlex.join(g["argv"])))
    if g["check"]:
        sh(g["check"], "check of " + g["label"])
    wall = t1 - t0
    if g["report"] and not wrap:
        with open(g["report"]) as f:
            wall = float(f.read().strip())
        os.unlink(g["report"])
    return wall, ru.ru_utime + ru.ru_stime


def peak_rss_kb(g, timeout):
    """One more run, under tests/lib/maxrss.py (ptrace): the largest VmHWM
    of any process of the command's tree, in KiB."""
    out = "/tmp/timing-%d.rss" % os.getpid()
    run_once(g, timeout, [sys.executable, "-B", MAXRSS, "--out", out, "--"])
    with open(out) as f:
        kb = int(f.read().strip() or 0)
    os.unlink(out)
    return kb


def fmt_t(s):
    if s >= 10:
        return "%.2f s" % s
    if s >= 1:
        return "%.3f s" % s
    if s >= 0.01:
        return "%.1f ms" % (s * 1e3)
    return "%.2f ms" % (s * 1e3)


def main():
    opts, groups = parse(sys.argv[1:])
    n = opts["rounds"]
    res = {g["label"]: {"wall": [], "cpu": []} for g in groups}
    for _ in range(opts["warmup"]):
        for g in groups:
            run_once(g, opts["timeout"])
    for r in range(n):
        order = groups if r % 2 == 0 else list(reversed(groups))
        for g in order:
            w, c = run_once(g, opts["timeout"])
            res[g["label"]]["wall"].append(w)
            res[g["label"]]["cpu"].append(c)
    rss = {}
    for g in groups:
        rss[g["label"]] = (peak_rss_kb(g, opts["timeout"])
                           if opts["rss"] and g["rss"] != "0" else None)
    title = opts["title"]
    if title:
        print("-- %s (%d rounds, alternating)" % (title, n))
    width = max(len(g["label"]) for g in groups)
    med = {}
    for g in groups:
        d = res[g["label"]]
        m = statistics.median(d["wall"])
        med[g["label"]] = m
        cpu = statistics.median(d["cpu"])
        kb = rss[g["label"]]
        line = "%-*s  median %9s  min %9s  max %9s  cpu %9s" % (
            width, g["label"], fmt_t(m), fmt_t(min(d["wall"])),
            fmt_t(max(d["wall"])), fmt_t(cpu))
        if kb is not None:
            line += "  peak RSS %6.1f MiB" % (kb / 1024)
        mbps = opts["bytes"] / m / 1e6 if opts["bytes"] else 0
        if opts["bytes"]:
            line += "  %8.1f MB/s" % mbps
        print(line)
        if opts["tsv"]:
            with open(opts["tsv"], "a") as f:
                f.write("\t".join(str(x) for x in (
                    title, g["label"], n, "%.6f" % m, "%.6f" % min(d["wall"]),
                    "%.6f" % max(d["wall"]), "%.6f" % cpu, kb or "",
                    "%.1f" % mbps)) + "\n")
    first = groups[0]["label"]
    for g in groups[1:]:
        o = g["label"]
        paired = statistics.median(
            a / b for a, b in zip(res[first]["wall"], res[o]["wall"]))
        r = med[first] / med[o]
        print("ratio %s/%s = %.3f  (%s %.1fx %s; median of per-round ratios %.3f)" % (
            first, o, r, first, 1 / r if r < 1 else r,
            "faster" if r < 1 else "slower", paired))


if __name__ == "__main__":
    main()
