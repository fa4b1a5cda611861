"""What every part of the benchmark shares: its error, its log, the traffic's
addresses and the two CPUs."""

import sys


class BenchError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


ROUTER_MAC = "02:76:70:63:00:01"
SRC_MAC = "02:00:00:00:01:01"
SRC_IP = "10.0.1.10"
DST_IP = "10.0.2.10"
FRAME_LEN = 60  # bytes in the pcap, FCS excluded; 64 on the wire with FCS
DST_UDP_PORT = 5201
BASE_SRC_UDP_PORT = 1024


FORWARD_CPU = 1          # the one forwarding lcore of every scenario
CONTROL_CPU = 0          # main lcores, control threads and this script
MIN_FORWARDED = 0.99     # out/in packet ratio below this = silent drops


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path
