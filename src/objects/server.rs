//! LwM2M Server object (id 1), OMA-TS-LightweightM2M-V1_0_2 Appendix E.2.

use alloc::string::String;

use super::security::WriteError;
use crate::lwm2m::value::{ResourceType, Value};

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
            res::DISABLE | res::REGISTRATION_UPDATE_TRIGGER => ResourceType::None,
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

    /// Readable resources, in id order.
    pub fn values(&self) -> [(u16, Value<'_>); 7] {
        [
            (res::SHORT_SERVER_ID, Value::Int(self.ssid as i64)),
            (res::LIFETIME, Value::Int(self.lifetime_s as i64)),
            (res::DEFAULT_MIN_PERIOD, Value::Int(self.default_pmin_s as i64)),
            (res::DEFAULT_MAX_PERIOD, Value::Int(self.default_pmax_s as i64)),
            (res::DISABLE_TIMEOUT, Value::Int(self.disable_timeout_s as i64)),
            (res::NOTIFICATION_STORING, Value::Bool(self.notification_storing)),
            (res::BINDING, Value::Str(&self.binding)),
        ]
    }
}
