//! Stand-ins for the `lwm2m_os_*` symbols in this crate's unit-test binary only
//! (the engine is sans-IO; logging and the heap of `os::heap_alloc` reach the OS
//! layer from tested code).
#![allow(clippy::missing_safety_doc)]
use core::ffi::{c_char, c_int, CStr};

std::thread_local! {
    /// `Some` once a test asked for the log lines: nothing is kept (or
    /// allocated, which the heap figures would count) otherwise.
    static LOGS: core::cell::RefCell<Option<Vec<String>>> = const { core::cell::RefCell::new(None) };
    static FAIL_MALLOC: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// From now on keep the lines this test thread logs.
pub fn capture_logs() {
    LOGS.with(|l| *l.borrow_mut() = Some(Vec::new()));
}

/// The lines this test thread logged since the last call (or since [`capture_logs`]).
pub fn take_logs() -> Vec<String> {
    LOGS.with(|l| l.borrow_mut().as_mut().map(core::mem::take).unwrap_or_default())
}

/// Make `lwm2m_os_malloc` fail (return NULL) on this test thread.
pub fn fail_malloc(fail: bool) {
    FAIL_MALLOC.with(|f| f.set(fail));
}

#[no_mangle]
pub unsafe extern "C" fn lwm2m_os_log(level: c_int, msg: *const c_char) {
    let m = CStr::from_ptr(msg).to_string_lossy();
    eprintln!("[{level}] {m}");
    // Kept for the tests that check a log line; bounded so that long runs do not grow it.
    let _ = LOGS.try_with(|l| {
        if let Some(l) = l.borrow_mut().as_mut().filter(|l| l.len() < 1000) {
            l.push(m.into_owned());
        }
    });
}

extern "C" {
    fn malloc(size: usize) -> *mut core::ffi::c_void;
    fn free(ptr: *mut core::ffi::c_void);
}
#[no_mangle]
pub unsafe extern "C" fn lwm2m_os_malloc(size: usize) -> *mut core::ffi::c_void {
    if FAIL_MALLOC.with(|f| f.get()) {
        return core::ptr::null_mut();
    }
    malloc(size)
}
#[no_mangle]
pub unsafe extern "C" fn lwm2m_os_free(ptr: *mut core::ffi::c_void) {
    free(ptr)
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
