//! Scenario tests of the device-management and information-reporting
//! interfaces: the engine, registered to one scripted LwM2M server, on a
//! simulated clock. Every message the client sends is checked byte for byte
//! (hand-assembled from the RFC 7252 §3 wire format) or field by field.
//!
//! Rules proved here: Observe timing with pmin/pmax/gt/lt/st and the 24 h
//! confirmable notification (RFC 7641 §3, §4.4, §4.5; OMA-TS-LightweightM2M-
//! V1_0_2 §5.1.2, §5.5), cancellation by RST and by GET Observe=1 (RFC 7641
//! §3.6, TS §5.5.3), retransmission and duplicate detection (RFC 7252 §4.2,
//! §4.5), block-wise read and write (RFC 7959 §2.3–§2.9), notification storing
//! while disabled (TS §5.3.3, Appendix E.2 /1/x/6), Write semantics and
//! response codes (TS §5.4.3–§5.4.5, §6.4; RFC 7252 §5.4.1), and the
//! Bootstrap-Request Trigger (/1/x/9).
//!
//! The harness is a trimmed copy of the one in `tests.rs`, with a request
//! builder that can carry any option (Observe, Block1/2, Size1, Uri-Query,
//! unknown ones).

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use std::vec;

use super::*;
use crate::capi::*;
use crate::coap::msg::{empty, option, Code, Message, MessageWriter, MsgType};
use crate::lwm2m::json;
use crate::objects::ops;
use crate::lwm2m::tlv::{self, TlvType};
use crate::lwm2m::value::{ResourceType, Value};

use super::sim::*;

const DM: ConnId = 1;
const TEXT: u16 = 0;
const LINK: u16 = 40;
const OPAQUE: u16 = 42;
const JSON: u16 = 11543;
/// A lifetime long enough that no Update interferes with a scenario (55 h).
const LONG_LIFETIME: i64 = 200_000;

/// Request helpers of this file on the shared harness.
impl Sim {
    /// A CON request of the server, with a fresh Message ID and token.
    fn req(&mut self, code: Code, path: &str) -> Req {
        self.next_mid = self.next_mid.wrapping_add(1);
        let mid = self.next_mid;
        Req {
            mtype: MsgType::Con,
            code,
            mid,
            token: vec![0x5E, mid as u8],
            options: path.split('/').filter(|p| !p.is_empty()).map(|p| (option::URI_PATH, p.as_bytes().to_vec())).collect(),
            payload: Vec::new(),
        }
    }

    /// Send a CON request and take the ACK that answers it; anything else
    /// the client sent stays queued.
    fn exchange(&mut self, r: &Req) -> Vec<u8> {
        self.deliver(DM, &r.encode());
        let pos = self
            .sent
            .iter()
            .position(|(c, d)| *c == DM && Message::parse(d).is_ok_and(|m| m.mtype == MsgType::Ack && m.mid == r.mid))
            .unwrap_or_else(|| panic!("no answer to {:02x?}; events {:?}", r.encode(), self.events));
        self.sent.remove(pos).1
    }
}

/// A request of the server under construction.
#[derive(Clone, Debug)]
struct Req {
    mtype: MsgType,
    code: Code,
    mid: u16,
    token: Vec<u8>,
    options: Vec<(u16, Vec<u8>)>,
    payload: Vec<u8>,
}

/// An unsigned option value with the fewest bytes (RFC 7252 §3.2).
fn uint_bytes(v: u32) -> Vec<u8> {
    let be = v.to_be_bytes();
    be[(v.leading_zeros() / 8) as usize..].to_vec()
}

fn block_value(num: u32, more: bool, szx: u8) -> u32 {
    (num << 4) | (more as u32) << 3 | szx as u32
}

impl Req {
    fn opt(mut self, num: u16, v: &[u8]) -> Req {
        self.options.push((num, v.to_vec()));
        self
    }
    fn uint(self, num: u16, v: u32) -> Req {
        self.opt(num, &uint_bytes(v))
    }
    fn query(self, q: &str) -> Req {
        self.opt(option::URI_QUERY, q.as_bytes())
    }
    fn observe(self, v: u32) -> Req {
        self.uint(option::OBSERVE, v)
    }
    fn accept(self, cf: u16) -> Req {
        self.uint(option::ACCEPT, cf as u32)
    }
    fn cf(self, cf: u16) -> Req {
        self.uint(option::CONTENT_FORMAT, cf as u32)
    }
    fn block1(self, num: u32, more: bool, szx: u8) -> Req {
        self.uint(option::BLOCK1, block_value(num, more, szx))
    }
    fn block2(self, num: u32, more: bool, szx: u8) -> Req {
        self.uint(option::BLOCK2, block_value(num, more, szx))
    }
    fn token(mut self, t: &[u8]) -> Req {
        self.token = t.to_vec();
        self
    }
    fn body(mut self, p: &[u8]) -> Req {
        self.payload = p.to_vec();
        self
    }
    fn encode(&self) -> Vec<u8> {
        let mut opts = self.options.clone();
        opts.sort_by_key(|(n, _)| *n); // stable: repeated options keep their order
        let mut w = MessageWriter::new(self.mtype, self.code, self.mid, &self.token).unwrap();
        for (n, v) in &opts {
            w.option(*n, v).unwrap();
        }
        w.payload(&self.payload).unwrap();
        w.finish()
    }
}

/// A message as RFC 7252 §3 lays it out, assembled by hand: header, token,
/// options (number, value) in ascending order with 4-bit deltas and lengths
/// (extended forms for 13..268), payload marker and payload.
fn wire(mtype: MsgType, code: u8, mid: u16, token: &[u8], options: &[(u16, &[u8])], payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x40 | (mtype as u8) << 4 | token.len() as u8, code];
    v.extend_from_slice(&mid.to_be_bytes());
    v.extend_from_slice(token);
    let mut last = 0u16;
    for (num, val) in options {
        let delta = (num - last) as usize;
        let nib = |x: usize| if x < 13 { x as u8 } else { 13 };
        v.push(nib(delta) << 4 | nib(val.len()));
        if delta >= 13 {
            v.push((delta - 13) as u8);
        }
        if val.len() >= 13 {
            v.push((val.len() - 13) as u8);
        }
        v.extend_from_slice(val);
        last = *num;
    }
    if !payload.is_empty() {
        v.push(0xFF);
        v.extend_from_slice(payload);
    }
    v
}

/// The piggy-backed answer to `r`: ACK, same Message ID and token.
fn ack_of(r: &Req, code: u8, options: &[(u16, &[u8])], payload: &[u8]) -> Vec<u8> {
    wire(MsgType::Ack, code, r.mid, &r.token, options, payload)
}

/// The server's ACK (with `code`, and Location-Path segments) of a CON request of the client.
fn server_ack(req: &[u8], code: Code, location: &[&str]) -> Vec<u8> {
    let m = Message::parse(req).unwrap();
    let mut w = MessageWriter::new(MsgType::Ack, code, m.mid, m.token).unwrap();
    for l in location {
        w.option(option::LOCATION_PATH, l.as_bytes()).unwrap();
    }
    w.finish()
}

fn mid_of(d: &[u8]) -> u16 {
    Message::parse(d).unwrap().mid
}

fn code_of(d: &[u8]) -> Code {
    Message::parse(d).unwrap().code
}

fn uri_path(m: &Message) -> Vec<String> {
    m.options_of(option::URI_PATH).map(|s| String::from_utf8(s.to_vec()).unwrap()).collect()
}

// Response codes as wire bytes (RFC 7252 §3: class << 5 | detail).
const C_2_04: u8 = 0x44;
const C_2_05: u8 = 0x45;
const C_2_31: u8 = 0x5F;
const C_4_01: u8 = 0x81;
const C_4_02: u8 = 0x82;
const C_4_04: u8 = 0x84;
const C_4_05: u8 = 0x85;
const C_4_06: u8 = 0x86;
const C_4_08: u8 = 0x88;
const C_4_13: u8 = 0x8D;
const C_4_15: u8 = 0x8F;

// ----- getting registered --------------------------------------------------

fn security_tlv(uri: &str, ssid: i64) -> Vec<u8> {
    let mut inner = Vec::new();
    tlv::write_value(&mut inner, TlvType::ResourceValue, 0, &Value::Str(uri));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 1, &Value::Bool(false));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 2, &Value::Int(0));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 3, &Value::Opaque(EP.as_bytes()));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 5, &Value::Opaque(&[0xde, 0xad, 0xbe, 0xef]));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 10, &Value::Int(ssid));
    inner
}

fn server_tlv(ssid: i64, lifetime: i64) -> Vec<u8> {
    let mut inner = Vec::new();
    tlv::write_value(&mut inner, TlvType::ResourceValue, 0, &Value::Int(ssid));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 1, &Value::Int(lifetime));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 6, &Value::Bool(false));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 7, &Value::Str("U"));
    inner
}

/// The bootstrap server's side once our Bootstrap-Request is out: accept
/// it, delete everything, write one DM server account, finish.
fn serve_bootstrap(s: &mut Sim, lifetime: i64) {
    let bs_req = s.one_sent(BOOTSTRAP_CONN);
    let m = Message::parse(&bs_req).unwrap();
    assert_eq!((m.mtype, m.code, uri_path(&m)), (MsgType::Con, Code::POST, vec!["bs".to_string()]));
    s.deliver(BOOTSTRAP_CONN, &server_ack(&bs_req, Code::CHANGED, &[]));
    let bs_writes: [(Code, &str, Option<u16>, Vec<u8>); 4] = [
        (Code::DELETE, "", None, Vec::new()),
        (Code::PUT, "0/1", Some(TLV), security_tlv("coaps://dm.example:5684", 1)),
        (Code::PUT, "1/0", Some(TLV), server_tlv(1, lifetime)),
        (Code::POST, "bs", None, Vec::new()),
    ];
    for (code, path, cf, body) in bs_writes {
        let mut r = s.req(code, path).body(&body);
        if let Some(cf) = cf {
            r = r.cf(cf);
        }
        s.deliver(BOOTSTRAP_CONN, &r.encode());
        let answers = s.take_sent(BOOTSTRAP_CONN);
        assert_eq!(answers.len(), 1, "{code:?} {path}");
        assert!(code_of(&answers[0]).is_success(), "{code:?} {path}: {:?}", code_of(&answers[0]));
    }
}

/// Boot, bootstrap, and leave the Register on the DM connection unanswered.
fn to_register(lifetime: i64) -> (Sim, Vec<u8>) {
    let mut s = Sim::new(BTreeMap::new());
    s.e.start(s.now);
    s.pump();
    s.e.begin_run(s.now);
    s.pump();
    serve_bootstrap(&mut s, lifetime);
    let reg = s.one_sent(DM);
    (s, reg)
}

/// A client registered at /rd/abc with `lifetime`, nothing left to send.
fn registered(lifetime: i64) -> Sim {
    let (mut s, reg) = to_register(lifetime);
    s.deliver(DM, &server_ack(&reg, Code::CREATED, &["rd", "abc"]));
    assert_eq!(s.events.last(), Some(&Event::Registered));
    s.assert_silent(DM, "nothing after registration");
    s
}

