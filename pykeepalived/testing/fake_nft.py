"""``nft -j -f -`` as a fake: the tables, maps and elements a batch leaves, one transaction each.

:class:`FakeNft` stands for :class:`pykeepalived.net.firewall.Nft` wherever the daemon would run
``nft`` (never the test machine's firewall).  It keeps every batch it was given (``batches``), and
applies it to an in-memory picture the way the kernel would: all or nothing, deleting a table or an
element that is not there fails the whole batch.  ``fail_next`` makes the next batch fail.
"""

from __future__ import annotations

import json

from pykeepalived.errors import DriverError

Batch = dict[str, list[dict[str, object]]]
TableKey = tuple[str, str]
"""(family, table)"""


class FakeNft:
    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.tables: dict[TableKey, dict[str, set[str]]] = {}
        """(family, table) -> map or set name -> its elements (as JSON text)."""
        self.chains: dict[TableKey, dict[str, object]] = {}
        """(family, table) -> its chain's definition (the last one added)."""
        self.fail_next: str | None = None

    async def run(self, batch: Batch) -> None:
        self.batches.append(batch)
        if self.fail_next is not None:
            message, self.fail_next = self.fail_next, None
            raise DriverError("nft", message)
        tables = {key: {name: set(elems) for name, elems in maps.items()}
                  for key, maps in self.tables.items()}
        chains = dict(self.chains)
        for command in batch["nftables"]:
            ((verb, body),) = command.items()
            assert isinstance(body, dict)
            ((kind, obj),) = body.items()
            assert isinstance(obj, dict)
            key = (str(obj["family"]), str(obj["table"] if kind != "table" else obj["name"]))
            if kind == "table":
                if verb == "add":
                    tables.setdefault(key, {})
                elif tables.pop(key, None) is None:
                    raise DriverError("nft", "Could not process rule: No such file or directory")
                else:
                    chains.pop(key, None)
                continue
            if key not in tables:
                raise DriverError("nft", "Could not process rule: No such file or directory")
            if kind in ("map", "set"):
                tables[key].setdefault(str(obj["name"]), set())
            elif kind == "chain":
                chains[key] = obj
            elif kind == "element":
                elems = tables[key].get(str(obj["name"]))
                if elems is None:
                    raise DriverError("nft", "Could not process rule: No such file or directory")
                texts = [json.dumps(e, sort_keys=True) for e in obj["elem"]]
                if verb == "add":
                    elems.update(texts)
                elif not set(texts) <= elems:
                    raise DriverError("nft", "Could not process rule: No such file or directory")
                else:
                    elems.difference_update(texts)
        self.tables, self.chains = tables, chains

    def elements(self, family: str, table: str, name: str) -> list[object]:
        """The elements of one map, as nft's JSON (sorted)."""
        return [json.loads(text) for text in sorted(self.tables[(family, table)][name])]
