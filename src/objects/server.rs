//! LwM2M Server object (id 1), OMA-TS-LightweightM2M-V1_0_2 Appendix E.2.

use alloc::string::String;

use super::security::WriteError;
use crate::objects::model::Error;
use crate::lwm2m::value::{ResourceType, Value};
use crate::objects::model::{single, Effect, Env, Object, OwnedValue, ResourceDef, Sink, WriteMode, WriteValue, MAX_INSTANCES, R, RW};

pub const OBJECT_ID: u16 = 1;

pub mod res {
    pub const SHORT_SERVER_ID: u16 = 0;
    pub const LIFETIME: u16 = 1;
    pub const DEFAULT_MIN_PERIOD: u16 = 2;
    pub const DEFAULT_MAX_PERIOD: u16 = 3;
    pub const DISABLE: u16 = 4;
    pub const DISABLE_TIMEOUT: u16 = 5;
    pub const NOTIFICATION_STORING: u16 = 6;
    pub const BINDING: u16 = 7;
    pub const REGISTRATION_UPDATE_TRIGGER: u16 = 8;
    /// LwM2M 1.1 resource, supported as the original does.
    pub const BOOTSTRAP_REQUEST_TRIGGER: u16 = 9;
}

/// Shortest lifetime accepted (a shorter one would make the client update
/// more often than it can be answered: Update is sent 4 s early).
pub const MIN_LIFETIME_S: i64 = 10;

/// One Server object instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInstance {
    pub id: u16,
    pub ssid: u16,
    pub lifetime_s: u32,
    pub default_pmin_s: u32,
    pub default_pmax_s: u32,
    pub disable_timeout_s: u32,
    pub notification_storing: bool,
    pub binding: String,
}

impl ServerInstance {
    pub fn new(id: u16) -> Self {
        ServerInstance {
            id,
            ssid: 0,
            lifetime_s: 86_400,
            default_pmin_s: 0,
            default_pmax_s: 0,
            disable_timeout_s: 86_400,
            notification_storing: true,
            binding: String::from("U"),
        }
    }

    pub fn resource_type(res: u16) -> Option<ResourceType> {
        Some(match res {
            res::SHORT_SERVER_ID
            | res::LIFETIME
            | res::DEFAULT_MIN_PERIOD
            | res::DEFAULT_MAX_PERIOD
            | res::DISABLE_TIMEOUT => ResourceType::Int,
            res::NOTIFICATION_STORING => ResourceType::Bool,
            res::BINDING => ResourceType::Str,
            res::DISABLE | res::REGISTRATION_UPDATE_TRIGGER | res::BOOTSTRAP_REQUEST_TRIGGER => ResourceType::None,
            _ => return None,
        })
    }

    fn u32_in(v: &Value, min: i64) -> Option<u32> {
        match v {
            Value::Int(i) if *i >= min && *i <= u32::MAX as i64 => Some(*i as u32),
            _ => None,
        }
    }

    pub fn set(&mut self, res: u16, v: &Value) -> Result<(), WriteError> {
        let bad = WriteError::BadValue;
        match res {
            res::SHORT_SERVER_ID => match v {
                Value::Int(i) if (1..=65534).contains(i) => self.ssid = *i as u16,
                _ => return Err(bad),
            },
            res::LIFETIME => self.lifetime_s = Self::u32_in(v, MIN_LIFETIME_S).ok_or(bad)?,
            res::DEFAULT_MIN_PERIOD => self.default_pmin_s = Self::u32_in(v, 0).ok_or(bad)?,
            res::DEFAULT_MAX_PERIOD => self.default_pmax_s = Self::u32_in(v, 0).ok_or(bad)?,
            res::DISABLE_TIMEOUT => self.disable_timeout_s = Self::u32_in(v, 0).ok_or(bad)?,
            res::NOTIFICATION_STORING => match v {
                Value::Bool(b) => self.notification_storing = *b,
                _ => return Err(bad),
            },
            res::BINDING => match v {
                Value::Str(s) if !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b"UQS".contains(&b)) => {
                    self.binding = String::from(*s)
                }
                _ => return Err(bad),
            },
            _ => return Err(WriteError::NotFound),
        }
        Ok(())
    }

}

