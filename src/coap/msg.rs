//! CoAP message format (RFC 7252 §3): parse a datagram, build one.
//!
//! Parsing borrows the datagram and keeps at most `limits::MAX_OPTIONS`
//! options. Refused (as a [`ParseError`], never a panic): fewer than 4 bytes,
//! version other than 1, TKL 9..=15 (§3), a token or option running past the
//! end, option delta or length nibble 15 other than the payload marker
//! (§3.1), an option number above 65535, a payload marker with no payload
//! after it (§3), an Empty message (0.00) with any byte after the Message ID
//! (§4.1), and more than `MAX_OPTIONS` options.
//!
//! Building writes options in ascending number order (§3.1 deltas cannot be
//! negative) and refuses anything that would exceed `limits::MAX_DATAGRAM`.

use alloc::vec::Vec;

use super::block::Block;
use crate::limits::{MAX_DATAGRAM, MAX_OPTIONS};

/// Protocol version (RFC 7252 §3: "Implementations ... MUST set this field to 1").
const VERSION: u8 = 1;
/// Longest token (RFC 7252 §3: TKL 9–15 are reserved).
pub const MAX_TOKEN_LEN: usize = 8;
/// The byte that separates options from the payload (RFC 7252 §3).
const PAYLOAD_MARKER: u8 = 0xFF;

/// Message type (RFC 7252 §3, T field).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MsgType {
    Con = 0,
    Non = 1,
    Ack = 2,
    Rst = 3,
}

impl MsgType {
    fn from_bits(bits: u8) -> MsgType {
        match bits & 0x3 {
            0 => MsgType::Con,
            1 => MsgType::Non,
            2 => MsgType::Ack,
            _ => MsgType::Rst,
        }
    }
}

/// Message code `(class << 5) | detail` (RFC 7252 §3, §12.1).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Code(pub u8);

impl Code {
    pub const EMPTY: Code = Code::new(0, 0);
    pub const GET: Code = Code::new(0, 1);
    pub const POST: Code = Code::new(0, 2);
    pub const PUT: Code = Code::new(0, 3);
    pub const DELETE: Code = Code::new(0, 4);
    pub const CREATED: Code = Code::new(2, 1);
    pub const DELETED: Code = Code::new(2, 2);
    pub const VALID: Code = Code::new(2, 3);
    pub const CHANGED: Code = Code::new(2, 4);
    pub const CONTENT: Code = Code::new(2, 5);
    /// 2.31 Continue (RFC 7959 §2.9.1).
    pub const CONTINUE: Code = Code::new(2, 31);
    pub const BAD_REQUEST: Code = Code::new(4, 0);
    pub const UNAUTHORIZED: Code = Code::new(4, 1);
    pub const BAD_OPTION: Code = Code::new(4, 2);
    pub const FORBIDDEN: Code = Code::new(4, 3);
    pub const NOT_FOUND: Code = Code::new(4, 4);
    pub const METHOD_NOT_ALLOWED: Code = Code::new(4, 5);
    pub const NOT_ACCEPTABLE: Code = Code::new(4, 6);
    /// 4.08 Request Entity Incomplete (RFC 7959 §2.9.2).
    pub const REQUEST_ENTITY_INCOMPLETE: Code = Code::new(4, 8);
    pub const REQUEST_ENTITY_TOO_LARGE: Code = Code::new(4, 13);
    pub const UNSUPPORTED_CONTENT_FORMAT: Code = Code::new(4, 15);
    pub const INTERNAL_SERVER_ERROR: Code = Code::new(5, 0);
    pub const NOT_IMPLEMENTED: Code = Code::new(5, 1);
    pub const SERVICE_UNAVAILABLE: Code = Code::new(5, 3);

    /// `class.detail`; class is cut to 3 bits, detail to 5.
    pub const fn new(class: u8, detail: u8) -> Code {
        Code(((class & 0x7) << 5) | (detail & 0x1F))
    }
    pub fn class(self) -> u8 {
        self.0 >> 5
    }
    pub fn detail(self) -> u8 {
        self.0 & 0x1F
    }
    /// A method code: class 0, detail 1..=31 (RFC 7252 §5.8).
    pub fn is_request(self) -> bool {
        self.class() == 0 && self.detail() != 0
    }
    /// A response code: class 2, 4 or 5 (RFC 7252 §5.9; 1, 3, 6, 7 are reserved).
    pub fn is_response(self) -> bool {
        matches!(self.class(), 2 | 4 | 5)
    }
    /// 0.00, the Empty message (RFC 7252 §4.1).
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Class 2, Success (RFC 7252 §5.9.1).
    pub fn is_success(self) -> bool {
        self.class() == 2
    }
}

