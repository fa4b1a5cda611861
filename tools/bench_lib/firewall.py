"""Scenario group "fw", vpcnet-fw-N: vpcnet with db1 in SecurityGroup "bench"
of N ingress rules, the traffic matching the last; measured on established
flows. Also the N-rule sets every firewall scenario checks: one generator,
rendered here as a SecurityGroup, by l3fwd.py as an ACL rule file and by
ovs.py as OpenFlow flows."""

import ipaddress
import os

from . import l3fwd, ovs
from .common import DST_UDP_PORT, SRC_IP, BenchError, write_file
from .scenarios import FW_RULE_COUNTS, split_scenario
from .telemetry import vpcnet_counter
from .vpcnet import POLICY_YAML, dataplane_argv, measure

KINDS = ("vpcnet-fw",)

FW_FLOW_CAPACITY = 1 << 20   # --flow-capacity of vpcnet-fw-N (the memory figure is per this table)

# What the bench traffic (UDP 10.0.1.10:* -> 10.0.2.10:5201) matches: the
# last rule of every rule set. (protocol, port_lo, port_hi, source CIDR)
FW_MATCH = ("udp", DST_UDP_PORT, DST_UDP_PORT, "10.0.1.0/24")
# Near misses, spread among the other rules: the traffic's own subnet but
# another protocol or port, or part of the subnet the traffic is not from
# (web1's addresses, including the new-flow test's 10.0.1.10-.26, are in
# 10.0.1.0/25 and are not .200). The classifier has to look at every field.
FW_NEAR_MISSES = [
    ("tcp", DST_UDP_PORT, DST_UDP_PORT, "10.0.1.0/24"),
    ("udp", 5202, 5203, "10.0.1.0/24"),
    ("udp", 53, 53, "10.0.1.0/24"),
    ("udp", 1024, 2047, "10.0.1.0/24"),
    ("udp", DST_UDP_PORT, DST_UDP_PORT, "10.0.1.128/25"),
    ("udp", DST_UDP_PORT, DST_UDP_PORT, "10.0.1.200/32"),
]
# Destination ports of the other rules: single ports or power-of-two aligned
# ranges (each is one masked OpenFlow match, so OVS gets exactly N rules too).
# Some contain 5201: those rules differ from the traffic only by source.
FW_PORTS = [(22, 22), (80, 80), (443, 443), (1024, 2047), (3306, 3306), (4096, 8191),
            (5200, 5203), (5432, 5432), (6379, 6379), (8000, 8063), (8080, 8080), (8443, 8443),
            (9000, 9007), (30000, 30015), (49152, 65535), (53, 53), (123, 123), (5201, 5201)]
# Sources of the other rules: distinct /24s outside the VPC.
FW_SOURCE_BLOCKS = [("172.16.0.0", 12), ("100.64.0.0", 10), ("198.18.0.0", 15)]


def nth_slash24(i):
    for base, plen in FW_SOURCE_BLOCKS:
        count = 1 << (24 - plen)
        if i < count:
            return f"{ipaddress.IPv4Address(int(ipaddress.IPv4Address(base)) + (i << 8))}/24"
        i -= count
    raise ValueError("too many firewall rules for the source blocks")


