"""``pykeepalived genhash``: print the MD5 digest of a URL's body for ``HTTP_GET``/``SSL_GET`` ``digest``.

Like keepalived's ``genhash`` (``keepalived -T``)::

    pykeepalived genhash --url http://198.51.100.1/health
    pykeepalived genhash --server 198.51.100.1 --port 8080 --path /health --virtualhost www.example --ssl

``pykeepalived -T`` (``--genhash``) takes keepalived's genhash options instead
(:func:`add_keepalived_arguments`: ``-s SERVER -p PORT -u PATH [-S] [-V HOST] [-t S]``).

Prints ``MD5SUM = <hex>`` (``--json`` for status, length and digest).  The fetch is HTTP_GET's own
exchange (``check.genhash``), so the digest is the one the checker computes.  Exit 0 on success, 1 when the
URL cannot be fetched, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys

from pykeepalived.errors import PykaError, UsageError
from pykeepalived.exit_codes import ExitCode

HELP = "compute the MD5 digest of a URL body (for HTTP_GET/SSL_GET digest), like keepalived's genhash"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", "-u", help="http:// or https:// URL (the parts below override it)")
    parser.add_argument("--server", "-s", help="address (or name) to connect to")
    parser.add_argument("--port", "-p", type=int, help="port (default 80, or 443 with --ssl)")
    parser.add_argument("--path", help="URL path (default /)")
    parser.add_argument("--ssl", "-S", action="store_true", default=None, help="use TLS (not verified)")
    parser.add_argument("--virtualhost", "-V", help="Host header to send")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    parser.add_argument("--json", action="store_true", help="print status, length and digest as JSON")


def add_keepalived_arguments(parser: argparse.ArgumentParser) -> None:
    """keepalived's ``keepalived -T`` options (genhash(1))."""
    parser.add_argument("-S", "--use-ssl", dest="ssl", action="store_true", default=None, help="use TLS")
    parser.add_argument("-s", "--server", help="address to connect to")
    parser.add_argument("-p", "--port", type=int, help="port (default 80, or 443 with -S)")
    parser.add_argument("-u", "--url", dest="path", help="the path (or a whole http:// URL)")
    parser.add_argument("-V", "--use-virtualhost", dest="virtualhost", help="Host header to send")
    parser.add_argument("-P", "--protocol", choices=("1.0", "1.1", "1.0c", "1.0C"),
                        help="HTTP version (the digest is the same: the request is HTTP/1.0)")
    parser.add_argument("-t", "--timeout", type=float, default=5.0, help="seconds (default 5)")
    parser.add_argument("-m", "--fwmark", type=int, help="firewall mark of the socket (not supported)")
    parser.add_argument("-v", "--verbose", action="store_true", help="accepted (the output is always short)")


def run_keepalived(args: argparse.Namespace) -> int:
    """``pykeepalived -T ...``: keepalived's genhash options mapped onto :func:`run`."""
    if args.fwmark is not None:
        print("pykeepalived genhash: error: -m/--fwmark is not supported", file=sys.stderr)
        return ExitCode.USAGE
    if args.protocol is not None:
        print(f"pykeepalived genhash: note: -P {args.protocol}: the digest is fetched with the checker's "
              "HTTP/1.0 request", file=sys.stderr)
    path, url = args.path, None
    if path is not None and path.startswith(("http://", "https://")):
        path, url = None, args.path
    return run(argparse.Namespace(url=url, server=args.server, port=args.port, path=path, ssl=args.ssl,
                                  virtualhost=args.virtualhost, timeout=args.timeout, json=False))


def run(args: argparse.Namespace) -> int:
    import asyncio

    from pykeepalived.check.genhash import fetch_digest, make_target

    try:
        target = make_target(args.url, server=args.server, port=args.port, path=args.path, tls=args.ssl,
                             virtualhost=args.virtualhost)
        if not args.timeout > 0:
            raise UsageError("--timeout must be > 0")
    except UsageError as exc:
        print(f"pykeepalived genhash: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        result = asyncio.run(fetch_digest(target, args.timeout))
    except UsageError as exc:  # a path or virtualhost that cannot go into a request
        print(f"pykeepalived genhash: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except PykaError as exc:
        print(f"pykeepalived genhash: error: {exc}", file=sys.stderr)
        return ExitCode.INVALID
    from pykeepalived.check.probes import BODY_CAP_BYTES

    if result.length > BODY_CAP_BYTES:  # the checker stops reading there: this digest never matches
        print(f"warning: the body ({result.length} bytes) is larger than HTTP_GET/SSL_GET read "
              f"({BODY_CAP_BYTES} bytes): a check with this digest always fails", file=sys.stderr)
    if args.json:
        print(json.dumps({"url": target.url, "virtualhost": target.virtualhost, "status": result.status,
                          "length": result.length, "digest": result.md5}))
    else:
        if not 200 <= result.status <= 299:
            print(f"warning: HTTP status {result.status}", file=sys.stderr)
        print(f"MD5SUM = {result.md5}")
    return ExitCode.OK
