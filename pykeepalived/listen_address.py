"""The HTTP endpoint's listen-address rule, once: standard library only (the configuration validates
with it; the web child, which imports no configuration code, parses its ``--listen`` with it)."""

from __future__ import annotations

import ipaddress


def parse_listen_address(text: str) -> tuple[str | None, int]:
    """``ADDR:PORT``, ``[IPv6]:PORT`` or ``:PORT`` (every address) -> (host or None, port); the
    Prometheus exporters' ``--web.listen-address`` convention.  ValueError on anything else."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{text!r}: expected ADDR:PORT, [IPv6]:PORT or :PORT (port 1-65535)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        return None, int(port_text)
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"{text!r}: {host!r} is not an IP address") from None
    return host, int(port_text)
