//! Scenario tests: the engine against a scripted modem and scripted servers,
//! with a simulated clock. Every exchange is checked at the CoAP level.

use alloc::collections::BTreeMap;
use alloc::string::ToString;
use alloc::vec::Vec;
use std::vec;

use super::*;
use crate::capi::*;
use crate::coap::msg::{option, Code, Message, MessageWriter, MsgType};
use crate::lwm2m::tlv::{self, TlvType};
use crate::lwm2m::value::Value;

use super::sim::*;


/// Boot and get to the point where the bootstrap request is out.
fn to_bootstrap_request(s: &mut Sim) -> Vec<u8> {
    s.boot();
    let req = s.last_sent(BOOTSTRAP_CONN);
    {
        let m = Message::parse(&req).unwrap();
        assert_eq!((m.mtype, m.code), (MsgType::Con, Code::POST));
        assert_eq!(uri_path(&m), ["bs"]);
        assert_eq!(uri_query(&m), [alloc::format!("ep={EP}")]);
    }
    req
}

/// Run a complete bootstrap with the usual configuration.
fn bootstrap(s: &mut Sim, lifetime: i64) {
    let req = to_bootstrap_request(s);
    s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::CHANGED, &[]));
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::DELETE, &[], None, None, b"")), Code::DELETED);
    let sec = security_tlv("coaps://dm.example:5684", 1, EP.as_bytes(), DM_KEY);
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::PUT, &["0", "1"], Some(TLV), None, &sec)), Code::CHANGED);
    let srv = server_tlv(1, lifetime);
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::PUT, &["1", "0"], Some(TLV), None, &srv)), Code::CHANGED);
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::POST, &["bs"], None, None, b"")), Code::CHANGED);
}

/// Answer the registration with 2.01 /rd/abc.
fn register(s: &mut Sim) -> Vec<u8> {
    let req = s.last_sent(1);
    s.deliver(1, &ack(&req, Code::CREATED, &["rd", "abc"]));
    req
}

#[test]
fn first_boot_is_the_0_10_sequence() {
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    let req = register(&mut s);
    use Event::*;
    assert_eq!(
        s.events,
        vec![
            Connecting, Connected, // init
            Disconnecting, Disconnected, Connecting, Connected, // bootstrap PSK
            Bootstrapped, Disconnecting, Disconnected, Connecting, Connected, // server keys
            LteReady, Registered,
        ]
    );
    assert_eq!(s.online_writes, 0, "credentials are written offline only");
    assert_eq!(s.creds[&(25, 4)], EP.as_bytes());
    assert_eq!(s.creds[&(25, 3)], b"000102030405060708090a0b0c0d0e0f");
    assert_eq!(s.creds[&(26, 4)], EP.as_bytes());
    assert_eq!(s.creds[&(26, 3)], b"deadbeef0102");
    assert_eq!(s.opened[0], (0, "bs.example".into(), 5784, Some(25), 9998));
    assert_eq!(s.opened[1], (1, "dm.example".into(), 5684, Some(26), 10000));
    let m = Message::parse(&req).unwrap();
    assert_eq!(uri_path(&m), ["rd"]);
    assert_eq!(uri_query(&m), [alloc::format!("ep={EP}"), "lt=60".into(), "lwm2m=1.0".into(), "b=U".into()]);
    assert_eq!(m.content_format(), Some(40));
    assert_eq!(m.payload, b"</1/0>,</2>,</3/0>,</4/0>,</5/0>,</7/0>");
    assert!(s.stores.contains_key(&crate::storage::MISC));
    assert!(s.closed.contains(&BOOTSTRAP_CONN), "bootstrap session closed");
}

#[test]
fn registration_update_leaves_room_for_its_retransmissions() {
    // Lifetime 60 s: the Update goes out MAX_TRANSMIT_WAIT (14 s) before the
    // registration would expire, so even its last retransmission arrives.
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    s.advance(45_999);
    assert!(s.take_sent(1).is_empty(), "no update before lifetime - 14 s");
    s.advance(1);
    let upd = s.last_sent(1);
    let m = Message::parse(&upd).unwrap();
    assert_eq!((m.code, uri_path(&m)), (Code::POST, vec!["rd".to_string(), "abc".into()]));
    assert!(m.payload.is_empty() && uri_query(&m).is_empty());
    s.deliver(1, &ack(&upd, Code::CHANGED, &[]));
    s.advance(46_000);
    assert_eq!(s.take_sent(1).len(), 1, "the next update follows one lifetime later");
}

#[test]
fn update_not_found_registers_again() {
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    s.advance(56_000);
    let upd = s.last_sent(1);
    s.deliver(1, &ack(&upd, Code::NOT_FOUND, &[]));
    let reg = s.last_sent(1);
    assert_eq!(uri_path(&Message::parse(&reg).unwrap()), ["rd"]);
}

/// After a reboot the server may still hold our new first MID from before (its
/// duplicate cache, RFC 7252 §4.5) and answer it with that old exchange's
/// response: the device resends at once under a new MID and is registered
/// within a round trip, not after EXCHANGE_LIFETIME (power-cut sweep, commit point 35).
#[test]
fn update_answered_from_the_servers_duplicate_cache_is_resent_at_once() {
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    let mut s2 = s.rebooted();
    s2.boot();
    let upd = s2.last_sent(1);
    let m = Message::parse(&upd).unwrap();
    let stale = MessageWriter::new(MsgType::Ack, Code::CHANGED, m.mid, &[0x01, 0x02, 0x03]).unwrap().finish();
    s2.deliver(1, &stale);
    let again = s2.last_sent(1);
    let m2 = Message::parse(&again).unwrap();
    assert_ne!(m2.mid, m.mid, "a fresh message id");
    assert_eq!((m2.token, uri_path(&m2)), (m.token, vec!["rd".to_string(), "abc".into()]));
    s2.deliver(1, &ack(&again, Code::CHANGED, &[]));
    assert_eq!(s2.events.last(), Some(&Event::Registered));
}

