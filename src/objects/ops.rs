//! Operations on paths over the object model (OMA-TS-LightweightM2M-V1_0_2
//! §5.4 Device Management and Service Enablement, §6.4 data formats):
//! Read in every format, Write (replace / partial update) from every format,
//! Discover, Create, Delete and the registration link list.
//!
//! Refused here, with the code the TS gives: unknown object/instance/
//! resource 4.04, an operation the resource does not allow 4.05, a format
//! that cannot carry the answer 4.06, a payload format we do not read 4.15,
//! a malformed payload 4.00.

use alloc::vec::Vec;

use super::model::{def, Effect, Env, Object, OwnedValue, ResourceDef, Sink, WriteMode, WriteValue};
use crate::objects::model::Error;
use crate::limits;
use crate::lwm2m::format::ContentFormat;
use crate::lwm2m::json::{self, JsonWriter};
use crate::lwm2m::link::LinkWriter;
use crate::lwm2m::path::Path;
use crate::lwm2m::text;
use crate::lwm2m::tlv::{self, TlvType};
use crate::lwm2m::value::{ResourceType, Value};

/// One value read or written: instance, resource, resource instance.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub inst: u16,
    pub res: u16,
    pub ri: Option<u16>,
    pub value: OwnedValue,
}

/// Check that `path` names something that exists in `obj`.
pub fn check_exists(obj: &dyn Object, path: &Path) -> Result<(), Error> {
    if let Some(i) = path.instance() {
        if !obj.has_instance(i) {
            return Err(Error::NotFound);
        }
    }
    if let Some(r) = path.resource() {
        def(obj.defs(), r).ok_or(Error::NotFound)?;
    }
    Ok(())
}

/// Where a read's values go besides their encoding. An enum, not a
/// closure: the calls stay direct, so `scripts/stack.py` follows them
/// instead of bounding an indirect call by every function it could reach.
enum Also<'a> {
    Nothing,
    Digest(&'a mut Digest),
    Collect(&'a mut Vec<Item>),
}

/// How a read's values are encoded as they come.
enum Encoder<'a> {
    /// None (a digest or the values alone).
    Nothing,
    /// The first value as plain text, or as opaque bytes (a single-value path).
    First { opaque: bool, out: &'a mut Vec<u8>, result: Option<Result<(), Error>> },
    Tlv { w: TlvOut, defs: &'static [ResourceDef], out: &'a mut Vec<u8> },
    Json { w: JsonWriter<'a>, depth: usize },
}

/// A read's destination: its encoder and what else takes each value.
struct Values<'a> {
    enc: Encoder<'a>,
    also: Also<'a>,
}

impl Values<'_> {
    fn value(&mut self, inst: u16, res: u16, ri: Option<u16>, v: &Value) {
        match &mut self.also {
            Also::Nothing => {}
            Also::Digest(d) => d.add(inst, res, ri, v),
            Also::Collect(items) => items.push(Item { inst, res, ri, value: OwnedValue::from_value(v) }),
        }
        match &mut self.enc {
            Encoder::Nothing => {}
            Encoder::First { result: Some(_), .. } => {}
            Encoder::First { opaque, out, result } => {
                *result = Some(match (*opaque, v) {
                    (true, Value::Opaque(b)) => {
                        out.extend_from_slice(b);
                        Ok(())
                    }
                    (true, _) => Err(Error::NotAcceptable),
                    (false, v) => {
                        text::encode(v, out);
                        Ok(())
                    }
                });
            }
            Encoder::Tlv { w, defs, out } => w.value(out, defs, inst, res, ri, v),
            Encoder::Json { w, depth } => {
                w.entry(&json_name(*depth, inst, res, ri), v);
            }
        }
    }

    /// Close the encoding: the wrappers TLV still owes, JSON's end; a
    /// single-value format that got no value, or not an opaque one, fails.
    fn finish(self) -> Result<(), Error> {
        match self.enc {
            Encoder::Nothing => Ok(()),
            Encoder::First { result: Some(r), .. } => r,
            Encoder::First { opaque: true, result: None, .. } => Err(Error::NotAcceptable),
            Encoder::First { result: None, .. } => Err(Error::NotFound),
            Encoder::Tlv { w, out, .. } => {
                w.finish(out);
                Ok(())
            }
            Encoder::Json { w, .. } => {
                w.finish();
                Ok(())
            }
        }
    }
}

/// Hands a read's values on, only those of `only_ri` when it is set.
struct Forward<'a, 'b> {
    inst: u16,
    res: u16,
    only_ri: Option<u16>,
    count: &'a mut usize,
    to: &'a mut Values<'b>,
}

impl Sink for Forward<'_, '_> {
    fn value(&mut self, ri: Option<u16>, v: &Value) {
        if self.only_ri.is_some() && ri != self.only_ri {
            return;
        }
        *self.count += 1;
        self.to.value(self.inst, self.res, ri, v);
    }
}

