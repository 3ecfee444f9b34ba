"""keepalived's reload files: ``reload_file`` (present while a reload reads the configuration) and
``reload_time_file`` (a reload scheduled by writing a time into a file).

* :func:`reading_config`: creates (or truncates) ``reload_file`` with mode 0644 before the
  configuration is read and removes it after, so a process that updates the configuration can wait
  for it to disappear; a failure is logged, never a reason not to reload.
* :class:`ReloadTimeWatcher`: looks at ``reload_time_file`` every second; when it appears or changes,
  its first line schedules a reload (:func:`pykeepalived.config.reload_time.reload_at`), when it goes
  the reload is cancelled.  At the time, the file is removed (unless ``reload_repeat`` and no date)
  and ``on_reload`` is called: the daemon reloads as on SIGHUP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, tzinfo

from pykeepalived.config.reload_time import ReloadAt, reload_at

log = logging.getLogger(__name__)

RUN_DIR = "/run/pykeepalived"
POLL_S = 1.0
MAX_LINE = 64
FILE_MODE = 0o644


def reload_file_path(value: str | None, instance: str | None = None) -> str | None:
    """``reload_file``'s path: as written when absolute; bare (``keepalived.reload``) or relative, in
    the run directory, named after the instance as keepalived's (``pykeepalived_NAME.reload``)."""
    if not value:
        return None
    if os.path.isabs(value):
        return value
    if value == "keepalived.reload":
        value = f"pykeepalived_{instance}.reload" if instance else "pykeepalived.reload"
    return os.path.join(RUN_DIR, value)


@contextlib.contextmanager
def reading_config(path: str | None) -> Iterator[None]:
    """``reload_file`` exists (empty) while the body runs."""
    if path is not None:
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NONBLOCK  # a FIFO: ENXIO
            fd = os.open(path, flags, FILE_MODE)
            os.fchmod(fd, FILE_MODE)
            os.close(fd)
        except OSError as exc:
            log.warning("cannot create the reload file %s: %s", path, exc.strerror or exc)
    try:
        yield
    finally:
        if path is not None:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("cannot remove the reload file %s: %s", path, exc.strerror or exc)


def _regular_or_absent(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return True


@contextlib.contextmanager
def check_log(path: str | None, logger: str) -> Iterator[Callable[[Iterable[str], int], None]]:
    """``reload_check_config FILE``: what ``logger`` logs while the body runs goes to FILE too
    (rewritten); yields a function that adds lines at a level to it.  A FILE that cannot be
    opened is logged, never a reason not to reload."""
    handler: logging.FileHandler | None = None
    if path is not None:
        try:
            if not _regular_or_absent(path):  # opening a FIFO would block the daemon
                raise OSError(f"{path} is not a regular file")
            handler = logging.FileHandler(path, mode="w", encoding="utf-8")
        except OSError as exc:
            log.warning("cannot write the reload check log %s: %s", path, exc.strerror or exc)
    if handler is None:
        yield lambda lines, level: None
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    target = logging.getLogger(logger)
    target.addHandler(handler)

    def write(lines: Iterable[str], level: int) -> None:
        for line in lines:
            handler.handle(logging.LogRecord(logger, level, __file__, 0, line, None, None))

    try:
        yield write
    finally:
        target.removeHandler(handler)
        handler.close()


class ReloadTimeWatcher:
    """See the module docstring; ``clock`` gives the aware wall-clock time and ``local`` the zone of
    a time without ``Z`` (default: the system's local time)."""

    def __init__(self, path: str, on_reload: Callable[[], None], *, repeat: bool = False,
                 clock: Callable[[], datetime] | None = None, local: tzinfo | None = None,
                 poll_s: float = POLL_S) -> None:
        self.path = path
        self.repeat = repeat
        self._on_reload = on_reload
        self._clock = clock or (lambda: datetime.now(UTC))
        self._local = local
        self._poll_s = poll_s
        self._seen: tuple[int, int, float] | None = None
        self.scheduled: ReloadAt | None = None
        self.fired = 0

    async def run_forever(self) -> None:
        while True:
            self._look()
            delay = self._poll_s
            if self.scheduled is not None:
                remaining = (self.scheduled.at - self._clock()).total_seconds()
                if remaining <= 0:
                    self._fire(self.scheduled)
                    continue
                delay = min(delay, remaining)
            await asyncio.sleep(delay)

    def _look(self) -> None:
        try:
            info = os.stat(self.path)
        except OSError:
            if self.scheduled is not None:
                log.info("reload time file %s removed: the scheduled reload is cancelled", self.path)
            self._seen, self.scheduled = None, None
            return
        seen = (info.st_ino, info.st_size, info.st_mtime)
        if seen == self._seen:
            return
        self._seen = seen
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block the daemon on open()
            log.warning("reload time file %s is not a regular file: ignored", self.path)
            self.scheduled = None
            return
        try:
            with open(self.path, encoding="utf-8", errors="replace") as handle:
                line = handle.readline(MAX_LINE)
        except OSError as exc:
            log.warning("cannot read the reload time file %s: %s", self.path, exc.strerror or exc)
            return
        found = reload_at(line, self._clock(), self._local)
        if isinstance(found, str):
            log.warning("reload time file %s: %s: ignored", self.path, found)
            self.scheduled = None
            return
        self.scheduled = found
        log.info("reload scheduled for %s (reload time file %s)", found.at.isoformat(sep=" "), self.path)

    def _fire(self, at: ReloadAt) -> None:
        self.scheduled, self._seen = None, None  # a file kept (daily time) is read again: tomorrow's
        self.fired += 1
        if at.remove_file(self.repeat):
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        log.info("scheduled reload (reload time file %s)", self.path)
        self._on_reload()
