//! Connectivity Monitoring object (id 4), OMA-TS-LightweightM2M-V1_0_2
//! Appendix E.5 (registry 4.xml, object version 1.0), single instance /4/0,
//! every resource read-only (writes are refused 4.05 by `objects::ops`).
//!
//! Values come from the modem at read time (behaviour.md §7.11):
//! - 0 Network Bearer: always 6 (LTE-FDD); 1 Available Network Bearer: [6].
//! - 2 Radio Signal Strength (dBm): `AT+CESQ` RSRP index n → −141+n.
//! - 3 Link Quality: the `AT+CESQ` RSRQ index 0..=34 as the modem reports
//!   it (TS 27.007 §8.69: −20 dB + n × 0.5 dB). The TS describes Link
//!   Quality as the bearer's raw measurement-report value (LQI, RxQual), and
//!   behaviour.md gives no other mapping for the original, so the index is
//!   passed through unchanged.
//! - 4 IP Addresses: `AT+CGPADDR=0`, the IPv4 and IPv6 address in the order
//!   the modem gives them.
//! - 7 APN: `AT+CGDCONT?`, the APN of context 0 (one instance).
//! - 8 Cell ID: `AT+CEREG?`, the hex cell id as an integer.
//! - 9 SMNC, 10 SMCC: `AT+COPS?` numeric PLMN (MNC and MCC). The original
//!   stored the MCC in SMNC and the MNC in SMCC; this one does not swap them.
//!
//! When the modem does not answer or the answer does not parse, the
//! mandatory resources read as defaults: Radio Signal Strength 0 (outside
//! the LTE RSRP range −141..=−44 dBm, so it reads as "unknown"), IP Addresses
//! with no instances. The optional ones (3, 7, 8, 9, 10) are then absent:
//! left out of instance reads, 4.04 Not Found when read alone. Resources 0
//! and 1 never need the modem, so a read always has something to answer
//! and this object never answers 5.00.

use alloc::string::String;

use crate::objects::model::Error;
use crate::lwm2m::value::{ResourceType, Value};
use crate::modem::info::{self, cmd};
use crate::objects::model::{single, Env, Object, ResourceDef, Sink, MAX_INSTANCES, R};

pub const OBJECT_ID: u16 = 4;

/// Resource ids of /4/0.
pub mod res {
    pub const NETWORK_BEARER: u16 = 0;
    pub const AVAILABLE_NETWORK_BEARER: u16 = 1;
    pub const RADIO_SIGNAL_STRENGTH: u16 = 2;
    pub const LINK_QUALITY: u16 = 3;
    pub const IP_ADDRESSES: u16 = 4;
    pub const APN: u16 = 7;
    pub const CELL_ID: u16 = 8;
    pub const SMNC: u16 = 9;
    pub const SMCC: u16 = 10;
}

/// Network Bearer value of LTE-FDD (Appendix E.5, resource 0).
pub const BEARER_LTE_FDD: i64 = 6;

/// Radio Signal Strength when the modem cannot tell (see the module doc).
pub const UNKNOWN_SIGNAL_STRENGTH: i64 = 0;

/// Resource table (Appendix E.5; 5 Router IP Addresses and 6 Link
/// Utilization are optional and not known to the modem).
const DEFS: &[ResourceDef] = &[
    ResourceDef::single(res::NETWORK_BEARER, ResourceType::Int, R),
    ResourceDef::multi(res::AVAILABLE_NETWORK_BEARER, ResourceType::Int, R),
    ResourceDef::single(res::RADIO_SIGNAL_STRENGTH, ResourceType::Int, R),
    ResourceDef::single(res::LINK_QUALITY, ResourceType::Int, R),
    ResourceDef::multi(res::IP_ADDRESSES, ResourceType::Str, R),
    ResourceDef::multi(res::APN, ResourceType::Str, R),
    ResourceDef::single(res::CELL_ID, ResourceType::Int, R),
    ResourceDef::single(res::SMNC, ResourceType::Int, R),
    ResourceDef::single(res::SMCC, ResourceType::Int, R),
];

/// The Connectivity Monitoring object: no state, everything is read from
/// the modem through [`Env::at`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnMonObject;

