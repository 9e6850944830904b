#!/usr/bin/python3
"""Check a MIME message with Python's email package, the independent parser
of envoi's compose tests.

Usage: mimecheck.py EML [ARG...] < CODE

Parses EML (policy=email.policy.default) and runs the Python CODE read from
stdin with these names defined:

  raw         the message's bytes as they are in EML
  msg         the parsed message (email.message.EmailMessage)
  leaves      msg's parts that are not multipart, in walk() order
  args        [ARG...] (strings)
  data(p)     the part's content, transfer encoding undone (bytes)
  lf(b)       bytes with every CRLF made LF (for comparing text parts)
  readf(path) the bytes of a file
  structure(m=msg)  e.g. "multipart/mixed[text/plain,application/pdf]"
  head_lines(m_raw=raw)  the physical lines of the header section (bytes,
              without their CRLF)
  check_raw(b=raw)  asserts: CRLF line ends only (no bare CR or LF), no
              line over 998 octets, and an ASCII-only header section
  eq(got, want, what)  asserts got == want, with a short description of
              the first difference (offset, lengths) for long values
  text_eq(got, want, what)  eq for text: both with LF line ends, and a
              final line break of want may be missing from got (the
              tests of the final line break do not use this one)

An AssertionError is reported as "mimecheck: <message>" followed by an
outline of the message (structure, each leaf's headers and decoded size),
exit status 1.  Any other exception gives a traceback and status 2.
"""

import email
import email.policy
import re
import sys
import traceback


def data(p):
    return p.get_payload(decode=True) or b""


def lf(b):
    return b.replace(b"\r\n", b"\n")


def readf(path):
    with open(path, "rb") as f:
        return f.read()


def structure(m):
    if m.is_multipart():
        return "%s[%s]" % (m.get_content_type(),
                           ",".join(structure(p) for p in m.iter_parts()))
    return m.get_content_type()


def head_lines(b):
    end = b.find(b"\r\n\r\n")
    if end == -1:
        end = len(b)
    return b[:end].split(b"\r\n")


def check_raw(b):
    bad = [m.start() for m in re.finditer(rb"(?<!\r)\n", b)]
    assert not bad, "bare LF at offsets %s" % bad[:5]
    bad = [m.start() for m in re.finditer(rb"\r(?!\n)", b)]
    assert not bad, "bare CR at offsets %s" % bad[:5]
    pos = 0
    for line in b.split(b"\r\n"):
        assert len(line) <= 998, \
            "line of %d octets at offset %d: %r..." % (len(line), pos,
                                                       line[:60])
        pos += len(line) + 2
    for line in head_lines(b):
        assert all(c < 0x80 for c in line), \
            "non-ASCII header line: %r" % line


def _short(v):
    r = repr(v)
    return r if len(r) <= 200 else r[:200] + "..."


def eq(got, want, what="value"):
    if got == want:
        return
    msg = "%s differs: got %s, want %s" % (what, _short(got), _short(want))
    if isinstance(got, (bytes, str)) and isinstance(want, (bytes, str)) \
            and type(got) is type(want):
        n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                 min(len(got), len(want)))
        msg += " (lengths %d and %d, first difference at offset %d: " \
               "got %s, want %s)" % (len(got), len(want), n,
                                     _short(got[max(0, n - 20):n + 20]),
                                     _short(want[max(0, n - 20):n + 20]))
    raise AssertionError(msg)


def text_eq(got, want, what="text"):
    g, w = lf(got), lf(want)
    if w.endswith(b"\n") and g == w[:-1]:
        return
    eq(g, w, what)


def outline(msg):
    out = ["structure: %s" % structure(msg)]
    for i, p in enumerate(p for p in msg.walk() if not p.is_multipart()):
        out.append("leaf %d: Content-Type: %s | CTE: %s | "
                   "Content-Disposition: %s | filename: %r | %d bytes | "
                   "defects: %s" % (
                       i, p.get("Content-Type"),
                       p.get("Content-Transfer-Encoding"),
                       p.get("Content-Disposition"), p.get_filename(),
                       len(data(p)), p.defects))
    return "\n".join(out)


def main(argv):
    if len(argv) < 1:
        sys.exit(__doc__)
    path = argv[0]
    raw = readf(path)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    env = {
        "raw": raw, "msg": msg, "args": argv[1:],
        "leaves": [p for p in msg.walk() if not p.is_multipart()],
        "data": data, "lf": lf, "readf": readf, "eq": eq, "text_eq": text_eq,
        "structure": lambda m=msg: structure(m),
        "head_lines": lambda b=raw: head_lines(b),
        "check_raw": lambda b=raw: check_raw(b),
        "re": re,
    }
    code = sys.stdin.read()
    try:
        exec(compile(code, "<check>", "exec"), env)
    except AssertionError as e:
        tb = traceback.extract_tb(sys.exc_info()[2])
        where = [f.lineno for f in tb if f.filename == "<check>"]
        sys.stderr.write("mimecheck: %s (check line %s)\n%s\n" % (
            e, where[-1] if where else "?", outline(msg)))
        return 1
    except Exception:
        traceback.print_exc()
        sys.stderr.write(outline(msg) + "\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
