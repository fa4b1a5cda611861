#!/usr/bin/python3
"""Generates the pcap replay cases of vpcnet (tests/pcap/cases/<case>/).

Run with /usr/bin/python3 (needs scapy):  /usr/bin/python3 tests/pcap/make_cases.py [CASE...]
(with CASE names, only those cases are rewritten).

Every case is one row of CASES below: a name, a one-paragraph description, the
policy it runs with, and a list of steps.  A step is one input frame on one
port together with its fate: the frames the data plane must send because of
it (port, bytes) and/or the drop counter it must bump.  From that the
generator writes

    cases/<case>/policy/*.yaml        the policy documents
    cases/<case>/in/<port>.pcap       input frames of each port that receives any
    cases/<case>/expected/<port>.pcap expected output of every port of the policy
                                      (empty = nothing may come out of it)
    cases/<case>/expect.json          expected drop counters and port rx/tx counts
    cases/<case>/README.md            what the case checks
    meson.build                       one test() per case

Expected frames are built here with scapy from the "Conventions on the wire"
of docs/architecture.md, never by running vpcnet.  Inputs get strictly
increasing, fixed timestamps in step order (one clock over all ports), so the
output is deterministic and byte-identical on every run.  Every expected pcap
is checked with tshark (checksums, malformed packets) as it is written.
"""

import json
import os
import re
import shutil
import struct
import sys

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Ether, ICMPv6EchoReply, ICMPv6EchoRequest,
                       ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr,
                       ICMPv6TimeExceeded, ICMPv6DestUnreach, IPv6, IPv6ExtHdrFragment, Raw,
                       in6_getnsma, in6_getnsmac, inet_pton, socket, RawPcapReader, DNS, DNSQR, DNSRR,
                       fragment, fragment6)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_case  # noqa: E402  (pcap reading/writing and the tshark check)

CAPTURES = os.environ.get('VPCNET_CAPTURES',
                          os.path.normpath(os.path.join(HERE, '../../../shared/data/captures')))

BASE_TIME = 1_800_000_000  # fixed timestamps: BASE_TIME + step * 1 ms

# ---------------------------------------------------------------------------
# Topology (the policy every case runs with)

ROUTER_MAC = '02:76:70:63:00:01'      # default Vpc.spec.routerMac
DEV_ROUTER_MAC = '02:76:70:63:00:02'  # set explicitly on Vpc dev

class Iface:
    def __init__(self, name, port, subnet, mac, ip4, ip6, gw4, gw6, router):
        self.name, self.port, self.subnet, self.mac = name, port, subnet, mac
        self.ip4, self.ip6, self.gw4, self.gw6, self.router = ip4, ip6, gw4, gw6, router

    @property
    def lla(self):  # EUI-64 link-local address of the MAC
        b = bytes.fromhex(self.mac.replace(':', ''))
        eui = bytes([b[0] ^ 2, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]])
        return socket.inet_ntop(socket.AF_INET6, bytes.fromhex('fe80000000000000') + eui)

WEB1 = Iface('web1', 'web1', 'web', '02:00:00:00:01:01', '10.0.1.10', 'fd00:10:0:1::10',
             '10.0.1.1', 'fd00:10:0:1::1', ROUTER_MAC)
WEB2 = Iface('web2', 'web2', 'web', '02:00:00:00:01:02', '10.0.1.11', 'fd00:10:0:1::11',
             '10.0.1.1', 'fd00:10:0:1::1', ROUTER_MAC)
DB1 = Iface('db1', 'db1', 'db', '02:00:00:00:02:01', '10.0.2.10', 'fd00:10:0:2::10',
            '10.0.2.1', 'fd00:10:0:2::1', ROUTER_MAC)
DEV1 = Iface('dev1', 'dev1', 'app', '02:00:00:01:01:01', '10.1.1.10', 'fd00:11:0:1::10',
             '10.1.1.1', 'fd00:11:0:1::1', DEV_ROUTER_MAC)

PROD_YAML = """\
kind: Vpc
name: prod
spec:
  cidrs: [10.0.0.0/16, fd00:10::/48]
---
kind: Subnet
name: web
spec:
  vpc: prod
  cidrs: [10.0.1.0/24, fd00:10:0:1::/64]
---
kind: Subnet
name: db
spec:
  vpc: prod
  cidrs: [10.0.2.0/24, fd00:10:0:2::/64]
---
kind: Interface
name: web1
spec:
  port: web1
  subnet: web
  mac: 02:00:00:00:01:01
  ips: [10.0.1.10, fd00:10:0:1::10]
---
kind: Interface
name: web2
spec:
  port: web2
  subnet: web
  mac: 02:00:00:00:01:02
  ips: [10.0.1.11, fd00:10:0:1::11]
---
kind: Interface
name: db1
spec:
  port: db1
  subnet: db
  mac: 02:00:00:00:02:01
  ips: [10.0.2.10, fd00:10:0:2::10]
"""

DEV_YAML = """\
kind: Vpc
name: dev
spec:
  cidrs: [10.1.0.0/16, fd00:11::/48]
  routerMac: 02:76:70:63:00:02
---
kind: Subnet
name: app
spec:
  vpc: dev
  cidrs: [10.1.1.0/24, fd00:11:0:1::/64]
---
kind: Interface
name: dev1
spec:
  port: dev1
  subnet: app
  mac: 02:00:00:01:01:01
  ips: [10.1.1.10, fd00:11:0:1::10]
"""

# Subnet web's route table: blackholes more specific than the VPC's local
# route (the first 16 addresses of db's IPv4 subnet, the first 256 of its
# IPv6 one) and one outside the VPC. Subnet db keeps the local routes only.
ROUTES_YAML = """\
kind: RouteTable
name: web-routes
spec:
  vpc: prod
  subnets: [web]
  routes:
    - destination: 10.0.2.0/28
      target: blackhole
    - destination: fd00:10:0:2::/120
      target: blackhole
    - destination: 192.0.2.0/24
      target: blackhole
"""

POLICIES = {
    'prod': ({'prod.yaml': PROD_YAML}, ['web1', 'web2', 'db1']),
    'prod+routes': ({'prod.yaml': PROD_YAML, 'routes.yaml': ROUTES_YAML}, ['web1', 'web2', 'db1']),
    'prod+dev': ({'prod.yaml': PROD_YAML, 'dev.yaml': DEV_YAML}, ['web1', 'web2', 'db1', 'dev1']),
}

# ---------------------------------------------------------------------------
# Steps

class Step:
    """One input frame on `port`; `out` = [(port, bytes)] it must cause; `drop` = counter."""

    def __init__(self, port, frame, out=(), drop=None, event=None):
        self.port = port
        self.frame = bytes(frame)
        self.out = [(p, bytes(f)) for p, f in out]
        self.drop = drop    # drop counter <stage>.<reason> it bumps
        self.event = event  # event counter(s) <stage>.<name> it bumps (checked when given)


def send(port, frame, *out, drop=None, event=None):
    return Step(port, frame, out, drop, event)

# ---------------------------------------------------------------------------
# Frame builders (inputs)

def ping4(src, dst, dst_mac=None, ttl=64, ident=0x1234, seq=1, size=56, src_ip=None, src_mac=None,
          dst_ip=None):
    payload = bytes((i & 0xff) for i in range(size))
    return Ether(src=src_mac or src.mac, dst=dst_mac or src.router) / \
        IP(src=src_ip or src.ip4, dst=dst_ip or dst.ip4, ttl=ttl, id=0x4000 + seq, flags='DF') / \
        ICMP(type=8, id=ident, seq=seq) / Raw(payload)


def ping6(src, dst, dst_mac=None, hlim=64, ident=0x1234, seq=1, size=56, src_ip=None, src_mac=None,
          dst_ip=None):
    payload = bytes((i & 0xff) for i in range(size))
    return Ether(src=src_mac or src.mac, dst=dst_mac or src.router) / \
        IPv6(src=src_ip or src.ip6, dst=dst_ip or dst.ip6, hlim=hlim, fl=0x12345) / \
        ICMPv6EchoRequest(id=ident, seq=seq, data=payload)


def arp_request(src, target_ip, pad=False):
    f = bytes(Ether(src=src.mac, dst='ff:ff:ff:ff:ff:ff') /
              ARP(op=1, hwsrc=src.mac, psrc=src.ip4, hwdst='00:00:00:00:00:00', pdst=target_ip))
    return f + bytes(60 - len(f)) if pad else f


def ns(src, target, src_ip=None, unicast=False, with_sllao=True):
    """Neighbor solicitation; to the solicited-node group unless `unicast`."""
    src_ip = src.lla if src_ip is None else src_ip
    if unicast:
        dst_ip, dst_mac = target, src.router
    else:
        dst_ip = socket.inet_ntop(socket.AF_INET6, in6_getnsma(inet_pton(socket.AF_INET6, target)))
        dst_mac = in6_getnsmac(inet_pton(socket.AF_INET6, dst_ip))
    p = Ether(src=src.mac, dst=dst_mac) / IPv6(src=src_ip, dst=dst_ip, hlim=255) / ICMPv6ND_NS(tgt=target)
    if with_sllao:
        p = p / ICMPv6NDOptSrcLLAddr(lladdr=src.mac)
    return p

# ---------------------------------------------------------------------------
# Expected frames, from docs/architecture.md "Conventions on the wire"

def arp_reply(req, answered_mac):
    """42 bytes, no padding; op 2, sha = answered MAC, spa = asked address, tha/tpa = requester's."""
    r = Ether(req)
    a = r[ARP]
    out = bytes(Ether(dst=r.src, src=answered_mac) /
                ARP(op=2, hwsrc=answered_mac, psrc=a.pdst, hwdst=a.hwsrc, pdst=a.psrc))
    assert len(out) == 42
    return out


def na(req, answered_mac, gateway):
    """Neighbor advertisement answering the solicitation `req`."""
    r = Ether(bytes(req))
    s = r[ICMPv6ND_NS]
    from_unspecified = r[IPv6].src == '::'
    dst_ip = 'ff02::1' if from_unspecified else r[IPv6].src
    # An all-nodes answer goes to the all-nodes MAC (RFC 2464 section 7).
    eth_dst = '33:33:00:00:00:01' if from_unspecified else r.src
    return bytes(Ether(src=answered_mac, dst=eth_dst) /
                 IPv6(src=s.tgt, dst=dst_ip, hlim=255, tc=0, fl=0) /
                 ICMPv6ND_NA(R=1 if gateway else 0, S=0 if dst_ip == 'ff02::1' else 1, O=1, tgt=s.tgt) /
                 ICMPv6NDOptDstLLAddr(lladdr=answered_mac))


