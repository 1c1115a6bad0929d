//! Time as a value: the engine never reads a clock, it is given `Instant`s.

/// Monotonic milliseconds since boot (from `lwm2m_os_uptime_ms()`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms)
    }
    pub const fn millis(self) -> u64 {
        self.0
    }
    /// `self + ms`, saturating.
    pub const fn add_millis(self, ms: u64) -> Self {
        Instant(self.0.saturating_add(ms))
    }
    /// `self + s` seconds, saturating.
    pub const fn add_secs(self, s: u64) -> Self {
        Instant(self.0.saturating_add(s.saturating_mul(1000)))
    }
    /// Milliseconds from `earlier` to `self` (0 if `earlier` is later).
    pub const fn since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}
