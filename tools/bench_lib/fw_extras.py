"""The firewall's extra figures, measured in each round when a vpcnet-fw-N
scenario is selected (unless --no-fw-extras): the time of an update to a
10,000-rule SecurityGroup while forwarding (fw-update), the flow table's
memory per tracked flow (from the vpcnet-fw-N runs, see
firewall.check_vpcnet_fw) and new flows per second on one core
(fw-new-flows)."""

import math
import os
import shlex
import tempfile
import time

from .common import CONTROL_CPU, BenchError, log, write_file
from .firewall import FW_FLOW_CAPACITY, fw_policy_yaml, fw_rules
from .process import Proc, busiest_thread_share, process_thread_ticks
from .scenarios import FW_RULE_COUNTS, new_prefix, wait_forwarding
from .telemetry import JsonRpc, vpcnet_counter, vpcnet_sample
from .traffic import write_new_flows_pcap
from .vpcnet import dataplane_argv

FW_UPDATE_RULES = 10000      # rules of the live update and of the new-flow figure
FW_NEW_FLOWS = 1 << 20       # default --new-flows
MBUF_BYTES = 2816            # an mbuf of vpc-dataplane's pool (2176 B data room + headers), for -m
FLOW_BYTES_ESTIMATE = 512    # generous bytes per flow-table slot, for -m only


def prepare(ctx, run_dir):
    """The policy of the update, and the new-flow pcap and policy."""
    ctx.fw_update_policy = fw_policy_yaml(fw_rules(FW_UPDATE_RULES))
    ctx.newflow_sources = []
    if ctx.fw_extras and ctx.new_flows:
        log(f"bench: writing the new-flow pcap ({ctx.new_flows:,} flows)")
        ctx.newflow_pcap = os.path.join(run_dir, "new-flows-64B.pcap")
        ctx.newflow_sources = write_new_flows_pcap(ctx.newflow_pcap, ctx.new_flows)
        ctx.newflow_policy_dir = os.path.join(run_dir, "policy-new-flows")
        os.makedirs(ctx.newflow_policy_dir)
        write_file(os.path.join(ctx.newflow_policy_dir, "bench.yaml"),
                   fw_policy_yaml(fw_rules(FW_UPDATE_RULES), web1_ips=ctx.newflow_sources))


def fw_extras_precheck(ctx, extra):
    if not ctx.dataplane_ok:
        return ctx.dataplane_error
    if not ctx.dataplane_fw:
        return ctx.dataplane_fw_error
    if extra == "fw-update" and not ctx.controld_ok:
        return ctx.controld_error
    return None


