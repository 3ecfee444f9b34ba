"""nftables batches through ``nft -j -f`` (from a pipe): :class:`Nft`, and the firewall of
:mod:`pykeepalived.net.nft_ruleset` over it (:class:`NftFirewall`).

One process per batch, never one per rule: the batch is one nftables transaction, so a table the
daemon owns is replaced (or removed) atomically (the firewall's; the marks of ``nftables_ipvs``,
:mod:`pykeepalived.lb.nft_ipvs`, go through the same :class:`Nft`).  The firewall's ``install``
puts the table with its sets in place, ``remove`` deletes it (success when it is not there),
``blocked`` reads back the addresses in its sets (None when there is no table).  Failures (``nft``
missing, a kernel without nf_tables, a batch the kernel refuses, a timeout) raise
:class:`~pykeepalived.errors.DriverError` with ``nft``'s own message.  Acts in the current network namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable
from ipaddress import ip_address

from pykeepalived.errors import DriverError
from pykeepalived.net.nft_ruleset import (
    FAMILY,
    VMAC_LL_SET,
    VMAC_SET,
    Batch,
    Blocked,
    FirewallSpec,
    removal,
    ruleset,
)

NFT = "nft"
STDIN = "/proc/self/fd/0"
TIMEOUT_S = 5.0


class Nft:
    """The ``nft`` command's JSON interface: one batch per process, one listing per process."""

    def __init__(self, *, nft: str = NFT, timeout_s: float = TIMEOUT_S) -> None:
        self._nft = nft
        self._timeout_s = timeout_s

    async def run(self, batch: Batch) -> None:
        """Apply one batch as one transaction (read from the pipe as ``/proc/self/fd/0``: ``-f -`` opens
        ``/dev/stdin``, which a minimal system, such as the IPVS test VM, does not have)."""
        await self._call(["-j", "-f", STDIN], json.dumps(batch))

    async def list_table(self, family: str, table: str) -> str | None:
        """``nft -j list table``'s JSON text; None: there is no such table."""
        try:
            return await self._call(["-j", "list", "table", family, table], None)
        except DriverError as exc:
            if "No such file or directory" in str(exc):
                return None
            raise

    async def _call(self, args: list[str], stdin: str | None) -> str:
        try:
            proc = await asyncio.create_subprocess_exec(
                self._nft, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            raise DriverError("nft", f"cannot run {self._nft}: {exc.strerror or exc}", exc.errno) from exc
        try:
            out, err = await asyncio.wait_for(proc.communicate(None if stdin is None else stdin.encode()),
                                              self._timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise DriverError("nft", f"no answer within {self._timeout_s:g} s") from None
        if proc.returncode != 0:
            raise DriverError("nft", _first_lines(err.decode(errors="replace")) or f"exit {proc.returncode}")
        return out.decode(errors="replace")


class NftFirewall:
    """The daemon's nftables table, driven through the ``nft`` command's JSON interface."""

    def __init__(self, spec: FirewallSpec, *, nft: str = NFT, timeout_s: float = TIMEOUT_S) -> None:
        self.spec = spec
        self.nft = Nft(nft=nft, timeout_s=timeout_s)

    async def install(self, addresses: Iterable[Blocked]) -> None:
        """Replace the table with one that drops traffic to and from ``addresses``."""
        await self.run(ruleset(self.spec, addresses))

    async def remove(self) -> None:
        await self.run(removal(self.spec))

    async def blocked(self) -> set[tuple[str, str | int | None]] | None:
        """``(address, interface or None)`` of every element of the table's sets; None: no table."""
        listing = await self.nft.list_table(FAMILY, self.spec.table)
        if listing is None:
            return None
        found: set[tuple[str, str | int | None]] = set()
        for entry in json.loads(listing).get("nftables", []):
            if entry.get("set", {}).get("name") in (VMAC_SET, VMAC_LL_SET):
                continue  # the VMACs (and their own link-local addresses), not blocked addresses
            for elem in entry.get("set", {}).get("elem", []):
                if isinstance(elem, dict) and "concat" in elem:
                    key, address = elem["concat"]
                    found.add((str(ip_address(address)), key))
                else:
                    found.add((str(ip_address(elem)), None))
        return found

    async def run(self, batch: Batch) -> None:
        """Apply one batch as one transaction."""
        await self.nft.run(batch)


def _first_lines(text: str, count: int = 3) -> str:
    return " / ".join(line.strip() for line in text.strip().splitlines()[:count])
