"""Values the health checks produce: one probe's :class:`CheckResult`, a real server's identity and
the :class:`RealServerChanged` event the runner emits.  Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one probe saw.

    ``weight`` is set only by ``MISC_CHECK`` with ``misc_dynamic`` (exit code - 2): the weight the
    real server should have; ``weight_offset`` only by ``FILE_CHECK``: what to add to its weight.
    ``latency_s`` is the probe's duration in seconds; ``reason`` is a short stable phrase.
    """

    ok: bool
    reason: str
    latency_s: float = 0.0
    weight: int | None = None
    weight_offset: int | None = None

    @classmethod
    def success(cls, latency_s: float, reason: str = "ok", weight: int | None = None,
                weight_offset: int | None = None) -> CheckResult:
        return cls(True, reason, latency_s, weight, weight_offset)

    @classmethod
    def failure(cls, reason: str, latency_s: float = 0.0) -> CheckResult:
        return cls(False, reason, latency_s)


@dataclass(frozen=True, slots=True)
class RsId:
    """Identity of a real server as the config names it.

    ``vs_index`` / ``rs_index`` index ``config.virtual_servers[vs_index].real_servers[rs_index]``;
    the same order as ``lb.from_config`` builds ``VirtualServerSpec.real_servers``, so the daemon maps
    an event to every IPVS ``(ServiceKey, DestKey)`` of that real server (one per group member).
    ``vs_name`` is the virtual server's ``key`` and ``rs_name`` ``ip:port``, for logs and status.
    """

    vs_index: int
    rs_index: int
    vs_name: str = ""
    rs_name: str = ""

    def __str__(self) -> str:
        return f"{self.vs_name or self.vs_index} -> {self.rs_name or self.rs_index}"


@dataclass(frozen=True, slots=True)
class RealServerChanged:
    """Event: a real server went up or down, or its dynamic weight changed.

    ``weight`` is None unless a ``misc_dynamic`` checker set one (then it overrides the configured
    weight, as ``lb.model.RealServerHealth.weight`` does).
    """

    vs: str
    rs: RsId
    up: bool
    weight: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class CheckerChanged:
    """Event: checker ``index`` (of ``kind``) of a real server went up or down because of ``reason``;
    ``server_up`` is the real server's state after it, ``server_changed`` whether this moved it."""

    rs: RsId
    index: int
    kind: str
    up: bool
    reason: str
    server_up: bool
    server_changed: bool
