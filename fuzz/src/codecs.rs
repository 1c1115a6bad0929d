//! Targets of the pure codecs: CoAP messages and Block options, TLV, plain
//! text and floats, LwM2M JSON, Write-Attributes queries, paths, and the AT
//! response and notification parsers.

use lwm2m_carrier::coap::block::Block;
use lwm2m_carrier::coap::endpoint::{Endpoint, Incoming};
use lwm2m_carrier::coap::msg::{Message, MessageWriter, MsgType, ParseError, MAX_TOKEN_LEN};
use lwm2m_carrier::limits;
use lwm2m_carrier::lwm2m::json::{self, JsonValue, JsonWriter, MAX_JSON_ENTRIES};
use lwm2m_carrier::lwm2m::link::LinkWriter;
use lwm2m_carrier::lwm2m::tlv::{self, TlvType};
use lwm2m_carrier::lwm2m::{float, text, ContentFormat, Path, ResourceType, Value};
use lwm2m_carrier::modem::{self, info};
use lwm2m_carrier::objects::device::{format_utc_offset, parse_utc_offset};
use lwm2m_carrier::objects::ops::{self, Writer};
use lwm2m_carrier::objects::Objects;
use lwm2m_carrier::observe::{parse_write_attributes, AttributeStore, Attributes, Update, MAX_ATTRIBUTE_ENTRIES};
use lwm2m_carrier::time::Instant;

use crate::input::Input;
use crate::oracles::{self, same_owned, same_value};

pub const TYPES: [ResourceType; 8] = [
    ResourceType::Int,
    ResourceType::Bool,
    ResourceType::Str,
    ResourceType::Opaque,
    ResourceType::Time,
    ResourceType::ObjLnk,
    ResourceType::Float,
    ResourceType::None,
];

// ----- CoAP ------------------------------------------------------------------

/// CoAP decoder (`coap::msg`), Block options and the message layer of one
/// connection. Asserts: a parsed message has a token of ≤ 8 bytes, at most
/// `MAX_OPTIONS` options in ascending order and a non-empty payload if any;
/// re-encoding it with `MessageWriter` gives back exactly the datagram
/// (the option encoding is unique) when it fits `MAX_DATAGRAM`; every Block
/// value round-trips; a fresh `Endpoint` given the datagram queues at most
/// one reply, a valid message with the datagram's Message ID, and rejects a
/// readable malformed CON with exactly one RST.
pub fn coap_msg(data: &[u8]) {
    match Message::parse(data) {
        Ok(m) => {
            assert!(m.token.len() <= MAX_TOKEN_LEN);
            let opts: Vec<(u16, &[u8])> = m.options().collect();
            assert!(opts.len() <= limits::MAX_OPTIONS, "{} options kept", opts.len());
            assert!(opts.windows(2).all(|w| w[0].0 <= w[1].0), "options out of order");
            let _ = (m.content_format(), m.accept(), m.observe(), m.unknown_critical(&[11, 15]));
            for (num, v) in &opts {
                assert_eq!(m.option(*num), opts.iter().find(|(n, _)| n == num).map(|(_, v)| *v));
                if let Some(b) = Block::parse(v) {
                    block_round_trip(b);
                    assert!(b.szx <= Block::MAX_SZX && b.num <= Block::MAX_NUM);
                    assert!(b.size() <= 1024 && b.size() >= 16);
                }
            }
            if data.len() <= limits::MAX_DATAGRAM {
                let mut w = MessageWriter::new(m.mtype, m.code, m.mid, m.token).expect("token of a parsed message");
                for (num, v) in &opts {
                    w.option(*num, v).expect("option of a parsed message that fits");
                }
                w.payload(m.payload).expect("payload of a parsed message that fits");
                assert_eq!(w.finish(), data, "encode(parse(x)) != x");
            }
        }
        Err(e) => {
            if let Some(n) = data.get(..3).and_then(|h| Block::parse(h)) {
                block_round_trip(n);
            }
            let _ = e;
        }
    }
    // The message layer of a fresh connection.
    let mut ep = Endpoint::new(0x1234, 0x5678_9abc);
    let incoming = ep.handle_datagram(Instant(1000), data);
    let request = matches!(incoming, Incoming::Request(_) | Incoming::Repeat(_));
    let mut out = Vec::new();
    while let Some(d) = ep.poll_transmit() {
        out.push(d);
    }
    assert!(out.len() <= 1, "{} replies to one datagram", out.len());
    for d in &out {
        let r = Message::parse(d).expect("the endpoint's reply parses");
        assert_eq!(r.mid, u16::from_be_bytes([data[2], data[3]]), "reply to another Message ID");
        assert!(matches!(r.mtype, MsgType::Ack | MsgType::Rst));
    }
    let readable_con = data.len() >= 4 && data[0] >> 6 == 1 && (data[0] >> 4) & 3 == 0;
    if readable_con && !request {
        let parsed = Message::parse(data);
        if parsed.as_ref().is_err_and(|e| *e != ParseError::BadVersion) {
            assert_eq!(out.len(), 1, "a malformed CON gets one RST");
            assert_eq!(Message::parse(&out[0]).unwrap().mtype, MsgType::Rst);
        }
    }
}

