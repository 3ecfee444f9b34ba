"""Golden files in tests: the expected text of a case, rewritten first with ``PYKA_UPDATE_GOLDEN=1``
after a deliberate change (then review the diff).  Compare in the test module, so that pytest shows
the difference: ``assert text == golden(text, path)``."""

from __future__ import annotations

import os
from pathlib import Path

UPDATE_ENV = "PYKA_UPDATE_GOLDEN"


def golden(actual: str, expected: Path) -> str:
    """The text of the golden file ``expected`` (its exact bytes: no newline translation, so an
    e-mail's CRLFs count); with ``PYKA_UPDATE_GOLDEN=1`` the file is rewritten with ``actual`` first."""
    if os.environ.get(UPDATE_ENV) == "1":
        expected.write_bytes(actual.encode())
    if not expected.exists():
        raise AssertionError(f"missing {expected.name}; run with {UPDATE_ENV}=1")
    return expected.read_bytes().decode()
