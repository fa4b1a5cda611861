"""Reading counters: DPDK's telemetry socket (the peers' ethdev stats) and
vpcnet's JSON-RPC (stats.get)."""

import json
import socket
import time

from .common import BenchError


class Telemetry:
    """DPDK telemetry v2 client (/var/run/dpdk/<prefix>/dpdk_telemetry.v2)."""

    def __init__(self, path, proc, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            if not proc.alive():
                raise BenchError(f"{proc.name} exited (status {proc.p.returncode}) before its "
                                 f"telemetry socket came up:\n{proc.log_tail()}")
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                s.settimeout(5)
                s.connect(path)
                json.loads(s.recv(16384))  # greeting
                self.s = s
                return
            except (OSError, ValueError) as e:
                last = e
                s.close()
            if time.monotonic() > deadline:
                raise BenchError(f"{proc.name}: no telemetry at {path} after {timeout:.0f} s ({last}):\n"
                                 f"{proc.log_tail()}")
            time.sleep(0.2)

    def query(self, cmd):
        self.s.send(cmd.encode())
        data = self.s.recv(1 << 20)
        if not data:
            raise BenchError(f"telemetry closed while asking {cmd}")
        return json.loads(data)

    def port_ids(self):
        """{ethdev name (net_pcap0, ...): port id}"""
        ids = self.query("/ethdev/list").get("/ethdev/list") or []
        return {self.query(f"/ethdev/info,{i}")["/ethdev/info"]["name"]: i for i in ids}

    def close(self):
        self.s.close()


class JsonRpc:
    """JSON-RPC 2.0 client (vpc-dataplane, vpc-controld), one JSON object per line."""

    def __init__(self, path, proc, timeout, poll=0.2, peer="vpc-dataplane"):
        deadline = time.monotonic() + timeout
        last = None
        self.next_id = 1
        self.peer = peer
        while True:
            if not proc.alive():
                raise BenchError(f"{proc.name} exited (status {proc.p.returncode}) before its "
                                 f"RPC socket {path} came up:\n{proc.log_tail()}")
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(10)
                s.connect(path)
                self.s = s
                self.f = s.makefile("rb")
                return
            except OSError as e:
                last = e
                s.close()
            if time.monotonic() > deadline:
                raise BenchError(f"{proc.name}: cannot connect to {path} after {timeout:.0f} s ({last}):\n"
                                 f"{proc.log_tail()}")
            time.sleep(poll)

    def call(self, method, params=None, timeout=10.0):
        rid = self.next_id
        self.next_id += 1
        req = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}}
        self.s.settimeout(timeout)
        try:
            self.s.sendall(json.dumps(req).encode() + b"\n")
            line = self.f.readline()
        except OSError as e:  # socket.timeout included
            raise BenchError(f"{self.peer}: {method}: {e}")
        if not line:
            raise BenchError(f"{self.peer} closed the RPC connection during {method}")
        try:
            resp = json.loads(line)
        except ValueError:
            raise BenchError(f"{self.peer} answered {method} with invalid JSON: {line[:200]!r}")
        if "error" in resp:
            raise BenchError(f"{self.peer}: {method} failed: {resp['error']}")
        if "result" not in resp:
            raise BenchError(f"{self.peer}: {method}: no result in {line[:200]!r}")
        return resp["result"]

    def close(self):
        self.f.close()
        self.s.close()


def ethdev_sample(tel, ports=(0, 1)):
    """(time, {port: stats}) for the ports; time = middle of the queries."""
    t0 = time.monotonic()
    st = {p: tel.query(f"/ethdev/stats,{p}")["/ethdev/stats"] for p in ports}
    t1 = time.monotonic()
    return (t0 + t1) / 2, st


def vpcnet_sample(rpc):
    """(time, {port name: stats}, {stage/reason: drops}, whole stats.get result)"""
    t0 = time.monotonic()
    res = rpc.call("stats.get")
    t1 = time.monotonic()
    ports = {p.get("name"): p for p in res.get("ports", [])}
    for name in ("in", "out"):
        if name not in ports:
            raise BenchError(f"vpcnet: stats.get has no port named {name!r} (ports: {sorted(ports)})")
    drops = {f"{d.get('stage')}/{d.get('reason')}": int(d.get("packets", 0)) for d in res.get("drops", [])}
    return (t0 + t1) / 2, ports, drops, res


def vpcnet_counter(res, name, prefer_stage="conntrack"):
    """A stats.get counter by name ("conntrack/flows_created" wanted; any
    stage's "flows_created" accepted while the stages are being renamed)."""
    rows = [c for c in res.get("counters", []) if c.get("name") == name]
    for c in rows:
        if c.get("stage") == prefer_stage:
            return int(c.get("packets", 0))
    return int(rows[0].get("packets", 0)) if rows else None
