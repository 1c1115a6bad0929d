//! Decimal text for `f64` without `core::fmt` and without core's float parser
//! (both are several KB of flash; the original library pulled in ~20 KB of
//! newlib `strtod`/`printf` for this). Used by the plain-text format (LwM2M 1.0
//! TS §6.4.1), the JSON format (§6.4.4) and the `gt`/`lt`/`st` attributes
//! (§5.1.2).
//!
//! Only integer arithmetic on a small fixed-size big integer is used, no float
//! operations (the nRF9160's FPU is single precision, f64 math is soft-float).
//!
//! - [`write_f64`] writes the shortest decimal that reads back to the same
//!   `f64` (the free-format output of Steele & White / Burger & Dybvig: of
//!   the shortest such decimals the one nearest the value), so at most 17
//!   significant digits.
//! - [`parse_f64`] reads a decimal correctly rounded (round half to even).
//!   Refused: empty input, a leading `+`, `inf`/`nan`, hex floats, white
//!   space, more than [`MAX_SIG_DIGITS`] significant digits, and values whose
//!   magnitude rounds past `f64::MAX` (no infinity from text). Values below
//!   the smallest subnormal round to zero as IEEE 754 says.
//!
//! Both rest on one primitive, a correctly rounded `digits · 10^e10` → f64
//! ([`to_f64_bits`]): the writer tries, for 1, 2, … 17 digits, the two
//! decimals next to the value, nearer one first, and keeps the first that
//! reads back to it. That is slower than digit generation (a few
//! milliseconds at worst on the device, for a rare Discover) but the code is
//! a third of the size. No indexing: nothing here can panic.

use alloc::vec::Vec;
use core::cmp::Ordering;

/// Most significant digits `parse_f64` accepts (digits from the first to the
/// last non-zero one). Every f64 round-trips in 17; peers send ≤ 17.
pub const MAX_SIG_DIGITS: u32 = 40;

/// 32-bit limbs of the big integer: 1280 bits holds 10^(323+40) · 2^56, the
/// largest intermediate of `parse_f64`; `write_f64` needs ≤ 1190 bits.
const LIMBS: usize = 40;

/// Unsigned big integer, little-endian limbs, always all `LIMBS` of them
/// (simpler code than tracking the used length; values stay small).
#[derive(Clone, Copy)]
struct Big([u32; LIMBS]);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big([0; LIMBS]);
        b.0[0] = v as u32;
        b.0[1] = (v >> 32) as u32;
        b
    }

    fn is_zero(&self) -> bool {
        self.0.iter().all(|&l| l == 0)
    }

    /// Number of significant bits.
    fn bits(&self) -> i32 {
        let mut bits = 0;
        for (i, &limb) in self.0.iter().enumerate() {
            if limb != 0 {
                bits = 32 * i as i32 + 32 - limb.leading_zeros() as i32;
            }
        }
        bits
    }

    /// `self = self * m + add`; false (value unspecified) on overflow.
    fn mul_add(&mut self, m: u32, add: u32) -> bool {
        let mut carry = add as u64;
        for limb in self.0.iter_mut() {
            let p = *limb as u64 * m as u64 + carry;
            *limb = p as u32;
            carry = p >> 32;
        }
        carry == 0
    }

    /// `self *= 10^k`; false on overflow.
    fn mul_pow10(&mut self, mut k: u32) -> bool {
        let mut ok = true;
        while k > 0 {
            let step = k.min(9);
            ok &= self.mul_add(10u32.pow(step), 0);
            k -= step;
        }
        ok
    }

    /// `self <<= bits`; false on overflow.
    fn shl(&mut self, bits: i32) -> bool {
        if self.bits() + bits > 32 * LIMBS as i32 {
            return false;
        }
        let limbs = (bits / 32) as usize;
        let b = (bits % 32) as u32;
        let from = |i: Option<usize>| i.and_then(|i| self.0.get(i)).copied().unwrap_or(0);
        let mut out = [0u32; LIMBS];
        for (i, o) in out.iter_mut().enumerate() {
            let hi = from(i.checked_sub(limbs));
            let lo = from(i.checked_sub(limbs + 1));
            *o = (hi << b) | lo.checked_shr(32 - b).unwrap_or(0);
        }
        self.0 = out;
        true
    }

    /// `self -= o`; only called with `self >= o`.
    fn sub(&mut self, o: &Big) {
        sub_limbs(&mut self.0, &o.0);
    }

    fn cmp(&self, o: &Big) -> Ordering {
        cmp_limbs(&self.0, &o.0)
    }

    /// `self · 2^shift` (a negative `shift` is applied to `den` instead).
    fn scale2(&mut self, den: &mut Big, shift: i32) -> bool {
        if shift >= 0 { self.shl(shift) } else { den.shl(-shift) }
    }

    /// `self · 10^e10` (a negative `e10` is applied to `den` instead).
    fn scale10(&mut self, den: &mut Big, e10: i32) -> bool {
        if e10 >= 0 { self.mul_pow10(e10 as u32) } else { den.mul_pow10(e10.unsigned_abs()) }
    }

    /// `floor(self / den)` for a quotient below `2^(q_bits + 1)`, by shift
    /// and subtract; `self` keeps the remainder. `None` on overflow.
    fn div_rem(&mut self, den: &Big, q_bits: i32) -> Option<u64> {
        let mut d = *den;
        if !d.shl(q_bits) {
            return None;
        }
        // Only the low limbs that can hold 2·d take part (speed only: the
        // remainder stays below 2·d, higher limbs are 0 in both).
        let used = (d.bits() / 32 + 1) as usize;
        let (Some(r), Some(d)) = (self.0.get_mut(..used), d.0.get_mut(..used)) else {
            return None;
        };
        let mut q = 0u64;
        for _ in 0..=q_bits {
            q <<= 1;
            if cmp_limbs(r, d) != Ordering::Less {
                sub_limbs(r, d);
                q |= 1;
            }
            // d >>= 1
            let mut carry = 0;
            for limb in d.iter_mut().rev() {
                let next = *limb << 31;
                *limb = (*limb >> 1) | carry;
                carry = next;
            }
        }
        Some(q)
    }
}

