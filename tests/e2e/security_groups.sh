#!/usr/bin/env bash
# Security groups, connection tracking, flow logs and packet trace, end to end
# (docs/filtering.md), with real clients (curl, ping) and real servers in
# network namespaces on TAP ports of vpc-dataplane, configured through
# vpc-controld and vpcctl. Policy: tests/e2e/policies/security-groups.yaml
# (web1 in SecurityGroup web: no ingress, default egress; db1 in
# SecurityGroup db: tcp 443 from group web, ICMP/ICMPv6 echo from the VPC).
#   - ping web1 -> db1 works (v4, v6); ping db1 -> web1 gets no reply
#   - HTTP on db1:443 from web1 works (v4, v6, right content); db1:22 (a
#     server listens there too) is silently dropped: curl times out (exit 28,
#     not "connection refused") and security_group/ingress_denied grows
#   - vpcctl trace: tcp 22 -> drop, security_group/ingress_denied, default
#     deny named; tcp 443 -> forward, the SecurityGroup/db rule named
#   - vpcctl get securitygroup db -o wide: the 443 rule has hits
#   - flow logs (vpc-dataplane --flow-log-interval 2): flow-log.txt has the
#     header and 30 fields a line, ACCEPT records for 443 (db1 ingress, web1
#     egress), REJECT records for 22 (db1 ingress) and for db1's ping of web1;
#     flow-log.jsonl has the same as JSON
#   - a slow transfer (1 MiB at 200 KiB/s) lists in `vpcctl flows --port 443`
#     and survives a policy update that keeps it allowed plus a `flows reset`
#   - removing the 443 rule: a running transfer completes (tracked flows
#     survive, as in AWS) but a new connection to 443 times out
#   - `vpcctl flows reset` with the 443 rule removed cuts a running transfer,
#     and the flow is logged as REJECT at db1's ingress from then on
#   - `vpcctl flows reset` keeps an allowed transfer even when the server
#     sends the first packet after the reset (curl frozen with SIGSTOP)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Flow records every 2 s instead of the default 60 s (the caller may add more).
E2E_DP_ARGS="--flow-log-interval 2 ${E2E_DP_ARGS:-}"
RATE=200k          # curl --limit-rate of the slow transfers
BLOB_BYTES=1048576 # 1 MiB at 200 KiB/s: about 5 s

e2e_init security_groups
POLICY=$E2E_DIR/policies/security-groups.yaml
e2e_load_topology "$POLICY"
A=web1 B=db1
for n in $A $B; do [[ -n ${T_PORT[$n]:-} ]] || e2e_fail "no Interface $n in $POLICY"; done
FLOW_LOG_DIR=$CD_STATE/flow-logs

e2e_bring_up "$POLICY"
# A small TCP receive buffer in web1's namespace: otherwise db1 pushes most of
# the 1 MiB into web1's socket buffer at once (curl's --limit-rate only paces
# its reads), the network goes idle early, and a cut flow goes unnoticed.
e2e_in $A sysctl -qw net.ipv4.tcp_rmem="4096 32768 65536"

# --- helpers ---------------------------------------------------------------------

# check FILE EXPR WHAT: fails unless the Python expression EXPR (d = the JSON
# document in FILE, see e2e_json) is true.
check() {
  local got
  got=$(e2e_json "$1" "bool($2)") || e2e_fail "$3: cannot evaluate on $1: $(head -c 2000 "$1")"
  [[ $got == True ]] || e2e_fail "$3: not so in $1: $(head -c 3000 "$1")"
  e2e_pass "$3"
}

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
sha_of() { sha256sum <"$1" | cut -d' ' -f1; }
url() { # url FAMILY PORT PATH: db1's URL
  if [[ $1 == 4 ]]; then echo "http://${T_IP4[$B]}:$2/$3"; else echo "http://[${T_IP6[$B]}]:$2/$3"; fi
}

# slow_start TAG URL [CURL ARGS]: a background curl from web1 at $RATE into
# $E2E_TMP/slow-TAG; sets SLOW_PID.
slow_start() {
  local tag=$1 u=$2; shift 2
  rm -f "$E2E_TMP/slow-$tag"
  e2e_bg $A curl -gsS --fail --limit-rate "$RATE" -o "$E2E_TMP/slow-$tag" "$@" "$u"
  SLOW_PID=$E2E_LAST_PID
  e2e_log "slow transfer $tag started: $u at $RATE/s (pid $SLOW_PID)"
}

