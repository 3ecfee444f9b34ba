"""Diagnostics: one positioned finding about a config, and its text/JSON renderings.

Text is GCC/ruff style so editors and CI annotate it::

    etc/a.yaml:12:5: error: unknown keyword 'priorty' [extra_forbidden]
        priorty: 100
        ^
    hint: did you mean 'priority'?

followed, for a whole run, by a summary line ``2 errors, 1 warning``.
"""

from __future__ import annotations

import difflib
import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

#: a path into the plain config data: mapping keys and list indexes
Path = tuple[str | int, ...]

#: codes that mean "the file could not be read at all" (exit status 2, not 1)
IO_CODES = frozenset({"file_not_found", "file_unreadable"})


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"
    """Information that never makes a config invalid, not even with ``--strict``: a keyword that is
    accepted and has no effect by design (``not_applicable``, docs/keepalived-conf.md)."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding.  ``line``/``col`` are 1-based; ``None`` when the finding is about the whole file."""

    severity: Severity
    code: str
    message: str
    file: str
    line: int | None = None
    col: int | None = None
    hint: str | None = None
    source_line: str | None = None
    path: Path = field(default=())

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line or 0, self.col or 0, self.code)

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "hint": self.hint,
            "source_line": self.source_line,
            "path": list(self.path),
        }


def error(code: str, message: str, file: str, line: int | None = None, col: int | None = None,
          *, hint: str | None = None, path: Path = ()) -> Diagnostic:
    return Diagnostic(Severity.ERROR, code, message, file, line, col, hint=hint, path=path)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """``"did you mean 'priority'?"`` for the closest allowed word, or None."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: d.sort_key)


def count(diagnostics: Iterable[Diagnostic]) -> tuple[int, int]:
    """(errors, warnings); notes are not counted (:func:`count_notes`)."""
    errors = warnings = 0
    for d in diagnostics:
        if d.severity is Severity.ERROR:
            errors += 1
        elif d.severity is Severity.WARNING:
            warnings += 1
    return errors, warnings


def count_notes(diagnostics: Iterable[Diagnostic]) -> int:
    return sum(1 for d in diagnostics if d.severity is Severity.NOTE)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    """``2 errors, 1 warning`` (``, 3 notes`` only when there are notes)."""
    errors, warnings = count(diagnostics)
    notes = count_notes(diagnostics)
    text = f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
    return f"{text}, {_plural(notes, 'note')}" if notes else text


def render_one(d: Diagnostic) -> str:
    where = d.file
    if d.line is not None:
        where += f":{d.line}"
        if d.col is not None:
            where += f":{d.col}"
    lines = [f"{where}: {d.severity.value}: {d.message} [{d.code}]"]
    if d.source_line is not None:
        lines.append(d.source_line)
        if d.col is not None:
            # keep tabs so the caret lines up under tab-indented source
            prefix = "".join(c if c == "\t" else " " for c in d.source_line[: d.col - 1])
            lines.append(prefix + "^")
    if d.hint:
        lines.append(f"hint: {d.hint}")
    return "\n".join(lines)


def render_text(diagnostics: Sequence[Diagnostic], *, with_summary: bool = True) -> str:
    """All diagnostics sorted by position, then the summary line."""
    parts = [render_one(d) for d in sort_diagnostics(diagnostics)]
    if with_summary:
        parts.append(summary(diagnostics))
    return "\n".join(parts)


def render_json(file: str, valid: bool, diagnostics: Sequence[Diagnostic], **extra: object) -> str:
    errors, warnings = count(diagnostics)
    document: dict[str, object] = {
        "file": file,
        "valid": valid,
        "errors": errors,
        "warnings": warnings,
        "notes": count_notes(diagnostics),
        **extra,
        "diagnostics": [d.to_dict() for d in sort_diagnostics(diagnostics)],
    }
    return json.dumps(document, indent=2)
