#!/usr/bin/env bash
# The whole test suite, as CI runs it (run as root on Debian 12): installs what it needs, then
# lint (ruff), types (mypy), import contracts (import-linter), unit + golden + lab tests (pytest),
# the IPVS tests inside a throw-away VM with Debian's kernel, and every benchmark's quick mode (it fails
# only when a benchmark crashes or produces no number: timings are never asserted).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff";          ruff check .
echo "== mypy";          mypy
echo "== import-linter"; lint-imports
# two workers: the lab tests mostly wait on protocol timers (about 0.4 of a core each), so two at a
# time halve the layer's wall time on a 2-core machine without starving the daemons under test
echo "== pytest";        pytest -p no:cacheprovider -n 2 tests/unit tests/golden tests/lab
if [ -d tests/ipvs ] && compgen -G "tests/ipvs/test_*.py" >/dev/null; then
  echo "== pytest (IPVS, in the VM)"
  # two workers in the guest's two vCPUs (one pytest keeps TCG on about one host core); whole files per
  # worker (--dist loadfile): test_bgp_ecmp.py runs its tests in order on one module-scoped lab
  NETNS_LAB_VM_RW_CACHE=loose python -m netns_lab vm -- pytest -p no:cacheprovider -n 2 --dist loadfile tests/ipvs
fi
echo "== benchmarks (python -m bench --quick: each runs to the end and measures)"
NETNS_LAB_VM_RW_CACHE=loose python -m bench --quick