# growing FILE SECONDS: FILE grew during the next SECONDS. (curl's
# --limit-rate reads in bursts: the file can stand still for ~1 s.)
growing() {
  local s0 s1
  s0=$(size_of "$1"); sleep "$2"; s1=$(size_of "$1")
  e2e_log "$(basename "$1"): $s0 -> $s1 bytes in $2 s"
  ((s1 > s0))
}

# slow_wait TAG PID: waits for the transfer; sets SLOW_RC (curl's exit code).
slow_wait() {
  SLOW_RC=0
  wait "$2" || SLOW_RC=$?
  e2e_log "slow transfer $1: curl exit $SLOW_RC, $(size_of "$E2E_TMP/slow-$1") of $BLOB_BYTES bytes"
}

# client_port FAMILY: web1's port of the established flow to db1:443 (one only).
client_port() {
  local ip=${T_IP4[$B]} port
  [[ $1 == 6 ]] && ip=${T_IP6[$B]}
  e2e_ctl flows --port 443 -o json >"$E2E_TMP/flows-port.json" || e2e_fail "vpcctl flows --port 443 -o json failed"
  port=$(e2e_json "$E2E_TMP/flows-port.json" \
    "' '.join(str(f['initiator']['port']) for f in d['flows'] if f['responder']['addr'] == '$ip' and f['responder']['port'] == 443 and f['state'] == 'established')")
  [[ $port =~ ^[0-9]+$ ]] || e2e_fail "no single established flow to $ip:443 in vpcctl flows: '$port'"
  echo "$port"
}

# sg_db NAME RULE...: SecurityGroup/db with these ingress rules (flow-style
# YAML mappings), into $E2E_TMP/sg-db-NAME.yaml.
sg_db() {
  local name=$1 r; shift
  {
    printf 'kind: SecurityGroup\nname: db\nspec:\n  vpc: prod\n  description: database servers (%s)\n  ingress:\n' "$name"
    for r in "$@"; do printf '    - %s\n' "$r"; done
  } >"$E2E_TMP/sg-db-$name.yaml"
}
R443='{protocol: tcp, ports: 443, securityGroup: web, description: https from web}'
R8443='{protocol: tcp, ports: 8443, securityGroup: web, description: alt https from web}'
RPING4='{protocol: icmp, icmpType: 8, cidr: 10.0.0.0/16, description: ping}'
RPING6='{protocol: icmpv6, icmpType: 128, cidr: "fd00:10::/48", description: ping over IPv6}'
sg_db plus8443 "$R443" "$R8443" "$RPING4" "$RPING6"  # one more rule, 443 kept
sg_db no443 "$R8443" "$RPING4" "$RPING6"             # the 443 rule removed
sg_db base "$R443" "$RPING4" "$RPING6"               # as in $POLICY

apply() {
  e2e_ctl apply -f "$1" >"$E2E_TMP/apply.out" 2>&1 || e2e_fail "vpcctl apply -f $1: $(cat "$E2E_TMP/apply.out")"
  e2e_log "applied $(basename "$1"): $(tr '\n' ' ' <"$E2E_TMP/apply.out")"
}

ingress_denied() {
  e2e_stats "$E2E_TMP/stats.json"
  e2e_json "$E2E_TMP/stats.json" "drops(d, 'security_group/ingress_denied')"
}

# --- ICMP ------------------------------------------------------------------------------

e2e_section "ping: web1 -> db1 allowed (icmp rule of db), db1 -> web1 denied (web has no ingress)"
e2e_ping_all $A "${T_IP4[$B]}"
e2e_ping_all $A "${T_IP6[$B]}"
denied0=$(ingress_denied)
e2e_ping_none $B "${T_IP4[$A]}"
e2e_ping_none $B "${T_IP6[$A]}"
denied1=$(ingress_denied)
((denied1 >= denied0 + 2)) || e2e_fail "security_group/ingress_denied: $denied0 -> $denied1 after db1 pinged web1 (v4, v6), expected +2 or more"
e2e_pass "security_group/ingress_denied $denied0 -> $denied1"

