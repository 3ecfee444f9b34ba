"""``include:`` at the top of a YAML configuration: a keepalived.conf (or YAML file) read as its base.

This is how pykeepalived-only sections (``bgp``) sit next to a keepalived.conf that stays unchanged::

    # /etc/pykeepalived/pykeepalived.yaml
    include: /etc/keepalived/keepalived.conf
    bgp: {...}

The included file is read by its own reader (syntax from its name or content, as for ``-f``), then
the YAML file's other top-level keys are added.  A section comes from one file only: a key in both
is an error at the YAML key.  A relative path is relative to the YAML file's directory; an
included YAML file may not include again.  Every diagnostic points into the file it is about.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from pykeepalived.config.diagnostics import Diagnostic, error
from pykeepalived.config.document import Document
from pykeepalived.config.source import PositionMap, SourceResult

INCLUDE_KEY = "include"
Reader = Callable[[str], SourceResult]
"""Reads one file (any syntax) into a :class:`SourceResult`, never raising."""


def resolve_include(source: SourceResult, path: str, read: Reader) -> SourceResult:
    """``source`` (a YAML file's result) with its ``include`` merged in; unchanged without one."""
    data = source.data
    if not isinstance(data, dict) or INCLUDE_KEY not in data:
        return source
    target = data[INCLUDE_KEY]
    own = {k: v for k, v in data.items() if k != INCLUDE_KEY}
    where = source.positions.value((INCLUDE_KEY,))
    line, col = (where.line, where.col) if where is not None else (None, None)
    if not isinstance(target, str) or not target.strip():
        return _with(source, own, error("include_type", "'include' takes the path of one file", path,
                                        line, col, path=(INCLUDE_KEY,)))
    full = target if os.path.isabs(target) else os.path.join(os.path.dirname(path) or ".", target)
    included = read(full)
    diagnostics = [*source.diagnostics, *_located(included.diagnostics, full, path, line, col)]
    sources = {**source.source_files, **included.source_files}
    if included.data is None:
        return SourceResult(None, source.positions, sources, diagnostics)
    if isinstance(included.data, dict) and INCLUDE_KEY in included.data:
        diagnostics.append(error("include_nested", f"{full} includes another file; only one level of "
                                 "'include' is allowed", path, line, col, path=(INCLUDE_KEY,)))
        return SourceResult(None, source.positions, sources, diagnostics)
    merged: Document = dict(included.data)
    for key, value in own.items():
        if key in merged:
            at = source.positions.key((key,))
            diagnostics.append(error(
                "include_conflict", f"'{key}' is also in the included file {full}; a section comes from "
                "one file", path, at.line if at else None, at.col if at else None, path=(key,)))
            continue
        merged[key] = value
    positions = PositionMap()
    positions.update(included.positions)
    positions.update(source.positions)
    return SourceResult(merged, positions, sources, diagnostics)


def _with(source: SourceResult, data: Document, diagnostic: Diagnostic) -> SourceResult:
    return SourceResult(data, source.positions, source.source_files, [*source.diagnostics, diagnostic])


def _located(diagnostics: list[Diagnostic], full: str, path: str, line: int | None,
             col: int | None) -> list[Diagnostic]:
    """An included file that cannot be read is reported at the ``include`` line that names it."""
    out = []
    for d in diagnostics:
        if d.line is None and d.file == full:
            out.append(error(f"include_{d.code}", f"included file {full}: {d.message}", path, line, col,
                             hint=d.hint, path=(INCLUDE_KEY,)))
        else:
            out.append(d)
    return out
