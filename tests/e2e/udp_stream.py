#!/usr/bin/python3
"""A counted UDP stream for loss tests.

  udp_stream.py recv BIND_ADDR PORT RESULT.json [DEADLINE_S]
  udp_stream.py send DEST_ADDR PORT RATE_PPS STOP_FILE RESULT.json

The sender sends datagrams carrying a sequence number (0, 1, 2, ...) at a
steady rate until STOP_FILE exists, then an end marker carrying the number
sent (several times, spaced out). The receiver counts distinct sequence
numbers until it has seen an end marker and the stream has been quiet for a
second (or DEADLINE_S passed), then writes
{"received", "duplicates", "sent", "missing_first": [...]} to RESULT.json.
"""
import json
import os
import socket
import struct
import sys
import time

DATA = 0x5650434E  # "VPCN"
END = 0x454E4421   # "END!"
HEADER = struct.Struct("!IQ")
PAYLOAD_BYTES = 200


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def recv(bind, port, result, deadline_s=600.0):
    s = socket.socket(family_of(bind), socket.SOCK_DGRAM)
    try:  # as root: a receive buffer big enough that the kernel never drops
        s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    s.bind((bind, port))
    s.settimeout(0.2)
    seen = set()
    duplicates = 0
    sent = None
    last = time.monotonic()
    stop_at = time.monotonic() + deadline_s
    while time.monotonic() < stop_at:
        try:
            data, _ = s.recvfrom(65535)
        except socket.timeout:
            if sent is not None and time.monotonic() - last > 1.0:
                break
            continue
        last = time.monotonic()
        if len(data) < HEADER.size:
            continue
        magic, value = HEADER.unpack_from(data)
        if magic == DATA:
            if value in seen:
                duplicates += 1
            seen.add(value)
        elif magic == END:
            sent = value
    missing = [] if sent is None else [i for i in range(sent) if i not in seen][:20]
    with open(result, "w") as f:
        json.dump({"received": len(seen), "duplicates": duplicates, "sent": sent,
                   "missing_first": missing}, f)


def send(dest, port, rate, stop_file, result):
    s = socket.socket(family_of(dest), socket.SOCK_DGRAM)
    s.connect((dest, port))
    pad = b"\0" * (PAYLOAD_BYTES - HEADER.size)
    interval = 1.0 / rate
    seq = 0
    errors = 0
    start = time.monotonic()
    while not os.path.exists(stop_file):
        # Pace by the clock, not by sleeps, so the rate holds on a busy machine.
        due = start + seq * interval
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        try:
            s.send(HEADER.pack(DATA, seq) + pad)
            seq += 1
        except OSError:
            errors += 1
            time.sleep(0.01)
    for _ in range(5):
        s.send(HEADER.pack(END, seq))
        time.sleep(0.1)
    with open(result, "w") as f:
        json.dump({"sent": seq, "send_errors": errors,
                   "seconds": round(time.monotonic() - start, 3)}, f)


def main(argv):
    if len(argv) >= 5 and argv[1] == "recv":
        recv(argv[2], int(argv[3]), argv[4], float(argv[5]) if len(argv) > 5 else 600.0)
    elif len(argv) == 7 and argv[1] == "send":
        send(argv[2], int(argv[3]), float(argv[4]), argv[5], argv[6])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