def incremental_ttl_checksum(ip_hdr):
    """RFC 1624 eqn. 3 for the TTL decrement, computed by hand (to cross-check scapy)."""
    old_word = (ip_hdr[8] << 8) | ip_hdr[9]
    new_word = ((ip_hdr[8] - 1) << 8) | ip_hdr[9]
    hc = (ip_hdr[10] << 8) | ip_hdr[11]
    s = (~hc & 0xffff) + (~old_word & 0xffff) + new_word
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def routed(frame, dst):
    """Ethernet src = router MAC, dst = destination Interface's MAC, TTL/hop limit - 1."""
    raw = bytes(frame)
    p = Ether(raw)
    p.src, p.dst = dst.router, dst.mac
    if IP in p:
        old_hdr = raw[14:14 + p[IP].ihl * 4]
        p[IP].ttl -= 1
        del p[IP].chksum
        out = bytes(p)
        new_ck = struct.unpack('!H', out[24:26])[0]
        assert new_ck == incremental_ttl_checksum(old_hdr), 'RFC 1624 corner case: pick other fields'
        assert new_ck not in (0, 0xffff)
    else:
        p[IPv6].hlim -= 1
        out = bytes(p)
    assert len(out) == len(raw)
    return out


def echo_reply(frame):
    """The request turned around: MACs, addresses swapped, type 0/129, TTL/hop limit 64,
    IPv4 id (and every other field) kept, checksums recomputed."""
    p = Ether(bytes(frame))
    p.src, p.dst = p.dst, p.src
    if IP in p:
        p[IP].src, p[IP].dst = p[IP].dst, p[IP].src
        p[IP].ttl = 64
        del p[IP].chksum
        p[ICMP].type = 0
        del p[ICMP].chksum
        return bytes(p)
    ip6 = p[IPv6]
    ip6.src, ip6.dst = ip6.dst, ip6.src
    ip6.hlim = 64
    req = p[ICMPv6EchoRequest]
    rep = ICMPv6EchoReply(code=req.code, id=req.id, seq=req.seq, data=req.data)
    ip6.remove_payload()
    return bytes(Ether(src=p.src, dst=p.dst, type=0x86dd) / ip6 / rep)


def time_exceeded(frame, ingress):
    """ICMP time exceeded from the ingress subnet's gateway, TTL 64, IPv4 id 0, quoting as much
    of the original packet as keeps the error within 576 (IPv4) / 1280 (IPv6) bytes."""
    p = Ether(bytes(frame))
    if IP in p:
        orig = bytes(p[IP])[:p[IP].len]
        quote = orig[:576 - 20 - 8]
        out = bytes(Ether(src=ingress.router, dst=p.src) /
                    IP(src=ingress.gw4, dst=p[IP].src, ttl=64, id=0, tos=0, flags=0, proto=1) /
                    ICMP(type=11, code=0) / Raw(quote))
        assert len(out) - 14 <= 576
        return out
    orig = bytes(p[IPv6])[:40 + p[IPv6].plen]
    quote = orig[:1280 - 40 - 8]
    out = bytes(Ether(src=ingress.router, dst=p.src) /
                IPv6(src=ingress.gw6, dst=p[IPv6].src, hlim=64, tc=0, fl=0) /
                ICMPv6TimeExceeded(code=0) / Raw(quote))
    assert len(out) - 14 <= 1280
    return out

# ---------------------------------------------------------------------------
# Real captures (../shared/data/captures), rewritten onto the case's interfaces.
# Client 10.99.0.2 / fd99::2 / 02:00:00:00:00:02, server 10.99.0.1 / fd99::1 / 02:00:00:00:00:01.

CLIENT_MAC, SERVER_MAC = '02:00:00:00:00:02', '02:00:00:00:00:01'
CLIENT_IP4, SERVER_IP4 = '10.99.0.2', '10.99.0.1'
CLIENT_IP6, SERVER_IP6 = 'fd99::2', 'fd99::1'


def capture(name):
    path = os.path.join(CAPTURES, name)
    frames = [bytes(d) for d, _ in RawPcapReader(path)]
    for f in frames:  # scapy must rebuild every real frame byte for byte
        assert bytes(Ether(f)) == f, name
    return frames


def rewrite(frame, client, server, server_ip4=None, server_ip6=None, routed_=False, v6=False):
    """Moves one captured frame onto (client, server).  When routed_, the client-server traffic
    goes through the router: each side sends to its own router MAC.  With v6, an IPv4 TCP/UDP
    frame is carried over IPv6 instead (same L4 bytes, checksums recomputed)."""
    p = Ether(frame)
    from_client = p.src == CLIENT_MAC
    me, peer = (client, server) if from_client else (server, client)
    p.src = me.mac
    if not int(p.dst.split(':')[0], 16) & 1:  # broadcast/multicast destinations stay
        p.dst = me.router if routed_ else peer.mac
    s4 = server_ip4 or server.ip4
    s6 = server_ip6 or server.ip6
    m4 = {CLIENT_IP4: client.ip4, SERVER_IP4: s4}
    m6 = {CLIENT_IP6: client.ip6, SERVER_IP6: s6}
    if IP in p and v6:
        l4 = p[IP].payload.copy()
        del_l4_checksum(l4)
        ip6 = IPv6(src=m6[CLIENT_IP6 if from_client else SERVER_IP6],
                   dst=m6[SERVER_IP6 if from_client else CLIENT_IP6], hlim=p[IP].ttl)
        return bytes(Ether(src=p.src, dst=p.dst) / ip6 / l4)
    if IP in p:
        p[IP].src, p[IP].dst = m4[p[IP].src], m4[p[IP].dst]
        del p[IP].chksum
        del_l4_checksum(p[IP].payload)
    elif IPv6 in p:
        p[IPv6].src, p[IPv6].dst = m6[p[IPv6].src], m6[p[IPv6].dst]
        del_l4_checksum(p[IPv6].payload)
    elif ARP in p:
        p[ARP].hwsrc = me.mac
        p[ARP].psrc = m4[p[ARP].psrc]
        p[ARP].pdst = m4[p[ARP].pdst]
    return bytes(p)


def del_l4_checksum(layer):
    for field in ('chksum', 'cksum'):
        if field in layer.fields or any(f.name == field for f in layer.fields_desc):
            delattr(layer, field)
            return


def is_from_client(frame):
    return Ether(frame).src == CLIENT_MAC


def conversation_within(name, client, server, select=None):
    """Every frame of a captured conversation, client and server in one subnet: unchanged."""
    steps = []
    for i, f in enumerate(capture(name)):
        if select and i not in select:
            continue
        g = rewrite(f, client, server)
        src, dst = (client, server) if is_from_client(f) else (server, client)
        steps.append(send(src.port, g, (dst.port, g)))
    return steps


def conversation_routed(name, client, server, select=None, v6=False):
    """Captured conversation between subnets: each frame routed to the other side."""
    steps = []
    for i, f in enumerate(capture(name)):
        if select and i not in select:
            continue
        g = rewrite(f, client, server, routed_=True, v6=v6)
        src, dst = (client, server) if is_from_client(f) else (server, client)
        steps.append(send(src.port, g, (dst.port, routed(g, dst))))
    return steps

# ---------------------------------------------------------------------------
# Malformed frames (raw bytes: scapy would "fix" them)

def eth(dst, src, ethertype):
    return bytes.fromhex(dst.replace(':', '')) + bytes.fromhex(src.replace(':', '')) + \
        struct.pack('!H', ethertype)


def ip4_bytes(payload_proto, l4, total_len=None, ihl=5, src=WEB1.ip4, dst=WEB2.ip4, ttl=64):
    """An IPv4 header (valid checksum) + l4 bytes; total_len/ihl may lie."""
    hdr = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, total_len if total_len is not None else 20 + len(l4),
                      0x1000, 0x4000, ttl, payload_proto, 0,
                      inet_pton(socket.AF_INET, src), inet_pton(socket.AF_INET, dst))
    s = sum(struct.unpack('!10H', hdr))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return hdr[:10] + struct.pack('!H', ~s & 0xffff) + hdr[12:] + l4


def ip6_bytes(nh, l4, plen=None, src=WEB1.ip6, dst=WEB2.ip6):
    return struct.pack('!IHBB16s16s', 0x60000000, plen if plen is not None else len(l4), nh, 64,
                       inet_pton(socket.AF_INET6, src), inet_pton(socket.AF_INET6, dst)) + l4


E4 = eth(WEB2.mac, WEB1.mac, 0x0800)
E6 = eth(WEB2.mac, WEB1.mac, 0x86dd)
GOOD_UDP = bytes(UDP(sport=40000, dport=53, len=12, chksum=0) / Raw(b'abcd'))
ICMP_HDR = bytes(ICMP(type=8, id=1, seq=1))


def control(seq=99):
    """A valid in-subnet ping after a malformed frame: proves the port still forwards."""
    f = ping4(WEB1, WEB2, dst_mac=WEB2.mac, seq=seq)
    return send('web1', f, ('web2', f))


# ---------------------------------------------------------------------------
# The cases

def steps_ping_within4():
    # icmp-ping.pcap frames 3-8: three real echo requests/replies (frames 1-2 are link-local ND)
    return conversation_within('icmp-ping.pcap', WEB1, WEB2, select=range(2, 8))


def steps_ping_within6():
    return conversation_within('icmp6-ping.pcap', WEB1, WEB2)


def steps_ping_routed4():
    return conversation_routed('icmp-ping.pcap', WEB1, DB1, select=range(2, 8))


def steps_ping_routed6():
    return conversation_routed('icmp6-ping.pcap', WEB1, DB1)


def steps_ping_gateway4():
    steps = []
    for f in capture('icmp-ping.pcap')[2:8]:
        if not is_from_client(f):
            continue  # the data plane answers itself
        g = rewrite(f, WEB1, DB1, server_ip4=WEB1.gw4, routed_=True)
        steps.append(send('web1', g, ('web1', echo_reply(g))))
    # and the other subnet's own gateway, from db1
    g = ping4(DB1, None, dst_ip=DB1.gw4, seq=7)
    steps.append(send('db1', g, ('db1', echo_reply(g))))
    return steps


def steps_ping_gateway6():
    steps = []
    for f in capture('icmp6-ping.pcap'):
        if not is_from_client(f):
            continue
        g = rewrite(f, WEB1, DB1, server_ip6=WEB1.gw6, routed_=True)
        steps.append(send('web1', g, ('web1', echo_reply(g))))
    g = ping6(DB1, None, dst_ip=DB1.gw6, seq=7)
    steps.append(send('db1', g, ('db1', echo_reply(g))))
    return steps


def steps_arp_gateway():
    # tls-curl-sni.pcap frame 4 is curl's real ARP request for its gateway
    real = rewrite(capture('tls-curl-sni.pcap')[2], WEB1, DB1, server_ip4=WEB1.gw4)
    padded = arp_request(DB1, DB1.gw4, pad=True)  # padded to 60 bytes as from a NIC
    return [send('web1', real, ('web1', arp_reply(real, ROUTER_MAC))),
            send('db1', padded, ('db1', arp_reply(padded, ROUTER_MAC)))]


TTL_EVENT = 'ip_forward.time_exceeded_sent'


def steps_ttl4():
    small = ping4(WEB1, DB1, ttl=1, seq=1)
    zero = ping4(WEB1, DB1, ttl=0, seq=2)
    big = ping4(WEB1, DB1, ttl=1, seq=3, size=1000)  # quote cut at 548 bytes
    from_db = ping4(DB1, WEB2, ttl=1, seq=4)
    local = ping4(WEB1, WEB2, dst_mac=WEB2.mac, ttl=1, seq=5)  # not routed: delivered as is
    return [send('web1', small, ('web1', time_exceeded(small, WEB1)), event=TTL_EVENT),
            send('web1', zero, ('web1', time_exceeded(zero, WEB1)), event=TTL_EVENT),
            send('web1', big, ('web1', time_exceeded(big, WEB1)), event=TTL_EVENT),
            send('db1', from_db, ('db1', time_exceeded(from_db, DB1)), event=TTL_EVENT),
            send('web1', local, ('web2', local))]


