//! Decimal digits of an unsigned integer without a 64-bit divider: what the
//! text format, paths, links and log lines write numbers with.

/// `(v / 10, v % 10)` with 32-bit divisions, 16 bits at a time: a u64
/// division would bring in the soft 64-bit divider (~0.9 KB) on the
/// Cortex-M33, which divides 32-bit numbers in hardware.
fn div_rem_10(v: u64) -> (u64, u32) {
    let (hi, lo) = ((v >> 32) as u32, v as u32);
    // each step divides (remainder < 10) · 2^16 + 16 more bits: < 2^20
    let mid = (hi % 10) << 16 | lo >> 16;
    let low = (mid % 10) << 16 | (lo & 0xffff);
    let quotient = ((hi / 10) as u64) << 32 | (((mid / 10) << 16) | (low / 10)) as u64;
    (quotient, low % 10)
}

/// Write `v` in decimal into `out` (at least 20 bytes); returns the length.
pub fn fmt_u64(mut v: u64, out: &mut [u8; 20]) -> usize {
    // Right to left into the end of `tmp`, then to the front of `out`
    // (iterators, not indexing: no panic path).
    let mut tmp = [0u8; 20];
    let mut n = 0;
    for slot in tmp.iter_mut().rev() {
        let (quotient, digit) = div_rem_10(v);
        *slot = b'0' + digit as u8;
        n += 1;
        v = quotient;
        if v == 0 {
            break;
        }
    }
    for (o, d) in out.iter_mut().zip(tmp.iter().skip(tmp.len() - n)) {
        *o = *d;
    }
    // `min` tells the optimiser what callers' `&out[..n]` needs to know.
    n.min(out.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn fmt_u64_extremes() {
        let mut buf = [0u8; 20];
        let n = fmt_u64(0, &mut buf);
        assert_eq!(&buf[..n], b"0");
        let n = fmt_u64(u64::MAX, &mut buf);
        assert_eq!(&buf[..n], b"18446744073709551615");
        let mut v = 1u64;
        while v < u64::MAX / 7 {
            for x in [v - 1, v, v + 1, v * 3 - 1] {
                let n = fmt_u64(x, &mut buf);
                assert_eq!(&buf[..n], x.to_string().as_bytes());
            }
            v = v * 7 + 1;
        }
    }
}
