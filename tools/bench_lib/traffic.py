"""The pcaps every scenario replays: 64-byte Ethernet/IPv4/UDP frames web1 -> db1."""

import ipaddress
import socket
import struct

from .common import (BASE_SRC_UDP_PORT, DST_IP, DST_UDP_PORT, FRAME_LEN, ROUTER_MAC, SRC_IP,
                     SRC_MAC)


def ip_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def make_frame(src_port, dst_ip=DST_IP, src_ip=SRC_IP):
    src = socket.inet_aton(src_ip)
    dst = socket.inet_aton(dst_ip)
    payload = bytes(FRAME_LEN - 14 - 20 - 8)
    udp_len = 8 + len(payload)
    udp = struct.pack("!HHHH", src_port, DST_UDP_PORT, udp_len, 0) + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    ucs = ip_checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", ucs) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    frame = mac_bytes(ROUTER_MAC) + mac_bytes(SRC_MAC) + b"\x08\x00" + ip + udp
    assert len(frame) == FRAME_LEN
    return frame


PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)  # usec, LINKTYPE_ETHERNET


def write_pcap(path, flows):
    with open(path, "wb") as f:
        f.write(PCAP_HEADER)
        for i in range(flows):
            fr = make_frame(BASE_SRC_UDP_PORT + i)
            f.write(struct.pack("<IIII", 0, i, len(fr), len(fr)) + fr)


PORTS_PER_SRC_IP = 65536 - BASE_SRC_UDP_PORT  # new-flow pcap: source ports 1024..65535 per address


def new_flow_sources(n):
    """web1's source addresses for n distinct flows (PORTS_PER_SRC_IP per address)."""
    base = int(ipaddress.IPv4Address(SRC_IP))
    return [str(ipaddress.IPv4Address(base + k)) for k in range(-(-n // PORTS_PER_SRC_IP))]


def write_new_flows_pcap(path, n):
    """n distinct UDP flows, one frame each: flow i comes from address
    new_flow_sources()[i // 64512], source port 1024 + i % 64512, to
    10.0.2.10:5201. Same frame layout as make_frame (checked on flow 0)."""
    srcs = new_flow_sources(n)
    dst = socket.inet_aton(DST_IP)
    payload = bytes(FRAME_LEN - 14 - 20 - 8)
    udp_len = 8 + len(payload)
    eth = mac_bytes(ROUTER_MAC) + mac_bytes(SRC_MAC) + b"\x08\x00"
    with open(path, "wb") as f:
        f.write(PCAP_HEADER)
        i = 0
        for src_ip in srcs:
            src = socket.inet_aton(src_ip)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
            head = eth + ip
            # one's-complement sum of the pseudo header + UDP header without
            # the source port; the source port is added per flow
            words = struct.unpack("!4H", src + dst)
            base = sum(words) + 17 + udp_len + DST_UDP_PORT + udp_len
            chunk = bytearray()
            for k in range(min(PORTS_PER_SRC_IP, n - i)):
                sport = BASE_SRC_UDP_PORT + k
                s = base + sport
                while s >> 16:
                    s = (s & 0xFFFF) + (s >> 16)
                ucs = (~s) & 0xFFFF or 0xFFFF
                fr = head + struct.pack("!HHHH", sport, DST_UDP_PORT, udp_len, ucs) + payload
                chunk += struct.pack("<IIII", i // 1000000, i % 1000000, FRAME_LEN, FRAME_LEN) + fr
                if i == 0:
                    assert fr == make_frame(sport, src_ip=src_ip)
                i += 1
            f.write(chunk)
    return srcs
