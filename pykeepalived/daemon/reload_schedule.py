"""The reload files of the running configuration (``reload_file``, ``reload_time_file`` with
``reload_repeat``, the log file of ``reload_check_config``), composed from ``host/reload_files.py``:
the watcher task follows the configuration (started, replaced or stopped at each reload) and asks
the daemon for a reload as SIGHUP does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator

from pykeepalived.config.model import GlobalDefs
from pykeepalived.daemon import plans
from pykeepalived.errors import ConfigError
from pykeepalived.host.reload_files import ReloadTimeWatcher, check_log, reading_config, reload_file_path


class ReloadSchedule:
    """See the module docstring; ``request`` is the daemon's command queue (``"reload"``)."""

    def __init__(self, request: Callable[[str], None]) -> None:
        self._request = request
        self.reload_file: str | None = None
        self.check_log: str | None = None
        """``reload_check_config FILE``: where the check of the next reload is written."""
        self.watcher: ReloadTimeWatcher | None = None
        self._task: asyncio.Task[None] | None = None

    def apply(self, g: GlobalDefs, instance: str | None, group: asyncio.TaskGroup) -> None:
        """The settings of the configuration now running."""
        self.reload_file = reload_file_path(g.reload_file, instance)
        self.check_log = g.reload_check_config if isinstance(g.reload_check_config, str) else None
        wanted = (g.reload_time_file, g.reload_repeat) if g.reload_time_file else None
        current = (self.watcher.path, self.watcher.repeat) if self.watcher is not None else None
        if wanted == current:
            return
        self.stop()
        if g.reload_time_file:
            self.watcher = ReloadTimeWatcher(g.reload_time_file, lambda: self._request("reload"),
                                             repeat=g.reload_repeat)
            self._task = group.create_task(self.watcher.run_forever(), name="reload-time-file")

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """``reload_file`` exists while a reload reads the configuration; the check's warnings and
        errors go to ``reload_check_config``'s file too."""
        with reading_config(self.reload_file), check_log(self.check_log, plans.__name__) as write:
            try:
                yield
            except ConfigError as exc:
                write(plans.config_error_lines(exc, "reload check failed, keeping the running config"),
                      logging.ERROR)
                raise
            write(["reload check: the configuration is valid"], logging.INFO)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task, self.watcher = None, None
