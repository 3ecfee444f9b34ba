"""Build (and cache) what the IPVS VM boots: vmlinux, a busybox initramfs, an ext4 image of the Python tree.

Everything is cached under /var/tmp/netns-lab-vm (NETNS_LAB_VM_CACHE overrides), keyed by kernel version
and a hash of the inputs, built into a temporary name and renamed into place (safe under concurrent runs).
"""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from netns_lab.errors import LabError

CACHE_ENV = "NETNS_LAB_VM_CACHE"
DEFAULT_CACHE = Path("/var/tmp/netns-lab-vm")
BUSYBOX = Path("/bin/busybox")
XZ_MAGIC = b"\xfd7zXZ\x00"
SIG_MAGIC = b"~Module signature appended~\n"
SIG_TRAILER = 12  # struct module_signature; its last 4 bytes are the big-endian signature length
IMAGES_KEPT = 3
# Left out of the stdlib copy: the interpreter-wide site-packages (a venv without system site packages
# never reads it), the test suite, IDLE/tk and the static libpython in config-*: 90 % of the bytes.
STDLIB_EXCLUDES = ("site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "config-")
# Only what is needed to mount the roots; everything else (veth, bridge, ip_vs, ip_vs_*, ipip, nf_*)
# is autoloaded later by the guest kernel through the host's /sbin/modprobe and /lib/modules over 9p.
BOOT_MODULES = ("virtio_pci", "virtio_console", "9pnet_virtio", "9p", "overlay", "virtio_blk",
                "crc32c_generic", "ext4")

INIT_SCRIPT = r"""#!/bin/busybox sh
# netns-lab VM stage 1 (initramfs): load boot modules, mount the host root (9p, ro) and the control
# share, then run the per-run stage-1 script from the control share, which ends in switch_root.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.order); do insmod "/lib/modules/$m.ko" 2>/dev/null; done
mkdir -p /newroot /ctl
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 ctl /ctl || { echo "netns-lab: no ctl"; reboot -f; }
. /ctl/stage1.sh
echo "netns-lab: stage1 returned"; reboot -f
"""


def cache_dir() -> Path:
    path = Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:16]


def _publish(data_or_path: bytes | Path, target: Path) -> Path:
    """Atomically place bytes (or a finished temp file) at `target`."""
    if isinstance(data_or_path, bytes):
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data_or_path)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    else:
        os.replace(data_or_path, target)
    return target


@dataclass(frozen=True, slots=True)
class Kernel:
    version: str
    vmlinuz: Path

    @property
    def modules_dir(self) -> Path:
        return Path("/lib/modules") / self.version


def find_kernel() -> Kernel:
    """The newest /boot/vmlinuz-* that has modules with IPVS (NETNS_LAB_KERNEL=/boot/vmlinuz-X overrides)."""
    override = os.environ.get("NETNS_LAB_KERNEL")
    candidates = [Path(override)] if override else sorted(Path("/boot").glob("vmlinuz-*"), reverse=True)
    for path in candidates:
        version = path.name.removeprefix("vmlinuz-")
        if path.is_file() and (Path("/lib/modules") / version / "modules.dep").is_file():
            return Kernel(version, path)
    raise LabError("no bootable kernel: install Debian's linux-image-amd64 (scripts/install-deps.sh); "
                   "need /boot/vmlinuz-VER and /lib/modules/VER/modules.dep")


def vmlinux(kernel: Kernel) -> Path:
    """The ELF kernel extracted from the xz bzImage; QEMU boots it through its PVH entry (2.5x faster)."""
    raw = kernel.vmlinuz.read_bytes()
    target = cache_dir() / f"vmlinux-{kernel.version}-{_digest(raw)}"
    if target.exists():
        return target
    start = raw.find(XZ_MAGIC)
    while start >= 0:
        dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        try:
            out = dec.decompress(raw[start:])
        except lzma.LZMAError:
            out = b""
        if out.startswith(b"\x7fELF"):
            _publish(out, target)
            _prune(cache_dir().glob(f"vmlinux-{kernel.version}-*"), keep=2)
            return target
        start = raw.find(XZ_MAGIC, start + 1)
    raise LabError(f"{kernel.vmlinuz}: no xz-compressed ELF kernel inside (only xz kernels are supported)")


