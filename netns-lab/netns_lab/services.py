"""Programs the lab starts in namespaces: keepalived 2.2.7 as an interop peer, a tiny HTTP server."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from netns_lab.errors import LabError, ProcessExited
from netns_lab.lab import Host, LabProcess
from netns_lab.wait import wait_until

KEEPALIVED = "/usr/sbin/keepalived"


@dataclass(eq=False)
class KeepalivedPeer:
    """keepalived running in a host's namespace with every file in its own directory."""

    process: LabProcess
    directory: Path

    @property
    def config_path(self) -> Path:
        return self.directory / "keepalived.conf"

    def pid(self, which: str = "main") -> int | None:
        """PID from keepalived's own pidfile: which = main | vrrp | checker (None until written)."""
        path = self.directory / f"{which}.pid"
        with contextlib.suppress(OSError, ValueError):
            return int(path.read_text().split()[0])
        return None

    def log(self) -> str:
        return self.process.output()

    def stop(self, deadline_s: float = 3.0) -> int | None:
        return self.process.stop(deadline_s)


def start_keepalived(host: Host, config: str, name: str = "keepalived",
                     extra_args: tuple[str, ...] = (), wait: bool = True, *,
                     env: dict[str, str] | None = None) -> KeepalivedPeer:
    """Write `config` into a directory of the lab and run `keepalived -n -l -D` with pidfiles there.

    With wait=True, returns once the VRRP child has written its pidfile (LabError if keepalived exits or
    takes longer than 10 s). `-l` logs to the console, which the lab captures: `peer.log()`.
    `env` adds environment variables (TMPDIR moves keepalived's dump files out of /tmp).
    """
    directory = host.lab.workdir / f"{host.name}-{name}"
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "keepalived.conf"
    conf.write_text(config)
    argv = [KEEPALIVED, "-n", "-l", "-D", "-f", str(conf), "-p", str(directory / "main.pid"),
            "-r", str(directory / "vrrp.pid"), "-c", str(directory / "checker.pid"), *extra_args]
    peer = KeepalivedPeer(host.spawn(argv, name=name, env={**os.environ, **env} if env else None), directory)
    if wait:
        def started() -> bool:
            if not peer.process.alive():
                raise ProcessExited(f"keepalived in {host} exited {peer.process.returncode}")
            return peer.pid("vrrp") is not None
        try:
            wait_until(started, timeout=10, message=f"keepalived VRRP child in {host}")
        except LabError as exc:
            raise LabError(f"{exc}\nkeepalived log:\n{peer.log()}") from exc
    return peer


def start_http_server(host: Host, port: int = 80, body: str | None = None,
                      bind: str | None = None, timeout: float = 10.0, *,
                      access_log: bool = False) -> LabProcess:
    """An HTTP server in `host` serving an index.html that says `body` (default: host name).

    busybox httpd where there is one (native: it listens at once even in the VM, where
    `python -m http.server` takes 8 s or more to import under TCG, past 10 s on a loaded host);
    `python -m http.server` otherwise, or when the caller reads its `access_log` from the output
    (one line per request: client address first, then the request line in quotes).
    Returns once the port is listening (`ss` inside the namespace).
    """
    root = host.lab.workdir / f"{host.name}-www-{port}"
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text((body if body is not None else host.name) + "\n")
    busybox = None if access_log else shutil.which("busybox")
    if busybox is not None:
        argv = [busybox, "httpd", "-f", "-p", f"{bind}:{port}" if bind else str(port), "-h", str(root)]
    else:
        argv = [sys.executable, "-m", "http.server", str(port), "--directory", str(root)]
        if bind:
            argv += ["--bind", bind]
    proc = host.spawn(argv, name=f"http{port}")

    def listening() -> bool:
        if not proc.alive():
            raise ProcessExited(f"http server in {host} exited {proc.returncode}: {proc.output()}")
        out = host.run(["ss", "-Hltn", f"sport = :{port}"]).stdout
        return bool(out.strip())

    wait_until(listening, timeout=timeout, message=f"http server on {host}:{port}")
    return proc


# One HTTP/1.0 request per new connection over raw sockets (imports fast under the VM's TCG); prints
# each response body on its own line.
_HTTP_CLIENT = """
import socket, sys
for _ in range(int(sys.argv[2])):
    with socket.create_connection((sys.argv[1], 80), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\\r\\nHost: vip\\r\\n\\r\\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    print(data.split(b"\\r\\n\\r\\n", 1)[1].decode().strip())
"""


def http_fetch(client: Host, address: str, count: int, timeout: float = 60.0) -> list[str]:
    """``count`` GETs of http://ADDRESS/ from ``client``, one connection each: the bodies, in order
    (with :func:`start_http_server`, the name of the real server that answered)."""
    argv = [sys.executable, "-c", _HTTP_CLIENT, address, str(count)]
    return client.run(argv, timeout=timeout).stdout.split()
