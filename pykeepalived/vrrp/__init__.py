"""The sans-IO VRRP core: codec, timers, election and the virtual-router state machine (no I/O)."""
