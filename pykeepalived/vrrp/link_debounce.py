"""``interface_up_down_delays``: a link change counts only once it has lasted its delay (pure).

keepalived.conf(5): "If an interface that is being used (or tracked) by a VRRP instance goes to
down state, the VRRP instance(s) will, by default, immediately transition to FAULT state [...]
delays can be specified between the interface state change and the transition to FAULT/BACKUP
state.  If the interface returns to its original state before the delay expires, no associated VRRP
instance state transition will occur."  A VMAC follows its parent's delays.

:class:`LinkDebounce` holds, per interface, the state the instances were told and at most one
pending change.  The glue reports every change the link poller sees (:meth:`observe`, with ``now``),
tells the instances what it returns, and calls :meth:`due` at :meth:`next_deadline`.
"""

from __future__ import annotations

from collections.abc import Mapping


class LinkDebounce:
    """Debounced link state per interface (see the module docstring)."""

    def __init__(self, delays: Mapping[str, tuple[float, float]] | None = None) -> None:
        self._delays: dict[str, tuple[float, float]] = dict(delays or {})
        self._told: dict[str, bool] = {}
        self._pending: dict[str, tuple[bool, float]] = {}

    def configure(self, delays: Mapping[str, tuple[float, float]]) -> list[tuple[str, bool]]:
        """New delays (a reload); a pending change of an interface that has no delay any more counts
        at once and is returned."""
        self._delays = dict(delays)
        released = [(name, up) for name, (up, _) in self._pending.items() if name not in self._delays]
        for name, up in released:
            del self._pending[name]
            self._told[name] = up
        return released

    def delays(self, ifname: str) -> tuple[float, float]:
        """(down, up) seconds for ``ifname`` (0, 0 when it has none)."""
        return self._delays.get(ifname, (0.0, 0.0))

    def told(self, ifname: str) -> bool | None:
        """The state the instances were last told (None: no change seen yet)."""
        return self._told.get(ifname)

    def observe(self, ifname: str, up: bool, now: float) -> bool | None:
        """The link poller saw ``ifname`` change to ``up`` at ``now``: the state to tell the instances
        now, or None (the change waits for its delay, or it undid a pending one)."""
        told = self._told.setdefault(ifname, not up)  # the poller reports changes only
        if up == told:
            self._pending.pop(ifname, None)  # back before the delay ran out: nothing happened
            return None
        down_s, up_s = self.delays(ifname)
        delay = up_s if up else down_s
        if delay <= 0:
            self._pending.pop(ifname, None)
            self._told[ifname] = up
            return up
        if ifname not in self._pending:
            self._pending[ifname] = (up, now + delay)
        return None

    def next_deadline(self) -> float | None:
        return min((at for _, at in self._pending.values()), default=None)

    def due(self, now: float) -> list[tuple[str, bool]]:
        """The pending changes whose delay ran out by ``now`` (told to the instances from now on)."""
        out = [(name, up) for name, (up, at) in self._pending.items() if at <= now]
        for name, up in out:
            del self._pending[name]
            self._told[name] = up
        return out
