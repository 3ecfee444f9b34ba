"""``pykeepalived check [-f FILE | FILE...] [--strict] [--format text|json] [-q]``: validate a configuration.

Also used by ``pykeepalived --check`` / ``-t`` (keepalived's flags, :mod:`pykeepalived.commands.run`).
Several files are several directors' configurations: each is checked, then they are compared
(the same virtual servers with the same real servers in the same order, as active/active directors
behind ECMP need; :mod:`pykeepalived.scaleout.directors`).
Exit status: 0 valid (warnings allowed unless ``--strict``), 1 invalid, 2 usage error or unreadable file.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys

from pykeepalived.exit_codes import ExitCode

HELP = "validate a configuration file (YAML or keepalived.conf) and report every problem"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="*", help="configuration file (default: see docs/config.md); several: "
                        "the configurations of directors that share traffic, compared with each other")
    parser.add_argument("-f", "--use-file", dest="use_file", metavar="FILE", help="configuration file")
    add_check_options(parser)


def add_check_options(parser: argparse.ArgumentParser) -> None:
    """Options shared with ``pykeepalived --check``."""
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only problems, nothing on success")
    parser.add_argument("--syntax", choices=("yaml", "keepalived"), help="skip syntax detection")
    parser.add_argument("--host", action="store_true",
                        help="also check the configuration against this host (its interfaces exist, its "
                             "kernel has MPLS for encap mpls), as "
                             "keepalived -t does on the director")
    if not any("--config-id" in a.option_strings for a in parser._actions):
        parser.add_argument("-i", "--config-id", dest="config_id", metavar="ID",
                            help="id for keepalived.conf @ID lines (default: short host name)")


def run(args: argparse.Namespace) -> int:
    files = args.file if isinstance(args.file, list) else [args.file] if args.file else []
    if files and args.use_file:
        print("pykeepalived check: give the file either as FILE or with -f, not both", file=sys.stderr)
        return ExitCode.USAGE
    options = {"strict": args.strict, "fmt": args.format, "quiet": args.quiet,
               "config_id": getattr(args, "config_id", None), "syntax": getattr(args, "syntax", None),
               "host": getattr(args, "host", False)}
    if len(files) > 1:
        try:
            return check_directors(files, **options)
        except Exception as exc:  # last resort: never a traceback, whatever the input
            return _internal_error(files[0], exc, args.format)
    return check_file(args.use_file or (files[0] if files else None), **options,
                      exit_at_once=getattr(args, "exit_at_once", False))


def check_directors(files: list[str], *, strict: bool = False, fmt: str = "text", quiet: bool = False,
                    config_id: str | None = None, syntax: str | None = None, host: bool = False) -> int:
    """Check each director's file, then compare them; one report, one exit status."""
    from pykeepalived.config.diagnostics import IO_CODES, Severity, render_json, render_text
    from pykeepalived.config.load import Syntax, check_config
    from pykeepalived.config.validate import attach_sources
    from pykeepalived.scaleout.directors import Director, compare_directors

    facts = None
    if host:
        from pykeepalived.net.links import SystemHost

        facts = SystemHost()
    results = [check_config(f, config_id=config_id, syntax=Syntax(syntax) if syntax else None, host=facts)
               for f in files]
    diagnostics = [d for r in results for d in r.diagnostics]
    valid = [r for r in results if r.config is not None]
    by_file = {r.file: r for r in valid}
    for found in compare_directors([Director(r.file, r.config) for r in valid if r.config is not None]):
        result = by_file[found.file]
        position = result.positions.locate(found.path, prefer_key=True) if result.positions else None
        placed = found if position is None else dataclasses.replace(
            found, file=position.file, line=position.line, col=position.col)
        diagnostics += attach_sources([placed], result.source_files)
    ok = len(valid) == len(results) and not any(
        d.severity is Severity.ERROR or (strict and d.severity is Severity.WARNING) for d in diagnostics)
    status = ExitCode.USAGE if any(d.code in IO_CODES for d in diagnostics) else \
        ExitCode.OK if ok else ExitCode.INVALID
    if fmt == "json":
        print(render_json(", ".join(files), ok, diagnostics, files=files, strict=strict))
        return status
    if diagnostics:
        print(render_text(diagnostics))
    if ok and not quiet:
        print(f"{len(files)} directors' configurations are valid and consistent: {', '.join(files)}")
    return status


