"""The observability adapter: an HTTP endpoint (``/metrics``, ``/status``, ``/events``, ``/healthz``)
and keepalived-compatible dump files, built only on the daemon's status document and the events it
publishes (docs/monitoring.md, docs/metrics.md).

Nothing here reaches into the daemon, the VRRP core or the LVS part: :class:`web.service.WebService`
is given a callable that returns the status document (``pykeepalived.daemon.status``) and is told
about events through :meth:`~web.service.WebService.publish`.  Importing this package imports
nothing (``pykeepalived --signum`` only needs :mod:`pykeepalived.web.kadump.signals`).

An adapter package: may import :mod:`pykeepalived.config` (the listen-address rule),
:mod:`pykeepalived.errors`, aiohttp and prometheus-client; never :mod:`pykeepalived.daemon`, the
protocol cores or another adapter package (import-linter enforces it).
"""
