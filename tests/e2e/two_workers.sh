#!/usr/bin/env bash
# Two workers on one port pair: web1's port is polled by one worker and db1's
# by the other (both lcores on CPU 1, mapped with --lcores), so the two
# directions of one connection are stamped by different workers. db1's
# security group has `egress: []`: its replies pass only as part of a
# tracked flow. A flow that looked idle to one worker because the other had
# stamped a later time (the unsigned wrap issue 9 item 5 fixed) would be
# decided again as a new flow from db1 and cut. Asserts, for one IPv4 and
# one IPv6 connection running at once: every message is echoed, no security
# group or conntrack drop, and each stays one established flow.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MESSAGES=${E2E_MESSAGES:-3000}
GAP_MS=${E2E_GAP_MS:-2}

E2E_LCORES="--lcores 0@0,1@1,2@1"
e2e_init two_workers
POLICY=$E2E_REPO/policies/examples/security-groups.yaml
e2e_load_topology "$POLICY"
A=web1 B=db1
e2e_bring_up "$POLICY"

e2e_stats "$E2E_TMP/stats0.json"
workers=$(e2e_json "$E2E_TMP/stats0.json" 'd["workers"]')
[[ $workers == 2 ]] || e2e_fail "the data plane runs $workers workers, not 2"
e2e_pass "two workers on one CPU"

ECHO="$E2E_PY $E2E_DIR/tcp_echo.py"
e2e_bg $B $ECHO serve :: 5432
e2e_wait_for 15 "echo server in $(e2e_ns $B)" \
  bash -c "ip netns exec '$(e2e_ns $B)' ss -Hltn 'sport = :5432' | grep -q LISTEN" || e2e_fail "no echo server"

e2e_section "one IPv4 and one IPv6 connection, both directions on different workers"
e2e_bg $A $ECHO talk "${T_IP4[$B]}" 5432 "$MESSAGES" "$GAP_MS" "$E2E_TMP/talk4.json"
TALK4=$E2E_LAST_PID
e2e_bg $A $ECHO talk "${T_IP6[$B]}" 5432 "$MESSAGES" "$GAP_MS" "$E2E_TMP/talk6.json"
TALK6=$E2E_LAST_PID
# While they run, both directions of each flow are seen by both workers.
sleep 2
e2e_ctl flows --interface $B -o json >"$E2E_TMP/flows.json" || e2e_fail "vpcctl flows"
wait "$TALK4" "$TALK6" || true
for v in 4 6; do
  f=$E2E_TMP/talk$v.json
  [[ -f $f ]] || e2e_fail "IPv$v talk wrote no result"
  read -r sent echoed error < <(e2e_json "$f" '"%s %s %s" % (d["sent"], d["echoed"], d["error"])')
  [[ $error == None ]] || e2e_fail "IPv$v connection: $error after $echoed of $((MESSAGES * 512)) bytes"
  ((sent == MESSAGES * 512 && echoed == sent)) || e2e_fail "IPv$v: sent $sent, echoed $echoed"
  e2e_pass "IPv$v: all $MESSAGES messages echoed ($echoed bytes)"
done

e2e_stats "$E2E_TMP/stats1.json"
for what in security_group conntrack flow_install; do
  before=$(e2e_json "$E2E_TMP/stats0.json" "sum(int(e['packets']) for e in d['drops'] if e['stage'] == '$what')")
  after=$(e2e_json "$E2E_TMP/stats1.json" "sum(int(e['packets']) for e in d['drops'] if e['stage'] == '$what')")
  ((after == before)) || e2e_fail "$what dropped $((after - before)) packets during the connections"
done
e2e_pass "no security group, conntrack or flow install drop"

# Each connection was one flow, established, while it ran.
n=$(e2e_json "$E2E_TMP/flows.json" "len([f for f in d['flows'] if f.get('protocol_name') == 'tcp' and f['responder']['port'] == 5432 and f['state'] == 'established'])")
((n == 2)) || { cat "$E2E_TMP/flows.json" >&2; e2e_fail "$n established flows to port 5432 while they ran, not 2"; }
e2e_pass "each connection is one established flow"
