#!/usr/bin/env python3
"""Open N PostgreSQL client connections to a pooler, log each one in, then hold them idle.

Raw sockets, protocol 3.0: StartupMessage, then password auth (md5 or cleartext; SCRAM is not
needed for the benchmark's auth_type = md5), then read until ReadyForQuery. One epoll selector
drives all connections; at most --parallel logins are in flight at once so that the pooler's
listen backlog is not flooded. Bounded in time by --timeout.

When every connection has either logged in or failed, prints one line
    held <ok> failed <failed> seconds <elapsed>
(and a few first failure reasons on stderr), then keeps the sockets open until SIGTERM/SIGINT
or until --hold seconds have passed.
"""
import argparse
import errno
import hashlib
import selectors
import signal
import socket
import struct
import sys
import time


def startup_message(user, database):
    body = struct.pack("!I", 196608)
    for k, v in (("user", user), ("database", database), ("application_name", "idle_clients")):
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def password_message(password):
    body = password.encode() + b"\0"
    return b"p" + struct.pack("!I", len(body) + 4) + body


def md5_response(user, password, salt):
    inner = hashlib.md5((password + user).encode()).hexdigest()
    return "md5" + hashlib.md5(inner.encode() + salt).hexdigest()


class Conn:
    __slots__ = ("sock", "state", "buf", "started")

    def __init__(self, sock):
        self.sock = sock
        self.state = "connecting"
        self.buf = b""
        self.started = time.monotonic()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", default="bench")
    ap.add_argument("--password", default="bench")
    ap.add_argument("--database", default="bench")
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--parallel", type=int, default=200, help="logins in flight at once")
    ap.add_argument("--timeout", type=float, default=180, help="seconds for all logins")
    ap.add_argument("--hold", type=float, default=3600, help="seconds to hold the connections")
    a = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    sel = selectors.DefaultSelector()
    held = []
    failed = 0
    reasons = {}
    started = 0
    inflight = 0
    t0 = time.monotonic()
    deadline = t0 + a.timeout
    startup = startup_message(a.user, a.database)

    def fail(c, why):
        nonlocal failed, inflight
        failed += 1
        inflight -= 1
        reasons[why] = reasons.get(why, 0) + 1
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()

    def on_readable(c):
        nonlocal inflight
        try:
            data = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            fail(c, "recv: " + (errno.errorcode.get(e.errno, str(e))))
            return
        if not data:
            fail(c, "closed by pooler during login")
            return
        c.buf += data
        while len(c.buf) >= 5:
            t = c.buf[0:1]
            ln = struct.unpack("!I", c.buf[1:5])[0]
            if len(c.buf) < 1 + ln:
                break
            body = c.buf[5:1 + ln]
            c.buf = c.buf[1 + ln:]
            if t == b"R":
                code = struct.unpack("!I", body[:4])[0]
                if code == 5:
                    c.sock.sendall(password_message(md5_response(a.user, a.password, body[4:8])))
                elif code == 3:
                    c.sock.sendall(password_message(a.password))
                elif code != 0:
                    fail(c, "unsupported auth request %d" % code)
                    return
            elif t == b"E":
                msg = body.split(b"\0M", 1)[-1].split(b"\0", 1)[0].decode(errors="replace")
                fail(c, "error: " + msg)
                return
            elif t == b"Z":
                inflight -= 1
                sel.unregister(c.sock)
                c.state = "held"
                c.buf = b""
                held.append(c)
                return

    def on_writable(c):
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            fail(c, "connect: " + errno.errorcode.get(err, str(err)))
            return
        c.state = "login"
        sel.modify(c.sock, selectors.EVENT_READ, c)
        c.sock.sendall(startup)

    while (started < a.n or inflight > 0) and not stop:
        now = time.monotonic()
        if now > deadline:
            break
        while started < a.n and inflight < a.parallel:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            started += 1
            inflight += 1
            c = Conn(s)
            rc = s.connect_ex((a.host, a.port))
            if rc not in (0, errno.EINPROGRESS):
                fail(c, "connect: " + errno.errorcode.get(rc, str(rc)))
                continue
            sel.register(s, selectors.EVENT_WRITE, c)
        for key, mask in sel.select(timeout=0.5):
            c = key.data
            if c.state == "connecting":
                on_writable(c)
            else:
                on_readable(c)

    timed_out = inflight
    if timed_out:
        reasons["login not finished within --timeout"] = timed_out
        failed += timed_out
    elapsed = time.monotonic() - t0
    for why, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:5]:
        print("idle_clients: %d x %s" % (n, why), file=sys.stderr)
    print("held %d failed %d seconds %.1f" % (len(held), failed, elapsed), flush=True)

    # Hold: the pooler sees idle logged-in clients. Notice (but do not answer) anything it sends.
    end = time.monotonic() + a.hold
    while not stop and time.monotonic() < end:
        time.sleep(0.2)
    for c in held:
        c.sock.close()


if __name__ == "__main__":
    main()
