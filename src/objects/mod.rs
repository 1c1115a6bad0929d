//! The LwM2M objects this client exposes and the operations on them
//! (OMA-TS-LightweightM2M-V1_0_2 §5.2 bootstrap interface, §5.4 device
//! management interface). Objects are data plus a resource table; this
//! module routes an operation on a path to them and encodes the answer.

pub mod device;
pub mod security;
pub mod server;

use alloc::vec::Vec;

use crate::coap::msg::Code;
use crate::limits::{MAX_SECURITY_INSTANCES, MAX_SERVER_INSTANCES};
use crate::lwm2m::format::ContentFormat;
use crate::lwm2m::link::LinkWriter;
use crate::lwm2m::path::Path;
use crate::lwm2m::tlv::{self, TlvType};
use crate::lwm2m::text;
use crate::lwm2m::value::{ResourceType, Value};
use device::{Device, ResourceValue};
use security::{SecurityInstance, WriteError};
use server::ServerInstance;

/// `LWM2M_ACL_BOOTSTRAP_SHORT_SERVER_ID`: the bootstrap account's ssid.
pub const BOOTSTRAP_SSID: u16 = 65535;

/// Who performs an operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    BootstrapServer,
    Server,
}

/// An object instance that a Write can create and fill.
trait Instance: Sized {
    fn new(id: u16) -> Self;
    fn id(&self) -> u16;
    fn resource_type(res: u16) -> Option<ResourceType>;
    fn set(&mut self, res: u16, v: &Value) -> Result<(), WriteError>;
}

impl Instance for SecurityInstance {
    fn new(id: u16) -> Self {
        SecurityInstance::new(id)
    }
    fn id(&self) -> u16 {
        self.id
    }
    fn resource_type(res: u16) -> Option<ResourceType> {
        SecurityInstance::resource_type(res)
    }
    fn set(&mut self, res: u16, v: &Value) -> Result<(), WriteError> {
        SecurityInstance::set(self, res, v)
    }
}

impl Instance for ServerInstance {
    fn new(id: u16) -> Self {
        ServerInstance::new(id)
    }
    fn id(&self) -> u16 {
        self.id
    }
    fn resource_type(res: u16) -> Option<ResourceType> {
        ServerInstance::resource_type(res)
    }
    fn set(&mut self, res: u16, v: &Value) -> Result<(), WriteError> {
        ServerInstance::set(self, res, v)
    }
}

fn write_error_code(e: WriteError) -> Code {
    match e {
        WriteError::NotFound => Code::NOT_FOUND,
        WriteError::BadValue => Code::BAD_REQUEST,
    }
}

/// Decode one resource value in content format `cf`.
fn decode<'a>(cf: ContentFormat, raw: &'a [u8], ty: ResourceType) -> Result<Value<'a>, Code> {
    match cf {
        ContentFormat::Tlv => tlv::decode_value(raw, ty).map_err(|_| Code::BAD_REQUEST),
        ContentFormat::Text => text::decode(raw, ty).ok_or(Code::BAD_REQUEST),
        ContentFormat::Opaque if ty == ResourceType::Opaque => Ok(Value::Opaque(raw)),
        _ => Err(Code::UNSUPPORTED_CONTENT_FORMAT),
    }
}

/// Write resources from TLV entries `body` into instance `inst_id` of `list`
/// (created when missing and `create` is allowed).
fn write_instance_tlv<T: Instance>(
    list: &mut Vec<T>,
    max: usize,
    inst_id: u16,
    body: &[u8],
    create: bool,
) -> Result<(), Code> {
    let idx = match list.iter().position(|i| i.id() == inst_id) {
        Some(i) => i,
        None if create && list.len() < max => {
            list.push(T::new(inst_id));
            list.len() - 1
        }
        None if create => return Err(Code::INTERNAL_SERVER_ERROR),
        None => return Err(Code::NOT_FOUND),
    };
    for entry in tlv::iter(body) {
        let e = entry.map_err(|_| Code::BAD_REQUEST)?;
        if e.kind != TlvType::ResourceValue {
            // No multiple-instance resources in Security/Server.
            return Err(Code::BAD_REQUEST);
        }
        let ty = T::resource_type(e.id).ok_or(Code::NOT_FOUND)?;
        if ty == ResourceType::None {
            return Err(Code::METHOD_NOT_ALLOWED);
        }
        let v = tlv::decode_value(e.value, ty).map_err(|_| Code::BAD_REQUEST)?;
        list[idx].set(e.id, &v).map_err(write_error_code)?;
    }
    Ok(())
}

