//! Content formats of LwM2M 1.0 payloads (OMA-TS-LightweightM2M-V1_0_2
//! §6.4; numbers from the CoAP Content-Formats registry, RFC 7252 §12.3).
//!
//! The pre-registration numbers some 1.0 servers still send (1541 text,
//! 1542 TLV, 1543 JSON, 1544 opaque) are accepted on input; output always
//! uses the registered numbers. Any other number is refused (`None`, the
//! caller answers 4.15 Unsupported Content-Format).

/// A content format this client reads or writes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ContentFormat {
    /// text/plain;charset=utf-8 (§6.4.1)
    Text,
    /// application/octet-stream (§6.4.2)
    Opaque,
    /// application/link-format, RFC 6690 (§5.3.1, §5.4.2)
    Link,
    /// application/vnd.oma.lwm2m+tlv (§6.4.3)
    Tlv,
    /// application/vnd.oma.lwm2m+json (§6.4.4)
    Json,
}

impl ContentFormat {
    /// From a Content-Format / Accept option value.
    pub fn from_cf(cf: u16) -> Option<ContentFormat> {
        match cf {
            0 | 1541 => Some(ContentFormat::Text),
            42 | 1544 => Some(ContentFormat::Opaque),
            40 => Some(ContentFormat::Link),
            11542 | 1542 => Some(ContentFormat::Tlv),
            11543 | 1543 => Some(ContentFormat::Json),
            _ => None,
        }
    }

    /// The registered Content-Format number.
    pub fn cf(self) -> u16 {
        match self {
            ContentFormat::Text => 0,
            ContentFormat::Opaque => 42,
            ContentFormat::Link => 40,
            ContentFormat::Tlv => 11542,
            ContentFormat::Json => 11543,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_numbers_round_trip() {
        for f in [ContentFormat::Text, ContentFormat::Opaque, ContentFormat::Link, ContentFormat::Tlv, ContentFormat::Json] {
            assert_eq!(ContentFormat::from_cf(f.cf()), Some(f));
        }
        assert_eq!(ContentFormat::Tlv.cf(), 11542);
        assert_eq!(ContentFormat::Json.cf(), 11543);
    }

    #[test]
    fn legacy_numbers_accepted_unknown_refused() {
        assert_eq!(ContentFormat::from_cf(1541), Some(ContentFormat::Text));
        assert_eq!(ContentFormat::from_cf(1542), Some(ContentFormat::Tlv));
        assert_eq!(ContentFormat::from_cf(1543), Some(ContentFormat::Json));
        assert_eq!(ContentFormat::from_cf(1544), Some(ContentFormat::Opaque));
        for cf in [41, 50, 60, 110, 112, 11544, 65535] {
            assert_eq!(ContentFormat::from_cf(cf), None, "{cf}");
        }
    }
}
