"""Scenario group "base", vpcnet: vpc-dataplane routes web1 -> db1 between
two subnets (rate = tx_packets of port "out" from stats.get). Also how every
vpcnet scenario starts the data plane and measures it."""

import datetime
import os
import time

from .common import CONTROL_CPU, FORWARD_CPU, BenchError
from .process import Proc, busiest_thread_share, thread_cpu_ticks
from .scenarios import (check_forwarded, eal_args, new_prefix, port_vdevs, split_scenario,
                        wait_forwarding)
from .telemetry import JsonRpc, vpcnet_sample

KINDS = ("vpcnet",)

POLICY_YAML = """\
# vpcnet benchmark policy, written by tools/bench
kind: Vpc
name: prod
spec:
  cidrs: [10.0.0.0/16]
  routerMac: "02:76:70:63:00:01"
---
kind: Subnet
name: web
spec:
  vpc: prod
  cidrs: [10.0.1.0/24]
---
kind: Subnet
name: db
spec:
  vpc: prod
  cidrs: [10.0.2.0/24]
---
kind: Interface
name: web1
spec:
  port: in
  subnet: web
  mac: "02:00:00:00:01:01"
  ips: [10.0.1.10]
---
kind: Interface
name: db1
spec:
  port: out
  subnet: db
  mac: "02:00:00:00:02:01"
  ips: [10.0.2.10]
"""


def binary_mentions(path, *needles):
    """True if the binary contains every needle (an option's name, a stats key)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False
    return all(n in data for n in needles)


def dataplane_argv(ctx, prefix, policy_dir, extra=(), pcap=None, mem=None):
    rx, tx = port_vdevs(ctx, pcap)
    return ([ctx.dataplane] + eal_args(ctx, f"{CONTROL_CPU},{FORWARD_CPU}", prefix, mem) +
            ["--", "--port", f"in={rx}", "--port", f"out={tx}",
             "--policy", policy_dir, "--socket", ctx.rpc_socket] + list(extra))


def setup(ctx, a):
    """Finds vpc-dataplane and vpc-controld in the build dir (checked once, before any run)."""
    ctx.dataplane = os.path.abspath(os.path.join(a.build, "dataplane", "vpc-dataplane"))
    ctx.dataplane_ok = os.path.isfile(ctx.dataplane) and os.access(ctx.dataplane, os.X_OK)
    ctx.dataplane_error = (
        f"vpcnet: {ctx.dataplane} does not exist or is not executable; build the data plane "
        f"(meson setup build && ninja -C build), pass --build DIR, or leave vpcnet out with "
        f"--only testpmd-io,testpmd-csum,l3fwd-lpm,l3fwd-acl,ovs-dpdk-ct")
    ctx.dataplane_fw = ctx.dataplane_ok and binary_mentions(ctx.dataplane, b"--flow-capacity",
                                                            b"last_apply", b"flows_created")
    ctx.dataplane_fw_error = (
        f"vpcnet-fw: {ctx.dataplane} has no firewall yet (no --flow-capacity option, last_apply "
        f"or flows_created in it): build the data plane with connection tracking, or leave "
        f"vpcnet-fw out with --only l3fwd-acl,ovs-dpdk-ct,l3fwd-lpm")
    ctx.controld = os.path.abspath(os.path.join(a.build, "control", "vpc-controld"))
    ctx.controld_ok = os.path.isfile(ctx.controld) and os.access(ctx.controld, os.X_OK)
    ctx.controld_error = (f"fw-update: {ctx.controld} does not exist or is not executable "
                          f"(ninja -C BUILD control/vpc-controld)")
    if ctx.dataplane_ok and any(split_scenario(s)[0] in ("vpcnet", "vpcnet-fw") for s in ctx.selected):
        built = datetime.datetime.fromtimestamp(os.path.getmtime(ctx.dataplane)).astimezone()
        ctx.machine.append(("vpc-dataplane", f"{ctx.dataplane} (built {built:%Y-%m-%d %H:%M %Z})"))


def precheck(ctx, kind):
    """Why a scenario of this group cannot run, or None."""
    if not ctx.dataplane_ok:
        return ctx.dataplane_error
    return None


def measure(ctx, name, rnd, argv_of, check=None):
    """One run of vpc-dataplane with argv_of(prefix): warm-up, then the
    output rate over --seconds. check(ra, rb), if given, inspects the
    stats.get results before and after the measurement. Returns (Mpps out,
    out/in, CPU share of the busiest thread)."""
    prefix = new_prefix(ctx, name)
    argv = argv_of(prefix)
    ctx.commands.setdefault(name, argv)
    try:
        os.unlink(ctx.rpc_socket)
    except FileNotFoundError:
        pass
    proc = Proc(name, argv, os.path.join(ctx.logdir, f"r{rnd}-{name}.log"),
                runtime_dir=os.path.join("/var/run/dpdk", prefix))
    try:
        rpc = JsonRpc(ctx.rpc_socket, proc, ctx.start_timeout)
        try:
            def describe():
                _, ports, drops, _ = vpcnet_sample(rpc)
                nz = {k: v for k, v in drops.items() if v}
                return (f"port in received {ports['in'].get('rx_packets')}, "
                        f"port out sent {ports['out'].get('tx_packets')}, "
                        f"port in sent {ports['in'].get('tx_packets')}, drops {nz or 'none'}")
            wait_forwarding(proc, lambda: int(vpcnet_sample(rpc)[1]["out"].get("tx_packets", 0)),
                            ctx.start_timeout, describe)
            time.sleep(ctx.warmup)
            c0 = thread_cpu_ticks(proc.p.pid)
            t0, pa, da, ra = vpcnet_sample(rpc)
            time.sleep(ctx.seconds)
            t1, pb, db, rb = vpcnet_sample(rpc)
            c1 = thread_cpu_ticks(proc.p.pid)
        finally:
            rpc.close()
        if not proc.alive():
            raise BenchError(f"{name} exited during the measurement:\n{proc.log_tail()}")

        def delta(port, key):
            return int(pb[port].get(key, 0)) - int(pa[port].get(key, 0))

        d_in = delta("in", "rx_packets")
        d_out = delta("out", "tx_packets")
        drops = {k: v - da.get(k, 0) for k, v in db.items() if v - da.get(k, 0)}
        issues = {f"{p}.{k}": delta(p, k) for p in ("in", "out")
                  for k in ("rx_missed", "tx_errors") if delta(p, k)}
        extra = ""
        if drops:
            extra += f"; drops: {drops}"
        if issues:
            extra += f"; port counters: {issues}"
        frac = check_forwarded(name, d_in, d_out, extra)
        if drops:
            ctx.warnings.append(f"round {rnd}: {name} counted drops while measured: {drops}")
        if issues:
            raise BenchError(f"{name}: port errors/misses during the measurement: {issues}")
        if check:
            check(ra, rb)
        return d_out / (t1 - t0) / 1e6, frac, busiest_thread_share(c0, c1, t1 - t0)
    finally:
        proc.stop()


def run(ctx, name, rnd):
    if not ctx.dataplane_ok:
        raise BenchError(ctx.dataplane_error)
    return measure(ctx, name, rnd, lambda prefix: dataplane_argv(ctx, prefix, ctx.policy_dir))