/// A Write (or Bootstrap-Write) on an object whose instances are `T`.
fn write_object<T: Instance>(
    list: &mut Vec<T>,
    max: usize,
    path: &Path,
    cf: ContentFormat,
    payload: &[u8],
    create: bool,
) -> Result<(), Code> {
    match *path {
        Path::Object(_) => {
            if cf != ContentFormat::Tlv {
                return Err(Code::UNSUPPORTED_CONTENT_FORMAT);
            }
            for entry in tlv::iter(payload) {
                let e = entry.map_err(|_| Code::BAD_REQUEST)?;
                if e.kind != TlvType::ObjectInstance {
                    return Err(Code::BAD_REQUEST);
                }
                write_instance_tlv(list, max, e.id, e.value, create)?;
            }
            Ok(())
        }
        Path::Instance(_, inst) => {
            if cf != ContentFormat::Tlv {
                return Err(Code::UNSUPPORTED_CONTENT_FORMAT);
            }
            // The payload may carry the instance wrapper or bare resources.
            let mut it = tlv::iter(payload);
            match it.next() {
                Some(Ok(e)) if e.kind == TlvType::ObjectInstance => {
                    if e.id != inst || it.next().is_some() {
                        return Err(Code::BAD_REQUEST);
                    }
                    write_instance_tlv(list, max, inst, e.value, create)
                }
                Some(Err(_)) => Err(Code::BAD_REQUEST),
                _ => write_instance_tlv(list, max, inst, payload, create),
            }
        }
        Path::Resource(_, inst, res) => {
            let ty = T::resource_type(res).ok_or(Code::NOT_FOUND)?;
            if ty == ResourceType::None {
                return Err(Code::METHOD_NOT_ALLOWED);
            }
            let raw = if cf == ContentFormat::Tlv {
                let mut it = tlv::iter(payload);
                match (it.next(), it.next()) {
                    (Some(Ok(e)), None) if e.kind == TlvType::ResourceValue && e.id == res => e.value,
                    _ => return Err(Code::BAD_REQUEST),
                }
            } else {
                payload
            };
            let v = decode(cf, raw, ty)?;
            let idx = match list.iter().position(|i| i.id() == inst) {
                Some(i) => i,
                None if create && list.len() < max => {
                    list.push(T::new(inst));
                    list.len() - 1
                }
                None => return Err(Code::NOT_FOUND),
            };
            list[idx].set(res, &v).map_err(write_error_code)
        }
        _ => Err(Code::METHOD_NOT_ALLOWED),
    }
}

/// Encode `values` of one instance as TLV resources.
fn tlv_resources(out: &mut Vec<u8>, values: &[(u16, Value)]) {
    for (id, v) in values {
        tlv::write_value(out, TlvType::ResourceValue, *id, v);
    }
}

/// The client's objects (Device lives in `shared` because setters write it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Objects {
    pub security: Vec<SecurityInstance>,
    pub server: Vec<ServerInstance>,
}

impl Objects {
    /// Factory state: only the bootstrap server account (Security /0/0).
    pub fn factory(bootstrap_uri: &str, psk_set: bool) -> Objects {
        let mut bs = SecurityInstance::new(0);
        bs.uri = alloc::string::String::from(bootstrap_uri);
        bs.bootstrap = true;
        bs.mode = if psk_set || bootstrap_uri.starts_with("coaps://") { security::mode::PSK } else { security::mode::NO_SEC };
        bs.ssid = BOOTSTRAP_SSID;
        Objects { security: alloc::vec![bs], server: Vec::new() }
    }

    /// The bootstrap server account.
    pub fn bootstrap_account(&self) -> Option<&SecurityInstance> {
        self.security.iter().find(|s| s.bootstrap)
    }

    /// LwM2M server accounts: (security instance, server instance) pairs
    /// matched by Short Server ID, in security instance order.
    pub fn server_accounts(&self) -> impl Iterator<Item = (&SecurityInstance, &ServerInstance)> {
        self.security
            .iter()
            .filter(|s| !s.bootstrap && !s.uri.is_empty())
            .filter_map(move |s| self.server.iter().find(|v| v.ssid == s.ssid).map(|v| (s, v)))
    }

    /// Is the bootstrapped configuration usable (at least one server)?
    pub fn has_server(&self) -> bool {
        self.server_accounts().next().is_some()
    }

