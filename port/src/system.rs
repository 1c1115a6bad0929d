//! Init, heap, uptime, the global lock, reboot and random bytes
//! (`lwm2m_os.h` "Initialisation", "Heap", "Time", "System").
//!
//! - Uptime counts from the first call into this port (the C glue calls
//!   `lwm2m_os_uptime_ms()` first thing in `main`, so that is process start).
//! - The lock is one global, non-recursive mutex whose lock and unlock are
//!   separate calls, as the header wants. Unlocking a lock that is not held
//!   is refused (logged, nothing else happens).
//! - Reboot exits the process with status [`REBOOT_EXIT_STATUS`] (64,
//!   "reboot requested"); a runner restarts the program on the same storage.

use core::ffi::{c_int, c_void};
use std::io::Write;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Instant;

use crate::err;

/// Exit status of `lwm2m_os_reboot()`: "reboot requested". A test runner or
/// wrapper script starts the program again with the same storage directory.
pub const REBOOT_EXIT_STATUS: i32 = 64;

static START: OnceLock<Instant> = OnceLock::new();

/// Milliseconds since the first call into the port.
pub fn uptime_ms() -> i64 {
    START.get_or_init(Instant::now).elapsed().as_millis() as i64
}

/// Initialise the OS layer: the uptime origin, the log level, the wake
/// eventfd and the storage directory. Safe to call more than once.
#[no_mangle]
pub extern "C" fn lwm2m_os_init() -> c_int {
    uptime_ms();
    crate::log::max_level();
    if let Err(e) = crate::wait::init() {
        return e;
    }
    crate::power_cut::arm_timer();
    if let Err(e) = crate::storage::create_private_dir(crate::storage::global().dir()) {
        crate::log::write(
            lwm2m_carrier::os::LOG_ERR,
            format!("cannot create storage directory: {e}").as_bytes(),
        );
        return -err::EIO;
    }
    0
}

/// `malloc()` of the C library (glibc aligns to 16, more than the 8 required).
#[no_mangle]
pub extern "C" fn lwm2m_os_malloc(size: usize) -> *mut c_void {
    // SAFETY: plain libc allocation; a NULL result is passed on.
    unsafe { libc::malloc(size) }
}

/// `free()` of the C library; NULL is ignored (as free() does).
#[no_mangle]
pub extern "C" fn lwm2m_os_free(ptr: *mut c_void) {
    // SAFETY: the caller passes NULL or a pointer from lwm2m_os_malloc().
    unsafe { libc::free(ptr) }
}

#[no_mangle]
pub extern "C" fn lwm2m_os_uptime_ms() -> i64 {
    uptime_ms()
}

/// The global lock: `true` while held.
struct GlobalLock {
    held: Mutex<bool>,
    released: Condvar,
}

static LOCK: GlobalLock = GlobalLock {
    held: Mutex::new(false),
    released: Condvar::new(),
};

impl GlobalLock {
    fn lock(&self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        while *held {
            held = self.released.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        *held = true;
    }

    /// Release; false if the lock was not held.
    fn unlock(&self) -> bool {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let was_held = *held;
        *held = false;
        drop(held);
        self.released.notify_one();
        was_held
    }
}

#[no_mangle]
pub extern "C" fn lwm2m_os_lock() {
    LOCK.lock();
}

#[no_mangle]
pub extern "C" fn lwm2m_os_unlock() {
    if !LOCK.unlock() {
        crate::log::write(
            lwm2m_carrier::os::LOG_ERR,
            b"lwm2m_os_unlock() without lwm2m_os_lock()",
        );
    }
}

/// Flush stdout/stderr (Rust and C stdio) and exit with status 64.
#[no_mangle]
pub extern "C" fn lwm2m_os_reboot() {
    crate::log::write(
        lwm2m_carrier::os::LOG_INF,
        b"reboot requested: exiting with status 64",
    );
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // process::exit runs the C library's exit(), which flushes C stdio too.
    std::process::exit(REBOOT_EXIT_STATUS);
}

/// Test hook: `LWM2M_HOST_RAND=<hex>` makes `lwm2m_os_rand()` repeat these
/// bytes instead of asking the kernel, so that a test can restart the client
/// with the Message IDs and tokens of its previous run.
pub const RAND_VAR: &str = "LWM2M_HOST_RAND";

/// The bytes of `LWM2M_HOST_RAND`, when it is set to non-empty hex.
fn fixed_rand() -> Option<Vec<u8>> {
    let hex = std::env::var(RAND_VAR).ok()?;
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect();
    bytes.filter(|b| !b.is_empty())
}

/// Random bytes from the kernel (`getrandom(2)`), or the `LWM2M_HOST_RAND` test hook's.
#[no_mangle]
pub extern "C" fn lwm2m_os_rand(buf: *mut c_void, len: usize) -> c_int {
    if len == 0 {
        return 0;
    }
    if buf.is_null() {
        return -err::EINVAL;
    }
    // SAFETY: the caller passes a writable buffer of len bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(buf as *mut u8, len) };
    if let Some(fixed) = fixed_rand() {
        for (dst, src) in out.iter_mut().zip(fixed.iter().cycle()) {
            *dst = *src;
        }
        return 0;
    }
    let mut filled = 0;
    while filled < len {
        let rest = &mut out[filled..];
        // SAFETY: rest is a valid writable slice.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr() as *mut c_void, rest.len(), 0) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return -err::EIO;
        }
        filled += n as usize;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn uptime_is_monotonic() {
        let a = lwm2m_os_uptime_ms();
        std::thread::sleep(Duration::from_millis(20));
        let b = lwm2m_os_uptime_ms();
        assert!(a >= 0 && b >= a + 20, "{a} {b}");
    }

    #[test]
    fn rand_fills_the_buffer() {
        let mut buf = [0u8; 64];
        assert_eq!(lwm2m_os_rand(buf.as_mut_ptr() as *mut c_void, buf.len()), 0);
        assert!(buf.iter().any(|&b| b != 0));
        assert_eq!(lwm2m_os_rand(core::ptr::null_mut(), 0), 0);
        assert_eq!(lwm2m_os_rand(core::ptr::null_mut(), 4), -err::EINVAL);
    }

    #[test]
    fn malloc_is_aligned_to_8() {
        let p = lwm2m_os_malloc(13);
        assert!(!p.is_null());
        assert_eq!(p as usize % 8, 0);
        lwm2m_os_free(p);
        lwm2m_os_free(core::ptr::null_mut());
    }

    #[test]
    fn lock_excludes_another_thread_until_unlocked() {
        let lock = Arc::new(GlobalLock {
            held: Mutex::new(false),
            released: Condvar::new(),
        });
        lock.lock();
        let entered = Arc::new(AtomicBool::new(false));
        let t = {
            let (lock, entered) = (lock.clone(), entered.clone());
            std::thread::spawn(move || {
                lock.lock();
                entered.store(true, Ordering::SeqCst);
                assert!(lock.unlock());
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!entered.load(Ordering::SeqCst));
        assert!(lock.unlock());
        t.join().unwrap();
        assert!(entered.load(Ordering::SeqCst));
        assert!(!lock.unlock(), "unlock of a free lock is refused");
    }
}