/// Registered, with an internal battery at `level` % (the application's setters).
fn registered_with_battery(lifetime: i64, level: u8) -> Sim {
    let mut s = registered(lifetime);
    s.env.device.set_power_sources(&[LWM2M_CARRIER_POWER_SOURCE_INTERNAL_BATTERY]).unwrap();
    s.set_battery(level);
    s
}

/// Write-Attributes (TS §5.4.4): PUT with one Uri-Query per attribute, no payload → 2.04.
fn write_attributes(s: &mut Sim, path: &str, queries: &[&str]) {
    let mut r = s.req(Code::PUT, path);
    for q in queries {
        r = r.query(q);
    }
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_04, &[], b""), "Write-Attributes {path}?{queries:?}");
}

/// Observe /3/0/9 with `token`: the answer is 2.05 text with Observe 0 (RFC 7641 §3.2, §4.4).
fn observe_battery(s: &mut Sim, token: &[u8], level: &[u8]) {
    let r = s.req(Code::GET, "3/0/9").observe(0).token(token);
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_05, &[(option::OBSERVE, b""), (option::CONTENT_FORMAT, b"")], level));
}

/// A notification of a text value (RFC 7641 §4.2: the observe token, an
/// Observe sequence number, the Content-Format of the first response).
fn notification(d: &[u8], mtype: MsgType, token: &[u8], seq: u32, value: &[u8]) {
    let expected = wire(mtype, C_2_05, mid_of(d), token, &[(option::OBSERVE, &uint_bytes(seq)), (option::CONTENT_FORMAT, b"")], value);
    assert_eq!(d, &expected[..], "notification {seq} of {value:?}");
}

const OBS: &[u8] = &[0x0B, 0x51];

// ----- 1. Observation timing (TS §5.1.2, RFC 7641 §4.4, §4.5) --------------

#[test]
fn a_change_notifies_only_once_pmin_has_passed_and_pmax_notifies_without_change() {
    let mut s = registered_with_battery(LONG_LIFETIME, 30);
    write_attributes(&mut s, "3/0/9", &["pmin=10", "pmax=60"]);
    observe_battery(&mut s, OBS, b"30");
    let t0 = s.now;

    // pmin passes without a change: nothing (pmax is not due yet).
    s.advance(20_000);
    s.assert_silent(DM, "no change, pmax not due");
    // A change after pmin: notified at once.
    s.set_battery(50);
    let n1 = s.one_sent(DM);
    notification(&n1, MsgType::Non, OBS, 1, b"50");
    assert_eq!(s.now, t0.add_secs(20));

    // A change 5 s later waits for pmin (10 s after the last notification).
    s.advance(5_000);
    s.set_battery(55);
    s.assert_silent(DM, "change before pmin");
    s.advance(4_999);
    s.assert_silent(DM, "1 ms before pmin");
    s.advance(1);
    let n2 = s.one_sent(DM);
    notification(&n2, MsgType::Non, OBS, 2, b"55");

    // No change: periodic notifications every pmax, with the same value.
    s.advance(59_999);
    s.assert_silent(DM, "1 ms before pmax");
    s.advance(1);
    let n3 = s.one_sent(DM);
    notification(&n3, MsgType::Non, OBS, 3, b"55");
    s.advance(60_000);
    let n4 = s.one_sent(DM);
    notification(&n4, MsgType::Non, OBS, 4, b"55");

    // Every notification has a fresh Message ID (RFC 7252 §4.4).
    let mut mids = vec![mid_of(&n1), mid_of(&n2), mid_of(&n3), mid_of(&n4)];
    mids.sort();
    mids.dedup();
    assert_eq!(mids.len(), 4, "{mids:?}");
}

#[test]
fn a_change_before_pmin_is_notified_at_pmin_with_the_latest_value() {
    let mut s = registered_with_battery(LONG_LIFETIME, 30);
    write_attributes(&mut s, "3/0/9", &["pmin=10", "pmax=60"]);
    observe_battery(&mut s, OBS, b"30");
    s.advance(5_000);
    s.set_battery(50);
    s.advance(2_000);
    s.set_battery(51); // coalesced: one notification, the value current at pmin
    s.advance(2_999);
    s.assert_silent(DM, "before pmin");
    s.advance(1);
    notification(&s.one_sent(DM), MsgType::Non, OBS, 1, b"51");
}

#[test]
fn gt_and_lt_notify_only_when_the_value_crosses_a_threshold() {
    let mut s = registered_with_battery(LONG_LIFETIME, 30);
    write_attributes(&mut s, "3/0/9", &["gt=50", "lt=20"]);
    observe_battery(&mut s, OBS, b"30");
    // (new value, notified?) against the last *notified* value.
    let steps: [(u8, bool); 9] = [
        (40, false), // 30 → 40: neither threshold crossed
        (55, true),  // above gt
        (60, false), // still above
        (45, true),  // back below gt
        (25, false), // between the thresholds
        (15, true),  // 45 → 15 crosses lt
        (18, false), // still below lt
        (20, true),  // "≥ lt" is the other side of lt
        (50, false), // 20 → 50: gt is crossed only above 50
    ];
    battery_steps(&mut s, &steps);
    s.advance(3_600_000);
    s.assert_silent(DM, "no pmax: nothing periodic");
}

#[test]
fn st_notifies_when_the_value_moves_by_the_step_from_the_last_notification() {
    let mut s = registered_with_battery(LONG_LIFETIME, 50);
    write_attributes(&mut s, "3/0/9", &["st=10"]);
    observe_battery(&mut s, OBS, b"50");
    let steps: [(u8, bool); 6] = [(55, false), (59, false), (60, true), (51, false), (50, true), (41, false)];
    battery_steps(&mut s, &steps);
}

#[test]
fn notifications_are_non_but_one_is_confirmable_every_24_hours() {
    let mut s = registered_with_battery(LONG_LIFETIME, 30);
    write_attributes(&mut s, "3/0/9", &["pmax=3600"]);
    observe_battery(&mut s, OBS, b"30");
    s.advance(86_400_000);
    let sent = s.take_sent(DM);
    assert_eq!(sent.len(), 24, "one per pmax over 24 h");
    for (i, d) in sent.iter().enumerate() {
        let seq = i as u32 + 1;
        // The Observe request counts as the last confirmation: 24 h later, CON.
        let t = if seq == 24 { MsgType::Con } else { MsgType::Non };
        notification(d, t, OBS, seq, b"30");
    }
    // The server acknowledges the CON one: no retransmission.
    s.deliver(DM, &empty(MsgType::Ack, mid_of(&sent[23])));
    s.assert_silent(DM, "empty ACK sends nothing");
    s.advance(3_600_000);
    notification(&s.one_sent(DM), MsgType::Non, OBS, 25, b"30");
}

#[test]
fn an_unacknowledged_confirmable_notification_is_retransmitted_then_ends_the_observation() {
    let mut s = registered_with_battery(LONG_LIFETIME, 30);
    write_attributes(&mut s, "3/0/9", &["pmax=3600"]);
    observe_battery(&mut s, OBS, b"30");
    s.advance(86_400_000);
    let con = s.take_sent(DM).pop().unwrap();
    notification(&con, MsgType::Con, OBS, 24, b"30");
    // RFC 7252 §4.2: the same message again at 2 s and 6 s, then given up at 14 s.
    s.advance(2_000);
    assert_eq!(s.one_sent(DM), con);
    s.advance(4_000);
    assert_eq!(s.one_sent(DM), con);
    s.advance(8_000);
    s.assert_silent(DM, "given up");
    // RFC 7641 §4.5: the observation is gone.
    s.set_battery(31);
    s.advance(7_200_000);
    s.assert_silent(DM, "no more notifications");
}

#[test]
fn every_due_notification_is_sent_when_several_fall_due_together() {
    let mut s = registered_with_battery(LONG_LIFETIME, 30);
    // pmax on the object: every observation below it notifies at the same time.
    write_attributes(&mut s, "3", &["pmax=60"]);
    let paths = ["3/0/9", "3/0/10", "3/0/17", "3/0/18", "3/0/19"];
    for (k, path) in paths.iter().enumerate() {
        let r = s.req(Code::GET, path).observe(0).token(&[0x0D, k as u8]);
        assert_eq!(code_of(&s.exchange(&r)), Code::CONTENT, "{path}");
    }
    s.advance(60_000);
    let sent = s.take_sent(DM);
    let mut tokens: Vec<Vec<u8>> = sent.iter().map(|d| Message::parse(d).unwrap().token.to_vec()).collect();
    tokens.sort();
    assert_eq!(tokens, (0..5u8).map(|k| vec![0x0D, k]).collect::<Vec<_>>(), "one notification per observation");
}

#[test]
fn a_notification_larger_than_one_block_carries_the_first_block() {
    let mut s = registered(LONG_LIFETIME);
    big_device(&mut s);
    let token: &[u8] = &[0x0B, 0x60];
    let r = s.req(Code::GET, "3/0").accept(JSON).observe(0).token(token);
    let resp = s.exchange(&r);
    let m = Message::parse(&resp).unwrap();
    assert_eq!((m.code, m.observe(), m.block2().map(|b| (b.num, b.more, b.szx))), (Code::CONTENT, Some(0), Some((0, true, 6))));
    // A change: the notification is block 0 with an ETag (RFC 7959 §2.6),
    // the server fetches the rest with plain GETs.
    s.env.device.set_device_type(Some(&core::iter::repeat_n('U', 200).collect::<String>())).unwrap();
    s.e.handle_device_changed(s.now, &mut s.env);
    s.pump();
    s.advance(0);
    let n = s.one_sent(DM);
    let m = Message::parse(&n).unwrap();
    assert_eq!((m.mtype, m.code, m.token, m.observe()), (MsgType::Non, Code::CONTENT, token, Some(1)));
    assert_eq!(m.block2().map(|b| (b.num, b.more, b.szx)), Some((0, true, 6)));
    assert!(m.option(option::ETAG).is_some());
    assert_eq!(m.payload.len(), 1024);
}

// ----- 2. Cancel (RFC 7641 §3.6, TS §5.5.3) ---------------------------------

#[test]
fn a_reset_to_a_notification_cancels_the_observation() {
    let mut s = registered_with_battery(LONG_LIFETIME, 30);
    observe_battery(&mut s, OBS, b"30");
    s.set_battery(40);
    let n = s.one_sent(DM);
    notification(&n, MsgType::Non, OBS, 1, b"40");
    s.deliver(DM, &empty(MsgType::Rst, mid_of(&n)));
    s.assert_silent(DM, "a RST is not answered");
    s.set_battery(41);
    s.advance(3_600_000);
    s.assert_silent(DM, "no notification after the RST");
    // The resource is still readable.
    let r = s.req(Code::GET, "3/0/9");
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_05, &[(option::CONTENT_FORMAT, b"")], b"41"));
}

