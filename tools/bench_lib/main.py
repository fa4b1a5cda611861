"""The command line of tools/bench and the interleaved rounds."""

import argparse
import atexit
import os
import shlex
import shutil
import signal
import sys
import tempfile

import bench_lib

from . import encryption, firewall, fw_extras, l3fwd, ovs, report, testpmd, vpcnet
from .common import CONTROL_CPU, BenchError, log, write_file
from .fw_extras import FW_NEW_FLOWS
from .machine import machine_info, read_loadavg
from .process import on_signal, stop_all
from .scenarios import (BASE_SCENARIOS, ENCRYPTION_SCENARIOS, FW_RULE_COUNTS, FW_SCENARIOS, GROUPS, SCENARIOS, Ctx,
                        expand_only, split_scenario)
from .traffic import write_pcap

# The scenario groups, each with the scenario kinds it runs (KINDS), what it
# checks once before the rounds (setup, precheck) and how it runs one (run).
GROUP_MODULES = (vpcnet, firewall, testpmd, l3fwd, ovs, encryption)
MODULE_OF_KIND = {kind: m for m in GROUP_MODULES for kind in m.KINDS}


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="tools/bench", description=bench_lib.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3, min 1)")
    ap.add_argument("--seconds", type=float, default=5.0, help="measured seconds per run (default 5)")
    ap.add_argument("--warmup", type=float, default=2.0,
                    help="seconds of forwarding before the first sample (default 2)")
    ap.add_argument("--build", default="./build",
                    help="meson build dir holding dataplane/vpc-dataplane and control/vpc-controld "
                         "(default ./build)")
    ap.add_argument("--only", default="all",
                    help="comma-separated scenarios and groups to run (default all). Scenarios: " +
                         ",".join(BASE_SCENARIOS) + ", vpcnet-fw-N,l3fwd-acl-N,ovs-dpdk-ct-N for N = " +
                         ",".join(map(str, FW_RULE_COUNTS)) + ", and " + ",".join(ENCRYPTION_SCENARIOS) +
                         ". Groups: base (the first four), fw (the firewall scenarios + l3fwd-lpm), "
                         "vpcnet-fw, l3fwd-acl, ovs-dpdk-ct (each N), encryption (esp + dpdk-crypto-perf), all")
    ap.add_argument("--esp-seconds", type=float, default=0.5,
                    help="encryption: esp_bench's timed seconds per cell (engine x op x size) and round "
                         "(default 0.5)")
    ap.add_argument("--crypto-ops", type=int, default=2000000,
                    help="encryption: dpdk-test-crypto-perf --total-ops per size (default 2000000)")
    ap.add_argument("--markdown", action="store_true",
                    help="print machine, command and table as markdown (for docs/performance.md)")
    ap.add_argument("--flows", type=int, default=1024,
                    help="UDP flows (source ports 1024..) in the pcap (default 1024)")
    ap.add_argument("--mem", type=int, default=1024,
                    help="EAL -m MB for every process, with --no-huge (default 1024)")
    ap.add_argument("--new-flows", type=int, default=FW_NEW_FLOWS,
                    help=f"distinct flows in the pcap of the new-flow figure (default {FW_NEW_FLOWS}; "
                         f"0 = no new-flow figure)")
    ap.add_argument("--no-fw-extras", action="store_true",
                    help="with vpcnet-fw-N: skip the update and new-flow measurements")
    ap.add_argument("--ovs-est-only", action="store_true",
                    help="OVS: fast path only on ct_state=+est, as in the textbook pipeline (one-way UDP "
                         "never gets +est, so every packet then goes through the allow rules and "
                         "ct(commit)); default: committed connections carry ct_mark=1 and skip the rules")
    ap.add_argument("--workdir", default="/tmp/vpcnet-bench",
                    help="build outputs and run files (default /tmp/vpcnet-bench)")
    ap.add_argument("--rebuild-l3fwd", action="store_true", help="rebuild l3fwd even if cached")
    ap.add_argument("--keep", action="store_true", help="keep the run dir (pcap, policy, logs)")
    ap.add_argument("--start-timeout", type=float, default=30.0,
                    help="seconds a process may take to come up and forward (default 30)")
    a = ap.parse_args(argv)
    a.only, bad = expand_only(a.only)
    if bad or not a.only:
        ap.error(f"--only: unknown scenario or group {bad!r}; choose from "
                 f"{','.join(SCENARIOS)} or the groups {','.join(GROUPS)}")
    if a.esp_seconds <= 0 or a.crypto_ops < 1000:
        ap.error("need --esp-seconds > 0, --crypto-ops >= 1000")
    if a.rounds < 1 or a.seconds <= 0 or a.warmup < 0 or not 1 <= a.flows <= 64511:
        ap.error("need --rounds >= 1, --seconds > 0, --warmup >= 0, 1 <= --flows <= 64511")
    if not (a.new_flows == 0 or 1000 <= a.new_flows <= 4 << 20):
        ap.error("need --new-flows 0 or 1000 .. 4194304")
    return a


