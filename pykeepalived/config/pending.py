"""Keywords the model reads but the daemon does not act on: a ``not_implemented`` warning for each
one that is written (not acted on yet), or a ``not_applicable`` note (never acted on, by design, e.g.
PING_CHECK's ``connect_port``), never silence.

Which keywords those are, and what the diagnostic says, is the inventory's (``pending`` and
``not_applicable`` rows of :mod:`pykeepalived.config.inventory`): this pass walks the validated model,
block by block, and reports every field named like such a keyword of its block that the
configuration sets (written, and not false).  Both syntaxes get the same diagnostics, at the keyword.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel

from pykeepalived.config import inventory
from pykeepalived.config.diagnostics import Diagnostic, Path, Severity
from pykeepalived.config.model import Config, HttpGet

#: keywords whose model field has another name (keepalived's block keyword -> the YAML key)
_FIELD = {("top", "track_group"): "track_groups", ("top", "garp_group"): "garp_groups",
          ("route option", "ttl-propagate"): "ttl_propagate"}


def _blocks(config: Config) -> Iterator[tuple[str, BaseModel, Path]]:
    """Every model of the configuration with the inventory block it belongs to and its data path."""
    yield inventory.TOP, config, ()
    yield "global_defs", config.global_defs, ("global_defs",)
    for name, group in config.vrrp_sync_groups.items():
        yield "vrrp_sync_group", group, ("vrrp_sync_groups", name)
    for name, inst in config.vrrp_instances.items():
        base: Path = ("vrrp_instances", name)
        yield "vrrp_instance", inst, base
        for key in ("virtual_ipaddress", "virtual_ipaddress_excluded"):
            for i, vip in enumerate(getattr(inst, key)):
                yield "ip address option", vip, (*base, key, i)
        for i, peer in enumerate(inst.unicast_peer):
            yield "unicast_peer option", peer, (*base, "unicast_peer", i)
        for i, route in enumerate(inst.virtual_routes):
            yield "route option", route, (*base, "virtual_routes", i)
        for i, rule in enumerate(inst.virtual_rules):
            yield "rule option", rule, (*base, "virtual_rules", i)
    for i, address in enumerate(config.static_ipaddress):
        yield "ip address option", address, ("static_ipaddress", i)
    for i, route in enumerate(config.static_routes):
        yield "route option", route, ("static_routes", i)
    for i, rule in enumerate(config.static_rules):
        yield "rule option", rule, ("static_rules", i)
    for v, vs in enumerate(config.virtual_servers):
        yield "virtual_server", vs, ("virtual_servers", v)
        for r, rs in enumerate(vs.real_servers):
            rs_path: Path = ("virtual_servers", v, "real_servers", r)
            yield "real_server", rs, rs_path
            seen: dict[str, int] = {}
            for checker in rs.checkers:
                index = seen[checker.kind] = seen.get(checker.kind, -1) + 1
                here: Path = (*rs_path, checker.kind, index)
                yield checker.kind, checker, here
                for u, url in enumerate(checker.url if isinstance(checker, HttpGet) else ()):
                    yield "url", url, (*here, "url", u)


def _diagnostic(pair: inventory.Pair, path: Path) -> Diagnostic:
    if pair.status is inventory.Status.NOT_APPLICABLE:
        return Diagnostic(Severity.NOTE, "not_applicable", pair.message(), "", None, None, path=path)
    return Diagnostic(Severity.WARNING, "not_implemented", pair.message(), "", None, None,
                      hint="see docs/keepalived-conf.md", path=path)


def check(config: Config) -> Iterator[Diagnostic]:
    """A ``not_implemented`` warning (or ``not_applicable`` note) for every keyword the model reads
    and the daemon does not act on that the configuration sets."""
    # (block, model class) -> the pairs worth a look, in the inventory's order: most models of a big
    # configuration (real servers, checkers, urls) have none, and are passed over at once
    candidates: dict[tuple[str, type[BaseModel]], list[tuple[inventory.Pair, str]]] = {}
    for block, model, path in _blocks(config):
        kind = (block, type(model))
        found = candidates.get(kind)
        if found is None:
            found = candidates[kind] = _candidates(block, type(model))
        if not found:
            continue
        fields_set = model.model_fields_set
        for pair, field in found:  # written, and not switched off (``strict_mode off`` asks for nothing)
            if field in fields_set and getattr(model, field) is not False:
                yield _diagnostic(pair, (*path, field))


def _candidates(block: str, model: type[BaseModel]) -> list[tuple[inventory.Pair, str]]:
    """The pairs of ``block`` not acted on whose field ``model`` has, with the field's name."""
    found = []
    for pair in inventory.in_block(block).values():
        if pair.status in (inventory.Status.ACTED_ON, inventory.Status.REFUSED):
            continue  # refused: the model's own validation reports the error
        field = _FIELD.get((block, pair.keyword), pair.keyword)
        if field in model.model_fields:
            found.append((pair, field))
    return found