# --- servers -----------------------------------------------------------------------------

e2e_section "servers on db1:443 and db1:22"
mkdir -p "$E2E_TMP/www"
TOKEN=vpcnet-sg-$E2E_ID-$RANDOM
echo "$TOKEN" >"$E2E_TMP/www/index.txt"
head -c "$BLOB_BYTES" /dev/urandom >"$E2E_TMP/www/blob"
WANT=$(sha_of "$E2E_TMP/www/blob")
# `--bind ::` listens dual-stack. Port 22 has a server too, so only the data
# plane can be what keeps web1 from reaching it.
for p in 443 22; do
  e2e_bg $B "$E2E_PY" -m http.server $p --bind :: --directory "$E2E_TMP/www"
done
for p in 443 22; do
  e2e_wait_for 15 "http.server on :$p in $(e2e_ns $B)" \
    bash -c "ip netns exec '$(e2e_ns $B)' ss -Hltn 'sport = :$p' | grep -q LISTEN" ||
    e2e_fail "http.server on port $p did not start"
done
# The servers answer locally on both ports (so a failure below is the data plane's).
for p in 443 22; do
  got=$(e2e_in $B curl -gsS --max-time 5 "http://127.0.0.1:$p/index.txt") || e2e_fail "local curl to db1:$p failed"
  [[ $got == "$TOKEN" ]] || e2e_fail "local curl to db1:$p: got '$got'"
done
e2e_pass "http.server answers on db1:443 and db1:22 locally"

# --- TCP 443 allowed, 22 silently dropped ---------------------------------------------------

e2e_section "tcp 443 from web1 allowed (rule: securityGroup web)"
for fam in 4 6; do
  u=$(url $fam 443 index.txt)
  got=$(e2e_in $A curl -gsS --fail --max-time 10 "$u") || e2e_fail "curl $u from web1 failed"
  [[ $got == "$TOKEN" ]] || e2e_fail "curl $u: got '$got', want '$TOKEN'"
  e2e_pass "curl $u: right content"
done

e2e_section "tcp 22 from web1 silently dropped (no rule)"
denied0=$(ingress_denied)
pids=()
for fam in 4 6; do
  e2e_in $A curl -gsS --max-time 3 -o /dev/null "$(url $fam 22 index.txt)" 2>"$E2E_TMP/curl22-$fam.err" &
  pids+=($!)
done
for fam in 4 6; do
  rc=0
  wait "${pids[0]}" || rc=$?
  pids=("${pids[@]:1}")
  u=$(url $fam 22 index.txt)
  case $rc in
    28) e2e_pass "curl $u: timed out (exit 28): silently dropped" ;;
    0) e2e_fail "curl $u succeeded: tcp 22 is not allowed by SecurityGroup db" ;;
    7) e2e_fail "curl $u: connection refused (exit 7): a denied flow must be dropped silently, not answered: $(cat "$E2E_TMP/curl22-$fam.err")" ;;
    *) e2e_fail "curl $u: exit $rc, expected 28 (timeout): $(cat "$E2E_TMP/curl22-$fam.err")" ;;
  esac
done
denied1=$(ingress_denied)
((denied1 >= denied0 + 2)) || e2e_fail "security_group/ingress_denied: $denied0 -> $denied1 after two connection attempts to :22, expected +2 or more"
e2e_pass "security_group/ingress_denied $denied0 -> $denied1"
e2e_log "conntrack/rejected_flow (retransmitted SYNs of the remembered REJECT flows): $(e2e_json "$E2E_TMP/stats.json" "drops(d, 'rejected_flow')")"

# --- trace -----------------------------------------------------------------------------------

e2e_section "vpcctl trace"
SG_NOTES="' '.join(n for s in d['steps'] if s.get('stage') == 'security_group' for n in s.get('notes', []))"
e2e_ctl trace --from $A --to "${T_IP4[$B]}" --proto tcp --dport 22 -o json >"$E2E_TMP/trace22.json" ||
  e2e_fail "vpcctl trace --dport 22 failed"