def steps_ttl6():
    small = ping6(WEB1, DB1, hlim=1, seq=1)
    zero = ping6(WEB1, DB1, hlim=0, seq=2)
    big = ping6(WEB1, DB1, hlim=1, seq=3, size=1400)  # quote cut at 1232 bytes
    from_db = ping6(DB1, WEB2, hlim=1, seq=4)
    local = ping6(WEB1, WEB2, dst_mac=WEB2.mac, hlim=1, seq=5)
    return [send('web1', small, ('web1', time_exceeded(small, WEB1)), event=TTL_EVENT),
            send('web1', zero, ('web1', time_exceeded(zero, WEB1)), event=TTL_EVENT),
            send('web1', big, ('web1', time_exceeded(big, WEB1)), event=TTL_EVENT),
            send('db1', from_db, ('db1', time_exceeded(from_db, DB1)), event=TTL_EVENT),
            send('web1', local, ('web2', local))]


def steps_nd(target_iface, gateway):
    tgt = WEB1.gw6 if gateway else target_iface.ip6
    mac = ROUTER_MAC if gateway else target_iface.mac
    a = ns(WEB1, tgt)                      # from the link-local address
    b = ns(WEB1, tgt, src_ip=WEB1.ip6)     # from the global address
    return [send('web1', a, ('web1', na(a, mac, gateway))),
            send('web1', b, ('web1', na(b, mac, gateway)))]


def steps_nd_dad():
    a = ns(WEB1, WEB1.gw6, src_ip='::', with_sllao=False)
    b = ns(WEB2, WEB1.ip6, src_ip='::', with_sllao=False)
    return [send('web1', a, ('web1', na(a, ROUTER_MAC, True))),
            send('web2', b, ('web2', na(b, WEB1.mac, False)))]


def steps_nd_nud():
    # dns-dig-aaaa.pcap frame 1: a real unicast NS (neighbour unreachability detection)
    f = Ether(capture('dns-dig-aaaa.pcap')[0])
    f.src, f.dst = WEB1.mac, ROUTER_MAC
    f[IPv6].src, f[IPv6].dst = WEB1.lla, WEB1.gw6
    f[ICMPv6ND_NS].tgt = WEB1.gw6
    f[ICMPv6NDOptSrcLLAddr].lladdr = WEB1.mac
    del f[ICMPv6ND_NS].cksum
    g = ns(WEB1, WEB1.gw6, src_ip=WEB1.ip6, unicast=True)
    return [send('web1', f, ('web1', na(f, ROUTER_MAC, True))),
            send('web1', g, ('web1', na(g, ROUTER_MAC, True)))]


def steps_spoof_ip():
    a = ping4(WEB1, WEB2, dst_mac=WEB2.mac, src_ip='10.0.1.99', seq=1)       # unknown address
    b = ping4(WEB1, DB1, src_ip=WEB2.ip4, seq=2)                              # a neighbour's address
    c = ping6(WEB1, WEB2, dst_mac=WEB2.mac, src_ip='fd00:10:0:1::99', seq=3)
    d = ping6(WEB1, WEB2, dst_mac=WEB2.mac, src_ip=DB1.ip6, seq=4)            # another subnet's
    e = ping4(WEB1, WEB2, dst_mac=WEB2.mac, src_ip='192.168.7.7', seq=5)     # outside the VPC
    return [send('web1', a, drop='source_check.spoofed_ip'),
            send('web1', b, drop='source_check.spoofed_ip'),
            send('web1', c, drop='source_check.spoofed_ip'),
            send('web1', d, drop='source_check.spoofed_ip'),
            send('web1', e, drop='source_check.spoofed_ip'),
            control()]


def steps_spoof_mac():
    a = ping4(WEB1, WEB2, dst_mac=WEB2.mac, src_mac='02:00:00:00:01:99', seq=1)
    b = ping4(WEB1, DB1, src_mac=WEB2.mac, seq=2)  # a neighbour's MAC, on web1's port
    c = ping6(WEB1, WEB2, dst_mac=WEB2.mac, src_mac='02:00:00:00:01:99', seq=3)
    return [send('web1', a, drop='source_check.spoofed_mac'),
            send('web1', b, drop='source_check.spoofed_mac'),
            send('web1', c, drop='source_check.spoofed_mac'),
            control()]


def steps_other_vpc():
    a = ping4(WEB1, DEV1, seq=1)
    b = ping6(WEB1, DEV1, seq=2)
    c = ping4(DEV1, WEB1, seq=3)
    d = ping6(DEV1, WEB1, seq=4)
    gw = ping4(DEV1, None, dst_ip=DEV1.gw4, seq=5)  # dev's own gateway still answers, with its MAC
    return [send('web1', a, drop='route_lookup.no_route'),
            send('web1', b, drop='route_lookup.no_route'),
            send('dev1', c, drop='route_lookup.no_route'),
            send('dev1', d, drop='route_lookup.no_route'),
            send('dev1', gw, ('dev1', echo_reply(gw)))]


def steps_route_table():
    a = ping4(WEB1, DB1, seq=1)                       # 10.0.2.10: in the /28 blackhole
    b = ping6(WEB1, DB1, seq=2)                       # fd00:10:0:2::10: in the /120 blackhole
    c = ping4(WEB1, None, dst_ip='192.0.2.7', seq=3)  # outside the VPC: blackhole, not no_route
    d = ping4(WEB1, None, dst_ip='10.0.2.99', seq=4)  # outside the /28: the local route
    e = ping4(DB1, WEB1, seq=5)                       # db has no RouteTable: routed
    f = ping6(DB1, WEB1, seq=6)
    return [send('web1', a, drop='route_lookup.blackhole'),
            send('web1', b, drop='route_lookup.blackhole'),
            send('web1', c, drop='route_lookup.blackhole'),
            send('web1', d, drop='route_lookup.unknown_destination'),
            send('db1', e, ('web1', routed(e, WEB1))),
            send('db1', f, ('web1', routed(f, WEB1))),
            control()]


def steps_unknown_dst():
    a = ping4(WEB1, None, dst_ip='10.0.2.99', seq=1)
    b = ping6(WEB1, None, dst_ip='fd00:10:0:2::99', seq=2)
    return [send('web1', a, drop='route_lookup.unknown_destination'),
            send('web1', b, drop='route_lookup.unknown_destination'),
            control()]


def steps_padded_within():
    f = bytes(Ether(src=WEB1.mac, dst=WEB2.mac) / IP(src=WEB1.ip4, dst=WEB2.ip4, id=7) /
              UDP(sport=40000, dport=9) / Raw(b'hi'))
    f += bytes(60 - len(f))
    return [send('web1', f, ('web2', f))]


JUMBO_FRAME = 9014  # a 9000-byte IP packet, the usual jumbo MTU, in an Ethernet frame


def udp_frame(src, dst, size, dst_mac=None, v6=False, ident=1):
    """A UDP datagram src -> dst in a frame of exactly `size` bytes; to the router unless dst_mac."""
    e = Ether(src=src.mac, dst=dst_mac or src.router)
    ip = IPv6(src=src.ip6, dst=dst.ip6, hlim=64) if v6 else IP(src=src.ip4, dst=dst.ip4, id=ident, flags='DF')
    f = bytes(e / ip / UDP(sport=40000 + ident, dport=9) /
              Raw(bytes((i & 0xff) for i in range(size - 14 - (40 if v6 else 20) - 8))))
    assert len(f) == size
    return f


def steps_jumbo():
    within = udp_frame(WEB1, WEB2, JUMBO_FRAME, dst_mac=WEB2.mac, ident=1)
    routed4 = udp_frame(WEB1, DB1, JUMBO_FRAME, ident=2)
    routed6 = udp_frame(DB1, WEB1, JUMBO_FRAME, v6=True, ident=3)
    full = udp_frame(WEB1, DB1, 1514, ident=4)  # the largest standard frame fits
    return [send('web1', within, drop='eth_input.multi_segment'),
            send('web1', routed4, drop='eth_input.multi_segment'),
            send('db1', routed6, drop='eth_input.multi_segment'),
            send('web1', full, ('db1', routed(full, DB1))),
            control()]


def steps_gateway_unsupported():
    # curl's real SYN (http-curl-host.pcap) and dig's real query (dns-dig-udp.pcap) sent to the gateway
    syn = rewrite(capture('http-curl-host.pcap')[0], WEB1, DB1, server_ip4=WEB1.gw4, routed_=True)
    q = rewrite(capture('dns-dig-udp.pcap')[0], WEB1, DB1, server_ip4=WEB1.gw4, routed_=True)
    return [send('web1', syn, drop='gateway.unsupported_protocol'),
            send('web1', q, drop='gateway.unsupported_protocol'),
            control()]


TCP_HDR = bytes(TCP(sport=40000, dport=80, flags='S', seq=1))

MALFORMED = [
    # name, description, frame, counter
    ('malformed-truncated-eth', 'a 10-byte frame (shorter than an Ethernet header)',
     bytes.fromhex('02000000010202000000'), 'eth_input.truncated_l2'),
    ('malformed-truncated-ipv4', 'an IPv4 frame with only 12 bytes of IPv4 header',
     E4 + ip4_bytes(17, GOOD_UDP)[:12], 'eth_input.truncated_l3'),
    ('malformed-ipv4-ihl', 'an IPv4 header with IHL 4 (< 5)',
     E4 + ip4_bytes(17, GOOD_UDP, ihl=4), 'eth_input.bad_ip_header'),
    ('malformed-ipv4-total-length', 'an IPv4 total length 100 bytes larger than the frame',
     E4 + ip4_bytes(17, GOOD_UDP, total_len=20 + len(GOOD_UDP) + 100), 'eth_input.bad_ip_length'),
    ('malformed-ipv4-checksum', 'an IPv4 header with a wrong header checksum',
     E4 + (lambda h: h[:10] + bytes([h[10] ^ 0x55]) + h[11:])(ip4_bytes(17, GOOD_UDP)),
     'eth_input.bad_ip_header'),
    ('malformed-truncated-ipv6', 'an IPv6 frame with only 30 bytes of IPv6 header',
     E6 + ip6_bytes(17, GOOD_UDP)[:30], 'eth_input.truncated_l3'),
    ('malformed-ipv6-payload-length', 'an IPv6 payload length 100 bytes larger than the frame',
     E6 + ip6_bytes(17, GOOD_UDP, plen=len(GOOD_UDP) + 100), 'eth_input.bad_ip_length'),
    ('malformed-truncated-udp', 'an IPv4 packet whose UDP header is cut after 4 bytes',
     E4 + ip4_bytes(17, GOOD_UDP[:4]), 'eth_input.truncated_l4'),
    ('malformed-truncated-tcp', 'an IPv4 packet whose TCP header is cut after 12 bytes',
     E4 + ip4_bytes(6, TCP_HDR[:12]), 'eth_input.truncated_l4'),
    ('malformed-truncated-icmp', 'an IPv4 packet whose ICMP header is cut after 4 bytes',
     E4 + ip4_bytes(1, ICMP_HDR[:4]), 'eth_input.truncated_l4'),
    ('malformed-truncated-udp6', 'an IPv6 packet whose UDP header is cut after 6 bytes',
     E6 + ip6_bytes(17, GOOD_UDP[:6]), 'eth_input.truncated_l4'),
    ('malformed-truncated-icmp6', 'an IPv6 packet whose ICMPv6 header is cut after 4 bytes',
     E6 + ip6_bytes(58, bytes(ICMPv6EchoRequest())[:4]), 'eth_input.truncated_l4'),
    ('malformed-udp-length', 'a UDP length field larger than the IPv4 payload',
     E4 + ip4_bytes(17, GOOD_UDP[:4] + struct.pack('!H', 200) + GOOD_UDP[6:]), 'eth_input.truncated_l4'),
    ('malformed-truncated-arp', 'an ARP frame cut after 20 bytes of ARP',
     arp_request(WEB1, WEB1.gw4)[:34], 'eth_input.truncated_l3'),
    ('malformed-unsupported-ethertype', 'an IPX (0x8137) frame',
     eth(WEB2.mac, WEB1.mac, 0x8137) + bytes(46), 'eth_input.unsupported_ethertype'),
]

