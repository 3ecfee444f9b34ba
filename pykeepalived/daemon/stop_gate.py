"""When a stop signal may stop the routers at once, in its own loop callback (``app.py``).

SIGTERM's priority-0 adverts should leave at once: asyncio calls the signal's callback one loop turn
after reading the signal, and the main coroutine that serves commands wakes another turn later and
logs first.  So the callback stops the routers itself, when that cannot cut into other work: the
daemon has started (its web endpoint may still be importing; ``app.py`` also asks for no BGP part,
whose routes are withdrawn before VRRP stops) and no command is running or queued.
Otherwise the stop waits for its turn, as every command does (a stop behind a reload: after it).
The routers stop once, whichever comes first: the signal's callback or the orderly stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class StopGate:
    """See the module docstring."""

    def __init__(self, commands: asyncio.Queue[str], stop_routers: Callable[[], None],
                 started: Callable[[], bool]) -> None:
        self._commands = commands
        self._stop_routers = stop_routers
        self.release: Callable[[], None] = lambda: None
        """Sends every MASTER's priority-0 advert (``VrrpRunner.release_all``): the first thing
        :meth:`at_once` does; ``stop_routers`` then stops the routers."""
        self._started = started
        self.busy = False
        """A command is off the queue and not finished yet."""
        self.stopped = False

    def take(self) -> None:
        """A command was taken off the queue (``command_queue.next_command``'s ``taken``)."""
        self.busy = True

    def done(self) -> None:
        self.busy = False

    def at_once(self) -> None:
        """From the signal handler while the loop was idle: stop the routers now if the daemon is idle
        (``signal`` follows from the loop and queues the orderly stop)."""
        if self._started() and not self.busy and self._commands.empty():
            if not self.stopped:
                self.release()  # the priority-0 adverts before anything else
            self.stop()

    def signal(self) -> None:
        """SIGTERM/SIGINT's loop callback: stop the routers now if the daemon is idle, and queue the
        ``stop`` command (the orderly rest of the stop)."""
        if self._started() and not self.busy and self._commands.empty():
            self.stop()
        self._commands.put_nowait("stop")

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self._stop_routers()