/// `a -= b` on equally long little-endian limbs, `a >= b`.
fn sub_limbs(a: &mut [u32], b: &[u32]) {
    let mut borrow = false;
    for (a, &b) in a.iter_mut().zip(b.iter()) {
        let (s1, b1) = a.overflowing_sub(b);
        let (s2, b2) = s1.overflowing_sub(borrow as u32);
        *a = s2;
        borrow = b1 | b2;
    }
}

/// Compares equally long little-endian limbs.
fn cmp_limbs(a: &[u32], b: &[u32]) -> Ordering {
    for (a, b) in a.iter().zip(b.iter()).rev() {
        if a != b {
            return a.cmp(b);
        }
    }
    Ordering::Equal
}

/// The decimal `c · 10^e10` next to the finite positive f64 `bits` that
/// reads back as it, the nearer of the two if both do (the one above on a
/// tie, as Burger & Dybvig); `None` if neither does. "Reads back" is the
/// rounding interval test on the exact remainder: closer than half an ulp
/// (a quarter below a power of two), or exactly that with an even mantissa
/// (round half to even keeps it).
fn candidate_at(bits: u64, e10: i32) -> Option<u64> {
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let mant = bits & ((1u64 << 52) - 1);
    let (f, e) = if biased == 0 { (mant, -1074) } else { (mant | (1 << 52), biased - 1075) };
    let low_quarter = mant == 0 && biased > 1;
    // num/den = v / 10^e10 and ulp/den = 2^e / 10^e10: one denominator for
    // both (three big integers on the stack, not six: 480 B of frame less).
    let mut num = Big::from_u64(f);
    let mut ulp = Big::from_u64(1);
    let mut den = Big::from_u64(1);
    let ok = (if e >= 0 { num.shl(e) && ulp.shl(e) } else { den.shl(-e) })
        && (if e10 <= 0 { num.mul_pow10(e10.unsigned_abs()) && ulp.mul_pow10(e10.unsigned_abs()) } else { den.mul_pow10(e10 as u32) });
    // q < 10^18 < 2^61: at most 18 digits (see `shortest`)
    let q = num.div_rem(&den, 60).filter(|_| ok)?;
    // num is now v - q · 10^e10, scaled; den becomes (q + 1) · 10^e10 - v.
    den.sub(&num);
    let (below, above) = (&mut num, &mut den);
    let up_nearer = below.cmp(above) != Ordering::Less;
    let even = f & 1 == 0;
    let inside = |dist: &mut Big, shift: i32| {
        dist.shl(shift)
            && match dist.cmp(&ulp) {
                Ordering::Less => true,
                Ordering::Equal => even,
                Ordering::Greater => false,
            }
    };
    let low_ok = inside(below, 1 + low_quarter as i32);
    let high_ok = inside(above, 1);
    match (low_ok, high_ok) {
        (true, true) => Some(q + up_nearer as u64),
        (true, false) => Some(q),
        (false, true) => Some(q + 1),
        (false, false) => None,
    }
}

