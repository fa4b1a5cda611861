# shellcheck shell=bash
# Shared helpers for the end-to-end tests (tests/e2e/*.sh) and tools/demo.sh.
#
# A test sources this file, calls `e2e_init NAME`, and then builds its world:
#
#   e2e_init cross_subnet
#   e2e_load_topology "$E2E_REPO/policies/examples/two-subnets.yaml"
#   e2e_start_dataplane          # vpc-dataplane with one TAP port per Interface port
#   e2e_attach_all               # each TAP into its own netns, MAC/IPs/routes set
#   e2e_start_controld
#   e2e_ctl apply -f FILE
#
# Everything is named after a random per-run id (namespaces "vpcXXXX-web1",
# TAP devices "vtXXXXweb1", sockets and state in a mktemp directory, DPDK
# with --no-huge --no-shconf and its own --file-prefix), so several tests can run at once.
# An EXIT trap stops every process the test started, deletes its namespaces
# and TAP devices, and prints the daemons' logs when the test failed.
#
# Environment:
#   VPC_DATAPLANE, VPC_CONTROLD, VPCCTL  the binaries (meson passes them; by
#                                        default they are taken from ./build)
#   E2E_KEEP=1                           keep the temp directory (logs, state)
#   E2E_EAL_ARGS                         extra EAL arguments for the data plane
#   E2E_LCORES                           its lcores (default "-l 0,1": one worker)
#   E2E_DP_ARGS                          extra vpc-dataplane arguments (after
#                                        "--"), e.g. "--flow-log-interval 2"
#   E2E_CD_ARGS                          extra vpc-controld arguments

set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO=$(cd "$E2E_DIR/../.." && pwd)
# Debian's python has PyYAML and scapy; the python3 first on PATH may not.
E2E_PY=/usr/bin/python3
[[ -x $E2E_PY ]] || E2E_PY=python3

VPC_DATAPLANE=${VPC_DATAPLANE:-$E2E_REPO/build/dataplane/vpc-dataplane}
VPC_CONTROLD=${VPC_CONTROLD:-$E2E_REPO/build/control/vpc-controld}
VPCCTL=${VPCCTL:-$E2E_REPO/build/tools/vpcctl/vpcctl}

E2E_NAME=${E2E_NAME:-e2e}
E2E_PIDS=()         # helper processes (servers, streams) to stop at exit
E2E_NAMESPACES=()   # namespaces this run created
E2E_TAPS=()         # TAP devices this run's data plane creates
DP_PID=""
CD_PID=""
E2E_IFACES=()       # Interface names from the topology, in file order
declare -A T_PORT=() T_MAC=() T_IP4=() T_PLEN4=() T_GW4=() T_IP6=() T_PLEN6=() T_GW6=()

e2e_log() { printf '[%s %s] %s\n' "$E2E_NAME" "$(date +%T)" "$*" >&2; }
e2e_fail() { e2e_log "FAIL: $*"; exit 1; }
e2e_section() { printf '\n===== %s =====\n' "$*"; }
e2e_pass() { e2e_log "ok: $*"; }

# e2e_wait_for TIMEOUT_S WHAT CMD...: polls CMD every 0.1 s until it succeeds.
e2e_wait_for() {
  local timeout_s=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout_s))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      e2e_log "timed out after ${timeout_s}s waiting for $what"
      return 1
    fi
    sleep 0.1
  done
}

# --- setup / teardown --------------------------------------------------------

