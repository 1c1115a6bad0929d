//! Targets of the object layer: the bootstrap interface on the objects
//! (Bootstrap-Delete, -Write, -Discover, the persisted records) and the
//! device-management operations (`objects::ops`) on a bootstrapped set.

use std::collections::BTreeMap;

use lwm2m_carrier::limits;
use lwm2m_carrier::lwm2m::tlv::{self, TlvType};
use lwm2m_carrier::lwm2m::{text, ContentFormat, Path, Value};
use lwm2m_carrier::modem::info::cmd as info_cmd;
use lwm2m_carrier::objects::device::Device;
use lwm2m_carrier::objects::model::{Env, WriteMode};
use lwm2m_carrier::objects::ops::{self, Writer};
use lwm2m_carrier::objects::Objects;

use crate::input::{Input, SeedWriter};
use crate::oracles::{self, same_owned};

pub const BS_URI: &str = "coaps://bs.example:5784";

/// Known finding (fuzz/README.md): a Bootstrap-Write of `/0/<bootstrap
/// instance>` with Bootstrap-Server false turns the bootstrap account into
/// a server account, although a Delete of it is refused "so the client can
/// always bootstrap again". Tolerated while true (and FUZZ_STRICT unset).
pub const KNOWN_BOOTSTRAP_ACCOUNT_OVERWRITE: bool = true;

/// The platform as the objects see it, scripted from the input.
#[derive(Clone)]
pub struct FuzzEnv {
    pub device: Device,
    pub utc: i32,
    pub offset: i32,
    pub tz: String,
    pub memory_free: i32,
    /// Answers to AT commands; absent ones fail with -8.
    pub at_answers: BTreeMap<&'static str, String>,
}

impl FuzzEnv {
    pub fn new() -> FuzzEnv {
        let mut at_answers = BTreeMap::new();
        for (c, a) in MODEM_INFO_ANSWERS {
            at_answers.insert(*c, a.to_string());
        }
        FuzzEnv { device: Device::new(), utc: 1_700_000_000, offset: 60, tz: "Europe/Oslo".into(), memory_free: 42, at_answers }
    }

    /// Replace the answer of one of the modem-information commands.
    pub fn script_at(&mut self, i: &mut Input) {
        let (c, _) = MODEM_INFO_ANSWERS[i.below(MODEM_INFO_ANSWERS.len())];
        let text = String::from_utf8_lossy(i.blob(limits::AT_RESPONSE_LEN)).into_owned();
        if text.is_empty() {
            self.at_answers.remove(c);
        } else {
            self.at_answers.insert(c, text);
        }
    }
}

impl Default for FuzzEnv {
    fn default() -> Self {
        Self::new()
    }
}

/// The commands objects 4 and 7 send, with answers a real modem gives.
pub const MODEM_INFO_ANSWERS: &[(&str, &str)] = &[
    (info_cmd::CESQ, "+CESQ: 99,99,255,255,31,62"),
    (info_cmd::CGPADDR, "+CGPADDR: 0,\"10.0.0.2\",\"2001:db8::2\""),
    (info_cmd::CGDCONT, "+CGDCONT: 0,\"IP\",\"internet\",\"10.0.0.2\",0,0"),
    (info_cmd::CEREG_READ, "+CEREG: 2,1,\"0A0B\",\"01020304\",7"),
    (info_cmd::COPS, "+COPS: 0,2,\"24201\",7"),
    (info_cmd::XCONNSTAT_READ, "%XCONNSTAT: 1,2,30,40,1280,600"),
    (info_cmd::XCONNSTAT_START, ""),
    (info_cmd::XCONNSTAT_STOP, ""),
];

impl Env for FuzzEnv {
    fn with_device(&mut self, f: &mut dyn FnMut(&mut Device)) {
        f(&mut self.device)
    }
    fn at(&mut self, cmd: &str) -> Result<String, i32> {
        self.at_answers.get(cmd).cloned().ok_or(-8)
    }
    fn memory_free(&mut self) -> i32 {
        self.memory_free
    }
    fn utc_time(&mut self) -> i32 {
        self.utc
    }
    fn utc_offset(&mut self) -> i32 {
        self.offset
    }
    fn timezone(&mut self) -> String {
        self.tz.clone()
    }
    fn set_utc_time(&mut self, t: i32) -> i32 {
        if t < 0 {
            return -22;
        }
        self.utc = t;
        0
    }
    fn set_utc_offset(&mut self, m: i32) -> i32 {
        self.offset = m;
        0
    }
    fn set_timezone(&mut self, tz: &str) -> i32 {
        self.tz = tz.into();
        0
    }
}

