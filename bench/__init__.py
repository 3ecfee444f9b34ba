"""pykeepalived's benchmarks: ``bench/<name>/run.py`` each, and ``python -m bench`` to run them all
(see bench/README.md and docs/bench.md)."""
