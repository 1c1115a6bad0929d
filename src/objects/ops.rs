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
use crate::coap::msg::Code;
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

/// Collects the values a read produces.
struct Collect<'a> {
    inst: u16,
    res: u16,
    only_ri: Option<u16>,
    out: &'a mut Vec<Item>,
}

impl Sink for Collect<'_> {
    fn value(&mut self, ri: Option<u16>, v: &Value) {
        if self.only_ri.is_some() && ri != self.only_ri {
            return;
        }
        self.out.push(Item { inst: self.inst, res: self.res, ri, value: OwnedValue::from_value(v) });
    }
}

/// Check that `path` names something that exists in `obj`.
pub fn check_exists(obj: &dyn Object, path: &Path) -> Result<(), Code> {
    if let Some(i) = path.instance() {
        if !obj.has_instance(i) {
            return Err(Code::NOT_FOUND);
        }
    }
    if let Some(r) = path.resource() {
        def(obj.defs(), r).ok_or(Code::NOT_FOUND)?;
    }
    Ok(())
}

/// Read every readable value under `path`.
pub fn collect(obj: &dyn Object, env: &mut dyn Env, path: &Path) -> Result<Vec<Item>, Code> {
    check_exists(obj, path)?;
    let mut items = Vec::new();
    let instances = match path.instance() {
        Some(i) => {
            let mut v = heapless::Vec::<u16, { super::model::MAX_INSTANCES }>::new();
            let _ = v.push(i);
            v
        }
        None => obj.instances(),
    };
    for inst in instances {
        for d in obj.defs() {
            if path.resource().is_some_and(|r| r != d.id) {
                continue;
            }
            if !d.readable() {
                if path.resource().is_some() {
                    return Err(Code::METHOD_NOT_ALLOWED);
                }
                continue;
            }
            let mut c = Collect { inst, res: d.id, only_ri: path.resource_instance(), out: &mut items };
            obj.read(env, inst, d.id, &mut c)?;
        }
    }
    if path.resource_instance().is_some() && items.is_empty() {
        return Err(Code::NOT_FOUND);
    }
    Ok(items)
}

/// The format a Read answers in (TS §6.4: TLV by default for more than one
/// value, plain text for a single non-opaque value).
pub fn choose_format(obj: &dyn Object, path: &Path, accept: Option<ContentFormat>) -> Result<ContentFormat, Code> {
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
        _ => Err(Code::NOT_ACCEPTABLE),
    }
}

/// Read `path` and encode it (Read, and the body of Observe / Notify).
pub fn read(obj: &dyn Object, env: &mut dyn Env, path: &Path, accept: Option<ContentFormat>) -> Result<(ContentFormat, Vec<u8>), Code> {
    read_items(obj, env, path, accept).map(|(f, body, _)| (f, body))
}

/// Read `path` and encode it; also return the values read, so a caller
/// that needs them (an observation's sample) does not read twice — a read
/// of object 4 or 7 is a round of AT commands.
pub fn read_items(
    obj: &dyn Object,
    env: &mut dyn Env,
    path: &Path,
    accept: Option<ContentFormat>,
) -> Result<(ContentFormat, Vec<u8>, Vec<Item>), Code> {
    check_exists(obj, path)?;
    let format = choose_format(obj, path, accept)?;
    let items = collect(obj, env, path)?;
    let mut out = Vec::new();
    match format {
        ContentFormat::Text => {
            let it = items.first().ok_or(Code::NOT_FOUND)?;
            text::encode(&it.value.as_value(), &mut out);
        }
        ContentFormat::Opaque => match items.first().map(|i| &i.value) {
            Some(OwnedValue::Opaque(b)) => out.extend_from_slice(b),
            _ => return Err(Code::NOT_ACCEPTABLE),
        },
        ContentFormat::Tlv => encode_tlv(obj.defs(), path, &items, &mut out),
        ContentFormat::Json => encode_json(path, &items, &mut out),
        ContentFormat::Link => return Err(Code::NOT_ACCEPTABLE),
    }
    Ok((format, out, items))
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

/// OMA-TLV at the level of `path` (§6.4.3).
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

/// OMA LwM2M JSON with the path as base name (§6.4.4).
pub fn encode_json(path: &Path, items: &[Item], out: &mut Vec<u8>) {
    let mut w = JsonWriter::new(out, path);
    for it in items {
        let mut name: heapless::Vec<u16, 3> = heapless::Vec::new();
        let depth = path.depth();
        if depth < 2 {
            let _ = name.push(it.inst);
        }
        if depth < 3 {
            let _ = name.push(it.res);
        }
        if let (Some(ri), true) = (it.ri, depth < 4) {
            let _ = name.push(ri);
        }
        w.entry(&name, &it.value.as_value());
    }
    w.finish();
}

/// Type of a resource for decoding; unknown → 4.04.
fn ty_of(defs: &[ResourceDef], res: u16) -> Result<ResourceType, Code> {
    let d = def(defs, res).ok_or(Code::NOT_FOUND)?;
    if d.ty == ResourceType::None {
        return Err(Code::METHOD_NOT_ALLOWED);
    }
    Ok(d.ty)
}

fn decode_tlv_value(v: &[u8], ty: ResourceType) -> Result<Value<'_>, Code> {
    tlv::decode_value(v, ty).map_err(|_| Code::BAD_REQUEST)
}

