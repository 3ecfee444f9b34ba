"""DNS_CHECK: one hand-built query (RFC 1035 §4.1) of the configured type and name over UDP.

Success needs a response (QR set) with the query's id, the same question, and RCODE NOERROR,
within ``connect_timeout``.  Stray datagrams with another id are ignored until the deadline.
The UDP socket is connected, so an ICMP port-unreachable fails the check at once.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import struct

from pykeepalived.check.probes import DNS_TYPES, DnsSpec
from pykeepalived.check.probes.tcp import describe_oserror, open_socket
from pykeepalived.check.results import CheckResult

HEADER = struct.Struct("!HHHHHH")
FLAG_QR = 0x8000
FLAG_RD = 0x0100
RCODE_MASK = 0x000F
CLASS_IN = 1
MAX_DATAGRAM = 4096
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def encode_name(name: str) -> bytes:
    """``www.example.`` -> length-prefixed labels ending with the root label; ValueError if invalid."""
    labels = [label for label in name.rstrip(".").split(".") if label] if name != "." else []
    out = bytearray()
    for label in labels:
        raw = label.encode("idna") if not label.isascii() else label.encode("ascii")
        if not 0 < len(raw) <= 63:
            raise ValueError(f"bad DNS label {label!r}")
        out += bytes([len(raw)]) + raw
    out += b"\x00"
    if len(out) > 255:
        raise ValueError("DNS name longer than 255 bytes")
    return bytes(out)


def build_query(query_id: int, qtype: str, qname: str) -> bytes:
    """A standard recursive query with one question."""
    return HEADER.pack(query_id, FLAG_RD, 1, 0, 0, 0) + encode_name(qname) + struct.pack(
        "!HH", DNS_TYPES[qtype], CLASS_IN)


def check_response(data: bytes, query: bytes) -> str | None:
    """None if ``data`` answers ``query`` with NOERROR; else why not (``"id"`` for another id)."""
    if len(data) < HEADER.size:
        return "short response"
    rid, flags, qdcount, _an, _ns, _ar = HEADER.unpack_from(data)
    if rid != struct.unpack_from("!H", query)[0]:
        return "id"
    if not flags & FLAG_QR:
        return "not a response"
    rcode = flags & RCODE_MASK
    if rcode:
        return f"rcode {RCODE_NAMES.get(rcode, str(rcode))}"
    question = query[HEADER.size:]
    if qdcount != 1 or data[HEADER.size:HEADER.size + len(question)].lower() != question.lower():
        return "question mismatch"
    return None


async def dns_probe(spec: DnsSpec) -> CheckResult:
    """Send one query and wait for its matching answer."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        query = build_query(secrets.randbits(16), spec.qtype, spec.qname)
    except (ValueError, KeyError, UnicodeError) as exc:
        return CheckResult.failure(f"bad query: {exc}")
    ep = spec.endpoint
    try:
        sock = open_socket(ep, socket.SOCK_DGRAM)
    except OSError as exc:
        return CheckResult.failure(f"cannot bind: {describe_oserror(exc)}")
    try:
        async with asyncio.timeout(ep.timeout_s):
            await loop.sock_connect(sock, (str(ep.ip), ep.port))
            await loop.sock_sendall(sock, query)
            while True:
                data = await loop.sock_recv(sock, MAX_DATAGRAM)
                problem = check_response(data, query)
                if problem != "id":
                    break
    except TimeoutError:
        return CheckResult.failure("timeout", loop.time() - start)
    except OSError as exc:
        return CheckResult.failure(describe_oserror(exc), loop.time() - start)
    finally:
        sock.close()
    if problem is not None:
        return CheckResult.failure(problem, loop.time() - start)
    return CheckResult.success(loop.time() - start, "dns ok")
