//! Firmware Update object (id 5), OMA-TS-LightweightM2M-V1_0_2 Appendix E.6
//! (registry 5.xml, object version 1.0: resources 0–3 and 5–9), single
//! instance /5/0. Only the resources and the state the server sees live
//! here; downloading and applying an image (behaviour.md §7.12) is the FOTA
//! machinery's, which drives the `pub` fields.
//!
//! Rules:
//! - 0 Package (W, opaque): an empty value or a single NUL byte resets the
//!   state machine (E.6 State: State Idle, Update Result 0); any other
//!   package is accepted and discarded for now (no push delivery yet).
//! - 1 Package URI (RW string, 0..=255 bytes, E.6): stored. The empty string
//!   resets the state machine; another URI starts an update process, so
//!   Update Result goes back to 0 (E.6 Update Result: "Once the updating
//!   process is initiated … MUST be reset to Initial value"). Refused 4.00:
//!   longer than 255 bytes.
//! - 2 Update (E): "only executable when the value of the State Resource is
//!   Downloaded" (E.6); in any other state the Execute is refused with 4.05
//!   Method Not Allowed, the code TS §5.4.5 gives for a target that does
//!   not allow Execute. In Downloaded the State becomes Updating and
//!   `update_requested` is set for the FOTA machinery.
//! - 3 State (R, 0 Idle), 5 Update Result (R, 0), 6 PkgName and 7 PkgVersion
//!   (R, empty until the FOTA machinery knows them).
//! - 8 Firmware Update Protocol Support (R, multiple): [3] HTTPS 1.1, as the
//!   original (CoAP(S) pull is not implemented).
//! - 9 Firmware Update Delivery Method (R): 2, both push and pull.

use alloc::string::String;

use crate::objects::model::Error;
use crate::lwm2m::value::{ResourceType, Value};
use crate::objects::model::{
    single, str_of, Effect, Env, Object, OwnedValue, ResourceDef, Sink, WriteMode, WriteValue, MAX_INSTANCES, R, RW, W,
};

pub const OBJECT_ID: u16 = 5;

/// Resource ids of /5/0.
pub mod res {
    pub const PACKAGE: u16 = 0;
    pub const PACKAGE_URI: u16 = 1;
    pub const UPDATE: u16 = 2;
    pub const STATE: u16 = 3;
    pub const UPDATE_RESULT: u16 = 5;
    pub const PKG_NAME: u16 = 6;
    pub const PKG_VERSION: u16 = 7;
    pub const PROTOCOL_SUPPORT: u16 = 8;
    pub const DELIVERY_METHOD: u16 = 9;
}

/// Values of resource 3 State (E.6).
pub mod state {
    pub const IDLE: u8 = 0;
    pub const DOWNLOADING: u8 = 1;
    pub const DOWNLOADED: u8 = 2;
    pub const UPDATING: u8 = 3;
}

/// Values of resource 5 Update Result (E.6, LwM2M 1.0: 0..=9).
pub mod result {
    pub const INITIAL: u8 = 0;
    pub const SUCCESS: u8 = 1;
    pub const NOT_ENOUGH_STORAGE: u8 = 2;
    pub const OUT_OF_MEMORY: u8 = 3;
    pub const CONNECTION_LOST: u8 = 4;
    pub const INTEGRITY_CHECK_FAILURE: u8 = 5;
    pub const UNSUPPORTED_PACKAGE_TYPE: u8 = 6;
    pub const INVALID_URI: u8 = 7;
    pub const UPDATE_FAILED: u8 = 8;
    pub const UNSUPPORTED_PROTOCOL: u8 = 9;
}

/// Resource 8 value for HTTPS 1.1 (E.6).
pub const PROTOCOL_HTTPS: i64 = 3;
/// Resource 9 value: push and pull (E.6).
pub const DELIVERY_PUSH_AND_PULL: i64 = 2;
/// Longest Package URI (E.6 range 0..255 bytes).
pub const MAX_PACKAGE_URI_LEN: usize = 255;

