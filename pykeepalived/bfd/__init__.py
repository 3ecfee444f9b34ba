"""The sans-IO BFD core (RFC 5880, single hop per RFC 5881): codec, timers, the session state machine
and the session table.  No sockets, no clock, no asyncio: the adapters in ``pykeepalived.net`` feed it
packets and ``now``; see docs/bfd.md."""
