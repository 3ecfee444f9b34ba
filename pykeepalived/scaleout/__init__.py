"""Active/active directors announced over BGP (pure: no I/O, no clock, no asyncio).

* :mod:`.spec`: the ``bgp`` config section as frozen values (:func:`bgp_spec`);
* :mod:`.policy`: when each address is announced (:class:`AnnouncePolicy`);
* :mod:`.frr_render`: FRR's configuration for what pykeepalived owns, and the owned blocks of a
  running configuration;
* :mod:`.frr_state`: ``show bgp summary json`` / ``show bfd peers json`` / advertised routes, parsed;
* :mod:`.directors`: several directors' configurations compared (same real servers, same order).

The FRR and interface adapters are in ``pykeepalived.net``; ``pykeepalived.daemon.bgp`` composes them.
"""
