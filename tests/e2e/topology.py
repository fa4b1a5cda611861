#!/usr/bin/python3
"""Reads vpcnet policy files and prints, one line per Interface, what a test
needs to build the workload's network namespace:

    NAME PORT MAC IP4 PLEN4 GW4 IP6 PLEN6 GW6

('-' where the Interface has no address of that family). The gateway of a
subnet CIDR is its first host address (docs/architecture.md). Used by
tests/e2e/lib.sh and tools/demo.sh so neither hardcodes the example's
addresses.
"""
import ipaddress
import sys

import yaml


def documents(paths):
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if isinstance(doc, dict) and "kind" in doc:
                    yield doc


def main(argv):
    if len(argv) < 2:
        print(f"usage: {argv[0]} POLICY.yaml [...]", file=sys.stderr)
        return 2
    docs = list(documents(argv[1:]))
    subnets = {d["name"]: d.get("spec", {}) for d in docs if str(d["kind"]).lower() == "subnet"}
    for d in docs:
        if str(d["kind"]).lower() != "interface":
            continue
        spec = d.get("spec", {})
        nets = [ipaddress.ip_network(c, strict=False)
                for c in subnets.get(spec.get("subnet"), {}).get("cidrs", [])]
        fields = {4: ["-", "-", "-"], 6: ["-", "-", "-"]}
        for ip_text in spec.get("ips", []):
            ip = ipaddress.ip_address(str(ip_text).split("/")[0])
            net = next((n for n in nets if ip in n), None)
            if net is None or fields[ip.version][0] != "-":
                continue
            fields[ip.version] = [str(ip), str(net.prefixlen), str(net.network_address + 1)]
        print(d["name"], spec.get("port", d["name"]), str(spec.get("mac", "-")).lower(),
              *fields[4], *fields[6])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
