"""Traffic for the active/active lab: a tagged echo server and two bounded clients (standard library only:
it starts in about a second even in the TCG VM).

    python -m netns_lab.flows server --port 7000 --name r1
        answers every line with "r1 LINE" (which real server answered);
    python -m netns_lab.flows hold --target 203.0.113.200:7000 --flows 12 --interval 0.1 --duration 20
        keeps 12 connections open, one line per connection every interval; a connection that fails is
        recorded (when, why) and not reopened;
    python -m netns_lab.flows new --target 203.0.113.200:7000 --rate 20 --duration 20 --timeout 1
        opens a new connection `rate` times a second (one line, one answer, close).

The clients print one JSON document when done (or on SIGTERM/SIGINT): per connection its local
port, the real server that answered first, lines answered, and the failure if any; for `new`, every
attempt with its time, result and server.  Everything is bounded by `--duration`.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
import time
from typing import Any


def serve(port: int, name: str) -> int:
    """Echo each line prefixed with `name`, one thread per connection (a few dozen in the lab)."""
    listener = socket.create_server(("0.0.0.0", port), backlog=512, reuse_port=True)
    print(f"listening on {port}", flush=True)

    def handle(conn: socket.socket) -> None:
        with conn:
            buffered = b""
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                buffered += data
                while b"\n" in buffered:
                    line, buffered = buffered.split(b"\n", 1)
                    try:
                        conn.sendall(name.encode() + b" " + line + b"\n")
                    except OSError:
                        return

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def _target(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def _ask(sock: socket.socket, line: bytes, timeout: float) -> str:
    sock.settimeout(timeout)
    sock.sendall(line + b"\n")
    answer = b""
    while not answer.endswith(b"\n"):
        data = sock.recv(4096)
        if not data:
            raise ConnectionError("closed by the peer")
        answer += data
    return answer.decode().split(" ", 1)[0]


def hold(target: tuple[str, int], flows: int, interval: float, duration: float, *, timeout: float,
         stop: threading.Event) -> dict[str, Any]:
    started = time.time()
    conns: list[dict[str, Any]] = []
    socks: list[socket.socket | None] = []
    for _ in range(flows):
        record: dict[str, Any] = {"port": None, "server": None, "answered": 0, "failed_at": None,
                                  "error": None}
        try:
            sock = socket.create_connection(target, timeout=timeout)
            record["port"] = sock.getsockname()[1]
            record["server"] = _ask(sock, b"hello", timeout)
            record["answered"] = 1
            socks.append(sock)
        except OSError as exc:
            record.update(failed_at=time.time(), error=str(exc) or type(exc).__name__)
            socks.append(None)
        conns.append(record)
    print(json.dumps({"ready": [c["port"] for c in conns]}), flush=True)
    deadline = started + duration
    while time.time() < deadline and not stop.is_set():
        for sock, record in zip(socks, conns, strict=True):
            if sock is None or record["failed_at"] is not None:
                continue
            try:
                server = _ask(sock, b"ping", timeout)
                record["answered"] += 1
                if server != record["server"]:
                    record["moved_to"] = server
            except OSError as exc:
                record.update(failed_at=time.time(), error=str(exc) or type(exc).__name__)
        stop.wait(interval)
    for sock in socks:
        if sock is not None:
            sock.close()
    return {"mode": "hold", "started": started, "flows": conns}


def new(target: tuple[str, int], rate: float, duration: float, timeout: float,
        stop: threading.Event) -> dict[str, Any]:
    started = time.time()
    attempts: list[dict[str, Any]] = []
    period = 1.0 / rate
    next_at = started
    print(json.dumps({"ready": []}), flush=True)
    while time.time() < started + duration and not stop.is_set():
        at = time.time()
        entry: dict[str, Any] = {"at": at, "ok": False, "server": None, "port": None, "error": None}
        try:
            with socket.create_connection(target, timeout=timeout) as sock:
                entry["port"] = sock.getsockname()[1]
                entry["server"] = _ask(sock, b"once", timeout)
                entry["ok"] = True
        except OSError as exc:
            entry["error"] = str(exc) or type(exc).__name__
        entry["took"] = round(time.time() - at, 4)
        attempts.append(entry)
        next_at += period
        stop.wait(max(0.0, next_at - time.time()))
    return {"mode": "new", "started": started, "attempts": attempts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netns_lab.flows")
    sub = parser.add_subparsers(dest="mode", required=True)
    server = sub.add_parser("server")
    server.add_argument("--port", type=int, required=True)
    server.add_argument("--name", required=True)
    for mode in ("hold", "new"):
        client = sub.add_parser(mode)
        client.add_argument("--target", required=True, help="ADDRESS:PORT")
        client.add_argument("--duration", type=float, default=20.0)
        client.add_argument("--timeout", type=float, default=1.0)
        if mode == "hold":
            client.add_argument("--flows", type=int, default=12)
            client.add_argument("--interval", type=float, default=0.1)
        else:
            client.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args(argv)
    if args.mode == "server":
        return serve(args.port, args.name)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    target = _target(args.target)
    duration = min(args.duration, 600.0)
    if args.mode == "hold":
        result = hold(target, min(args.flows, 500), args.interval, duration, timeout=args.timeout, stop=stop)
    else:
        result = new(target, min(args.rate, 200.0), duration, args.timeout, stop)
    json.dump(result, sys.stdout)
    print(flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
