#!/usr/bin/env python3
"""Peak heap of the library: the engine over a whole lifecycle plus the
driver's own buffers, as the README's "Memory" table gives them.

Runs three unit tests with the counting allocator of src/test_alloc.rs:
- engine::tests_dm::heap_peak_over_a_lifecycle_stays_under_the_cap (first
  boot, bootstrap, registration, reads of every object in TLV and JSON, an
  observation on every Device resource and three objects, notifications, the
  largest Block1 write, a re-bootstrap): prints HEAP_PHASE and HEAP_PEAK;
- engine::tests_dm::heap_with_every_limit_reached_at_once (three servers,
  each at every bound of limits.rs and observe at once): HEAP_PEAK
  engine_limits, the worst case the reservation is measured against, and
  HEAP_PEAK engine_limits_boot, a reboot on the records it left (as
  driver::init reads them);
- driver::tests::driver_heap_is_known: the driver's boxed state, receive
  buffer, shared state and AT queue at its limit (HEAP_FIXED).

On armv7-unknown-linux-gnueabihf under qemu-arm when that target, its cross
linker and qemu are installed (`scripts/setup.sh --reports`): the Arm EABI's
layout, as on the nRF9160's Cortex-M33 (32-bit pointers and usizes, 64-bit
integers and floats aligned to 8), so the figures are the device's bytes
requested. Otherwise on i686-unknown-linux-gnu (32-bit, but 64-bit values
aligned to 4: it understates the device by a few per cent), otherwise on the
host's 64-bit target, which overstates them.
Allocator overhead is estimated (Zephyr sys_heap: 8 bytes a chunk, rounding,
the glue's size word). On the Arm target it fails when the worst case with
that overhead does not fit the Kconfig default of the module's heap.

Usage: scripts/heap.py
"""
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Zephyr 2.4 sys_heap as the glue uses it: an 8-byte chunk header, rounding
# to 8 bytes, and the glue's 4-byte size word in front of each block.
BLOCK_OVERHEAD = 16
HEAP_OVERHEAD = 70
# The driver's blocks while running: the boxed driver, the receive buffer,
# the shared state, and at most 8 queued AT lines in two vectors.
DRIVER_BLOCKS = 13


ARM = "armv7-unknown-linux-gnueabihf"
ARM_ENV = {
    "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER": "arm-linux-gnueabihf-gcc",
    "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER": "qemu-arm -L /usr/arm-linux-gnueabihf",
}


def run(target):
    cmd = ["cargo", "test", "-q", "--lib"]
    env = dict(os.environ)
    if target == ARM:
        env.update(ARM_ENV)
    if target:
        cmd += ["--target", target]
        env["CARGO_TARGET_DIR"] = os.path.join(ROOT, "target", "heap-" + target)
    cmd += ["--", "--nocapture", "--test-threads=1", "heap_peak_over_a_lifecycle", "heap_with_every_limit_reached_at_once", "driver_heap_is_known"]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit("heap tests failed")
    return out.stdout + out.stderr


def main():
    installed = subprocess.run(["rustup", "target", "list", "--installed"], capture_output=True, text=True).stdout
    arm_ok = ARM in installed and shutil.which("qemu-arm") and shutil.which("arm-linux-gnueabihf-gcc")
    target = ARM if arm_ok else "i686-unknown-linux-gnu" if "i686-unknown-linux-gnu" in installed else None
    text = run(target)
    phases = re.findall(r"HEAP_PHASE (\w+) (\d+) (\d+)", text)
    peak = int(re.search(r"HEAP_PEAK engine_lifecycle (\d+)", text).group(1))
    fixed = dict((k, int(v)) for k, v in re.findall(r"HEAP_FIXED (\w+) (\d+)", text))
    print(f"target: {target or 'host (64-bit: overstates the device)'}")
    print("engine, held / peak so far, by phase:")
    for name, held, so_far in phases:
        print(f"  {name:<11} {int(held):>6} B held, {int(so_far):>6} B peak")
    print(f"engine peak over the lifecycle   {peak:>6} B")
    print(f"driver while running             {fixed['driver_running']:>6} B")
    total = peak + fixed["driver_running"]
    blocks = int(re.search(r"HEAP_BLOCKS engine_lifecycle (\d+)", text).group(1)) + DRIVER_BLOCKS
    reserve = total + blocks * BLOCK_OVERHEAD + HEAP_OVERHEAD
    print(f"peak heap (engine + driver)      {total:>6} B requested in about {blocks} blocks")
    print(f"with the Zephyr heap's overhead  {reserve:>6} B "
          f"({BLOCK_OVERHEAD} B a block, {HEAP_OVERHEAD} B fixed): CONFIG_LWM2M_CARRIER_HEAP_SIZE must exceed it")
    limits = int(re.search(r"HEAP_PEAK engine_limits (\d+)", text).group(1))
    lblocks = int(re.search(r"HEAP_BLOCKS engine_limits (\d+)", text).group(1)) + DRIVER_BLOCKS
    ltotal = limits + fixed["driver_running"]
    lreserve = ltotal + lblocks * BLOCK_OVERHEAD + HEAP_OVERHEAD
    print(f"engine with every limit at once  {limits:>6} B (three servers, each at every bound)")
    print(f"worst case (engine + driver)     {ltotal:>6} B requested in about {lblocks} blocks, "
          f"{lreserve} B with the heap's overhead")
    boot = int(re.search(r"HEAP_PEAK engine_limits_boot (\d+)", text).group(1))
    print(f"reboot on every record at limits {boot + fixed['driver_running']:>6} B requested (records read and decoded, "
          f"engine built: {boot} B; with the driver's buffers)")
    default = kconfig_heap_default()
    margin = default - lreserve
    print(f"reserved (Kconfig default)       {default:>6} B: {margin} B ({100 * margin / default:.1f} %) "
          f"above the worst case")
    if target == ARM and margin < 0:
        raise SystemExit("the worst case does not fit CONFIG_LWM2M_CARRIER_HEAP_SIZE's default")


def kconfig_heap_default():
    """The default of LWM2M_CARRIER_HEAP_SIZE in the module's Kconfig."""
    text = open(os.path.join(ROOT, "Kconfig")).read()
    m = re.search(r"config LWM2M_CARRIER_HEAP_SIZE\n(?:\t.*\n)*?\tdefault (\d+)", text)
    return int(m.group(1))


if __name__ == "__main__":
    main()
