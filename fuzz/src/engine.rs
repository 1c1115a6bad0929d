//! The whole engine, fed from a registered and from a bootstrapping state.
//!
//! [`Harness`] plays driver, modem, network and servers around an
//! `engine::Engine` on a simulated clock, as `src/engine/sim.rs` does for
//! the scenario tests (that one is `cfg(test)` inside the crate, so this is
//! its counterpart from outside, through the public API only). The input
//! is a prologue byte and a list of operations ([`Harness::run`]): CoAP
//! requests built from fields (well-formed, real-shaped) or raw datagrams
//! on any connection, answers to what the client sent, AT notifications,
//! Device setters, time steps, reboots from the saved records (intact,
//! corrupted, or erased), connection errors and injected failures of AT
//! commands, credential writes and connection opens.
//!
//! Checked on every output and after every input:
//! - every datagram the client sends fits `MAX_DATAGRAM`, is valid CoAP,
//!   goes out on an open connection; Block2 payloads fit their block;
//!   link-format, TLV and JSON payloads decode;
//! - a version-1 CON datagram (≥ 4 bytes) on an open connection gets
//!   exactly one ACK or RST with its Message ID, and no datagram gets two;
//! - every record stored is framed, within `MAX_RECORD_LEN`, and its payload
//!   decodes (Security/Server/ACL reload as the engine's objects, the
//!   locations and reporting records in their documented layouts);
//!   a reboot from intact records of a bootstrapped device finds them
//!   bootstrapped and does not bootstrap again;
//! - credentials are written only while the link is offline, within the
//!   PSK identity and key limits;
//! - the objects stay within `limits.rs`; no connection is opened twice;
//!   the engine never asks for a deadline it has already been given
//!   again and again (it would spin the driver).

use std::cell::RefCell;
use std::collections::BTreeMap;

use lwm2m_carrier::coap::block::Block;
use lwm2m_carrier::coap::msg::{option, Code, Message, MessageWriter, MsgType};
use lwm2m_carrier::engine::{Action, ActionResult, Config, ConnId, Engine, Event, SecKind, Stored, BOOTSTRAP_CONN};
use lwm2m_carrier::limits;
use lwm2m_carrier::lwm2m::json;
use lwm2m_carrier::lwm2m::{ContentFormat, Path};
use lwm2m_carrier::storage;
use lwm2m_carrier::time::Instant;

use crate::input::{Input, SeedWriter};
use crate::objects::{self, FuzzEnv, BS_URI};
use crate::oracles;

pub const IMEI: &str = "351358815340515";
pub const PSK: &str = "000102030405060708090a0b0c0d0e0f";

/// Errors an injected failure returns (negated `lwm2m_os.h` codes).
const ERRORS: &[i32] = &[-200, -201, -202, -203, -2, -5, -13, -111];

/// Plays driver, modem, network and servers for the engine.
#[derive(Clone)]
pub struct Harness {
    pub e: Engine,
    pub now: Instant,
    pub env: FuzzEnv,
    pub config: Config,
    pub stores: BTreeMap<u16, Vec<u8>>,
    /// Credentials in the modem, by (security tag, kind).
    pub creds: std::collections::BTreeSet<(u32, u8)>,
    /// The modem lost its credentials (a new modem) since the last write.
    pub keys_lost: bool,
    /// Records were damaged on purpose since they were last written.
    pub tampered: bool,
    pub events: Vec<Event>,
    pub cfun: u8,
    /// +CEREG notifications waiting to be delivered.
    pub notifs: Vec<String>,
    /// What AT+CFUN=1 leads to: +CEREG stat (1 home, 5 roaming, 0 none).
    pub attach_stat: u8,
    pub open: [bool; 4],
    /// The last datagrams delivered on each connection: (MID, bytes, when).
    pub recent: [Vec<(u16, Vec<u8>, Instant)>; 4],
    /// Every datagram sent, in order (cleared by the operations that read it).
    pub sent: Vec<(ConnId, Vec<u8>)>,
    /// The last CON message the client sent on each connection.
    pub last_con: [Option<Vec<u8>>; 4],
    /// One-shot injected failures.
    pub fail_open: [Option<i32>; 4],
    pub fail_sec: Option<i32>,
    pub fail_at: Option<(usize, i32)>,
    /// Identity AT answers that are changed (for the next boot).
    pub at_script: BTreeMap<&'static str, String>,
    pub reboot_pending: bool,
    pub next_mid: u16,
    pub last_delivered: Option<(ConnId, Vec<u8>)>,
    pub boots: u32,
    /// Requests on an open connection that got their one answer (for the seeds' test).
    pub answered: u32,
}

/// The AT commands of init and identity, and the modem's real answers.
const IDENTITY_ANSWERS: &[(&str, &str)] = &[
    ("AT+CGSN=1", "+CGSN: \"351358815340515\""),
    ("AT%XOPERID", "%XOPERID: 0"),
    ("AT+CGMI", "Nordic Semiconductor ASA"),
    ("AT+CGMM", "nRF9160-SICA"),
    ("AT+CGMR", "mfw_nrf9160_1.2.3"),
    ("AT%HWVERSION", "%HWVERSION: nRF9160 SICA B1A"),
    ("AT+CGEREP=1", ""),
    ("AT+CNEC=16", ""),
    ("AT+CEREG=2", ""),
];

