"""The output: the base and firewall tables (median, min-max, CPU share,
ratios to vpcnet), the firewall's extra figures and the commands measured,
as text or as markdown for docs/performance.md."""

import shlex
import statistics
import sys

from . import encryption
from .firewall import FW_FLOW_CAPACITY
from .fw_extras import FW_UPDATE_RULES
from .scenarios import BASE_SCENARIOS, DESCRIPTIONS, FW_KINDS, FW_RULE_COUNTS, FW_SCENARIOS, split_scenario
from .traffic import PORTS_PER_SRC_IP


def fmt(x):
    return f"{x:.2f}"


COLUMNS = ("scenario", "median Mpps", "min-max", "per round", "fwd CPU %", "Mpps/CPU",
           "/testpmd-io", "peer/vpcnet")
FW_COLUMNS = COLUMNS[:-1] + ("peer/vpcnet-fw-N",)
MATRIX_COLUMNS = ("rules", "vpcnet-fw Mpps", "l3fwd-acl Mpps", "ovs-dpdk-ct Mpps",
                  "l3fwd-acl / vpcnet-fw", "ovs-dpdk-ct / vpcnet-fw", "l3fwd-lpm / vpcnet-fw")


def median_of(ctx, name):
    vals = ctx.results.get(name)
    return statistics.median(vals) if vals else None


def base_ratio(ctx, name, med):
    if name == "vpcnet":
        return "1.00x (baseline)"
    base = median_of(ctx, "vpcnet")
    return f"{med / base:.2f}x" if base else "n/a (no vpcnet figure)"


def fw_ratio(ctx, name, med):
    kind, n = split_scenario(name)
    if kind == "vpcnet-fw":
        return "1.00x (baseline)"
    if kind in FW_KINDS:
        base = median_of(ctx, f"vpcnet-fw-{n}")
        return f"{med / base:.2f}x" if base else f"n/a (no vpcnet-fw-{n} figure)"
    # l3fwd-lpm beside every rule count
    parts = [(m, median_of(ctx, f"vpcnet-fw-{m}")) for m in FW_RULE_COUNTS
             if f"vpcnet-fw-{m}" in ctx.selected]
    got = [(m, b) for m, b in parts if b]
    if not got:
        return "n/a (no vpcnet-fw figure)"
    return " / ".join(f"{med / b:.2f}x" for _, b in got) + " (N = " + " / ".join(f"{m:,}" for m, _ in got) + ")"


def table_rows(ctx, names, ratio):
    """One tuple of strings per scenario, in COLUMNS order."""
    rows = []
    io = median_of(ctx, "testpmd-io")
    for name in names:
        vals = ctx.results.get(name, [])
        if not vals:
            rows.append((name, "FAILED", "-", "-", "-", "-", "-", "-"))
            continue
        med = statistics.median(vals)
        shares = ctx.shares[name]
        share = statistics.median(shares)
        per_cpu = [v / c for v, c in zip(vals, shares) if c > 0]
        rows.append((name, fmt(med), f"{fmt(min(vals))}-{fmt(max(vals))}",
                     " ".join(fmt(v) for v in vals), f"{100 * share:.0f}",
                     fmt(statistics.median(per_cpu)) if per_cpu else "-",
                     f"{med / io:.2f}" if io else "-", ratio(ctx, name, med)))
    return rows


def matrix_rows(ctx):
    rows = []
    lpm = median_of(ctx, "l3fwd-lpm")
    for n in FW_RULE_COUNTS:
        if not any(f"{k}-{n}" in ctx.selected for k in FW_KINDS):
            continue
        fw, acl, ovs = (median_of(ctx, f"{k}-{n}") for k in FW_KINDS)

        def cell(x):
            return fmt(x) if x else "-"

        def ratio(x):
            return f"{x / fw:.2f}x" if x and fw else "-"
        rows.append((f"{n:,}", cell(fw), cell(acl), cell(ovs), ratio(acl), ratio(ovs), ratio(lpm)))
    return rows


def mm(vals, f=fmt):
    """median (min-max)"""
    if len({f(v) for v in vals}) == 1:
        return f(vals[0])
    return f"{f(statistics.median(vals))} ({f(min(vals))}-{f(max(vals))})"