def check_file(path: str | None, *, strict: bool = False, fmt: str = "text", quiet: bool = False,
               config_id: str | None = None, syntax: str | None = None, host: bool = False,
               all_config: bool = False, exit_at_once: bool = False) -> int:
    """Validate ``path`` (default: the default config file), print the report, return the exit status.
    ``host``: also check it against this host; ``all_config``: keepalived's ``-e``.  ``exit_at_once``
    (a ``pykeepalived --check`` process, :func:`pykeepalived.cli.entry`): once the report is out, the
    process ends with the status without freeing the checked configuration or tearing the
    interpreter down (~50 ms of a 1,000 x 10 configuration's ~1 s)."""
    from pykeepalived.config.load import default_config_path, gc_paused

    file = path or default_config_path()
    try:
        # the result is dropped when _check returns, before the collector runs again: it never scans it
        with gc_paused():
            return _check(file, strict=strict, fmt=fmt, quiet=quiet, config_id=config_id, syntax=syntax,
                          host=host, all_config=all_config, exit_at_once=exit_at_once)
    except Exception as exc:  # last resort: never a traceback, whatever the input
        return _internal_error(file, exc, fmt)


def _done(status: int, exit_at_once: bool) -> int:
    """``status``, or with ``exit_at_once`` the end of the process with it (the report flushed first)."""
    if exit_at_once:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(status)
    return status


def _check(file: str, *, strict: bool, fmt: str, quiet: bool, config_id: str | None, syntax: str | None,
           host: bool = False, all_config: bool = False, exit_at_once: bool = False) -> int:
    from pykeepalived.config.diagnostics import IO_CODES, render_json, render_text
    from pykeepalived.config.load import Syntax, check_config, describe

    facts = None
    if host:
        from pykeepalived.net.links import SystemHost

        facts = SystemHost()
    result = check_config(file, config_id=config_id, syntax=Syntax(syntax) if syntax else None, host=facts,
                          all_config=all_config)
    valid = result.ok(strict=strict)
    if any(d.code in IO_CODES for d in result.diagnostics):
        status = ExitCode.USAGE
    else:
        status = ExitCode.OK if valid else ExitCode.INVALID
    if fmt == "json":
        syntax_name = result.syntax.value if result.syntax else None
        extra: dict[str, object] = {"syntax": syntax_name, "strict": strict}
        if result.config is not None:
            extra["vrrp_instances"] = len(result.config.vrrp_instances)
            extra["virtual_servers"] = len(result.config.virtual_servers)
        print(render_json(file, valid, result.diagnostics, **extra))
        return _done(status, exit_at_once)  # while ``result`` is still referenced: never freed then
    if result.diagnostics:
        print(render_text(result.diagnostics))
    if valid and result.config is not None and not quiet:
        print(f"{file}: configuration is valid ({describe(result.config)})")
    return _done(status, exit_at_once)


def _internal_error(file: str, exc: Exception, fmt: str) -> int:
    import json

    message = f"internal error while checking: {type(exc).__name__}: {exc}"
    if fmt == "json":
        print(json.dumps({"file": file, "valid": False, "errors": 1, "warnings": 0, "diagnostics": [
            {"severity": "error", "code": "internal_error", "message": message, "file": file, "line": None,
             "col": None, "hint": "please report this as a bug", "source_line": None, "path": []}]},
            indent=2))
    else:
        print(f"{file}: error: {message} [internal_error]\nhint: please report this as a bug")
    return ExitCode.INVALID
