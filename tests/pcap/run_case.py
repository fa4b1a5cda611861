#!/usr/bin/python3
"""Runs one pcap replay case of vpcnet and checks it.

    /usr/bin/python3 tests/pcap/run_case.py CASE_DIR REPLAY_BINARY [--keep DIR]

CASE_DIR holds policy/*.yaml, in/<port>.pcap, expected/<port>.pcap and expect.json (see
make_cases.py).  The case passes when

  1. vpcnet-replay exits 0;
  2. every port's output pcap equals expected/<port>.pcap packet by packet, byte for byte
     (timestamps are not compared);
  3. the drop counters printed by the tool (`drop <stage>.<reason> <count>`) equal
     expect.json's "drops", every other printed drop counter is 0, the event counters named
     in expect.json's "counters" (`counter <stage>.<name> <count>`) are equal, and the
     per-port counts (`port <name> rx <n> tx <n>`) equal expect.json's "ports";
  4. tshark decodes every output packet with valid IPv4/TCP/UDP/ICMP/ICMPv6 checksums and no
     malformed-packet or error-level expert info.

expect.json's "replay_args" (optional) are extra vpcnet-replay arguments, e.g.
["--flow-capacity", "1024"].

Exit status 0 only if all checks pass.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

TSHARK = os.environ.get('TSHARK', 'tshark')

# ---------------------------------------------------------------------------
# pcap files (classic libpcap format; pcapng read through scapy if a tool writes it)

def write_pcap(path, packets, linktype=1, snaplen=65535):
    """packets: [((sec, usec), bytes)]"""
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, snaplen, linktype))
        for (sec, usec), data in packets:
            f.write(struct.pack('<IIII', sec, usec, len(data), len(data)))
            f.write(data)


def read_pcap(path):
    """Returns the list of frames (bytes) of a pcap or pcapng file."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError(f'{path}: {len(data)} bytes, not a pcap file')
    magic_le = struct.unpack('<I', data[:4])[0]
    if magic_le == 0x0a0d0d0a:  # pcapng
        from scapy.utils import RawPcapNgReader
        return [bytes(d) for d, _ in RawPcapNgReader(path)]
    for endian in '<>':
        magic = struct.unpack(endian + 'I', data[:4])[0]
        if magic in (0xa1b2c3d4, 0xa1b23c4d):
            break
    else:
        raise ValueError(f'{path}: unknown pcap magic {data[:4].hex()}')
    linktype = struct.unpack(endian + 'I', data[20:24])[0] & 0x0fffffff
    if linktype != 1:
        raise ValueError(f'{path}: link type {linktype}, expected 1 (Ethernet)')
    frames, off = [], 24
    while off < len(data):
        if off + 16 > len(data):
            raise ValueError(f'{path}: truncated record header at offset {off}')
        _, _, incl, orig = struct.unpack(endian + 'IIII', data[off:off + 16])
        off += 16
        if off + incl > len(data):
            raise ValueError(f'{path}: truncated record at offset {off}')
        if incl != orig:
            raise ValueError(f'{path}: record {len(frames) + 1} captured {incl} of {orig} bytes')
        frames.append(data[off:off + incl])
        off += incl
    return frames

# ---------------------------------------------------------------------------
# tshark check

TSHARK_FILTER = ('ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0 || '
                 'icmp.checksum.status == 0 || icmpv6.checksum.status == 0 || _ws.malformed || '
                 '_ws.expert.severity == "Error" || _ws.expert.group == "Checksum" || '
                 '_ws.expert.group == "Malformed"')


def tshark_problems(path):
    """Frames of `path` that tshark finds a bad checksum, malformed or an error in."""
    if not read_pcap(path):
        return []
    cmd = [TSHARK, '-n', '-r', path,
           '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
           '-o', 'udp.check_checksum:TRUE',  # ICMP and ICMPv6 checksums are always checked
           '-Y', TSHARK_FILTER,
           '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|',
           '-e', 'frame.number', '-e', '_ws.col.Info', '-e', '_ws.expert.message']
    r = subprocess.run(cmd, capture_output=True, text=True)
    stderr = '\n'.join(l for l in r.stderr.splitlines() if 'could be dangerous' not in l)
    if r.returncode != 0 or stderr.strip():
        return [f'tshark failed ({r.returncode}): {stderr.strip()}']
    return [f'frame {l}' for l in r.stdout.splitlines() if l.strip()]

# ---------------------------------------------------------------------------
# Comparison

def describe(frame):
    """scapy's show2 and hexdump of a frame, as text."""
    try:
        from scapy.all import Ether, hexdump
        p = Ether(frame)
        return p.show2(dump=True) + '\n' + hexdump(p, dump=True)
    except Exception as e:  # scapy missing or cannot decode
        return f'({e})\n' + frame.hex()


def compare(port, got, want):
    errors = []
    for i in range(max(len(got), len(want))):
        g = got[i] if i < len(got) else None
        w = want[i] if i < len(want) else None
        if g == w:
            continue
        if g is None:
            errors.append(f'port {port}: packet {i + 1} missing (expected {len(want)} packets, '
                          f'got {len(got)})\n--- expected:\n{describe(w)}')
        elif w is None:
            errors.append(f'port {port}: unexpected packet {i + 1} (expected {len(want)} packets, '
                          f'got {len(got)})\n--- got:\n{describe(g)}')
        else:
            off = next((k for k in range(min(len(g), len(w))) if g[k] != w[k]), min(len(g), len(w)))
            errors.append(f'port {port}: packet {i + 1} differs at offset {off} (0x{off:x}); '
                          f'length got {len(g)}, expected {len(w)}\n'
                          f'--- expected:\n{describe(w)}\n--- got:\n{describe(g)}')
    return errors


