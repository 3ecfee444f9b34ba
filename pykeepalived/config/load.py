"""Loading a configuration file: the only entry point the rest of pykeepalived uses.

``check_config(path)`` reads the file, detects its syntax (``.yaml``/``.yml`` -> YAML, ``.conf`` ->
keepalived, anything else by content), parses it into plain data and positions, validates it and
returns every diagnostic.  ``load_config(path)`` does the same and returns the :class:`Config` or
raises :class:`~pykeepalived.errors.ConfigError` carrying the diagnostics.

keepalived.conf is read by :mod:`pykeepalived.config.kaconf` through one function,
``kaconf.load_source(path, *, config_id) -> SourceResult``, which yields the same plain data as
the YAML reader (see docs/config.md).
"""

from __future__ import annotations

import contextlib
import enum
import gc
import importlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pykeepalived.config.diagnostics import Diagnostic, Severity, error
from pykeepalived.config.document import Document
from pykeepalived.config.host import HostFacts
from pykeepalived.config.include import resolve_include
from pykeepalived.config.model import Config
from pykeepalived.config.semantic import FileInspector
from pykeepalived.config.source import Limits, PositionMap, SourceResult, decode_bytes, load_yaml
from pykeepalived.config.validate import attach_sources, validate_data
from pykeepalived.early_config import (
    DEFAULT_KEEPALIVED_PATH,
    DEFAULT_YAML_PATH,
    default_config_path,
    may_have_early_settings,
)
from pykeepalived.errors import ConfigError

_KEEPALIVED_SNIFF = re.compile(
    r"^[ \t]*(global_defs|vrrp_instance|vrrp_script|vrrp_sync_group|virtual_server|virtual_server_group"
    r"|track_file|include)\b[^:\n]*(\{|$)",
    re.MULTILINE,
)


class Syntax(enum.StrEnum):
    YAML = "yaml"
    KEEPALIVED = "keepalived"


@dataclass(slots=True)
class CheckResult:
    """The outcome of reading and validating one configuration."""

    file: str
    syntax: Syntax | None
    config: Config | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    positions: PositionMap | None = None
    """Where each data path came from (None when the file could not be read)."""
    source_files: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]

    @property
    def notes(self) -> list[Diagnostic]:
        """Keywords accepted with no effect by design (``not_applicable``); never make it invalid."""
        return [d for d in self.diagnostics if d.severity is Severity.NOTE]

    def ok(self, *, strict: bool = False) -> bool:
        return self.config is not None and not self.errors and not (strict and self.warnings)


def default_config_id() -> str:
    """keepalived's default config id (``-i``): the host name up to the first dot."""
    return nodename().split(".", 1)[0]


def nodename() -> str:
    """The host's name (``uname -n``)."""
    return os.uname().nodename


def detect_syntax(path: str, text: str) -> Syntax:
    lower = path.lower()
    if lower.endswith((".yaml", ".yml")):
        return Syntax.YAML
    if lower.endswith(".conf"):
        return Syntax.KEEPALIVED
    return Syntax.KEEPALIVED if _KEEPALIVED_SNIFF.search(text[:65536]) else Syntax.YAML


def read_bytes(path: str, limits: Limits | None = None) -> tuple[bytes | None, list[Diagnostic]]:
    """The file's bytes (at most the size limit plus one), or an I/O diagnostic."""
    limits = limits or Limits()
    try:
        with open(path, "rb") as handle:
            return handle.read(limits.max_bytes + 1), []
    except FileNotFoundError:
        return None, [error("file_not_found", "no such file", path)]
    except IsADirectoryError:
        return None, [error("file_unreadable", "is a directory, not a file", path)]
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return None, [error("file_unreadable", f"cannot read the file: {reason}", path)]


