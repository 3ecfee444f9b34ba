"""Network adapters: everything that owns a socket or speaks netlink for VRRP, and the interface
and local routes BGP announces from (``announce.py``: the same synchronous address path).

Raw VRRP sockets (``vrrp_socket.py``) and the daemon's VRRP network object that keys them by receive
path (``vrrp_net.py``), the early listener (``early_listen.py``, standard library only), GARP and
unsolicited NA senders (``arp.py``, ``ndisc.py``, ``links.py``), VIPs over synchronous rtnetlink
(``addresses.py``), address and link events (``netlink_watch.py``), the one link-state source
(``linkstate.py``) and its poller (``link_poller.py``), VMACs and sysctls.

May import: the standard library, pyroute2, :mod:`pykeepalived.vrrp` (values and pure rules),
:mod:`pykeepalived.config` (the interface-name rule), :mod:`pykeepalived.errors`,
:mod:`pykeepalived.wire`.  Never :mod:`pykeepalived.daemon`, nor another adapter package.
"""
