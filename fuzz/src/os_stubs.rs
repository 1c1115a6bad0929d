//! The `lwm2m_os_*` symbols the library declares (`include/lwm2m_os.h`),
//! as inert stand-ins: the engine is sans-IO, so only logging (and the lock
//! around the shared state) is reached from the code under test. Every
//! symbol is defined so that any binary links whatever the linker keeps.
//! Set `FUZZ_LOG=1` to see the library's log lines on stderr.
#![allow(clippy::missing_safety_doc)]

use core::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

/// `FUZZ_LOG` is set: the library's log and the engine harness's trace go to stderr.
pub fn logging() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FUZZ_LOG").is_some())
}

#[no_mangle]
pub unsafe extern "C" fn lwm2m_os_log(level: c_int, msg: *const c_char) {
    if logging() && !msg.is_null() {
        eprintln!("[{level}] {}", CStr::from_ptr(msg).to_string_lossy());
    }
}
#[no_mangle]
pub extern "C" fn lwm2m_os_init() -> c_int {
    0
}
#[no_mangle]
pub extern "C" fn lwm2m_os_malloc(size: usize) -> *mut c_void {
    let _ = size;
    core::ptr::null_mut()
}
#[no_mangle]
pub extern "C" fn lwm2m_os_free(_ptr: *mut c_void) {}
#[no_mangle]
pub extern "C" fn lwm2m_os_uptime_ms() -> i64 {
    0
}
#[no_mangle]
pub extern "C" fn lwm2m_os_wait(_timeout_ms: i32) -> c_int {
    0
}
#[no_mangle]
pub extern "C" fn lwm2m_os_wake() {}
#[no_mangle]
pub extern "C" fn lwm2m_os_lock() {}
#[no_mangle]
pub extern "C" fn lwm2m_os_unlock() {}
#[no_mangle]
pub extern "C" fn lwm2m_os_reboot() {}
#[no_mangle]
pub extern "C" fn lwm2m_os_rand(_buf: *mut c_void, _len: usize) -> c_int {
    -1
}
#[no_mangle]
pub extern "C" fn lwm2m_os_storage_read(_id: u16, _buf: *mut c_void, _len: usize) -> c_int {
    -2
}
#[no_mangle]
pub extern "C" fn lwm2m_os_storage_write(_id: u16, _buf: *const c_void, len: usize) -> c_int {
    len as c_int
}
#[no_mangle]
pub extern "C" fn lwm2m_os_storage_delete(_id: u16) -> c_int {
    0
}
#[no_mangle]
pub extern "C" fn lwm2m_os_modem_init() -> c_int {
    0
}
#[no_mangle]
pub extern "C" fn lwm2m_os_modem_shutdown() -> c_int {
    0
}
#[no_mangle]
pub extern "C" fn lwm2m_os_at_cmd(_cmd: *const c_char, _resp: *mut c_char, _resp_len: usize) -> c_int {
    -1
}
#[no_mangle]
pub extern "C" fn lwm2m_os_at_notif_register(_handler: Option<unsafe extern "C" fn(*const c_char)>) -> c_int {
    0
}
#[no_mangle]
pub extern "C" fn lwm2m_os_sec_exists(_sec_tag: u32, _kind: c_int) -> c_int {
    0
}
#[no_mangle]
pub extern "C" fn lwm2m_os_sec_write(_sec_tag: u32, _kind: c_int, _buf: *const c_void, _len: usize) -> c_int {
    0
}
#[no_mangle]
pub extern "C" fn lwm2m_os_sec_delete(_sec_tag: u32, _kind: c_int) -> c_int {
    0
}
#[no_mangle]
pub extern "C" fn lwm2m_os_udp_open(_host: *const c_char, _port: u16, _sec_tag: i32, _local_port: u16) -> c_int {
    -1
}
#[no_mangle]
pub extern "C" fn lwm2m_os_udp_send(_handle: c_int, _buf: *const c_void, _len: usize) -> c_int {
    -1
}
#[no_mangle]
pub extern "C" fn lwm2m_os_udp_recv(_handle: c_int, _buf: *mut c_void, _len: usize) -> c_int {
    -1
}
#[no_mangle]
pub extern "C" fn lwm2m_os_udp_close(_handle: c_int) {}

/// `FUZZ_STRICT` is set: the checks that tolerate a known, reported bug
/// (`KNOWN_*` in the targets, fuzz/README.md "Findings") stop tolerating it.
pub fn strict() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("FUZZ_STRICT").is_ok_and(|v| !v.is_empty() && v != "0"))
}