# e2e_init NAME: checks the environment, picks the run id, installs the trap.
# tools/demo.sh presets E2E_TMP, E2E_NS_PREFIX, E2E_TAP_PREFIX, E2E_FILE_PREFIX,
# CD_STATE, DP_LOG and CD_LOG.
e2e_init() {
  E2E_NAME=$1
  if [[ $(id -u) -ne 0 ]]; then
    e2e_log "FAIL: needs root (network namespaces, TAP devices, hugepages)"
    exit 1
  fi
  local bin
  for bin in "$VPC_DATAPLANE" "$VPC_CONTROLD" "$VPCCTL"; do
    [[ -x $bin ]] || e2e_fail "binary not found or not executable: $bin (build first, or set VPC_DATAPLANE/VPC_CONTROLD/VPCCTL)"
  done
  for bin in ip ping curl sha256sum; do
    command -v "$bin" >/dev/null || e2e_fail "$bin not installed (run tools/install-deps.sh)"
  done
  E2E_ID=$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
  if [[ -z ${E2E_TMP:-} ]]; then
    E2E_TMP=$(mktemp -d "/tmp/vpcnet-e2e-$E2E_NAME.XXXXXX")
    E2E_TMP_OWNED=1
  else
    mkdir -p "$E2E_TMP"
    E2E_TMP=$(cd "$E2E_TMP" && pwd)
    E2E_TMP_OWNED=0
  fi
  E2E_NS_PREFIX=${E2E_NS_PREFIX:-vpc$E2E_ID-}
  E2E_TAP_PREFIX=${E2E_TAP_PREFIX:-vt$E2E_ID}
  E2E_FILE_PREFIX=${E2E_FILE_PREFIX-vpc$E2E_ID}
  DP_SOCK=${DP_SOCK:-$E2E_TMP/dataplane.sock}
  CD_SOCK=${CD_SOCK:-$E2E_TMP/controld.sock}
  CD_STATE=${CD_STATE:-$E2E_TMP/controld-state}
  DP_LOG=${DP_LOG:-$E2E_TMP/dataplane.log}
  CD_LOG=${CD_LOG:-$E2E_TMP/controld.log}
  trap e2e_cleanup EXIT
  trap 'e2e_log "interrupted"; exit 130' INT
  trap 'e2e_log "terminated"; exit 143' TERM
  e2e_log "run id $E2E_ID, files in $E2E_TMP"
}