def _module_deps(kernel: Kernel) -> dict[str, list[str]]:
    deps: dict[str, list[str]] = {}
    for line in (kernel.modules_dir / "modules.dep").read_text().splitlines():
        target, _, rest = line.partition(":")
        deps[target] = rest.split()
    return deps


def _module_name(relpath: str) -> str:
    return re.sub(r"\.ko(\.(xz|zst|gz))?$", "", Path(relpath).name).replace("-", "_")


def resolve_modules(kernel: Kernel, names: tuple[str, ...] = BOOT_MODULES) -> list[str]:
    """Module paths (relative to /lib/modules/VER) for `names` and their dependencies, dependencies first.

    Names that are built into the kernel are skipped; an unknown name raises LabError.
    """
    deps = _module_deps(kernel)
    by_name = {_module_name(p): p for p in deps}
    builtin = {_module_name(p) for p in (kernel.modules_dir / "modules.builtin").read_text().split()}
    order: list[str] = []

    def visit(path: str) -> None:
        if path in order:
            return
        for dep in deps.get(path, []):
            visit(dep)
        order.append(path)

    for name in names:
        key = name.replace("-", "_")
        if key in by_name:
            visit(by_name[key])
        elif key not in builtin:
            raise LabError(f"kernel {kernel.version} has no module {name!r}")
    return order


def strip_signature(data: bytes) -> bytes:
    """Drop the appended module signature (TCG makes RSA verification slow); unsigned input is unchanged."""
    if not data.endswith(SIG_MAGIC):
        return data
    trailer = data[-len(SIG_MAGIC) - SIG_TRAILER:-len(SIG_MAGIC)]
    sig_len = int.from_bytes(trailer[-4:], "big")
    return data[: len(data) - len(SIG_MAGIC) - SIG_TRAILER - sig_len]


class _Cpio:
    """A minimal newc cpio writer (what the kernel unpacks as initramfs)."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 1

    def add(self, name: str, mode: int, data: bytes = b"") -> None:
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
        header = "070701" + "".join(f"{v:08x}" for v in fields)
        self.buf.write(header.encode() + name.encode() + b"\0")
        self._pad()
        self.buf.write(data)
        self._pad()
        self.ino += 1

    def _pad(self) -> None:
        self.buf.write(b"\0" * (-self.buf.tell() % 4))

    def finish(self) -> bytes:
        self.add("TRAILER!!!", 0)
        return self.buf.getvalue()


def initramfs(kernel: Kernel) -> Path:
    """busybox-static + the boot modules (signatures stripped) + /init; cached by content."""
    if not BUSYBOX.is_file():
        raise LabError("/bin/busybox missing: install busybox-static (scripts/install-deps.sh)")
    modules = resolve_modules(kernel)
    busybox = BUSYBOX.read_bytes()
    blobs = {m: strip_signature((kernel.modules_dir / m).read_bytes()) for m in modules}
    key = _digest(INIT_SCRIPT, busybox, *modules, *blobs.values())
    target = cache_dir() / f"initramfs-{kernel.version}-{key}.cpio"
    if target.exists():
        return target
    cpio = _Cpio()
    for d in ("bin", "sbin", "dev", "proc", "sys", "lib", "lib/modules", "newroot", "ctl", "tmp"):
        cpio.add(d, stat.S_IFDIR | 0o755)
    cpio.add("dev/console", stat.S_IFCHR | 0o600)  # rdev 5:1 is set by devtmpfs later; placeholder
    cpio.add("bin/busybox", stat.S_IFREG | 0o755, busybox)
    cpio.add("init", stat.S_IFREG | 0o755, INIT_SCRIPT.encode())
    names = []
    for path, blob in blobs.items():
        name = _module_name(path)
        names.append(name)
        cpio.add(f"lib/modules/{name}.ko", stat.S_IFREG | 0o644, blob)
    cpio.add("modules.order", stat.S_IFREG | 0o644, ("\n".join(names) + "\n").encode())
    _publish(cpio.finish(), target)
    _prune(cache_dir().glob(f"initramfs-{kernel.version}-*.cpio"), keep=2)
    return target


@dataclass(frozen=True, slots=True)
class PythonTree:
    """Directories packed into the ext4 image: the venv and the interpreter's stdlib."""

    venv: Path | None
    stdlib: Path

    @classmethod
    def current(cls) -> PythonTree:
        venv = os.environ.get("VIRTUAL_ENV") or (sys.prefix if sys.prefix != sys.base_prefix else "")
        return cls(Path(venv).resolve() if venv else None, Path(sysconfig.get_paths()["stdlib"]).resolve())

    def dirs(self) -> dict[str, Path]:
        out = {"stdlib": self.stdlib}
        if self.venv is not None:
            out["venv"] = self.venv
        return out