check "$E2E_TMP/trace22.json" "d['verdict'] == 'drop' and d['drop_reason'] == 'security_group/ingress_denied'" \
  "trace tcp 22: verdict drop, security_group/ingress_denied"
check "$E2E_TMP/trace22.json" "'ingress of Interface db1' in $SG_NOTES and 'denied (default)' in $SG_NOTES" \
  "trace tcp 22: names db1's default deny"
e2e_ctl trace --from $A --to "${T_IP4[$B]}" --proto tcp --dport 22 >"$E2E_TMP/trace22.txt" ||
  e2e_fail "vpcctl trace --dport 22 (text) failed"
grep -q 'verdict: drop (security_group/ingress_denied' "$E2E_TMP/trace22.txt" ||
  e2e_fail "trace tcp 22 (text): no 'verdict: drop (security_group/ingress_denied': $(cat "$E2E_TMP/trace22.txt")"
e2e_pass "trace tcp 22 (text): $(grep verdict "$E2E_TMP/trace22.txt")"
for to in "${T_IP4[$B]}" "${T_IP6[$B]}"; do
  e2e_ctl trace --from $A --to "$to" --proto tcp --dport 443 -o json >"$E2E_TMP/trace443.json" ||
    e2e_fail "vpcctl trace --to $to --dport 443 failed"
  check "$E2E_TMP/trace443.json" "d['verdict'] == 'tx' and d.get('out_interface') == 'db1'" \
    "trace tcp $to:443: verdict tx to Interface db1"
  check "$E2E_TMP/trace443.json" "'allowed by SecurityGroup/db rule' in $SG_NOTES and '443' in $SG_NOTES" \
    "trace tcp $to:443: names the SecurityGroup/db rule for 443"
done
e2e_ctl trace --from $A --to "${T_IP4[$B]}" --proto tcp --dport 443 >"$E2E_TMP/trace443.txt" ||
  e2e_fail "vpcctl trace --dport 443 (text) failed"
grep -q 'verdict: forward' "$E2E_TMP/trace443.txt" ||
  e2e_fail "trace tcp 443 (text): no 'verdict: forward': $(cat "$E2E_TMP/trace443.txt")"
e2e_pass "trace tcp 443 (text): $(grep verdict "$E2E_TMP/trace443.txt")"

# trace --pcap: a captured frame (here written by scapy: web1's SYN to db1:22) goes the same way.
"$E2E_PY" - "$E2E_TMP/syn22.pcap" "${T_MAC[$A]}" "${T_IP4[$A]}" "${T_IP4[$B]}" <<'PY' || e2e_fail "cannot write syn22.pcap"
import sys
from scapy.all import Ether, IP, TCP, wrpcap
out, mac, src, dst = sys.argv[1:5]
wrpcap(out, [Ether(src=mac, dst='02:76:70:63:00:01') / IP(src=src, dst=dst) / TCP(sport=40100, dport=22, flags='S')])
PY
e2e_ctl trace --from $A --pcap "$E2E_TMP/syn22.pcap" -o json >"$E2E_TMP/trace-pcap.json" ||
  e2e_fail "vpcctl trace --pcap failed"
check "$E2E_TMP/trace-pcap.json" "d['verdict'] == 'drop' and d['drop_reason'] == 'security_group/ingress_denied'" \
  "trace --pcap (SYN to :22): verdict drop, security_group/ingress_denied"

# --- rule hits -------------------------------------------------------------------------------

e2e_section "rule hit counts"
e2e_ctl get securitygroup db -o wide >"$E2E_TMP/sg-db-wide.txt" || e2e_fail "vpcctl get securitygroup db -o wide failed"
cat "$E2E_TMP/sg-db-wide.txt"
# Columns DIRECTION MATCH REMOTE DESCRIPTION HITS ID: HITS is the second last.
hits=$(awk 'BEGIN { max = 0 } $1 == "ingress" && /https from web/ { if ($(NF-1) + 0 > max) max = $(NF-1) + 0 } END { print max }' "$E2E_TMP/sg-db-wide.txt")
((hits >= 2)) || e2e_fail "get securitygroup db -o wide: the 443 rule ('https from web') shows $hits hits, expected >= 2 (two curls)"
e2e_pass "the 443 rule of SecurityGroup db has $hits hits"
e2e_ctl rpc rules.list '{"kind":"SecurityGroup","name":"db"}' >"$E2E_TMP/rules-db.json" || e2e_fail "vpcctl rpc rules.list failed"
check "$E2E_TMP/rules-db.json" "sum(r['hits'] or 0 for r in d['rules'] if r.get('description') == 'https from web') >= 2" \
  "rules.list: the 443 rule has >= 2 hits"

