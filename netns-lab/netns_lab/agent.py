"""Agents: a script run inside a lab namespace (``ip netns exec NS python SCRIPT SCENARIO JSON``) that
talks JSON lines on stdout, and the test side that starts it, reads its lines with deadlines and
kills it by PID at the end.  A test file can double as its own agent script (see tests/lab)."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def emit(**fields: Any) -> None:
    """The agent side: one JSON line on stdout."""
    print(json.dumps(fields, default=str), flush=True)


class Agent:
    """One agent process in a namespace; JSON lines read with deadlines; killed by PID at the end."""

    def __init__(self, netns: str, scenario: str, *, script: Path, **args: Any) -> None:
        argv = ["ip", "netns", "exec", netns, sys.executable, str(script), scenario, json.dumps(args)]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[dict[str, Any]] = []
        self._pending = b""
        self._sel = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)

    def expect(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        """The first line (already read or arriving before the deadline) that satisfies predicate."""
        for line in self.lines:
            if predicate(line):
                return line
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            # complete lines first: select() only sees the pipe, not what a read already took from it
            while b"\n" in self._pending:
                raw, self._pending = self._pending.split(b"\n", 1)
                line = json.loads(raw)
                self.lines.append(line)
                if predicate(line):
                    return line
            left = deadline - time.monotonic()
            if left <= 0 or not self._sel.select(left):
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self._pending += chunk
        raise AssertionError(f"agent output {self.lines} lacks the expected line; stderr: {self.stderr()}")

    def tell(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 10.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read()[-3000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._sel.close()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
