//! Connectivity Statistics object (id 7), OMA-TS-LightweightM2M-V1_0_2
//! Appendix E.8 (registry 7.xml, object version 1.0), single instance /7/0,
//! over the modem's `%XCONNSTAT` counters (behaviour.md §7.11).
//!
//! - 0 SMS Tx, 1 SMS Rx, 2 Tx Data (kB), 3 Rx Data (kB), 4 Max Message Size
//!   (B), 5 Average Message Size (B): read from `AT%XCONNSTAT?` at read
//!   time. When the modem refuses (collection never started) or the answer
//!   does not parse, they read 0: nothing has been collected.
//! - 6 Start: `AT%XCONNSTAT=1`, which resets the modem's counters and starts
//!   collecting; 7 Stop: `AT%XCONNSTAT=0`, counters kept. A modem error
//!   answers 5.00 Internal Server Error and changes nothing.
//! - 8 Collection Period (RW, seconds, 0 = not set): kept in the object.
//!   Refused with 4.00: a negative value or one above `u32::MAX`.
//!
//! Not done here: stopping by itself when the collection period ends (the
//! object is sans-IO and gets no time); the engine can do it from the `pub`
//! fields `collecting` and `collection_period_s`.

use crate::objects::model::Error;
use crate::lwm2m::value::{ResourceType, Value};
use crate::modem::info::{self, cmd};
use crate::objects::model::{int_of, single, Effect, Env, Object, ResourceDef, Sink, WriteMode, WriteValue, MAX_INSTANCES, R, RW};

pub const OBJECT_ID: u16 = 7;

/// Resource ids of /7/0.
pub mod res {
    pub const SMS_TX_COUNTER: u16 = 0;
    pub const SMS_RX_COUNTER: u16 = 1;
    pub const TX_DATA: u16 = 2;
    pub const RX_DATA: u16 = 3;
    pub const MAX_MESSAGE_SIZE: u16 = 4;
    pub const AVERAGE_MESSAGE_SIZE: u16 = 5;
    pub const START: u16 = 6;
    pub const STOP: u16 = 7;
    pub const COLLECTION_PERIOD: u16 = 8;
}

/// Resource table (Appendix E.8).
const DEFS: &[ResourceDef] = &[
    ResourceDef::single(res::SMS_TX_COUNTER, ResourceType::Int, R),
    ResourceDef::single(res::SMS_RX_COUNTER, ResourceType::Int, R),
    ResourceDef::single(res::TX_DATA, ResourceType::Int, R),
    ResourceDef::single(res::RX_DATA, ResourceType::Int, R),
    ResourceDef::single(res::MAX_MESSAGE_SIZE, ResourceType::Int, R),
    ResourceDef::single(res::AVERAGE_MESSAGE_SIZE, ResourceType::Int, R),
    ResourceDef::exec(res::START),
    ResourceDef::exec(res::STOP),
    ResourceDef::single(res::COLLECTION_PERIOD, ResourceType::Int, RW),
];

/// /7/0: the collection period and whether a collection is running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnStatsObject {
    /// Resource 8 (seconds); 0: collect until Stop.
    pub collection_period_s: u32,
    /// Start executed and not stopped since.
    pub collecting: bool,
}

