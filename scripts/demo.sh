#!/usr/bin/env bash
# The demo (run as root on Debian 12): installs what it needs, builds the network-namespace lab with a
# client, two LVS directors and two real servers running web servers, starts pykeepalived on both
# directors (VRRP sync group + the same IPVS virtual server), sends client requests through the VIP,
# kills the master and shows the requests continuing through the other director, the takeover timeline
# and its IPVS table; everything is torn down at the end.
# IPVS needs a kernel that has it: when this one has not, the demo runs inside a throw-away QEMU VM
# with Debian's kernel (`python -m netns_lab vm`, see docs/lab.md).
#   ./scripts/demo.sh [--requests N] [--timeout S] [--advert-int S]
#   ./scripts/demo.sh --no-ipvs [...]   the VRRP-only variant on this kernel (directors serve the VIP)
#   ./scripts/demo.sh --bgp [...]       scale-out: three active/active directors announced over BGP + BFD
#                                       through FRR to an ECMP router; one crashes (docs/scaleout.md)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$PWD/.venv/bin:$PATH"

if [[ "${1:-}" == "--no-ipvs" ]]; then
  shift
  echo "demo: the VRRP-only variant: each director serves the VIP itself, no IPVS"
  exec python -m netns_lab demo -- "$@"
fi
mode=--lvs
name="LVS demo"
took="about a minute"
if [[ "${1:-}" == "--bgp" ]]; then
  shift
  mode=--bgp
  name="scale-out demo (BGP + BFD + ECMP)"
  took="about three minutes"
fi
modprobe -q ip_vs 2>/dev/null || true
if [[ -e /proc/net/ip_vs ]]; then
  echo "demo: this kernel has IPVS: running the $name here, in network namespaces"
  exec python -m netns_lab demo "$mode" "$@"
fi
echo "demo: this kernel has no IPVS, so the $name runs in a throw-away QEMU VM with Debian's kernel" \
     "(no network, $took)"
# the tree is not edited during the demo, so the guest may cache it (much faster imports)
export NETNS_LAB_VM_RW_CACHE="${NETNS_LAB_VM_RW_CACHE:-loose}"
exec python -m netns_lab vm -- python -m netns_lab demo "$mode" "$@"
