# SPDX-License-Identifier: MIT
"""A small QMP client for tests: talks to QEMU and to mrengine alike.

    c = QMP("/path/sock")          # connects, reads the greeting
    c.cmd("qmp_capabilities")      # -> the "return" value, or raises QMPError
    c.cmd("add-fd", {"fdset-id": 1}, fds=[fd])   # fds go as SCM_RIGHTS
    c.execute(...)                 # -> the whole reply (return or error)
    c.events                       # events seen so far, in order
    c.wait_event("MIGRATION", lambda d: d["status"] == "completed")
"""
import json
import socket
import time


class QMPError(Exception):
    def __init__(self, reply):
        self.reply = reply
        err = reply.get("error", {})
        self.cls = err.get("class")
        self.desc = err.get("desc")
        super().__init__("%s: %s" % (self.cls, self.desc))


class QMP:
    def __init__(self, path, timeout=30.0, negotiate=False, retries=100):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for i in range(retries):
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if i == retries - 1:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.events = []
        self.greeting = self.recv()
        if negotiate:
            self.cmd("qmp_capabilities")

    def close(self):
        self.sock.close()

    def send_raw(self, data, fds=None):
        if fds:
            socket.send_fds(self.sock, [data], fds)
        else:
            self.sock.sendall(data)

    def recv(self):
        """Next message (event or reply) as a dict."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, name, args=None, fds=None, id=None):
        msg = {"execute": name}
        if args is not None:
            msg["arguments"] = args
        if id is not None:
            msg["id"] = id
        self.send_raw(json.dumps(msg).encode() + b"\n", fds)
        while True:
            m = self.recv()
            if "event" in m:
                self.events.append(m)
                continue
            return m

    def cmd(self, name, args=None, fds=None):
        r = self.execute(name, args, fds)
        if "error" in r:
            raise QMPError(r)
        return r["return"]

    def wait_event(self, name, pred=None, timeout=60.0):
        """Return the first event NAME (already seen or new) matching pred."""
        deadline = time.time() + timeout
        seen = 0
        while True:
            for e in self.events[seen:]:
                if e["event"] == name and (pred is None or pred(e.get("data", {}))):
                    self.events.remove(e)
                    return e
            seen = len(self.events)
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no %s event within %ss" % (name, timeout))
            self.sock.settimeout(left)
            try:
                m = self.recv()
            finally:
                self.sock.settimeout(None)
            if "event" in m:
                self.events.append(m)

    def wait_migration(self, timeout=300.0, poll=0.02):
        """Poll query-migrate until completed/failed/cancelled; returns its reply."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.cmd("query-migrate")
            if r.get("status") in ("completed", "failed", "cancelled"):
                return r
            time.sleep(poll)
        raise TimeoutError("migration did not finish within %ss" % timeout)
