#!/usr/bin/env bash
# The demo (run as root on Debian 12): installs what it needs, builds the network-namespace lab, starts
# pykeepalived on two directors, sends client requests through the virtual IP, kills the master and shows
# the takeover; everything is torn down at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$PWD/.venv/bin:$PATH"
if python -c 'import netns_lab.demo' 2>/dev/null; then
  exec python -m netns_lab demo "$@"
fi
echo "demo: the lab demo is not available in this build; showing the simulated two-router failover" >&2
exec python -m pykeepalived.testing.sim "$@"
