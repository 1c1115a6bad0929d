//! OMA-TLV (OMA-TS-LightweightM2M-V1_0_2 §6.4.3, Content-Format 11542).
//!
//! Each TLV is a header — type byte (bits 7-6 kind, bit 5 16-bit id, bits
//! 4-3 length size: 0 = length in bits 2-0, 1/2/3 = 8/16/24-bit length
//! field), then the 8- or 16-bit id, then the length field — and the value.
//! Object Instance and Multiple Resource TLVs carry nested TLVs as value;
//! [`iter`] reads one nesting level, the caller iterates a nested value again.
//!
//! Values (Appendix C): Integer and Time are big-endian two's complement of
//! 1, 2, 4 or 8 bytes; Boolean one byte 0 or 1; String UTF-8; Opaque any
//! bytes; Objlnk two big-endian u16 (Object, Instance); Float 4 or 8 bytes
//! IEEE 754 big-endian.
//!
//! Refused: a header cut short (`Truncated`), a length reaching past the
//! enclosing buffer (`BadLength`), values of the wrong size or content for
//! their type (`BadValue`). Bits 2-0 are ignored when the length has its own
//! field. Writers use the shortest id and length encodings.

use super::value::{ResourceType, Value};
use alloc::vec::Vec;

/// Kind of a TLV (type bits 7-6).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TlvType {
    ObjectInstance = 0,
    ResourceInstance = 1,
    MultipleResource = 2,
    ResourceValue = 3,
}

/// One TLV: `value` is the raw value bytes (nested TLVs for
/// `ObjectInstance` and `MultipleResource`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub kind: TlvType,
    pub id: u16,
    pub value: &'a [u8],
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TlvError {
    /// The header (id or length field) is cut short.
    Truncated,
    /// The length reaches past the end of the enclosing buffer.
    BadLength,
    /// A value does not fit its resource type.
    BadValue,
}

/// Iterates the TLVs at one nesting level; yields `Err` once then stops on
/// malformed input.
#[derive(Clone, Debug)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
    failed: bool,
}

/// TLVs of `buf`, one level deep.
pub fn iter(buf: &[u8]) -> TlvIter<'_> {
    TlvIter { rest: buf, failed: false }
}