// ----- payload builders (shared with the engine target and the seeds) ------

pub const URIS: &[&str] = &[
    "coaps://dm.example:5684",
    "coap://dm.example:5683",
    "coaps://[2001:db8::1]:5684",
    "coaps://second.example",
    "",
    "coaps://:0",
    "http://x",
];

/// Values of one resource, as TLV into `out`.
fn put(out: &mut Vec<u8>, id: u16, v: Value) {
    tlv::write_value(out, TlvType::ResourceValue, id, &v);
}

/// A Security instance's resources (Leshan's Bootstrap-Write form).
pub fn security_tlv(uri: &str, bootstrap: bool, mode: i64, identity: &[u8], key: &[u8], ssid: i64) -> Vec<u8> {
    let mut t = Vec::new();
    put(&mut t, 0, Value::Str(uri));
    put(&mut t, 1, Value::Bool(bootstrap));
    put(&mut t, 2, Value::Int(mode));
    put(&mut t, 3, Value::Opaque(identity));
    put(&mut t, 4, Value::Opaque(b""));
    put(&mut t, 5, Value::Opaque(key));
    put(&mut t, 10, Value::Int(ssid));
    t
}

/// A Server instance's resources.
pub fn server_tlv(ssid: i64, lifetime: i64, pmin: i64, pmax: i64, storing: bool, binding: &str) -> Vec<u8> {
    let mut t = Vec::new();
    put(&mut t, 0, Value::Int(ssid));
    put(&mut t, 1, Value::Int(lifetime));
    put(&mut t, 2, Value::Int(pmin));
    put(&mut t, 3, Value::Int(pmax));
    put(&mut t, 5, Value::Int(86_400));
    put(&mut t, 6, Value::Bool(storing));
    put(&mut t, 7, Value::Str(binding));
    t
}

/// An Access Control instance: object, instance, ACL entries (ssid → rights), owner.
pub fn acl_tlv(obj: i64, inst: i64, entries: &[(u16, i64)], owner: i64) -> Vec<u8> {
    let mut t = Vec::new();
    put(&mut t, 0, Value::Int(obj));
    put(&mut t, 1, Value::Int(inst));
    let mut acl = Vec::new();
    for &(ssid, rights) in entries {
        tlv::write_value(&mut acl, TlvType::ResourceInstance, ssid, &Value::Int(rights));
    }
    tlv::write_nested(&mut t, TlvType::MultipleResource, 2, &acl);
    put(&mut t, 3, Value::Int(owner));
    t
}

/// Wrap resources into an Object Instance TLV.
pub fn instance(id: u16, resources: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    tlv::write_nested(&mut t, TlvType::ObjectInstance, id, resources);
    t
}

/// A Bootstrap-Write from the input: (path, content format, payload).
/// Layout: `kind` byte; a structured instance (fields from the input) or a
/// raw blob.
pub fn bootstrap_write(i: &mut Input) -> (Path, ContentFormat, Vec<u8>) {
    let kind = i.below(8);
    let inst = i.byte() as u16 % 6;
    match kind {
        0 | 1 => {
            let uri = URIS[i.below(URIS.len())];
            let (bs, mode) = (i.bool(), i.pick(&[0i64, 3, 1, -1, 1 << 40]));
            let identity = i.blob(200).to_vec();
            let key = i.blob(100).to_vec();
            let ssid = i.pick(&[1i64, 2, 3, 0, 65535, 65536, -1, 102]);
            let t = security_tlv(uri, bs, mode, &identity, &key, ssid);
            if kind == 0 { (Path::Instance(0, inst), ContentFormat::Tlv, t) } else { (Path::Object(0), ContentFormat::Tlv, instance(inst, &t)) }
        }
        2 | 3 => {
            let ssid = i.pick(&[1i64, 2, 3, 0, 65535, -1, 102]);
            let lifetime = i.pick(&[60i64, 86_400, 0, 1, -5, 1 << 33, 4]);
            let (pmin, pmax) = (i.pick(&[0i64, 1, 10, -1]), i.pick(&[0i64, 60, 5, -1]));
            let binding = i.pick(&["U", "UQ", "S", "", "u"]);
            let t = server_tlv(ssid, lifetime, pmin, pmax, i.bool(), binding);
            if kind == 2 { (Path::Instance(1, inst), ContentFormat::Tlv, t) } else { (Path::Object(1), ContentFormat::Tlv, instance(inst, &t)) }
        }
        4 => {
            let obj = i.pick(&[1i64, 3, 4, 5, 7, 2, 0, 9999, -1]);
            let oinst = i.pick(&[0i64, 1, 65535, 70000]);
            let n = i.below(4);
            let entries: Vec<(u16, i64)> = (0..n).map(|_| (i.pick(&[0u16, 1, 2, 3, 65535]), i.pick(&[1i64, 31, 0, 7, 255, -1]))).collect();
            let owner = i.pick(&[1i64, 2, 65535, 0]);
            (Path::Instance(2, inst), ContentFormat::Tlv, acl_tlv(obj, oinst, &entries, owner))
        }
        5 => {
            // A single resource in plain text.
            let res = i.byte() as u16 % 13;
            let obj = i.pick(&[0u16, 1, 2]);
            (Path::Resource(obj, inst, res), ContentFormat::Text, i.blob(300).to_vec())
        }
        _ => {
            let p = any_path(i);
            let cf = i.pick(&[ContentFormat::Tlv, ContentFormat::Text, ContentFormat::Json, ContentFormat::Opaque, ContentFormat::Link]);
            (p, cf, i.blob(600).to_vec())
        }
    }
}

