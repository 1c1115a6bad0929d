//! The test harness of the engine: it plays driver, modem, network and
//! servers around an [`Engine`] on a simulated clock. Shared by the
//! scenario tests (`tests.rs`, `tests_dm.rs`).
#![allow(dead_code)]

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::*;
use crate::coap::msg::{option, Code, Message, MessageWriter, MsgType};
use crate::lwm2m::tlv::{self, TlvType};
use crate::lwm2m::value::Value;
use crate::objects::device::Device;
use crate::objects::model::Env as EnvTrait;
use crate::test_alloc::counted;

/// The platform as the objects see it, scripted.
pub(super) struct TestEnv {
    pub device: Device,
    pub utc: i32,
    pub offset: i32,
    pub tz: String,
    pub memory_free: i32,
    pub at_answers: BTreeMap<String, String>,
    /// AT commands the objects sent, in order.
    pub at_sent: Vec<String>,
}

impl EnvTrait for TestEnv {
    fn with_device(&mut self, f: &mut dyn FnMut(&mut Device)) {
        f(&mut self.device)
    }
    fn at(&mut self, cmd: &str) -> Result<String, i32> {
        // The harness's record, not the library's heap: before, each
        // sampling's AT+CESQ grew this inside the count, 280 B per 30 s.
        crate::test_alloc::uncounted(|| self.at_sent.push(cmd.to_string()));
        self.at_answers.get(cmd).cloned().ok_or(-8)
    }
    fn memory_free(&mut self) -> i32 {
        self.memory_free
    }
    fn utc_time(&mut self) -> i32 {
        self.utc
    }
    fn utc_offset(&mut self) -> i32 {
        self.offset
    }
    fn timezone(&mut self) -> String {
        self.tz.clone()
    }
    fn set_utc_time(&mut self, t: i32) -> i32 {
        if t < 0 {
            return -22;
        }
        self.utc = t;
        0
    }
    fn set_utc_offset(&mut self, m: i32) -> i32 {
        self.offset = m;
        0
    }
    fn set_timezone(&mut self, tz: &str) -> i32 {
        self.tz = tz.into();
        0
    }
}

pub(super) const IMEI: &str = "351358815340515";
pub(super) const EP: &str = "urn:imei:351358815340515";
pub(super) const BS_URI: &str = "coaps://bs.example:5784";
pub(super) const TLV: u16 = 11542;
pub(super) const DM_KEY: &[u8] = &[0xde, 0xad, 0xbe, 0xef, 0x01, 0x02];

