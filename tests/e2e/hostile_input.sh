#!/usr/bin/env bash
# Hostile input and faults against the real daemons (docs/reliability.md):
#   1. 100,000 nested '[' on both daemons' sockets: a JSON-RPC error, both
#      stay up, forwarding goes on.
#   2. The data plane stopped (SIGSTOP): policy.get still answers at once,
#      stats says the data plane is not answering, an apply is accepted as
#      pending; after SIGCONT the data plane runs the newest generation.
#   3. A second controld on the same socket or state directory is refused,
#      and the first keeps serving.
#   4. state.yaml emptied: controld refuses to start and names --recover; the
#      data plane keeps its generation meanwhile; --recover brings it back.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init hostile_input
POLICY=$E2E_REPO/policies/examples/two-subnets.yaml
e2e_load_topology "$POLICY"
A=web1 B=db1
e2e_bring_up "$POLICY"
e2e_ping_all $A "${T_IP4[$B]}"

now_ms() { date +%s%3N; }
dp_generation() { e2e_ctl stats -o json >"$E2E_TMP/g.json" 2>/dev/null && e2e_json "$E2E_TMP/g.json" "d.get('generation', -1)"; }
cd_generation() { e2e_ctl stats -o json >"$E2E_TMP/g.json" 2>/dev/null && e2e_json "$E2E_TMP/g.json" "d['controld']['generation']"; }

e2e_section "100,000 nested arrays on both sockets"
nested_request() {  # SOCKET METHOD -> the error message of the answer
  "$E2E_PY" - "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
depth = 100000
s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"' + sys.argv[2].encode() + b'","params":' +
          b"[" * depth + b"]" * depth + b"}\n")
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
print(json.loads(buf)["error"]["message"])
PY
}
msg=$(nested_request "$CD_SOCK" policy.get) || e2e_fail "controld did not answer the nested request"
[[ $msg == *"nested deeper than"* ]] || e2e_fail "controld answered: $msg"
msg=$(nested_request "$DP_SOCK" config.apply) || e2e_fail "the data plane did not answer the nested request"
[[ $msg == *"nested deeper than"* ]] || e2e_fail "the data plane answered: $msg"
kill -0 "$CD_PID" && kill -0 "$DP_PID" || e2e_fail "a daemon died of the nested request"
e2e_ping_all $A "${T_IP4[$B]}"
e2e_pass "both daemons refused 100,000 nested arrays and kept running"

e2e_section "the data plane stops answering (SIGSTOP)"
kill -STOP "$DP_PID"
t0=$(now_ms)
e2e_ctl get vpc -o json >/dev/null || e2e_fail "vpcctl get failed while the data plane is stopped"
t_get=$(($(now_ms) - t0))
((t_get < 1500)) || e2e_fail "vpcctl get took $t_get ms with the data plane stopped (it needs no data plane)"
e2e_ctl stats -o json >"$E2E_TMP/stats-stopped.json" || e2e_fail "vpcctl stats failed"
grep -q "not answering" "$E2E_TMP/stats-stopped.json" ||
  e2e_fail "stats with the data plane stopped: $(head -c 300 "$E2E_TMP/stats-stopped.json")"
e2e_ctl apply -f "$POLICY" >"$E2E_TMP/apply-stopped.out" 2>&1 || e2e_fail "apply while stopped: $(cat "$E2E_TMP/apply-stopped.out")"
grep -q "accepted and will be pushed when it answers" "$E2E_TMP/apply-stopped.out" ||
  e2e_fail "apply while stopped said: $(cat "$E2E_TMP/apply-stopped.out")"
newest=$(cd_generation)
kill -CONT "$DP_PID"
e2e_wait_for 60 "the data plane to run generation $newest" bash -c "[[ \$('$VPCCTL' --socket '$CD_SOCK' stats -o json | '$E2E_PY' -c 'import json,sys; print(json.load(sys.stdin).get(\"generation\"))') == $newest ]]" ||
  e2e_fail "after SIGCONT the data plane runs $(dp_generation), not $newest"
grep -q "older than the running generation" "$DP_LOG" && e2e_log "(a stale push was refused, as it should be)"
e2e_ping_all $A "${T_IP4[$B]}"
e2e_pass "get answered in $t_get ms, stats and apply did not hang, the data plane ended on generation $newest"

e2e_section "a second controld on the same socket and state directory"
second_log=$E2E_TMP/controld-second.log
if "$VPC_CONTROLD" --state-dir "$E2E_TMP/other-state" --socket "$CD_SOCK" --dataplane-socket "$DP_SOCK" >"$second_log" 2>&1; then
  e2e_fail "a second controld started on $CD_SOCK"
fi
grep -q "another process is serving" "$second_log" || e2e_fail "second controld (socket): $(cat "$second_log")"
if "$VPC_CONTROLD" --state-dir "$CD_STATE" --socket "$E2E_TMP/other.sock" --dataplane-socket "$DP_SOCK" >"$second_log" 2>&1; then
  e2e_fail "a second controld started on $CD_STATE"
fi
grep -q "another vpc-controld (pid $CD_PID)" "$second_log" || e2e_fail "second controld (state dir): $(cat "$second_log")"
e2e_ctl get vpc >/dev/null || e2e_fail "the first controld is unreachable after the second one tried"
e2e_pass "a second controld is refused on a live socket and on a locked state directory"

e2e_section "state.yaml emptied"
gen=$(dp_generation)
e2e_stop_pid "$CD_PID"
CD_PID=""
: >"$CD_STATE/state.yaml"
if "$VPC_CONTROLD" --state-dir "$CD_STATE" --socket "$CD_SOCK" --dataplane-socket "$DP_SOCK" >"$second_log" 2>&1; then
  e2e_fail "controld started on an empty state.yaml"
fi
grep -q "is empty" "$second_log" && grep -q -- "--recover" "$second_log" || e2e_fail "controld on an empty state.yaml: $(cat "$second_log")"
e2e_ping_all $A "${T_IP4[$B]}"  # the data plane still runs its generation
E2E_CD_ARGS="--recover" e2e_start_controld
e2e_wait_for 30 "the recovered state to reach the data plane" bash -c "(( \$('$VPCCTL' --socket '$CD_SOCK' stats -o json | '$E2E_PY' -c 'import json,sys; print(json.load(sys.stdin).get(\"generation\", 0))') > $gen ))" ||
  e2e_fail "the recovered state was not pushed as a generation above $gen"
[[ $(e2e_ctl get interface -o json | grep -c '"name"') -ge 2 ]] || e2e_fail "the recovered state has lost its Interfaces"
e2e_ping_all $A "${T_IP4[$B]}"
e2e_ping_all $B "${T_IP6[$A]}"
e2e_pass "an empty state.yaml was refused, the data plane kept forwarding, --recover restored the state"
