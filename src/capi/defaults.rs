//! Weak default definitions of the functions an application may override
//! (c-api.md §2.8): the seven time functions and `memory_free_read`. The
//! original `liblwm2m_carrier.a` carries them as weak symbols (`W` in `nm`),
//! so an application that links only the archive links; one that defines
//! any of them wins over the default.
//!
//! Stable Rust cannot mark a function weak, so each exported name is a
//! one-instruction weak trampoline in `global_asm!` that jumps to a private
//! Rust function (no other exported name, no C compiler needed).
//!
//! Time: a clock kept in RAM. It reads 0 until a server (or the
//! application) writes the time, then advances with `lwm2m_os_uptime_ms()`.
//! UTC offset 0 and time zone "Etc/UTC" until written. An application with
//! a real clock overrides all seven time functions together.

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int};

use crate::errno::EINVAL;
use crate::os;

/// Longest time zone kept (the original truncates to 64 characters).
const TZ_MAX_LEN: usize = 64;

struct Clock {
    /// UTC seconds at `base_uptime_ms`; 0: never set.
    base: i32,
    base_uptime_ms: i64,
    offset_min: c_int,
    tz: [u8; TZ_MAX_LEN + 1],
}

struct ClockCell(UnsafeCell<Clock>);
// SAFETY: every access holds the OS layer's lock (see `with_clock`).
unsafe impl Sync for ClockCell {}

const UTC: [u8; TZ_MAX_LEN + 1] = {
    let mut tz = [0u8; TZ_MAX_LEN + 1];
    let name = b"Etc/UTC";
    let (head, _) = tz.split_at_mut(7);
    head.copy_from_slice(name);
    tz
};

static CLOCK: ClockCell = ClockCell(UnsafeCell::new(Clock { base: 0, base_uptime_ms: 0, offset_min: 0, tz: UTC }));

/// Run `f` on the clock under the OS lock (callers never hold it: the
/// library calls these without the lock, and so may the application).
fn with_clock<R>(f: impl FnOnce(&mut Clock) -> R) -> R {
    unsafe { os::lwm2m_os_lock() };
    // SAFETY: the lock is held.
    let r = f(unsafe { &mut *CLOCK.0.get() });
    unsafe { os::lwm2m_os_unlock() };
    r
}

extern "C" fn utc_time_read() -> i32 {
    let (base, since) = with_clock(|c| (c.base, c.base_uptime_ms));
    if base == 0 {
        return 0;
    }
    // Seconds since the time was set, in 32-bit steps: a 64-bit division
    // would pull the soft divider into the image.
    let mut ms = unsafe { os::lwm2m_os_uptime_ms() }.saturating_sub(since).max(0);
    let mut now = base as i64;
    while ms >= 1_000_000 {
        now += 1000;
        // black_box: LLVM would turn the loop back into a 64-bit division.
        ms = core::hint::black_box(ms - 1_000_000);
    }
    now += (ms as u32 / 1000) as i64;
    now.min(i32::MAX as i64) as i32
}

extern "C" fn utc_offset_read() -> c_int {
    with_clock(|c| c.offset_min)
}

extern "C" fn timezone_read() -> *const c_char {
    // The buffer is static; a later write replaces its contents (as the original).
    with_clock(|c| c.tz.as_ptr() as *const c_char)
}

unsafe extern "C" fn time_read(utc_time: *mut i32, utc_offset: *mut c_int, tz: *mut *const c_char) {
    if !utc_time.is_null() {
        *utc_time = super::lwm2m_carrier_utc_time_read();
    }
    if !utc_offset.is_null() {
        *utc_offset = super::lwm2m_carrier_utc_offset_read();
    }
    if !tz.is_null() {
        *tz = super::lwm2m_carrier_timezone_read();
    }
}

extern "C" fn utc_time_write(time: i32) -> c_int {
    if time < 0 {
        return -EINVAL;
    }
    let now = unsafe { os::lwm2m_os_uptime_ms() };
    with_clock(|c| {
        c.base = time;
        c.base_uptime_ms = now;
    });
    0
}

extern "C" fn utc_offset_write(offset: c_int) -> c_int {
    if !(-720..=840).contains(&offset) {
        return -EINVAL;
    }
    with_clock(|c| c.offset_min = offset);
    0
}

unsafe extern "C" fn timezone_write(tz: *const c_char) -> c_int {
    if tz.is_null() || *tz == 0 {
        return -EINVAL;
    }
    // At most 64 characters are read and kept (truncated as the original).
    let mut name = [0u8; TZ_MAX_LEN + 1];
    let tz = tz.cast::<u8>(); // c_char is i8 on the host, u8 on the device
    for (i, slot) in name.iter_mut().take(TZ_MAX_LEN).enumerate() {
        let c = *tz.add(i);
        if c == 0 {
            break;
        }
        *slot = c;
    }
    with_clock(|c| c.tz = name);
    0
}

extern "C" fn memory_free_read() -> c_int {
    0
}

/// `name` as a weak function that jumps to `target`.
macro_rules! weak_default {
    ($($name:literal => $target:path),* $(,)?) => {
        $(
            #[cfg(target_arch = "arm")]
            core::arch::global_asm!(
                concat!(".section .text.", $name, ",\"ax\",%progbits"),
                concat!(".weak ", $name),
                concat!(".type ", $name, ", %function"),
                ".p2align 1",
                ".thumb_func",
                concat!($name, ":"),
                "b.w {target}",
                concat!(".size ", $name, ", . - ", $name),
                ".text",
                target = sym $target,
            );
            #[cfg(target_arch = "x86_64")]
            core::arch::global_asm!(
                concat!(".section .text.", $name, ",\"ax\",@progbits"),
                concat!(".weak ", $name),
                concat!(".type ", $name, ", @function"),
                concat!($name, ":"),
                "jmp {target}",
                concat!(".size ", $name, ", . - ", $name),
                ".text",
                target = sym $target,
            );
        )*
    };
}

weak_default! {
    "lwm2m_carrier_utc_time_read" => utc_time_read,
    "lwm2m_carrier_utc_offset_read" => utc_offset_read,
    "lwm2m_carrier_timezone_read" => timezone_read,
    "lwm2m_carrier_time_read" => time_read,
    "lwm2m_carrier_utc_time_write" => utc_time_write,
    "lwm2m_carrier_utc_offset_write" => utc_offset_write,
    "lwm2m_carrier_timezone_write" => timezone_write,
    "lwm2m_carrier_memory_free_read" => memory_free_read,
}
