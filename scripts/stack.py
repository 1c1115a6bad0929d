#!/usr/bin/env python3
"""Worst-case stack of the carrier thread, from the device build.

Builds the release archive for thumbv8m.main-none-eabihf with nightly's
`-Z emit-stack-sizes` (the frame size of every Rust function, kept in the
`.stack_sizes` section), links it as scripts/footprint.py does, adds the C
glue's frames (`-fstack-usage`), and walks the call graph from the
disassembly:

- direct calls (`bl`, and `b`/`b.w` tail calls into another function) are
  edges;
- an indirect call (`blx rN`: trait objects, function pointers) may reach
  any function whose address is stored in the image (vtables, tables), so
  it costs the deepest of those: a bound, not a guess;
- recursion is reported; inside a cycle of the call graph the deepest path
  that enters each function at most once (one level of recursion) is found
  exactly, so the figure does not depend on the order the graph is walked in.

Prints the worst path from `lwm2m_carrier_init` and from
`lwm2m_carrier_run` with each frame, and the bound against the thread's
stack (CONFIG_LWM2M_CARRIER_THREAD_STACK_SIZE, default given with --stack).
The figure excludes the OS layer behind `lwm2m_os_*` (it runs on the same
thread: the Zephyr glue's own frames are listed by the NCS build with
-fstack-usage) and an exception frame (FPU context: 104 bytes on the
Cortex-M33), which is added at the end.

Needs: `rustup toolchain install nightly` with the thumbv8m.main-none-eabihf
target, arm-none-eabi-gcc. Usage: scripts/stack.py [--stack BYTES]
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import footprint as fp  # noqa: E402

EXCEPTION_FRAME = 104  # Cortex-M33 with the FPU context stacked (ARMv8-M)
# The Zephyr glue and the NCS code below lwm2m_os_* on this thread, measured
# with -fstack-usage in the NCS v1.4.2 build (deepest: an AT or credential
# call, 376 B; a poll, 344 B + bsdlib's closed nrf_poll): rounded up.
GLUE_FRAMES = 512
ENTRIES = ["lwm2m_carrier_init", "lwm2m_carrier_run"]
HANDLER = "lwm2m_carrier_event_handler"


def uleb(data, i):
    v = shift = 0
    while True:
        b = data[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def build():
    target_dir = os.path.join(ROOT, "target", "stack-sizes")
    env = dict(os.environ, RUSTFLAGS="-Z emit-stack-sizes", CARGO_TARGET_DIR=target_dir)
    subprocess.run(["cargo", "+nightly", "rustc", "-q", "--release", "--target", fp.TARGET, "-p", "lwm2m_carrier",
                    "--crate-type", "staticlib"], cwd=ROOT, check=True, env=env)
    d = tempfile.mkdtemp()
    src = os.path.join(d, "main.c")
    with open(src, "w") as f:
        f.write(fp.MAIN_C)
    elf = os.path.join(d, "stack.elf")
    subprocess.run(["arm-none-eabi-gcc", *fp.CFLAGS, "-I", os.path.join(ROOT, "include"), src,
                    os.path.join(ROOT, "glue", "lwm2m_carrier_defaults.c"),
                    os.path.join(target_dir, fp.TARGET, "release", "liblwm2m_carrier.a"),
                    "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections", "-o", elf],
                   check=True, stderr=subprocess.DEVNULL)
    return elf


def symbols(elf):
    out = subprocess.run(["arm-none-eabi-nm", "-S", elf], capture_output=True, text=True, check=True).stdout
    funcs = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) == 4 and p[2] in "tTwW":
            funcs[int(p[0], 16) & ~1] = (p[3], int(p[1], 16))
    return funcs


def stack_sizes(elf):
    d = tempfile.mkdtemp()
    raw = os.path.join(d, "ss.bin")
    subprocess.run(["arm-none-eabi-objcopy", f"--dump-section=.stack_sizes={raw}", elf, os.path.join(d, "unused.elf")], check=True)
    data = open(raw, "rb").read()
    sizes, i = {}, 0
    while i + 4 <= len(data):
        addr = int.from_bytes(data[i:i + 4], "little") & ~1
        size, i = uleb(data, i + 4)
        sizes[addr] = size
    return sizes


def section(elf, name):
    """(address, bytes) of a section of the linked image."""
    d = tempfile.mkdtemp()
    raw = os.path.join(d, "s.bin")
    r = subprocess.run(["arm-none-eabi-objcopy", f"--dump-section={name}={raw}", elf, os.path.join(d, "unused.elf")],
                       stderr=subprocess.DEVNULL)
    if r.returncode or not os.path.exists(raw):
        return 0, b""
    hdr = subprocess.run(["arm-none-eabi-readelf", "-SW", elf], capture_output=True, text=True).stdout
    m = re.search(r"\]\s+" + re.escape(name) + r"\s+\S+\s+([0-9a-f]+)", hdr)
    return (int(m.group(1), 16) if m else 0), open(raw, "rb").read()


def word_at(sections, addr):
    for base, data in sections:
        if base <= addr and addr + 4 <= base + len(data):
            return int.from_bytes(data[addr - base:addr - base + 4], "little")
    return None


def vtables(sections, funcs):
    """Rust vtables in read-only data: [drop fn or 0, size, align, fn, fn, ...].
    Returns slot index -> set of functions found at that slot."""
    slots = {}
    for base, data in sections:
        words = [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data) - 3, 4)]
        fn = lambda w: w & 1 and (w & ~1) in funcs
        for i in range(len(words) - 3):
            drop, size, align = words[i], words[i + 1], words[i + 2]
            if not (drop == 0 or fn(drop)) or size > 1 << 16 or align not in (1, 2, 4, 8) or not fn(words[i + 3]):
                continue
            j = i + 3
            while j < len(words) and fn(words[j]):
                slots.setdefault(j - i, set()).add(funcs[words[j] & ~1][0])
                j += 1
    return slots


def call_graph(elf, funcs):
    """Edges of the call graph. Indirect calls are resolved where the code
    shows the target: a function address loaded from the literal pool
    (`ldr rX, [pc, #n]`: -Oz calls memcpy/dealloc that way), or a vtable
    slot (`ldr rX, [rY, #off]`: any vtable's function at that slot).
    Others stay unresolved (bounded by every address-taken function)."""
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", "--no-show-raw-insn", elf],
                         capture_output=True, text=True, check=True).stdout
    secs = [section(elf, ".text"), section(elf, ".rodata")]
    slots = vtables([secs[1]], funcs)
    by_name = {n: a for a, (n, _) in funcs.items()}
    edges, unresolved = {}, set()
    cur, regs = None, {}
    for line in dis.splitlines():
        m = re.match(r"^([0-9a-f]+) <(.+)>:$", line)
        if m:
            cur = m.group(2) if m.group(2) in by_name else None
            regs = {}
            if cur:
                edges.setdefault(cur, set())
            continue
        if not cur:
            continue
        m = re.match(r"^\s+[0-9a-f]+:\s+(\S+)\s+(.*)$", line)
        if not m:
            continue
        op, args = m.group(1), m.group(2)
        t = re.search(r"<([^>+]+)>", args)
        lit = re.match(r"(r\d+|ip|lr), \[pc, #-?\d+\]\s+@ \(([0-9a-f]+)", args)
        slot = re.match(r"(r\d+|ip|lr), \[(r\d+|ip|lr|sp)(?:, #(\d+))?\]", args)
        if op.startswith("ldr") and lit:
            w = word_at(secs, int(lit.group(2), 16))
            regs[lit.group(1)] = {funcs[w & ~1][0]} if w is not None and w & 1 and (w & ~1) in funcs else None
        elif op.startswith("ldr") and slot and slot.group(2) != "sp":
            off = int(slot.group(3) or 0)
            regs[slot.group(1)] = slots.get(off // 4) if off % 4 == 0 else None
        elif op.startswith("blx") and re.match(r"^(r\d+|ip|lr)\s*$", args.strip()):
            targets = regs.get(args.strip())
            if targets:
                edges[cur] |= targets
            else:
                unresolved.add(cur)
        elif op in ("bl", "blx") and t:
            edges[cur].add(t.group(1))
        elif op in ("b", "b.w") and t and t.group(1) != cur and t.group(1) in by_name:
            edges[cur].add(t.group(1))
        else:
            dst = re.match(r"^(r\d+|ip|lr)\b", args)
            if dst and not op.startswith(("str", "cmp", "tst", "push", "stm", "b")):
                regs.pop(dst.group(1), None)
    return edges, unresolved


def address_taken(elf, funcs):
    """Functions whose (Thumb) address appears as a word in data sections."""
    d = tempfile.mkdtemp()
    taken = set()
    for sec in (".rodata", ".data"):
        raw = os.path.join(d, "s.bin")
        r = subprocess.run(["arm-none-eabi-objcopy", f"--dump-section={sec}={raw}", elf, os.path.join(d, "unused.elf")], stderr=subprocess.DEVNULL)
        if r.returncode or not os.path.exists(raw):
            continue
        data = open(raw, "rb").read()
        for i in range(0, len(data) - 3, 2):
            w = int.from_bytes(data[i:i + 4], "little")
            if w & 1 and (w & ~1) in funcs:
                taken.add(funcs[w & ~1][0])
    return taken


def main():
    stack_budget = 6144  # CONFIG_LWM2M_CARRIER_THREAD_STACK_SIZE default
    if "--stack" in sys.argv:
        stack_budget = int(sys.argv[sys.argv.index("--stack") + 1])
    elf = build()
    funcs = symbols(elf)
    sizes = stack_sizes(elf)
    frame = {funcs[a][0]: s for a, s in sizes.items() if a in funcs}
    edges, indirect = call_graph(elf, funcs)
    taken = address_taken(elf, funcs)
    unknown = set()

    def callees_of(f):
        cs = set(edges.get(f, ()))
        if f in indirect:
            cs |= taken
        return sorted(cs)

    # Strongly connected components (Tarjan, iterative, in sorted order so the
    # figure does not depend on hash order). A component that is a cycle is
    # costed as every member's frame once ("one level" of recursion: a bound for
    # any path that enters each function of the cycle at most once), plus the
    # deepest way out of it.
    index, low, comp_of, comps = {}, {}, {}, []
    stack, on = [], set()
    nodes = sorted(set(frame) | set(edges) | {c for f in edges for c in callees_of(f)})
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(callees_of(root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(callees_of(w))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                members = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp_of[w] = len(comps)
                    members.append(w)
                    if w == v:
                        break
                comps.append(sorted(members))
    recursive = set()
    for members in comps:
        if len(members) > 1 or members[0] in callees_of(members[0]):
            recursive.update(members)
    for f in nodes:
        if f not in frame:
            unknown.add(f)
    # Components come out of Tarjan callees first: cost them in that order. Inside
    # a cycle, the deepest path that enters each function at most once is found
    # exactly (memoised over the set of functions already on the stack); every
    # function of a component costs that, plus the deepest call out of it.
    node_cost = {}
    for members in comps:
        me = comp_of[members[0]]
        exit_ = {}
        for f in members:
            out = (0, [])
            for c in callees_of(f):
                if comp_of[c] != me and node_cost[c][0] > out[0]:
                    out = node_cost[c]
            exit_[f] = out
        if len(members) == 1:
            f = members[0]
            node_cost[f] = (frame.get(f, 0) + exit_[f][0], [f] + exit_[f][1])
            continue
        if len(members) > 28:
            sys.exit(f"stack.py: a cycle of {len(members)} functions: too large to search exactly")
        bit = {f: 1 << i for i, f in enumerate(members)}
        inside = {f: [c for c in callees_of(f) if c in bit] for f in members}
        memo = {}

        def deepest(f, on_stack):
            key = (f, on_stack)
            if key not in memo:
                best = exit_[f]
                for c in inside[f]:
                    if not on_stack & bit[c]:
                        w = deepest(c, on_stack | bit[c])
                        if w[0] > best[0]:
                            best = w
                memo[key] = (frame.get(f, 0) + best[0], [f] + best[1])
            return memo[key]

        for f in members:
            node_cost[f] = deepest(f, bit[f])

    def worst(f):
        return node_cost[f]

    for e in ENTRIES:
        total, path = worst(e)
        print(f"{e}: worst case {total} B of Rust/C frames (+{EXCEPTION_FRAME} B exception frame = "
              f"{total + EXCEPTION_FRAME} B) of a {stack_budget} B stack")
        for f in path:
            print(f"  {frame.get(f, 0):>5}  {f[:100]}")
    biggest = sorted(frame.items(), key=lambda kv: -kv[1])[:10]
    print("largest frames:")
    for f, s in biggest:
        print(f"  {s:>5}  {f[:100]}")
    if recursive:
        print("recursion (bound assumes one level):", ", ".join(sorted(recursive))[:400])
    os_calls = sorted(u for u in unknown if u.startswith("lwm2m_os_"))
    other = sorted(u for u in unknown if not u.startswith("lwm2m_os_"))
    print(f"not counted: OS layer {len(os_calls)} functions; frames unknown (C library / stubs): {len(other)}")
    # The application's lwm2m_carrier_event_handler() runs on this thread too,
    # below the driver frames that call it: the room it has.
    callers = {}
    for f in nodes:
        for c in callees_of(f):
            callers.setdefault(c, set()).add(f)
    above = {"depth": 0}

    def up(f, depth, seen):
        if f in ENTRIES:
            above["depth"] = max(above["depth"], depth)
        for c in sorted(callers.get(f, ())):
            if c not in seen:
                up(c, depth + frame.get(c, 0), seen | {c})

    up(HANDLER, 0, {HANDLER})
    room = stack_budget - above["depth"] - EXCEPTION_FRAME
    print(f"{HANDLER} is called at most {above['depth']} B deep: {room} B of the stack are the "
          f"application handler's (with the exception frame taken off)")
    worst_total = max(worst(e)[0] for e in ENTRIES) + EXCEPTION_FRAME + GLUE_FRAMES
    print(f"with the glue and NCS frames below lwm2m_os_* ({GLUE_FRAMES} B):")
    print(f"STACK_WORST {worst_total} BUDGET {stack_budget} SPARE {stack_budget - worst_total}")


if __name__ == "__main__":
    main()
