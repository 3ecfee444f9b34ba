"""Desired vs actual IPVS table: the minimal ordered operations, and applying them in memory.

Pure: no I/O.  The laws (tested with hypothesis in tests/unit/test_lb_diff.py):

* ``diff(desired, apply_ops(diff(desired, actual, owned), actual), owned) == []`` (idempotent);
* after applying, every owned service equals the desired one, and nothing not owned changed;
* ops are minimal: one op per differing service or destination, and a deleted service takes its
  destinations with it (the kernel removes them), so no DelDest is emitted for it;
* order: AddService/EditService, then AddDest/EditDest, then DelDest, then DelService -- a service
  exists before its destinations are added, and new servers arrive before old ones leave.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pykeepalived.lb.model import (
    Destination,
    DestKey,
    IPAddress,
    IpvsState,
    ServiceEntry,
    ServiceKey,
    VirtualService,
)


@dataclass(frozen=True, slots=True)
class AddService:
    service: VirtualService

    @property
    def key(self) -> ServiceKey:
        return self.service.key


@dataclass(frozen=True, slots=True)
class EditService:
    service: VirtualService

    @property
    def key(self) -> ServiceKey:
        return self.service.key


@dataclass(frozen=True, slots=True)
class DelService:
    key: ServiceKey


@dataclass(frozen=True, slots=True)
class AddDest:
    key: ServiceKey
    dest: Destination


@dataclass(frozen=True, slots=True)
class EditDest:
    key: ServiceKey
    dest: Destination


@dataclass(frozen=True, slots=True)
class DelDest:
    key: ServiceKey
    dest_key: DestKey


IpvsOp = AddService | EditService | DelService | AddDest | EditDest | DelDest


@dataclass(frozen=True, slots=True)
class Ownership:
    """Which kernel services we may change or delete.

    We own a service if ``everything`` is set (keepalived's ``lvs_flush``), if we want it, if its
    key is in ``keys`` (what this process created or adopted before), if its address is one of
    ``addresses`` (our VIPs), or if it is a fwmark service with one of ``fwmarks`` ((af, mark)).
    Everything else in the kernel table belongs to someone else and is left alone.
    """

    everything: bool = False
    keys: frozenset[ServiceKey] = frozenset()
    addresses: frozenset[IPAddress] = frozenset()
    fwmarks: frozenset[tuple[int, int]] = frozenset()

    @classmethod
    def of(cls, desired: IpvsState, *, everything: bool = False,
           keys: Iterable[ServiceKey] = ()) -> Ownership:
        """Own the VIPs and fwmarks the desired table uses, plus ``keys``."""
        addrs = {k.addr for k in desired.services if k.addr is not None}
        marks = {(k.af, k.fwmark) for k in desired.services if k.fwmark}
        return cls(everything, frozenset(keys), frozenset(addrs), frozenset(marks))

    def owns(self, key: ServiceKey) -> bool:
        if self.everything or key in self.keys:
            return True
        if key.fwmark:
            return (key.af, key.fwmark) in self.fwmarks
        return key.addr in self.addresses


NOBODY = Ownership()


def diff(desired: IpvsState, actual: IpvsState, owned: Ownership = NOBODY) -> list[IpvsOp]:
    """The ordered operations that turn ``actual`` into ``desired`` for what we own.

    Services in ``desired`` are always ours; other services in ``actual`` are deleted only if
    ``owned.owns(key)``.
    """
    svc_ops: list[IpvsOp] = []
    add_dest: list[IpvsOp] = []
    del_dest: list[IpvsOp] = []
    del_svc: list[IpvsOp] = []
    for key in sorted(desired.services, key=ServiceKey.sort_key):
        want = desired.services[key]
        have = actual.services.get(key)
        if have is want:  # unchanged since the last apply (the common case of a health update)
            continue
        if have is None:
            svc_ops.append(AddService(want.service))
            add_dest.extend(AddDest(key, want.dests[d]) for d in sorted(want.dests, key=DestKey.sort_key))
            continue
        if have.service != want.service:
            svc_ops.append(EditService(want.service))
        _diff_dests(key, want, have, add_dest, del_dest)
    for key in sorted(actual.services, key=ServiceKey.sort_key):
        if key not in desired.services and owned.owns(key):
            del_svc.append(DelService(key))
    return svc_ops + add_dest + del_dest + del_svc


def _diff_dests(key: ServiceKey, want: ServiceEntry, have: ServiceEntry,
                add_dest: list[IpvsOp], del_dest: list[IpvsOp]) -> None:
    for dkey in sorted(want.dests, key=DestKey.sort_key):
        dest = want.dests[dkey]
        old = have.dests.get(dkey)
        if old is None:
            add_dest.append(AddDest(key, dest))
        elif old != dest:
            add_dest.append(EditDest(key, dest))
    gone = [dkey for dkey in have.dests if dkey not in want.dests]
    del_dest.extend(DelDest(key, dkey) for dkey in sorted(gone, key=DestKey.sort_key))


class OpError(Exception):
    """An op that does not fit the table (what the kernel reports as EEXIST / ESRCH / ENOENT)."""

    def __init__(self, op: IpvsOp, reason: str) -> None:
        super().__init__(f"{type(op).__name__} {op_target(op)}: {reason}")
        self.op = op
        self.reason = reason


def op_target(op: IpvsOp) -> str:
    """Human name of what an op touches, e.g. ``TCP 203.0.113.1:80 -> 198.51.100.11:8080``."""
    if isinstance(op, AddDest | EditDest):
        return f"{op.key} -> {op.dest.key}"
    if isinstance(op, DelDest):
        return f"{op.key} -> {op.dest_key}"
    return str(op.key)


def apply_op(op: IpvsOp, table: dict[ServiceKey, ServiceEntry]) -> None:
    """Apply one op to a mutable table, strictly (raises :class:`OpError` with reason
    ``"exists"`` / ``"no such service"`` / ``"no such destination"``)."""
    if isinstance(op, AddService | EditService):
        present = op.key in table
        if isinstance(op, AddService) and present:
            raise OpError(op, "exists")
        if isinstance(op, EditService) and not present:
            raise OpError(op, "no such service")
        table[op.key] = ServiceEntry(op.service, table[op.key].dests if present else {})
        return
    entry = table.get(op.key)
    if entry is None:
        raise OpError(op, "no such service")
    if isinstance(op, DelService):
        del table[op.key]
        return
    dests = dict(entry.dests)
    dkey = op.dest_key if isinstance(op, DelDest) else op.dest.key
    if isinstance(op, AddDest) and dkey in dests:
        raise OpError(op, "exists")
    if not isinstance(op, AddDest) and dkey not in dests:
        raise OpError(op, "no such destination")
    if isinstance(op, DelDest):
        del dests[dkey]
    else:
        dests[dkey] = op.dest
    table[op.key] = ServiceEntry(entry.service, dests)


def apply_ops(ops: Iterable[IpvsOp], state: IpvsState) -> IpvsState:
    """The table after applying ``ops`` in order (strict, see :func:`apply_op`)."""
    table = dict(state.services)
    for op in ops:
        apply_op(op, table)
    return IpvsState(table)