#[test]
fn second_boot_registers_without_bootstrap() {
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    let mut s2 = s.rebooted();
    s2.boot();
    use Event::*;
    assert_eq!(s2.events, vec![Connecting, Connected, LteReady]);
    assert_eq!(s2.creds, s.creds, "no credential writes on second boot");
    assert_eq!(s2.at.iter().filter(|c| *c == "AT+CFUN=4").count(), 0, "no offline cycle on second boot");
    assert_eq!(s2.opened, vec![(1, "dm.example".into(), 5684, Some(26), 10000)]);
    let upd = s2.last_sent(1);
    assert_eq!(uri_path(&Message::parse(&upd).unwrap()), ["rd", "abc"]);
    s2.deliver(1, &ack(&upd, Code::CHANGED, &[]));
    assert_eq!(s2.events.last(), Some(&Registered));
}

#[test]
fn changed_bootstrap_uri_bootstraps_again() {
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    let mut s2 = s.rebooted();
    s2.e.config.bootstrap_uri = Some("coaps://other.example:5784".into());
    // Rebuild with the new URI as init would.
    let stores = s.stores.clone();
    let rec = |id| stores.get(&id).and_then(|r| crate::storage::unframe(r)).map(|p| p.to_vec());
    let stored = Stored::from_records(
        rec(crate::storage::SECURITY).as_deref(),
        rec(crate::storage::SERVER).as_deref(),
        rec(crate::storage::ACL).as_deref(),
        rec(crate::storage::MISC).as_deref(),
        rec(crate::storage::LOCATIONS).as_deref(),
    );
    s2.e = Engine::new(s2.e.config.clone(), stored);
    s2.boot();
    assert!(s2.events.contains(&Event::Disconnecting), "bootstrap keys are written again");
    assert_eq!(s2.opened[0].1, "other.example");
}

#[test]
fn device_object_reads_in_tlv_and_text() {
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    s.env.device.set_power_sources(&[0, 1]).unwrap();
    s.env.device.set_voltage(1, 3700).unwrap();
    s.env.device.set_battery_level(87).unwrap();
    let resp = s.request(1, Code::GET, &["3", "0"], None, Some(TLV), b"");
    let m = Message::parse(&resp).unwrap();
    assert_eq!((m.code, m.content_format()), (Code::CONTENT, Some(TLV)));
    let mut found = BTreeMap::new();
    for t in tlv::iter(m.payload) {
        let t = t.unwrap();
        found.insert(t.id, (t.kind, t.value.to_vec()));
    }
    assert_eq!(found[&0].1, b"Nordic Semiconductor ASA");
    assert_eq!(found[&2].1, IMEI.as_bytes());
    assert_eq!(found[&9].1, [87]);
    assert_eq!(found[&16].1, b"UQS");
    assert_eq!(found[&6].0, TlvType::MultipleResource);
    let volts: Vec<_> = tlv::iter(&found[&7].1).map(|t| t.unwrap().value.to_vec()).collect();
    assert_eq!(volts, vec![vec![0], 3700i16.to_be_bytes().to_vec()]);

    let resp = s.request(1, Code::GET, &["3", "0", "9"], None, None, b"");
    let m = Message::parse(&resp).unwrap();
    assert_eq!((m.code, m.content_format(), m.payload), (Code::CONTENT, Some(0), &b"87"[..]));
    // Errors: Security is off limits, unknown paths, unsupported formats.
    assert_eq!(code_of(&s.request(1, Code::GET, &["0", "0"], None, None, b"")), Code::UNAUTHORIZED);
    assert_eq!(code_of(&s.request(1, Code::GET, &["3", "1"], None, None, b"")), Code::NOT_FOUND);
    assert_eq!(code_of(&s.request(1, Code::GET, &["42"], None, None, b"")), Code::NOT_FOUND);
    assert_eq!(code_of(&s.request(1, Code::GET, &["3", "0", "6"], None, Some(0), b"")), Code::NOT_ACCEPTABLE);
    assert_eq!(code_of(&s.request(1, Code::GET, &["3", "0"], None, Some(9999), b"")), Code::NOT_ACCEPTABLE);
    assert_eq!(code_of(&s.request(1, Code::PUT, &["3", "0", "0"], Some(0), None, b"x")), Code::METHOD_NOT_ALLOWED);
    assert_eq!(code_of(&s.request(1, Code::POST, &["3", "0", "1"], None, None, b"")), Code::METHOD_NOT_ALLOWED);
}

#[test]
fn reboot_execute_answers_then_reboots() {
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    let mut w = MessageWriter::new(MsgType::Con, Code::POST, 0x7777, &[1]).unwrap();
    w.option(option::URI_PATH, b"3").unwrap().option(option::URI_PATH, b"0").unwrap().option(option::URI_PATH, b"4").unwrap();
    s.e.handle_datagram(s.now, 1, &w.finish(), &mut s.env);
    // The 2.04 is sent before the reboot is executed.
    let first = s.e.poll_action().unwrap();
    assert!(matches!(&first, Action::Send { conn: 1, data } if code_of(data) == Code::CHANGED), "{first:?}");
    assert_eq!(s.e.poll_action(), Some(Action::Reboot));
}

#[test]
fn lifetime_write_is_announced_with_an_update() {
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    let r = s.request(1, Code::PUT, &["1", "0", "1"], Some(0), None, b"20");
    assert_eq!(code_of(&r), Code::CHANGED);
    let upd = s.last_sent(1);
    let m = Message::parse(&upd).unwrap();
    assert_eq!(uri_query(&m), ["lt=20"]);
    s.deliver(1, &ack(&upd, Code::CHANGED, &[]));
    s.advance(9_999);
    assert!(s.take_sent(1).is_empty(), "lifetime 20 s: the margin is half of it");
    s.advance(1);
    assert_eq!(s.take_sent(1).len(), 1, "next update 10 s later");
    assert_eq!(code_of(&s.request(1, Code::PUT, &["1", "0", "1"], Some(0), None, b"abc")), Code::BAD_REQUEST);
}

