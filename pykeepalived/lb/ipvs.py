"""IPVS driver: the kernel table over generic netlink (pyroute2), and reconcile by dump -> diff -> apply.

This is the only module that imports pyroute2's IPVS.  Two layers:

* :class:`NetlinkIpvsTable` speaks to the kernel: ``dump()`` returns an :class:`IpvsState`,
  ``execute(op)`` applies one :data:`IpvsOp`; kernel errors become
  :class:`~pykeepalived.errors.DriverError` naming the service.  Edits are IPVS_CMD_SET_*; pyroute2's
  ``"update"`` command (a DELETE in 0.9.7) is never used.
* :class:`IpvsReconciler` works on any table with that interface (also
  ``testing.fake_ipvs.FakeIpvsTable``): ``reconcile(desired)`` dumps, diffs against what it owns,
  applies (EEXIST / ESRCH / ENOENT handled as "already so" where that is right), dumps again to
  verify, and returns a :class:`ReconcileResult`; it does not raise for kernel errors.

Services and destinations go over the wire through ``lb.ipvs_wire`` (struct-encoded, batched: about
20x faster than pyroute2's per-request objects under the VM); pyroute2 opens the sockets (in a
network namespace if asked), resolves the family and carries the rare sync-daemon / timeout
commands, with its message class extended for the attributes it leaves untyped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import socket
import threading
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from pyroute2 import AsyncIPVS
from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, nla
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.generic import ipvs as genl_ipvs

from pykeepalived.errors import DriverError
from pykeepalived.lb.diff import (
    AddDest,
    AddService,
    DelDest,
    DelService,
    EditDest,
    EditService,
    IpvsOp,
    Ownership,
    diff,
    op_target,
)
from pykeepalived.lb.ipvs_wire import WireChannel
from pykeepalived.lb.model import (
    IpvsState,
    ServiceKey,
)
from pykeepalived.lb.sync_daemon import LvsTimeouts, SyncDaemon, SyncDaemonSpec, SyncState

log = logging.getLogger(__name__)
_T = TypeVar("_T")

NETLINK_GENERIC = 16
CLONE_NEWNET = 0x40000000
NO_IPVS_MESSAGE = "this kernel has no IPVS (generic netlink family 'IPVS' not found; modprobe ip_vs failed?)"


class IpvsTable(Protocol):
    """What the reconciler needs from a kernel table (real or fake)."""

    async def dump(self) -> IpvsState: ...

    async def execute(self, op: IpvsOp) -> None: ...

    async def execute_many(self, ops: Sequence[IpvsOp]) -> list[DriverError | None]: ...

    async def set_sync_daemons(self, wanted: Iterable[SyncDaemon]) -> None: ...

    async def set_timeouts(self, timeouts: LvsTimeouts) -> None: ...

    async def stats(self) -> list[dict[str, object]]: ...

    async def close(self) -> None: ...


# ---------------------------------------------------------------------------------------------------
# netlink encoding / decoding


class _IpvsCtlMsg(genl_ipvs.ipvsmsg):  # type: ignore[misc]
    """ipvsmsg with the sync-daemon and timeout attributes typed (pyroute2 leaves them "hex").

    pyroute2 caches the compiled NLA table in name-mangled class attributes that a subclass
    inherits; reset them so this class compiles its own map.
    """

    _nlmsg_base__compiled_nla = False
    _nlmsg_base__t_nla_map = None
    _nlmsg_base__r_nla_map = None

    nla_map = (
        ("IPVS_CMD_ATTR_UNSPEC", "none"),
        ("IPVS_CMD_ATTR_SERVICE", "service"),
        ("IPVS_CMD_ATTR_DEST", "dest"),
        ("IPVS_CMD_ATTR_DAEMON", "daemon"),
        ("IPVS_CMD_ATTR_TIMEOUT_TCP", "uint32"),
        ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", "uint32"),
        ("IPVS_CMD_ATTR_TIMEOUT_UDP", "uint32"),
    )

    class daemon(nla):  # type: ignore[misc]  # pyroute2 finds NLA types by attribute name
        prefix = "IPVS_DAEMON_ATTR_"
        nla_map = (
            ("IPVS_DAEMON_ATTR_UNSPEC", "none"),
            ("IPVS_DAEMON_ATTR_STATE", "uint32"),
            ("IPVS_DAEMON_ATTR_MCAST_IFN", "asciiz"),
            ("IPVS_DAEMON_ATTR_SYNC_ID", "uint32"),
            ("IPVS_DAEMON_ATTR_SYNC_MAXLEN", "uint16"),
            ("IPVS_DAEMON_ATTR_MCAST_GROUP", "ip4addr"),
            ("IPVS_DAEMON_ATTR_MCAST_GROUP6", "ip6addr"),
            ("IPVS_DAEMON_ATTR_MCAST_PORT", "uint16"),
            ("IPVS_DAEMON_ATTR_MCAST_TTL", "uint8"),
        )


def _daemon_attrs(daemon: SyncDaemon) -> list[tuple[str, object]]:
    spec = daemon.spec
    attrs: list[tuple[str, object]] = [
        ("IPVS_DAEMON_ATTR_STATE", int(daemon.state)),
        ("IPVS_DAEMON_ATTR_MCAST_IFN", spec.interface),
        ("IPVS_DAEMON_ATTR_SYNC_ID", spec.sync_id),
    ]
    if spec.sync_maxlen:
        attrs.append(("IPVS_DAEMON_ATTR_SYNC_MAXLEN", spec.sync_maxlen))
    if spec.mcast_group is not None:
        suffix = "" if spec.mcast_group.version == 4 else "6"
        name = f"IPVS_DAEMON_ATTR_MCAST_GROUP{suffix}"
        attrs.append((name, str(spec.mcast_group)))
    if spec.mcast_port:
        attrs.append(("IPVS_DAEMON_ATTR_MCAST_PORT", spec.mcast_port))
    if spec.mcast_ttl:
        attrs.append(("IPVS_DAEMON_ATTR_MCAST_TTL", spec.mcast_ttl))
    return attrs


async def _reading(what: str, reply: Awaitable[_T]) -> _T:
    """Await a dump; the kernel's silence, errors and garbage become a DriverError naming ``what``."""
    try:
        return await reply
    except TimeoutError:
        raise DriverError(what, "no answer from the kernel", errno.ETIMEDOUT) from None
    except OSError as exc:
        raise DriverError(what, str(exc), exc.errno) from None
    except ValueError as exc:
        raise DriverError(what, f"unexpected kernel data: {exc}") from None


