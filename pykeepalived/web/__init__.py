"""The observability adapter: an HTTP endpoint (``/metrics``, ``/status``, ``/events``, ``/healthz``)
and keepalived-compatible dump files, built only on the daemon's status document, the routers' values
and the events it publishes (docs/monitoring.md, docs/metrics.md).

It runs in two processes.  In the daemon, standard library only: ``supervisor.py`` (the web child
started, served and ended), ``channel.py`` (the frames), ``values.py`` (the raw values of a /metrics
snapshot), ``looplag.py``, ``source.py``, and ``kadump/`` (the dumps on keepalived's signals).  In the
web child (``child.py``, ``python -m pykeepalived.web.child``): everything HTTP and text, with aiohttp
and prometheus-client.  Importing this package imports nothing (``pykeepalived --signum`` only needs
:mod:`pykeepalived.web.kadump.signals`).

An adapter package: may import :mod:`pykeepalived.config` (the listen-address rule), the VRRP core's
values (:mod:`pykeepalived.vrrp`), :mod:`pykeepalived.errors`, aiohttp and prometheus-client (the
child's modules only: an import-linter contract); never :mod:`pykeepalived.daemon` or another adapter
package (import-linter enforces it).
"""
