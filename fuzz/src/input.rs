//! The byte format of structured inputs.
//!
//! [`Input`] reads values from the fuzzer's bytes through
//! `arbitrary::Unstructured`, using only its byte-exact primitives (one
//! `u8` at a time, `bytes(n)`), so the format below is fixed and
//! [`SeedWriter`] can write real-shaped seeds in it:
//!
//! - `byte`: one byte, 0 once the input is used up;
//! - `u16` / `u32`: 2 / 4 bytes, little-endian;
//! - `below(n)`: one byte modulo `n`;
//! - `blob(max)`: a length (one byte; 255 means a `u16` follows and the
//!   length is 255 + it), then that many bytes, cut to `max` and to what
//!   is left.
//!
//! Running out of input is never an error: every read gives zeros and an
//! empty blob, and `is_empty` tells the loops of operations to stop.

use arbitrary::{Arbitrary, Unstructured};

/// Structured reads from fuzzer bytes.
pub struct Input<'a> {
    u: Unstructured<'a>,
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input { u: Unstructured::new(data) }
    }

    pub fn is_empty(&self) -> bool {
        self.u.is_empty()
    }

    pub fn byte(&mut self) -> u8 {
        u8::arbitrary(&mut self.u).unwrap_or(0)
    }

    pub fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// `0..n` (n ≤ 256).
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!((1..=256).contains(&n));
        self.byte() as usize % n
    }

    /// One of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// A length-prefixed byte string, at most `max` bytes.
    pub fn blob(&mut self, max: usize) -> &'a [u8] {
        let mut n = self.byte() as usize;
        if n == 255 {
            n += self.u16() as usize;
        }
        let n = n.min(max).min(self.u.len());
        self.u.bytes(n).unwrap_or_default()
    }

    /// Everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        let n = self.u.len();
        self.u.bytes(n).unwrap_or_default()
    }
}

/// Writes inputs in the format [`Input`] reads (for the seed corpora).
#[derive(Default)]
pub struct SeedWriter {
    pub out: Vec<u8>,
}

impl SeedWriter {
    pub fn new() -> SeedWriter {
        SeedWriter::default()
    }

    pub fn byte(&mut self, b: u8) -> &mut Self {
        self.out.push(b);
        self
    }

    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.byte(b as u8)
    }

    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// `below(n)` reading back `i`.
    pub fn index(&mut self, i: usize) -> &mut Self {
        self.byte(i as u8)
    }

    pub fn blob(&mut self, b: &[u8]) -> &mut Self {
        if b.len() < 255 {
            self.byte(b.len() as u8);
        } else {
            self.byte(255).u16((b.len() - 255) as u16);
        }
        self.out.extend_from_slice(b);
        self
    }

    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.out.extend_from_slice(b);
        self
    }

    pub fn finish(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_and_reader_agree() {
        let long = vec![7u8; 300];
        let bytes = SeedWriter::new().byte(3).u16(0xBEEF).u32(7).index(5).blob(b"abc").blob(&long).bool(true).finish();
        let mut i = Input::new(&bytes);
        assert_eq!(i.byte(), 3);
        assert_eq!(i.u16(), 0xBEEF);
        assert_eq!(i.u32(), 7);
        assert_eq!(i.below(6), 5);
        assert_eq!(i.blob(100), b"abc");
        assert_eq!(i.blob(1000), &long[..]);
        assert!(i.bool());
        assert!(i.is_empty());
        assert_eq!((i.byte(), i.blob(9)), (0, &[][..]));
    }
}