/// Option numbers (RFC 7252 §5.10, §12.2; RFC 7641 Observe; RFC 7959 Block/Size).
pub mod option {
    pub const IF_MATCH: u16 = 1;
    pub const URI_HOST: u16 = 3;
    pub const ETAG: u16 = 4;
    pub const IF_NONE_MATCH: u16 = 5;
    pub const OBSERVE: u16 = 6;
    pub const URI_PORT: u16 = 7;
    pub const LOCATION_PATH: u16 = 8;
    pub const URI_PATH: u16 = 11;
    pub const CONTENT_FORMAT: u16 = 12;
    pub const MAX_AGE: u16 = 14;
    pub const URI_QUERY: u16 = 15;
    pub const ACCEPT: u16 = 17;
    pub const LOCATION_QUERY: u16 = 20;
    pub const BLOCK2: u16 = 23;
    pub const BLOCK1: u16 = 27;
    pub const SIZE2: u16 = 28;
    pub const PROXY_URI: u16 = 35;
    pub const PROXY_SCHEME: u16 = 39;
    pub const SIZE1: u16 = 60;

    /// Critical options have odd numbers (RFC 7252 §5.4.1, §5.4.6).
    pub fn is_critical(num: u16) -> bool {
        num & 1 == 1
    }
}

/// Why a datagram is not a CoAP message (RFC 7252 §3, §4.1).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Shorter than the 4-byte header, or the token runs past the end.
    TooShort,
    /// Version is not 1 (RFC 7252 §3: such messages are silently ignored).
    BadVersion,
    /// TKL 9..=15 (RFC 7252 §3: "MUST be processed as a message format error").
    BadTokenLength,
    /// Reserved nibble 15, option running past the end, or number over 65535 (§3.1).
    BadOption,
    /// More than `limits::MAX_OPTIONS` options.
    TooManyOptions,
    /// Payload marker followed by zero bytes (RFC 7252 §3).
    EmptyPayload,
    /// Code 0.00 with token, options or payload (RFC 7252 §4.1).
    EmptyWithData,
}

/// A parsed message borrowing the datagram. Options kept in wire order (ascending numbers).
///
/// The options stay encoded: `parse` checks them all once, the accessors
/// decode them again on the fly (a few bytes each; no 200-byte table to
/// fill and move, one decoder for both).
#[derive(Clone, Debug)]
pub struct Message<'a> {
    pub mtype: MsgType,
    pub code: Code,
    pub mid: u16,
    pub token: &'a [u8],
    pub payload: &'a [u8],
    /// The option bytes, between the token and the payload marker; valid.
    options: &'a [u8],
}

/// One decoded option: its number and value.
type RawOption<'a> = (u16, &'a [u8]);

/// Decodes the option at the start of `buf` (RFC 7252 §3.1) whose delta is
/// relative to `*number`: returns it and the bytes after it, and moves
/// `*number` on.
fn decode_option<'a>(buf: &'a [u8], number: &mut u32) -> Result<(RawOption<'a>, &'a [u8]), ParseError> {
    let (&first, rest) = buf.split_first().ok_or(ParseError::BadOption)?;
    let mut pos = 0;
    let delta = extended(first >> 4, rest, &mut pos)?;
    let len = extended(first & 0x0F, rest, &mut pos)? as usize;
    *number += delta;
    if *number > u16::MAX as u32 {
        return Err(ParseError::BadOption);
    }
    let (value, after) = rest.get(pos..).and_then(|r| r.split_at_checked(len)).ok_or(ParseError::BadOption)?;
    Ok(((*number as u16, value), after))
}

/// The options of a parsed message, in wire order.
#[derive(Clone, Debug)]
struct Options<'a> {
    rest: &'a [u8],
    number: u32,
}

impl<'a> Iterator for Options<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        // `parse` checked every option, so no error can come up here.
        let (option, rest) = decode_option(self.rest, &mut self.number).ok()?;
        self.rest = rest;
        Some(option)
    }
}