/// Every readable value under `path`, in order (instance, resource,
/// resource instance), to `to` as the object produces it; how many there
/// were. Nothing is gathered: a read of a whole object holds no more than
/// its encoding (collecting the values first held them all, owned — 6 KB
/// for Access Control at its limits on the host, twice that while the
/// vector grew).
fn for_each_value(obj: &dyn Object, env: &mut dyn Env, path: &Path, to: &mut Values) -> Result<usize, Error> {
    check_exists(obj, path)?;
    let instances = match path.instance() {
        Some(i) => {
            let mut v = heapless::Vec::<u16, { super::model::MAX_INSTANCES }>::new();
            let _ = v.push(i);
            v
        }
        None => obj.instances(),
    };
    let mut count = 0;
    for inst in instances {
        for d in obj.defs() {
            if path.resource().is_some_and(|r| r != d.id) {
                continue;
            }
            if !d.readable() {
                if path.resource().is_some() {
                    return Err(Error::NotAllowed);
                }
                continue;
            }
            let mut fwd = Forward { inst, res: d.id, only_ri: path.resource_instance(), count: &mut count, to: &mut *to };
            obj.read(env, inst, d.id, &mut fwd)?;
        }
    }
    if path.resource_instance().is_some() && count == 0 {
        return Err(Error::NotFound);
    }
    Ok(count)
}

/// Read every readable value under `path`, owned (tests, fuzz oracles).
pub fn collect(obj: &dyn Object, env: &mut dyn Env, path: &Path) -> Result<Vec<Item>, Error> {
    let mut items = Vec::new();
    for_each_value(obj, env, path, &mut Values { enc: Encoder::Nothing, also: Also::Collect(&mut items) })?;
    Ok(items)
}

/// A fingerprint of the values a read produced, whatever the format they
/// are sent in (an observation's "has it changed", TS §5.1.2), and the one
/// value when it is a number (for `gt`/`lt`/`st`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Digest {
    /// FNV-1a over each value's instance, resource, resource instance, type
    /// and bytes: a collision at worst skips one change notification; `pmax`
    /// still sends.
    pub hash: u32,
    /// The value, when exactly one Integer, Time or Float was read.
    pub numeric: Option<f64>,
    count: usize,
}

impl Default for Digest {
    fn default() -> Self {
        Digest { hash: 0x811C_9DC5, numeric: None, count: 0 }
    }
}

impl Digest {
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.hash = (self.hash ^ x as u32).wrapping_mul(0x0100_0193);
        }
    }

    /// One more value.
    pub fn add(&mut self, inst: u16, res: u16, ri: Option<u16>, v: &Value) {
        self.count += 1;
        self.numeric = match (self.count, *v) {
            (1, Value::Int(i) | Value::Time(i)) => Some(i as f64),
            (1, Value::Float(f)) => Some(f),
            _ => None,
        };
        self.bytes(&inst.to_be_bytes());
        self.bytes(&res.to_be_bytes());
        match ri {
            Some(ri) => {
                self.bytes(&[1]);
                self.bytes(&ri.to_be_bytes());
            }
            None => self.bytes(&[0]),
        }
        match *v {
            Value::Int(i) => {
                self.bytes(&[1]);
                self.bytes(&i.to_be_bytes());
            }
            Value::Time(i) => {
                self.bytes(&[2]);
                self.bytes(&i.to_be_bytes());
            }
            Value::Float(f) => {
                self.bytes(&[3]);
                self.bytes(&f.to_bits().to_be_bytes());
            }
            Value::Bool(b) => self.bytes(&[4, b as u8]),
            Value::Str(t) => {
                self.bytes(&[5]);
                self.bytes(&(t.len() as u32).to_be_bytes());
                self.bytes(t.as_bytes());
            }
            Value::Opaque(o) => {
                self.bytes(&[6]);
                self.bytes(&(o.len() as u32).to_be_bytes());
                self.bytes(o);
            }
            Value::ObjLnk(a, b) => {
                self.bytes(&[7]);
                self.bytes(&a.to_be_bytes());
                self.bytes(&b.to_be_bytes());
            }
        }
    }
}

/// The values of `path`, digested (an observation's sample), unencoded.
pub fn digest(obj: &dyn Object, env: &mut dyn Env, path: &Path) -> Result<Digest, Error> {
    let mut d = Digest::default();
    for_each_value(obj, env, path, &mut Values { enc: Encoder::Nothing, also: Also::Digest(&mut d) })?;
    Ok(d)
}

