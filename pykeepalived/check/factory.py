"""Probes from specs: :func:`make_probe`, and the :class:`ProbeResources` the probes of a daemon share.

Every TCP_CHECK, UDP_CHECK, HTTP_GET and PING_CHECK waits on one
:class:`~pykeepalived.check.probes.reactor.Reactor` (one epoll, one deadline heap); every SSL_GET
shares one set of TLS client contexts (one per ``SSL`` block / verification setting) and every
PING_CHECK one ICMP socket per address family (per distinct ``bindto``/``bind_if``/``fwmark``);
the runner (or the daemon's LVS part) owns one :class:`ProbeResources` and closes it when its
checkers stop.
"""

from __future__ import annotations

from pykeepalived.check.probes import (
    DnsSpec,
    FileSpec,
    HttpSpec,
    MiscSpec,
    PingSpec,
    Probe,
    ProbeSpec,
    SmtpSpec,
    TcpSpec,
    UdpSpec,
)
from pykeepalived.check.probes.dns import dns_probe
from pykeepalived.check.probes.file import FileProbe
from pykeepalived.check.probes.http import HttpProbe, TlsContexts
from pykeepalived.check.probes.misc import misc_probe
from pykeepalived.check.probes.ping import IcmpSockets, PingProbe
from pykeepalived.check.probes.reactor import Reactor
from pykeepalived.check.probes.smtp import SmtpProbe
from pykeepalived.check.probes.tcp import TcpProbe
from pykeepalived.check.probes.udp import UdpProbe


class ProbeResources:
    """What the probes of one runner (or of the whole daemon) share: TLS contexts, ICMP sockets and
    the :class:`Reactor` their sockets and deadlines wait on."""

    def __init__(self) -> None:
        self.reactor = Reactor()
        self.tls = TlsContexts()
        self.icmp = IcmpSockets(self.reactor)

    async def close(self) -> None:
        """Release them (the sockets are reopened if probes run again)."""
        await self.tls.close()
        self.icmp.close()
        self.reactor.close()


def make_probe(spec: ProbeSpec, shared: ProbeResources) -> Probe:
    """The probe callable for ``spec``, on the ``shared`` resources."""
    if isinstance(spec, TcpSpec):
        return TcpProbe(spec.endpoint, shared.reactor)
    if isinstance(spec, HttpSpec):
        return HttpProbe(spec, shared.tls, reactor=shared.reactor)
    if isinstance(spec, UdpSpec):
        return UdpProbe(spec, shared.reactor)
    if isinstance(spec, PingSpec):
        return PingProbe(spec, shared.icmp)
    if isinstance(spec, SmtpSpec):
        return SmtpProbe(spec)
    if isinstance(spec, FileSpec):
        return FileProbe(spec)
    if isinstance(spec, MiscSpec):
        return lambda: misc_probe(spec)
    if isinstance(spec, DnsSpec):
        return lambda: dns_probe(spec)
    raise TypeError(f"no probe for {type(spec).__name__}")