/// The response to `cmd`, or an empty text when the command failed (every
/// parser then answers `None`).
fn ask(env: &mut dyn Env, cmd: &str) -> String {
    env.at(cmd).unwrap_or_default()
}

impl Object for ConnMonObject {
    fn id(&self) -> u16 {
        OBJECT_ID
    }
    fn defs(&self) -> &'static [ResourceDef] {
        DEFS
    }
    fn instances(&self) -> heapless::Vec<u16, MAX_INSTANCES> {
        crate::objects::model::instance_zero()
    }
    fn read(&self, env: &mut dyn Env, _inst: u16, r: u16, out: &mut dyn Sink) -> Result<(), Error> {
        match r {
            res::NETWORK_BEARER => single(out, Value::Int(BEARER_LTE_FDD)),
            res::AVAILABLE_NETWORK_BEARER => {
                out.value(Some(0), &Value::Int(BEARER_LTE_FDD));
                Ok(())
            }
            res::RADIO_SIGNAL_STRENGTH => {
                let rsrp = info::parse_cesq(&ask(env, cmd::CESQ)).and_then(|q| q.rsrp);
                single(out, Value::Int(rsrp.map_or(UNKNOWN_SIGNAL_STRENGTH, |n| info::rsrp_dbm(n) as i64)))
            }
            res::LINK_QUALITY => {
                if let Some(rsrq) = info::parse_cesq(&ask(env, cmd::CESQ)).and_then(|q| q.rsrq) {
                    out.value(None, &Value::Int(rsrq as i64));
                }
                Ok(())
            }
            res::IP_ADDRESSES => {
                let resp = ask(env, cmd::CGPADDR);
                for (i, a) in info::parse_cgpaddr(&resp).unwrap_or_default().iter().enumerate() {
                    out.value(Some(i as u16), &Value::Str(a));
                }
                Ok(())
            }
            res::APN => {
                let resp = ask(env, cmd::CGDCONT);
                if let Some(apn) = info::parse_cgdcont_apn(&resp) {
                    out.value(Some(0), &Value::Str(apn));
                }
                Ok(())
            }
            res::CELL_ID => {
                if let Some(ci) = info::parse_cereg_cell_id(&ask(env, cmd::CEREG_READ)) {
                    out.value(None, &Value::Int(ci as i64));
                }
                Ok(())
            }
            res::SMNC | res::SMCC => {
                if let Some(p) = info::parse_cops(&ask(env, cmd::COPS)) {
                    let v = if r == res::SMNC { p.mnc } else { p.mcc };
                    out.value(None, &Value::Int(v as i64));
                }
                Ok(())
            }
            _ => Err(Error::NotFound),
        }
    }
}

/// A scripted [`Env`] for the object tests of this and the sibling modules:
/// AT answers by command, and a log of the commands sent.
#[cfg(test)]
pub(crate) mod test_env {
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;

    use crate::objects::device::Device;
    use crate::objects::model::Env;

    #[derive(Default)]
    pub struct ScriptedEnv {
        pub answers: Vec<(&'static str, Result<String, i32>)>,
        pub sent: Vec<String>,
    }