/// A path from the input: shape byte and small ids, mostly of existing objects.
pub fn any_path(i: &mut Input) -> Path {
    let shape = i.byte();
    let o = if shape & 0x80 != 0 { i.u16() } else { i.pick(&[0u16, 1, 2, 3, 4, 5, 7, 6, 65534]) };
    let (a, b, c) = (i.byte() as u16 % 6, i.byte() as u16 % 25, i.byte() as u16 % 4);
    match shape % 5 {
        0 => Path::Root,
        1 => Path::Object(o),
        2 => Path::Instance(o, a),
        3 => Path::Resource(o, a, b),
        _ => Path::ResourceInstance(o, a, b, c),
    }
}

/// Limits of `limits.rs` on the objects' contents.
pub fn check_object_limits(o: &Objects) {
    assert!(o.security.instances.len() <= limits::MAX_SECURITY_INSTANCES, "{} security instances", o.security.instances.len());
    assert!(o.server.instances.len() <= limits::MAX_SERVER_INSTANCES, "{} server instances", o.server.instances.len());
    for s in &o.security.instances {
        assert!(s.uri.len() <= limits::MAX_URI_LEN);
        assert!(s.identity.len() <= limits::MAX_PSK_IDENTITY_LEN);
        assert!(s.secret_key.len() <= limits::MAX_PSK_KEY_LEN);
    }
}

/// The persistent records of `o` reload into the same Security, Server
/// and Access Control objects.
pub fn check_records_reload(o: &Objects) {
    let (s, v, a) = (o.encode_security(), o.encode_server(), o.encode_acl());
    let d = Objects::decode(&s, &v, &a).unwrap_or_else(|| panic!("records do not reload: {:?}", (&o.security, &o.server, &o.acl)));
    assert_eq!(d.security, o.security, "Security record reloads differently");
    assert_eq!(d.server, o.server, "Server record reloads differently");
    assert_eq!(d.acl, o.acl, "ACL record reloads differently");
}

/// Bootstrap-Discover output: link format, every link an object or
/// instance, `</>;lwm2m=1.0` first.
pub fn check_bootstrap_discover(o: &Objects) {
    let mut out = Vec::new();
    o.bootstrap_discover(&mut out);
    let links = oracles::parse_link_format(&out).unwrap_or_else(|e| panic!("Bootstrap-Discover not link format ({e}): {}", String::from_utf8_lossy(&out)));
    for l in &links {
        let p = oracles::link_path(&l.target).unwrap_or_else(|| panic!("link {:?} is not a path", l.target));
        assert!(p.depth() <= 2, "Bootstrap-Discover lists {p:?}");
    }
    let mut reg = Vec::new();
    o.registration_links(&mut reg);
    let links = oracles::parse_link_format(&reg).unwrap_or_else(|e| panic!("Register payload not link format ({e}): {}", String::from_utf8_lossy(&reg)));
    assert!(links.iter().all(|l| oracles::link_path(&l.target).is_some_and(|p| p.object() != Some(0))), "Security in the Register payload");
}

