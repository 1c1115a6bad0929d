//! Plain text content format (OMA-TS-LightweightM2M-V1_0_2 §6.4.1,
//! Content-Format 0): one resource value as UTF-8 text, typed per
//! Appendix C.
//!
//! - Integer, Time: ASCII decimal, optional leading `-` (no `+`, no spaces);
//!   leading zeros are read as decimal. Refused: empty, fractions, exponents,
//!   values outside i64.
//! - Boolean: exactly `0` or `1`.
//! - String: any valid UTF-8 (invalid UTF-8 is refused).
//! - Objlnk: `Object:Instance`, each 1-5 digits ≤ 65535.
//! - Float: decimal with optional fraction and exponent, see
//!   [`super::float`]; `inf`/`nan` refused.
//! - Opaque is not a text type in 1.0 (it travels as application/octet-
//!   stream, §6.4.2): `encode` writes the raw octets and `decode` returns the
//!   bytes unchanged, i.e. both behave as the opaque format.
//! - Executable resources (`ResourceType::None`) have no value: `decode`
//!   refuses.

use super::float;
use super::value::{ResourceType, Value};
use crate::util::decimal::fmt_u64;
use alloc::vec::Vec;


/// Appends `v` in decimal.
pub fn write_u64(v: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let n = fmt_u64(v, &mut buf);
    out.extend_from_slice(buf.get(..n).unwrap_or_default());
}

/// Appends `v` in decimal, `-` for negatives.
pub fn write_i64(v: i64, out: &mut Vec<u8>) {
    if v < 0 {
        out.push(b'-');
    }
    write_u64(v.unsigned_abs(), out);
}

/// Reads 1+ ASCII digits as u64; `None` if empty, not all digits, or > `max`.
pub fn parse_u64(bytes: &[u8], max: u64) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    let mut v = 0u64;
    for &c in bytes {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
        if v > max {
            return None;
        }
    }
    Some(v)
}

/// Reads an optional `-` and 1+ ASCII digits as i64; `None` otherwise or if
/// out of range.
pub fn parse_i64(bytes: &[u8]) -> Option<i64> {
    match bytes.split_first() {
        Some((b'-', digits)) => {
            let magnitude = parse_u64(digits, 1 << 63)?;
            Some((magnitude as i64).wrapping_neg()) // 2^63 wraps to i64::MIN
        }
        _ => Some(parse_u64(bytes, i64::MAX as u64)? as i64),
    }
}

/// Appends `value` as plain text (see the module doc for each type).
pub fn encode(value: &Value, out: &mut Vec<u8>) {
    match *value {
        Value::Int(v) | Value::Time(v) => write_i64(v, out),
        Value::Bool(b) => out.push(if b { b'1' } else { b'0' }),
        Value::Str(s) => out.extend_from_slice(s.as_bytes()),
        Value::Opaque(b) => out.extend_from_slice(b),
        Value::ObjLnk(o, i) => {
            write_u64(o as u64, out);
            out.push(b':');
            write_u64(i as u64, out);
        }
        Value::Float(f) => float::write_f64(f, out),
    }
}

