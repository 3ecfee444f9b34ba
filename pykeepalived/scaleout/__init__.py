"""Active/active directors announced over BGP: the sans-IO core (no I/O, no clock, no asyncio).

* :mod:`.spec`: the ``bgp`` config section as frozen values (:func:`bgp_spec`);
* :mod:`.policy`: when each address is announced, and how the interface is repaired
  (:class:`AnnouncePolicy`);
* :mod:`.frr_render`: FRR's configuration for what pykeepalived owns, and the owned blocks of a
  running configuration;
* :mod:`.frr_state`: ``show bgp summary json`` / ``show bfd peers json`` / advertised routes, parsed,
  and which neighbours to ask at stop;
* :mod:`.directors`: several directors' configurations compared (same real servers, same order).

The adapters are :mod:`pykeepalived.frr` (vtysh, frr-reload.py) and :mod:`pykeepalived.net.announce`
(the interface bgpd announces from, the local routes); ``daemon/bgp.py`` composes them.

May import :mod:`pykeepalived.config` (and :mod:`pykeepalived.errors`); no I/O, never an adapter or
:mod:`pykeepalived.daemon`.
"""
