#!/usr/bin/env bash
# Installs everything pykeepalived's demo and tests need on a fresh Debian 12 machine (run as root):
# Debian packages (iproute2, nftables, keepalived as the interop peer, tshark as the wire oracle,
# QEMU + Debian's kernel for the IPVS lab) and a .venv with the project and its test extras.
# Idempotent: a second run installs nothing new and takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  iproute2 nftables procps kmod iputils-ping
  keepalived            # interoperability peer, 2.2.7 on Debian 12
  frr                   # FRR 8.4.4's vrrpd, the third VRRP peer in the lab (tests/lab/test_frr_interop.py);
                        # bgpd + bfdd announce the VIPs of active/active directors (docs/scaleout.md)
  frr-pythontools       # frr-reload.py: applies the BGP configuration pykeepalived renders, without a restart
  tshark tcpdump        # wire oracle for golden packets and lab assertions
  ipvsadm               # IPVS baseline and oracle inside the VM
  qemu-system-x86 linux-image-amd64 busybox-static cpio e2fsprogs xz-utils  # IPVS VM lab
  curl
  tzdata                # zoneinfo for the daylight saving test of reload_time_file (tests/unit/config)
  python3 python3-venv python3-dev gcc
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 2
  fi
  echo "install-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # keepalived and frr must not start as system services, not even for a moment during the install:
  # a temporary policy-rc.d (exit 101 = "action forbidden") keeps maintainer scripts from starting them.
  made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
  if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ "${status:-0}" -ne 0 ]; then exit "$status"; fi
fi
# keepalived and FRR are interop peers started by the tests, never system services here.
for service in keepalived frr; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled "$service" >/dev/null 2>&1; then
    systemctl disable --now "$service" >/dev/null 2>&1 || true
  fi
done

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.pykeepalived-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ netns-lab/pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]' -e ./netns-lab
  touch "$stamp"
fi
