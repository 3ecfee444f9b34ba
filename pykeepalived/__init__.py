"""pykeepalived: keepalived rebuilt in Python (VRRP, virtual IPs, health checks, IPVS)."""

__version__ = "0.1.0"