/// Bootstrap interface on the objects: a sequence of Bootstrap-Delete,
/// Bootstrap-Write (structured Security/Server/ACL instances or raw
/// payloads in any format) and Bootstrap-Discover from the factory state.
/// Asserts after each: the `limits.rs` bounds on instances, URIs, PSK
/// identities and keys; the bootstrap account survives every Delete; a
/// configuration Bootstrap-Finish would accept (a server, `check_storable`)
/// has records that fit `MAX_RECORD_LEN` and reload into equal objects;
/// Discover and the Register payload are link format.
pub fn bootstrap(data: &[u8]) {
    let mut i = Input::new(data);
    let mut o = Objects::factory(BS_URI, true);
    let mut n = 0;
    while !i.is_empty() && n < 32 {
        n += 1;
        match i.below(4) {
            0 => {
                let p = any_path(&mut i);
                let had = o.bootstrap_account().is_some();
                let _ = o.bootstrap_delete(&p);
                assert!(!had || o.bootstrap_account().is_some(), "Bootstrap-Delete {p:?} removed the bootstrap account");
            }
            1 | 2 => {
                let (p, cf, payload) = bootstrap_write(&mut i);
                let had = o.bootstrap_account().is_some();
                let _ = o.bootstrap_write(&p, cf, &payload);
                let lost = had && o.bootstrap_account().is_none();
                assert!(!lost || (KNOWN_BOOTSTRAP_ACCOUNT_OVERWRITE && !crate::os_stubs::strict()), "Bootstrap-Write {p:?} took the bootstrap account away");
            }
            _ => check_bootstrap_discover(&o),
        }
        check_object_limits(&o);
        // What Bootstrap-Finish accepts is what gets stored.
        if o.has_server() && o.check_storable().is_ok() {
            check_records_reload(&o);
            for (what, r) in [("Security", o.encode_security()), ("Server", o.encode_server()), ("ACL", o.encode_acl())] {
                assert!(r.len() + 8 <= limits::MAX_RECORD_LEN, "a storable {what} record of {} bytes does not fit a record", r.len());
            }
        }
    }
    check_bootstrap_discover(&o);
}

/// The objects of a device bootstrapped with one or two servers and ACLs.
pub fn bootstrapped_objects(two_servers: bool) -> Objects {
    let mut o = Objects::factory(BS_URI, true);
    let w = |o: &mut Objects, p: Path, t: Vec<u8>| o.bootstrap_write(&p, ContentFormat::Tlv, &t).expect("bootstrap write");
    w(&mut o, Path::Instance(0, 1), security_tlv("coaps://dm.example:5684", false, 0, b"urn:imei:351358815340515", &[0xde, 0xad, 0xbe, 0xef], 1));
    w(&mut o, Path::Instance(1, 0), server_tlv(1, 86_400, 1, 60, true, "U"));
    if two_servers {
        w(&mut o, Path::Instance(0, 2), security_tlv("coaps://second.example:5684", false, 0, b"id2", &[1, 2, 3], 2));
        w(&mut o, Path::Instance(1, 1), server_tlv(2, 3600, 0, 0, false, "U"));
        w(&mut o, Path::Instance(2, 0), acl_tlv(3, 0, &[(1, 31), (2, 1)], 1));
        w(&mut o, Path::Instance(2, 1), acl_tlv(1, 1, &[(2, 31)], 2));
    }
    o
}

