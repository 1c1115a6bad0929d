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
//!   `f64` (free-format digit generation, Steele & White / Burger & Dybvig),
//!   so at most 17 significant digits.
//! - [`parse_f64`] reads a decimal correctly rounded (round half to even).
//!   Refused: empty input, a leading `+`, `inf`/`nan`, hex floats, white
//!   space, more than [`MAX_SIG_DIGITS`] significant digits, and values whose
//!   magnitude rounds past `f64::MAX` (no infinity from text). Values below
//!   the smallest subnormal round to zero as IEEE 754 says.

use alloc::vec::Vec;
use core::cmp::Ordering;

/// Most significant digits `parse_f64` accepts (digits from the first to the
/// last non-zero one). Every f64 round-trips in 17; peers send ≤ 17.
pub const MAX_SIG_DIGITS: u32 = 40;

/// 32-bit limbs of the big integer: 1280 bits holds 10^(323+40) · 2^56, the
/// largest intermediate of `parse_f64`; `write_f64` needs ≤ 1090 bits.
const LIMBS: usize = 40;

/// Unsigned big integer, little-endian limbs; limbs at and above `n` are 0.
#[derive(Clone, Copy)]
struct Big {
    n: usize,
    d: [u32; LIMBS],
}

impl Big {
    const fn zero() -> Big {
        Big { n: 0, d: [0; LIMBS] }
    }

    fn from_u64(v: u64) -> Big {
        let mut b = Big::zero();
        b.d[0] = v as u32;
        b.d[1] = (v >> 32) as u32;
        b.n = if v >> 32 != 0 { 2 } else if v != 0 { 1 } else { 0 };
        b
    }

    fn is_zero(&self) -> bool {
        self.n == 0
    }

    /// Number of significant bits.
    fn bits(&self) -> u32 {
        if self.n == 0 {
            0
        } else {
            32 * (self.n as u32 - 1) + (32 - self.d[self.n - 1].leading_zeros())
        }
    }

    fn trim(&mut self) {
        while self.n > 0 && self.d[self.n - 1] == 0 {
            self.n -= 1;
        }
    }

    /// `self = self * m + add`; false (value unspecified) on overflow.
    fn mul_add_small(&mut self, m: u32, add: u32) -> bool {
        let mut carry = add as u64;
        for limb in &mut self.d[..self.n] {
            let p = *limb as u64 * m as u64 + carry;
            *limb = p as u32;
            carry = p >> 32;
        }
        if carry != 0 {
            if self.n == LIMBS {
                return false;
            }
            self.d[self.n] = carry as u32;
            self.n += 1;
        }
        self.trim();
        true
    }

    /// `self *= 10^k`; false on overflow.
    fn mul_pow10(&mut self, mut k: u32) -> bool {
        while k >= 9 {
            if !self.mul_add_small(1_000_000_000, 0) {
                return false;
            }
            k -= 9;
        }
        let mut m = 1u32;
        for _ in 0..k {
            m *= 10;
        }
        self.mul_add_small(m, 0)
    }

    /// `self <<= bits`; false on overflow.
    fn shl(&mut self, bits: u32) -> bool {
        if self.n == 0 {
            return true;
        }
        if bits > (LIMBS as u32) * 32 {
            return false;
        }
        let limbs = (bits / 32) as usize;
        let b = bits % 32;
        let top_spill = b != 0 && (self.d[self.n - 1] >> (32 - b)) != 0;
        let new_n = self.n + limbs + top_spill as usize;
        if new_n > LIMBS {
            return false;
        }
        if top_spill {
            self.d[self.n + limbs] = self.d[self.n - 1] >> (32 - b);
        }
        for i in (0..self.n).rev() {
            let lower = if b != 0 && i > 0 { self.d[i - 1] >> (32 - b) } else { 0 };
            self.d[i + limbs] = (self.d[i] << b) | lower;
        }
        for limb in &mut self.d[..limbs] {
            *limb = 0;
        }
        self.n = new_n;
        true
    }

    fn shr1(&mut self) {
        for i in 0..self.n {
            let hi = if i + 1 < self.n { self.d[i + 1] << 31 } else { 0 };
            self.d[i] = (self.d[i] >> 1) | hi;
        }
        self.trim();
    }

    /// `self += o`; false on overflow.
    fn add(&mut self, o: &Big) -> bool {
        let n = self.n.max(o.n);
        let mut carry = 0u64;
        for i in 0..n {
            let s = self.d[i] as u64 + o.d[i] as u64 + carry;
            self.d[i] = s as u32;
            carry = s >> 32;
        }
        self.n = n;
        if carry != 0 {
            if n == LIMBS {
                return false;
            }
            self.d[n] = 1;
            self.n = n + 1;
        }
        true
    }

    /// `self -= o`; only called with `self >= o`.
    fn sub(&mut self, o: &Big) {
        let mut borrow = 0u64;
        for i in 0..self.n {
            let (s1, b1) = self.d[i].overflowing_sub(o.d[i]);
            let (s2, b2) = s1.overflowing_sub(borrow as u32);
            self.d[i] = s2;
            borrow = (b1 | b2) as u64;
        }
        self.trim();
    }