#[test]
fn unreachable_bootstrap_server_defers_and_retries() {
    let mut s = Sim::new(BTreeMap::new());
    s.open_result.insert(0, -(err::ENOROUTE));
    s.boot();
    assert_eq!(s.deferred(), vec![(LWM2M_CARRIER_DEFERRED_BOOTSTRAP_NO_ROUTE, 30)]);
    s.open_result.insert(0, -(err::ECONNECT));
    s.advance(29_999);
    assert_eq!(s.opened.len(), 1);
    s.advance(1);
    assert_eq!(s.opened.len(), 2, "retried after the deferral");
    assert_eq!(s.deferred()[1], (LWM2M_CARRIER_DEFERRED_BOOTSTRAP_CONNECT, 60));
    s.open_result.remove(&0);
    s.advance(60_000);
    assert_eq!(s.opened.len(), 3);
    assert!(!s.take_sent(BOOTSTRAP_CONN).is_empty(), "bootstrap request after reconnect");
    assert!(!s.e.is_stopped());
}

#[test]
fn silent_bootstrap_server_defers_after_the_retransmissions() {
    let mut s = Sim::new(BTreeMap::new());
    to_bootstrap_request(&mut s);
    s.advance(13_999);
    assert_eq!(s.take_sent(BOOTSTRAP_CONN).len(), 2, "retransmitted at 2 s and 6 s");
    assert!(s.deferred().is_empty());
    s.advance(1);
    assert_eq!(s.deferred(), vec![(LWM2M_CARRIER_DEFERRED_BOOTSTRAP_SEQUENCE, 30)]);
}

#[test]
fn bootstrap_refusal_is_a_fatal_bootstrap_error() {
    let mut s = Sim::new(BTreeMap::new());
    let req = to_bootstrap_request(&mut s);
    s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::BAD_REQUEST, &[]));
    assert_eq!(s.events.last(), Some(&Event::Error { code: LWM2M_CARRIER_ERROR_BOOTSTRAP, value: 0 }));
    assert!(s.e.is_stopped());
}

/// A Bootstrap-Write with more values than `MAX_BOOTSTRAP_WRITE_ITEMS` is
/// 4.13, and the 4.13 carries Size1: one datagram, the bootstrap interface
/// has no block-wise transfer (RFC 7959 §2.9.3).
#[test]
fn a_bootstrap_write_with_too_many_values_is_4_13_with_size1() {
    let mut s = Sim::new(BTreeMap::new());
    let req = to_bootstrap_request(&mut s);
    s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::CHANGED, &[]));
    let mut entries = Vec::new();
    for ri in 0..16u16 {
        tlv::write_value(&mut entries, TlvType::ResourceInstance, ri, &Value::Int(1));
    }
    let mut body = Vec::new();
    for inst in 0..10u16 {
        let mut acl = Vec::new();
        tlv::write_nested(&mut acl, TlvType::MultipleResource, 2, &entries);
        tlv::write_nested(&mut body, TlvType::ObjectInstance, inst, &acl);
    }
    assert!(10 * 16 > crate::limits::MAX_BOOTSTRAP_WRITE_ITEMS && body.len() < 1000);
    let r = s.request(BOOTSTRAP_CONN, Code::PUT, &["2"], Some(TLV), None, &body);
    let m = Message::parse(&r).unwrap();
    assert_eq!(m.code, Code::REQUEST_ENTITY_TOO_LARGE);
    assert_eq!(m.uint_option(option::SIZE1), Some(crate::limits::MAX_DATAGRAM as u32));
}

#[test]
fn malformed_bootstrap_writes_are_rejected_and_roll_back() {
    let mut s = Sim::new(BTreeMap::new());
    let req = to_bootstrap_request(&mut s);
    s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::CHANGED, &[]));
    let before = s.e.objects().clone();
    // Truncated TLV, wrong type, unknown resource, text on an instance, bad content format.
    let bad: &[(&[&str], Option<u16>, &[u8])] = &[
        (&["0", "1"], Some(TLV), &[0xC8, 0x00, 0x20, b'x']),
        (&["1", "0"], Some(TLV), &[0xC1, 0x07, 0x01]),
        (&["1", "0"], Some(TLV), &[0xC1, 0x63, 0x01]),
        (&["1", "0"], Some(0), b"1"),
        (&["1", "0", "1"], Some(12345), b"1"),
        (&["1", "0", "1"], Some(0), b"-5"),
    ];
    for (path, cf, body) in bad {
        let r = s.request(BOOTSTRAP_CONN, Code::PUT, path, *cf, None, body);
        assert!(code_of(&r).class() == 4, "{path:?} answered {:?}", code_of(&r));
    }
    // A finish without a usable server is refused.
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::POST, &["bs"], None, None, b"")), Code::NOT_ACCEPTABLE);
    // Partial garbage does not reach storage: the sequence times out and rolls back.
    let sec = security_tlv("coaps://dm.example:5684", 1, b"id", b"k");
    s.request(BOOTSTRAP_CONN, Code::PUT, &["0", "1"], Some(TLV), None, &sec);
    s.advance(93_000);
    assert_eq!(s.deferred(), vec![(LWM2M_CARRIER_DEFERRED_BOOTSTRAP_SEQUENCE, 30)]);
    assert_eq!(s.e.objects(), &before);
    assert!(!s.stores.contains_key(&crate::storage::SECURITY));
}

#[test]
fn bootstrap_delete_keeps_the_bootstrap_account() {
    let mut s = Sim::new(BTreeMap::new());
    let req = to_bootstrap_request(&mut s);
    s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::CHANGED, &[]));
    for path in [&["0"][..], &["0", "0"], &[]] {
        assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::DELETE, path, None, None, b"")), Code::DELETED);
        assert_eq!(s.e.objects().bootstrap_account().map(|b| b.uri.as_str()), Some(BS_URI));
    }
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::DELETE, &["3", "0"], None, None, b"")), Code::BAD_REQUEST);
    let r = s.request(BOOTSTRAP_CONN, Code::GET, &[], None, Some(40), b"");
    let m = Message::parse(&r).unwrap();
    assert_eq!(m.code, Code::CONTENT);
    assert!(m.payload.starts_with(b"lwm2m=\"1.0\",</0/0>"), "{:?}", core::str::from_utf8(m.payload));
}

