"""Scenario group "fw", the peer ovs-dpdk-ct-N: Open vSwitch with DPDK
(Debian package openvswitch-switch-dpdk), a private ovsdb-server and
ovs-vswitchd, a netdev bridge with one PMD on the forwarding CPU and
userspace conntrack: committed flows go out, new ones go through the N
allow rules of the firewall scenarios and ct(commit)."""

import os
import shlex
import shutil
import subprocess
import tempfile
import time

from .common import CONTROL_CPU, FORWARD_CPU, BenchError, log
from .process import Proc
from .scenarios import measure_ethdev, new_prefix, port_vdevs, split_scenario
from .telemetry import Telemetry

KINDS = ("ovs-dpdk-ct",)

OVS_VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
OVS_TOOLS = ("ovsdb-tool", "ovsdb-server", "ovs-vsctl", "ovs-ofctl", "ovs-appctl")
OVS_INSTALL = "apt-get install openvswitch-switch-dpdk"
# OpenFlow cookies, to read each rule's packet count back
OVS_COOKIE_EST, OVS_COOKIE_MARKED, OVS_COOKIE_MATCH, OVS_COOKIE_OTHER = 0x1, 0x2, 0x3, 0x1000


def port_mask(lo, hi):
    """OpenFlow value/mask of an aligned power-of-two range."""
    size = hi - lo + 1
    assert size & (size - 1) == 0 and lo % size == 0, (lo, hi)
    return 0xFFFF & ~(size - 1)


def ovs_flows(rules, out_port, est_only=False):
    """OpenFlow rules (ovs-ofctl add-flows) of the same stateful policy."""
    commit = ("ct(commit),output:%d" % out_port if est_only else
              "ct(commit,exec(set_field:0x1->ct_mark)),output:%d" % out_port)
    lines = [
        "# tools/bench: stateful firewall of %d allow rules, userspace conntrack\n" % len(rules),
        "table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1)\n",
        "table=0,priority=0,actions=drop\n",
        "table=1,cookie=%#x,priority=65000,ip,ct_state=+trk+est,actions=output:%d\n" % (OVS_COOKIE_EST, out_port),
    ]
    if not est_only:
        # One-way UDP never gets +est in OVS (est = seen in both directions):
        # the connections this policy committed carry ct_mark 1.
        lines.append("table=1,cookie=%#x,priority=64000,ip,ct_state=+trk-inv,ct_mark=0x1,actions=output:%d\n"
                     % (OVS_COOKIE_MARKED, out_port))
    for i, (proto, lo, hi, cidr) in enumerate(rules):
        last = i == len(rules) - 1
        tp = f"tp_dst={lo}" if lo == hi else f"tp_dst={lo:#x}/{port_mask(lo, hi):#x}"
        lines.append("table=1,cookie=%#x,priority=%d,ct_state=+trk+new,%s,nw_src=%s,%s,actions=%s\n"
                     % (OVS_COOKIE_MATCH if last else OVS_COOKIE_OTHER + i, 100 if last else 200,
                        proto, cidr, tp, commit))
    lines.append("table=1,priority=0,actions=drop\n")
    return "".join(lines)


