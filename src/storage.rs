//! Persistent records in the reserved ids 0xCA00–0xCAFF (behaviour.md §4.5).
//!
//! Every record is framed as `'L' version len(u16 LE) payload crc32(LE)` so a
//! record from another layout version, a torn write or flash rot reads as
//! "absent", never as garbage. The OS layer replaces a record atomically;
//! the engine orders writes so that the "bootstrapped" flag is written last.

use alloc::vec::Vec;

use crate::util::crc::crc32;

/// Security object instances (TLV).
pub const SECURITY: u16 = 0xCAFE;
/// Server object instances (TLV).
pub const SERVER: u16 = 0xCAFD;
/// Access Control instances (TLV).
pub const ACL: u16 = 0xCAFC;
/// Registration locations.
pub const LOCATIONS: u16 = 0xCAFB;
/// Observations and Write-Attributes of server connection `n` (1..=3): `REPORTING + n`.
pub const REPORTING: u16 = 0xCA00;
/// Misc flags: byte 0 = bootstrapped.
pub const MISC: u16 = 0xCAFF;

const MAGIC: u8 = b'L';
const VERSION: u8 = 1;


/// Frame `payload` for storage.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let len = payload.len().min(u16::MAX as usize);
    let mut out = Vec::with_capacity(len + 8);
    out.push(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.extend_from_slice(payload.get(..len).unwrap_or_default());
    out.extend_from_slice(&crc32(&out).to_le_bytes());
    out
}

/// The payload of a framed record, or None if it is not a valid record of
/// this layout version.
pub fn unframe(rec: &[u8]) -> Option<&[u8]> {
    // Slice patterns and `get`, not indexing: no panic path for a record
    // read back from flash.
    let [MAGIC, VERSION, l0, l1, ..] = *rec else {
        return None;
    };
    let len = u16::from_le_bytes([l0, l1]) as usize;
    let body = rec.get(..4 + len)?;
    let [c0, c1, c2, c3] = *rec.get(4 + len..)? else {
        return None;
    };
    let payload = body.get(4..)?;
    (crc32(body) == u32::from_le_bytes([c0, c1, c2, c3])).then_some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trip_and_corruption() {
        let r = frame(b"hello");
        assert_eq!(unframe(&r), Some(&b"hello"[..]));
        for i in 0..r.len() {
            let mut bad = r.clone();
            bad[i] ^= 0x01;
            assert_eq!(unframe(&bad), None, "flip at {i}");
        }
        assert_eq!(unframe(&r[..r.len() - 1]), None);
        assert_eq!(unframe(&[]), None);
        assert_eq!(unframe(&frame(&[])), Some(&[][..]));
    }
}
