//! One LwM2M server account: connection, Register, Update, and the device
//! management requests it sends (OMA-TS-LightweightM2M-V1_0_2 §5.3, §5.4).

use alloc::string::String;
use alloc::vec::Vec;

use super::{content_format, respond, Action, ActionResult, ConnId, Engine, Event, ServerUri, Step, KNOWN_OPTIONS};
use crate::capi::{LWM2M_CARRIER_DEFERRED_SERVER_CONNECT, LWM2M_CARRIER_DEFERRED_SERVER_NO_ROUTE, LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION};
use crate::carrier::{self, BOOTSTRAP_SEC_TAG, SERVER_LOCAL_PORT_BASE, UPDATE_EARLY_S};
use crate::coap::endpoint::{Endpoint, Incoming, Timeout};
use crate::coap::msg::{option, Code, Message, MessageWriter, MsgType};
use crate::log;
use crate::lwm2m::format::ContentFormat;
use crate::lwm2m::link::LinkWriter;
use crate::lwm2m::path::Path;
use crate::objects::device::{self, Device};
use crate::objects::{server, Caller};
use crate::os::err;
use crate::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SessionState {
    /// Not connected; will be opened when its turn comes.
    Idle,
    /// Open requested, result pending.
    Opening,
    /// Register sent.
    Registering,
    /// Update sent.
    Updating,
    /// Registered; the next Update is due at `next_update`.
    Registered { next_update: Instant },
    /// Waiting to retry after a failure.
    Deferred { until: Instant },
}

pub(super) struct ServerSession {
    pub conn: ConnId,
    pub ssid: u16,
    pub uri: ServerUri,
    pub sec_tag: Option<u32>,
    pub local_port: u16,
    pub lifetime_s: u32,
    /// Lifetime last told to the server (a change is sent with the next Update).
    pub registered_lifetime_s: u32,
    pub binding: String,
    pub endpoint: Endpoint,
    pub state: SessionState,
    pub attempts: u32,
    pub registered: bool,
}

