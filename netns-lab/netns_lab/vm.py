"""Run a command inside a throw-away QEMU/TCG guest booting Debian's kernel (which has IPVS).

    python -m netns_lab vm [--timeout S] -- CMD ARGS...

The guest sees the host root read-only over virtio-9p, the current directory read-write at the same
path, tmpfs on /tmp /run /dev/shm, tmpfs-backed overlays on /etc /root /home /var /usr/local, no NIC
(`-net none`: traffic cannot leave the guest), and the venv + stdlib from a cached ext4 image (imports
are ~3x faster than over 9p). CMD runs in the same cwd with PATH, VIRTUAL_ENV and friends passed through;
its stdout and stderr stream to ours over two virtio serial ports; its exit code becomes ours
(124: timeout, 125: the guest gave no exit code; the console log tail is printed to stderr).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from netns_lab.errors import LabError
from netns_lab.vm_build import PythonTree, find_kernel, initramfs, python_image, vmlinux

EXIT_TIMEOUT = 124
EXIT_NO_STATUS = 125
DEFAULT_TIMEOUT_S = 900.0
PASS_ENV = ("PATH", "VIRTUAL_ENV", "CI", "TERM", "LANG", "LC_ALL", "TZ", "PYTHONPATH",
            "PYTHONHASHSEED", "PYTEST_ADDOPTS", "HYPOTHESIS_PROFILE",
            "GITHUB_ACTIONS", "NO_COLOR")
# Not PYTHONDONTWRITEBYTECODE: bytecode the guest writes into the shared tree speeds up the next run.
PASS_ENV_PREFIXES = ("NETNS_LAB_", "PYKA_", "PYKEEPALIVED_")
OVERLAY_DIRS = ("/etc", "/root", "/home", "/var", "/usr/local")
GUEST_CTL = "/run/netns-lab-ctl"
GUEST_PY = "/run/netns-lab-py"
IN_VM_ENV = "NETNS_LAB_IN_VM"
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class VmOptions:
    argv: tuple[str, ...]
    timeout_s: float = DEFAULT_TIMEOUT_S
    cwd: Path = field(default_factory=Path.cwd)
    memory: str = "2G"
    cpus: int = 2
    use_image: bool = True
    rw_dirs: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


def _stage1(opts: VmOptions, tree: PythonTree | None) -> str:
    """Per-run shell run by the initramfs (busybox): mounts, then switch_root into the host root."""
    q = shlex.quote
    opt9p = "trans=virtio,version=9p2000.L,msize=262144"
    # The read-only host root is cached in the guest (cache=loose: 3x fewer 9p round trips). The rw
    # shares are not by default: someone editing the tree during a run would make the guest read a
    # stale size and NUL bytes. NETNS_LAB_VM_RW_CACHE=loose trades that for speed (CI: nobody edits).
    rw_cache = opts.env.get("NETNS_LAB_VM_RW_CACHE", "")
    opt_rw = opt9p + (f",cache={rw_cache}" if rw_cache else "")
    lines = [
        "R=/newroot",
        f"mount -t 9p -o {opt9p},cache=loose,ro hostroot $R || reboot -f",
        "mount -t tmpfs -o mode=755 tmpfs $R/run",
        "mount -t tmpfs -o mode=1777 tmpfs $R/tmp",
        "mkdir -p $R/run/.ovl",
    ]
    for d in OVERLAY_DIRS:
        n = d.strip("/").replace("/", "_")
        ovl = f"$R/run/.ovl/{n}"
        lines.append(f"if [ -d $R{d} ]; then mkdir -p {ovl}/u {ovl}/w && "
                     f"mount -t overlay -o lowerdir=$R{d},upperdir={ovl}/u,workdir={ovl}/w overlay $R{d}; fi")
    lines += [
        "mount --move /proc $R/proc", "mount --move /sys $R/sys", "mount --move /dev $R/dev",
        "mkdir -p $R/dev/pts $R/dev/shm",
        "mount -t devpts devpts $R/dev/pts", "mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm",
        f"mkdir -p $R{GUEST_CTL} && mount --move /ctl $R{GUEST_CTL}",
    ]
    for i, rw_dir in enumerate((opts.cwd, *opts.rw_dirs)):
        # mkdir: a directory under /tmp (a tmpfs in the guest) needs its mount point made first
        lines.append(f"mkdir -p $R{q(str(rw_dir))}; mount -t 9p -o {opt_rw} rw{i} $R{q(str(rw_dir))}")
    if tree is not None:
        lines += [f"mkdir -p $R{GUEST_PY}", f"mount -t ext4 -o ro $R/dev/vda $R{GUEST_PY}"]
        for name, path in tree.dirs().items():
            lines.append(f"mount --bind $R{GUEST_PY}/{name} $R{q(str(path))}")
    lines.append(f"exec switch_root $R /bin/busybox sh {GUEST_CTL}/stage2.sh")
    return "\n".join(lines) + "\n"


def _stage2(opts: VmOptions) -> str:
    """Per-run shell run as PID 1 in the host root: env, cwd, the command, its status, power off."""
    q = shlex.quote
    env = {k: v for k, v in opts.env.items() if k in PASS_ENV or k.startswith(PASS_ENV_PREFIXES)}
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env.update({"HOME": "/root", IN_VM_ENV: "1"})
    exports = "\n".join(f"export {k}={q(v)}" for k, v in sorted(env.items()))
    cmd = " ".join(q(a) for a in opts.argv)
    return f"""B=/bin/busybox
