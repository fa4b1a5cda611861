#!/usr/bin/env bash
# Crash recovery, both daemons:
#   1. kill -9 vpc-dataplane and start it again: vpc-controld notices and
#      pushes the current generation again by itself (no vpcctl apply), so
#      ping across subnets works again once the new TAP devices are back in
#      the workloads' namespaces.
#   2. kill -9 vpc-controld and start it again from its state directory:
#      `vpcctl get` still shows every object, and traffic never needed it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init restart
POLICY=$E2E_REPO/policies/examples/two-subnets.yaml
e2e_load_topology "$POLICY"
A=web1 B=db1

e2e_bring_up "$POLICY"
e2e_ping_all $A "${T_IP4[$B]}"
e2e_ping_all $A "${T_IP6[$B]}"
e2e_ctl get interface -o json >"$E2E_TMP/get0.json" || e2e_fail "vpcctl get interface -o json"

# Every object of the example, as "Kind/name", to compare `vpcctl get` against.
EXPECTED=$("$E2E_PY" - "$POLICY" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if isinstance(d, dict)]
print(" ".join(sorted(d["kind"] + "/" + d["name"] for d in docs)))
EOF
)

# check_get: `vpcctl get KIND -o json` for each kind of the example lists
# every object of the example.
check_get() {
  local kind have
  have=""
  for kind in $(tr ' ' '\n' <<<"$EXPECTED" | cut -d/ -f1 | sort -u); do
    e2e_ctl get "$kind" -o json >"$E2E_TMP/get-$kind.json" || e2e_fail "vpcctl get $kind -o json failed"
    have+=" $(e2e_json "$E2E_TMP/get-$kind.json" \
      "' '.join(f\"{x['kind']}/{x['name']}\" for x in (d['documents'] if isinstance(d, dict) else d))")"
  done
  have=$(tr ' ' '\n' <<<"$have" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
  [[ $have == "$EXPECTED" ]] || e2e_fail "vpcctl get shows [$have], expected [$EXPECTED]"
  e2e_pass "vpcctl get shows all of: $EXPECTED"
}
check_get

e2e_section "kill -9 vpc-dataplane, start it again"
e2e_stats "$E2E_TMP/stats0.json"
gen0=$(e2e_json "$E2E_TMP/stats0.json" "generation(d)")
e2e_kill9_dataplane
e2e_start_dataplane
e2e_attach_all
# No apply: controld must reconnect and push generation $gen0 by itself.
dataplane_has_config() {
  e2e_ctl stats -o json >"$E2E_TMP/stats-poll.json" 2>/dev/null &&
    (( $(e2e_json "$E2E_TMP/stats-poll.json" "d.get('generation', -1)") >= gen0 ))
}
e2e_wait_for 60 "controld to push generation $gen0 to the new data plane" dataplane_has_config ||
  e2e_fail "the restarted data plane did not get generation $gen0 back (last stats: $(head -c 300 "$E2E_TMP/stats-poll.json" 2>/dev/null))"
e2e_pass "controld pushed generation $gen0 to the restarted data plane"
e2e_ping_all $A "${T_IP4[$B]}"
e2e_ping_all $A "${T_IP6[$B]}"
e2e_ping_all $B "${T_IP4[$A]}"

e2e_section "kill -9 vpc-controld, start it again from its state directory"
e2e_kill9_controld
# The data plane keeps forwarding with the config it has.
e2e_ping_all $A "${T_IP4[$B]}"
e2e_start_controld
check_get
e2e_stats "$E2E_TMP/stats1.json"
gen1=$(e2e_json "$E2E_TMP/stats1.json" "generation(d)")
((gen1 >= gen0)) || e2e_fail "controld generation went back: $gen0 -> $gen1"
e2e_wait_for 30 "controld to reconnect to the data plane" bash -c \
  "'$VPCCTL' --socket '$CD_SOCK' stats -o json | '$E2E_PY' -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get(\"controld\", {}).get(\"dataplane_connected\") else 1)'" ||
  e2e_fail "restarted controld does not report dataplane_connected"
e2e_pass "restarted controld is connected to the data plane, generation $gen1"
e2e_ping_all $A "${T_IP4[$B]}"
e2e_ping_all $A "${T_IP6[$B]}"
# And it still accepts updates.
e2e_ctl apply -f "$POLICY" || e2e_fail "vpcctl apply after controld restart"
e2e_ping_all $B "${T_IP6[$A]}"
