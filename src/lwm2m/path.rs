//! LwM2M paths `/{Object}/{Instance}/{Resource}/{Resource Instance}` from
//! CoAP Uri-Path options (OMA-TS-LightweightM2M-V1_0_2 §6.1, §5; RFC 7252
//! §6.4: one option per segment).
//!
//! Accepted: zero segments or one empty segment (the root `/`), and 1 to 4
//! segments of 1 to 5 ASCII decimal digits each with a value ≤ 65534.
//! Leading zeros are accepted ("01" is 1, as a decimal parse reads it, and as
//! Leshan and Wakaama read it), within the 5-digit limit.
//! Refused: empty segments (other than the lone root one), signs, any
//! non-digit, more than 5 digits, 65535 (reserved, §6.1 "MAX_ID"), and more
//! than 4 segments.

use alloc::vec::Vec;

/// The largest usable Object, Object Instance, Resource or Resource Instance
/// id; 65535 is reserved (§6.1).
pub const MAX_ID: u16 = 65534;

/// An LwM2M path: the root, an Object, an Object Instance, a Resource or a
/// Resource Instance.
#[derive(Copy, Clone, Debug, Eq)]
pub enum Path {
    Root,
    Object(u16),
    Instance(u16, u16),
    Resource(u16, u16, u16),
    ResourceInstance(u16, u16, u16, u16),
}

/// The Uri-Path is not an LwM2M path (the caller answers 4.00 Bad Request or
/// 4.04 Not Found).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PathError;

/// One id: 1..=5 ASCII digits, value ≤ `MAX_ID`.
fn parse_id(segment: &[u8]) -> Result<u16, PathError> {
    if segment.is_empty() || segment.len() > 5 {
        return Err(PathError);
    }
    let mut v = 0u32;
    for &c in segment {
        if !c.is_ascii_digit() {
            return Err(PathError);
        }
        v = v * 10 + (c - b'0') as u32;
    }
    if v > MAX_ID as u32 {
        return Err(PathError);
    }
    Ok(v as u16)
}

impl Path {
    /// Segments are the raw Uri-Path option values, in order. Zero segments,
    /// or a single empty one, is `Root`. See the module doc for what is
    /// refused. Stops reading at the fifth segment.
    pub fn parse<'a, I: IntoIterator<Item = &'a [u8]>>(segments: I) -> Result<Path, PathError> {
        // One non-generic body for every kind of segment iterator.
        Self::parse_segments(&mut segments.into_iter())
    }

    fn parse_segments(segments: &mut dyn Iterator<Item = &[u8]>) -> Result<Path, PathError> {
        let mut ids = [0u16; 4];
        let mut n = 0;
        let mut lone_empty = false;
        for segment in segments {
            // A first segment that is empty is the root if nothing follows.
            if n == 0 && segment.is_empty() && !lone_empty {
                lone_empty = true;
                continue;
            }
            if lone_empty {
                return Err(PathError);
            }
            let slot = ids.get_mut(n).ok_or(PathError)?;
            *slot = parse_id(segment)?;
            n += 1;
        }
        let [a, b, c, d] = ids;
        Ok(match n {
            0 => Path::Root,
            1 => Path::Object(a),
            2 => Path::Instance(a, b),
            3 => Path::Resource(a, b, c),
            _ => Path::ResourceInstance(a, b, c, d),
        })
    }

    /// The ids packed 16 bits each from the top (the Object in bits 63-48),
    /// zeros below the depth; and the depth. Equal for equal paths only.
    fn packed(&self) -> (u64, usize) {
        let id = |v: u16, level: u32| (v as u64) << (48 - 16 * level);
        match *self {
            Path::Root => (0, 0),
            Path::Object(o) => (id(o, 0), 1),
            Path::Instance(o, i) => (id(o, 0) | id(i, 1), 2),
            Path::Resource(o, i, r) => (id(o, 0) | id(i, 1) | id(r, 2), 3),
            Path::ResourceInstance(o, i, r, ri) => (id(o, 0) | id(i, 1) | id(r, 2) | ri as u64, 4),
        }
    }

    /// The id at `level` (0 the Object) of a packed path.
    fn id_at(packed: u64, level: usize) -> u16 {
        (packed >> (48 - 16 * level.min(3))) as u16
    }

    fn id(&self, level: usize) -> Option<u16> {
        let (k, depth) = self.packed();
        (level < depth).then(|| Self::id_at(k, level))
    }

    pub fn object(&self) -> Option<u16> {
        self.id(0)
    }

    pub fn instance(&self) -> Option<u16> {
        self.id(1)
    }

    pub fn resource(&self) -> Option<u16> {
        self.id(2)
    }

    pub fn resource_instance(&self) -> Option<u16> {
        self.id(3)
    }

    /// Number of ids: `Root` 0 .. `ResourceInstance` 4.
    pub fn depth(&self) -> usize {
        self.packed().1
    }

    /// Whether `other` is this path or lies below it (`/3` contains `/3/0/1`).
    pub fn contains(&self, other: &Path) -> bool {
        let (a, da) = self.packed();
        let (b, db) = other.packed();
        // the top `da` ids agree (a shift by 64, depth 0, leaves nothing)
        da <= db && (a ^ b).checked_shr(64 - 16 * da as u32).unwrap_or(0) == 0
    }