for p in /sys/class/virtio-ports/*; do
  case "$($B cat $p/name)" in stdout) OUT=/dev/${{p##*/}};; stderr) ERR=/dev/${{p##*/}};; esac
done
$B hostname netns-lab-vm
$B ip link set lo up
{exports}
cd {q(str(opts.cwd))} || $B reboot -f
( {cmd} ) </dev/null >"$OUT" 2>"$ERR"
echo $? >{GUEST_CTL}/rc
$B sync
$B reboot -f
"""


class _Relay(threading.Thread):
    """Accepts QEMU's connection on a unix socket and copies the guest's bytes to a host stream."""

    def __init__(self, server: socket.socket, sink: int) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.sink = sink

    def run(self) -> None:
        with contextlib.suppress(OSError):
            conn, _ = self.server.accept()
            with conn:
                while data := conn.recv(65536):
                    os.write(self.sink, data)


def _qemu_argv(opts: VmOptions, ctl: Path, image: Path | None, kernel: Path, initrd: Path) -> list[str]:
    argv = [
        "qemu-system-x86_64", "-M", "pc", "-accel", "tcg,thread=multi", "-cpu", "max",
        "-smp", str(opts.cpus), "-m", opts.memory, "-nodefaults", "-no-user-config", "-display", "none",
        "-no-reboot", "-net", "none",
        "-kernel", str(kernel), "-initrd", str(initrd),
        "-append", "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init",
        "-serial", f"file:{ctl / 'console.log'}",
        "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
        "-virtfs", f"local,path={ctl},mount_tag=ctl,security_model=none",
        "-device", "virtio-serial-pci",
    ]
    for i, d in enumerate((opts.cwd, *opts.rw_dirs)):
        argv += ["-virtfs", f"local,path={d},mount_tag=rw{i},security_model=none,multidevs=remap"]
    for name in ("stdout", "stderr"):
        argv += ["-chardev", f"socket,id={name},path={ctl / name}.sock",
                 "-device", f"virtserialport,chardev={name},name={name}"]
    if image is not None:
        argv += ["-drive", f"file={image},if=virtio,format=raw,readonly=on"]
    return argv


def run_in_vm(opts: VmOptions) -> int:
    """Boot the guest, run opts.argv, return its exit status (124 timeout, 125 no status)."""
    if not opts.argv:
        raise LabError("vm: no command given (usage: python -m netns_lab vm -- CMD ARGS...)")
    if shutil.which("qemu-system-x86_64") is None:
        raise LabError("qemu-system-x86_64 not found: install qemu-system-x86 (scripts/install-deps.sh)")
    kernel = find_kernel()
    tree = PythonTree.current() if opts.use_image else None
    image = python_image(tree) if tree is not None else None
    boot = vmlinux(kernel)
    initrd = initramfs(kernel)
    with tempfile.TemporaryDirectory(prefix="netns-lab-vm-") as tmp:
        ctl = Path(tmp)
        (ctl / "stage1.sh").write_text(_stage1(opts, tree))
        (ctl / "stage2.sh").write_text(_stage2(opts))
        servers, relays = [], []
        for name, sink in (("stdout", sys.stdout.fileno()), ("stderr", sys.stderr.fileno())):
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(str(ctl / f"{name}.sock"))
            server.listen(1)
            servers.append(server)
            relays.append(_Relay(server, sink))
        sys.stdout.flush()
        sys.stderr.flush()
        # Started before the relay threads exist (preexec_fn is only safe without threads); QEMU's
        # connections wait in the sockets' backlog until the relays accept them.
        qemu = subprocess.Popen(_qemu_argv(opts, ctl, image, boot, initrd), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent)  # noqa: PLW1509
        for relay in relays:
            relay.start()
        try:
            qemu_out, _ = qemu.communicate(timeout=opts.timeout_s)
        except subprocess.TimeoutExpired:
            qemu.kill()
            qemu.communicate()
            print(f"netns-lab vm: timeout after {opts.timeout_s:g}s", file=sys.stderr)
            return EXIT_TIMEOUT
        finally:
            if qemu.poll() is None:
                qemu.kill()
                qemu.wait()
            for relay in relays:
                relay.join(timeout=5)
            for server in servers:
                server.close()
        if os.environ.get("NETNS_LAB_VM_DEBUG"):
            sys.stderr.write((ctl / "console.log").read_text(errors="replace"))
        rc_file = ctl / "rc"
        if rc_file.exists() and rc_file.read_text().strip().isdigit():
            return int(rc_file.read_text().strip())
        console = (ctl / "console.log").read_text(errors="replace") if (ctl / "console.log").exists() else ""
        tail = "\n".join(console.splitlines()[-30:])
        print(f"netns-lab vm: the guest gave no exit code (qemu rc {qemu.returncode})\n"
              f"{qemu_out.decode(errors='replace')}--- console tail ---\n{tail}", file=sys.stderr)
        return EXIT_NO_STATUS


def _die_with_parent() -> None:
    """In the QEMU child before exec: SIGKILL it if the runner dies (even by SIGKILL)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _sigterm_to_exit(signum: int, frame: FrameType | None) -> None:
    sys.exit(128 + signum)


def timed(opts: VmOptions) -> tuple[int, float]:
    """run_in_vm plus its wall time in seconds (for docs and benchmarks)."""
    start = time.monotonic()
    rc = run_in_vm(opts)
    return rc, time.monotonic() - start


def main_vm(argv: Sequence[str], timeout_s: float, no_image: bool, memory: str,
            rw_dirs: Sequence[str]) -> int:
    opts = VmOptions(tuple(argv), timeout_s=timeout_s, use_image=not no_image, memory=memory,
                     rw_dirs=tuple(Path(d).resolve() for d in rw_dirs))
    signal.signal(signal.SIGTERM, _sigterm_to_exit)  # SystemExit runs the finally that kills QEMU
    return run_in_vm(opts)
