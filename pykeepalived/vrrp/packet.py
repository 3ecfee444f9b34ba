"""VRRP advertisement codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798), IPv4 and IPv6.

Pure functions, no I/O.  Encoding is the inverse of decoding.  Decoding is strict and checks one
thing at a time, in the order of FRR's ``vrrp_pkt_parse_datagram``: IP length, TTL/hop limit, size,
version, checksum, type, exact size for the address count, auth type, address family.  Every
rejection raises :class:`~pykeepalived.errors.PacketError` whose ``reason`` is one of
:data:`REASONS` (keepalived's stats names where keepalived has one), usable as a drop counter.
Semantic checks (VRID, priority, interval, address list versus the configuration) are the
caller's: the codec validates syntax, the state machine validates meaning.

Entry points (documented with examples in docs/packet.md):

* :func:`encode` — an :class:`Advertisement` to VRRP message bytes;
* :func:`decode` — VRRP message bytes to an :class:`Advertisement` (strict), :func:`parse` the same
  but reporting a checksum mismatch in :class:`Decoded` instead of raising;
* :func:`decode_ipv4_packet` — what a raw IPv4 socket delivers (IP header included);
* :func:`decode_ipv6_payload` — what a raw IPv6 socket delivers (no header; src, dst and hop limit
  come from the socket's address and ancillary data);
* :func:`decode_ip_packet` — a whole IPv4 or IPv6 packet (captures, the ``decode`` command).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.errors import PacketError, UsageError
from pykeepalived.vrrp.checksum import internet_checksum, vrrp_checksum
from pykeepalived.wire import VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_PROTO, VRRP_TTL

IPAddress = IPv4Address | IPv6Address

VRRP_TYPE_ADVERTISEMENT = 1
AUTH_NONE = 0
AUTH_SIMPLE_TEXT = 1

VRRP_VERSION_2 = 2
VRRP_VERSION_3 = 3
VRRP_MCAST_GROUP_V4 = IPv4Address(VRRP_GROUP_V4)
VRRP_MCAST_GROUP_V6 = IPv6Address(VRRP_GROUP_V6)
VRRP_HEADER_LEN = 8
V2_AUTH_DATA_LEN = 8
"""RFC 3768 §5.3.10: 8 bytes of authentication data after the addresses (zeros for auth type 0)."""
MAX_ADDRESSES = 255
V2_MAX_ADVER_INT_S = 0xFF
V3_MAX_ADVER_INT_CS = 0x0FFF
"""RFC 5798 §5.2.7: 12-bit Max Advertise Interval in centiseconds."""
CS_PER_S = 100
IPV4_MIN_HEADER_LEN = 20
IPV6_HEADER_LEN = 40
_IPV4_FRAG_MASK = 0x3FFF  # the MF flag and the fragment offset
_ADDR_LEN = {4: 4, 6: 16}

# Rejection reasons (PacketError.reason), in the order the checks run.
REASON_PACKET_LEN = "packet_len_err"
"""Buffer shorter than the IP header or its total length; VRRP message under or over size."""
REASON_IP_HEADER = "ip_header_err"
"""Not an IPv4/IPv6 header (version nibble, IHL < 5, IHL beyond total length) or a fragment."""
REASON_IP_PROTO = "ip_proto_err"
"""IP protocol / IPv6 next header is not 112 (IPv6 extension headers are not followed)."""
REASON_TTL = "ip_ttl_err"
"""TTL or hop limit is not 255."""
REASON_VERSION = "version_err"
"""VRRP version is neither 2 nor 3."""
REASON_CHECKSUM = "checksum_err"
"""Checksum matches neither accepted variant (see :class:`ChecksumVariant`)."""
REASON_TYPE = "invalid_type_rcvd"
"""VRRP type is not 1 (ADVERTISEMENT)."""
REASON_ADDR_LIST = "addr_list_err"
"""Message size does not match Count IPvX Addrs (plus v2 auth data)."""
REASON_AUTH_TYPE = "invalid_authtype"
"""VRRPv2 auth type other than 0 (none) and 1 (simple password)."""
REASON_FAMILY = "family_err"
"""Addresses of another family than the IP header (e.g. VRRPv2 over IPv6)."""
REASONS = (
    REASON_PACKET_LEN,
    REASON_IP_HEADER,
    REASON_IP_PROTO,
    REASON_TTL,
    REASON_VERSION,
    REASON_CHECKSUM,
    REASON_TYPE,
    REASON_ADDR_LIST,
    REASON_AUTH_TYPE,
    REASON_FAMILY,
)


class ChecksumVariant(enum.StrEnum):
    """How a received checksum was computed (the one that matched)."""

    PSEUDO_HEADER = "pseudo_header"
    """RFC 5798: IPv4/IPv6 pseudo-header plus message (VRRPv3 default, keepalived and FRR)."""
    MESSAGE_ONLY = "message_only"
    """The message alone: VRRPv2, and VRRPv3/IPv4 per RFC 9568 (keepalived ``v3_checksum_as_v2``)."""
    OLD_UNICAST = "old_unicast"
    """Unicast VRRPv3/IPv4 with 224.0.0.18 in the pseudo-header (keepalived < 1.3.6)."""


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One VRRP message (without the IP header).

    ``adver_int_cs`` is the advertisement interval in centiseconds for both versions: VRRPv3's
    12-bit Max Advertise Interval as is, VRRPv2's 8-bit seconds field times 100.
    ``auth_type``/``auth_data`` exist only in VRRPv2 (RFC 3768 §5.3.6-5.3.9); v3 keeps them 0/b"".
    """

    version: int
    vrid: int
    priority: int
    adver_int_cs: int
    addresses: tuple[IPAddress, ...]
    auth_type: int = AUTH_NONE
    auth_data: bytes = b""
    type: int = VRRP_TYPE_ADVERTISEMENT
    received_checksum: ChecksumVariant | None = field(default=None, compare=False)
    """A decoded advert's checksum variant (None for one to send); not part of the value."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """A parsed VRRP message and what its checksum said.

    ``checksum_variant`` is the variant that matched, or ``None`` when none did.  Without ``src``
    and ``dst`` only :attr:`ChecksumVariant.MESSAGE_ONLY` can be checked, so a VRRPv3 message sent
    with the pseudo-header reports ``checksum_ok=False`` there.
    """

    advert: Advertisement
    checksum: int
    checksum_ok: bool
    checksum_variant: ChecksumVariant | None


@dataclass(frozen=True, slots=True)
class Datagram:
    """A VRRP message with what the IP layer said about it.

    ``ttl`` is the IPv4 TTL or the IPv6 hop limit; ``None`` when the socket did not report it.
    """

    src: IPAddress
    dst: IPAddress
    ttl: int | None
    advert: Advertisement
    checksum: int
    checksum_ok: bool
    checksum_variant: ChecksumVariant | None


# ---------------------------------------------------------------------------------------------
# Encoding


def _family(addresses: tuple[IPAddress, ...]) -> int | None:
    versions = {a.version for a in addresses}
    if len(versions) > 1:
        raise UsageError("addresses mix IPv4 and IPv6")
    return versions.pop() if versions else None


def _check_encodable(advert: Advertisement) -> None:
    a = advert
    if a.version not in (VRRP_VERSION_2, VRRP_VERSION_3):
        raise UsageError(f"VRRP version {a.version!r} is not 2 or 3")
    if a.type != VRRP_TYPE_ADVERTISEMENT:
        raise UsageError(f"VRRP type {a.type!r} is not {VRRP_TYPE_ADVERTISEMENT} (ADVERTISEMENT)")
    if not 0 <= a.vrid <= 0xFF or not 0 <= a.priority <= 0xFF:
        raise UsageError(f"vrid {a.vrid!r} and priority {a.priority!r} must be 0..255")
    if len(a.addresses) > MAX_ADDRESSES:
        raise UsageError(f"{len(a.addresses)} addresses; at most {MAX_ADDRESSES} fit")
    if a.version == VRRP_VERSION_2:
        if a.adver_int_cs % CS_PER_S or not 0 <= a.adver_int_cs // CS_PER_S <= V2_MAX_ADVER_INT_S:
            raise UsageError(f"VRRPv2 adver_int_cs {a.adver_int_cs!r} is not whole seconds 0..255")
        if a.auth_type not in (AUTH_NONE, AUTH_SIMPLE_TEXT):
            raise UsageError(f"VRRPv2 auth type {a.auth_type!r} is not 0 (none) or 1 (simple text)")
        if len(a.auth_data) > V2_AUTH_DATA_LEN:
            raise UsageError(f"auth data is {len(a.auth_data)} bytes; at most {V2_AUTH_DATA_LEN}")
        if _family(a.addresses) == 6:
            raise UsageError("VRRPv2 carries IPv4 addresses only")
    else:
        if not 0 <= a.adver_int_cs <= V3_MAX_ADVER_INT_CS:
            raise UsageError(f"VRRPv3 adver_int_cs {a.adver_int_cs!r} is not 0..{V3_MAX_ADVER_INT_CS}")
        if a.auth_type != AUTH_NONE or a.auth_data:
            raise UsageError("VRRPv3 has no authentication (auth_type 0, auth_data b'')")


def _check_endpoints(advert: Advertisement, src: IPAddress | None, dst: IPAddress | None) -> int | None:
    """The family of the endpoints (None when not given) after checking they agree with the advert."""
    if (src is None) != (dst is None):
        raise UsageError("give both src and dst, or neither")
    if src is None or dst is None:
        return None
    if src.version != dst.version:
        raise UsageError(f"src {src} and dst {dst} are of different families")
    family = _family(advert.addresses)
    if family is not None and family != src.version:
        raise UsageError(f"IPv{family} addresses in an advert sent over IPv{src.version}")
    if advert.version == VRRP_VERSION_2 and src.version == 6:
        raise UsageError("VRRPv2 runs over IPv4 only")
    return src.version


def encode(
    advert: Advertisement,
    *,
    src: IPAddress | None = None,
    dst: IPAddress | None = None,
    v3_checksum_pseudo_header: bool = True,
) -> bytes:
    """Serialize ``advert`` to a VRRP message (RFC 3768 §5.1 / RFC 5798 §5.1), checksum filled in.

    VRRPv3 needs ``src`` and ``dst`` for the pseudo-header checksum, unless
    ``v3_checksum_pseudo_header=False`` (IPv4 only: RFC 9568, keepalived ``v3_checksum_as_v2``).
    VRRPv2 ignores the flag; its checksum never includes a pseudo-header.
    Raises :class:`~pykeepalived.errors.UsageError` for an advert that cannot be put on the wire.
    """
    _check_encodable(advert)
    family = _check_endpoints(advert, src, dst)
    addrs = b"".join(a.packed for a in advert.addresses)
    vertype = advert.version << 4 | advert.type
    count = len(advert.addresses)
    if advert.version == VRRP_VERSION_2:
        head = struct.pack(
            "!BBBBBB",
            vertype,
            advert.vrid,
            advert.priority,
            count,
            advert.auth_type,
            advert.adver_int_cs // CS_PER_S,
        )
        body = addrs + advert.auth_data.ljust(V2_AUTH_DATA_LEN, b"\x00")
        checksum = internet_checksum(head + body)
    else:
        head = struct.pack("!BBBBH", vertype, advert.vrid, advert.priority, count, advert.adver_int_cs)
        body = addrs
        if v3_checksum_pseudo_header:
            if src is None or dst is None:
                raise UsageError("VRRPv3 checksum needs src and dst (or v3_checksum_pseudo_header=False)")
            checksum = vrrp_checksum(head + b"\x00\x00" + body, src, dst)
        elif family == 6 or _family(advert.addresses) == 6:
            raise UsageError("the VRRPv3 checksum without pseudo-header exists for IPv4 only")
        else:
            checksum = internet_checksum(head + body)
    return head + struct.pack("!H", checksum) + body


def encode_ipv4_packet(
    advert: Advertisement,
    *,
    src: IPv4Address,
    dst: IPv4Address = VRRP_MCAST_GROUP_V4,
    ttl: int = VRRP_TTL,
    tos: int = 0xC0,
    ident: int = 0,
    v3_checksum_pseudo_header: bool = True,
) -> bytes:
    """An IPv4 packet (20-byte header, DSCP CS6 by default) carrying ``encode(advert, ...)``."""
    message = encode(advert, src=src, dst=dst, v3_checksum_pseudo_header=v3_checksum_pseudo_header)
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        tos,
        IPV4_MIN_HEADER_LEN + len(message),
        ident,
        0,
        ttl,
        VRRP_PROTO,
        0,
        src.packed,
        dst.packed,
    )
    checksum = internet_checksum(header)
    return header[:10] + struct.pack("!H", checksum) + header[12:] + message


# ---------------------------------------------------------------------------------------------
# Decoding


def _reject(reason: str, message: str) -> PacketError:
    return PacketError(reason, message)


def _check_size(size: int, family: int | None) -> None:
    if size < VRRP_HEADER_LEN:
        raise _reject(REASON_PACKET_LEN, f"VRRP message is undersized ({size} < {VRRP_HEADER_LEN} bytes)")
    largest = VRRP_HEADER_LEN + MAX_ADDRESSES * _ADDR_LEN[family or 6]
    if family != 6:
        largest = max(largest, VRRP_HEADER_LEN + MAX_ADDRESSES * 4 + V2_AUTH_DATA_LEN)
    if size > largest:
        raise _reject(REASON_PACKET_LEN, f"VRRP message is oversized ({size} > {largest} bytes)")


def _match_checksum(
    data: bytes, version: int, src: IPAddress | None, dst: IPAddress | None
) -> ChecksumVariant | None:
    """The checksum variant under which ``data`` sums to zero, or None."""
    if version == VRRP_VERSION_3 and src is not None and dst is not None:
        if vrrp_checksum(data, src, dst) == 0:
            return ChecksumVariant.PSEUDO_HEADER
        if src.version == 6:
            return None
        if not dst.is_multicast and vrrp_checksum(data, src, VRRP_MCAST_GROUP_V4) == 0:
            return ChecksumVariant.OLD_UNICAST
    if internet_checksum(data) == 0:
        return ChecksumVariant.MESSAGE_ONLY
    return None


def _address_family(version: int, count: int, addr_bytes: int) -> int:
    """The address family the message's size implies (check "exact size vs address count")."""
    extra = "" if version == VRRP_VERSION_3 else f" plus {V2_AUTH_DATA_LEN} bytes of auth data"
    for candidate in (4,) if version == VRRP_VERSION_2 else (4, 6):
        if count * _ADDR_LEN[candidate] == addr_bytes:
            return candidate
    raise _reject(
        REASON_ADDR_LIST,
        f"Count IP Addrs is {count} but {addr_bytes} bytes of addresses follow the header{extra}",
    )