/// The items a write decodes into, bounded and checked as they arrive: a
/// payload is refused at its first item the writer may not write (before
/// anything is built for the rest), and one with more than
/// `MAX_WRITE_ITEMS` items, or a multiple resource with more than
/// `MAX_RESOURCE_INSTANCES` instances, is refused with 4.13. So what a
/// peer sends never sizes an allocation past these limits.
struct Items<'a> {
    defs: &'a [ResourceDef],
    /// May this writer write (instance, resource)? The code if not.
    admit: &'a dyn Fn(u16, u16) -> Result<(), Code>,
    /// `MAX_WRITE_ITEMS` or, for the bootstrap server, `MAX_BOOTSTRAP_WRITE_ITEMS`.
    max: usize,
    out: Vec<Item>,
}

impl Items<'_> {
    /// Type of (inst, res) if the writer may write it.
    fn admit(&self, inst: u16, res: u16) -> Result<ResourceType, Code> {
        let ty = ty_of(self.defs, res)?;
        (self.admit)(inst, res)?;
        Ok(ty)
    }

    /// A decoded value, owned. A LwM2M server's string or opaque value
    /// longer than `MAX_WRITE_VALUE_LEN` is refused (4.13) before it is
    /// copied: no resource a server writes holds more, and a Block1 body
    /// must not be held twice.
    fn owned(&self, v: &Value) -> Result<OwnedValue, Code> {
        let len = match *v {
            Value::Str(s) => s.len(),
            Value::Opaque(o) => o.len(),
            _ => 0,
        };
        if self.max == limits::MAX_WRITE_ITEMS && len > limits::MAX_WRITE_VALUE_LEN {
            return Err(Code::REQUEST_ENTITY_TOO_LARGE);
        }
        Ok(OwnedValue::from_value(v))
    }

    fn push(&mut self, item: Item) -> Result<(), Code> {
        if self.out.len() >= self.max {
            return Err(Code::REQUEST_ENTITY_TOO_LARGE);
        }
        self.out.push(item);
        Ok(())
    }
}

