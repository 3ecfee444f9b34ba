"""``pykeepalived schema``: print the JSON Schema of the YAML configuration format (for editors)."""

from __future__ import annotations

import argparse

from pykeepalived.exit_codes import ExitCode

HELP = ("print the JSON Schema of the YAML configuration format (or, with --status, of the status document "
        "of `pykeepalived status --json` and GET /status)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2)")
    parser.add_argument("--status", action="store_true", help="the status document's schema instead")


def run(args: argparse.Namespace) -> int:
    import json

    from pykeepalived.config.model import Config

    if args.status:
        from pykeepalived.web.status_schema import STATUS_SCHEMA

        print(json.dumps(STATUS_SCHEMA, indent=args.indent if args.indent > 0 else None, sort_keys=True))
        return ExitCode.OK

    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://pykeepalived.invalid/schema/pykeepalived.schema.json",
        **Config.model_json_schema(mode="validation"),
        "title": "pykeepalived configuration",
    }
    print(json.dumps(schema, indent=args.indent if args.indent > 0 else None))
    return ExitCode.OK