fn block_round_trip(b: Block) {
    let mut v = [0u8; 3];
    let n = b.encode(&mut v);
    assert_eq!(Block::parse(&v[..n]), Some(b), "Block round trip");
}

// ----- TLV -------------------------------------------------------------------

/// Layout: byte 0 picks an object (bits 0-2, an index of `Objects::IDS`)
/// and a path shape (bits 3-7: object, instance, resource, resource
/// instance, root), bytes 1..3 the ids; the rest is the payload.
fn object_and_path(i: &mut Input) -> (u16, Path) {
    let sel = i.byte();
    let oid = Objects::IDS[(sel & 7) as usize % Objects::IDS.len()];
    let (a, b, c) = (i.byte() as u16 % 4, i.byte() as u16 % 25, i.byte() as u16 % 4);
    let path = match (sel >> 3) % 5 {
        0 => Path::Object(oid),
        1 => Path::Instance(oid, a),
        2 => Path::Resource(oid, a, b),
        3 => Path::ResourceInstance(oid, a, b, c),
        _ => Path::Root,
    };
    (oid, path)
}

/// OMA-TLV decoder. Asserts: the shortest re-encoding of what decodes
/// decodes to the same TLVs (and is a fixed point); each value that decodes
/// as a type re-encodes with `write_value` and decodes to the same value,
/// integers in no more bytes than they came in; the payload decoder of the
/// Write operation (`ops::decode_write`) yields only resources of the
/// object's table with values of their type, and `ops::encode_tlv` of those
/// items decodes to the same items.
pub fn tlv(data: &[u8]) {
    let mut i = Input::new(data);
    let (oid, path) = object_and_path(&mut i);
    let payload = i.rest();
    if let Ok(tree) = oracles::tlv_tree(payload, 3) {
        let mut canon = Vec::new();
        oracles::tlv_write(&tree, &mut canon);
        let again = oracles::tlv_tree(&canon, 3).expect("canonical TLV decodes");
        assert_eq!(oracles::tlv_shape(&again), oracles::tlv_shape(&tree), "TLV re-encoding changed the tree");
        let mut twice = Vec::new();
        oracles::tlv_write(&again, &mut twice);
        assert_eq!(twice, canon, "TLV canonical form is not a fixed point");
        assert!(canon.len() <= payload.len(), "canonical TLV longer than the input");
        let mut leaves = Vec::new();
        collect_leaves(&tree, &mut leaves);
        for (id, v) in leaves.iter().take(64) {
            for ty in TYPES {
                let Ok(val) = tlv::decode_value(v, ty) else { continue };
                let mut out = Vec::new();
                tlv::write_value(&mut out, TlvType::ResourceValue, *id, &val);
                let t = tlv::iter(&out).next().unwrap().unwrap();
                assert_eq!((t.kind, t.id), (TlvType::ResourceValue, *id));
                let back = tlv::decode_value(t.value, ty).expect("write_value output decodes");
                assert!(same_value(&back, &val), "TLV value round trip: {val:?} -> {back:?}");
                if matches!(ty, ResourceType::Int | ResourceType::Time) {
                    assert!(t.value.len() <= v.len(), "integer re-encoded longer");
                }
            }
        }
    }
    decode_write_round_trip(oid, &path, ContentFormat::Tlv, payload);
}

fn collect_leaves(nodes: &[oracles::TlvNode], out: &mut Vec<(u16, Vec<u8>)>) {
    for n in nodes {
        match &n.children {
            Some(c) => collect_leaves(c, out),
            None => out.push((n.id, n.value.clone())),
        }
    }
}