#[test]
fn get_with_observe_1_cancels_and_is_still_answered_2_05() {
    let mut s = registered_with_battery(LONG_LIFETIME, 30);
    s.env.device.set_battery_status(LWM2M_CARRIER_BATTERY_STATUS_NORMAL).unwrap();
    observe_battery(&mut s, OBS, b"30");
    // A second observation, of /3/0/20, with another token.
    let status_token: &[u8] = &[0x0B, 0x52];
    let r = s.req(Code::GET, "3/0/20").observe(0).token(status_token);
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_05, &[(option::OBSERVE, b""), (option::CONTENT_FORMAT, b"")], b"0"));

    // RFC 7641 §3.6: Observe=1 with the observation's token.
    let r = s.req(Code::GET, "3/0/9").observe(1).token(OBS);
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_05, &[(option::CONTENT_FORMAT, b"")], b"30"), "a plain 2.05, no Observe option");
    // TS §5.5.3: Observe=1 naming the path, with a new token.
    let r = s.req(Code::GET, "3/0/20").observe(1).token(&[0x0C]);
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_05, &[(option::CONTENT_FORMAT, b"")], b"0"));

    s.set_battery(40);
    s.env.device.set_battery_status(LWM2M_CARRIER_BATTERY_STATUS_LOW_BATTERY).unwrap();
    s.e.handle_device_changed(s.now, &mut s.env);
    s.pump();
    s.advance(3_600_000);
    s.assert_silent(DM, "both observations cancelled");
}

#[test]
fn a_reset_naming_no_outstanding_message_does_not_abort_the_update() {
    let mut s = registered_with_battery(60, 30);
    observe_battery(&mut s, OBS, b"30");
    s.set_battery(40);
    let n = s.one_sent(DM);
    s.deliver(DM, &empty(MsgType::Rst, mid_of(&n))); // cancels the observation
    s.advance(46_000);
    let upd = s.one_sent(DM);
    assert_eq!(uri_path(&Message::parse(&upd).unwrap()), ["rd", "abc"]);
    // The same RST again (a duplicated datagram) while the Update is out.
    s.deliver(DM, &empty(MsgType::Rst, mid_of(&n)));
    assert!(!s.events.iter().any(|e| matches!(e, Event::Deferred { .. })), "events {:?}", s.events);
    s.advance(2_000);
    assert_eq!(s.one_sent(DM), upd, "the Update is still being retransmitted");
    s.deliver(DM, &server_ack(&upd, Code::CHANGED, &[]));
    s.advance(44_000);
    assert_eq!(uri_path(&Message::parse(&s.one_sent(DM)).unwrap()), ["rd", "abc"], "next Update one lifetime later");
}

// ----- 3. Retransmission and duplicate detection (RFC 7252 §4.2, §4.5) -----

fn error_codes(s: &mut Sim) -> Vec<i64> {
    let r = s.req(Code::GET, "3/0/11").accept(TLV);
    let resp = s.exchange(&r);
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.code, Code::CONTENT);
    let multi = tlv::iter(m.payload).next().unwrap().unwrap();
    assert_eq!((multi.kind, multi.id), (TlvType::MultipleResource, 11));
    tlv::iter(multi.value)
        .map(|t| match tlv::decode_value(t.unwrap().value, ResourceType::Int).unwrap() {
            Value::Int(i) => i,
            v => panic!("{v:?}"),
        })
        .collect()
}

#[test]
fn a_duplicate_request_gets_the_cached_response_without_executing_again() {
    let mut s = registered(LONG_LIFETIME);
    s.env.device.add_error_code(LWM2M_CARRIER_ERROR_CODE_LOW_CHARGE).unwrap();
    assert_eq!(error_codes(&mut s), [LWM2M_CARRIER_ERROR_CODE_LOW_CHARGE as i64]);
    let reset = s.req(Code::POST, "3/0/12");
    let first = s.exchange(&reset);
    assert_eq!(first, ack_of(&reset, C_2_04, &[], b""));
    assert_eq!(error_codes(&mut s), [0]);

    s.env.device.add_error_code(LWM2M_CARRIER_ERROR_CODE_EXTERNAL_SUPPLY_OFF).unwrap();
    // The server did not get our ACK and retransmits: same Message ID.
    assert_eq!(s.exchange(&reset), first, "the cached response, byte for byte");
    assert_eq!(error_codes(&mut s), [LWM2M_CARRIER_ERROR_CODE_EXTERNAL_SUPPLY_OFF as i64], "not executed twice");

    // Likewise Reboot: executed once however often the request arrives.
    let reboot = s.req(Code::POST, "3/0/4");
    let first = s.exchange(&reboot);
    assert_eq!(first, ack_of(&reboot, C_2_04, &[], b""));
    assert_eq!(s.exchange(&reboot), first);
    assert_eq!(s.reboots, 1);
}

/// A retransmitted Observe registration (its ACK was lost) is read again
/// with the observation's current Observe number, not registered again and
/// not cached (RFC 7252 §4.5, RFC 7641 §3.4); a stale copy that arrives after
/// the server cancelled the observation does not bring it back.
#[test]
fn a_duplicate_observe_is_read_again_without_registering_again() {
    let mut s = registered_with_battery(LONG_LIFETIME, 30);
    write_attributes(&mut s, "3/0/9", &["pmin=1"]);
    let obs = s.req(Code::GET, "3/0/9").observe(0).token(OBS);
    let first = s.exchange(&obs);
    assert_eq!(first, ack_of(&obs, C_2_05, &[(option::OBSERVE, b""), (option::CONTENT_FORMAT, b"")], b"30"));
    s.advance(2_000);
    s.set_battery(40);
    notification(&s.one_sent(DM), MsgType::Non, OBS, 1, b"40");
    // The server never got our answer and retransmits: a fresh read under
    // the observation's current number, the same observation.
    assert_eq!(s.exchange(&obs), ack_of(&obs, C_2_05, &[(option::OBSERVE, &uint_bytes(1)), (option::CONTENT_FORMAT, b"")], b"40"));
    s.advance(2_000);
    s.set_battery(45);
    notification(&s.one_sent(DM), MsgType::Non, OBS, 2, b"45");
    // The server cancels; a late copy of the registration is a plain read.
    let cancel = s.req(Code::GET, "3/0/9").observe(1).token(OBS);
    assert_eq!(s.exchange(&cancel), ack_of(&cancel, C_2_05, &[(option::CONTENT_FORMAT, b"")], b"45"));
    assert_eq!(s.exchange(&obs), ack_of(&obs, C_2_05, &[(option::CONTENT_FORMAT, b"")], b"45"), "no Observe: not observing");
    s.advance(2_000);
    s.set_battery(50);
    s.assert_silent(DM, "the cancelled observation stays cancelled");
}

#[test]
fn a_non_request_is_answered_with_a_non_response_carrying_its_token() {
    let mut s = registered_with_battery(LONG_LIFETIME, 64);
    let mut r = s.req(Code::GET, "3/0/9");
    r.mtype = MsgType::Non;
    s.deliver(DM, &r.encode());
    let resp = s.one_sent(DM);
    // RFC 7252 §5.2.3: NON, a Message ID of ours, the request's token.
    assert_eq!(resp, wire(MsgType::Non, C_2_05, mid_of(&resp), &r.token, &[(option::CONTENT_FORMAT, b"")], b"64"));
    assert_ne!(mid_of(&resp), r.mid);
}

#[test]
fn a_request_arriving_while_our_update_is_outstanding_is_served() {
    let mut s = registered_with_battery(60, 77);
    s.advance(46_000);
    let upd = s.one_sent(DM);
    let m = Message::parse(&upd).unwrap();
    assert_eq!((m.mtype, m.code, uri_path(&m)), (MsgType::Con, Code::POST, vec!["rd".to_string(), "abc".into()]));
    let r = s.req(Code::GET, "3/0/9");
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_05, &[(option::CONTENT_FORMAT, b"")], b"77"));
    s.assert_silent(DM, "nothing but the answer");
    s.advance(2_000);
    assert_eq!(s.one_sent(DM), upd, "the Update is still outstanding and retransmitted");
    s.deliver(DM, &server_ack(&upd, Code::CHANGED, &[]));
    s.advance(43_999);
    s.assert_silent(DM, "next Update lifetime - 14 s after the first copy of the last one, not after its answer");
    s.advance(1);
    let next = s.one_sent(DM);
    assert_ne!(mid_of(&next), mid_of(&upd));
}

#[test]
fn an_unanswered_register_is_retransmitted_at_2_and_6_s_then_deferred() {
    let (mut s, reg) = to_register(60);
    let m = Message::parse(&reg).unwrap();
    assert_eq!((m.mtype, m.code, uri_path(&m)), (MsgType::Con, Code::POST, vec!["rd".to_string()]));
    s.advance(1_999);
    s.assert_silent(DM, "before ACK_TIMEOUT");
    s.advance(1);
    assert_eq!(s.one_sent(DM), reg, "first retransmission after 2 s, identical");
    s.advance(3_999);
    s.assert_silent(DM, "timeout doubled to 4 s");
    s.advance(1);
    assert_eq!(s.one_sent(DM), reg, "second retransmission 4 s later");
    s.advance(7_999);
    s.assert_silent(DM, "MAX_RETRANSMIT is 2");
    assert!(s.events.iter().all(|e| !matches!(e, Event::Deferred { .. })));
    s.advance(1);
    assert_eq!(s.events.last(), Some(&Event::Deferred { reason: LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION, timeout_s: 30 }));
    assert_eq!(s.closed.last(), Some(&DM));
    s.assert_silent(DM, "gave up");
    // After the deferral: a new connection and a new Register.
    s.advance(30_000);
    assert_eq!(s.opened.iter().filter(|o| o.0 == DM).count(), 2);
    let again = s.one_sent(DM);
    assert_ne!(mid_of(&again), mid_of(&reg), "a new message, not a retransmission");
    assert_eq!(uri_path(&Message::parse(&again).unwrap()), ["rd"]);
}

// ----- 4. Block-wise transfers (RFC 7959) -----------------------------------

/// The Device object at its largest through the setters: 200-character
/// strings (c-api.md §2.7 limit) and all eight error codes.
fn big_device(s: &mut Sim) {
    let long = |c: char| core::iter::repeat_n(c, 200).collect::<String>();
    s.env.device.set_device_type(Some(&long('T'))).unwrap();
    s.env.device.set_hardware_version(Some(&long('H'))).unwrap();
    s.env.device.set_software_version(Some(&long('S'))).unwrap();
    for c in 1..=8 {
        s.env.device.add_error_code(c).unwrap();
    }
}

