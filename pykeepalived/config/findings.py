"""Positioned findings of the second pass: a :class:`Diagnostic` with a ``path`` into the plain data
(no line yet: the validator places it through the position map)."""

from __future__ import annotations

from collections.abc import Iterable

from pykeepalived.config.diagnostics import Diagnostic, Path, Severity, did_you_mean


def finding(severity: Severity, code: str, message: str, path: Path, hint: str | None = None) -> Diagnostic:
    return Diagnostic(severity, code, message, "", None, None, hint=hint, path=path)


def err(code: str, message: str, path: Path, hint: str | None = None) -> Diagnostic:
    return finding(Severity.ERROR, code, message, path, hint)


def warn(code: str, message: str, path: Path, hint: str | None = None) -> Diagnostic:
    return finding(Severity.WARNING, code, message, path, hint)


def unknown(kind: str, name: str, known: Iterable[str], path: Path) -> Diagnostic:
    """A reference to something the config does not define, with a did-you-mean hint."""
    return err("unknown_reference", f"there is no {kind} named '{name}'", path, did_you_mean(name, known))
