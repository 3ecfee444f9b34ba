"""A stand-in for the web child (``python -m pykeepalived.testing.fake_web_child``, the same command line
as ``pykeepalived.web.child``) that misbehaves on purpose, for ``web/supervisor.py``'s tests.

``--listen`` names the behaviour (the supervisor passes it through unchanged):

* ``garbage``: sends frames the daemon must drop (not JSON, no type, an ask without an id, an ask for
  something unknown, counters with an unknown key, an unknown type), then asks for ``health`` and
  writes the answer's frame to stdout, then exits 0;
* ``oversize``: announces a frame longer than the daemon accepts, then waits to be ended;
* ``no-listen``: exits 3 at once (the child's "cannot listen");
* anything else: asks ``health`` once and waits until the channel closes, then exits 0.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import sys
import time

from pykeepalived.web.channel import MAX_FROM_CHILD, encode


def _raw(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def main() -> int:
    parser = argparse.ArgumentParser()
    for flag in ("--fd", "--listen", "--max-age", "--parent"):
        parser.add_argument(flag)
    args = parser.parse_args()
    sock = socket.socket(fileno=int(args.fd))
    mode = args.listen
    if mode == "no-listen":
        return 3
    if mode == "oversize":
        sock.sendall(struct.pack(">I", MAX_FROM_CHILD + 1) + b"x" * 10)
        time.sleep(30)
        return 0
    if mode == "garbage":
        for frame in (_raw(b"\xff\xfe not json"), _raw(b"[1, 2]"), _raw(b'{"no": "type"}'),
                      encode({"t": "ask", "what": "health"}),
                      encode({"t": "ask", "id": 1, "what": "secrets"}),
                      encode({"t": "counters", "evil": 1}), encode({"t": "shell", "cmd": "reboot"})):
            sock.sendall(frame)
    sock.sendall(encode({"t": "ask", "id": 7, "what": "health", "full": False}))
    reply = b""
    while len(reply) < 4 or len(reply) < 4 + struct.unpack(">I", reply[:4])[0]:
        chunk = sock.recv(65536)
        if not chunk:
            return 0
        reply += chunk
    sys.stdout.write(json.dumps(json.loads(reply[4:])) + "\n")
    sys.stdout.flush()
    if mode == "garbage":
        return 0
    while sock.recv(65536):  # until the daemon closes the channel
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
