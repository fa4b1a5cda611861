#!/usr/bin/env python3
"""Tripwire: the policies spine (the files at policies/ root) names no
capability. A capability is a subfolder of policies/ other than rpc/ and
examples/; its names are the folder name and the kinds it registers
(`.name = "..."` in its sources). The spine reaches them only through the
kind registry, so none of these may appear in a spine file, comments
included."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
not_capabilities = {"rpc", "examples"}
capabilities = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name not in not_capabilities]
if not capabilities:
    sys.exit(f"no capability folders under {root}")

patterns = []
for cap in capabilities:
    patterns.append((re.compile(r"policies/" + cap.name + r"/"), f"includes {cap.name}/"))
    patterns.append((re.compile(r"\b" + cap.name + r"::"), f"names namespace {cap.name}"))
    kinds = set()
    for src in cap.rglob("*.cpp"):
        kinds.update(re.findall(r'\.name\s*=\s*"([A-Za-z.]+)"', src.read_text()))
    if not kinds:
        sys.exit(f"{cap}: registers no kind (is the registrar pattern still `.name = \"Kind\"`?)")
    for kind in sorted(kinds):
        # "Kind" and its words apart ("SecurityGroup", "security group", "security_group").
        base = kind.split(".")[0]
        words = re.findall(r"[A-Z][a-z]*", base)
        patterns.append((re.compile(r"\b" + base + r"\b"), f"names kind {base}"))
        if len(words) > 1:
            patterns.append((re.compile(r"[ _-]?".join(words), re.IGNORECASE), f"names kind {base}"))

bad = []
for f in sorted(list(root.glob("*.cpp")) + list(root.glob("*.hpp")) + [root / "meson.build"]):
    for n, line in enumerate(f.read_text().splitlines(), 1):
        if f.name == "meson.build" and re.match(r"\s*subdir\('\w+'\)", line):
            continue  # the one line per capability
        for rx, what in patterns:
            if rx.search(line):
                bad.append(f"{f}:{n}: {what}: {line.strip()}")
print(f"checked {len(capabilities)} capabilities: {', '.join(c.name for c in capabilities)}")
if bad:
    print("\n".join(bad))
    sys.exit(1)
