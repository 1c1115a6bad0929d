//! The sans-IO LwM2M client: link control, bootstrap, registration,
//! registration update and deferral (behaviour.md §7.1–§7.9,
//! OMA-TS-LightweightM2M-V1_0_2 §5.2, §5.3).
//!
//! The engine never blocks, reads no clock and touches no socket. It is fed
//! inputs with the current time (`handle_*`) and yields outputs
//! (`poll_action`, `poll_timeout`). An [`Action`] that has a result (an AT
//! command, a credential write, opening a connection) is always the last
//! action queued; the driver executes it and hands the result back with
//! [`Engine::handle_result`] before polling again.

// A panic on the device is a reboot: no unchecked index, `unwrap` or `expect`
// outside tests (plain `cargo clippy --lib` fails on one).
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used))]

mod reporting_store;
mod session;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_dm;

use crate::fifo::Fifo;
use alloc::string::String;
use alloc::vec::Vec;

use crate::carrier::{self, BOOTSTRAP_LOCAL_PORT, BOOTSTRAP_SEC_TAG, BOOTSTRAP_SILENCE_S};
use crate::coap::endpoint::{Endpoint, Incoming, Timeout};
use crate::coap::msg::{option, Code, Message, MessageWriter, MsgType};
use crate::log;
use crate::lwm2m::format::ContentFormat;
use crate::lwm2m::path::Path;
use crate::modem::{self, cmd, RegStatus};
use crate::objects::model::Env;
use crate::objects::{security, Objects};
use crate::os::err;
use crate::storage;
use crate::time::Instant;
use session::{ServerSession, SessionState};

/// Connection identifiers: 0 is the bootstrap server, 1.. the LwM2M servers.
pub type ConnId = u8;
pub const BOOTSTRAP_CONN: ConnId = 0;

/// Events for the application (mapped to `lwm2m_carrier_event_t` by the driver).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    BsdlibInit,
    Connecting,
    Connected,
    Disconnecting,
    Disconnected,
    Bootstrapped,
    Registered,
    Deferred { reason: u32, timeout_s: i32 },
    LteReady,
    Error { code: u32, value: i32 },
}

/// Credential kinds (values of `LWM2M_OS_SEC_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecKind {
    Psk,
    Identity,
}

pub use crate::modem::ModemIdentity;

/// An output of the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Tell the application.
    Event(Event),
    /// Send an AT command; result: the response text or an error code.
    At(&'static str),
    /// Write a credential (offline only); result: Ok or error code.
    SecWrite { tag: u32, kind: SecKind, data: Vec<u8> },
    /// Delete a credential; result: Ok or error code (-ENOENT is fine).
    SecDelete { tag: u32, kind: SecKind },
    /// Is a credential there? Result: Ok if so, Err(-ENOENT) if not, other
    /// errors if the modem cannot tell.
    SecExists { tag: u32, kind: SecKind },
    /// Open (and for DTLS, handshake) a connection; result: Ok or error code.
    Open { conn: ConnId, host: String, port: u16, sec_tag: Option<u32>, local_port: u16 },
    /// Send a datagram on an open connection.
    Send { conn: ConnId, data: Vec<u8> },
    /// Close a connection.
    Close { conn: ConnId },
    /// Replace a persistent record (already framed).
    Store { id: u16, data: Vec<u8> },
    /// Copy the modem identity into the Device object.
    SetModemIdentity(ModemIdentity),
    /// Reboot the device (the driver raises REBOOT and honours a veto).
    Reboot,
    /// Factory reset (Execute /3/0/5): erase the persisted state, then reboot.
    FactoryReset,
}

impl Action {
    /// Does the driver owe the engine a `handle_result` for this action?
    pub fn needs_result(&self) -> bool {
        matches!(
            self,
            Action::At(_) | Action::SecWrite { .. } | Action::SecDelete { .. } | Action::SecExists { .. } | Action::Open { .. }
        )
    }
}

/// Result of an action that has one.
pub type ActionResult = Result<String, i32>;

/// Configuration (from `lwm2m_carrier_config_t`), owned.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub bootstrap_uri: Option<String>,
    pub psk: Option<String>,
    pub apn: Option<String>,
    pub certification_mode: bool,
    /// Random seed for CoAP message ids and tokens.
    pub seed: u32,
}

/// What was persisted by a previous boot.
#[derive(Clone, Debug, Default)]
pub struct Stored {
    pub objects: Option<Objects>,
    pub bootstrapped: bool,
    /// Registration locations by Short Server ID.
    pub locations: Vec<(u16, String)>,
    /// Observations and attributes by server connection (1..=3), as stored.
    pub reporting: Vec<(ConnId, Vec<u8>)>,
}

impl Stored {
    /// Decode the records read from storage (each `None` if absent/invalid).
    pub fn from_records(
        security: Option<&[u8]>,
        server: Option<&[u8]>,
        acl: Option<&[u8]>,
        misc: Option<&[u8]>,
        locations: Option<&[u8]>,
    ) -> Stored {
        let objects = match (security, server) {
            (Some(sec), Some(srv)) => {
                let o = Objects::decode(sec, srv, acl.unwrap_or(&[]));
                if o.is_none() {
                    log!(LOG_ERR, "stored configuration does not load: starting from factory state");
                }
                o
            }
            (None, None) => None,
            _ => {
                log!(LOG_ERR, "stored configuration incomplete: starting from factory state");
                None
            }
        };
        let bootstrapped = objects.is_some() && misc.is_some_and(|m| m.first() == Some(&1));
        Stored { objects, bootstrapped, locations: locations.map(decode_locations).unwrap_or_default(), reporting: Vec::new() }
    }
}