/// `ops::decode_write` of `payload`: items within the table, and (TLV, JSON)
/// encoding them back decodes to the same items.
fn decode_write_round_trip(oid: u16, path: &Path, cf: ContentFormat, payload: &[u8]) {
    let objects = Objects::default();
    let obj = objects.get(oid).unwrap();
    let defs = obj.defs();
    let Ok(items) = ops::decode_write(defs, path, cf, payload, Writer::BootstrapServer) else { return };
    for it in &items {
        let d = defs.iter().find(|d| d.id == it.res).unwrap_or_else(|| panic!("decoded resource {} not in the table", it.res));
        // An empty Multiple Resource TLV decodes to a marker item (no
        // instance id, empty opaque) that carries no value.
        let marker = d.multiple && it.ri.is_none() && it.value == lwm2m_carrier::objects::model::OwnedValue::Opaque(Vec::new());
        if !marker {
            assert_eq!(it.value.as_value().resource_type(), d.ty, "decoded value of the wrong type: {it:?}");
        }
        if let Some(p) = path.instance() {
            assert_eq!(it.inst, p, "item of another instance");
        }
        if let Some(r) = path.resource() {
            assert_eq!(it.res, r, "item of another resource");
        }
    }
    // Findings #3 (TLV, fixed in b6f9a17) and #6 (JSON): a single value for a
    // multiple resource was accepted as an item without an instance id.
    for it in &items {
        let multiple = defs.iter().any(|d| d.id == it.res && d.multiple);
        let marker = it.value == lwm2m_carrier::objects::model::OwnedValue::Opaque(Vec::new());
        assert!(!multiple || it.ri.is_some() || marker, "{cf:?} single value accepted for multiple resource {}: {it:?}", it.res);
    }
    if items.is_empty() || !matches!(cf, ContentFormat::Tlv | ContentFormat::Json) {
        return;
    }
    // A resource named twice is written twice (the last value stays); the
    // encoders write each once, so only payloads without repeats round-trip.
    let mut keys: Vec<(u16, u16, Option<u16>)> = items.iter().map(|it| (it.inst, it.res, it.ri)).collect();
    keys.sort();
    keys.dedup();
    if keys.len() != items.len() {
        return;
    }
    // A multiple resource's value without a resource instance id (a single
    // value TLV, or the marker of an empty list) has no encoding of its own.
    if items.iter().any(|it| it.ri.is_none() && defs.iter().any(|d| d.id == it.res && d.multiple)) {
        return;
    }
    let mut body = Vec::new();
    match cf {
        ContentFormat::Tlv => ops::encode_tlv(defs, path, &items, &mut body),
        _ => ops::encode_json(path, &items, &mut body),
    }
    let back = ops::decode_write(defs, path, cf, &body, Writer::BootstrapServer).unwrap_or_else(|c| panic!("re-encoded {cf:?} refused with {c:?}: {}", String::from_utf8_lossy(&body)));
    // A JSON document names each value once; TLV items of one resource
    // instance may come twice in the input and once in the output.
    assert_eq!(back.len(), items.len(), "{cf:?} round trip changed the number of items: {items:?} -> {back:?}");
    for (a, b) in items.iter().zip(&back) {
        assert!((a.inst, a.res, a.ri) == (b.inst, b.res, b.ri) && same_owned(&a.value, &b.value), "{cf:?} round trip: {a:?} -> {b:?}");
    }
}

// ----- plain text and floats -------------------------------------------------

