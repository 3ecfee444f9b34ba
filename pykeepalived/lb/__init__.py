"""The load balancer: the pure IPVS model, its policy (quorum, sorry server, every LVS notify) and
diff (``model.py``, ``diff.py``, ``from_config.py``, ``sync_daemon.py``), and the netlink driver
(``ipvs.py``, ``ipvs_wire.py``: the adapter).

The pure modules may import :mod:`pykeepalived.config` and :mod:`pykeepalived.errors`; the driver
pyroute2 too.  Never :mod:`pykeepalived.daemon`, ``vrrp`` adapters or ``check``.
"""
