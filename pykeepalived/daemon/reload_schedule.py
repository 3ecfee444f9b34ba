"""The reload files of the running configuration (``reload_file``, ``reload_time_file`` with
``reload_repeat``), composed from ``host/reload_files.py``: the watcher task follows the configuration
(started, replaced or stopped at each reload) and asks the daemon for a reload as SIGHUP does."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

from pykeepalived.config.model import GlobalDefs
from pykeepalived.host.reload_files import ReloadTimeWatcher, reading_config, reload_file_path


class ReloadSchedule:
    """See the module docstring; ``request`` is the daemon's command queue (``"reload"``)."""

    def __init__(self, request: Callable[[str], None]) -> None:
        self._request = request
        self.reload_file: str | None = None
        self.watcher: ReloadTimeWatcher | None = None
        self._task: asyncio.Task[None] | None = None

    def apply(self, g: GlobalDefs, instance: str | None, group: asyncio.TaskGroup) -> None:
        """The settings of the configuration now running."""
        self.reload_file = reload_file_path(g.reload_file, instance)
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
        """``reload_file`` exists while a reload reads the configuration."""
        with reading_config(self.reload_file):
            yield

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task, self.watcher = None, None