/// The format a Read answers in (TS §6.4: TLV by default for more than one
/// value, plain text for a single non-opaque value).
pub fn choose_format(obj: &dyn Object, path: &Path, accept: Option<ContentFormat>) -> Result<ContentFormat, Error> {
    let single_def = path.resource().and_then(|r| def(obj.defs(), r));
    let single_value = match (path, single_def) {
        (Path::ResourceInstance(..), Some(_)) => true,
        (Path::Resource(..), Some(d)) => !d.multiple,
        _ => false,
    };
    let opaque = single_def.is_some_and(|d| d.ty == ResourceType::Opaque);
    match accept {
        None if single_value && opaque => Ok(ContentFormat::Opaque),
        None if single_value => Ok(ContentFormat::Text),
        None => Ok(ContentFormat::Tlv),
        Some(ContentFormat::Text) if single_value && !opaque => Ok(ContentFormat::Text),
        Some(ContentFormat::Opaque) if single_value && opaque => Ok(ContentFormat::Opaque),
        Some(f @ (ContentFormat::Tlv | ContentFormat::Json)) => Ok(f),
        _ => Err(Error::NotAcceptable),
    }
}

/// Read `path` and encode it (Read, and the body of Observe / Notify).
pub fn read(obj: &dyn Object, env: &mut dyn Env, path: &Path, accept: Option<ContentFormat>) -> Result<(ContentFormat, Vec<u8>), Error> {
    read_with(obj, env, path, accept, Also::Nothing)
}

/// Read `path` and encode it, with the [`Digest`] of the values, so a
/// caller that needs both (an observation's sample) does not read twice —
/// a read of object 4 or 7 is a round of AT commands.
pub fn read_digest(obj: &dyn Object, env: &mut dyn Env, path: &Path, accept: Option<ContentFormat>) -> Result<(ContentFormat, Vec<u8>, Digest), Error> {
    let mut d = Digest::default();
    let (cf, body) = read_with(obj, env, path, accept, Also::Digest(&mut d))?;
    Ok((cf, body, d))
}

/// Read `path` and encode it; also the values read, owned (fuzz oracles, tests).
pub fn read_items(obj: &dyn Object, env: &mut dyn Env, path: &Path, accept: Option<ContentFormat>) -> Result<(ContentFormat, Vec<u8>, Vec<Item>), Error> {
    let mut items = Vec::new();
    let (cf, body) = read_with(obj, env, path, accept, Also::Collect(&mut items))?;
    Ok((cf, body, items))
}

/// Read `path` and encode each value as it is read, also handing it to `also`.
fn read_with(obj: &dyn Object, env: &mut dyn Env, path: &Path, accept: Option<ContentFormat>, also: Also) -> Result<(ContentFormat, Vec<u8>), Error> {
    check_exists(obj, path)?;
    let format = choose_format(obj, path, accept)?;
    let mut out = Vec::new();
    let enc = match format {
        // One value (the format is chosen for a single-value path only).
        ContentFormat::Text | ContentFormat::Opaque => Encoder::First { opaque: format == ContentFormat::Opaque, out: &mut out, result: None },
        ContentFormat::Tlv => Encoder::Tlv { w: TlvOut::new(path), defs: obj.defs(), out: &mut out },
        ContentFormat::Json => Encoder::Json { w: JsonWriter::new(&mut out, path), depth: path.depth() },
        ContentFormat::Link => return Err(Error::NotAcceptable),
    };
    let mut values = Values { enc, also };
    for_each_value(obj, env, path, &mut values)?;
    values.finish()?;
    Ok((format, out))
}

/// A value's name relative to a base path of `depth` (JSON "n", §6.4.4).
fn json_name(depth: usize, inst: u16, res: u16, ri: Option<u16>) -> heapless::Vec<u16, 3> {
    let mut name = heapless::Vec::new();
    if depth < 2 {
        let _ = name.push(inst);
    }
    if depth < 3 {
        let _ = name.push(res);
    }
    if let (Some(ri), true) = (ri, depth < 4) {
        let _ = name.push(ri);
    }
    name
}

/// OMA-TLV written as values arrive (§6.4.3): at the object level each
/// instance's resources are wrapped in an Object Instance, and a multiple
/// resource's instances in a Multiple Resource, once their run ends (a TLV
/// header carries its length). So a read holds its output, one instance's
/// and one multiple resource's bytes — never the values themselves.
struct TlvOut {
    /// The path is an object (or the root): wrap instances.
    wrap_instances: bool,
    /// The path is a resource instance: bare Resource Instance entries.
    bare_instances: bool,
    inst: Option<u16>,
    inst_buf: Vec<u8>,
    multi: Option<u16>,
    multi_buf: Vec<u8>,
}