/// Resource table (Appendix E.6).
const DEFS: &[ResourceDef] = &[
    ResourceDef::single(res::PACKAGE, ResourceType::Opaque, W),
    ResourceDef::single(res::PACKAGE_URI, ResourceType::Str, RW),
    ResourceDef::exec(res::UPDATE),
    ResourceDef::single(res::STATE, ResourceType::Int, R),
    ResourceDef::single(res::UPDATE_RESULT, ResourceType::Int, R),
    ResourceDef::single(res::PKG_NAME, ResourceType::Str, R),
    ResourceDef::single(res::PKG_VERSION, ResourceType::Str, R),
    ResourceDef::multi(res::PROTOCOL_SUPPORT, ResourceType::Int, R),
    ResourceDef::single(res::DELIVERY_METHOD, ResourceType::Int, R),
];

/// /5/0: what the server sees of a firmware update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirmwareObject {
    pub package_uri: String,
    /// Resource 3, one of [`state`].
    pub state: u8,
    /// Resource 5, one of [`result`].
    pub update_result: u8,
    pub pkg_name: String,
    pub pkg_version: String,
    /// Set by Execute /5/0/2 (in Downloaded); the FOTA machinery applies
    /// the image and clears it.
    pub update_requested: bool,
}

impl FirmwareObject {
    /// E.6 State: writing an empty Package URI or a NULL Package resets the
    /// state machine.
    pub fn reset(&mut self) {
        self.state = state::IDLE;
        self.update_result = result::INITIAL;
        self.update_requested = false;
    }
}

