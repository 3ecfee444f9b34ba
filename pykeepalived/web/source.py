"""What the web adapter reads of the daemon: the narrow interface ``daemon/observe.py`` hands over.

Importing this module imports no library (the daemon builds a :class:`MetricsSource` before the web
package proper is imported, in the background, after start-up).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from pykeepalived.vrrp.from_config import InstanceSpec
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.vip import IPInterface

Doc = Mapping[str, object]
"""The status document as the daemon builds it (``web.status_doc`` types it)."""


class TransitionLike(Protocol):
    @property
    def at_unix(self) -> float: ...


class InstanceSource(Protocol):
    """One running instance as the daemon keeps it (``daemon.runner.RouterSlot``): its spec, its
    router (the core's typed view and counters), the glue's counts (``garp_sent`` / ``na_sent``) and
    its state history."""

    @property
    def spec(self) -> InstanceSpec: ...
    @property
    def router(self) -> VirtualRouter: ...
    @property
    def counters(self) -> dict[str, int]: ...
    @property
    def transitions(self) -> Sequence[TransitionLike]: ...


Presence = Callable[[str, IPInterface], "bool | None"]
"""(device, address) -> is the VIP configured there now (None: not known yet)."""


@dataclass(frozen=True)
class MetricsSource:
    """What /metrics reads.

    ``document``: the status document's parts other than the instances (the daemon's counters,
    scripts, FIFOs, the LVS part ...); ``instances``: the running VRRP instances; ``presence``: is a
    VIP in the kernel now, and ``presence_generation()``: a value that changes whenever that may have
    changed; ``glue_generation()``: a value that changes whenever an instance's ``counters`` may
    have changed (GARPs and NAs sent); ``clock``: the routers' monotonic clock;
    ``spec_generation()``: a value that changes after an instance's spec was replaced in place (a
    reload), None: every snapshot looks at every instance's spec."""

    document: Callable[[], Doc | Awaitable[Doc]]
    instances: Callable[[], Collection[InstanceSource]] = tuple
    presence: Presence | None = None
    presence_generation: Callable[[], object] = lambda: None
    glue_generation: Callable[[], object] = lambda: None
    clock: Callable[[], float] = time.monotonic
    spec_generation: Callable[[], object] | None = None
