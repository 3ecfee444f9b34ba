"""Who hears whom on a simulated LAN, and how late (shared by :mod:`pykeepalived.testing.lan` and
:mod:`pykeepalived.testing.bfd_wire`): per-direction link profiles, partitions, and the one seeded
random source that decides loss and jitter."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LinkProfile:
    """One direction of a link: loss probability, fixed delay and uniform jitter (seconds)."""

    loss: float = 0.0
    delay_s: float = 0.0
    jitter_s: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss <= 1.0 or self.delay_s < 0 or self.jitter_s < 0:
            raise ValueError(f"invalid link profile {self}")


class Links:
    """Who hears whom, and how late: per-direction link profiles, a default one, partitions, and the
    seeded random source that decides loss and jitter (shared by the LAN and the BFD wire simulators)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.profiles: dict[tuple[str, str], LinkProfile] = {}
        self.default: LinkProfile = LinkProfile()
        self.groups: dict[str, int] = {}

    def set(self, src: str, dst: str, profile: LinkProfile, *, both_ways: bool = True) -> None:
        self.profiles[(src, dst)] = profile
        if both_ways:
            self.profiles[(dst, src)] = profile

    def profile(self, src: str, dst: str) -> LinkProfile:
        return self.profiles.get((src, dst), self.default)

    def partition(self, groups: tuple[Iterable[str], ...]) -> str:
        """Hosts in different groups cannot hear each other; unlisted hosts form one more.  Returns a
        description for the timeline."""
        listed = [sorted(group) for group in groups]
        self.groups = {name: index for index, group in enumerate(listed, start=1) for name in group}
        return " | ".join(",".join(group) for group in listed)

    def delay(self, src: str, dst: str) -> float | None:
        """The delay of one packet from ``src`` to ``dst``; None when the partition or the loss draw
        drops it."""
        if self.groups.get(src, 0) != self.groups.get(dst, 0):
            return None
        link = self.profile(src, dst)
        if link.loss and self.rng.random() < link.loss:
            return None
        return link.delay_s + (self.rng.uniform(0.0, link.jitter_s) if link.jitter_s else 0.0)
