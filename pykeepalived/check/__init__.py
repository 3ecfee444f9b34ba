"""Real-server health checks: the pure rise/fall/retry policy (``policy.py``), the config mapping
(``from_config.py``), the probes (``probes/``: adapters) and their scheduling (``runner.py``).

May import :mod:`pykeepalived.config`, :mod:`pykeepalived.errors`, aiohttp (probes).  Never
:mod:`pykeepalived.daemon`, ``lb``, ``net`` or ``vrrp``.
"""
