"""The house rule: small modules with one owner, none over 500 lines (docs/architecture.md)."""

from __future__ import annotations

from pathlib import Path

import pykeepalived

MAX_LINES = 500


def test_no_module_is_over_500_lines() -> None:
    root = Path(pykeepalived.__file__).parent
    sizes = {str(path.relative_to(root)): len(path.read_text().splitlines()) for path in root.rglob("*.py")}
    assert len(sizes) > 100  # the whole package was read
    assert {name: lines for name, lines in sizes.items() if lines > MAX_LINES} == {}