impl TlvOut {
    fn new(path: &Path) -> TlvOut {
        TlvOut {
            wrap_instances: matches!(path, Path::Object(_) | Path::Root),
            bare_instances: matches!(path, Path::ResourceInstance(..)),
            inst: None,
            inst_buf: Vec::new(),
            multi: None,
            multi_buf: Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn value(&mut self, out: &mut Vec<u8>, defs: &[ResourceDef], inst: u16, res: u16, ri: Option<u16>, v: &Value) {
        if self.bare_instances {
            tlv::write_value(out, TlvType::ResourceInstance, ri.unwrap_or(0), v);
            return;
        }
        if self.wrap_instances && self.inst != Some(inst) {
            self.close_instance(out);
            self.inst = Some(inst);
        }
        let multi = is_multi(defs, res);
        if !multi || self.multi != Some(res) {
            self.close_multi(out);
        }
        if multi {
            self.multi = Some(res);
            tlv::write_value(&mut self.multi_buf, TlvType::ResourceInstance, ri.unwrap_or(0), v);
        } else {
            let level = if self.wrap_instances { &mut self.inst_buf } else { out };
            tlv::write_value(level, TlvType::ResourceValue, res, v);
        }
    }

    fn close_multi(&mut self, out: &mut Vec<u8>) {
        if let Some(res) = self.multi.take() {
            let level = if self.wrap_instances { &mut self.inst_buf } else { out };
            tlv::write_nested(level, TlvType::MultipleResource, res, &self.multi_buf);
            self.multi_buf.clear();
        }
    }

    fn close_instance(&mut self, out: &mut Vec<u8>) {
        self.close_multi(out);
        if let Some(i) = self.inst.take() {
            tlv::write_nested(out, TlvType::ObjectInstance, i, &self.inst_buf);
            self.inst_buf.clear();
        }
    }

    fn finish(mut self, out: &mut Vec<u8>) {
        self.close_instance(out);
    }
}

fn is_multi(defs: &[ResourceDef], res: u16) -> bool {
    def(defs, res).is_some_and(|d| d.multiple)
}

/// TLV for the items of one instance (resources, multiple ones wrapped).
fn tlv_resources(defs: &[ResourceDef], items: &[Item], out: &mut Vec<u8>) {
    for group in items.chunk_by(|a, b| a.res == b.res) {
        let [first, ..] = group else { continue };
        let res = first.res;
        if is_multi(defs, res) {
            let mut inner = Vec::new();
            for it in group {
                tlv::write_value(&mut inner, TlvType::ResourceInstance, it.ri.unwrap_or(0), &it.value.as_value());
            }
            tlv::write_nested(out, TlvType::MultipleResource, res, &inner);
        } else {
            tlv::write_value(out, TlvType::ResourceValue, res, &first.value.as_value());
        }
    }
}

/// OMA-TLV at the level of `path` (§6.4.3) of values already gathered
/// (fuzz oracles and tests: a Read encodes as it reads, `TlvOut`).
pub fn encode_tlv(defs: &[ResourceDef], path: &Path, items: &[Item], out: &mut Vec<u8>) {
    match path {
        Path::Object(_) | Path::Root => {
            for group in items.chunk_by(|a, b| a.inst == b.inst) {
                let [first, ..] = group else { continue };
                let mut inner = Vec::new();
                tlv_resources(defs, group, &mut inner);
                tlv::write_nested(out, TlvType::ObjectInstance, first.inst, &inner);
            }
        }
        Path::Instance(..) | Path::Resource(..) => tlv_resources(defs, items, out),
        Path::ResourceInstance(..) => {
            for it in items {
                tlv::write_value(out, TlvType::ResourceInstance, it.ri.unwrap_or(0), &it.value.as_value());
            }
        }
    }
}

/// OMA LwM2M JSON with the path as base name (§6.4.4) of values already
/// gathered (fuzz oracles and tests; a Read encodes as it reads).
pub fn encode_json(path: &Path, items: &[Item], out: &mut Vec<u8>) {
    let mut w = JsonWriter::new(out, path);
    for it in items {
        w.entry(&json_name(path.depth(), it.inst, it.res, it.ri), &it.value.as_value());
    }
    w.finish();
}

/// Type of a resource for decoding; unknown → 4.04.
fn ty_of(defs: &[ResourceDef], res: u16) -> Result<ResourceType, Error> {
    let d = def(defs, res).ok_or(Error::NotFound)?;
    if d.ty == ResourceType::None {
        return Err(Error::NotAllowed);
    }
    Ok(d.ty)
}

fn decode_tlv_value(v: &[u8], ty: ResourceType) -> Result<Value<'_>, Error> {
    tlv::decode_value(v, ty).map_err(|_| Error::BadRequest)
}

/// The items a write decodes into, bounded and checked as they arrive: a
/// payload is refused at its first item the writer may not write (before
/// anything is built for the rest), and one with more than
/// `MAX_WRITE_ITEMS` items, or a multiple resource with more than
/// `MAX_RESOURCE_INSTANCES` instances, is refused with 4.13. So what a
/// peer sends never sizes an allocation past these limits.
struct Items<'a, 'b> {
    defs: &'a [ResourceDef],
    /// May this writer write (instance, resource)? The code if not.
    admit: Admit<'a>,
    /// `MAX_WRITE_ITEMS` or, for the bootstrap server, `MAX_BOOTSTRAP_WRITE_ITEMS`.
    max: usize,
    /// Items decoded so far.
    count: usize,
    /// Instances so far of each multiple resource (JSON may spread them).
    instances: Vec<((u16, u16), usize)>,
    /// Where each item goes as soon as it is decoded: nothing holds them all.
    sink: &'a mut ItemSink<'b>,
}

/// Where a write's decoded items go. An enum, not a closure: the calls stay
/// direct, so `scripts/stack.py` follows them instead of bounding an
/// indirect call by every function it could reach.
pub enum ItemSink<'b> {
    /// Nowhere: the payload is only checked.
    Check,
    /// Into the object, as they come.
    Apply(Apply<'b>),
    /// Into a vector (fuzz oracles and tests).
    Collect(Vec<Item>),
}

impl Items<'_, '_> {
    /// Type of (inst, res) if the writer may write it.
    fn admit(&self, inst: u16, res: u16) -> Result<ResourceType, Error> {
        let ty = ty_of(self.defs, res)?;
        self.admit.check(inst, res)?;
        Ok(ty)
    }

