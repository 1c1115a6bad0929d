//! The few `f64` operations the notification attributes need (TS §5.1.2:
//! `gt`/`lt` crossings, `st` steps, the `lt + 2·st < gt` rule), on the bits.
//!
//! The nRF9160's FPU is single precision, so every `f64` `+`, `-`, `<`, `==`
//! is a call into the soft-float library: compiler-builtins' generic
//! `__adddf3` and the `__aeabi_dcmp*` family are ≈ 1.4 KB of flash. These
//! are a fraction of that and give the same results: IEEE 754 binary64,
//! round to nearest, ties to even, subnormals kept, `-0 == +0`, NaN unordered.
//! Only the NaN a sum returns may carry another payload (no caller can tell:
//! every comparison with a NaN is false).

use core::cmp::Ordering;

const SIGN: u64 = 1 << 63;
const INF: u64 = 0x7ff << 52;
const FRACTION: u64 = (1 << 52) - 1;
const HIDDEN: u64 = 1 << 52;

/// `a.partial_cmp(&b)`: `None` if either is NaN.
pub fn partial_cmp(a: f64, b: f64) -> Option<Ordering> {
    // Sign-magnitude to a signed integer of the same order; -0 and +0 both 0.
    let key = |x: f64| -> Option<i64> {
        let magnitude = (x.to_bits() & !SIGN) as i64;
        match magnitude > INF as i64 {
            true => None,
            false if x.to_bits() & SIGN != 0 => Some(-magnitude),
            false => Some(magnitude),
        }
    };
    Some(key(a)?.cmp(&key(b)?))
}

/// `a < b`
pub fn lt(a: f64, b: f64) -> bool {
    partial_cmp(a, b) == Some(Ordering::Less)
}

/// `a > b`
pub fn gt(a: f64, b: f64) -> bool {
    partial_cmp(a, b) == Some(Ordering::Greater)
}

/// `a >= b`
pub fn ge(a: f64, b: f64) -> bool {
    matches!(partial_cmp(a, b), Some(Ordering::Greater | Ordering::Equal))
}

/// `a == b`
pub fn eq(a: f64, b: f64) -> bool {
    partial_cmp(a, b) == Some(Ordering::Equal)
}

/// `a - b`
pub fn sub(a: f64, b: f64) -> f64 {
    add(a, f64::from_bits(b.to_bits() ^ SIGN))
}

/// `|a|`
pub fn abs(a: f64) -> f64 {
    f64::from_bits(a.to_bits() & !SIGN)
}