# Stops one process: SIGTERM, up to 10 s, then SIGKILL; reaps it.
e2e_stop_pid() {
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    e2e_log "pid $pid did not stop on SIGTERM within 10 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# Sanitizer reports in the daemons' logs fail the test (meson sets
# halt_on_error/abort_on_error, so the daemon also died at that point).
e2e_check_sanitizer_logs() {
  local f found=0
  for f in "$DP_LOG" "$CD_LOG" "$E2E_TMP"/bg.*.log; do
    [[ -f $f ]] || continue
    if grep -qE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$f"; then
      e2e_log "sanitizer report in $f:"
      grep -A30 -E 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$f" | head -80 >&2
      found=1
    fi
  done
  return $found
}

e2e_cleanup() {
  local rc=$? pid ns tap
  set +e
  trap - EXIT
  trap '' INT TERM  # finish the cleanup even if interrupted again
  for pid in "${E2E_PIDS[@]}"; do e2e_stop_pid "$pid"; done
  e2e_stop_pid "$CD_PID"; CD_PID=""
  e2e_stop_pid "$DP_PID"; DP_PID=""
  for ns in "${E2E_NAMESPACES[@]}"; do
    # Anything still running inside a namespace of this run was started by it.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  for tap in "${E2E_TAPS[@]}"; do
    ip link show dev "$tap" >/dev/null 2>&1 && ip link del dev "$tap" 2>/dev/null
  done
  [[ -n ${E2E_FILE_PREFIX:-} ]] && rm -rf "/var/run/dpdk/$E2E_FILE_PREFIX"
  if [[ -n ${E2E_TMP:-} ]]; then
    if ! e2e_check_sanitizer_logs && ((rc == 0)); then rc=1; fi
    if ((rc != 0 && rc != 77)); then
      local f
      for f in "$DP_LOG" "$CD_LOG"; do
        [[ -s $f ]] || continue
        e2e_log "---- last lines of $f ----"
        tail -n 40 "$f" >&2
      done
    fi
    if [[ ${E2E_KEEP:-0} == 1 ]]; then
      e2e_log "kept $E2E_TMP"
    elif ((E2E_TMP_OWNED)); then
      rm -rf "$E2E_TMP"
    fi
  fi
  if ((rc == 0)); then e2e_log "PASS"; elif ((rc != 77)); then e2e_log "FAILED (exit $rc)"; fi
  exit "$rc"
}

# --- topology ------------------------------------------------------------------

# e2e_load_topology POLICY...: reads the Interfaces (port, MAC, addresses,
# gateways) from policy files.
e2e_load_topology() {
  local name port mac ip4 plen4 gw4 ip6 plen6 gw6 out
  out=$("$E2E_PY" "$E2E_DIR/topology.py" "$@") || e2e_fail "cannot read topology from $*"
  while read -r name port mac ip4 plen4 gw4 ip6 plen6 gw6; do
    [[ -n $name ]] || continue
    E2E_IFACES+=("$name")
    T_PORT[$name]=$port T_MAC[$name]=$mac
    T_IP4[$name]=$ip4 T_PLEN4[$name]=$plen4 T_GW4[$name]=$gw4
    T_IP6[$name]=$ip6 T_PLEN6[$name]=$plen6 T_GW6[$name]=$gw6
  done <<<"$out"
  ((${#E2E_IFACES[@]})) || e2e_fail "no Interface in $*"
  for name in "${E2E_IFACES[@]}"; do
    e2e_log "topology: $name port=${T_PORT[$name]} mac=${T_MAC[$name]} ${T_IP4[$name]}/${T_PLEN4[$name]} via ${T_GW4[$name]}, ${T_IP6[$name]}/${T_PLEN6[$name]} via ${T_GW6[$name]}"
  done
}

e2e_ns() { printf '%s%s' "$E2E_NS_PREFIX" "$1"; }      # namespace of Interface $1
e2e_tap() { printf '%s%s' "$E2E_TAP_PREFIX" "${T_PORT[$1]}"; }  # TAP of Interface $1
e2e_in() { local n=$1; shift; ip netns exec "$(e2e_ns "$n")" "$@"; }  # run in Interface's netns

# e2e_bg IFACE CMD...: runs CMD in the Interface's namespace in the background,
# output to $E2E_TMP/bg-<pid>.log; stopped at exit. Sets E2E_LAST_PID.
e2e_bg() {
  local n=$1; shift
  ip netns exec "$(e2e_ns "$n")" "$@" >>"$E2E_TMP/bg.$n.log" 2>&1 &
  E2E_LAST_PID=$!
  E2E_PIDS+=("$E2E_LAST_PID")
}

# --- daemons -------------------------------------------------------------------

# e2e_socket_up PATH: something accepts connections on the Unix socket PATH.
# (After a kill -9 the socket file stays behind, so its existence says nothing.)
e2e_socket_up() {
  "$E2E_PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.settimeout(1); s.connect(sys.argv[1])' "$1" 2>/dev/null
}

# Starts vpc-dataplane with one net_tap port per distinct Interface port and
# waits until its RPC socket is up (ports started).
e2e_start_dataplane() {
  local -a ports=() seen=() eal
  local n port tap i=0
  for n in "${E2E_IFACES[@]}"; do
    port=${T_PORT[$n]}
    [[ " ${seen[*]} " == *" $port "* ]] && continue
    seen+=("$port")
    tap=$(e2e_tap "$n")
    ((${#tap} <= 15)) || e2e_fail "TAP name $tap longer than 15 characters"
    ports+=(--port "$port=net_tap$i,iface=$tap")
    [[ " ${E2E_TAPS[*]} " == *" $tap "* ]] || E2E_TAPS+=("$tap")
    i=$((i + 1))
  done
  # DPDK 22.11 refuses --in-memory together with --no-huge ("Option
  # --legacy-mem is not compatible with --in-memory"); --no-shconf is the part
  # of --in-memory that matters without hugepages (no shared config files, no
  # multi-process socket), and the unique --file-prefix keeps the runtime
  # directory (telemetry socket) of concurrent data planes apart.
  # lcore 0 serves RPC, every further lcore is a worker. E2E_LCORES replaces
  # the default "-l 0,1" (one worker), e.g. "--lcores 0@0,1@1,2@1": two
  # workers sharing CPU 1.
  # shellcheck disable=SC2206
  eal=(--no-huge -m 512 --no-shconf --no-pci ${E2E_LCORES:--l 0,1})
  [[ -n $E2E_FILE_PREFIX ]] && eal+=(--file-prefix "$E2E_FILE_PREFIX")
  # shellcheck disable=SC2206
  eal+=(${E2E_EAL_ARGS:-})
  # A socket file left by a killed data plane must not pass for the new one's:
  # the TAP devices would be moved away before their queues are attached.
  rm -f "$DP_SOCK"
  local -a dp_args=()
  # shellcheck disable=SC2206
  dp_args=(${E2E_DP_ARGS:-})
  echo "+ $VPC_DATAPLANE ${eal[*]} -- ${ports[*]} --socket $DP_SOCK ${dp_args[*]}" >>"$DP_LOG"
  "$VPC_DATAPLANE" "${eal[@]}" -- "${ports[@]}" --socket "$DP_SOCK" "${dp_args[@]}" >>"$DP_LOG" 2>&1 &
  DP_PID=$!
  e2e_log "vpc-dataplane started (pid $DP_PID): ${ports[*]}"
  local deadline=$((SECONDS + 60))
  until e2e_socket_up "$DP_SOCK" && [[ -z $(e2e_missing_taps) ]]; do
    if ! kill -0 "$DP_PID" 2>/dev/null; then
      local st=0; wait "$DP_PID" || st=$?; DP_PID=""
      e2e_fail "vpc-dataplane exited (status $st) during start"
    fi
    ((SECONDS < deadline)) || e2e_fail "vpc-dataplane: no socket $DP_SOCK / TAP devices after 60 s"
    sleep 0.1
  done
}

# Prints the TAP devices of this run that do not exist in the root namespace
# (nor in their workload's namespace).
e2e_missing_taps() {
  local n tap
  for n in "${E2E_IFACES[@]}"; do
    tap=$(e2e_tap "$n")
    ip link show dev "$tap" >/dev/null 2>&1 && continue
    ip -n "$(e2e_ns "$n")" link show dev "$tap" >/dev/null 2>&1 && continue
    echo "$tap"
  done
}

e2e_start_controld() {
  mkdir -p "$CD_STATE"
  rm -f "$CD_SOCK"  # left behind by a killed controld
  local -a cd_args=()
  # shellcheck disable=SC2206
  cd_args=(${E2E_CD_ARGS:-})
  echo "+ $VPC_CONTROLD --state-dir $CD_STATE --socket $CD_SOCK --dataplane-socket $DP_SOCK ${cd_args[*]}" >>"$CD_LOG"
  "$VPC_CONTROLD" --state-dir "$CD_STATE" --socket "$CD_SOCK" --dataplane-socket "$DP_SOCK" "${cd_args[@]}" >>"$CD_LOG" 2>&1 &
  CD_PID=$!
  e2e_log "vpc-controld started (pid $CD_PID)"
  local deadline=$((SECONDS + 30))
  until e2e_socket_up "$CD_SOCK"; do
    if ! kill -0 "$CD_PID" 2>/dev/null; then
      local st=0; wait "$CD_PID" || st=$?; CD_PID=""
      e2e_fail "vpc-controld exited (status $st) during start"
    fi
    ((SECONDS < deadline)) || e2e_fail "vpc-controld: no socket $CD_SOCK after 30 s"
    sleep 0.1
  done
}

# kill -9, as a crash would; waits until the process is gone (and, for the
# data plane, its TAP devices with it).
e2e_kill9_dataplane() {
  [[ -n $DP_PID ]] || return 0
  kill -KILL "$DP_PID" 2>/dev/null || true
  wait "$DP_PID" 2>/dev/null || true
  e2e_log "vpc-dataplane (pid $DP_PID) killed with SIGKILL"
  DP_PID=""
  local n
  for n in "${E2E_IFACES[@]}"; do
    e2e_wait_for 10 "TAP $(e2e_tap "$n") to go away" e2e_tap_gone "$n" || true
  done
}
e2e_tap_gone() {
  ! ip link show dev "$(e2e_tap "$1")" >/dev/null 2>&1 &&
    ! ip -n "$(e2e_ns "$1")" link show dev "$(e2e_tap "$1")" >/dev/null 2>&1
}
e2e_kill9_controld() {
  [[ -n $CD_PID ]] || return 0
  kill -KILL "$CD_PID" 2>/dev/null || true
  wait "$CD_PID" 2>/dev/null || true
  e2e_log "vpc-controld (pid $CD_PID) killed with SIGKILL"
  CD_PID=""
}

e2e_ctl() { "$VPCCTL" --socket "$CD_SOCK" "$@"; }

# --- workloads -----------------------------------------------------------------

# e2e_attach IFACE: moves the Interface's TAP device into its own namespace
# (created on first use) and gives it the MAC, addresses and default routes
# via the subnet gateways. Run again after the data plane restarted (its TAP
# devices die with it).
e2e_attach() {
  local n=$1 ns tap
  ns=$(e2e_ns "$n")
  tap=$(e2e_tap "$n")
  if ! ip netns list | grep -qx "$ns\( (id: [0-9]*)\)\?"; then
    ip netns add "$ns"
    E2E_NAMESPACES+=("$ns")
    ip -n "$ns" link set lo up
  fi
  if ! ip -n "$ns" link show dev "$tap" >/dev/null 2>&1; then
    e2e_wait_for 30 "TAP device $tap" ip link show dev "$tap" || e2e_fail "no TAP device $tap"
    ip link set dev "$tap" netns "$ns"
  fi
  ip -n "$ns" link set dev "$tap" down
  [[ ${T_MAC[$n]} != - ]] && ip -n "$ns" link set dev "$tap" address "${T_MAC[$n]}"
  ip -n "$ns" link set dev "$tap" up
  ip -n "$ns" addr flush dev "$tap" scope global
  if [[ ${T_IP4[$n]} != - ]]; then
    ip -n "$ns" addr add "${T_IP4[$n]}/${T_PLEN4[$n]}" dev "$tap"
    ip -n "$ns" route replace default via "${T_GW4[$n]}" dev "$tap"
  fi
  if [[ ${T_IP6[$n]} != - ]]; then
    ip -n "$ns" -6 addr add "${T_IP6[$n]}/${T_PLEN6[$n]}" dev "$tap" nodad
    ip -n "$ns" -6 route replace default via "${T_GW6[$n]}" dev "$tap"
  fi
  e2e_log "attached $tap in netns $ns: ${T_MAC[$n]} ${T_IP4[$n]}/${T_PLEN4[$n]} ${T_IP6[$n]}/${T_PLEN6[$n]}"
}
e2e_attach_all() { local n; for n in "${E2E_IFACES[@]}"; do e2e_attach "$n"; done; }

# e2e_bring_up POLICY: data plane with one TAP per Interface, each TAP in its
# namespace, controld started and POLICY applied: the world every test starts from.
e2e_bring_up() {
  e2e_start_dataplane
  e2e_attach_all
  e2e_start_controld
  e2e_ctl apply -f "$1" || e2e_fail "vpcctl apply -f $1"
}

# --- assertions ----------------------------------------------------------------

# e2e_ping_all FROM DEST [COUNT]: every echo request gets its reply.
e2e_ping_all() {
  local from=$1 dest=$2 count=${3:-3} out
  out=$(e2e_in "$from" ping -c "$count" -W 2 -i 0.2 "$dest" 2>&1) || true
  if ! grep -qE "^$count packets transmitted, $count received" <<<"$out"; then
    printf '%s\n' "$out" >&2
    e2e_fail "ping $from -> $dest: not all $count replies"
  fi
  e2e_pass "ping $from -> $dest: $count/$count replies"
}

# e2e_ping_none FROM DEST [PING ARGS...]: no echo request gets a reply.
e2e_ping_none() {
  local from=$1 dest=$2 out; shift 2
  out=$(e2e_in "$from" ping -c 3 -W 1 -i 0.2 "$@" "$dest" 2>&1) || true
  if ! grep -qE "^3 packets transmitted, 0 received" <<<"$out"; then
    printf '%s\n' "$out" >&2
    e2e_fail "ping $from -> $dest $*: expected no reply"
  fi
  e2e_pass "ping $from -> $dest $*: no reply, as expected"
}

# e2e_stats FILE: `vpcctl stats -o json` into FILE (and checks it is JSON).
e2e_stats() {
  e2e_ctl stats -o json >"$1" || e2e_fail "vpcctl stats -o json failed"
  "$E2E_PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" ||
    e2e_fail "vpcctl stats -o json printed no valid JSON: $(head -c 500 "$1")"
}

# e2e_json FILE EXPR: prints the Python expression EXPR evaluated with d = the
# JSON document in FILE (helpers: port(d, name), drops(d, substr)).
e2e_json() {
  "$E2E_PY" - "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
def port(d, name):
    for p in d.get("ports", []):
        if p.get("name") == name:
            return p
    raise SystemExit(f"no port {name!r} in stats: {[p.get('name') for p in d.get('ports', [])]}")
def drops(d, substr):
    """Sum of every drop/counter entry whose reason or name contains substr."""
    total = 0
    for key in ("drops", "counters"):
        for e in d.get(key, []):
            label = f"{e.get('stage', '')}/{e.get('reason', '')}/{e.get('name', '')}"
            if substr in label:
                total += int(e.get("packets", 0))
    return total
def generation(d):
    c = d.get("controld", {})
    return int(c.get("generation", d.get("generation", -1)))
print(eval(sys.argv[2]))
EOF
}

# --- policy changes and counted streams (tests/e2e/fault_*.sh) -----------------

# e2e_write_extra_subnets POLICY: writes $E2E_TMP/extra-A.yaml and extra-B.yaml,
# the same Subnet "e2e-extra" (no Interface in it) of the policy's VPC with two
# different free /24s of its IPv4 range: applying one, then the other, changes
# the desired state without touching any workload's traffic.
e2e_write_extra_subnets() {
  local vpc cidr_a cidr_b
  read -r vpc cidr_a cidr_b < <("$E2E_PY" - "$1" <<'PY'
import ipaddress, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if isinstance(d, dict)]
vpc = next(d for d in docs if d["kind"] == "Vpc")
v4 = next(ipaddress.ip_network(c) for c in vpc["spec"]["cidrs"] if ":" not in c)
used = [ipaddress.ip_network(c) for d in docs if d["kind"] == "Subnet" for c in d["spec"]["cidrs"]]
free = [n for n in v4.subnets(new_prefix=24) if not any(n.overlaps(u) for u in used)]
print(vpc["name"], free[-1], free[-2])
PY
  )
  [[ -n ${cidr_b:-} ]] || e2e_fail "could not pick CIDRs for the extra subnet of $1"
  printf 'kind: Subnet\nname: e2e-extra\nspec:\n  vpc: %s\n  cidrs:\n    - %s\n' "$vpc" "$cidr_a" >"$E2E_TMP/extra-A.yaml"
  printf 'kind: Subnet\nname: e2e-extra\nspec:\n  vpc: %s\n  cidrs:\n    - %s\n' "$vpc" "$cidr_b" >"$E2E_TMP/extra-B.yaml"
  # shellcheck disable=SC2034 # read by the tests
  E2E_EXTRA_CIDR_A=$cidr_a E2E_EXTRA_CIDR_B=$cidr_b
}

# e2e_stream_start NAME FROM TO DEST_ADDR PORT [RATE_PPS]: a counted UDP stream
# (udp_stream.py) from Interface FROM to DEST_ADDR:PORT, received in TO's
# namespace; runs until e2e_stream_stop NAME.
declare -A E2E_STREAM_PIDS=()
e2e_stream_start() {
  local name=$1 from=$2 to=$3 dest=$4 port=$5 rate=${6:-1000} bind=0.0.0.0
  [[ $dest == *:* ]] && bind=::
  rm -f "$E2E_TMP/stop.$name" "$E2E_TMP/send.$name.json" "$E2E_TMP/recv.$name.json"
  e2e_bg "$to" "$E2E_PY" "$E2E_DIR/udp_stream.py" recv "$bind" "$port" "$E2E_TMP/recv.$name.json"
  local recv_pid=$E2E_LAST_PID
  e2e_wait_for 15 "UDP receiver $name on port $port" bash -c \
    "ip netns exec '$(e2e_ns "$to")' ss -Hlun | grep -q ':$port '" || e2e_fail "UDP receiver $name did not start"
  e2e_bg "$from" "$E2E_PY" "$E2E_DIR/udp_stream.py" send "$dest" "$port" "$rate" "$E2E_TMP/stop.$name" \
    "$E2E_TMP/send.$name.json"
  E2E_STREAM_PIDS[$name]="$E2E_LAST_PID $recv_pid"
  e2e_log "stream $name: $from -> $to $dest:$port at $rate datagrams/s"
}

# e2e_stream_stop NAME...: stops the senders, waits for both ends to write
# their results.
e2e_stream_stop() {
  local name pid t
  for name in "$@"; do touch "$E2E_TMP/stop.$name"; done
  for name in "$@"; do
    for pid in ${E2E_STREAM_PIDS[$name]}; do
      for ((t = 0; t < 300; t++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      wait "$pid" || e2e_fail "stream $name: process $pid failed (see $E2E_TMP/bg.*.log)"
    done
  done
}

# e2e_stream_assert_zero_loss NAME WHAT: every datagram the sender sent arrived.
# Sets E2E_STREAM_SENT and E2E_STREAM_SECONDS.
e2e_stream_assert_zero_loss() {
  local name=$1 what=$2 sent secs recvd ended
  [[ -s $E2E_TMP/send.$name.json && -s $E2E_TMP/recv.$name.json ]] || e2e_fail "stream $name: no results"
  sent=$(e2e_json "$E2E_TMP/send.$name.json" "d['sent']")
  secs=$(e2e_json "$E2E_TMP/send.$name.json" "d['seconds']")
  recvd=$(e2e_json "$E2E_TMP/recv.$name.json" "d['received']")
  ended=$(e2e_json "$E2E_TMP/recv.$name.json" "d['sent']")
  ((sent > 0)) || e2e_fail "stream $name: nothing sent"
  [[ $ended == "$sent" ]] || e2e_fail "stream $name: receiver saw end marker $ended, sender sent $sent"
  ((recvd == sent)) || e2e_fail "stream $name: $recvd of $sent datagrams arrived, $((sent - recvd)) lost $what (first missing: $(e2e_json "$E2E_TMP/recv.$name.json" "d['missing_first']"))"
  e2e_pass "stream $name: $recvd of $sent datagrams arrived in ${secs}s, zero loss $what"
  # shellcheck disable=SC2034 # read by the tests
  E2E_STREAM_SENT=$sent E2E_STREAM_SECONDS=$secs
}

# e2e_generations: prints "DATAPLANE CONTROLD CONNECTED" from `vpcctl stats`
# (-1 for the data plane's when it does not answer; CONNECTED is 1 or 0).
e2e_generations() {
  e2e_ctl stats -o json 2>/dev/null >"$E2E_TMP/gens.json" || { echo "-1 -1 0"; return 0; }
  e2e_json "$E2E_TMP/gens.json" \
    "f\"{d.get('generation', -1)} {d['controld']['generation']} {int(bool(d['controld']['dataplane_connected']))}\""
}