/// The shortest decimal `c · 10^e10` that reads back as the finite
/// positive f64 `bits` (see [`candidate_at`]); `c` may end in zeros.
fn shortest(bits: u64) -> (u64, i32) {
    let biased = ((bits >> 52) & 0x7ff) as i32;
    // v < 2^l with l = 1 + the exponent of v's top bit
    let l = if biased == 0 {
        64 - (bits & ((1u64 << 52) - 1)).leading_zeros() as i32 - 1074
    } else {
        biased - 1022
    };
    // 10^top > v >= 10^(top - 2); floor(x · log10 2) = (x · 78913) >> 18
    // for |x| <= 1100. With the last digit at 10^(top - 18) there are at
    // least 17 digits, which always read back; with it at 10^(top + 1)
    // none. A decimal that reads back with its last digit at 10^e10 means
    // one does at every lower e10 too, so binary search for the highest.
    let top = ((l * 78913) >> 18) + 1;
    let mut lo = top - 18;
    let mut best = candidate_at(bits, lo).unwrap_or(0);
    let mut hi = top + 1;
    while hi - lo > 1 {
        let mid = (lo + hi) >> 1;
        match candidate_at(bits, mid) {
            Some(c) => {
                lo = mid;
                best = c;
            }
            None => hi = mid,
        }
    }
    (best, lo)
}

/// Appends the shortest decimal form of `v` that reads back as `v`:
/// `-1.5`, `100`, `0.001`, `1e21`, `1.5e-7` (plain notation for decimal
/// exponents -6..=20, as JavaScript does; no `+` in exponents). `-0.0` is
/// `-0`. Non-finite values (no LwM2M encoding) are written `NaN`,
/// `Infinity`, `-Infinity`, the spellings Java's `Double.parseDouble` reads.
pub fn write_f64(v: f64, out: &mut Vec<u8>) {
    let bits = v.to_bits();
    let abs = bits & !(1 << 63);
    if abs > 0x7ff0_0000_0000_0000 {
        out.extend_from_slice(b"NaN");
        return;
    }
    if bits != abs {
        out.push(b'-');
    }
    if abs == 0x7ff0_0000_0000_0000 {
        out.extend_from_slice(b"Infinity");
        return;
    }
    if abs == 0 {
        out.push(b'0');
        return;
    }
    let (c, e10) = shortest(abs);
    let mut buf = [0u8; 20];
    let len = crate::util::decimal::fmt_u64(c, &mut buf);
    // value = 0.d1d2…dn · 10^k; digits without trailing zeros
    let mut digits = buf.get(..len).unwrap_or_default();
    let mut k = e10 + len as i32;
    while let [rest @ .., b'0'] = digits {
        digits = rest;
    }
    let n = digits.len();
    if k > 0 && k <= 21 {
        let int_len = k as usize;
        match digits.split_at_checked(int_len) {
            Some((int, frac)) if !frac.is_empty() => {
                out.extend_from_slice(int);
                out.push(b'.');
                out.extend_from_slice(frac);
            }
            _ => {
                out.extend_from_slice(digits);
                out.extend(core::iter::repeat_n(b'0', int_len.saturating_sub(n)));
            }
        }
    } else if k <= 0 && k > -6 {
        out.extend_from_slice(b"0.");
        out.extend(core::iter::repeat_n(b'0', (-k) as usize));
        out.extend_from_slice(digits);
    } else {
        if let Some((first, rest)) = digits.split_first() {
            out.push(*first);
            if !rest.is_empty() {
                out.push(b'.');
                out.extend_from_slice(rest);
            }
        }
        out.push(b'e');
        k -= 1;
        if k < 0 {
            out.push(b'-');
        }
        super::text::write_u64(k.unsigned_abs() as u64, out);
    }
}