/// `a + b`, correctly rounded (nearest, ties to even).
pub fn add(a: f64, b: f64) -> f64 {
    let (a, b) = (a.to_bits(), b.to_bits());
    // `a` the operand of larger magnitude: the result takes its sign.
    let (a, b) = if a & !SIGN >= b & !SIGN { (a, b) } else { (b, a) };
    let (abs_a, abs_b) = (a & !SIGN, b & !SIGN);
    if abs_a >= INF {
        if abs_a > INF {
            return f64::from_bits(a | (1 << 51)); // NaN (quiet)
        }
        if abs_b == INF && (a ^ b) & SIGN != 0 {
            return f64::NAN; // inf - inf
        }
        return f64::from_bits(a);
    }
    if abs_b == 0 {
        // x + 0 = x; of two zeros the sum is -0 only if both are
        return f64::from_bits(if abs_a == 0 { a & b } else { a });
    }
    // Significands with the hidden bit and 3 guard bits; a subnormal has
    // exponent 1 and no hidden bit.
    let unpack = |abs: u64| -> (u64, i32) {
        let e = (abs >> 52) as i32;
        if e == 0 { ((abs & FRACTION) << 3, 1) } else { (((abs & FRACTION) | HIDDEN) << 3, e) }
    };
    let (ma, mut e) = unpack(abs_a);
    let (mb, eb) = unpack(abs_b);
    // Align b to a; bits shifted out are kept as a sticky bit.
    // (mb < 2^56: any shift past 63 leaves the same 0 and sticky bit)
    let shift = ((e - eb) as u32).min(63);
    let aligned = mb >> shift;
    let mb = aligned | (aligned << shift != mb) as u64;
    let mut m = if (a ^ b) & SIGN == 0 {
        let sum = ma + mb;
        if sum >= 1 << 56 {
            e += 1;
            (sum >> 1) | (sum & 1)
        } else {
            sum
        }
    } else {
        let difference = ma - mb; // |a| >= |b|
        if difference == 0 {
            return 0.0; // x - x = +0
        }
        // Normalise to bit 55, not below the subnormal exponent.
        let s = (difference.leading_zeros() as i32 - 8).min(e - 1).max(0);
        e -= s;
        difference << s
    };
    let guard = m & 7;
    m >>= 3;
    if guard > 4 || (guard == 4 && m & 1 != 0) {
        m += 1;
        if m == 1 << 53 {
            m >>= 1;
            e += 1;
        }
    }
    if e >= 0x7ff {
        return f64::from_bits((a & SIGN) | INF);
    }
    let biased = if m >= HIDDEN { e as u64 } else { 0 };
    f64::from_bits((a & SIGN) | (biased << 52) | (m & FRACTION))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Zeros, subnormals, normals at both ends, infinities, NaNs.
    fn specials() -> Vec<f64> {
        let mut v = Vec::new();
        for bits in [0, 1, 2, 3, FRACTION - 1, FRACTION, HIDDEN, HIDDEN + 1, 0x3ff0_0000_0000_0000,
                     0x3ff0_0000_0000_0001, 0x3fef_ffff_ffff_ffff, 0x4340_0000_0000_0000,
                     0x7fef_ffff_ffff_ffff, 0x7fe0_0000_0000_0000, INF, INF + 1, 0x7ff8_0000_0000_0000] {
            v.push(f64::from_bits(bits));
            v.push(f64::from_bits(bits | SIGN));
        }
        v.extend([0.1, 0.2, 0.3, 1.5, -2.5, 1e16, 1e-300, 45.5, -20.0, 100.0]);
        v
    }

    fn rng(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Random operands, often with close exponents (cancellation, carries,
    /// ties) or tiny ones (subnormal results).
    fn random_pair(state: &mut u64) -> (f64, f64) {
        let a = rng(state);
        let mut b = rng(state);
        match a % 4 {
            0 => b = (b & (SIGN | FRACTION)) | (a & INF), // same exponent
            1 => b = (b & (SIGN | FRACTION)) | ((a & INF) - ((b >> 20) % 60 << 52).min(a & INF)),
            2 => b = (b & (SIGN | FRACTION | (0x3 << 52))) | (a & INF & (0x3 << 52)), // tiny
            _ => {}
        }
        let a = if a % 7 == 0 { a & (SIGN | FRACTION | (0x7 << 52)) } else { a };
        (f64::from_bits(a), f64::from_bits(b))
    }

    fn same(x: f64, y: f64) -> bool {
        (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
    }

    #[test]
    fn add_and_sub_match_the_hardware() {
        let specials = specials();
        for &a in &specials {
            for &b in &specials {
                assert!(same(add(a, b), a + b), "{a:e} + {b:e}: {:e} vs {:e}", add(a, b), a + b);
                assert!(same(sub(a, b), a - b), "{a:e} - {b:e}");
            }
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..300_000 {
            let (a, b) = random_pair(&mut state);
            assert!(same(add(a, b), a + b), "{a:e} + {b:e}: {:e} vs {:e}", add(a, b), a + b);
            assert!(same(sub(a, b), a - b), "{a:e} - {b:e}: {:e} vs {:e}", sub(a, b), a - b);
        }
    }

    #[test]
    fn comparisons_match_the_hardware() {
        let specials = specials();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut pairs: Vec<(f64, f64)> = (0..100_000).map(|_| random_pair(&mut state)).collect();
        for &a in &specials {
            for &b in &specials {
                pairs.push((a, b));
            }
        }
        for (a, b) in pairs {
            assert_eq!(partial_cmp(a, b), a.partial_cmp(&b), "{a:e} {b:e}");
            assert_eq!((lt(a, b), gt(a, b), ge(a, b), eq(a, b)), (a < b, a > b, a >= b, a == b), "{a:e} {b:e}");
            assert!(same(abs(a), a.abs()));
        }
    }
}
