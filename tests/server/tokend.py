#!/usr/bin/python3
"""OAuth2 token endpoint stub for envoi's test suite (RFC 6749 6).

Usage:
  /usr/bin/python3 tokend.py --dir DIR --cert CERT --key KEY --tokens FILE
        [--client-id ID] [--client-secret S] [--lifetime SECONDS]

An HTTPS server (http.server and ssl, the suite's certificate) on
127.0.0.1, port 0.  POST /token with grant_type=refresh_token, a refresh
token listed in DIR/control/refresh-tokens (one per line; without the
file: "rt-good"), --client-id and, when --client-secret is given, that
client_secret, gets a fresh random access token:
  {"access_token": ..., "token_type": "Bearer", "expires_in": N}
and the token is appended to FILE (the SMTP test server's --oauth-tokens),
so that only tokens this endpoint issued are accepted there.

Control files in DIR/control/ (read on every request):
  expires-in   expires_in to send (default 3600)
  token-size   length of the access token (default 43)
  rotate       (exists) also send a new refresh_token (and accept it)
  unrecorded   (exists) do not append the token to FILE: the SMTP server
               will refuse it
  status       an HTTP status to answer instead (e.g. "503"), with
               {"error": "temporarily_unavailable"}
A refused grant gets 400 {"error": "invalid_grant", "error_description":
...} whose description holds an escape sequence, so that clients can be
checked to sanitise it.

Files in DIR: port, pid (written last, atomically), calls.log (one JSON
line per request: "grant_type", "client_id", "client_secret_ok",
"refresh_token_ok", "scope", "status").

The server exits on SIGTERM, when its parent goes away, or after
--lifetime seconds (default 900).
"""

import argparse
import http.server
import json
import os
import secrets
import signal
import ssl
import sys
import threading
import time
import urllib.parse


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "envoi-test-tokend"

    def log_message(self, fmt, *args):  # quiet
        pass

    def ctl(self, name, default=None):
        try:
            with open(os.path.join(self.server.dir, "control", name)) as f:
                return f.read().strip() or default
        except OSError:
            return default

    def reply(self, status, obj, form):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)
        rec = {"grant_type": form.get("grant_type"),
               "client_id": form.get("client_id"),
               "client_secret_ok": self.secret_ok(form),
               "refresh_token_ok": self.refresh_ok(form),
               "scope": form.get("scope"), "status": status}
        with open(os.path.join(self.server.dir, "calls.log"), "a") as f:
            f.write(json.dumps(rec) + "\n")

    def secret_ok(self, form):
        want = self.server.args.client_secret
        return want is None or form.get("client_secret") == want

    def refresh_ok(self, form):
        good = (self.ctl("refresh-tokens") or "rt-good").split()
        good += self.server.rotated
        return form.get("refresh_token") in good

    def do_POST(self):
        size = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(size, 65536)).decode("ascii", "replace")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
        forced = self.ctl("status")
        if self.path != "/token":
            return self.reply(404, {"error": "not_found"}, form)
        if forced:
            return self.reply(int(forced),
                              {"error": "temporarily_unavailable"}, form)
        if form.get("grant_type") != "refresh_token":
            return self.reply(400, {"error": "unsupported_grant_type"}, form)
        if (form.get("client_id") != self.server.args.client_id
                or not self.secret_ok(form)):
            return self.reply(401, {"error": "invalid_client"}, form)
        if not self.refresh_ok(form):
            return self.reply(400, {
                "error": "invalid_grant",
                "error_description": "Token has been expired or revoked."
                                     "\x1b[31m"}, form)
        size = int(self.ctl("token-size", "43"))
        token = secrets.token_urlsafe(size)[:size]
        if not os.path.exists(os.path.join(self.server.dir, "control",
                                           "unrecorded")):
            with open(self.server.args.tokens, "a") as f:
                f.write(token + "\n")
        obj = {"access_token": token, "token_type": "Bearer",
               "expires_in": int(self.ctl("expires-in", "3600"))}
        if os.path.exists(os.path.join(self.server.dir, "control",
                                       "rotate")):
            new = "rt-" + secrets.token_urlsafe(16)
            self.server.rotated.append(new)
            obj["refresh_token"] = new
        return self.reply(200, obj, form)


def main(argv):
    p = argparse.ArgumentParser(description="OAuth2 token endpoint stub")
    p.add_argument("--dir", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--tokens", required=True)
    p.add_argument("--client-id", default="envoi-test")
    p.add_argument("--client-secret")
    p.add_argument("--lifetime", type=float, default=900.0)
    args = p.parse_args(argv)
    os.makedirs(os.path.join(args.dir, "control"), exist_ok=True)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.dir = args.dir
    srv.args = args
    srv.rotated = []
    write_atomic(os.path.join(args.dir, "port"),
                 b"%d\n" % srv.server_address[1])
    write_atomic(os.path.join(args.dir, "pid"), b"%d\n" % os.getpid())
    parent = os.getppid()
    deadline = time.monotonic() + args.lifetime

    def watchdog():
        while os.getppid() == parent and time.monotonic() < deadline:
            time.sleep(0.5)
        srv.shutdown()

    threading.Thread(target=watchdog, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(
        target=srv.shutdown).start())
    srv.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