#[test]
fn registration_refused_defers_then_retries() {
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    let req = s.last_sent(1);
    s.deliver(1, &ack(&req, Code::FORBIDDEN, &[]));
    assert_eq!(s.deferred(), vec![(LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION, 30)]);
    s.advance(30_000);
    assert_eq!(s.opened.len(), 3, "reconnected");
    register(&mut s);
    assert_eq!(s.events.last(), Some(&Event::Registered));
}

#[test]
fn server_connect_failure_defers_with_the_server_reason() {
    let mut s = Sim::new(BTreeMap::new());
    s.open_result.insert(1, -(err::ECONNECT));
    bootstrap(&mut s, 60);
    assert_eq!(s.deferred(), vec![(LWM2M_CARRIER_DEFERRED_SERVER_CONNECT, 30)]);
    s.open_result.insert(1, -(err::ENOROUTE));
    s.advance(30_000);
    assert_eq!(s.deferred()[1], (LWM2M_CARRIER_DEFERRED_SERVER_NO_ROUTE, 60));
}

#[test]
fn link_that_never_comes_up_fails_init_with_connect_fail() {
    let mut s = Sim::new(BTreeMap::new());
    s.attach = false;
    s.e.start(s.now);
    s.pump();
    assert_eq!(s.e.init_result(), None);
    s.advance(600_000);
    assert_eq!(s.e.init_result(), Some(-err::ETIMEDOUT));
    assert_eq!(s.events.last(), Some(&Event::Error { code: LWM2M_CARRIER_ERROR_CONNECT_FAIL, value: -err::ETIMEDOUT }));
}

#[test]
fn roaming_gives_lte_ready_without_lwm2m() {
    let mut s = Sim::new(BTreeMap::new());
    s.e.start(s.now);
    s.pump();
    s.e.handle_at_notif(s.now, "+CEREG: 5,\"0A0B\",\"01020304\",7");
    s.e.begin_run(s.now);
    s.pump();
    assert_eq!(s.events.last(), Some(&Event::LteReady));
    assert!(s.opened.is_empty());
}

#[test]
fn garbage_never_panics() {
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 64) as usize;
        let mut d: Vec<u8> = (0..len).map(|k| (x >> (k % 8 * 8)) as u8 ^ k as u8).collect();
        if i % 2 == 0 && d.len() > 4 {
            d[0] = 0x40 | (d[0] & 0x3F) & !0x30; // mostly valid headers: CON/NON, TKL small
            d[0] &= 0x53;
        }
        s.deliver((i % 2) as ConnId, &d);
    }
    assert!(!s.e.is_stopped());
}

#[test]
fn server_uri_parsing() {
    assert_eq!(ServerUri::parse("coaps://127.0.0.1:5684"), Some(ServerUri { host: "127.0.0.1".into(), port: 5684, secure: true }));
    assert_eq!(ServerUri::parse("coap://[::1]:5683/x"), Some(ServerUri { host: "::1".into(), port: 5683, secure: false }));
    assert_eq!(ServerUri::parse("coaps://host"), Some(ServerUri { host: "host".into(), port: 5684, secure: true }));
    for bad in ["http://x", "coap://", "coap://h:0", "coap://h:99999", "coaps://[::1", ""] {
        assert_eq!(ServerUri::parse(bad), None, "{bad}");
    }
}

/// Two servers (ssid 1 and 2) and an ACL on /3/0 that lets only server 1 read.
fn bootstrap_two_servers(s: &mut Sim) {
    let req = to_bootstrap_request(s);
    s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::CHANGED, &[]));
    for (inst, ssid, host) in [(1u16, 1i64, "dm1.example"), (2, 2, "dm2.example")] {
        let sec = security_tlv(&alloc::format!("coaps://{host}:5684"), ssid, EP.as_bytes(), DM_KEY);
        let p = inst.to_string();
        assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::PUT, &["0", &p], Some(TLV), None, &sec)), Code::CHANGED);
        let srv = server_tlv(ssid, 60);
        let p = (inst - 1).to_string();
        assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::PUT, &["1", &p], Some(TLV), None, &srv)), Code::CHANGED);
    }
    // ACL instance 0: object 3, instance 0, ACL {ssid 1: R}, owner 1.
    let mut acl = Vec::new();
    tlv::write_value(&mut acl, TlvType::ResourceValue, 0, &Value::Int(3));
    tlv::write_value(&mut acl, TlvType::ResourceValue, 1, &Value::Int(0));
    let mut entries = Vec::new();
    tlv::write_value(&mut entries, TlvType::ResourceInstance, 1, &Value::Int(1));
    tlv::write_nested(&mut acl, TlvType::MultipleResource, 2, &entries);
    tlv::write_value(&mut acl, TlvType::ResourceValue, 3, &Value::Int(1));
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::PUT, &["2", "0"], Some(TLV), None, &acl)), Code::CHANGED);
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::POST, &["bs"], None, None, b"")), Code::CHANGED);
}

