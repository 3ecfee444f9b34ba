#!/usr/bin/env python3
"""The servers bench/checks/run.py checks: one per loopback address 127.10.x.y (no address is added:
all of 127/8 is loopback), on port 8080, in one plain ``selectors`` loop so its CPU is not the bench's.

    listener.py SERVERS HTTP UDP PING    (counts; the first HTTP addresses serve HTTP, the next UDP
                                          echo, the next PING nothing (the kernel answers), the rest TCP)

TCP servers accept and close; HTTP servers answer every request with ``200 OK``; UDP servers echo
each datagram.  Prints ``ready`` once listening and ends when its stdin closes.
"""

from __future__ import annotations

import contextlib
import resource
import selectors
import socket
import sys
from ipaddress import IPv4Address

PORT = 8080
BODY = b"ok\n"
RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)


def addresses(count: int) -> list[IPv4Address]:
    """``count`` loopback addresses 127.10.0.1, 127.10.0.2 ... (skipping .0 and .255 octets)."""
    out: list[IPv4Address] = []
    n = 0
    while len(out) < count:
        n += 1
        addr = IPv4Address(int(IPv4Address("127.10.0.0")) + n)
        if addr.packed[3] not in (0, 255):
            out.append(addr)
    return out


def kinds(servers: int, http: int, udp: int, ping: int) -> list[str]:
    """The kind of server at each address (the order both processes use)."""
    return ["http"] * http + ["udp"] * udp + ["ping"] * ping + ["tcp"] * (servers - http - udp - ping)


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def serve(servers: int, http: int, udp: int, ping: int) -> int:
    raise_nofile()
    sel = selectors.EpollSelector()
    for kind, addr in zip(kinds(servers, http, udp, ping), addresses(servers), strict=True):
        if kind == "ping":
            continue
        if kind == "udp":
            usock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            usock.bind((str(addr), PORT))
            usock.setblocking(False)
            sel.register(usock, selectors.EVENT_READ, "udp")
            continue
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind((str(addr), PORT))
        lsock.listen(1024)
        lsock.setblocking(False)
        sel.register(lsock, selectors.EVENT_READ, kind)
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    print("ready", flush=True)
    while True:
        for key, _mask in sel.select():
            kind = key.data
            if kind == "stdin":
                return 0
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if kind == "conn":
                _answer(sel, sock)
            elif kind == "udp":
                _echo(sock)
            else:
                _accept(sel, sock, kind)


def _echo(sock: socket.socket) -> None:
    while True:
        try:
            data, peer = sock.recvfrom(2048)
        except OSError:  # BlockingIOError: drained
            return
        with contextlib.suppress(OSError):
            sock.sendto(data, peer)


def _accept(sel: selectors.BaseSelector, sock: socket.socket, kind: str) -> None:
    while True:
        try:
            conn, _peer = sock.accept()
        except OSError:  # BlockingIOError: no more pending
            return
        if kind == "tcp":
            conn.close()
            continue
        conn.setblocking(False)
        try:  # on loopback the request has usually arrived already: answer at once
            data = conn.recv(65536)
        except BlockingIOError:
            sel.register(conn, selectors.EVENT_READ, "conn")
            continue
        except OSError:
            data = b""
        if data:
            with contextlib.suppress(OSError):
                conn.send(RESPONSE)
        conn.close()


def _answer(sel: selectors.BaseSelector, conn: socket.socket) -> None:
    try:
        data = conn.recv(65536)
        if data:
            conn.send(RESPONSE)
    except OSError:
        pass
    sel.unregister(conn)
    conn.close()


if __name__ == "__main__":
    sys.exit(serve(*(int(a) for a in sys.argv[1:5])))