    fn cmp(&self, o: &Big) -> Ordering {
        if self.n != o.n {
            return self.n.cmp(&o.n);
        }
        for i in (0..self.n).rev() {
            if self.d[i] != o.d[i] {
                return self.d[i].cmp(&o.d[i]);
            }
        }
        Ordering::Equal
    }
}

/// Shortest significant digits of the finite positive f64 with the given
/// biased exponent and mantissa fields: fills `digits` (values 0..=9) and
/// returns `(count, k)` with value = 0.d1d2…dn · 10^k.
fn shortest_digits(biased: i32, mant: u64, digits: &mut [u8; 17]) -> (usize, i32) {
    const HIDDEN: u64 = 1 << 52;
    let (f, e) = if biased == 0 { (mant, -1074) } else { (mant | HIDDEN, biased - 1075) };
    // v = r/s; the rounding interval is (v - mm/s, v + mp/s), closed when f
    // is even (a round-half-even reader maps the boundaries back to v).
    // mm = mp, or mm = mp/2 just above a power of two (`mm_half`).
    let mut r = Big::from_u64(f);
    let mut s = Big::from_u64(1);
    let mut mp = Big::from_u64(1);
    let mm_half = f == HIDDEN && biased > 1;
    let even = f & 1 == 0;
    let mut ok = true;
    if e >= 0 {
        ok &= mp.shl(e as u32 + mm_half as u32);
        ok &= r.shl(e as u32 + 1 + mm_half as u32);
        ok &= s.shl(1 + mm_half as u32);
    } else {
        if mm_half {
            mp = Big::from_u64(2);
        }
        ok &= r.shl(1 + mm_half as u32);
        ok &= s.shl((-e) as u32 + 1 + mm_half as u32);
    }
    let mut tmp;
    // high boundary reached: r + mp > s (>= when even)
    let reaches_high = |r: &Big, mp: &Big, s: &Big, tmp: &mut Big, ok: &mut bool| -> bool {
        *tmp = *r;
        *ok &= tmp.add(mp);
        match tmp.cmp(s) {
            Ordering::Greater => true,
            Ordering::Equal => even,
            Ordering::Less => false,
        }
    };
    // Scale so that (r + mp)/s is just below 1 (k = its decimal exponent).
    let mut k = 0i32;
    tmp = Big::zero();
    while reaches_high(&r, &mp, &s, &mut tmp, &mut ok) {
        ok &= s.mul_add_small(10, 0);
        k += 1;
    }
    loop {
        tmp = r;
        ok &= tmp.add(&mp);
        ok &= tmp.mul_add_small(10, 0);
        let still_below = match tmp.cmp(&s) {
            Ordering::Less => true,
            Ordering::Equal => !even,
            Ordering::Greater => false,
        };
        if !still_below {
            break;
        }
        ok &= r.mul_add_small(10, 0);
        ok &= mp.mul_add_small(10, 0);
        k -= 1;
    }
    let mut n = 0;
    loop {
        ok &= r.mul_add_small(10, 0);
        ok &= mp.mul_add_small(10, 0);
        let mut d = 0u8;
        while r.cmp(&s) != Ordering::Less {
            r.sub(&s);
            d += 1;
        }
        // low boundary reached: r < mm (<= when even)
        let low = {
            let ord = if mm_half {
                tmp = r;
                ok &= tmp.shl(1);
                tmp.cmp(&mp)
            } else {
                r.cmp(&mp)
            };
            match ord {
                Ordering::Less => true,
                Ordering::Equal => even,
                Ordering::Greater => false,
            }
        };
        let high = reaches_high(&r, &mp, &s, &mut tmp, &mut ok);
        let last = n + 1 == digits.len();
        let digit = match (low, high) {
            (false, false) if !last => {
                digits[n] = d;
                n += 1;
                continue;
            }
            (true, false) => d,
            (false, true) => d + 1,
            _ => {
                // both candidates round-trip (or out of room): the closer one
                tmp = r;
                ok &= tmp.shl(1);
                if tmp.cmp(&s) == Ordering::Less { d } else { d + 1 }
            }
        };
        digits[n] = digit;
        n += 1;
        break;
    }
    debug_assert!(ok); // the big integer is sized for f64::MAX and 5e-324
    (n, k)
}

