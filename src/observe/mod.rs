//! Observe and Notify (OMA-TS-LightweightM2M-V1_0_2 §5.5, RFC 7641) with the
//! notification attributes of Write-Attributes (TS §5.4.4, §5.1.2), sans-IO.
//!
//! - [`attributes`]: the `pmin`/`pmax`/`gt`/`lt`/`st` attributes, the
//!   Write-Attributes query parser, and a per-server store with the
//!   Object → Object Instance → Resource precedence rules (TS §5.1.1).
//! - [`observation`]: the per-server list of observations and the decision
//!   of when each one notifies, confirmable or not, with which Observe
//!   sequence number (RFC 7641 §4.4, §4.5).
//!
//! Nothing here reads a clock, touches a socket or encodes a payload: the
//! engine passes `Instant`s in, reads resource values through closures, and
//! builds the CoAP messages. Memory is bounded by the caps below, per server.

// A panic on the device is a reboot: no unchecked index, `unwrap` or `expect`
// outside tests (plain `cargo clippy --lib` fails on one).
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used))]

pub mod attributes;
pub mod observation;

pub use attributes::{
    parse_write_attributes, AttrChange, AttrError, AttributeStore, Attributes, Update,
};
pub use observation::{body_hash, Due, Observation, Observations, ObserveError, Sample, Token};

/// Most levels (Object, Object Instance or Resource paths) with attributes
/// per server; one more → [`AttrError::Full`]. The original kept 30 in all
/// (`LWM2M_MAX_OBSERVABLES_WITH_ATTRIBUTES`).
pub const MAX_ATTRIBUTE_ENTRIES: usize = 16;

/// Most levels with attributes of all servers together, as the original's
/// 30 in all: three servers at 16 each would hold 48 (3.8 KB on the
/// device), and every bound must fit the heap the module reserves at once.
/// One more → [`AttrError::Full`] (5.00).
pub const MAX_ATTRIBUTE_ENTRIES_IN_ALL: usize = 30;

/// Most observations per server; one more → [`ObserveError::Full`]. The
/// original kept 26 in all (`CONFIG_NRF_COAP_OBSERVE_MAX_NUM_OBSERVERS`).
pub const MAX_OBSERVATIONS: usize = 8;

/// A notification is sent confirmable when none of this observation was in
/// the last 24 h (RFC 7641 §4.5 "at least every 24 hours"; the original's
/// `CON_NOTIFICATION_INTERVAL` = 86400 s).
pub const CON_NOTIFICATION_INTERVAL_S: u64 = 86_400;

/// Observe option values are 24-bit (RFC 7641 §4.4) and wrap.
pub const SEQ_MASK: u32 = 0x00FF_FFFF;

/// `Vec::swap_remove` that answers `None` for an index out of range instead
/// of panicking (its assertion and `memmove` cost flash for nothing: the
/// indexes come from `position`).
fn swap_take<T>(list: &mut alloc::vec::Vec<T>, i: usize) -> Option<T> {
    let (at_i, after) = list.get_mut(i..)?.split_first_mut()?;
    if let Some(last) = after.last_mut() {
        core::mem::swap(at_i, last);
    }
    list.pop()
}