/// Resource-level TLV entries of instance `inst` into items.
fn decode_tlv_resources(items: &mut Items, inst: u16, body: &[u8]) -> Result<(), Code> {
    for e in tlv::iter(body) {
        let e = e.map_err(|_| Code::BAD_REQUEST)?;
        let ty = items.admit(inst, e.id)?;
        match e.kind {
            TlvType::ResourceValue => {
                // A multiple resource comes as Multiple Resource TLV (TS
                // 1.0.2 §6.4.3); a single value for it would empty it.
                if is_multi(items.defs, e.id) {
                    return Err(Code::BAD_REQUEST);
                }
                let value = items.owned(&decode_tlv_value(e.value, ty)?)?;
                items.push(Item { inst, res: e.id, ri: None, value })?
            }
            TlvType::MultipleResource => {
                if !is_multi(items.defs, e.id) {
                    return Err(Code::BAD_REQUEST);
                }
                let mut count = 0;
                for r in tlv::iter(e.value) {
                    let r = r.map_err(|_| Code::BAD_REQUEST)?;
                    if r.kind != TlvType::ResourceInstance {
                        return Err(Code::BAD_REQUEST);
                    }
                    count += 1;
                    if count > limits::MAX_RESOURCE_INSTANCES {
                        return Err(Code::REQUEST_ENTITY_TOO_LARGE);
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
            _ => return Err(Code::BAD_REQUEST),
        }
    }
    Ok(())
}

/// How many items a TLV write payload decodes into (as
/// `decode_tlv_resources` makes them: a value each, an empty multiple
/// resource one marker, an object instance its resources); what does not
/// parse is not counted (the decoder refuses it).
fn count_tlv_items(body: &[u8]) -> usize {
    tlv::iter(body)
        .map_while(Result::ok)
        .map(|e| match e.kind {
            TlvType::ObjectInstance => count_tlv_items(e.value),
            TlvType::MultipleResource => tlv::iter(e.value).map_while(Result::ok).count().max(1),
            _ => 1,
        })
        .sum()
}

/// Decode a Write / Create payload for `path` into items (§6.4); `admit`
/// refuses an item the writer may not write, before its value is decoded.
pub fn decode_write(
    defs: &[ResourceDef],
    path: &Path,
    cf: ContentFormat,
    payload: &[u8],
    writer: Writer,
    admit: &dyn Fn(u16, u16) -> Result<(), Code>,
) -> Result<Vec<Item>, Code> {
    let max = if writer == Writer::BootstrapServer { limits::MAX_BOOTSTRAP_WRITE_ITEMS } else { limits::MAX_WRITE_ITEMS };
    // TLV: room for exactly the items the payload holds (at most `max`),
    // counted first; growing by doubling held up to twice that, and the old
    // block beside the new one while it moved (9 KB for a bootstrap write
    // of Access Control at its limits instead of 3.7 KB).
    let room = if cf == ContentFormat::Tlv { count_tlv_items(payload).min(max) } else { 0 };
    let mut items = Items { defs, admit, max, out: Vec::with_capacity(room) };
    match cf {
        ContentFormat::Tlv => match *path {
            Path::Object(_) => {
                for e in tlv::iter(payload) {
                    let e = e.map_err(|_| Code::BAD_REQUEST)?;
                    if e.kind != TlvType::ObjectInstance {
                        return Err(Code::BAD_REQUEST);
                    }
                    decode_tlv_resources(&mut items, e.id, e.value)?;
                }
            }
            Path::Instance(_, inst) => {
                let mut it = tlv::iter(payload);
                match it.next() {
                    Some(Ok(e)) if e.kind == TlvType::ObjectInstance => {
                        if e.id != inst || it.next().is_some() {
                            return Err(Code::BAD_REQUEST);
                        }
                        decode_tlv_resources(&mut items, inst, e.value)?;
                    }
                    Some(Err(_)) => return Err(Code::BAD_REQUEST),
                    _ => decode_tlv_resources(&mut items, inst, payload)?,
                }
            }
            Path::Resource(_, inst, res) => {
                let mut it = tlv::iter(payload);
                let e = match (it.next(), it.next()) {
                    (Some(Ok(e)), None) if e.id == res => e,
                    _ => return Err(Code::BAD_REQUEST),
                };
                if !matches!(e.kind, TlvType::ResourceValue | TlvType::MultipleResource) {
                    return Err(Code::BAD_REQUEST);
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
                    _ => return Err(Code::BAD_REQUEST),
                }
            }
            Path::Root => return Err(Code::METHOD_NOT_ALLOWED),
        },
        ContentFormat::Json => {
            let entries = json::decode(payload).map_err(|_| Code::BAD_REQUEST)?;
            let mut scratch = Vec::new();
            for e in &entries {
                let (inst, res, ri) = match e.path {
                    Path::Resource(o, i, r) if Some(o) == path.object() => (i, r, None),
                    Path::ResourceInstance(o, i, r, ri) if Some(o) == path.object() => (i, r, Some(ri)),
                    _ => return Err(Code::BAD_REQUEST),
                };
                if !path.contains(&e.path) {
                    return Err(Code::BAD_REQUEST);
                }
                let ty = items.admit(inst, res)?;
                // A multiple resource's values name their instances; a bare
                // value for it would empty it (as in TLV above).
                if ri.is_none() && is_multi(items.defs, res) {
                    return Err(Code::BAD_REQUEST);
                }
                if ri.is_some() && items.out.iter().filter(|it| it.inst == inst && it.res == res).count() >= limits::MAX_RESOURCE_INSTANCES {
                    return Err(Code::REQUEST_ENTITY_TOO_LARGE);
                }
                let v = e.value(ty, &mut scratch).ok_or(Code::BAD_REQUEST)?;
                let value = items.owned(&v)?;
                items.push(Item { inst, res, ri, value })?;
            }
        }
        ContentFormat::Text | ContentFormat::Opaque => {
            let (inst, res, ri) = match *path {
                Path::Resource(_, i, r) => (i, r, None),
                Path::ResourceInstance(_, i, r, ri) => (i, r, Some(ri)),
                _ => return Err(Code::BAD_REQUEST),
            };
            let ty = items.admit(inst, res)?;
            if ri.is_none() && is_multi(defs, res) {
                return Err(Code::BAD_REQUEST);
            }
            let v = if cf == ContentFormat::Opaque {
                if ty != ResourceType::Opaque {
                    return Err(Code::UNSUPPORTED_CONTENT_FORMAT);
                }
                items.owned(&Value::Opaque(payload))?
            } else {
                if ty == ResourceType::Opaque {
                    return Err(Code::UNSUPPORTED_CONTENT_FORMAT);
                }
                items.owned(&text::decode(payload, ty).ok_or(Code::BAD_REQUEST)?)?
            };
            items.push(Item { inst, res, ri, value: v })?;
        }
        ContentFormat::Link => return Err(Code::UNSUPPORTED_CONTENT_FORMAT),
    }
    Ok(items.out)
}

/// What a writer may write, checked per item while decoding (the same rule
/// as `validate`): a server only writable resources of existing instances.
fn admit_for<'a>(obj: &'a dyn Object, writer: Writer) -> impl Fn(u16, u16) -> Result<(), Code> + 'a {
    move |inst, res| {
        if writer == Writer::BootstrapServer {
            return Ok(());
        }
        let d = def(obj.defs(), res).ok_or(Code::NOT_FOUND)?;
        if !d.writable() {
            return Err(Code::METHOD_NOT_ALLOWED);
        }
        if !obj.has_instance(inst) {
            return Err(Code::NOT_FOUND);
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

/// Check decoded items against the resource table before anything is written.
fn validate(obj: &dyn Object, items: &[Item], writer: Writer) -> Result<(), Code> {
    for it in items {
        let d = def(obj.defs(), it.res).ok_or(Code::NOT_FOUND)?;
        if writer == Writer::Server && (!d.writable() || !obj.has_instance(it.inst)) {
            return Err(if d.writable() { Code::NOT_FOUND } else { Code::METHOD_NOT_ALLOWED });
        }
    }
    Ok(())
}

/// Apply decoded items (grouped per resource) to `obj`.
pub fn apply_write(
    obj: &mut dyn Object,
    env: &mut dyn Env,
    items: &[Item],
    mode: WriteMode,
    writer: Writer,
) -> Result<Effect, Code> {
    validate(obj, items, writer)?;
    for it in items {
        if !obj.has_instance(it.inst) {
            obj.create(it.inst).map_err(|_| Code::INTERNAL_SERVER_ERROR)?;
        }
    }
    let mut effect = Effect::None;
    for group in items.chunk_by(|a, b| a.inst == b.inst && a.res == b.res) {
        let [first, ..] = group else { continue };
        let (inst, res) = (first.inst, first.res);
        let e = if is_multi(obj.defs(), res) {
            let list: Vec<(u16, OwnedValue)> =
                group.iter().filter_map(|it| it.ri.map(|ri| (ri, it.value.clone()))).collect();
            // A single resource instance written on its own path is an update.
            let m = if group.iter().all(|it| it.ri.is_some()) && group.len() == 1 && mode == WriteMode::Update {
                WriteMode::Update
            } else {
                mode
            };
            obj.write(env, inst, res, &WriteValue::Multi(&list), m)?
        } else {
            obj.write(env, inst, res, &WriteValue::Single(&first.value), mode)?
        };
        if e != Effect::None {
            effect = e;
        }
    }
    Ok(effect)
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
) -> Result<Effect, Code> {
    if writer == Writer::Server {
        check_exists(obj, path)?;
        if matches!(path, Path::Object(_) | Path::Root) {
            return Err(Code::METHOD_NOT_ALLOWED);
        }
        if let Some(r) = path.resource() {
            let d = def(obj.defs(), r).ok_or(Code::NOT_FOUND)?;
            if !d.writable() {
                return Err(Code::METHOD_NOT_ALLOWED);
            }
        }
    }
    let items = decode_write(obj.defs(), path, cf, payload, writer, &admit_for(obj, writer))?;
    if let (Path::Instance(_, inst), WriteMode::Replace, Writer::Server) = (*path, mode, writer) {
        validate(obj, &items, writer)?;
        obj.replace_instance(inst);
    }
    apply_write(obj, env, &items, mode, writer)
}

/// Execute `path` (TS §5.4.5): resource level only.
pub fn execute(obj: &mut dyn Object, env: &mut dyn Env, path: &Path, args: &[u8]) -> Result<Effect, Code> {
    let Path::Resource(_, inst, res) = *path else { return Err(Code::METHOD_NOT_ALLOWED) };
    check_exists(obj, path)?;
    let d = def(obj.defs(), res).ok_or(Code::NOT_FOUND)?;
    if !d.executable() {
        return Err(Code::METHOD_NOT_ALLOWED);
    }
    obj.execute(env, inst, res, args)
}

/// Create (TS §5.4.6): returns the new instance id.
pub fn create(obj: &mut dyn Object, env: &mut dyn Env, path: &Path, cf: ContentFormat, payload: &[u8]) -> Result<u16, Code> {
    let Path::Object(o) = *path else { return Err(Code::METHOD_NOT_ALLOWED) };
    // The payload names the instance (TLV Object Instance) or not.
    let explicit = if cf == ContentFormat::Tlv {
        match tlv::iter(payload).next() {
            Some(Ok(e)) if e.kind == TlvType::ObjectInstance => Some(e.id),
            Some(Err(_)) => return Err(Code::BAD_REQUEST),
            _ => None,
        }
    } else {
        None
    };
    let inst = match explicit {
        Some(i) if obj.has_instance(i) => return Err(Code::BAD_REQUEST),
        Some(i) => i,
        None => (0..super::model::MAX_INSTANCES as u16 * 4).find(|i| !obj.has_instance(*i)).ok_or(Code::INTERNAL_SERVER_ERROR)?,
    };
    let items = match explicit {
        Some(_) => decode_write(obj.defs(), &Path::Object(o), cf, payload, Writer::Server, &admit_for(obj, Writer::BootstrapServer))?,
        None => decode_write(obj.defs(), &Path::Instance(o, inst), cf, payload, Writer::Server, &admit_for(obj, Writer::BootstrapServer))?,
    };
    for it in &items {
        if def(obj.defs(), it.res).is_none() {
            return Err(Code::NOT_FOUND);
        }
    }
    obj.create(inst)?;
    match apply_write(obj, env, &items, WriteMode::Replace, Writer::BootstrapServer) {
        Ok(_) => Ok(inst),
        Err(c) => {
            let _ = obj.delete(inst);
            Err(c)
        }
    }
}

/// Number of instances of a multiple resource (Discover `dim`).
pub fn dim(obj: &dyn Object, env: &mut dyn Env, inst: u16, res: u16) -> usize {
    collect(obj, env, &Path::Resource(obj.id(), inst, res)).map_or(0, |v| v.len())
}

/// Discover (TS §5.4.2) without attributes; `attrs` adds each link's
/// attributes (the session's Write-Attributes store).
pub fn discover(
    obj: &dyn Object,
    env: &mut dyn Env,
    path: &Path,
    attrs: &mut dyn FnMut(&Path, &mut LinkWriter),
) -> Result<Vec<u8>, Code> {
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
            let d = def(obj.defs(), res).ok_or(Code::NOT_FOUND)?;
            w.link(path);
            if d.multiple {
                w.attr_uint("dim", dim(obj, env, inst, res) as u64);
            }
            attrs(path, &mut w);
        }
        _ => return Err(Code::METHOD_NOT_ALLOWED),
    }
    Ok(out)
}