/// `ssid(u16 LE) len(u8) path` repeated.
fn encode_locations(locs: &[(u16, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (ssid, path) in locs {
        let p = path.as_bytes();
        let p = p.get(..crate::limits::MAX_LOCATION_LEN).unwrap_or(p);
        out.extend_from_slice(&ssid.to_le_bytes());
        out.push(p.len() as u8);
        out.extend_from_slice(p);
    }
    out
}

fn decode_locations(mut b: &[u8]) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    while let [s0, s1, n, rest @ ..] = b {
        let ssid = u16::from_le_bytes([*s0, *s1]);
        let Some((p, rest)) = rest.split_at_checked(*n as usize) else { break };
        if let Ok(s) = core::str::from_utf8(p) {
            out.push((ssid, String::from(s)));
        }
        b = rest;
    }
    out
}

/// A parsed `coap://host:port` or `coaps://host:port` URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUri {
    pub host: String,
    pub port: u16,
    pub secure: bool,
}

impl ServerUri {
    /// Parse a server URI (RFC 7252 §6); IPv6 literals in brackets.
    pub fn parse(uri: &str) -> Option<ServerUri> {
        let (secure, rest) = if let Some(r) = uri.strip_prefix("coaps://") {
            (true, r)
        } else if let Some(r) = uri.strip_prefix("coap://") {
            (false, r)
        } else {
            return None;
        };
        let authority = rest.split('/').next()?;
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']')?;
            (h, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match port {
            Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0)?,
            None if secure => 5684,
            None => 5683,
        };
        if host.is_empty() {
            return None;
        }
        Some(ServerUri { host: String::from(host), port, secure })
    }
}

/// What to do once the link is up again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterLink {
    InitIdentity,
    Bootstrap,
    Servers,
}

/// Credentials to write while offline, and what follows.
#[derive(Clone, Debug)]
struct KeyJob {
    writes: Fifo<Action>,
    then: AfterLink,
    /// Store the "bootstrapped" flag once every write succeeded: the flag is
    /// the last thing a bootstrap writes (behaviour.md §7.7), so a power cut
    /// before it means "bootstrap again", never "bootstrapped without keys".
    commit_bootstrap: bool,
}

/// Where the client is.
#[derive(Clone, Debug)]
enum Step {
    /// `lwm2m_carrier_init()` AT set-up: index into `INIT_AT`.
    InitAt(usize),
    /// AT+CFUN=1 sent, result pending.
    LinkUpCmd(AfterLink),
    /// Waiting for +CEREG home/roaming.
    WaitRegistration { deadline: Instant, then: AfterLink },
    /// Reading the modem identity: index into `IDENTITY_AT`.
    Identity(usize),
    /// Second boot: checking that server account `n` (0-based) still has
    /// its PSK in the modem before using the stored configuration.
    CheckingKeys(usize),
    /// AT+CFUN=4 sent to write credentials.
    GoingOffline(KeyJob),
    /// Writing credentials (one result pending).
    WritingKeys(KeyJob),
    /// Bootstrap connection being opened.
    BsOpening,
    /// Bootstrap-Request sent, waiting for 2.04.
    BsRequested,
    /// The bootstrap server is configuring us.
    BsSession { deadline: Instant },
    /// Waiting to retry the bootstrap.
    BsDeferred { until: Instant },
    /// Serving the LwM2M servers (see `sessions`).
    Servers,
    /// Nothing to do (no bootstrap URI, roaming, …).
    Idle,
    /// Fatal error: `lwm2m_carrier_run()` returns.
    Stopped,
}

const INIT_AT: [&str; 3] = [cmd::CGEREP, cmd::CNEC, cmd::CEREG_NOTIF];
const IDENTITY_AT: [&str; 6] = [cmd::IMEI, cmd::OPERATOR_ID, cmd::MANUFACTURER, cmd::MODEL, cmd::FIRMWARE, cmd::HW_VERSION];

/// The client.
#[derive(Clone)]
pub struct Engine {
    config: Config,
    step: Step,
    outbox: Fifo<Action>,
    awaiting: bool,
    init_result: Option<i32>,
    link_status: RegStatus,
    identity: ModemIdentity,
    operator: u32,
    endpoint_name: String,
    objects: Objects,
    /// While a bootstrap runs: the objects as they were (and are stored)
    /// before it; a failed bootstrap returns to these. `None` otherwise: a
    /// second copy of the configuration held for the device's life cost as
    /// much heap as the configuration (2.5 KB at the limits).
    before_bootstrap: Option<Objects>,
    bootstrapped: bool,
    locations: Vec<(u16, String)>,
    /// Observations and attributes of the last boot, by connection, until
    /// the sessions are built.
    stored_reporting: Vec<(ConnId, Vec<u8>)>,
    /// Keys for the bootstrap server were written this boot.
    bs_keys_written: bool,
    /// The stored configuration's server keys were found in the modem.
    keys_checked: bool,
    bs_attempts: u32,
    bs_endpoint: Endpoint,
    sessions: Vec<ServerSession>,
    lte_ready_sent: bool,
    registered_sent: bool,
    /// When observed values nobody signals (modem-derived: objects 4, 7;
    /// the clock) are next sampled.
    next_sample: Option<Instant>,
    seed: u32,
}

