#!/usr/bin/env bash
# shellcheck disable=SC2034  # variables read by the sourced tests/e2e/lib.sh
# vpcnet in five minutes, on one Debian 12 machine, as root:
#
#   - two workloads, web1 (subnet web) and db1 (subnet db) of VPC prod, as
#     network namespaces with real kernel stacks on TAP ports of vpc-dataplane
#     (policies/examples/two-subnets.yaml)
#   - vpc-controld with its state in ./state, configured with vpcctl apply
#   - ping (IPv4, IPv6) and TCP transfers (HTTP, iperf3) across the subnets,
#     routed by the data plane
#   - security groups: a port allowed, a port blocked, a packet trace, rule
#     hit counts, tracked flows and the flow logs; then the counters
#
# Everything it started (processes, namespaces, TAP devices) is removed on
# exit; ./state (controld's state, the daemons' logs) is kept for a look.
#
#   tools/demo.sh            run the demo and clean up
#   tools/demo.sh --hold     ... and keep everything running until Enter/Ctrl-C
#   tools/demo.sh --no-build use the binaries in ./build as they are
#   BUILD_DIR=DIR tools/demo.sh   build in (or use) DIR instead of ./build
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
HOLD=0 BUILD=1
for arg in "$@"; do
  case $arg in
    --hold) HOLD=1 ;;
    --no-build) BUILD=0 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "tools/demo.sh needs root (network namespaces, TAP devices)" >&2; exit 1; }

