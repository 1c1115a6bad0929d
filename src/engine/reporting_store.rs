//! Observations and Write-Attributes of one server, kept across a reboot
//! (TS §5.5.1: the client SHOULD keep observations; the original stored its
//! observers and attributes in NVS too). A device that comes back with an
//! Update of its stored registration keeps notifying the server's tokens.
//!
//! Record layout (inside the usual storage frame), all little-endian:
//! `n_attrs u8, { path, flags u8, [pmin u32] [pmax u32] [gt u64] [lt u64] [st u64] }*,
//!  n_obs u8, { token_len u8, token, path, format u16, seq u32, hash u32, [value u64] }*`
//! with `path = depth u8, id u16 × depth` and `flags` bit 0..4 = pmin, pmax, gt, lt, st,
//! bit 5 (observations) = a last numeric value follows. Anything that does not decode
//! is dropped whole.

use alloc::vec::Vec;

use crate::lwm2m::path::Path;
use crate::observe::attributes::{AttrChange, AttributeStore, Attributes, Update};
use crate::observe::observation::{Observation, Observations, Token};
use crate::observe::SEQ_MASK;
use crate::time::Instant;

/// After a reboot the Observe numbers jump ahead by this much, so that the
/// server's freshness rule (RFC 7641 §3.4: newer if less than 2^23 ahead)
/// takes the next notification as newer than any sent before the reboot.
const SEQ_JUMP: u32 = 1 << 22;

fn put_path(out: &mut Vec<u8>, p: &Path) {
    let ids = [p.object(), p.instance(), p.resource(), p.resource_instance()];
    let ids: Vec<u16> = ids.into_iter().flatten().collect();
    out.push(ids.len() as u8);
    for id in ids {
        out.extend_from_slice(&id.to_le_bytes());
    }
}

/// A cursor over a record that never panics: every read is checked.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let (a, b) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = b;
        Some(a)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (a, b) = self.0.split_first_chunk::<N>()?;
        self.0 = b;
        Some(*a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.array().map(|[b]| b)
    }
    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
    fn f64(&mut self) -> Option<f64> {
        self.array().map(|a| f64::from_bits(u64::from_le_bytes(a)))
    }
    fn path(&mut self) -> Option<Path> {
        let n = self.u8()? as usize;
        let mut ids = [0u16; 4];
        for id in ids.iter_mut().take(n) {
            *id = self.u16()?;
        }
        Some(match n {
            0 => Path::Root,
            1 => Path::Object(ids[0]),
            2 => Path::Instance(ids[0], ids[1]),
            3 => Path::Resource(ids[0], ids[1], ids[2]),
            4 => Path::ResourceInstance(ids[0], ids[1], ids[2], ids[3]),
            _ => return None,
        })
    }
}

/// The record of one server's attributes and observations.
pub fn encode(attrs: &AttributeStore, observations: &Observations) -> Vec<u8> {
    let mut out = Vec::new();
    let entries: Vec<&(Path, Attributes)> = attrs.iter().collect();
    out.push(entries.len() as u8);
    for (p, a) in entries {
        put_path(&mut out, p);
        let flags = a.pmin.is_some() as u8
            | (a.pmax.is_some() as u8) << 1
            | (a.gt.is_some() as u8) << 2
            | (a.lt.is_some() as u8) << 3
            | (a.st.is_some() as u8) << 4;
        out.push(flags);
        for v in [a.pmin, a.pmax].into_iter().flatten() {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [a.gt, a.lt, a.st].into_iter().flatten() {
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
    }
    out.push(observations.len() as u8);
    for o in observations.iter() {
        out.push(o.token.len() as u8);
        out.extend_from_slice(&o.token);
        put_path(&mut out, &o.path);
        out.extend_from_slice(&o.format.to_le_bytes());
        out.extend_from_slice(&o.seq.to_le_bytes());
        out.extend_from_slice(&o.last_body_hash.to_le_bytes());
        match o.last_value {
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&v.to_bits().to_le_bytes());
            }
            None => out.push(0),
        }
    }
    out
}

