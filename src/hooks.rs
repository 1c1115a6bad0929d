//! The application's C functions the library calls (spec c-api.md §2.6,
//! §2.8): its event handler and its time and memory hooks. Declared in one
//! place, next to the OS contract of [`crate::os`]; the weak defaults an
//! application that defines none links against live in
//! `capi/defaults.rs`, inside the archive as in the original.

use core::ffi::{c_char, c_int};

use crate::api::lwm2m_carrier_event_t;

extern "C" {
    /// Read the current time, UTC offset and time zone in one call.
    /// Weak default in the platform glue (see lwm2m_carrier_utc_time_read());
    /// an application that keeps its own time overrides all time functions.
    pub fn lwm2m_carrier_time_read(utc_time: *mut i32, utc_offset: *mut c_int, tz: *mut *const c_char);

    /// Current UTC time in seconds since 1970 (Device resource 13).
    /// Weak default in the platform glue: a clock kept in RAM, set by
    /// lwm2m_carrier_utc_time_write() (0 until then) and advanced with uptime.
    pub fn lwm2m_carrier_utc_time_read() -> i32;

    /// UTC offset in minutes (Device resource 14). Weak default: kept in RAM, 0.
    pub fn lwm2m_carrier_utc_offset_read() -> c_int;

    /// Time zone, an IANA name (Device resource 15). Weak default: kept in
    /// RAM, "Etc/UTC".
    pub fn lwm2m_carrier_timezone_read() -> *const c_char;

    /// A server wrote the current time. @return 0, or -EINVAL for a negative time.
    pub fn lwm2m_carrier_utc_time_write(time: i32) -> c_int;

    /// A server wrote the UTC offset (minutes). @return 0 or a negative errno.
    pub fn lwm2m_carrier_utc_offset_write(offset: c_int) -> c_int;

    /// A server wrote the time zone. @return 0 or a negative errno.
    pub fn lwm2m_carrier_timezone_write(tz: *const c_char) -> c_int;

    /// Event handler, implemented by the application. The platform glue
    /// provides a weak default that returns 0. For LWM2M_CARRIER_EVENT_REBOOT
    /// a non-zero return value stops the library from rebooting; the return
    /// value of other events is ignored.
    pub fn lwm2m_carrier_event_handler(event: *const lwm2m_carrier_event_t) -> c_int;
}

extern "C" {
    /// Free memory in kB, read when a server reads Device resource 10.
    /// Weak default in the platform glue: returns 0. (The original never
    /// called it; this library does.)
    pub fn lwm2m_carrier_memory_free_read() -> c_int;
}