/// Device-management operations on a bootstrapped object set, straight on
/// `objects::ops`: Read in any Accept, Write (replace, update) in any
/// format, Execute, Create, Delete, Discover, with the modem's answers and
/// the Device values scripted. Asserts: a Read answers in the Accept asked
/// for, and its body decodes (TLV, JSON through the Write decoder; text and
/// opaque through theirs) to exactly the values read; Discover output is
/// link format whose links lie under the target and whose `dim` counts the
/// values; after every operation the object it acted on (after a change
/// of the modem's answers or the Device values, every object), and at the
/// end every object, still reads whole and encodes, in TLV and JSON, to
/// what decodes back.
pub fn dm(data: &[u8]) {
    let mut i = Input::new(data);
    let mut o = bootstrapped_objects(i.bool());
    let mut env = FuzzEnv::new();
    let mut n = 0;
    while !i.is_empty() && n < 24 {
        n += 1;
        let op = i.below(8);
        let p = any_path(&mut i);
        let Some(oid) = p.object() else { continue };
        match op {
            0 | 1 => {
                let accept = i.pick(&[None, Some(ContentFormat::Tlv), Some(ContentFormat::Json), Some(ContentFormat::Text), Some(ContentFormat::Opaque), Some(ContentFormat::Link)]);
                if let Some(obj) = o.get(oid) {
                    check_read(obj, &mut env, &p, accept);
                }
            }
            2 | 3 => {
                let cf = i.pick(&[ContentFormat::Tlv, ContentFormat::Json, ContentFormat::Text, ContentFormat::Opaque]);
                let mode = if op == 2 { WriteMode::Replace } else { WriteMode::Update };
                let payload = write_payload(&mut i, &o, &p, cf, &mut env);
                if let Some(obj) = o.get_mut(oid) {
                    let _ = ops::write(obj, &mut env, &p, cf, &payload, mode, Writer::Server);
                }
            }
            4 => {
                let args = i.blob(64).to_vec();
                // Reboot and factory reset are effects for the engine, not done here.
                if let Some(obj) = o.get_mut(oid) {
                    let _ = ops::execute(obj, &mut env, &p, &args);
                }
            }
            5 => {
                let cf = i.pick(&[ContentFormat::Tlv, ContentFormat::Json, ContentFormat::Text]);
                let payload = i.blob(400).to_vec();
                if let Some(obj) = o.get_mut(oid) {
                    let _ = ops::create(obj, &mut env, &p, cf, &payload);
                }
            }
            6 => {
                if let (Some(inst), Some(obj)) = (p.instance(), o.get_mut(oid)) {
                    let _ = obj.delete(inst);
                }
            }
            _ => {
                if let Some(obj) = o.get(oid) {
                    check_discover(obj, &mut env, &p);
                }
                env.script_at(&mut i);
                setter(&mut i, &mut env.device);
            }
        }
        check_object_limits(&o);
        // An operation changes only its own object; the modem's answers and
        // the setters (op 7) reach the objects that read them. Every object
        // is read again at the end.
        if op == 7 {
            check_whole_objects(&o, &mut env, Objects::IDS);
        } else {
            check_whole_objects(&o, &mut env, &[oid]);
        }
    }
    check_whole_objects(&o, &mut env, Objects::IDS);
}

/// Objects `ids` (those that exist) read whole in TLV and JSON, and what they read decodes back.
fn check_whole_objects(o: &Objects, env: &mut FuzzEnv, ids: &[u16]) {
    for &id in ids {
        if let Some(obj) = o.get(id) {
            check_read(obj, env, &Path::Object(id), Some(ContentFormat::Tlv));
            check_read(obj, env, &Path::Object(id), Some(ContentFormat::Json));
        }
    }
}

/// A Write payload: a read of another path re-encoded (real-shaped), or raw.
fn write_payload(i: &mut Input, o: &Objects, p: &Path, cf: ContentFormat, env: &mut FuzzEnv) -> Vec<u8> {
    if i.bool() {
        if let Some(obj) = p.object().and_then(|id| o.get(id)) {
            if let Ok((_, body)) = ops::read(obj, env, p, Some(cf)) {
                let mut body = body;
                if let Some(b) = body.get_mut(i.byte() as usize) {
                    *b ^= i.byte();
                }
                return body;
            }
        }
    }
    i.blob(400).to_vec()
}

/// One Device setter with arguments from the input (the C API's setters).
pub fn setter(i: &mut Input, d: &mut Device) {
    let _ = match i.below(12) {
        0 => d.set_battery_level(i.byte()),
        1 => d.set_battery_status(i.byte() as i32 - 8),
        2 => {
            let n = i.below(10);
            let s: Vec<u8> = (0..n).map(|_| i.byte() % 9).collect();
            d.set_power_sources(&s)
        }
        3 => d.set_voltage(i.byte() % 9, i.u32() as i32),
        4 => d.set_current(i.byte() % 9, i.u32() as i32),
        5 => d.set_device_type(Some(&String::from_utf8_lossy(i.blob(250)))),
        6 => d.set_hardware_version(Some(&String::from_utf8_lossy(i.blob(250)))),
        7 => d.set_software_version(if i.bool() { None } else { Some("") }),
        8 => d.add_error_code(i.byte() as i32 - 1),
        9 => d.remove_error_code(i.byte() as i32 - 1),
        10 => d.set_memory_total(i.u32()),
        _ => {
            d.reset_error_codes();
            Ok(())
        }
    };
}

