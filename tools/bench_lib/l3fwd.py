"""Scenario groups "base" and "fw", the DPDK peers l3fwd-lpm (DPDK's l3fwd
example, LPM lookup, RFC 1812 checks, TTL decrement, MAC rewrite) and
l3fwd-acl-N (l3fwd --lookup=acl with the N rules of the firewall scenarios),
built here from dpdk-doc's sources."""

import hashlib
import os
import shutil
import subprocess

from .common import FORWARD_CPU, BenchError, log
from .machine import dpdk_version
from .scenarios import eal_args, port_vdevs, run_dpdk_app, split_scenario

KINDS = ("l3fwd-lpm", "l3fwd-acl")

# l3fwd LPM routes. Without --rule_ipv4/--rule_ipv6 l3fwd uses its built-in
# table (198.18.N.0/24 -> port N); with these files our pcap's destination
# 10.0.2.10 hits a route to port 1, so every scenario uses the same pcap.
L3FWD_RULES_V4 = "# tools/bench: the db subnet goes out of port 1 (net_null)\nR10.0.2.0/24 1\n"
L3FWD_RULES_V6 = "# tools/bench: unused (IPv4-only traffic), l3fwd needs both files\nRfd00:10:0:2::/64 1\n"

# The build-time change l3fwd needs on virtual ports (machine-notes): mask
# the requested Rx offloads (RTE_ETH_RX_OFFLOAD_CHECKSUM) by what the port
# can do, in the port config and in the Rx queue config.
L3FWD_PATCH = [
    ("\t\tlocal_port_conf.rx_adv_conf.rss_conf.rss_hf &=\n"
     "\t\t\tdev_info.flow_type_rss_offloads;\n",
     "\t\tlocal_port_conf.rx_adv_conf.rss_conf.rss_hf &=\n"
     "\t\t\tdev_info.flow_type_rss_offloads;\n"
     "\t\tlocal_port_conf.rxmode.offloads &= dev_info.rx_offload_capa; /* vpcnet-bench */\n"),
    ("\t\t\trxq_conf.offloads = port_conf.rxmode.offloads;\n",
     "\t\t\trxq_conf.offloads = port_conf.rxmode.offloads & dev_info.rx_offload_capa; /* vpcnet-bench */\n"),
]
L3FWD_STAMP_VERSION = "1"

IP_PROTO = {"tcp": 6, "udp": 17}


def l3fwd_acl_rules(rules):
    """l3fwd's ACL rule file (IPv4): the first n-1 rules as '@' rules (l3fwd's
    '@' rules deny), then the matching one as the 'R' rule routing to port 1.
    A rule's priority is its line order, so the route is the lowest."""
    out = [f"# tools/bench: {len(rules)} classifier rules: {len(rules) - 1} '@' (deny) rules the traffic\n"
           "# does not match, then the 'R' route it matches (last line = lowest priority).\n"
           "# @src/len dst/len sport_lo : sport_hi dport_lo : dport_hi proto/mask [port]\n"]
    for i, (proto, lo, hi, cidr) in enumerate(rules):
        lead = "R" if i == len(rules) - 1 else "@"
        line = f"{lead}{cidr} 10.0.2.0/24 0 : 65535 {lo} : {hi} {IP_PROTO[proto]}/0xff"
        out.append(line + (" 1\n" if lead == "R" else "\n"))
    return "".join(out)


# l3fwd ACL mode needs an IPv6 rule file with at least one route: unused here.
L3FWD_ACL_RULES_V6 = ("# tools/bench: unused (IPv4-only traffic), l3fwd needs both files\n"
                      "R0:0:0:0:0:0:0:0/0 fd00:10:0:2:0:0:0:0/64 0 : 65535 0 : 65535 17/0xff 1\n")


def build_l3fwd(workdir, rebuild):
    try:
        return _build_l3fwd(workdir, rebuild)
    except OSError as e:
        raise BenchError(f"l3fwd: cannot build l3fwd: {e}")