    /// A decoded value, owned. A LwM2M server's string or opaque value
    /// longer than `MAX_WRITE_VALUE_LEN` is refused (4.13) before it is
    /// copied: no resource a server writes holds more, and a Block1 body
    /// must not be held twice.
    fn owned(&self, v: &Value) -> Result<OwnedValue, Error> {
        let len = match *v {
            Value::Str(s) => s.len(),
            Value::Opaque(o) => o.len(),
            _ => 0,
        };
        if self.max == limits::MAX_WRITE_ITEMS && len > limits::MAX_WRITE_VALUE_LEN {
            return Err(Error::TooLarge);
        }
        Ok(OwnedValue::from_value(v))
    }

    fn push(&mut self, item: Item) -> Result<(), Error> {
        if self.count >= self.max {
            return Err(Error::TooLarge);
        }
        self.count += 1;
        match self.sink {
            ItemSink::Check => Ok(()),
            ItemSink::Apply(a) => a.item(item),
            ItemSink::Collect(v) => {
                v.push(item);
                Ok(())
            }
        }
    }

    /// One more instance of multiple resource (inst, res); past
    /// `MAX_RESOURCE_INSTANCES` → 4.13.
    fn count_instance(&mut self, inst: u16, res: u16) -> Result<(), Error> {
        let n = match self.instances.iter_mut().find(|(k, _)| *k == (inst, res)) {
            Some((_, n)) => n,
            None => {
                self.instances.push(((inst, res), 0));
                match self.instances.last_mut() {
                    Some((_, n)) => n,
                    None => return Err(Error::Internal),
                }
            }
        };
        *n += 1;
        if *n > limits::MAX_RESOURCE_INSTANCES {
            return Err(Error::TooLarge);
        }
        Ok(())
    }
}

/// Resource-level TLV entries of instance `inst` into items.
fn decode_tlv_resources(items: &mut Items, inst: u16, body: &[u8]) -> Result<(), Error> {
    for e in tlv::iter(body) {
        let e = e.map_err(|_| Error::BadRequest)?;
        let ty = items.admit(inst, e.id)?;
        match e.kind {
            TlvType::ResourceValue => {
                // A multiple resource comes as Multiple Resource TLV (TS
                // 1.0.2 §6.4.3); a single value for it would empty it.
                if is_multi(items.defs, e.id) {
                    return Err(Error::BadRequest);
                }
                let value = items.owned(&decode_tlv_value(e.value, ty)?)?;
                items.push(Item { inst, res: e.id, ri: None, value })?
            }
            TlvType::MultipleResource => {
                if !is_multi(items.defs, e.id) {
                    return Err(Error::BadRequest);
                }
                let mut count = 0;
                for r in tlv::iter(e.value) {
                    let r = r.map_err(|_| Error::BadRequest)?;
                    if r.kind != TlvType::ResourceInstance {
                        return Err(Error::BadRequest);
                    }
                    count += 1;
                    if count > limits::MAX_RESOURCE_INSTANCES {
                        return Err(Error::TooLarge);
                    }
                    let value = items.owned(&decode_tlv_value(r.value, ty)?)?;
                    items.push(Item { inst, res: e.id, ri: Some(r.id), value })?;
                }
                if count == 0 {
                    // An empty multiple resource: a marker item (ri None) so
                    // the write still reaches the resource, with no instances.
                    items.push(Item { inst, res: e.id, ri: None, value: OwnedValue::Opaque(Vec::new()) })?;
                }
            }
            _ => return Err(Error::BadRequest),
        }
    }
    Ok(())
}

/// Decode a Write / Create payload for `path` into items (§6.4), all of
/// them in a vector: for the fuzz oracles and tests; the write operations
/// use [`decode_write_each`].
pub fn decode_write(defs: &[ResourceDef], path: &Path, cf: ContentFormat, payload: &[u8], writer: Writer) -> Result<Vec<Item>, Error> {
    let mut sink = ItemSink::Collect(Vec::new());
    decode_write_each(defs, path, cf, payload, writer, Admit::All, &mut sink)?;
    match sink {
        ItemSink::Collect(v) => Ok(v),
        _ => Ok(Vec::new()),
    }
}

/// Decode a Write / Create payload for `path` (§6.4), handing each item to
/// `sink` as it is decoded; returns how many there were. `admit` refuses an
/// item the writer may not write, before its value is decoded. Nothing
/// holds the items: a bootstrap write of Access Control at its limits
/// (154 values) held 3.7 KB of them on the device, and a record's read-back
/// check at Bootstrap-Finish as much again.
pub fn decode_write_each(
    defs: &[ResourceDef],
    path: &Path,
    cf: ContentFormat,
    payload: &[u8],
    writer: Writer,
    admit: Admit,
    sink: &mut ItemSink,
) -> Result<usize, Error> {
    let max = if writer == Writer::BootstrapServer { limits::MAX_BOOTSTRAP_WRITE_ITEMS } else { limits::MAX_WRITE_ITEMS };
    let mut items = Items { defs, admit, max, count: 0, instances: Vec::new(), sink };
    match cf {
        ContentFormat::Tlv => match *path {
            Path::Object(_) => {
                for e in tlv::iter(payload) {
                    let e = e.map_err(|_| Error::BadRequest)?;
                    if e.kind != TlvType::ObjectInstance {
                        return Err(Error::BadRequest);
                    }
                    decode_tlv_resources(&mut items, e.id, e.value)?;
                }
            }
            Path::Instance(_, inst) => {
                let mut it = tlv::iter(payload);
                match it.next() {
                    Some(Ok(e)) if e.kind == TlvType::ObjectInstance => {
                        if e.id != inst || it.next().is_some() {
                            return Err(Error::BadRequest);
                        }
                        decode_tlv_resources(&mut items, inst, e.value)?;
                    }
                    Some(Err(_)) => return Err(Error::BadRequest),
                    _ => decode_tlv_resources(&mut items, inst, payload)?,
                }
            }
            Path::Resource(_, inst, res) => {
                let mut it = tlv::iter(payload);
                let e = match (it.next(), it.next()) {
                    (Some(Ok(e)), None) if e.id == res => e,
                    _ => return Err(Error::BadRequest),
                };
                if !matches!(e.kind, TlvType::ResourceValue | TlvType::MultipleResource) {
                    return Err(Error::BadRequest);
                }
                decode_tlv_resources(&mut items, inst, payload)?;
            }
            Path::ResourceInstance(_, inst, res, ri) => {
                let ty = items.admit(inst, res)?;
                let mut it = tlv::iter(payload);
                match (it.next(), it.next()) {
                    (Some(Ok(e)), None) if e.kind == TlvType::ResourceInstance && e.id == ri => {
                        let value = items.owned(&decode_tlv_value(e.value, ty)?)?;
                        items.push(Item { inst, res, ri: Some(ri), value })?
                    }
                    _ => return Err(Error::BadRequest),
                }
            }
            Path::Root => return Err(Error::NotAllowed),
        },
        ContentFormat::Json => {
            let entries = json::decode(payload).map_err(|_| Error::BadRequest)?;
            let mut scratch = Vec::new();
            for e in &entries {
                let (inst, res, ri) = match e.path {
                    Path::Resource(o, i, r) if Some(o) == path.object() => (i, r, None),
                    Path::ResourceInstance(o, i, r, ri) if Some(o) == path.object() => (i, r, Some(ri)),
                    _ => return Err(Error::BadRequest),
                };
                if !path.contains(&e.path) {
                    return Err(Error::BadRequest);
                }
                let ty = items.admit(inst, res)?;
                // A multiple resource's values name their instances; a bare
                // value for it would empty it (as in TLV above).
                if ri.is_none() && is_multi(items.defs, res) {
                    return Err(Error::BadRequest);
                }
                if ri.is_some() {
                    items.count_instance(inst, res)?;
                }
                let v = e.value(ty, &mut scratch).ok_or(Error::BadRequest)?;
                let value = items.owned(&v)?;
                items.push(Item { inst, res, ri, value })?;
            }
        }
        ContentFormat::Text | ContentFormat::Opaque => {
            let (inst, res, ri) = match *path {
                Path::Resource(_, i, r) => (i, r, None),
                Path::ResourceInstance(_, i, r, ri) => (i, r, Some(ri)),
                _ => return Err(Error::BadRequest),
            };
            let ty = items.admit(inst, res)?;
            if ri.is_none() && is_multi(defs, res) {
                return Err(Error::BadRequest);
            }
            let v = if cf == ContentFormat::Opaque {
                if ty != ResourceType::Opaque {
                    return Err(Error::UnsupportedFormat);
                }
                items.owned(&Value::Opaque(payload))?
            } else {
                if ty == ResourceType::Opaque {
                    return Err(Error::UnsupportedFormat);
                }
                items.owned(&text::decode(payload, ty).ok_or(Error::BadRequest)?)?
            };
            items.push(Item { inst, res, ri, value: v })?;
        }
        ContentFormat::Link => return Err(Error::UnsupportedFormat),
    }
    Ok(items.count)
}

/// What a writer may write, checked per item while decoding. A value, not
/// a closure: the call stays direct for `scripts/stack.py`.
#[derive(Copy, Clone)]
pub enum Admit<'a> {
    /// Anything in the object's table (the bootstrap server, a record read
    /// back, a Create's own values).
    All,
    /// A server: only writable resources of existing instances of the object.
    Server(&'a dyn Object),
}

impl Admit<'_> {
    fn of(obj: &dyn Object, writer: Writer) -> Admit<'_> {
        match writer {
            Writer::BootstrapServer => Admit::All,
            Writer::Server => Admit::Server(obj),
        }
    }

    fn check(&self, inst: u16, res: u16) -> Result<(), Error> {
        let Admit::Server(obj) = self else { return Ok(()) };
        let d = def(obj.defs(), res).ok_or(Error::NotFound)?;
        if !d.writable() {
            return Err(Error::NotAllowed);
        }
        if !obj.has_instance(inst) {
            return Err(Error::NotFound);
        }
        Ok(())
    }
}

