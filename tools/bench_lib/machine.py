"""What the report says about the machine."""

import datetime
import os
import platform
import subprocess


def read_cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def dpdk_version():
    try:
        return subprocess.run(["pkg-config", "--modversion", "libdpdk"], capture_output=True,
                              text=True).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def read_loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def machine_info():
    load = read_loadavg()
    os_name = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return [
        ("CPU", f"{read_cpu_model()}, {os.cpu_count()} cores"),
        ("OS / kernel", f"{os_name}, Linux {platform.release()}"),
        ("DPDK", dpdk_version()),
        ("load average at start", load),
        ("date", datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
    ]