/// Plain-text decoder and the float reader/writer. Byte 0 picks the type.
/// Asserts: what decodes re-encodes to text that decodes to the same value;
/// a float read agrees bit for bit with Rust's correctly rounded
/// `str::parse::<f64>`; `write_f64` of the input's bits reads back as the
/// same float (finite values) in no more digits than Rust's shortest
/// representation; integer reads agree with `str::parse`.
pub fn text(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else { return };
    let ty = TYPES[sel as usize % TYPES.len()];
    if let Some(v) = text::decode(rest, ty) {
        let mut out = Vec::new();
        text::encode(&v, &mut out);
        let back = text::decode(&out, ty).unwrap_or_else(|| panic!("text of {v:?} does not decode: {:?}", String::from_utf8_lossy(&out)));
        assert!(same_value(&back, &v), "text round trip {v:?} -> {back:?}");
    }
    let s = core::str::from_utf8(rest).ok();
    // Floats: agree with the standard library.
    if let Some(x) = float::parse_f64(rest) {
        let s = s.expect("a float read from non-UTF-8");
        let std: f64 = s.parse().unwrap_or_else(|_| panic!("parse_f64 read {s:?} which std refuses"));
        assert_eq!(x.to_bits(), std.to_bits(), "parse_f64({s:?}) = {x:e}, std: {std:e}");
    } else if let Some(s) = s {
        if float_grammar(s) && sig_digits(s) <= float::MAX_SIG_DIGITS as usize {
            if let Ok(std) = s.parse::<f64>() {
                assert!(!std.is_finite(), "parse_f64 refuses {s:?}, std reads {std:e}");
            }
        }
    }
    if rest.len() >= 8 {
        let v = f64::from_le_bytes(rest[..8].try_into().unwrap());
        let mut out = Vec::new();
        float::write_f64(v, &mut out);
        let t = core::str::from_utf8(&out).expect("write_f64 writes ASCII");
        if v.is_finite() {
            let back = float::parse_f64(&out).unwrap_or_else(|| panic!("write_f64({v:e}) = {t:?} does not read back"));
            assert_eq!(back.to_bits(), v.to_bits(), "write_f64({v:e}) = {t:?} reads back as {back:e}");
            let ours = t.bytes().take_while(|&c| c != b'e').filter(|c| c.is_ascii_digit()).map(char::from).collect::<String>();
            let ours = ours.trim_start_matches('0').trim_end_matches('0').len();
            let std = format!("{:e}", v.abs());
            let shortest = std.split('e').next().unwrap().bytes().filter(|c| c.is_ascii_digit()).count();
            assert!(ours <= shortest.max(1), "write_f64({v:e}) = {t:?}: {ours} digits, shortest has {shortest}");
        } else {
            assert!(matches!(t, "NaN" | "Infinity" | "-Infinity"), "non-finite written as {t:?}");
        }
        let mut buf = [0u8; 20];
        let u = u64::from_le_bytes(rest[..8].try_into().unwrap());
        let n = lwm2m_carrier::util::decimal::fmt_u64(u, &mut buf);
        assert_eq!(&buf[..n], u.to_string().as_bytes());
    }
    if let Some(s) = s {
        let ours = text::parse_i64(rest);
        let std = s.parse::<i64>().ok().filter(|_| !s.starts_with('+'));
        assert_eq!(ours, std, "parse_i64({s:?})");
    }
}

/// `-?(d+(.d*)?|.d+)([eE][+-]?d+)?`
fn float_grammar(s: &str) -> bool {
    let b = s.strip_prefix('-').unwrap_or(s).as_bytes();
    let mut i = 0;
    let int = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int;
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac;
    }
    if int + frac == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let e = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if e == 0 {
            return false;
        }
        i += e;
    }
    i == b.len()
}

/// Significant digits of a decimal (leading and trailing zeros not counted).
fn sig_digits(s: &str) -> usize {
    let mantissa = s.split(['e', 'E']).next().unwrap_or("");
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    digits.trim_start_matches('0').trim_end_matches('0').len()
}

// ----- JSON ------------------------------------------------------------------

