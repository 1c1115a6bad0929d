//! LwM2M 1.0 wire level: paths (OMA-TS-LightweightM2M-V1_0_2 §6.1), resource
//! values (Appendix C), content formats (§6.4): plain text, OMA-TLV, CoRE
//! link format for Register/Discover (§5.3.1, §5.4.2, RFC 6690), LwM2M JSON
//! (§6.4.4).
//!
//! Everything here is pure: bytes in, values out (or the reverse). Parsers
//! return errors on any malformed input and never panic; writers append to a
//! caller's `Vec<u8>` and never use `core::fmt`.

// A panic on the device is a reboot: no unchecked index, `unwrap` or `expect`
// outside tests (plain `cargo clippy --lib` fails on one).
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used))]

pub mod float;
pub mod format;
pub mod json;
pub mod link;
pub mod path;
pub mod soft_f64;
pub mod text;
pub mod tlv;
pub mod value;

pub use format::ContentFormat;
pub use link::LinkWriter;
pub use path::{Path, PathError};
pub use value::{ResourceType, Value};