impl Harness {
    pub fn new(seed: u32) -> Harness {
        let config = Config { bootstrap_uri: Some(BS_URI.into()), psk: Some(PSK.into()), apn: None, certification_mode: false, seed };
        let mut h = Harness {
            e: Engine::new(config.clone(), Stored::default()),
            now: Instant(1000),
            env: FuzzEnv::new(),
            config,
            stores: BTreeMap::new(),
            creds: Default::default(),
            keys_lost: false,
            tampered: false,
            events: Vec::new(),
            cfun: 0,
            notifs: Vec::new(),
            attach_stat: 1,
            open: [false; 4],
            recent: Default::default(),
            sent: Vec::new(),
            last_con: Default::default(),
            fail_open: [None; 4],
            fail_sec: None,
            fail_at: None,
            at_script: BTreeMap::new(),
            reboot_pending: false,
            next_mid: 0x4000,
            last_delivered: None,
            boots: 0,
            answered: 0,
        };
        h.boot();
        h
    }

    /// `lwm2m_carrier_init()` then `lwm2m_carrier_run()`.
    pub fn boot(&mut self) {
        self.boots += 1;
        self.e.start(self.now);
        self.pump();
        self.e.begin_run(self.now);
        self.pump();
    }

    fn at_answer(&mut self, cmd: &'static str) -> ActionResult {
        if let Some((n, e)) = self.fail_at {
            if n == 0 {
                self.fail_at = None;
                return Err(e);
            }
            self.fail_at = Some((n - 1, e));
        }
        match cmd {
            "AT+CFUN=1" => {
                self.cfun = 1;
                if self.attach_stat != 0 {
                    self.notifs.push("+CEREG: 2,\"0A0B\",\"01020304\",7".into());
                    self.notifs.push(format!("+CEREG: {},\"0A0B\",\"01020304\",7", self.attach_stat));
                }
                return Ok(String::new());
            }
            "AT+CFUN=4" | "AT+CFUN=0" => {
                self.cfun = 4;
                self.notifs.push("+CEREG: 0".into());
                return Ok(String::new());
            }
            _ => {}
        }
        if let Some(a) = self.at_script.get(cmd) {
            return Ok(a.clone());
        }
        if let Some((_, a)) = IDENTITY_ANSWERS.iter().find(|(c, _)| *c == cmd) {
            return Ok(a.to_string());
        }
        self.env.at_answers.get(cmd).cloned().ok_or(-8)
    }

    /// Execute every queued action, then deliver the modem's notifications.
    pub fn pump(&mut self) {
        let mut misc_written = false;
        let mut rounds = 0;
        loop {
            while let Some(a) = self.e.poll_action() {
                let now = self.now;
                if crate::os_stubs::logging() {
                    eprintln!("  t={} action {:?}", now.0, a);
                }
                match a {
                    Action::Event(ev) => {
                        if let Event::Deferred { timeout_s, .. } = ev {
                            assert!(timeout_s >= 0, "DEFERRED with a negative timeout {timeout_s}");
                        }
                        self.events.push(ev);
                    }
                    Action::At(cmd) => {
                        let r = self.at_answer(cmd);
                        self.e.handle_result(now, r);
                    }
                    Action::SecWrite { tag, kind, data } => {
                        assert_ne!(self.cfun, 1, "credential for tag {tag} written while the link is up");
                        match kind {
                            SecKind::Identity => assert!(data.len() <= limits::MAX_PSK_IDENTITY_LEN, "identity of {} bytes", data.len()),
                            SecKind::Psk => assert!(data.len() <= 2 * limits::MAX_PSK_KEY_LEN && data.iter().all(u8::is_ascii_hexdigit), "PSK {data:?}"),
                        }
                        let r = match self.fail_sec.take() {
                            Some(e) => Err(e),
                            None => {
                                self.creds.insert((tag, kind as u8));
                                if tag > 25 {
                                    self.keys_lost = false;
                                }
                                Ok(String::new())
                            }
                        };
                        self.e.handle_result(now, r);
                    }
                    Action::SecDelete { tag, kind } => {
                        self.creds.remove(&(tag, kind as u8));
                        self.e.handle_result(now, Ok(String::new()));
                    }
                    Action::SecExists { tag, kind } => {
                        let r = if self.creds.contains(&(tag, kind as u8)) { Ok(String::new()) } else { Err(-2) };
                        self.e.handle_result(now, r);
                    }
                    Action::Open { conn, host, port, .. } => {
                        let c = conn as usize;
                        assert!(c < 4, "connection {conn}");
                        assert!(!self.open[c], "connection {conn} opened twice");
                        assert!(!host.is_empty() && port != 0);
                        let r = match self.fail_open[c].take() {
                            Some(e) => Err(e),
                            None => {
                                self.open[c] = true;
                                Ok(String::new())
                            }
                        };
                        self.e.handle_result(now, r);
                    }
                    Action::Send { conn, data } => {
                        self.check_outgoing(conn, &data);
                        self.sent.push((conn, data));
                    }
                    Action::Close { conn } => {
                        if let Some(o) = self.open.get_mut(conn as usize) {
                            *o = false;
                        }
                        if let Some(l) = self.last_con.get_mut(conn as usize) {
                            *l = None;
                        }
                    }
                    Action::Store { id, data } => {
                        check_record(id, &data);
                        misc_written |= id == storage::MISC && storage::unframe(&data) == Some(&[1][..]);
                        self.stores.insert(id, data);
                        self.tampered = false;
                    }
                    // As the driver does (it also takes the hardware version).
                    Action::SetModemIdentity(idn) => self.env.device.set_modem_identity(idn),
                    Action::Reboot | Action::FactoryReset => {
                        if matches!(a, Action::FactoryReset) {
                            self.stores.clear();
                        }
                        self.reboot_pending = true;
                    }
                }
            }
            if self.notifs.is_empty() {
                break;
            }
            rounds += 1;
            assert!(rounds < 1000, "AT notifications never settle");
            for n in core::mem::take(&mut self.notifs) {
                self.e.handle_at_notif(self.now, &n);
            }
        }
        if misc_written {
            self.check_saved_objects();
        }
        objects::check_object_limits(self.e.objects());
    }

