//! The object model: an LwM2M object is data plus a resource table
//! (OMA-TS-LightweightM2M-V1_0_2 §6.1, Appendix D). Generic code in
//! `objects::ops` turns operations on paths into calls of [`Object`] and
//! encodes the answers; an object only says what its resources are and how
//! to read, write and execute them.

use alloc::string::String;
use alloc::vec::Vec;

use crate::lwm2m::value::{ResourceType, Value};
use crate::objects::device::Device;

/// Operation bits of a resource (Appendix D "Operations").
pub const R: u8 = 1;
pub const W: u8 = 2;
pub const E: u8 = 4;
pub const RW: u8 = R | W;

/// Most instances of one object we list (Security 4, ACL 14 …).
pub const MAX_INSTANCES: usize = 16;

/// One row of an object's resource table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ResourceDef {
    pub id: u16,
    pub ty: ResourceType,
    pub ops: u8,
    pub multiple: bool,
}

impl ResourceDef {
    pub const fn single(id: u16, ty: ResourceType, ops: u8) -> ResourceDef {
        ResourceDef { id, ty, ops, multiple: false }
    }
    pub const fn multi(id: u16, ty: ResourceType, ops: u8) -> ResourceDef {
        ResourceDef { id, ty, ops, multiple: true }
    }
    pub const fn exec(id: u16) -> ResourceDef {
        ResourceDef { id, ty: ResourceType::None, ops: E, multiple: false }
    }
    pub fn readable(&self) -> bool {
        self.ops & R != 0
    }
    pub fn writable(&self) -> bool {
        self.ops & W != 0
    }
    pub fn executable(&self) -> bool {
        self.ops & E != 0
    }
}

/// Receives the value(s) of one resource: `ri` is None for a single
/// resource, the resource instance id for each instance of a multiple one.
/// Why an operation on an object was refused. The device-management
/// interface answers each with the CoAP code the TS gives for it (§5.4:
/// 4.00, 4.04, 4.05, 4.06, 4.13, 4.15, 5.00); the objects know nothing of
/// CoAP.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A malformed payload, a value out of range, a configuration that would not read back.
    BadRequest,
    /// No such object, instance, resource or resource instance.
    NotFound,
    /// The operation is not allowed on the target (read-only, not executable, ...).
    NotAllowed,
    /// The value cannot be given in the format asked for.
    NotAcceptable,
    /// More than a limit of `limits.rs` (values, instances, bytes).
    TooLarge,
    /// A payload format the client does not read.
    UnsupportedFormat,
    /// Out of room (instances) or an inconsistency of the client's own.
    Internal,
}

pub trait Sink {
    fn value(&mut self, ri: Option<u16>, v: &Value);
}

/// A value owned by a decoded write (payloads are decoded before they are applied).
#[derive(Clone, Debug, PartialEq)]
pub enum OwnedValue {
    Int(i64),
    Bool(bool),
    Str(String),
    Opaque(Vec<u8>),
    Time(i64),
    ObjLnk(u16, u16),
    Float(f64),
}

impl OwnedValue {
    pub fn from_value(v: &Value) -> OwnedValue {
        match *v {
            Value::Int(i) => OwnedValue::Int(i),
            Value::Bool(b) => OwnedValue::Bool(b),
            Value::Str(s) => OwnedValue::Str(String::from(s)),
            Value::Opaque(o) => OwnedValue::Opaque(o.to_vec()),
            Value::Time(t) => OwnedValue::Time(t),
            Value::ObjLnk(a, b) => OwnedValue::ObjLnk(a, b),
            Value::Float(f) => OwnedValue::Float(f),
        }
    }
    pub fn as_value(&self) -> Value<'_> {
        match self {
            OwnedValue::Int(i) => Value::Int(*i),
            OwnedValue::Bool(b) => Value::Bool(*b),
            OwnedValue::Str(s) => Value::Str(s),
            OwnedValue::Opaque(o) => Value::Opaque(o),
            OwnedValue::Time(t) => Value::Time(*t),
            OwnedValue::ObjLnk(a, b) => Value::ObjLnk(*a, *b),
            OwnedValue::Float(f) => Value::Float(*f),
        }
    }
}