impl ServerSession {
    pub fn is_open(&self) -> bool {
        matches!(self.state, SessionState::Registering | SessionState::Updating | SessionState::Registered { .. })
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let own = match self.state {
            SessionState::Registered { next_update } => Some(next_update),
            SessionState::Deferred { until } => Some(until),
            _ => None,
        };
        match (own, self.endpoint.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Split a location path "/rd/5a3f" into Uri-Path options.
fn add_location(w: &mut MessageWriter, location: &str) -> bool {
    location
        .split('/')
        .filter(|s| !s.is_empty())
        .all(|seg| w.option(option::URI_PATH, seg.as_bytes()).is_ok())
}

impl Engine {
    /// Build the sessions from the bootstrapped accounts and start opening them.
    pub(super) fn start_servers(&mut self, _now: Instant) {
        self.step = Step::Servers;
        if self.sessions.is_empty() {
            let mut n = 0u8;
            let mut tag_index = 0u32;
            let mut sessions = Vec::new();
            for sec in self.objects.security.iter().filter(|s| !s.bootstrap) {
                tag_index += 1;
                let Some(srv) = self.objects.server.iter().find(|s| s.ssid == sec.ssid) else { continue };
                let Some(uri) = ServerUri::parse(&sec.uri) else {
                    log!(LOG_WRN, "invalid server URI: ", sec.uri.clone());
                    continue;
                };
                n += 1;
                let seed = self.seed.wrapping_mul(31).wrapping_add(n as u32);
                sessions.push(ServerSession {
                    conn: n,
                    ssid: sec.ssid,
                    sec_tag: uri.secure.then_some(BOOTSTRAP_SEC_TAG + tag_index),
                    uri,
                    local_port: SERVER_LOCAL_PORT_BASE + n as u16,
                    lifetime_s: srv.lifetime_s,
                    registered_lifetime_s: srv.lifetime_s,
                    binding: srv.binding.clone(),
                    endpoint: Endpoint::new(seed as u16, seed),
                    state: SessionState::Idle,
                    attempts: 0,
                    registered: false,
                });
            }
            self.sessions = sessions;
        }
        if self.sessions.is_empty() {
            log!(LOG_WRN, "no usable LwM2M server account");
            self.step = Step::Idle;
            return;
        }
        self.open_next_session();
    }

    /// Open the first idle session (one open at a time: it blocks the driver).
    fn open_next_session(&mut self) {
        if self.awaiting {
            return;
        }
        let Some(s) = self.sessions.iter_mut().find(|s| s.state == SessionState::Idle) else { return };
        s.state = SessionState::Opening;
        let a = Action::Open {
            conn: s.conn,
            host: s.uri.host.clone(),
            port: s.uri.port,
            sec_tag: s.sec_tag,
            local_port: s.local_port,
        };
        self.request(a);
    }

    fn session_index(&self, conn: ConnId) -> Option<usize> {
        self.sessions.iter().position(|s| s.conn == conn)
    }

    pub(super) fn session_open_result(&mut self, now: Instant, res: ActionResult) {
        let Some(i) = self.sessions.iter().position(|s| s.state == SessionState::Opening) else { return };
        match res {
            Ok(_) => {
                let has_location = self.locations.iter().any(|(ssid, _)| *ssid == self.sessions[i].ssid);
                if has_location {
                    self.send_update(now, i);
                } else {
                    self.send_register(now, i);
                }
            }
            Err(e) => {
                log!(LOG_WRN, "server connection failed: ", e);
                let reason = if e == -err::ENOROUTE {
                    LWM2M_CARRIER_DEFERRED_SERVER_NO_ROUTE
                } else {
                    LWM2M_CARRIER_DEFERRED_SERVER_CONNECT
                };
                self.defer_session(now, i, reason, false);
            }
        }
        self.open_next_session();
    }

    fn defer_session(&mut self, now: Instant, i: usize, reason: u32, close: bool) {
        let s = &mut self.sessions[i];
        s.endpoint.cancel_request();
        if close {
            self.outbox.push_back(Action::Close { conn: s.conn });
        }
        s.attempts = s.attempts.saturating_add(1);
        let delay = carrier::retry_delay_s(self.operator, s.attempts);
        s.state = SessionState::Deferred { until: now.add_secs(delay as u64) };
        self.emit(Event::Deferred { reason, timeout_s: delay as i32 });
    }

    fn send_register(&mut self, now: Instant, i: usize) {
        let mut links = Vec::new();
        self.objects.registration_links(&mut links);
        let s = &mut self.sessions[i];
        let mid = s.endpoint.next_mid();
        let token = s.endpoint.next_token();
        let mut query_ep = String::from("ep=");
        query_ep.push_str(&self.endpoint_name);
        let mut query_lt = String::from("lt=");
        push_u32(&mut query_lt, s.lifetime_s);
        let mut query_b = String::from("b=");
        query_b.push_str(&s.binding);
        let built = MessageWriter::new(MsgType::Con, Code::POST, mid, &token).and_then(|mut w| {
            w.option(option::URI_PATH, b"rd")?;
            w.uint_option(option::CONTENT_FORMAT, ContentFormat::Link.cf() as u32)?;
            w.option(option::URI_QUERY, query_ep.as_bytes())?;
            w.option(option::URI_QUERY, query_lt.as_bytes())?;
            // TS 1.0 §5.3.1: optional, default 1.0 — stated anyway, because
            // some servers (Leshan 2.0.0-M4) refuse a Register without it.
            w.option(option::URI_QUERY, b"lwm2m=1.0")?;
            w.option(option::URI_QUERY, query_b.as_bytes())?;
            w.payload(&links)?;
            Ok(w.finish())
        });
        let Ok(bytes) = built else { return };
        log!(LOG_INF, "register to server ", s.ssid, ", lifetime ", s.lifetime_s);
        s.registered_lifetime_s = s.lifetime_s;
        let _ = s.endpoint.send_request(now, mid, &token, true, bytes);
        s.state = SessionState::Registering;
    }

    fn send_update(&mut self, now: Instant, i: usize) {
        let Some(loc) = self.locations.iter().find(|(ssid, _)| *ssid == self.sessions[i].ssid).map(|(_, l)| l.clone()) else {
            self.send_register(now, i);
            return;
        };
        let s = &mut self.sessions[i];
        let mid = s.endpoint.next_mid();
        let token = s.endpoint.next_token();
        let Ok(mut w) = MessageWriter::new(MsgType::Con, Code::POST, mid, &token) else { return };
        if !add_location(&mut w, &loc) {
            return;
        }
        if s.lifetime_s != s.registered_lifetime_s {
            let mut q = String::from("lt=");
            push_u32(&mut q, s.lifetime_s);
            if w.option(option::URI_QUERY, q.as_bytes()).is_err() {
                return;
            }
            s.registered_lifetime_s = s.lifetime_s;
        }
        log!(LOG_DBG, "registration update to server ", s.ssid);
        let _ = s.endpoint.send_request(now, mid, &token, true, w.finish());
        s.state = SessionState::Updating;
    }

    fn registered(&mut self, now: Instant, i: usize) {
        let s = &mut self.sessions[i];
        s.attempts = 0;
        s.registered = true;
        let early = (s.lifetime_s as u64).saturating_sub(UPDATE_EARLY_S).max(1);
        s.state = SessionState::Registered { next_update: now.add_secs(early) };
        if !self.registered_sent && self.sessions.iter().all(|s| s.registered) {
            self.registered_sent = true;
            log!(LOG_INF, "registered");
            self.emit(Event::Registered);
        }
    }

    pub(super) fn session_lost(&mut self, now: Instant, conn: ConnId) {
        let Some(i) = self.session_index(conn) else { return };
        if self.sessions[i].is_open() {
            // Reconnect; a stored location makes it an Update.
            self.sessions[i].endpoint.cancel_request();
            self.outbox.push_back(Action::Close { conn });
            self.sessions[i].state = SessionState::Idle;
            let _ = now;
            self.open_next_session();
        }
    }

    pub(super) fn sessions_timeout(&mut self, now: Instant) {
        for i in 0..self.sessions.len() {
            if let Some(Timeout::GaveUp { .. }) = self.sessions[i].endpoint.handle_timeout(now) {
                match self.sessions[i].state {
                    SessionState::Updating => {
                        // §7.8: Update timeout → close and reconnect.
                        log!(LOG_WRN, "registration update timed out: reconnecting");
                        self.sessions[i].attempts = self.sessions[i].attempts.saturating_add(1);
                        if self.sessions[i].attempts > 1 {
                            self.defer_session(now, i, LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION, true);
                        } else {
                            let conn = self.sessions[i].conn;
                            self.outbox.push_back(Action::Close { conn });
                            self.sessions[i].state = SessionState::Idle;
                        }
                    }
                    SessionState::Registering => {
                        log!(LOG_WRN, "registration timed out");
                        self.defer_session(now, i, LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION, true);
                    }
                    _ => {}
                }
            }
            match self.sessions[i].state {
                SessionState::Registered { next_update } if now >= next_update => self.send_update(now, i),
                SessionState::Deferred { until } if now >= until => self.sessions[i].state = SessionState::Idle,
                _ => {}
            }
        }
        self.open_next_session();
    }

    pub(super) fn session_datagram(&mut self, now: Instant, conn: ConnId, data: &[u8], device: &mut Device) {
        let Some(i) = self.session_index(conn) else { return };
        if !self.sessions[i].is_open() {
            return;
        }
        // Borrow dance: take the endpoint out while the message borrows `data`.
        let mut ep = core::mem::replace(&mut self.sessions[i].endpoint, Endpoint::new(0, 0));
        match ep.handle_datagram(now, data) {
            Incoming::Response(m) => {
                self.sessions[i].endpoint = ep;
                self.session_response(now, i, &m);
                return;
            }
            Incoming::Request(m) => {
                let after = self.dm_request(now, i, &mut ep, &m, device);
                self.sessions[i].endpoint = ep;
                // The response goes out before whatever the request triggers
                // (a reboot must not swallow its own 2.04).
                self.flush_sessions();
                self.after_dm(now, i, after);
                return;
            }
            Incoming::Reset { .. } => {
                let state = self.sessions[i].state;
                self.sessions[i].endpoint = ep;
                if matches!(state, SessionState::Registering | SessionState::Updating) {
                    self.defer_session(now, i, LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION, true);
                }
                return;
            }
            Incoming::Handled | Incoming::Malformed => {}
        }
        self.sessions[i].endpoint = ep;
    }

    fn session_response(&mut self, now: Instant, i: usize, m: &Message) {
        match self.sessions[i].state {
            SessionState::Registering if m.code == Code::CREATED => {
                let mut loc = String::new();
                for seg in m.options_of(option::LOCATION_PATH) {
                    let Ok(seg) = core::str::from_utf8(seg) else { continue };
                    loc.push('/');
                    loc.push_str(seg);
                }
                if loc.is_empty() || loc.len() > crate::limits::MAX_LOCATION_LEN {
                    log!(LOG_WRN, "registration without a usable location");
                    self.defer_session(now, i, LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION, true);
                    return;
                }
                log!(LOG_INF, "registered at ", loc.clone());
                let ssid = self.sessions[i].ssid;
                self.locations.retain(|(s, _)| *s != ssid);
                self.locations.push((ssid, loc));
                self.persist_locations();
                self.registered(now, i);
            }
            SessionState::Registering => {
                log!(LOG_WRN, "registration refused: ", m.code.class() as u32, ".", m.code.detail() as u32);
                self.defer_session(now, i, LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION, true);
            }
            SessionState::Updating if m.code == Code::CHANGED => self.registered(now, i),
            SessionState::Updating if matches!(m.code, Code::BAD_REQUEST | Code::FORBIDDEN | Code::NOT_FOUND) => {
                // §7.8: the server forgot us → register again.
                log!(LOG_INF, "server forgot the registration: registering again");
                let ssid = self.sessions[i].ssid;
                self.locations.retain(|(s, _)| *s != ssid);
                self.persist_locations();
                self.send_register(now, i);
            }
            SessionState::Updating => {
                self.defer_session(now, i, LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION, true);
            }
            _ => {}
        }
    }

    /// Serve one device-management request; returns what to do afterwards.
    fn dm_request(&mut self, now: Instant, i: usize, ep: &mut Endpoint, m: &Message, device: &mut Device) -> AfterDm {
        let (code, cf, payload, after) = self.dm_operation(i, m, device);
        respond(ep, now, m, code, cf, &payload);
        after
    }

    fn dm_operation(&mut self, i: usize, m: &Message, device: &mut Device) -> (Code, Option<u16>, Vec<u8>, AfterDm) {
        let fail = |c: Code| (c, None, Vec::new(), AfterDm::Nothing);
        if let Some(c) = m.unknown_critical(KNOWN_OPTIONS) {
            log!(LOG_WRN, "unknown critical option ", c);
            return fail(Code::BAD_OPTION);
        }
        let Ok(path) = Path::parse(m.options_of(option::URI_PATH)) else {
            return fail(Code::NOT_FOUND);
        };
        let accept = match m.accept() {
            None => None,
            Some(a) => match ContentFormat::from_cf(a) {
                Some(f) => Some(f),
                None => return fail(Code::NOT_ACCEPTABLE),
            },
        };
        match m.code {
            Code::GET if accept == Some(ContentFormat::Link) => match discover(&path, device) {
                Ok(out) => (Code::CONTENT, Some(ContentFormat::Link.cf()), out, AfterDm::Nothing),
                Err(c) => fail(c),
            },
            Code::GET => match self.objects.read(&path, accept, device) {
                Ok((cf, out)) => (Code::CONTENT, Some(cf.cf()), out, AfterDm::Nothing),
                Err(c) => fail(c),
            },
            Code::PUT if m.payload.is_empty() && m.options_of(option::URI_QUERY).next().is_some() => {
                // Write-Attributes (TS §5.4.4) comes with observation support.
                fail(Code::METHOD_NOT_ALLOWED)
            }
            Code::PUT | Code::POST if matches!(path, Path::Resource(..)) && m.code == Code::POST => {
                self.execute(i, &path, device)
            }
            Code::PUT | Code::POST => {
                let cf = match content_format(m) {
                    Ok(cf) => cf,
                    Err(c) => return fail(c),
                };
                if matches!(path, Path::Object(_)) {
                    return fail(Code::METHOD_NOT_ALLOWED); // Create comes later
                }
                match self.objects.write(Caller::Server, &path, cf, m.payload) {
                    Ok(()) => {
                        self.committed = self.objects.clone();
                        (Code::CHANGED, None, Vec::new(), AfterDm::ServerChanged)
                    }
                    Err(c) => fail(c),
                }
            }
            Code::DELETE => fail(Code::METHOD_NOT_ALLOWED),
            _ => fail(Code::METHOD_NOT_ALLOWED),
        }
    }

    fn execute(&mut self, i: usize, path: &Path, device: &mut Device) -> (Code, Option<u16>, Vec<u8>, AfterDm) {
        let ok = |a| (Code::CHANGED, None, Vec::new(), a);
        let fail = |c| (c, None, Vec::new(), AfterDm::Nothing);
        match *path {
            Path::Resource(device::OBJECT_ID, 0, r) if Device::is_executable(r) => match r {
                device::res::REBOOT => ok(AfterDm::Reboot),
                device::res::RESET_ERROR_CODE => {
                    device.reset_error_codes();
                    ok(AfterDm::Nothing)
                }
                _ => fail(Code::METHOD_NOT_ALLOWED), // Factory Reset comes later
            },
            Path::Resource(device::OBJECT_ID, 0, r) if Device::is_resource(r) => fail(Code::METHOD_NOT_ALLOWED),
            Path::Resource(server::OBJECT_ID, inst, server::res::REGISTRATION_UPDATE_TRIGGER) => {
                match self.objects.server.iter().find(|s| s.id == inst) {
                    Some(s) if s.ssid == self.sessions[i].ssid => ok(AfterDm::UpdateNow),
                    Some(_) => ok(AfterDm::Nothing),
                    None => fail(Code::NOT_FOUND),
                }
            }
            Path::Resource(server::OBJECT_ID, inst, r) => {
                if !self.objects.server.iter().any(|s| s.id == inst) {
                    fail(Code::NOT_FOUND)
                } else if server::ServerInstance::resource_type(r).is_some() {
                    fail(Code::METHOD_NOT_ALLOWED)
                } else {
                    fail(Code::NOT_FOUND)
                }
            }
            Path::Resource(0, _, _) => fail(Code::UNAUTHORIZED),
            _ => fail(Code::NOT_FOUND),
        }
    }

    fn after_dm(&mut self, now: Instant, i: usize, after: AfterDm) {
        match after {
            AfterDm::Nothing => {}
            AfterDm::Reboot => self.outbox.push_back(Action::Reboot),
            AfterDm::UpdateNow => {
                if matches!(self.sessions[i].state, SessionState::Registered { .. }) {
                    self.send_update(now, i);
                }
            }
            AfterDm::ServerChanged => {
                // A new lifetime is announced with an Update right away (§5.3.2).
                let ssid = self.sessions[i].ssid;
                if let Some(srv) = self.objects.server.iter().find(|s| s.ssid == ssid) {
                    let lt = srv.lifetime_s;
                    let s = &mut self.sessions[i];
                    if lt != s.lifetime_s {
                        s.lifetime_s = lt;
                        if matches!(s.state, SessionState::Registered { .. }) {
                            self.send_update(now, i);
                        }
                    }
                }
                self.persist();
            }
        }
    }
}

/// What a DM request asks of the engine after it was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterDm {
    Nothing,
    Reboot,
    UpdateNow,
    ServerChanged,
}

/// Discover (TS §5.4.2) without attributes: the object's instances and
/// resources as CoRE links.
fn discover(path: &Path, device: &Device) -> Result<Vec<u8>, Code> {
    let mut out = Vec::new();
    match *path {
        Path::Object(device::OBJECT_ID) | Path::Instance(device::OBJECT_ID, 0) => {
            let mut w = LinkWriter::new(&mut out);
            if matches!(path, Path::Object(_)) {
                w.link(&Path::Object(device::OBJECT_ID));
            }
            w.link(&Path::Instance(device::OBJECT_ID, 0));
            for &r in device::READABLE {
                if device.read(r, 0).is_some() {
                    w.link(&Path::Resource(device::OBJECT_ID, 0, r));
                }
            }
            for r in [device::res::REBOOT, device::res::RESET_ERROR_CODE] {
                w.link(&Path::Resource(device::OBJECT_ID, 0, r));
            }
            Ok(out)
        }
        Path::Resource(device::OBJECT_ID, 0, r) if device.read(r, 0).is_some() => {
            LinkWriter::new(&mut out).link(path);
            Ok(out)
        }
        _ => Err(Code::NOT_FOUND),
    }
}

fn push_u32(s: &mut String, v: u32) {
    let mut tmp = [0u8; 20];
    let n = crate::lwm2m::text::fmt_u64(v as u64, &mut tmp);
    for &b in &tmp[..n] {
        s.push(b as char);
    }
}