def _unpack_addresses(raw: bytes, family: int) -> tuple[IPAddress, ...]:
    if family == 4:
        return tuple(IPv4Address(n) for n in struct.unpack(f"!{len(raw) // 4}I", raw))
    return tuple(IPv6Address(raw[i : i + 16]) for i in range(0, len(raw), 16))


def _second_word(data: bytes, version: int, word: int, family: int | None) -> tuple[int, bytes, int]:
    """(auth_type, auth_data, adver_int_cs) from the header's second 16-bit word (and v2's trailer)."""
    if version == VRRP_VERSION_3:
        return AUTH_NONE, b"", word & V3_MAX_ADVER_INT_CS  # 4 reserved bits are ignored (§5.2.5)
    auth_type = word >> 8
    if auth_type not in (AUTH_NONE, AUTH_SIMPLE_TEXT):
        raise _reject(REASON_AUTH_TYPE, f"Bad authentication type {auth_type}")
    if family == 6:
        raise _reject(REASON_FAMILY, "VRRPv2 received over IPv6 (v2 is IPv4 only)")
    return auth_type, data[-V2_AUTH_DATA_LEN:].rstrip(b"\x00"), (word & 0xFF) * CS_PER_S


def parse(
    data: bytes,
    *,
    src: IPAddress | None = None,
    dst: IPAddress | None = None,
    ttl: int | None = None,
    verify_checksum: bool = False,
) -> Decoded:
    """Parse a VRRP message; like :func:`decode` but a bad checksum is reported, not raised.

    With ``verify_checksum=True`` a bad checksum raises ``checksum_err`` (that is :func:`decode`).
    ``src``/``dst`` (both or neither) enable the pseudo-header checksum and the family check;
    ``ttl`` (the TTL or hop limit, when known) must be 255.
    """
    if (src is None) != (dst is None) or (src is not None and dst is not None and src.version != dst.version):
        raise UsageError("give src and dst of one family, or neither")
    family = src.version if src is not None else None
    if ttl is not None and ttl != VRRP_TTL:
        raise _reject(REASON_TTL, f"TTL/hop limit is {ttl}; should be {VRRP_TTL}")
    size = len(data)
    _check_size(size, family)
    vertype, vrid, priority, count, word, checksum = struct.unpack_from("!BBBBHH", data)
    version = vertype >> 4
    if version not in (VRRP_VERSION_2, VRRP_VERSION_3):
        raise _reject(REASON_VERSION, f"Bad VRRP version {version}")
    variant = _match_checksum(data, version, src, dst)
    if variant is None and verify_checksum:
        hint = "" if src is not None or version == VRRP_VERSION_2 else " (no src/dst for the pseudo-header)"
        raise _reject(REASON_CHECKSUM, f"Bad VRRP checksum {checksum:#06x}{hint}")
    if vertype & 0x0F != VRRP_TYPE_ADVERTISEMENT:
        raise _reject(REASON_TYPE, f"Bad VRRP type {vertype & 0x0F}")
    auth_len = V2_AUTH_DATA_LEN if version == VRRP_VERSION_2 else 0
    addr_bytes = size - VRRP_HEADER_LEN - auth_len
    addr_family = _address_family(version, count, addr_bytes)
    auth_type, auth_data, adver_int_cs = _second_word(data, version, word, family)
    if family is not None and count and addr_family != family:
        raise _reject(REASON_FAMILY, f"IPv{addr_family} addresses in an IPv{family} packet")
    raw_addresses = data[VRRP_HEADER_LEN : VRRP_HEADER_LEN + addr_bytes]
    advert = Advertisement(
        version=version,
        vrid=vrid,
        priority=priority,
        adver_int_cs=adver_int_cs,
        addresses=_unpack_addresses(raw_addresses, addr_family),
        auth_type=auth_type,
        auth_data=auth_data,
        received_checksum=variant,
    )
    return Decoded(advert, checksum, variant is not None, variant)