def _build_l3fwd(workdir, rebuild):
    src = "/usr/share/dpdk/examples"
    dst = os.path.join(workdir, "examples")
    binary = os.path.join(dst, "l3fwd", "build", "l3fwd")
    if not os.path.isfile(os.path.join(src, "l3fwd", "main.c")):
        raise BenchError(f"l3fwd: {src}/l3fwd not found: apt-get install dpdk-doc")
    with open(os.path.join(src, "l3fwd", "main.c"), "rb") as f:
        h = hashlib.sha256(f.read())
    h.update(repr(L3FWD_PATCH).encode())
    h.update(dpdk_version().encode())
    stamp_text = L3FWD_STAMP_VERSION + " " + h.hexdigest()
    stamp = os.path.join(dst, ".vpcnet-bench-stamp")
    if not rebuild and os.access(binary, os.X_OK):
        try:
            with open(stamp) as f:
                if f.read().strip() == stamp_text:
                    log(f"l3fwd: reusing {binary} (--rebuild-l3fwd to rebuild)")
                    return binary
        except OSError:
            pass
    log(f"l3fwd: copying {src} to {dst}, patching l3fwd/main.c, building with make")
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, symlinks=True)
    main_c = os.path.join(dst, "l3fwd", "main.c")
    with open(main_c) as f:
        text = f.read()
    for old, new in L3FWD_PATCH:
        if text.count(old) != 1:
            raise BenchError("l3fwd: the Rx-offload patch does not apply to "
                             f"{main_c} (anchor not found once): {old.strip()!r}")
        text = text.replace(old, new)
    with open(main_c, "w") as f:
        f.write(text)
    build_log = os.path.join(workdir, "l3fwd-build.log")
    with open(build_log, "wb") as lf:
        r = subprocess.run(["make", "-C", os.path.join(dst, "l3fwd"), "-j", str(os.cpu_count() or 1)],
                           stdout=lf, stderr=subprocess.STDOUT)
    if r.returncode != 0 or not os.access(binary, os.X_OK):
        raise BenchError(f"l3fwd: build failed (make exit {r.returncode}), see {build_log}")
    with open(stamp, "w") as f:
        f.write(stamp_text + "\n")
    return binary


def setup(ctx, a):
    """Builds l3fwd when an l3fwd scenario is selected (once, before any run)."""
    ctx.l3fwd, ctx.l3fwd_error = None, None
    if any(split_scenario(s)[0] in KINDS for s in ctx.selected):
        try:
            ctx.l3fwd = build_l3fwd(a.workdir, a.rebuild_l3fwd)
        except BenchError as e:
            ctx.l3fwd_error = str(e)


def precheck(ctx, kind):
    """Why a scenario of this group cannot run, or None."""
    if ctx.l3fwd is None:
        return ctx.l3fwd_error
    return None


def command(ctx, name, prefix):
    """(argv, uses_stdin) of l3fwd-lpm or l3fwd-acl-N."""
    rx, tx = port_vdevs(ctx)
    kind, n = split_scenario(name)
    # One lcore: l3fwd gives every enabled lcore a Tx queue on every port
    # and net_pcap has only one, so the main lcore is the forwarding lcore.
    if kind == "l3fwd-acl":
        lookup = ["--lookup=acl", f"--rule_ipv4={ctx.acl_rules[n]}",
                  f"--rule_ipv6={ctx.acl_rules_v6}"]
    else:
        lookup = ["--lookup=lpm", f"--rule_ipv4={ctx.rules_v4}", f"--rule_ipv6={ctx.rules_v6}"]
    return ([ctx.l3fwd] + eal_args(ctx, f"{FORWARD_CPU}", prefix) +
            ["--vdev", rx, "--vdev", tx, "--",
             "-p", "0x3", f"--config=(0,0,{FORWARD_CPU})", "--parse-ptype"] + lookup), False


def run(ctx, name, rnd):
    result, log_path = run_dpdk_app(ctx, name, rnd, lambda prefix: command(ctx, name, prefix))
    kind, n = split_scenario(name)
    if kind == "l3fwd-acl":
        # l3fwd logs what it loaded: check the classifier got every rule
        with open(log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        want = (f"IPv4 ACL entries {n - 1}:", "IPv4 Route entries 1:")
        if not all(w in text for w in want):
            raise BenchError(f"{name}: l3fwd's log does not say {' / '.join(want)}: the rule file "
                             f"was not loaded as written ({ctx.acl_rules[n]})")
    return result