# --- flow logs -------------------------------------------------------------------------------

e2e_section "flow logs in $FLOW_LOG_DIR"
cat >"$E2E_TMP/check_flow_log.py" <<'EOF'
"""check_flow_log.py DIR WEB_IP4 WEB_IP6 DB_IP4 DB_IP6 [-v]: exit 0 when the
flow logs are well-formed and hold every expected record."""
import json, sys
d, web4, web6, db4, db6 = sys.argv[1:6]
verbose = "-v" in sys.argv
FIELDS = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
          "start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr "
          "pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service "
          "pkt-dst-aws-service flow-direction traffic-path encryption-status").split()
assert len(FIELDS) == 30
problems = []

def load_text():
    lines = open(f"{d}/flow-log.txt").read().splitlines()
    if not lines or lines[0].split() != FIELDS:
        problems.append(f"flow-log.txt: first line is not the header: {lines[:1]}")
        return []
    recs = []
    for i, line in enumerate(lines[1:], 2):
        f = line.split(" ")
        if len(f) != 30:
            problems.append(f"flow-log.txt:{i}: {len(f)} fields, expected 30: {line!r}")
            continue
        r = dict(zip(FIELDS, f))
        for k in ("srcport", "dstport", "protocol", "packets", "bytes", "start", "end"):
            r[k] = int(r[k]) if r[k] != "-" else None
        recs.append(r)
    return recs

def load_json():
    recs = []
    for i, line in enumerate(open(f"{d}/flow-log.jsonl").read().splitlines(), 1):
        try:
            r = json.loads(line)
        except ValueError as e:
            problems.append(f"flow-log.jsonl:{i}: not JSON ({e}): {line!r}")
            continue
        if not isinstance(r, dict) or sorted(r) != sorted(FIELDS):
            problems.append(f"flow-log.jsonl:{i}: keys are not the 30 fields: {line!r}")
            continue
        recs.append(r)
    return recs

# (what, predicate) pairs that some record must satisfy.
def want(action, iface, direction, src, dst, dport=None, proto=6, subnet=None):
    def pred(r):
        return (r["version"] in (5, "5") and r["action"] == action and r["interface-id"] == iface
                and r["flow-direction"] == direction and r["srcaddr"] == src and r["dstaddr"] == dst
                and r["protocol"] == proto and (dport is None or r["dstport"] == dport)
                and r["packets"] and r["packets"] > 0 and r["start"] <= r["end"]
                and r["log-status"] == "OK" and r["vpc-id"] == "prod"
                and (subnet is None or r["subnet-id"] == subnet)
                and r["type"] == ("IPv6" if ":" in src else "IPv4"))
    return (f"{action} {iface} {direction} {src} -> {dst} proto {proto} dstport {dport}", pred)

expected = []
for web, db in ((web4, db4), (web6, db6)):
    expected += [
        want("ACCEPT", "db1", "ingress", web, db, 443, subnet="db"),
        want("ACCEPT", "web1", "egress", web, db, 443, subnet="web"),
        want("ACCEPT", "db1", "egress", db, web, None, subnet="db"),   # the replies (srcport 443)
        want("REJECT", "db1", "ingress", web, db, 22, subnet="db"),
    ]
expected += [
    want("ACCEPT", "db1", "ingress", web4, db4, 0, proto=1),     # web1 pings db1
    want("REJECT", "web1", "ingress", db4, web4, 0, proto=1),    # db1 pings web1
    want("REJECT", "web1", "ingress", db6, web6, 0, proto=58),
]

try:
    text, js = load_text(), load_json()
except OSError as e:
    print(e); sys.exit(1)