def decode(
    data: bytes, *, src: IPAddress | None = None, dst: IPAddress | None = None, ttl: int | None = None
) -> Advertisement:
    """Decode one VRRP message strictly; raises :class:`PacketError` naming the failed check.

    ``data`` must be exactly the message (no padding).  For VRRPv3 give ``src`` and ``dst`` so the
    pseudo-header checksum can be verified; without them only the RFC 9568 message-only checksum
    can match.  Over IPv4 both VRRPv3 variants are accepted (:func:`parse` says which matched).
    """
    return parse(data, src=src, dst=dst, ttl=ttl, verify_checksum=True).advert


def _datagram(src: IPAddress, dst: IPAddress, ttl: int | None, decoded: Decoded) -> Datagram:
    return Datagram(
        src, dst, ttl, decoded.advert, decoded.checksum, decoded.checksum_ok, decoded.checksum_variant
    )


def decode_ipv4_packet(raw: bytes, *, check_ttl: bool = True, verify_checksum: bool = True) -> Datagram:
    """Decode an IPv4 packet carrying VRRP, as a raw ``IPPROTO_VRRP`` socket delivers it.

    Checks the header length (IHL), the total length against the buffer, fragments, protocol 112
    and (unless ``check_ttl=False``, for unicast peers) TTL 255.  Bytes after the IP total length
    (Ethernet padding of short frames) are ignored; the VRRP message must fill the IP payload exactly.
    The IPv4 header checksum is not verified (the kernel does that before delivery).
    """
    if len(raw) < IPV4_MIN_HEADER_LEN:
        raise _reject(REASON_PACKET_LEN, f"{len(raw)} bytes cannot hold an IPv4 header")
    ver_ihl, _tos, total_len, _ident, frag, ttl, proto, _csum = struct.unpack_from("!BBHHHBBH", raw)
    header_len = (ver_ihl & 0x0F) * 4
    if ver_ihl >> 4 != 4:
        raise _reject(REASON_IP_HEADER, f"IP version {ver_ihl >> 4} in an IPv4 header")
    if header_len < IPV4_MIN_HEADER_LEN or header_len > total_len:
        raise _reject(REASON_IP_HEADER, f"IPv4 header length {header_len} (total length {total_len})")
    if total_len > len(raw):
        raise _reject(REASON_PACKET_LEN, f"IPv4 total length {total_len} exceeds the {len(raw)} bytes read")
    if frag & _IPV4_FRAG_MASK:
        raise _reject(REASON_IP_HEADER, "IPv4 fragment (VRRP is never fragmented)")
    if proto != VRRP_PROTO:
        raise _reject(REASON_IP_PROTO, f"IPv4 protocol {proto}; should be {VRRP_PROTO}")
    if check_ttl and ttl != VRRP_TTL:
        raise _reject(REASON_TTL, f"IPv4 TTL is {ttl}; should be {VRRP_TTL}")
    src, dst = IPv4Address(raw[12:16]), IPv4Address(raw[16:20])
    decoded = parse(raw[header_len:total_len], src=src, dst=dst, verify_checksum=verify_checksum)
    return _datagram(src, dst, ttl, decoded)


