//! The platform contract `include/lwm2m_os.h`, declared for Rust.
//!
//! These declarations are checked against the C header by `tests/os_header.rs`
//! (cbindgen emits them as C prototypes, a C compiler compiles them together
//! with `lwm2m_os.h`: a mismatch in any type is a compile error).
//!
//! Also here: the global allocator and panic handler of device builds, a
//! small `Log` writer that formats without `core::fmt`, and the global lock.

use core::ffi::{c_char, c_int, c_void};

/// Error codes of `lwm2m_os.h` (returned negated by the OS layer).
pub mod err {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const EIO: i32 = 5;
    pub const ENOEXEC: i32 = 8;
    pub const EBADF: i32 = 9;
    pub const EAGAIN: i32 = 11;
    pub const ENOMEM: i32 = 12;
    pub const EACCES: i32 = 13;
    pub const EINVAL: i32 = 22;
    pub const ENOSPC: i32 = 28;
    pub const ENOBUFS: i32 = 105;
    pub const ENOROUTE: i32 = 200;
    pub const ECONNECT: i32 = 201;
    pub const ETIMEDOUT: i32 = 202;
    pub const ECONNLOST: i32 = 203;
}

pub const LOG_ERR: c_int = 1;
pub const LOG_WRN: c_int = 2;
pub const LOG_INF: c_int = 3;
pub const LOG_DBG: c_int = 4;

pub const SEC_PSK: c_int = 3;
pub const SEC_IDENTITY: c_int = 4;
pub const NO_SEC_TAG: i32 = -1;

/// Handler type of `lwm2m_os_at_notif_register()`.
pub type AtNotifHandler = Option<unsafe extern "C" fn(notif: *const c_char)>;

extern "C" {
    pub fn lwm2m_os_init() -> c_int;
    pub fn lwm2m_os_malloc(size: usize) -> *mut c_void;
    pub fn lwm2m_os_free(ptr: *mut c_void);
    pub fn lwm2m_os_uptime_ms() -> i64;
    pub fn lwm2m_os_wait(timeout_ms: i32) -> c_int;
    pub fn lwm2m_os_wake();
    pub fn lwm2m_os_lock();
    pub fn lwm2m_os_unlock();
    pub fn lwm2m_os_reboot();
    pub fn lwm2m_os_rand(buf: *mut c_void, len: usize) -> c_int;
    pub fn lwm2m_os_log(level: c_int, msg: *const c_char);
    pub fn lwm2m_os_storage_read(id: u16, buf: *mut c_void, len: usize) -> c_int;
    pub fn lwm2m_os_storage_write(id: u16, buf: *const c_void, len: usize) -> c_int;
    pub fn lwm2m_os_storage_delete(id: u16) -> c_int;
    pub fn lwm2m_os_modem_init() -> c_int;
    pub fn lwm2m_os_modem_shutdown() -> c_int;
    pub fn lwm2m_os_at_cmd(cmd: *const c_char, resp: *mut c_char, resp_len: usize) -> c_int;
    pub fn lwm2m_os_at_notif_register(handler: AtNotifHandler) -> c_int;
    pub fn lwm2m_os_sec_exists(sec_tag: u32, kind: c_int) -> c_int;
    pub fn lwm2m_os_sec_write(sec_tag: u32, kind: c_int, buf: *const c_void, len: usize) -> c_int;
    pub fn lwm2m_os_sec_delete(sec_tag: u32, kind: c_int) -> c_int;
    pub fn lwm2m_os_udp_open(host: *const c_char, port: u16, sec_tag: i32, local_port: u16) -> c_int;
    pub fn lwm2m_os_udp_send(handle: c_int, buf: *const c_void, len: usize) -> c_int;
    pub fn lwm2m_os_udp_recv(handle: c_int, buf: *mut c_void, len: usize) -> c_int;
    pub fn lwm2m_os_udp_close(handle: c_int);
}

