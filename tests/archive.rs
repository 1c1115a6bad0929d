//! The archive applications link, `liblwm2m_carrier.a`, as the linker sees it.
//!
//! - Every exported `lwm2m_carrier*` symbol is one of the original 0.10
//!   archive's (c-api.md §2.9), and the eight overridable functions of
//!   c-api.md §2.8 are weak definitions (`W`), as in the original.
//! - A C program that links the archive alone (no glue: only `lwm2m_os_*`
//!   stubs and an event handler) links, and its own definition of a time
//!   function wins over the weak default.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The host archive, built once for these tests (`cargo test` builds only
/// the rlib the tests link; the staticlib is what applications link).
fn archive() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"));
            let release = !cfg!(debug_assertions);
            let mut cargo = Command::new(env!("CARGO"));
            cargo.args(["build", "-q", "-p", "lwm2m_carrier", "--lib"]).current_dir(root());
            if release {
                cargo.arg("--release");
            }
            let status = cargo.status().expect("cargo build");
            assert!(status.success(), "cargo build of the staticlib failed");
            target.join(if release { "release" } else { "debug" }).join("liblwm2m_carrier.a")
        })
        .clone()
}

/// The original's exported functions (c-api.md §2.9).
const ORIGINAL_STRONG: &[&str] = &[
    "lwm2m_carrier_init",
    "lwm2m_carrier_run",
    "lwm2m_carrier_avail_power_sources_set",
    "lwm2m_carrier_power_source_voltage_set",
    "lwm2m_carrier_power_source_current_set",
    "lwm2m_carrier_battery_level_set",
    "lwm2m_carrier_battery_status_set",
    "lwm2m_carrier_device_type_set",
    "lwm2m_carrier_hardware_version_set",
    "lwm2m_carrier_software_version_set",
    "lwm2m_carrier_error_code_add",
    "lwm2m_carrier_error_code_remove",
    "lwm2m_carrier_memory_total_set",
    "lwm2m_carrier_identity_read",
    "lwm2m_carrier_identity_write",
    "lwm2m_carrier_portfolio_instance_create",
    "lwm2m_carrier_apn_get",
    "lwm2m_carrier_pdn_activate",
];
const ORIGINAL_WEAK: &[&str] = &[
    "lwm2m_carrier_utc_time_read",
    "lwm2m_carrier_utc_time_write",
    "lwm2m_carrier_utc_offset_read",
    "lwm2m_carrier_utc_offset_write",
    "lwm2m_carrier_timezone_read",
    "lwm2m_carrier_timezone_write",
    "lwm2m_carrier_time_read",
    "lwm2m_carrier_memory_free_read",
];