def decode_ipv6_payload(
    payload: bytes,
    *,
    src: IPv6Address,
    dst: IPv6Address,
    hop_limit: int | None,
    verify_checksum: bool = True,
) -> Datagram:
    """Decode what a raw IPv6 socket delivers: the message, with src/dst/hop limit from the socket.

    ``hop_limit`` comes from ``IPV6_HOPLIMIT`` ancillary data; ``None`` (not received, or unicast
    without a TTL check) skips the check, and the datagram then reports ``ttl=None``.
    """
    decoded = parse(payload, src=src, dst=dst, ttl=hop_limit, verify_checksum=verify_checksum)
    return _datagram(src, dst, hop_limit, decoded)


def _decode_ipv6_packet(raw: bytes, *, check_ttl: bool, verify_checksum: bool) -> Datagram:
    if len(raw) < IPV6_HEADER_LEN:
        raise _reject(REASON_PACKET_LEN, f"{len(raw)} bytes cannot hold an IPv6 header")
    first, payload_len, next_header, hop_limit = struct.unpack_from("!IHBB", raw)
    if first >> 28 != 6:
        raise _reject(REASON_IP_HEADER, f"IP version {first >> 28} in an IPv6 header")
    if IPV6_HEADER_LEN + payload_len > len(raw):
        raise _reject(
            REASON_PACKET_LEN, f"IPv6 payload length {payload_len} exceeds the {len(raw) - 40} bytes received"
        )
    if next_header != VRRP_PROTO:
        raise _reject(REASON_IP_PROTO, f"IPv6 next header {next_header}; should be {VRRP_PROTO}")
    if check_ttl and hop_limit != VRRP_TTL:
        raise _reject(REASON_TTL, f"IPv6 hop limit is {hop_limit}; should be {VRRP_TTL}")
    src, dst = IPv6Address(raw[8:24]), IPv6Address(raw[24:40])
    payload = raw[IPV6_HEADER_LEN : IPV6_HEADER_LEN + payload_len]
    decoded = parse(payload, src=src, dst=dst, verify_checksum=verify_checksum)
    return _datagram(src, dst, hop_limit, decoded)