CASES = [
    # (name, description, policy, steps)
    ('arp-gateway',
     'ARP requests for the subnet gateways (a real curl ARP request on web1, and a request padded '
     'to 60 bytes on db1) are answered on the ingress port with the VPC router MAC: a 42-byte reply '
     'without padding, op 2, sha = router MAC, spa = gateway, tha/tpa = the requester.',
     'prod', steps_arp_gateway),
    ('arp-neighbour',
     'An ARP request from web1 for web2 (same subnet) is answered by the data plane with web2\'s '
     'MAC on web1\'s port; the broadcast is not flooded to web2.',
     'prod', lambda: [send('web1', r, ('web1', arp_reply(r, WEB2.mac)))
                      for r in [arp_request(WEB1, WEB2.ip4)]]),
    ('arp-unknown',
     'An ARP request for an address of web\'s subnet that no Interface has gets no answer and is '
     'counted as arp_responder.unknown_target.',
     'prod', lambda: [send('web1', arp_request(WEB1, '10.0.1.99'), drop='arp_responder.unknown_target'),
                      control()]),
    ('arp-other-subnet',
     'An ARP request from web1 for db1\'s address (another subnet, reached through the gateway) '
     'gets no answer (arp_responder.unknown_target), nor does one for db\'s gateway.',
     'prod', lambda: [send('web1', arp_request(WEB1, DB1.ip4), drop='arp_responder.unknown_target'),
                      send('web1', arp_request(WEB1, DB1.gw4), drop='arp_responder.unknown_target'),
                      control()]),
    ('arp-not-request',
     'An ARP reply sent by web1 to web2 is not answered and not forwarded '
     '(arp_responder.not_request).',
     'prod', lambda: [send('web1', Ether(src=WEB1.mac, dst=WEB2.mac) /
                           ARP(op=2, hwsrc=WEB1.mac, psrc=WEB1.ip4, hwdst=WEB2.mac,
                               pdst=WEB2.ip4), drop='arp_responder.not_request'),
                      control()]),
    ('arp-gratuitous',
     'A gratuitous ARP request (sender address = target address) from web1 is neither answered '
     'nor flooded (arp_responder.gratuitous).',
     'prod', lambda: [send('web1', Ether(src=WEB1.mac, dst='ff:ff:ff:ff:ff:ff') /
                           ARP(op=1, hwsrc=WEB1.mac, psrc=WEB1.ip4, hwdst='00:00:00:00:00:00',
                               pdst=WEB1.ip4), drop='arp_responder.gratuitous'),
                      control()]),
    ('nd-gateway',
     'Neighbor solicitations for web\'s IPv6 gateway, sent to its solicited-node multicast '
     'address from web1\'s link-local and from its global address, are answered with a neighbor '
     'advertisement: Ethernet router MAC -> web1, IPv6 gateway -> the solicitation\'s source, hop '
     'limit 255, flags R S O, target link-layer option = router MAC.',
     'prod', lambda: steps_nd(None, True)),
    ('nd-neighbour',
     'Neighbor solicitations (solicited-node multicast, link-local and global source) from web1 '
     'for web2\'s address are answered with an advertisement from web2\'s address and MAC, flags '
     'S O (no R), and are not flooded to web2.',
     'prod', lambda: steps_nd(WEB2, False)),
    ('nd-dad',
     'Duplicate address detection (NS from :: without source link-layer option) for the gateway '
     'and for web1\'s address is answered to ff02::1 with flags R (gateway only) and O but not S; '
     'Ethernet destination is the all-nodes MAC 33:33:00:00:00:01.',
     'prod', steps_nd_dad),
    ('nd-unicast',
     'Unicast neighbor solicitations to the gateway (neighbour unreachability detection; one '
     'rewritten from a real Linux NS in dns-dig-aaaa.pcap) are answered like multicast ones.',
     'prod', steps_nd_nud),
    ('nd-unknown',
     'A neighbor solicitation for an address of web\'s subnet that no Interface has gets no '
     'answer (nd_responder.unknown_target), nor does one for db1\'s address.',
     'prod', lambda: [send('web1', ns(WEB1, 'fd00:10:0:1::99'), drop='nd_responder.unknown_target'),
                      send('web1', ns(WEB1, DB1.ip6), drop='nd_responder.unknown_target'),
                      control()]),
    ('ping-within-subnet-v4',
     'Three real ICMP echo requests and replies (icmp-ping.pcap) between web1 and web2, one '
     'subnet, are delivered unchanged on the other port.',
     'prod', steps_ping_within4),
    ('ping-within-subnet-v6',
     'Three real ICMPv6 echo requests and replies (icmp6-ping.pcap) between web1 and web2 are '
     'delivered unchanged on the other port.',
     'prod', steps_ping_within6),
    ('ping-routed-v4',
     'Real ICMP echo requests web1 -> db1 and the replies (icmp-ping.pcap) are routed between '
     'subnets: Ethernet src = router MAC, dst = the destination Interface\'s MAC, TTL - 1, IPv4 '
     'checksum updated, everything else unchanged.',
     'prod', steps_ping_routed4),
    ('ping-routed-v6',
     'Real ICMPv6 echo requests web1 -> db1 and the replies (icmp6-ping.pcap) are routed between '
     'subnets: MACs rewritten, hop limit - 1, everything else unchanged.',
     'prod', steps_ping_routed6),
    ('ttl-exceeded-v4',
     'IPv4 packets with TTL 1 or 0 that would be routed are dropped and answered on the ingress '
     'port with ICMP time exceeded (11/0) from the ingress subnet\'s gateway, TTL 64, id 0, '
     'quoting the original packet up to a 576-byte error; a TTL-1 packet within the subnet is '
     'delivered unchanged.',
     'prod', steps_ttl4),
    ('ttl-exceeded-v6',
     'IPv6 packets with hop limit 1 or 0 that would be routed are dropped and answered with '
     'ICMPv6 time exceeded (3/0) from the ingress subnet\'s gateway, hop limit 64, quoting the '
     'original up to a 1280-byte error; a hop-limit-1 packet within the subnet is delivered '
     'unchanged.',
     'prod', steps_ttl6),
    ('ping-gateway-v4',
     'Real ICMP echo requests (icmp-ping.pcap) to web\'s gateway, and one to db\'s gateway from '
     'db1, are answered on the ingress port: the request turned around, type 0, TTL 64, id kept, '
     'checksums recomputed.',
     'prod', steps_ping_gateway4),
    ('ping-gateway-v6',
     'Real ICMPv6 echo requests (icmp6-ping.pcap) to web\'s gateway, and one to db\'s gateway, '
     'are answered: the request turned around, type 129, hop limit 64, flow label kept, checksum '
     'recomputed.',
     'prod', steps_ping_gateway6),
    ('gateway-unsupported-protocol',
     'A real curl TCP SYN and a real dig UDP query addressed to the gateway are dropped '
     '(gateway.unsupported_protocol); nothing is sent back.',
     'prod', steps_gateway_unsupported),
    ('spoofed-source-ip',
     'Frames from web1 with a source IP that is not web1\'s (unknown, a neighbour\'s, another '
     'subnet\'s, outside the VPC; IPv4 and IPv6, switched and routed) are dropped '
     '(source_check.spoofed_ip).',
     'prod', steps_spoof_ip),
    ('spoofed-source-mac',
     'Frames on web1\'s port with a source MAC that is not web1\'s (unknown, or web2\'s) are '
     'dropped (source_check.spoofed_mac).',
     'prod', steps_spoof_mac),
    ('other-vpc-dropped',
     'Traffic from prod to the dev VPC and back (IPv4 and IPv6) is dropped as route_lookup.no_route; '
     'dev\'s own gateway answers a ping with dev\'s router MAC 02:76:70:63:00:02.',
     'prod+dev', steps_other_vpc),
    ('route-table-blackhole',
     'Subnet web has a RouteTable with blackhole routes more specific than the VPC\'s local route '
     '(10.0.2.0/28, fd00:10:0:2::/120) and one outside the VPC (192.0.2.0/24): web1 -> db1 over '
     'IPv4 and IPv6 and web1 -> 192.0.2.7 are dropped as route_lookup.blackhole; web1 -> 10.0.2.99 '
     '(outside the /28, so the local route) is route_lookup.unknown_destination; db1 -> web1 is '
     'routed both ways (db has no RouteTable), and web1 -> web2 is delivered.',
     'prod+routes', steps_route_table),
    ('unknown-destination-dropped',
     'Routed packets to an address of db\'s subnet that no Interface has (IPv4 and IPv6) are '
     'dropped (route_lookup.unknown_destination).',
     'prod', steps_unknown_dst),
    ('padded-frame-within-subnet',
     'A 60-byte frame with Ethernet padding after a short UDP packet is delivered unchanged '
     '(padding included) within the subnet.',
     'prod', steps_padded_within),
    ('jumbo-frame-dropped',
     f'{JUMBO_FRAME}-byte frames (a 9000-byte UDP datagram; within the subnet web1 -> web2, routed '
     'web1 -> db1 over IPv4 and db1 -> web1 over IPv6) are larger than one packet buffer: each '
     'is dropped (eth_input.multi_segment, as from a real port) and nothing comes out. The frames '
     'after them are still fed: a 1514-byte frame web1 -> db1 is routed and a ping web1 -> web2 '
     'is delivered.',
     'prod', steps_jumbo),
    ('dns-within-subnet',
     'A real dig DNS query and its answer (dns-dig-udp.pcap) between web1 (client) and web2 '
     '(server) are delivered unchanged.',
     'prod', lambda: conversation_within('dns-dig-udp.pcap', WEB1, WEB2)),
    ('dns-routed',
     'A real dig AAAA query and its answer over IPv4 (dns-dig-aaaa.pcap frames 3-4) from web1 to '
     'db1 are routed.',
     'prod', lambda: conversation_routed('dns-dig-aaaa.pcap', WEB1, DB1, select=[2, 3])),
    ('http-routed-v4',
     'A real curl HTTP/1.1 exchange (http-curl-host.pcap, 12 TCP segments) between web1 (client) '
     'and db1 (server) is routed in both directions: MACs rewritten, TTL - 1, IPv4 checksum '
     'updated, TCP bytes unchanged.',
     'prod', lambda: conversation_routed('http-curl-host.pcap', WEB1, DB1)),
    ('tls-routed-v4',
     'curl\'s real ARP for its gateway, then its full TLS 1.3 connection (tls-curl-sni.pcap, '
     'up to 1514-byte frames) from web1 to db1, routed both ways.',
     'prod', lambda: [send('web1', r, ('web1', arp_reply(r, ROUTER_MAC)))
                      for r in [rewrite(capture('tls-curl-sni.pcap')[2], WEB1, DB1,
                                        server_ip4=WEB1.gw4)]] +
     conversation_routed('tls-curl-sni.pcap', WEB1, DB1, select=range(4, 26))),
    ('tls-routed-v6',
     'A real openssl TLS connection whose ClientHello spans two segments '
     '(tls-openssl-sni-split.pcap), carried over IPv6 between web1 and db1, routed both ways: MACs '
     'rewritten, hop limit - 1, TCP bytes unchanged.',
     'prod', lambda: conversation_routed('tls-openssl-sni-split.pcap', WEB1, DB1, v6=True)),
] + [
    (name, f'A malformed frame from web1, {what}, is dropped by eth_input ({reason}) and nothing '
     'comes out; a valid ping web1 -> web2 after it is still delivered.',
     'prod', (lambda frame=frame, reason=reason: [send('web1', frame, drop=reason), control()]))
    for name, what, frame, reason in MALFORMED
]

