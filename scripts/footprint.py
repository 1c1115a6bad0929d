#!/usr/bin/env python3
"""Footprint of liblwm2m_carrier.a on the nRF9160 (design.md §4).

Builds the release archive for thumbv8m.main-none-eabihf, links it into a
minimal C program with arm-none-eabi-gcc --gc-sections (every public
function referenced, every lwm2m_os_* function stubbed), and prints how much
.text, .rodata, .data and .bss come from the library's archive, read from the
linker map. It reports; it does not gate.

Usage: scripts/footprint.py [--markdown]
"""
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = "thumbv8m.main-none-eabihf"
CFLAGS = ["-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16", "-Os",
          "-ffunction-sections", "-fdata-sections"]

MAIN_C = r"""
#include <lwm2m_carrier.h>
#include <lwm2m_os.h>
#include <stdlib.h>
int lwm2m_carrier_event_handler(const lwm2m_carrier_event_t *e) { return (int)e->type; }
/* The weak time/memory defaults come from glue/lwm2m_carrier_defaults.c (glue, not library). */
/* Stubs: the OS layer is the platform's, not the library's. */
int lwm2m_os_init(void) { return 0; }
void *lwm2m_os_malloc(size_t s) { return malloc(s); }
void lwm2m_os_free(void *p) { free(p); }
int64_t lwm2m_os_uptime_ms(void) { return 0; }
int lwm2m_os_wait(int32_t t) { return (int)t; }
void lwm2m_os_wake(void) {}
void lwm2m_os_lock(void) {}
void lwm2m_os_unlock(void) {}
void lwm2m_os_reboot(void) { for (;;) {} }
int lwm2m_os_rand(void *b, size_t l) { (void)b; return (int)l; }
void lwm2m_os_log(int l, const char *m) { (void)l; (void)m; }
int lwm2m_os_storage_read(uint16_t id, void *b, size_t l) { (void)id; (void)b; (void)l; return -2; }
int lwm2m_os_storage_write(uint16_t id, const void *b, size_t l) { (void)id; (void)b; return (int)l; }
int lwm2m_os_storage_delete(uint16_t id) { (void)id; return 0; }
int lwm2m_os_modem_init(void) { return 0; }
int lwm2m_os_modem_shutdown(void) { return 0; }
int lwm2m_os_at_cmd(const char *c, char *r, size_t l) { (void)c; (void)r; (void)l; return 0; }
int lwm2m_os_at_notif_register(lwm2m_os_at_notif_handler_t h) { (void)h; return 0; }
int lwm2m_os_sec_exists(uint32_t t, int k) { (void)t; (void)k; return 0; }
int lwm2m_os_sec_write(uint32_t t, int k, const void *b, size_t l) { (void)t; (void)k; (void)b; (void)l; return 0; }
int lwm2m_os_sec_delete(uint32_t t, int k) { (void)t; (void)k; return 0; }
int lwm2m_os_udp_open(const char *h, uint16_t p, int32_t t, uint16_t l) { (void)h; (void)p; (void)t; (void)l; return 0; }
int lwm2m_os_udp_send(int h, const void *b, size_t l) { (void)h; (void)b; return (int)l; }
int lwm2m_os_udp_recv(int h, void *b, size_t l) { (void)h; (void)b; (void)l; return -11; }
void lwm2m_os_udp_close(int h) { (void)h; }

static const uint8_t sources[] = { 0, 1 };
int main(void)
{
	static const lwm2m_carrier_config_t cfg = { "coaps://x", "00", 0, false };
	int r = lwm2m_carrier_init(&cfg);
	lwm2m_carrier_run();
	r += lwm2m_carrier_avail_power_sources_set(sources, 2);
	r += lwm2m_carrier_power_source_voltage_set(0, 1);
	r += lwm2m_carrier_power_source_current_set(0, 1);
	r += lwm2m_carrier_battery_level_set(1);
	r += lwm2m_carrier_battery_status_set(1);
	r += lwm2m_carrier_device_type_set("a");
	r += lwm2m_carrier_hardware_version_set("a");
	r += lwm2m_carrier_software_version_set("a");
	r += lwm2m_carrier_error_code_add(1);
	r += lwm2m_carrier_error_code_remove(1);
	r += lwm2m_carrier_memory_total_set(1);
	return r;
}
"""

SECTION_CLASS = [(".text", "text"), (".rodata", "rodata"), (".data", "data"), (".bss", "bss")]


def run(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, **kw)


def parse_map(path, archive_name):
    """Sum input-section sizes per class and per origin (library / other)."""
    sizes = defaultdict(lambda: defaultdict(int))
    in_memory_map = False
    pending = None
    line_re = re.compile(r"^\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S.*)$")
    with open(path) as f:
        for line in f:
            if line.startswith("Linker script and memory map"):
                in_memory_map = True
                continue
            if not in_memory_map:
                continue
            if line.startswith("/DISCARD/"):
                break
            m = re.match(r"^ (\.\S+)\s*$", line)
            if m:
                pending = m.group(1)
                continue
            m = re.match(r"^ (\.\S+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S.*)$", line)
            if m:
                name, size, origin = m.group(1), int(m.group(3), 16), m.group(4)
            else:
                m = line_re.match(line)
                if not (m and pending):
                    pending = None
                    continue
                name, size, origin = pending, int(m.group(2), 16), m.group(3)
            pending = None
            cls = next((c for p, c in SECTION_CLASS if name.startswith(p)), None)
            if cls is None or size == 0:
                continue
            who = "lib" if archive_name in origin else "other"
            sizes[who][cls] += size
    return sizes


def main():
    markdown = "--markdown" in sys.argv
    # `cargo rustc --crate-type staticlib`: with crate-type = ["staticlib", "rlib"]
    # in Cargo.toml, `cargo build` skips LTO (rustc only does LTO for a lone
    # staticlib); the Zephyr module builds the archive the same way.
    run(["cargo", "rustc", "--release", "--target", TARGET, "-p", "lwm2m_carrier", "--crate-type", "staticlib"],
        cwd=ROOT)
    archive = os.path.join(ROOT, "target", TARGET, "release", "liblwm2m_carrier.a")
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "main.c")
        with open(src, "w") as f:
            f.write(MAIN_C)
        elf = os.path.join(d, "fp.elf")
        mapf = os.path.join(d, "fp.map")
        defaults = os.path.join(ROOT, "glue", "lwm2m_carrier_defaults.c")
        run(["arm-none-eabi-gcc", *CFLAGS, "-I", os.path.join(ROOT, "include"), src, defaults, archive,
             "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections", f"-Wl,-Map={mapf}",
             "-o", elf])
        sizes = parse_map(mapf, "liblwm2m_carrier.a")
    lib = sizes["lib"]
    flash = lib["text"] + lib["rodata"] + lib["data"]
    ram = lib["data"] + lib["bss"]
    if markdown:
        print("| section | bytes |\n|---|---:|")
        for k in ("text", "rodata", "data", "bss"):
            print(f"| .{k} | {lib[k]} |")
        print(f"| **flash** (text+rodata+data) | **{flash}** |")
        print(f"| **static RAM** (data+bss) | **{ram}** |")
    else:
        print(f"liblwm2m_carrier.a ({TARGET}, opt-level z, LTO), linked with --gc-sections:")
        for k in ("text", "rodata", "data", "bss"):
            print(f"  .{k:<7} {lib[k]:>7} B")
        print(f"  flash   {flash:>7} B   (design target <= 40960; original 0.10: ~61761)")
        print(f"  RAM     {ram:>7} B   (design target <= 4096;  original 0.10: ~10223)")


if __name__ == "__main__":
    main()
