//! Independent checkers the targets compare the library against: an RFC
//! 6690 link-format reader (the library only writes link format), readers
//! of the documented record layouts, and value comparisons that treat a
//! float by its bits.

use lwm2m_carrier::limits;
use lwm2m_carrier::lwm2m::tlv::{self, TlvType};
use lwm2m_carrier::lwm2m::{Path, Value};
use lwm2m_carrier::objects::model::OwnedValue;
use lwm2m_carrier::observe::{MAX_ATTRIBUTE_ENTRIES, MAX_OBSERVATIONS};

/// One link of a CoRE link-format document: its target and parameters.
#[derive(Debug, PartialEq, Eq)]
pub struct Link {
    pub target: String,
    pub params: Vec<(String, Option<String>)>,
}

/// Reads `link-value ("," link-value)*` (RFC 6690 §2) as the library writes
/// it: `<` target `>` then `;name` or `;name=value` with a token or a
/// quoted-string value. Err says where it is not link format.
pub fn parse_link_format(doc: &[u8]) -> Result<Vec<Link>, String> {
    let text = core::str::from_utf8(doc).map_err(|_| "not UTF-8".to_string())?;
    let b = text.as_bytes();
    let mut i = 0;
    let mut links = Vec::new();
    if b.is_empty() {
        return Ok(links);
    }
    // Bootstrap-Discover (TS 1.0.2 §5.2.7.3) starts with `lwm2m="1.0",`.
    if let Some(rest) = text.strip_prefix("lwm2m=") {
        let end = rest.find(',').map_or(rest.len(), |n| n);
        let v = &rest[..end];
        if v.is_empty() || v.contains(['<', '>', ';']) {
            return Err(format!("bad lwm2m version {v:?}"));
        }
        links.push(Link { target: String::new(), params: vec![("lwm2m".into(), Some(v.trim_matches('"').into()))] });
        i = 6 + end + 1;
        if i > b.len() {
            return Ok(links);
        }
    }
    loop {
        if b.get(i) != Some(&b'<') {
            return Err(format!("'<' expected at {i}"));
        }
        let end = text[i..].find('>').ok_or("unterminated '<'")? + i;
        let target = text[i + 1..end].to_string();
        if target.bytes().any(|c| c <= b' ' || c == b'"' || c == b'<' || c == b',' || c == b';') {
            return Err(format!("bad target {target:?}"));
        }
        i = end + 1;
        let mut params = Vec::new();
        while b.get(i) == Some(&b';') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')) {
                i += 1;
            }
            if i == start {
                return Err(format!("empty parameter name at {i}"));
            }
            let name = text[start..i].to_string();
            let mut value = None;
            if b.get(i) == Some(&b'=') {
                i += 1;
                if b.get(i) == Some(&b'"') {
                    i += 1;
                    let mut v = String::new();
                    loop {
                        match b.get(i) {
                            None => return Err("unterminated quoted-string".into()),
                            Some(b'"') => {
                                i += 1;
                                break;
                            }
                            Some(b'\\') => {
                                let c = *b.get(i + 1).ok_or("dangling escape")?;
                                v.push(c as char);
                                i += 2;
                            }
                            Some(_) => {
                                let ch = text[i..].chars().next().ok_or("bad char")?;
                                v.push(ch);
                                i += ch.len_utf8();
                            }
                        }
                    }
                    value = Some(v);
                } else {
                    let start = i;
                    while b.get(i).is_some_and(|&c| c > b' ' && c < 0x7f && !matches!(c, b',' | b';' | b'"' | b'<' | b'>')) {
                        i += 1;
                    }
                    if i == start {
                        return Err(format!("empty value of {name}"));
                    }
                    value = Some(text[start..i].to_string());
                }
            }
            params.push((name, value));
        }
        links.push(Link { target, params });
        match b.get(i) {
            None => return Ok(links),
            Some(b',') => i += 1,
            Some(&c) => return Err(format!("unexpected {:?} at {i}", c as char)),
        }
    }
}

/// The LwM2M path of a link target `/3/0/1` (`/` is the root, and so is
/// the empty target of a leading `lwm2m=` parameter).
pub fn link_path(target: &str) -> Option<Path> {
    if target == "/" || target.is_empty() {
        return Some(Path::Root);
    }
    let rest = target.strip_prefix('/')?;
    Path::parse(rest.split('/').map(str::as_bytes)).ok()
}

/// Checks the registration-locations record: `ssid(u16 LE) len(u8) path`
/// repeated, nothing left over, each path UTF-8 and at most
/// `MAX_LOCATION_LEN` bytes. Returns the entries.
pub fn check_locations_record(mut b: &[u8]) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    while !b.is_empty() {
        assert!(b.len() >= 3, "locations record: cut entry {b:02x?}");
        let ssid = u16::from_le_bytes([b[0], b[1]]);
        let n = b[2] as usize;
        assert!(n <= limits::MAX_LOCATION_LEN, "locations record: path of {n} bytes");
        let p = b.get(3..3 + n).unwrap_or_else(|| panic!("locations record: path runs past the end"));
        let s = core::str::from_utf8(p).expect("locations record: path not UTF-8");
        out.push((ssid, s.to_string()));
        b = &b[3 + n..];
    }
    out
}

/// A cursor that panics with the record's name when the record is short.
struct Rec<'a> {
    b: &'a [u8],
    what: &'static str,
}

