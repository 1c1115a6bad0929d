//! LwM2M Security object (id 0), OMA-TS-LightweightM2M-V1_0_2 Appendix E.1.
//! Written only by the bootstrap server (a DM server reading it gets 4.01).

use alloc::string::String;
use alloc::vec::Vec;

use crate::limits::{MAX_PSK_IDENTITY_LEN, MAX_PSK_KEY_LEN, MAX_URI_LEN};
use crate::objects::model::Error;
use crate::lwm2m::value::{ResourceType, Value};
use crate::objects::model::{single, Effect, Env, Object, OwnedValue, ResourceDef, Sink, WriteMode, WriteValue, MAX_INSTANCES, RW};

pub const OBJECT_ID: u16 = 0;

pub mod res {
    pub const URI: u16 = 0;
    pub const BOOTSTRAP_SERVER: u16 = 1;
    pub const SECURITY_MODE: u16 = 2;
    pub const PUBLIC_KEY_OR_IDENTITY: u16 = 3;
    pub const SERVER_PUBLIC_KEY: u16 = 4;
    pub const SECRET_KEY: u16 = 5;
    pub const SMS_SECURITY_MODE: u16 = 6;
    pub const SMS_BINDING_KEY_PARAMS: u16 = 7;
    pub const SMS_BINDING_SECRET_KEYS: u16 = 8;
    pub const SERVER_SMS_NUMBER: u16 = 9;
    pub const SHORT_SERVER_ID: u16 = 10;
    pub const CLIENT_HOLD_OFF_TIME: u16 = 11;
    pub const BS_ACCOUNT_TIMEOUT: u16 = 12;
}

/// Security Mode values (Appendix E.1, resource 2).
pub mod mode {
    pub const PSK: i64 = 0;
    pub const NO_SEC: i64 = 3;
}

/// One Security object instance.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityInstance {
    pub id: u16,
    pub uri: String,
    pub bootstrap: bool,
    pub mode: i64,
    pub identity: Vec<u8>,
    pub secret_key: Vec<u8>,
    pub ssid: u16,
    pub hold_off_s: i64,
    pub bs_account_timeout_s: i64,
}

/// Why a write was refused (the caller maps it to a CoAP code).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// Unknown resource (4.04).
    NotFound,
    /// Value of the wrong type or out of range (4.00).
    BadValue,
}

impl SecurityInstance {
    pub fn new(id: u16) -> Self {
        SecurityInstance { id, mode: mode::NO_SEC, ..Default::default() }
    }

    /// Type of resource `res`, for decoding a write. SMS resources are
    /// accepted and ignored (the library has no SMS binding keys).
    pub fn resource_type(res: u16) -> Option<ResourceType> {
        Some(match res {
            res::URI | res::SERVER_SMS_NUMBER => ResourceType::Str,
            res::BOOTSTRAP_SERVER => ResourceType::Bool,
            res::SECURITY_MODE
            | res::SMS_SECURITY_MODE
            | res::SHORT_SERVER_ID
            | res::CLIENT_HOLD_OFF_TIME
            | res::BS_ACCOUNT_TIMEOUT => ResourceType::Int,
            res::PUBLIC_KEY_OR_IDENTITY
            | res::SERVER_PUBLIC_KEY
            | res::SECRET_KEY
            | res::SMS_BINDING_KEY_PARAMS
            | res::SMS_BINDING_SECRET_KEYS => ResourceType::Opaque,
            _ => return None,
        })
    }

    /// Set one resource from a decoded value (bounded lengths).
    pub fn set(&mut self, res: u16, v: &Value) -> Result<(), WriteError> {
        match (res, v) {
            (res::URI, Value::Str(s)) if s.len() <= MAX_URI_LEN => self.uri = String::from(*s),
            (res::BOOTSTRAP_SERVER, Value::Bool(b)) => self.bootstrap = *b,
            (res::SECURITY_MODE, Value::Int(m)) if (0..=4).contains(m) => self.mode = *m,
            (res::PUBLIC_KEY_OR_IDENTITY, Value::Opaque(b)) if b.len() <= MAX_PSK_IDENTITY_LEN => {
                self.identity = b.to_vec()
            }
            (res::SECRET_KEY, Value::Opaque(b)) if b.len() <= MAX_PSK_KEY_LEN => self.secret_key = b.to_vec(),
            // 0..=65535 on write: the bootstrap account's Short Server ID has
            // no meaning (a bootstrap server may write 0); server accounts are
            // checked for 1..=65534 at Bootstrap-Finish (TS 1.0.2 E.1).
            (res::SHORT_SERVER_ID, Value::Int(i)) if (0..=65535).contains(i) => self.ssid = *i as u16,
            (res::CLIENT_HOLD_OFF_TIME, Value::Int(i)) if *i >= 0 => self.hold_off_s = *i,
            (res::BS_ACCOUNT_TIMEOUT, Value::Int(i)) if *i >= 0 => self.bs_account_timeout_s = *i,
            (
                res::SERVER_PUBLIC_KEY
                | res::SMS_SECURITY_MODE
                | res::SMS_BINDING_KEY_PARAMS
                | res::SMS_BINDING_SECRET_KEYS
                | res::SERVER_SMS_NUMBER,
                _,
            ) => {}
            (r, _) if Self::resource_type(r).is_none() => return Err(WriteError::NotFound),
            _ => return Err(WriteError::BadValue),
        }
        Ok(())
    }
}

