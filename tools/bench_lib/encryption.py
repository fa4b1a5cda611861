"""Scenario group "encryption": the ESP engine (dataplane/encryption) on one
core, not yet on ports. esp: tools/bench_esp/esp_bench (raw AEAD seal/open
of each engine, ESP encapsulate/decapsulate; cycles per packet). The peer
dpdk-crypto-perf: dpdk-test-crypto-perf's throughput test with ipsec-mb's
PMDs (crypto_aesni_gcm for AES-256-GCM, crypto_chacha20_poly1305), the same
sizes, AAD and IV as ESP. Both run on the forwarding CPU, interleaved."""

import json
import os
import shutil
import statistics
import subprocess

from .common import CONTROL_CPU, FORWARD_CPU, BenchError, log
from .process import Proc
from .scenarios import eal_args, new_prefix

KINDS = ("esp", "dpdk-crypto-perf")
SIZES = (64, 512, 1400)
GOAL_SIZE, GOAL_RATIO = 1400, 1.10
ESP_AAD_BYTES = 12  # SPI + 64-bit sequence number (ESN, the SA default)
# (label, devtype, algorithm, the esp_bench engine it compares with)
CPERF_ALGOS = (("crypto_aesni_gcm", "aes-gcm", "aes256_gcm_ipsec_mb"),
               ("crypto_chacha20_poly1305", "chacha20-poly1305", "chacha20_poly1305_sodium"))
CPERF_OPS = (("encrypt", "esp-encap"), ("decrypt", "esp-decap"))
RAW_OF = {"esp-encap": "aead-seal", "esp-decap": "aead-open"}


def setup(ctx, a):
    ctx.esp_bench = os.path.join(a.build, "tools", "bench_esp", "esp_bench")
    ctx.crypto_perf = shutil.which("dpdk-test-crypto-perf")
    ctx.esp_seconds, ctx.crypto_ops = a.esp_seconds, a.crypto_ops
    ctx.esp_cells = {}    # (engine, op, size) -> [round figures from esp_bench]
    ctx.cperf_cells = {}  # (devtype, op, size) -> [{"mpps", "gbps", "cycles"}]


def precheck(ctx, kind):
    if kind == "esp" and not os.access(ctx.esp_bench, os.X_OK):
        return f"{ctx.esp_bench} is not built (ninja -C BUILD tools/bench_esp/esp_bench; --build BUILD)"
    if kind == "dpdk-crypto-perf" and not ctx.crypto_perf:
        return "dpdk-test-crypto-perf not found (apt-get install dpdk)"
    return None


def run_process(ctx, name, rnd, argv, timeout, scenario):
    ctx.commands.setdefault(scenario, argv)
    log_path = os.path.join(ctx.logdir, f"r{rnd}-{name}-{ctx.seq}.log")
    proc = Proc(name, argv, log_path)
    try:
        proc.p.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.stop()
        raise BenchError(f"{name}: no result within {timeout:.0f} s")
    proc.stop()
    with open(log_path) as f:
        text = f.read()
    if proc.p.returncode != 0:
        raise BenchError(f"{name} exited with status {proc.p.returncode}:\n{text[-2000:]}")
    return text


def run_esp(ctx, rnd):
    """One round of every esp_bench cell, its order rotated by the round."""
    ctx.seq += 1
    argv = [ctx.esp_bench, "--json", "--rounds", "1", "--rotate", str(rnd - 1), "--cpu", str(FORWARD_CPU),
            "--seconds", f"{ctx.esp_seconds:g}", "--sizes", ",".join(map(str, SIZES))]
    text = run_process(ctx, "esp", rnd, argv, timeout=60 + 100 * ctx.esp_seconds, scenario="esp")
    out = json.loads(text[text.index("{"):])  # after any notes on stderr (e.g. an engine skipped)
    ctx.tsc_hz = out["tsc_hz"]
    for c in out["cells"]:
        ctx.esp_cells.setdefault((c["engine"], c["op"], c["size"]), []).append(c["rounds"][0])
    fast = [c for c in out["cells"] if c["op"] == "esp-encap" and c["size"] == GOAL_SIZE]
    log(f"round {rnd}/{ctx.rounds}  esp               {len(out['cells'])} cells; esp-encap {GOAL_SIZE} B: " +
        ", ".join(f"{c['engine']} {c['rounds'][0]['cycles']:.0f} cycles/packet" for c in fast))