def fw_extra_lines(ctx):
    """The extra firewall figures, as sentences."""
    out = []
    if ctx.fw_extras:
        u = ctx.fw_update
        if u:
            out.append(
                f"Update to {FW_UPDATE_RULES:,} ingress rules while forwarding (vpc-controld policy.apply of the whole "
                f"policy to a running vpc-dataplane that started with the {FW_RULE_COUNTS[0]}-rule group; "
                f"{len(u)} round(s), median (min-max)): the call took "
                f"{mm([x['wall_ms'] for x in u], lambda v: f'{v:.0f}')} ms wall (controld parse + compile + "
                f"push + data plane apply + state save); the data plane built the generation's tables "
                f"incl. the classifier in {mm([x['build_us'] / 1e3 for x in u], lambda v: f'{v:.1f}')} ms "
                f"(last_apply.build_us) and swapped it in {mm([x['swap_us'] for x in u], lambda v: f'{v:.0f}')} "
                f"us (last_apply.swap_us; {u[-1]['rules']:,} classifier rules). Forwarded before / during / "
                f"after the call: {mm([x['before'] for x in u])} / {mm([x['during'] for x in u])} / "
                f"{mm([x['after'] for x in u])} Mpps (forwarding thread on CPU "
                f"{' / '.join(mm([100 * x['cpu'][i] for x in u], lambda v: f'{v:.0f}') for i in range(3))} %).")
        elif "fw-update" in ctx.errors:
            out.append(f"Update to {FW_UPDATE_RULES:,} rules: no figure ({ctx.errors['fw-update']}).")
    if ctx.fw_memory:
        per = [m for m, _, _ in ctx.fw_memory]
        _, cap, mem = ctx.fw_memory[-1]
        out.append(f"Flow table memory: {mm([p / 2**20 for p in per], lambda v: f'{v:.1f}')} MiB per million "
                   f"tracked flows (stats.get flow_table.memory_bytes / capacity x 1e6 = {mem:,} B / {cap:,} "
                   f"with --flow-capacity {FW_FLOW_CAPACITY}).")
    if ctx.fw_extras and ctx.new_flows:
        r = ctx.fw_newflows
        if r:
            out.append(
                f"New flows per second on one core: {mm([x['rate'] for x in r])} M flows/s, forwarding thread on "
                f"CPU {mm([100 * x['share'] for x in r], lambda v: f'{v:.0f}')} % "
                f"(= {mm([x['rate'] / x['share'] for x in r if x['share'] > 0])} M/s per CPU), with the "
                f"{FW_UPDATE_RULES:,}-rule group on db1. Measured: vpc-dataplane on a pcap of {ctx.new_flows:,} "
                f"distinct UDP flows ({len(ctx.newflow_sources)} source addresses of web1 x up to "
                f"{PORTS_PER_SRC_IP:,} source ports, one 64-byte frame each, net_pcap infinite_rx, "
                f"--flow-capacity {r[-1]['capacity']:,}); stats.get sampled every few ms from start; rate = "
                f"growth of the flows_created counter between the samples at 5 % and 95 % of the flows "
                f"(~{statistics.median([x['dt'] for x in r]) * 1e3:.0f} ms, "
                f"{statistics.median([x['samples'] for x in r]):.0f} samples), when every packet is a "
                f"new flow (classifier + flow install); packets out in that window: "
                f"{mm([x['pps'] for x in r])} Mpps.")
        elif "fw-new-flows" in ctx.errors:
            out.append(f"New flows per second: no figure ({ctx.errors['fw-new-flows']}).")
    return out


LEGEND = ("peer/vpcnet = the peer's median Mpps / vpcnet's median Mpps (2.00x: the peer forwards "
          "twice as many packets per second as vpcnet). fwd CPU % = median share of a CPU the "
          "forwarding thread got while measured (a busy-polling thread wants 100; less means "
          "other work on the machine took the core and the Mpps are low by about that much). "
          "Mpps/CPU = median of Mpps / that share: an estimate of the uncontended rate, "
          "indicative only (the other work also pollutes the caches). /testpmd-io = median Mpps "
          "/ testpmd-io's: the share of this setup's ceiling (feeder + ports, no work) reached.")
FW_LEGEND = ("Firewall: N rules in each peer, the same rule set (N-1 the traffic does not match, then "
             "the one it matches, last). peer/vpcnet-fw-N = the peer's median Mpps / vpcnet-fw-N's "
             "(same N; for l3fwd-lpm, which has no rules, one ratio per N). vpcnet-fw-N and "
             "ovs-dpdk-ct-N track connections (1,024 flows, established after the first pass); "
             "l3fwd-acl-N is stateless and classifies every packet against the N rules.")


def show_base_table(ctx):
    return any(s in ctx.selected for s in ("vpcnet", "testpmd-io", "testpmd-csum")) or \
        ("l3fwd-lpm" in ctx.selected and not any(s in ctx.selected for s in FW_SCENARIOS))


def forwarding_selected(ctx):
    return any(s in ctx.selected for s in BASE_SCENARIOS + FW_SCENARIOS)


def fw_names(ctx):
    names = [s for s in ctx.selected if s in FW_SCENARIOS]
    return names + (["l3fwd-lpm"] if names and "l3fwd-lpm" in ctx.selected else [])


def print_columns(out, header, rows):
    n = len(header)
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(n)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    print(line, file=out)
    print("-" * len(line), file=out)
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)), file=out)