impl Object for ConnStatsObject {
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
        if r == res::COLLECTION_PERIOD {
            return single(out, Value::Int(self.collection_period_s as i64));
        }
        let s = env.at(cmd::XCONNSTAT_READ).ok().and_then(|t| info::parse_xconnstat(&t)).unwrap_or_default();
        let v = match r {
            res::SMS_TX_COUNTER => s.sms_tx,
            res::SMS_RX_COUNTER => s.sms_rx,
            res::TX_DATA => s.data_tx_kb,
            res::RX_DATA => s.data_rx_kb,
            res::MAX_MESSAGE_SIZE => s.packet_max,
            res::AVERAGE_MESSAGE_SIZE => s.packet_average,
            _ => return Err(Error::NotFound),
        };
        single(out, Value::Int(v as i64))
    }
    fn write(&mut self, _env: &mut dyn Env, _inst: u16, r: u16, v: &WriteValue, _mode: WriteMode) -> Result<Effect, Error> {
        if r != res::COLLECTION_PERIOD {
            return Err(Error::NotAllowed);
        }
        self.collection_period_s = u32::try_from(int_of(v)?).map_err(|_| Error::BadRequest)?;
        Ok(Effect::None)
    }
    fn execute(&mut self, env: &mut dyn Env, _inst: u16, r: u16, _args: &[u8]) -> Result<Effect, Error> {
        let (command, collecting) = match r {
            res::START => (cmd::XCONNSTAT_START, true),
            res::STOP => (cmd::XCONNSTAT_STOP, false),
            _ => return Err(Error::NotAllowed),
        };
        env.at(command).map_err(|_| Error::Internal)?;
        self.collecting = collecting;
        Ok(Effect::None)
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::String;
    use alloc::vec::Vec;

    use super::*;
    use crate::lwm2m::format::ContentFormat;
    use crate::lwm2m::path::Path;
    use crate::objects::conn_mon::test_env::ScriptedEnv;
    use crate::objects::ops::{self, Writer};

    fn stats() -> ScriptedEnv {
        ScriptedEnv::new(&[
            (cmd::XCONNSTAT_READ, Ok("%XCONNSTAT: 2,3,45,60,708,650")),
            (cmd::XCONNSTAT_START, Ok("")),
            (cmd::XCONNSTAT_STOP, Ok("")),
        ])
    }

    fn text(obj: &ConnStatsObject, env: &mut ScriptedEnv, r: u16) -> Result<String, Error> {
        ops::read(obj, env, &Path::Resource(7, 0, r), None).map(|(_, b)| String::from_utf8(b).unwrap())
    }

    #[test]
    fn counters_as_text() {
        let obj = ConnStatsObject::default();
        let mut env = stats();
        let got: Vec<String> = (0..=5).map(|r| text(&obj, &mut env, r).unwrap()).collect();
        assert_eq!(got, ["2", "3", "45", "60", "708", "650"]);
        assert_eq!(text(&obj, &mut env, 8).as_deref(), Ok("0"));
        assert!(env.sent.iter().all(|c| c == cmd::XCONNSTAT_READ));
    }

    #[test]
    fn instance_as_tlv_and_json() {
        let obj = ConnStatsObject { collection_period_s: 300, collecting: true };
        let mut env = stats();
        let (cf, tlv) = ops::read(&obj, &mut env, &Path::Instance(7, 0), None).unwrap();
        assert_eq!(cf, ContentFormat::Tlv);
        // TS §6.4.3: 708 and 650 need two bytes, 300 too; executables are not read.
        let want = [
            0xC1, 0x00, 0x02, 0xC1, 0x01, 0x03, 0xC1, 0x02, 0x2D, 0xC1, 0x03, 0x3C, //
            0xC2, 0x04, 0x02, 0xC4, 0xC2, 0x05, 0x02, 0x8A, 0xC2, 0x08, 0x01, 0x2C,
        ];
        assert_eq!(tlv, want);
        let (_, json) = ops::read(&obj, &mut env, &Path::Object(7), Some(ContentFormat::Json)).unwrap();
        assert_eq!(
            core::str::from_utf8(&json).unwrap(),
            "{\"bn\":\"/7/\",\"e\":[{\"n\":\"0/0\",\"v\":2},{\"n\":\"0/1\",\"v\":3},{\"n\":\"0/2\",\"v\":45},\
             {\"n\":\"0/3\",\"v\":60},{\"n\":\"0/4\",\"v\":708},{\"n\":\"0/5\",\"v\":650},{\"n\":\"0/8\",\"v\":300}]}"
        );
    }

    #[test]
    fn a_refusing_or_garbled_modem_reads_zero() {
        let obj = ConnStatsObject::default();
        let mut env = ScriptedEnv::new(&[]);
        assert_eq!(text(&obj, &mut env, 2).as_deref(), Ok("0"));
        let mut env = ScriptedEnv::new(&[(cmd::XCONNSTAT_READ, Ok("%XCONNSTAT: 2,3,x"))]);
        assert_eq!(text(&obj, &mut env, 0).as_deref(), Ok("0"));
    }

    #[test]
    fn start_and_stop_send_the_commands() {
        let mut obj = ConnStatsObject::default();
        let mut env = stats();
        assert_eq!(ops::execute(&mut obj, &mut env, &Path::Resource(7, 0, 6), b""), Ok(Effect::None));
        assert!(obj.collecting);
        assert_eq!(ops::execute(&mut obj, &mut env, &Path::Resource(7, 0, 7), b""), Ok(Effect::None));
        assert!(!obj.collecting);
        assert_eq!(env.sent, [cmd::XCONNSTAT_START, cmd::XCONNSTAT_STOP]);
        let mut failing = ScriptedEnv::new(&[(cmd::XCONNSTAT_START, Err(-8))]);
        assert_eq!(ops::execute(&mut obj, &mut failing, &Path::Resource(7, 0, 6), b""), Err(Error::Internal));
        assert!(!obj.collecting, "unchanged on a modem error");
        assert_eq!(ops::execute(&mut obj, &mut env, &Path::Resource(7, 0, 0), b""), Err(Error::NotAllowed));
        assert_eq!(ops::read(&obj, &mut env, &Path::Resource(7, 0, 6), None), Err(Error::NotAllowed));
    }

    #[test]
    fn collection_period_writes() {
        let mut obj = ConnStatsObject::default();
        let mut env = stats();
        let w = |obj: &mut ConnStatsObject, env: &mut ScriptedEnv, p: Path, cf, body: &[u8]| {
            ops::write(obj, env, &p, cf, body, WriteMode::Replace, Writer::Server)
        };
        assert_eq!(w(&mut obj, &mut env, Path::Resource(7, 0, 8), ContentFormat::Text, b"3600"), Ok(Effect::None));
        assert_eq!(obj.collection_period_s, 3600);
        // TLV on the instance: resource 8 = 60.
        assert_eq!(w(&mut obj, &mut env, Path::Instance(7, 0), ContentFormat::Tlv, &[0xC1, 0x08, 0x3C]), Ok(Effect::None));
        assert_eq!(obj.collection_period_s, 60);
        for bad in [&b"-1"[..], b"4294967296", b"1.5", b""] {
            assert_eq!(w(&mut obj, &mut env, Path::Resource(7, 0, 8), ContentFormat::Text, bad), Err(Error::BadRequest), "{bad:?}");
        }
        assert_eq!(obj.collection_period_s, 60);
        assert_eq!(w(&mut obj, &mut env, Path::Resource(7, 0, 2), ContentFormat::Text, b"1"), Err(Error::NotAllowed));
        // A counter inside an instance write is refused as a whole.
        assert_eq!(w(&mut obj, &mut env, Path::Instance(7, 0), ContentFormat::Tlv, &[0xC1, 0x08, 0x01, 0xC1, 0x00, 0x01]), Err(Error::NotAllowed));
        assert_eq!(obj.collection_period_s, 60);
    }
}