/// An allocation from the OS layer's heap (`lwm2m_os_malloc`, 8-byte
/// aligned), as the device's global allocator makes it. A failure is logged:
/// Rust's allocation-error path then panics and the panic handler reboots, so
/// this line is what tells an out-of-memory reboot from a bug. (A plain line:
/// no formatting buffer at the deepest point of whichever path allocates.)
/// An alignment above 8, which nothing in the library asks for, fails alike.
#[cfg(any(target_os = "none", test))]
pub(crate) unsafe fn heap_alloc(size: usize, align: usize) -> *mut u8 {
    let p = if align > 8 { core::ptr::null_mut() } else { lwm2m_os_malloc(size) as *mut u8 };
    if p.is_null() {
        crate::log!(LOG_ERR, "heap exhausted: an allocation failed (CONFIG_LWM2M_CARRIER_HEAP_SIZE too small?)");
    }
    p
}

/// Global allocator of device builds: the OS layer's heap (8-byte aligned).
#[cfg(target_os = "none")]
mod device_runtime {
    use super::*;
    use core::alloc::{GlobalAlloc, Layout};

    struct OsAlloc;
    unsafe impl GlobalAlloc for OsAlloc {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            heap_alloc(l.size(), l.align())
        }
        unsafe fn dealloc(&self, p: *mut u8, _l: Layout) {
            lwm2m_os_free(p as *mut c_void)
        }
    }
    #[global_allocator]
    static ALLOC: OsAlloc = OsAlloc;

    /// A panic is a bug: log where, then reboot (a loop would hang the device).
    ///
    /// Size rule: this handler reads only the location and must contain no
    /// panic site itself (`Log` and `util::decimal::fmt_u64` index nothing unchecked).
    /// Then LTO sees that no panic message is ever read and drops every
    /// panic's `fmt::Arguments` and with them all of `core::fmt` (≈ 1.5 KB);
    /// one panic path in here and it all comes back.
    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo) -> ! {
        let mut l = super::Log::new();
        l.s("panic");
        if let Some(loc) = info.location() {
            l.s(" at ").s(loc.file()).s(":").u(loc.line() as u64);
        }
        l.emit(LOG_ERR);
        unsafe { lwm2m_os_reboot() };
        loop {}
    }
}

/// A log line built without `core::fmt` (which costs kilobytes of flash).
/// Longer lines are truncated.
pub struct Log {
    buf: [u8; 120],
    len: usize,
}

impl Default for Log {
    fn default() -> Self {
        Self::new()
    }
}

impl Log {
    pub const fn new() -> Self {
        Log { buf: [0; 120], len: 0 }
    }
    /// Append bytes (non-printable ones as '.').
    pub fn b(&mut self, bytes: &[u8]) -> &mut Self {
        for &c in bytes {
            // Keep one byte for the NUL; `get_mut` keeps panics (and their
            // formatting code) out of the logger.
            match self.buf.get_mut(self.len) {
                Some(slot) if self.len + 1 < 120 => *slot = if (0x20..0x7f).contains(&c) { c } else { b'.' },
                _ => break,
            }
            self.len += 1;
        }
        self
    }
    pub fn s(&mut self, s: &str) -> &mut Self {
        self.b(s.as_bytes())
    }
    pub fn u(&mut self, v: u64) -> &mut Self {
        let mut tmp = [0u8; 20];
        let n = crate::util::decimal::fmt_u64(v, &mut tmp);
        self.b(tmp.get(..n).unwrap_or_default())
    }
    pub fn i(&mut self, v: i64) -> &mut Self {
        if v < 0 {
            self.s("-");
        }
        self.u(v.unsigned_abs())
    }
    /// Send the line to `lwm2m_os_log()`.
    pub fn emit(&mut self, level: c_int) {
        if let Some(end) = self.buf.get_mut(self.len) {
            *end = 0;
        }
        unsafe { lwm2m_os_log(level, self.buf.as_ptr() as *const c_char) };
        self.len = 0;
    }
}

/// Log a sequence of string / number parts at a level:
/// `log!(INF, "registered, lifetime ", lt as u64)`.
///
/// A lone literal that `Log` would send unchanged (printable ASCII, at most
/// 119 bytes; decided at compile time) goes out as it is, NUL-terminated by
/// the compiler: no 120-byte line buffer to clear and fill at each such
/// call site. Any other literal takes the general way.
#[macro_export]
macro_rules! log {
    ($lvl:ident, $msg:literal $(,)?) => {{
        const LINE: &str = concat!($msg, "\0");
        const PLAIN: bool = $crate::os::is_plain_line(LINE.as_bytes());
        if PLAIN {
            $crate::os::log_line($crate::os::$lvl, LINE);
        } else {
            let mut l = $crate::os::Log::new();
            $crate::os::LogPart::append(&$msg, &mut l);
            l.emit($crate::os::$lvl);
        }
    }};
    ($lvl:ident, $($part:expr),+ $(,)?) => {{
        let mut l = $crate::os::Log::new();
        $( $crate::os::LogPart::append(&$part, &mut l); )+
        l.emit($crate::os::$lvl);
    }};
}

