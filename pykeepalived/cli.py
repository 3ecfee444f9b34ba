"""The ``pykeepalived`` command line.

Two shapes, like keepalived's own:

* ``pykeepalived [-f FILE] [-n] [-l] [-D] ... [--check|-t]`` — keepalived's flags: run the daemon, or
  with ``--check``/``-t`` validate the config and exit (handled by :mod:`pykeepalived.commands.run`);
* ``pykeepalived SUBCOMMAND ...`` — ``check``, ``decode``, ``convert``, ``schema``, ``status``, ...

Every subcommand lives in its own module under :mod:`pykeepalived.commands` with ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``.  Modules are imported only when their
subcommand runs, so ``pykeepalived decode`` never imports netlink or aiohttp.
This is the only module (with :mod:`pykeepalived.commands`) that writes to stdout/stderr.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

from pykeepalived import __version__
from pykeepalived.exit_codes import ExitCode

#: subcommand name -> module implementing it
SUBCOMMANDS: dict[str, str] = {
    "check": "pykeepalived.commands.check",
    "convert": "pykeepalived.commands.convert",
    "decode": "pykeepalived.commands.decode",
    "genhash": "pykeepalived.commands.genhash",
    "schema": "pykeepalived.commands.schema",
    "status": "pykeepalived.commands.status",
    "run": "pykeepalived.commands.run",
}


def _load(name: str) -> ModuleType:
    return importlib.import_module(SUBCOMMANDS[name])


def _available() -> list[str]:
    names = []
    for name, module in SUBCOMMANDS.items():
        if importlib.util.find_spec(module) is not None:
            names.append(name)
    return names


def _subcommand(name: str, rest: Sequence[str], *, process: bool = False) -> int:
    module = _load(name)
    parser = argparse.ArgumentParser(prog=f"pykeepalived {name}", description=module.HELP)
    module.add_arguments(parser)
    args = parser.parse_args(list(rest))
    args.exit_at_once = process  # a validation ends the process once its report is out (commands/check.py)
    return int(module.run(args))


def _genhash_keepalived(rest: Sequence[str]) -> int:
    module = _load("genhash")
    parser = argparse.ArgumentParser(prog="pykeepalived -T", description=module.HELP)
    module.add_keepalived_arguments(parser)
    return int(module.run_keepalived(parser.parse_args(list(rest))))


def entry() -> None:
    """The console script and ``python -m pykeepalived``: :func:`main` as the whole process."""
    raise SystemExit(main(process=True))


def main(argv: Sequence[str] | None = None, *, process: bool = False) -> int:
    """The command line; returns the process exit code.  ``process``: this is the whole process
    (:func:`entry`), so a validation may end it as soon as its report is out."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in ("-v", "--version", "version"):
            print(f"pykeepalived {__version__}")
            return ExitCode.OK
        if args and args[0] in ("-h", "--help", "help") and len(args) == 1:
            print(__doc__.strip().splitlines()[0])
            print("subcommands: " + ", ".join(_available()))
            print("run `pykeepalived SUBCOMMAND --help` or `pykeepalived run --help` for the daemon's flags")
            return ExitCode.OK
        if args and args[0] in SUBCOMMANDS:
            return _subcommand(args[0], args[1:], process=process)
        if args and args[0] in ("-T", "--genhash"):  # keepalived -T: the rest are genhash options
            return _genhash_keepalived(args[1:])
        return _subcommand("run", args, process=process)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help exits 0
        code = exc.code
        return code if isinstance(code, int) else ExitCode.USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return ExitCode.OK
