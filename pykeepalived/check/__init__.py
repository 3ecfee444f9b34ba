"""Real-server health checks: pure rise/fall policy, async probes, scheduling."""