def _describe(op: IpvsOp) -> str:
    verb = {AddService: "add service", EditService: "edit service", DelService: "delete service",
            AddDest: "add real server", EditDest: "edit real server", DelDest: "delete real server"}
    return f"{verb[type(op)]} {op_target(op)}"


def _kernel_message(op: IpvsOp, code: int) -> str:
    if code == errno.ENOENT and isinstance(op, AddService | EditService):
        name = op.service.scheduler
        return f"unknown scheduler {name!r} (no ip_vs_{name} module?)"
    if code == errno.ESRCH:
        return "no such service"
    if code == errno.ENOENT:
        return "no such real server"
    if code == errno.EEXIST:
        return "already exists"
    return f"kernel refused: {os.strerror(code)}"


# ---------------------------------------------------------------------------------------------------
# the kernel table


def _netlink_socket(netns: str | None) -> socket.socket:
    """A generic-netlink socket in ``netns`` (a name under /run/netns, or a path), never creating it.

    The socket is made by a short-lived thread that enters the namespace with setns(2): no fork
    (pyroute2's ``netns=`` forks a child, and a forked child of a process with a Python SIGTERM
    handler can run on as a copy of its parent), and the caller's own namespace never changes.
    """
    if netns is None:
        return socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_GENERIC)
    path = netns if "/" in netns else f"/run/netns/{netns}"
    made: list[socket.socket | OSError] = []

    def enter_and_open() -> None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            with open(path, "rb") as handle:
                if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
                    code = ctypes.get_errno()
                    raise OSError(code, f"setns: {os.strerror(code)}")
            made.append(socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_GENERIC))
        except OSError as exc:
            made.append(exc)

    worker = threading.Thread(target=enter_and_open, name="pyka-netns-socket")
    worker.start()
    worker.join()
    result = made[0]
    if isinstance(result, OSError):
        raise result
    return result


