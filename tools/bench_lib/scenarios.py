"""The scenarios and groups of the benchmark (--only), and what running any
of them takes: EAL arguments, the two ports, waiting until it forwards and
measuring a DPDK application through its telemetry socket."""

import os
import time

from .common import MIN_FORWARDED, BenchError
from .process import Proc, busiest_thread_share, thread_cpu_ticks
from .telemetry import Telemetry, ethdev_sample

FW_RULE_COUNTS = (10, 1000, 10000)
FW_KINDS = ("vpcnet-fw", "l3fwd-acl", "ovs-dpdk-ct")
BASE_SCENARIOS = ["vpcnet", "testpmd-io", "testpmd-csum", "l3fwd-lpm"]
FW_SCENARIOS = [f"{kind}-{n}" for n in FW_RULE_COUNTS for kind in FW_KINDS]
ENCRYPTION_SCENARIOS = ["esp", "dpdk-crypto-perf"]
SCENARIOS = BASE_SCENARIOS + FW_SCENARIOS + ENCRYPTION_SCENARIOS
GROUPS = {
    "all": SCENARIOS,
    "base": BASE_SCENARIOS,
    "fw": FW_SCENARIOS + ["l3fwd-lpm"],
    "encryption": ENCRYPTION_SCENARIOS,
    **{kind: [f"{kind}-{n}" for n in FW_RULE_COUNTS] for kind in FW_KINDS},
}

DESCRIPTIONS = {
    "vpcnet": "vpc-dataplane: routes web1 -> db1 between two subnets (MAC rewrite, TTL-1)",
    "testpmd-io": "dpdk-testpmd io forwarding: rx + tx, packet not touched",
    "testpmd-csum": "dpdk-testpmd csum forwarding: parse L2-L4, sw IPv4+UDP checksum, MAC rewrite",
    "l3fwd-lpm": "DPDK l3fwd, LPM lookup (route 10.0.2.0/24 -> port 1), TTL-1, MAC rewrite",
}
for _n in FW_RULE_COUNTS:
    DESCRIPTIONS[f"vpcnet-fw-{_n}"] = (
        f"vpcnet + SecurityGroup on db1 with {_n:,} ingress rules (traffic matches the last); "
        f"established flows (conntrack hit)")
    DESCRIPTIONS[f"l3fwd-acl-{_n}"] = (
        f"DPDK l3fwd --lookup=acl, {_n:,} rules: {_n - 1:,} '@' deny rules not matched, then the "
        f"matching 'R' route (lowest priority); TTL-1, MAC rewrite")
    DESCRIPTIONS[f"ovs-dpdk-ct-{_n}"] = (
        f"OVS-DPDK 1 PMD, userspace conntrack: ct() -> committed flow out; new flow: {_n:,} allow "
        f"rules + ct(commit)")


class Ctx:
    pass


def split_scenario(name):
    """("vpcnet-fw", 1000) for "vpcnet-fw-1000"; (name, None) for the others."""
    for kind in FW_KINDS:
        if name.startswith(kind + "-"):
            return kind, int(name[len(kind) + 1:])
    return name, None


def expand_only(text):
    names = set()
    for tok in (s.strip() for s in text.split(",")):
        if not tok:
            continue
        if tok in GROUPS:
            names.update(GROUPS[tok])
        elif tok in SCENARIOS:
            names.add(tok)
        else:
            return None, tok
    return [s for s in SCENARIOS if s in names], None


def eal_args(ctx, lcores, prefix, mem=None):
    return ["-l", lcores, "--no-huge", "-m", str(mem or ctx.mem), "--file-prefix", prefix, "--no-pci"]


def port_vdevs(ctx, pcap=None):
    return (f"net_pcap0,rx_pcap={pcap or ctx.pcap},infinite_rx=1", "net_null0,no-rx=1")


def new_prefix(ctx, name):
    ctx.seq += 1
    return f"vpcnet-bench-{os.getpid()}-{ctx.seq}-{name}"