impl Rec<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        assert!(self.b.len() >= n, "{} record cut short", self.what);
        let (a, rest) = self.b.split_at(n);
        self.b = rest;
        a
    }
    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    fn path(&mut self) -> usize {
        let depth = self.u8() as usize;
        assert!(depth <= 4, "{} record: path depth {depth}", self.what);
        self.take(2 * depth);
        depth
    }
}

/// Checks a server's reporting record (observations and attributes, the
/// layout in `src/engine/reporting_store.rs`): every field present, counts
/// within `MAX_ATTRIBUTE_ENTRIES` / `MAX_OBSERVATIONS`, attribute levels at
/// depth 1..=3, tokens of at most 8 bytes, nothing left over.
/// Returns (levels with attributes, observations).
pub fn check_reporting_record(b: &[u8]) -> (usize, usize) {
    let mut r = Rec { b, what: "reporting" };
    let n_attrs = r.u8() as usize;
    assert!(n_attrs <= MAX_ATTRIBUTE_ENTRIES, "reporting record: {n_attrs} attribute levels");
    for _ in 0..n_attrs {
        let depth = r.path();
        assert!((1..=3).contains(&depth), "reporting record: attributes at depth {depth}");
        let flags = r.u8();
        assert!(flags != 0 && flags & !0x1f == 0, "reporting record: attribute flags {flags:#x}");
        r.take(4 * (flags & 3).count_ones() as usize + 8 * (flags & 0x1c).count_ones() as usize);
    }
    let n_obs = r.u8() as usize;
    assert!(n_obs <= MAX_OBSERVATIONS, "reporting record: {n_obs} observations");
    for _ in 0..n_obs {
        let tkl = r.u8() as usize;
        assert!(tkl <= 8, "reporting record: token of {tkl} bytes");
        r.take(tkl);
        r.path();
        r.take(2 + 4 + 4);
        match r.u8() {
            0 => {}
            1 => {
                r.take(8);
            }
            f => panic!("reporting record: value flag {f}"),
        }
    }
    assert!(r.b.is_empty(), "reporting record: {} bytes left over", r.b.len());
    (n_attrs, n_obs)
}

/// Values equal, floats by their bits (NaN equals the same NaN).
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

pub fn same_owned(a: &OwnedValue, b: &OwnedValue) -> bool {
    same_value(&a.as_value(), &b.as_value())
}

/// One TLV, nested ones decoded (at most `depth` levels).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlvNode {
    pub kind: TlvType,
    pub id: u16,
    pub value: Vec<u8>,
    pub children: Option<Vec<TlvNode>>,
}

/// Decodes one level of TLVs, and the values of Object Instance and
/// Multiple Resource TLVs as nested TLVs where they decode.
pub fn tlv_tree(buf: &[u8], depth: u32) -> Result<Vec<TlvNode>, tlv::TlvError> {
    let mut out = Vec::new();
    for t in tlv::iter(buf) {
        let t = t?;
        let children = if depth > 0 && matches!(t.kind, TlvType::ObjectInstance | TlvType::MultipleResource) {
            tlv_tree(t.value, depth - 1).ok()
        } else {
            None
        };
        out.push(TlvNode { kind: t.kind, id: t.id, value: t.value.to_vec(), children });
    }
    Ok(out)
}

/// Writes the tree back with the library's writers (shortest headers).
pub fn tlv_write(nodes: &[TlvNode], out: &mut Vec<u8>) {
    for n in nodes {
        match &n.children {
            Some(c) => {
                let mut inner = Vec::new();
                tlv_write(c, &mut inner);
                tlv::write_nested(out, n.kind, n.id, &inner);
            }
            None => tlv::write_nested(out, n.kind, n.id, &n.value),
        }
    }
}

/// The tree without the raw value bytes of nodes that have children (they
/// change when the children are written with shorter headers).
pub fn tlv_shape(nodes: &[TlvNode]) -> Vec<TlvNode> {
    nodes
        .iter()
        .map(|n| TlvNode {
            kind: n.kind,
            id: n.id,
            value: if n.children.is_some() { Vec::new() } else { n.value.clone() },
            children: n.children.as_ref().map(|c| tlv_shape(c)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_format_reader() {
        let l = parse_link_format(b"</1/0>,</3/0>;pmin=10;gt=-2.5,</5>;ver=\"1.0\";obs").unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[1].params, vec![("pmin".into(), Some("10".into())), ("gt".into(), Some("-2.5".into()))]);
        assert_eq!(l[2].params[0], ("ver".into(), Some("1.0".into())));
        assert!(parse_link_format(b"</1/0>,").is_err());
        assert!(parse_link_format(b"</1/0>;=3").is_err());
        assert!(parse_link_format(b"</1/0").is_err());
        assert_eq!(link_path("/3/0/1"), Some(Path::Resource(3, 0, 1)));
        assert_eq!(link_path("/"), Some(Path::Root));
    }

    #[test]
    fn record_readers() {
        assert_eq!(check_locations_record(&[1, 0, 3, b'/', b'r', b'd']), vec![(1, "/rd".to_string())]);
        assert_eq!(check_reporting_record(&[0, 0]), (0, 0));
        // one level /3/0 with pmin, one observation of /3/0/9 with a value
        let mut r = vec![1, 2, 3, 0, 0, 0, 1, 10, 0, 0, 0];
        r.extend_from_slice(&[1, 1, 2, 3, 3, 0, 0, 0, 9, 0]);
        r.extend_from_slice(&[0; 10]);
        r.push(1);
        r.extend_from_slice(&[0; 8]);
        assert_eq!(check_reporting_record(&r), (1, 1));
    }
}