/// ACK 2.05 with ETag, Content-Format JSON and Block2 (RFC 7959 §2.4).
fn block2_answer(r: &Req, resp: &[u8], block: u32, payload: &[u8]) -> [u8; 4] {
    let m = Message::parse(resp).unwrap();
    let etag: [u8; 4] = m.option(option::ETAG).expect("ETag").try_into().expect("4-byte ETag");
    let expected = ack_of(
        r,
        C_2_05,
        &[(option::ETAG, &etag), (option::CONTENT_FORMAT, &uint_bytes(JSON as u32)), (option::BLOCK2, &uint_bytes(block))],
        payload,
    );
    assert_eq!(resp, &expected[..]);
    etag
}

#[test]
fn a_read_larger_than_1024_bytes_goes_block_wise_with_an_etag() {
    let mut s = registered(LONG_LIFETIME);
    big_device(&mut s);
    // What the whole body is: the same read with a small block size, all blocks.
    let mut body = Vec::new();
    for num in 0.. {
        let r = s.req(Code::GET, "3/0").accept(JSON).block2(num, false, 4);
        let resp = s.exchange(&r);
        let m = Message::parse(&resp).unwrap();
        assert_eq!(m.code, Code::CONTENT);
        body.extend_from_slice(m.payload);
        if !m.block2().unwrap().more {
            break;
        }
    }
    assert!(body.len() > 1024 && body.len() <= 2048, "precondition: two 1024-byte blocks, body {}", body.len());
    assert!(body.starts_with(b"{\"bn\":\"/3/0/\",\"e\":[") && body.ends_with(b"]}"));
    let entries = json::decode(&body).expect("the blocks join into one JSON document");
    let device_type = entries.iter().find(|e| e.path == Path::Resource(3, 0, 17)).unwrap();
    assert_eq!(device_type.value, json::JsonValue::Str(core::iter::repeat_n('T', 200).collect::<String>().into()));

    // No Block2 in the request: block 0 of 1024 bytes, M set.
    let r = s.req(Code::GET, "3/0").accept(JSON);
    let resp = s.exchange(&r);
    let etag = block2_answer(&r, &resp, block_value(0, true, 6), &body[..1024]);
    // The server asks for the next block: the rest, M clear, same ETag.
    let r = s.req(Code::GET, "3/0").accept(JSON).block2(1, false, 6);
    let resp = s.exchange(&r);
    assert_eq!(block2_answer(&r, &resp, block_value(1, false, 6), &body[1024..]), etag);
    // A block past the end: 4.02 Bad Option.
    let r = s.req(Code::GET, "3/0").accept(JSON).block2(2, false, 6);
    assert_eq!(s.exchange(&r), ack_of(&r, C_4_02, &[], b""));
    // Late negotiation (§2.4): 256-byte blocks from the start.
    let r = s.req(Code::GET, "3/0").accept(JSON).block2(1, false, 4);
    let resp = s.exchange(&r);
    assert_eq!(block2_answer(&r, &resp, block_value(1, true, 4), &body[256..512]), etag);
    // The representation changes between blocks: a new ETag tells the server.
    s.env.device.set_device_type(Some("Smart Device")).unwrap();
    let r = s.req(Code::GET, "3/0").accept(JSON).block2(0, false, 4);
    let resp = s.exchange(&r);
    let changed = Message::parse(&resp).unwrap().option(option::ETAG).unwrap().to_vec();
    assert_ne!(changed, etag, "ETag follows the body");
}

/// /1/0 as TLV with 8-byte integers (Appendix C allows 1, 2, 4 or 8):
/// 50 bytes, so four blocks of 16.
fn server_write_tlv(lifetime: i64, pmin: i64, pmax: i64, disable_timeout: i64, storing: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, v) in [(1u8, lifetime), (2, pmin), (3, pmax), (5, disable_timeout)] {
        out.extend_from_slice(&[0xC8, id, 8]);
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&[0xC1, 6, storing as u8, 0xC1, 7, b'U']);
    out
}

/// Read /1/0 as TLV: (lifetime, pmin, pmax, disable timeout, storing, binding).
fn server_values(s: &mut Sim) -> (i64, i64, i64, i64, bool, String) {
    let r = s.req(Code::GET, "1/0").accept(TLV);
    let resp = s.exchange(&r);
    let m = Message::parse(&resp).unwrap();
    assert_eq!((m.code, m.content_format()), (Code::CONTENT, Some(TLV)));
    let mut ints = BTreeMap::new();
    let (mut storing, mut binding) = (None, None);
    for t in tlv::iter(m.payload) {
        let t = t.unwrap();
        match t.id {
            6 => storing = Some(t.value == [1]),
            7 => binding = Some(String::from_utf8(t.value.to_vec()).unwrap()),
            id => {
                let Value::Int(i) = tlv::decode_value(t.value, ResourceType::Int).unwrap() else { panic!() };
                ints.insert(id, i);
            }
        }
    }
    (ints[&1], ints[&2], ints[&3], ints[&5], storing.unwrap(), binding.unwrap())
}

#[test]
fn a_block1_write_is_continued_block_by_block_and_applied_at_the_last() {
    let mut s = registered(LONG_LIFETIME);
    let body = server_write_tlv(LONG_LIFETIME, 15, 300, 7, true);
    assert_eq!(body.len(), 50);
    for num in 0..4u32 {
        let last = num == 3;
        let chunk = &body[num as usize * 16..body.len().min(num as usize * 16 + 16)];
        let r = s.req(Code::PUT, "1/0").cf(TLV).block1(num, !last, 0).body(chunk);
        let resp = s.exchange(&r);
        // §2.3: 2.31 Continue echoing the block (M set) until the last, then 2.04.
        let code = if last { C_2_04 } else { C_2_31 };
        assert_eq!(resp, ack_of(&r, code, &[(option::BLOCK1, &uint_bytes(block_value(num, !last, 0)))], b""), "block {num}");
        if !last {
            assert_eq!(server_values(&mut s).1, 0, "atomic: nothing applied before the last block");
        }
    }
    assert_eq!(server_values(&mut s), (LONG_LIFETIME, 15, 300, 7, true, "U".into()));
    s.assert_silent(DM, "same lifetime and binding: no Update");
}

#[test]
fn a_block1_gap_is_4_08_and_the_transfer_can_go_on() {
    let mut s = registered(LONG_LIFETIME);
    let body = server_write_tlv(LONG_LIFETIME, 16, 320, 8, true);
    let r = s.req(Code::PUT, "1/0").cf(TLV).block1(0, true, 0).body(&body[..16]);
    assert_eq!(code_of(&s.exchange(&r)), Code::CONTINUE);
    // Block 2 before block 1: 4.08 Request Entity Incomplete (§2.9.2).
    let r = s.req(Code::PUT, "1/0").cf(TLV).block1(2, true, 0).body(&body[32..48]);
    assert_eq!(s.exchange(&r), ack_of(&r, C_4_08, &[], b""));
    for num in 1..4u32 {
        let last = num == 3;
        let chunk = &body[num as usize * 16..body.len().min(num as usize * 16 + 16)];
        let r = s.req(Code::PUT, "1/0").cf(TLV).block1(num, !last, 0).body(chunk);
        assert_eq!(code_of(&s.exchange(&r)), if last { Code::CHANGED } else { Code::CONTINUE });
    }
    assert_eq!(server_values(&mut s), (LONG_LIFETIME, 16, 320, 8, true, "U".into()));
}

#[test]
fn a_block1_body_over_the_limit_is_4_13_with_size1() {
    let max = crate::limits::MAX_BLOCK1_BODY;
    let size1 = (max as u16).to_be_bytes();
    let mut s = registered(LONG_LIFETIME);
    // Announced by Size1 (§4): refused at the first block.
    let r = s.req(Code::PUT, "1/0").cf(TLV).block1(0, true, 0).uint(option::SIZE1, max as u32 + 1).body(&[0u8; 16]);
    assert_eq!(s.exchange(&r), ack_of(&r, C_4_13, &[(option::SIZE1, &size1)], b""));
    // Not announced: refused when the body grows past the limit.
    let block = [0xC1u8; 1024];
    for num in 0..(max / 1024) as u32 {
        let r = s.req(Code::PUT, "1/0").cf(TLV).block1(num, true, 6).body(&block);
        assert_eq!(code_of(&s.exchange(&r)), Code::CONTINUE, "block {num}");
    }
    let r = s.req(Code::PUT, "1/0").cf(TLV).block1((max / 1024) as u32, false, 6).body(&block[..1]);
    assert_eq!(s.exchange(&r), ack_of(&r, C_4_13, &[(option::SIZE1, &size1)], b""));
    assert_eq!(server_values(&mut s).1, 0, "nothing written");
}

/// A value past `MAX_WRITE_VALUE_LEN` in a single-datagram write is 4.13
/// too, and every 4.13 carries Size1 (RFC 7959 §2.9.3; the fuzzer found
/// these going out without one).
#[test]
fn a_value_over_its_limit_is_4_13_with_size1() {
    let size1 = (crate::limits::MAX_BLOCK1_BODY as u16).to_be_bytes();
    let mut s = registered(LONG_LIFETIME);
    let r = s.req(Code::PUT, "3/0/15").cf(TEXT).body(&[b'x'; crate::limits::MAX_WRITE_VALUE_LEN + 1]);
    assert_eq!(s.exchange(&r), ack_of(&r, C_4_13, &[(option::SIZE1, &size1)], b""));
}

// ----- 5. Disable and notification storing (TS §5.3.3, E.2 /1/x/4-6) -------

/// Disable /1/0/4: 2.04 first, then De-register (DELETE /rd/abc); the
/// server answers 2.02 and the connection is closed.
fn disable(s: &mut Sim) {
    let r = s.req(Code::POST, "1/0/4");
    s.deliver(DM, &r.encode());
    let sent = s.take_sent(DM);
    assert_eq!(sent.len(), 2, "{sent:02x?}");
    assert_eq!(sent[0], ack_of(&r, C_2_04, &[], b""), "the answer goes first");
    let m = Message::parse(&sent[1]).unwrap();
    assert_eq!((m.mtype, m.code, uri_path(&m), m.payload), (MsgType::Con, Code::DELETE, vec!["rd".to_string(), "abc".into()], &b""[..]));
    s.deliver(DM, &server_ack(&sent[1], Code::DELETED, &[]));
    assert_eq!(s.closed.last(), Some(&DM));
}

#[test]
fn a_disabled_server_is_deregistered_and_registers_again_after_the_disable_timeout() {
    let mut s = registered(LONG_LIFETIME);
    let r = s.req(Code::PUT, "1/0/5").cf(TEXT).body(b"5");
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_04, &[], b""));
    disable(&mut s);
    let opened = s.opened.len();
    s.advance(4_999);
    assert_eq!(s.opened.len(), opened, "disabled for 5 s");
    s.assert_silent(DM, "disabled");
    s.advance(1);
    assert_eq!(s.opened.last().map(|o| o.0), Some(DM));
    let reg = s.one_sent(DM);
    let m = Message::parse(&reg).unwrap();
    assert_eq!((m.code, uri_path(&m)), (Code::POST, vec!["rd".to_string()]), "a new Register, not an Update");
    s.deliver(DM, &server_ack(&reg, Code::CREATED, &["rd", "def"]));
    // The new location is used from now on.
    let r = s.req(Code::POST, "1/0/8");
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_04, &[], b""));
    assert_eq!(uri_path(&Message::parse(&s.one_sent(DM)).unwrap()), ["rd", "def"]);
}