def parse_cperf(text, name):
    """dpdk-test-crypto-perf's throughput rows: {size: {mpps, gbps, cycles}}."""
    rows = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 10 and all(x.replace(".", "", 1).isdigit() for x in f):
            enq, deq, fail_enq, fail_deq = map(int, f[3:7])
            if fail_enq or fail_deq or enq != deq:
                raise BenchError(f"{name}: failed operations: {line.strip()}")
            rows[int(f[1])] = {"mpps": float(f[7]), "gbps": float(f[8]), "cycles": float(f[9])}
    if sorted(rows) != sorted(SIZES):
        raise BenchError(f"{name}: no throughput row for every size:\n{text[-2000:]}")
    return rows


def run_cperf(ctx, rnd):
    ctx.command_notes["dpdk-crypto-perf"] = [
        "# and the same for every devtype / --aead-algo / --aead-op pair: " +
        ", ".join(f"{dev} {algo} {op}" for dev, algo, _ in CPERF_ALGOS for op, _ in CPERF_OPS)]
    for dev, algo, _ in CPERF_ALGOS:
        for op, _ in CPERF_OPS:
            name = f"dpdk-crypto-perf-{algo}-{op}"
            argv = ([ctx.crypto_perf] + eal_args(ctx, f"{CONTROL_CPU},{FORWARD_CPU}", new_prefix(ctx, "cperf")) +
                    ["--vdev", f"{dev}0", "--", "--ptest", "throughput", "--devtype", dev, "--optype", "aead",
                     "--aead-algo", algo, "--aead-op", op, "--aead-key-sz", "32", "--aead-iv-sz", "12",
                     "--aead-aad-sz", str(ESP_AAD_BYTES), "--digest-sz", "16",
                     "--buffer-sz", ",".join(map(str, SIZES)), "--total-ops", str(ctx.crypto_ops),
                     "--burst-sz", "32"])
            rows = parse_cperf(run_process(ctx, name, rnd, argv, timeout=300, scenario="dpdk-crypto-perf"), name)
            for size, fig in rows.items():
                ctx.cperf_cells.setdefault((dev, op, size), []).append(fig)
            log(f"round {rnd}/{ctx.rounds}  {name:17} " +
                ", ".join(f"{s} B {rows[s]['cycles']:.0f} cycles/op" for s in SIZES))


def run_cells(ctx, name, rnd):
    """The group's own figures (several per run), kept for its own table."""
    if name == "esp":
        run_esp(ctx, rnd)
    else:
        run_cperf(ctx, rnd)


# ---- the report ----

def med(figs, key="cycles"):
    return statistics.median(f[key] for f in figs) if figs else None


def esp_cycles(ctx, engine, op, size):
    return med(ctx.esp_cells.get((engine, op, size), []))


def fastest_raw(ctx, op, size):
    """(engine, cycles) of the raw AEAD op with the fewest cycles at size."""
    got = [(med(figs), e) for (e, o, s), figs in ctx.esp_cells.items() if o == op and s == size]
    if not got:
        return None, None
    cycles, engine = min(got)
    return engine, cycles


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def cperf_of(engine, op):
    for dev, _, eng in CPERF_ALGOS:
        for cop, esp_op in CPERF_OPS:
            if eng == engine and esp_op == op:
                return dev, cop
    return None


