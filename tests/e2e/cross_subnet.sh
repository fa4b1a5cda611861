#!/usr/bin/env bash
# Two workloads in two subnets of one VPC (policies/examples/two-subnets.yaml),
# each a network namespace with a real kernel stack on a TAP port of
# vpc-dataplane, configured through vpc-controld and vpcctl:
#   - the gateways answer ping (v4, v6) from both sides
#   - ping across subnets, v4 and v6, both directions, every reply
#   - a 1 MiB HTTP transfer across subnets, v4 and v6, identical content
#   - the ports' rx/tx counters grew
#   - a spoofed source address gets no reply and counts a "spoofed" drop
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init cross_subnet
POLICY=$E2E_REPO/policies/examples/two-subnets.yaml
e2e_load_topology "$POLICY"
A=web1 B=db1
for n in $A $B; do [[ -n ${T_PORT[$n]:-} ]] || e2e_fail "no Interface $n in $POLICY"; done

e2e_bring_up "$POLICY"
e2e_stats "$E2E_TMP/stats0.json"

e2e_section "gateways"
for n in $A $B; do
  e2e_ping_all "$n" "${T_GW4[$n]}"
  e2e_ping_all "$n" "${T_GW6[$n]}"
done

e2e_section "ping across subnets"
e2e_ping_all $A "${T_IP4[$B]}"
e2e_ping_all $A "${T_IP6[$B]}"
e2e_ping_all $B "${T_IP4[$A]}"
e2e_ping_all $B "${T_IP6[$A]}"

e2e_section "TCP transfer across subnets"
mkdir -p "$E2E_TMP/www"
head -c 1048576 /dev/urandom >"$E2E_TMP/www/blob"
want=$(sha256sum <"$E2E_TMP/www/blob" | cut -d' ' -f1)
# `python3 -m http.server --bind ::` listens dual-stack (v4-mapped too).
e2e_bg $B "$E2E_PY" -m http.server 8080 --bind :: --directory "$E2E_TMP/www"
e2e_wait_for 15 "http.server in $(e2e_ns $B)" \
  bash -c "ip netns exec '$(e2e_ns $B)' ss -Hltn 'sport = :8080' | grep -q LISTEN" ||
  e2e_fail "http.server did not start"
for url in "http://${T_IP4[$B]}:8080/blob" "http://[${T_IP6[$B]}]:8080/blob"; do
  rm -f "$E2E_TMP/got"
  e2e_in $A curl -gsS --fail --max-time 60 -o "$E2E_TMP/got" "$url" || e2e_fail "curl $url"
  got=$(sha256sum <"$E2E_TMP/got" | cut -d' ' -f1)
  [[ $got == "$want" ]] || e2e_fail "curl $url: content differs (sha256 $got, want $want, $(stat -c %s "$E2E_TMP/got") bytes)"
  e2e_pass "1 MiB over $url, sha256 identical"
done

e2e_section "port counters"
e2e_stats "$E2E_TMP/stats1.json"
for n in $A $B; do
  p=${T_PORT[$n]}
  for f in rx_packets tx_packets; do
    before=$(e2e_json "$E2E_TMP/stats0.json" "port(d, '$p')['$f']")
    after=$(e2e_json "$E2E_TMP/stats1.json" "port(d, '$p')['$f']")
    # Pings and two TCP transfers: >= 50 frames each way even with ACKs coalesced.
    ((after >= before + 50)) || e2e_fail "port $p $f: $before -> $after, expected growth of >= 50"
  done
  # Every port carried the 2 x 1 MiB one way or the other.
  bytes=$(e2e_json "$E2E_TMP/stats1.json" "port(d, '$p')['rx_bytes'] + port(d, '$p')['tx_bytes']")
  bytes0=$(e2e_json "$E2E_TMP/stats0.json" "port(d, '$p')['rx_bytes'] + port(d, '$p')['tx_bytes']")
  ((bytes - bytes0 >= 2 * 1048576)) || e2e_fail "port $p: rx_bytes + tx_bytes grew by $((bytes - bytes0)), expected >= 2 MiB"
  e2e_pass "port $p: rx $(e2e_json "$E2E_TMP/stats1.json" "port(d, '$p')['rx_packets']") tx $(e2e_json "$E2E_TMP/stats1.json" "port(d, '$p')['tx_packets']") packets, +$((bytes - bytes0)) bytes"
done

e2e_section "spoofed source"
SPOOF=10.0.1.99
[[ ${T_IP4[$A]} == 10.0.1.* ]] || SPOOF=$("$E2E_PY" -c "import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]) + 89)" "${T_IP4[$A]}")
ip -n "$(e2e_ns $A)" addr add "$SPOOF/32" dev "$(e2e_tap $A)"
spoofed0=$(e2e_json "$E2E_TMP/stats1.json" "drops(d, 'spoofed')")
e2e_ping_none $A "${T_IP4[$B]}" -I "$SPOOF"
e2e_stats "$E2E_TMP/stats2.json"
spoofed1=$(e2e_json "$E2E_TMP/stats2.json" "drops(d, 'spoofed')")
((spoofed1 >= spoofed0 + 3)) ||
  e2e_fail "drop counters containing \"spoofed\": $spoofed0 -> $spoofed1, expected +3 (counters: $(e2e_json "$E2E_TMP/stats2.json" "[e for e in d.get('drops', []) if 'spoof' in str(e)]"))"
e2e_pass "spoofed drops $spoofed0 -> $spoofed1"
# The genuine address still works after the spoof attempt.
e2e_ping_all $A "${T_IP4[$B]}"