/// Appends the shortest decimal form of `v` that reads back as `v`:
/// `-1.5`, `100`, `0.001`, `1e21`, `1.5e-7` (plain notation for decimal
/// exponents -6..=20, as JavaScript does; no `+` in exponents). `-0.0` is
/// `-0`. Non-finite values (no LwM2M encoding) are written `NaN`,
/// `Infinity`, `-Infinity`, the spellings Java's `Double.parseDouble` reads.
pub fn write_f64(v: f64, out: &mut Vec<u8>) {
    let bits = v.to_bits();
    let neg = bits >> 63 != 0;
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let mant = bits & ((1u64 << 52) - 1);
    if biased == 0x7ff && mant != 0 {
        out.extend_from_slice(b"NaN");
        return;
    }
    if neg {
        out.push(b'-');
    }
    if biased == 0x7ff {
        out.extend_from_slice(b"Infinity");
        return;
    }
    if biased == 0 && mant == 0 {
        out.push(b'0');
        return;
    }
    let mut digits = [0u8; 17];
    let (n, k) = shortest_digits(biased, mant, &mut digits);
    let digits = &digits[..n];
    let ascii = |d: &u8| b'0' + *d;
    if k > 0 && k <= 21 {
        let int_len = k as usize;
        if n <= int_len {
            out.extend(digits.iter().map(ascii));
            out.extend(core::iter::repeat_n(b'0', int_len - n));
        } else {
            out.extend(digits[..int_len].iter().map(ascii));
            out.push(b'.');
            out.extend(digits[int_len..].iter().map(ascii));
        }
    } else if k <= 0 && k > -6 {
        out.extend_from_slice(b"0.");
        out.extend(core::iter::repeat_n(b'0', (-k) as usize));
        out.extend(digits.iter().map(ascii));
    } else {
        out.push(ascii(&digits[0]));
        if n > 1 {
            out.push(b'.');
            out.extend(digits[1..].iter().map(ascii));
        }
        out.push(b'e');
        let exp = k - 1;
        if exp < 0 {
            out.push(b'-');
        }
        let mut buf = [0u8; 20];
        let len = super::text::fmt_u64(exp.unsigned_abs() as u64, &mut buf);
        out.extend_from_slice(&buf[..len]);
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
    let mut i = 0;
    let mut big = Big::zero();
    let mut sig_digits = 0u64; // digits folded into `big`
    let mut pending_zeros = 0u64; // zeros after the last non-zero digit
    let mut frac_digits = 0i64;
    let mut any_digit = false;
    let mut in_fraction = false;
    while i < s.len() {
        let c = s[i];
        if c == b'.' && !in_fraction {
            in_fraction = true;
        } else if c.is_ascii_digit() {
            any_digit = true;
            if in_fraction {
                frac_digits = frac_digits.saturating_add(1);
            }
            if c != b'0' {
                sig_digits = sig_digits.saturating_add(pending_zeros + 1);
                if sig_digits > MAX_SIG_DIGITS as u64
                    || !big.mul_pow10(pending_zeros as u32)
                    || !big.mul_add_small(10, (c - b'0') as u32)
                {
                    return None;
                }
                pending_zeros = 0;
            } else if !big.is_zero() {
                pending_zeros = pending_zeros.saturating_add(1);
            }
        } else {
            break;
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    let mut exp10 = 0i64;
    if i < s.len() {
        if s[i] != b'e' && s[i] != b'E' {
            return None;
        }
        i += 1;
        let exp_neg = match s.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            exp10 = (exp10 * 10 + (s[i] - b'0') as i64).min(1_000_000);
            i += 1;
        }
        if i == start || i != s.len() {
            return None;
        }
        if exp_neg {
            exp10 = -exp10;
        }
    }
    let signed_zero = if neg { -0.0 } else { 0.0 };
    if big.is_zero() {
        return Some(signed_zero);
    }
    // value = big · 10^e10, big has `sig_digits` digits, so
    // 10^(sig_digits + e10 - 1) <= value < 10^(sig_digits + e10)
    let e10 = exp10.saturating_add(pending_zeros.min(1 << 40) as i64).saturating_sub(frac_digits);
    let magnitude = sig_digits as i64 + e10;
    if magnitude > 310 {
        return None;
    }
    if magnitude < -323 {
        // below 10^-324, less than half the smallest subnormal
        return Some(signed_zero);
    }
    let bits = to_f64_bits(big, e10 as i32)?;
    Some(f64::from_bits(bits | ((neg as u64) << 63)))
}

/// Correctly rounded `big · 10^e10` as f64 bits (sign clear); `None` when it
/// overflows. The caller bounds the magnitude to 10^-324 .. 10^310.
fn to_f64_bits(big: Big, e10: i32) -> Option<u64> {
    let mut num = big;
    let mut den = Big::from_u64(1);
    let ok = if e10 >= 0 { num.mul_pow10(e10 as u32) } else { den.mul_pow10((-e10) as u32) };
    if !ok {
        return None;
    }
    // q = floor(num · 2^shift / den) gets 54 or 55 bits; value ≈ q · 2^-shift.
    // shift <= 1075 keeps the binary exponent of the 53-bit mantissa >= -1074
    // (subnormals get fewer bits).
    let mut shift = 54 - (num.bits() as i32 - den.bits() as i32);
    if shift > 1075 {
        shift = 1075;
    }
    let ok = if shift >= 0 { num.shl(shift as u32) } else { den.shl((-shift) as u32) };
    if !ok || !den.shl(55) {
        return None;
    }
    let mut q = 0u64;
    for _ in 0..=55 {
        q <<= 1;
        if num.cmp(&den) != Ordering::Less {
            num.sub(&den);
            q |= 1;
        }
        den.shr1();
    }
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