def _excluded(name: str, excludes: tuple[str, ...]) -> bool:
    return any(name == e or (e.endswith("-") and name.startswith(e)) for e in excludes)


def _tree_key(root: Path, excludes: tuple[str, ...]) -> tuple[str, int]:
    """A hash of every entry's path, size and mtime, and the total size in bytes."""
    h = hashlib.sha256()
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == str(root):
            dirnames[:] = [d for d in dirnames if not _excluded(d, excludes)]
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            total += st.st_size
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16], total


def python_image(tree: PythonTree) -> Path:
    """An ext4 image holding `tree`'s directories at /<name>, rebuilt only when a file changes."""
    dirs = tree.dirs()
    keys = [(name, *_tree_key(path, _excludes(name))) for name, path in sorted(dirs.items())]
    key = _digest(*(f"{n}:{dirs[n]}:{k}" for n, k, _ in keys))
    target = cache_dir() / f"python-{key}.ext4"
    if target.exists():
        return target
    if tree.venv is not None and _warm_pytest_cache(tree.venv):
        return python_image(tree)  # the venv gained bytecode: key it again (stable from now on)
    total_mb = sum(size for _, _, size in keys) // (1 << 20)
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix=".stage-") as stage:
        for name, path in dirs.items():
            _copy_tree(path, Path(stage) / name)
            for entry in list((Path(stage) / name).iterdir()):
                if _excluded(entry.name, _excludes(name)):
                    shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        fd, tmp = tempfile.mkstemp(dir=cache_dir(), prefix=".tmp-", suffix=".ext4")
        os.close(fd)
        size_mb = total_mb + total_mb // 3 + 64
        proc = subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-L", "nlpython",
                               "-E", "root_owner=0:0", "-d", stage, tmp, f"{size_mb}M"],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            os.unlink(tmp)
            raise LabError(f"mke2fs failed: {proc.stderr.strip()}")
    os.chmod(tmp, 0o644)
    _publish(Path(tmp), target)
    _prune(cache_dir().glob("python-*.ext4"), keep=IMAGES_KEPT)
    return target


def _warm_pytest_cache(venv: Path) -> bool:
    """Let pytest write its assertion-rewritten bytecode for the venv's pytest plugins (hypothesis...).

    pytest rewrites every module of a plugin distribution at each start unless the rewritten .pyc
    exists; the guest cannot write it (the venv is read-only there) and rewriting hypothesis alone
    takes ~10 s under TCG. A collect-only run in an empty directory writes the files (bytecode cache
    only, what any pytest run does unless PYTHONDONTWRITEBYTECODE is set). True if files were added.
    """
    python = venv / "bin" / "python"
    if not python.exists() or not list(venv.glob("lib/python3*/site-packages/_pytest")):
        return False
    before = sum(1 for _ in venv.rglob("*-pytest-*.pyc"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTEST_ADDOPTS")}
    with tempfile.TemporaryDirectory(prefix="netns-lab-warm-") as empty:
        subprocess.run([str(python), "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                        "--rootdir", empty, empty], cwd=empty, env=env, capture_output=True, check=False,
                       timeout=120)
    return sum(1 for _ in venv.rglob("*-pytest-*.pyc")) > before


def _excludes(name: str) -> tuple[str, ...]:
    return STDLIB_EXCLUDES if name == "stdlib" else ()


def _copy_tree(src: Path, dst: Path) -> None:
    # Hard links when possible (same filesystem: instant), a real copy otherwise.
    proc = subprocess.run(["cp", "-al", str(src), str(dst)], capture_output=True, check=False)
    if proc.returncode != 0:
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, symlinks=True)


def _prune(paths: Iterable[Path], keep: int) -> None:
    files = sorted(paths, key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        old.unlink(missing_ok=True)