/// Reads `-?(d+(.d*)?|.d+)([eE][+-]?d+)?` correctly rounded to the nearest
/// f64 (ties to even). `None` for anything else, for more than
/// [`MAX_SIG_DIGITS`] significant digits, or if the value rounds past
/// `f64::MAX`.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    let (neg, s) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let mut rest = s;
    let mut big = Big::from_u64(0);
    // Counts in i32, saturating: no input comes near 2^31 bytes (and 64-bit
    // arithmetic is slower and larger on the Cortex-M33).
    let mut sig_digits = 0i32; // digits folded into `big`
    let mut pending_zeros = 0i32; // zeros after the last non-zero digit
    let mut frac_digits = 0i32;
    let mut any_digit = false;
    let mut in_fraction = false;
    while let Some((&c, after)) = rest.split_first() {
        if c == b'.' && !in_fraction {
            in_fraction = true;
        } else if c.is_ascii_digit() {
            any_digit = true;
            if in_fraction {
                frac_digits = frac_digits.saturating_add(1);
            }
            if c != b'0' {
                sig_digits = sig_digits.saturating_add(pending_zeros).saturating_add(1);
                if sig_digits > MAX_SIG_DIGITS as i32
                    || !big.mul_pow10(pending_zeros as u32)
                    || !big.mul_add(10, (c - b'0') as u32)
                {
                    return None;
                }
                pending_zeros = 0;
            } else if sig_digits > 0 {
                // (`big` is zero until the first non-zero digit)
                pending_zeros = pending_zeros.saturating_add(1);
            }
        } else {
            break;
        }
        rest = after;
    }
    if !any_digit {
        return None;
    }
    let mut exp10 = 0i32;
    if let Some((&e, after)) = rest.split_first() {
        if e != b'e' && e != b'E' {
            return None;
        }
        let (exp_neg, digits) = match after.split_first() {
            Some((b'-', d)) => (true, d),
            Some((b'+', d)) => (false, d),
            _ => (false, after),
        };
        if digits.is_empty() {
            return None;
        }
        for &c in digits {
            if !c.is_ascii_digit() {
                return None;
            }
            exp10 = (exp10 * 10 + (c - b'0') as i32).min(1_000_000);
        }
        if exp_neg {
            exp10 = -exp10;
        }
    }
    let signed_zero = if neg { -0.0 } else { 0.0 };
    if sig_digits == 0 {
        return Some(signed_zero);
    }
    // value = big · 10^e10, big has `sig_digits` digits, so
    // 10^(sig_digits + e10 - 1) <= value < 10^(sig_digits + e10)
    let e10 = exp10.saturating_add(pending_zeros).saturating_sub(frac_digits);
    let magnitude = sig_digits.saturating_add(e10);
    if magnitude > 310 {
        return None;
    }
    if magnitude < -323 {
        // below 10^-324, less than half the smallest subnormal
        return Some(signed_zero);
    }
    let bits = to_f64_bits(big, e10)?;
    Some(f64::from_bits(bits | ((neg as u64) << 63)))
}

