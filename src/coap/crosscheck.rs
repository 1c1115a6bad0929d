//! Cross-check of our codec against an independent one (`coap-lite`, tests only).
//!
//! Rule checked: a message built by `MessageWriter` parses to the same fields
//! with `coap_lite::Packet::from_bytes`, a `coap-lite` packet parses to the
//! same fields with `Message::parse`, and both encoders emit the same bytes.
//! Where we refuse input that `coap-lite` accepts, it is one of its known
//! leniencies (version ≠ 1, 0xFF with no payload, Empty with data).

use alloc::vec::Vec;

use coap_lite::{CoapOption, MessageClass, MessageType, Packet};

use super::msg::{option, Code, Message, MessageWriter, MsgType, ParseError};
use crate::limits::{MAX_DATAGRAM, MAX_OPTIONS};

/// The fields both codecs expose, in a common shape.
#[derive(Debug, PartialEq)]
struct Fields {
    mtype: MsgType,
    code: u8,
    mid: u16,
    token: Vec<u8>,
    options: Vec<(u16, Vec<u8>)>,
    payload: Vec<u8>,
}

fn ours(m: &Message) -> Fields {
    Fields {
        mtype: m.mtype,
        code: m.code.0,
        mid: m.mid,
        token: m.token.to_vec(),
        options: m.options().map(|(n, v)| (n, v.to_vec())).collect(),
        payload: m.payload.to_vec(),
    }
}

fn theirs(p: &Packet) -> Fields {
    let mtype = match p.header.get_type() {
        MessageType::Confirmable => MsgType::Con,
        MessageType::NonConfirmable => MsgType::Non,
        MessageType::Acknowledgement => MsgType::Ack,
        MessageType::Reset => MsgType::Rst,
    };
    let options = p
        .options()
        .flat_map(|(&n, values)| values.iter().map(move |v| (n, v.clone())))
        .collect();
    Fields {
        mtype,
        code: u8::from(p.header.code),
        mid: p.header.message_id,
        token: p.get_token().to_vec(),
        options,
        payload: p.payload.clone(),
    }
}

fn lite_type(t: MsgType) -> MessageType {
    match t {
        MsgType::Con => MessageType::Confirmable,
        MsgType::Non => MessageType::NonConfirmable,
        MsgType::Ack => MessageType::Acknowledgement,
        MsgType::Rst => MessageType::Reset,
    }
}

/// Builds `f` with coap-lite.
fn lite_build(f: &Fields) -> Vec<u8> {
    let mut p = Packet::new();
    p.header.set_type(lite_type(f.mtype));
    p.header.code = MessageClass::from(f.code);
    p.header.message_id = f.mid;
    p.set_token(f.token.clone());
    for (n, v) in &f.options {
        p.add_option(CoapOption::from(*n), v.clone());
    }
    p.payload = f.payload.clone();
    p.to_bytes_with_limit(MAX_DATAGRAM)
        .expect("coap-lite encodes")
}

/// Builds `f` with our writer.
fn our_build(f: &Fields) -> Vec<u8> {
    let mut w = MessageWriter::new(f.mtype, Code(f.code), f.mid, &f.token).unwrap();
    for (n, v) in &f.options {
        w.option(*n, v).unwrap();
    }
    w.payload(&f.payload).unwrap();
    w.finish()
}

