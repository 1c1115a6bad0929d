//! The Block1 / Block2 option value (RFC 7959 §2.2).
//!
//! The value is a 0–3 byte unsigned integer `NUM << 4 | M << 3 | SZX`; the
//! block size is `2^(SZX + 4)`, so 16..=1024 bytes. Refused on parse: a value
//! longer than 3 bytes and SZX = 7 (reserved, RFC 7959 §2.2). The empty value
//! is NUM 0, M 0, SZX 0 (16 bytes), as RFC 7252 §3.2 makes it the integer 0.

/// One Block1 or Block2 option value (RFC 7959 §2.2).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Block number, 0..2^20 (RFC 7959 §2.2: at most 20 bits).
    pub num: u32,
    /// More blocks follow (the M bit).
    pub more: bool,
    /// Size exponent: the block size is `16 << szx`, 0..=6.
    pub szx: u8,
}

impl Block {
    /// Largest block number that fits the 3-byte value (RFC 7959 §2.2).
    pub const MAX_NUM: u32 = (1 << 20) - 1;
    /// Largest valid size exponent (1024 bytes); 7 is reserved.
    pub const MAX_SZX: u8 = 6;

    /// Parses an option value. `None` for a value over 3 bytes or SZX 7
    /// (RFC 7959 §2.2, "the value 7 for SZX ... is reserved").
    pub fn parse(v: &[u8]) -> Option<Block> {
        if v.len() > 3 {
            return None;
        }
        let value = v.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32);
        let szx = (value & 0x7) as u8;
        if szx > Self::MAX_SZX {
            return None;
        }
        Some(Block {
            num: value >> 4,
            more: value & 0x8 != 0,
            szx,
        })
    }

    /// Block size in bytes (`2^(SZX+4)`). SZX above 6 is treated as 6.
    pub fn size(self) -> usize {
        16usize << self.szx.min(Self::MAX_SZX)
    }

    /// Byte offset of this block in the whole body (`NUM * size`, RFC 7959 §2.2).
    pub fn offset(self) -> usize {
        (self.num as usize).saturating_mul(self.size())
    }

    /// The SZX whose block size is `size`, if `size` is a power of two in 16..=1024.
    pub fn szx_for_size(size: usize) -> Option<u8> {
        (0..=Self::MAX_SZX).find(|&szx| 16usize << szx == size)
    }

    /// Encodes the value with the fewest bytes (RFC 7252 §3.2; 0 → empty)
    /// into `out`, returning how many of its bytes are used. NUM is cut to 20
    /// bits and SZX to 3 bits: callers keep them in range.
    pub fn encode(self, out: &mut [u8; 3]) -> usize {
        let value =
            ((self.num & Self::MAX_NUM) << 4) | ((self.more as u32) << 3) | (self.szx & 0x7) as u32;
        let [_, b2, b1, b0] = value.to_be_bytes();
        match value {
            0 => 0,
            1..=0xFF => {
                out[0] = b0;
                1
            }
            0x100..=0xFFFF => {
                out[0] = b1;
                out[1] = b0;
                2
            }
            _ => {
                *out = [b2, b1, b0];
                3
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(b: Block) -> alloc::vec::Vec<u8> {
        let mut out = [0u8; 3];
        let n = b.encode(&mut out);
        out[..n].to_vec()
    }

    /// RFC 7959 §2.2 / Figure 2 style values: "Block2: 0/1/128" etc.
    #[test]
    fn rfc7959_values() {
        // NUM 0, M 0, SZX 0 is the integer 0: zero-length value.
        assert_eq!(
            enc(Block {
                num: 0,
                more: false,
                szx: 0
            }),
            b""
        );
        assert_eq!(
            Block::parse(b""),
            Some(Block {
                num: 0,
                more: false,
                szx: 0
            })
        );
        // 0/1/128 (RFC 7959 §3.1 example): 0000 1 011 = 0x0B.
        assert_eq!(
            enc(Block {
                num: 0,
                more: true,
                szx: 3
            }),
            [0x0B]
        );
        assert_eq!(
            Block::parse(&[0x0B]),
            Some(Block {
                num: 0,
                more: true,
                szx: 3
            })
        );
        // 2/0/128 (last block of the §3.1 example): 0010 0 011 = 0x23, offset 256.
        let b = Block::parse(&[0x23]).unwrap();
        assert_eq!(
            b,
            Block {
                num: 2,
                more: false,
                szx: 3
            }
        );
        assert_eq!((b.size(), b.offset()), (128, 256));
        // 15/1/1024 still fits one byte: 1111 1 110 = 0xFE.
        assert_eq!(
            enc(Block {
                num: 15,
                more: true,
                szx: 6
            }),
            [0xFE]
        );
        // NUM 16 needs two bytes: 0x01 0x0A (16<<4 | 8 | 2).
        assert_eq!(
            enc(Block {
                num: 16,
                more: true,
                szx: 2
            }),
            [0x01, 0x0A]
        );
        assert_eq!(
            Block::parse(&[0x01, 0x0A]),
            Some(Block {
                num: 16,
                more: true,
                szx: 2
            })
        );
        // NUM 4096 needs three bytes.
        assert_eq!(
            enc(Block {
                num: 4096,
                more: false,
                szx: 6
            }),
            [0x01, 0x00, 0x06]
        );
        // The largest NUM (2^20 - 1).
        let max = Block {
            num: Block::MAX_NUM,
            more: true,
            szx: 6,
        };
        assert_eq!(enc(max), [0xFF, 0xFF, 0xFE]);
        assert_eq!(Block::parse(&[0xFF, 0xFF, 0xFE]), Some(max));
        // Leading zero bytes are accepted on receive (RFC 7252 §3.2 uint).
        assert_eq!(
            Block::parse(&[0x00, 0x00, 0x23]),
            Some(Block {
                num: 2,
                more: false,
                szx: 3
            })
        );
    }

    #[test]
    fn refused_values() {
        // SZX 7 is reserved.
        assert_eq!(Block::parse(&[0x07]), None);
        assert_eq!(Block::parse(&[0x01, 0x0F]), None);
        // More than 3 bytes.
        assert_eq!(Block::parse(&[0, 0, 0, 0x01]), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(
            Block {
                num: 0,
                more: false,
                szx: 0
            }
            .size(),
            16
        );
        assert_eq!(
            Block {
                num: 0,
                more: false,
                szx: 6
            }
            .size(),
            1024
        );
        assert_eq!(
            Block {
                num: 3,
                more: false,
                szx: 4
            }
            .offset(),
            768
        );
        assert_eq!(Block::szx_for_size(512), Some(5));
        assert_eq!(Block::szx_for_size(100), None);
        assert_eq!(Block::szx_for_size(2048), None);
    }

    #[test]
    fn every_value_round_trips() {
        for szx in 0..=6u8 {
            for num in [0u32, 1, 15, 16, 255, 4095, 4096, Block::MAX_NUM] {
                for more in [false, true] {
                    let b = Block { num, more, szx };
                    assert_eq!(Block::parse(&enc(b)), Some(b));
                }
            }
        }
    }
}