#[test]
fn a_change_while_disabled_is_notified_after_registering_again_when_storing_is_on() {
    let mut s = registered_with_battery(LONG_LIFETIME, 30);
    for (path, value) in [("1/0/5", &b"5"[..]), ("1/0/6", b"1")] {
        let r = s.req(Code::PUT, path).cf(TEXT).body(value);
        assert_eq!(s.exchange(&r), ack_of(&r, C_2_04, &[], b""), "{path}");
    }
    observe_battery(&mut s, OBS, b"30");
    disable(&mut s);
    s.set_battery(60);
    s.assert_silent(DM, "no notification while disabled");
    s.advance(5_000);
    let reg = s.one_sent(DM);
    s.deliver(DM, &server_ack(&reg, Code::CREATED, &["rd", "def"]));
    s.advance(0); // the driver's next poll_timeout is now
    let sent = s.take_sent(DM);
    assert_eq!(sent.len(), 1, "the stored notification: {sent:02x?}");
    notification(&sent[0], MsgType::Non, OBS, 1, b"60");
}

#[test]
fn no_notification_is_sent_while_the_server_is_disabled() {
    let mut s = registered_with_battery(LONG_LIFETIME, 30);
    let r = s.req(Code::PUT, "1/0/5").cf(TEXT).body(b"5");
    assert_eq!(code_of(&s.exchange(&r)), Code::CHANGED);
    write_attributes(&mut s, "3/0/9", &["pmax=1"]);
    observe_battery(&mut s, OBS, b"30");
    disable(&mut s);
    s.set_battery(60);
    s.advance(4_999);
    s.assert_silent(DM, "neither the change nor pmax is notified while disabled");
}

// ----- 6. Write semantics and response codes (TS §5.4, §6.4) ----------------

#[test]
fn post_updates_some_resources_and_put_replaces_them_in_tlv_and_json() {
    let mut s = registered(LONG_LIFETIME);
    assert_eq!(server_values(&mut s), (LONG_LIFETIME, 0, 0, 86_400, false, "U".into()));
    // Partial update (POST) in TLV: only pmin changes.
    let r = s.req(Code::POST, "1/0").cf(TLV).body(&[0xC1, 2, 10]);
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_04, &[], b""));
    assert_eq!(server_values(&mut s), (LONG_LIFETIME, 10, 0, 86_400, false, "U".into()));
    // Partial update in JSON: only pmax changes.
    let r = s.req(Code::POST, "1/0").cf(JSON).body(br#"{"bn":"/1/0/","e":[{"n":"3","v":120}]}"#);
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_04, &[], b""));
    assert_eq!(server_values(&mut s), (LONG_LIFETIME, 10, 120, 86_400, false, "U".into()));
    // Replace (PUT) of the whole instance in TLV.
    let r = s.req(Code::PUT, "1/0").cf(TLV).body(&server_write_tlv(LONG_LIFETIME, 20, 240, 30, true));
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_04, &[], b""));
    assert_eq!(server_values(&mut s), (LONG_LIFETIME, 20, 240, 30, true, "U".into()));
    // Replace in JSON.
    let json = br#"{"bn":"/1/0/","e":[{"n":"1","v":200000},{"n":"2","v":25},{"n":"3","v":250},{"n":"5","v":35},{"n":"6","bv":false},{"n":"7","sv":"U"}]}"#;
    let r = s.req(Code::PUT, "1/0").cf(JSON).body(json);
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_04, &[], b""));
    assert_eq!(server_values(&mut s), (LONG_LIFETIME, 25, 250, 35, false, "U".into()));
    // Replace of one resource in plain text.
    let r = s.req(Code::PUT, "1/0/2").cf(TEXT).body(b"5");
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_04, &[], b""));
    assert_eq!(server_values(&mut s).1, 5);
}

#[test]
fn a_refused_write_changes_nothing() {
    let mut s = registered(LONG_LIFETIME);
    // A good pmin, then a lifetime below the 10 s minimum.
    let r = s.req(Code::POST, "1/0").cf(TLV).body(&[0xC1, 2, 99, 0xC1, 1, 1]);
    assert_eq!(s.exchange(&r), ack_of(&r, 0x80, &[], b""), "4.00 Bad Request");
    assert_eq!(server_values(&mut s), (LONG_LIFETIME, 0, 0, 86_400, false, "U".into()), "nothing written");
}

#[test]
fn put_on_an_instance_resets_the_optional_resources_it_does_not_carry() {
    let mut s = registered(LONG_LIFETIME);
    let r = s.req(Code::POST, "1/0").cf(TLV).body(&server_write_tlv(LONG_LIFETIME, 20, 240, 30, true));
    assert_eq!(code_of(&s.exchange(&r)), Code::CHANGED);
    // Only the mandatory writable resources: lifetime, storing, binding.
    let mut body = Vec::new();
    tlv::write_value(&mut body, TlvType::ResourceValue, 1, &Value::Int(LONG_LIFETIME));
    tlv::write_value(&mut body, TlvType::ResourceValue, 6, &Value::Bool(true));
    tlv::write_value(&mut body, TlvType::ResourceValue, 7, &Value::Str("U"));
    let r = s.req(Code::PUT, "1/0").cf(TLV).body(&body);
    assert_eq!(code_of(&s.exchange(&r)), Code::CHANGED);
    assert_eq!(server_values(&mut s), (LONG_LIFETIME, 0, 0, 86_400, true, "U".into()));
}

#[test]
fn an_unknown_content_format_is_4_15() {
    let mut s = registered(LONG_LIFETIME);
    let cases: [(Code, &str, u16, &[u8]); 5] = [
        (Code::PUT, "1/0/1", 50, b"{}"),         // application/json is not LwM2M JSON
        (Code::POST, "1/0", 9999, b"x"),         // unregistered number
        (Code::PUT, "1/0", LINK, b"</1/0>"),     // link format carries no values
        (Code::PUT, "1/0/1", OPAQUE, b"\x00\x3c"), // opaque for an Integer resource
        (Code::PUT, "3/0/13", 50, b"1"),
    ];
    for (code, path, cf, body) in cases {
        let r = s.req(code, path).cf(cf).body(body);
        assert_eq!(s.exchange(&r), ack_of(&r, C_4_15, &[], b""), "{code:?} {path} cf {cf}");
    }
    assert_eq!(server_values(&mut s), (LONG_LIFETIME, 0, 0, 86_400, false, "U".into()));
}

#[test]
fn an_accept_that_cannot_carry_the_answer_is_4_06() {
    let mut s = registered(LONG_LIFETIME);
    let cases: [(&str, u16); 5] = [
        ("3/0", TEXT),     // an instance is not one plain-text value
        ("3/0/6", TEXT),   // nor is a multiple resource
        ("3/0/9", OPAQUE), // an Integer is not opaque
        ("1/0/1", 50),     // application/json
        ("3/0/9", 9999),   // unknown number
    ];
    for (path, accept) in cases {
        let r = s.req(Code::GET, path).accept(accept);
        assert_eq!(s.exchange(&r), ack_of(&r, C_4_06, &[], b""), "GET {path} accept {accept}");
    }
    // An Observe with such an Accept sets up nothing.
    let r = s.req(Code::GET, "3/0").accept(TEXT).observe(0).token(OBS);
    assert_eq!(s.exchange(&r), ack_of(&r, C_4_06, &[], b""));
    s.env.device.set_device_type(Some("changed")).unwrap();
    s.e.handle_device_changed(s.now, &mut s.env);
    s.pump();
    s.assert_silent(DM, "no observation");
}

#[test]
fn an_operation_the_resource_does_not_allow_is_4_05() {
    let mut s = registered(LONG_LIFETIME);
    let cases: [(Code, &str, Option<u16>, &[u8]); 7] = [
        (Code::PUT, "3/0/9", Some(TEXT), b"5"),        // Battery Level is read-only
        (Code::PUT, "1/0/0", Some(TEXT), b"7"),        // Short Server ID is read-only
        (Code::PUT, "3/0", Some(TLV), &[0xC1, 9, 5]),  // read-only inside an instance write
        (Code::POST, "3/0/9", None, b""),              // Execute on a readable resource
        (Code::POST, "1/0/1", None, b""),              // Execute on a writable one
        (Code::GET, "3/0/4", None, b""),               // Read of an executable one
        (Code::DELETE, "3/0", None, b""),              // the Device instance cannot go
    ];
    for (code, path, cf, body) in cases {
        let mut r = s.req(code, path).body(body);
        if let Some(cf) = cf {
            r = r.cf(cf);
        }
        assert_eq!(s.exchange(&r), ack_of(&r, C_4_05, &[], b""), "{code:?} {path}");
    }
    assert_eq!(s.reboots, 0);
    assert_eq!(server_values(&mut s).0, LONG_LIFETIME);
}

#[test]
fn an_unknown_object_instance_or_resource_is_4_04() {
    let mut s = registered(LONG_LIFETIME);
    let cases: [(Code, &str, Option<u16>, &[u8]); 9] = [
        (Code::GET, "42", None, b""),
        (Code::GET, "3/1", None, b""),
        (Code::GET, "1/7", None, b""),
        (Code::GET, "3/0/99", None, b""),
        (Code::GET, "3/0/6/7", None, b""),          // no 8th power source
        (Code::PUT, "1/0/99", Some(TEXT), b"1"),
        (Code::PUT, "1/3", Some(TLV), &[0xC1, 2, 1]), // a server may not create by Write
        (Code::POST, "3/0/99", None, b""),          // Execute
        (Code::DELETE, "1/7", None, b""),
    ];
    for (code, path, cf, body) in cases {
        let mut r = s.req(code, path).body(body);
        if let Some(cf) = cf {
            r = r.cf(cf);
        }
        assert_eq!(s.exchange(&r), ack_of(&r, C_4_04, &[], b""), "{code:?} {path}");
    }
    let r = s.req(Code::PUT, "3/0/99").query("pmin=1");
    assert_eq!(s.exchange(&r), ack_of(&r, C_4_04, &[], b""), "Write-Attributes");
    let r = s.req(Code::GET, "3/1").observe(0);
    assert_eq!(s.exchange(&r), ack_of(&r, C_4_04, &[], b""), "Observe");
}

