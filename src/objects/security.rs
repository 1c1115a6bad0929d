//! LwM2M Security object (id 0), OMA-TS-LightweightM2M-V1_0_2 Appendix E.1.
//! Written only by the bootstrap server (a DM server reading it gets 4.01).

use alloc::string::String;
use alloc::vec::Vec;

use crate::limits::{MAX_PSK_IDENTITY_LEN, MAX_PSK_KEY_LEN, MAX_URI_LEN};
use crate::lwm2m::value::{ResourceType, Value};

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
            (res::SHORT_SERVER_ID, Value::Int(i)) if (1..=65535).contains(i) => self.ssid = *i as u16,
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

    /// The resources kept, for persistence (TLV record) — never sent to a DM server.
    pub fn values(&self) -> [(u16, Value<'_>); 8] {
        [
            (res::URI, Value::Str(&self.uri)),
            (res::BOOTSTRAP_SERVER, Value::Bool(self.bootstrap)),
            (res::SECURITY_MODE, Value::Int(self.mode)),
            (res::PUBLIC_KEY_OR_IDENTITY, Value::Opaque(&self.identity)),
            (res::SECRET_KEY, Value::Opaque(&self.secret_key)),
            (res::SHORT_SERVER_ID, Value::Int(self.ssid as i64)),
            (res::CLIENT_HOLD_OFF_TIME, Value::Int(self.hold_off_s)),
            (res::BS_ACCOUNT_TIMEOUT, Value::Int(self.bs_account_timeout_s)),
        ]
    }
}