#[test]
fn two_servers_register_and_the_acl_decides_who_reads() {
    let mut s = Sim::new(BTreeMap::new());
    bootstrap_two_servers(&mut s);
    assert_eq!(s.creds[&(26, 4)], EP.as_bytes());
    assert_eq!(s.creds[&(27, 4)], EP.as_bytes());
    // One DTLS session per server, opened one after the other.
    register(&mut s);
    assert!(!s.events.contains(&Event::Registered), "REGISTERED only when every server answered");
    let req2 = s.last_sent(2);
    s.deliver(2, &ack(&req2, Code::CREATED, &["rd", "two"]));
    assert_eq!(s.events.last(), Some(&Event::Registered));
    assert_eq!(s.opened[2], (2, "dm2.example".into(), 5684, Some(27), 10001));
    // Server 1 may read /3/0, server 2 may not (TS §5.4.7); both may read their own Server instance.
    assert_eq!(code_of(&s.request(1, Code::GET, &["3", "0", "0"], None, None, b"")), Code::CONTENT);
    assert_eq!(code_of(&s.request(2, Code::GET, &["3", "0", "0"], None, None, b"")), Code::UNAUTHORIZED);
    assert_eq!(code_of(&s.request(2, Code::POST, &["3", "0", "4"], None, None, b"")), Code::UNAUTHORIZED);
    assert_eq!(s.reboots, 0);
    // The ACL survives a reboot with the rest of the bootstrap configuration.
    let mut s2 = s.rebooted();
    s2.boot();
    assert_eq!(s2.e.objects().acl.instances.len(), 1);
}

#[test]
fn discover_on_a_resource_shows_the_periods_it_inherits() {
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    let put_attrs = |s: &mut Sim, path: &[&str], q: &[&str]| {
        s.next_mid = s.next_mid.wrapping_add(1);
        let mid = s.next_mid;
        let mut w = MessageWriter::new(MsgType::Con, Code::PUT, mid, &[9, mid as u8]).unwrap();
        for p in path {
            w.option(option::URI_PATH, p.as_bytes()).unwrap();
        }
        for x in q {
            w.option(option::URI_QUERY, x.as_bytes()).unwrap();
        }
        s.deliver(1, &w.finish());
        code_of(&s.take_sent(1).pop().unwrap())
    };
    assert_eq!(put_attrs(&mut s, &["3", "0"], &["pmin=10", "pmax=200"]), Code::CHANGED);
    assert_eq!(put_attrs(&mut s, &["3", "0", "7"], &["gt=6", "lt=1", "st=1"]), Code::CHANGED);
    // ETS int-260 step 6: </3/0/7> with its own and the inherited attributes.
    let r = s.request(1, Code::GET, &["3", "0", "7"], None, Some(40), b"");
    let body = String::from_utf8(Message::parse(&r).unwrap().payload.to_vec()).unwrap();
    assert!(body.starts_with("</3/0/7>;dim=1"), "{body}");
    for a in ["pmin=10", "pmax=200", "gt=6", "lt=1", "st=1"] {
        assert!(body.contains(a), "{a} missing in {body}");
    }
    // On the instance, a resource link shows only what is set on it.
    let r = s.request(1, Code::GET, &["3", "0"], None, Some(40), b"");
    let body = String::from_utf8(Message::parse(&r).unwrap().payload.to_vec()).unwrap();
    assert!(body.starts_with("</3/0>;pmin=10;pmax=200,"), "{body}");
    assert!(body.contains("</3/0/7>;dim=1;gt=6;lt=1;st=1,"), "{body}");
}

#[test]
fn bootstrap_discover_lists_what_the_bootstrap_server_wrote() {
    let mut s = Sim::new(BTreeMap::new());
    let req = to_bootstrap_request(&mut s);
    s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::CHANGED, &[]));
    let sec = security_tlv("coaps://dm.example:5684", 1, EP.as_bytes(), DM_KEY);
    s.request(BOOTSTRAP_CONN, Code::PUT, &["0", "1"], Some(TLV), None, &sec);
    s.request(BOOTSTRAP_CONN, Code::PUT, &["1", "0"], Some(TLV), None, &server_tlv(1, 60));
    let r = s.request(BOOTSTRAP_CONN, Code::GET, &[], None, Some(40), b"");
    let m = Message::parse(&r).unwrap();
    assert_eq!((m.code, m.content_format()), (Code::CONTENT, Some(40)));
    assert_eq!(
        core::str::from_utf8(m.payload).unwrap(),
        "lwm2m=\"1.0\",</0/0>,</0/1>;ssid=1,</1/0>;ssid=1,</2>,</3/0>,</4/0>,</5/0>,</7/0>"
    );
}

/// Random well-formed Bootstrap-Write/Delete/Discover requests: never a
/// panic, every CON answered, and a valid configuration afterwards still
/// finishes the bootstrap.
#[test]
fn random_bootstrap_requests_never_panic() {
    let mut s = Sim::new(BTreeMap::new());
    let req = to_bootstrap_request(&mut s);
    s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::CHANGED, &[]));
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..5_000 {
        let code = [Code::PUT, Code::DELETE, Code::GET, Code::POST][(next() % 4) as usize];
        let ids: Vec<String> = (0..next() % 4).map(|k| if k == 0 { (next() % 4).to_string() } else { (next() % 14).to_string() }).collect();
        let path: Vec<&str> = ids.iter().map(String::as_str).collect();
        let cf = [None, Some(0u16), Some(11542), Some(11543), Some(42)][(next() % 5) as usize];
        let body: Vec<u8> = if next() % 2 == 0 {
            // A TLV-looking body: random headers and lengths.
            (0..next() % 40).map(|_| next() as u8).collect()
        } else {
            security_tlv("coaps://h:1", (next() % 70_000) as i64, b"id", b"k")
        };
        if code == Code::POST && path == ["bs"] {
            continue;
        }
        let r = s.request(BOOTSTRAP_CONN, code, &path, cf, None, &body);
        assert!(Message::parse(&r).is_ok());
        s.advance(10);
    }
    // A correct configuration still completes the bootstrap.
    let sec = security_tlv("coaps://dm.example:5684", 1, EP.as_bytes(), DM_KEY);
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::DELETE, &[], None, None, b"")), Code::DELETED);
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::PUT, &["0", "1"], Some(TLV), None, &sec)), Code::CHANGED);
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::PUT, &["1", "0"], Some(TLV), None, &server_tlv(1, 60))), Code::CHANGED);
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::POST, &["bs"], None, None, b"")), Code::CHANGED);
    assert!(s.events.contains(&Event::Bootstrapped));
}