/// Plays driver, modem and network for the engine.
pub(super) struct Sim {
    pub e: Engine,
    pub now: Instant,
    pub env: TestEnv,
    pub events: Vec<Event>,
    pub at: Vec<String>,
    /// Credentials by (tag, kind), and whether each write happened offline.
    pub creds: BTreeMap<(u32, u8), Vec<u8>>,
    pub online_writes: u32,
    pub stores: BTreeMap<u16, Vec<u8>>,
    /// Datagrams the client sent, by connection.
    pub sent: Vec<(ConnId, Vec<u8>)>,
    pub opened: Vec<(ConnId, String, u16, Option<u32>, u16)>,
    pub closed: Vec<ConnId>,
    pub open_result: BTreeMap<ConnId, i32>,
    pub cfun: u8,
    pub notifs: Vec<String>,
    pub reboots: u32,
    pub attach: bool,
    /// Message IDs of the servers' requests.
    pub next_mid: u16,
    /// When set, the flash records and modem keys after every persistent
    /// write (record store, key write or delete): the states a power cut
    /// can leave behind.
    pub cut_points: Option<Vec<(BTreeMap<u16, Vec<u8>>, BTreeMap<(u32, u8), Vec<u8>>)>>,
    /// Record stores and datagrams in the order the driver executed them:
    /// `Stored(id)`, `Sent(conn)`.
    pub trace: Vec<Trace>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Trace {
    Stored(u16),
    Sent(ConnId),
}

fn kind_id(k: SecKind) -> u8 {
    match k {
        SecKind::Psk => 3,
        SecKind::Identity => 4,
    }
}

impl Sim {
    pub fn new(stores: BTreeMap<u16, Vec<u8>>) -> Sim {
        let rec = |id| stores.get(&id).and_then(|r| crate::storage::unframe(r)).map(|p| p.to_vec());
        let mut stored = Stored::from_records(
            rec(crate::storage::SECURITY).as_deref(),
            rec(crate::storage::SERVER).as_deref(),
            rec(crate::storage::ACL).as_deref(),
            rec(crate::storage::MISC).as_deref(),
            rec(crate::storage::LOCATIONS).as_deref(),
        );
        for conn in 1..=3u8 {
            if let Some(r) = rec(crate::storage::REPORTING + conn as u16) {
                stored.reporting.push((conn, r));
            }
        }
        let config = Config {
            bootstrap_uri: Some(BS_URI.into()),
            psk: Some("000102030405060708090a0b0c0d0e0f".into()),
            apn: None,
            certification_mode: false,
            seed: 0x1234_5678,
        };
        Sim {
            e: counted(|| Engine::new(config, stored)),
            now: Instant(1000),
            env: TestEnv {
                device: Device::new(),
                utc: 1_700_000_000,
                offset: 60,
                tz: "Europe/Oslo".into(),
                memory_free: 42,
                at_answers: BTreeMap::new(),
                at_sent: Vec::new(),
            },
            events: Vec::new(),
            at: Vec::new(),
            creds: BTreeMap::new(),
            online_writes: 0,
            stores,
            sent: Vec::new(),
            opened: Vec::new(),
            closed: Vec::new(),
            open_result: BTreeMap::new(),
            cfun: 0,
            notifs: Vec::new(),
            reboots: 0,
            attach: true,
            next_mid: 0x4000,
            cut_points: None,
            trace: Vec::new(),
        }
    }

    /// The same device after a reboot: flash records and modem keys kept.
    pub fn rebooted(&self) -> Sim {
        let mut s = Sim::new(self.stores.clone());
        s.creds = self.creds.clone();
        s
    }

    pub fn at_answer(&mut self, cmd: &str) -> ActionResult {
        self.at.push(cmd.to_string());
        Ok(match cmd {
            "AT+CFUN=1" => {
                self.cfun = 1;
                if self.attach {
                    self.notifs.push("+CEREG: 2,\"0A0B\",\"01020304\",7".into());
                    self.notifs.push("+CEREG: 1,\"0A0B\",\"01020304\",7".into());
                }
                String::new()
            }
            "AT+CFUN=4" => {
                self.cfun = 4;
                self.notifs.push("+CEREG: 0".into());
                String::new()
            }
            "AT+CGSN=1" => alloc::format!("+CGSN: \"{IMEI}\""),
            "AT%XOPERID" => "%XOPERID: 0".into(),
            "AT+CGMI" => "Nordic Semiconductor ASA".into(),
            "AT+CGMM" => "nRF9160-SICA".into(),
            "AT+CGMR" => "mfw_nrf9160_1.2.3".into(),
            "AT%HWVERSION" => "%HWVERSION: nRF9160 SICA B1A".into(),
            "AT+CGEREP=1" | "AT+CNEC=16" | "AT+CEREG=2" => String::new(),
            _ => return Err(-8),
        })
    }

    fn handle_result(&mut self, now: Instant, r: ActionResult) {
        let e = &mut self.e;
        counted(|| e.handle_result(now, r));
    }