def precheck(ctx, name):
    """Why a scenario cannot run (checked once, before the rounds), or None."""
    kind, _ = split_scenario(name)
    return MODULE_OF_KIND[kind].precheck(ctx, kind)


def new_context(a, argv):
    ctx = Ctx()
    ctx.rounds, ctx.seconds, ctx.warmup = a.rounds, a.seconds, a.warmup
    ctx.mem, ctx.start_timeout, ctx.flows = a.mem, a.start_timeout, a.flows
    ctx.selected = a.only
    ctx.cmdline = " ".join(["tools/bench"] + [shlex.quote(x) for x in argv])
    ctx.seq = 0
    ctx.results = {s: [] for s in ctx.selected}
    ctx.shares = {s: [] for s in ctx.selected}
    ctx.warnings = []
    ctx.errors = {}
    ctx.commands = {}
    ctx.command_notes = {}
    ctx.fw_memory, ctx.fw_update, ctx.fw_newflows = [], [], []
    ctx.fw_extras = any(split_scenario(s)[0] == "vpcnet-fw" for s in ctx.selected) and not a.no_fw_extras
    ctx.new_flows = a.new_flows
    ctx.ovs_est_only = a.ovs_est_only
    return ctx


def prepare(ctx, a, run_dir):
    """The pcap, policies and rule files of the selected scenarios, and what
    each scenario needs, checked once, before any run."""
    os.makedirs(ctx.logdir)
    ctx.pcap = os.path.join(run_dir, "web1-to-db1-64B.pcap")
    write_pcap(ctx.pcap, a.flows)
    ctx.policy_dir = os.path.join(run_dir, "policy")
    os.makedirs(ctx.policy_dir)
    write_file(os.path.join(ctx.policy_dir, "bench.yaml"), vpcnet.POLICY_YAML)
    ctx.rules_v4 = write_file(os.path.join(run_dir, "l3fwd-rules-v4.cfg"), l3fwd.L3FWD_RULES_V4)
    ctx.rules_v6 = write_file(os.path.join(run_dir, "l3fwd-rules-v6.cfg"), l3fwd.L3FWD_RULES_V6)
    if any(s in FW_SCENARIOS for s in ctx.selected):
        firewall.prepare(ctx, run_dir, a)
        fw_extras.prepare(ctx, run_dir)
    ctx.rpc_socket = os.path.join(run_dir, "dp.sock")
    ctx.machine = machine_info()
    for m in GROUP_MODULES:
        if hasattr(m, "setup"):
            m.setup(ctx, a)
    try:
        busy = float(read_loadavg().split()[0])
    except ValueError:
        busy = 0.0
    if busy > 1.0:
        log(f"bench: warning: load average {busy:.2f} on {os.cpu_count()} CPUs: other work "
            f"competes with the forwarding core, figures will be noisy (compare within this run)")