def check_config(
    path: str,
    *,
    syntax: Syntax | None = None,
    config_id: str | None = None,
    inspector: FileInspector | None = None,
    limits: Limits | None = None,
    all_config: bool = False,
    host: HostFacts | None = None,
) -> CheckResult:
    """Read, parse and validate ``path``; never raises for bad input.

    ``config_id`` selects keepalived.conf ``@ID`` lines; None means keepalived's default, the
    short host name (:func:`default_config_id`).  ``all_config`` (keepalived's ``-e``): an include
    that matches no file is an error.  ``host``: also check what the configuration asks of this host
    (its interfaces exist: :mod:`pykeepalived.config.host`).
    """
    if config_id is None:
        config_id = default_config_id()
    with gc_paused():
        return _check_config(path, syntax, config_id, inspector, limits or Limits(), all_config, host)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Parsing allocates hundreds of thousands of acyclic objects; the cyclic collector would scan
    the growing heap again and again (most of the time of a big check).  Pause it, then restore.

    The first collection after the restore still scans every object allocated meanwhile that is
    alive (~0.1 s for a 1,000 x 10 configuration): a caller that drops the result soon after (the
    ``check`` command) pauses around its whole use of it, so the objects are freed first."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_config(path: str, syntax: Syntax | None, config_id: str | None,  # noqa: PLR0917
                  inspector: FileInspector | None, limits: Limits, all_config: bool = False,
                  host: HostFacts | None = None) -> CheckResult:
    chosen, source = _read_source(path, syntax, config_id, limits, all_config)
    if chosen is Syntax.YAML:
        def read(target: str) -> SourceResult:
            return _read_source(target, None, config_id, limits, all_config)[1]

        source = resolve_include(source, path, read)
    if source.data is None and chosen is None:
        return CheckResult(path, syntax, None, source.diagnostics)
    return _validate(path, chosen or Syntax.YAML, source, inspector, host)


def _read_source(path: str, syntax: Syntax | None, config_id: str | None, limits: Limits,
                 all_config: bool = False) -> tuple[Syntax | None, SourceResult]:
    """One file in its syntax (None when the file could not be read as text)."""
    raw, diagnostics = read_bytes(path, limits)
    text = None
    if raw is not None:
        text, diagnostics = decode_bytes(raw, path, limits)
    if text is None:
        return None, SourceResult(None, PositionMap(), {}, diagnostics)
    chosen = syntax or detect_syntax(path, text)
    if chosen is Syntax.YAML:
        return chosen, load_yaml(text, path, limits)
    return chosen, _load_keepalived(path, config_id, all_config)


def check_text(text: str, file: str = "<string>", *, inspector: FileInspector | None = None,
               limits: Limits | None = None) -> CheckResult:
    """Validate YAML given as text (tests, tooling)."""
    with gc_paused():
        return _validate(file, Syntax.YAML, load_yaml(text, file, limits or Limits()), inspector)