fn check_read(obj: &dyn lwm2m_carrier::objects::model::Object, env: &mut FuzzEnv, p: &Path, accept: Option<ContentFormat>) {
    let Ok((cf, body, items)) = ops::read_items(obj, env, p, accept) else { return };
    if let Some(a) = accept {
        assert_eq!(cf, a, "Read of {p:?} answered in {cf:?} for Accept {a:?}");
    }
    let defs = obj.defs();
    for it in &items {
        let d = defs.iter().find(|d| d.id == it.res).expect("read item in the table");
        assert!(d.readable(), "read an unreadable resource");
        assert_eq!(it.value.as_value().resource_type(), d.ty, "read value of the wrong type: {it:?}");
    }
    match cf {
        ContentFormat::Tlv | ContentFormat::Json => {
            // The Read encodes as it reads; the same values gathered first
            // and encoded afterwards give the same bytes.
            let mut again = Vec::new();
            if cf == ContentFormat::Tlv {
                ops::encode_tlv(defs, p, &items, &mut again);
            } else {
                ops::encode_json(p, &items, &mut again);
            }
            assert_eq!(body, again, "Read of {p:?} in {cf:?} encoded as it read differs from its values encoded");
            if items.is_empty() {
                return;
            }
            let back = ops::decode_write(defs, p, cf, &body, Writer::BootstrapServer)
                .unwrap_or_else(|c| panic!("Read of {p:?} in {cf:?} does not decode ({c:?}): {}", String::from_utf8_lossy(&body)));
            assert_eq!(back.len(), items.len(), "Read of {p:?} in {cf:?}: {items:?} -> {back:?}");
            for (a, b) in items.iter().zip(&back) {
                assert!((a.inst, a.res, a.ri) == (b.inst, b.res, b.ri) && same_owned(&a.value, &b.value), "Read of {p:?} in {cf:?}: {a:?} -> {b:?}");
            }
        }
        ContentFormat::Text => {
            assert_eq!(items.len(), 1, "text Read of {p:?} with {} values", items.len());
            let ty = items[0].value.as_value().resource_type();
            let v = text::decode(&body, ty).unwrap_or_else(|| panic!("text Read of {p:?} does not decode: {:?}", String::from_utf8_lossy(&body)));
            assert!(oracles::same_value(&v, &items[0].value.as_value()));
        }
        ContentFormat::Opaque => {
            assert_eq!(items.len(), 1);
            assert_eq!(Value::Opaque(&body), items[0].value.as_value());
        }
        ContentFormat::Link => panic!("Read answered in link format"),
    }
}

fn check_discover(obj: &dyn lwm2m_carrier::objects::model::Object, env: &mut FuzzEnv, p: &Path) {
    let Ok(out) = ops::discover(obj, env, p, &mut |_, _| {}) else { return };
    let links = oracles::parse_link_format(&out).unwrap_or_else(|e| panic!("Discover {p:?} not link format ({e}): {}", String::from_utf8_lossy(&out)));
    for l in &links {
        let lp = oracles::link_path(&l.target).unwrap_or_else(|| panic!("Discover link {:?}", l.target));
        assert!(p.contains(&lp), "Discover {p:?} lists {lp:?}");
        for (name, v) in &l.params {
            if name == "dim" {
                let dim: usize = v.as_deref().and_then(|v| v.parse().ok()).expect("dim is a number");
                let n = ops::collect(obj, env, &lp).map_or(0, |v| v.len());
                assert_eq!(dim, n, "dim of {lp:?}");
            }
        }
    }
}

/// Seeds of the object targets (see `seeds.rs`).
pub fn leshan_bootstrap_seed() -> Vec<u8> {
    let mut w = SeedWriter::new();
    // Bootstrap-Delete /
    w.index(0).byte(0).byte(0).byte(0).byte(0).byte(0);
    // Write /0/1 security (kind 0, instance 1)
    w.index(1).index(0).byte(1).index(0).bool(false).index(0).blob(b"urn:imei:351358815340515").blob(&[0xde, 0xad, 0xbe, 0xef, 1, 2]).index(0);
    // Write /1/0 server (kind 2, instance 0)
    w.index(1).index(2).byte(0).index(0).index(0).index(1).index(1).index(0).bool(false);
    // Discover
    w.index(3);
    w.finish()
}