    impl ScriptedEnv {
        pub fn new(answers: &[(&'static str, Result<&str, i32>)]) -> Self {
            ScriptedEnv {
                answers: answers.iter().map(|(c, r)| (*c, r.map(|s| s.to_string()))).collect(),
                sent: Vec::new(),
            }
        }
    }

    impl Env for ScriptedEnv {
        fn with_device(&mut self, _f: &mut dyn FnMut(&mut Device)) {}
        fn at(&mut self, cmd: &str) -> Result<String, i32> {
            self.sent.push(cmd.to_string());
            self.answers.iter().find(|(c, _)| *c == cmd).map_or(Err(-8), |(_, r)| r.clone())
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
}

#[cfg(test)]
mod tests {
    use super::test_env::ScriptedEnv;
    use super::*;
    use crate::lwm2m::format::ContentFormat;
    use crate::lwm2m::path::Path;
    use crate::objects::model::WriteMode;
    use crate::objects::ops::{self, Writer};

    /// The answers of a registered modem (the host simulator's defaults).
    fn modem() -> ScriptedEnv {
        ScriptedEnv::new(&[
            (cmd::CESQ, Ok("+CESQ: 99,99,255,255,31,62")),
            (cmd::CGPADDR, Ok("+CGPADDR: 0,\"10.0.0.2\",\"2001:db8::2\"")),
            (cmd::CGDCONT, Ok("+CGDCONT: 0,\"IP\",\"internet\",\"10.0.0.2\",0,0")),
            (cmd::CEREG_READ, Ok("+CEREG: 2,1,\"0A0B\",\"01020304\",7")),
            (cmd::COPS, Ok("+COPS: 0,2,\"24201\",7")),
        ])
    }

    fn read(env: &mut ScriptedEnv, path: &str, accept: Option<ContentFormat>) -> Result<(ContentFormat, Vec<u8>), Error> {
        let p = Path::parse(path.trim_start_matches('/').split('/').map(str::as_bytes)).unwrap();
        ops::read(&ConnMonObject, env, &p, accept)
    }

    fn text(env: &mut ScriptedEnv, path: &str) -> Result<String, Error> {
        read(env, path, None).map(|(cf, b)| {
            assert_eq!(cf, ContentFormat::Text);
            String::from_utf8(b).unwrap()
        })
    }

    #[test]
    fn single_resources_as_text() {
        let mut env = modem();
        assert_eq!(text(&mut env, "/4/0/0").as_deref(), Ok("6"));
        assert_eq!(text(&mut env, "/4/0/2").as_deref(), Ok("-79"));
        assert_eq!(text(&mut env, "/4/0/3").as_deref(), Ok("31"));
        assert_eq!(text(&mut env, "/4/0/4/1").as_deref(), Ok("2001:db8::2"));
        assert_eq!(text(&mut env, "/4/0/7/0").as_deref(), Ok("internet"));
        assert_eq!(text(&mut env, "/4/0/8").as_deref(), Ok("16909060"));
        assert_eq!(text(&mut env, "/4/0/9").as_deref(), Ok("1"), "SMNC is the MNC (01)");
        assert_eq!(text(&mut env, "/4/0/10").as_deref(), Ok("242"), "SMCC is the MCC");
        assert_eq!(env.sent, [cmd::CESQ, cmd::CESQ, cmd::CGPADDR, cmd::CGDCONT, cmd::CEREG_READ, cmd::COPS, cmd::COPS]);
    }

    #[test]
    fn instance_as_tlv() {
        let mut env = modem();
        let (cf, body) = read(&mut env, "/4/0", None).unwrap();
        assert_eq!(cf, ContentFormat::Tlv);
        // OMA-TLV (TS §6.4.3): type byte, id, length, value; integers in
        // the fewest of 1/2/4/8 bytes; multiple resources wrapped (0x88).
        let mut want: Vec<u8> = Vec::new();
        want.extend_from_slice(&[0xC1, 0x00, 0x06]); // 0: 6
        want.extend_from_slice(&[0x83, 0x01, 0x41, 0x00, 0x06]); // 1: [6]
        want.extend_from_slice(&[0xC1, 0x02, 0xB1]); // 2: -79
        want.extend_from_slice(&[0xC1, 0x03, 0x1F]); // 3: 31
        want.extend_from_slice(&[0x88, 0x04, 0x19]); // 4: 25 bytes of instances
        want.extend_from_slice(&[0x48, 0x00, 0x08]);
        want.extend_from_slice(b"10.0.0.2");
        want.extend_from_slice(&[0x48, 0x01, 0x0B]);
        want.extend_from_slice(b"2001:db8::2");
        want.extend_from_slice(&[0x88, 0x07, 0x0B, 0x48, 0x00, 0x08]); // 7: ["internet"]
        want.extend_from_slice(b"internet");
        want.extend_from_slice(&[0xC4, 0x08, 0x01, 0x02, 0x03, 0x04]); // 8: 0x01020304
        want.extend_from_slice(&[0xC1, 0x09, 0x01]); // 9: 1
        want.extend_from_slice(&[0xC2, 0x0A, 0x00, 0xF2]); // 10: 242
        assert_eq!(body, want);
    }

    #[test]
    fn instance_as_json() {
        let mut env = modem();
        let (cf, body) = read(&mut env, "/4/0", Some(ContentFormat::Json)).unwrap();
        assert_eq!(cf, ContentFormat::Json);
        assert_eq!(
            core::str::from_utf8(&body).unwrap(),
            "{\"bn\":\"/4/0/\",\"e\":[{\"n\":\"0\",\"v\":6},{\"n\":\"1/0\",\"v\":6},{\"n\":\"2\",\"v\":-79},\
             {\"n\":\"3\",\"v\":31},{\"n\":\"4/0\",\"sv\":\"10.0.0.2\"},{\"n\":\"4/1\",\"sv\":\"2001:db8::2\"},\
             {\"n\":\"7/0\",\"sv\":\"internet\"},{\"n\":\"8\",\"v\":16909060},{\"n\":\"9\",\"v\":1},{\"n\":\"10\",\"v\":242}]}"
        );
    }

    #[test]
    fn a_silent_modem_gives_defaults_and_absent_optionals() {
        let mut env = ScriptedEnv::new(&[]);
        assert_eq!(text(&mut env, "/4/0/2").as_deref(), Ok("0"));
        for optional in ["/4/0/3", "/4/0/8", "/4/0/9", "/4/0/10"] {
            assert_eq!(text(&mut env, optional), Err(Error::NotFound), "{optional}");
        }
        let (_, body) = read(&mut env, "/4/0", Some(ContentFormat::Json)).unwrap();
        assert_eq!(
            core::str::from_utf8(&body).unwrap(),
            "{\"bn\":\"/4/0/\",\"e\":[{\"n\":\"0\",\"v\":6},{\"n\":\"1/0\",\"v\":6},{\"n\":\"2\",\"v\":0}]}"
        );
        let (_, tlv) = read(&mut env, "/4/0/4", None).unwrap();
        // No instances: `ops` encodes no TLV entry at all (an empty body).
        assert_eq!(tlv, [0u8; 0], "IP Addresses with no instances");
    }

    #[test]
    fn unknown_and_malformed_answers() {
        let mut env = ScriptedEnv::new(&[
            (cmd::CESQ, Ok("+CESQ: 99,99,255,255,255,255")),
            (cmd::CGPADDR, Ok("+CGPADDR: 0")),
            (cmd::CGDCONT, Ok("+CGDCONT: 0,\"IP\",\"\",\"\",0,0")),
            (cmd::CEREG_READ, Ok("+CEREG: 2,2")),
            (cmd::COPS, Ok("+COPS: 0,0,\"Telenor\",7")),
        ]);
        let (_, body) = read(&mut env, "/4/0", Some(ContentFormat::Json)).unwrap();
        assert_eq!(
            core::str::from_utf8(&body).unwrap(),
            "{\"bn\":\"/4/0/\",\"e\":[{\"n\":\"0\",\"v\":6},{\"n\":\"1/0\",\"v\":6},{\"n\":\"2\",\"v\":0}]}"
        );
        let mut env = ScriptedEnv::new(&[(cmd::CESQ, Ok("+CESQ: 99,99,255,255,\u{fc},62\u{1F600}"))]);
        assert_eq!(text(&mut env, "/4/0/2").as_deref(), Ok("0"));
    }

    #[test]
    fn writes_and_executes_are_refused() {
        let mut env = modem();
        let mut obj = ConnMonObject;
        let p = Path::Resource(4, 0, 0);
        assert_eq!(ops::write(&mut obj, &mut env, &p, ContentFormat::Text, b"7", WriteMode::Replace, Writer::Server), Err(Error::NotAllowed));
        assert_eq!(ops::execute(&mut obj, &mut env, &Path::Resource(4, 0, 2), b""), Err(Error::NotAllowed));
        assert_eq!(ops::create(&mut obj, &mut env, &Path::Object(4), ContentFormat::Tlv, b""), Err(Error::NotAllowed));
        assert_eq!(read(&mut env, "/4/1", None), Err(Error::NotFound));
        assert_eq!(read(&mut env, "/4/0/5", None), Err(Error::NotFound), "Router IP Addresses not supported");
        assert_eq!(read(&mut env, "/4/0/0", Some(ContentFormat::Opaque)), Err(Error::NotAcceptable));
    }
}