for name, recs in (("flow-log.txt", text), ("flow-log.jsonl", js)):
    for what, pred in expected:
        if not any(pred(r) for r in recs):
            problems.append(f"{name}: no record {what}")
    # Nothing on port 22 may be accepted at db1.
    bad = [r for r in recs if r["dstport"] == 22 and r["interface-id"] == "db1" and r["action"] == "ACCEPT"]
    if bad:
        problems.append(f"{name}: ACCEPT records for tcp 22 at db1: {bad[:3]}")
if verbose or problems:
    print(f"{len(text)} text records, {len(js)} JSON records")
    for p in problems[:40]:
        print("  " + p)
sys.exit(1 if problems else 0)
EOF
FL_ARGS=("$FLOW_LOG_DIR" "${T_IP4[$A]}" "${T_IP6[$A]}" "${T_IP4[$B]}" "${T_IP6[$B]}")
if ! e2e_wait_for 15 "the expected flow-log records" "$E2E_PY" "$E2E_TMP/check_flow_log.py" "${FL_ARGS[@]}"; then
  "$E2E_PY" "$E2E_TMP/check_flow_log.py" "${FL_ARGS[@]}" -v >&2 || true
  ls -l "$FLOW_LOG_DIR" >&2 || true
  head -n 30 "$FLOW_LOG_DIR/flow-log.txt" >&2 || true
  e2e_fail "flow logs incomplete or malformed (above)"
fi
"$E2E_PY" "$E2E_TMP/check_flow_log.py" "${FL_ARGS[@]}" -v
e2e_pass "flow-log.txt: header, 30 fields a line, ACCEPT for 443 (db1 ingress, web1 egress, db1 egress replies), REJECT for 22 (db1 ingress) and db1's pings (web1 ingress); flow-log.jsonl the same"
e2e_log "sample: $(grep -m1 ' 443 6 ' "$FLOW_LOG_DIR/flow-log.txt")"
e2e_log "sample: $(grep -m1 ' 22 6 .* REJECT ' "$FLOW_LOG_DIR/flow-log.txt")"

# --- established flows across policy updates ------------------------------------------------

e2e_section "a transfer survives a policy update that keeps it allowed (and a flows reset)"
slow_start t1 "$(url 4 443 blob)" --max-time 40 --speed-time 5 --speed-limit 1000
T1=$SLOW_PID
e2e_wait_for 10 "transfer t1 to start" test -s "$E2E_TMP/slow-t1" || e2e_fail "transfer t1 received nothing"
e2e_ctl flows --port 443 >"$E2E_TMP/flows-t1.txt" || e2e_fail "vpcctl flows --port 443 failed"
cat "$E2E_TMP/flows-t1.txt"
grep -qE "web1 -> db1 +established +ACCEPT" "$E2E_TMP/flows-t1.txt" ||
  e2e_fail "vpcctl flows --port 443: no established ACCEPT flow web1 -> db1"
e2e_ctl flows --port 443 -o json >"$E2E_TMP/flows-t1.json" || e2e_fail "vpcctl flows --port 443 -o json failed"
check "$E2E_TMP/flows-t1.json" "any(f['protocol_name'] == 'tcp' and f['responder']['port'] == 443 and f['responder']['addr'] == '${T_IP4[$B]}' and f['initiator']['interface'] == 'web1' and f['responder']['interface'] == 'db1' and f['state'] == 'established' and f['action'] == 'ACCEPT' for f in d['flows'])" \
  "vpcctl flows --port 443 -o json: the transfer is tracked (established, ACCEPT)"
check "$E2E_TMP/flows-t1.json" "all(443 in (f['initiator']['port'], f['responder']['port']) for f in d['flows'])" \
  "vpcctl flows --port 443: only flows on port 443 listed"
apply "$E2E_TMP/sg-db-plus8443.yaml"
kill -0 "$T1" 2>/dev/null || e2e_fail "transfer t1 ended before the policy update (too fast to test anything)"
growing "$E2E_TMP/slow-t1" 2 || e2e_fail "transfer t1 stalled after the policy update"
e2e_ctl flows reset || e2e_fail "vpcctl flows reset failed"
# (Whether this passes depends on which side sends first after the reset
# when flows reset is broken; the last section checks the hard case.)
growing "$E2E_TMP/slow-t1" 2 ||
  e2e_fail "transfer t1 (still allowed) stalled after vpcctl flows reset: $(e2e_ctl flows --port 443 | tr -s ' ' | tr '\n' ';')"