#[test]
fn the_largest_bootstrap_configuration_is_stored_and_read_back() {
    let mut s = Sim::new(BTreeMap::new());
    let req = to_bootstrap_request(&mut s);
    s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::CHANGED, &[]));
    let long_host = "h".repeat(240);
    for inst in 1..=3u16 {
        let uri = alloc::format!("coaps://{long_host}:{}", 5680 + inst);
        let sec = security_tlv(&uri, inst as i64, &[b'i'; 128], &[0x5A; 64]);
        let p = inst.to_string();
        assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::PUT, &["0", &p], Some(TLV), None, &sec)), Code::CHANGED);
        let p = (inst - 1).to_string();
        let srv = server_tlv(inst as i64, 60);
        assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::PUT, &["1", &p], Some(TLV), None, &srv)), Code::CHANGED);
    }
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::POST, &["bs"], None, None, b"")), Code::CHANGED);
    let rec = &s.stores[&crate::storage::SECURITY];
    assert!(rec.len() > 1024, "a record the old 1 KB read buffer would have lost: {}", rec.len());
    assert!(rec.len() <= crate::limits::MAX_RECORD_LEN);
    let s2 = s.rebooted();
    assert_eq!(s2.e.objects().security.instances.len(), 4, "bootstrap account + 3 servers after a reboot");
    assert_eq!(s2.e.objects(), s.e.objects());
}

// ----- Reliability: power cuts, lossy links, stored state (issue #6) -----

/// A device rebooted from `stores`/`creds`: it either bootstraps again or
/// registers with the keys its configuration needs, never gets stuck.
fn boots_usefully(stores: &BTreeMap<u16, Vec<u8>>, creds: &BTreeMap<(u32, u8), Vec<u8>>, cut: usize) {
    let mut s = Sim::new(stores.clone());
    s.creds = creds.clone();
    s.boot();
    let bs = s.take_sent(BOOTSTRAP_CONN);
    let dm = s.take_sent(1);
    match (bs.is_empty(), dm.is_empty()) {
        (false, true) => {
            // Bootstraps again: complete it and register.
            let m = Message::parse(&bs[0]).unwrap();
            assert_eq!(uri_path(&m), ["bs"], "cut {cut}");
            s.deliver(BOOTSTRAP_CONN, &ack(&bs[0], Code::CHANGED, &[]));
            assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::DELETE, &[], None, None, b"")), Code::DELETED);
            let sec = security_tlv("coaps://dm.example:5684", 1, EP.as_bytes(), DM_KEY);
            s.request(BOOTSTRAP_CONN, Code::PUT, &["0", "1"], Some(TLV), None, &sec);
            s.request(BOOTSTRAP_CONN, Code::PUT, &["1", "0"], Some(TLV), None, &server_tlv(1, 60));
            assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::POST, &["bs"], None, None, b"")), Code::CHANGED);
            register(&mut s);
        }
        (true, false) => {
            // Registers (or updates) with the stored configuration: its keys must be there.
            assert!(s.creds.contains_key(&(26, 3)) && s.creds.contains_key(&(26, 4)), "cut {cut}: server used without its keys");
            let last = dm.last().unwrap();
            s.deliver(1, &ack(last, if uri_path(&Message::parse(last).unwrap()) == ["rd"] { Code::CREATED } else { Code::CHANGED }, &["rd", "abc"]));
        }
        other => panic!("cut {cut}: neither bootstrap nor registration: {other:?}, events {:?}", s.events),
    }
    assert_eq!(s.events.last(), Some(&Event::Registered), "cut {cut}: events {:?}", s.events);
}

#[test]
fn a_power_cut_at_any_write_of_the_first_boot_never_loses_the_device() {
    let mut s = Sim::new(BTreeMap::new());
    s.cut_points = Some(Vec::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    let cuts = s.cut_points.take().unwrap();
    assert!(cuts.len() >= 8, "records and keys along the first boot: {}", cuts.len());
    for (i, (stores, creds)) in cuts.iter().enumerate() {
        boots_usefully(stores, creds, i);
    }
    // The "bootstrapped" flag is the last bootstrap write: in every state
    // where it is set, the server keys are in the modem.
    for (i, (stores, creds)) in cuts.iter().enumerate() {
        let flag = stores.get(&crate::storage::MISC).and_then(|r| crate::storage::unframe(r)).is_some_and(|p| p == [1]);
        if flag {
            assert!(creds.contains_key(&(26, 3)), "cut {i}: flag stored before the server PSK");
        }
    }
}

#[test]
fn a_power_cut_during_a_re_bootstrap_never_vouches_for_the_new_configuration_without_keys() {
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    // Bootstrap-Request Trigger: the server sends the device back to bootstrap.
    assert_eq!(code_of(&s.request(1, Code::POST, &["1", "0", "9"], None, None, b"")), Code::CHANGED);
    let dereg = s.last_sent(1);
    s.cut_points = Some(Vec::new());
    s.deliver(1, &ack(&dereg, Code::DELETED, &[]));
    let req = s.last_sent(BOOTSTRAP_CONN);
    s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::CHANGED, &[]));
    s.request(BOOTSTRAP_CONN, Code::DELETE, &[], None, None, b"");
    let sec = security_tlv("coaps://dm2.example:5684", 1, EP.as_bytes(), &[0x77; 8]);
    s.request(BOOTSTRAP_CONN, Code::PUT, &["0", "1"], Some(TLV), None, &sec);
    s.request(BOOTSTRAP_CONN, Code::PUT, &["1", "0"], Some(TLV), None, &server_tlv(1, 60));
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::POST, &["bs"], None, None, b"")), Code::CHANGED);
    let cuts = s.cut_points.take().unwrap();
    for (i, (stores, creds)) in cuts.iter().enumerate() {
        let flag = stores.get(&crate::storage::MISC).and_then(|r| crate::storage::unframe(r)).is_some_and(|p| p == [1]);
        let new_config = stores.get(&crate::storage::SECURITY).is_some_and(|r| r.windows(3).any(|w| w == b"dm2"));
        if flag && new_config {
            assert_eq!(creds.get(&(26, 3)).map(Vec::as_slice), Some(&b"7777777777777777"[..]), "cut {i}: new servers vouched for with the old key");
        }
    }
}