/// LwM2M JSON decoder. Byte 0 picks an object and path for the Write
/// decoder; the rest is the document. Asserts: accepted documents are JSON
/// (`serde_json` reads them), carry at most `MAX_JSON_ENTRIES` entries,
/// each at an LwM2M path; writing the entries back with `JsonWriter`
/// decodes to the same paths and values; `ops::decode_write` items are
/// within the object's table and round-trip through `ops::encode_json`.
pub fn json(data: &[u8]) {
    let mut i = Input::new(data);
    let (oid, path) = object_and_path(&mut i);
    let doc = i.rest();
    if let Ok(entries) = json::decode(doc) {
        assert!(entries.len() <= MAX_JSON_ENTRIES);
        // serde_json refuses numbers past f64's range, which JSON allows.
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(doc).map_err(|e| e.to_string()).or_else(|e| if e.starts_with("number out of range") { Ok(serde_json::Value::Null) } else { Err(e) }) {
            panic!("LwM2M JSON reader accepts what is not JSON ({e}): {:?}", String::from_utf8_lossy(doc));
        }
        let mut out = Vec::new();
        let mut w = JsonWriter::new(&mut out, &Path::Root);
        let mut written = Vec::new();
        let mut scratch = Vec::new();
        for e in &entries {
            let ids: Vec<u16> = [e.path.object(), e.path.instance(), e.path.resource(), e.path.resource_instance()].into_iter().flatten().collect();
            // An entry naming the root ("bn":"/" and no "n") has no value
            // to carry; the Write decoder refuses it (4.00).
            if ids.is_empty() {
                continue;
            }
            let (ty, v) = match &e.value {
                JsonValue::Num(t) => match text::parse_i64(t) {
                    Some(n) => (ResourceType::Int, Value::Int(n)),
                    None => match float::parse_f64(t) {
                        Some(f) => (ResourceType::Float, Value::Float(f)),
                        None => continue,
                    },
                },
                JsonValue::Bool(b) => (ResourceType::Bool, Value::Bool(*b)),
                JsonValue::Str(s) => (ResourceType::Str, Value::Str(s)),
                JsonValue::ObjLnk(o, i) => (ResourceType::ObjLnk, Value::ObjLnk(*o, *i)),
            };
            // The typed read of the entry agrees with the writer's input.
            if let Some(typed) = e.value(ty, &mut scratch) {
                assert!(same_value(&typed, &v));
            }
            w.entry(&ids, &v);
            written.push((e.path, ty, v));
        }
        w.finish();
        let back = json::decode(&out).unwrap_or_else(|_| panic!("JsonWriter output refused: {}", String::from_utf8_lossy(&out)));
        assert_eq!(back.len(), written.len());
        let mut scratch = Vec::new();
        for (b, (p, ty, v)) in back.iter().zip(&written) {
            assert_eq!(b.path, *p, "JSON path round trip");
            let got = b.value(*ty, &mut scratch).unwrap_or_else(|| panic!("JSON value {v:?} does not read back as {ty:?}"));
            assert!(same_value(&got, v), "JSON value round trip {v:?} -> {got:?}");
        }
    }
    decode_write_round_trip(oid, &path, ContentFormat::Json, doc);
}

// ----- Write-Attributes ------------------------------------------------------

/// Write-Attributes query parsing and the per-server attribute store.
/// Input: requests, each a level path (one byte of shape, up to 3 id
/// bytes) and a blob of `&`-separated Uri-Query values. Asserts: an
/// accepted request applied to a store leaves that level consistent
/// (§5.1.2 rules), sets exactly what it names; the store never holds more
/// than `MAX_ATTRIBUTE_ENTRIES` levels; `effective` inherits resource →
/// instance → object → defaults; and the Discover form of a level's
/// attributes (`write_link`) parses back into the same attributes.
pub fn wattr(data: &[u8]) {
    let mut i = Input::new(data);
    let mut store = AttributeStore::new();
    let mut rounds = 0;
    while !i.is_empty() && rounds < 32 {
        rounds += 1;
        let shape = i.byte();
        let (o, inst, r) = (i.byte() as u16 % 5, i.byte() as u16 % 3, i.byte() as u16 % 12);
        let level = match shape % 5 {
            0 => Path::Object(o),
            1 => Path::Instance(o, inst),
            2 => Path::Resource(o, inst, r),
            3 => Path::ResourceInstance(o, inst, r, 0),
            _ => Path::Root,
        };
        let q = i.blob(200);
        let items: Vec<&[u8]> = q.split(|&b| b == b'&').collect();
        let Ok(change) = parse_write_attributes(items.iter().copied(), &level) else { continue };
        let before = store.discover_attrs(&level);
        match store.apply(&level, &change) {
            Ok(()) => {
                let now = store.discover_attrs(&level);
                now.check().expect("an applied change leaves the level consistent");
                check_update(change.pmin, before.pmin, now.pmin);
                check_update(change.pmax, before.pmax, now.pmax);
                check_update(change.gt, before.gt, now.gt);
                check_update(change.lt, before.lt, now.lt);
                check_update(change.st, before.st, now.st);
                discover_round_trip(&level, &now);
            }
            Err(_) => assert_eq!(store.discover_attrs(&level), before, "a refused change changed the level"),
        }
        assert!(store.len() <= MAX_ATTRIBUTE_ENTRIES);
        assert!(store.iter().all(|(p, a)| !a.is_empty() && (1..=3).contains(&p.depth())));
        // Inheritance, for the resource below the level.
        let res = Path::Resource(o, inst, r);
        let e = store.effective(&res, 7, 70);
        let levels = [res, Path::Instance(o, inst), Path::Object(o)].map(|p| store.discover_attrs(&p));
        let pick = |f: fn(&Attributes) -> Option<u32>| levels.iter().find_map(f);
        assert_eq!(e.pmin, pick(|a| a.pmin).or(Some(7)));
        assert_eq!(e.pmax, pick(|a| a.pmax).or(Some(70)));
    }
}