def wait_forwarding(proc, sample_out, timeout, describe=None):
    """Poll until the output counter moves; returns nothing or raises."""
    deadline = time.monotonic() + timeout
    first = sample_out()
    while True:
        time.sleep(0.25)
        if not proc.alive():
            raise BenchError(f"{proc.name} exited (status {proc.p.returncode}) before forwarding:\n"
                             f"{proc.log_tail()}")
        if sample_out() > first:
            return
        if time.monotonic() > deadline:
            why = ""
            if describe:
                try:
                    why = f" ({describe()})"
                except (BenchError, OSError, ValueError, KeyError) as e:
                    why = f" ({e})"
            raise BenchError(f"{proc.name}: nothing transmitted on the output port within "
                             f"{timeout:.0f} s{why}")


def check_forwarded(name, d_in, d_out, extra=""):
    if d_in <= 0:
        raise BenchError(f"{name}: the input port received nothing during the measurement")
    frac = d_out / d_in
    if frac < MIN_FORWARDED:
        raise BenchError(f"{name}: only {100 * frac:.2f} % of the received packets went out "
                         f"(in {d_in}, out {d_out}){extra}")
    return frac


def measure_ethdev(ctx, name, proc, tel, port_in=0, port_out=1):
    """Warm-up + measurement of a DPDK process through its telemetry socket:
    (Mpps out, out/in, CPU share of the busiest thread)."""
    ports = (port_in, port_out)

    def describe():
        st = ethdev_sample(tel, ports)[1]
        return (f"port {port_in} received {st[port_in]['ipackets']}, port {port_in} sent "
                f"{st[port_in]['opackets']}, port {port_out} sent {st[port_out]['opackets']}")
    wait_forwarding(proc, lambda: ethdev_sample(tel, ports)[1][port_out]["opackets"],
                    ctx.start_timeout, describe)
    time.sleep(ctx.warmup)
    c0 = thread_cpu_ticks(proc.p.pid)
    t0, a = ethdev_sample(tel, ports)
    time.sleep(ctx.seconds)
    t1, b = ethdev_sample(tel, ports)
    c1 = thread_cpu_ticks(proc.p.pid)
    if not proc.alive():
        raise BenchError(f"{name} exited during the measurement:\n{proc.log_tail()}")
    d = {p: {k: b[p][k] - a[p][k] for k in ("ipackets", "opackets", "imissed", "ierrors",
                                             "oerrors", "rx_nombuf")} for p in ports}
    issues = {f"port{p}.{k}": v for p in ports for k, v in d[p].items()
              if k in ("imissed", "ierrors", "oerrors", "rx_nombuf") and v}
    frac = check_forwarded(name, d[port_in]["ipackets"], d[port_out]["opackets"],
                           f"; {issues}" if issues else "")
    if issues:
        raise BenchError(f"{name}: port errors/misses during the measurement: {issues}")
    mpps = d[port_out]["opackets"] / (t1 - t0) / 1e6
    return mpps, frac, busiest_thread_share(c0, c1, t1 - t0)


def run_dpdk_app(ctx, name, rnd, command):
    """One run of a DPDK application measured through its telemetry socket:
    command(prefix) gives (argv, uses_stdin). Returns (Mpps out, out/in, CPU
    share of the busiest thread) and the path of the run's log."""
    prefix = new_prefix(ctx, name)
    argv, stdin_pipe = command(prefix)
    ctx.commands.setdefault(name, argv)
    runtime = os.path.join("/var/run/dpdk", prefix)
    log_path = os.path.join(ctx.logdir, f"r{rnd}-{name}.log")
    proc = Proc(name, argv, log_path, stdin_pipe=stdin_pipe, runtime_dir=runtime)
    try:
        tel = Telemetry(os.path.join(runtime, "dpdk_telemetry.v2"), proc, ctx.start_timeout)
        try:
            result = measure_ethdev(ctx, name, proc, tel)
        finally:
            tel.close()
    finally:
        proc.stop()
    return result, log_path
