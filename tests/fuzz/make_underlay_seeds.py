#!/usr/bin/python3
"""Writes the seed corpus of underlay_fuzz: [mode byte][bytes]. Mode 1: an
inner IP packet from peer1 (on host b) that the fuzz target encrypts with
b's SA; mode 0: a frame as it arrives on the underlay port (ESP the target's
SAs do not know, ESP in UDP 4500 and as protocol 50, a NAT keepalive, an
IKE packet, ARP for this host's underlay address, a fragment).

  /usr/bin/python3 tests/fuzz/make_underlay_seeds.py
"""
import pathlib

from scapy.all import ARP, ESP, ICMP, IP, TCP, UDP, Ether, ICMPv6EchoRequest, IPv6, Raw

OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "underlay_fuzz"
PEER, WEB1 = "10.0.2.20", "10.0.1.10"
PEER6, WEB16 = "fd00:10:0:2::20", "fd00:10:0:1::10"
A, B = "192.168.77.1", "192.168.77.2"
B_MAC = "02:bb:00:00:00:02"

INNER = {
    "udp-to-web1": IP(src=PEER, dst=WEB1) / UDP(sport=5353, dport=53) / Raw(b"q" * 20),
    "tcp-syn-to-web1": IP(src=PEER, dst=WEB1) / TCP(sport=40000, dport=80, flags="S"),
    "icmp-echo-to-web1": IP(src=PEER, dst=WEB1) / ICMP() / Raw(b"ping"),
    "icmp6-echo-to-web1": IPv6(src=PEER6, dst=WEB16) / ICMPv6EchoRequest(data=b"ping"),
    "tcp6-syn-to-web1": IPv6(src=PEER6, dst=WEB16) / TCP(sport=40000, dport=443, flags="S"),
    "not-from-peer": IP(src="10.0.1.11", dst=WEB1) / UDP(sport=1, dport=2),
    "to-gateway": IP(src=PEER, dst="10.0.2.1") / ICMP(),
}

OUTER = {
    "esp-udp-unknown-spi": Ether(src=B_MAC) / IP(src=B, dst=A) / UDP(sport=4500, dport=4500)
    / ESP(spi=0x9999, seq=1) / Raw(b"\0" * 40),
    "esp-proto50-known-spi": Ether(src=B_MAC) / IP(src=B, dst=A) / ESP(spi=0x5001, seq=7) / Raw(b"\1" * 48),
    "esp-udp-known-spi": Ether(src=B_MAC) / IP(src=B, dst=A) / UDP(sport=4500, dport=4500)
    / ESP(spi=0x5001, seq=2) / Raw(b"\2" * 48),
    "esp6-udp": Ether(src=B_MAC) / IPv6(src="fd77::2", dst="fd77::1") / UDP(sport=4500, dport=4500)
    / ESP(spi=0x5001, seq=3) / Raw(b"\3" * 48),
    "nat-keepalive": Ether(src=B_MAC) / IP(src=B, dst=A) / UDP(sport=4500, dport=4500) / Raw(b"\xff"),
    "ike-non-esp-marker": Ether(src=B_MAC) / IP(src=B, dst=A) / UDP(sport=4500, dport=4500) / Raw(b"\0" * 4 + b"ike"),
    "arp-request": Ether(src=B_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=B_MAC, psrc=B, pdst=A),
    "arp-reply": Ether(src=B_MAC) / ARP(op=2, hwsrc=B_MAC, psrc=B, pdst=A),
    "fragment": Ether(src=B_MAC) / IP(src=B, dst=A, flags="MF") / UDP(sport=4500, dport=4500) / Raw(b"\0" * 40),
    "plaintext-inner": Ether(src=B_MAC) / IP(src=PEER, dst=WEB1) / UDP(sport=1, dport=2),
}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, pkt in INNER.items():
        (OUT / f"inner-{name}.bin").write_bytes(b"\x01" + bytes(pkt))
    for name, pkt in OUTER.items():
        (OUT / f"outer-{name}.bin").write_bytes(b"\x00" + bytes(pkt))


if __name__ == "__main__":
    main()