def command_lines(ctx, md):
    lines = []
    for name in ctx.selected + ["fw-update", "fw-new-flows"]:
        if name in ctx.commands:
            cmd = " ".join(shlex.quote(a) for a in ctx.commands[name])
            lines.append(f"# {name}" if md else f"  {name}: {cmd}")
            if md:
                lines.append(cmd)
            for note in ctx.command_notes.get(name, []):
                lines.append(note if md else f"      {note}")
    return lines


def print_text(ctx):
    out = sys.stdout
    print("", file=out)
    if forwarding_selected(ctx):
        print("vpcnet bench: 64-byte IPv4/UDP frames (60 B + 4 B FCS), net_pcap infinite_rx -> "
              "net_null, one forwarding core", file=out)
    for k, v in ctx.machine:
        print(f"  {k + ':':24} {v}", file=out)
    print(f"  {'command:':24} {ctx.cmdline}", file=out)
    print(f"  {'rounds x seconds:':24} {ctx.rounds} x {ctx.seconds:g} s (after {ctx.warmup:g} s warm-up), "
          f"interleaved", file=out)
    if show_base_table(ctx):
        print("", file=out)
        names = [s for s in ctx.selected if s in BASE_SCENARIOS]
        print_columns(out, COLUMNS, table_rows(ctx, names, base_ratio))
        print("", file=out)
        print(LEGEND, file=out)
    fwn = fw_names(ctx)
    if fwn:
        print("\nFirewall (stateful filtering, N rules):\n", file=out)
        print_columns(out, FW_COLUMNS, table_rows(ctx, fwn, fw_ratio))
        print("", file=out)
        print_columns(out, MATRIX_COLUMNS, matrix_rows(ctx))
        print("", file=out)
        print(FW_LEGEND, file=out)
        extras = fw_extra_lines(ctx)
        if extras:
            print("", file=out)
            for e in extras:
                print(f"- {e}", file=out)
    encryption.report(ctx, False, print_columns, out)
    print("\nCommands of the processes measured (PIDs and paths vary):", file=out)
    for line in command_lines(ctx, md=False):
        print(line, file=out)


def print_markdown(ctx):
    out = sys.stdout
    print("Machine:\n", file=out)
    for k, v in ctx.machine:
        print(f"- {k}: {v}", file=out)
    timing = (f"{ctx.seconds:g} s after a {ctx.warmup:g} s warm-up" if forwarding_selected(ctx)
              else f"{ctx.esp_seconds:g} s per esp_bench cell")
    print(f"\nCommand: `{ctx.cmdline}` ({ctx.rounds} rounds x {timing}, interleaved)\n", file=out)
    if show_base_table(ctx):
        print("| scenario | what it does | median Mpps | min-max | per round | fwd CPU % | Mpps/CPU "
              "| / testpmd-io | **peer / vpcnet** |", file=out)
        print("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |", file=out)
        names = [s for s in ctx.selected if s in BASE_SCENARIOS]
        for name, med, mm_, rounds, share, per_cpu, vs_io, ratio in table_rows(ctx, names, base_ratio):
            print(f"| {name} | {DESCRIPTIONS[name]} | {med} | {mm_} | {rounds} | {share} | {per_cpu} "
                  f"| {vs_io} | {ratio} |", file=out)
        print("\n" + LEGEND + "\n", file=out)
    fwn = fw_names(ctx)
    if fwn:
        print("Firewall (stateful filtering, N rules):\n", file=out)
        print("| scenario | what it does | median Mpps | min-max | per round | fwd CPU % | Mpps/CPU "
              "| / testpmd-io | **peer / vpcnet-fw-N** |", file=out)
        print("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |", file=out)
        for name, med, mm_, rounds, share, per_cpu, vs_io, ratio in table_rows(ctx, fwn, fw_ratio):
            print(f"| {name} | {DESCRIPTIONS[name]} | {med} | {mm_} | {rounds} | {share} | {per_cpu} "
                  f"| {vs_io} | {ratio} |", file=out)
        print("", file=out)
        print("| " + " | ".join(MATRIX_COLUMNS[:4]) + " | " +
              " | ".join(f"**{c}**" for c in MATRIX_COLUMNS[4:]) + " |", file=out)
        print("| --- |" + " ---: |" * (len(MATRIX_COLUMNS) - 1), file=out)
        for r in matrix_rows(ctx):
            print("| " + " | ".join(r) + " |", file=out)
        print("\n" + FW_LEGEND + "\n", file=out)
        for e in fw_extra_lines(ctx):
            print(f"- {e}", file=out)
        print("", file=out)
    encryption.report(ctx, True, print_columns, out)
    print("\nCommands of the processes measured (PIDs and paths vary):\n", file=out)
    print("```", file=out)
    for line in command_lines(ctx, md=True):
        print(line, file=out)
    print("```", file=out)
