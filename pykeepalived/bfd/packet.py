"""BFD Control packet codec (RFC 5880 §4.1, the authentication section of §4.2-§4.4).

Pure functions, no I/O.  :func:`encode` is the inverse of :func:`decode`.  Decoding is strict and runs
the packet-local checks of RFC 5880 §6.8.6 in the RFC's order; every rejection raises
:class:`~pykeepalived.errors.PacketError` whose ``reason`` is one of :data:`REASONS`:

1. the version is not 1 (``bad_version``);
2. the Length field is less than 24, or 26 with the A bit (``length_too_short``);
3. the Length field is greater than the payload (``length_beyond_payload``);
4. the Detect Mult field is zero (``detect_mult_zero``);
5. the Multipoint bit is set (``multipoint_set``);
6. My Discriminator is zero (``my_discriminator_zero``);
8. Your Discriminator is zero and the state is neither Down nor AdminDown (``your_discriminator_zero``).

Check 7 (an unknown Your Discriminator) is the session table's (:mod:`pykeepalived.bfd.demux`), checks
10-13 (authentication) the session's.  Two more come after the RFC's: Poll and Final both set
(``poll_and_final``; RFC 5880 §6.5: a Final never carries a Poll) and an authentication section whose
Auth Len does not fit its type or the packet (``auth_malformed``).  The authentication section is
decoded field by field (simple password, keyed MD5 and SHA1 and their meticulous variants) so that a
session without authentication can drop it with its own counted reason.

Intervals are microseconds on the wire (``*_us``).  A Diagnostic code outside 0-8 is accepted (RFC
5880 reserves them; nothing says to discard) and named ``reserved``.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from pykeepalived.errors import PacketError

BFD_VERSION = 1
CONTROL_PORT = 3784
"""RFC 5881 §4: single-hop BFD Control packets go to UDP port 3784."""
ECHO_PORT = 3785
SOURCE_PORT_MIN = 49152
SOURCE_PORT_MAX = 65535
"""RFC 5881 §4: the source port is in 49152..65535 and the same for every packet of a session."""
GTSM_TTL = 255
"""RFC 5881 §5: sent with TTL / hop limit 255; received packets with anything else are discarded."""
HEADER_LEN = 24
MIN_LEN_WITH_AUTH = 26
MAX_DETECT_MULT = 255
MAX_INTERVAL_US = 0xFFFF_FFFF

_HEADER = struct.Struct("!BBBBIIIII")


class SessionState(enum.IntEnum):
    """RFC 5880 §4.1 State (Sta): the two bits on the wire."""

    ADMIN_DOWN = 0
    DOWN = 1
    INIT = 2
    UP = 3

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS = {SessionState.ADMIN_DOWN: "AdminDown", SessionState.DOWN: "Down", SessionState.INIT: "Init",
                 SessionState.UP: "Up"}


class Diag(enum.IntEnum):
    """RFC 5880 §4.1 Diagnostic (Diag): why the sender last left Up (or is not Up)."""

    NONE = 0
    CONTROL_DETECTION_TIME_EXPIRED = 1
    ECHO_FUNCTION_FAILED = 2
    NEIGHBOR_SIGNALED_SESSION_DOWN = 3
    FORWARDING_PLANE_RESET = 4
    PATH_DOWN = 5
    CONCATENATED_PATH_DOWN = 6
    ADMINISTRATIVELY_DOWN = 7
    REVERSE_CONCATENATED_PATH_DOWN = 8


DIAG_MAX = 31
"""The field has five bits; codes 9..31 are reserved."""


def diag_name(code: int) -> str:
    """``"control_detection_time_expired"`` for 1, ``"reserved"`` for 9..31."""
    try:
        return Diag(code).name.lower()
    except ValueError:
        return "reserved"


class AuthType(enum.IntEnum):
    """RFC 5880 §4.1 Auth Type."""

    RESERVED = 0
    SIMPLE_PASSWORD = 1
    KEYED_MD5 = 2
    METICULOUS_KEYED_MD5 = 3
    KEYED_SHA1 = 4
    METICULOUS_KEYED_SHA1 = 5


_AUTH_DIGEST_LEN: dict[int, int] = {AuthType.KEYED_MD5: 16, AuthType.METICULOUS_KEYED_MD5: 16,
                    AuthType.KEYED_SHA1: 20, AuthType.METICULOUS_KEYED_SHA1: 20}
_AUTH_PASSWORD_MIN, _AUTH_PASSWORD_MAX = 1, 16
_AUTH_FIXED = 3  # Auth Type, Auth Len, Auth Key ID
_AUTH_SEQ = struct.Struct("!BI")  # Reserved, Sequence Number

# Rejection reasons (PacketError.reason), in the order the checks run.
REASON_TRUNCATED = "truncated"
"""Fewer bytes than the mandatory section (24), before any field can be read."""
REASON_VERSION = "bad_version"
REASON_LENGTH_SHORT = "length_too_short"
REASON_LENGTH_BEYOND = "length_beyond_payload"
REASON_DETECT_MULT = "detect_mult_zero"
REASON_MULTIPOINT = "multipoint_set"
REASON_MY_DISCR = "my_discriminator_zero"
REASON_YOUR_DISCR = "your_discriminator_zero"
REASON_POLL_FINAL = "poll_and_final"
REASON_AUTH = "auth_malformed"
REASONS = (REASON_TRUNCATED, REASON_VERSION, REASON_LENGTH_SHORT, REASON_LENGTH_BEYOND, REASON_DETECT_MULT,
           REASON_MULTIPOINT, REASON_MY_DISCR, REASON_YOUR_DISCR, REASON_POLL_FINAL, REASON_AUTH)


@dataclass(frozen=True, slots=True)
class Authentication:
    """The optional authentication section (RFC 5880 §4.2-§4.4).

    ``value`` is the password (simple password), the digest (MD5) or the hash (SHA1), or for a
    reserved type everything after the Key ID.  ``sequence`` is set for the MD5 and SHA1 types.
    """

    auth_type: int
    key_id: int
    value: bytes
    sequence: int | None = None

    def encode(self) -> bytes:
        body = self.value if self.sequence is None else _AUTH_SEQ.pack(0, self.sequence) + self.value
        return bytes((self.auth_type, _AUTH_FIXED + len(body), self.key_id)) + body


@dataclass(frozen=True, slots=True)
class ControlPacket:
    """One BFD Control packet, every field of RFC 5880 §4.1 (Version is always 1, Multipoint always 0:
    :func:`decode` refuses anything else).  The A bit is ``auth is not None``; Length is computed."""

    state: SessionState
    detect_mult: int
    my_discriminator: int
    your_discriminator: int
    desired_min_tx_us: int
    required_min_rx_us: int
    required_min_echo_rx_us: int = 0
    diag: int = Diag.NONE
    poll: bool = False
    final: bool = False
    control_plane_independent: bool = False
    demand: bool = False
    auth: Authentication | None = None

    @property
    def length(self) -> int:
        return HEADER_LEN + (len(self.auth.encode()) if self.auth is not None else 0)


def encode(packet: ControlPacket) -> bytes:
    """The UDP payload for ``packet``.  Raises ValueError for a field that does not fit."""
    if not 0 <= packet.diag <= DIAG_MAX:
        raise ValueError(f"diag {packet.diag} does not fit in 5 bits")
    if not 0 <= packet.detect_mult <= MAX_DETECT_MULT:
        raise ValueError(f"detect_mult {packet.detect_mult} does not fit in 8 bits")
    auth = packet.auth.encode() if packet.auth is not None else b""
    flags = (packet.state << 6 | packet.poll << 5 | packet.final << 4 | packet.control_plane_independent << 3
             | (packet.auth is not None) << 2 | packet.demand << 1)
    return _HEADER.pack(BFD_VERSION << 5 | packet.diag, flags, packet.detect_mult, HEADER_LEN + len(auth),
                        packet.my_discriminator, packet.your_discriminator, packet.desired_min_tx_us,
                        packet.required_min_rx_us, packet.required_min_echo_rx_us) + auth


def decode(data: bytes) -> ControlPacket:
    """A UDP payload to a :class:`ControlPacket`; PacketError naming the first failed check."""
    if len(data) < HEADER_LEN:
        raise PacketError(REASON_TRUNCATED, f"{len(data)} bytes, the mandatory section has {HEADER_LEN}")
    vers_diag, flags, detect_mult, length, my_d, your_d, tx_us, rx_us, echo_us = _HEADER.unpack_from(data)
    version = vers_diag >> 5
    if version != BFD_VERSION:
        raise PacketError(REASON_VERSION, f"version {version}, not {BFD_VERSION}")
    auth_bit = bool(flags & 0x04)
    minimum = MIN_LEN_WITH_AUTH if auth_bit else HEADER_LEN
    if length < minimum:
        raise PacketError(REASON_LENGTH_SHORT, f"Length {length} < {minimum}")
    if length > len(data):
        raise PacketError(REASON_LENGTH_BEYOND, f"Length {length} > {len(data)} bytes received")
    if detect_mult == 0:
        raise PacketError(REASON_DETECT_MULT, "Detect Mult is zero")
    if flags & 0x01:
        raise PacketError(REASON_MULTIPOINT, "the Multipoint (M) bit is set")
    if my_d == 0:
        raise PacketError(REASON_MY_DISCR, "My Discriminator is zero")
    state = SessionState(flags >> 6)
    if your_d == 0 and state not in (SessionState.DOWN, SessionState.ADMIN_DOWN):
        raise PacketError(REASON_YOUR_DISCR, f"Your Discriminator is zero in state {state.label}")
    poll, final = bool(flags & 0x20), bool(flags & 0x10)
    if poll and final:
        raise PacketError(REASON_POLL_FINAL, "both Poll (P) and Final (F) are set")
    auth = _decode_auth(data[HEADER_LEN:length]) if auth_bit else None
    return ControlPacket(state=state, detect_mult=detect_mult, my_discriminator=my_d,
                         your_discriminator=your_d, desired_min_tx_us=tx_us, required_min_rx_us=rx_us,
                         required_min_echo_rx_us=echo_us,
                         diag=vers_diag & 0x1F, poll=poll, final=final,
                         control_plane_independent=bool(flags & 0x08), demand=bool(flags & 0x02), auth=auth)


def _decode_auth(section: bytes) -> Authentication:
    """The authentication section: Auth Len must cover it exactly and suit the Auth Type."""
    auth_type, auth_len = section[0], section[1]
    if auth_len != len(section) or auth_len < _AUTH_FIXED:
        raise PacketError(REASON_AUTH, f"Auth Len {auth_len} but {len(section)} bytes of authentication")
    key_id, body = section[2], section[_AUTH_FIXED:]
    if auth_type == AuthType.SIMPLE_PASSWORD:
        if not _AUTH_PASSWORD_MIN <= len(body) <= _AUTH_PASSWORD_MAX:
            raise PacketError(REASON_AUTH, f"a simple password of {len(body)} bytes (1-16 allowed)")
        return Authentication(auth_type, key_id, bytes(body))
    digest_len = _AUTH_DIGEST_LEN.get(auth_type)
    if digest_len is None:
        return Authentication(auth_type, key_id, bytes(body))
    if len(body) != _AUTH_SEQ.size + digest_len:
        wanted = _AUTH_FIXED + _AUTH_SEQ.size + digest_len
        raise PacketError(REASON_AUTH, f"Auth Type {auth_type} needs Auth Len {wanted}, not {len(section)}")
    _reserved, sequence = _AUTH_SEQ.unpack_from(body)
    return Authentication(auth_type, key_id, bytes(body[_AUTH_SEQ.size:]), sequence)
