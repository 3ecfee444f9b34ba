"""The FRR adapter: the director's FRR through its supported interfaces, ``vtysh`` and
``frr-reload.py`` (:mod:`.client`), for active/active directors (docs/scaleout.md).

What FRR is told is rendered by the pure :mod:`pykeepalived.scaleout.frr_render`, what it answers is
parsed by :mod:`pykeepalived.scaleout.frr_state`; this package only runs the processes and writes
the file frr-reload reads.  The interface bgpd announces from is :mod:`pykeepalived.net.announce`
(one rtnetlink request, the VRRP takeover's path); ``daemon/bgp.py`` composes the two.

May import: the standard library, :mod:`pykeepalived.scaleout` (values and pure rules),
:mod:`pykeepalived.errors`.  Never :mod:`pykeepalived.daemon`, nor another adapter package.
"""