    /// Execute every queued action, then deliver modem notifications.
    pub fn pump(&mut self) {
        loop {
            while let Some(out) = counted(|| self.e.poll_action()) {
                let now = self.now;
                // Keep a copy; the engine's own output is freed as the
                // driver frees it (and counted as the engine's heap).
                let a = out.clone();
                counted(move || drop(out));
                match a {
                    Action::Event(ev) => self.events.push(ev),
                    Action::At(cmd) => {
                        let r = self.at_answer(&cmd);
                        self.handle_result(now, r);
                    }
                    Action::SecWrite { tag, kind, data } => {
                        if self.cfun == 1 {
                            self.online_writes += 1;
                            self.handle_result(now, Err(-13));
                        } else {
                            self.creds.insert((tag, kind_id(kind)), data);
                            self.handle_result(now, Ok(String::new()));
                        }
                    }
                    Action::SecDelete { tag, kind } => {
                        self.creds.remove(&(tag, kind_id(kind)));
                        self.handle_result(now, Ok(String::new()));
                    }
                    Action::SecExists { tag, kind } => {
                        let there = self.creds.contains_key(&(tag, kind_id(kind)));
                        self.handle_result(now, if there { Ok(String::new()) } else { Err(-2) });
                    }
                    Action::Open { conn, host, port, sec_tag, local_port } => {
                        self.opened.push((conn, host, port, sec_tag, local_port));
                        let r = self.open_result.get(&conn).copied().unwrap_or(0);
                        self.handle_result(now, if r == 0 { Ok(String::new()) } else { Err(r) });
                    }
                    Action::Send { conn, data } => {
                        self.trace.push(Trace::Sent(conn));
                        self.sent.push((conn, data))
                    }
                    Action::Close { conn } => self.closed.push(conn),
                    Action::Store { id, data } => {
                        self.trace.push(Trace::Stored(id));
                        self.stores.insert(id, data);
                    }
                    // As the driver does (it also takes the hardware version).
                    Action::SetModemIdentity(idn) => self.env.device.set_modem_identity(idn),
                    Action::Reboot | Action::FactoryReset => self.reboots += 1,
                }
                if let Some(cuts) = &mut self.cut_points {
                    if cuts.last().is_none_or(|(st, cr)| *st != self.stores || *cr != self.creds) {
                        cuts.push((self.stores.clone(), self.creds.clone()));
                    }
                }
            }
            if self.notifs.is_empty() {
                break;
            }
            for n in core::mem::take(&mut self.notifs) {
                let (e, now) = (&mut self.e, self.now);
                counted(|| e.handle_at_notif(now, &n));
            }
        }
    }

    pub fn boot(&mut self) {
        let (e, now) = (&mut self.e, self.now);
        counted(|| e.start(now));
        self.pump();
        assert_eq!(self.e.init_result(), Some(0), "init failed; events {:?}", self.events);
        let (e, now) = (&mut self.e, self.now);
        counted(|| e.begin_run(now));
        self.pump();
    }

    /// Let simulated time pass by `ms`, firing every deadline on the way.
    /// Panics if the engine keeps asking for a deadline that has already
    /// been handled (a driver would spin on it).
    pub fn advance(&mut self, ms: u64) {
        let end = self.now.add_millis(ms);
        let mut spins = 0;
        while let Some(t) = self.e.poll_timeout().filter(|&t| t <= end) {
            spins = if t <= self.now { spins + 1 } else { 0 };
            assert!(spins < 100, "the engine spins: poll_timeout stays at {t:?}, now {:?}", self.now);
            self.now = self.now.max(t);
            let (e, now, env) = (&mut self.e, self.now, &mut self.env);
            counted(|| e.handle_timeout(now, env));
            self.pump();
        }
        self.now = end;
    }

    /// Exactly one datagram was sent on `conn`: take it.
    pub fn one_sent(&mut self, conn: ConnId) -> Vec<u8> {
        let mut all = self.take_sent(conn);
        assert_eq!(all.len(), 1, "expected one datagram on {conn}, got {}: {all:02x?}", all.len());
        all.pop().unwrap()
    }

    pub fn assert_silent(&mut self, conn: ConnId, why: &str) {
        let sent = self.take_sent(conn);
        assert!(sent.is_empty(), "{why}: sent {sent:02x?}");
    }

    /// The application sets the battery level and tells the engine.
    pub fn set_battery(&mut self, level: u8) {
        self.env.device.set_battery_level(level).unwrap();
        let (e, now, env) = (&mut self.e, self.now, &mut self.env);
        counted(|| e.handle_device_changed(now, env));
        self.pump();
    }

