//! Stand-ins for the `lwm2m_os_*` symbols in this crate's unit-test binary only
//! (the engine is sans-IO; only logging reaches the OS layer from tested code).
#![allow(clippy::missing_safety_doc)]
use core::ffi::{c_char, c_int, CStr};

#[no_mangle]
pub unsafe extern "C" fn lwm2m_os_log(level: c_int, msg: *const c_char) {
    let m = CStr::from_ptr(msg).to_string_lossy();
    eprintln!("[{level}] {m}");
}
#[no_mangle]
pub extern "C" fn lwm2m_os_lock() {}
#[no_mangle]
pub extern "C" fn lwm2m_os_unlock() {}
#[no_mangle]
pub extern "C" fn lwm2m_os_wake() {}
#[no_mangle]
pub extern "C" fn lwm2m_os_uptime_ms() -> i64 {
    0
}
