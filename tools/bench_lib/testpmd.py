"""Scenario group "base", the DPDK peers testpmd-io (receive + transmit,
packet untouched: the ceiling of this feeder and these ports) and
testpmd-csum (parse L2-L4, software IPv4 and UDP checksums, MAC rewrite)."""

import shutil

from .common import CONTROL_CPU, FORWARD_CPU
from .scenarios import eal_args, port_vdevs, run_dpdk_app

KINDS = ("testpmd-io", "testpmd-csum")


def setup(ctx, a):
    ctx.testpmd = shutil.which("dpdk-testpmd") or "dpdk-testpmd"


def precheck(ctx, kind):
    return None


def command(ctx, name, prefix):
    """(argv, uses_stdin): testpmd waits for Enter on its stdin to exit."""
    rx, tx = port_vdevs(ctx)
    mode = name.split("-", 1)[1]
    return ([ctx.testpmd] + eal_args(ctx, f"{CONTROL_CPU},{FORWARD_CPU}", prefix) +
            ["--vdev", rx, "--vdev", tx, "--",
             f"--forward-mode={mode}", "--nb-cores=1"]), True


def run(ctx, name, rnd):
    return run_dpdk_app(ctx, name, rnd, lambda prefix: command(ctx, name, prefix))[0]