/// Correctly rounded `big · 10^e10` as f64 bits (sign clear); `None` when it
/// overflows. The callers bound the magnitude to 10^-341 .. 10^310.
fn to_f64_bits(big: Big, e10: i32) -> Option<u64> {
    let mut num = big;
    let mut den = Big::from_u64(1);
    if !num.scale10(&mut den, e10) {
        return None;
    }
    // q = floor(num · 2^shift / den) gets 54 or 55 bits; value ≈ q · 2^-shift.
    // shift <= 1075 keeps the binary exponent of the 53-bit mantissa >= -1074
    // (subnormals get fewer bits).
    let mut shift = (54 - (num.bits() - den.bits())).min(1075);
    if !num.scale2(&mut den, shift) {
        return None;
    }
    let mut q = num.div_rem(&den, 55)?;
    let mut sticky = !num.is_zero();
    if q >= 1 << 54 {
        sticky |= q & 1 != 0;
        q >>= 1;
        shift -= 1;
    }
    let mut m = q >> 1;
    let half = q & 1 != 0;
    let mut exp2 = 1 - shift; // value ≈ m · 2^exp2
    if half && (sticky || m & 1 != 0) {
        m += 1;
        if m == 1 << 53 {
            m >>= 1;
            exp2 += 1;
        }
    }
    if m < 1 << 52 {
        // subnormal (exp2 is -1074 here), or zero
        return Some(m);
    }
    let biased = exp2 + 1075;
    if biased >= 0x7ff {
        return None;
    }
    Some(((biased as u64) << 52) | (m & ((1u64 << 52) - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::format;

    fn fmt(v: f64) -> String {
        let mut out = Vec::new();
        write_f64(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn parse(s: &str) -> Option<f64> {
        parse_f64(s.as_bytes())
    }

    #[test]
    fn writes_simple_values() {
        assert_eq!(fmt(0.0), "0");
        assert_eq!(fmt(-0.0), "-0");
        assert_eq!(fmt(1.0), "1");
        assert_eq!(fmt(-1.5), "-1.5");
        assert_eq!(fmt(0.1), "0.1");
        assert_eq!(fmt(100.0), "100");
        assert_eq!(fmt(123.456), "123.456");
        assert_eq!(fmt(0.001), "0.001");
        assert_eq!(fmt(1e-6), "0.000001");
        assert_eq!(fmt(1e-7), "1e-7");
        assert_eq!(fmt(1.5e-7), "1.5e-7");
        assert_eq!(fmt(1e20), "100000000000000000000");
        assert_eq!(fmt(1.5e20), "150000000000000000000");
        assert_eq!(fmt(1e21), "1e21");
        assert_eq!(fmt(-1.25e22), "-1.25e22");
        assert_eq!(fmt(f64::MAX), "1.7976931348623157e308");
        assert_eq!(fmt(f64::MIN_POSITIVE), "2.2250738585072014e-308");
        assert_eq!(fmt(5e-324), "5e-324");
        assert_eq!(fmt(0.3), "0.3");
        assert_eq!(fmt(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(fmt(2f64.powi(53)), "9007199254740992");
        assert_eq!(fmt(f64::NAN), "NaN");
        assert_eq!(fmt(f64::INFINITY), "Infinity");
        assert_eq!(fmt(f64::NEG_INFINITY), "-Infinity");
    }

    /// Just above a power of two the rounding interval is lopsided (a
    /// quarter ulp below, half above): every power of two, and its
    /// neighbours, against std's shortest digits.
    #[test]
    fn powers_of_two_match_std() {
        for biased in 0..0x7ffu64 {
            for mant in [0, 1, (1 << 52) - 1] {
                let v = f64::from_bits((biased << 52) | mant);
                if v == 0.0 {
                    continue;
                }
                let text = fmt(v);
                assert_eq!(parse(&text).map(f64::to_bits), Some(v.to_bits()), "{text}");
                assert_eq!(text.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{text}");
                let std_sci = format!("{v:e}");
                let digits = |s: &str| -> String {
                    let m = s.split('e').next().unwrap();
                    let m: String = m.chars().filter(|c| c.is_ascii_digit()).collect();
                    m.trim_start_matches('0').trim_end_matches('0').into()
                };
                assert_eq!(digits(&text), digits(&std_sci), "{text} vs {std_sci}");
            }
        }
    }

    /// `shortest` relies on `(x · 78913) >> 18` being `floor(x · log10 2)`
    /// for every binary magnitude an f64 can have.
    #[test]
    fn log10_of_two_estimate_is_exact_over_the_f64_range() {
        for x in -1100i32..=1100 {
            let exact = (x as f64 * core::f64::consts::LOG10_2).floor() as i32;
            assert_eq!((x * 78913) >> 18, exact, "{x}");
        }
    }

    #[test]
    fn parses_simple_values() {
        assert_eq!(parse("0"), Some(0.0));
        assert!(parse("-0").unwrap().is_sign_negative());
        assert_eq!(parse("1"), Some(1.0));
        assert_eq!(parse("-1.5"), Some(-1.5));
        assert_eq!(parse("1."), Some(1.0));
        assert_eq!(parse(".5"), Some(0.5));
        assert_eq!(parse("1e3"), Some(1000.0));
        assert_eq!(parse("1E+3"), Some(1000.0));
        assert_eq!(parse("25e-1"), Some(2.5));
        assert_eq!(parse("0.30000000000000004"), Some(0.1 + 0.2));
        assert_eq!(parse("1.7976931348623157e308"), Some(f64::MAX));
        assert_eq!(parse("4.9e-324"), Some(5e-324));
        assert_eq!(parse("2.4703282292062328e-324"), Some(5e-324)); // just above half
        assert_eq!(parse("2.4703282292062327e-324"), Some(0.0)); // just below half
        assert_eq!(parse("1e-400"), Some(0.0));
        assert_eq!(parse("0.000000000000000000000000000000000000000000000000001"), Some(1e-51));
        assert_eq!(parse("100000000000000000000000000000000000000000000000000"), Some(1e50));
        // exactly halfway between 2^53 and 2^53 + 2: ties to even
        assert_eq!(parse("9007199254740993"), Some(9007199254740992.0));
        assert_eq!(parse("9007199254740995"), Some(9007199254740996.0));
        // 2^-1022 - 2^-1074 (largest subnormal) and min normal
        assert_eq!(parse("2.225073858507201e-308"), Some(f64::from_bits(0x000f_ffff_ffff_ffff)));
        assert_eq!(parse("2.2250738585072014e-308"), Some(f64::MIN_POSITIVE));
        // 40 significant digits at both ends of the range
        assert_eq!(
            parse("1.797693134862315708145274237317043567980e308"),
            Some(f64::MAX)
        );
        assert_eq!(parse("4.940656458412465441765687928682213723651e-324"), Some(5e-324));
    }

    #[test]
    fn refuses_malformed_and_out_of_range() {
        for bad in [
            "", "-", ".", "+1", " 1", "1 ", "1e", "1e+", "e5", "1.2.3", "--1", "inf", "NaN",
            "Infinity", "0x10", "1,5", "1e400", "1.8e308", "-1e309",
            "1.0000000000000000000000000000000000000001",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        // trailing and leading zeros are not significant digits
        assert_eq!(parse("000000000000000000000000000000000000000000000001.5000000000000000000000000000000000000000"), Some(1.5));
    }

    /// xorshift64* so the tests need no crates
    fn rng(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Same shortest digits as std's formatter (which is Grisu/Ryu-exact),
    /// and reads back bit-exactly with both parsers.
    #[test]
    fn random_bit_patterns_round_trip_and_match_std() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..20_000 {
            let bits = rng(&mut state);
            // every 4th value from a narrower band so plain notation is hit too
            let bits = if i % 4 == 0 { (bits & 0x800f_ffff_ffff_ffff) | (((bits >> 52) % 140 + 960) << 52) } else { bits };
            let v = f64::from_bits(bits);
            if !v.is_finite() {
                continue;
            }
            let text = fmt(v);
            assert_eq!(parse(&text).map(f64::to_bits), Some(bits), "{text}");
            assert_eq!(text.parse::<f64>().unwrap().to_bits(), bits, "{text}");
            // same significant digits as std's shortest form
            let std_sci = format!("{v:e}");
            let sig = |s: &str| -> String {
                let m = s.split('e').next().unwrap();
                let m: String = m.chars().filter(|c| c.is_ascii_digit()).collect();
                m.trim_start_matches('0').trim_end_matches('0').into()
            };
            assert_eq!(sig(&text), sig(&std_sci), "{text} vs {std_sci}");
        }
    }

    #[test]
    fn random_decimal_strings_match_std_parser() {
        let mut state = 0x1234_5678_9abc_def1u64;
        for _ in 0..20_000 {
            let r = rng(&mut state);
            let ndigits = (r % 25) as usize + 1;
            let mut s = String::new();
            if r & (1 << 40) != 0 {
                s.push('-');
            }
            for j in 0..ndigits {
                s.push((b'0' + (rng(&mut state) % 10) as u8) as char);
                if j == 0 && r & (1 << 41) != 0 {
                    s.push('.');
                }
            }
            let exp = (rng(&mut state) % 700) as i64 - 350;
            s.push_str(&format!("e{exp}"));
            let std_v: f64 = s.parse().unwrap();
            let ours = parse(&s);
            if std_v.is_infinite() {
                assert_eq!(ours, None, "{s}");
            } else {
                assert_eq!(ours.map(f64::to_bits), Some(std_v.to_bits()), "{s}");
            }
        }
    }
}