/// Who writes: the bootstrap server may write any resource and creates
/// missing instances; a server writes only writable resources.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Writer {
    BootstrapServer,
    Server,
}

/// Writes decoded items into an object as they come, one resource at a
/// time: a single resource's value at once (of adjacent values for one
/// single resource, the first), a multiple resource's instances once its
/// run of items ends. Missing instances are created (the bootstrap server
/// may write them; a server's items were admitted only for existing ones).
pub struct Apply<'a> {
    obj: &'a mut dyn Object,
    env: &'a mut dyn Env,
    mode: WriteMode,
    /// The multiple resource being gathered (at most `MAX_RESOURCE_INSTANCES` values and a marker).
    group: Vec<Item>,
    /// (instance, resource) of the previous item.
    prev: Option<(u16, u16)>,
    effect: Effect,
}

impl Apply<'_> {
    fn item(&mut self, it: Item) -> Result<(), Error> {
        let key = (it.inst, it.res);
        if self.prev != Some(key) {
            self.flush()?;
        } else if !is_multi(self.obj.defs(), it.res) {
            return Ok(());
        }
        self.prev = Some(key);
        if !self.obj.has_instance(it.inst) {
            self.obj.create(it.inst).map_err(|_| Error::Internal)?;
        }
        if is_multi(self.obj.defs(), it.res) {
            self.group.push(it);
            return Ok(());
        }
        let e = self.obj.write(self.env, it.inst, it.res, &WriteValue::Single(&it.value), self.mode)?;
        self.note(e);
        Ok(())
    }

    /// Write the multiple resource gathered so far.
    fn flush(&mut self) -> Result<(), Error> {
        let Some(&Item { inst, res, .. }) = self.group.first() else { return Ok(()) };
        let list: Vec<(u16, OwnedValue)> = self.group.drain(..).filter_map(|it| it.ri.map(|ri| (ri, it.value))).collect();
        let e = self.obj.write(self.env, inst, res, &WriteValue::Multi(&list), self.mode)?;
        self.note(e);
        Ok(())
    }

    fn note(&mut self, e: Effect) {
        if e != Effect::None {
            self.effect = e;
        }
    }
}

