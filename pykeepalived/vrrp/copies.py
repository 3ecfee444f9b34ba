"""One wire datagram, counted once however many of the daemon's sockets read a copy of it.

Several receive sockets can read the same VRRP packet: each VMAC (a macvlan) gets its own copy of
every multicast that reaches its parent interface, and every raw socket of one interface sees every
VRRP packet of it.  A copy that an instance can take is routed to that instance's own socket (the
others count ``other_receive_path``, ``daemon/runner.py``).  A datagram no instance can take (a codec
reject, an unknown VRID) used to be counted as a drop by *every* socket that read it: a flood of 300
bad packets on a link with two VMAC instances showed 600 drops.

:class:`WireCopies` remembers the datagrams no instance took, by their identity on the wire (the
kernel's receive stamp, the source and the bytes: every copy of one packet carries the same stamp,
two packets sent apart do not), and which socket read each first.  That socket counts the drop; a
copy read by another socket is ``another_copy``.  The memory is bounded (``capacity`` datagrams,
oldest forgotten first): a copy comes within a few loop turns of the first, since the sockets are
read in the same turns.  Without a receive stamp a datagram is never taken for a copy.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["CAPACITY", "WireCopies"]

CAPACITY = 4096
"""Datagrams remembered: more than two sockets' receive queues hold between two loop turns."""


class WireCopies:
    """See the module docstring."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._first: OrderedDict[Hashable, Hashable] = OrderedDict()

    def another_copy(self, stamp_ns: int | None, datagram: Hashable, reader: Hashable) -> bool:
        """Was ``datagram`` (its source and bytes), received at ``stamp_ns``, already read by a
        socket other than ``reader``?  The first reader is remembered; it counts the datagram."""
        if stamp_ns is None:
            return False
        identity = (stamp_ns, datagram)
        first = self._first.get(identity)
        if first is None:
            self._first[identity] = reader
            if len(self._first) > self.capacity:
                self._first.popitem(last=False)
            return False
        return first != reader

    def __len__(self) -> int:
        return len(self._first)