# ---------------------------------------------------------------------------
# Security groups, network ACLs and connection tracking (docs/filtering.md)
#
# The policies below are prod with SecurityGroups on some Interfaces and, for the ACL cases, a
# NetworkAcl on subnet db.  An Interface without securityGroups is in prod-default.

def prod_with_groups(groups, extra):
    """PROD_YAML with `securityGroups` on the Interfaces named in `groups`, and filter.yaml."""
    docs = []
    for doc in PROD_YAML.split('---\n'):
        m = re.match(r'kind: Interface\nname: (\S+)\n', doc)
        if m and m.group(1) in groups:
            doc += f"  securityGroups: [{', '.join(groups[m.group(1)])}]\n"
        docs.append(doc)
    return {'prod.yaml': '---\n'.join(docs), 'filter.yaml': extra}


def filter_policy(name, groups, *docs):
    POLICIES[name] = (prod_with_groups(groups, '---\n'.join(docs)), ['web1', 'web2', 'db1'])
    return name


SG_WEB = """\
kind: SecurityGroup
name: web
spec:
  vpc: prod
  description: web servers, no ingress rules, all egress
  ingress: []
"""


def sg_db(egress_none):
    return """\
kind: SecurityGroup
name: db
spec:
  vpc: prod
  description: database servers
  ingress:
    - {protocol: tcp, ports: 5432, securityGroup: web, description: postgres from web}
    - {protocol: udp, ports: 53, securityGroup: web, description: dns from web}
    - {protocol: icmp, icmpType: 8, cidr: 10.0.0.0/16, description: ping}
    - {protocol: icmpv6, icmpType: 128, cidr: "fd00:10::/48", description: ping over IPv6}
""" + ("  egress: []            # replies pass only through connection tracking\n" if egress_none
       else "  # no egress key: all egress allowed\n")


WEB_DB = {'web1': ['web'], 'db1': ['db']}  # web2 stays in prod-default

P_SG = filter_policy('prod+sg', WEB_DB, SG_WEB, sg_db(egress_none=True))
P_SG_DB_EGRESS = filter_policy('prod+sg-db-egress', WEB_DB, SG_WEB, sg_db(egress_none=False))
P_SG_EGRESS = filter_policy(
    'prod+sg-egress', {'web1': ['web'], 'web2': ['sealed'], 'db1': ['db']},
    """\
kind: SecurityGroup
name: web
spec:
  vpc: prod
  ingress: []
  egress:
    - {protocol: tcp, ports: 5432, securityGroup: db, description: postgres to db}
""", """\
kind: SecurityGroup
name: sealed
spec:
  vpc: prod
  description: may not send anything
  egress: []
""", sg_db(egress_none=True))

NACL_DENY = """\
kind: NetworkAcl
name: db-acl
spec:
  subnets: [db]
  inbound:
    - {number: 100, action: deny, protocol: tcp, ports: 5432, cidr: 10.0.1.0/24}
    - {number: 110, action: deny, protocol: tcp, ports: 5432, cidr: "fd00:10:0:1::/64"}
    - {number: 200, action: allow, protocol: all, cidr: 0.0.0.0/0}
    - {number: 210, action: allow, protocol: all, cidr: "::/0"}
  outbound:
    - {number: 100, action: allow, protocol: all, cidr: 0.0.0.0/0}
    - {number: 110, action: allow, protocol: all, cidr: "::/0"}
"""
P_NACL_DENY = filter_policy('prod+sg+nacl-deny', WEB_DB, SG_WEB, sg_db(True), NACL_DENY)

NACL_DEFAULT = """\
kind: NetworkAcl
name: db-acl
spec:
  subnets: [db]
  inbound:
    - {number: 100, action: allow, protocol: tcp, ports: 5432, cidr: 10.0.1.0/24}
  outbound:
    - {number: 100, action: allow, protocol: tcp, ports: 1024-65535, cidr: 10.0.1.0/24}
"""
P_NACL_DEFAULT = filter_policy('prod+sg+nacl-default', WEB_DB, SG_WEB, sg_db(True), NACL_DEFAULT)

NACL_REPLY = """\
kind: NetworkAcl
name: db-acl
spec:
  subnets: [db]
  inbound:
    - {number: 100, action: allow, protocol: all, cidr: 0.0.0.0/0}
    - {number: 110, action: allow, protocol: all, cidr: "::/0"}
  outbound:
    - {number: 100, action: allow, protocol: tcp, ports: 1024-32767, cidr: 10.0.1.0/24}
    - {number: 110, action: deny, protocol: tcp, ports: 32768-65535, cidr: "fd00:10:0:1::/64"}
    - {number: 120, action: allow, protocol: tcp, ports: 1024-65535, cidr: "fd00:10:0:1::/64"}
"""
P_NACL_REPLY = filter_policy('prod+sg+nacl-reply', WEB_DB, SG_WEB, sg_db(True), NACL_REPLY)

# Event counters (dataplane/conntrack.cpp, flow_install.cpp)
CREATED = 'flow_install.flows_created'
TRACKED = 'conntrack.established'
RELATED = 'conntrack.icmp_error_related'
OUT_OF_STATE = 'conntrack.tcp_out_of_state'

IP_IDS = []  # IPv4 ids handed out in the current case (reset per case)


def routable(frame, dst):
    try:
        routed(frame, dst)
        return True
    except AssertionError:  # the RFC 1624 corner case (checksum 0 / 0xffff): take another id
        return False


def ip_frame(src, dst, l4, v6=False, ttl=64, ip_id=None):
    """src -> dst through the router; IPv4 with DF and the next free id of the case."""
    e = Ether(src=src.mac, dst=src.router)
    if v6:
        return bytes(e / IPv6(src=src.ip6, dst=dst.ip6, hlim=ttl) / l4)
    ip_id = ip_id if ip_id is not None else (IP_IDS[-1] + 1 if IP_IDS else 0x5000)
    while True:
        f = bytes(e / IP(src=src.ip4, dst=dst.ip4, ttl=ttl, id=ip_id, flags='DF') / l4)
        if routable(f, dst):
            IP_IDS.append(ip_id)
            return f
        ip_id = (ip_id + 1) & 0xffff


def tcp(src, dst, sport, dport, flags, seq=0, ack=0, payload=b'', v6=False):
    l4 = TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack if 'A' in flags else 0, window=64240)
    return ip_frame(src, dst, l4 / Raw(payload) if payload else l4, v6)


def udp(src, dst, sport, dport, payload, v6=False):
    return ip_frame(src, dst, UDP(sport=sport, dport=dport) / Raw(payload), v6)


def dns_query(qid, name='db.example'):
    return bytes(DNS(id=qid, rd=1, qd=DNSQR(qname=name)))


def echo(src, dst, reply=False, ident=0x2001, seq=1, v6=False, icmp_type=None):
    """ICMP echo request (reply) src -> dst, 56 bytes of data; icmp_type overrides (IPv4)."""
    data = bytes(range(56))
    if v6:
        l4 = (ICMPv6EchoReply if reply else ICMPv6EchoRequest)(id=ident, seq=seq, data=data)
    else:
        t = icmp_type if icmp_type is not None else (0 if reply else 8)
        # fixed timestamps: scapy fills a timestamp request's (13) with the current time
        l4 = ICMP(type=t, id=ident, seq=seq, ts_ori=0x01000000, ts_rx=0, ts_tx=0) / Raw(data)
    return ip_frame(src, dst, l4, v6)


def port_unreachable(src, dst, quoted):
    """What src (a host) sends back for a UDP datagram to a closed port: ICMP 3/3 (RFC 792) or
    ICMPv6 1/4 (RFC 4443) to the datagram's sender, quoting the datagram as src received it
    (`quoted`, a frame) within 576 / 1280 bytes."""
    q = Ether(bytes(quoted))
    if IPv6 in q:
        return ip_frame(src, dst, ICMPv6DestUnreach(code=4) / Raw(bytes(q[IPv6])[:1280 - 48]), True)
    return ip_frame(src, dst, ICMP(type=3, code=3) / Raw(bytes(q[IP])[:576 - 28]))


def both(f):
    """f(v6) for IPv4 then IPv6: one list of steps."""
    return f(False) + f(True)

# -- sg-allowed, sg-denied, sg-return-traffic, sg-egress-denied

def steps_sg_allowed(v6):
    syn = tcp(WEB1, DB1, 40000, 5432, 'S', seq=1000, v6=v6)
    other = tcp(WEB2, DB1, 40001, 5432, 'S', seq=2000, v6=v6)  # web2 is not a member of web
    return [send('web1', syn, ('db1', routed(syn, DB1)), event=CREATED),
            send('web2', other, drop='security_group.ingress_denied')]


def steps_sg_denied(v6):
    ssh = tcp(WEB1, DB1, 40022, 22, 'S', seq=3000, v6=v6)
    pg = tcp(WEB1, DB1, 40023, 5432, 'S', seq=4000, v6=v6)
    return [send('web1', ssh, drop='security_group.ingress_denied'),
            send('web1', ssh, drop='conntrack.rejected_flow'),   # the client retransmits its SYN
            send('web1', pg, ('db1', routed(pg, DB1)), event=CREATED)]


PG_SSL_REQUEST = struct.pack('!II', 8, 80877103)
PG_STARTUP = (lambda body: struct.pack('!I', 4 + len(body)) + body)(
    struct.pack('!I', 196608) + b'user\0app\0database\0app\0\0')
PG_AUTH_OK_READY = b'R' + struct.pack('!II', 8, 0) + b'Z' + struct.pack('!I', 5) + b'I'