#[test]
fn bootstrapped_state_without_its_keys_bootstraps_again() {
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    // Flag set, PSK of sec tag 26 gone (an older build's power cut, or the
    // application deleted it).
    let mut s2 = s.rebooted();
    s2.creds.remove(&(26, 3));
    s2.boot();
    assert!(s2.take_sent(1).is_empty(), "the stored server is not tried without its key");
    let req = s2.last_sent(BOOTSTRAP_CONN);
    assert_eq!(uri_path(&Message::parse(&req).unwrap()), ["bs"]);
    assert!(s2.e.objects().security.instances.iter().all(|i| i.bootstrap), "back to factory state");
}

#[test]
fn bootstrap_waits_out_the_servers_retransmissions() {
    let mut s = Sim::new(BTreeMap::new());
    let req = to_bootstrap_request(&mut s);
    s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::CHANGED, &[]));
    // The server's first request is lost; its retransmissions (2 + 4 + 8 +
    // 16 s ...) can arrive up to 93 s later: the original's 20 s is too short.
    s.advance(60_000);
    assert!(s.deferred().is_empty(), "gave up while the server may still retransmit");
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::DELETE, &[], None, None, b"")), Code::DELETED);
    // Our answer is lost too: the server's duplicate keeps the session alive.
    s.advance(80_000);
    s.next_mid = s.next_mid.wrapping_sub(1);
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::DELETE, &[], None, None, b"")), Code::DELETED);
    s.advance(92_999);
    assert!(s.deferred().is_empty(), "a duplicate shows the server is alive");
    s.advance(1);
    assert_eq!(s.deferred(), vec![(LWM2M_CARRIER_DEFERRED_BOOTSTRAP_SEQUENCE, 30)], "silent for 93 s: given up");
}

#[test]
fn bootstrap_account_without_short_server_id_is_accepted() {
    // Leshan's bootstrap configuration may give the bootstrap account
    // serverId 0 (TS: no meaning for it).
    let mut s = Sim::new(BTreeMap::new());
    let req = to_bootstrap_request(&mut s);
    s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::CHANGED, &[]));
    let mut bs = Vec::new();
    tlv::write_value(&mut bs, TlvType::ResourceValue, 0, &Value::Str(BS_URI));
    tlv::write_value(&mut bs, TlvType::ResourceValue, 1, &Value::Bool(true));
    tlv::write_value(&mut bs, TlvType::ResourceValue, 10, &Value::Int(0));
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::PUT, &["0", "0"], Some(TLV), None, &bs)), Code::CHANGED);
    let sec = security_tlv("coaps://dm.example:5684", 1, EP.as_bytes(), DM_KEY);
    s.request(BOOTSTRAP_CONN, Code::PUT, &["0", "1"], Some(TLV), None, &sec);
    s.request(BOOTSTRAP_CONN, Code::PUT, &["1", "0"], Some(TLV), None, &server_tlv(1, 60));
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::POST, &["bs"], None, None, b"")), Code::CHANGED);
    register(&mut s);
    let s2 = s.rebooted();
    assert_eq!(s2.e.objects(), s.e.objects(), "the configuration reads back");
}

#[test]
fn a_configuration_that_would_not_read_back_is_refused_at_bootstrap_finish() {
    // Server account without Short Server ID; Server instance without one;
    // Access Control instance without Object ID.
    let mut no_ssid = Vec::new();
    tlv::write_value(&mut no_ssid, TlvType::ResourceValue, 0, &Value::Str("coaps://dm.example:5684"));
    tlv::write_value(&mut no_ssid, TlvType::ResourceValue, 1, &Value::Bool(false));
    tlv::write_value(&mut no_ssid, TlvType::ResourceValue, 2, &Value::Int(0));
    let mut srv_no_ssid = Vec::new();
    tlv::write_value(&mut srv_no_ssid, TlvType::ResourceValue, 1, &Value::Int(60));
    tlv::write_value(&mut srv_no_ssid, TlvType::ResourceValue, 7, &Value::Str("U"));
    let mut acl_no_object = Vec::new();
    tlv::write_value(&mut acl_no_object, TlvType::ResourceValue, 1, &Value::Int(0));
    tlv::write_value(&mut acl_no_object, TlvType::ResourceValue, 3, &Value::Int(1));
    let good_sec = security_tlv("coaps://dm.example:5684", 1, EP.as_bytes(), DM_KEY);
    let cases: [(&[&str], &[u8]); 3] = [(&["0", "1"], &no_ssid), (&["1", "1"], &srv_no_ssid), (&["2", "0"], &acl_no_object)];
    for (path, body) in cases {
        let mut s = Sim::new(BTreeMap::new());
        let req = to_bootstrap_request(&mut s);
        s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::CHANGED, &[]));
        if path[0] != "0" {
            s.request(BOOTSTRAP_CONN, Code::PUT, &["0", "1"], Some(TLV), None, &good_sec);
        }
        s.request(BOOTSTRAP_CONN, Code::PUT, &["1", "0"], Some(TLV), None, &server_tlv(1, 60));
        assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::PUT, path, Some(TLV), None, body)), Code::CHANGED, "{path:?}");
        if path[0] == "0" {
            // The server account itself has no ssid; give the Server object one that matches nothing.
        }
        let fin = s.request(BOOTSTRAP_CONN, Code::POST, &["bs"], None, None, b"");
        assert!(matches!(code_of(&fin), Code::BAD_REQUEST | Code::NOT_ACCEPTABLE), "{path:?}: {:?}", code_of(&fin));
        assert!(!s.events.contains(&Event::Bootstrapped), "{path:?}");
        assert!(!s.stores.contains_key(&crate::storage::SECURITY), "{path:?}: nothing stored");
    }
}