section() { printf '\n\033[1m========== %s ==========\033[0m\n' "$*"; }
# show CMD...: prints the command as a user would type it, then runs it.
show() {
  local a line=""
  for a in "$@"; do
    [[ $a =~ [[:space:]\'\"] ]] && a="'${a//\'/\'\\\'\'}'"
    line+="${line:+ }$a"
  done
  printf '\033[36m$ %s\033[0m\n' "$line"
  "$@"
}

section "dependencies"
bash tools/install-deps.sh

BUILD_DIR=${BUILD_DIR:-build}
if ((BUILD)); then
  section "build (./$BUILD_DIR, debugoptimized)"
  if [[ ! -f $BUILD_DIR/meson-private/coredata.dat ]]; then
    meson setup "$BUILD_DIR" --buildtype=debugoptimized -Dwerror=true
  fi
  ninja -C "$BUILD_DIR"
fi

export VPC_DATAPLANE=$ROOT/$BUILD_DIR/dataplane/vpc-dataplane
export VPC_CONTROLD=$ROOT/$BUILD_DIR/control/vpc-controld
export VPCCTL=$ROOT/$BUILD_DIR/tools/vpcctl/vpcctl
POLICY=policies/examples/two-subnets.yaml

# Fixed, readable names (lib.sh would pick random ones for concurrent tests),
# read by tests/e2e/lib.sh.
STATE=$ROOT/state
E2E_TMP=$STATE
CD_STATE=$STATE
DP_SOCK=$STATE/dataplane.sock
CD_SOCK=$STATE/controld.sock
DP_LOG=$STATE/logs/dataplane.log
CD_LOG=$STATE/logs/controld.log
E2E_NS_PREFIX=vpcdemo-
E2E_TAP_PREFIX=vpc-
E2E_FILE_PREFIX=vpcdemo
E2E_DP_ARGS="--flow-log-interval 2"  # flow-log records within seconds, for the demo
# shellcheck source=../tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# Leftovers of an earlier demo that was killed before it could clean up.
for ns in vpcdemo-web1 vpcdemo-db1; do
  if ip netns list | grep -q "^$ns\b"; then
    for pid in $(ip netns pids "$ns"); do
      echo "a process of an earlier demo still runs in $ns: pid $pid ($(tr '\0' ' ' </proc/"$pid"/cmdline)); stop it first" >&2
      exit 1
    done
    ip netns del "$ns"
  fi
done
for tap in vpc-web1 vpc-db1; do
  if ip link show dev "$tap" >/dev/null 2>&1; then
    echo "TAP device $tap exists: is another vpc-dataplane (an earlier demo?) running? Stop it first." >&2
    exit 1
  fi
done
rm -rf "$STATE"
mkdir -p "$STATE/logs"

e2e_init demo
vpcctl() { "$VPCCTL" --socket "$CD_SOCK" "$@"; }
# nsrun IFACE CMD...: shows and runs CMD in the workload's namespace.
nsrun() { local n=$1; shift; show ip netns exec "$(e2e_ns "$n")" "$@"; }

section "topology ($POLICY)"
e2e_load_topology "$POLICY" 2>&1
A=web1 B=db1
for n in $A $B; do [[ -n ${T_PORT[$n]:-} ]] || e2e_fail "no Interface $n in $POLICY"; done

section "start vpc-dataplane (ports web1, db1 on TAP devices vpc-web1, vpc-db1)"
e2e_start_dataplane
head -n 1 "$DP_LOG"

section "workloads: one network namespace each, TAP device moved in"
e2e_attach_all
for n in $A $B; do
  show ip -n "$(e2e_ns $n)" -br addr show dev "$(e2e_tap $n)"
  show ip -n "$(e2e_ns $n)" route show default
  show ip -n "$(e2e_ns $n)" -6 route show default
done

section "start vpc-controld (state in ./state) and apply the policy"
e2e_start_controld
show vpcctl apply -f "$POLICY"

section "ping across subnets: web1 -> db1 (IPv4, IPv6)"
nsrun $A ping -c 3 -W 2 -i 0.3 "${T_IP4[$B]}"
nsrun $A ping -c 3 -W 2 -i 0.3 "${T_IP6[$B]}"
section "ping the gateways"
nsrun $A ping -c 2 -W 2 -i 0.3 "${T_GW4[$A]}"
nsrun $B ping -c 2 -W 2 -i 0.3 "${T_GW6[$B]}"

section "TCP across subnets: HTTP server in db1, curl in web1"
mkdir -p "$STATE/www"
head -c $((4 << 20)) /dev/urandom >"$STATE/www/blob"
want=$(sha256sum <"$STATE/www/blob" | cut -d' ' -f1)
e2e_bg $B "$E2E_PY" -m http.server 8080 --bind :: --directory "$STATE/www"
e2e_wait_for 15 "http.server" bash -c "ip netns exec '$(e2e_ns $B)' ss -Hltn 'sport = :8080' | grep -q LISTEN" ||
  e2e_fail "http.server did not start"
for url in "http://${T_IP4[$B]}:8080/blob" "http://[${T_IP6[$B]}]:8080/blob"; do
  nsrun $A curl -gsS --fail --max-time 60 -o "$STATE/got" \
    -w '  %{size_download} bytes in %{time_total} s (%{speed_download} bytes/s)\n' "$url"
  got=$(sha256sum <"$STATE/got" | cut -d' ' -f1)
  [[ $got == "$want" ]] || e2e_fail "content differs after $url"
  echo "  sha256 identical: $got"
done
rm -f "$STATE/got" "$STATE/www/blob"
echo "hello from db1" >"$STATE/www/index.html"

section "TCP throughput: iperf3 web1 -> db1, 3 s"
e2e_bg $B iperf3 -s -1 -p 5201
e2e_wait_for 15 "iperf3 server" bash -c "ip netns exec '$(e2e_ns $B)' ss -Hltn 'sport = :5201' | grep -q LISTEN" ||
  e2e_fail "iperf3 server did not start"
nsrun $A iperf3 -c "${T_IP4[$B]}" -p 5201 -t 3 -f m

section "security groups (policies/examples/security-groups.yaml)"
# db1 accepts PostgreSQL (5432) from group web only; web1 has default egress.
show vpcctl apply -f policies/examples/security-groups.yaml
for port in 5432 22; do
  e2e_bg $B "$E2E_PY" -m http.server $port --bind :: --directory "$STATE/www"
  e2e_wait_for 15 "server on $port" bash -c "ip netns exec '$(e2e_ns $B)' ss -Hltn 'sport = :$port' | grep -q LISTEN" ||
    e2e_fail "server on port $port did not start"
done
echo "web1 -> db1:5432 (allowed by SecurityGroup db, rule 'tcp 5432 from sg:web'):"
nsrun $A curl -sS --max-time 5 -o /dev/null -w '  HTTP %{http_code}\n' "http://${T_IP4[$B]}:5432/"
echo "web1 -> db1:22 (no rule allows it: dropped, curl times out):"
if nsrun $A curl -sS --max-time 2 -o /dev/null "http://${T_IP4[$B]}:22/"; then
  e2e_fail "port 22 should be blocked"
fi
echo "  blocked, as it should be"
show vpcctl trace --from $A --to "${T_IP4[$B]}" --proto tcp --dport 22
show vpcctl trace --from $A --to "${T_IP6[$B]}" --proto tcp --dport 5432
show vpcctl get securitygroup db -o wide
show vpcctl flows
echo "flow logs (AWS VPC flow log v5 fields, written by vpc-controld every --flow-log-interval):"
e2e_wait_for 15 "flow-log records" bash -c "grep -q ' 22 6 .* REJECT ' '$STATE/flow-logs/flow-log.txt' 2>/dev/null" ||
  e2e_fail "no REJECT record for port 22 in $STATE/flow-logs/flow-log.txt"
show head -n 1 "$STATE/flow-logs/flow-log.txt"
grep -E ' (5432|22) 6 ' "$STATE/flow-logs/flow-log.txt" | head -n 6

section "vpcctl get interface"
show vpcctl get interface

section "vpcctl stats"
show vpcctl stats

section "done"
echo "The daemons' logs and controld's state are in ./state."
if ((HOLD)); then
  echo "Everything keeps running. Try, in another shell:"
  echo "  ip netns exec $(e2e_ns $A) ping ${T_IP6[$B]}"
  echo "  $VPCCTL --socket $CD_SOCK stats"
  echo "Press Enter (or Ctrl-C) to stop and clean up."
  read -r _ || true
fi
echo "Cleaning up: stopping the daemons, deleting namespaces vpcdemo-web1, vpcdemo-db1."