def steps_sg_return(v6):
    """A whole PostgreSQL connection web1 -> db1:5432; db has egress: [] and web no ingress
    rules, so every db1 -> web1 segment passes only as the tracked flow's reply."""
    c, s = (WEB1, 41000, 1000), (DB1, 5432, 5000)
    segs = [  # (from client?, flags, payload)
        (True, 'S', b''), (False, 'SA', b''), (True, 'A', b''),
        (True, 'PA', PG_SSL_REQUEST), (False, 'PA', b'N'),
        (True, 'PA', PG_STARTUP), (False, 'PA', PG_AUTH_OK_READY),
        (True, 'FA', b''), (False, 'FA', b''), (True, 'A', b''),
    ]
    seq = {True: c[2], False: s[2]}
    steps = []
    for i, (from_client, flags, data) in enumerate(segs):
        (a, ap, _), (b, bp, _) = (c, s) if from_client else (s, c)
        ack = seq[not from_client] if 'A' in flags else 0
        f = tcp(a, b, ap, bp, flags, seq=seq[from_client], ack=ack, payload=data, v6=v6)
        seq[from_client] += len(data) + (1 if ('S' in flags or 'F' in flags) else 0)
        steps.append(send(a.port, f, (b.port, routed(f, b)), event=CREATED if i == 0 else TRACKED))
    # db1 itself may open nothing: egress: []
    steps.append(send('db1', tcp(DB1, WEB1, 5433, 80, 'S', seq=7000, v6=v6),
                      drop='security_group.egress_denied'))
    steps.append(send('db1', udp(DB1, WEB1, 41001, 53, dns_query(7), v6=v6),
                      drop='security_group.egress_denied'))
    return steps


def steps_sg_egress(v6):
    pg = tcp(WEB1, DB1, 42000, 5432, 'S', seq=100, v6=v6)
    return [
        # web2 is in `sealed` (egress: []): nothing leaves it, though db's ingress allows ping
        send('web2', tcp(WEB2, DB1, 42001, 5432, 'S', seq=200, v6=v6), drop='security_group.egress_denied'),
        send('web2', echo(WEB2, DB1, ident=0x3001, v6=v6), drop='security_group.egress_denied'),
        # web1's only egress rule is tcp 5432 to the members of db
        send('web1', pg, ('db1', routed(pg, DB1)), event=CREATED),
        send('web1', udp(WEB1, DB1, 42002, 53, dns_query(8), v6=v6), drop='security_group.egress_denied'),
        send('web1', echo(WEB1, DB1, ident=0x3002, v6=v6), drop='security_group.egress_denied'),
        # and a second packet of a rejected flow is dropped without classifying
        send('web1', echo(WEB1, DB1, ident=0x3002, seq=2, v6=v6), drop='conntrack.rejected_flow'),
    ]

# -- network ACLs

def steps_nacl_deny(v6):
    pg = tcp(WEB1, DB1, 43000, 5432, 'S', seq=100, v6=v6)
    q = udp(WEB1, DB1, 43001, 53, dns_query(9), v6=v6)
    a = udp(DB1, WEB1, 53, 43001, dns_query(9), v6=v6)  # the answer's bytes do not matter here
    return [send('web1', pg, drop='network_acl.inbound_denied'),
            send('web1', pg, drop='conntrack.rejected_flow'),
            # udp 53: NetworkAcl rule 200/210 and the security group allow it
            send('web1', q, ('db1', routed(q, DB1)), event=CREATED),
            send('db1', a, ('web1', routed(a, WEB1)), event=TRACKED)]


def steps_nacl_default():
    pg = tcp(WEB1, DB1, 44000, 5432, 'S', seq=100)
    pg_reply = tcp(DB1, WEB1, 5432, 44000, 'SA', seq=900, ack=101)
    return [
        send('web1', pg, ('db1', routed(pg, DB1)), event=CREATED),
        send('db1', pg_reply, ('web1', routed(pg_reply, WEB1)), event=TRACKED),
        # no inbound rule matches: udp 53 (allowed by the security group), tcp 5432 over IPv6
        send('web1', udp(WEB1, DB1, 44001, 53, dns_query(10)), drop='network_acl.inbound_default_deny'),
        send('web1', tcp(WEB1, DB1, 44002, 5432, 'S', seq=300, v6=True), drop='network_acl.inbound_default_deny'),
        # no outbound rule of db matches udp (checked before db's security group, egress: [])
        send('db1', udp(DB1, WEB1, 44003, 53, dns_query(11)), drop='network_acl.outbound_default_deny'),
    ]


def steps_nacl_reply(v6):
    """db's outbound rules allow replies to client ports 1024-32767 only (IPv6: 32768-65535
    denied by rule 110): the SYN-ACK to port 45000 is dropped every time, the SYN (tracked)
    still passes, and a client on port 20000 gets its whole handshake through."""
    high = tcp(WEB1, DB1, 45000, 5432, 'S', seq=100, v6=v6)
    high_reply = tcp(DB1, WEB1, 5432, 45000, 'SA', seq=900, ack=101, v6=v6)
    low = tcp(WEB1, DB1, 20000, 5432, 'S', seq=500, v6=v6)
    low_reply = tcp(DB1, WEB1, 5432, 20000, 'SA', seq=700, ack=501, v6=v6)
    low_ack = tcp(WEB1, DB1, 20000, 5432, 'A', seq=501, ack=701, v6=v6)
    deny = 'network_acl.outbound_denied' if v6 else 'network_acl.outbound_default_deny'
    # (conntrack.established is not checked here: conntrack counts a reply before the ACL drops it)
    return [send('web1', high, ('db1', routed(high, DB1)), event=CREATED),
            send('db1', high_reply, drop=deny),
            send('db1', high_reply, drop=deny),              # stateless: checked again, dropped again
            send('web1', high, ('db1', routed(high, DB1))),  # the SYN retransmitted: tracked
            send('web1', low, ('db1', routed(low, DB1)), event=CREATED),
            send('db1', low_reply, ('web1', routed(low_reply, WEB1))),
            send('web1', low_ack, ('db1', routed(low_ack, DB1)))]

# -- ICMP errors, fragments

def steps_icmp_error(v6):
    q = udp(WEB1, DB1, 46000, 53, dns_query(12), v6=v6)
    err = port_unreachable(DB1, WEB1, routed(q, DB1))
    unseen = port_unreachable(DB1, WEB1, routed(udp(WEB1, DB1, 46001, 53, dns_query(13), v6=v6), DB1))
    closed = udp(WEB1, DB1, 46002, 54, dns_query(14), v6=v6)  # db has no rule for udp 54
    closed_err = port_unreachable(DB1, WEB1, routed(closed, DB1))
    return [send('web1', q, ('db1', routed(q, DB1)), event=CREATED),
            send('db1', err, ('web1', routed(err, WEB1)), event=RELATED),
            send('db1', unseen, drop='conntrack.icmp_error_no_flow'),
            send('web1', closed, drop='security_group.ingress_denied'),
            send('db1', closed_err, drop='conntrack.icmp_error_no_flow')]  # a rejected flow is no flow


def big_dns(qid, strings):
    """A DNS query padded with an additional TXT record of `strings` 200-byte strings."""
    return bytes(DNS(id=qid, rd=1, qd=DNSQR(qname='big.example', qtype='TXT'),
                     ar=DNSRR(rrname='pad.example', type='TXT', rdata=[b'x' * 200] * strings)))


def fragments(src, dst, sport, dport, payload, frag_id, size, v6):
    """One UDP datagram src -> dst cut into fragments of at most `size` bytes of IP packet."""
    e = Ether(src=src.mac, dst=src.router)
    if v6:
        p = IPv6(src=src.ip6, dst=dst.ip6, hlim=64) / IPv6ExtHdrFragment(id=frag_id) / \
            UDP(sport=sport, dport=dport) / Raw(payload)
        return [bytes(e / f) for f in fragment6(p, size)]
    p = IP(src=src.ip4, dst=dst.ip4, ttl=64, id=frag_id) / UDP(sport=sport, dport=dport) / Raw(payload)
    frames = [bytes(e / f) for f in fragment(p, fragsize=size)]
    assert all(routable(f, dst) for f in frames), 'RFC 1624 corner case: pick another fragment id'
    return frames


def later_fragment(src, dst, frag_id, v6):
    """The last fragment (offset 800 bytes) of a UDP datagram whose first fragment never came."""
    e = Ether(src=src.mac, dst=src.router)
    data = bytes(range(64))
    if v6:
        return bytes(e / IPv6(src=src.ip6, dst=dst.ip6, hlim=64) /
                     IPv6ExtHdrFragment(nh=17, offset=100, m=0, id=frag_id) / Raw(data))
    return bytes(e / IP(src=src.ip4, dst=dst.ip4, ttl=64, id=frag_id, frag=100, proto=17) / Raw(data))


def steps_fragments(v6):
    first = fragments(WEB1, DB1, 47000, 53, big_dns(0x71, 9), 0x6101, 800, v6)   # a new flow: 3 fragments
    again = fragments(WEB1, DB1, 47000, 53, big_dns(0x72, 5), 0x6102, 800, v6)   # same flow, tracked
    denied = fragments(WEB1, DB1, 47001, 54, big_dns(0x73, 5), 0x6103, 800, v6)  # udp 54: no rule
    assert len(first) == 3 and len(again) == 2 and len(denied) == 2
    steps = [send('web1', f, ('db1', routed(f, DB1)), event=CREATED if i == 0 else None)
             for i, f in enumerate(first)]
    steps += [send('web1', f, ('db1', routed(f, DB1)), event=TRACKED if i == 0 else None)
              for i, f in enumerate(again)]
    steps += [send('web1', later_fragment(WEB1, DB1, 0x6104, v6), drop='conntrack.fragment_without_first'),
              send('web1', denied[0], drop='security_group.ingress_denied'),
              send('web1', denied[1], drop='conntrack.fragment_without_first')]
    return steps

# -- table full, RST, ICMP echo

TABLE_CAPACITY = 1024
TABLE_EXTRA = 64