    /// After a persist: the saved Security, Server and ACL records reload
    /// as the engine's objects.
    fn check_saved_objects(&self) {
        let rec = |id| self.stores.get(&id).and_then(|r| storage::unframe(r)).map(<[u8]>::to_vec);
        let (Some(sec), Some(srv)) = (rec(storage::SECURITY), rec(storage::SERVER)) else {
            panic!("persisted without Security and Server records");
        };
        let acl = rec(storage::ACL).unwrap_or_default();
        let d = lwm2m_carrier::objects::Objects::decode(&sec, &srv, &acl).expect("saved objects do not reload");
        let o = self.e.objects();
        assert_eq!(d.security, o.security, "saved Security object differs from the engine's");
        assert_eq!(d.server, o.server, "saved Server object differs from the engine's");
        assert_eq!(d.acl, o.acl, "saved ACL object differs from the engine's");
    }

    fn check_outgoing(&mut self, conn: ConnId, data: &[u8]) {
        assert!(data.len() <= limits::MAX_DATAGRAM, "datagram of {} bytes", data.len());
        let m = Message::parse(data).unwrap_or_else(|e| panic!("the client sent an invalid datagram ({e:?}): {data:02x?}"));
        let open = self.open.get(conn as usize).copied().unwrap_or(false);
        // (Findings #1 and #2, fixed in b6f9a17: an ACK and a De-register
        // retransmission went out after their connection was closed.)
        assert!(open, "datagram on connection {conn}, which is not open: {data:02x?}");
        if m.mtype == MsgType::Con {
            self.last_con[conn as usize] = Some(data.to_vec());
        }
        if let Some(b) = m.block2() {
            assert!(m.payload.len() <= b.size(), "Block2 payload of {} bytes in blocks of {}", m.payload.len(), b.size());
        }
        if m.code == Code::REQUEST_ENTITY_TOO_LARGE {
            let size1 = m.uint_option(option::SIZE1).expect("4.13 carries Size1 (RFC 7959 §2.9.3)");
            assert!(size1 as usize <= limits::MAX_BLOCK1_BODY, "4.13 offers a body of {size1} bytes");
        }
        if m.payload.is_empty() || !(m.code.is_response() || m.code == Code::POST) {
            return;
        }
        let whole = m.block2().is_none_or(|b| b.num == 0 && !b.more);
        match m.content_format() {
            Some(40) if whole => {
                let links = oracles::parse_link_format(m.payload)
                    .unwrap_or_else(|e| panic!("link-format payload does not parse ({e}): {}", String::from_utf8_lossy(m.payload)));
                for l in &links {
                    assert!(oracles::link_path(&l.target).is_some(), "link to {:?}", l.target);
                }
            }
            Some(11542) if whole => {
                oracles::tlv_tree(m.payload, 3).unwrap_or_else(|e| panic!("TLV payload does not decode ({e:?}): {:02x?}", m.payload));
            }
            Some(11543) if whole => {
                json::decode(m.payload).unwrap_or_else(|_| panic!("JSON payload does not decode: {}", String::from_utf8_lossy(m.payload)));
                serde_json::from_slice::<serde_json::Value>(m.payload).expect("JSON payload is JSON");
            }
            Some(0) => assert!(core::str::from_utf8(m.payload).is_ok() || m.block2().is_some(), "text payload not UTF-8"),
            _ => {}
        }
    }

