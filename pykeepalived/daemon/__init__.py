"""The composition root: wires the core to the adapters on one asyncio loop."""