class NetlinkIpvsTable:
    """The kernel's IPVS table (optionally in another network namespace) over generic netlink."""

    def __init__(self, sock: AsyncIPVS, wire: WireChannel) -> None:
        self._sock = sock
        self._wire = wire

    @classmethod
    async def open(cls, netns: str | None = None) -> NetlinkIpvsTable:
        """Connect to the IPVS genl family; DriverError with a clear message if the kernel has none.

        ``netns`` names an existing network namespace (it is never created).
        """
        try:
            raw = _netlink_socket(netns)
        except OSError as exc:
            raise DriverError("open IPVS", f"network namespace {netns!r}: {exc}", exc.errno) from None
        try:
            sock = AsyncIPVS(use_socket=_netlink_socket(netns))
        except OSError as exc:
            raw.close()
            raise DriverError("open IPVS", f"network namespace {netns!r}: {exc}", exc.errno) from None
        sock.module_err_level = "debug"
        try:
            await sock.setup_endpoint()
            raw.bind((0, 0))
        except NetlinkError as exc:
            sock.close()
            raw.close()
            if exc.code == errno.ENOENT:
                raise DriverError("open IPVS", NO_IPVS_MESSAGE, errno.ENOENT) from None
            raise DriverError("open IPVS", os.strerror(exc.code), exc.code) from None
        except OSError as exc:
            sock.close()
            raw.close()
            raise DriverError("open IPVS", str(exc), exc.errno) from None
        sock.marshal.msg_map[sock.prid] = _IpvsCtlMsg
        return cls(sock, WireChannel(raw, sock.prid))

    async def close(self) -> None:
        self._wire.close()
        self._sock.close()

    async def dump(self) -> IpvsState:
        return await _reading("dump IPVS", self._wire.dump())

    async def stats(self) -> list[dict[str, object]]:
        """The kernel's IPVS counters per service and real server (``WireChannel.dump_stats``)."""
        return await _reading("dump IPVS counters", self._wire.dump_stats())

    async def execute(self, op: IpvsOp) -> None:
        (failure,) = await self.execute_many([op])
        if failure is not None:
            raise failure

    async def execute_many(self, ops: Sequence[IpvsOp]) -> list[DriverError | None]:
        """Apply ops in order in batches (the fast path); one DriverError or None per op."""
        try:
            codes = await self._wire.run(ops)
        except TimeoutError:
            raise DriverError("apply IPVS ops", "no answer from the kernel", errno.ETIMEDOUT) from None
        except OSError as exc:
            raise DriverError("apply IPVS ops", str(exc), exc.errno) from None
        return [DriverError(_describe(op), _kernel_message(op, code), code) if code else None
                for op, code in zip(ops, codes, strict=True)]

    async def _request(self, cmd: int, attrs: Sequence[tuple[str, object]], dump: bool = False
                       ) -> list[_IpvsCtlMsg]:
        msg = _IpvsCtlMsg()
        msg["cmd"] = cmd
        msg["version"] = genl_ipvs.GENL_VERSION
        msg["attrs"] = attrs
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK)
        return list(await self._sock._do_request(msg, msg_flags=flags))

    async def sync_daemons(self) -> set[tuple[SyncState, str, int]]:
        """Running sync daemons as (state, interface, sync id)."""
        running = set()
        for msg in await self._request(genl_ipvs.IPVS_CMD_GET_DAEMON, [], dump=True):
            d = msg.get("IPVS_CMD_ATTR_DAEMON")
            running.add((SyncState(d.get("IPVS_DAEMON_ATTR_STATE")), d.get("IPVS_DAEMON_ATTR_MCAST_IFN"),
                         d.get("IPVS_DAEMON_ATTR_SYNC_ID")))
        return running

    async def set_sync_daemons(self, wanted: Iterable[SyncDaemon]) -> None:
        """Start/stop kernel sync threads so exactly ``wanted`` run (one per state at most)."""
        to_start = {d.state: d for d in wanted}
        for state, ifn, sync_id in sorted(await self.sync_daemons()):
            want = to_start.get(state)
            if want is not None and (want.spec.interface, want.spec.sync_id) == (ifn, sync_id):
                del to_start[state]
                continue
            await self._daemon_cmd(genl_ipvs.IPVS_CMD_DEL_DAEMON, SyncDaemon(state, SyncDaemonSpec(ifn)),
                                   [("IPVS_DAEMON_ATTR_STATE", int(state))])
        for daemon in to_start.values():
            await self._daemon_cmd(genl_ipvs.IPVS_CMD_NEW_DAEMON, daemon, _daemon_attrs(daemon))

    async def _daemon_cmd(self, cmd: int, daemon: SyncDaemon, attrs: Sequence[tuple[str, object]]) -> None:
        verb = "start" if cmd == genl_ipvs.IPVS_CMD_NEW_DAEMON else "stop"
        try:
            await self._request(cmd, [("IPVS_CMD_ATTR_DAEMON", {"attrs": attrs})])
        except NetlinkError as exc:
            raise DriverError(f"{verb} sync daemon {daemon.state.name.lower()} on {daemon.spec.interface}",
                              os.strerror(exc.code), exc.code) from None

    async def set_timeouts(self, timeouts: LvsTimeouts) -> None:
        """IPVS_CMD_SET_CONFIG (``lvs_timeouts``); zero fields leave the kernel value unchanged."""
        attrs = [("IPVS_CMD_ATTR_TIMEOUT_TCP", timeouts.tcp_s),
                 ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", timeouts.tcpfin_s),
                 ("IPVS_CMD_ATTR_TIMEOUT_UDP", timeouts.udp_s)]
        try:
            await self._request(genl_ipvs.IPVS_CMD_SET_CONFIG, attrs)
        except NetlinkError as exc:
            raise DriverError("set lvs_timeouts", os.strerror(exc.code), exc.code) from None

    async def timeouts(self) -> LvsTimeouts:
        """IPVS_CMD_GET_CONFIG."""
        (msg,) = await self._request(genl_ipvs.IPVS_CMD_GET_CONFIG, [])
        return LvsTimeouts(msg.get("IPVS_CMD_ATTR_TIMEOUT_TCP"), msg.get("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN"),
                           msg.get("IPVS_CMD_ATTR_TIMEOUT_UDP"))