/// Resource table (Appendix E.1). All RW for the bootstrap server; a DM
/// server never reaches this object (4.01, enforced by the engine).
const DEFS: &[ResourceDef] = &[
    ResourceDef::single(res::URI, ResourceType::Str, RW),
    ResourceDef::single(res::BOOTSTRAP_SERVER, ResourceType::Bool, RW),
    ResourceDef::single(res::SECURITY_MODE, ResourceType::Int, RW),
    ResourceDef::single(res::PUBLIC_KEY_OR_IDENTITY, ResourceType::Opaque, RW),
    ResourceDef::single(res::SERVER_PUBLIC_KEY, ResourceType::Opaque, crate::objects::model::W),
    ResourceDef::single(res::SECRET_KEY, ResourceType::Opaque, RW),
    ResourceDef::single(res::SMS_SECURITY_MODE, ResourceType::Int, crate::objects::model::W),
    ResourceDef::single(res::SMS_BINDING_KEY_PARAMS, ResourceType::Opaque, crate::objects::model::W),
    ResourceDef::single(res::SMS_BINDING_SECRET_KEYS, ResourceType::Opaque, crate::objects::model::W),
    ResourceDef::single(res::SERVER_SMS_NUMBER, ResourceType::Str, crate::objects::model::W),
    ResourceDef::single(res::SHORT_SERVER_ID, ResourceType::Int, RW),
    ResourceDef::single(res::CLIENT_HOLD_OFF_TIME, ResourceType::Int, RW),
    ResourceDef::single(res::BS_ACCOUNT_TIMEOUT, ResourceType::Int, RW),
];

/// The Security object: up to `MAX_SECURITY_INSTANCES` accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityObject {
    pub instances: alloc::vec::Vec<SecurityInstance>,
}

impl SecurityObject {
    fn get(&self, inst: u16) -> Result<&SecurityInstance, Error> {
        self.instances.iter().find(|s| s.id == inst).ok_or(Error::NotFound)
    }
}

impl Object for SecurityObject {
    fn id(&self) -> u16 {
        OBJECT_ID
    }
    fn defs(&self) -> &'static [ResourceDef] {
        DEFS
    }
    fn instances(&self) -> heapless::Vec<u16, MAX_INSTANCES> {
        crate::objects::model::ids_of(&self.instances)
    }
    fn read(&self, _env: &mut dyn Env, inst: u16, r: u16, out: &mut dyn Sink) -> Result<(), Error> {
        let s = self.get(inst)?;
        single(
            out,
            match r {
                res::URI => Value::Str(&s.uri),
                res::BOOTSTRAP_SERVER => Value::Bool(s.bootstrap),
                res::SECURITY_MODE => Value::Int(s.mode),
                res::PUBLIC_KEY_OR_IDENTITY => Value::Opaque(&s.identity),
                res::SECRET_KEY => Value::Opaque(&s.secret_key),
                res::SHORT_SERVER_ID => Value::Int(s.ssid as i64),
                res::CLIENT_HOLD_OFF_TIME => Value::Int(s.hold_off_s),
                res::BS_ACCOUNT_TIMEOUT => Value::Int(s.bs_account_timeout_s),
                _ => return Err(Error::NotFound),
            },
        )
    }
    fn write(&mut self, _env: &mut dyn Env, inst: u16, r: u16, v: &WriteValue, _mode: WriteMode) -> Result<Effect, Error> {
        let WriteValue::Single(v) = v else { return Err(Error::BadRequest) };
        let s = self.instances.iter_mut().find(|s| s.id == inst).ok_or(Error::NotFound)?;
        s.set(r, &OwnedValue::as_value(v)).map_err(|e| match e {
            WriteError::NotFound => Error::NotFound,
            WriteError::BadValue => Error::BadRequest,
        })?;
        Ok(Effect::None)
    }
    fn create(&mut self, inst: u16) -> Result<(), Error> {
        crate::objects::model::create_in(&mut self.instances, crate::limits::MAX_SECURITY_INSTANCES, SecurityInstance::new(inst))
    }
    fn delete(&mut self, inst: u16) -> Result<(), Error> {
        crate::objects::model::delete_in(&mut self.instances, inst)
    }
}

impl crate::objects::model::Instance for SecurityInstance {
    fn id(&self) -> u16 {
        self.id
    }
}