/// What a write of one resource carries.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteValue<'a> {
    Single(&'a OwnedValue),
    /// All instances of a multiple resource, as (resource instance id, value).
    Multi(&'a [(u16, OwnedValue)]),
}

/// Write semantics (TS §5.4.3): PUT replaces, POST updates partially.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WriteMode {
    Replace,
    Update,
}

/// Something an Execute (or write) asks the client to do after answering.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    None,
    Reboot,
    FactoryReset,
    /// Registration Update Trigger on the server with this Short Server ID.
    UpdateTrigger(u16),
    /// Disable the server with this Short Server ID.
    Disable(u16),
    /// Bootstrap-Request Trigger.
    BootstrapTrigger,
    /// Server object values changed (lifetime …): persist, maybe update.
    ServerChanged,
}

/// The platform services objects need while answering a request: the
/// Device object values kept by the application's setters, the modem, and
/// the application's time and memory hooks. The driver implements it over
/// `lwm2m_os.h` (never under the shared lock); tests script it.
pub trait Env {
    /// Run `f` on the Device object values. Within one request every call
    /// sees the same snapshot, so a Read of /3/0 is consistent even while
    /// application threads call the setters.
    fn with_device(&mut self, f: &mut dyn FnMut(&mut Device));
    /// Change the Device object values (Execute /3/0/12).
    fn device_mut(&mut self, f: &mut dyn FnMut(&mut Device)) {
        self.with_device(f)
    }
    /// Send an AT command, returning its response text.
    fn at(&mut self, cmd: &str) -> Result<String, i32>;
    /// `lwm2m_carrier_memory_free_read()` (kB).
    fn memory_free(&mut self) -> i32;
    /// `lwm2m_carrier_utc_time_read()` (seconds since 1970).
    fn utc_time(&mut self) -> i32;
    /// `lwm2m_carrier_utc_offset_read()` (minutes).
    fn utc_offset(&mut self) -> i32;
    /// `lwm2m_carrier_timezone_read()`.
    fn timezone(&mut self) -> String;
    /// `lwm2m_carrier_utc_time_write()`; 0 or a negative errno.
    fn set_utc_time(&mut self, t: i32) -> i32;
    /// `lwm2m_carrier_utc_offset_write()`.
    fn set_utc_offset(&mut self, minutes: i32) -> i32;
    /// `lwm2m_carrier_timezone_write()`.
    fn set_timezone(&mut self, tz: &str) -> i32;
}

/// One LwM2M object.
pub trait Object {
    fn id(&self) -> u16;
    /// The resource table (resources this implementation supports).
    fn defs(&self) -> &'static [ResourceDef];
    /// Instance ids, ascending.
    fn instances(&self) -> heapless::Vec<u16, MAX_INSTANCES>;
    fn has_instance(&self, inst: u16) -> bool {
        self.instances().contains(&inst)
    }
    /// Read one resource of an instance into `out`. Only called for
    /// readable resources of existing instances.
    fn read(&self, env: &mut dyn Env, inst: u16, res: u16, out: &mut dyn Sink) -> Result<(), Error>;
    /// Write one resource. Only called for writable resources (or, from the
    /// bootstrap server, any resource) of existing instances.
    fn write(&mut self, _env: &mut dyn Env, _inst: u16, _res: u16, _v: &WriteValue, _mode: WriteMode) -> Result<Effect, Error> {
        Err(Error::NotAllowed)
    }
    /// Execute one resource with the arguments of the request payload.
    fn execute(&mut self, _env: &mut dyn Env, _inst: u16, _res: u16, _args: &[u8]) -> Result<Effect, Error> {
        Err(Error::NotAllowed)
    }
    /// A Write-Replace of instance `inst` is about to write its resources
    /// (TS §5.4.3: Replace replaces the whole instance): reset the writable
    /// resources the payload may leave out to their defaults.
    fn replace_instance(&mut self, _inst: u16) {}
    /// Create instance `inst` with default values (resources are written next).
    fn create(&mut self, _inst: u16) -> Result<(), Error> {
        Err(Error::NotAllowed)
    }
    /// Delete instance `inst`.
    fn delete(&mut self, _inst: u16) -> Result<(), Error> {
        Err(Error::NotAllowed)
    }
    /// Object version for the registration link (`ver=`), if not 1.0.
    fn version(&self) -> Option<&'static str> {
        None
    }
}