impl Engine {
    /// A client with the given configuration and persisted state. Call
    /// [`Engine::start`] next.
    pub fn new(config: Config, stored: Stored) -> Engine {
        let uri = config.bootstrap_uri.clone().unwrap_or_default();
        let factory = Objects::factory(&uri, config.psk.is_some());
        let (objects, bootstrapped) = match stored.objects {
            // A changed bootstrap URI means a new bootstrap (design.md §5:
            // no flash erase needed).
            // A configuration whose bootstrap server overwrote our bootstrap
            // account (no instance with resource 1 set) is kept: bootstrapping
            // again uses the configured URI anyway.
            Some(o) if o.bootstrap_account().is_none_or(|b| b.uri == uri) => (o, stored.bootstrapped),
            Some(_) => {
                log!(LOG_INF, "bootstrap URI changed: bootstrapping again");
                (factory, false)
            }
            None => (factory, false),
        };
        let seed = config.seed;
        Engine {
            config,
            step: Step::InitAt(0),
            outbox: Fifo::new(),
            awaiting: false,
            init_result: None,
            link_status: RegStatus::NotRegistered,
            identity: ModemIdentity::default(),
            operator: 0,
            endpoint_name: String::new(),
            before_bootstrap: None,
            objects,
            bootstrapped,
            locations: if bootstrapped { stored.locations } else { Vec::new() },
            stored_reporting: if bootstrapped { stored.reporting } else { Vec::new() },
            bs_keys_written: false,
            keys_checked: false,
            bs_attempts: 0,
            bs_endpoint: Endpoint::new(seed as u16, seed),
            sessions: Vec::new(),
            lte_ready_sent: false,
            registered_sent: false,
            next_sample: None,
            seed,
        }
    }

    /// Begin `lwm2m_carrier_init()`'s sequence (after BSDLIB_INIT).
    pub fn start(&mut self, _now: Instant) {
        self.step = Step::InitAt(0);
        self.request(Action::At(INIT_AT[0]));
    }

    /// `lwm2m_carrier_run()` starts: after a successful init, go on to
    /// bootstrap or register (behaviour.md §7.4).
    pub fn begin_run(&mut self, now: Instant) {
        if self.init_result == Some(0) && matches!(self.step, Step::Idle) && !self.awaiting {
            self.link_ready(now);
        }
    }

    /// `Some(0)` once init succeeded, `Some(err)` if it failed.
    pub fn init_result(&self) -> Option<i32> {
        self.init_result
    }

    /// A fatal error stopped the client (`lwm2m_carrier_run()` returns).
    pub fn is_stopped(&self) -> bool {
        matches!(self.step, Step::Stopped)
    }

    /// Current objects (for tests and diagnostics).
    pub fn objects(&self) -> &Objects {
        &self.objects
    }

    /// Next output, or None (also while a result is owed).
    pub fn poll_action(&mut self) -> Option<Action> {
        self.outbox.pop_front()
    }