    /// The server on `conn` sends `data`; checks the one-answer rule.
    pub fn deliver(&mut self, conn: ConnId, data: &[u8]) {
        let was_open = self.open.get(conn as usize).copied().unwrap_or(false);
        let before = self.sent.len();
        self.last_delivered = Some((conn, data.to_vec()));
        if crate::os_stubs::logging() {
            eprintln!("  deliver on {conn}: {data:02x?}");
        }
        self.e.handle_datagram(self.now, conn, data, &mut self.env);
        self.pump();
        if data.len() < 4 {
            return;
        }
        let mid = u16::from_be_bytes([data[2], data[3]]);
        let replies = self.sent[before..]
            .iter()
            .filter(|(c, d)| *c == conn && Message::parse(d).is_ok_and(|m| matches!(m.mtype, MsgType::Ack | MsgType::Rst) && m.mid == mid))
            .count();
        assert!(replies <= 1, "{replies} answers to one datagram {data:02x?}");
        let readable_con = data[0] >> 6 == 1 && (data[0] >> 4) & 3 == 0;
        // RFC 7252 §4.5: a Message ID reused within EXCHANGE_LIFETIME for
        // another message is a duplicate to the client, which then has no
        // answer to repeat if the first was not a CON (the server broke the
        // rule of §4.4): no answer is owed then.
        let now = self.now;
        let reused = self.recent[conn as usize % 4].iter().any(|(m, d, t)| *m == mid && d[..] != data[..] && now.since(*t) < 300_000);
        let recent = &mut self.recent[conn as usize % 4];
        // Copies of one datagram are one message: they must not push an
        // earlier, different message with a MID reused later out of the window.
        // A copy restarts its window: one that comes after the client's
        // window ran out is a new message to the client, remembered anew.
        if let Some(seen) = recent.iter_mut().find(|(m, d, _)| *m == mid && d[..] == data[..]) {
            seen.2 = now;
        } else {
            recent.push((mid, data.to_vec(), now));
            // Forget by age, not by count: the client remembers its last 4
            // *requests* (ACKs and piggy-backed responses do not count) for
            // EXCHANGE_LIFETIME, which can span far more than 16 datagrams;
            // a window of 16 forgot a NON whose MID a later CON reused, and
            // the client's (correct) silence failed the check (finding #8).
            recent.retain(|(_, _, t)| now.since(*t) < 300_000);
            if recent.len() > 1024 {
                recent.remove(0);
            }
        }
        if readable_con && was_open && !reused {
            assert_eq!(replies, 1, "a CON on open connection {conn} got no ACK or RST: {data:02x?}");
            self.answered += 1;
        }
    }

    /// Let simulated time pass by `ms`, firing every deadline on the way.
    pub fn advance(&mut self, ms: u64) {
        let end = self.now.add_millis(ms);
        let mut spins = 0;
        let mut steps = 0;
        while let Some(t) = self.e.poll_timeout().filter(|&t| t <= end) {
            spins = if t <= self.now { spins + 1 } else { 0 };
            assert!(spins < 100, "the engine spins: poll_timeout stays at {t:?}, now {:?}", self.now);
            steps += 1;
            if steps > 5000 {
                break;
            }
            self.now = self.now.max(t);
            self.e.handle_timeout(self.now, &mut self.env);
            self.pump();
            if self.reboot_pending {
                self.reboot(0);
            }
        }
        self.now = self.now.max(end);
    }

    /// Power cycle: a new engine from the stored records (after `damage`:
    /// 0 none, 1 flip a byte, 2 drop a record, 3 cut a record short).
    pub fn reboot(&mut self, damage: u8) {
        self.reboot_pending = false;
        if damage != 0 && !self.stores.is_empty() {
            let ids: Vec<u16> = self.stores.keys().copied().collect();
            let id = ids[self.boots as usize % ids.len()];
            let r = self.stores.get_mut(&id).unwrap();
            match damage {
                1 => {
                    // A record an earlier cut left empty has no byte to flip.
                    let n = r.len();
                    if n > 0 {
                        r[self.boots as usize % n] ^= 0x5a;
                    }
                }
                2 => {
                    self.stores.remove(&id);
                }
                _ => r.truncate(r.len() / 2),
            }
            self.tampered = true;
        }
        let rec = |id| self.stores.get(&id).and_then(|r| storage::unframe(r)).map(<[u8]>::to_vec);
        let mut stored = Stored::from_records(
            rec(storage::SECURITY).as_deref(),
            rec(storage::SERVER).as_deref(),
            rec(storage::ACL).as_deref(),
            rec(storage::MISC).as_deref(),
            rec(storage::LOCATIONS).as_deref(),
        );
        for conn in 1..=3u8 {
            if let Some(r) = rec(storage::REPORTING + conn as u16) {
                stored.reporting.push((conn, r));
            }
        }
        let flagged = rec(storage::MISC).is_some_and(|m| m.first() == Some(&1));
        if flagged && !self.tampered {
            assert!(stored.objects.is_some(), "the saved objects of a bootstrapped device do not reload");
            assert!(stored.bootstrapped);
        }
        // A changed (or lost) bootstrap account means a new bootstrap.
        // So does a configuration left without a server (a DM server may
        // delete its Server instance).
        let bootstrapped = stored.bootstrapped && stored.objects.as_ref().is_some_and(|o| o.has_server() && o.bootstrap_account().is_some_and(|b| b.uri == BS_URI));
        self.e = Engine::new(self.config.clone(), stored);
        self.open = [false; 4];
        self.last_con = Default::default();
        self.cfun = 0;
        self.notifs.clear();
        let opened_before = self.sent.len();
        let _ = opened_before;
        self.boot();
        if bootstrapped && !self.keys_lost {
            assert!(!self.open[BOOTSTRAP_CONN as usize], "a bootstrapped device bootstraps again after a reboot");
        }
    }

