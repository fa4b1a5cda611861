#!/usr/bin/env bash
# Installs everything needed to build, test and demo vpcnet on Debian 12,
# and reserves hugepages when the machine allows it.
#
# Idempotent: when every package is already installed, apt is not touched at
# all, so a second run takes well under a second. Must run as root (or via sudo).
set -euo pipefail

PACKAGES=(
  # build
  meson ninja-build pkg-config g++ make
  # DPDK 22.11 runtime, headers, PMDs, examples
  dpdk dpdk-dev libdpdk-dev dpdk-doc
  # libraries
  libsodium-dev libipsec-mb-dev libboost-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libspdlog-dev libfmt-dev libpcap-dev libgtest-dev libgmock-dev
  # fuzzing and sanitizers with clang
  clang-14 libclang-rt-14-dev libfuzzer-14-dev
  # test and demo tools
  tshark iproute2 iputils-ping curl socat iperf3 procps
  python3 python3-yaml python3-scapy python3-cryptography
)

log() { printf '[install-deps] %s\n' "$*"; }

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
    log "not root and no sudo: cannot install packages"; exit 1
  fi
fi

# One dpkg-query for all packages; a package dpkg has never heard of is not
# printed at all, so compare against the list rather than trusting the output.
declare -A installed=()
while read -r pkg status; do
  [[ $status == ii* ]] && installed[$pkg]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for pkg in "${PACKAGES[@]}"; do
  [[ -n ${installed[$pkg]:-} ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark (wireshark-common) asks whether non-root users may capture, and
  # iperf3 whether to start a daemon: answer both with "no" up front.
  printf '%s\n' \
    'wireshark-common wireshark-common/install-setuid boolean false' \
    'iperf3 iperf3/start_daemon boolean false' |
    "${SUDO[@]}" debconf-set-selections
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" </dev/null
else
  log "all ${#PACKAGES[@]} packages already installed"
fi

# Hugepages: optional (the tests and the demo run with --no-huge), but
# vhost-user ports and benchmarks want them. Never fail here.
reserve_hugepages() {
  local nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
  [[ -w $nr ]] || { log "hugepages: $nr not writable, skipped"; return 0; }
  if (($(cat "$nr") < 512)); then
    echo 512 >"$nr" 2>/dev/null || true
  fi
  log "hugepages: $(cat "$nr") x 2 MiB reserved"
  if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
    mkdir -p /dev/hugepages 2>/dev/null &&
      mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null ||
      log "hugepages: could not mount hugetlbfs at /dev/hugepages"
  fi
}
if [[ $(id -u) -eq 0 ]]; then reserve_hugepages || true; fi
exit 0
