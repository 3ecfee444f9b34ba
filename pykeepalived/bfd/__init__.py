"""The sans-IO BFD core (RFC 5880, single hop per RFC 5881): codec, timers, the session state machine
and the session table.  No sockets, no clock, no asyncio: the adapters in ``pykeepalived.net`` feed it
packets and ``now``; see docs/bfd.md.  ``from_config.py`` maps a validated configuration to sessions.

May import :mod:`pykeepalived.config` (the mapping) and :mod:`pykeepalived.errors`; never an adapter,
:mod:`pykeepalived.vrrp` or :mod:`pykeepalived.daemon`.
"""