def run_scenarios(ctx, rnd):
    for name in ctx.selected:
        why = precheck(ctx, name)
        if why:
            if name not in ctx.errors:
                log(f"{name}: {why}")
            ctx.errors.setdefault(name, why)
            continue
        kind, _ = split_scenario(name)
        module = MODULE_OF_KIND[kind]
        try:
            if hasattr(module, "run_cells"):  # many figures per run, in the group's own table
                module.run_cells(ctx, name, rnd)
                continue
            mpps, frac, share = module.run(ctx, name, rnd)
            ctx.results[name].append(mpps)
            ctx.shares[name].append(share)
            log(f"round {rnd}/{ctx.rounds}  {name:17} {mpps:7.2f} Mpps  "
                f"(out/in {100 * frac:.2f} %, forwarding thread on CPU {100 * share:.0f} %)")
        except BenchError as e:
            ctx.errors.setdefault(name, f"round {rnd}: {e}")
            log(f"round {rnd}/{ctx.rounds}  {name:17} FAILED: {e}")


def run_fw_extras(ctx, rnd):
    for extra, fn in (("fw-update", fw_extras.run_fw_update), ("fw-new-flows", fw_extras.run_fw_newflows)):
        if extra == "fw-new-flows" and not ctx.new_flows:
            continue
        why = fw_extras.fw_extras_precheck(ctx, extra)
        if why:
            if extra not in ctx.errors:
                log(f"{extra}: {why}")
            ctx.errors.setdefault(extra, why)
            continue
        try:
            rec = fn(ctx, rnd)
            if extra == "fw-update":
                log(f"round {rnd}/{ctx.rounds}  {extra:17} policy.apply {rec['wall_ms']:.0f} ms, "
                    f"build {rec['build_us'] / 1e3:.1f} ms + swap {rec['swap_us']} us "
                    f"({rec['rules']} rules); {rec['before']:.2f} / {rec['during']:.2f} / "
                    f"{rec['after']:.2f} Mpps before / during / after (forwarding thread on CPU "
                    f"{' / '.join(f'{100 * c:.0f}' for c in rec['cpu'])} %)")
            else:
                log(f"round {rnd}/{ctx.rounds}  {extra:17} {rec['rate']:.3f} M new flows/s "
                    f"({rec['samples']} samples over {rec['dt'] * 1e3:.0f} ms, forwarding thread "
                    f"on CPU {100 * rec['share']:.0f} %)")
        except BenchError as e:
            ctx.errors.setdefault(extra, f"round {rnd}: {e}")
            log(f"round {rnd}/{ctx.rounds}  {extra:17} FAILED: {e}")


def main(argv):
    a = parse_args(argv)
    if (os.cpu_count() or 1) < 2:
        log("bench: needs at least 2 CPUs (one forwarding core, one for control)")
        return 2
    ctx = new_context(a, argv)

    signal.signal(signal.SIGINT, on_signal)  # also when started with SIGINT ignored
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    atexit.register(stop_all)
    try:  # keep this script off the forwarding CPU
        os.sched_setaffinity(0, {CONTROL_CPU})
    except OSError:
        pass

    os.makedirs(a.workdir, exist_ok=True)
    run_dir = tempfile.mkdtemp(prefix="run-", dir=a.workdir)
    ctx.run_dir = run_dir
    ctx.logdir = os.path.join(run_dir, "logs")
    failed = False
    try:
        prepare(ctx, a, run_dir)
        log(f"bench: run dir {run_dir}; {ctx.rounds} rounds of {', '.join(ctx.selected)}"
            + (" + the firewall extras" if ctx.fw_extras else "") +
            f", {ctx.warmup:g} s warm-up + {ctx.seconds:g} s each")
        for rnd in range(1, ctx.rounds + 1):
            run_scenarios(ctx, rnd)
            if ctx.fw_extras:
                run_fw_extras(ctx, rnd)
    except KeyboardInterrupt:
        log("bench: interrupted; stopping every process it started")
        stop_all()
        return 130
    finally:
        stop_all()
        if not a.keep and not ctx.errors:
            shutil.rmtree(run_dir, ignore_errors=True)
        elif ctx.errors:
            log(f"bench: logs kept in {ctx.logdir}")

    ctx.machine.append(("load average at end", read_loadavg()))
    if a.markdown:
        report.print_markdown(ctx)
    else:
        report.print_text(ctx)
    for w in ctx.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for name in ctx.selected + ["fw-update", "fw-new-flows"]:
        if name in ctx.errors:
            failed = True
            print(f"\n{name}: no figure for every round. First failure:\n  {ctx.errors[name]}",
                  file=sys.stderr)
    return 1 if failed else 0
