#!/usr/bin/env bash
# Two vpcnet hosts, each a vpc-dataplane with its own vpc-controld, joined by
# a Linux bridge on their underlay TAP ports (jumbo MTU, as an underlay
# network has). web1 lives on host a, db1 on host b, in two subnets of one
# VPC. Each controld creates its host key; the policy names both hosts with
# the keys `vpcctl host key` printed:
#   - ping and a 1 MiB HTTP transfer from web1 to db1 work, through ESP;
#   - a capture on the bridge holds only ARP and ESP: no packet of the
#     workloads' in clear, and none of the transferred bytes;
#   - tshark, given the SAs (`vpcctl debug sa --reveal`), decrypts the
#     captured ESP into the pings, requests and replies;
#   - with tcpMssClamp, web1's SYN crosses announcing an MSS that fits the
#     tunnel (the data plane's underlay port has the default 1500 MTU).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init two_hosts_esp
command -v tshark >/dev/null || e2e_fail "tshark not installed (run tools/install-deps.sh)"
BR=vb$E2E_ID
E2E_TAPS+=("$BR")
declare -A DP CD
for h in a b; do
  DP[$h]=$E2E_TMP/dp-$h.sock
  CD[$h]=$E2E_TMP/cd-$h.sock
done
ctl() { local h=$1; shift; "$VPCCTL" --socket "${CD[$h]}" "$@"; }