fn check_update<T: Copy + PartialEq + core::fmt::Debug>(u: Update<T>, before: Option<T>, now: Option<T>) {
    let want = match u {
        Update::Keep => before,
        Update::Set(v) => Some(v),
        Update::Unset => None,
    };
    assert_eq!(now, want, "attribute after {u:?}");
}

fn discover_round_trip(level: &Path, attrs: &Attributes) {
    if attrs.is_empty() {
        return;
    }
    let mut out = Vec::new();
    let mut w = LinkWriter::new(&mut out);
    w.link(level);
    attrs.write_link(&mut w);
    let links = oracles::parse_link_format(&out).unwrap_or_else(|e| panic!("Discover attributes not link format ({e}): {}", String::from_utf8_lossy(&out)));
    assert_eq!(links.len(), 1);
    assert_eq!(oracles::link_path(&links[0].target), Some(*level));
    let queries: Vec<String> = links[0].params.iter().map(|(n, v)| format!("{n}={}", v.as_deref().unwrap_or(""))).collect();
    let change = parse_write_attributes(queries.iter().map(|q| q.as_bytes()), level)
        .unwrap_or_else(|e| panic!("Discover attributes {:?} do not parse back: {e:?}", String::from_utf8_lossy(&out)));
    let mut fresh = AttributeStore::new();
    fresh.apply(level, &change).expect("attributes that were valid stay valid");
    let back = fresh.discover_attrs(level);
    let bits = |a: &Attributes| (a.pmin, a.pmax, a.gt.map(f64::to_bits), a.lt.map(f64::to_bits), a.st.map(f64::to_bits));
    assert_eq!(bits(&back), bits(attrs), "Discover attributes round trip: {}", String::from_utf8_lossy(&out));
}

// ----- paths -----------------------------------------------------------------

/// LwM2M path parser. The input is split on `/` into Uri-Path segments.
/// Asserts: the parser accepts exactly what a reference reading of TS
/// §6.1 accepts (no segment or one empty one; else 1..=4 segments of 1..=5
/// digits ≤ 65534) with the same ids; `write` prints a path that parses
/// back to it; `contains` and `==` agree with id-list prefix and equality.
pub fn path(data: &[u8]) {
    let (a, b) = match data.iter().position(|&c| c == 0) {
        Some(n) => (&data[..n], &data[n + 1..]),
        None => (data, &data[..0]),
    };
    let pa = check_path(a);
    let pb = check_path(b);
    if let (Some((pa, ia)), Some((pb, ib))) = (pa, pb) {
        assert_eq!(pa == pb, ia == ib, "{pa:?} == {pb:?}");
        assert_eq!(pa.contains(&pb), ib.starts_with(&ia), "{pa:?} contains {pb:?}");
    }
}

fn check_path(text: &[u8]) -> Option<(Path, Vec<u16>)> {
    let segments: Vec<&[u8]> = if text.is_empty() { Vec::new() } else { text.split(|&c| c == b'/').collect() };
    let reference = reference_path(&segments);
    let parsed = Path::parse(segments.iter().copied());
    match (&parsed, &reference) {
        (Ok(p), Some(ids)) => {
            let got: Vec<u16> = [p.object(), p.instance(), p.resource(), p.resource_instance()].into_iter().flatten().collect();
            assert_eq!(&got, ids, "ids of {:?}", String::from_utf8_lossy(text));
            assert_eq!(p.depth(), ids.len());
            assert!(p.contains(p));
            let mut out = Vec::new();
            p.write(&mut out);
            let back = oracles::link_path(core::str::from_utf8(&out).unwrap()).expect("written path parses");
            assert_eq!(back, *p);
            Some((*p, ids.clone()))
        }
        (Err(_), None) => None,
        _ => panic!("Path::parse({:?}) = {parsed:?}, reference {reference:?}", String::from_utf8_lossy(text)),
    }
}

