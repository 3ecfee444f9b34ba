"""An in-memory IPVS table with the driver's interface and the kernel's error codes.

:class:`FakeIpvsTable` implements the same ``dump()`` / ``execute(op)`` / ``close()`` coroutines as
``lb.ipvs.NetlinkIpvsTable``, so ``lb.ipvs.IpvsReconciler`` runs against it unchanged.  Errors are
:class:`~pykeepalived.errors.DriverError` with the errno Linux 6.1 returns (verified in the VM):

* EEXIST: adding a service or destination that exists;
* ESRCH: a service that does not exist (edit/delete, or adding a destination to it);
* ENOENT: a destination that does not exist, or an unknown scheduler (no ``ip_vs_<name>`` module);
* ERANGE: lower connection threshold above the upper one.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Sequence

from pykeepalived.errors import DriverError
from pykeepalived.lb.diff import (
    AddDest,
    AddService,
    DelDest,
    EditDest,
    EditService,
    IpvsOp,
    OpError,
    apply_op,
    op_target,
)
from pykeepalived.lb.ipvs_wire import STATS_NAMES
from pykeepalived.lb.model import SCHEDULERS, IpvsState, ServiceEntry, ServiceKey
from pykeepalived.lb.sync_daemon import LvsTimeouts, SyncDaemon

_REASON_ERRNO = {"exists": errno.EEXIST, "no such service": errno.ESRCH,
                 "no such destination": errno.ENOENT}


class FakeIpvsTable:
    """In-memory kernel IPVS table; ``schedulers`` are the "loadable" scheduler modules."""

    def __init__(self, initial: IpvsState | None = None,
                 schedulers: frozenset[str] = SCHEDULERS) -> None:
        self._table: dict[ServiceKey, ServiceEntry] = dict(initial.services) if initial else {}
        self.schedulers = schedulers
        self.executed: list[IpvsOp] = []
        self.dumps = 0
        self.closed = False
        self.fail_next: DriverError | None = None
        self.sync: list[frozenset[SyncDaemon]] = []
        self.timeouts: list[LvsTimeouts] = []

    def snapshot(self) -> IpvsState:
        return IpvsState(dict(self._table))

    async def dump(self) -> IpvsState:
        self.dumps += 1
        return self.snapshot()

    async def execute(self, op: IpvsOp) -> None:
        self.execute_sync(op)

    async def execute_many(self, ops: Sequence[IpvsOp]) -> list[DriverError | None]:
        """Like the kernel with a batch: every op is tried in order, one outcome each."""
        outcomes: list[DriverError | None] = []
        for op in ops:
            try:
                self.execute_sync(op)
                outcomes.append(None)
            except DriverError as exc:
                outcomes.append(exc)
        return outcomes

    def execute_sync(self, op: IpvsOp) -> None:
        """Apply ``op`` like the kernel would, raising DriverError(op, message, errno)."""
        name = f"{type(op).__name__} {op_target(op)}"
        if self.fail_next is not None:
            err, self.fail_next = self.fail_next, None
            raise err
        if isinstance(op, AddService | EditService) and op.service.scheduler not in self.schedulers:
            raise DriverError(name, f"unknown scheduler {op.service.scheduler!r}", errno.ENOENT)
        if isinstance(op, AddDest | EditDest) and op.dest.l_thresh > op.dest.u_thresh:
            raise DriverError(name, "lower threshold is higher than upper threshold", errno.ERANGE)
        if isinstance(op, AddDest | EditDest | DelDest) and op.key not in self._table:
            raise DriverError(name, "no such service", errno.ESRCH)
        try:
            apply_op(op, self._table)
        except OpError as exc:
            raise DriverError(name, exc.reason, _REASON_ERRNO[exc.reason]) from None
        self.executed.append(op)

    async def set_sync_daemons(self, wanted: Iterable[SyncDaemon]) -> None:
        """Record the kernel sync daemons asked for (``sync``: every call, in order)."""
        self.sync.append(frozenset(wanted))

    async def set_timeouts(self, timeouts: LvsTimeouts) -> None:
        self.timeouts.append(timeouts)

    async def stats(self) -> list[dict[str, object]]:
        """The kernel's counters, in ``NetlinkIpvsTable.stats``'s shape: no traffic, so all zero."""
        zero = dict.fromkeys(STATS_NAMES, 0)
        return [{"service": str(key), "stats": dict(zero),
                 "real_servers": [{"address": str(dest), "stats": dict(zero), "active_conns": 0,
                                   "inactive_conns": 0, "persistent_conns": 0} for dest in entry.dests]}
                for key, entry in self._table.items()]

    async def close(self) -> None:
        self.closed = True
