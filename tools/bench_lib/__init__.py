"""vpcnet forwarding benchmark: vpc-dataplane beside DPDK peers, same run, interleaved.

Every scenario forwards the same stream of 64-byte Ethernet/IPv4/UDP frames
(60 bytes in the pcap, + 4 bytes FCS = 64 on the wire; 1,024 flows 10.0.1.10:
1024..2047 -> 10.0.2.10:5201) from a net_pcap port (infinite_rx=1, the frames
are replayed from memory forever) to a net_null port (no-rx=1, it frees what
it is given), on ONE forwarding lcore (CPU 1). Scenarios (--only NAME or GROUP):

  group "base":
  vpcnet        vpc-dataplane routes web1 (10.0.1.10) -> db1 (10.0.2.10):
                parse, policy/flow lookup, MAC rewrite, TTL decrement
                (rate = tx_packets delta of port "out" from stats.get)
  testpmd-io    dpdk-testpmd --forward-mode=io: receive + transmit, packet
                data untouched (the ceiling of this feeder + these ports)
  testpmd-csum  dpdk-testpmd --forward-mode=csum: parses L2-L4, recomputes
                IPv4 and UDP checksums in software, rewrites MACs
  l3fwd-lpm     DPDK's l3fwd example, LPM lookup, RFC 1812 checks, TTL
                decrement, MAC rewrite (built here from dpdk-doc's sources)

  group "fw" (stateful firewall, N = 10, 1000, 10000 rules; plus l3fwd-lpm):
  vpcnet-fw-N   as vpcnet, and db1 is in SecurityGroup "bench" with N ingress
                rules of which the traffic matches one (the last); the 1,024
                flows are established after the first pass of the pcap, so
                this is the established-flow (conntrack hit) path
                (--flow-capacity 1048576)
  l3fwd-acl-N   l3fwd --lookup=acl with N classifier rules: N-1 '@' (deny)
                rules the traffic does not match, then the 'R' route rule it
                matches, last = lowest priority (the same N rules as vpcnet's)
  ovs-dpdk-ct-N Open vSwitch with DPDK (openvswitch-switch-dpdk), private
                ovsdb-server + ovs-vswitchd, netdev bridge, one PMD on CPU 1,
                userspace conntrack: ct() -> committed flows go out; new ones
                go through N allow rules (the same N) and ct(commit)

  group "encryption" (the ESP engine of dataplane/encryption alone, not yet
  on ports; inner IPv4 packets of 64, 512 and 1400 B, on CPU 1):
  esp           tools/bench_esp/esp_bench from --build: per engine
                (aes256_gcm_ipsec_mb, aes256_gcm_sodium,
                chacha20_poly1305_sodium) the raw AEAD seal and open of the
                packet's bytes and the full ESP encapsulate / decapsulate
                (tunnel mode, outer IPv4 + UDP 4500, ESN, anti-replay), in
                TSC cycles per packet, Mpps and Gbit/s (--esp-seconds per cell)
  dpdk-crypto-perf  dpdk-test-crypto-perf --ptest throughput, AEAD encrypt
                and decrypt with ipsec-mb's PMDs crypto_aesni_gcm (AES-256-GCM)
                and crypto_chacha20_poly1305, the same sizes, 12 B AAD, 12 B
                nonce (--crypto-ops per size)
                Its table gives ESP / raw AEAD (goal at 1400 B: ESP
                encapsulate <= 1.1x the fastest raw seal) and ESP /
                dpdk-test-crypto-perf.

  group "all": every scenario. Sub-groups: vpcnet-fw, l3fwd-acl, ovs-dpdk-ct.

The peers' rates are tx packet deltas of the output port read through the
DPDK telemetry socket (/ethdev/stats,N; OVS-DPDK's EAL has one too). Runs are
interleaved: for each round, each scenario in the order above runs for
--seconds after a --warmup. The tables give the median over rounds, min-max,
and peer/vpcnet (a peer's median Mpps divided by vpcnet's: 2.0x means that
peer forwards twice as many packets per second as vpcnet); the firewall table
divides by vpcnet-fw-N of the same N (l3fwd-lpm: by each vpcnet-fw-N).

With any vpcnet-fw-N selected (unless --no-fw-extras) each round also
measures, printed after the firewall table:
  - the update to a 10,000-rule SecurityGroup while forwarding: vpc-controld
    pushes it (policy.apply) to a running vpc-dataplane that started with the
    10-rule policy; wall time of the call, and the data plane's own
    stats.get "last_apply" build_us (tables incl. the classifier) and swap_us;
  - flow-table memory per million tracked flows (stats.get flow_table
    memory_bytes / capacity x 1e6, from the vpcnet-fw-N runs);
  - new flows per second on one core: a pcap of --new-flows distinct UDP
    flows (default 2^20: 17 source addresses of web1 x 64,512 source ports),
    looped; stats.get is sampled every few ms during the first pass and the
    rate is the "flows_created" counter's growth between 5 % and 95 % of the
    flows, with the 10,000-rule group on db1.

These machines are shared and noisy: compare only figures from the same run.
"""
