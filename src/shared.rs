//! State shared between application threads (C API setters, the AT
//! notification handler) and the carrier thread, behind the OS layer's lock.

use crate::fifo::Fifo;
use alloc::string::String;
use core::cell::UnsafeCell;

use crate::limits::{AT_NOTIF_BYTES, AT_NOTIF_LEN, AT_NOTIF_QUEUE};
use crate::objects::device::Device;
use crate::os;

/// What the lock protects.
pub struct Shared {
    pub device: Device,
    /// AT notifications waiting for the carrier thread (bounded in count
    /// and in bytes).
    pub at_notifs: Fifo<String>,
    /// Bytes of text in `at_notifs`.
    pub at_bytes: usize,
    /// Notifications dropped because the queue was full.
    pub at_dropped: u32,
    /// A setter changed the Device object since the carrier thread last looked.
    pub device_changed: bool,
}

/// Boxed: `None` is all zeros, so the static lives in .bss, not .data.
struct Locked(UnsafeCell<Option<alloc::boxed::Box<Shared>>>);
// SAFETY: every access goes through `with`, which holds the OS lock.
unsafe impl Sync for Locked {}

static SHARED: Locked = Locked(UnsafeCell::new(None));

/// Run `f` with the shared state, under the lock. `f` must not call the
/// application or block.
pub fn with<R>(f: impl FnOnce(&mut Shared) -> R) -> R {
    unsafe { os::lwm2m_os_lock() };
    // SAFETY: the lock is held; no other reference exists while it is.
    let slot = unsafe { &mut *SHARED.0.get() };
    let s = slot.get_or_insert_with(|| alloc::boxed::Box::new(Shared {
        device: Device::new(),
        at_notifs: Fifo::new(),
        at_bytes: 0,
        at_dropped: 0,
        device_changed: false,
    }));
    let r = f(s);
    unsafe { os::lwm2m_os_unlock() };
    r
}

/// A setter: run `f` on the Device object, map `Result` to a C return code.
/// A successful change wakes the carrier thread so that observations of
/// the Device object can notify.
pub fn device(f: impl FnOnce(&mut Device) -> Result<(), i32>) -> core::ffi::c_int {
    let r = with(|s| {
        let r = f(&mut s.device);
        s.device_changed |= r.is_ok();
        r
    });
    match r {
        Ok(()) => {
            unsafe { os::lwm2m_os_wake() };
            0
        }
        Err(e) => e,
    }
}

/// Did a setter change the Device object since the last call?
pub fn take_device_changed() -> bool {
    with(|s| core::mem::take(&mut s.device_changed))
}

/// Queue one AT notification (called from the port's notification thread).
pub fn push_at_notif(line: &str) {
    let queued = with(|s| s.queue_at_notif(line));
    if queued {
        unsafe { os::lwm2m_os_wake() };
    }
}

/// How many AT notifications were dropped since the last call (queue full
/// in count or bytes, or line too long).
pub fn take_at_dropped() -> u32 {
    with(|s| core::mem::take(&mut s.at_dropped))
}

/// Take the oldest queued AT notification.
pub fn pop_at_notif() -> Option<String> {
    with(Shared::next_at_notif)
}

impl Shared {
    /// Queue `line` unless it is too long or the queue is full in count or
    /// in bytes (`limits::AT_NOTIF_*`); a dropped line is counted.
    fn queue_at_notif(&mut self, line: &str) -> bool {
        if line.len() > AT_NOTIF_LEN || self.at_notifs.len() >= AT_NOTIF_QUEUE || self.at_bytes + line.len() > AT_NOTIF_BYTES {
            self.at_dropped = self.at_dropped.saturating_add(1);
            return false;
        }
        self.at_bytes += line.len();
        self.at_notifs.push_back(String::from(line));
        true
    }

    fn next_at_notif(&mut self) -> Option<String> {
        let line = self.at_notifs.pop_front();
        self.at_bytes = self.at_bytes.saturating_sub(line.as_ref().map_or(0, String::len));
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Shared {
        Shared { device: Device::new(), at_notifs: Fifo::new(), at_bytes: 0, at_dropped: 0, device_changed: false }
    }

    #[test]
    fn the_at_queue_is_bounded_in_count_and_in_bytes() {
        let mut s = empty();
        let long = alloc::format!("+CEREG: 1,{}", "0".repeat(90));
        let long = long.as_str();
        assert_eq!(long.len(), 100);
        // 6 × 100 bytes fit in 640, a 7th does not.
        let queued = (0..8).filter(|_| s.queue_at_notif(long)).count();
        assert_eq!((queued, s.at_dropped), (6, 2));
        // A short line still fits in the bytes left.
        assert!(s.queue_at_notif("+CEREG: 1"));
        assert_eq!(s.next_at_notif().as_deref(), Some(long));
        assert!(s.queue_at_notif(long));
        // The count bound: 8 short lines.
        let mut s = empty();
        let queued = (0..10).filter(|_| s.queue_at_notif("+CEREG: 1")).count();
        assert_eq!((queued, s.at_dropped), (AT_NOTIF_QUEUE, 2));
        // Too long alone.
        assert!(!s.queue_at_notif(&"x".repeat(AT_NOTIF_LEN + 1)));
        while s.next_at_notif().is_some() {}
        assert_eq!(s.at_bytes, 0);
    }
}