struct XorShift(u32);
impl XorShift {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A random valid message: up to MAX_OPTIONS options with small, one-byte and
/// two-byte extended deltas and lengths, within MAX_DATAGRAM.
fn random_fields(rng: &mut XorShift) -> Fields {
    const CODES: [Code; 8] = [
        Code::GET,
        Code::POST,
        Code::PUT,
        Code::CONTENT,
        Code::CHANGED,
        Code::CONTINUE,
        Code::NOT_FOUND,
        Code::SERVICE_UNAVAILABLE,
    ];
    let mtype = [MsgType::Con, MsgType::Non, MsgType::Ack][rng.below(3) as usize];
    let code = CODES[rng.below(CODES.len() as u32) as usize];
    let token_len = rng.below(9) as usize;
    let mut options = Vec::new();
    let mut number: u32 = 0;
    let mut size = 4 + token_len;
    for _ in 0..rng.below(MAX_OPTIONS as u32 + 1) {
        number += match rng.below(8) {
            0 => rng.below(1000) + 269,
            1 => rng.below(256) + 13,
            2 => 0, // repeated option
            _ => rng.below(13),
        };
        if number > u16::MAX as u32 {
            break;
        }
        let len = match rng.below(10) {
            0 => rng.below(100) as usize + 269,
            1 => rng.below(256) as usize + 13,
            _ => rng.below(13) as usize,
        };
        if size + 5 + len > MAX_DATAGRAM - 200 {
            break;
        }
        size += 5 + len;
        options.push((number as u16, rng.bytes(len)));
    }
    let payload_len = rng.below(100) as usize;
    Fields {
        mtype,
        code: code.0,
        mid: rng.next() as u16,
        token: rng.bytes(token_len),
        options,
        payload: rng.bytes(payload_len),
    }
}

#[test]
fn known_messages_agree() {
    let mut w = MessageWriter::new(MsgType::Con, Code::POST, 0xA5A5, &[1, 2, 3, 4]).unwrap();
    w.path_option(option::URI_PATH, "/bs").unwrap();
    w.option(option::URI_QUERY, b"ep=urn:imei:351234567890123")
        .unwrap();
    let bootstrap = w.finish();

    let mut w = MessageWriter::new(MsgType::Ack, Code::CONTENT, 7, &[9]).unwrap();
    w.uint_option(option::OBSERVE, 12)
        .unwrap()
        .uint_option(option::CONTENT_FORMAT, 11542)
        .unwrap();
    w.option(option::BLOCK2, &[0x0E])
        .unwrap()
        .uint_option(option::SIZE2, 4000)
        .unwrap();
    w.payload(&[0xC8, 0x00, 0x05, b'h', b'e', b'l', b'l', b'o'])
        .unwrap();
    let notify = w.finish();

    for bytes in [bootstrap, notify, super::msg::empty(MsgType::Ack, 0x1234)] {
        let m = Message::parse(&bytes).unwrap();
        let p = Packet::from_bytes(&bytes).unwrap();
        assert_eq!(ours(&m), theirs(&p));
        assert_eq!(lite_build(&theirs(&p)), bytes);
    }
}

#[test]
fn coap_lite_built_messages_parse_the_same() {
    let mut p = Packet::new();
    p.header.set_type(MessageType::Confirmable);
    p.header.code = MessageClass::from(Code::PUT.0);
    p.header.message_id = 0x0BAD;
    p.set_token(alloc::vec![0xFE; 8]);
    p.add_option(CoapOption::UriPath, b"1".to_vec());
    p.add_option(CoapOption::UriPath, b"0".to_vec());
    p.add_option(CoapOption::Block1, alloc::vec![0x01, 0x0E]);
    p.add_option(CoapOption::Size1, alloc::vec![0x10, 0x00]);
    p.add_option(CoapOption::Unknown(2000), alloc::vec![0xAB; 270]);
    p.payload = alloc::vec![0x55; 64];
    let bytes = p.to_bytes().unwrap();
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(ours(&m), theirs(&p));
    assert_eq!(
        m.block1().map(|b| (b.num, b.more, b.size())),
        Some((16, true, 1024))
    );
    assert_eq!(our_build(&ours(&m)), bytes);
}

#[test]
fn random_messages_agree_both_ways() {
    let mut rng = XorShift(0xC0A9_2024);
    for _ in 0..500 {
        let f = random_fields(&mut rng);
        let mine = our_build(&f);
        let lite = lite_build(&f);
        assert_eq!(mine, lite, "same encoding of {f:?}");
        assert_eq!(theirs(&Packet::from_bytes(&mine).unwrap()), f);
        assert_eq!(ours(&Message::parse(&lite).unwrap()), f);
    }
}

/// Whatever we accept, coap-lite accepts and reads the same way; whatever we
/// refuse and it accepts is one of its documented leniencies.
#[test]
fn noise_is_judged_alike() {
    let mut rng = XorShift(0x0BAD_F00D);
    let (mut both, mut lenient) = (0, 0);
    for i in 0..5000 {
        let mut bytes = if i % 2 == 0 {
            our_build(&random_fields(&mut rng))
        } else {
            let n = rng.below(48) as usize;
            rng.bytes(n)
        };
        // Damage one byte of half the inputs.
        if !bytes.is_empty() && rng.below(2) == 0 {
            let at = rng.below(bytes.len() as u32) as usize;
            bytes[at] = rng.next() as u8;
        }
        match (Message::parse(&bytes), Packet::from_bytes(&bytes)) {
            (Ok(m), Ok(p)) => {
                assert_eq!(ours(&m), theirs(&p), "{bytes:02x?}");
                both += 1;
            }
            (Ok(_), Err(e)) => panic!("coap-lite refused what we accept ({e:?}): {bytes:02x?}"),
            (
                Err(
                    ParseError::BadVersion
                    | ParseError::EmptyPayload
                    | ParseError::EmptyWithData
                    | ParseError::TooManyOptions,
                ),
                Ok(_),
            ) => lenient += 1,
            (Err(e), Ok(_)) => panic!("we refused ({e:?}) what coap-lite accepts: {bytes:02x?}"),
            (Err(_), Err(_)) => {}
        };
    }
    assert!(both > 1000 && lenient > 0, "both {both}, lenient {lenient}");
}