/// Reads a plain-text payload as a value of type `ty`; `None` if it is not
/// a valid value of that type (the caller answers 4.00 Bad Request).
pub fn decode(bytes: &[u8], ty: ResourceType) -> Option<Value<'_>> {
    match ty {
        ResourceType::Int => parse_i64(bytes).map(Value::Int),
        ResourceType::Time => parse_i64(bytes).map(Value::Time),
        ResourceType::Bool => match bytes {
            b"0" => Some(Value::Bool(false)),
            b"1" => Some(Value::Bool(true)),
            _ => None,
        },
        ResourceType::Str => core::str::from_utf8(bytes).ok().map(Value::Str),
        ResourceType::Opaque => Some(Value::Opaque(bytes)),
        ResourceType::ObjLnk => {
            let colon = bytes.iter().position(|&c| c == b':')?;
            let (obj, inst) = (bytes.get(..colon)?, bytes.get(colon + 1..)?);
            if obj.len() > 5 || inst.len() > 5 {
                return None;
            }
            let obj = parse_u64(obj, u16::MAX as u64)? as u16;
            let inst = parse_u64(inst, u16::MAX as u64)? as u16;
            Some(Value::ObjLnk(obj, inst))
        }
        ResourceType::Float => float::parse_f64(bytes).map(Value::Float),
        ResourceType::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::{String, ToString};

    fn enc(v: Value) -> String {
        let mut out = Vec::new();
        encode(&v, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn dec(s: &str, ty: ResourceType) -> Option<Value<'_>> {
        decode(s.as_bytes(), ty)
    }


    /// §6.4.1 example: GET /3/0/0 as text is "Open Mobile Alliance".
    #[test]
    fn spec_example_manufacturer() {
        assert_eq!(enc(Value::Str("Open Mobile Alliance")), "Open Mobile Alliance");
        assert_eq!(dec("Open Mobile Alliance", ResourceType::Str), Some(Value::Str("Open Mobile Alliance")));
    }

    #[test]
    fn integers_round_trip() {
        for v in [0, 1, -1, 127, -128, 1367491215, i64::MAX, i64::MIN] {
            let t = enc(Value::Int(v));
            assert_eq!(dec(&t, ResourceType::Int), Some(Value::Int(v)), "{t}");
            let t = enc(Value::Time(v));
            assert_eq!(dec(&t, ResourceType::Time), Some(Value::Time(v)), "{t}");
        }
        assert_eq!(enc(Value::Int(-42)), "-42");
        assert_eq!(dec("007", ResourceType::Int), Some(Value::Int(7)));
        assert_eq!(dec("-0", ResourceType::Int), Some(Value::Int(0)));
    }

    #[test]
    fn integers_refused() {
        for bad in ["", "-", "+5", " 5", "5 ", "1.5", "1e3", "0x10", "--1", "9223372036854775808",
                    "-9223372036854775809", "99999999999999999999999"] {
            assert_eq!(dec(bad, ResourceType::Int), None, "{bad:?}");
        }
    }

    #[test]
    fn booleans() {
        assert_eq!(enc(Value::Bool(true)), "1");
        assert_eq!(enc(Value::Bool(false)), "0");
        assert_eq!(dec("1", ResourceType::Bool), Some(Value::Bool(true)));
        assert_eq!(dec("0", ResourceType::Bool), Some(Value::Bool(false)));
        for bad in ["", "2", "true", "00", "01", " 1"] {
            assert_eq!(dec(bad, ResourceType::Bool), None, "{bad:?}");
        }
    }

    #[test]
    fn strings_must_be_utf8() {
        assert_eq!(dec("", ResourceType::Str), Some(Value::Str("")));
        assert_eq!(dec("päivää", ResourceType::Str), Some(Value::Str("päivää")));
        assert_eq!(decode(&[0x66, 0xff, 0x6f], ResourceType::Str), None);
    }

    #[test]
    fn objlnk() {
        assert_eq!(enc(Value::ObjLnk(3, 0)), "3:0");
        assert_eq!(enc(Value::ObjLnk(65535, 65535)), "65535:65535");
        assert_eq!(dec("3:0", ResourceType::ObjLnk), Some(Value::ObjLnk(3, 0)));
        assert_eq!(dec("65535:65535", ResourceType::ObjLnk), Some(Value::ObjLnk(65535, 65535)));
        for bad in ["", ":", "3:", ":0", "3", "3:0:1", "65536:0", "000003:0", "-3:0", "3 :0", "a:b"] {
            assert_eq!(dec(bad, ResourceType::ObjLnk), None, "{bad:?}");
        }
    }

    #[test]
    fn floats() {
        assert_eq!(enc(Value::Float(-12.5)), "-12.5");
        assert_eq!(dec("-12.5", ResourceType::Float), Some(Value::Float(-12.5)));
        assert_eq!(dec("3", ResourceType::Float), Some(Value::Float(3.0)));
        assert_eq!(dec("nan", ResourceType::Float), None);
        assert_eq!(dec("", ResourceType::Float), None);
    }

    #[test]
    fn opaque_and_executable() {
        assert_eq!(decode(&[0, 1, 255], ResourceType::Opaque), Some(Value::Opaque(&[0, 1, 255])));
        let mut out = Vec::new();
        encode(&Value::Opaque(&[0, 255]), &mut out);
        assert_eq!(out, [0, 255]);
        assert_eq!(dec("", ResourceType::None), None);
    }

    fn rng(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Random short inputs from a digit-heavy alphabet never panic, and
    /// whatever decodes re-encodes to something that decodes to the same.
    #[test]
    fn random_inputs_never_panic() {
        const ALPHABET: &[u8] = b"0123456789-+.eE: x\xff";
        let types = [ResourceType::Int, ResourceType::Bool, ResourceType::Str, ResourceType::Opaque,
                     ResourceType::Time, ResourceType::ObjLnk, ResourceType::Float, ResourceType::None];
        let mut state = 0xdead_beef_cafe_f00du64;
        for _ in 0..5000 {
            let len = (rng(&mut state) % 30) as usize;
            let input: Vec<u8> = (0..len).map(|_| ALPHABET[(rng(&mut state) % ALPHABET.len() as u64) as usize]).collect();
            for ty in types {
                if let Some(v) = decode(&input, ty) {
                    let mut again = Vec::new();
                    encode(&v, &mut again);
                    assert_eq!(decode(&again, ty), Some(v));
                }
            }
        }
    }
}
