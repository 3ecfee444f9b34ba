"""Helpers shipped for tests and simulation: fake clock, simulated LAN, fake IPVS."""