/// Sort a short id list in place (selection sort: a few bytes of code,
/// where the core sort costs two kilobytes of flash).
pub fn sort_ids(mut v: &mut [u16]) {
    // The smallest of the rest to the front, then sort the rest.
    while let Some((first, rest)) = v.split_first_mut() {
        for x in rest.iter_mut() {
            if *x < *first {
                core::mem::swap(first, x);
            }
        }
        v = rest;
    }
}

/// The instance list of a single-instance object: [0].
pub fn instance_zero() -> heapless::Vec<u16, MAX_INSTANCES> {
    let mut v = heapless::Vec::new();
    let _ = v.push(0);
    v
}

/// An instance of a multi-instance object kept in a `Vec`.
pub trait Instance {
    fn id(&self) -> u16;
}

/// Sorted ids of `list`.
pub fn ids_of<T: Instance>(list: &[T]) -> heapless::Vec<u16, MAX_INSTANCES> {
    let mut v: heapless::Vec<u16, MAX_INSTANCES> = list.iter().map(Instance::id).collect();
    sort_ids(&mut v);
    v
}

/// Add `new` unless `max` instances exist or its id is taken (5.00).
pub fn create_in<T: Instance>(list: &mut Vec<T>, max: usize, new: T) -> Result<(), Error> {
    if list.len() >= max || list.iter().any(|i| i.id() == new.id()) {
        return Err(Error::Internal);
    }
    list.push(new);
    Ok(())
}

/// Remove instance `inst` (4.04 when there is none).
pub fn delete_in<T: Instance>(list: &mut Vec<T>, inst: u16) -> Result<(), Error> {
    let n = list.len();
    list.retain(|i| i.id() != inst);
    if list.len() == n {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// Find the definition of `res` in `defs`.
pub fn def(defs: &[ResourceDef], res: u16) -> Option<&ResourceDef> {
    defs.iter().find(|d| d.id == res)
}

/// Convenience: a single value into a sink.
pub fn single(out: &mut dyn Sink, v: Value) -> Result<(), Error> {
    out.value(None, &v);
    Ok(())
}

/// Convenience: the integer of a single write.
pub fn int_of(v: &WriteValue) -> Result<i64, Error> {
    match v {
        WriteValue::Single(OwnedValue::Int(i)) => Ok(*i),
        _ => Err(Error::BadRequest),
    }
}

/// Convenience: the string of a single write.
pub fn str_of<'a>(v: &'a WriteValue) -> Result<&'a str, Error> {
    match v {
        WriteValue::Single(OwnedValue::Str(s)) => Ok(s),
        _ => Err(Error::BadRequest),
    }
}

/// An `Env` for objects that need none (Security, Server: persistence and
/// bootstrap). Everything platform-related answers as absent.
pub struct NoEnv;

impl Env for NoEnv {
    fn with_device(&mut self, _f: &mut dyn FnMut(&mut Device)) {}
    fn at(&mut self, _cmd: &str) -> Result<String, i32> {
        Err(-5)
    }
    fn memory_free(&mut self) -> i32 {
        0
    }
    fn utc_time(&mut self) -> i32 {
        0
    }
    fn utc_offset(&mut self) -> i32 {
        0
    }
    fn timezone(&mut self) -> String {
        String::new()
    }
    fn set_utc_time(&mut self, _t: i32) -> i32 {
        -22
    }
    fn set_utc_offset(&mut self, _m: i32) -> i32 {
        -22
    }
    fn set_timezone(&mut self, _tz: &str) -> i32 {
        -22
    }
}