    /// The server on `conn` sends `data` to the client.
    pub fn deliver(&mut self, conn: ConnId, data: &[u8]) {
        let (e, now, env) = (&mut self.e, self.now, &mut self.env);
        counted(|| e.handle_datagram(now, conn, data, env));
        self.pump();
    }

    /// Take the datagrams sent on `conn` so far.
    pub fn take_sent(&mut self, conn: ConnId) -> Vec<Vec<u8>> {
        let (mine, rest): (Vec<_>, Vec<_>) = core::mem::take(&mut self.sent).into_iter().partition(|(c, _)| *c == conn);
        self.sent = rest;
        mine.into_iter().map(|(_, d)| d).collect()
    }

    pub fn last_sent(&mut self, conn: ConnId) -> Vec<u8> {
        self.take_sent(conn).pop().unwrap_or_else(|| panic!("nothing sent on {conn}; events {:?}", self.events))
    }

    /// Send a CON request from the server and return the client's answer.
    pub fn request(&mut self, conn: ConnId, code: Code, path: &[&str], cf: Option<u16>, accept: Option<u16>, payload: &[u8]) -> Vec<u8> {
        self.next_mid = self.next_mid.wrapping_add(1);
        let mid = self.next_mid;
        let mut w = MessageWriter::new(MsgType::Con, code, mid, &[0xAB, mid as u8]).unwrap();
        for p in path {
            w.option(option::URI_PATH, p.as_bytes()).unwrap();
        }
        if let Some(cf) = cf {
            w.uint_option(option::CONTENT_FORMAT, cf as u32).unwrap();
        }
        if let Some(a) = accept {
            w.uint_option(option::ACCEPT, a as u32).unwrap();
        }
        w.payload(payload).unwrap();
        self.deliver(conn, &w.finish());
        // The ACK carrying the response; anything else sent stays queued.
        let pos = self
            .sent
            .iter()
            .position(|(c, d)| *c == conn && Message::parse(d).is_ok_and(|m| m.mtype == MsgType::Ack && m.mid == mid))
            .unwrap_or_else(|| panic!("no response on {conn}; events {:?}", self.events));
        self.sent.remove(pos).1
    }

    pub fn deferred(&self) -> Vec<(u32, i32)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Deferred { reason, timeout_s } => Some((*reason, *timeout_s)),
                _ => None,
            })
            .collect()
    }
}

/// ACK a CON request with `code` (and Location-Path segments).
pub(super) fn ack(req: &[u8], code: Code, location: &[&str]) -> Vec<u8> {
    let m = Message::parse(req).unwrap();
    let mut w = MessageWriter::new(MsgType::Ack, code, m.mid, m.token).unwrap();
    for l in location {
        w.option(option::LOCATION_PATH, l.as_bytes()).unwrap();
    }
    w.finish()
}

pub(super) fn code_of(resp: &[u8]) -> Code {
    Message::parse(resp).unwrap().code
}

pub(super) fn uri_path(m: &Message) -> Vec<String> {
    m.options_of(option::URI_PATH).map(|s| String::from_utf8(s.to_vec()).unwrap()).collect()
}

pub(super) fn uri_query(m: &Message) -> Vec<String> {
    m.options_of(option::URI_QUERY).map(|s| String::from_utf8(s.to_vec()).unwrap()).collect()
}

pub(super) fn security_tlv(uri: &str, ssid: i64, identity: &[u8], key: &[u8]) -> Vec<u8> {
    let mut inner = Vec::new();
    tlv::write_value(&mut inner, TlvType::ResourceValue, 0, &Value::Str(uri));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 1, &Value::Bool(false));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 2, &Value::Int(0));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 3, &Value::Opaque(identity));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 5, &Value::Opaque(key));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 10, &Value::Int(ssid));
    inner
}

pub(super) fn server_tlv(ssid: i64, lifetime: i64) -> Vec<u8> {
    let mut inner = Vec::new();
    tlv::write_value(&mut inner, TlvType::ResourceValue, 0, &Value::Int(ssid));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 1, &Value::Int(lifetime));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 6, &Value::Bool(false));
    tlv::write_value(&mut inner, TlvType::ResourceValue, 7, &Value::Str("U"));
    inner
}
