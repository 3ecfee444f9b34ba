"""keepalived's ``${_RANDOM [MIN [MAX]]}`` and the ``random_seed`` that makes it repeatable.

``${_RANDOM}`` is an integer in [MIN, MAX] (0 and 32767 by default), a new one at every use.
keepalived seeds its generator with ``random_seed`` when the configuration is read again, so a
configuration that names a seed always reads the same; without one the numbers differ at every read.
pykeepalived gives the same promise with its own generator (the numbers are not keepalived's): the
preprocessor notes the last ``random_seed`` line and, when the file used ``${_RANDOM}`` before knowing
it, reads the file again with it (:meth:`RandomNumbers.seed_to_reread`).
"""

from __future__ import annotations

import random
import re

RANDOM_MAX = 32767
_PARAMS = re.compile(r"\s*(\d+)?\s*(\d+)?\s*\Z")
_SEED = re.compile(r"\s*random_seed\s+(\d+)\s*\Z")


class RandomNumbers:
    """The generator of one reading of the configuration."""

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self._random = random.Random(seed)
        self.used = False
        self.seed_seen: int | None = None
        """The last ``random_seed N`` line read."""

    def value(self, params: str) -> str:
        """The text of one ``${_RANDOM params}``; ValueError for parameters keepalived would refuse."""
        match = _PARAMS.match(params)
        low, high = (int(match.group(1) or 0), int(match.group(2) or RANDOM_MAX)) if match else (0, -1)
        if high < low:
            raise ValueError(f"${{_RANDOM {params.strip()}}}: expected [MIN [MAX]] with MIN <= MAX")
        self.used = True
        return str(self._random.randint(low, high))

    def saw(self, line: str) -> None:
        """A line of the configuration: remember a ``random_seed``."""
        match = _SEED.match(line)
        if match is not None:
            self.seed_seen = int(match.group(1))

    def seed_to_reread(self) -> int | None:
        """The seed to read the configuration again with, when ``${_RANDOM}`` was used with another."""
        if self.used and self.seed_seen is not None and self.seed_seen != self._seed:
            return self.seed_seen
        return None