slow_wait t1 "$T1"
((SLOW_RC == 0)) || e2e_fail "transfer t1 failed (curl exit $SLOW_RC) across a policy update that kept it allowed"
[[ $(sha_of "$E2E_TMP/slow-t1") == "$WANT" ]] || e2e_fail "transfer t1: content differs"
e2e_pass "transfer t1 completed across the policy update and the flows reset, sha256 identical"

e2e_section "removing the 443 rule: the running transfer completes, new connections are dropped"
slow_start t2 "$(url 6 443 blob)" --max-time 40 --speed-time 5 --speed-limit 1000
T2=$SLOW_PID
e2e_wait_for 10 "transfer t2 to start" test -s "$E2E_TMP/slow-t2" || e2e_fail "transfer t2 received nothing"
apply "$E2E_TMP/sg-db-no443.yaml"
kill -0 "$T2" 2>/dev/null || e2e_fail "transfer t2 ended before the rule was removed (too fast to test anything)"
pids=()
for fam in 4 6; do
  e2e_in $A curl -gsS --max-time 3 -o /dev/null "$(url $fam 443 index.txt)" 2>/dev/null &
  pids+=($!)
done
for fam in 4 6; do
  rc=0
  wait "${pids[0]}" || rc=$?
  pids=("${pids[@]:1}")
  ((rc == 28)) || e2e_fail "new curl $(url $fam 443 index.txt) after the 443 rule was removed: exit $rc, expected 28 (timeout)"
  e2e_pass "new curl $(url $fam 443 index.txt) after the rule removal: timed out (exit 28)"
done
kill -0 "$T2" 2>/dev/null || e2e_log "note: transfer t2 ended already"
slow_wait t2 "$T2"
# As in AWS: a tracked flow is not re-evaluated by a policy update.
((SLOW_RC == 0)) || e2e_fail "transfer t2 failed (curl exit $SLOW_RC) after the rule that allowed it was removed (tracked flows must survive)"
[[ $(sha_of "$E2E_TMP/slow-t2") == "$WANT" ]] || e2e_fail "transfer t2: content differs"
e2e_pass "transfer t2 (IPv6) completed after its rule was removed, sha256 identical"

e2e_section "vpcctl flows reset cuts a tracked flow the rules no longer allow"
apply "$POLICY"   # the 443 rule back
slow_start t3 "$(url 4 443 blob)" --max-time 30 --speed-time 3 --speed-limit 1000
T3=$SLOW_PID
e2e_wait_for 10 "transfer t3 to start" test -s "$E2E_TMP/slow-t3" || e2e_fail "transfer t3 received nothing"
apply "$E2E_TMP/sg-db-no443.yaml"
growing "$E2E_TMP/slow-t3" 2 || e2e_fail "transfer t3 stalled when its rule was removed (before any reset)"
T3PORT=$(client_port 4)
e2e_ctl flows reset || e2e_fail "vpcctl flows reset failed"
size_at_reset=$(size_of "$E2E_TMP/slow-t3")
sleep 1
e2e_ctl flows --port 443 -o json >"$E2E_TMP/flows-t3.json" || e2e_fail "vpcctl flows --port 443 -o json failed"
e2e_log "flows on port 443 after the reset: $(e2e_json "$E2E_TMP/flows-t3.json" "[(f['initiator']['port'], f['state'], f['action']) for f in d['flows']]")"
slow_wait t3 "$T3"
size_end=$(size_of "$E2E_TMP/slow-t3")
# Observed: the flow's next packet is checked against the current rules, db1
# has no ingress rule for 443 any more, so the flow turns into a REJECT flow
# (`vpcctl flows`: established, REJECT) and every later packet, both ways, is
# dropped (conntrack/rejected_flow). Nobody sends a RST: curl reads what its
# socket buffer still held (< 64 KiB, typically 40-60 KB after the reset),
# then sees nothing more and gives up after --speed-time 3 (exit 28,
# "Operation too slow") with the file incomplete; the server's TCP keeps
# retransmitting into the void.
((SLOW_RC != 0)) || e2e_fail "transfer t3 completed although vpcctl flows reset ran after its rule was removed"
((size_end < BLOB_BYTES)) || e2e_fail "transfer t3: curl exit $SLOW_RC but all $size_end bytes arrived"
((size_end - size_at_reset < 256 * 1024)) ||
  e2e_fail "transfer t3: $((size_end - size_at_reset)) more bytes arrived after the reset (expected it cut at once)"
