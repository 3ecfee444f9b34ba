"""``-M``'s kernel.core_pattern (host/core_pattern.py), on a stand-in file: never the machine's."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.host.core_pattern import restore_core_pattern, set_core_pattern


def test_set_then_restore(tmp_path: Path) -> None:
    path = tmp_path / "core_pattern"
    path.write_text("|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h\n")
    original = set_core_pattern("/var/crash/core.%e.%p", str(path))
    assert path.read_text() == "/var/crash/core.%e.%p"
    restore_core_pattern(original, str(path))
    assert path.read_text() == "|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h"


@pytest.mark.parametrize("pattern", ["", "x" * 128, "a\nb"])
def test_a_pattern_the_kernel_refuses_is_refused_first(tmp_path: Path, pattern: str) -> None:
    path = tmp_path / "core_pattern"
    path.write_text("core\n")
    with pytest.raises(ValueError, match="core pattern"):
        set_core_pattern(pattern, str(path))
    assert path.read_text() == "core\n"


def test_an_unreadable_file_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        set_core_pattern("core", str(tmp_path / "missing"))