    /// The earliest time `handle_timeout` must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut min = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        match &self.step {
            Step::WaitRegistration { deadline, .. } | Step::BsSession { deadline } => min(Some(*deadline)),
            Step::BsDeferred { until } => min(Some(*until)),
            _ => {}
        }
        if matches!(self.step, Step::BsRequested | Step::BsSession { .. }) {
            min(self.bs_endpoint.poll_timeout());
        }
        if matches!(self.step, Step::Servers) {
            min(self.sessions_timeout());
        }
        t
    }

    // ----- helpers ---------------------------------------------------------

    fn emit(&mut self, e: Event) {
        self.outbox.push_back(Action::Event(e));
    }

    /// Queue an action whose result the driver hands back.
    fn request(&mut self, a: Action) {
        debug_assert!(a.needs_result());
        self.awaiting = true;
        self.outbox.push_back(a);
    }

    fn stop_with_error(&mut self, code: u32, value: i32) {
        log!(LOG_ERR, "fatal error ", code, ", value ", value, ": client stopped");
        self.emit(Event::Error { code, value });
        self.close_all();
        self.step = Step::Stopped;
    }

    fn close_all(&mut self) {
        if matches!(self.step, Step::BsRequested | Step::BsSession { .. }) {
            self.close_bootstrap_conn();
        }
        for s in &mut self.sessions {
            if s.is_open() {
                s.endpoint.close();
                self.outbox.push_back(Action::Close { conn: s.conn });
                s.state = SessionState::Idle;
            }
        }
    }

    /// Close the bootstrap connection; nothing queued on it goes out after.
    fn close_bootstrap_conn(&mut self) {
        self.bs_endpoint.close();
        self.outbox.push_back(Action::Close { conn: BOOTSTRAP_CONN });
    }

    /// Queue the datagrams the bootstrap endpoint wants to send.
    fn flush_bootstrap(&mut self) {
        while let Some(d) = self.bs_endpoint.poll_transmit() {
            self.outbox.push_back(Action::Send { conn: BOOTSTRAP_CONN, data: d });
        }
    }

    fn flush_sessions(&mut self) {
        for s in &mut self.sessions {
            while let Some(d) = s.endpoint.poll_transmit() {
                self.outbox.push_back(Action::Send { conn: s.conn, data: d });
            }
        }
    }

    /// Queue a record for storage; one too large to be read back at the next
    /// boot is refused here, loudly, instead of vanishing then.
    pub(super) fn store(&mut self, id: u16, payload: &[u8]) {
        if payload.len() + 8 > crate::limits::MAX_RECORD_LEN {
            log!(LOG_ERR, "record ", id, " too large to store: ", payload.len());
            return;
        }
        self.outbox.push_back(Action::Store { id, data: storage::frame(payload) });
    }

    /// Store the objects and locations, then the flag (last: a power cut
    /// before it means "bootstrap again").
    fn persist(&mut self) {
        self.persist_objects();
        self.store(storage::MISC, &[self.bootstrapped as u8]);
    }

    /// Store the configuration (Security, Server, Access Control) and the
    /// registration locations. A configuration that would not read back is
    /// not stored (Bootstrap-Finish refuses those, see `check_storable`;
    /// this is the last guard), so the record on flash stays the old one.
    fn persist_objects(&mut self) {
        if let Err(why) = self.objects.check_storable() {
            log!(LOG_ERR, "configuration not stored: ", why);
            return;
        }
        self.store(storage::SECURITY, &self.objects.encode_security());
        self.store(storage::SERVER, &self.objects.encode_server());
        self.store(storage::ACL, &self.objects.encode_acl());
        self.store(storage::LOCATIONS, &encode_locations(&self.locations));
    }

    /// Server accounts whose PSK lives in the modem: (sec tag, index).
    /// Accounts past the third get no tag and are not served.
    fn psk_accounts(&self) -> impl Iterator<Item = (u32, &security::SecurityInstance)> {
        self.objects
            .security
            .instances
            .iter()
            .filter(|s| !s.bootstrap)
            .enumerate()
            .filter_map(|(i, sec)| carrier::server_sec_tag(i).map(|tag| (tag, sec)))
            .filter(|(_, sec)| sec.uri.starts_with("coaps://") && sec.mode == security::mode::PSK)
    }

    fn persist_locations(&mut self) {
        self.store(storage::LOCATIONS, &encode_locations(&self.locations));
    }

    fn link_up(&mut self, then: AfterLink) {
        self.emit(Event::Connecting);
        self.step = Step::LinkUpCmd(then);
        self.request(Action::At(cmd::LINK_UP));
    }

    /// Take the link offline, write `writes`, bring it back, then `then`.
    fn offline_cycle(&mut self, writes: Fifo<Action>, then: AfterLink, commit_bootstrap: bool) {
        self.emit(Event::Disconnecting);
        self.step = Step::GoingOffline(KeyJob { writes, then, commit_bootstrap });
        self.request(Action::At(cmd::LINK_OFFLINE));
    }

    fn next_key_write(&mut self, mut job: KeyJob) {
        match job.writes.pop_front() {
            Some(a) => {
                self.step = Step::WritingKeys(job);
                self.request(a);
            }
            None => {
                if job.commit_bootstrap {
                    self.store(storage::MISC, &[1]);
                }
                self.link_up(job.then)
            }
        }
    }

    // ----- inputs ----------------------------------------------------------

    /// The result of the last action that needed one.
    pub fn handle_result(&mut self, now: Instant, res: ActionResult) {
        if !self.awaiting {
            return;
        }
        self.awaiting = false;
        let step = core::mem::replace(&mut self.step, Step::Idle);
        match step {
            Step::InitAt(i) => {
                if let Err(e) = res {
                    let cmd = INIT_AT.get(i).copied().unwrap_or_default();
                    if i < 2 {
                        log!(LOG_ERR, cmd, " failed: ", e);
                        self.init_result = Some(-1);
                        self.step = Step::Stopped;
                        return;
                    }
                    log!(LOG_WRN, cmd, " failed: ", e);
                }
                if let Some(&next) = INIT_AT.get(i + 1) {
                    self.step = Step::InitAt(i + 1);
                    self.request(Action::At(next));
                } else {
                    self.link_up(AfterLink::InitIdentity);
                }
            }
            Step::LinkUpCmd(then) => match res {
                Ok(_) => {
                    let deadline = now.add_secs(carrier::LINK_UP_TIMEOUT_S);
                    self.step = Step::WaitRegistration { deadline, then };
                }
                Err(e) => self.link_failed(e),
            },
            Step::Identity(i) => self.identity_result(now, i, res),
            Step::CheckingKeys(n) => self.key_check_result(now, n, res),
            Step::GoingOffline(job) => match res {
                Ok(_) => {
                    self.link_status = RegStatus::NotRegistered;
                    self.emit(Event::Disconnected);
                    self.next_key_write(job);
                }
                Err(e) => {
                    log!(LOG_ERR, "AT+CFUN=4 failed: ", e);
                    self.stop_with_error(crate::api::LWM2M_CARRIER_ERROR_DISCONNECT_FAIL, e);
                }
            },
            Step::WritingKeys(job) => match res {
                Ok(_) => self.next_key_write(job),
                Err(e) if e == -err::ENOENT => self.next_key_write(job),
                Err(e) => {
                    log!(LOG_ERR, "credential write failed: ", e);
                    self.stop_with_error(crate::api::LWM2M_CARRIER_ERROR_BOOTSTRAP, e);
                }
            },
            Step::BsOpening => match res {
                Ok(_) => self.send_bootstrap_request(now),
                Err(e) => {
                    log!(LOG_WRN, "bootstrap server connection failed: ", e);
                    let reason = if e == -err::ENOROUTE {
                        crate::api::LWM2M_CARRIER_DEFERRED_BOOTSTRAP_NO_ROUTE
                    } else {
                        crate::api::LWM2M_CARRIER_DEFERRED_BOOTSTRAP_CONNECT
                    };
                    self.defer_bootstrap(now, reason, false);
                }
            },
            Step::Servers => {
                self.step = Step::Servers;
                self.session_open_result(now, res);
                self.flush_sessions();
            }
            other => {
                self.step = other;
            }
        }
    }

    fn link_failed(&mut self, e: i32) {
        log!(LOG_ERR, "LTE link up failed: ", e);
        self.emit(Event::Error { code: crate::api::LWM2M_CARRIER_ERROR_CONNECT_FAIL, value: e });
        if self.init_result.is_none() {
            self.init_result = Some(e);
        }
        self.close_all();
        self.step = Step::Stopped;
    }

    fn identity_result(&mut self, now: Instant, i: usize, res: ActionResult) {
        let text = res.as_deref().unwrap_or("");
        match IDENTITY_AT.get(i).copied().unwrap_or_default() {
            cmd::IMEI => match modem::parse_imei(text) {
                Some(imei) => {
                    self.identity.imei = String::from(imei);
                    self.endpoint_name = carrier::endpoint_name(imei);
                }
                None => {
                    log!(LOG_ERR, "cannot read the IMEI");
                    self.init_result = Some(-crate::errno::EIO);
                    self.step = Step::Stopped;
                    return;
                }
            },
            cmd::OPERATOR_ID => self.operator = modem::parse_operator_id(text).unwrap_or(0),
            cmd::MANUFACTURER => self.identity.manufacturer = String::from(modem::parse_text(text).unwrap_or("")),
            cmd::MODEL => {
                self.identity.model = String::from(modem::model_number(modem::parse_text(text).unwrap_or("")))
            }
            cmd::FIRMWARE => self.identity.firmware_version = String::from(modem::parse_text(text).unwrap_or("")),
            _ => self.identity.hardware_version = modem::parse_hw_version(text).map(String::from),
        }
        if let Some(&next) = IDENTITY_AT.get(i + 1) {
            self.step = Step::Identity(i + 1);
            self.request(Action::At(next));
        } else {
            log!(LOG_INF, "endpoint ", self.endpoint_name.clone(), ", operator ", self.operator);
            self.outbox.push_back(Action::SetModemIdentity(self.identity.clone()));
            self.init_result = Some(0);
            // The rest happens in lwm2m_carrier_run() (see `begin_run`).
            self.step = Step::Idle;
            let _ = now;
        }
    }

    /// The link is up (home or roaming) and init is done: decide what to do.
    fn link_ready(&mut self, now: Instant) {
        if self.link_status == RegStatus::Roaming {
            // §7.4: no LwM2M traffic while roaming; the application may use LTE.
            self.lte_ready();
            self.step = Step::Idle;
            return;
        }
        if self.bootstrapped && self.objects.has_server() && !self.keys_checked {
            self.check_next_key(now, 0);
        } else if self.bootstrapped && self.objects.has_server() {
            self.lte_ready();
            self.start_servers(now);
        } else if self.config.bootstrap_uri.as_deref().is_none_or(str::is_empty) {
            log!(LOG_WRN, "no bootstrap URI configured: not connecting to any LwM2M server");
            self.lte_ready();
            self.step = Step::Idle;
        } else if !self.bs_keys_written {
            let mut writes = Fifo::new();
            writes.push_back(Action::SecWrite {
                tag: BOOTSTRAP_SEC_TAG,
                kind: SecKind::Identity,
                data: self.endpoint_name.clone().into_bytes(),
            });
            writes.push_back(match &self.config.psk {
                Some(psk) => Action::SecWrite { tag: BOOTSTRAP_SEC_TAG, kind: SecKind::Psk, data: psk.clone().into_bytes() },
                None => Action::SecDelete { tag: BOOTSTRAP_SEC_TAG, kind: SecKind::Psk },
            });
            self.bs_keys_written = true;
            self.offline_cycle(writes, AfterLink::Bootstrap, false);
        } else {
            self.bootstrap_open();
        }
    }

    /// Second boot: ask the modem whether the PSK of the `n`-th keyed
    /// server account is there; past the last, go on as bootstrapped.
    fn check_next_key(&mut self, now: Instant, n: usize) {
        let tag = self.psk_accounts().nth(n).map(|(tag, _)| tag);
        match tag {
            Some(tag) => {
                self.step = Step::CheckingKeys(n);
                self.request(Action::SecExists { tag, kind: SecKind::Psk });
            }
            None => {
                self.keys_checked = true;
                self.link_ready(now);
            }
        }
    }

    fn key_check_result(&mut self, now: Instant, n: usize, res: ActionResult) {
        match res {
            Ok(_) => self.check_next_key(now, n + 1),
            Err(e) if e == -err::ENOENT => {
                // Stored state inconsistent (e.g. written by a build that
                // stored the flag before the keys, or keys deleted by the
                // application): the stored servers cannot be reached.
                let tag = self.psk_accounts().nth(n).map_or(0, |(t, _)| t);
                log!(LOG_ERR, "stored state inconsistent: bootstrapped, but no PSK under sec tag ", tag, ": bootstrapping again");
                let uri = self.config.bootstrap_uri.clone().unwrap_or_default();
                self.objects = Objects::factory(&uri, self.config.psk.is_some());
                self.bootstrapped = false;
                self.locations.clear();
                self.stored_reporting.clear();
                self.store(storage::MISC, &[0]);
                self.keys_checked = true;
                self.link_ready(now);
            }
            Err(e) => {
                // The modem cannot tell: trust the stored state (a missing key
                // then shows as a failing handshake, deferred as usual).
                log!(LOG_WRN, "cannot check the server PSK: ", e);
                self.check_next_key(now, n + 1);
            }
        }
    }

    fn lte_ready(&mut self) {
        if !self.lte_ready_sent {
            self.lte_ready_sent = true;
            self.emit(Event::LteReady);
        }
    }

    /// An unsolicited AT notification.
    pub fn handle_at_notif(&mut self, now: Instant, line: &str) {
        let Some(stat) = modem::parse_cereg_notif(line) else { return };
        if matches!(self.step, Step::Servers) && self.link_status.is_registered() && stat != self.link_status {
            // Not acted upon yet (a later issue): a lost link shows up as
            // failing sends, which reconnect and defer as usual.
            log!(LOG_WRN, "network registration changed while serving: +CEREG ", line.as_bytes());
        }
        self.link_status = stat;
        if let Step::WaitRegistration { then, .. } = self.step {
            if stat.is_registered() && !self.awaiting {
                self.emit(Event::Connected);
                match then {
                    AfterLink::InitIdentity => {
                        self.step = Step::Identity(0);
                        self.request(Action::At(IDENTITY_AT[0]));
                    }
                    AfterLink::Bootstrap => {
                        if stat == RegStatus::Roaming {
                            self.lte_ready();
                            self.step = Step::Idle;
                        } else {
                            self.bootstrap_open();
                        }
                    }
                    AfterLink::Servers => {
                        self.lte_ready();
                        self.start_servers(now);
                    }
                }
            }
        }
    }

    /// A datagram arrived on `conn`. `env` gives the objects the platform
    /// values they read (never called under the shared lock).
    pub fn handle_datagram(&mut self, now: Instant, conn: ConnId, data: &[u8], env: &mut dyn Env) {
        if conn == BOOTSTRAP_CONN {
            if matches!(self.step, Step::BsRequested | Step::BsSession { .. }) {
                self.bootstrap_datagram(now, data);
                self.flush_bootstrap();
            }
            return;
        }
        if matches!(self.step, Step::Servers) {
            self.session_datagram(now, conn, data, env);
            self.flush_sessions();
        }
    }

    /// A connection broke (receive/send error).
    pub fn handle_conn_error(&mut self, now: Instant, conn: ConnId, e: i32) {
        log!(LOG_WRN, "connection ", conn as u32, " lost: ", e);
        if conn == BOOTSTRAP_CONN {
            if matches!(self.step, Step::BsRequested | Step::BsSession { .. }) {
                self.defer_bootstrap(now, crate::api::LWM2M_CARRIER_DEFERRED_BOOTSTRAP_SEQUENCE, true);
            }
        } else if matches!(self.step, Step::Servers) {
            self.session_lost(now, conn);
        }
    }

    /// The application changed Device object values (setters): observations
    /// of /3 may owe a notification.
    pub fn handle_device_changed(&mut self, now: Instant, env: &mut dyn Env) {
        if matches!(self.step, Step::Servers) {
            self.sessions_changed(now, &Path::Object(crate::objects::device::OBJECT_ID), env);
        }
    }

    /// Time passed: retransmissions, deadlines, retries, notifications.
    pub fn handle_timeout(&mut self, now: Instant, env: &mut dyn Env) {
        match self.step.clone() {
            Step::WaitRegistration { deadline, .. } if now >= deadline => {
                self.link_failed(-err::ETIMEDOUT);
            }
            Step::BsDeferred { until } if now >= until => self.bootstrap_open(),
            Step::BsRequested | Step::BsSession { .. } => {
                if let Some(Timeout::GaveUp { .. }) = self.bs_endpoint.handle_timeout(now) {
                    log!(LOG_WRN, "bootstrap server did not answer");
                    self.defer_bootstrap(now, crate::api::LWM2M_CARRIER_DEFERRED_BOOTSTRAP_SEQUENCE, true);
                } else if let Step::BsSession { deadline } = self.step {
                    if now >= deadline {
                        log!(LOG_WRN, "bootstrap sequence not completed in time");
                        self.defer_bootstrap(now, crate::api::LWM2M_CARRIER_DEFERRED_BOOTSTRAP_SEQUENCE, true);
                    }
                }
                self.flush_bootstrap();
            }
            Step::Servers => {
                self.sessions_handle_timeout(now, env);
                self.flush_sessions();
            }
            _ => {}
        }
    }

    // ----- bootstrap (TS §5.2) --------------------------------------------

    fn bootstrap_open(&mut self) {
        let uri = self.config.bootstrap_uri.clone().unwrap_or_default();
        match ServerUri::parse(&uri) {
            Some(u) => {
                self.step = Step::BsOpening;
                self.request(Action::Open {
                    conn: BOOTSTRAP_CONN,
                    host: u.host,
                    port: u.port,
                    sec_tag: u.secure.then_some(BOOTSTRAP_SEC_TAG),
                    local_port: BOOTSTRAP_LOCAL_PORT,
                });
            }
            None => {
                log!(LOG_ERR, "invalid bootstrap URI: ", uri);
                self.stop_with_error(crate::api::LWM2M_CARRIER_ERROR_BOOTSTRAP, 0);
            }
        }
    }

    fn send_bootstrap_request(&mut self, now: Instant) {
        let mid = self.bs_endpoint.next_mid();
        let token = self.bs_endpoint.next_token();
        let mut w = match MessageWriter::new(MsgType::Con, Code::POST, mid, &token) {
            Ok(w) => w,
            Err(_) => return,
        };
        let mut q = String::from("ep=");
        q.push_str(&self.endpoint_name);
        let ok = w.option(option::URI_PATH, b"bs").and_then(|w| w.option(option::URI_QUERY, q.as_bytes())).is_ok();
        if !ok {
            self.defer_bootstrap(now, crate::api::LWM2M_CARRIER_DEFERRED_BOOTSTRAP_SEQUENCE, true);
            return;
        }
        log!(LOG_INF, "bootstrap request for ", self.endpoint_name.clone());
        // What a failed bootstrap returns to: the bootstrap server may
        // write and delete anything from here on.
        self.before_bootstrap = Some(self.objects.clone());
        let _ = self.bs_endpoint.send_request(now, mid, &token, true, w.finish());
        self.step = Step::BsRequested;
        self.flush_bootstrap();
    }

    /// Failed bootstrap attempt: close, roll back, tell the application, retry later.
    fn defer_bootstrap(&mut self, now: Instant, reason: u32, close: bool) {
        if close {
            self.close_bootstrap_conn();
        }
        self.roll_back_bootstrap();
        self.bs_attempts = self.bs_attempts.saturating_add(1);
        let delay = carrier::retry_delay_s(self.operator, self.bs_attempts);
        self.emit(Event::Deferred { reason, timeout_s: delay as i32 });
        self.step = Step::BsDeferred { until: now.add_secs(delay as u64) };
    }

    fn bootstrap_datagram(&mut self, now: Instant, data: &[u8]) {
        match self.bs_endpoint.handle_datagram(now, data) {
            Incoming::Response(m) => {
                // The empty ACK of a separate response goes out before
                // whatever the response leads to (a Close among them).
                self.flush_bootstrap();
                if !matches!(self.step, Step::BsRequested) {
                    return;
                }
                if m.code == Code::CHANGED {
                    log!(LOG_INF, "bootstrap request accepted");
                    self.step = Step::BsSession { deadline: now.add_secs(BOOTSTRAP_SILENCE_S) };
                } else if m.code == Code::FORBIDDEN {
                    self.defer_bootstrap(now, crate::api::LWM2M_CARRIER_DEFERRED_BOOTSTRAP_SEQUENCE, true);
                } else {
                    log!(LOG_ERR, "bootstrap request refused: ", m.code.class() as u32, ".", m.code.detail() as u32);
                    self.close_bootstrap_conn();
                    self.roll_back_bootstrap();
                    self.stop_with_error(crate::api::LWM2M_CARRIER_ERROR_BOOTSTRAP, 0);
                }
            }
            // The bootstrap interface has no observations: a repeated
            // Observe GET is a request like any other.
            Incoming::Request(m) | Incoming::Repeat(m) => {
                // The server may start before our request's response arrives.
                if matches!(self.step, Step::BsRequested) && self.bs_endpoint.busy() {
                    self.bs_endpoint.cancel_request();
                }
                let deadline = now.add_secs(BOOTSTRAP_SILENCE_S);
                self.step = Step::BsSession { deadline };
                self.bootstrap_request(now, &m);
            }
            Incoming::Handled => {
                // A retransmitted request (answered again from the
                // deduplication cache): the server is alive, and its next
                // request may still be on its way.
                if let Step::BsSession { .. } = self.step {
                    self.step = Step::BsSession { deadline: now.add_secs(BOOTSTRAP_SILENCE_S) };
                }
            }
            Incoming::Reset { of_request: true, .. } => {
                if matches!(self.step, Step::BsRequested) {
                    self.defer_bootstrap(now, crate::api::LWM2M_CARRIER_DEFERRED_BOOTSTRAP_SEQUENCE, true);
                }
            }
            Incoming::Reset { .. } | Incoming::Malformed => {}
        }
    }

    /// A request of the bootstrap interface (TS §5.2.7).
    fn bootstrap_request(&mut self, now: Instant, m: &Message) {
        let (code, payload, cf) = self.bootstrap_operation(m);
        let finish = code == Code::CHANGED && m.code == Code::POST && is_bs_finish(m);
        respond(&mut self.bs_endpoint, now, m, code, cf, &payload);
        if finish {
            self.flush_bootstrap();
            self.bootstrap_finished(now);
        }
    }

    fn bootstrap_operation(&mut self, m: &Message) -> (Code, Vec<u8>, Option<u16>) {
        if let Some(c) = m.unknown_critical(KNOWN_OPTIONS) {
            log!(LOG_WRN, "unknown critical option ", c);
            return (Code::BAD_OPTION, Vec::new(), None);
        }
        if m.code == Code::POST && is_bs_finish(m) {
            if !self.objects.has_server() {
                log!(LOG_WRN, "bootstrap finish without a usable server account");
                return (Code::NOT_ACCEPTABLE, Vec::new(), None);
            }
            // TS 1.0.2 §5.2.7.6: the client checks the configuration at
            // Bootstrap-Finish; one that would not read back after a reboot
            // (and so bootstrap again at every boot) is refused.
            if let Err(why) = self.objects.check_storable() {
                log!(LOG_WRN, "bootstrap finish refused: ", why);
                return (Code::BAD_REQUEST, Vec::new(), None);
            }
            let accounts = self.objects.security.instances.iter().filter(|s| !s.bootstrap).count();
            if accounts > carrier::MAX_SERVER_ACCOUNTS {
                log!(LOG_WRN, "bootstrap wrote ", accounts, " server accounts: only the first 3 are served");
            }
            return (Code::CHANGED, Vec::new(), None);
        }
        let path = match Path::parse(m.options_of(option::URI_PATH)) {
            Ok(p) => p,
            Err(_) => return (Code::BAD_REQUEST, Vec::new(), None),
        };
        match m.code {
            Code::DELETE => match self.objects.bootstrap_delete(&path) {
                Ok(()) => (Code::DELETED, Vec::new(), None),
                Err(c) => (c.into(), Vec::new(), None),
            },
            Code::PUT => {
                let cf = match content_format(m) {
                    Ok(cf) => cf,
                    Err(c) => return (c, Vec::new(), None),
                };
                match self.objects.bootstrap_write(&path, cf, m.payload) {
                    Ok(()) => (Code::CHANGED, Vec::new(), None),
                    Err(c) => {
                        log!(LOG_WRN, "bootstrap write rejected");
                        (c.into(), Vec::new(), None)
                    }
                }
            }
            Code::GET if path == Path::Root => {
                if m.accept().is_some_and(|a| a != ContentFormat::Link.cf()) {
                    return (Code::NOT_ACCEPTABLE, Vec::new(), None);
                }
                let mut out = Vec::new();
                self.objects.bootstrap_discover(&mut out);
                (Code::CONTENT, out, Some(ContentFormat::Link.cf()))
            }
            _ => (Code::METHOD_NOT_ALLOWED, Vec::new(), None),
        }
    }

    /// Bootstrap again while running (Bootstrap-Request Trigger): the
    /// bootstrap credentials are still in the modem.
    pub(super) fn bootstrap_again(&mut self, _now: Instant) {
        self.bs_attempts = 0;
        self.bootstrap_open();
    }

    /// A bootstrap failed: the objects return to what they were before it.
    fn roll_back_bootstrap(&mut self) {
        if let Some(before) = self.before_bootstrap.take() {
            self.objects = before;
        }
    }

    /// Bootstrap-Finish answered 2.04: store the configuration, write the
    /// server keys, and only then the "bootstrapped" flag (behaviour.md
    /// §7.7). Order on flash and in the modem:
    /// 1. flag cleared (a re-bootstrap: the old flag must not vouch for the
    ///    new configuration),
    /// 2. Security/Server/ACL/locations,
    /// 3. keys into sec tags 26.. (offline, §7.5),
    /// 4. flag set.
    ///
    /// A power cut anywhere before 4 boots into a new bootstrap.
    fn bootstrap_finished(&mut self, now: Instant) {
        log!(LOG_INF, "bootstrap finished");
        self.before_bootstrap = None;
        self.close_bootstrap_conn();
        self.bs_attempts = 0;
        self.bootstrapped = true;
        self.keys_checked = true;
        self.locations.clear();
        self.emit(Event::Bootstrapped);
        self.store(storage::MISC, &[0]);
        self.persist_objects();
        let mut writes = Fifo::new();
        self.sessions.clear();
        for (tag, sec) in self.psk_accounts() {
            writes.push_back(Action::SecWrite { tag, kind: SecKind::Identity, data: sec.identity.clone() });
            writes.push_back(Action::SecWrite { tag, kind: SecKind::Psk, data: hex(&sec.secret_key) });
        }
        if writes.is_empty() {
            self.store(storage::MISC, &[1]);
            self.lte_ready();
            self.start_servers(now);
        } else {
            self.offline_cycle(writes, AfterLink::Servers, true);
        }
    }
}