/// Reads the extended part of an option delta or length (RFC 7252 §3.1):
/// nibble 13 → one more byte + 13, 14 → two more bytes + 269, 15 → error.
fn extended(nibble: u8, buf: &[u8], pos: &mut usize) -> Result<u32, ParseError> {
    match nibble {
        0..=12 => Ok(nibble as u32),
        13 => {
            let b = *buf.get(*pos).ok_or(ParseError::BadOption)?;
            *pos += 1;
            Ok(b as u32 + 13)
        }
        14 => {
            let hi = *buf.get(*pos).ok_or(ParseError::BadOption)?;
            let lo = *buf.get(*pos + 1).ok_or(ParseError::BadOption)?;
            *pos += 2;
            Ok(u16::from_be_bytes([hi, lo]) as u32 + 269)
        }
        _ => Err(ParseError::BadOption),
    }
}

/// An unsigned integer option value (RFC 7252 §3.2): big-endian, 0–4 bytes
/// (leading zeros accepted). `None` if longer than 4 bytes.
pub fn decode_uint(v: &[u8]) -> Option<u32> {
    if v.len() > 4 {
        return None;
    }
    Some(v.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32))
}

impl<'a> Message<'a> {
    /// Parses one datagram (RFC 7252 §3). See the module comment for what is refused.
    pub fn parse(buf: &'a [u8]) -> Result<Message<'a>, ParseError> {
        let [b0, b1, m0, m1, ..] = *buf else {
            return Err(ParseError::TooShort);
        };
        if b0 >> 6 != VERSION {
            return Err(ParseError::BadVersion);
        }
        let mtype = MsgType::from_bits(b0 >> 4);
        let tkl = (b0 & 0x0F) as usize;
        if tkl > MAX_TOKEN_LEN {
            return Err(ParseError::BadTokenLength);
        }
        let code = Code(b1);
        let mid = u16::from_be_bytes([m0, m1]);
        // §4.1: an Empty message is exactly the 4-byte header.
        if code.is_empty() && buf.len() > 4 {
            return Err(ParseError::EmptyWithData);
        }
        let token = buf.get(4..4 + tkl).ok_or(ParseError::TooShort)?;
        let all_options = buf.get(4 + tkl..).unwrap_or_default();

        let mut rest = all_options;
        let mut number: u32 = 0;
        let mut count = 0;
        let mut payload: &'a [u8] = &[];
        while let Some((&first, after_marker)) = rest.split_first() {
            if first == PAYLOAD_MARKER {
                if after_marker.is_empty() {
                    return Err(ParseError::EmptyPayload);
                }
                payload = after_marker;
                break;
            }
            rest = decode_option(rest, &mut number)?.1;
            count += 1;
            if count > MAX_OPTIONS {
                return Err(ParseError::TooManyOptions);
            }
        }
        let options = all_options.get(..all_options.len() - rest.len()).unwrap_or_default();
        Ok(Message {
            mtype,
            code,
            mid,
            token,
            payload,
            options,
        })
    }

    /// All options in wire order (ascending numbers, repeats kept in order).
    pub fn options(&self) -> impl Iterator<Item = (u16, &'a [u8])> + '_ {
        Options { rest: self.options, number: 0 }
    }

    /// The value of the first occurrence of option `num`.
    pub fn option(&self, num: u16) -> Option<&'a [u8]> {
        self.options_of(num).next()
    }

    /// The values of every occurrence of option `num`, in order (e.g. Uri-Path segments).
    pub fn options_of(&self, num: u16) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.options().filter(move |(n, _)| *n == num).map(|(_, v)| v)
    }

    /// RFC 7252 §3.2 uint (0-4 bytes); None if absent or > 4 bytes.
    pub fn uint_option(&self, num: u16) -> Option<u32> {
        decode_uint(self.option(num)?)
    }

    fn u16_option(&self, num: u16) -> Option<u16> {
        self.uint_option(num).and_then(|v| u16::try_from(v).ok())
    }

    /// Content-Format (RFC 7252 §5.10.3), 0..=65535.
    pub fn content_format(&self) -> Option<u16> {
        self.u16_option(option::CONTENT_FORMAT)
    }

    /// Accept (RFC 7252 §5.10.4), 0..=65535.
    pub fn accept(&self) -> Option<u16> {
        self.u16_option(option::ACCEPT)
    }

    /// Observe (RFC 7641 §2): 0 register, 1 deregister; in notifications a
    /// sequence number (0-3 bytes, but any uint up to 4 bytes is returned).
    pub fn observe(&self) -> Option<u32> {
        self.uint_option(option::OBSERVE)
    }

    /// Block1 (RFC 7959 §2.2); None if absent or invalid.
    pub fn block1(&self) -> Option<Block> {
        Block::parse(self.option(option::BLOCK1)?)
    }

    /// Block2 (RFC 7959 §2.2); None if absent or invalid.
    pub fn block2(&self) -> Option<Block> {
        Block::parse(self.option(option::BLOCK2)?)
    }

