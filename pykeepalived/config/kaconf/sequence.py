"""keepalived.conf's line repetition: ``~SEQ``, ``~SEQx`` and ``~LST`` (keepalived.conf(5) "Sequence
blocks" and "List blocks").

A line starting with one or more repetition specs is read once per binding of their variables, the
first spec outermost::

    ~SEQ(N, 0, 3) 10.0.${N}.1              N = 0, 1, 2, 3
    ~SEQx(N, 0x90, 0x10, 0xc0) fe80::${N}  N = 90, a0, b0, c0 (hexadecimal, no 0x)
    ~LST(IP, 1, 2) ~LST(H, 5, 6) ...       (IP, H) = (1, 5), (1, 6), (2, 5), (2, 6)
    ~LST({A, B}, {10, 1}, {20, 4}) ...     (A, B) = (10, 1), (20, 4)

``~SEQ(var, end)`` counts from 1 (or -1) towards ``end``; ``~SEQ(var, start, end)`` by 1 or -1;
``~SEQ(var, start, step, end)`` by ``step``, which must lead towards ``end``.  Numbers are C-style
(``0x10`` hex, ``010`` octal).  This module only parses and enumerates; :mod:`.preprocess` sets the
variables and reads the rest of the line.  Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_HEAD = re.compile(r"\s*~(SEQx|SEQ|LST)\(")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class SequenceError(ValueError):
    """A spec that cannot be read; the message says why (the line is then skipped)."""


@dataclass(frozen=True, slots=True)
class Spec:
    """One spec: the variables it binds and their values, one tuple per repetition."""

    names: tuple[str, ...]
    values: tuple[tuple[str, ...], ...]


def _number(text: str) -> int:
    """strtol(text, 0): ``-5``, ``0x1f``, ``017`` (octal)."""
    body = text.strip()
    sign = -1 if body.startswith("-") else 1
    digits = body.lstrip("+-")
    try:
        if digits.lower().startswith("0x"):
            return sign * int(digits[2:], 16)
        if len(digits) > 1 and digits.startswith("0"):
            return sign * int(digits, 8)
        return sign * int(digits, 10)
    except ValueError:
        raise SequenceError(f"'{text.strip()}' is not a number") from None


def _split(body: str) -> list[str]:
    """Comma-separated parts of ``body``, commas inside ``{...}`` kept."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in body:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


def _group(text: str) -> tuple[str, ...]:
    """``{a, b}`` -> ``(a, b)``; ``a`` -> ``(a,)``."""
    if text.startswith("{") and text.endswith("}"):
        return tuple(item.strip() for item in text[1:-1].split(","))
    return (text,)


def _sequence(kind: str, params: list[str], limit: int) -> Spec:
    name, numbers = params[0], [_number(p) for p in params[1:]]
    if len(numbers) == 1:
        (end,) = numbers
        start, step = (-1 if end < 0 else 1), (-1 if end < 1 else 1)
    elif len(numbers) == 2:
        start, end = numbers
        step = 1 if start <= end else -1
    elif len(numbers) == 3:
        start, step, end = numbers
        if not step or (start < end and step < 0) or (start > end and step > 0):
            raise SequenceError(f"step {step} does not lead from {start} to {end}")
    else:
        raise SequenceError(f"~{kind} takes a variable and 1 to 3 numbers")
    if kind == "SEQx" and (start < 0 or end < 0):
        raise SequenceError("~SEQx is only for numbers that are not negative")
    count = (end - start) // step + 1 if (end - start) * step >= 0 else 0
    if count > limit:
        raise SequenceError(f"{count} repetitions, more than the limit of {limit}")
    text: Callable[[int], str] = (lambda n: format(n, "x")) if kind == "SEQx" else str
    return Spec((name,), tuple((text(start + i * step),) for i in range(count)))


def _list(params: list[str]) -> Spec:
    names = _group(params[0])
    values = tuple(_group(p) for p in params[1:])
    if not values:
        raise SequenceError("~LST needs at least one value")
    for value in values:
        if len(value) != len(names):
            raise SequenceError(f"{{{', '.join(value)}}} has {len(value)} values for {len(names)} variables")
    return Spec(names, values)


def parse(text: str, expand: Callable[[str], str], limit: int) -> tuple[list[Spec], int] | None:
    """The specs at the start of ``text`` and the offset where the rest of the line starts; None if
    the line does not start with a spec.  ``expand`` substitutes ``$NAME`` in a spec's parameters.
    Raises :class:`SequenceError` for a spec that cannot be read or would repeat too often."""
    specs: list[Spec] = []
    offset = 0
    while (head := _HEAD.match(text, offset)) is not None:
        close = _closing(text, head.end())
        kind = head.group(1)
        params = _split(expand(text[head.end():close]))
        for name in _group(params[0]):
            if not _NAME.match(name):
                raise SequenceError(f"'{name}' is not a variable name")
        specs.append(_list(params) if kind == "LST" else _sequence(kind, params, limit))
        offset = close + 1
    if not specs:
        return None
    total = 1
    for spec in specs:
        total *= len(spec.values)
    if total > limit:
        raise SequenceError(f"{total} repetitions, more than the limit of {limit}")
    return specs, offset


def _closing(text: str, start: int) -> int:
    depth = 0
    for index in range(start, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == ")" and depth == 0:
            return index
    raise SequenceError("the spec has no closing ')'")


def bindings(specs: list[Spec]) -> Iterator[dict[str, str]]:
    """Every combination of the specs' values, the first spec outermost."""
    if not specs:
        yield {}
        return
    first, rest = specs[0], specs[1:]
    for values in first.values:
        for inner in bindings(rest):
            yield {**dict(zip(first.names, values, strict=True)), **inner}