/// The CoAP answer to an object's refusal (TS §5.4 response codes).
impl From<crate::objects::model::Error> for Code {
    fn from(e: crate::objects::model::Error) -> Code {
        use crate::objects::model::Error;
        match e {
            Error::BadRequest => Code::BAD_REQUEST,
            Error::NotFound => Code::NOT_FOUND,
            Error::NotAllowed => Code::METHOD_NOT_ALLOWED,
            Error::NotAcceptable => Code::NOT_ACCEPTABLE,
            Error::TooLarge => Code::REQUEST_ENTITY_TOO_LARGE,
            Error::UnsupportedFormat => Code::UNSUPPORTED_CONTENT_FORMAT,
            Error::Internal => Code::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Options the client understands (others that are critical → 4.02).
pub(crate) const KNOWN_OPTIONS: &[u16] = &[
    option::OBSERVE,
    option::URI_PATH,
    option::CONTENT_FORMAT,
    option::URI_QUERY,
    option::ACCEPT,
    option::BLOCK1,
    option::BLOCK2,
    option::SIZE1,
    option::SIZE2,
];

fn is_bs_finish(m: &Message) -> bool {
    let mut it = m.options_of(option::URI_PATH);
    matches!((it.next(), it.next()), (Some(b"bs"), None))
}

/// The request's Content-Format (default plain text when absent, TS §6.4).
pub(crate) fn content_format(m: &Message) -> Result<ContentFormat, Code> {
    match m.content_format() {
        None => Ok(ContentFormat::Text),
        Some(cf) => ContentFormat::from_cf(cf).ok_or(Code::UNSUPPORTED_CONTENT_FORMAT),
    }
}

/// Answer request `m` (piggy-backed on the ACK for CON, NON for NON).
pub(crate) fn respond(ep: &mut Endpoint, now: Instant, m: &Message, code: Code, cf: Option<u16>, payload: &[u8]) {
    let (t, mid) = if m.mtype == MsgType::Con { (MsgType::Ack, m.mid) } else { (MsgType::Non, ep.next_mid()) };
    let Ok(mut w) = MessageWriter::new(t, code, mid, m.token) else { return };
    if let Some(cf) = cf {
        if w.uint_option(option::CONTENT_FORMAT, cf as u32).is_err() {
            return;
        }
    }
    // RFC 7959 §2.9.3: a 4.13 says how large a body the client takes; the
    // bootstrap interface has no block-wise transfer, so one datagram.
    if code == Code::REQUEST_ENTITY_TOO_LARGE && w.uint_option(option::SIZE1, crate::limits::MAX_DATAGRAM as u32).is_err() {
        return;
    }
    let bytes = match w.payload(payload) {
        Ok(_) => w.finish(),
        Err(_) => {
            // Too large for one datagram (block-wise comes later): 5.00.
            match MessageWriter::new(t, Code::INTERNAL_SERVER_ERROR, mid, m.token) {
                Ok(w) => w.finish(),
                Err(_) => return,
            }
        }
    };
    if m.mtype == MsgType::Con {
        ep.respond(now, m.mid, bytes);
    } else {
        ep.send_raw(bytes);
    }
}

/// Lower-case hex of `b` (how PSKs are written to the modem, §7.5).
pub fn hex(b: &[u8]) -> Vec<u8> {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(b.len() * 2);
    for &x in b {
        // Two 4-bit indexes into a 16-entry table: `get` never misses.
        out.extend(H.get((x >> 4) as usize));
        out.extend(H.get((x & 15) as usize));
    }
    out
}