#[test]
fn exported_symbols_are_the_originals() {
    let out = Command::new("nm").arg("-g").arg("--defined-only").arg(archive()).output().expect("nm");
    assert!(out.status.success(), "nm {}: {}", archive().display(), String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut weak = Vec::new();
    for line in text.lines() {
        let mut f = line.split_whitespace().rev();
        let (Some(name), Some(kind)) = (f.next(), f.next()) else { continue };
        if !name.starts_with("lwm2m_carrier") {
            continue;
        }
        if kind == "W" {
            weak.push(name.to_string());
        }
        assert!(
            ORIGINAL_STRONG.contains(&name) || ORIGINAL_WEAK.contains(&name),
            "{name} ({kind}) is not in the original archive's exported set"
        );
        assert!(!(ORIGINAL_WEAK.contains(&name) && kind != "W"), "{name} must be weak, is {kind}");
    }
    weak.sort();
    weak.dedup();
    let mut want: Vec<String> = ORIGINAL_WEAK.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(weak, want, "the weak defaults of c-api.md §2.8");
}

const PROGRAM: &str = r#"
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <lwm2m_carrier.h>
#include <lwm2m_os.h>

/* The application's own clock: must win over the library's weak default. */
int32_t lwm2m_carrier_utc_time_read(void) { return 1700000000; }
int lwm2m_carrier_event_handler(const lwm2m_carrier_event_t *e) { (void)e; return 0; }

int lwm2m_os_init(void) { return 0; }
void *lwm2m_os_malloc(size_t n) { extern void *malloc(size_t); return malloc(n); }
void lwm2m_os_free(void *p) { extern void free(void *); free(p); }
int64_t lwm2m_os_uptime_ms(void) { return 5000; }
int lwm2m_os_wait(int32_t t) { (void)t; return 0; }
void lwm2m_os_wake(void) {}
void lwm2m_os_lock(void) {}
void lwm2m_os_unlock(void) {}
void lwm2m_os_reboot(void) {}
int lwm2m_os_rand(void *b, size_t n) { memset(b, 7, n); return 0; }
void lwm2m_os_log(int l, const char *m) { (void)l; (void)m; }
int lwm2m_os_storage_read(uint16_t id, void *b, size_t n) { (void)id; (void)b; (void)n; return -LWM2M_OS_ENOENT; }
int lwm2m_os_storage_write(uint16_t id, const void *b, size_t n) { (void)id; (void)b; return (int)n; }
int lwm2m_os_storage_delete(uint16_t id) { (void)id; return 0; }
int lwm2m_os_modem_init(void) { return -1; }
int lwm2m_os_modem_shutdown(void) { return 0; }
int lwm2m_os_at_cmd(const char *c, char *r, size_t n) { (void)c; (void)r; (void)n; return -1; }
int lwm2m_os_at_notif_register(lwm2m_os_at_notif_handler_t h) { (void)h; return 0; }
int lwm2m_os_sec_exists(uint32_t t, int k) { (void)t; (void)k; return 0; }
int lwm2m_os_sec_write(uint32_t t, int k, const void *b, size_t n) { (void)t; (void)k; (void)b; (void)n; return 0; }
int lwm2m_os_sec_delete(uint32_t t, int k) { (void)t; (void)k; return 0; }
int lwm2m_os_udp_open(const char *h, uint16_t p, int32_t t, uint16_t l) { (void)h; (void)p; (void)t; (void)l; return -1; }
int lwm2m_os_udp_send(int h, const void *b, size_t n) { (void)h; (void)b; (void)n; return -1; }
int lwm2m_os_udp_recv(int h, void *b, size_t n) { (void)h; (void)b; (void)n; return -1; }
void lwm2m_os_udp_close(int h) { (void)h; }

int main(void)
{
    int32_t t = 0; int off = 99; const char *tz = NULL;
    /* Application override + library defaults, together. */
    lwm2m_carrier_time_read(&t, &off, &tz);
    if (t != 1700000000 || off != 0 || tz == NULL || strcmp(tz, "Etc/UTC") != 0) return 1;
    if (lwm2m_carrier_utc_offset_write(841) != -22 || lwm2m_carrier_utc_offset_write(-330) != 0) return 2;
    if (lwm2m_carrier_utc_offset_read() != -330) return 3;
    if (lwm2m_carrier_timezone_write("Asia/Kolkata") != 0 || strcmp(lwm2m_carrier_timezone_read(), "Asia/Kolkata") != 0) return 4;
    if (lwm2m_carrier_memory_free_read() != 0) return 5;
    /* init fails cleanly here: the stub modem does not come up. */
    if (lwm2m_carrier_init(NULL) != -1) return 6;
    return 0;
}
"#;

#[test]
fn a_program_links_the_archive_alone_and_its_own_definitions_win() {
    let dir = std::env::temp_dir().join(format!("lwm2m_archive_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("main.c");
    std::fs::write(&src, PROGRAM).unwrap();
    let exe = dir.join("main");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .arg("-I")
        .arg(root().join("include"))
        .arg(&src)
        .arg(archive())
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .output()
        .expect("cc");
    assert!(out.status.success(), "link failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(&exe).status().expect("run");
    assert_eq!(run.code(), Some(0), "the program's checks failed (exit code = the failed step)");
    let _ = std::fs::remove_dir_all(&dir);
}