def steps_table_full():
    """--flow-capacity 1024 --flow-share 100: the table counts its live entries (accepted and
    rejected flows, fragment entries) under its writer lock and refuses an insert at
    `capacity`, with no per-lcore key-slot caches (dataplane/flow_table.cpp), so it is full
    after exactly 1024 entries.  Every flow is answered, so none may be evicted.  Nothing
    expires here: the whole case lasts ~2.2 s of pcap time."""
    first = udp(WEB1, DB1, 10000, 53, dns_query(1))
    first_back = udp(DB1, WEB1, 53, 10000, dns_query(1))
    steps = [send('web1', first, ('db1', routed(first, DB1)), event=CREATED),
             send('db1', first_back, ('web1', routed(first_back, WEB1)), event=TRACKED)]
    flows = []
    for i in range(TABLE_CAPACITY - 1 + TABLE_EXTRA):  # 1023 fit next to `first`, 64 do not
        f = udp(WEB1, DB1, 20000 + i, 53, dns_query(0x100 + i))
        flows.append(f)
        if i < TABLE_CAPACITY - 1:
            a = udp(DB1, WEB1, 53, 20000 + i, dns_query(0x100 + i))
            steps += [send('web1', f, ('db1', routed(f, DB1)), event=CREATED),
                      send('db1', a, ('web1', routed(a, WEB1)), event=TRACKED)]
        else:
            steps.append(send('web1', f, drop='flow_install.table_full'))
    answer = udp(DB1, WEB1, 53, 10000, dns_query(1))
    again = udp(WEB1, DB1, 10000, 53, dns_query(2))
    last_in = udp(WEB1, DB1, 20000 + TABLE_CAPACITY - 2, 53, dns_query(3))  # the last flow that fit
    answer_last = udp(DB1, WEB1, 53, 20000 + TABLE_CAPACITY - 2, dns_query(3))
    retry = udp(WEB1, DB1, 20000 + TABLE_CAPACITY - 1, 53, dns_query(4))  # the first that did not
    steps += [send('db1', answer, ('web1', routed(answer, WEB1)), event=TRACKED),
              send('web1', again, ('db1', routed(again, DB1)), event=TRACKED),
              send('web1', last_in, ('db1', routed(last_in, DB1)), event=TRACKED),
              send('db1', answer_last, ('web1', routed(answer_last, WEB1)), event=TRACKED),
              send('web1', retry, drop='flow_install.table_full'),
              # and a new flow in the other direction (db1 -> web1 would be egress_denied): web2
              send('web2', udp(WEB2, DB1, 30000, 53, dns_query(5)), drop='security_group.ingress_denied')]
    return steps


FLOW_SHARE = 25  # --flow-share of the flood cases: 256 of the 1024 entries per Interface
SHARE = TABLE_CAPACITY * FLOW_SHARE // 100


def steps_flood_one_interface():
    """--flow-capacity 1024 --flow-share 25: web1 floods, web1 and web2 still get new flows,
    and an established flow keeps passing throughout (docs/reliability.md)."""
    dns = udp(WEB1, DB1, 10000, 53, dns_query(1))
    dns_back = udp(DB1, WEB1, 53, 10000, dns_query(1))
    steps = [send('web1', dns, ('db1', routed(dns, DB1)), event=CREATED),
             send('db1', dns_back, ('web1', routed(dns_back, WEB1)), event=TRACKED)]
    # 1. 1,100 bare ACKs to an allowed port: pick-ups. web1 may hold 256 flows (the DNS
    #    flow is one of them); the rest are dropped by its share, not by a full table.
    for i in range(1100):
        ack = tcp(WEB1, DB1, 30000 + i, 5432, 'A', seq=1000 + i, ack=2000 + i)
        if i < SHARE - 1:
            steps.append(send('web1', ack, ('db1', routed(ack, DB1)), event=CREATED))
        else:
            steps.append(send('web1', ack, drop='flow_install.interface_limit'))
    # The established flow still passes, both ways.
    again, again_back = udp(WEB1, DB1, 10000, 53, dns_query(2)), udp(DB1, WEB1, 53, 10000, dns_query(2))
    steps += [send('web1', again, ('db1', routed(again, DB1)), event=TRACKED),
              send('db1', again_back, ('web1', routed(again_back, WEB1)), event=TRACKED)]
    # 2. 2,000 SYNs to a denied port: rejected entries, not counted on web1's share; once
    #    they and the pick-ups fill the table, each new one evicts an unanswered or
    #    rejected entry (flow_install.evicted), never the answered DNS flow.
    for i in range(2000):
        steps.append(send('web1', tcp(WEB1, DB1, 40000 + i, 22, 'S', seq=i),
                          drop='security_group.ingress_denied'))
    # 3. A new allowed flow from web1 (its share has room again: evicted pick-ups left it)
    #    and one from web2: both get in, evicting an unanswered entry from the full table.
    syn = tcp(WEB1, DB1, 50000, 5432, 'S', seq=7)
    ping = ping4(WEB2, DB1, ident=0x7777)
    last = udp(WEB1, DB1, 10000, 53, dns_query(3))
    steps += [send('web1', syn, ('db1', routed(syn, DB1)), event=CREATED),
              send('web2', ping, ('db1', routed(ping, DB1)), event=CREATED),
              send('web1', last, ('db1', routed(last, DB1)), event=TRACKED)]
    return steps


def steps_rst(v6):
    rst = tcp(WEB1, DB1, 48000, 80, 'R', seq=100, v6=v6)
    rst_ack = tcp(WEB1, DB1, 48001, 80, 'RA', seq=100, ack=200, v6=v6)
    mid = tcp(WEB1, DB1, 48002, 80, 'A', seq=300, ack=400, v6=v6)      # picks the connection up
    mid_rst = tcp(DB1, WEB1, 80, 48002, 'RA', seq=400, ack=300, v6=v6)  # a RST of a tracked flow
    return [send('web1', rst, drop='conntrack.tcp_no_flow'),
            send('web1', rst_ack, drop='conntrack.tcp_no_flow'),
            send('web1', mid, ('db1', routed(mid, DB1)), event=CREATED),
            send('db1', mid_rst, ('web1', routed(mid_rst, WEB1)), event=TRACKED)]


def steps_rst_ends(v6):
    """After a RST (either side's) the connection has ended: what follows, either way, is a new
    flow checked against the rules. web has no ingress rules, db allows all egress."""
    steps = []

    def seg(from_web, sport, flags, seq, ack=0, data=b'', drop=None, event=TRACKED):
        a, b = (WEB1, DB1) if from_web else (DB1, WEB1)
        f = tcp(a, b, sport if from_web else 5432, 5432 if from_web else sport, flags, seq=seq, ack=ack,
                payload=data, v6=v6)
        steps.append(send(a.port, f, drop=drop) if drop else send(a.port, f, (b.port, routed(f, b)), event=event))

    for sport, rst_from_web in ((48100, True), (48101, False)):
        seg(True, sport, 'S', 100, event=CREATED)
        seg(False, sport, 'SA', 500, 101)
        seg(True, sport, 'A', 101, 501)
        seg(True, sport, 'PA', 101, 501, b'query')
        seg(False, sport, 'PA', 501, 106, b'answer')
        seg(rst_from_web, sport, 'RA', 106 if rst_from_web else 507, 507 if rst_from_web else 106)
        # the responder's data after the RST: a new flow db1 -> web1, which web's ingress denies
        seg(False, sport, 'PA', 507, 106, b'late', drop='security_group.ingress_denied')
        seg(False, sport, 'PA', 507, 106, b'late', drop='conntrack.rejected_flow')
    # the initiator's data after a RST is a new flow too, and the rules allow it: then the
    # responder's answer is that flow's reply
    seg(True, 48102, 'S', 100, event=CREATED)
    seg(True, 48102, 'R', 101)
    seg(True, 48102, 'PA', 101, 501, b'again', event=CREATED)
    seg(False, 48102, 'PA', 501, 106, b'answer')
    return steps


def steps_echo(v6):
    ping = echo(WEB1, DB1, ident=0x4001, seq=1, v6=v6)
    pong = echo(DB1, WEB1, reply=True, ident=0x4001, seq=1, v6=v6)
    ping2 = echo(WEB1, DB1, ident=0x4001, seq=2, v6=v6)
    pong2 = echo(DB1, WEB1, reply=True, ident=0x4001, seq=2, v6=v6)
    steps = [send('web1', ping, ('db1', routed(ping, DB1)), event=CREATED),
             send('db1', pong, ('web1', routed(pong, WEB1)), event=TRACKED),
             send('web1', ping2, ('db1', routed(ping2, DB1)), event=TRACKED),
             send('db1', pong2, ('web1', routed(pong2, WEB1)), event=TRACKED),
             # web has no ICMP ingress rule: db1 may not ping web1, nor send an unasked reply
             send('db1', echo(DB1, WEB1, ident=0x4002, v6=v6), drop='security_group.ingress_denied'),
             send('db1', echo(DB1, WEB1, reply=True, ident=0x4003, v6=v6), drop='security_group.ingress_denied')]
    if not v6:  # db's rule is for type 8 only: a timestamp request (13) is not allowed
        steps.append(send('web1', echo(WEB1, DB1, ident=0x4004, icmp_type=13), drop='security_group.ingress_denied'))
    return steps