def run_fw_update(ctx, rnd):
    """A running vpc-dataplane (SecurityGroup of 10 rules, forwarding) gets the
    10,000-rule policy from vpc-controld (policy.apply, as vpcctl apply does).
    Records the call's wall time, the data plane's last_apply (build_us: its
    tables incl. the classifier; swap_us: the RCU swap), and the forwarding
    rate before / during / after the call."""
    name = "fw-update"
    small = FW_RULE_COUNTS[0]
    prefix = new_prefix(ctx, name)
    argv = dataplane_argv(ctx, prefix, ctx.fw_policy_dirs[small], ["--flow-capacity", str(FW_FLOW_CAPACITY)])
    ctx.commands.setdefault(name, argv)
    try:
        os.unlink(ctx.rpc_socket)
    except FileNotFoundError:
        pass
    dp = Proc(f"{name}/vpc-dataplane", argv, os.path.join(ctx.logdir, f"r{rnd}-{name}-dataplane.log"),
              runtime_dir=os.path.join("/var/run/dpdk", prefix))
    cd = None
    try:
        rpc = JsonRpc(ctx.rpc_socket, dp, ctx.start_timeout)
        try:
            wait_forwarding(dp, lambda: int(vpcnet_sample(rpc)[1]["out"].get("tx_packets", 0)),
                            ctx.start_timeout)
            state = tempfile.mkdtemp(prefix=f"controld{rnd}-", dir=ctx.run_dir)
            csock = os.path.join(state, "ctl.sock")
            cargv = [ctx.controld, "--state-dir", state, "--socket", csock,
                     "--dataplane-socket", ctx.rpc_socket, "--flow-log-dir", os.path.join(state, "flow-logs")]
            ctx.command_notes.setdefault(name, [" ".join(shlex.quote(a) for a in cargv),
                                                f"# then policy.apply on {csock} with the "
                                                f"{FW_UPDATE_RULES:,}-rule policy (as vpcctl apply -f)"])
            cd = Proc(f"{name}/vpc-controld", cargv, os.path.join(ctx.logdir, f"r{rnd}-{name}-controld.log"),
                      cpus={CONTROL_CPU})
            ctl = JsonRpc(csock, cd, ctx.start_timeout, peer="vpc-controld")
            try:
                deadline = time.monotonic() + ctx.start_timeout
                while not (ctl.call("stats.get").get("controld") or {}).get("dataplane_connected"):
                    if time.monotonic() > deadline:
                        raise BenchError(f"{name}: vpc-controld did not connect to the data plane:\n"
                                         f"{cd.log_tail()}")
                    time.sleep(0.1)
                time.sleep(max(ctx.warmup, 1.0))
                k0, (t0, p0, _, _) = process_thread_ticks(dp.p.pid), vpcnet_sample(rpc)
                time.sleep(1.0)
                k1, (t1, p1, _, r1) = process_thread_ticks(dp.p.pid), vpcnet_sample(rpc)
                ta = time.monotonic()
                res = ctl.call("policy.apply", {"files": [{"file": "bench.yaml", "text": ctx.fw_update_policy}]},
                               timeout=300.0)
                tb = time.monotonic()
                k2, (t2, p2, _, r2) = process_thread_ticks(dp.p.pid), vpcnet_sample(rpc)
                time.sleep(1.0)
                k3, (t3, p3, _, _) = process_thread_ticks(dp.p.pid), vpcnet_sample(rpc)
            finally:
                ctl.close()
        finally:
            rpc.close()
        if res.get("dataplane") != "pushed":
            raise BenchError(f"{name}: policy.apply answered {res}: the data plane did not get it")
        la = r2.get("last_apply") or {}
        rules = int(la.get("rules", 0))
        if rules < FW_UPDATE_RULES:
            raise BenchError(f"{name}: after the update the classifier has {rules} rules (last_apply), "
                             f"fewer than {FW_UPDATE_RULES}")
        rules_before = int((r1.get("last_apply") or {}).get("rules", 0))
        if rules_before >= FW_UPDATE_RULES:
            raise BenchError(f"{name}: the data plane had {rules_before} classifier rules before the update")

        def rate(pa, pb, ta_, tb_):
            return (int(pb["out"].get("tx_packets", 0)) - int(pa["out"].get("tx_packets", 0))) / (tb_ - ta_) / 1e6
        after = rate(p2, p3, t2, t3)
        # the worker's CPU share in each window (the busiest thread over the whole time)
        worker = max(k3, key=lambda key: k3[key] - k0.get(key, k3[key]), default=None)
        hz = os.sysconf("SC_CLK_TCK")

        def share(ka, kb, ta_, tb_):
            return (kb.get(worker, 0) - ka.get(worker, 0)) / hz / (tb_ - ta_)
        if after <= 0:
            raise BenchError(f"{name}: nothing forwarded after the update:\n{dp.log_tail()}")
        rec = {"wall_ms": (tb - ta) * 1e3, "build_us": int(la.get("build_us", 0)),
               "swap_us": int(la.get("swap_us", 0)), "rules": rules, "before": rate(p0, p1, t0, t1),
               "during": rate(p1, p2, t1, t2), "after": after,
               "cpu": (share(k0, k1, t0, t1), share(k1, k2, t1, t2), share(k2, k3, t2, t3))}
        ctx.fw_update.append(rec)
        return rec
    finally:
        if cd is not None:
            cd.stop()
        dp.stop()


