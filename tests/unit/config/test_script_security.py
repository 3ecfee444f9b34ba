"""keepalived's script-security rule, judged on a described file system."""

from __future__ import annotations

import os
import stat

import pytest

from pykeepalived.config.script_security import unsafe_component

DIR = stat.S_IFDIR | 0o755
FILE = stat.S_IFREG | 0o755


def fs(**overrides: tuple[int, int, int]) -> dict[str, tuple[int, int, int]]:
    files = {"/": (DIR, 0, 0), "/etc": (DIR, 0, 0), "/etc/ka": (DIR, 0, 0), "/etc/ka/chk.sh": (FILE, 0, 0)}
    files.update({k.replace("__", "/"): v for k, v in overrides.items()})
    return files


def judge(files: dict[str, tuple[int, int, int]], path: str = "/etc/ka/chk.sh", **kw: bool) -> str | None:
    def fake_stat(p: str) -> os.stat_result | None:
        entry = files.get(p)
        return None if entry is None else os.stat_result((entry[0], 0, 0, 1, entry[1], entry[2], 0, 0, 0, 0))

    return unsafe_component(path, fake_stat, **kw)


def test_root_owned_and_not_writable_by_others_is_safe() -> None:
    assert judge(fs()) is None


@pytest.mark.parametrize(("path", "entry"), [
    ("/etc/ka/chk.sh", (FILE, 1000, 0)),                  # owned by a user
    ("/etc/ka/chk.sh", (FILE | 0o002, 0, 0)),             # writable by others
    ("/etc/ka/chk.sh", (FILE | 0o020, 0, 1000)),          # writable by a non-root group
    ("/etc/ka", (DIR | 0o002, 0, 0)),                     # a parent writable by others
    ("/etc", (DIR, 1000, 0)),                             # a parent owned by a user
])
def test_what_a_non_root_user_could_change_is_named(path: str, entry: tuple[int, int, int]) -> None:
    files = fs()
    files[path] = entry
    assert judge(files) == path


def test_root_group_writable_and_sticky_directories_are_allowed() -> None:
    files = fs()
    files["/etc/ka/chk.sh"] = (FILE | 0o020, 0, 0)
    files["/etc/ka"] = (DIR | 0o1777, 0, 0)
    assert judge(files) is None


def test_a_missing_script_is_unsafe_unless_the_caller_reports_it_itself() -> None:
    assert judge(fs(), "/etc/ka/missing.sh") == "/etc/ka/missing.sh"
    assert judge(fs(), "/etc/ka/missing.sh", missing_is_unsafe=False) is None


def test_the_real_filesystem_is_read_by_default(tmp_path) -> None:
    assert unsafe_component("/bin/true") is None
    assert unsafe_component(str(tmp_path / "missing")) == str(tmp_path / "missing")
