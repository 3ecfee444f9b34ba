"""``pykeepalived convert FILE [-i ID]``: print the YAML equivalent of a keepalived.conf.

The file is read and validated exactly as ``check`` does; if it is valid the YAML document goes to
stdout (warnings, such as keywords not supported yet, go to stderr), otherwise the diagnostics go
to stderr and nothing is printed.  Exit codes: 0 converted, 1 invalid, 2 unreadable file.
"""

from __future__ import annotations

import argparse
import sys

import yaml

from pykeepalived.config import diagnostics as diag
from pykeepalived.config import kaconf
from pykeepalived.config.load import Syntax, check_config, default_config_id
from pykeepalived.exit_codes import ExitCode

HELP = "print the YAML equivalent of a keepalived.conf"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the keepalived.conf to convert")
    parser.add_argument(
        "-i",
        "--config-id",
        dest="config_id",
        default=None,
        help="the config id selecting '@ID' lines (default: the short host name, as keepalived)",
    )
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print warnings")


def run(args: argparse.Namespace) -> int:
    config_id = args.config_id if args.config_id is not None else default_config_id()
    result = check_config(args.file, syntax=Syntax.KEEPALIVED, config_id=config_id)
    if any(d.code in diag.IO_CODES for d in result.diagnostics):
        print(diag.render_text(result.diagnostics), file=sys.stderr)
        return ExitCode.USAGE
    if not result.ok(strict=args.strict):
        print(diag.render_text(result.diagnostics), file=sys.stderr)
        return ExitCode.INVALID
    if result.diagnostics and not args.quiet:
        print(diag.render_text(result.diagnostics), file=sys.stderr)
    source = kaconf.load_source(args.file, config_id=config_id)
    header = f"# converted from {args.file} by pykeepalived convert\n"
    sys.stdout.write(header + yaml.safe_dump(source.data, sort_keys=False, default_flow_style=False))
    return ExitCode.OK