fn set<T: Copy>(v: Option<T>) -> Update<T> {
    v.map_or(Update::Keep, Update::Set)
}

/// Rebuild a server's attributes and observations from its record, at `now`;
/// None if the record does not decode.
pub fn decode(rec: &[u8], now: Instant) -> Option<(AttributeStore, Observations)> {
    let mut r = Reader(rec);
    let mut attrs = AttributeStore::new();
    for _ in 0..r.u8()? {
        let path = r.path()?;
        let flags = r.u8()?;
        let mut a = Attributes::default();
        if flags & 1 != 0 {
            a.pmin = Some(r.u32()?);
        }
        if flags & 2 != 0 {
            a.pmax = Some(r.u32()?);
        }
        if flags & 4 != 0 {
            a.gt = Some(r.f64()?);
        }
        if flags & 8 != 0 {
            a.lt = Some(r.f64()?);
        }
        if flags & 16 != 0 {
            a.st = Some(r.f64()?);
        }
        let change = AttrChange { pmin: set(a.pmin), pmax: set(a.pmax), gt: set(a.gt), lt: set(a.lt), st: set(a.st) };
        attrs.apply(&path, &change).ok()?;
    }
    let mut observations = Observations::new();
    for _ in 0..r.u8()? {
        let n = r.u8()? as usize;
        let token = Token::from_slice(r.bytes(n)?).ok()?;
        let path = r.path()?;
        let format = r.u16()?;
        let seq = r.u32()?;
        let last_body_hash = r.u32()?;
        let last_value = if r.u8()? == 1 { Some(r.f64()?) } else { None };
        observations
            .restore(Observation {
                token,
                path,
                format,
                last_value,
                last_body_hash,
                last_sent: now,
                seq: seq.wrapping_add(SEQ_JUMP) & SEQ_MASK,
                last_con: now,
                pending: false,
                last_mid: None,
            })
            .ok()?;
    }
    Some((attrs, observations))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::observation::Sample;

    #[test]
    fn round_trip_and_garbage() {
        let mut attrs = AttributeStore::new();
        let change = AttrChange { pmin: Update::Set(10), pmax: Update::Set(60), ..Default::default() };
        attrs.apply(&Path::Instance(3, 0), &change).unwrap();
        let change = AttrChange { gt: Update::Set(6.5), lt: Update::Set(-1.0), ..Default::default() };
        attrs.apply(&Path::Resource(3, 0, 9), &change).unwrap();
        let mut obs = Observations::new();
        obs.observe(Instant(5), &[1, 2, 3], Path::Resource(3, 0, 9), 0, Sample::of_body(b"87", Some(87.0))).unwrap();
        obs.observe(Instant(5), &[9], Path::Instance(4, 0), 11542, Sample::of_body(b"x", None)).unwrap();
        let rec = encode(&attrs, &obs);
        let (a2, o2) = decode(&rec, Instant(1000)).unwrap();
        assert_eq!(a2.discover_attrs(&Path::Instance(3, 0)).pmax, Some(60));
        assert_eq!(a2.discover_attrs(&Path::Resource(3, 0, 9)).lt, Some(-1.0));
        let o = o2.get(&[1, 2, 3]).unwrap();
        assert_eq!((o.path, o.format, o.last_value, o.seq), (Path::Resource(3, 0, 9), 0, Some(87.0), SEQ_JUMP));
        assert_eq!(o2.get(&[9]).unwrap().path, Path::Instance(4, 0));
        // Every truncation and a few corruptions decode to None or something, never panic.
        for n in 0..rec.len() {
            let _ = decode(&rec[..n], Instant(0));
            let mut bad = rec.clone();
            bad[n] ^= 0xFF;
            let _ = decode(&bad, Instant(0));
        }
        assert!(decode(&[], Instant(0)).is_none());
    }
}
