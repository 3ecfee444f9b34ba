"""The kernel's process connector (netlink ``NETLINK_CONNECTOR``, group ``CN_IDX_PROC``): fork, exec,
name change and exit of every process, as they happen (``linux/cn_proc.h``; keepalived's
``track_process`` uses the same).

:func:`parse` turns one datagram into a :class:`ProcEvent` (pure, so it is tested on bytes);
:func:`open_connector` opens and subscribes the socket.  The connector exists only in the host's
network namespace: inside another one the subscription is refused (``ECONNREFUSED``), and the
socket is then opened from a short-lived helper thread that joins the host's namespace for the
``socket()`` call only (``setns`` changes that thread alone; the daemon never leaves its own
namespace).  Without ``CAP_SYS_ADMIN`` for that, or in a PID namespace other than the host's (the
kernel acknowledges nothing there), the caller falls back to reading ``/proc``.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import threading
from dataclasses import dataclass

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
NLMSG_DONE = 3
NLMSG_ERROR = 2
NLMSG_NOOP = 1
PROC_CN_MCAST_LISTEN = 1
PROC_CN_MCAST_IGNORE = 2
PROC_EVENT_NONE = 0x0
PROC_EVENT_FORK = 0x1
PROC_EVENT_EXEC = 0x2
PROC_EVENT_COMM = 0x200
PROC_EVENT_EXIT = 0x80000000
CLONE_NEWNET = 0x40000000
SO_RCVBUFFORCE = 33
RCVBUF_BYTES = 4 << 20
"""Room for a burst of process events (a busy host forks thousands per second)."""
COMM_LEN = 16
HOST_NETNS = "/proc/1/ns/net"
HELPER_TIMEOUT_S = 2.0

_NLMSGHDR = struct.Struct("=IHHII")
_CN_MSG = struct.Struct("=IIIIHH")
_EVENT_HEAD = struct.Struct("=IIQ")
_TWO_PIDS = struct.Struct("=ii")
_FOUR_PIDS = struct.Struct("=iiii")
_EVENT_DATA = _NLMSGHDR.size + _CN_MSG.size + _EVENT_HEAD.size


@dataclass(frozen=True, slots=True)
class Ack:
    """The kernel took the subscription (``PROC_EVENT_NONE``)."""


@dataclass(frozen=True, slots=True)
class Fork:
    parent: int
    child: int


@dataclass(frozen=True, slots=True)
class Exec:
    pid: int


@dataclass(frozen=True, slots=True)
class Comm:
    pid: int
    comm: str


@dataclass(frozen=True, slots=True)
class Exit:
    pid: int


ProcEvent = Ack | Fork | Exec | Comm | Exit


def subscribe_message(listen: bool = True) -> bytes:
    """The request that starts (or stops) the kernel's process events to this socket."""
    op = struct.pack("=I", PROC_CN_MCAST_LISTEN if listen else PROC_CN_MCAST_IGNORE)
    cn = _CN_MSG.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(op), 0)
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(cn) + len(op), NLMSG_DONE, 0, 0, 0) + cn + op


def parse(data: bytes) -> ProcEvent | None:
    """One datagram -> a process-level event; None for anything else (threads, other events,
    other connectors, truncated or malformed messages).  Threads are filtered as keepalived does:
    only events whose thread id is the process id count."""
    if len(data) < _EVENT_DATA:
        return None
    length, kind, _, _, _ = _NLMSGHDR.unpack_from(data)
    if kind in (NLMSG_ERROR, NLMSG_NOOP) or length > len(data) or length < _EVENT_DATA:
        return None
    idx, val, _, ack, _, _ = _CN_MSG.unpack_from(data, _NLMSGHDR.size)
    if (idx, val) != (CN_IDX_PROC, CN_VAL_PROC):
        return None
    what = _EVENT_HEAD.unpack_from(data, _NLMSGHDR.size + _CN_MSG.size)[0]
    if (what == PROC_EVENT_NONE) != bool(ack):
        return None
    body = data[_EVENT_DATA:length]
    if what == PROC_EVENT_NONE:
        return Ack()
    if what == PROC_EVENT_FORK and len(body) >= _FOUR_PIDS.size:
        _, parent_tgid, child_pid, child_tgid = _FOUR_PIDS.unpack_from(body)
        return Fork(parent_tgid, child_tgid) if child_pid == child_tgid else None
    if len(body) < _TWO_PIDS.size:
        return None
    pid, tgid = _TWO_PIDS.unpack_from(body)
    if pid != tgid:
        return None
    if what == PROC_EVENT_EXEC:
        return Exec(tgid)
    if what == PROC_EVENT_EXIT:
        return Exit(tgid)
    if what == PROC_EVENT_COMM and len(body) >= _TWO_PIDS.size + COMM_LEN:
        raw = body[_TWO_PIDS.size:_TWO_PIDS.size + COMM_LEN].split(b"\0", 1)[0]
        return Comm(tgid, raw.decode("utf-8", "surrogateescape"))
    return None


def _open_here() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, NETLINK_CONNECTOR)
    try:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
        sock.bind((0, CN_IDX_PROC))
        sock.send(subscribe_message())
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _in_host_netns(host_netns: str) -> bool:
    try:
        return os.stat(host_netns).st_ino == os.stat("/proc/self/ns/net").st_ino
    except OSError:
        return True  # cannot tell (or may not look): do not try to join it


def _open_from_host_netns(host_netns: str) -> socket.socket:
    """Open the socket in the host's network namespace, from a thread that joins it just for that."""
    result: list[socket.socket | OSError] = []

    def work() -> None:
        import ctypes  # noqa: PLC0415  (only on this rare path; not at every start)

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(host_netns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    code = ctypes.get_errno()
                    raise OSError(code, f"setns {host_netns}: {os.strerror(code)}")
            finally:
                os.close(fd)
            result.append(_open_here())
        except OSError as exc:
            result.append(exc)

    helper = threading.Thread(target=work, name="proc-connector-netns")
    helper.start()
    helper.join(HELPER_TIMEOUT_S)
    if not result:
        raise OSError(errno.ETIMEDOUT, "opening the process connector in the host namespace timed out")
    outcome = result[0]
    if isinstance(outcome, OSError):
        raise outcome
    return outcome


def open_connector(host_netns: str = HOST_NETNS) -> tuple[socket.socket, bool]:
    """A subscribed, non-blocking process-connector socket and whether it was opened from the host's
    namespace (``host_netns``: a network-namespace file of it).  Raises OSError when there is none
    (no ``CONFIG_PROC_EVENTS``, no privilege, the host namespace out of reach)."""
    try:
        return _open_here(), False
    except OSError as exc:
        if exc.errno != errno.ECONNREFUSED or _in_host_netns(host_netns):
            raise
    return _open_from_host_netns(host_netns), True


def receive(sock: socket.socket) -> tuple[list[ProcEvent], bool]:
    """Every event waiting on ``sock`` (non-blocking) and whether some were lost (``ENOBUFS``:
    the caller must read ``/proc`` again).  Datagrams not from the kernel are ignored."""
    events: list[ProcEvent] = []
    while True:
        try:
            data, (sender, _groups) = sock.recvfrom(1024)
        except (BlockingIOError, InterruptedError):
            return events, False
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:
                return events, True
            raise
        if sender != 0:
            continue
        event = parse(data)
        if event is not None:
            events.append(event)
