"""The sans-IO VRRP core: every protocol and policy decision of VRRP, pure (no I/O, no clock).

Codec (``packet.py``, ``checksum.py``), timers, election, the state machine (``router.py``,
``router_state.py``) and what it accepts (``receive.py``), sync groups, tracking and the rise/fall
debounce, notify argument rules, the config mapping (``from_config.py``), the one classification of
a config change (``change.py``) and reload planning (``reload.py``), the VIP value (``vip.py``).

May import: :mod:`pykeepalived.config`, :mod:`pykeepalived.errors`, :mod:`pykeepalived.wire` and the
standard library's pure modules.  Never an adapter (``net``, ``host``, ``lb.ipvs``, ``check`` probes),
``daemon``, asyncio, sockets or a clock (import-linter enforces it).
"""
