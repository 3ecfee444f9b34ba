"""Helpers shipped for tests and simulation: the fake clock, loop, wire, network and IPVS table, the
simulated LAN and its CLI, a daemon harness, an LVS rig and the BGP part's fakes, instance specs,
test servers.

Fakes live here, once, for every test; no test module imports another.  May import everything;
nothing in the daemon imports it.  No pytest import at module level.
"""