#[test]
fn a_fourth_server_account_is_ignored_and_no_tag_past_28_is_touched() {
    let mut s = Sim::new(BTreeMap::new());
    let req = to_bootstrap_request(&mut s);
    s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::CHANGED, &[]));
    // The bootstrap server overwrites our bootstrap account (instance 0) with
    // a server account, then adds three more: four server accounts, of which
    // the last three have Server instances (there are at most three).
    for inst in 0..4u16 {
        let sec = security_tlv(&alloc::format!("coaps://dm{inst}.example:5684"), inst as i64 + 1, EP.as_bytes(), DM_KEY);
        let p = inst.to_string();
        assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::PUT, &["0", &p], Some(TLV), None, &sec)), Code::CHANGED);
        if inst > 0 {
            let p = (inst - 1).to_string();
            let srv = server_tlv(inst as i64 + 1, 60);
            assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::PUT, &["1", &p], Some(TLV), None, &srv)), Code::CHANGED);
        }
    }
    assert_eq!(code_of(&s.request(BOOTSTRAP_CONN, Code::POST, &["bs"], None, None, b"")), Code::CHANGED);
    assert!(s.creds.keys().all(|(tag, _)| (25..=28).contains(tag)), "tags {:?}", s.creds.keys());
    // Served: the 2nd and 3rd account (tags 27, 28); the 4th would need tag 29.
    let servers: Vec<_> = s.opened.iter().filter(|o| o.0 != BOOTSTRAP_CONN).map(|o| (o.0, o.3)).collect();
    assert_eq!(servers, vec![(1, Some(27)), (2, Some(28))]);
    for conn in 1..=2u8 {
        let req = s.last_sent(conn);
        s.deliver(conn, &ack(&req, Code::CREATED, &["rd", "x"]));
    }
    assert!(s.opened.iter().all(|o| o.0 <= 3 && o.3.is_none_or(|t| t <= 28)), "{:?}", s.opened);
    assert_eq!(s.events.last(), Some(&Event::Registered), "the three served accounts register");
    // And the configuration still loads after a reboot (no bootstrap account left).
    let mut s2 = s.rebooted();
    s2.boot();
    assert!(s2.take_sent(BOOTSTRAP_CONN).is_empty(), "no new bootstrap at every boot");
}

#[test]
fn an_acknowledged_write_is_on_flash_before_its_answer() {
    // Found by the power-cut sweep against Leshan: the 2.04 of a lifetime
    // Write went out before the Server record was stored.
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    s.trace.clear();
    assert_eq!(code_of(&s.request(1, Code::PUT, &["1", "0", "1"], Some(0), None, b"1034")), Code::CHANGED);
    let stored = s.trace.iter().position(|t| *t == sim::Trace::Stored(crate::storage::SERVER));
    let answered = s.trace.iter().position(|t| *t == sim::Trace::Sent(1));
    assert!(stored.is_some() && stored < answered, "trace {:?}", s.trace);
    let s2 = s.rebooted();
    assert_eq!(s2.e.objects().server.by_ssid(1).map(|v| v.lifetime_s), Some(1034));
}

#[test]
fn nothing_goes_out_on_a_connection_after_it_is_closed() {
    // Found by fuzzing the engine: a De-register whose connection broke was
    // still retransmitted on the closed connection.
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    assert_eq!(code_of(&s.request(1, Code::POST, &["1", "0", "9"], None, None, b"")), Code::CHANGED);
    let dereg = s.last_sent(1);
    assert_eq!(code_of(&dereg), Code::DELETE);
    s.e.handle_conn_error(s.now, 1, -111);
    s.pump();
    assert!(s.closed.contains(&1));
    s.advance(30_000);
    s.assert_silent(1, "the De-register is not retransmitted on a closed connection");
}

#[test]
fn a_single_tlv_value_for_a_multiple_resource_is_refused() {
    // Found by fuzzing the TLV decoder: a Resource Value TLV for a multiple
    // resource (ACL /2/x/2) was taken as "no instances" and emptied it.
    let mut s = Sim::new(BTreeMap::new());
    let req = to_bootstrap_request(&mut s);
    s.deliver(BOOTSTRAP_CONN, &ack(&req, Code::CHANGED, &[]));
    let mut acl = Vec::new();
    tlv::write_value(&mut acl, TlvType::ResourceValue, 0, &Value::Int(3));
    tlv::write_value(&mut acl, TlvType::ResourceValue, 2, &Value::Int(1));
    let r = s.request(BOOTSTRAP_CONN, Code::PUT, &["2", "0"], Some(TLV), None, &acl);
    assert_eq!(code_of(&r), Code::BAD_REQUEST);
    assert!(s.e.objects().acl.instances.is_empty(), "nothing written");
    // The same in JSON (a value without an instance name for /2/0/2).
    let json = br#"{"bn":"/2/0/","e":[{"n":"0","v":3},{"n":"2","v":1}]}"#;
    let r = s.request(BOOTSTRAP_CONN, Code::PUT, &["2", "0"], Some(11543), None, json);
    assert_eq!(code_of(&r), Code::BAD_REQUEST);
    assert!(s.e.objects().acl.instances.is_empty(), "nothing written");
}

#[test]
fn a_dm_change_that_would_not_be_stored_is_refused() {
    // Found by fuzzing the engine: a Create of a Server instance without a
    // Short Server ID was answered 2.01, then not stored (lost at reboot).
    let mut s = Sim::new(BTreeMap::new());
    bootstrap(&mut s, 60);
    register(&mut s);
    let r = s.request(1, Code::POST, &["1"], Some(TLV), None, b"");
    assert_eq!(code_of(&r), Code::BAD_REQUEST);
    assert_eq!(s.e.objects().server.instances.len(), 1, "nothing created");
    assert!(s.e.objects().check_storable().is_ok());
}