# ---------------------------------------------------------------------------------------------------
# reconcile


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    """What one reconcile did: ops applied, errors (each naming its service), ops still needed after."""

    applied: tuple[IpvsOp, ...] = ()
    errors: tuple[DriverError, ...] = ()
    drift: tuple[IpvsOp, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors and not self.drift


def _fallback(op: IpvsOp, code: int | None) -> IpvsOp | bool | None:
    """For a failed op: another op to try, True if the table is already as wanted, False otherwise."""
    if isinstance(op, AddService) and code == errno.EEXIST:
        return EditService(op.service)
    if isinstance(op, EditService) and code == errno.ESRCH:
        return AddService(op.service)
    if isinstance(op, AddDest) and code == errno.EEXIST:
        return EditDest(op.key, op.dest)
    if isinstance(op, EditDest) and code == errno.ENOENT:
        return AddDest(op.key, op.dest)
    return isinstance(op, DelService | DelDest) and code in (errno.ESRCH, errno.ENOENT)


def _expected(desired: IpvsState, actual: IpvsState, owned: Ownership) -> IpvsState:
    """The table after a clean apply: the desired services, plus what was not ours."""
    table = {k: v for k, v in actual.services.items() if k in desired.services or not owned.owns(k)}
    table.update(desired.services)
    return IpvsState(table)


@dataclass
class IpvsReconciler:
    """Keeps a kernel table equal to the desired state for the services it owns.

    Ownership (docs/ipvs.md): every service we want; every service with one of our VIPs (address
    services) or fwmarks; every service this reconciler created or adopted earlier (so a reload
    removes services dropped from the config); everything when ``flush`` (``lvs_flush``).
    """

    table: IpvsTable
    flush: bool = False
    verify: bool = True
    owned_keys: set[ServiceKey] = field(default_factory=set)
    _known: IpvsState | None = field(default=None, repr=False)

    async def reconcile(self, desired: IpvsState, *, trust_last: bool = False) -> ReconcileResult:
        """Dump the kernel table, then :meth:`reconcile_with` it.

        ``trust_last`` skips the dump and diffs against the table as the previous clean reconcile
        left it (for frequent health-driven updates; run a full reconcile now and then to catch
        changes made by others).  Without a clean previous reconcile it dumps anyway.
        """
        known = self._known if trust_last else None
        return await self.reconcile_with(desired, known if known is not None else await self.table.dump())

    async def reconcile_with(self, desired: IpvsState, actual: IpvsState) -> ReconcileResult:
        """Diff ``desired`` against a fresh dump ``actual``, apply, and (if ``verify``) dump again."""
        owned = Ownership.of(desired, everything=self.flush, keys=self.owned_keys)
        ops = diff(desired, actual, owned)
        applied, errors = await self._apply(ops)
        not_deleted = {op.key for op in ops if isinstance(op, DelService) and op not in applied}
        self.owned_keys = set(desired.services) | not_deleted
        drift: list[IpvsOp] = []
        after = _expected(desired, actual, owned)
        if self.verify and ops:
            after = await self.table.dump()
            drift = diff(desired, after, owned)
            for op in drift:
                log.warning("ipvs drift after reconcile op=%s", _describe(op))
        self._known = after if not errors and not drift else None
        return ReconcileResult(tuple(applied), tuple(errors), tuple(drift))

    async def remove_all(self) -> ReconcileResult:
        """Shutdown: delete every service this reconciler owns."""
        actual = await self.table.dump()
        ops: list[IpvsOp] = [DelService(k) for k in sorted(actual.services, key=ServiceKey.sort_key)
                             if k in self.owned_keys or self.flush]
        applied, errors = await self._apply(ops)
        self.owned_keys = set()
        self._known = None
        return ReconcileResult(tuple(applied), tuple(errors))

    async def _apply(self, ops: list[IpvsOp]) -> tuple[list[IpvsOp], list[DriverError]]:
        applied: list[IpvsOp] = []
        errors: list[DriverError] = []
        broken: set[ServiceKey] = set()  # services that could not be added: skip their dests
        outcomes = await self.table.execute_many(ops) if ops else []
        for op, failure in zip(ops, outcomes, strict=True):
            if failure is None:
                applied.append(op)
                continue
            if op.key in broken:
                continue
            done = await self._recover(op, failure, errors)
            if done is not None:
                applied.append(done)
            elif isinstance(op, AddService):
                broken.add(op.key)
        return applied, errors

    async def _recover(self, op: IpvsOp, exc: DriverError, errors: list[DriverError]) -> IpvsOp | None:
        """After a failed op: "already so", or one fallback op (add <-> edit), or a recorded error."""
        alt = _fallback(op, exc.errno)
        if alt is True:
            return op
        if isinstance(alt, AddService | EditService | AddDest | EditDest):
            try:
                await self.table.execute(alt)
                return alt
            except DriverError as exc2:
                exc = exc2
        log.error("ipvs op failed op=%s errno=%s error=%s", exc.op, exc.errno, exc)
        errors.append(exc)
        return None


async def open_reconciler(netns: str | None = None, *, flush: bool = False,
                          verify: bool = True) -> IpvsReconciler:
    """A reconciler over the kernel table (DriverError "this kernel has no IPVS ..." if absent)."""
    return IpvsReconciler(await NetlinkIpvsTable.open(netns), flush=flush, verify=verify)


__all__ = ["NO_IPVS_MESSAGE", "IpvsReconciler", "IpvsTable", "NetlinkIpvsTable", "ReconcileResult",
           "open_reconciler"]
