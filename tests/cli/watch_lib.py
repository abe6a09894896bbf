"""Helpers for the Python parts of the watch scenarios."""
import json
import os
import subprocess
import sys
import time


def wait_for(what, done, timeout=10):
    start = time.time()
    while not done():
        if time.time() > start + timeout:
            sys.exit(f"FAIL: timed out waiting for {what}")
        time.sleep(0.02)
    if os.environ.get("WATCH_TEST_TRACE"):
        print(f"{time.time() - start:6.2f}s {what}", file=sys.stderr)


def fixture_port():
    """The port of watch_fixture.py serving the current directory."""
    wait_for("the fixture", lambda: os.path.exists("port.txt"))
    return open("port.txt").read()


class Watch:
    """`sdscope watch ARGS...`, its output read as it comes, never blocking."""

    def __init__(self, sdscope, *args):
        self.process = subprocess.Popen([sdscope, "watch", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for pipe in (self.process.stdout, self.process.stderr):
            os.set_blocking(pipe.fileno(), False)
        self.stdout = ""
        self.stderr = ""

    @staticmethod
    def _read(pipe):
        try:
            return (os.read(pipe.fileno(), 1 << 16) or b"").decode()
        except BlockingIOError:
            return ""

    def events(self):
        """Every complete event line so far, parsed."""
        self.stdout += self._read(self.process.stdout)
        self.stderr += self._read(self.process.stderr)
        return [json.loads(line) for line in self.stdout.split("\n")[:-1]]

    def stop(self, signal):
        start = time.time()
        self.process.send_signal(signal)
        status = self.process.wait(timeout=10)
        if os.environ.get("WATCH_TEST_TRACE"):
            print(f"{time.time() - start:6.2f}s the exit", file=sys.stderr)
        if status != 0:
            sys.exit(f"FAIL: exit status {status} after signal {signal}")
        self.events()