e2e_pass "transfer t3 cut by vpcctl flows reset: curl exit $SLOW_RC, $size_end of $BLOB_BYTES bytes ($((size_end - size_at_reset)) after the reset)"
# "... and logged as REJECT from then on" (docs/filtering.md): at db1's
# ingress, in the flow's original direction.
t3_rejected() {
  awk -v p="$T3PORT" '$3 == "db1" && $6 == p && $7 == 443 && $13 == "REJECT" && $28 == "ingress" { f = 1 } END { exit !f }' \
    "$FLOW_LOG_DIR/flow-log.txt"
}
e2e_wait_for 10 "a REJECT flow-log record of t3" t3_rejected || {
  grep -E " ($T3PORT) " "$FLOW_LOG_DIR/flow-log.txt" >&2 || true
  e2e_fail "flow-log.txt: no REJECT record 'db1 ${T_IP4[$A]}:$T3PORT -> ${T_IP4[$B]}:443 ingress' for the cut transfer t3 (its records above)"
}
e2e_pass "flow-log.txt: the cut transfer t3 (port $T3PORT) is logged as REJECT at db1 ingress"

e2e_section "vpcctl flows reset keeps an allowed flow whose next packet comes from the server"
# docs/filtering.md: after a reset, "Flows still allowed are re-installed and
# carry on without loss". Make the server's packet the first one after the
# reset: curl is frozen (SIGSTOP), web1's receive window closes, and only
# db1's zero-window probes (every 0.2, 0.4, 0.8, 1.6 s ...) cross the data
# plane until curl continues. The flow must be re-checked in its original
# direction (web1 -> db1:443: allowed), not as a new flow from db1 (which
# web's no-ingress group would reject).
apply "$E2E_TMP/sg-db-base.yaml"
# --speed-time 6: longer than curl is frozen, so a cut flow fails fast.
slow_start t4 "$(url 4 443 blob)" --max-time 40 --speed-time 6 --speed-limit 1000
T4=$SLOW_PID
e2e_wait_for 10 "transfer t4 to start" test -s "$E2E_TMP/slow-t4" || e2e_fail "transfer t4 received nothing"
sleep 0.5
T4PORT=$(client_port 4)
kill -STOP "$T4"
sleep 1
e2e_ctl flows reset || { kill -CONT "$T4"; e2e_fail "vpcctl flows reset failed"; }
sleep 2.5
e2e_ctl flows --port 443 -o json >"$E2E_TMP/flows-t4.json" || { kill -CONT "$T4"; e2e_fail "vpcctl flows failed"; }
kill -CONT "$T4"
e2e_log "t4's flow after the reset (curl frozen): $(e2e_json "$E2E_TMP/flows-t4.json" "[(f['initiator'], f['responder'], f['state'], f['action']) for f in d['flows'] if $T4PORT in (f['initiator']['port'], f['responder']['port'])]")"
slow_wait t4 "$T4"
check "$E2E_TMP/flows-t4.json" "any(f['initiator']['port'] == $T4PORT and f['initiator']['interface'] == 'web1' and f['responder']['port'] == 443 and f['action'] == 'ACCEPT' for f in d['flows'])" \
  "after the reset, t4's flow is still web1:$T4PORT -> db1:443 ACCEPT (db1's probe came first)"
((SLOW_RC == 0)) || e2e_fail "transfer t4 (allowed) failed (curl exit $SLOW_RC) after vpcctl flows reset, when db1 sent the first packet after the reset"
[[ $(sha_of "$E2E_TMP/slow-t4") == "$WANT" ]] || e2e_fail "transfer t4: content differs"
e2e_pass "transfer t4 completed across vpcctl flows reset with db1 sending first, sha256 identical"

e2e_section "final counters"
e2e_ctl stats | sed -n '/STAGE/,$p'