def rows(ctx):
    out = []
    for (engine, op, size), figs in sorted(ctx.esp_cells.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1])):
        cyc = [f["cycles"] for f in figs]
        mpps = ctx.tsc_hz / statistics.median(cyc) / 1e6
        vs_raw = ratio(statistics.median(cyc), esp_cycles(ctx, engine, RAW_OF.get(op), size)) if op in RAW_OF else "-"
        peer = cperf_of(engine, op)
        vs_cperf = ratio(statistics.median(cyc), med(ctx.cperf_cells.get((*peer, size), []))) if peer else "-"
        out.append((engine, op, str(size), f"{mpps:.2f}", f"{mpps * size * 8 / 1e3:.2f}",
                    f"{statistics.median(cyc):.0f}", f"{min(cyc):.0f}-{max(cyc):.0f}",
                    f"{100 * med(figs, 'cpu_share'):.0f}", vs_raw, vs_cperf))
    for (dev, op, size), figs in sorted(ctx.cperf_cells.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1])):
        cyc = [f["cycles"] for f in figs]
        out.append((f"dpdk-test-crypto-perf {dev}", op, str(size), f"{med(figs, 'mpps'):.2f}",
                    f"{med(figs, 'gbps'):.2f}", f"{statistics.median(cyc):.0f}", f"{min(cyc):.0f}-{max(cyc):.0f}",
                    "-", "-", "1.00x"))
    return out


COLUMNS = ("engine", "op", "size B", "Mpps", "Gbit/s", "cycles/packet", "min-max", "CPU %",
           "ESP / raw AEAD", "/ crypto-perf")


def goal_lines(ctx):
    lines = []
    for size in SIZES:
        engine, raw = fastest_raw(ctx, "aead-seal", size)
        if not engine:
            continue
        enc = esp_cycles(ctx, engine, "esp-encap", size)
        oe, open_raw = fastest_raw(ctx, "aead-open", size)
        dec = esp_cycles(ctx, oe, "esp-decap", size) if oe else None
        verdict = ""
        if size == GOAL_SIZE and enc:
            verdict = f" (goal <= {GOAL_RATIO:.2f}x: {'met' if enc / raw <= GOAL_RATIO else 'MISSED'})"
        lines.append(f"{size} B: ESP encapsulate {enc:.0f} cycles/packet = {ratio(enc, raw)} the fastest raw seal "
                     f"({engine}, {raw:.0f}){verdict}; ESP decapsulate {dec:.0f} = {ratio(dec, open_raw)} the "
                     f"fastest raw open ({oe}, {open_raw:.0f})." if enc and dec else f"{size} B: incomplete")
    return lines


LEGEND = ("cycles/packet: TSC cycles, median over the timed passes of a cell (a pass = the op over a ring of "
          "1,024 mbuf-like 2 KiB buffers in bursts of 32; a pass during which the thread was preempted is one "
          "slow pass), then the median over rounds; dpdk-test-crypto-perf: its Cycles/Buf (TSC, all ops "
          "of a run). Mpps and Gbit/s (of inner bytes) follow from it. CPU % = the share of the cell's wall "
          "time the thread ran. ESP / raw AEAD = ESP's cycles / the same engine's raw AEAD on the same size "
          "(encap / seal, decap / open): what ESP adds to the cipher. / crypto-perf = cycles / "
          "dpdk-test-crypto-perf's with ipsec-mb's PMD for the same algorithm and direction (aes256_gcm_ipsec_mb "
          "vs crypto_aesni_gcm, chacha20_poly1305_sodium vs crypto_chacha20_poly1305).")


def report(ctx, md, print_columns, out):
    if not ctx.esp_cells and not ctx.cperf_cells:
        return
    title = ("ESP encryption on one core (the engine, not yet on ports): inner IPv4 packets of 64, 512, 1400 B; "
             "ESP = tunnel mode, outer IPv4 + UDP 4500, ESN, AES-256-GCM / ChaCha20-Poly1305, 16 B ICV")
    print(f"\n{title}\n", file=out)
    table = rows(ctx)
    if md:
        print("| " + " | ".join(COLUMNS) + " |", file=out)
        print("| --- | --- |" + " ---: |" * (len(COLUMNS) - 2), file=out)
        for r in table:
            print("| " + " | ".join(r) + " |", file=out)
    else:
        print_columns(out, COLUMNS, table)
    print("", file=out)
    for line in goal_lines(ctx):
        print(f"- {line}" if md else line, file=out)
    print("\n" + LEGEND, file=out)