#[test]
fn every_operation_on_the_security_object_is_4_01() {
    let mut s = registered(LONG_LIFETIME);
    let before = s.e.objects().security.clone();
    let requests = [
        s.req(Code::GET, "0"),
        s.req(Code::GET, "0/1"),
        s.req(Code::GET, "0/1/0"),
        s.req(Code::GET, "0/1").accept(LINK),     // Discover
        s.req(Code::GET, "0/1/5").observe(0),     // Observe
        s.req(Code::PUT, "0/1/0").cf(TEXT).body(b"coap://evil.example"),
        s.req(Code::POST, "0/1").cf(TLV).body(&[0xC1, 10, 9]),
        s.req(Code::POST, "0").cf(TLV).body(&[0x08, 7, 3, 0xC1, 10, 9]), // Create
        s.req(Code::POST, "0/1/0"),               // Execute
        s.req(Code::DELETE, "0/1"),
        s.req(Code::PUT, "0/1").query("pmin=5"),  // Write-Attributes
    ];
    for r in &requests {
        assert_eq!(s.exchange(r), ack_of(r, C_4_01, &[], b""), "{r:?}");
    }
    assert_eq!(s.e.objects().security, before);
}

#[test]
fn an_unknown_critical_option_is_4_02_and_nothing_is_done() {
    let mut s = registered(LONG_LIFETIME);
    // Option 9 is unassigned and odd, hence critical (RFC 7252 §5.4.1, §5.4.6).
    let r = s.req(Code::GET, "3/0/9").opt(9, b"x");
    assert_eq!(s.exchange(&r), ack_of(&r, C_4_02, &[], b""));
    let r = s.req(Code::POST, "3/0/4").opt(9, b"");
    assert_eq!(s.exchange(&r), ack_of(&r, C_4_02, &[], b""));
    assert_eq!(s.reboots, 0, "the Execute is not performed");
    let r = s.req(Code::PUT, "1/0/2").cf(TEXT).opt(9, b"").body(b"30");
    assert_eq!(s.exchange(&r), ack_of(&r, C_4_02, &[], b""));
    assert_eq!(server_values(&mut s).1, 0, "the Write is not performed");
    // An unknown elective (even) option is ignored.
    let r = s.req(Code::GET, "3/0/9").opt(2048, b"x");
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_05, &[(option::CONTENT_FORMAT, b"")], b"0"));
}

// ----- 7. Bootstrap-Request Trigger (/1/x/9) --------------------------------

/// A re-bootstrap that fails returns the objects to what they were when its
/// Bootstrap-Request went out, a DM server's earlier write included (the
/// copy is taken then, not kept from the last boot).
#[test]
fn a_failed_re_bootstrap_returns_to_the_configuration_just_before_it() {
    let mut s = registered(LONG_LIFETIME);
    let r = s.req(Code::PUT, "1/0/1").cf(TEXT).body(b"7200");
    assert_eq!(code_of(&s.exchange(&r)), Code::CHANGED);
    let r = s.req(Code::POST, "1/0/9");
    s.deliver(DM, &r.encode());
    let dereg = s.last_sent(DM);
    s.deliver(DM, &server_ack(&dereg, Code::DELETED, &[]));
    let bs_req = s.one_sent(BOOTSTRAP_CONN);
    s.deliver(BOOTSTRAP_CONN, &server_ack(&bs_req, Code::CHANGED, &[]));
    let r = s.req(Code::PUT, "1/0").cf(TLV).body(&server_tlv(1, 60));
    s.deliver(BOOTSTRAP_CONN, &r.encode());
    assert_eq!(code_of(&s.take_sent(BOOTSTRAP_CONN)[0]), Code::CHANGED);
    assert_eq!(s.e.objects().server.instances[0].lifetime_s, 60, "the bootstrap server's write, for now");
    // The bootstrap server goes silent: the bootstrap gives up and rolls back.
    s.advance(200_000);
    assert!(s.deferred().iter().any(|(r, _)| *r == LWM2M_CARRIER_DEFERRED_BOOTSTRAP_SEQUENCE), "{:?}", s.events);
    assert_eq!(s.e.objects().server.instances[0].lifetime_s, 7200, "back to the DM server's write");
}

#[test]
fn bootstrap_request_trigger_deregisters_then_bootstraps_again() {
    let mut s = registered(LONG_LIFETIME);
    let r = s.req(Code::POST, "1/0/9");
    s.deliver(DM, &r.encode());
    let sent = s.take_sent(DM);
    assert_eq!(sent.len(), 2, "{sent:02x?}");
    assert_eq!(sent[0], ack_of(&r, C_2_04, &[], b""), "answered first");
    let m = Message::parse(&sent[1]).unwrap();
    assert_eq!((m.mtype, m.code, uri_path(&m)), (MsgType::Con, Code::DELETE, vec!["rd".to_string(), "abc".into()]));
    s.assert_silent(BOOTSTRAP_CONN, "no bootstrap before the De-register is answered");
    s.deliver(DM, &server_ack(&sent[1], Code::DELETED, &[]));
    assert_eq!(s.closed.last(), Some(&DM));
    assert_eq!(s.opened.last().map(|o| o.0), Some(BOOTSTRAP_CONN));
    // A complete new bootstrap, then a Register (not an Update: the old location is gone).
    serve_bootstrap(&mut s, 3600);
    assert_eq!(s.events.iter().filter(|e| **e == Event::Bootstrapped).count(), 2);
    let reg = s.one_sent(DM);
    let m = Message::parse(&reg).unwrap();
    assert_eq!((m.code, uri_path(&m)), (Code::POST, vec!["rd".to_string()]));
    assert!(m.options_of(option::URI_QUERY).any(|q| q == b"lt=3600"), "the new account's lifetime");
}

#[test]
fn bootstrap_request_trigger_bootstraps_even_if_the_deregister_is_not_answered() {
    let mut s = registered(LONG_LIFETIME);
    let r = s.req(Code::POST, "1/0/9");
    assert_eq!(s.exchange(&r), ack_of(&r, C_2_04, &[], b""));
    let dereg = s.one_sent(DM);
    assert_eq!(code_of(&dereg), Code::DELETE);
    s.advance(13_999);
    assert_eq!(s.take_sent(DM), [dereg.clone(), dereg], "retransmitted at 2 s and 6 s");
    s.assert_silent(BOOTSTRAP_CONN, "still de-registering");
    s.advance(1);
    let bs = s.one_sent(BOOTSTRAP_CONN);
    let m = Message::parse(&bs).unwrap();
    assert_eq!((m.code, uri_path(&m)), (Code::POST, vec!["bs".to_string()]));
    assert_eq!(m.options_of(option::URI_QUERY).collect::<Vec<_>>(), [format!("ep={EP}").as_bytes()]);
}

#[test]
fn sessions_rebuilt_after_a_bootstrap_use_new_message_ids() {
    // The first Register's MID, from a fresh run of the same (seeded) engine.
    let first_register_mid = mid_of(&to_register(LONG_LIFETIME).1);

    let mut s = registered(LONG_LIFETIME);
    let r = s.req(Code::POST, "1/0/9");
    s.exchange(&r);
    let dereg = s.one_sent(DM);
    s.deliver(DM, &server_ack(&dereg, Code::DELETED, &[]));
    serve_bootstrap(&mut s, LONG_LIFETIME);
    let register = s.one_sent(DM);
    assert_eq!(code_of(&register), Code::POST);
    // RFC 7252 §4.5: the server still remembers the first Register's MID and
    // would answer a reuse from its duplicate cache with the old location.
    assert_ne!(mid_of(&register), first_register_mid);
}

/// Well-formed CoAP requests with random codes, paths, options and payloads
/// reach every device-management path; none may panic, and every CON
/// request gets an answer (RFC 7252 §4.2).
#[test]
fn random_well_formed_requests_never_panic_and_are_always_answered() {
    let mut s = registered(LONG_LIFETIME);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let codes = [Code::GET, Code::POST, Code::PUT, Code::DELETE];
    let formats = [0u32, 40, 42, 11542, 11543, 1542, 60, 9999];
    for round in 0..20_000u32 {
        let r0 = next();
        let depth = (r0 % 5) as usize;
        let mut path = String::new();
        for k in 0..depth {
            let id = match (next() % 6, k) {
                (0, _) => next() % 70_000,
                (_, 0) => [0u64, 1, 2, 3, 4, 5, 7, 9][(next() % 8) as usize],
                (_, 1) => next() % 3,
                _ => next() % 25,
            };
            path.push_str(&id.to_string());
            path.push('/');
        }
        let mut r = s.req(codes[(r0 >> 8) as usize % 4], &path);
        if next() % 3 == 0 {
            r = r.accept(formats[(next() % 8) as usize] as u16);
        }
        if next() % 4 == 0 {
            r = r.observe((next() % 3) as u32);
        }
        if next() % 5 == 0 {
            r = r.query(["pmin=1", "pmax=2", "gt=5", "lt=x", "st=-1", "pmin", "bogus=1"][(next() % 7) as usize]);
        }
        if next() % 6 == 0 {
            r = r.block1((next() % 4) as u32, next() % 2 == 0, (next() % 7) as u8);
        }
        if next() % 6 == 0 {
            r = r.block2((next() % 4) as u32, false, (next() % 7) as u8);
        }
        if next() % 2 == 0 {
            r = r.cf(formats[(next() % 8) as usize] as u16);
            let len = (next() % 48) as usize;
            let body: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            r = r.body(&body);
        }
        // Never reboot, reset or disable mid-test: those paths have their own tests.
        if matches!(path.as_str(), "3/0/4/" | "3/0/5/" | "1/0/4/" | "1/0/9/") && r.code == Code::POST {
            continue;
        }
        s.deliver(DM, &r.encode());
        let answered = s.sent.iter().any(|(c, d)| *c == DM && Message::parse(d).is_ok_and(|m| m.mtype == MsgType::Ack && m.mid == r.mid));
        assert!(answered, "round {round}: no answer to {:02x?}", r.encode());
        s.sent.clear();
        s.advance(50);
    }
    assert!(!s.e.is_stopped());
}

/// Set the battery to each level in turn; each step notifies (with the next
/// Observe number and the level as text) or stays silent, as given.
fn battery_steps(s: &mut Sim, steps: &[(u8, bool)]) {
    let mut seq = 0;
    for &(level, notifies) in steps {
        s.set_battery(level);
        let sent = s.take_sent(DM);
        if notifies {
            seq += 1;
            assert_eq!(sent.len(), 1, "battery {level}");
            notification(&sent[0], MsgType::Non, OBS, seq, level.to_string().as_bytes());
        } else {
            assert!(sent.is_empty(), "battery {level} must not notify: {sent:02x?}");
        }
    }
}

#[test]
fn observations_survive_a_reboot_when_the_registration_does() {
    let mut s = registered_with_battery(LONG_LIFETIME, 50);
    write_attributes(&mut s, "3/0/9", &["pmin=1"]);
    observe_battery(&mut s, OBS, b"50");
    // Reboot: a new engine on the same storage comes back with an Update.
    let mut s2 = s.rebooted();
    s2.env.device = s.env.device.clone();
    s2.boot();
    let upd = s2.one_sent(DM);
    assert_eq!(uri_path(&Message::parse(&upd).unwrap()), ["rd", "abc"]);
    s2.deliver(DM, &server_ack(&upd, Code::CHANGED, &[]));
    s2.advance(1_000);
    s2.set_battery(70);
    let sent = s2.take_sent(DM);
    assert_eq!(sent.len(), 1, "the restored observation notifies: {sent:02x?}");
    let m = Message::parse(&sent[0]).unwrap();
    assert_eq!(m.token, OBS, "the server's token");
    assert!(m.observe().unwrap() >= 1 << 22, "Observe jumps ahead of any number sent before the reboot");
    assert_eq!(m.payload, b"70");
}

