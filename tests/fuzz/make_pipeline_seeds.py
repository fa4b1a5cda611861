#!/usr/bin/python3
"""Writes the seed corpus of pipeline_fuzz from the pcap cases: one seed per
case, holding the frames its ports receive in time order as pipeline_fuzz's
records [header][length lo][length hi][frame] (header: port in the low 2
bits, seconds since the previous frame in the other 6). Only ports named
web1, web2 and db1 (the fuzz data plane's ports) are kept.

  /usr/bin/python3 tests/fuzz/make_pipeline_seeds.py
"""
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
CASES = HERE.parent / "pcap" / "cases"
OUT = HERE / "corpus" / "pipeline_fuzz"
PORTS = {"web1": 0, "web2": 1, "db1": 2}


def frames(path):
    """(time, bytes) of every record of a classic little-endian pcap."""
    data = path.read_bytes()
    magic = struct.unpack_from("<I", data)[0]
    nano = magic == 0xA1B23C4D
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), f"{path}: not a little-endian pcap"
    at = 24
    while at + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack_from("<IIII", data, at)
        at += 16
        yield sec + frac / (1e9 if nano else 1e6), data[at:at + caplen]
        at += caplen


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for case in sorted(p for p in CASES.iterdir() if (p / "in").is_dir()):
        received = []
        for pcap in sorted((case / "in").glob("*.pcap")):
            if pcap.stem in PORTS:
                received += [(t, PORTS[pcap.stem], f) for t, f in frames(pcap)]
        received.sort(key=lambda r: r[0])
        seed, last = bytearray(), None
        for t, port, frame in received[:64]:
            gap = 0 if last is None else min(63, max(0, int(t - last)))
            last = t
            seed += bytes([port | gap << 2]) + struct.pack("<H", len(frame)) + frame
        if seed:
            (OUT / f"{case.name}.bin").write_bytes(seed)


if __name__ == "__main__":
    main()
