"""The LVS part's nftables table (``nftables_ipvs``): the marks of the virtual_server_groups.

:mod:`pykeepalived.lb.nft_ipvs` decides the marks and builds the batches; this puts them in place
through ``nft -j -f -`` (:class:`pykeepalived.net.firewall.Nft`), one transaction each:

* at start, the whole table replaces whatever a previous run left (the start-up reconcile);
* at a reload, only the elements that changed (a group's members moved: no IPVS service changes,
  the marks stay; a family's table that gains or loses a map is replaced, alone), or the whole
  table when its settings changed; a table renamed is removed in the same batch;
* at stop, the table goes (kept with ``--dont-release-ipvs``, as the IPVS services it feeds).

A failure (no ``nft``, a kernel without nf_tables) is logged and counted, and the whole table is
tried again every :data:`RETRY_S` seconds until it is in place (or a reload or the stop comes).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from pykeepalived.daemon.status import Json
from pykeepalived.errors import DriverError
from pykeepalived.lb.nft_ipvs import Batch, NftIpvsPlan, Pair, removal, ruleset, update

log = logging.getLogger(__name__)

RETRY_S = 5.0


class NftRunner(Protocol):
    """:class:`pykeepalived.net.firewall.Nft`."""

    async def run(self, batch: Batch) -> None: ...


def _real_nft() -> NftRunner:
    from pykeepalived.net.firewall import Nft  # noqa: PLC0415  (asyncio subprocesses: only when used)

    return Nft()


class IpvsMarks:
    """Keeps the ``nftables_ipvs`` table equal to the LVS plan's :class:`NftIpvsPlan`."""

    def __init__(self, nft: NftRunner | None = None, *, retry_s: float = RETRY_S) -> None:
        self._nft = nft
        self._retry_s = retry_s
        self.wanted: NftIpvsPlan | None = None
        self.installed: NftIpvsPlan | None = None
        """What the kernel holds as far as we know (None: no table of ours)."""
        self.error: str | None = None
        self.counters = {"updates": 0, "full_updates": 0, "errors": 0}
        self._retry: asyncio.Task[None] | None = None

    def marks(self) -> dict[Pair, int]:
        """The automatic marks in use: a reload keeps them (``lvs_plan(config, fwmarks)``)."""
        return self.wanted.marks if self.wanted is not None else {}

    @property
    def nft(self) -> NftRunner:
        if self._nft is None:
            self._nft = _real_nft()
        return self._nft

    async def apply(self, plan: NftIpvsPlan | None, group: asyncio.TaskGroup) -> None:
        """Make the table ``plan``'s (None: remove ours)."""
        self._cancel_retry()
        first = self.wanted is None and self.installed is None
        self.wanted = plan
        if plan is None:
            await self._remove(self.installed)
            return
        if await self._put(plan, full=first):
            return
        self._retry = group.create_task(self._retry_loop(plan), name="nft-ipvs-retry")

    async def stop(self, *, release: bool) -> None:
        self._cancel_retry()
        if not release:
            if self.installed is not None:
                log.info("nftables_ipvs table left in place table=%s (--dont-release-ipvs)",
                         self.installed.spec.table)
            return
        await self._remove(self.installed or self.wanted)

    def snapshot(self) -> Json:
        plan = self.wanted
        return {"table": plan.spec.table if plan is not None else None,
                "in_place": self.installed is not None and self.installed == plan,
                "error": self.error, "counters": dict(self.counters),
                "groups": [{"group": g.group, "protocol": g.protocol, "fwmark": g.fwmark,
                            "entries": [str(e) for e in g.entries]} for g in plan.groups] if plan else []}

    async def _put(self, plan: NftIpvsPlan, *, full: bool) -> bool:
        old = self.installed
        batch = None if full or old is None else update(old, plan)
        if batch is not None:
            if await self._run(batch, "update"):
                self._done(plan, full=False)
                return True
            old = None  # the table is not what we thought: replace it whole
        whole = ruleset(plan)
        if old is not None and old.spec.table != plan.spec.table:
            whole = {"nftables": [*removal(old.spec)["nftables"], *whole["nftables"]]}
        if await self._run(whole, "set"):
            self._done(plan, full=True)
            return True
        self.installed = None
        return False

    def _done(self, plan: NftIpvsPlan, *, full: bool) -> None:
        self.installed, self.error = plan, None
        self.counters["updates"] += 1
        self.counters["full_updates"] += full
        log.info("nftables_ipvs table=%s %s marks=%s", plan.spec.table, "set" if full else "updated",
                 ",".join(f"{g.group}/{g.protocol.lower()}={g.fwmark}" for g in plan.groups))

    async def _remove(self, plan: NftIpvsPlan | None) -> None:
        if plan is None:
            return
        if await self._run(removal(plan.spec), "remove"):
            log.info("nftables_ipvs table removed table=%s", plan.spec.table)
            self.installed = None

    async def _run(self, batch: Batch, what: str) -> bool:
        try:
            await self.nft.run(batch)
        except DriverError as exc:
            self.counters["errors"] += 1
            self.error = str(exc)
            log.error("nftables_ipvs: cannot %s the table: %s", what, exc)
            return False
        return True

    async def _retry_loop(self, plan: NftIpvsPlan) -> None:
        while True:
            await asyncio.sleep(self._retry_s)
            if await self._put(plan, full=True):
                return

    def _cancel_retry(self) -> None:
        if self._retry is not None and not self._retry.done():
            self._retry.cancel()
        self._retry = None

