//! CoAP (RFC 7252): messages, reliability, Block options (RFC 7959).
//!
//! - [`msg`]: the message format (§3), parse and build.
//! - [`block`]: the Block1/Block2 option value (RFC 7959 §2.2).
//! - [`endpoint`]: CON retransmission, duplicate detection, matching (§4, §5.3.2).

// A panic on the device is a reboot: no unchecked index, `unwrap` or `expect`
// outside tests (plain `cargo clippy --lib` fails on one).
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used))]

pub mod block;
pub mod blockwise;
pub mod endpoint;
pub mod msg;

pub use block::Block;
pub use endpoint::{Busy, Endpoint, Incoming, Timeout};
pub use msg::{empty, option, Code, EncodeError, Message, MessageWriter, MsgType, ParseError};

#[cfg(test)]
mod crosscheck;