def fw_rules(n):
    """n ingress rules (protocol, port_lo, port_hi, source CIDR): n-1 that the
    bench traffic does not match (distinct /24 sources outside the VPC with
    usual ports and port ranges, a few near misses from the traffic's own
    subnet spread among them), then the one it matches, last."""
    others = n - 1
    near = FW_NEAR_MISSES[:min(len(FW_NEAR_MISSES), others // 2)]
    far = others - len(near)
    spots = {(j + 1) * far // (len(near) + 1): near[j] for j in range(len(near))}
    rules = []
    for i in range(far + 1):
        if i in spots:
            rules.append(spots[i])
        if i < far:
            lo, hi = FW_PORTS[i % len(FW_PORTS)]
            rules.append(("udp" if i % 3 == 2 else "tcp", lo, hi, nth_slash24(i)))
    rules.append(FW_MATCH)
    assert len(rules) == n and len(set(rules)) == n
    return rules


def sg_rule_yaml(rule):
    proto, lo, hi, cidr = rule
    ports = str(lo) if lo == hi else f"{lo}-{hi}"
    return f'    - {{protocol: {proto}, ports: "{ports}", cidr: {cidr}}}\n'


def fw_policy_yaml(rules, web1_ips=(SRC_IP,)):
    """The vpcnet benchmark policy + SecurityGroup "bench" (these ingress
    rules, egress absent = allow all) on db1; web1 stays in the VPC's
    default group (its egress allows everything)."""
    text = POLICY_YAML.replace("# vpcnet benchmark policy, written by tools/bench\n",
                               f"# vpcnet firewall benchmark policy ({len(rules)} ingress rules on db1), "
                               f"written by tools/bench\n")
    old_ips = "  ips: [10.0.1.10]\n"
    assert text.count(old_ips) == 1
    text = text.replace(old_ips, f"  ips: [{', '.join(web1_ips)}]\n")
    old_db1 = "  ips: [10.0.2.10]\n"
    assert text.endswith(old_db1)
    text += "  securityGroups: [bench]\n"
    sg = ["---\n", "kind: SecurityGroup\n", "name: bench\n", "spec:\n", "  vpc: prod\n", "  ingress:\n"]
    for r in rules[:-1]:
        sg.append(sg_rule_yaml(r))
    sg.append("    # the rule the bench traffic matches (last)\n")
    sg.append(sg_rule_yaml(rules[-1]))
    return text + "".join(sg)


def prepare(ctx, run_dir, a):
    """Rule sets, policies, l3fwd rule files and OpenFlow flows of the firewall scenarios."""
    ctx.fw_policy_dirs, ctx.acl_rules, ctx.ovs_flows, ctx.ovs_flow_files = {}, {}, {}, {}
    for n in FW_RULE_COUNTS:
        rules = fw_rules(n)
        d = os.path.join(run_dir, f"policy-fw-{n}")
        os.makedirs(d)
        write_file(os.path.join(d, "bench.yaml"), fw_policy_yaml(rules))
        ctx.fw_policy_dirs[n] = d
        ctx.acl_rules[n] = write_file(os.path.join(run_dir, f"l3fwd-acl-{n}-v4.cfg"), l3fwd.l3fwd_acl_rules(rules))
        ctx.ovs_flows[n] = ovs.ovs_flows(rules, 2, est_only=a.ovs_est_only)
        ctx.ovs_flow_files[n] = write_file(os.path.join(run_dir, f"ovs-flows-{n}.txt"), ctx.ovs_flows[n])
    ctx.acl_rules_v6 = write_file(os.path.join(run_dir, "l3fwd-acl-v6.cfg"), l3fwd.L3FWD_ACL_RULES_V6)


def precheck(ctx, kind):
    """Why a scenario of this group cannot run, or None."""
    if not ctx.dataplane_ok:
        return ctx.dataplane_error
    if not ctx.dataplane_fw:
        return ctx.dataplane_fw_error
    return None


def check_vpcnet_fw(ctx, name, n, rnd, ra, rb):
    """The firewall really is in the path: the classifier holds the N rules,
    every flow of the pcap is tracked, and the measured packets hit
    established flows. Keeps the flow table's memory for the extras."""
    ft, la = rb.get("flow_table"), rb.get("last_apply")
    if not isinstance(ft, dict) or not isinstance(la, dict):
        raise BenchError(f"{name}: stats.get has no flow_table / last_apply: this vpc-dataplane "
                         f"has no firewall yet")
    rules = int(la.get("rules", 0))
    if rules < n:
        raise BenchError(f"{name}: the data plane's classifier has {rules} rules (last_apply.rules), "
                         f"fewer than the {n} ingress rules of SecurityGroup bench")
    created_a, created_b = vpcnet_counter(ra, "flows_created"), vpcnet_counter(rb, "flows_created")
    if created_b is None:
        raise BenchError(f"{name}: stats.get has no flows_created counter")
    if created_b < ctx.flows:
        raise BenchError(f"{name}: only {created_b} flows created for the {ctx.flows} flows of the pcap: "
                         f"the traffic is not tracked")
    if created_b - created_a:
        ctx.warnings.append(f"round {rnd}: {name}: {created_b - created_a} flows created during the "
                            f"measurement (expected 0: every packet on an established flow)")
    in_use, cap, mem = int(ft.get("in_use", 0)), int(ft.get("capacity", 0)), int(ft.get("memory_bytes", 0))
    if in_use < ctx.flows:
        ctx.warnings.append(f"round {rnd}: {name}: flow_table.in_use {in_use} < {ctx.flows} flows")
    if cap > 0 and mem > 0:
        ctx.fw_memory.append((mem / cap * 1e6, cap, mem))


def run(ctx, name, rnd):
    if not ctx.dataplane_ok:
        raise BenchError(ctx.dataplane_error)
    if not ctx.dataplane_fw:
        raise BenchError(ctx.dataplane_fw_error)
    _, n = split_scenario(name)
    return measure(ctx, name, rnd,
                   lambda prefix: dataplane_argv(ctx, prefix, ctx.fw_policy_dirs[n],
                                                 ["--flow-capacity", str(FW_FLOW_CAPACITY)]),
                   check=lambda ra, rb: check_vpcnet_fw(ctx, name, n, rnd, ra, rb))