/// Reads one TLV from the start of `buf`; returns it and the bytes after it.
fn read_one(buf: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let (&type_byte, mut rest) = buf.split_first().ok_or(TlvError::Truncated)?;
    let kind = match type_byte >> 6 {
        0 => TlvType::ObjectInstance,
        1 => TlvType::ResourceInstance,
        2 => TlvType::MultipleResource,
        _ => TlvType::ResourceValue,
    };
    let id_len = if type_byte & 0x20 != 0 { 2 } else { 1 };
    let len_len = ((type_byte >> 3) & 0x03) as usize;
    // split_at_checked, not indexing: no panic path on network input.
    let (id_bytes, after_id) = rest.split_at_checked(id_len).ok_or(TlvError::Truncated)?;
    let (len_bytes, after_len) = after_id.split_at_checked(len_len).ok_or(TlvError::Truncated)?;
    let id = id_bytes.iter().fold(0u16, |id, &b| (id << 8) | b as u16);
    let len = if len_len > 0 {
        len_bytes.iter().fold(0usize, |len, &b| (len << 8) | b as usize)
    } else {
        (type_byte & 0x07) as usize
    };
    rest = after_len;
    let (value, rest) = rest.split_at_checked(len).ok_or(TlvError::BadLength)?;
    Ok((Tlv { kind, id, value }, rest))
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        match read_one(self.rest) {
            Ok((tlv, rest)) => {
                self.rest = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Big-endian two's complement of 1, 2, 4 or 8 bytes.
fn decode_int(v: &[u8]) -> Result<i64, TlvError> {
    let (&first, rest) = v.split_first().ok_or(TlvError::BadValue)?;
    if !matches!(v.len(), 1 | 2 | 4 | 8) {
        return Err(TlvError::BadValue);
    }
    // sign-extend from the first byte
    Ok(rest.iter().fold((first as i8) as i64, |x, &b| (x << 8) | b as i64))
}

/// Reads a resource value of type `ty` from TLV value bytes.
pub fn decode_value(v: &[u8], ty: ResourceType) -> Result<Value<'_>, TlvError> {
    match ty {
        ResourceType::Int => decode_int(v).map(Value::Int),
        ResourceType::Time => decode_int(v).map(Value::Time),
        ResourceType::Bool => match v {
            [0] => Ok(Value::Bool(false)),
            [1] => Ok(Value::Bool(true)),
            _ => Err(TlvError::BadValue),
        },
        ResourceType::Str => core::str::from_utf8(v).map(Value::Str).map_err(|_| TlvError::BadValue),
        ResourceType::Opaque => Ok(Value::Opaque(v)),
        ResourceType::ObjLnk => match *v {
            [o0, o1, i0, i1] => Ok(Value::ObjLnk(u16::from_be_bytes([o0, o1]), u16::from_be_bytes([i0, i1]))),
            _ => Err(TlvError::BadValue),
        },
        ResourceType::Float => match *v {
            [a, b, c, d] => Ok(Value::Float(f32_bits_to_f64(u32::from_be_bytes([a, b, c, d])))),
            [a, b, c, d, e, f, g, h] => Ok(Value::Float(f64::from_be_bytes([a, b, c, d, e, f, g, h]))),
            _ => Err(TlvError::BadValue),
        },
        ResourceType::None => Err(TlvError::BadValue),
    }
}

/// Appends a TLV header: 8-bit id if it fits, else 16-bit; length in the
/// type byte if < 8, else in an 8/16/24-bit field. `len` must be < 2^24
/// (payloads are bounded far below that by `limits::MAX_DATAGRAM`).
pub fn write_header(out: &mut Vec<u8>, kind: TlvType, id: u16, len: usize) {
    debug_assert!(len < 1 << 24);
    let mut type_byte = (kind as u8) << 6;
    if id > 0xff {
        type_byte |= 0x20;
    }
    let len_len: usize = if len < 8 {
        type_byte |= len as u8;
        0
    } else if len <= 0xff {
        1
    } else if len <= 0xffff {
        2
    } else {
        3
    };
    type_byte |= (len_len as u8) << 3;
    out.push(type_byte);
    if id > 0xff {
        out.push((id >> 8) as u8);
    }
    out.push(id as u8);
    for i in (0..len_len).rev() {
        out.push((len >> (8 * i)) as u8);
    }
}

/// The f32 bits of `v` if `v` converts to f32 and back without change
/// (NaN excluded, its payload would not survive), judged and converted from
/// the bits alone: the nRF9160's FPU has no f64, so `v as f32` would bring
/// in the soft-float `__aeabi_d2f`.
fn f32_bits_if_exact(v: f64) -> Option<u32> {
    let bits = v.to_bits();
    let sign = ((bits >> 63) as u32) << 31;
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let mant = bits & ((1u64 << 52) - 1);
    if biased == 0x7ff || biased == 0 {
        // infinities yes, NaN no; ±0 yes, f64 subnormals are far below f32's range
        return (mant == 0).then_some(sign | if biased == 0 { 0 } else { 0x7f80_0000 });
    }
    let exp = biased - 1023;
    let significand = mant | (1u64 << 52);
    if !(-149..=127).contains(&exp) {
        return None;
    }
    // lowest bit an f32 keeps: 2^-23 relative for normals, 2^-149 absolute
    // for subnormals, i.e. bit (52 - 23) or bit (52 - (exp + 149)) of the
    // 53-bit significand
    let kept_from = if exp >= -126 { 29 } else { (52 - (exp + 149)) as u32 };
    if significand.trailing_zeros() < kept_from {
        return None;
    }
    Some(if exp >= -126 {
        sign | (((exp + 127) as u32) << 23) | (mant >> 29) as u32
    } else {
        sign | (significand >> kept_from) as u32
    })
}

/// `f32::from_bits(bits) as f64`, exactly, from the bits alone (no
/// soft-float `__aeabi_f2d`); a NaN keeps its payload, shifted as the
/// soft-float routine does.
fn f32_bits_to_f64(bits: u32) -> f64 {
    let sign = ((bits >> 31) as u64) << 63;
    let biased = (bits >> 23) & 0xff;
    let mant = (bits & 0x7f_ffff) as u64;
    let magnitude = match biased {
        0xff => (0x7ffu64 << 52) | (mant << 29),
        0 if mant == 0 => 0,
        0 => {
            // subnormal: value = mant · 2^-149, its top bit is bit `top`
            let top = 63 - mant.leading_zeros() as u64;
            ((top + 1023 - 149) << 52) | ((mant << (52 - top)) & ((1u64 << 52) - 1))
        }
        _ => ((biased as u64 + 1023 - 127) << 52) | (mant << 29),
    };
    f64::from_bits(sign | magnitude)
}

/// Appends a TLV of kind `kind` (normally `ResourceValue` or
/// `ResourceInstance`) holding `value`: Integer and Time in the fewest of
/// 1/2/4/8 bytes, Float in 4 bytes if exact as f32 else 8.
pub fn write_value(out: &mut Vec<u8>, kind: TlvType, id: u16, value: &Value) {
    // Fixed-size values are right-aligned in `be`, the last `len` bytes.
    let (be, len): ([u8; 8], usize) = match *value {
        Value::Int(v) | Value::Time(v) => {
            let len = if v as i8 as i64 == v {
                1
            } else if v as i16 as i64 == v {
                2
            } else if v as i32 as i64 == v {
                4
            } else {
                8
            };
            (v.to_be_bytes(), len)
        }
        Value::Bool(b) => ((b as u64).to_be_bytes(), 1),
        Value::Str(s) => return write_nested(out, kind, id, s.as_bytes()),
        Value::Opaque(b) => return write_nested(out, kind, id, b),
        Value::ObjLnk(o, i) => (((((o as u32) << 16) | i as u32) as u64).to_be_bytes(), 4),
        Value::Float(f) => match f32_bits_if_exact(f) {
            Some(single) => ((single as u64).to_be_bytes(), 4),
            None => (f.to_be_bytes(), 8),
        },
    };
    write_nested(out, kind, id, be.get(8 - len..).unwrap_or_default());
}

/// Appends a TLV whose value is the already encoded TLVs `inner`
/// (`ObjectInstance` or `MultipleResource` wrappers), or any raw value.
pub fn write_nested(out: &mut Vec<u8>, kind: TlvType, id: u16, inner: &[u8]) {
    write_header(out, kind, id, inner.len());
    out.extend_from_slice(inner);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// §6.4.3.1 example: Read /3/0, the Device Object Instance, 121 bytes.
    const DEVICE_3_0: [u8; 121] = [
        0xC8, 0x00, 0x14, b'O', b'p', b'e', b'n', b' ', b'M', b'o', b'b', b'i', b'l', b'e', b' ', b'A',
        b'l', b'l', b'i', b'a', b'n', b'c', b'e', // 0 Manufacturer
        0xC8, 0x01, 0x16, b'L', b'i', b'g', b'h', b't', b'w', b'e', b'i', b'g', b'h', b't', b' ', b'M',
        b'2', b'M', b' ', b'C', b'l', b'i', b'e', b'n', b't', // 1 Model Number
        0xC8, 0x02, 0x09, b'3', b'4', b'5', b'0', b'0', b'0', b'1', b'2', b'3', // 2 Serial Number
        0xC3, 0x03, b'1', b'.', b'0', // 3 Firmware Version
        0x86, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05, // 6 Available Power Sources [1, 5]
        0x88, 0x07, 0x08, 0x42, 0x00, 0x0E, 0xD8, 0x42, 0x01, 0x13, 0x88, // 7 Voltage [3800, 5000]
        0x87, 0x08, 0x41, 0x00, 0x7D, 0x42, 0x01, 0x03, 0x84, // 8 Current [125, 900]
        0xC1, 0x09, 0x64, // 9 Battery Level 100
        0xC1, 0x0A, 0x0F, // 10 Memory Free 15
        0x83, 0x0B, 0x41, 0x00, 0x00, // 11 Error Code [0]
        0xC4, 0x0D, 0x51, 0x82, 0x42, 0x8F, // 13 Current Time 1367491215
        0xC6, 0x0E, b'+', b'0', b'2', b':', b'0', b'0', // 14 UTC Offset
        0xC1, 0x10, b'U', // 16 Binding
    ];

    fn multiple(out: &mut Vec<u8>, id: u16, values: &[(u16, i64)]) {
        let mut inner = Vec::new();
        for &(ri, v) in values {
            write_value(&mut inner, TlvType::ResourceInstance, ri, &Value::Int(v));
        }
        write_nested(out, TlvType::MultipleResource, id, &inner);
    }

    #[test]
    fn encodes_spec_device_instance() {
        let mut out = Vec::new();
        let rv = TlvType::ResourceValue;
        write_value(&mut out, rv, 0, &Value::Str("Open Mobile Alliance"));
        write_value(&mut out, rv, 1, &Value::Str("Lightweight M2M Client"));
        write_value(&mut out, rv, 2, &Value::Str("345000123"));
        write_value(&mut out, rv, 3, &Value::Str("1.0"));
        multiple(&mut out, 6, &[(0, 1), (1, 5)]);
        multiple(&mut out, 7, &[(0, 3800), (1, 5000)]);
        multiple(&mut out, 8, &[(0, 125), (1, 900)]);
        write_value(&mut out, rv, 9, &Value::Int(100));
        write_value(&mut out, rv, 10, &Value::Int(15));
        multiple(&mut out, 11, &[(0, 0)]);
        write_value(&mut out, rv, 13, &Value::Time(1367491215));
        write_value(&mut out, rv, 14, &Value::Str("+02:00"));
        write_value(&mut out, rv, 16, &Value::Str("U"));
        assert_eq!(out, DEVICE_3_0);
    }

    /// Reading /3/0/6 alone gives the Multiple Resource TLV of the example.
    #[test]
    fn spec_available_power_sources() {
        let mut out = Vec::new();
        multiple(&mut out, 6, &[(0, 1), (1, 5)]);
        assert_eq!(out, [0x86, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05]);
        let top: Vec<_> = iter(&out).collect::<Result<_, _>>().unwrap();
        assert_eq!(top.len(), 1);
        assert_eq!((top[0].kind, top[0].id), (TlvType::MultipleResource, 6));
        let inner: Vec<_> = iter(top[0].value)
            .map(|t| t.map(|t| (t.kind, t.id, decode_value(t.value, ResourceType::Int).unwrap())))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            inner,
            [(TlvType::ResourceInstance, 0, Value::Int(1)), (TlvType::ResourceInstance, 1, Value::Int(5))]
        );
    }

    #[test]
    fn decodes_spec_device_instance() {
        let mut ids = Vec::new();
        for tlv in iter(&DEVICE_3_0) {
            let tlv = tlv.unwrap();
            ids.push(tlv.id);
            match (tlv.kind, tlv.id) {
                (TlvType::ResourceValue, 0) => {
                    assert_eq!(decode_value(tlv.value, ResourceType::Str), Ok(Value::Str("Open Mobile Alliance")))
                }
                (TlvType::ResourceValue, 13) => {
                    assert_eq!(decode_value(tlv.value, ResourceType::Time), Ok(Value::Time(1367491215)))
                }
                (TlvType::ResourceValue, 9) => assert_eq!(decode_value(tlv.value, ResourceType::Int), Ok(Value::Int(100))),
                (TlvType::MultipleResource, 7) => {
                    let v: Vec<_> = iter(tlv.value)
                        .map(|t| decode_value(t.unwrap().value, ResourceType::Int).unwrap())
                        .collect();
                    assert_eq!(v, [Value::Int(3800), Value::Int(5000)]);
                }
                (TlvType::ResourceValue, _) | (TlvType::MultipleResource, _) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(ids, [0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 13, 14, 16]);
    }

    /// §6.4.3.2 example: Read /2, two Access Control Object Instances; the
    /// ACL of instance 2 has a Resource Instance with a 16-bit id (310).
    #[test]
    fn spec_access_control_instances_with_16_bit_id() {
        let expected = [
            0x08, 0x00, 0x0E, 0xC1, 0x00, 0x01, 0xC1, 0x01, 0x00, 0x83, 0x02, 0x41, 0x7F, 0x07, 0xC1, 0x03,
            0x7F, 0x08, 0x02, 0x12, 0xC1, 0x00, 0x03, 0xC1, 0x01, 0x00, 0x87, 0x02, 0x41, 0x7F, 0x07, 0x61,
            0x01, 0x36, 0x01, 0xC1, 0x03, 0x7F,
        ];
        let mut out = Vec::new();
        for (inst, obj, acl) in [(0u16, 1i64, &[(127u16, 7i64)][..]), (2, 3, &[(127, 7), (310, 1)][..])] {
            let mut body = Vec::new();
            write_value(&mut body, TlvType::ResourceValue, 0, &Value::Int(obj));
            write_value(&mut body, TlvType::ResourceValue, 1, &Value::Int(0));
            multiple(&mut body, 2, acl);
            write_value(&mut body, TlvType::ResourceValue, 3, &Value::Int(127));
            write_nested(&mut out, TlvType::ObjectInstance, inst, &body);
        }
        assert_eq!(out, expected);

        let instances: Vec<_> = iter(&expected).map(Result::unwrap).collect();
        assert_eq!(instances.len(), 2);
        assert_eq!((instances[1].kind, instances[1].id, instances[1].value.len()), (TlvType::ObjectInstance, 2, 0x12));
        let acl = iter(instances[1].value).map(Result::unwrap).find(|t| t.id == 2).unwrap();
        let entries: Vec<_> = iter(acl.value).map(|t| t.unwrap().id).collect();
        assert_eq!(entries, [127, 310]);
    }

    fn header(kind: TlvType, id: u16, len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        write_header(&mut out, kind, id, len);
        out
    }

    #[test]
    fn header_length_and_id_boundaries() {
        let rv = TlvType::ResourceValue;
        assert_eq!(header(rv, 1, 0), [0xC0, 0x01]);
        assert_eq!(header(rv, 1, 7), [0xC7, 0x01]);
        assert_eq!(header(rv, 1, 8), [0xC8, 0x01, 0x08]);
        assert_eq!(header(rv, 1, 255), [0xC8, 0x01, 0xFF]);
        assert_eq!(header(rv, 1, 256), [0xD0, 0x01, 0x01, 0x00]);
        assert_eq!(header(rv, 1, 65535), [0xD0, 0x01, 0xFF, 0xFF]);
        assert_eq!(header(rv, 1, 65536), [0xD8, 0x01, 0x01, 0x00, 0x00]);
        assert_eq!(header(rv, 255, 1), [0xC1, 0xFF]);
        assert_eq!(header(rv, 256, 1), [0xE1, 0x01, 0x00]);
        assert_eq!(header(rv, 65534, 300), [0xF0, 0xFF, 0xFE, 0x01, 0x2C]);
        assert_eq!(header(TlvType::ObjectInstance, 0, 3), [0x03, 0x00]);
        assert_eq!(header(TlvType::ResourceInstance, 0, 3), [0x43, 0x00]);
        assert_eq!(header(TlvType::MultipleResource, 0, 3), [0x83, 0x00]);
    }

    #[test]
    fn long_values_round_trip_at_boundaries() {
        for len in [0usize, 7, 8, 255, 256, 65535, 65536, 70000] {
            for id in [0u16, 255, 256, 65534] {
                let data = vec![0xA5u8; len];
                let mut out = Vec::new();
                write_value(&mut out, TlvType::ResourceValue, id, &Value::Opaque(&data));
                out.push(0xC0); // a second, empty TLV after it
                out.push(0x09);
                let tlvs: Vec<_> = iter(&out).map(Result::unwrap).collect();
                assert_eq!(tlvs.len(), 2, "len {len} id {id}");
                assert_eq!((tlvs[0].id, tlvs[0].value), (id, &data[..]));
                assert_eq!((tlvs[1].id, tlvs[1].value.len()), (9, 0));
            }
        }
    }

    fn int_bytes(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        write_value(&mut out, TlvType::ResourceValue, 0, &Value::Int(v));
        let tlv = iter(&out).next().unwrap().unwrap();
        assert_eq!(decode_value(tlv.value, ResourceType::Int), Ok(Value::Int(v)));
        tlv.value.to_vec()
    }

    #[test]
    fn integers_use_fewest_bytes_at_each_width_boundary() {
        assert_eq!(int_bytes(0), [0x00]);
        assert_eq!(int_bytes(127), [0x7F]);
        assert_eq!(int_bytes(-128), [0x80]);
        assert_eq!(int_bytes(128), [0x00, 0x80]);
        assert_eq!(int_bytes(-129), [0xFF, 0x7F]);
        assert_eq!(int_bytes(32767), [0x7F, 0xFF]);
        assert_eq!(int_bytes(-32768), [0x80, 0x00]);
        assert_eq!(int_bytes(32768), [0x00, 0x00, 0x80, 0x00]);
        assert_eq!(int_bytes(-32769), [0xFF, 0xFF, 0x7F, 0xFF]);
        assert_eq!(int_bytes((1 << 31) - 1), [0x7F, 0xFF, 0xFF, 0xFF]);
        assert_eq!(int_bytes(-(1 << 31)), [0x80, 0x00, 0x00, 0x00]);
        assert_eq!(int_bytes(1 << 31), [0, 0, 0, 0, 0x80, 0, 0, 0]);
        assert_eq!(int_bytes(-(1 << 31) - 1), [0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF]);
        assert_eq!(int_bytes(i64::MAX), [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(int_bytes(i64::MIN), [0x80, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn decodes_non_minimal_integers_and_refuses_odd_widths() {
        assert_eq!(decode_value(&[0xFF, 0xFF], ResourceType::Int), Ok(Value::Int(-1)));
        assert_eq!(decode_value(&[0, 0, 0, 5], ResourceType::Int), Ok(Value::Int(5)));
        for bad in [&[][..], &[0, 0, 0][..], &[0; 5][..], &[0; 9][..]] {
            assert_eq!(decode_value(bad, ResourceType::Int), Err(TlvError::BadValue));
            assert_eq!(decode_value(bad, ResourceType::Time), Err(TlvError::BadValue));
        }
    }

    #[test]
    fn other_types_round_trip() {
        let values = [
            Value::Bool(true),
            Value::Bool(false),
            Value::Str("UQS"),
            Value::Str(""),
            Value::Opaque(&[0, 1, 2, 255]),
            Value::ObjLnk(3, 0),
            Value::ObjLnk(65535, 65535),
            Value::Float(1.5),
            Value::Float(0.1),
            Value::Float(-3.4028234663852886e38),
            Value::Float(1e300),
            Value::Float(f64::INFINITY),
        ];
        for v in values {
            let mut out = Vec::new();
            write_value(&mut out, TlvType::ResourceValue, 5, &v);
            let tlv = iter(&out).next().unwrap().unwrap();
            assert_eq!(decode_value(tlv.value, v.resource_type()), Ok(v), "{out:02x?}");
        }
    }

    #[test]
    fn objlnk_and_float_bytes() {
        let mut out = Vec::new();
        write_value(&mut out, TlvType::ResourceValue, 1, &Value::ObjLnk(3, 0x0102));
        assert_eq!(out, [0xC4, 0x01, 0x00, 0x03, 0x01, 0x02]);
        out.clear();
        write_value(&mut out, TlvType::ResourceValue, 1, &Value::Float(1.5));
        assert_eq!(out, [0xC4, 0x01, 0x3F, 0xC0, 0x00, 0x00]);
        out.clear();
        write_value(&mut out, TlvType::ResourceValue, 1, &Value::Float(0.1));
        assert_eq!(out, [0xC8, 0x01, 0x08, 0x3F, 0xB9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A]);
        assert_eq!(decode_value(&[0x3F, 0xC0, 0, 0], ResourceType::Float), Ok(Value::Float(1.5)));
    }

    #[test]
    fn f32_bits_if_exact_matches_a_float_round_trip() {
        let mut state = 0x0123_4567_89ab_cdefu64;
        let mut samples = vec![0.0, -0.0, 1.0, 0.1, f64::MIN_POSITIVE, 5e-324, f32::MAX as f64,
                               f32::MIN_POSITIVE as f64, 1.401298464324817e-45, 7.006492321624085e-46,
                               2.1019476964872256e-45, f64::INFINITY, f64::NEG_INFINITY, 3.4028235677973366e38];
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // f32 values widened (exact), and arbitrary f64s
            samples.push(f32::from_bits(state as u32) as f64);
            samples.push(f64::from_bits(state));
        }
        for v in samples {
            let expect = !v.is_nan() && (v as f32) as f64 == v && (v as f32).is_sign_negative() == v.is_sign_negative();
            assert_eq!(f32_bits_if_exact(v).is_some(), expect, "{v:e} {:016x}", v.to_bits());
            if expect {
                assert_eq!(f32_bits_if_exact(v), Some((v as f32).to_bits()), "{v:e}");
            }
        }
    }

    #[test]
    fn f32_widening_from_bits_matches_the_float_conversion() {
        let mut state = 0x9e37_79b9u32;
        let mut samples = vec![0, 0x8000_0000, 1, 0x8000_0001, 0x007f_ffff, 0x0080_0000, 0x7f7f_ffff,
                               0x7f80_0000, 0xff80_0000, 0x3fc0_0000, 0x0000_0100];
        for _ in 0..50_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            samples.push(state);
        }
        for bits in samples {
            let expect = f32::from_bits(bits) as f64;
            let got = f32_bits_to_f64(bits);
            if expect.is_nan() {
                assert!(got.is_nan(), "{bits:08x}");
            } else {
                assert_eq!(got.to_bits(), expect.to_bits(), "{bits:08x}");
            }
        }
    }

    #[test]
    fn bool_str_objlnk_float_refuse_bad_values() {
        assert_eq!(decode_value(&[2], ResourceType::Bool), Err(TlvError::BadValue));
        assert_eq!(decode_value(&[0, 0], ResourceType::Bool), Err(TlvError::BadValue));
        assert_eq!(decode_value(&[], ResourceType::Bool), Err(TlvError::BadValue));
        assert_eq!(decode_value(&[0xC3, 0x28], ResourceType::Str), Err(TlvError::BadValue));
        assert_eq!(decode_value(&[0, 3, 0], ResourceType::ObjLnk), Err(TlvError::BadValue));
        assert_eq!(decode_value(&[0; 2], ResourceType::Float), Err(TlvError::BadValue));
        assert_eq!(decode_value(&[], ResourceType::None), Err(TlvError::BadValue));
    }

    #[test]
    fn malformed_input_yields_one_error_then_stops() {
        // truncated headers
        for bad in [&[0xE1, 0x01][..], &[0xC8, 0x01][..], &[0xD0, 0x01, 0x00][..], &[0xF8, 0x00, 0x01, 0x00, 0x00][..]] {
            let mut it = iter(bad);
            assert_eq!(it.next(), Some(Err(TlvError::Truncated)), "{bad:02x?}");
            assert_eq!(it.next(), None);
        }
        // length past the end, after one good TLV
        let mut it = iter(&[0xC1, 0x00, 0x05, 0xC3, 0x01, 0x61, 0x62]);
        assert!(matches!(it.next(), Some(Ok(_))));
        assert_eq!(it.next(), Some(Err(TlvError::BadLength)));
        assert_eq!(it.next(), None);
        assert_eq!(iter(&[0xD8, 0x00, 0xFF, 0xFF, 0xFF]).next(), Some(Err(TlvError::BadLength)));
        // a nested TLV longer than its (well-formed) parent
        let outer = [0x83, 0x06, 0x41, 0x00, 0x05, 0x41, 0x01, 0x05];
        let mut top = iter(&outer);
        let parent = top.next().unwrap().unwrap();
        assert_eq!(parent.value, [0x41, 0x00, 0x05]);
        let mut inner = iter(parent.value);
        assert!(matches!(inner.next(), Some(Ok(Tlv { id: 0, .. }))));
        assert_eq!(inner.next(), None);
        let nested_overflow = [0x83, 0x06, 0x42, 0x00, 0x05];
        let parent = iter(&nested_overflow).next().unwrap().unwrap();
        assert_eq!(iter(parent.value).next(), Some(Err(TlvError::BadLength)));
        assert_eq!(iter(&[]).next(), None);
    }

    fn rng(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Pseudo-random buffers (raw and mutated valid payloads) never panic;
    /// every TLV the iterator yields lies inside its buffer.
    #[test]
    fn random_input_never_panics() {
        let types = [ResourceType::Int, ResourceType::Bool, ResourceType::Str, ResourceType::Opaque,
                     ResourceType::Time, ResourceType::ObjLnk, ResourceType::Float, ResourceType::None];
        let mut state = 0x5eed_1234_abcd_0001u64;
        for round in 0..5000 {
            let mut buf: Vec<u8> = if round % 2 == 0 {
                let len = (rng(&mut state) % 64) as usize;
                (0..len).map(|_| rng(&mut state) as u8).collect()
            } else {
                let mut b = DEVICE_3_0.to_vec();
                for _ in 0..1 + rng(&mut state) % 4 {
                    let at = (rng(&mut state) % b.len() as u64) as usize;
                    b[at] = rng(&mut state) as u8;
                }
                b.truncate((rng(&mut state) % 122) as usize);
                b
            };
            buf.shrink_to_fit();
            let mut stack = vec![&buf[..]];
            let mut visited = 0;
            while let Some(level) = stack.pop() {
                let mut errors = 0;
                for item in iter(level) {
                    match item {
                        Ok(tlv) => {
                            visited += 1;
                            for ty in types {
                                let _ = decode_value(tlv.value, ty);
                            }
                            if matches!(tlv.kind, TlvType::ObjectInstance | TlvType::MultipleResource) {
                                stack.push(tlv.value);
                            }
                        }
                        Err(_) => errors += 1,
                    }
                }
                assert!(errors <= 1);
            }
            assert!(visited <= buf.len());
        }
    }
}
