"""Self-tests of the IPVS VM runner (`python -m netns_lab vm`): exit codes, streams, shares, isolation."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from netns_lab import wait_until
from netns_lab.errors import LabError
from netns_lab.vm_build import SIG_MAGIC, find_kernel, resolve_modules, strip_signature

pytestmark = pytest.mark.lab


def _vm_unavailable() -> str | None:
    if shutil.which("qemu-system-x86_64") is None:
        return "qemu-system-x86_64 not installed"
    try:
        find_kernel()
    except LabError as exc:
        return str(exc)
    return None


needs_vm = pytest.mark.skipif(_vm_unavailable() is not None, reason=str(_vm_unavailable()))


def _vm(args: list[str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NETNS_LAB_MARKER": "m1", "NOT_PASSED": "x"}  # only NETNS_LAB_* passes
    return subprocess.run([sys.executable, "-m", "netns_lab", "vm", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, check=False, env=env)


def test_strip_signature_removes_exactly_the_appended_signature() -> None:
    body = b"\x7fELF module body"
    signature = b"S" * 7
    trailer = b"\0" * 8 + (7).to_bytes(4, "big")
    assert strip_signature(body + signature + trailer + SIG_MAGIC) == body
    assert strip_signature(body) == body


@needs_vm
def test_boot_modules_resolve_with_dependencies_first() -> None:
    order = [Path(p).name for p in resolve_modules(find_kernel())]
    assert order.index("virtio.ko") < order.index("virtio_pci.ko")
    assert order.index("9pnet.ko") < order.index("9p.ko") and order.index("jbd2.ko") < order.index("ext4.ko")
    with pytest.raises(LabError, match="no module"):
        resolve_modules(find_kernel(), ("no_such_module",))


@needs_vm
def test_vm_runs_the_command_in_the_cwd_with_separate_streams_and_its_exit_code(tmp_path: Path) -> None:
    script = ('echo "out:$(pwd):$NETNS_LAB_MARKER:$NETNS_LAB_IN_VM:$NOT_PASSED"; echo err >&2; '
              'uname -r > from-guest; ip -o link | wc -l; touch /etc/guest-only; exit 7')
    proc = _vm(["--", "sh", "-c", script], cwd=tmp_path)
    assert proc.returncode == 7, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"out:{tmp_path}:m1:1:"
    assert lines[1].strip() == "1"  # only lo: the guest has no NIC
    assert proc.stderr.strip().endswith("err")
    assert (tmp_path / "from-guest").read_text().strip() == find_kernel().version
    assert not Path("/etc/guest-only").exists()  # /etc is a tmpfs overlay in the guest


@needs_vm
def test_vm_timeout_gives_124(tmp_path: Path) -> None:
    proc = _vm(["--timeout", "2", "--", "sleep", "60"], cwd=tmp_path)
    assert proc.returncode == 124
    assert "timeout" in proc.stderr


@needs_vm
def test_vm_gives_125_and_the_console_tail_when_the_guest_dies_without_a_status(tmp_path: Path) -> None:
    proc = _vm(["--", "sh", "-c", "echo b > /proc/sysrq-trigger"], cwd=tmp_path)
    assert proc.returncode == 125
    assert "the guest gave no exit code" in proc.stderr and "console tail" in proc.stderr


@needs_vm
def test_killing_the_runner_kills_qemu(tmp_path: Path) -> None:
    runner = subprocess.Popen([sys.executable, "-m", "netns_lab", "vm", "--", "sleep", "120"], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        qemu = wait_until(lambda: _children(runner.pid), timeout=30, message="qemu started")
        runner.kill()
        runner.wait(timeout=10)
        wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in qemu), timeout=10,
                   message="qemu gone with its runner")
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_vm_without_a_command_is_a_usage_error(tmp_path: Path) -> None:
    proc = _vm(["--"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "no command given" in proc.stderr
