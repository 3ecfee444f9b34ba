"""Is a received advert acceptable?  Every check of the receive path, in one place and one order.

The codec (:func:`pykeepalived.vrrp.packet.decode`) has already checked the syntax: the size, a
version the codec knows, the checksum, the type, the address count, a known v2 authentication type,
the address family.  A datagram that fails there has no VRID yet and is counted by the glue that
routes it.  Everything else is decided here, for the router the advert is addressed to, in the order
of RFC 5798 §7.1 (RFC 3768 §7.1 for VRRPv2) and keepalived's ``vrrp_check_packet`` where the RFC
leaves it open (features §3.3):

1. TTL / hop limit 255 -- multicast only (unicast adverts may cross routers) -> ``ip_ttl_err``;
2. the version configured for the router -> ``version_err``;
3. the VRID (the glue routed the advert by it; a mismatch means a routing bug) -> ``vrid_err``;
4. the address family -> ``family_err``;
5. VRRPv2: the authentication type, then the password (first 8 bytes, constant time), then the
   advertisement interval -> ``authtype_mismatch``, ``auth_failure``, ``advert_interval_err``;
6. the type (ADVERTISEMENT) -> ``invalid_type_rcvd``;
7. with ``old_unicast_checksum never``: a pre-1.3.6 keepalived checksum -> ``checksum_err``;
8. unicast mode: the source must be a configured peer -> ``not_a_peer``, and its TTL / hop limit
   within the peer's ``min_ttl``..``max_ttl`` -> ``ip_ttl_err``;
9. ``owner_ignore_adverts`` while the effective priority is 255: every advert that passed the checks
   above -> ``owner_ignore_adverts`` (keepalived drops it after its header checks and before counting
   it received; RFC 9568 §6.4.3: the owner stays MASTER whatever it hears).

Each failure is one reason, counted once in the router's :class:`~pykeepalived.vrrp.stats.VrrpStats`.
An accepted advert whose address list differs from ours is counted (``addr_list_err``) but processed
(RFC 5798 §7.1 "MAY"; keepalived since 2.3 does the same, 2.2.7 dropped it), and with
``skip_check_adv_addr`` not even compared when it comes from the master a BACKUP already follows.
"""

from __future__ import annotations

import hmac

from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.events import AdvertReceived
from pykeepalived.vrrp.packet import REASON_CHECKSUM, REASON_TTL, VRRP_TYPE_ADVERTISEMENT, ChecksumVariant
from pykeepalived.wire import PRIORITY_OWNER, VRRP_TTL

REASON_NOT_A_PEER = "not_a_peer"
"""Unicast mode: the source is not one of the configured ``unicast_peer`` addresses."""
REASON_OWNER_IGNORES = "owner_ignore_adverts"
"""The address owner (effective priority 255) with ``owner_ignore_adverts`` drops every advert."""


def drop_reason(config: RouterConfig, event: AdvertReceived, effective_priority: int) -> str | None:
    """Why ``event`` must be dropped by the router configured as ``config``, now at
    ``effective_priority``; None to accept it."""
    advert = event.advert
    if event.ttl is not None and event.ttl != VRRP_TTL and not config.unicast_peers:
        return REASON_TTL
    if advert.version != config.version:
        return "version_err"
    if advert.vrid != config.vrid:
        return "vrid_err"
    if event.src.version != config.family:
        return "family_err"
    if config.version == 2:
        if advert.auth_type != config.auth_type:
            return "authtype_mismatch"
        auth_data = advert.auth_data[:8].ljust(8, b"\0")
        if config.auth_data and not hmac.compare_digest(auth_data, config.auth_data):
            return "auth_failure"
        if advert.adver_int_cs != config.adver_int_cs:
            return "advert_interval_err"
    if advert.type != VRRP_TYPE_ADVERTISEMENT:
        return "invalid_type_rcvd"
    if advert.received_checksum is ChecksumVariant.OLD_UNICAST and config.old_unicast_checksum == "never":
        return REASON_CHECKSUM
    if config.unicast_peers:
        if event.src not in config.unicast_peers:
            return REASON_NOT_A_PEER
        if config.unicast_peer_ttl and event.ttl is not None:
            low, high = config.peer_ttl_range(event.src)
            if not low <= event.ttl <= high:
                return REASON_TTL
    if config.owner_ignore_adverts and effective_priority == PRIORITY_OWNER:
        return REASON_OWNER_IGNORES
    return None


def address_list_differs(config: RouterConfig, event: AdvertReceived) -> bool:
    """RFC 5798 §7.1 step 6: the advert lists other addresses than ours (counted, not dropped)."""
    return sorted(map(int, event.advert.addresses)) != sorted(map(int, config.vips))
