"""The daemon's pid file (keepalived's ``-p``): written at start, removed at exit."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import TracebackType

from pykeepalived.errors import UsageError


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PidFile:
    """Context manager owning a pid file; refuses to start when another live process owns it."""

    def __init__(self, path: str | os.PathLike[str], pid: int | None = None) -> None:
        self.path = Path(path)
        self.pid = os.getpid() if pid is None else pid
        self._written = False

    def __enter__(self) -> PidFile:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def acquire(self) -> None:
        other = self._read()
        if other is not None and other != self.pid and _pid_alive(other):
            raise UsageError(f"pid file {self.path} belongs to running process {other}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(f"{self.pid}\n")
            tmp.replace(self.path)
        except OSError as exc:
            raise UsageError(f"cannot write pid file {self.path}: {exc.strerror}") from exc
        self._written = True

    def release(self) -> None:
        if self._written and self._read() == self.pid:
            with contextlib.suppress(OSError):
                self.path.unlink()
        self._written = False

    def _read(self) -> int | None:
        try:
            text = self.path.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None
