"""Interface up/down for the daemon: the watched interfaces' state, and every change of it.

:class:`LinkPoller` reads :func:`~pykeepalived.net.linkstate.link_is_up` (the one link-state
source) at once on every netlink link event (the daemon's watcher calls :meth:`LinkPoller.poll`), and
every ``LINK_POLL_S`` (1 s) as the backstop for an event that was missed.  A poll costs one ioctl per
watched interface, however many instances use it; ``on_change`` fans out only on a change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pykeepalived.net.linkstate import link_is_up

LINK_POLL_S = 1.0
"""Backstop poll: a link change whose netlink event was missed is seen within this time."""
LINK_POLL_FAST_S = 0.1
"""Poll interval while an attached netlink event source reports itself not (yet) live."""


class LinkPoller:
    """Reports up/down changes of the watched interfaces through ``on_change(ifname, up)``.

    With ``events_live`` given (the netlink watcher is subscribed and running), the backstop poll
    falls back to ``fast_interval_s`` (0.1 s) whenever it reports False.
    """

    def __init__(self, on_change: Callable[[str, bool], None], interval_s: float = LINK_POLL_S,
                 probe: Callable[[str], bool] = link_is_up, *,
                 fast_interval_s: float = LINK_POLL_FAST_S,
                 events_live: Callable[[], bool] | None = None) -> None:
        self.on_change = on_change
        self.interval_s = interval_s
        self.fast_interval_s = fast_interval_s
        self.events_live = events_live
        self.probe = probe
        self.state: dict[str, bool] = {}

    def watch(self, ifname: str) -> None:
        if ifname not in self.state:
            self.state[ifname] = self.probe(ifname)

    def is_up(self, ifname: str) -> bool:
        return self.state.get(ifname, False)

    def poll(self, ifname: str | None = None) -> None:
        """Probe ``ifname`` (every watched interface if None) and report the ones that changed."""
        names = list(self.state) if ifname is None else [ifname] if ifname in self.state else []
        for name in names:
            up = self.probe(name)
            if up != self.state[name]:
                self.state[name] = up
                self.on_change(name, up)

    def next_interval_s(self) -> float:
        """How long :meth:`run_forever` sleeps before its next poll."""
        if self.events_live is None or self.events_live():
            return self.interval_s
        return self.fast_interval_s

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.next_interval_s())
            self.poll()