FILTER_CASES = [
    ('sg-allowed-v4',
     'A TCP SYN web1 -> db1:5432 is allowed by SecurityGroup db\'s ingress rule "tcp 5432 from '
     'securityGroup web" (web1 is a member of web) and routed to db1; the same SYN from web2, '
     'which is not a member of web (prod-default), is dropped (security_group.ingress_denied).',
     P_SG, lambda: steps_sg_allowed(False)),
    ('sg-allowed-v6', 'sg-allowed-v4 over IPv6: the peer-group rule matches the members\' IPv6 '
     'addresses too.', P_SG, lambda: steps_sg_allowed(True)),
    ('sg-denied',
     'A SYN web1 -> db1:22 matches no ingress rule of db: dropped (security_group.ingress_denied) '
     'and remembered as a rejected flow, so the retransmitted SYN is dropped by conntrack '
     '(conntrack.rejected_flow) without classifying; a SYN to 5432 right after is routed. IPv4 '
     'and IPv6.',
     P_SG, lambda: both(steps_sg_denied)),
    ('sg-return-traffic',
     'A whole TCP connection web1 -> db1:5432 (handshake, a PostgreSQL SSLRequest/StartupMessage '
     'exchange, FIN both ways) passes both ways although db has egress: [] and web has no '
     'ingress rules: every db1 -> web1 segment is the tracked flow\'s reply (conntrack.established, '
     'no tcp_out_of_state). db1 opening a connection or sending a datagram to web1 itself is '
     'dropped (security_group.egress_denied). IPv4 and IPv6.',
     P_SG, lambda: both(steps_sg_return), {'counters': {OUT_OF_STATE: 0}}),
    ('sg-egress-denied',
     'web2 is in SecurityGroup sealed (egress: []): its SYN to db1:5432 and its ping to db1 (both '
     'allowed by db\'s ingress rules) are dropped (security_group.egress_denied). web1\'s group '
     'web has one egress rule, tcp 5432 to securityGroup db: the SYN to db1:5432 is routed, its UDP '
     'and ICMP to db1 are dropped as egress_denied, and the next packet of that rejected flow as '
     'conntrack.rejected_flow. IPv4 and IPv6.',
     P_SG_EGRESS, lambda: both(steps_sg_egress)),
    ('nacl-deny-beats-sg-allow',
     'NetworkAcl db-acl on subnet db denies tcp 5432 from the web subnet (inbound rules 100/110) '
     'before allowing all (200/210); the security group allows it, but the ACL is checked first: '
     'the SYN web1 -> db1:5432 is dropped (network_acl.inbound_denied), its retransmission as '
     'conntrack.rejected_flow. A DNS query (udp 53, allowed by rule 200/210 and the group) and its '
     'answer pass. IPv4 and IPv6.',
     P_NACL_DENY, lambda: both(steps_nacl_deny)),
    ('nacl-default-deny',
     'db-acl\'s only inbound rule allows tcp 5432 from 10.0.1.0/24 and its only outbound rule tcp '
     '1024-65535 to it: the IPv4 SYN and SYN-ACK pass; udp 53 (allowed by the security group) and '
     'tcp 5432 over IPv6 match no inbound rule (network_acl.inbound_default_deny); udp from db1 '
     'matches no outbound rule (network_acl.outbound_default_deny, checked before db\'s security '
     'group).',
     P_NACL_DEFAULT, steps_nacl_default),
    ('nacl-stateless-reply',
     'NetworkAcls are stateless: db\'s outbound rules allow tcp to web\'s ports 1024-32767 (IPv4: '
     'nothing else, so implicit deny; IPv6: rule 110 denies 32768-65535). The SYN web1:45000 -> '
     'db1:5432 passes but every SYN-ACK back to port 45000 is dropped '
     '(network_acl.outbound_default_deny / outbound_denied), while the retransmitted SYN still '
     'passes as a tracked flow; a client on port 20000 completes its handshake. IPv4 and IPv6.',
     P_NACL_REPLY, lambda: both(steps_nacl_reply)),
    ('icmp-error-tracked',
     'A DNS query web1 -> db1:53 (allowed, tracked) is answered by db1 with ICMP port unreachable '
     '(3/3; ICMPv6 1/4) quoting the datagram: routed to web1 though db has egress: [] and web no '
     'ingress rules (conntrack.icmp_error_related). The same error quoting a datagram that never '
     'passed, or one that was rejected (udp 54, security_group.ingress_denied), is dropped '
     '(conntrack.icmp_error_no_flow). IPv4 and IPv6.',
     P_SG, lambda: both(steps_icmp_error)),
    ('fragment-follows-first',
     'A 1.9 kB UDP datagram web1 -> db1:53 in three fragments (IPv4; IPv6 with a Fragment header) '
     'is routed fragment by fragment, in order: the first opens the flow, the later ones follow '
     'its fragment entry; a second datagram of the same flow (two fragments) passes as tracked. '
     'A last fragment whose first fragment was never seen, and the second fragment of a datagram '
     'whose first was rejected (udp 54), are dropped (conntrack.fragment_without_first).',
     P_SG, lambda: both(steps_fragments)),
    ('table-full',
     f'vpcnet-replay --flow-capacity {TABLE_CAPACITY} --flow-share 100: one tracked UDP flow '
     f'web1 -> db1:53, then {TABLE_CAPACITY - 1 + TABLE_EXTRA} new UDP flows from source ports '
     f'20000...: the first {TABLE_CAPACITY - 1} fill the table (the table counts live entries '
     f'against the capacity, exactly: no per-lcore slot caches), are routed and answered, so '
     f'none may be evicted; the other {TABLE_EXTRA} are dropped (flow_install.table_full). With the table full, the tracked flows (the first and the last '
     'that fit) keep passing both ways, a retry of a flow that did not fit is dropped again, and a '
     'flow the security groups reject is dropped as such (ingress_denied: it is not remembered, '
     'the table has no room, but the verdict is the same).',
     P_SG, steps_table_full, {'replay_args': ['--flow-capacity', str(TABLE_CAPACITY), '--flow-share', '100']}),
    ('flood-one-interface',
     f'vpcnet-replay --flow-capacity {TABLE_CAPACITY} --flow-share {FLOW_SHARE}: web1 has an '
     'answered DNS flow to db1, then floods: 1,100 bare TCP ACKs to db1:5432 (allowed, so '
     f'pick-ups) of which {SHARE - 1} get in and the rest are dropped because web1 holds its '
     f'share of {SHARE} flows (flow_install.interface_limit); then 2,000 SYNs to the denied '
     'port 22 (security_group.ingress_denied), whose rejected entries are not counted on the '
     'share and, with the table full, evict unanswered and rejected entries. Afterwards a new '
     'allowed SYN from web1 and a ping from web2 get in, and the DNS flow passes both ways '
     'throughout.',
     P_SG, steps_flood_one_interface,
     {'replay_args': ['--flow-capacity', str(TABLE_CAPACITY), '--flow-share', str(FLOW_SHARE)],
      # The 2,000 rejected entries fill the 768 free entries, then each of the other 1,232
      # evicts one; the SYN and the ping evict one each.
      'counters': {'flow_install.evicted': 2000 - (TABLE_CAPACITY - SHARE) + 2}}),
    ('tcp-rst-without-flow',
     'A RST and a RST+ACK web1 -> db1:80 with no tracked flow are dropped '
     '(conntrack.tcp_no_flow) though prod-default allows the traffic: a reset never opens a flow. '
     'A bare ACK with no flow picks the connection up (rules allow it) and the RST+ACK back of '
     'that flow passes. IPv4 and IPv6.',
     'prod', lambda: both(steps_rst)),
    ('tcp-rst-ends-flow',
     'After a RST the connection has ended, as in AWS. web1 -> db1:5432 (allowed by db; web has '
     'no ingress rules, db allows all egress) exchanges data, then web1 (port 48100) or db1 (port '
     '48101) sends RST+ACK, which passes; db1\'s data after it is a new flow db1 -> web1 that '
     'web\'s ingress denies (security_group.ingress_denied), then a remembered rejected flow '
     '(conntrack.rejected_flow), never conntrack.tcp_out_of_state. On port 48102 web1 sends data '
     'after its RST: a new flow its rules allow (picked up), whose reply passes. IPv4 and IPv6.',
     P_SG_DB_EGRESS, lambda: both(steps_rst_ends), {'counters': {OUT_OF_STATE: 0}}),
    ('icmp-echo-sg',
     'A ping web1 -> db1 is allowed by db\'s rule "icmp type 8 from 10.0.0.0/16" (ICMPv6 128 from '
     'fd00:10::/48) and the echo replies pass back as the tracked flow although web has no '
     'ingress rules; a ping db1 -> web1, an echo reply nobody asked for, and (IPv4) a timestamp '
     'request to db1 are dropped (security_group.ingress_denied). IPv4 and IPv6.',
     P_SG_DB_EGRESS, lambda: both(steps_echo)),
]

CASES += FILTER_CASES


# ---------------------------------------------------------------------------
# Writing

MESON_HEAD = """\
# Generated by make_cases.py: one test per case directory in cases/.
# Runs only once tools/replay/meson.build has defined replay_exe.
if is_variable('replay_exe')
  pcap_python = find_program('/usr/bin/python3', required : false)
  pcap_tshark = find_program('tshark', required : false)
  if pcap_python.found() and pcap_tshark.found()
    pcap_run_case = files('run_case.py')
    pcap_cases = [
"""
MESON_TAIL = """\
    ]
    foreach c : pcap_cases
      test(c, pcap_python,
           args : [pcap_run_case, meson.current_source_dir() / 'cases' / c, replay_exe],
           suite : 'pcap', timeout : 60, is_parallel : false)
    endforeach
  else
    # A missing tool fails the suite; it never makes the cases vanish.
    test('pcap-tools-missing', find_program('bash'),
         args : ['-c', 'echo "the pcap cases need /usr/bin/python3 with scapy and tshark (apt-get install ' +
                 'python3-scapy tshark; tools/install-deps.sh does)" >&2; exit 1'],
         suite : 'pcap')
  endif
else
  error('tests/pcap: replay_exe is not defined; tools/ must come before tests/ in meson.build')
endif
"""


def write_case(root, name, description, policy, steps, check=True, options=None):
    """options (the optional 5th field of a CASES row): replay_args (extra vpcnet-replay
    arguments), counters (event counters to check besides the steps' events, e.g. 0)."""
    options = options or {}
    d = os.path.join(root, name)
    shutil.rmtree(d, ignore_errors=True)
    files, ports = POLICIES[policy]
    os.makedirs(os.path.join(d, 'policy'))
    for fname, text in files.items():
        with open(os.path.join(d, 'policy', fname), 'w') as f:
            f.write(text)
    inputs = {p: [] for p in ports}
    outputs = {p: [] for p in ports}
    drops, events = {}, {}
    for i, s in enumerate(steps):
        ts = (BASE_TIME + i // 1000, (i % 1000) * 1000)  # seconds, microseconds: 1 ms apart
        assert s.port in ports, (name, s.port)
        inputs[s.port].append((ts, s.frame))
        for p, frame in s.out:
            outputs[p].append((ts, frame))
        if s.drop:
            drops[s.drop] = drops.get(s.drop, 0) + 1
        for e in ([s.event] if isinstance(s.event, str) else s.event or []):
            events[e] = events.get(e, 0) + 1
        assert s.out or s.drop, (name, i, 'a step must say what happens')
    os.makedirs(os.path.join(d, 'in'))
    os.makedirs(os.path.join(d, 'expected'))
    for p in ports:
        if inputs[p]:
            run_case.write_pcap(os.path.join(d, 'in', p + '.pcap'), inputs[p])
        run_case.write_pcap(os.path.join(d, 'expected', p + '.pcap'), outputs[p])
    expect = {'drops': dict(sorted(drops.items())),
              'ports': {p: {'rx': len(inputs[p]), 'tx': len(outputs[p])} for p in ports}}
    for k, v in options.get('counters', {}).items():
        events[k] = events.get(k, 0) + v
    if events:
        expect['counters'] = dict(sorted(events.items()))
    if options.get('replay_args'):
        expect['replay_args'] = list(options['replay_args'])
    with open(os.path.join(d, 'expect.json'), 'w') as f:
        json.dump(expect, f, indent=2)
        f.write('\n')
    with open(os.path.join(d, 'README.md'), 'w') as f:
        f.write(f'# {name}\n\n{description}\n\n'
                f'Generated by tests/pcap/make_cases.py; policy `{policy}`; '
                f'{len(steps)} input frames.\n')
        if options.get('replay_args'):
            f.write(f'vpcnet-replay runs with `{" ".join(options["replay_args"])}`.\n')
    if check:
        for p in ports:
            problems = run_case.tshark_problems(os.path.join(d, 'expected', p + '.pcap'))
            if problems:
                raise SystemExit(f'{name}: expected/{p}.pcap fails the tshark check:\n' +
                                 '\n'.join(problems))
        if not name.startswith('malformed-'):
            for p in ports:
                if inputs[p]:
                    problems = run_case.tshark_problems(os.path.join(d, 'in', p + '.pcap'))
                    if problems:
                        raise SystemExit(f'{name}: in/{p}.pcap fails the tshark check:\n' +
                                         '\n'.join(problems))


def main():
    root = os.path.join(HERE, 'cases')
    names = [c[0] for c in CASES]
    assert len(set(names)) == len(names)
    os.makedirs(root, exist_ok=True)
    for entry in os.listdir(root):  # drop cases that no longer exist
        if entry not in names:
            shutil.rmtree(os.path.join(root, entry))
    only = set(sys.argv[1:])  # make_cases.py [CASE...]: rewrite only these (meson.build always)
    unknown = only - set(names)
    if unknown:
        raise SystemExit(f'unknown case(s): {", ".join(sorted(unknown))}')
    for name, description, policy, make_steps, *options in CASES:
        if only and name not in only:
            continue
        IP_IDS.clear()
        write_case(root, name, description, policy, make_steps(), options=options[0] if options else None)
        print('wrote', name)
    with open(os.path.join(HERE, 'meson.build'), 'w') as f:
        f.write(MESON_HEAD)
        for n in names:
            f.write(f"      '{n}',\n")
        f.write(MESON_TAIL)
    print(f'{len(names)} cases')


if __name__ == '__main__':
    main()
