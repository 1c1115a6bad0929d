//! The seed corpora, as code: real-shaped inputs of each target (Leshan's
//! Bootstrap-Write in TLV, a Register and its 2.01, +CEREG lines, the TS
//! examples of JSON and TLV ...). `corpus/<target>/seed-*` are these bytes,
//! written by `cargo test --manifest-path fuzz/Cargo.toml -- --ignored
//! write_seed_corpora`; the smoke test replays the files and checks they
//! are still what this module writes.

use lwm2m_carrier::coap::block::Block;
use lwm2m_carrier::coap::msg::{option, Code, MessageWriter, MsgType};
use lwm2m_carrier::lwm2m::tlv::{self, TlvType};
use lwm2m_carrier::lwm2m::Value;

use crate::engine::Ops;
use crate::input::SeedWriter;
use crate::objects::{self, acl_tlv, instance, security_tlv, server_tlv};

/// A CoAP message from parts.
pub fn coap(t: MsgType, code: Code, mid: u16, token: &[u8], opts: &[(u16, &[u8])], payload: &[u8]) -> Vec<u8> {
    let mut w = MessageWriter::new(t, code, mid, token).unwrap();
    for (n, v) in opts {
        w.option(*n, v).unwrap();
    }
    w.payload(payload).unwrap();
    w.finish()
}

const EP_QUERY: &[u8] = b"ep=urn:imei:351358815340515";

fn register() -> Vec<u8> {
    coap(
        MsgType::Con,
        Code::POST,
        0x1a2b,
        &[1, 2, 3, 4],
        &[(option::URI_PATH, b"rd"), (option::CONTENT_FORMAT, &[40]), (option::URI_QUERY, EP_QUERY), (option::URI_QUERY, b"lt=86400"), (option::URI_QUERY, b"lwm2m=1.0"), (option::URI_QUERY, b"b=U")],
        b"</1/0>,</2>,</3/0>,</4/0>,</5/0>,</7/0>",
    )
}

fn leshan_security() -> Vec<u8> {
    security_tlv("coaps://leshan.example:5684", false, 0, b"urn:imei:351358815340515", &[0xde, 0xad, 0xbe, 0xef, 1, 2], 1)
}

fn leshan_server() -> Vec<u8> {
    server_tlv(1, 86_400, 1, 60, true, "U")
}

/// TS §6.4.3.1's Device object instance, as the library writes it.
fn device_tlv() -> Vec<u8> {
    let mut t = Vec::new();
    let mut put = |id, v| tlv::write_value(&mut t, TlvType::ResourceValue, id, &v);
    put(0, Value::Str("Open Mobile Alliance"));
    put(1, Value::Str("Lightweight M2M Client"));
    put(2, Value::Str("345000123"));
    put(3, Value::Str("1.0"));
    let mut ps = Vec::new();
    tlv::write_value(&mut ps, TlvType::ResourceInstance, 0, &Value::Int(1));
    tlv::write_value(&mut ps, TlvType::ResourceInstance, 1, &Value::Int(5));
    tlv::write_nested(&mut t, TlvType::MultipleResource, 6, &ps);
    tlv::write_value(&mut t, TlvType::ResourceValue, 9, &Value::Int(100));
    tlv::write_value(&mut t, TlvType::ResourceValue, 13, &Value::Time(1_367_491_215));
    tlv::write_value(&mut t, TlvType::ResourceValue, 14, &Value::Str("+02:00"));
    t
}

/// A prefix choosing object `oid_index` of `Objects::IDS` and a path shape
/// (0 object, 1 instance, 2 resource) with ids `inst`, `res` (the layout of
/// the `tlv` and `json` targets).
fn obj_prefix(oid_index: u8, shape: u8, inst: u8, res: u8) -> Vec<u8> {
    vec![oid_index + 8 * shape, inst, res, 0]
}

fn with_prefix(p: Vec<u8>, rest: &[u8]) -> Vec<u8> {
    let mut v = p;
    v.extend_from_slice(rest);
    v
}

/// Bootstrap-Write request as Leshan sends it.
fn bs_write(mid: u16, path: &[&[u8]], payload: &[u8]) -> Vec<u8> {
    let mut opts: Vec<(u16, &[u8])> = path.iter().map(|p| (option::URI_PATH, *p)).collect();
    opts.push((option::CONTENT_FORMAT, &[0x2d, 0x16]));
    coap(MsgType::Con, Code::PUT, mid, &[0x51, mid as u8], &opts, payload)
}