def run_fw_newflows(ctx, rnd):
    """vpc-dataplane on a pcap of --new-flows distinct UDP flows (one frame
    each, looped), db1 in the 10,000-rule group: during the first pass every
    packet is a new flow. stats.get is sampled every few ms; the rate is the
    growth of "flows_created" between 5 % and 95 % of the flows."""
    name = "fw-new-flows"
    n = ctx.new_flows
    cap = max(FW_FLOW_CAPACITY, 1 << (2 * n - 1).bit_length())  # at most half full at the end
    mbufs = n + 32767  # net_pcap's infinite_rx keeps every frame of the pcap in an mbuf
    mem = ctx.mem + math.ceil(mbufs * MBUF_BYTES / 2**20) + math.ceil(cap * FLOW_BYTES_ESTIMATE / 2**20)
    prefix = new_prefix(ctx, name)
    argv = dataplane_argv(ctx, prefix, ctx.newflow_policy_dir,
                          # every flow comes from web1: no per-Interface share
                          ["--flow-capacity", str(cap), "--flow-share", "100", "--mbufs", str(mbufs)],
                          pcap=ctx.newflow_pcap, mem=mem)
    ctx.commands.setdefault(name, argv)
    try:
        os.unlink(ctx.rpc_socket)
    except FileNotFoundError:
        pass
    timeout = 3 * ctx.start_timeout  # loading the big pcap takes a while
    dp = Proc(name, argv, os.path.join(ctx.logdir, f"r{rnd}-{name}.log"),
              runtime_dir=os.path.join("/var/run/dpdk", prefix))
    try:
        rpc = JsonRpc(ctx.rpc_socket, dp, timeout, poll=0.01)
        samples = []  # (t, flows_created, tx out, rx in, thread ticks, drops)
        try:
            deadline = time.monotonic() + timeout
            last_change = time.monotonic()
            while True:
                t, ports, drops, res = vpcnet_sample(rpc)
                ticks = process_thread_ticks(dp.p.pid)
                c = vpcnet_counter(res, "flows_created")
                if c is None:
                    raise BenchError(f"{name}: stats.get has no flows_created counter")
                samples.append((t, c, int(ports["out"].get("tx_packets", 0)),
                                int(ports["in"].get("rx_packets", 0)), ticks, drops))
                if len(samples) > 1 and c != samples[-2][1]:
                    last_change = t
                if c >= n:
                    break
                if c > 0 and t - last_change > 5.0:
                    break  # stopped growing short of n: reported below
                if not dp.alive():
                    raise BenchError(f"{name}: vpc-dataplane exited:\n{dp.log_tail()}")
                if t > deadline:
                    nz = {k: v for k, v in drops.items() if v}
                    raise BenchError(f"{name}: {c} flows created after {timeout:.0f} s "
                                     f"(in {samples[-1][3]}, out {samples[-1][2]}, drops {nz or 'none'})")
                time.sleep(0.003)
        finally:
            rpc.close()
        with open(os.path.join(ctx.logdir, f"r{rnd}-{name}-samples.csv"), "w") as f:
            first, last = samples[0][4], samples[-1][4]
            worker = max(last, key=lambda key: last[key] - first.get(key, last[key]), default=None)
            f.write("t_s,flows_created,tx_out,rx_in,worker_thread_cpu_ticks\n")
            for t, c, x, i, k, _ in samples:
                f.write(f"{t - samples[0][0]:.4f},{c},{x},{i},{k.get(worker, '')}\n")
        final = samples[-1][1]
        lo, hi = 0.05 * n, 0.95 * n
        a = next((i for i, s in enumerate(samples) if s[1] >= lo), None)
        b = next((i for i in range(len(samples) - 1, -1, -1) if samples[i][1] <= hi), None)
        if a is None or b is None or b <= a:
            raise BenchError(f"{name}: fewer than two samples while the flows were created (first sample "
                             f"{samples[0][1]} flows, {len(samples)} samples): the first pass was too "
                             f"fast to sample; use a larger --new-flows")
        (ta, ca, xa, ia, ka, da), (tb, cb, xb, ib, kb, db) = samples[a], samples[b]
        dt = tb - ta
        drops = {k: v - da.get(k, 0) for k, v in db.items() if v - da.get(k, 0)}
        if final < 0.99 * n:
            ctx.warnings.append(f"round {rnd}: {name}: only {final} of {n} flows were created "
                                f"(drops while measured: {drops or 'none'})")
        elif drops:
            ctx.warnings.append(f"round {rnd}: {name}: drops while flows were created: {drops}")
        rec = {"rate": (cb - ca) / dt / 1e6, "pps": (xb - xa) / dt / 1e6, "rx": (ib - ia) / dt / 1e6,
               "share": busiest_thread_share(ka, kb, dt), "dt": dt, "samples": b - a + 1,
               "flows": cb - ca, "capacity": cap}
        ctx.fw_newflows.append(rec)
        return rec
    finally:
        dp.stop()
