"""BFD in the configuration model: ``bfd_instance`` blocks and ``BFD_CHECK`` (``track_bfd`` references are
``model.TrackBfdRef``, next to the other tracker references).

keepalived 2.2.7's keywords (keepalived.conf(5) "BFD CONFIGURATION", ``bfd/bfd_parser.c``), defaults
and ranges; intervals are milliseconds with microsecond resolution, as keepalived writes them.  One
difference: ``ttl`` / ``hoplimit`` default to 255 in both families (RFC 5881 §5); keepalived sends IPv6
BFD with hop limit 64 (see docs/bfd.md and the ``bfd_hoplimit`` warning of ``--check``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar

from pydantic import AliasChoices, BeforeValidator, Field, model_validator

from pykeepalived.config.types import Bool, IpAddress, NamedModel, Str, StrictModel, TrackWeight

BFD_INTERVAL_MAX_MS = 4_294_967
"""keepalived: ``UINT32_MAX / 1000`` ms (the wire field is 32-bit microseconds)."""
BFD_IDLE_TX_MIN_MS = 1000
BFD_INTERVAL_SENSIBLE_MS = 10_000
"""keepalived logs "larger than max sensible" above this."""
BFD_NAME_MAX = 31
"""keepalived: ``BFD_INAME_MAX`` is 32 bytes with the terminating NUL."""

Milliseconds = Annotated[float, Field(strict=True, ge=1, le=BFD_INTERVAL_MAX_MS)]


class BfdInstance(NamedModel):
    """``bfd_instance NAME { ... }``: one BFD session to a neighbor."""

    neighbor_ip: IpAddress = Field(validation_alias=AliasChoices("neighbor_ip", "neighbour_ip"))
    source_ip: IpAddress | None = Field(None, description="the source address (and family) of our packets; "
                                        "default: chosen by the kernel's routing")
    min_rx: Milliseconds = Field(10, description="Required Min RX Interval, ms")
    min_tx: Milliseconds = Field(10, description="Desired Min TX Interval while Up, ms")
    idle_tx: Annotated[float, Field(strict=True, ge=BFD_IDLE_TX_MIN_MS, le=BFD_INTERVAL_MAX_MS)] = Field(
        1000, description="Desired Min TX Interval while not Up, ms (at least 1000)")
    multiplier: Annotated[int, Field(strict=True, ge=1, le=255)] = Field(
        5, description="Detect Mult: packets missed before the peer is declared down")
    passive: Bool = Field(False, description="send nothing until the neighbor has been heard")
    ttl: Annotated[int, Field(strict=True, ge=1, le=255)] | None = Field(
        None, validation_alias=AliasChoices("ttl", "hoplimit"),
        description="TTL / hop limit of our packets and the GTSM reference; default 255 (RFC 5881)")
    max_hops: Annotated[int, Field(strict=True, ge=-1, le=255)] = Field(
        0, description="how far below ttl a received TTL may be; 255 (or -1) disables the check")
    weight: TrackWeight = Field(0, description="default weight of track_bfd references")
    reverse: Bool = False
    vrrp: Bool = Field(False, description="only VRRP follows this session (with 'checker', or neither: both)")
    checker: Bool = Field(False, description="only BFD_CHECK follows this session")

    @property
    def family(self) -> int:
        return self.neighbor_ip.version

    @property
    def effective_ttl(self) -> int:
        return 255 if self.ttl is None else self.ttl

    @property
    def for_vrrp(self) -> bool:
        return self.vrrp or not self.checker

    @property
    def for_checker(self) -> bool:
        return self.checker or not self.vrrp


class BfdCheck(StrictModel):
    """``BFD_CHECK { name NAME }``: the real server is up while that BFD session is Up."""

    kind: ClassVar[str] = "BFD_CHECK"
    name: Str
    alpha: Bool | None = Field(None, description="start down; default: the real server's")

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: object) -> object:
        return {"name": value} if isinstance(value, str) else value


def _one_or_list(value: object) -> object:
    """``BFD_CHECK: NAME``, ``{name: NAME}`` or a list of either."""
    return [value] if isinstance(value, Mapping | str) else value


BfdChecks = Annotated[tuple[BfdCheck, ...], BeforeValidator(_one_or_list)]
"""A real server's ``BFD_CHECK`` entries."""