def parse_counters(text):
    drops, ports, events = {}, {}, {}
    for line in text.splitlines():
        m = re.match(r'\s*drop\s+(\S+)\s+(\d+)\s*$', line)
        if m:
            drops[m.group(1)] = drops.get(m.group(1), 0) + int(m.group(2))
            continue
        m = re.match(r'\s*port\s+(\S+)\s+rx\s+(\d+)\s+tx\s+(\d+)\s*$', line)
        if m:
            ports[m.group(1)] = {'rx': int(m.group(2)), 'tx': int(m.group(3))}
            continue
        m = re.match(r'\s*counter\s+(\S+)\s+(\d+)\s*$', line)
        if m:
            events[m.group(1)] = events.get(m.group(1), 0) + int(m.group(2))
    return drops, ports, events


def run(case_dir, replay, keep=None):
    case_dir = os.path.abspath(case_dir)
    name = os.path.basename(case_dir.rstrip('/'))
    with open(os.path.join(case_dir, 'expect.json')) as f:
        expect = json.load(f)
    exp_dir, in_dir = os.path.join(case_dir, 'expected'), os.path.join(case_dir, 'in')
    ports = sorted({os.path.splitext(n)[0] for d in (exp_dir, in_dir) if os.path.isdir(d)
                    for n in os.listdir(d) if n.endswith('.pcap')})
    out_dir = keep or tempfile.mkdtemp(prefix=f'vpcnet-pcap-{name}-')
    os.makedirs(out_dir, exist_ok=True)
    failures = []
    try:
        cmd = [replay, '-f', os.path.join(case_dir, 'policy')] + list(expect.get('replay_args', []))
        for p in ports:
            src = os.path.join(in_dir, p + '.pcap')
            cmd += ['--port', f'{p}={src if os.path.exists(src) else "-"}:{os.path.join(out_dir, p + ".pcap")}']
        print('$ ' + ' '.join(cmd))
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=50)
        except subprocess.TimeoutExpired as e:
            print(f'FAIL {name}: vpcnet-replay did not finish within 50 s')
            print((e.stdout or b'').decode(errors='replace') if isinstance(e.stdout, bytes) else e.stdout or '')
            return 1
        print(r.stdout, end='')
        if r.stderr.strip():
            print('--- stderr:\n' + r.stderr.rstrip())
        if r.returncode != 0:
            failures.append(f'vpcnet-replay exited with status {r.returncode}')

        # 2. outputs
        for p in ports:
            out = os.path.join(out_dir, p + '.pcap')
            want = read_pcap(os.path.join(exp_dir, p + '.pcap'))
            if not os.path.exists(out):
                failures.append(f'port {p}: no output file {out}')
                continue
            try:
                got = read_pcap(out)
            except ValueError as e:
                failures.append(f'port {p}: {e}')
                continue
            failures += compare(p, got, want)
            # 4. tshark
            failures += [f'port {p}: tshark: {x}' for x in tshark_problems(out)]

        # 3. counters
        drops, port_counts, events = parse_counters(r.stdout + '\n' + r.stderr)
        want_drops = expect.get('drops', {})
        if not drops and not port_counts:
            failures.append('vpcnet-replay printed no "drop ..." / "port ..." counter lines')
        for k, v in sorted(want_drops.items()):
            if drops.get(k, 0) != v:
                failures.append(f'drop {k}: expected {v}, got {drops.get(k, "nothing")}'
                                + ('' if k in drops else ' (the tool does not print this counter)'))
        for k, v in sorted(drops.items()):
            if k not in want_drops and v != 0:
                failures.append(f'drop {k}: expected 0, got {v}')
        for k, v in sorted(expect.get('counters', {}).items()):
            if events.get(k, 0) != v:
                failures.append(f'counter {k}: expected {v}, got {events.get(k, "nothing")}'
                                + ('' if k in events else ' (the tool does not print this counter)'))
        for p, want_c in sorted(expect.get('ports', {}).items()):
            got_c = port_counts.get(p)
            if got_c is None:
                if port_counts:
                    failures.append(f'port {p}: no "port {p} rx N tx N" line printed')
            elif got_c != want_c:
                failures.append(f'port {p}: expected rx {want_c["rx"]} tx {want_c["tx"]}, '
                                f'got rx {got_c["rx"]} tx {got_c["tx"]}')
    finally:
        if keep is None:
            shutil.rmtree(out_dir, ignore_errors=True)

    if failures:
        print(f'\n=== FAIL {name}: {len(failures)} problem(s)')
        for i, f in enumerate(failures, 1):
            print(f'--- [{i}] {f}')
        print(f'=== FAIL {name}')
        return 1
    print(f'=== PASS {name}: outputs byte-exact on {len(ports)} ports, drop counters '
          f'{json.dumps(expect.get("drops", {}))}, tshark clean')
    return 0


def main(argv):
    args = argv[1:]
    keep = None
    if '--keep' in args:
        i = args.index('--keep')
        keep = os.path.abspath(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    return run(args[0], args[1], keep)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