fn reference_path(segments: &[&[u8]]) -> Option<Vec<u16>> {
    if segments.is_empty() || segments == [b""] {
        return Some(Vec::new());
    }
    if segments.len() > 4 {
        return None;
    }
    segments
        .iter()
        .map(|s| {
            if s.is_empty() || s.len() > 5 || !s.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let v: u32 = core::str::from_utf8(s).ok()?.parse().ok()?;
            (v <= 65534).then_some(v as u16)
        })
        .collect()
}

// ----- AT --------------------------------------------------------------------

/// AT response and notification parsers (`modem`, `modem::info`, and the
/// UTC offset of the Device object). The input is the modem's text.
/// Asserts: what each parser returns stays within the field's documented
/// range and length, is text taken from the input, and the numbers the
/// client formats itself parse back.
pub fn at(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let s: &str = &text;
    let within = |part: &str| assert!(s.contains(part), "{part:?} is not from the input");
    if let Some(st) = modem::parse_cereg_notif(s) {
        let _ = st.is_registered();
    }
    if let Some(imei) = modem::parse_imei(s) {
        assert!(imei.len() == 15 && imei.bytes().all(|b| b.is_ascii_digit()));
        within(imei);
    }
    let _ = modem::parse_operator_id(s);
    if let Some(v) = modem::parse_hw_version(s) {
        assert!(!v.is_empty());
        within(v);
    }
    if let Some(t) = modem::parse_text(s) {
        assert!(t.len() <= 64 && t.bytes().all(|b| (0x20..0x7f).contains(&b)));
        within(t);
        within(modem::model_number(t));
    }
    if let Some(q) = info::parse_cesq(s) {
        assert!(q.rsrq.is_none_or(|v| v <= 34) && q.rsrp.is_none_or(|v| v <= 97));
    }
    if let Some(addrs) = info::parse_cgpaddr(s) {
        for a in &addrs {
            assert!(!a.is_empty() && a.len() <= info::MAX_IP_ADDRESS_LEN);
            assert!(a.bytes().all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':'));
            within(a);
        }
    }
    if let Some(apn) = info::parse_cgdcont_apn(s) {
        assert!(!apn.is_empty() && apn.len() <= info::MAX_APN_LEN && apn.bytes().all(|b| (0x20..0x7f).contains(&b)));
        within(apn);
    }
    if let Some(ci) = info::parse_cereg_cell_id(s) {
        assert!(ci <= 0x0FFF_FFFF);
    }
    if let Some(p) = info::parse_cops(s) {
        assert!(p.mcc <= 999 && p.mnc <= 999);
    }
    let _ = info::parse_xconnstat(s);
    if let Some(m) = parse_utc_offset(s) {
        assert!((-720..=840).contains(&m), "UTC offset {m}");
        let mut out = String::new();
        format_utc_offset(m, &mut out);
        assert_eq!(parse_utc_offset(&out), Some(m), "{out:?}");
    }
    let _ = modem::line_with(s, "+CEREG:");
    // Lines the client builds itself parse back.
    if data.len() >= 24 {
        let v: Vec<u32> = data.chunks(4).take(6).map(|c| u32::from_le_bytes(c.try_into().unwrap()) % 1_000_000_000).collect();
        let line = format!("%XCONNSTAT: {},{},{},{},{},{}", v[0], v[1], v[2], v[3], v[4], v[5]);
        let c = info::parse_xconnstat(&line).expect("XCONNSTAT line");
        assert_eq!([c.sms_tx, c.sms_rx, c.data_tx_kb, c.data_rx_kb, c.packet_max, c.packet_average], v[..]);
        let cereg = format!("+CEREG: {},\"0A0B\",\"{:08X}\",7", v[0] % 100, v[1] & 0x0FFF_FFFF);
        let st = modem::parse_cereg_notif(&cereg).expect("CEREG line");
        assert_eq!(st.is_registered(), matches!(v[0] % 100, 1 | 5));
        let read = format!("+CEREG: 2,{},\"0A0B\",\"{:08X}\",7", v[0] % 6, v[1] & 0x0FFF_FFFF);
        assert_eq!(info::parse_cereg_cell_id(&read), Some(v[1] & 0x0FFF_FFFF));
    }
}
