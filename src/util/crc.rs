//! CRC-32 (IEEE 802.3, reflected; the "ISO-HDLC" variant): the check of a
//! stored record (`storage`) and the ETag of a block-wise body
//! (`coap::blockwise`).

/// CRC-32 (IEEE 802.3, reflected), bitwise: small code, records and bodies are short.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