    /// ACK (piggy-backed response) to the client's last CON on `conn`.
    pub fn answer_last(&mut self, conn: ConnId, how: u8, loc: &[&str]) {
        let Some(req) = self.last_con.get(conn as usize).cloned().flatten() else { return };
        let Ok(m) = Message::parse(&req) else { return };
        let (t, code, mid, token): (MsgType, Code, u16, Vec<u8>) = match how % 10 {
            0 => (MsgType::Ack, Code::CREATED, m.mid, m.token.to_vec()),
            1 => (MsgType::Ack, Code::CHANGED, m.mid, m.token.to_vec()),
            2 => (MsgType::Ack, Code::NOT_FOUND, m.mid, m.token.to_vec()),
            3 => (MsgType::Ack, Code::FORBIDDEN, m.mid, m.token.to_vec()),
            4 => (MsgType::Ack, Code::BAD_REQUEST, m.mid, m.token.to_vec()),
            5 => (MsgType::Ack, Code::EMPTY, m.mid, Vec::new()),
            6 => (MsgType::Rst, Code::EMPTY, m.mid, Vec::new()),
            7 => {
                self.next_mid = self.next_mid.wrapping_add(1);
                (MsgType::Con, Code::CREATED, self.next_mid, m.token.to_vec())
            }
            8 => (MsgType::Ack, Code::CONTENT, m.mid, vec![0xEE]),
            _ => (MsgType::Ack, Code::INTERNAL_SERVER_ERROR, m.mid, m.token.to_vec()),
        };
        let Ok(mut w) = MessageWriter::new(t, code, mid, &token) else { return };
        if !code.is_empty() {
            for l in loc {
                let _ = w.option(option::LOCATION_PATH, l.as_bytes());
            }
        }
        let d = w.finish();
        if how % 10 != 5 && how % 10 != 6 && how % 10 != 7 {
            self.last_con[conn as usize] = None;
        }
        self.deliver(conn, &d);
    }

    /// Send a CON request from the server; the client's answer code.
    pub fn request(&mut self, conn: ConnId, code: Code, path: &[&str], cf: Option<u16>, payload: &[u8]) -> Option<Code> {
        self.next_mid = self.next_mid.wrapping_add(1);
        let mid = self.next_mid;
        let mut w = MessageWriter::new(MsgType::Con, code, mid, &[0xAB, mid as u8]).unwrap();
        for p in path {
            w.option(option::URI_PATH, p.as_bytes()).unwrap();
        }
        if let Some(cf) = cf {
            w.uint_option(option::CONTENT_FORMAT, cf as u32).unwrap();
        }
        w.payload(payload).unwrap();
        let before = self.sent.len();
        self.deliver(conn, &w.finish());
        self.sent[before..].iter().filter(|(c, _)| *c == conn).find_map(|(_, d)| {
            let m = Message::parse(d).ok()?;
            (m.mtype == MsgType::Ack && m.mid == mid).then_some(m.code)
        })
    }

    /// The Registered event came.
    pub fn registered(&self) -> bool {
        self.events.contains(&Event::Registered)
    }

    // ----- operations from the input ---------------------------------------