e2e_section "two hosts"
# host: name, workload Interface, underlay address
start_host() {
  local h=$1 iface=$2 tap=vt$E2E_ID$1w up=vt$E2E_ID$1u
  E2E_TAPS+=("$tap" "$up")
  "$VPC_DATAPLANE" --no-huge -m 512 --no-shconf --no-pci -l 0,1 --file-prefix "vpc$E2E_ID$h" -- \
    --port "$iface=net_tap0,iface=$tap" --port "underlay:up=net_tap1,iface=$up" --socket "${DP[$h]}" \
    >"$E2E_TMP/dp-$h.log" 2>&1 &
  E2E_PIDS+=($!)
  e2e_wait_for 60 "data plane of host $h" bash -c "[[ -S '${DP[$h]}' ]] && ip link show '$up' >/dev/null 2>&1" ||
    e2e_fail "host $h: no data plane"
  mkdir -p "$E2E_TMP/state-$h"
  "$VPC_CONTROLD" --state-dir "$E2E_TMP/state-$h" --socket "${CD[$h]}" --dataplane-socket "${DP[$h]}" \
    >"$E2E_TMP/cd-$h.log" 2>&1 &
  E2E_PIDS+=($!)
  e2e_wait_for 30 "controld of host $h" e2e_socket_up "${CD[$h]}" || e2e_fail "host $h: no controld"
}
start_host a web1
start_host b db1
KEY_A=$(ctl a host key) KEY_B=$(ctl b host key)
[[ ${#KEY_A} == 44 && ${#KEY_B} == 44 && $KEY_A != "$KEY_B" ]] || e2e_fail "host keys: '$KEY_A' '$KEY_B'"
[[ $(stat -c %a "$E2E_TMP/state-a/host.key") == 600 ]] || e2e_fail "host.key is not mode 0600"

# The underlay: a bridge with jumbo frames. The kernel sides of the TAPs get
# MACs of their own (net_tap gives the kernel side the port's MAC, and a
# bridge keeps frames for its ports' own MACs for itself).
ip link add "$BR" type bridge && ip link set "$BR" mtu 9000 up || e2e_fail "cannot make bridge $BR"
n=1
for h in a b; do
  up=vt$E2E_ID${h}u
  ip link set "$up" address "02:ee:00:00:00:0$n" mtu 9000 master "$BR" up
  n=$((n + 1))
done

cat >"$E2E_TMP/policy.yaml" <<YAML
kind: Host
name: a
spec: {underlay: 192.168.77.1, publicKey: "$KEY_A"}
---
kind: Host
name: b
spec: {underlay: 192.168.77.2, publicKey: "$KEY_B"}
---
kind: Vpc
name: prod
spec:
  cidrs: [10.0.0.0/16]
  encryption: {rekeyInterval: 10s, tcpMssClamp: true}
---
kind: Subnet
name: web
spec: {vpc: prod, cidrs: [10.0.1.0/24]}
---
kind: Subnet
name: db
spec: {vpc: prod, cidrs: [10.0.2.0/24]}
---
kind: SecurityGroup
name: open
spec:
  vpc: prod
  ingress: [{protocol: all, cidr: 0.0.0.0/0}]
  egress: [{protocol: all, cidr: 0.0.0.0/0}]
---
kind: Interface
name: web1
spec: {port: web1, subnet: web, mac: "02:00:00:00:01:0a", ips: [10.0.1.10], host: a, securityGroups: [open]}
---
kind: Interface
name: db1
spec: {port: db1, subnet: db, mac: "02:00:00:00:02:0a", ips: [10.0.2.10], host: b, securityGroups: [open]}
YAML
for h in a b; do ctl $h apply -f "$E2E_TMP/policy.yaml" >/dev/null || e2e_fail "host $h: apply refused"; done

# host, Interface, address, gateway, MAC
attach() {
  local h=$1 n=$2 tap=vt$E2E_ID$1w ns=vpc$E2E_ID-$2
  ip netns add "$ns" && E2E_NAMESPACES+=("$ns")
  ip link set "$tap" netns "$ns"
  ip -n "$ns" link set "$tap" address "$5"
  ip -n "$ns" addr add "$3/24" dev "$tap"
  ip -n "$ns" link set "$tap" up
  ip -n "$ns" link set lo up
  ip -n "$ns" route add default via "$4"
}
attach a web1 10.0.1.10 10.0.1.1 02:00:00:00:01:0a
attach b db1 10.0.2.10 10.0.2.1 02:00:00:00:02:0a
NS_A=vpc$E2E_ID-web1 NS_B=vpc$E2E_ID-db1

# A data plane uses an epoch's outbound key only if it ran before the epoch
# began (docs/encryption.md): the first SAs are usable at the next epoch.
has_outbound() {
  echo '{"jsonrpc":"2.0","id":1,"method":"encryption.sa.list"}' | socat - "UNIX-CONNECT:${DP[$1]}" |
    grep -q '"direction":"outbound"'
}
for h in a b; do e2e_wait_for 30 "an outbound SA on host $h" has_outbound $h || e2e_fail "host $h has no outbound SA"; done

# The SAs both hosts hold now, in tshark's UAT format (their inbound SAs
# cover the previous, current and next epoch), added to one file.
export WIRESHARK_CONFIG_DIR=$E2E_TMP/wireshark
mkdir -p "$WIRESHARK_CONFIG_DIR"
save_sas() {
  for h in a b; do ctl $h debug sa --reveal -o json; done | "$E2E_PY" -c '
import json, sys
lines = set()
text, pos, dec = sys.stdin.read(), 0, json.JSONDecoder()
while pos < len(text):
    if text[pos].isspace():
        pos += 1
        continue
    obj, pos = dec.raw_decode(text, pos)
    lines.update(s["tshark_uat"] for s in obj["sas"] if s.get("tshark_uat"))
print("\n".join(sorted(lines)))' >>"$WIRESHARK_CONFIG_DIR/esp_sa.all"
}

e2e_section "ping and HTTP between hosts, captured on the underlay"
save_sas
tshark -q -i "$BR" -w "$E2E_TMP/underlay.pcap" >/dev/null 2>&1 &
CAPTURE=$!
E2E_PIDS+=($CAPTURE)
sleep 1
ip netns exec "$NS_A" ping -c 3 -i 0.3 -W 2 10.0.2.10 >/dev/null || true  # ARP both ways for the underlay MACs
ip netns exec "$NS_A" ping -c 5 -i 0.2 -W 2 10.0.2.10 >"$E2E_TMP/ping.txt" || e2e_fail "ping web1 -> db1: $(tail -2 "$E2E_TMP/ping.txt")"
# Once both sides know the MACs, nothing is lost.
grep -q ' 5 received' "$E2E_TMP/ping.txt" || e2e_fail "ping web1 -> db1 lost replies: $(tail -2 "$E2E_TMP/ping.txt")"
e2e_pass "ping web1 (host a) -> db1 (host b): $(grep -o '[0-9]* received' "$E2E_TMP/ping.txt")"
mkdir -p "$E2E_TMP/www"
head -c 1048576 /dev/urandom >"$E2E_TMP/www/blob"
want=$(sha256sum <"$E2E_TMP/www/blob" | cut -d' ' -f1)
ip netns exec "$NS_B" "$E2E_PY" -m http.server 8080 --bind 10.0.2.10 --directory "$E2E_TMP/www" >/dev/null 2>&1 &
E2E_PIDS+=($!)
e2e_wait_for 15 "http.server on db1" bash -c "ip netns exec '$NS_B' ss -Hltn 'sport = :8080' | grep -q LISTEN" ||
  e2e_fail "http.server did not start"
got=$(ip netns exec "$NS_A" curl -sS --max-time 30 http://10.0.2.10:8080/blob | sha256sum | cut -d' ' -f1)
[[ $got == "$want" ]] || e2e_fail "HTTP transfer db1 -> web1: content differs"
e2e_pass "1 MiB over HTTP from db1 (host b) to web1 (host a), identical"
sleep 1
e2e_stop_pid "$CAPTURE"
save_sas  # with the one before: every epoch the capture spans, however long it took

e2e_section "the underlay carries only ESP"
clear=$(tshark -r "$E2E_TMP/underlay.pcap" -Y 'ip && !esp' 2>/dev/null | wc -l)
esp=$(tshark -r "$E2E_TMP/underlay.pcap" -Y esp 2>/dev/null | wc -l)
((clear == 0)) || e2e_fail "$clear IPv4 packets on the underlay are not ESP"
((esp > 700)) || e2e_fail "only $esp ESP packets on the underlay"
"$E2E_PY" - "$E2E_TMP/underlay.pcap" "$E2E_TMP/www/blob" <<'PY' || e2e_fail "the transferred bytes are on the underlay in clear"
import sys
wire, blob = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
hits = [off for off in range(0, len(blob) - 32, 4096) if blob[off:off + 32] in wire]
sys.exit(1 if hits else 0)
PY
e2e_pass "$esp ESP packets, no other IP packet, none of the 1 MiB in clear"

e2e_section "tshark decrypts it with the SAs"
# Both saves in one UAT file (repeated -o uat: options keep only the last).
sort -u "$WIRESHARK_CONFIG_DIR/esp_sa.all" | grep . >"$WIRESHARK_CONFIG_DIR/esp_sa"
(($(wc -l <"$WIRESHARK_CONFIG_DIR/esp_sa") >= 2)) || e2e_fail "vpcctl debug sa --reveal gave no tshark SA lines"
dec=(tshark -r "$E2E_TMP/underlay.pcap" -o esp.enable_encryption_decode:TRUE)
requests=$("${dec[@]}" -Y 'icmp.type == 8 && ip.src == 10.0.1.10' 2>/dev/null | wc -l)
http=$("${dec[@]}" -Y 'tcp.port == 8080 && ip.src == 10.0.1.10' 2>/dev/null | wc -l)
((requests >= 5)) || e2e_fail "tshark decrypted $requests echo requests of web1, not 5"
((http > 10)) || e2e_fail "tshark decrypted $http TCP segments of web1's HTTP request, not more than 10"
e2e_pass "tshark decrypted $requests echo requests and $http TCP segments of web1"
# tcpMssClamp: web1's kernel announced 1460 (a 1500-byte TAP); what crossed
# the underlay announced what fits a 1500-byte underlay in ESP in UDP (1438 - 40).
mss=$("${dec[@]}" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == 10.0.1.10' -T fields -e tcp.options.mss_val 2>/dev/null | head -1)
[[ $mss == 1398 ]] || e2e_fail "web1's SYN crossed the underlay with MSS '$mss', not 1398"
e2e_pass "web1's SYN crossed with MSS 1398 (clamped from 1460)"
