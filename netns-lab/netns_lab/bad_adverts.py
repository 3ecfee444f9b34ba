"""Send five malformed VRRP adverts on ``eth0`` of the current namespace, one of each kind a daemon must
drop and count: TTL 64, a bad checksum, an unknown VRID, a truncated packet and a version-2 packet.

Run inside a lab namespace (``python -m netns_lab.bad_adverts``); every address is a lab address.
"""

from __future__ import annotations

from ipaddress import ip_address


def main() -> None:
    from scapy.all import IP, Raw, send  # noqa: PLC0415  (scapy is slow to import: only when sending)

    from pykeepalived.vrrp.packet import Advertisement, encode  # noqa: PLC0415

    src, dst = ip_address("198.51.100.100"), ip_address("224.0.0.18")

    def adv(vrid: int = 51, prio: int = 254, version: int = 3) -> bytes:
        a = Advertisement(version=version, vrid=vrid, priority=prio, adver_int_cs=20,
                          addresses=(ip_address("198.51.100.50"),))
        return encode(a, src=src, dst=dst)

    good = adv()
    bad_checksum = good[:6] + bytes([good[6] ^ 0xFF]) + good[7:]
    frames = [
        IP(src=str(src), dst=str(dst), ttl=64, proto=112) / Raw(good),  # TTL 64
        IP(src=str(src), dst=str(dst), ttl=255, proto=112) / Raw(bad_checksum),  # checksum
        IP(src=str(src), dst=str(dst), ttl=255, proto=112) / Raw(adv(vrid=77)),  # unknown VRID
        IP(src=str(src), dst=str(dst), ttl=255, proto=112) / Raw(good[:5]),  # truncated
        IP(src=str(src), dst=str(dst), ttl=255, proto=112) / Raw(b"\x21" + good[1:]),  # version 2 type 1
    ]
    for frame in frames:
        send(frame, iface="eth0", verbose=False)


if __name__ == "__main__":
    main()
