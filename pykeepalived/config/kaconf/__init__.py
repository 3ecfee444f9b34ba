"""keepalived.conf, read unchanged into the same plain data as the YAML syntax.

The entry point is :func:`parse` (:func:`load_source` is the same for a ``str`` path, the form
:mod:`pykeepalived.config.load` uses)::

    result = parse(Path("/etc/keepalived/keepalived.conf"), config_id="lb1")
    result.data          # dict in the YAML shape (docs/config.md), or None if the file is unreadable
    result.positions     # PositionMap: data path -> file:line:col in keepalived.conf (or an include)
    result.source_files  # every file read -> its text (for source lines under diagnostics)
    result.diagnostics   # Diagnostics: syntax errors, unknown keywords, unsupported-keyword warnings

The stages are separate modules: :mod:`.preprocess` (files, includes, comments, ``@id``, ``$VAR``),
:mod:`.lexer` (tokens with positions), :mod:`.tree` (nested blocks) and :mod:`.mapping` with
:mod:`.keywords`/:mod:`.entries` (keywords -> data).  Nothing here raises on bad input, does
network or clock I/O, or keeps module state; files are read with :mod:`pathlib`.
"""

from __future__ import annotations

from pathlib import Path

from pykeepalived.config.diagnostics import Diagnostic, Severity
from pykeepalived.config.kaconf.include_checks import INCLUDE_CHECKS
from pykeepalived.config.kaconf.keywords import TOP
from pykeepalived.config.kaconf.lexer import Issue
from pykeepalived.config.kaconf.mapping import Ctx, Data, map_block
from pykeepalived.config.kaconf.preprocess import Limits, preprocess
from pykeepalived.config.kaconf.tree import build
from pykeepalived.config.source import PositionMap, SourceResult

__all__ = ["Limits", "load_source", "parse"]


def parse(path: Path, *, config_id: str | None = None, limits: Limits | None = None,
          all_config: bool = False, inline: bool = True) -> SourceResult:
    """Read a keepalived.conf (and what it includes) into plain data, positions and diagnostics.

    ``config_id`` selects ``@ID`` lines (keepalived's ``-i``; the caller passes the short host
    name by default); None keeps only ``@^ID`` lines.  ``all_config`` (keepalived's ``-e``) makes
    an include that matches no file an error, as ``include_check`` does.  ``data`` is None only
    when the top file cannot be read (the code is then ``file_not_found`` or ``file_unreadable``).
    ``inline`` False reads every line through the general tree and mapping code (tests compare).
    """
    checks = INCLUDE_CHECKS if all_config else frozenset()
    pre = preprocess(path, config_id=config_id, limits=limits, include_check=checks)
    issues: list[Issue] = list(pre.issues)
    positions = PositionMap()
    if pre.unreadable:
        return SourceResult(None, positions, pre.texts, _diagnostics(issues, pre.texts))
    statements = build(pre.lines, issues, inline=inline)
    ctx = Ctx(issues, positions, inline=inline)
    data: Data = {}
    map_block(ctx, statements, TOP, data, ())
    for finish in ctx.finish:
        finish(data)
    diagnostics = _diagnostics(issues, pre.texts)
    if not statements and not any(d.severity is Severity.ERROR for d in diagnostics):
        diagnostics.append(
            Diagnostic(
                Severity.ERROR,
                "empty_config",
                "the configuration is empty",
                str(path),
                1,
                1,
                hint="a configuration needs at least a vrrp_instance or virtual_server block",
            )
        )
    return SourceResult(data, positions, pre.texts, diagnostics)


def load_source(path: str | Path, *, config_id: str | None = None, all_config: bool = False) -> SourceResult:
    """What :mod:`pykeepalived.config.load` calls: :func:`parse` for a path given as text."""
    return parse(Path(path), config_id=config_id, all_config=all_config)


def _diagnostics(issues: list[Issue], texts: dict[str, str]) -> list[Diagnostic]:
    lines_of: dict[str, list[str]] = {}
    out: list[Diagnostic] = []
    for issue in issues:
        pos = issue.pos
        if pos.file not in lines_of:
            lines_of[pos.file] = texts.get(pos.file, "").split("\n")
        lines = lines_of[pos.file]
        source = (
            lines[pos.line - 1].rstrip("\r") if 0 < pos.line <= len(lines) and lines[pos.line - 1] else None
        )
        severity = Severity(issue.severity.value)
        out.append(
            Diagnostic(
                severity,
                issue.code,
                issue.message,
                pos.file,
                pos.line,
                pos.col,
                hint=issue.hint,
                source_line=source,
                path=issue.path,
            )
        )
    return out
