"""Fixtures for lab tests (root + network namespaces): `lab` and `director_pair`.

Every test here gets a fresh Lab (its own prefix) that is torn down after the test, pass or fail.
Tests are skipped, with the reason, when not root or when `ip netns` does not work.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache

import pytest
from netns_lab import DirectorPair, Lab
from netns_lab import director_pair as build_director_pair


@cache
def _lab_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "lab tests need root (network namespaces)"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"`ip netns` unavailable: {probe.stderr.strip()}"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.lab)


@pytest.fixture
def lab() -> Iterator[Lab]:
    reason = _lab_unavailable()
    if reason:
        pytest.skip(reason)
    with Lab() as lab:
        yield lab


@pytest.fixture
def director_pair(lab: Lab) -> DirectorPair:
    return build_director_pair(lab)