/// Resource table (Appendix E.2; resource 9 from 1.1).
const DEFS: &[ResourceDef] = &[
    ResourceDef::single(res::SHORT_SERVER_ID, ResourceType::Int, R),
    ResourceDef::single(res::LIFETIME, ResourceType::Int, RW),
    ResourceDef::single(res::DEFAULT_MIN_PERIOD, ResourceType::Int, RW),
    ResourceDef::single(res::DEFAULT_MAX_PERIOD, ResourceType::Int, RW),
    ResourceDef::exec(res::DISABLE),
    ResourceDef::single(res::DISABLE_TIMEOUT, ResourceType::Int, RW),
    ResourceDef::single(res::NOTIFICATION_STORING, ResourceType::Bool, RW),
    ResourceDef::single(res::BINDING, ResourceType::Str, RW),
    ResourceDef::exec(res::REGISTRATION_UPDATE_TRIGGER),
    ResourceDef::exec(res::BOOTSTRAP_REQUEST_TRIGGER),
];

/// The Server object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerObject {
    pub instances: alloc::vec::Vec<ServerInstance>,
}

impl ServerObject {
    pub fn get(&self, inst: u16) -> Option<&ServerInstance> {
        self.instances.iter().find(|s| s.id == inst)
    }
    pub fn by_ssid(&self, ssid: u16) -> Option<&ServerInstance> {
        self.instances.iter().find(|s| s.ssid == ssid)
    }
}

impl Object for ServerObject {
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
        let s = self.get(inst).ok_or(Error::NotFound)?;
        single(
            out,
            match r {
                res::SHORT_SERVER_ID => Value::Int(s.ssid as i64),
                res::LIFETIME => Value::Int(s.lifetime_s as i64),
                res::DEFAULT_MIN_PERIOD => Value::Int(s.default_pmin_s as i64),
                res::DEFAULT_MAX_PERIOD => Value::Int(s.default_pmax_s as i64),
                res::DISABLE_TIMEOUT => Value::Int(s.disable_timeout_s as i64),
                res::NOTIFICATION_STORING => Value::Bool(s.notification_storing),
                res::BINDING => Value::Str(&s.binding),
                _ => return Err(Error::NotAllowed),
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
        Ok(Effect::ServerChanged)
    }
    fn execute(&mut self, _env: &mut dyn Env, inst: u16, r: u16, _args: &[u8]) -> Result<Effect, Error> {
        let s = self.get(inst).ok_or(Error::NotFound)?;
        match r {
            res::DISABLE => Ok(Effect::Disable(s.ssid)),
            res::REGISTRATION_UPDATE_TRIGGER => Ok(Effect::UpdateTrigger(s.ssid)),
            res::BOOTSTRAP_REQUEST_TRIGGER => Ok(Effect::BootstrapTrigger),
            _ => Err(Error::NotAllowed),
        }
    }
    fn replace_instance(&mut self, inst: u16) {
        if let Some(s) = self.instances.iter_mut().find(|s| s.id == inst) {
            let ssid = s.ssid;
            *s = ServerInstance::new(inst);
            s.ssid = ssid;
        }
    }
    fn create(&mut self, inst: u16) -> Result<(), Error> {
        crate::objects::model::create_in(&mut self.instances, crate::limits::MAX_SERVER_INSTANCES, ServerInstance::new(inst))
    }
    fn delete(&mut self, inst: u16) -> Result<(), Error> {
        crate::objects::model::delete_in(&mut self.instances, inst)
    }
}

impl crate::objects::model::Instance for ServerInstance {
    fn id(&self) -> u16 {
        self.id
    }
}
