#!/usr/bin/env bash
# "A policy update never drops a packet": two counted UDP streams (IPv4 and
# IPv6, web1 -> db1 across subnets) run through the data plane while 100
# policy updates are applied with `vpcctl apply`. Each update changes the
# desired state (an extra Subnet, unrelated to the stream, alternates between
# two CIDRs), so each one compiles and swaps in a new generation. Asserts:
# all 100 applies succeed, the generation advanced by exactly 100, and every
# datagram sent arrived (received == sent, per stream).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

UPDATES=${E2E_UPDATES:-100}
RATE_PPS=${E2E_RATE_PPS:-1000}   # per stream

e2e_init zero_loss_update
POLICY=$E2E_REPO/policies/examples/two-subnets.yaml
e2e_load_topology "$POLICY"
A=web1 B=db1

e2e_bring_up "$POLICY"

# The toggled object: a Subnet of the same VPC with no Interface in it, whose
# CIDR alternates between two free /24s of the VPC's IPv4 range.
read -r VPC CIDR_A CIDR_B < <("$E2E_PY" - "$POLICY" <<'EOF'
import ipaddress, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if isinstance(d, dict)]
vpc = next(d for d in docs if d["kind"] == "Vpc")
v4 = next(ipaddress.ip_network(c) for c in vpc["spec"]["cidrs"] if ":" not in c)
used = [ipaddress.ip_network(c) for d in docs if d["kind"] == "Subnet" for c in d["spec"]["cidrs"]]
free = [n for n in v4.subnets(new_prefix=24) if not any(n.overlaps(u) for u in used)]
print(vpc["name"], free[-1], free[-2])
EOF
)
[[ -n ${CIDR_B:-} ]] || e2e_fail "could not pick CIDRs for the extra subnet"
for v in A B; do
  cidr_var=CIDR_$v
  cat >"$E2E_TMP/extra-$v.yaml" <<EOF
kind: Subnet
name: e2e-extra
spec:
  vpc: $VPC
  cidrs:
    - ${!cidr_var}
EOF
done
e2e_log "updates alternate Subnet/e2e-extra between $CIDR_A and $CIDR_B"

# Resolve neighbours first so the stream starts on a warm path.
e2e_ping_all $A "${T_IP4[$B]}"
e2e_ping_all $A "${T_IP6[$B]}"

e2e_stats "$E2E_TMP/stats0.json"
gen0=$(e2e_json "$E2E_TMP/stats0.json" "generation(d)")

STREAM="$E2E_PY $E2E_DIR/udp_stream.py"
e2e_bg $B $STREAM recv 0.0.0.0 9000 "$E2E_TMP/recv4.json"
RECV4=$E2E_LAST_PID
e2e_bg $B $STREAM recv :: 9001 "$E2E_TMP/recv6.json"
RECV6=$E2E_LAST_PID
e2e_wait_for 15 "UDP receivers" bash -c \
  "ip netns exec '$(e2e_ns $B)' ss -Hlun | grep -q ':9000 ' && ip netns exec '$(e2e_ns $B)' ss -Hlun | grep -q ':9001 '" ||
  e2e_fail "UDP receivers did not start"
e2e_bg $A $STREAM send "${T_IP4[$B]}" 9000 "$RATE_PPS" "$E2E_TMP/stop" "$E2E_TMP/send4.json"
SEND4=$E2E_LAST_PID
e2e_bg $A $STREAM send "${T_IP6[$B]}" 9001 "$RATE_PPS" "$E2E_TMP/stop" "$E2E_TMP/send6.json"
SEND6=$E2E_LAST_PID
sleep 1

e2e_section "$UPDATES policy updates during the stream"
ok=0 failed=0
t0=$SECONDS
for ((i = 0; i < UPDATES; i++)); do
  f=$E2E_TMP/extra-A.yaml
  ((i % 2)) && f=$E2E_TMP/extra-B.yaml
  if e2e_ctl apply -f "$f" >>"$E2E_TMP/apply.log" 2>&1; then
    ok=$((ok + 1))
  else
    failed=$((failed + 1))
    e2e_log "apply $((i + 1)) failed: $(tail -n 3 "$E2E_TMP/apply.log")"
  fi
done
e2e_log "$ok applies succeeded, $failed failed, in $((SECONDS - t0)) s"
sleep 1
touch "$E2E_TMP/stop"
for pid in $SEND4 $SEND6 $RECV4 $RECV6; do
  timeout_s=30
  while kill -0 "$pid" 2>/dev/null && ((timeout_s-- > 0)); do sleep 1; done
  wait "$pid" || e2e_fail "stream process $pid failed (see $E2E_TMP/bg.*.log)"
done

e2e_stats "$E2E_TMP/stats1.json"
gen1=$(e2e_json "$E2E_TMP/stats1.json" "generation(d)")

e2e_section "results"
((failed == 0 && ok == UPDATES)) || e2e_fail "$failed of $UPDATES applies failed"
e2e_pass "all $UPDATES applies succeeded"
((gen1 - gen0 == UPDATES)) || e2e_fail "generation $gen0 -> $gen1: advanced by $((gen1 - gen0)), expected $UPDATES"
e2e_pass "generation $gen0 -> $gen1"
for fam in 4 6; do
  sent=$(e2e_json "$E2E_TMP/send$fam.json" "d['sent']")
  secs=$(e2e_json "$E2E_TMP/send$fam.json" "d['seconds']")
  recvd=$(e2e_json "$E2E_TMP/recv$fam.json" "d['received']")
  ended=$(e2e_json "$E2E_TMP/recv$fam.json" "d['sent']")
  ((sent > 0)) || e2e_fail "IPv$fam stream: nothing sent"
  [[ $ended == "$sent" ]] || e2e_fail "IPv$fam stream: receiver saw end marker $ended, sender sent $sent"
  ((recvd == sent)) || e2e_fail "IPv$fam stream: $recvd of $sent datagrams arrived, $((sent - recvd)) lost (first missing: $(e2e_json "$E2E_TMP/recv$fam.json" "d['missing_first']"))"
  e2e_pass "IPv$fam stream: $recvd of $sent datagrams arrived in ${secs}s, zero loss across $UPDATES generation swaps"
done