def ovs_check():
    """(version text) of the Open vSwitch with DPDK installed; raises if missing."""
    missing = [p for p in (OVS_VSWITCHD, OVS_SCHEMA) if not os.path.exists(p)]
    missing += [t for t in OVS_TOOLS if not shutil.which(t, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")]
    if missing:
        raise BenchError(f"ovs-dpdk-ct: Open vSwitch with DPDK is not installed ({', '.join(missing)} "
                         f"missing): {OVS_INSTALL}  (the bench runs its own ovsdb-server and "
                         f"ovs-vswitchd under a temporary directory; it never starts or touches the "
                         f"system's openvswitch-switch)")
    r = subprocess.run([OVS_VSWITCHD, "--version"], capture_output=True, text=True)
    return " ".join(r.stdout.split()) or "unknown"


class Ovs:
    """A private ovsdb-server + ovs-vswitchd-dpdk under their own directory:
    own database, sockets and run dir (OVS_RUNDIR etc.), never the system's."""

    def __init__(self, ctx, name, rnd, prefix):
        self.ctx, self.name = ctx, name
        self.dir = tempfile.mkdtemp(prefix=f"ovs{rnd}-", dir=ctx.run_dir)  # short: socket paths
        self.db = f"unix:{self.dir}/db.sock"
        self.ctl = os.path.join(self.dir, "vswitchd.ctl")
        self.bridge = f"vpcb{os.getpid() % 100000}"  # also a kernel tap name: <= 15 chars
        self.mgmt = f"unix:{self.dir}/{self.bridge}.mgmt"
        self.prefix = prefix
        self.logbase = os.path.join(ctx.logdir, f"r{rnd}-{name}")
        self.cmdlog = self.logbase + "-commands.log"
        sbin = "/usr/sbin:/sbin"
        self.env = dict(os.environ, OVS_RUNDIR=self.dir, OVS_LOGDIR=self.dir, OVS_DBDIR=self.dir,
                        OVS_SYSCONFDIR=self.dir, PATH=os.environ.get("PATH", "") + ":" + sbin)
        self.procs = []
        self.notes = []  # what was configured, for the report

    def run(self, argv, timeout=None, note=False):
        timeout = timeout or self.ctx.start_timeout
        try:
            r = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError(f"{self.name}: {' '.join(argv[:3])} ... timed out after {timeout:.0f} s")
        except OSError as e:
            raise BenchError(f"{self.name}: cannot run {argv[0]}: {e}")
        with open(self.cmdlog, "a") as f:
            f.write("$ " + " ".join(shlex.quote(a) for a in argv) + f"\n{r.stdout}{r.stderr}"
                    f"(exit {r.returncode})\n")
        if note:
            self.notes.append(" ".join(shlex.quote(a) for a in argv))
        if r.returncode != 0:
            raise BenchError(f"{self.name}: {' '.join(argv[:2])} failed (exit {r.returncode}): "
                             f"{(r.stderr or r.stdout).strip()[-600:]}")
        return r.stdout

    def vsctl(self, *args, wait=True, note=False, timeout=None):
        timeout = timeout or self.ctx.start_timeout
        argv = ["ovs-vsctl", f"--db={self.db}", f"--timeout={int(timeout)}"]
        return self.run(argv + ([] if wait else ["--no-wait"]) + list(args), timeout=timeout + 5,
                        note=note).strip()

    def start(self, rx, tx, flows_text):
        ctx = self.ctx
        conf = os.path.join(self.dir, "conf.db")
        self.notes.append(f"# OVS_RUNDIR=OVS_DBDIR=OVS_LOGDIR=OVS_SYSCONFDIR={self.dir} for every OVS "
                          f"command (nothing of the system's Open vSwitch is used)")
        self.run(["ovsdb-tool", "create", conf, OVS_SCHEMA], note=True)
        dargv = ["ovsdb-server", conf, f"--remote=punix:{self.dir}/db.sock",
                 f"--unixctl={self.dir}/ovsdb-server.ctl", "--no-chdir", "-vconsole:info"]
        dbp = Proc(f"{self.name}/ovsdb-server", dargv, self.logbase + "-ovsdb-server.log",
                   env=self.env, cpus={CONTROL_CPU})
        self.notes.append(" ".join(shlex.quote(a) for a in dargv) + " &")
        self.procs.append(dbp)
        deadline = time.monotonic() + ctx.start_timeout
        while not os.path.exists(os.path.join(self.dir, "db.sock")):
            if not dbp.alive():
                raise BenchError(f"{self.name}: ovsdb-server exited:\n{dbp.log_tail()}")
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name}: ovsdb-server did not come up:\n{dbp.log_tail()}")
            time.sleep(0.1)
        # --legacy-mem keeps OVS from adding --in-memory, which EAL refuses with --no-huge
        extra = (f"--no-huge --legacy-mem -m {ctx.mem} --no-pci --file-prefix {self.prefix}")
        self.vsctl("init", wait=False)
        self.vsctl("set", "Open_vSwitch", ".", "other_config:dpdk-init=true",
                   f"other_config:dpdk-extra={extra}",
                   f"other_config:pmd-cpu-mask={1 << FORWARD_CPU:#x}", wait=False, note=True)
        # the main thread (and with it DPDK's main lcore, handlers,
        # revalidators) on the control CPU; the PMD thread pins itself to CPU 1
        argv = [OVS_VSWITCHD, self.db, f"--unixctl={self.ctl}", "--no-chdir", "-vconsole:info"]
        self.vswitchd = Proc(self.name, argv, self.logbase + "-vswitchd.log", env=self.env, cpus={CONTROL_CPU},
                             runtime_dir=os.path.join("/var/run/dpdk", self.prefix))
        self.procs.append(self.vswitchd)
        self.notes.append(f"# then ovs-vswitchd-dpdk (the command above), started with CPU affinity {CONTROL_CPU} "
                          f"(its main thread, DPDK main lcore, handlers, revalidators); its one PMD "
                          f"thread pins itself to CPU {FORWARD_CPU} (pmd-cpu-mask)")
        deadline = time.monotonic() + ctx.start_timeout
        while self.vsctl("get", "Open_vSwitch", ".", "dpdk_initialized", wait=False) != "true":
            if not self.vswitchd.alive():
                raise BenchError(f"{self.name}: ovs-vswitchd exited during DPDK init:\n"
                                 f"{self.vswitchd.log_tail()}")
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name}: DPDK not initialized in ovs-vswitchd after "
                                 f"{ctx.start_timeout:.0f} s:\n{self.vswitchd.log_tail()}")
            time.sleep(0.2)
        # secure: no NORMAL flow, nothing forwarded until our flows are in
        self.vsctl("add-br", self.bridge, "--", "set", "bridge", self.bridge, "datapath_type=netdev",
                   "fail_mode=secure", note=True)
        flows = os.path.join(self.dir, "flows.txt")
        with open(flows, "w") as f:
            f.write(flows_text)
        self.run(["ovs-ofctl", "add-flows", self.mgmt, flows], note=True)
        self.vsctl("add-port", self.bridge, "in", "--", "set", "Interface", "in", "type=dpdk",
                   f"options:dpdk-devargs={rx}", "ofport_request=1", "--",
                   "add-port", self.bridge, "out", "--", "set", "Interface", "out", "type=dpdk",
                   f"options:dpdk-devargs={tx}", "ofport_request=2", note=True,
                   timeout=3 * ctx.start_timeout)  # OVS fills a 262,144-mbuf pool for the ports
        for port, want in (("in", "1"), ("out", "2")):
            ofport = self.vsctl("get", "Interface", port, "ofport", wait=False)
            err = self.vsctl("get", "Interface", port, "error", wait=False)
            if ofport != want or err not in ("[]", '""'):
                raise BenchError(f"{self.name}: OVS port {port}: ofport {ofport}, error {err}:\n"
                                 f"{self.vswitchd.log_tail()}")

    def flow_packets(self):
        """{cookie: n_packets} of the OpenFlow rules of table 1."""
        out = {}
        text = self.run(["ovs-ofctl", "dump-flows", self.mgmt, "table=1"])
        for line in text.splitlines():
            fields = dict(kv.split("=", 1) for kv in line.replace(",", " ").split() if "=" in kv)
            if "cookie" in fields and "n_packets" in fields:
                c = int(fields["cookie"], 16)
                out[c] = out.get(c, 0) + int(fields["n_packets"])
        return out

    def conntrack_entries(self):
        text = self.run(["ovs-appctl", "-t", self.ctl, "dpctl/dump-conntrack"])
        return sum(1 for l in text.splitlines() if l.strip())

    def stop(self):
        if getattr(self, "vswitchd", None) is not None and self.vswitchd.alive():
            try:  # a clean exit (datapath and its tap devices removed); signals otherwise
                subprocess.run(["ovs-appctl", "-t", self.ctl, "exit", "--cleanup"], env=self.env,
                               capture_output=True, timeout=15)
                self.vswitchd.p.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for p in reversed(self.procs):
            p.stop()