    /// Appends the path as text: `/` for `Root`, else `/3/0/1`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let (k, depth) = self.packed();
        if depth == 0 {
            out.push(b'/');
        }
        let mut buf = [0u8; 20];
        for level in 0..depth {
            out.push(b'/');
            let len = crate::util::decimal::fmt_u64(Self::id_at(k, level) as u64, &mut buf);
            out.extend_from_slice(buf.get(..len).unwrap_or_default());
        }
    }
}

/// Same variant, same ids (as the derived comparison, in less code).
impl PartialEq for Path {
    fn eq(&self, other: &Path) -> bool {
        self.packed() == other.packed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn parse(segments: &[&str]) -> Result<Path, PathError> {
        Path::parse(segments.iter().map(|s| s.as_bytes()))
    }

    fn text(p: Path) -> alloc::string::String {
        let mut out = Vec::new();
        p.write(&mut out);
        alloc::string::String::from_utf8(out).unwrap()
    }

    #[test]
    fn parses_each_depth() {
        assert_eq!(parse(&[]), Ok(Path::Root));
        assert_eq!(parse(&[""]), Ok(Path::Root));
        assert_eq!(parse(&["3"]), Ok(Path::Object(3)));
        assert_eq!(parse(&["3", "0"]), Ok(Path::Instance(3, 0)));
        assert_eq!(parse(&["3", "0", "1"]), Ok(Path::Resource(3, 0, 1)));
        assert_eq!(parse(&["3", "0", "6", "1"]), Ok(Path::ResourceInstance(3, 0, 6, 1)));
        assert_eq!(parse(&["10308", "0", "65534"]), Ok(Path::Resource(10308, 0, 65534)));
    }

    #[test]
    fn leading_zeros_read_as_decimal() {
        assert_eq!(parse(&["01"]), Ok(Path::Object(1)));
        assert_eq!(parse(&["00003", "00"]), Ok(Path::Instance(3, 0)));
        assert_eq!(parse(&["000003"]), Err(PathError)); // 6 digits
    }

    #[test]
    fn refuses_bad_segments() {
        for bad in [
            &["a"][..],
            &["-1"],
            &["+1"],
            &["65535"],
            &["99999"],
            &["123456"],
            &["3", ""],
            &["", "3"],
            &["", ""],
            &["3 "],
            &["3", "0", "1", "2", "3"],
            &["1.0"],
        ] {
            assert_eq!(parse(bad), Err(PathError), "{bad:?}");
        }
    }

    #[test]
    fn accessors_and_depth() {
        let p = Path::ResourceInstance(3, 0, 6, 1);
        assert_eq!((p.object(), p.instance(), p.resource(), p.resource_instance()), (Some(3), Some(0), Some(6), Some(1)));
        assert_eq!(p.depth(), 4);
        let p = Path::Instance(1, 2);
        assert_eq!((p.object(), p.instance(), p.resource(), p.resource_instance()), (Some(1), Some(2), None, None));
        assert_eq!(Path::Root.depth(), 0);
        assert_eq!(Path::Root.object(), None);
        assert!(Path::Object(3).contains(&Path::Resource(3, 0, 1)));
        assert!(Path::Root.contains(&Path::Object(5)));
        assert!(!Path::Instance(3, 1).contains(&Path::Resource(3, 0, 1)));
        assert!(!Path::Resource(3, 0, 1).contains(&Path::Instance(3, 0)));
    }

    /// `==` and `contains` on the packed form agree with the plain
    /// definitions (same depth and ids; a prefix of the ids).
    #[test]
    fn equality_and_containment_match_the_definitions() {
        let mut paths = vec![Path::Root];
        for a in [0, 1, 3, 65534] {
            paths.push(Path::Object(a));
            for b in [0, 1, 65534] {
                paths.push(Path::Instance(a, b));
                for c in [0, 7] {
                    paths.push(Path::Resource(a, b, c));
                    for d in [0, 1, 65534] {
                        paths.push(Path::ResourceInstance(a, b, c, d));
                    }
                }
            }
        }
        let ids = |p: &Path| -> Vec<u16> {
            [p.object(), p.instance(), p.resource(), p.resource_instance()].into_iter().flatten().collect()
        };
        for a in &paths {
            for b in &paths {
                let (ia, ib) = (ids(a), ids(b));
                assert_eq!(a == b, ia == ib, "{a:?} == {b:?}");
                assert_eq!(a.contains(b), ia.len() <= ib.len() && ib[..ia.len()] == ia[..], "{a:?} contains {b:?}");
            }
        }
    }

    #[test]
    fn writes_text_form() {
        assert_eq!(text(Path::Root), "/");
        assert_eq!(text(Path::Object(3)), "/3");
        assert_eq!(text(Path::Resource(3, 0, 1)), "/3/0/1");
        assert_eq!(text(Path::ResourceInstance(10308, 65534, 0, 7)), "/10308/65534/0/7");
    }
}
