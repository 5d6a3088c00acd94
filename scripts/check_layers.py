#!/usr/bin/env python3
"""check_layers.py - the layout rules of src/, checked in `make test`.

    scripts/check_layers.py [--build BUILD_DIR]

1. Layers: a file includes headers only from its own folder and the folders
   below it (LAYERS). app/app.h (the context every part is handed) sits
   just above config; app/wiring.h is for the command line only.
2. No circles between units (a .c file with its .h): an edge A -> B is A
   including B's header or, with --build, A calling a function that only
   B's object defines (from `nm` on the objects). A layered tree has none.

Exit status 1, with every violation listed, when a rule is broken.
"""
import os
import re
import subprocess
import sys

SRC = "src"

# Each folder and the folders it may include from (besides itself).
LAYERS = {
    "core": set(),
    "config": {"core"},
    "app": {"core", "config"},  # app/app.h: the context; see WIRING below
    "net": {"core"},
    "oauth": {"core", "config", "net"},
    "store": {"core", "config"},
    "upstream": {"core", "config", "app", "net", "oauth"},
    "http": {"core", "config"},
    "stream": {"core", "config", "app", "http"},
    "mcp": {"core", "config", "app", "http", "net", "oauth", "upstream", "store", "cluster"},
    "api": {"core", "config", "app", "http", "net", "oauth", "upstream", "stream", "store", "cluster"},
    "cluster": {"core", "config", "app"},
    "cli": {"core", "config", "app"},
}
# app/wiring knows every part; only the command line includes it.
WIRING = "app/wiring"
WIRING_MAY_INCLUDE = set(LAYERS) - {"cli"}


def units_of(files):
    return {os.path.splitext(os.path.relpath(f, SRC))[0] for f in files}


def includes(path):
    with open(path, errors="replace") as f:
        return re.findall(r'^\s*#\s*include\s+"([^"]+)"', f.read(), re.M)


def folder(unit):
    return unit.split("/", 1)[0]


def layer_violations(files, units):
    bad = []
    for f in files:
        unit = units_of([f]).pop()
        for inc in includes(f):
            target = os.path.splitext(inc)[0]
            if target not in units:
                continue  # generated or system-like headers
            src_folder, dst_folder = folder(unit), folder(target)
            if src_folder == dst_folder and unit != WIRING and target != WIRING:
                continue
            if unit == WIRING:
                ok = dst_folder in WIRING_MAY_INCLUDE
            elif target == WIRING:
                ok = src_folder == "cli"
            else:
                ok = dst_folder in LAYERS.get(src_folder, set()) or dst_folder == src_folder
            if not ok:
                bad.append(f"{f}: includes {inc} ({src_folder} may not depend on {dst_folder})")
    return bad


def symbol_edges(build, units_with_c):
    """unit -> units whose functions it calls, from the objects' symbols."""
    defined, undefined = {}, {}
    for d, _, fs in os.walk(build):
        for name in fs:
            if not name.endswith(".c.o"):
                continue
            path = os.path.join(d, name)
            m = re.search(r"CMakeFiles/[^/]+\.dir/(.+)\.c\.o$", path)
            if not m:
                continue
            rel = m.group(1)
            # Objects of src/X/Y.c live in <build>/src/X/CMakeFiles/<t>.dir/Y.c.o
            parts = os.path.relpath(d, build).split(os.sep)
            if len(parts) < 2 or parts[0] != "src":
                continue
            unit = f"{parts[1]}/{rel}"
            if unit not in units_with_c:
                continue
            out = subprocess.run(["nm", path], capture_output=True, text=True).stdout
            for line in out.splitlines():
                t = line.split()
                if len(t) >= 2 and t[-2] in "TDBR":
                    defined.setdefault(t[-1], set()).add(unit)
                elif len(t) == 2 and t[0] == "U":
                    undefined.setdefault(unit, set()).add(t[1])
    edges = {}
    for unit, syms in undefined.items():
        for s in syms:
            owners = defined.get(s, set())
            if len(owners) == 1:
                owner = next(iter(owners))
                if owner != unit:
                    edges.setdefault(unit, set()).add(owner)
    return edges


def circles(edges, nodes):
    """Strongly connected components of more than one unit (Tarjan)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    args = sys.argv[1:]
    build = None
    if "--build" in args:
        build = args[args.index("--build") + 1]
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(SRC) for f in fs if f.endswith((".c", ".h")))
    units = units_of(files)
    units_with_c = units_of(f for f in files if f.endswith(".c"))

    problems = layer_violations(files, units)
    edges = {}
    for f in files:
        unit = units_of([f]).pop()
        if unit not in units_with_c:
            continue  # a header-only unit (types, tables) calls nothing
        for inc in includes(f):
            target = os.path.splitext(inc)[0]
            if target in units and target != unit:
                edges.setdefault(unit, set()).add(target)
    if build:
        for unit, targets in symbol_edges(build, units_with_c).items():
            edges.setdefault(unit, set()).update(targets)
    for comp in circles(edges, units):
        problems.append("circle: " + " <-> ".join(comp))

    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"layers: {len(units)} units in {len({folder(u) for u in units})} folders, no violation, no circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
