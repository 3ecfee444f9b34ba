"""Adapters that own sockets and netlink: VRRP sockets, ARP/NA senders, VIP management."""