    /// Run operations from the input (at most 64).
    pub fn run(&mut self, i: &mut Input, focus: ConnId) {
        let mut n = 0;
        while !i.is_empty() && n < 64 {
            n += 1;
            let op = i.below(16);
            let conn = {
                let b = i.byte();
                if b < 192 { focus } else { b % 4 }
            };
            if crate::os_stubs::logging() {
                eprintln!("op {op} on {conn} at t={}", self.now.0);
            }
            match op {
                0..=3 => {
                    let d = build_request(i, self);
                    self.deliver(conn, &d);
                }
                4 => {
                    let d = i.blob(limits::MAX_DATAGRAM + 64).to_vec();
                    self.deliver(conn, &d);
                }
                5 | 6 => {
                    let how = i.byte();
                    let loc: &[&str] = i.pick(&[&["rd", "abc"][..], &["rd", "5a3f"], &[], &["rd", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"], &["r\u{e9}"]]);
                    self.answer_last(conn, how, loc);
                }
                7 => {
                    let line = match i.below(4) {
                        0 => format!("+CEREG: {}", i.byte() % 8),
                        1 => format!("+CEREG: {},\"0A0B\",\"01020304\",7", i.pick(&[0u8, 1, 2, 3, 4, 5, 90])),
                        _ => String::from_utf8_lossy(i.blob(limits::AT_NOTIF_LEN)).into_owned(),
                    };
                    self.e.handle_at_notif(self.now, &line);
                    self.pump();
                }
                8 => {
                    objects::setter(i, &mut self.env.device);
                    self.e.handle_device_changed(self.now, &mut self.env);
                    self.pump();
                }
                9 | 10 => {
                    let ms = match i.below(12) {
                        0 => 1,
                        1 => 100,
                        2 => 999,
                        3 => 2_000,
                        4 => 4_100,
                        5 => 30_000,
                        6 => 56_000,
                        7 => 210_000,
                        8 => 3_600_000,
                        9 => 86_400_000,
                        10 => i.u32() as u64,
                        _ => i.u16() as u64,
                    };
                    self.advance(ms);
                }
                11 => {
                    if let Some(t) = self.e.poll_timeout() {
                        let ms = t.since(self.now);
                        self.advance(ms.min(100_000_000));
                    }
                }
                12 => {
                    let damage = i.below(6).saturating_sub(2) as u8;
                    self.reboot(damage);
                }
                13 => {
                    let e = i.pick(ERRORS);
                    if i.bool() {
                        self.e.handle_conn_error(self.now, conn, e);
                        self.pump();
                    } else {
                        match i.below(4) {
                            0 => self.fail_open[conn as usize] = Some(e),
                            1 => self.fail_sec = Some(e),
                            2 => self.fail_at = Some((i.below(8), e)),
                            _ if i.bool() => {
                                self.creds.clear();
                                self.keys_lost = true;
                            }
                            _ => self.attach_stat = i.pick(&[1, 5, 0, 2]),
                        }
                    }
                }
                14 => {
                    if i.bool() {
                        self.env.script_at(i);
                    } else {
                        let (c, _) = IDENTITY_ANSWERS[i.below(6)];
                        let text = String::from_utf8_lossy(i.blob(limits::AT_RESPONSE_LEN)).into_owned();
                        self.at_script.insert(c, text);
                    }
                }
                _ => {
                    if let Some((c, d)) = self.last_delivered.clone() {
                        self.deliver(c, &d);
                    }
                }
            }
            if self.reboot_pending {
                self.reboot(0);
            }
        }
        // Time goes on: whatever is outstanding runs out.
        self.advance(400_000);
        if self.reboot_pending {
            self.reboot(0);
        }
    }
}

/// Check one record as stored: framed, within the limit, payload decodes.
fn check_record(id: u16, data: &[u8]) {
    assert!(data.len() <= limits::MAX_RECORD_LEN, "record {id:#x} of {} bytes", data.len());
    let p = storage::unframe(data).unwrap_or_else(|| panic!("record {id:#x} does not unframe"));
    match id {
        storage::MISC => assert!(matches!(p, [0] | [1]), "misc record {p:02x?}"),
        storage::LOCATIONS => {
            oracles::check_locations_record(p);
        }
        storage::SECURITY | storage::SERVER | storage::ACL => {}
        _ if (storage::REPORTING + 1..=storage::REPORTING + 3).contains(&id) => {
            oracles::check_reporting_record(p);
        }
        _ => panic!("record with unknown id {id:#x}"),
    }
}

/// Paths servers use, as Uri-Path text ("" is the root).
const PATHS: &[&str] = &[
    "", "bs", "rd", "0", "0/0", "0/1", "1", "1/0", "1/0/1", "1/0/2", "1/0/3", "1/0/4", "1/0/5", "1/0/6", "1/0/7", "1/0/8", "1/0/9",
    "1/1", "2", "2/0", "2/0/2", "2/1", "3", "3/0", "3/0/0", "3/0/4", "3/0/5", "3/0/6", "3/0/6/0", "3/0/7", "3/0/9", "3/0/11", "3/0/12",
    "3/0/13", "3/0/14", "3/0/15", "3/0/16", "3/1", "4", "4/0", "4/0/2", "4/0/4", "4/0/7", "4/0/8", "5", "5/0", "5/0/1", "5/0/3", "7",
    "7/0", "7/0/6", "7/0/7", "6", "65535", "3/00", "1/0/", "//",
];

const QUERIES: &[&str] = &["pmin=1", "pmax=5", "pmin=10", "pmax=60", "gt=50", "lt=20.5", "st=2", "st=-1", "pmin", "lt", "gt=x", "cancel", "ep=x", "dim=2"];

const FORMATS: &[u16] = &[0, 40, 42, 11542, 11543, 1542, 1543, 60, 112, 9999];

/// A well-formed CoAP request from the input (or, on the bootstrap
/// connection, a Bootstrap-Write/Delete/Finish/Discover).
fn build_request(i: &mut Input, h: &mut Harness) -> Vec<u8> {
    let mtype = if i.byte() < 230 { MsgType::Con } else { MsgType::Non };
    let mid = if i.byte() < 240 {
        h.next_mid = h.next_mid.wrapping_add(1);
        h.next_mid
    } else {
        i.u16()
    };
    let tkl = i.below(9);
    let token: Vec<u8> = (0..tkl).map(|_| i.byte()).collect();
    let mut opts: Vec<(u16, Vec<u8>)> = Vec::new();
    let (code, path_text, payload): (Code, String, Vec<u8>) = match i.below(8) {
        // Bootstrap interface.
        0 => {
            let (p, cf, payload) = objects::bootstrap_write(i);
            opts.push((option::CONTENT_FORMAT, uint(cf.cf() as u32)));
            (Code::PUT, path_string(&p), payload)
        }
        1 => (Code::POST, "bs".into(), Vec::new()),
        2 => {
            let p = objects::any_path(i);
            (Code::DELETE, path_string(&p), Vec::new())
        }
        _ => {
            let code = match i.below(8) {
                0 | 1 => Code::GET,
                2 => Code::PUT,
                3 | 4 => Code::POST,
                5 => Code::DELETE,
                6 => Code(5), // FETCH: not a 1.0 method
                _ => Code(i.byte() & 0x1f),
            };
            let path = if i.byte() < 220 { PATHS[i.below(PATHS.len())].to_string() } else { String::from_utf8_lossy(i.blob(40)).into_owned() };
            let flags = i.byte();
            if flags & 1 != 0 {
                opts.push((option::OBSERVE, uint(i.pick(&[0u32, 1, 2, 0x00FF_FFFF]))));
            }
            if flags & 2 != 0 {
                opts.push((option::ACCEPT, uint(i.pick(FORMATS) as u32)));
            }
            if flags & 4 != 0 {
                for _ in 0..1 + i.below(3) {
                    let q = if i.byte() < 200 { QUERIES[i.below(QUERIES.len())].as_bytes().to_vec() } else { i.blob(30).to_vec() };
                    opts.push((option::URI_QUERY, q));
                }
            }
            if flags & 8 != 0 {
                let b = Block { num: i.pick(&[0u32, 1, 2, 3, 5, 1000]), more: i.bool(), szx: i.below(7) as u8 };
                let num = if i.bool() { option::BLOCK1 } else { option::BLOCK2 };
                let mut v = [0u8; 3];
                let n = b.encode(&mut v);
                opts.push((num, v[..n].to_vec()));
                if num == option::BLOCK1 && i.bool() {
                    opts.push((option::SIZE1, uint(i.pick(&[100u32, 4096, 5000, 70_000]))));
                }
            }
            if flags & 16 != 0 {
                opts.push((i.pick(&[option::ETAG, option::IF_MATCH, option::URI_HOST, 9u16, 2048, 65000, option::MAX_AGE]), i.blob(8).to_vec()));
            }
            let mut payload = Vec::new();
            if flags & 32 != 0 {
                opts.push((option::CONTENT_FORMAT, uint(i.pick(FORMATS) as u32)));
                payload = match i.below(4) {
                    0 => {
                        let (_, _, p) = objects::bootstrap_write(i);
                        p
                    }
                    1 => format!("{{\"bn\":\"/{path}/\",\"e\":[{{\"n\":\"1\",\"v\":{}}}]}}", i.u16()).into_bytes(),
                    _ => i.blob(1100).to_vec(),
                };
            }
            (code, path, payload)
        }
    };
    let mut w = MessageWriter::new(mtype, code, mid, &token).unwrap();
    let mut all: Vec<(u16, Vec<u8>)> = path_text.split('/').filter(|_| !path_text.is_empty()).map(|s| (option::URI_PATH, s.as_bytes().to_vec())).collect();
    all.extend(opts);
    all.sort_by_key(|(n, _)| *n);
    for (n, v) in &all {
        if w.option(*n, v).is_err() {
            break;
        }
    }
    let _ = w.payload(&payload);
    w.finish()
}

fn uint(v: u32) -> Vec<u8> {
    let b = v.to_be_bytes();
    b[(v.leading_zeros() / 8) as usize..].to_vec()
}

fn path_string(p: &Path) -> String {
    let ids: Vec<String> = [p.object(), p.instance(), p.resource(), p.resource_instance()].into_iter().flatten().map(|v| v.to_string()).collect();
    ids.join("/")
}

// ----- the prologues -------------------------------------------------------

/// Bootstrap as Leshan does: Delete /, Write /0/1 and /1/0 (TLV), a second
/// server and ACLs when `two`, Finish; then answer each Register 2.01.
pub fn bootstrap_and_register(h: &mut Harness, two: bool, lifetime: i64) {
    let req = h.last_con[0].clone().expect("a bootstrap request");
    let _ = req;
    h.answer_last(0, 1, &[]);
    let tlv = ContentFormat::Tlv.cf();
    assert_eq!(h.request(0, Code::DELETE, &[], None, b""), Some(Code::DELETED));
    let sec = objects::security_tlv("coaps://dm.example:5684", false, 0, b"urn:imei:351358815340515", &[0xde, 0xad, 0xbe, 0xef, 1, 2], 1);
    assert_eq!(h.request(0, Code::PUT, &["0", "1"], Some(tlv), &sec), Some(Code::CHANGED));
    let srv = objects::server_tlv(1, lifetime, 1, 0, true, "U");
    assert_eq!(h.request(0, Code::PUT, &["1", "0"], Some(tlv), &srv), Some(Code::CHANGED));
    if two {
        let sec = objects::security_tlv("coap://second.example:5683", false, 3, b"", b"", 2);
        assert_eq!(h.request(0, Code::PUT, &["0", "2"], Some(tlv), &sec), Some(Code::CHANGED));
        let srv = objects::server_tlv(2, 3600, 0, 0, false, "U");
        assert_eq!(h.request(0, Code::PUT, &["1", "1"], Some(tlv), &srv), Some(Code::CHANGED));
        let acl = objects::instance(0, &objects::acl_tlv(3, 0, &[(1, 31), (2, 1)], 1));
        assert_eq!(h.request(0, Code::PUT, &["2"], Some(tlv), &acl), Some(Code::CHANGED));
    }
    assert_eq!(h.request(0, Code::POST, &["bs"], None, b""), Some(Code::CHANGED));
    for conn in 1..=if two { 2 } else { 1 } {
        assert!(h.last_con[conn].is_some(), "no Register on {conn}; events {:?}", h.events);
        h.answer_last(conn as ConnId, 0, &["rd", "abc"]);
    }
    assert!(h.registered(), "not registered: {:?}", h.events);
}

/// The engine from a registered state. Input: a prologue byte (bit 0: two
/// servers with ACLs; bits 1-2: lifetime 60 s, 1 day, 30 s, 2 h; bit 3:
/// reboot first, coming back on the saved records) then operations.
pub fn registered(data: &[u8]) {
    let mut i = Input::new(data);
    let p = i.byte();
    let mut h = start_from(&REGISTERED, p, || {
        let mut h = Harness::new(0x1234_5678 ^ p as u32);
        bootstrap_and_register(&mut h, p & 1 != 0, [60, 86_400, 30, 7200][(p as usize >> 1) & 3]);
        if p & 8 != 0 {
            h.reboot(0);
        }
        h
    });
    h.run(&mut i, 1);
}

thread_local! {
    /// The starting states, by prologue byte, built once per process: the
    /// setup (boot, bootstrap, registration) is the same for every input with
    /// that prologue and cost most of an execution (fuzz/README.md).
    static REGISTERED: RefCell<BTreeMap<u8, Harness>> = const { RefCell::new(BTreeMap::new()) };
    static BOOTSTRAPPING: RefCell<BTreeMap<u8, Harness>> = const { RefCell::new(BTreeMap::new()) };
}

/// A copy of the starting state for prologue `p`, built by `build` the first time.
fn start_from(cache: &'static std::thread::LocalKey<RefCell<BTreeMap<u8, Harness>>>, p: u8, build: impl FnOnce() -> Harness) -> Harness {
    cache.with(|c| c.borrow_mut().entry(p).or_insert_with(build).clone())
}

/// The engine from a bootstrapping state: the Bootstrap-Request is out
/// (answered 2.04 when bit 0 of the prologue byte is set); the operations
/// act mostly on the bootstrap connection.
pub fn bootstrapping(data: &[u8]) {
    let mut i = Input::new(data);
    let p = i.byte();
    let mut h = start_from(&BOOTSTRAPPING, p, || {
        let mut h = Harness::new(0x9E37_79B9 ^ p as u32);
        assert!(h.last_con[0].is_some(), "no Bootstrap-Request; events {:?}", h.events);
        if p & 1 != 0 {
            h.answer_last(0, 1, &[]);
        }
        h
    });
    h.run(&mut i, BOOTSTRAP_CONN);
}

// ----- seed helpers ----------------------------------------------------------

/// Operation writers for the seeds (the inverse of [`Harness::run`]).
pub struct Ops(pub SeedWriter, u8);

impl Ops {
    pub fn new(prologue: u8) -> Ops {
        let mut w = SeedWriter::new();
        w.byte(prologue);
        Ops(w, 0)
    }
    /// The next operations act on connection `c` (`None`: the focus one).
    pub fn on(&mut self, c: Option<u8>) -> &mut Self {
        self.1 = c.map_or(0, |c| 192 + c);
        self
    }
    fn head(&mut self, op: usize) -> &mut SeedWriter {
        let conn = self.1;
        self.0.index(op).byte(conn)
    }
    /// A generic request: `code` index of `build_request`'s list (0 GET,
    /// 2 PUT, 3 POST, 5 DELETE), a path of `PATHS`, `flags` and what follows.
    pub fn request(&mut self, code: usize, path: &str, flags: u8) -> &mut SeedWriter {
        let p = PATHS.iter().position(|x| *x == path).expect("path in PATHS");
        self.head(0).byte(0).byte(0).index(2).raw(&[0xA0, 0xB0]).index(3).index(code).byte(0).index(p).byte(flags)
    }
    pub fn bootstrap_finish(&mut self) -> &mut Self {
        self.head(0).byte(0).byte(0).index(2).raw(&[0xA0, 0xB0]).index(1);
        self
    }
    pub fn raw(&mut self, d: &[u8]) -> &mut Self {
        self.head(4).blob(d);
        self
    }
    pub fn answer_last(&mut self, how: u8, loc: usize) -> &mut Self {
        self.head(5).byte(how).index(loc);
        self
    }
    pub fn cereg(&mut self, stat: u8) -> &mut Self {
        self.head(7).index(0).byte(stat);
        self
    }
    pub fn battery(&mut self, level: u8) -> &mut Self {
        self.head(8).index(0).byte(level);
        self
    }
    pub fn power_sources(&mut self, s: &[u8]) -> &mut Self {
        self.head(8).index(2).index(s.len());
        for &b in s {
            self.0.byte(b);
        }
        self
    }
    /// Advance by entry `k` of the list in `run` (5: 30 s, 6: 56 s, 9: a day).
    pub fn advance(&mut self, k: usize) -> &mut Self {
        self.head(9).index(k);
        self
    }
    pub fn reboot(&mut self, damage: usize) -> &mut Self {
        self.head(12).index(damage);
        self
    }
    pub fn finish(&mut self) -> Vec<u8> {
        self.0.finish()
    }
}
