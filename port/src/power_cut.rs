//! Power-cut test hooks: the process kills itself with SIGKILL, as a device
//! loses power, at a chosen storage commit point or after a chosen time.
//!
//! Commit points are the moments at which a crash leaves a different
//! persistent state behind. Every durable change of the port has them:
//! - a record or credential write ([`crate::storage::write_atomic`]):
//!   `before` (nothing written yet), `temp` (`<name>.tmp` written and
//!   fsynced, not yet renamed) and `renamed` (the new content is in place);
//! - a record or credential delete ([`crate::storage::remove_durable`]):
//!   `before` and `removed`.
//!
//! Credential writes to sec tags count too: on the nRF9160 they are as
//! persistent as the flash records. A record write of the bytes already
//! stored changes nothing and has no commit points.
//!
//! Points are numbered from 1 in the order they happen in this process.
//!
//! | variable | effect |
//! | --- | --- |
//! | `LWM2M_HOST_KILL_AT_COMMIT=N` | SIGKILL at commit point N (after logging it) |
//! | `LWM2M_HOST_COMMIT_TRACE=1` | one stderr line per commit point: `lwm2m_carrier_host: commit point N: record cafe.rec temp` |
//! | `LWM2M_HOST_KILL_AFTER_MS=T` | SIGKILL T ms after `lwm2m_os_init()` (a power cut at a random moment) |
//!
//! The lines go to stderr whatever `LWM2M_HOST_LOG_LEVEL` is, so a test can
//! always count the points and see where the cut happened.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

pub const KILL_AT_COMMIT_VAR: &str = "LWM2M_HOST_KILL_AT_COMMIT";
pub const COMMIT_TRACE_VAR: &str = "LWM2M_HOST_COMMIT_TRACE";
pub const KILL_AFTER_MS_VAR: &str = "LWM2M_HOST_KILL_AFTER_MS";

/// What is being made durable: a library record or a modem credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Record,
    Credential,
}

/// Where in a write or delete the point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Nothing changed yet.
    Before,
    /// The temp file is complete and fsynced; the old content is still in place.
    Temp,
    /// The new content replaced the old one.
    Renamed,
    /// The file is gone.
    Removed,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Before => "before",
            Stage::Temp => "temp",
            Stage::Renamed => "renamed",
            Stage::Removed => "removed",
        }
    }
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Record => "record",
            Kind::Credential => "credential",
        }
    }
}

/// The counter and its configuration (one per process; separate ones in tests).
pub struct Hook {
    kill_at: u32,
    trace: bool,
    count: AtomicU32,
}

impl Hook {
    /// `kill_at` 0: never kill.
    pub const fn new(kill_at: u32, trace: bool) -> Self {
        Hook {
            kill_at,
            trace,
            count: AtomicU32::new(0),
        }
    }

    fn from_env() -> Self {
        Hook::new(
            crate::env::number(KILL_AT_COMMIT_VAR, 0u32),
            crate::env::flag(COMMIT_TRACE_VAR),
        )
    }

    /// Count one point: its number, and whether the process must die here.
    pub fn hit(&self) -> (u32, bool) {
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        (n, self.kill_at != 0 && n == self.kill_at)
    }

    pub fn count(&self) -> u32 {
        self.count.load(Ordering::SeqCst)
    }
}

fn global() -> &'static Hook {
    static HOOK: OnceLock<Hook> = OnceLock::new();
    HOOK.get_or_init(Hook::from_env)
}

fn say(line: &str) {
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("lwm2m_carrier_host: {line}\n").as_bytes());
}

/// SIGKILL this process: no destructor, no flush, no atexit handler runs.
fn power_cut() -> ! {
    // SAFETY: plain syscalls on our own pid.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    // SIGKILL cannot be caught; this is never reached.
    std::process::abort()
}

/// Commit point `stage` of a write or delete of `name`.
pub fn commit_point(kind: Kind, name: &str, stage: Stage) {
    let hook = global();
    if hook.kill_at == 0 && !hook.trace {
        return;
    }
    let (n, kill) = hook.hit();
    let what = format!("{} {name} {}", kind.name(), stage.name());
    if hook.trace {
        say(&format!("commit point {n}: {what}"));
    }
    if kill {
        say(&format!("power cut at commit point {n}: {what}"));
        power_cut();
    }
}

/// Start the `LWM2M_HOST_KILL_AFTER_MS` timer (once; no-op when unset).
pub fn arm_timer() {
    static ARMED: OnceLock<()> = OnceLock::new();
    ARMED.get_or_init(|| {
        let Ok(value) = std::env::var(KILL_AFTER_MS_VAR) else {
            return;
        };
        if value.trim().is_empty() {
            return;
        }
        let Ok(ms) = value.trim().parse::<u64>() else {
            say(&format!(
                "{KILL_AFTER_MS_VAR}={value:?} is not a number: no power cut"
            ));
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("power_cut".into())
            .spawn(move || {
                std::thread::sleep(Duration::from_millis(ms));
                say(&format!("power cut after {ms} ms"));
                power_cut();
            });
        if let Err(e) = spawned {
            say(&format!("{KILL_AFTER_MS_VAR}: cannot start the timer: {e}"));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nth_point_kills_and_only_that_one() {
        let hook = Hook::new(3, false);
        assert_eq!(hook.hit(), (1, false));
        assert_eq!(hook.hit(), (2, false));
        assert_eq!(hook.hit(), (3, true));
        assert_eq!(hook.hit(), (4, false));
        assert_eq!(hook.count(), 4);
        let off = Hook::new(0, true);
        assert!((1..10).all(|_| !off.hit().1));
    }
}