/// Whether `line` is printable ASCII of at most 119 bytes and a final NUL,
/// i.e. what `Log` would send unchanged.
pub const fn is_plain_line(line: &[u8]) -> bool {
    let Some((&0, text)) = line.split_last() else {
        return false;
    };
    if text.len() > 119 {
        return false;
    }
    let mut rest = text;
    while let Some((&c, tail)) = rest.split_first() {
        if c < 0x20 || c >= 0x7f {
            return false;
        }
        rest = tail;
    }
    true
}

/// Sends a NUL-terminated line (see [`is_plain_line`]) to `lwm2m_os_log()`.
pub fn log_line(level: c_int, line: &'static str) {
    unsafe { lwm2m_os_log(level, line.as_ptr() as *const c_char) };
}

/// Something `log!` can append.
pub trait LogPart {
    fn append(&self, l: &mut Log);
}
impl LogPart for &str {
    fn append(&self, l: &mut Log) {
        l.s(self);
    }
}
impl LogPart for &[u8] {
    fn append(&self, l: &mut Log) {
        l.b(self);
    }
}
impl LogPart for u64 {
    fn append(&self, l: &mut Log) {
        l.u(*self);
    }
}
impl LogPart for u32 {
    fn append(&self, l: &mut Log) {
        l.u(*self as u64);
    }
}
impl LogPart for u16 {
    fn append(&self, l: &mut Log) {
        l.u(*self as u64);
    }
}
impl LogPart for usize {
    fn append(&self, l: &mut Log) {
        l.u(*self as u64);
    }
}
impl LogPart for i32 {
    fn append(&self, l: &mut Log) {
        l.i(*self as i64);
    }
}
impl LogPart for i64 {
    fn append(&self, l: &mut Log) {
        l.i(*self);
    }
}
impl LogPart for alloc::string::String {
    fn append(&self, l: &mut Log) {
        l.s(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `Log` would send for `s`, without the NUL.
    fn through_log(s: &str) -> alloc::vec::Vec<u8> {
        let mut l = Log::new();
        l.s(s);
        l.buf[..l.len].to_vec()
    }

    /// `log!` sends a plain literal as it is only where `Log` would send
    /// the same bytes.
    #[test]
    fn plain_lines_are_what_log_sends() {
        let long = "x".repeat(119);
        let too_long = "x".repeat(120);
        for (text, plain) in [("", true), ("coap: request timed out", true), (long.as_str(), true),
                              (too_long.as_str(), false), ("tab\there", false), ("caf\u{e9}", false), ("\u{7f}", false)] {
            let mut line = alloc::vec::Vec::from(text.as_bytes());
            line.push(0);
            assert_eq!(is_plain_line(&line), plain, "{text:?}");
            if plain {
                assert_eq!(through_log(text), text.as_bytes());
            } else {
                assert_ne!(through_log(text), text.as_bytes());
            }
        }
        assert!(!is_plain_line(b"no NUL"));
    }
}

#[cfg(test)]
mod heap_tests {
    use super::*;

    #[test]
    fn a_failed_allocation_is_logged() {
        const LINE: &str = "heap exhausted: an allocation failed (CONFIG_LWM2M_CARRIER_HEAP_SIZE too small?)";
        crate::test_os::capture_logs();
        crate::test_os::fail_malloc(true);
        let p = unsafe { heap_alloc(1153, 4) };
        crate::test_os::fail_malloc(false);
        assert!(p.is_null());
        assert!(unsafe { heap_alloc(16, 16) }.is_null(), "over-aligned: refused");
        assert_eq!(crate::test_os::take_logs(), [LINE, LINE]);
        let p = unsafe { heap_alloc(16, 8) };
        assert!(!p.is_null());
        assert!(crate::test_os::take_logs().is_empty(), "a served allocation logs nothing");
        unsafe { lwm2m_os_free(p as *mut c_void) };
    }
}