impl Object for FirmwareObject {
    fn id(&self) -> u16 {
        OBJECT_ID
    }
    fn defs(&self) -> &'static [ResourceDef] {
        DEFS
    }
    fn instances(&self) -> heapless::Vec<u16, MAX_INSTANCES> {
        crate::objects::model::instance_zero()
    }
    fn read(&self, _env: &mut dyn Env, _inst: u16, r: u16, out: &mut dyn Sink) -> Result<(), Error> {
        match r {
            res::PACKAGE_URI => single(out, Value::Str(&self.package_uri)),
            res::STATE => single(out, Value::Int(self.state as i64)),
            res::UPDATE_RESULT => single(out, Value::Int(self.update_result as i64)),
            res::PKG_NAME => single(out, Value::Str(&self.pkg_name)),
            res::PKG_VERSION => single(out, Value::Str(&self.pkg_version)),
            res::PROTOCOL_SUPPORT => {
                out.value(Some(0), &Value::Int(PROTOCOL_HTTPS));
                Ok(())
            }
            res::DELIVERY_METHOD => single(out, Value::Int(DELIVERY_PUSH_AND_PULL)),
            _ => Err(Error::NotAllowed),
        }
    }
    fn write(&mut self, _env: &mut dyn Env, _inst: u16, r: u16, v: &WriteValue, _mode: WriteMode) -> Result<Effect, Error> {
        match r {
            res::PACKAGE => {
                let WriteValue::Single(OwnedValue::Opaque(package)) = v else { return Err(Error::BadRequest) };
                if package.is_empty() || package.as_slice() == [0] {
                    self.reset();
                }
                Ok(Effect::None)
            }
            res::PACKAGE_URI => {
                let uri = str_of(v)?;
                if uri.len() > MAX_PACKAGE_URI_LEN {
                    return Err(Error::BadRequest);
                }
                self.package_uri = String::from(uri);
                if uri.is_empty() {
                    self.reset();
                } else {
                    self.update_result = result::INITIAL;
                }
                Ok(Effect::None)
            }
            _ => Err(Error::NotAllowed),
        }
    }
    fn execute(&mut self, _env: &mut dyn Env, _inst: u16, r: u16, _args: &[u8]) -> Result<Effect, Error> {
        if r != res::UPDATE || self.state != state::DOWNLOADED {
            return Err(Error::NotAllowed);
        }
        self.state = state::UPDATING;
        self.update_requested = true;
        Ok(Effect::None)
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::*;
    use crate::lwm2m::format::ContentFormat;
    use crate::lwm2m::path::Path;
    use crate::objects::conn_mon::test_env::ScriptedEnv;
    use crate::objects::ops::{self, Writer};

    fn write(obj: &mut FirmwareObject, path: Path, cf: ContentFormat, body: &[u8]) -> Result<Effect, Error> {
        ops::write(obj, &mut ScriptedEnv::default(), &path, cf, body, WriteMode::Replace, Writer::Server)
    }

    #[test]
    fn factory_instance_as_tlv_and_json() {
        let obj = FirmwareObject::default();
        let mut env = ScriptedEnv::default();
        let (cf, tlv) = ops::read(&obj, &mut env, &Path::Instance(5, 0), None).unwrap();
        assert_eq!(cf, ContentFormat::Tlv);
        // TS §6.4.3: empty strings are zero-length values; 0 Package (W) and
        // 2 Update (E) are not read.
        let want = [
            0xC0, 0x01, // 1 Package URI ""
            0xC1, 0x03, 0x00, // 3 State 0
            0xC1, 0x05, 0x00, // 5 Update Result 0
            0xC0, 0x06, 0xC0, 0x07, // 6, 7 ""
            0x83, 0x08, 0x41, 0x00, 0x03, // 8 [HTTPS]
            0xC1, 0x09, 0x02, // 9 push and pull
        ];
        assert_eq!(tlv, want);
        let (_, json) = ops::read(&obj, &mut env, &Path::Instance(5, 0), Some(ContentFormat::Json)).unwrap();
        assert_eq!(
            core::str::from_utf8(&json).unwrap(),
            "{\"bn\":\"/5/0/\",\"e\":[{\"n\":\"1\",\"sv\":\"\"},{\"n\":\"3\",\"v\":0},{\"n\":\"5\",\"v\":0},\
             {\"n\":\"6\",\"sv\":\"\"},{\"n\":\"7\",\"sv\":\"\"},{\"n\":\"8/0\",\"v\":3},{\"n\":\"9\",\"v\":2}]}"
        );
        let (cf, text) = ops::read(&obj, &mut env, &Path::Resource(5, 0, 9), None).unwrap();
        assert_eq!((cf, text.as_slice()), (ContentFormat::Text, &b"2"[..]));
    }

    #[test]
    fn package_uri_is_stored_and_bounded() {
        let mut obj = FirmwareObject { update_result: result::INVALID_URI, ..Default::default() };
        let uri = "https://fota.example.com/mfw_nrf9160_update_from_1.2.2_to_1.2.3.bin";
        assert_eq!(write(&mut obj, Path::Resource(5, 0, 1), ContentFormat::Text, uri.as_bytes()), Ok(Effect::None));
        assert_eq!(obj.package_uri, uri);
        assert_eq!(obj.update_result, result::INITIAL, "a new URI starts a new process");
        let (_, got) = ops::read(&obj, &mut ScriptedEnv::default(), &Path::Resource(5, 0, 1), None).unwrap();
        assert_eq!(got, uri.as_bytes());
        let max: Vec<u8> = core::iter::repeat_n(b'a', MAX_PACKAGE_URI_LEN).collect();
        assert_eq!(write(&mut obj, Path::Resource(5, 0, 1), ContentFormat::Text, &max), Ok(Effect::None));
        let long: Vec<u8> = core::iter::repeat_n(b'a', MAX_PACKAGE_URI_LEN + 1).collect();
        assert_eq!(write(&mut obj, Path::Resource(5, 0, 1), ContentFormat::Text, &long), Err(Error::BadRequest));
        assert_eq!(obj.package_uri.len(), MAX_PACKAGE_URI_LEN, "unchanged by the refused write");
        assert_eq!(write(&mut obj, Path::Resource(5, 0, 1), ContentFormat::Text, b"\xff"), Err(Error::BadRequest));
    }

    #[test]
    fn empty_uri_or_null_package_resets_the_state_machine() {
        let downloaded = FirmwareObject {
            package_uri: "https://x/y".into(),
            state: state::DOWNLOADED,
            update_result: result::CONNECTION_LOST,
            ..Default::default()
        };
        let mut obj = downloaded.clone();
        assert_eq!(write(&mut obj, Path::Resource(5, 0, 1), ContentFormat::Text, b""), Ok(Effect::None));
        assert_eq!((obj.state, obj.update_result, obj.package_uri.as_str()), (state::IDLE, 0, ""));
        let mut obj = downloaded.clone();
        assert_eq!(write(&mut obj, Path::Resource(5, 0, 0), ContentFormat::Opaque, &[0]), Ok(Effect::None));
        assert_eq!((obj.state, obj.update_result), (state::IDLE, 0));
        let mut obj = downloaded.clone();
        assert_eq!(write(&mut obj, Path::Resource(5, 0, 0), ContentFormat::Opaque, b""), Ok(Effect::None));
        assert_eq!(obj.state, state::IDLE);
    }

    #[test]
    fn a_package_is_accepted_and_discarded() {
        let mut obj = FirmwareObject::default();
        assert_eq!(write(&mut obj, Path::Resource(5, 0, 0), ContentFormat::Opaque, &[1, 2, 3, 4]), Ok(Effect::None));
        assert_eq!(obj, FirmwareObject::default());
        // TLV on the resource (0xC4: 4-byte opaque value).
        assert_eq!(write(&mut obj, Path::Resource(5, 0, 0), ContentFormat::Tlv, &[0xC4, 0x00, 1, 2, 3, 4]), Ok(Effect::None));
        assert_eq!(write(&mut obj, Path::Resource(5, 0, 0), ContentFormat::Text, b"abc"), Err(Error::UnsupportedFormat));
        assert_eq!(ops::read(&obj, &mut ScriptedEnv::default(), &Path::Resource(5, 0, 0), None), Err(Error::NotAllowed));
    }

    #[test]
    fn update_only_when_downloaded() {
        let mut env = ScriptedEnv::default();
        let update = Path::Resource(5, 0, 2);
        for s in [state::IDLE, state::DOWNLOADING, state::UPDATING] {
            let mut obj = FirmwareObject { state: s, ..Default::default() };
            assert_eq!(ops::execute(&mut obj, &mut env, &update, b""), Err(Error::NotAllowed), "state {s}");
            assert!(!obj.update_requested);
        }
        let mut obj = FirmwareObject { state: state::DOWNLOADED, ..Default::default() };
        assert_eq!(ops::execute(&mut obj, &mut env, &update, b""), Ok(Effect::None));
        assert_eq!((obj.state, obj.update_requested), (state::UPDATING, true));
        assert_eq!(ops::execute(&mut obj, &mut env, &Path::Resource(5, 0, 3), b""), Err(Error::NotAllowed));
    }

    #[test]
    fn read_only_resources_refuse_writes() {
        let mut obj = FirmwareObject::default();
        for r in [3, 5, 6, 7, 9] {
            assert_eq!(write(&mut obj, Path::Resource(5, 0, r), ContentFormat::Text, b"1"), Err(Error::NotAllowed), "/5/0/{r}");
        }
        assert_eq!(write(&mut obj, Path::Resource(5, 0, 4), ContentFormat::Text, b"1"), Err(Error::NotFound));
        assert_eq!(write(&mut obj, Path::Instance(5, 1), ContentFormat::Tlv, &[0xC0, 0x01]), Err(Error::NotFound));
    }
}
