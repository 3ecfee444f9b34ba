"""Reading keepalived's dump files back into their structure: sections, entities, keys and the shape
of each value.  Used to hold pykeepalived's dumps against keepalived 2.2.7's own output (the golden
files and the lab test), key by key, whatever the values (addresses, times, counts) are.

``data_structure(text)`` -> ``[(section, [(entity, [(key, shape), ...]), ...]), ...]``: a section is
a ``------< NAME >------`` line; an entity a line indented by one space (``VRRP Instance = VI_1``;
``None`` for sections whose lines are all one-space keys, like ``Global definitions``); its keys the
lines indented by three spaces, with list items (five spaces) as ``item`` keys under the key that
introduced them.  A key is the text before `` = `` (or the line with numbers and addresses masked);
a shape is ``int``, ``float``, ``time``, ``ip``, ``bool``, ``word`` or ``text``.
"""

from __future__ import annotations

import json
import re
from typing import Any

Structure = list[tuple[str, list[tuple[str | None, list[tuple[str, str]]]]]]

_TIME = re.compile(r"^\d+\.\d{6} \(.*\)$")
_IP = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]*)(/\d+)?$", re.I)
_MASKS = (
    (re.compile(r"\b\d{1,3}(\.\d{1,3}){3}(/\d+)?\b"), "<ip>"),
    (re.compile(r"\b[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}(/\d+)?", re.I), "<ip>"),
    (re.compile(r"'[^']*'"), "<cmd>"),
    (re.compile(r"\b\d+(\.\d+)?\b"), "<n>"),
)


def shape(value: str) -> str:
    value = value.strip()
    if _TIME.match(value) or value == "DISABLED":
        return "time"
    if re.fullmatch(r"-?\d+", value):
        return "int"
    if re.fullmatch(r"-?\d+\.\d+", value):
        return "float"
    if _IP.match(value):
        return "ip"
    if value in ("true", "false", "yes", "no", "enabled", "disabled"):
        return "bool"
    if re.fullmatch(r"[A-Za-z_]+", value):
        return "word"
    return "text"


def mask(text: str) -> str:
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


def _key(line: str) -> tuple[str, str]:
    body = line.strip()
    if " = " in body:
        key, value = body.split(" = ", 1)
        return key, shape(value)
    if body.endswith(":") or ":" not in body:
        return mask(body), "-"
    key, value = body.split(":", 1)
    return key.strip(), shape(value)


def data_structure(text: str) -> Structure:
    sections: Structure = []
    entities: list[tuple[str | None, list[tuple[str, str]]]] = []
    keys: list[tuple[str, str]] | None = None
    for line in text.splitlines():
        if line.startswith("------<"):
            entities = []
            keys = None
            sections.append((line.strip("-<> "), entities))
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent == 1 and not sections:
            continue
        if indent == 1:
            name, value_shape = _key(line)
            if sections[-1][0] == "Global definitions":
                if not entities:
                    entities.append((None, []))
                entities[0][1].append((name, value_shape))
                continue
            keys = []
            entities.append((mask(line.strip()), keys))
        elif keys is not None and indent == 3:
            keys.append(_key(line))
        elif keys is not None and indent >= 5:
            keys.append(("item", "-"))
    return sections


def stats_structure(text: str) -> list[tuple[str, list[str]]]:
    """``keepalived.stats``: per instance, the key path of every line (``Packet Errors/TTL`` ...)."""
    out: list[tuple[str, list[str]]] = []
    group = ""
    for line in text.splitlines():
        if line.startswith("VRRP Instance:"):
            out.append((line.split(":", 1)[1].strip(), []))
            group = ""
            continue
        if not out or not line.strip():
            continue
        key = line.strip().split(":", 1)[0]
        if line.startswith("    "):
            out[-1][1].append(f"{group}/{key}")
        else:
            group = key if line.rstrip().endswith(":") else ""
            out[-1][1].append(key)
    return out


def compare_data(theirs: str, ours: str, *, subset_sections: tuple[str, ...] = (
        "Global definitions", "Interfaces"), skip_shapes: tuple[str, ...] = ("Password",)) -> list[str]:
    """Where ``ours`` differs from ``theirs`` (keepalived's) in structure; [] when they agree.

    Every section of ``theirs`` must be in ``ours`` in the same order, with the same entities in
    the same order, each with the same keys in the same order and values of the same shape.  In
    ``subset_sections`` (keepalived's internals are left out there) our keys need only be keepalived's.
    """
    problems: list[str] = []
    mine = dict(data_structure(ours))
    names = [name for name, _ in data_structure(ours)]
    wanted = [name for name, _ in data_structure(theirs) if name in mine or name not in subset_sections]
    if names != wanted:
        problems.append(f"sections: keepalived {wanted}, pykeepalived {names}")
    for section, entities in data_structure(theirs):
        if section not in mine:
            continue
        other = mine[section]
        if [e for e, _ in entities] != [e for e, _ in other]:
            problems.append(f"{section}: entities {[e for e, _ in entities]} != {[e for e, _ in other]}")
            continue
        for (entity, keys), (_, our_keys) in zip(entities, other, strict=True):
            if section in subset_sections:
                extra = [k for k, _ in our_keys if k not in {key for key, _ in keys}]
                if extra:
                    problems.append(f"{section}/{entity}: keys keepalived does not have: {extra}")
                continue
            theirs_keys = [k if k[0] not in skip_shapes else (k[0], "*") for k in keys]
            ours_keys = [k if k[0] not in skip_shapes else (k[0], "*") for k in our_keys]
            if theirs_keys != ours_keys:
                problems.append(f"{section}/{entity}: keepalived {theirs_keys}\n  pykeepalived {ours_keys}")
    return problems


def json_structure(text: str) -> list[dict[str, Any]]:  # Any: what json.loads gives
    """``keepalived.json``: per instance, ``{"data": [(key, type)], "stats": [(key, type)]}``."""
    return [{part: [(key, type(value).__name__) for key, value in item.get(part, {}).items()]
             for part in ("data", "stats")} for item in json.loads(text)]
