# SPDX-License-Identifier: MIT
"""A tiny TAP producer for Python tests run by automake's TAP driver.

    t = TAP()
    t.ok(cond, "what was checked", "diagnostic shown on failure")
    t.eq(got, want, "what")          # prints both on failure
    t.skip("why", "what")            # one skipped check
    t.skip_all("why")                # 1..0 # SKIP why, exit 0
    sys.exit(t.done())               # trailing plan; 1 if anything failed
"""
import sys


class TAP:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def _line(self, text):
        print(text, flush=True)

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            self._line("# " + line)

    def ok(self, cond, desc, why=None):
        self.n += 1
        self._line("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc))
        if not cond:
            self.failed += 1
            if why:
                self.diag(why)
        return bool(cond)

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, "     got: %r\n expected: %r" % (got, want))

    def skip(self, reason, desc):
        self.n += 1
        self._line("ok %d - %s # SKIP %s" % (self.n, desc, reason))

    def skip_all(self, reason):
        self._line("1..0 # SKIP %s" % reason)
        sys.exit(0)

    def bail(self, reason):
        self._line("Bail out! %s" % reason)
        sys.exit(1)

    def done(self):
        self._line("1..%d" % self.n)
        return 1 if self.failed else 0