    /// Bootstrap-Delete (TS §5.2.7.5): "/" deletes every Security and Server
    /// instance except the bootstrap account; deleting the bootstrap account
    /// itself is silently skipped so the client can always bootstrap again.
    pub fn bootstrap_delete(&mut self, path: &Path) -> Result<(), Code> {
        match *path {
            Path::Root => {
                self.security.retain(|s| s.bootstrap);
                self.server.clear();
            }
            Path::Object(security::OBJECT_ID) => self.security.retain(|s| s.bootstrap),
            Path::Object(server::OBJECT_ID) => self.server.clear(),
            Path::Instance(security::OBJECT_ID, i) => self.security.retain(|s| s.bootstrap || s.id != i),
            Path::Instance(server::OBJECT_ID, i) => self.server.retain(|s| s.id != i),
            // Access Control (2) is not implemented: nothing to delete.
            Path::Object(2) | Path::Instance(2, _) => {}
            _ => return Err(Code::BAD_REQUEST),
        }
        Ok(())
    }

    /// Write (DM server: PUT replace / POST partial update of existing
    /// instances) or Bootstrap-Write (creates instances).
    pub fn write(&mut self, caller: Caller, path: &Path, cf: ContentFormat, payload: &[u8]) -> Result<(), Code> {
        let bootstrap = caller == Caller::BootstrapServer;
        match path.object() {
            Some(security::OBJECT_ID) if bootstrap => {
                let r = write_object(&mut self.security, MAX_SECURITY_INSTANCES, path, cf, payload, true);
                // Keep the bootstrap account unique: the newest one written wins.
                r
            }
            Some(security::OBJECT_ID) => Err(Code::UNAUTHORIZED),
            Some(server::OBJECT_ID) => write_object(&mut self.server, MAX_SERVER_INSTANCES, path, cf, payload, bootstrap),
            Some(device::OBJECT_ID) if !bootstrap => {
                if matches!(path, Path::Resource(3, 0, r) if Device::is_resource(*r)) || path.instance() == Some(0) {
                    Err(Code::METHOD_NOT_ALLOWED)
                } else {
                    Err(Code::NOT_FOUND)
                }
            }
            Some(2) if bootstrap => Ok(()), // ACL writes accepted and ignored (no ACL object yet)
            Some(_) => Err(Code::NOT_FOUND),
            None => Err(Code::METHOD_NOT_ALLOWED),
        }
    }

    /// Read for a DM server. `accept` is the requested format (None: TLV for
    /// objects and instances, plain text for single resources).
    pub fn read(&self, path: &Path, accept: Option<ContentFormat>, device: &Device) -> Result<(ContentFormat, Vec<u8>), Code> {
        let mut out = Vec::new();
        match *path {
            Path::Object(security::OBJECT_ID)
            | Path::Instance(security::OBJECT_ID, _)
            | Path::Resource(security::OBJECT_ID, _, _) => return Err(Code::UNAUTHORIZED),
            Path::Resource(o, i, r) => {
                let single = self.read_resource(o, i, r, device, &mut out, accept)?;
                return Ok(single);
            }
            Path::Instance(o, _) | Path::Object(o) => {
                if !matches!(accept, None | Some(ContentFormat::Tlv)) {
                    return Err(Code::NOT_ACCEPTABLE);
                }
                let wrap = matches!(path, Path::Object(_));
                let wanted = path.instance();
                match o {
                    device::OBJECT_ID => {
                        if wanted.is_some_and(|i| i != 0) {
                            return Err(Code::NOT_FOUND);
                        }
                        let mut inner = Vec::new();
                        for &r in device::READABLE {
                            if let Some(v) = device.read(r, 0) {
                                encode_device_tlv(&mut inner, r, &v);
                            }
                        }
                        push_instance(&mut out, wrap, 0, &inner);
                    }
                    server::OBJECT_ID => {
                        let mut found = false;
                        for s in self.server.iter().filter(|s| wanted.is_none_or(|i| i == s.id)) {
                            found = true;
                            let mut inner = Vec::new();
                            tlv_resources(&mut inner, &s.values());
                            push_instance(&mut out, wrap, s.id, &inner);
                        }
                        if !found && wanted.is_some() {
                            return Err(Code::NOT_FOUND);
                        }
                    }
                    _ => return Err(Code::NOT_FOUND),
                }
                Ok((ContentFormat::Tlv, out))
            }
            _ => Err(Code::METHOD_NOT_ALLOWED),
        }
    }