    /// First unrecognised *critical* option (RFC 7252 §5.4.1), given the list of options we understand.
    pub fn unknown_critical(&self, known: &[u16]) -> Option<u16> {
        self.options()
            .map(|(n, _)| n)
            .find(|n| option::is_critical(*n) && !known.contains(n))
    }
}

/// Why a message could not be built.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The message would exceed `limits::MAX_DATAGRAM`.
    TooLong,
    /// Option number below the previous one, or an option after the payload.
    OptionOrder,
    /// Token longer than 8 bytes (RFC 7252 §3).
    BadToken,
}

/// Builds one message into a Vec (capped at limits::MAX_DATAGRAM).
///
/// On error the message is left as it was before the failing call.
#[derive(Clone, Debug)]
pub struct MessageWriter {
    buf: Vec<u8>,
    last_option: u16,
    /// `payload()` has been called: no more options.
    in_payload: bool,
    /// The 0xFF marker has been written.
    marker_written: bool,
}

/// The 4-bit field for an option delta or length (RFC 7252 §3.1): the value
/// itself below 13, 13 for one extended byte, 14 for two.
fn nibble(v: usize) -> u8 {
    match v {
        0..=12 => v as u8,
        13..=268 => 13,
        _ => 14,
    }
}

/// How many extended bytes follow for a delta or length `v` (RFC 7252 §3.1).
fn extended_len(v: usize) -> usize {
    match nibble(v) {
        13 => 1,
        14 => 2,
        _ => 0,
    }
}

/// Appends the extended bytes of a delta or length `v` (value - 13 or value - 269).
fn push_extended(buf: &mut Vec<u8>, v: usize) {
    match nibble(v) {
        13 => buf.push((v - 13) as u8),
        14 => buf.extend_from_slice(&((v - 269) as u16).to_be_bytes()),
        _ => {}
    }
}

impl MessageWriter {
    /// Starts a message with its header and token (token ≤ 8 bytes).
    pub fn new(
        mtype: MsgType,
        code: Code,
        mid: u16,
        token: &[u8],
    ) -> Result<MessageWriter, EncodeError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(EncodeError::BadToken);
        }
        let mut buf = Vec::with_capacity(4 + token.len());
        buf.push((VERSION << 6) | ((mtype as u8) << 4) | token.len() as u8);
        buf.push(code.0);
        buf.extend_from_slice(&mid.to_be_bytes());
        buf.extend_from_slice(token);
        Ok(MessageWriter {
            buf,
            last_option: 0,
            in_payload: false,
            marker_written: false,
        })
    }

    /// Appends option `num` (must be ≥ the previous one; repeats allowed).
    pub fn option(&mut self, num: u16, value: &[u8]) -> Result<&mut Self, EncodeError> {
        if self.in_payload || num < self.last_option {
            return Err(EncodeError::OptionOrder);
        }
        // A length over 65535 + 269 cannot be encoded; MAX_DATAGRAM refuses it first.
        if value.len() > MAX_DATAGRAM {
            return Err(EncodeError::TooLong);
        }
        let delta = (num - self.last_option) as usize;
        let len = value.len();
        if self.buf.len() + 1 + extended_len(delta) + extended_len(len) + len > MAX_DATAGRAM {
            return Err(EncodeError::TooLong);
        }
        self.buf.push((nibble(delta) << 4) | nibble(len));
        push_extended(&mut self.buf, delta);
        push_extended(&mut self.buf, len);
        self.buf.extend_from_slice(value);
        self.last_option = num;
        Ok(self)
    }

    /// Appends a uint option with the fewest bytes (RFC 7252 §3.2; 0 → empty value).
    pub fn uint_option(&mut self, num: u16, value: u32) -> Result<&mut Self, EncodeError> {
        let be = value.to_be_bytes();
        let skip = (value.leading_zeros() / 8) as usize;
        self.option(num, be.get(skip..).unwrap_or_default())
    }

    /// "/rd/5a3f" → one option per non-empty segment (Uri-Path, Location-Path).
    pub fn path_option(&mut self, num: u16, path: &str) -> Result<&mut Self, EncodeError> {
        let before = (self.buf.len(), self.last_option);
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            if let Err(e) = self.option(num, segment.as_bytes()) {
                // Leave no half-written path behind.
                self.buf.truncate(before.0);
                self.last_option = before.1;
                return Err(e);
            }
        }
        Ok(self)
    }

    /// Appends a Block1/Block2 option value (RFC 7959 §2.2).
    pub fn block_option(&mut self, num: u16, block: Block) -> Result<&mut Self, EncodeError> {
        let mut v = [0u8; 3];
        let n = block.encode(&mut v);
        self.option(num, v.get(..n).unwrap_or_default())
    }

    /// Appends payload bytes; the 0xFF marker is written only before the first
    /// non-empty data (RFC 7252 §3). After this no options can be added.
    pub fn payload(&mut self, data: &[u8]) -> Result<&mut Self, EncodeError> {
        let marker = usize::from(!data.is_empty() && !self.marker_written);
        if self.buf.len() + marker + data.len() > MAX_DATAGRAM {
            return Err(EncodeError::TooLong);
        }
        if marker == 1 {
            self.buf.push(PAYLOAD_MARKER);
            self.marker_written = true;
        }
        self.buf.extend_from_slice(data);
        self.in_payload = true;
        Ok(self)
    }

    /// The encoded message.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Convenience: an empty ACK or RST for `mid` (RFC 7252 §4.2/§4.3).
