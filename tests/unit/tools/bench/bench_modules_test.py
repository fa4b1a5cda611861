"""tools/bench_lib: every scenario group module named in GROUP_MODULES has the
interface main.py calls (KINDS, precheck, and run - or run_cells for a group
that keeps many figures per run in its own table), and the kinds are unique.
(A renamed run() once surfaced only when OVS was installed.)"""
import inspect
import os
import sys

root = sys.argv[1]
sys.path.insert(0, os.path.join(root, "tools"))
from bench_lib import main  # noqa: E402

problems = []
seen = {}
for m in main.GROUP_MODULES:
    runner = "run_cells" if hasattr(m, "run_cells") else "run"
    for attr, params in (("precheck", 2), (runner, 3)):
        f = getattr(m, attr, None)
        if not callable(f):
            problems.append(f"{m.__name__}: no {attr}()")
        elif len(inspect.signature(f).parameters) != params:
            problems.append(f"{m.__name__}.{attr}() takes {len(inspect.signature(f).parameters)} arguments, not {params}")
    if not getattr(m, "KINDS", None):
        problems.append(f"{m.__name__}: no KINDS")
    for k in getattr(m, "KINDS", ()):
        if k in seen:
            problems.append(f"kind {k} in {seen[k]} and {m.__name__}")
        seen[k] = m.__name__
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