/// Every target's seeds: (target, [(name, bytes)]).
pub fn all() -> Vec<(&'static str, Vec<(&'static str, Vec<u8>)>)> {
    let mut out = Vec::new();
    let block2 = {
        let mut v = [0u8; 3];
        let n = Block { num: 1, more: false, szx: 6 }.encode(&mut v);
        v[..n].to_vec()
    };
    out.push((
        "coap_msg",
        vec![
            ("register", register()),
            ("register-created", coap(MsgType::Ack, Code::CREATED, 0x1a2b, &[1, 2, 3, 4], &[(option::LOCATION_PATH, b"rd"), (option::LOCATION_PATH, b"5a3f")], b"")),
            ("bootstrap-write-security", bs_write(0x3001, &[b"0", b"1"], &leshan_security())),
            ("observe-battery", coap(MsgType::Con, Code::GET, 0x2000, &[9, 9], &[(option::OBSERVE, &[]), (option::URI_PATH, b"3"), (option::URI_PATH, b"0"), (option::URI_PATH, b"9")], b"")),
            ("get-block2", coap(MsgType::Con, Code::GET, 0x2001, &[7], &[(option::URI_PATH, b"3"), (option::ACCEPT, &[0x2d, 0x16]), (option::BLOCK2, &block2)], b"")),
            ("empty-ack", vec![0x60, 0x00, 0x12, 0x34]),
            ("ping", vec![0x40, 0x00, 0x12, 0x35]),
        ],
    ));
    out.push((
        "tlv",
        vec![
            ("leshan-security-instance", with_prefix(obj_prefix(0, 1, 1, 0), &leshan_security())),
            ("leshan-server-object", with_prefix(obj_prefix(1, 0, 0, 0), &instance(0, &leshan_server()))),
            ("device-instance", with_prefix(obj_prefix(3, 1, 0, 0), &device_tlv())),
            ("acl-instance", with_prefix(obj_prefix(2, 1, 0, 0), &acl_tlv(3, 0, &[(1, 31), (2, 1)], 1))),
        ],
    ));
    let text = |ty: u8, s: &[u8]| with_prefix(vec![ty], s);
    out.push((
        "text",
        vec![
            ("int", text(0, b"-1367491215")),
            ("float", text(6, b"-12.5e-3")),
            ("float-long", text(6, b"0.1000000000000000055511151231257827")),
            ("objlnk", text(5, b"3:0")),
            ("string", text(2, b"Open Mobile Alliance")),
            ("f64-bits", text(6, &0.1f64.to_le_bytes())),
        ],
    ));
    out.push((
        "json",
        vec![
            (
                "device-read",
                with_prefix(obj_prefix(3, 1, 0, 0), br#"{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"9","v":100},{"n":"13","v":1367491215},{"n":"16","sv":"U"}]}"#),
            ),
            ("server-write", with_prefix(obj_prefix(1, 1, 0, 0), br#"{"bn":"/1/0/","e":[{"n":"1","v":120},{"n":"6","bv":true},{"n":"7","sv":"U"}]}"#)),
            ("objlnk-opaque", with_prefix(obj_prefix(5, 1, 0, 0), br#"{"e":[{"n":"/5/0/0","sv":"AAEC"},{"n":"/5/0/1","sv":"coap://x/fw"}],"bt":5}"#)),
            ("acl", with_prefix(obj_prefix(2, 0, 0, 0), br#"{"bn":"/2/","e":[{"n":"0/0","v":3},{"n":"0/2/1","v":31},{"n":"0/3","v":1},{"n":"1/0","ov":"1:0"}]}"#)),
        ],
    ));
    out.push((
        "wattr",
        vec![
            ("resource", SeedWriter::new().byte(2).byte(3).byte(0).byte(9).blob(b"pmin=10&pmax=60&gt=50&lt=20.5&st=2").finish()),
            (
                "levels",
                SeedWriter::new().byte(0).byte(3).byte(0).byte(0).blob(b"pmin=5").byte(1).byte(3).byte(0).byte(0).blob(b"pmax=30").byte(2).byte(3).byte(0).byte(9).blob(b"pmin").finish(),
            ),
            ("refused", SeedWriter::new().byte(1).byte(3).byte(0).byte(0).blob(b"gt=5").byte(2).byte(4).byte(0).byte(2).blob(b"pmin=9&pmax=3").finish()),
        ],
    ));
    out.push((
        "path",
        vec![("resource", b"3/0/9".to_vec()), ("pair", b"1/0\x001/0/1".to_vec()), ("max", b"65534/65534/65534/65534".to_vec()), ("root", b"\x003".to_vec())],
    ));
    out.push((
        "at",
        vec![
            ("cereg-home", b"+CEREG: 1,\"0A0B\",\"01020304\",7".to_vec()),
            ("cereg-read", b"+CEREG: 2,1,\"0A0B\",\"01020304\",7\r\nOK\r\n".to_vec()),
            ("cgsn", b"+CGSN: \"351358815340515\"\r\nOK".to_vec()),
            ("cesq", b"+CESQ: 99,99,255,255,31,62".to_vec()),
            ("cgpaddr", b"+CGPADDR: 0,\"10.0.0.2\",\"2001:db8::2\"".to_vec()),
            ("cgdcont", b"+CGDCONT: 0,\"IP\",\"internet\",\"10.0.0.2\",0,0\r\n+CGDCONT: 1,\"IPV4V6\",\"ims\",\"\",0,0".to_vec()),
            ("cops", b"+COPS: 0,2,\"24201\",7".to_vec()),
            ("xconnstat", b"%XCONNSTAT: 1,2,30,40,1280,600".to_vec()),
            ("utc-offset", b"UTC+05:30".to_vec()),
        ],
    ));
    let mut with_acl = SeedWriter::new();
    with_acl.raw(&objects::leshan_bootstrap_seed());
    // Write /2/0: ACL of /3/0 for servers 1 (all) and 2 (read)
    with_acl.index(1).index(4).byte(0).index(1).index(0).index(2).index(1).index(1).index(2).index(0).index(0);
    with_acl.index(3);
    out.push(("bootstrap", vec![("leshan", objects::leshan_bootstrap_seed()), ("leshan-acl", with_acl.finish())]));
    out.push((
        "dm",
        vec![
            // read /3/0 in TLV (op 0, shape 2 = instance, object pick 3 = Device, ids 0)
            ("read-device", SeedWriter::new().bool(false).index(0).byte(2).index(3).byte(0).byte(0).byte(0).index(1).finish()),
            // write /1/0/1 text "120" (op 3, resource shape 3, object 1, res 1), raw payload
            ("write-lifetime", SeedWriter::new().bool(true).index(3).byte(3).index(1).byte(0).byte(1).byte(0).index(2).bool(false).blob(b"120").finish()),
            // discover /3/0 then script CESQ and set the battery level
            ("discover", SeedWriter::new().bool(false).index(7).byte(2).index(3).byte(0).byte(0).byte(0).index(0).blob(b"+CESQ: 99,99,255,255,20,40").index(0).byte(77).finish()),
        ],
    ));
    out.push(("engine_registered", engine_registered_seeds()));
    out.push(("engine_bootstrap", engine_bootstrap_seeds()));
    out
}

fn engine_registered_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut r = Ops::new(0);
    r.request(0, "3/0", 0);
    let read_device = r.finish();
    // Internal battery, Write-Attributes pmin=1 on /3/0/9 (flags 4: one query), observe it (flags 1), change it.
    let mut o = Ops::new(0);
    o.power_sources(&[1]);
    o.request(2, "3/0/9", 4).index(0).byte(0).index(0);
    o.request(0, "3/0/9", 1).index(0);
    o.advance(5).battery(50).advance(5).battery(20);
    let observe = o.finish();
    // A lifetime of 60 s: the Update 4 s before, answered 2.04; then one unanswered.
    let update = Ops::new(0).advance(6).answer_last(1, 2).advance(6).advance(6).finish();
    // Two servers with ACLs, reboot, answer the Update after the reboot.
    let mut t = Ops::new(1);
    t.reboot(0).answer_last(1, 2).request(0, "2", 2).index(3);
    let two = t.finish();
    // Reboot with a damaged record; then the Registration Update Trigger (POST /1/0/8).
    let mut d = Ops::new(8);
    d.reboot(3).request(3, "1/0/8", 0);
    let damaged = d.answer_last(1, 2).finish();
    vec![("read-device", read_device), ("observe-battery", observe), ("update", update), ("two-servers", two), ("damaged-record", damaged)]
}

fn engine_bootstrap_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let del = coap(MsgType::Con, Code::DELETE, 0x3000, &[0x51], &[], b"");
    let sec = bs_write(0x3001, &[b"0", b"1"], &leshan_security());
    let srv = bs_write(0x3002, &[b"1", b"0"], &leshan_server());
    let fin = coap(MsgType::Con, Code::POST, 0x3003, &[0x52], &[(option::URI_PATH, b"bs")], b"");
    let disc = coap(MsgType::Con, Code::GET, 0x3004, &[0x53], &[(option::ACCEPT, &[40])], b"");
    let leshan = Ops::new(1).raw(&del).raw(&sec).raw(&srv).raw(&disc).raw(&fin).on(Some(1)).answer_last(0, 0).finish();
    // The server starts before the 2.04 of the Bootstrap-Request; then a reboot after finishing.
    let early = Ops::new(0).raw(&sec).raw(&srv).bootstrap_finish().on(Some(1)).answer_last(0, 0).reboot(0).finish();
    // No answer: the request times out, the bootstrap is deferred and retried.
    let silent = Ops::new(0).advance(5).advance(7).cereg(5).finish();
    vec![("leshan", leshan), ("early-write", early), ("silent-server", silent)]
}