/// What happens to the object between the check and the write.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Before {
    Nothing,
    /// Replace: the instance is emptied once the payload is known good.
    Empty(u16),
    /// Create: the instance is made; deleted again if the write fails.
    Create(u16),
}

/// Decode `payload` twice: first only to check it (every item admitted,
/// every value of its type, the limits), then to write it — so a payload
/// refused anywhere changes nothing, and no more than one resource's values
/// are held at a time.
#[allow(clippy::too_many_arguments)]
fn check_then_apply(
    obj: &mut dyn Object,
    env: &mut dyn Env,
    path: &Path,
    cf: ContentFormat,
    payload: &[u8],
    mode: WriteMode,
    writer: Writer,
    admit_as: Writer,
    before: Before,
) -> Result<Effect, Error> {
    let defs = obj.defs();
    decode_write_each(defs, path, cf, payload, writer, Admit::of(obj, admit_as), &mut ItemSink::Check)?;
    match before {
        Before::Nothing => {}
        Before::Empty(inst) => obj.replace_instance(inst),
        Before::Create(inst) => obj.create(inst)?,
    }
    let mut sink = ItemSink::Apply(Apply { obj, env, mode, group: Vec::new(), prev: None, effect: Effect::None });
    // Everything was admitted above; the second decode cannot refuse.
    let written = decode_write_each(defs, path, cf, payload, writer, Admit::All, &mut sink);
    let ItemSink::Apply(mut apply) = sink else { return Err(Error::Internal) };
    let result = written.and_then(|_| apply.flush()).map(|()| apply.effect);
    if let (Err(_), Before::Create(inst)) = (&result, before) {
        let _ = apply.obj.delete(inst);
    }
    result
}