    fn read_resource(
        &self,
        o: u16,
        i: u16,
        r: u16,
        device: &Device,
        out: &mut Vec<u8>,
        accept: Option<ContentFormat>,
    ) -> Result<(ContentFormat, Vec<u8>), Code> {
        let text_ok = matches!(accept, None | Some(ContentFormat::Text));
        match o {
            device::OBJECT_ID if i == 0 => {
                let v = device.read(r, 0).ok_or(if Device::is_resource(r) {
                    Code::METHOD_NOT_ALLOWED
                } else {
                    Code::NOT_FOUND
                })?;
                match (&v, accept) {
                    (ResourceValue::Single(s), _) if text_ok => {
                        text::encode(s, out);
                        Ok((ContentFormat::Text, core::mem::take(out)))
                    }
                    (_, None | Some(ContentFormat::Tlv)) => {
                        encode_device_tlv(out, r, &v);
                        Ok((ContentFormat::Tlv, core::mem::take(out)))
                    }
                    _ => Err(Code::NOT_ACCEPTABLE),
                }
            }
            server::OBJECT_ID => {
                let s = self.server.iter().find(|s| s.id == i).ok_or(Code::NOT_FOUND)?;
                if ServerInstance::resource_type(r) == Some(ResourceType::None) {
                    return Err(Code::METHOD_NOT_ALLOWED);
                }
                let (_, v) = *s.values().iter().find(|(id, _)| *id == r).ok_or(Code::NOT_FOUND)?;
                if text_ok {
                    text::encode(&v, out);
                    Ok((ContentFormat::Text, core::mem::take(out)))
                } else if accept == Some(ContentFormat::Tlv) {
                    tlv::write_value(out, TlvType::ResourceValue, r, &v);
                    Ok((ContentFormat::Tlv, core::mem::take(out)))
                } else {
                    Err(Code::NOT_ACCEPTABLE)
                }
            }
            _ => Err(Code::NOT_FOUND),
        }
    }

    /// Registration payload (TS §5.3.1): every object instance the server may
    /// see, as CoRE links; the Security object is never listed.
    pub fn registration_links(&self, out: &mut Vec<u8>) {
        let mut w = LinkWriter::new(out);
        for s in &self.server {
            w.link(&Path::Instance(server::OBJECT_ID, s.id));
        }
        w.link(&Path::Instance(device::OBJECT_ID, 0));
    }

    /// Bootstrap-Discover on "/" (TS 1.0.2 §5.2.7.1): objects and instances,
    /// with the ssid of Security instances.
    pub fn bootstrap_discover(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"lwm2m=\"1.0\",");
        let mut w = LinkWriter::new(out);
        for s in &self.security {
            w.link(&Path::Instance(security::OBJECT_ID, s.id));
            if !s.bootstrap {
                w.attr_uint("ssid", s.ssid as u64);
            }
        }
        if self.server.is_empty() {
            w.link(&Path::Object(server::OBJECT_ID));
        }
        for s in &self.server {
            w.link(&Path::Instance(server::OBJECT_ID, s.id)).attr_uint("ssid", s.ssid as u64);
        }
        w.link(&Path::Instance(device::OBJECT_ID, 0));
    }

    /// Persistent form of the Security instances (TLV, object-instance level).
    pub fn encode_security(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for s in &self.security {
            let mut inner = Vec::new();
            tlv_resources(&mut inner, &s.values());
            tlv::write_nested(&mut out, TlvType::ObjectInstance, s.id, &inner);
        }
        out
    }

    /// Persistent form of the Server instances.
    pub fn encode_server(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for s in &self.server {
            let mut inner = Vec::new();
            tlv_resources(&mut inner, &s.values());
            tlv::write_nested(&mut out, TlvType::ObjectInstance, s.id, &inner);
        }
        out
    }

    /// Rebuild from the persistent forms; None if either does not decode.
    pub fn decode(security: &[u8], server: &[u8]) -> Option<Objects> {
        let mut o = Objects::default();
        write_object(&mut o.security, MAX_SECURITY_INSTANCES, &Path::Object(0), ContentFormat::Tlv, security, true).ok()?;
        write_object(&mut o.server, MAX_SERVER_INSTANCES, &Path::Object(1), ContentFormat::Tlv, server, true).ok()?;
        Some(o)
    }
}

fn push_instance(out: &mut Vec<u8>, wrap: bool, id: u16, inner: &[u8]) {
    if wrap {
        tlv::write_nested(out, TlvType::ObjectInstance, id, inner);
    } else {
        out.extend_from_slice(inner);
    }
}

fn encode_device_tlv(out: &mut Vec<u8>, id: u16, v: &ResourceValue) {
    match v {
        ResourceValue::Single(s) => tlv::write_value(out, TlvType::ResourceValue, id, s),
        ResourceValue::MultiInt(list) => {
            let mut inner = Vec::new();
            for (i, x) in list.iter().enumerate() {
                tlv::write_value(&mut inner, TlvType::ResourceInstance, i as u16, &Value::Int(*x));
            }
            tlv::write_nested(out, TlvType::MultipleResource, id, &inner);
        }
    }
}