def setup(ctx, a):
    """Checks Open vSwitch with DPDK is installed when an OVS scenario is selected."""
    ctx.ovs_error = None
    if any(split_scenario(s)[0] in KINDS for s in ctx.selected):
        try:
            ctx.machine.append(("Open vSwitch", ovs_check()))
        except BenchError as e:
            ctx.ovs_error = str(e)


def precheck(ctx, kind):
    """Why a scenario of this group cannot run, or None."""
    return ctx.ovs_error or None


def run(ctx, name, rnd):
    kind, n = split_scenario(name)
    if ctx.ovs_error:
        raise BenchError(ctx.ovs_error)
    prefix = new_prefix(ctx, name)
    ovs = Ovs(ctx, name, rnd, prefix)
    rx, tx = port_vdevs(ctx)
    try:
        ovs.start(rx, tx, ctx.ovs_flows[n])
        ctx.commands.setdefault(name, ovs.vswitchd.argv)
        rules = [l for l in ctx.ovs_flows[n].splitlines() if l and not l.startswith("#")]
        first = next((s for s in ctx.selected if s in ctx.command_notes and s.startswith("ovs-dpdk-ct-")), None)
        if first:  # the set-up was shown once already
            notes = [f"# set up as {first}, with the {len(rules)} OpenFlow rules of {ctx.ovs_flow_files[n]}"]
        else:
            shown = rules if len(rules) <= 9 else rules[:6] + [f"... ({len(rules) - 8} more allow rules)"] + rules[-2:]
            notes = ovs.notes + [f"# the {len(rules)} OpenFlow rules (flows.txt, a copy of "
                                 f"{ctx.ovs_flow_files[n]}):"] + ["#   " + l for l in shown]
        ctx.command_notes.setdefault(name, notes)
        runtime = os.path.join("/var/run/dpdk", prefix)
        tel = Telemetry(os.path.join(runtime, "dpdk_telemetry.v2"), ovs.vswitchd, ctx.start_timeout)
        try:
            ids = tel.port_ids()
            if "net_pcap0" not in ids or "net_null0" not in ids:
                raise BenchError(f"{name}: OVS's DPDK ports are {ids}, expected net_pcap0 and net_null0")
            result = measure_ethdev(ctx, name, ovs.vswitchd, tel, ids["net_pcap0"], ids["net_null0"])
        finally:
            tel.close()
        # It really tracked and filtered: one conntrack entry per flow; the
        # committed flows went out through the fast-path rule; new ones
        # through the matching allow rule; no other allow rule matched.
        entries = ovs.conntrack_entries()
        pk = ovs.flow_packets()
        fast = pk.get(OVS_COOKIE_MARKED, 0) + pk.get(OVS_COOKIE_EST, 0)
        matched = pk.get(OVS_COOKIE_MATCH, 0)
        others = sum(v for c, v in pk.items() if c >= OVS_COOKIE_OTHER)
        if entries < ctx.flows:
            raise BenchError(f"{name}: {entries} conntrack entries for {ctx.flows} flows")
        if matched < ctx.flows or others or (not ctx.ovs_est_only and fast <= matched):
            raise BenchError(f"{name}: unexpected rule hits: committed-flow rule {fast} packets, "
                             f"matching allow rule {matched}, other allow rules {others}")
        log(f"  {name}: {entries} conntrack entries; packets: committed-flow rule {fast}, "
            f"matching allow rule {matched}, other {n - 1} allow rules {others}")
        return result
    finally:
        ovs.stop()