/// Decode and apply a Write on `path` (TS §5.4.3).
pub fn write(
    obj: &mut dyn Object,
    env: &mut dyn Env,
    path: &Path,
    cf: ContentFormat,
    payload: &[u8],
    mode: WriteMode,
    writer: Writer,
) -> Result<Effect, Error> {
    if writer == Writer::Server {
        check_exists(obj, path)?;
        if matches!(path, Path::Object(_) | Path::Root) {
            return Err(Error::NotAllowed);
        }
        if let Some(r) = path.resource() {
            let d = def(obj.defs(), r).ok_or(Error::NotFound)?;
            if !d.writable() {
                return Err(Error::NotAllowed);
            }
        }
    }
    let before = match (*path, mode, writer) {
        (Path::Instance(_, inst), WriteMode::Replace, Writer::Server) => Before::Empty(inst),
        _ => Before::Nothing,
    };
    check_then_apply(obj, env, path, cf, payload, mode, writer, writer, before)
}

/// Execute `path` (TS §5.4.5): resource level only.
pub fn execute(obj: &mut dyn Object, env: &mut dyn Env, path: &Path, args: &[u8]) -> Result<Effect, Error> {
    let Path::Resource(_, inst, res) = *path else { return Err(Error::NotAllowed) };
    check_exists(obj, path)?;
    let d = def(obj.defs(), res).ok_or(Error::NotFound)?;
    if !d.executable() {
        return Err(Error::NotAllowed);
    }
    obj.execute(env, inst, res, args)
}

/// Create (TS §5.4.6): returns the new instance id.
pub fn create(obj: &mut dyn Object, env: &mut dyn Env, path: &Path, cf: ContentFormat, payload: &[u8]) -> Result<u16, Error> {
    let Path::Object(o) = *path else { return Err(Error::NotAllowed) };
    // The payload names the instance (TLV Object Instance) or not.
    let explicit = if cf == ContentFormat::Tlv {
        match tlv::iter(payload).next() {
            Some(Ok(e)) if e.kind == TlvType::ObjectInstance => Some(e.id),
            Some(Err(_)) => return Err(Error::BadRequest),
            _ => None,
        }
    } else {
        None
    };
    let inst = match explicit {
        Some(i) if obj.has_instance(i) => return Err(Error::BadRequest),
        Some(i) => i,
        None => (0..super::model::MAX_INSTANCES as u16 * 4).find(|i| !obj.has_instance(*i)).ok_or(Error::Internal)?,
    };
    let at = match explicit {
        Some(_) => Path::Object(o),
        None => Path::Instance(o, inst),
    };
    check_then_apply(obj, env, &at, cf, payload, WriteMode::Replace, Writer::Server, Writer::BootstrapServer, Before::Create(inst)).map(|_| inst)
}

/// Number of instances of a multiple resource (Discover `dim`).
pub fn dim(obj: &dyn Object, env: &mut dyn Env, inst: u16, res: u16) -> usize {
    for_each_value(obj, env, &Path::Resource(obj.id(), inst, res), &mut Values { enc: Encoder::Nothing, also: Also::Nothing }).unwrap_or(0)
}

/// Discover (TS §5.4.2) without attributes; `attrs` adds each link's
/// attributes (the session's Write-Attributes store).
pub fn discover(
    obj: &dyn Object,
    env: &mut dyn Env,
    path: &Path,
    attrs: &mut dyn FnMut(&Path, &mut LinkWriter),
) -> Result<Vec<u8>, Error> {
    check_exists(obj, path)?;
    let o = obj.id();
    let mut out = Vec::new();
    let mut w = LinkWriter::new(&mut out);
    let resources = |w: &mut LinkWriter, env: &mut dyn Env, inst: u16, attrs: &mut dyn FnMut(&Path, &mut LinkWriter)| {
        for d in obj.defs() {
            let p = Path::Resource(o, inst, d.id);
            w.link(&p);
            if d.multiple {
                w.attr_uint("dim", dim(obj, env, inst, d.id) as u64);
            }
            attrs(&p, w);
        }
    };
    match *path {
        Path::Object(_) => {
            w.link(path);
            attrs(path, &mut w);
            for inst in obj.instances() {
                let p = Path::Instance(o, inst);
                w.link(&p);
                attrs(&p, &mut w);
                resources(&mut w, env, inst, attrs);
            }
        }
        Path::Instance(_, inst) => {
            w.link(path);
            attrs(path, &mut w);
            resources(&mut w, env, inst, attrs);
        }
        Path::Resource(_, inst, res) => {
            let d = def(obj.defs(), res).ok_or(Error::NotFound)?;
            w.link(path);
            if d.multiple {
                w.attr_uint("dim", dim(obj, env, inst, res) as u64);
            }
            attrs(path, &mut w);
        }
        _ => return Err(Error::NotAllowed),
    }
    Ok(out)
}
