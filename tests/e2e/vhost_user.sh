#!/usr/bin/env bash
# A VM's virtio NIC on a vhost-user port: vpc-dataplane owns the vhost-user
# socket (--port vm1=net_vhost0,iface=SOCK) and a second DPDK process plays
# the VM's virtio driver (dpdk-testpmd with virtio_user, fed from a pcap).
# 100 UDP packets from web1 (the VM) to db1 must come out of db1's port
# routed: router MAC as source, db1's MAC as destination, TTL 63.
# vhost-user shares guest memory, so both processes need hugepages.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init vhost_user

free_pages=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
((free_pages >= 128)) || e2e_fail "vhost-user needs 128 free 2 MiB hugepages (have $free_pages): run tools/install-deps.sh as root"
command -v dpdk-testpmd >/dev/null || e2e_fail "dpdk-testpmd (package dpdk) is not installed"

dir=$E2E_TMP
# DPDK leaves its hugepage files behind when a process is killed: remove ours.
trap 'rc=$?; rm -f /dev/hugepages/vpc-dp-$E2E_ID* /dev/hugepages/vpc-vm-$E2E_ID*; rm -rf /var/run/dpdk/vpc-vm-$E2E_ID /var/run/dpdk/vpc-dp-$E2E_ID; (exit $rc); e2e_cleanup' EXIT
"$E2E_PY" - "$dir/in.pcap" <<'PY'
import sys
from scapy.all import Ether, IP, UDP, Raw, wrpcap
wrpcap(sys.argv[1], [Ether(src='02:00:00:00:01:01', dst='02:76:70:63:00:01') /
                     IP(src='10.0.1.10', dst='10.0.2.10', ttl=64) / UDP(sport=1000 + i, dport=53) / Raw(b'x' * 20)
                     for i in range(100)])
PY
cat > "$dir/policy.yaml" <<'YAML'
kind: Vpc
name: prod
spec: {cidrs: [10.0.0.0/16]}
---
kind: Subnet
name: web
spec: {vpc: prod, cidrs: [10.0.1.0/24]}
---
kind: Subnet
name: db
spec: {vpc: prod, cidrs: [10.0.2.0/24]}
---
kind: Interface
name: web1
spec: {port: vm1, subnet: web, mac: "02:00:00:00:01:01", ips: [10.0.1.10]}
---
kind: Interface
name: db1
spec: {port: db1, subnet: db, mac: "02:00:00:00:02:01", ips: [10.0.2.10]}
YAML

e2e_section "data plane with a vhost-user port"
"$VPC_DATAPLANE" -l 0 --file-prefix "vpc-dp-$E2E_ID" -m 128 -- \
  --port "vm1=net_vhost0,iface=$dir/vm1.sock" --port "db1=net_pcap0,tx_pcap=$dir/out.pcap" \
  --policy "$dir/policy.yaml" --socket "$dir/dp.sock" --flow-capacity 65536 >"$dir/dataplane.log" 2>&1 &
DP_PID=$!
e2e_wait_for 20 "the vhost-user socket" test -S "$dir/vm1.sock" || e2e_fail "no vhost-user socket"
# The policy is applied once the RPC socket is up: only then can the VM's packets be routed.
e2e_wait_for 30 "the data plane's RPC socket" test -S "$dir/dp.sock" || e2e_fail "no RPC socket"

e2e_section "the VM: virtio_user sends 100 packets"
# testpmd forwards until it reads a line on stdin: it gets one once the data
# plane has counted the 100 packets on vm1, not after a guessed sleep.
mkfifo "$dir/vm.stdin"
timeout 60 dpdk-testpmd -l 0,1 --file-prefix "vpc-vm-$E2E_ID" -m 128 --single-file-segments --no-pci \
  --vdev "net_pcap0,rx_pcap=$dir/in.pcap" --vdev "virtio_user0,path=$dir/vm1.sock" \
  -- --forward-mode=io --no-flush-rx -a <"$dir/vm.stdin" >"$dir/vm.log" 2>&1 &
VM_PID=$!
exec 7>"$dir/vm.stdin"
vm1_rx() {
  "$E2E_PY" - "$dir/dp.sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"stats.get"}\n')
buf = b""
while not buf.endswith(b"\n"):
    buf += s.recv(65536)
ports = json.loads(buf)["result"]["ports"]
print(next(p["rx_packets"] for p in ports if p["name"] == "vm1"))
PY
}
vm1_has_100() { (($(vm1_rx) >= 100)); }
e2e_wait_for 30 "the data plane to receive 100 packets on vm1" vm1_has_100 ||
  e2e_fail "the data plane received $(vm1_rx) packets on vm1, expected 100 (testpmd log: $(tail -5 "$dir/vm.log"))"
echo >&7
exec 7>&-
vm_status=0
wait "$VM_PID" || vm_status=$?
((vm_status == 0)) || { cat "$dir/vm.log"; e2e_fail "testpmd (the VM) exited with status $vm_status"; }
grep -q "TX-packets: 100" "$dir/vm.log" || { cat "$dir/vm.log"; e2e_fail "the VM did not send 100 packets into virtio"; }

# net_pcap writes its tx_pcap when the port closes: stop the data plane first.
kill -TERM "$DP_PID"
dp_status=0
wait "$DP_PID" || dp_status=$?
DP_PID=""
((dp_status == 0)) || e2e_fail "vpc-dataplane exited with status $dp_status on SIGTERM (log: $(tail -5 "$dir/dataplane.log"))"

routed=$(tshark -r "$dir/out.pcap" -Y 'eth.src == 02:76:70:63:00:01 && eth.dst == 02:00:00:00:02:01 && ip.ttl == 63 && ip.dst == 10.0.2.10' 2>/dev/null | wc -l)
[[ $routed == 100 ]] || e2e_fail "expected 100 routed packets on db1, saw $routed"
e2e_pass "100 packets from a virtio_user VM crossed the vhost-user port and were routed to db1"