pub fn empty(mtype: MsgType, mid: u16) -> Vec<u8> {
    let m = mid.to_be_bytes();
    alloc::vec![(VERSION << 6) | ((mtype as u8) << 4), 0, m[0], m[1]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// CON GET, MID 0x1234, token 71 22, Uri-Path "rd", Uri-Query "ep=test".
    /// Byte by byte from RFC 7252 §3 / §3.1:
    ///   0x42 = Ver 01, T 00 (CON), TKL 2;  0x01 = 0.01 GET;  0x12 0x34 = MID
    ///   0x71 0x22 = token
    ///   0xB2 = delta 11 (Uri-Path), length 2, "rd"
    ///   0x47 = delta 4 (11 → 15, Uri-Query), length 7, "ep=test"
    const CON_GET: &[u8] = b"\x42\x01\x12\x34\x71\x22\xB2rd\x47ep=test";

    /// ACK 2.05, MID 0x1234, token 71 22, Content-Format 0 (text/plain, empty
    /// uint value), payload "22.3 C":
    ///   0x62 = Ver 01, T 10 (ACK), TKL 2;  0x45 = 2.05 (2 << 5 | 5)
    ///   0xC0 = delta 12 (Content-Format), length 0;  0xFF = payload marker
    const ACK_CONTENT: &[u8] = b"\x62\x45\x12\x34\x71\x22\xC0\xFF22.3 C";

    #[test]
    fn parse_con_get() {
        let m = Message::parse(CON_GET).unwrap();
        assert_eq!((m.mtype, m.code, m.mid), (MsgType::Con, Code::GET, 0x1234));
        assert_eq!(m.token, [0x71, 0x22]);
        let opts: Vec<_> = m.options().collect();
        assert_eq!(
            opts,
            vec![
                (option::URI_PATH, &b"rd"[..]),
                (option::URI_QUERY, &b"ep=test"[..])
            ]
        );
        assert_eq!(m.option(option::URI_QUERY), Some(&b"ep=test"[..]));
        assert_eq!(m.option(option::CONTENT_FORMAT), None);
        assert!(m.payload.is_empty());
        assert!(m.code.is_request() && !m.code.is_response());
    }

    #[test]
    fn build_con_get() {
        let mut w = MessageWriter::new(MsgType::Con, Code::GET, 0x1234, &[0x71, 0x22]).unwrap();
        w.path_option(option::URI_PATH, "/rd/")
            .unwrap()
            .option(option::URI_QUERY, b"ep=test")
            .unwrap();
        assert_eq!(w.finish(), CON_GET);
    }

    #[test]
    fn parse_and_build_ack_content() {
        let m = Message::parse(ACK_CONTENT).unwrap();
        assert_eq!(
            (m.mtype, m.code, m.mid),
            (MsgType::Ack, Code::CONTENT, 0x1234)
        );
        assert_eq!(m.content_format(), Some(0));
        assert_eq!(m.payload, b"22.3 C");
        assert!(m.code.is_success() && m.code.is_response());

        let mut w = MessageWriter::new(MsgType::Ack, Code::CONTENT, 0x1234, &[0x71, 0x22]).unwrap();
        w.uint_option(option::CONTENT_FORMAT, 0)
            .unwrap()
            .payload(b"22.3 C")
            .unwrap();
        assert_eq!(w.finish(), ACK_CONTENT);
    }

    /// RFC 7252 §3.1 extended delta and length.
    #[test]
    fn extended_delta_and_length() {
        // Size1 (60) from 0: delta 60 = 13 + 47 → nibble 13, one byte 0x2F.
        let mut w = MessageWriter::new(MsgType::Non, Code::POST, 1, &[]).unwrap();
        w.uint_option(option::SIZE1, 1024).unwrap();
        let bytes = w.finish();
        assert_eq!(bytes, b"\x50\x02\x00\x01\xD2\x2F\x04\x00");
        assert_eq!(
            Message::parse(&bytes).unwrap().uint_option(option::SIZE1),
            Some(1024)
        );

        // Delta 268 = 13 + 255 (largest one-byte form), then delta 269 → nibble 14 + 0x0000,
        // then delta 269 + 256 = 525 → nibble 14 + 0x0100.
        let mut w = MessageWriter::new(MsgType::Non, Code::POST, 1, &[]).unwrap();
        w.option(268, b"a")
            .unwrap()
            .option(537, b"b")
            .unwrap()
            .option(1062, b"")
            .unwrap();
        let bytes = w.finish();
        assert_eq!(bytes, b"\x50\x02\x00\x01\xD1\xFFa\xE1\x00\x00b\xE0\x01\x00");
        let m = Message::parse(&bytes).unwrap();
        let opts: Vec<_> = m.options().collect();
        assert_eq!(
            opts,
            vec![(268, &b"a"[..]), (537, &b"b"[..]), (1062, &b""[..])]
        );

        // Length 13..268: 20 bytes → nibble 13, byte 7. Length ≥ 269: 300 → nibble 14, 0x001F.
        let v20 = [b'x'; 20];
        let v300 = [b'y'; 300];
        let mut w = MessageWriter::new(MsgType::Con, Code::PUT, 2, &[]).unwrap();
        w.option(option::URI_PATH, &v20)
            .unwrap()
            .option(option::URI_PATH, &v300)
            .unwrap();
        let bytes = w.finish();
        assert_eq!(&bytes[4..6], b"\xBD\x07");
        assert_eq!(&bytes[26..29], b"\x0E\x00\x1F");
        assert_eq!(bytes.len(), 4 + 2 + 20 + 3 + 300);
        let m = Message::parse(&bytes).unwrap();
        let segs: Vec<_> = m.options_of(option::URI_PATH).collect();
        assert_eq!(segs, vec![&v20[..], &v300[..]]);
    }

    #[test]
    fn empty_ack_and_rst() {
        // 0x60 = Ver 1, ACK, TKL 0; code 0.00; MID.
        assert_eq!(empty(MsgType::Ack, 0xBEEF), b"\x60\x00\xBE\xEF");
        assert_eq!(empty(MsgType::Rst, 0x0102), b"\x70\x00\x01\x02");
        let m = Message::parse(b"\x70\x00\x01\x02").unwrap();
        assert_eq!(
            (m.mtype, m.code, m.mid),
            (MsgType::Rst, Code::EMPTY, 0x0102)
        );
        assert!(m.code.is_empty() && m.token.is_empty() && m.options().next().is_none());
        // A CON 0.00 (ping) parses too; the endpoint answers it.
        assert!(Message::parse(b"\x40\x00\x00\x07").is_ok());
    }

    #[test]
    fn malformed_is_refused() {
        use ParseError::*;
        let cases: &[(&[u8], ParseError)] = &[
            (b"", TooShort),
            (b"\x40\x01\x00", TooShort),
            (b"\x82\x01\x12\x34\x71\x22", BadVersion), // version 2
            (b"\x02\x01\x12\x34\x71\x22", BadVersion), // version 0
            (
                b"\x49\x01\x12\x34\x01\x02\x03\x04\x05\x06\x07\x08\x09",
                BadTokenLength,
            ), // TKL 9
            (b"\x4F\x01\x12\x34", BadTokenLength),     // TKL 15
            (b"\x44\x01\x12\x34\x01\x02", TooShort),   // token cut short
            (b"\x40\x01\x12\x34\xF1a", BadOption),     // delta nibble 15 (not 0xFF)
            (b"\x40\x01\x12\x34\xBFa", BadOption),     // length nibble 15
            (b"\x40\x01\x12\x34\xB5ab", BadOption),    // value runs past the end
            (b"\x40\x01\x12\x34\xD1", BadOption),      // missing 1-byte extended delta
            (b"\x40\x01\x12\x34\xE1\x00", BadOption),  // missing half of 2-byte delta
            (b"\x40\x01\x12\x34\x1E\x00", BadOption),  // missing half of 2-byte length
            (b"\x40\x01\x12\x34\xE0\xFE\xFF\xE0\xFE\xFF", BadOption), // number over 65535
            (b"\x40\x01\x12\x34\xB2rd\xFF", EmptyPayload), // marker, no payload
            (b"\x40\x01\x12\x34\xFF", EmptyPayload),
            (b"\x61\x00\x12\x34\x01", EmptyWithData), // empty ACK with a token
            (b"\x60\x00\x12\x34\xFFx", EmptyWithData), // empty ACK with a payload
            (b"\x70\x00\x12\x34\xB0", EmptyWithData), // RST with an option
        ];
        for (bytes, want) in cases {
            assert_eq!(Message::parse(bytes).err(), Some(*want), "{bytes:02x?}");
        }
    }

    #[test]
    fn too_many_options() {
        let mut w = MessageWriter::new(MsgType::Con, Code::GET, 1, &[]).unwrap();
        for _ in 0..MAX_OPTIONS {
            w.option(option::URI_PATH, b"a").unwrap();
        }
        let ok = w.clone().finish();
        assert!(Message::parse(&ok).is_ok());
        w.option(option::URI_PATH, b"a").unwrap();
        assert_eq!(
            Message::parse(&w.finish()).err(),
            Some(ParseError::TooManyOptions)
        );
    }

    #[test]
    fn uint_options() {
        let mut w = MessageWriter::new(MsgType::Con, Code::GET, 1, &[]).unwrap();
        w.uint_option(option::OBSERVE, 0).unwrap();
        w.uint_option(option::CONTENT_FORMAT, 11542).unwrap();
        w.uint_option(option::MAX_AGE, 0x0100_0000).unwrap();
        w.uint_option(option::ACCEPT, 0x1_0000).unwrap();
        w.option(option::SIZE2, &[0, 0, 0, 0, 1]).unwrap();
        let bytes = w.finish();
        // Observe 0 is the empty value; 11542 = 0x2D16 two bytes.
        assert_eq!(&bytes[4..9], b"\x60\x62\x2D\x16\x24");
        let m = Message::parse(&bytes).unwrap();
        assert_eq!(m.observe(), Some(0));
        assert_eq!(m.content_format(), Some(11542));
        assert_eq!(m.uint_option(option::MAX_AGE), Some(0x0100_0000));
        assert_eq!(m.accept(), None, "over 16 bits");
        assert_eq!(m.uint_option(option::SIZE2), None, "over 4 bytes");
        assert_eq!(m.uint_option(option::ETAG), None, "absent");
    }

    #[test]
    fn blocks_and_critical_options() {
        let mut w = MessageWriter::new(MsgType::Con, Code::PUT, 9, &[1]).unwrap();
        w.path_option(option::URI_PATH, "5/0/0").unwrap();
        w.block_option(
            option::BLOCK1,
            Block {
                num: 2,
                more: true,
                szx: 6,
            },
        )
        .unwrap();
        w.option(41, b"").unwrap(); // unassigned critical option
        w.option(62, b"").unwrap(); // unassigned elective option
        w.payload(b"data").unwrap();
        let bytes = w.finish();
        let m = Message::parse(&bytes).unwrap();
        assert_eq!(
            m.block1(),
            Some(Block {
                num: 2,
                more: true,
                szx: 6
            })
        );
        assert_eq!(m.block2(), None);
        assert_eq!(
            m.unknown_critical(&[option::URI_PATH, option::BLOCK1]),
            Some(41)
        );
        assert_eq!(
            m.unknown_critical(&[option::URI_PATH, option::BLOCK1, 41]),
            None
        );
        assert!(
            option::is_critical(option::URI_PATH) && !option::is_critical(option::CONTENT_FORMAT)
        );
    }

    #[test]
    fn writer_refusals() {
        let long = [0u8; 9];
        assert_eq!(
            MessageWriter::new(MsgType::Con, Code::GET, 1, &long).err(),
            Some(EncodeError::BadToken)
        );

        let mut w = MessageWriter::new(MsgType::Con, Code::GET, 1, &[]).unwrap();
        w.option(option::URI_QUERY, b"a").unwrap();
        let before = w.clone().finish();
        assert_eq!(
            w.option(option::URI_PATH, b"b").err(),
            Some(EncodeError::OptionOrder)
        );
        assert_eq!(w.clone().finish(), before, "unchanged after an error");
        w.option(option::URI_QUERY, b"repeat").unwrap();
        w.payload(b"").unwrap();
        assert_eq!(
            w.option(option::ACCEPT, b"").err(),
            Some(EncodeError::OptionOrder),
            "after payload"
        );
        w.payload(b"x").unwrap().payload(b"yz").unwrap();
        let bytes = w.finish();
        assert_eq!(
            Message::parse(&bytes).unwrap().payload,
            b"xyz",
            "one marker"
        );

        // An empty payload writes no marker (RFC 7252 §3).
        let mut w = MessageWriter::new(MsgType::Ack, Code::CHANGED, 1, &[]).unwrap();
        w.payload(b"").unwrap();
        assert_eq!(w.finish(), b"\x60\x44\x00\x01");

        // MAX_DATAGRAM is the cap, exactly.
        let mut w = MessageWriter::new(MsgType::Ack, Code::CONTENT, 1, &[]).unwrap();
        let body = vec![7u8; MAX_DATAGRAM - 5];
        assert_eq!(w.payload(&body[..body.len()]).map(|_| ()), Ok(()));
        assert_eq!(w.payload(b"!").err(), Some(EncodeError::TooLong));
        assert_eq!(w.finish().len(), MAX_DATAGRAM);

        let mut w = MessageWriter::new(MsgType::Con, Code::POST, 1, &[]).unwrap();
        let huge = vec![b'p'; MAX_DATAGRAM];
        assert_eq!(
            w.option(option::URI_PATH, &huge).err(),
            Some(EncodeError::TooLong)
        );
        // A path that does not fit leaves nothing half-written.
        let seg = core::str::from_utf8(&huge[..600]).unwrap();
        let path = alloc::format!("/{seg}/{seg}");
        assert_eq!(
            w.path_option(option::URI_PATH, &path).err(),
            Some(EncodeError::TooLong)
        );
        assert_eq!(w.finish(), b"\x40\x02\x00\x01");
    }

    #[test]
    fn code_classes() {
        assert_eq!(Code::CONTINUE.0, 0x5F);
        assert_eq!(Code::REQUEST_ENTITY_TOO_LARGE.0, 0x8D);
        assert_eq!(Code::SERVICE_UNAVAILABLE.0, 0xA3);
        assert_eq!((Code::NOT_FOUND.class(), Code::NOT_FOUND.detail()), (4, 4));
        assert!(!Code::NOT_FOUND.is_success() && Code::NOT_FOUND.is_response());
        assert!(!Code::EMPTY.is_request() && !Code::EMPTY.is_response() && Code::EMPTY.is_empty());
        assert!(!Code::new(1, 0).is_response() && !Code::new(7, 31).is_response());
    }

    /// Small deterministic generator (xorshift32) for the no-panic test.
    struct XorShift(u32);
    impl XorShift {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            self.0
        }
    }

    fn exercise(m: &Message) {
        let _ = (
            m.content_format(),
            m.accept(),
            m.observe(),
            m.block1(),
            m.block2(),
        );
        let _ = m.unknown_critical(&[option::URI_PATH]);
        let _ = m.options_of(option::URI_PATH).count();
    }

    #[test]
    fn no_panic_on_prefixes_and_noise() {
        let mut big =
            MessageWriter::new(MsgType::Con, Code::PUT, 0xFFFF, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        big.option(option::URI_PATH, b"5")
            .unwrap()
            .option(300, &[0xAA; 300])
            .unwrap();
        big.block_option(
            1000,
            Block {
                num: 4000,
                more: true,
                szx: 6,
            },
        )
        .unwrap();
        big.payload(b"payload").unwrap();
        let big = big.finish();
        for valid in [CON_GET, ACK_CONTENT, &big[..]] {
            assert!(Message::parse(valid).is_ok());
            for end in 0..valid.len() {
                if let Ok(m) = Message::parse(&valid[..end]) {
                    exercise(&m);
                }
            }
        }
        let mut rng = XorShift(0x1234_5678);
        let mut buf = [0u8; 64];
        let mut parsed = 0;
        for _ in 0..5000 {
            let len = (rng.next() % 64) as usize;
            for b in buf[..len].iter_mut() {
                *b = rng.next() as u8;
            }
            // Half the time force a valid version so the option parser is reached.
            if len > 0 && rng.next() & 1 == 0 {
                buf[0] = (buf[0] & 0x3F) | 0x40;
                buf[0] &= 0xF7; // TKL ≤ 7
            }
            if let Ok(m) = Message::parse(&buf[..len]) {
                exercise(&m);
                parsed += 1;
            }
        }
        assert!(parsed > 0, "the noise reached the option parser");
    }
}