#[test]
fn an_observed_modem_value_is_read_from_the_modem_once_per_answer() {
    let mut s = registered(LONG_LIFETIME);
    s.env.at_answers.insert("AT+CESQ".into(), "+CESQ: 99,99,255,255,31,60".into());
    write_attributes(&mut s, "4/0/2", &["pmax=5"]);
    s.env.at_sent.clear();
    let r = s.req(Code::GET, "4/0/2").observe(0).token(OBS);
    let answer = s.exchange(&r);
    assert_eq!(Message::parse(&answer).unwrap().payload, b"-81");
    assert_eq!(s.env.at_sent, ["AT+CESQ"], "one AT+CESQ for the Observe response");
    s.env.at_sent.clear();
    s.advance(5_000);
    assert_eq!(s.take_sent(DM).len(), 1, "the pmax notification");
    assert_eq!(s.env.at_sent, ["AT+CESQ"], "one AT+CESQ for the notification");
}

// ----- Reliability: hostile requests, bounded memory (issue #6) -----

/// Regression: `+:::::` as UTC Offset indexed out of bounds in
/// `parse_utc_offset`; one plain-text, TLV or JSON write rebooted the device.
#[test]
fn a_malformed_utc_offset_is_refused_in_every_format() {
    let mut s = registered(LONG_LIFETIME);
    let r = s.req(Code::PUT, "3/0/14").cf(TEXT).body(b"+:::::");
    assert_eq!(code_of(&s.exchange(&r)), Code::BAD_REQUEST);
    let mut tlv_body = Vec::new();
    tlv::write_value(&mut tlv_body, TlvType::ResourceValue, 14, &Value::Str("+:::::"));
    let r = s.req(Code::POST, "3/0").cf(TLV).body(&tlv_body);
    assert_eq!(code_of(&s.exchange(&r)), Code::BAD_REQUEST);
    let r = s.req(Code::POST, "3/0").cf(JSON).body(br#"{"bn":"/3/0/","e":[{"n":"14","sv":"+1::::"}]}"#);
    assert_eq!(code_of(&s.exchange(&r)), Code::BAD_REQUEST);
    assert_eq!(s.env.offset, 60, "the offset is unchanged");
    let r = s.req(Code::PUT, "3/0/14").cf(TEXT).body(b"+05:30");
    assert_eq!(code_of(&s.exchange(&r)), Code::CHANGED);
    assert_eq!(s.env.offset, 330);
}

/// Regression: a 1084-byte POST to /3/0 with 360 TLV values of a read-only
/// resource allocated 32 KB before it was answered 4.05. Now it is refused
/// at its first value, and a flood of writable values stops at the limit.
#[test]
fn a_write_flood_is_refused_before_it_is_built() {
    let mut s = registered(LONG_LIFETIME);
    let mut flood = Vec::new();
    for _ in 0..360 {
        tlv::write_value(&mut flood, TlvType::ResourceValue, 0, &Value::Str(""));
    }
    assert!(flood.len() <= 1152);
    let r = s.req(Code::POST, "3/0").cf(TLV).body(&flood);
    let (resp, peak) = crate::test_alloc::peak_of(|| s.exchange(&r));
    assert_eq!(code_of(&resp), Code::METHOD_NOT_ALLOWED);
    assert!(peak < 3 * 1024, "read-only flood: {peak} bytes of heap");

    let mut writable = Vec::new();
    for _ in 0..200 {
        tlv::write_value(&mut writable, TlvType::ResourceValue, 14, &Value::Str("+01"));
    }
    let r = s.req(Code::POST, "3/0").cf(TLV).body(&writable);
    let (resp, peak) = crate::test_alloc::peak_of(|| s.exchange(&r));
    assert_eq!(code_of(&resp), Code::REQUEST_ENTITY_TOO_LARGE);
    assert!(peak < 4 * 1024, "writable flood: {peak} bytes of heap");
}

/// The heap the engine needs over a whole life: first boot, bootstrap,
/// registration, reads of every object in every format, an observation on
/// every readable resource, a Block1 write of the largest body, and a
/// re-bootstrap. The figure is printed for `scripts/heap-report.sh`; the
/// test fails above the cap, so growth is a visible decision.
#[test]
fn heap_peak_over_a_lifecycle_stays_under_the_cap() {
    /// Engine heap cap, bytes requested on the test's target (x86_64: 64-bit
    /// pointers; 32-bit figures in README "Memory"). The driver's own
    /// buffers come on top.
    const ENGINE_HEAP_CAP: usize = 10 * 1024;
    let ((), peak) = crate::test_alloc::peak_of(|| {
        let mut s = registered_with_battery(LONG_LIFETIME, 50);
        eprintln!("HEAP_PHASE registered {} {}", crate::test_alloc::current(), crate::test_alloc::peak());
        for obj in ["1", "2", "3", "4", "5", "7"] {
            for cf in [TLV, JSON] {
                let r = s.req(Code::GET, obj).accept(cf);
                let resp = s.exchange(&r);
                assert!(matches!(code_of(&resp), Code::CONTENT | Code::NOT_ACCEPTABLE), "/{obj} in {cf}: {:?}", code_of(&resp));
            }
        }
        eprintln!("HEAP_PHASE reads {} {}", crate::test_alloc::current(), crate::test_alloc::peak());
        // One observation per readable single resource of the Device object,
        // in text, plus whole objects in TLV.
        let mut token = 0u8;
        for res in [0u16, 1, 2, 3, 9, 10, 13, 14, 15, 16, 17, 18, 19, 20, 21] {
            token += 1;
            let r = s.req(Code::GET, &alloc::format!("3/0/{res}")).observe(0).token(&[0x0B, token]);
            s.exchange(&r);
        }
        for obj in ["4/0", "7/0", "1/0"] {
            token += 1;
            let r = s.req(Code::GET, obj).observe(0).accept(TLV).token(&[0x0B, token]);
            s.exchange(&r);
        }
        eprintln!("HEAP_PHASE observe {} {}", crate::test_alloc::current(), crate::test_alloc::peak());
        s.set_battery(60);
        s.advance(31_000);
        s.take_sent(DM);
        eprintln!("HEAP_PHASE notified {} {}", crate::test_alloc::current(), crate::test_alloc::peak());
        // The largest Block1 body a server may write.
        let body = alloc::vec![b'x'; crate::limits::MAX_BLOCK1_BODY];
        for (num, chunk) in body.chunks(1024).enumerate() {
            let last = (num + 1) * 1024 >= body.len();
            let r = s.req(Code::PUT, "3/0/15").cf(TEXT).block1(num as u32, !last, 6).body(chunk);
            s.exchange(&r);
        }
        eprintln!("HEAP_PHASE block1 {} {}", crate::test_alloc::current(), crate::test_alloc::peak());
        // Re-bootstrap (Bootstrap-Request Trigger).
        let r = s.req(Code::POST, "1/0/9");
        s.exchange(&r);
        let dereg = s.last_sent(DM);
        s.deliver(DM, &server_ack(&dereg, Code::DELETED, &[]));
        serve_bootstrap(&mut s, 60);
        let reg = s.last_sent(DM);
        s.deliver(DM, &server_ack(&reg, Code::CREATED, &["rd", "new"]));
    });
    eprintln!("HEAP_PEAK engine_lifecycle {peak}");
    eprintln!("HEAP_BLOCKS engine_lifecycle {}", crate::test_alloc::peak_blocks());
    assert!(peak <= ENGINE_HEAP_CAP, "engine heap peak {peak} B over the cap {ENGINE_HEAP_CAP} B");
}

/// The engine's heap with every bound of `limits.rs` and `observe` reached at
/// once, on every server: three servers whose accounts are at their URI,
/// identity and key limits; 14 Access Control instances of 8 entries; 16
/// attribute entries on each server up to the 30 of all servers; 8
/// observations of whole objects on each; a Block1 transfer held 16 bytes
/// short of its limit; then every observation falls due together and each
/// server reads the whole Device object in JSON.
/// `scripts/heap.py` prints the figure next to the lifecycle's.
#[test]
fn heap_with_every_limit_reached_at_once() {
    /// Cap on the 64-bit host (the 32-bit figure is in README "Memory").
    const CAP: usize = 20 * 1024;
    let (stores, peak) = crate::test_alloc::peak_of(|| {
        let mut s = Sim::new(BTreeMap::new());
        s.e.start(s.now);
        s.pump();
        s.e.begin_run(s.now);
        s.pump();
        let bs_req = s.one_sent(BOOTSTRAP_CONN);
        s.deliver(BOOTSTRAP_CONN, &server_ack(&bs_req, Code::CHANGED, &[]));
        let bs = |s: &mut Sim, code: Code, path: &str, body: Vec<u8>| {
            let mut r = s.req(code, path).body(&body);
            if !body.is_empty() {
                r = r.cf(TLV);
            }
            s.deliver(BOOTSTRAP_CONN, &r.encode());
            let answers = s.take_sent(BOOTSTRAP_CONN);
            assert!(answers.len() == 1 && code_of(&answers[0]).is_success(), "{code:?} {path}: {:?}", answers.first().map(|a| code_of(a)));
        };
        bs(&mut s, Code::DELETE, "", Vec::new());
        let host = "h".repeat(crate::limits::MAX_URI_LEN - "coaps://:5681".len());
        for inst in 1..=3u16 {
            let mut sec = Vec::new();
            let uri = alloc::format!("coaps://{host}:{}", 5680 + inst);
            tlv::write_value(&mut sec, TlvType::ResourceValue, 0, &Value::Str(&uri));
            tlv::write_value(&mut sec, TlvType::ResourceValue, 1, &Value::Bool(false));
            tlv::write_value(&mut sec, TlvType::ResourceValue, 2, &Value::Int(0));
            tlv::write_value(&mut sec, TlvType::ResourceValue, 3, &Value::Opaque(&[b'i'; crate::limits::MAX_PSK_IDENTITY_LEN]));
            tlv::write_value(&mut sec, TlvType::ResourceValue, 5, &Value::Opaque(&[0x5A; crate::limits::MAX_PSK_KEY_LEN]));
            tlv::write_value(&mut sec, TlvType::ResourceValue, 10, &Value::Int(inst as i64));
            bs(&mut s, Code::PUT, &alloc::format!("0/{inst}"), sec);
            bs(&mut s, Code::PUT, &alloc::format!("1/{}", inst - 1), server_tlv(inst as i64, LONG_LIFETIME));
        }
        let targets = [(1, 0), (1, 1), (1, 2), (3, 0), (4, 0), (5, 0), (7, 0), (3, 1), (4, 1), (5, 1), (7, 1), (1, 3), (1, 4), (1, 5)];
        assert_eq!(targets.len(), crate::objects::acl::MAX_ACL_INSTANCES);
        for (i, (oid, iid)) in targets.iter().enumerate() {
            let mut acl = Vec::new();
            tlv::write_value(&mut acl, TlvType::ResourceValue, 0, &Value::Int(*oid));
            tlv::write_value(&mut acl, TlvType::ResourceValue, 1, &Value::Int(*iid));
            let mut entries = Vec::new();
            for ssid in 0..crate::objects::acl::MAX_ACL_ENTRIES as u16 {
                tlv::write_value(&mut entries, TlvType::ResourceInstance, ssid, &Value::Int(if (1..=3).contains(&ssid) { 31 } else { 1 }));
            }
            tlv::write_nested(&mut acl, TlvType::MultipleResource, 2, &entries);
            tlv::write_value(&mut acl, TlvType::ResourceValue, 3, &Value::Int(1));
            bs(&mut s, Code::PUT, &alloc::format!("2/{i}"), acl);
        }
        eprintln!("HEAP_PHASE limits_written {} {}", crate::test_alloc::current(), crate::test_alloc::peak());
        bs(&mut s, Code::POST, "bs", Vec::new());
        eprintln!("HEAP_PHASE limits_finished {} {}", crate::test_alloc::current(), crate::test_alloc::peak());
        for conn in 1..=3u8 {
            let reg = s.last_sent(conn);
            s.deliver(conn, &server_ack(&reg, Code::CREATED, &["rd", &alloc::format!("x{conn}")]));
        }
        assert_eq!(s.events.last(), Some(&Event::Registered), "{:?}", s.events);
        eprintln!("HEAP_PHASE limits_registered {} {}", crate::test_alloc::current(), crate::test_alloc::peak());
        s.env.device.set_power_sources(&[LWM2M_CARRIER_POWER_SOURCE_INTERNAL_BATTERY]).unwrap();
        s.set_battery(50);
        let exchange = |s: &mut Sim, conn: ConnId, r: &Req| {
            s.deliver(conn, &r.encode());
            let pos = s
                .sent
                .iter()
                .position(|(c, d)| *c == conn && Message::parse(d).is_ok_and(|m| m.mtype == MsgType::Ack && m.mid == r.mid))
                .unwrap_or_else(|| panic!("no answer on {conn}"));
            s.sent.remove(pos).1
        };
        let attr_paths = ["3", "3/0", "3/0/0", "3/0/1", "3/0/2", "3/0/3", "3/0/9", "3/0/10", "3/0/11", "3/0/13", "3/0/14", "3/0/15", "3/0/16", "3/0/17", "3/0/18", "3/0/19"];
        assert_eq!(attr_paths.len(), crate::observe::MAX_ATTRIBUTE_ENTRIES);
        let observed = ["3", "3/0", "4", "4/0", "7", "7/0", "1", "5"];
        assert_eq!(observed.len(), crate::observe::MAX_OBSERVATIONS);
        let mut in_all = 0;
        for conn in 1..=3u8 {
            for p in attr_paths {
                let r = s.req(Code::PUT, p).query("pmin=1").query("pmax=30");
                // 16 levels per server, 30 of all servers together: the
                // second server's last two and all of the third's are
                // refused (5.00).
                let code = code_of(&exchange(&mut s, conn, &r));
                if in_all < crate::observe::MAX_ATTRIBUTE_ENTRIES_IN_ALL {
                    assert_eq!(code, Code::CHANGED, "attributes on {p} of {conn}");
                    in_all += 1;
                } else {
                    assert_eq!(code, Code::INTERNAL_SERVER_ERROR, "attributes on {p} of {conn} past the limit of all servers");
                }
            }
            if conn == 3 {
                // At the limit a level that has attributes still changes.
                let r = s.req(Code::PUT, "3").query("pmax=40");
                assert_eq!(code_of(&exchange(&mut s, 2, &r)), Code::CHANGED, "a level already set, at the limit");
            }
            eprintln!("HEAP_PHASE limits_attrs{conn} {} {}", crate::test_alloc::current(), crate::test_alloc::peak());
            for (k, p) in observed.iter().enumerate() {
                let r = s.req(Code::GET, p).observe(0).accept(TLV).token(&[0x0C, conn, k as u8]);
                assert_eq!(code_of(&exchange(&mut s, conn, &r)), Code::CONTENT, "observe {p}");
            }
            eprintln!("HEAP_PHASE limits_observe{conn} {} {}", crate::test_alloc::current(), crate::test_alloc::peak());
        }
        // Server 1: 16-byte blocks up to 16 bytes short of the limit. The
        // others may not start one meanwhile (one block-wise body at a time).
        let blocks = crate::limits::MAX_BLOCK1_BODY / 16 - 1;
        for num in 0..blocks {
            let r = s.req(Code::PUT, "3/0/15").cf(TEXT).block1(num as u32, true, 0).body(&[b'x'; 16]);
            assert_eq!(exchange(&mut s, 1, &r)[1], 0x5F, "2.31 Continue for block {num}");
        }
        for conn in 2..=3u8 {
            let r = s.req(Code::PUT, "3/0/15").cf(TEXT).block1(0, true, 0).body(&[b'y'; 16]);
            assert_eq!(code_of(&exchange(&mut s, conn, &r)), Code::SERVICE_UNAVAILABLE, "a second block-wise body on {conn}");
        }
        eprintln!("HEAP_PHASE limits_block1 {} {}", crate::test_alloc::current(), crate::test_alloc::peak());
        s.set_battery(60);
        s.advance(31_000);
        eprintln!("HEAP_PHASE limits_notified {} {}", crate::test_alloc::current(), crate::test_alloc::peak());
        for conn in 1..=3u8 {
            let r = s.req(Code::GET, "3/0").accept(JSON).block2(0, false, 6);
            assert_eq!(code_of(&exchange(&mut s, conn, &r)), Code::CONTENT);
            s.take_sent(conn);
        }
        eprintln!("HEAP_PHASE limits_held {} {}", crate::test_alloc::current(), crate::test_alloc::peak());
        // Once server 1's body is complete (and refused: the Timezone holds
        // at most 200 bytes), server 2 may send one.
        let r = s.req(Code::PUT, "3/0/15").cf(TEXT).block1(blocks as u32, false, 0).body(&[b'x'; 16]);
        assert_eq!(code_of(&exchange(&mut s, 1, &r)), Code::REQUEST_ENTITY_TOO_LARGE);
        let r = s.req(Code::PUT, "3/0/15").cf(TEXT).block1(0, true, 0).body(&[b'y'; 16]);
        assert_eq!(exchange(&mut s, 2, &r)[1], 0x5F, "2.31 Continue on 2 once 1 is done");
        s.stores.clone()
    });
    eprintln!("HEAP_PEAK engine_limits {peak}");
    eprintln!("HEAP_BLOCKS engine_limits {}", crate::test_alloc::peak_blocks());
    assert!(peak <= CAP, "engine heap peak {peak} B with every limit reached, over the cap {CAP} B");
    // A reboot on these records as `driver::init` holds them: its record
    // buffer, each record read (a copy), the configuration decoded from
    // them, then the engine built on it (the driver's own buffers come
    // after the buffer and the copies are gone).
    let rec = |id: u16| stores.get(&id).and_then(|r| crate::storage::unframe(r)).map(|p| p.to_vec());
    let (engine, boot_peak) = crate::test_alloc::peak_of(|| {
        crate::test_alloc::counted(|| {
            let buf = alloc::vec![0u8; crate::limits::MAX_RECORD_LEN];
            let ids = [crate::storage::SECURITY, crate::storage::SERVER, crate::storage::ACL, crate::storage::MISC, crate::storage::LOCATIONS];
            let [sec, srv, acl, misc, locs] = ids.map(rec);
            let mut stored = Stored::from_records(sec.as_deref(), srv.as_deref(), acl.as_deref(), misc.as_deref(), locs.as_deref());
            for conn in 1..=3u8 {
                if let Some(r) = rec(crate::storage::REPORTING + conn as u16) {
                    stored.reporting.push((conn, r));
                }
            }
            assert!(stored.objects.is_some() && stored.bootstrapped && stored.reporting.len() == 3, "the records at their limits reload");
            drop((buf, sec, srv, acl, misc, locs));
            Engine::new(Config { bootstrap_uri: Some(BS_URI.into()), psk: Some("000102030405060708090a0b0c0d0e0f".into()), ..Config::default() }, stored)
        })
    });
    crate::test_alloc::counted(move || drop(engine));
    eprintln!("HEAP_PEAK engine_limits_boot {boot_peak}");
    assert!(boot_peak <= CAP, "a reboot at the limits peaks at {boot_peak} B");
}
/// A Read encodes each value as the object produces it (`ops::read_with`,
/// no values gathered); its bytes are those of the values gathered and
/// encoded afterwards, in TLV and JSON, for every object, instance,
/// resource and resource instance, and its digest is that of the values.
#[test]
fn a_read_encodes_as_it_reads_the_same_bytes_as_the_gathered_values() {
    let mut s = registered_with_battery(LONG_LIFETIME, 40);
    s.env.device.add_error_code(LWM2M_CARRIER_ERROR_CODE_LOW_CHARGE).unwrap();
    s.env.device.add_error_code(LWM2M_CARRIER_ERROR_CODE_EXTERNAL_SUPPLY_OFF).unwrap();
    s.env.device.set_power_sources(&[LWM2M_CARRIER_POWER_SOURCE_INTERNAL_BATTERY, LWM2M_CARRIER_POWER_SOURCE_USB]).unwrap();
    let objects = s.e.objects().clone();
    let mut checked = 0;
    for &oid in crate::objects::Objects::IDS {
        let obj = objects.get(oid).unwrap();
        let mut paths = vec![Path::Object(oid)];
        for inst in obj.instances() {
            paths.push(Path::Instance(oid, inst));
            for d in obj.defs() {
                paths.push(Path::Resource(oid, inst, d.id));
                if d.multiple {
                    for it in ops::collect(obj, &mut s.env, &Path::Resource(oid, inst, d.id)).unwrap_or_default() {
                        paths.push(Path::ResourceInstance(oid, inst, d.id, it.ri.unwrap()));
                    }
                }
            }
        }
        for p in &paths {
            for cf in [ContentFormat::Tlv, ContentFormat::Json] {
                let Ok((f, body, items)) = ops::read_items(obj, &mut s.env, p, Some(cf)) else { continue };
                assert_eq!(f, cf);
                let mut again = Vec::new();
                if cf == ContentFormat::Tlv {
                    ops::encode_tlv(obj.defs(), p, &items, &mut again);
                } else {
                    ops::encode_json(p, &items, &mut again);
                }
                assert_eq!(body, again, "{p:?} in {cf:?}");
                let (_, _, digest) = ops::read_digest(obj, &mut s.env, p, Some(cf)).unwrap();
                assert_eq!(digest, ops::digest(obj, &mut s.env, p).unwrap(), "{p:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked} reads checked");
}