def decode_ip_packet(raw: bytes, *, check_ttl: bool = True, verify_checksum: bool = True) -> Datagram:
    """Decode a whole IPv4 or IPv6 packet, chosen by the version nibble of the first byte."""
    if raw and raw[0] >> 4 == 6:
        return _decode_ipv6_packet(raw, check_ttl=check_ttl, verify_checksum=verify_checksum)
    return decode_ipv4_packet(raw, check_ttl=check_ttl, verify_checksum=verify_checksum)


Encoder = Callable[[Advertisement, IPAddress, IPAddress | None], bytes]
"""``encoder(advert, src, checksum_dst)`` -> the VRRP message ``src`` sends, its VRRPv3 checksum over a
pseudo-header naming ``checksum_dst`` (:func:`~pykeepalived.vrrp.checksum.checksum_destination`)."""


def encode_advert(advert: Advertisement, src: IPAddress, checksum_dst: IPAddress | None) -> bytes:
    """The daemon's encoder: the RFC 5798 pseudo-header checksum, or with ``checksum_dst`` None (a
    VRRPv3/IPv4 instance with ``v3_checksum_as_v2``; RFC 9568) the message-only checksum."""
    if checksum_dst is None:
        return encode(advert, v3_checksum_pseudo_header=False)
    return encode(advert, src=src, dst=checksum_dst)