def _validate(path: str, syntax: Syntax, source: SourceResult, inspector: FileInspector | None,
              host: HostFacts | None = None) -> CheckResult:
    diagnostics = attach_sources(list(source.diagnostics), source.source_files)
    if source.data is None:
        return CheckResult(path, syntax, None, diagnostics)
    # reader errors (duplicate keys...) do not stop validation: every error is reported in one run
    config, more = validate_data(source.data, source.positions, source.source_files,
                                 file=path, inspector=inspector, reader_diagnostics=source.diagnostics,
                                 host=host)
    diagnostics = _unique(diagnostics + more)
    if any(d.severity is Severity.ERROR for d in diagnostics):
        config = None
    return CheckResult(path, syntax, config, diagnostics, source.positions, source.source_files)


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """A mistake inside a merged or aliased block is reported once, not once per use."""
    seen: set[tuple[object, ...]] = set()
    out = []
    for d in diagnostics:
        key = (d.file, d.line, d.col, d.code, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


class _Reader(Protocol):
    """The keepalived.conf reader's entry point (``kaconf.load_source``)."""

    def __call__(self, path: str, *, config_id: str | None, all_config: bool) -> SourceResult: ...


def _load_keepalived(path: str, config_id: str | None, all_config: bool = False) -> SourceResult:
    """The one call into the keepalived.conf reader."""
    reader: _Reader | None = None
    try:
        reader = getattr(importlib.import_module("pykeepalived.config.kaconf"), "load_source", None)
    except ImportError:
        reader = None
    if reader is None:
        return SourceResult(None, PositionMap(), {}, [error(
            "syntax_unavailable", "keepalived.conf syntax is not available in this build", path,
            hint="write the configuration in YAML (docs/config.md)")])
    result: SourceResult = reader(path, config_id=config_id, all_config=all_config)
    return result


HOST_CODES = frozenset({"host_interface", "host_mpls"})
"""Host findings: errors when the configuration is about to be used on this host."""


def load_config(path: str, *, strict: bool = False, config_id: str | None = None,
                inspector: FileInspector | None = None,
                on_warning: Callable[[Diagnostic], None] | None = None,
                host: HostFacts | None = None, all_config: bool = False) -> Config:
    """The validated :class:`Config`, or :class:`ConfigError` with every diagnostic.
    ``on_warning`` is called with each warning of a configuration that is used.  ``host``: check
    it against this host too; a host finding (a missing interface) is then an error, since the
    configuration is about to be used here."""
    result = check_config(path, config_id=config_id, inspector=inspector, host=host, all_config=all_config)
    if host is not None:
        result.diagnostics = [_as_error(d) if d.code in HOST_CODES else d for d in result.diagnostics]
    if result.config is None or not result.ok(strict=strict):
        count = len(result.errors) + (len(result.warnings) if strict else 0)
        raise ConfigError(f"{path}: invalid configuration ({count} problems)", result.diagnostics)
    if on_warning is not None:
        for warning in result.warnings:
            on_warning(warning)
    return result.config


def _as_error(d: Diagnostic) -> Diagnostic:
    return Diagnostic(Severity.ERROR, d.code, d.message, d.file, d.line, d.col, d.hint, d.source_line, d.path)


@dataclass(frozen=True, slots=True)
class EarlySettings:
    """What the daemon must know before its first socket and file: the network namespace it runs in
    (``net_namespace``) and its name (``instance``: pid file, control socket, log and dump names)."""

    net_namespace: str | None = None
    instance: str | None = None


def early_settings(path: str, config_id: str | None = None) -> EarlySettings:
    """The configuration's ``net_namespace`` and ``instance`` (none when the file cannot be read: the
    daemon's own load reports that).  Cheap when the file has neither and includes nothing."""
    raw, _ = read_bytes(path)
    if raw is None or not may_have_early_settings(raw):
        return EarlySettings()
    text = raw.decode("utf-8", errors="replace")
    if detect_syntax(path, text) is Syntax.YAML:
        data: Document | None = load_yaml(text, path, Limits()).data
    else:
        data = _load_keepalived(path, default_config_id() if config_id is None else config_id).data
    if not isinstance(data, dict):
        return EarlySettings()
    found = {key: value if isinstance(value := data.get(key), str) and value else None
             for key in ("net_namespace", "instance")}
    return EarlySettings(found["net_namespace"], found["instance"])


def describe(config: Config) -> str:
    def plural(n: int, word: str) -> str:
        return f"{n} {word}" + ("" if n == 1 else "s")

    return (f"{plural(len(config.vrrp_instances), 'vrrp instance')}, "
            f"{plural(len(config.virtual_servers), 'virtual server')}")


__all__: Sequence[str] = (
    "DEFAULT_KEEPALIVED_PATH",
    "DEFAULT_YAML_PATH",
    "CheckResult",
    "EarlySettings",
    "Syntax",
    "check_config",
    "check_text",
    "default_config_id",
    "default_config_path",
    "describe",
    "detect_syntax",
    "early_settings",
    "gc_paused",
    "load_config",
)
