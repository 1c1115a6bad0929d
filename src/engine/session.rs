//! One LwM2M server account: connection, Register, Update, De-register,
//! Disable, and the device-management and information-reporting requests it
//! sends (OMA-TS-LightweightM2M-V1_0_2 §5.3, §5.4, §5.5).

use alloc::string::String;
use alloc::vec::Vec;

use super::{content_format, Action, ActionResult, ConnId, Engine, Event, ServerUri, Step, KNOWN_OPTIONS};
use crate::api::{LWM2M_CARRIER_DEFERRED_SERVER_CONNECT, LWM2M_CARRIER_DEFERRED_SERVER_NO_ROUTE, LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION};
use crate::carrier::{self, SERVER_LOCAL_PORT_BASE};
use crate::coap::block::Block;
use crate::coap::blockwise::{self, Block1Assembler, Block1Outcome};
use crate::coap::endpoint::{Endpoint, Incoming, Timeout};
use crate::coap::msg::{option, Code, Message, MessageWriter, MsgType};
use crate::limits;
use crate::log;
use crate::lwm2m::format::ContentFormat;
use crate::lwm2m::path::Path;
use crate::objects::model::{Effect, Env, WriteMode};
use crate::objects::ops::{self, Writer};
use crate::objects::acl::AclOp;
use crate::objects::{security, server};
use crate::observe::attributes::{parse_write_attributes, AttrError, AttributeStore, Attributes};
use crate::observe::observation::{Observations, Sample};
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
    /// De-register sent; then `after`.
    Deregistering { after: AfterDeregister },
    /// Disabled by the server until `until` (TS §5.3.3 / Server resource 4).
    Disabled { until: Instant },
    /// Waiting to retry after a failure.
    Deferred { until: Instant },
    /// Deregistered for a bootstrap; not used until sessions are rebuilt.
    Stopped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AfterDeregister {
    Disable,
    Bootstrap,
}

#[derive(Clone)]
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
    /// When the first copy of the Register or Update in flight was sent:
    /// the earliest moment the server can have refreshed the registration.
    pub request_sent: Instant,
    pub attempts: u32,
    pub registered: bool,
    /// Write-Attributes of this server (TS §5.4.4: per server).
    pub attrs: AttributeStore,
    pub observations: Observations,
    pub block1: Block1Assembler,
    /// Keep the observations over the next Register: the server was only
    /// disabled and has Notification Storing on (Server resource 6).
    pub resume_observations: bool,
}

impl ServerSession {
    pub fn is_open(&self) -> bool {
        matches!(
            self.state,
            SessionState::Registering
                | SessionState::Updating
                | SessionState::Registered { .. }
                | SessionState::Deregistering { .. }
        )
    }

    fn own_deadline(&self) -> Option<Instant> {
        match self.state {
            SessionState::Registered { next_update } => Some(next_update),
            SessionState::Deferred { until } | SessionState::Disabled { until } => Some(until),
            _ => None,
        }
    }
}

/// A response (or notification) under construction: options in number order.
#[derive(Default)]
struct Reply {
    code: Option<Code>,
    etag: Option<[u8; 4]>,
    observe: Option<u32>,
    location: Option<(u16, u16)>,
    cf: Option<u16>,
    block2: Option<Block>,
    block1: Option<Block>,
    size1: Option<u32>,
    payload: Vec<u8>,
}

impl Reply {
    /// A reply with code `c`. A 4.13 always carries Size1 (RFC 7959 §2.9.3,
    /// §4): the largest body the client takes, `MAX_BLOCK1_BODY`. A value
    /// or an item count past its own limit (`limits.rs`) is a 4.13 too, with
    /// the same Size1 (found by fuzzing: those went out without one).
    fn code(c: Code) -> Reply {
        let size1 = (c == Code::REQUEST_ENTITY_TOO_LARGE).then_some(limits::MAX_BLOCK1_BODY as u32);
        Reply { code: Some(c), size1, ..Default::default() }
    }

    fn encode(&self, t: MsgType, mid: u16, token: &[u8]) -> Option<Vec<u8>> {
        let mut w = MessageWriter::new(t, self.code.unwrap_or(Code::INTERNAL_SERVER_ERROR), mid, token).ok()?;
        if let Some(e) = &self.etag {
            w.option(option::ETAG, e).ok()?;
        }
        if let Some(o) = self.observe {
            w.uint_option(option::OBSERVE, o).ok()?;
        }
        if let Some((o, i)) = self.location {
            let mut a = [0u8; 20];
            let n = crate::util::decimal::fmt_u64(o as u64, &mut a);
            w.option(option::LOCATION_PATH, a.get(..n)?).ok()?;
            let n = crate::util::decimal::fmt_u64(i as u64, &mut a);
            w.option(option::LOCATION_PATH, a.get(..n)?).ok()?;
        }
        if let Some(cf) = self.cf {
            w.uint_option(option::CONTENT_FORMAT, cf as u32).ok()?;
        }
        if let Some(b) = self.block2 {
            w.block_option(option::BLOCK2, b).ok()?;
        }
        if let Some(b) = self.block1 {
            w.block_option(option::BLOCK1, b).ok()?;
        }
        if let Some(s) = self.size1 {
            w.uint_option(option::SIZE1, s).ok()?;
        }
        w.payload(&self.payload).ok()?;
        Some(w.finish())
    }
}

/// Send `reply` to request `m` (piggy-backed on the ACK of a CON).
fn send_reply(ep: &mut Endpoint, now: Instant, m: &Message, reply: &Reply) {
    let (t, mid) = if m.mtype == MsgType::Con { (MsgType::Ack, m.mid) } else { (MsgType::Non, ep.next_mid()) };
    let bytes = reply.encode(t, mid, m.token).or_else(|| Reply::code(Code::INTERNAL_SERVER_ERROR).encode(t, mid, m.token));
    let Some(bytes) = bytes else { return };
    if m.mtype == MsgType::Con {
        ep.respond(now, m.mid, bytes);
    } else {
        ep.send_raw(bytes);
    }
}

/// Split a location path "/rd/5a3f" into Uri-Path options.
fn add_location(w: &mut MessageWriter, location: &str) -> bool {
    location.split('/').filter(|s| !s.is_empty()).all(|seg| w.option(option::URI_PATH, seg.as_bytes()).is_ok())
}

/// The registration location of server `ssid`.
fn location_of(locations: &[(u16, String)], ssid: u16) -> Option<&str> {
    locations.iter().find(|(s, _)| *s == ssid).map(|(_, l)| l.as_str())
}

/// How often observed values that nothing signals (the modem's, the
/// clock) are sampled for a change while such observations exist.
const SAMPLE_INTERVAL_S: u64 = 30;

/// Does a change of `p` reach the engine by itself (DM writes, setters)?
fn signalled(p: &Path) -> bool {
    match p.object() {
        // The setters signal every Device resource but the clock.
        Some(crate::objects::device::OBJECT_ID) => p.resource().is_some_and(|r| r != crate::objects::device::res::CURRENT_TIME),
        Some(server::OBJECT_ID) => true,
        _ => false,
    }
}

/// Largest payload sent in one message; larger bodies go block-wise
/// (RFC 7959) with this block size (SZX 6 = 1024 bytes).
const MAX_PAYLOAD: usize = 1024;
const PREFERRED_SZX: u8 = 6;

/// Observation sample of the values read: their digest (the same whatever
/// format the server observes in) and the numeric value of a single
/// numeric resource (for gt/lt/st).
fn sample_of(d: &ops::Digest) -> Sample {
    Sample { body_hash: d.hash, numeric: d.numeric }
}

impl Engine {
    /// Build the sessions from the bootstrapped accounts and start opening them.
    pub(super) fn start_servers(&mut self, now: Instant) {
        self.step = Step::Servers;
        if self.sessions.is_empty() {
            // New sessions continue with new Message IDs and tokens: a server
            // still holds the previous ones for EXCHANGE_LIFETIME and would
            // answer a reused MID from its duplicate cache (RFC 7252 §4.5).
            self.seed = self.seed.wrapping_mul(0x9E37_79B9).wrapping_add(0x7F4A_7C15);
            let mut n = 0u8;
            let mut sessions = Vec::new();
            for (index, sec) in self.objects.security.instances.iter().filter(|s| !s.bootstrap).enumerate() {
                let Some(sec_tag) = carrier::server_sec_tag(index) else {
                    log!(LOG_WRN, "server account ", sec.ssid, " beyond the 3 the library serves: ignored");
                    break;
                };
                let Some(srv) = self.objects.server.by_ssid(sec.ssid) else { continue };
                let Some(uri) = ServerUri::parse(&sec.uri) else {
                    log!(LOG_WRN, "invalid server URI: ", sec.uri.clone());
                    continue;
                };
                n += 1;
                let seed = self.seed.wrapping_mul(31).wrapping_add(n as u32);
                sessions.push(ServerSession {
                    conn: n,
                    ssid: sec.ssid,
                    sec_tag: uri.secure.then_some(sec_tag),
                    uri,
                    local_port: SERVER_LOCAL_PORT_BASE + n as u16,
                    lifetime_s: srv.lifetime_s,
                    registered_lifetime_s: srv.lifetime_s,
                    binding: srv.binding.clone(),
                    endpoint: Endpoint::new(seed as u16, seed),
                    state: SessionState::Idle,
                    request_sent: now,
                    attempts: 0,
                    registered: false,
                    attrs: AttributeStore::new(),
                    observations: Observations::new(),
                    block1: Block1Assembler::new(limits::MAX_BLOCK1_BODY),
                    resume_observations: false,
                });
            }
            self.sessions = sessions;
            // A server we come back to with an Update still observes what it
            // observed before the reboot (TS §5.5.1).
            let mut restored_attrs = 0;
            for (conn, rec) in core::mem::take(&mut self.stored_reporting) {
                let Some(s) = self.sessions.iter_mut().find(|s| s.conn == conn) else { continue };
                if !self.locations.iter().any(|(ssid, _)| *ssid == s.ssid) {
                    continue;
                }
                if let Some((attrs, observations)) = super::reporting_store::decode(&rec, now) {
                    if restored_attrs + attrs.len() > crate::observe::MAX_ATTRIBUTE_ENTRIES_IN_ALL {
                        log!(LOG_WRN, "stored attributes of server ", s.ssid, " past the limit of all servers: not restored");
                        continue;
                    }
                    restored_attrs += attrs.len();
                    log!(LOG_INF, "restored ", observations.len(), " observations of server ", s.ssid);
                    s.attrs = attrs;
                    s.observations = observations;
                }
            }
            self.schedule_sampling(now);
        }
        if self.sessions.is_empty() {
            log!(LOG_WRN, "no usable LwM2M server account");
            self.step = Step::Idle;
            return;
        }
        self.open_next_session();
    }

    /// Earliest deadline of all sessions (protocol timers and observations).
    pub(super) fn sessions_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = self.next_sample;
        for s in &self.sessions {
            let attrs = |p: &Path| self.effective_attrs(s.ssid, &s.attrs, p);
            let notify = if matches!(s.state, SessionState::Registered { .. }) { s.observations.poll_timeout(attrs) } else { None };
            for x in [s.own_deadline(), s.endpoint.poll_timeout(), s.block1.poll_timeout(), notify].into_iter().flatten() {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        }
        t
    }

    /// Keep this server's observations and attributes for the next boot.
    fn persist_reporting(&mut self, i: usize) {
        let Some(s) = self.sessions.get(i) else { return };
        let rec = super::reporting_store::encode(&s.attrs, &s.observations);
        self.store(crate::storage::REPORTING + s.conn as u16, &rec);
    }

    fn effective_attrs(&self, ssid: u16, store: &AttributeStore, p: &Path) -> Attributes {
        let (pmin, pmax) = self.objects.server.by_ssid(ssid).map_or((0, 0), |s| (s.default_pmin_s, s.default_pmax_s));
        store.effective(p, pmin, pmax)
    }

    /// Open the first idle session (one open at a time: it blocks the driver).
    fn open_next_session(&mut self) {
        if self.awaiting {
            return;
        }
        let Some(s) = self.sessions.iter_mut().find(|s| s.state == SessionState::Idle) else { return };
        s.state = SessionState::Opening;
        let a = Action::Open { conn: s.conn, host: s.uri.host.clone(), port: s.uri.port, sec_tag: s.sec_tag, local_port: s.local_port };
        self.request(a);
    }

    pub(super) fn session_open_result(&mut self, now: Instant, res: ActionResult) {
        let Some((i, s)) = self.sessions.iter().enumerate().find(|(_, s)| s.state == SessionState::Opening) else { return };
        match res {
            Ok(_) => {
                let has_location = self.locations.iter().any(|(ssid, _)| *ssid == s.ssid);
                if has_location {
                    self.send_update(now, i);
                } else {
                    self.send_register(now, i);
                }
            }
            Err(e) => {
                log!(LOG_WRN, "server connection failed: ", e);
                let reason = if e == -err::ENOROUTE { LWM2M_CARRIER_DEFERRED_SERVER_NO_ROUTE } else { LWM2M_CARRIER_DEFERRED_SERVER_CONNECT };
                self.defer_session(now, i, reason, false);
            }
        }
        self.open_next_session();
    }

    fn defer_session(&mut self, now: Instant, i: usize, reason: u32, close: bool) {
        let Some(s) = self.sessions.get_mut(i) else { return };
        if close {
            s.endpoint.close();
            self.outbox.push_back(Action::Close { conn: s.conn });
        } else {
            s.endpoint.cancel_request();
        }
        s.attempts = s.attempts.saturating_add(1);
        let delay = carrier::retry_delay_s(self.operator, s.attempts);
        s.state = SessionState::Deferred { until: now.add_secs(delay as u64) };
        self.emit(Event::Deferred { reason, timeout_s: delay as i32 });
    }

    fn send_register(&mut self, now: Instant, i: usize) {
        let mut links = Vec::new();
        self.objects.registration_links(&mut links);
        let Some(s) = self.sessions.get_mut(i) else { return };
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
        // A new registration starts without observations (TS §5.3.1), except
        // after a Disable with Notification Storing: the stored notifications
        // (the latest value of each observation) go out once registered.
        let cleared = !core::mem::take(&mut s.resume_observations) && !s.observations.is_empty();
        if cleared {
            s.observations.clear();
        }
        let _ = s.endpoint.send_request(now, mid, &token, true, bytes);
        s.request_sent = now;
        s.state = SessionState::Registering;
        if cleared {
            self.persist_reporting(i);
        }
    }

    fn send_update(&mut self, now: Instant, i: usize) {
        let Some(s) = self.sessions.get_mut(i) else { return };
        let Some(loc) = location_of(&self.locations, s.ssid) else {
            self.send_register(now, i);
            return;
        };
        if s.endpoint.busy() {
            // A confirmable notification is in flight; the update follows it.
            s.state = SessionState::Registered { next_update: now.add_secs(1) };
            return;
        }
        let mid = s.endpoint.next_mid();
        let token = s.endpoint.next_token();
        let Ok(mut w) = MessageWriter::new(MsgType::Con, Code::POST, mid, &token) else { return };
        if !add_location(&mut w, loc) {
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
        s.request_sent = now;
        s.state = SessionState::Updating;
    }

    /// De-register (TS §5.3.3): DELETE the location, then `after`.
    fn send_deregister(&mut self, now: Instant, i: usize, after: AfterDeregister) {
        let Some(s) = self.sessions.get_mut(i) else { return };
        let loc = location_of(&self.locations, s.ssid);
        s.endpoint.cancel_request();
        let mid = s.endpoint.next_mid();
        let token = s.endpoint.next_token();
        let built = loc.and_then(|loc| {
            let mut w = MessageWriter::new(MsgType::Con, Code::DELETE, mid, &token).ok()?;
            add_location(&mut w, loc).then(|| w.finish())
        });
        match built {
            Some(bytes) => {
                log!(LOG_INF, "deregister from server ", s.ssid);
                let _ = s.endpoint.send_request(now, mid, &token, true, bytes);
                s.state = SessionState::Deregistering { after };
            }
            None => self.deregistered(now, i, after),
        }
    }

    fn deregistered(&mut self, now: Instant, i: usize, after: AfterDeregister) {
        let Some(ssid) = self.sessions.get(i).map(|s| s.ssid) else { return };
        self.locations.retain(|(s, _)| *s != ssid);
        self.persist_locations();
        let Some(s) = self.sessions.get_mut(i) else { return };
        s.registered = false;
        s.endpoint.close();
        self.outbox.push_back(Action::Close { conn: s.conn });
        match after {
            AfterDeregister::Disable => {
                let (timeout, storing) =
                    self.objects.server.by_ssid(ssid).map_or((86_400, false), |v| (v.disable_timeout_s, v.notification_storing));
                s.resume_observations = storing;
                log!(LOG_INF, "server ", ssid, " disabled for ", timeout, " s");
                s.state = SessionState::Disabled { until: now.add_secs(timeout as u64) };
            }
            AfterDeregister::Bootstrap => {
                // The sessions are dropped by `finish_stops`, after the caller's
                // loop over them.
                s.state = SessionState::Stopped;
            }
        }
    }

    /// Bootstrap-Request Trigger: leave every server, then bootstrap.
    fn bootstrap_trigger(&mut self, now: Instant) {
        log!(LOG_INF, "bootstrap requested by the server");
        for i in 0..self.sessions.len() {
            let Some(s) = self.sessions.get_mut(i) else { break };
            if s.is_open() {
                self.send_deregister(now, i, AfterDeregister::Bootstrap);
            } else {
                s.state = SessionState::Stopped;
            }
        }
        self.finish_stops(now);
    }

    /// Once every session has left for a bootstrap, drop them and bootstrap.
    pub(super) fn finish_stops(&mut self, now: Instant) {
        if !self.sessions.is_empty() && self.sessions.iter().all(|s| s.state == SessionState::Stopped) {
            self.sessions.clear();
            self.bootstrap_again(now);
        }
    }

    fn registered(&mut self, now: Instant, i: usize) {
        let Some(s) = self.sessions.get_mut(i) else { return };
        s.attempts = 0;
        s.registered = true;
        // The server's lifetime runs from the copy it accepted, which may be
        // the first of several (a lossy link): count from the first, and
        // leave room for our own retransmissions (carrier::update_margin_s).
        let margin = carrier::update_margin_s(s.registered_lifetime_s, crate::coap::endpoint::MAX_TRANSMIT_WAIT_MS / 1000);
        let due = s.request_sent.add_secs((s.registered_lifetime_s as u64).saturating_sub(margin));
        s.state = SessionState::Registered { next_update: due.max(now.add_secs(1)) };
        if !self.registered_sent && self.sessions.iter().all(|s| s.registered) {
            self.registered_sent = true;
            log!(LOG_INF, "registered");
            self.emit(Event::Registered);
        }
    }

    pub(super) fn session_lost(&mut self, now: Instant, conn: ConnId) {
        let Some((i, s)) = self.sessions.iter_mut().enumerate().find(|(_, s)| s.conn == conn) else { return };
        if let SessionState::Deregistering { after } = s.state {
            self.deregistered(now, i, after);
            self.finish_stops(now);
            return;
        }
        if s.is_open() {
            // Reconnect; a stored location makes it an Update.
            s.endpoint.close();
            self.outbox.push_back(Action::Close { conn });
            s.state = SessionState::Idle;
            self.open_next_session();
        }
    }

    pub(super) fn sessions_handle_timeout(&mut self, now: Instant, env: &mut dyn Env) {
        for i in 0..self.sessions.len() {
            let Some(s) = self.sessions.get_mut(i) else { break };
            s.block1.expire(now);
            if let Some(Timeout::GaveUp { token }) = s.endpoint.handle_timeout(now) {
                match s.state {
                    SessionState::Updating => {
                        // §7.8: Update timeout → close and reconnect.
                        log!(LOG_WRN, "registration update timed out: reconnecting");
                        s.attempts = s.attempts.saturating_add(1);
                        if s.attempts > 1 {
                            self.defer_session(now, i, LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION, true);
                        } else {
                            s.endpoint.close();
                            self.outbox.push_back(Action::Close { conn: s.conn });
                            s.state = SessionState::Idle;
                        }
                    }
                    SessionState::Registering => {
                        log!(LOG_WRN, "registration timed out");
                        self.defer_session(now, i, LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION, true);
                    }
                    SessionState::Deregistering { after } => self.deregistered(now, i, after),
                    // A confirmable notification went unanswered: RFC 7641
                    // §4.5, the server is no longer interested.
                    SessionState::Registered { .. } if s.observations.cancel_by_token(&token).is_some() => {
                        self.persist_reporting(i);
                    }
                    _ => {}
                }
            }
            let Some(s) = self.sessions.get_mut(i) else { break };
            match s.state {
                SessionState::Registered { next_update } if now >= next_update => self.send_update(now, i),
                SessionState::Deferred { until } | SessionState::Disabled { until } if now >= until => {
                    s.state = SessionState::Idle
                }
                _ => {}
            }
        }
        self.finish_stops(now);
        if !matches!(self.step, Step::Servers) {
            return;
        }
        if self.next_sample.is_some_and(|t| now >= t) {
            self.next_sample = None;
            self.sessions_changed(now, &Path::Root, env);
        }
        self.schedule_sampling(now);
        self.send_notifications(now, env);
        self.open_next_session();
    }

    /// Sample unsignalled observed values every `SAMPLE_INTERVAL_S` while any
    /// such observation exists (no wake-ups otherwise).
    fn schedule_sampling(&mut self, now: Instant) {
        let needed = self.sessions.iter().any(|s| s.observations.iter().any(|o| !signalled(&o.path)));
        self.next_sample = match (needed, self.next_sample) {
            (false, _) => None,
            (true, Some(t)) => Some(t),
            (true, None) => Some(now.add_secs(SAMPLE_INTERVAL_S)),
        };
    }

    /// Values behind `changed` may have changed: mark the observations that
    /// now owe a notification (TS §5.5, attributes §5.1.2) and send those due.
    pub(super) fn sessions_changed(&mut self, now: Instant, changed: &Path, env: &mut dyn Env) {
        let objects = &self.objects;
        for s in &mut self.sessions {
            if s.observations.is_empty() {
                continue;
            }
            let (pmin, pmax) = objects.server.by_ssid(s.ssid).map_or((0, 0), |v| (v.default_pmin_s, v.default_pmax_s));
            let attrs_store = &s.attrs;
            let attrs = |p: &Path| attrs_store.effective(p, pmin, pmax);
            let mut read = |p: &Path| -> Option<Sample> {
                let obj = objects.get(p.object()?)?;
                ops::digest(obj, env, p).ok().map(|d| sample_of(&d))
            };
            s.observations.on_change(changed, &mut read, attrs);
        }
        self.send_notifications(now, env);
    }

    /// Send every notification that is due (RFC 7641 §4, TS §5.5.2).
    fn send_notifications(&mut self, now: Instant, env: &mut dyn Env) {
        for i in 0..self.sessions.len() {
            let Some(s) = self.sessions.get_mut(i) else { break };
            if !matches!(s.state, SessionState::Registered { .. }) {
                // Not registered (disabled, offline): notifications wait and
                // go out with the latest value once registered again.
                continue;
            }
            let (pmin, pmax) = self.objects.server.by_ssid(s.ssid).map_or((0, 0), |v| (v.default_pmin_s, v.default_pmax_s));
            let store = &s.attrs;
            let due = s.observations.due(now, |p| store.effective(p, pmin, pmax));
            // One notification per server and pass: the rest stay due, so
            // `poll_timeout` is `now` again and they follow once the driver
            // has sent this one. Building them all at once held every body
            // in the outbox together (24 of them with every limit reached).
            for d in due.into_iter().take(1) {
                let format = ContentFormat::from_cf(d.format);
                // An observed object that is gone ends its observation below,
                // like a failed read: skipped, it would stay due (and first)
                // for ever and hold back every other one.
                let obj = d.path.object().and_then(|o| self.objects.get(o));
                let (reply, sample) = match obj.map(|obj| ops::read_digest(obj, env, &d.path, format)) {
                    Some(Ok((cf, body, digest))) => {
                        let sample = sample_of(&digest);
                        let mut r = Reply::code(Code::CONTENT);
                        r.cf = Some(cf.cf());
                        r.observe = Some(d.seq);
                        if blockwise::needs_block2(body.len(), MAX_PAYLOAD) {
                            // RFC 7959 §2.6: the notification carries the first
                            // block; the server fetches the rest with GET Block2.
                            if let Ok((b, slice)) = blockwise::block2_slice(&body, None, PREFERRED_SZX) {
                                r.etag = Some(blockwise::etag(&body));
                                r.block2 = Some(b);
                                r.payload = slice.to_vec();
                            }
                        } else {
                            r.payload = body;
                        }
                        (r, sample)
                    }
                    // The observed thing is gone: a final error notification (TS §5.5.2).
                    _ => (Reply::code(Code::NOT_FOUND), Sample::of_body(&[], None)),
                };
                let Some(s) = self.sessions.get_mut(i) else { break };
                let confirmable = d.confirmable && !s.endpoint.busy();
                let mid = s.endpoint.next_mid();
                let t = if confirmable { MsgType::Con } else { MsgType::Non };
                match reply.encode(t, mid, &d.token) {
                    Some(bytes) if confirmable => {
                        let _ = s.endpoint.send_request(now, mid, &d.token, true, bytes);
                    }
                    Some(bytes) => s.endpoint.send_raw(bytes),
                    None => log!(LOG_WRN, "notification too large to encode: dropped"),
                }
                if reply.code == Some(Code::NOT_FOUND) {
                    s.observations.cancel_by_token(&d.token);
                } else {
                    // Recorded even when dropped, so the deadline moves on.
                    s.observations.notified(now, &d.token, mid, confirmable, sample);
                }
                // Out now: the endpoint's transmit queue is short.
                self.flush_sessions();
            }
        }
    }

    pub(super) fn session_datagram(&mut self, now: Instant, conn: ConnId, data: &[u8], env: &mut dyn Env) {
        let Some((i, s)) = self.sessions.iter_mut().enumerate().find(|(_, s)| s.conn == conn) else { return };
        if !s.is_open() {
            return;
        }
        // Take the endpoint out while the message borrows `data`.
        let mut ep = core::mem::replace(&mut s.endpoint, Endpoint::new(0, 0));
        // A Repeat is a Request that must not register or cancel again.
        let (incoming, repeat) = match ep.handle_datagram(now, data) {
            Incoming::Repeat(m) => (Incoming::Request(m), true),
            other => (other, false),
        };
        match incoming {
            Incoming::Response(m) => {
                self.put_endpoint(i, ep);
                // The empty ACK of a separate response goes out before
                // whatever the response leads to (a Close among them).
                self.flush_sessions();
                self.session_response(now, i, &m);
            }
            Incoming::Request(m) => {
                let (reply, effect, changed) = self.dm_request(now, i, &m, repeat, env);
                // What the request changed is queued for flash before its
                // 2.04: a power cut after the server heard it must not lose
                // an acknowledged Write.
                if effect == Effect::ServerChanged {
                    self.persist();
                }
                send_reply(&mut ep, now, &m, &reply);
                self.put_endpoint(i, ep);
                // The response goes out before whatever the request triggers
                // (a reboot must not swallow its own 2.04).
                self.flush_sessions();
                if let Some(p) = changed {
                    self.sessions_changed(now, &p, env);
                }
                self.apply_effect(now, i, effect);
            }
            Incoming::Reset { mid, of_request } => {
                let Some(s) = self.sessions.get_mut(i) else { return };
                s.endpoint = ep;
                // RFC 7641 §3.6: a Reset to a notification cancels the observation.
                if s.observations.cancel_by_mid(mid).is_some() {
                    log!(LOG_INF, "observation cancelled by Reset");
                    self.persist_reporting(i);
                    return;
                }
                // Only a Reset of the outstanding Register/Update fails it; a stale
                // one (an old notification's) changes nothing.
                if of_request && matches!(s.state, SessionState::Registering | SessionState::Updating) {
                    self.defer_session(now, i, LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION, true);
                }
            }
            // (A Repeat became a Request above.)
            Incoming::Handled | Incoming::Malformed | Incoming::Repeat(_) => self.put_endpoint(i, ep),
        }
    }

    /// Put back the endpoint `session_datagram` took out of session `i`.
    fn put_endpoint(&mut self, i: usize, ep: Endpoint) {
        if let Some(s) = self.sessions.get_mut(i) {
            s.endpoint = ep;
        }
    }

    fn session_response(&mut self, now: Instant, i: usize, m: &Message) {
        let Some(&ServerSession { state, ssid, .. }) = self.sessions.get(i) else { return };
        match state {
            SessionState::Registering if m.code == Code::CREATED => {
                let mut loc = String::new();
                for seg in m.options_of(option::LOCATION_PATH) {
                    let Ok(seg) = core::str::from_utf8(seg) else { continue };
                    loc.push('/');
                    loc.push_str(seg);
                }
                if loc.is_empty() || loc.len() > limits::MAX_LOCATION_LEN {
                    log!(LOG_WRN, "registration without a usable location");
                    self.defer_session(now, i, LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION, true);
                    return;
                }
                log!(LOG_INF, "registered at ", loc.clone());
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
                self.locations.retain(|(s, _)| *s != ssid);
                self.persist_locations();
                self.send_register(now, i);
            }
            SessionState::Updating => {
                log!(LOG_WRN, "registration update answered ", m.code.class() as u32, ".", m.code.detail() as u32, ": deferred");
                self.defer_session(now, i, LWM2M_CARRIER_DEFERRED_SERVER_REGISTRATION, true);
            }
            SessionState::Deregistering { after } => {
                self.deregistered(now, i, after);
                self.finish_stops(now);
            }
            _ => {}
        }
    }

    /// Serve one request of the device management and information reporting
    /// interfaces. Returns the reply, what the request asks the client to do
    /// afterwards, and a path whose values changed (for observations).
    fn dm_request(&mut self, now: Instant, i: usize, m: &Message, repeat: bool, env: &mut dyn Env) -> (Reply, Effect, Option<Path>) {
        let fail = |c: Code| (Reply::code(c), Effect::None, None);
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
        let Some(oid) = path.object() else { return fail(Code::METHOD_NOT_ALLOWED) };
        // TS §5.4: the Security object is not accessible to LwM2M servers (4.01).
        if oid == security::OBJECT_ID {
            return fail(Code::UNAUTHORIZED);
        }
        if self.objects.get(oid).is_none() {
            return fail(Code::NOT_FOUND);
        }
        let has_query = m.options_of(option::URI_QUERY).next().is_some();
        // Access Control (TS §5.4.7, object 2): checked when more than one
        // server is configured; the ACL object decides.
        let op = match m.code {
            Code::GET => AclOp::Read,
            Code::PUT if has_query && m.payload.is_empty() => AclOp::Read,
            Code::PUT => AclOp::Write,
            Code::POST if matches!(path, Path::Resource(..)) => AclOp::Execute,
            Code::POST if matches!(path, Path::Object(_)) => AclOp::Create,
            Code::POST => AclOp::Write,
            _ => AclOp::Delete,
        };
        let Some(s) = self.sessions.get(i) else { return fail(Code::INTERNAL_SERVER_ERROR) };
        if !self.objects.acl.allows(s.ssid, &path, op, self.sessions.len()) {
            return fail(Code::UNAUTHORIZED);
        }
        match m.code {
            Code::GET if accept == Some(ContentFormat::Link) => {
                let obj = self.objects.get(oid).unwrap_or(&self.objects.device);
                let store = &s.attrs;
                let target = path;
                let mut attrs = |p: &Path, w: &mut crate::lwm2m::link::LinkWriter| {
                    let mut a = store.discover_attrs(p);
                    // TS 1.0.2 §5.4.2: Discover on a resource also shows the
                    // pmin/pmax it inherits from its instance and object.
                    if let (true, Path::Resource(o, i, _)) = (*p == target, *p) {
                        for up in [Path::Instance(o, i), Path::Object(o)] {
                            let u = store.discover_attrs(&up);
                            a.pmin = a.pmin.or(u.pmin);
                            a.pmax = a.pmax.or(u.pmax);
                        }
                    }
                    a.write_link(w);
                };
                match ops::discover(obj, env, &path, &mut attrs) {
                    Ok(body) => {
                        let mut r = Reply::code(Code::CONTENT);
                        r.cf = Some(ContentFormat::Link.cf());
                        r.payload = body;
                        (r, Effect::None, None)
                    }
                    Err(c) => fail(c.into()),
                }
            }
            Code::GET => self.read_or_observe(now, i, m, &path, accept, repeat, env),
            Code::PUT if has_query && m.payload.is_empty() => {
                // Write-Attributes (TS §5.4.4).
                if let Err(c) = ops::check_exists(self.objects.get(oid).unwrap_or(&self.objects.device), &path) {
                    return fail(c.into());
                }
                let change = match parse_write_attributes(m.options_of(option::URI_QUERY), &path) {
                    Ok(c) => c,
                    Err(e) => return fail(e.code()),
                };
                let in_all: usize = self.sessions.iter().map(|s| s.attrs.len()).sum();
                let Some(s) = self.sessions.get_mut(i) else { return fail(Code::INTERNAL_SERVER_ERROR) };
                if in_all >= crate::observe::MAX_ATTRIBUTE_ENTRIES_IN_ALL && s.attrs.would_add(&path, &change) {
                    log!(LOG_WRN, "attributes of all servers at their limit: ", in_all as u32);
                    return fail(AttrError::Full.code());
                }
                match s.attrs.apply(&path, &change) {
                    Ok(()) => {
                        self.persist_reporting(i);
                        (Reply::code(Code::CHANGED), Effect::None, Some(path))
                    }
                    Err(e) => fail(e.code()),
                }
            }
            Code::PUT | Code::POST => self.write_request(now, i, m, &path, env),
            Code::DELETE => {
                let Path::Instance(_, inst) = path else { return fail(Code::METHOD_NOT_ALLOWED) };
                let Some(obj) = self.objects.get_mut(oid) else { return fail(Code::NOT_FOUND) };
                match obj.delete(inst) {
                    Ok(()) => {
                        self.objects.acl.on_delete(oid, inst);
                        for s in &mut self.sessions {
                            s.attrs.remove_within(&path);
                        }
                        (Reply::code(Code::DELETED), Effect::ServerChanged, Some(path))
                    }
                    Err(c) => fail(c.into()),
                }
            }
            _ => fail(Code::METHOD_NOT_ALLOWED),
        }
    }

    /// Read (TS §5.4.1), Observe and Cancel Observation (§5.5.1, §5.5.3),
    /// with Block2 for large bodies (RFC 7959 §2.4). A `repeat` (duplicate
    /// of an answered Observe GET, RFC 7252 §4.5) is read again and neither
    /// registers nor cancels: it carries the observation's current Observe
    /// number while its token still observes the path, else none.
    #[allow(clippy::too_many_arguments)]
    fn read_or_observe(&mut self, now: Instant, i: usize, m: &Message, path: &Path, accept: Option<ContentFormat>, repeat: bool, env: &mut dyn Env) -> (Reply, Effect, Option<Path>) {
        let fail = |c: Code| (Reply::code(c), Effect::None, None);
        let Some(obj) = path.object().and_then(|o| self.objects.get(o)) else { return fail(Code::NOT_FOUND) };
        let (cf, body, digest) = match ops::read_digest(obj, env, path, accept) {
            Ok(r) => r,
            Err(c) => return fail(c.into()),
        };
        let Some(s) = self.sessions.get_mut(i) else { return fail(Code::INTERNAL_SERVER_ERROR) };
        let mut r = Reply::code(Code::CONTENT);
        r.cf = Some(cf.cf());
        match m.observe() {
            Some(0) if repeat => r.observe = s.observations.seq_of(m.token, path),
            _ if repeat => {}
            Some(0) => {
                let sample = sample_of(&digest);
                match s.observations.observe(now, m.token, *path, cf.cf(), sample) {
                    Ok(seq) => {
                        r.observe = Some(seq);
                        self.schedule_sampling(now);
                        self.persist_reporting(i);
                    }
                    // RFC 7641 §4.1: when it cannot keep the observation the
                    // server answers as to a plain GET.
                    Err(_) => log!(LOG_WRN, "observation table full: answering as a plain read"),
                }
            }
            Some(1) if s.observations.cancel_request(m.token, path).is_some() => {
                self.persist_reporting(i);
            }
            _ => {}
        }
        if blockwise::needs_block2(body.len(), MAX_PAYLOAD) || m.block2().is_some() {
            match blockwise::block2_slice(&body, m.block2(), PREFERRED_SZX) {
                Ok((b, slice)) => {
                    r.etag = Some(blockwise::etag(&body));
                    r.block2 = Some(b);
                    r.payload = slice.to_vec();
                }
                Err(_) => return fail(Code::BAD_OPTION),
            }
        } else {
            r.payload = body;
        }
        (r, Effect::None, None)
    }

    /// Write (PUT replace / POST partial update), Execute (POST on a
    /// resource) and Create (POST on an object), with Block1 reassembly.
    fn write_request(&mut self, now: Instant, i: usize, m: &Message, path: &Path, env: &mut dyn Env) -> (Reply, Effect, Option<Path>) {
        let fail = |c: Code| (Reply::code(c), Effect::None, None);
        let oid = path.object().unwrap_or(0);
        // Execute: POST on a resource (TS §5.4.5).
        if m.code == Code::POST && matches!(path, Path::Resource(..)) {
            let Some(obj) = self.objects.get_mut(oid) else { return fail(Code::NOT_FOUND) };
            return match ops::execute(obj, env, path, m.payload) {
                Ok(e) => (Reply::code(Code::CHANGED), e, Some(*path)),
                Err(c) => fail(c.into()),
            };
        }
        let cf = match content_format(m) {
            Ok(cf) => cf,
            Err(c) => return fail(c),
        };
        // Block-wise write (RFC 7959 §2.5).
        let mut block1_done = None;
        let assembled;
        let payload: &[u8] = match m.block1() {
            None => m.payload,
            Some(b) => {
                let key = blockwise::path_key(m).unwrap_or_default();
                let size1 = m.uint_option(option::SIZE1);
                // One block-wise body in the whole client: each may hold
                // MAX_BLOCK1_BODY of heap, and the reserved heap is sized
                // for one. Another server's first block waits (5.03, retry
                // after the default Max-Age of 60 s, RFC 7252 §5.9.3.4).
                if b.num == 0 {
                    for s in &mut self.sessions {
                        s.block1.expire(now);
                    }
                    if self.sessions.iter().enumerate().any(|(j, s)| j != i && s.block1.is_active()) {
                        log!(LOG_WRN, "block-wise write refused (5.03): another server's is in progress");
                        return fail(Code::SERVICE_UNAVAILABLE);
                    }
                }
                let Some(s) = self.sessions.get_mut(i) else { return fail(Code::INTERNAL_SERVER_ERROR) };
                match s.block1.offer(now, &key, b, m.payload, size1) {
                    Block1Outcome::Continue(b) => {
                        let mut r = Reply::code(Code::CONTINUE);
                        r.block1 = Some(b);
                        return (r, Effect::None, None);
                    }
                    Block1Outcome::TooLarge { max } => {
                        let mut r = Reply::code(Code::REQUEST_ENTITY_TOO_LARGE);
                        r.size1 = Some(max);
                        return (r, Effect::None, None);
                    }
                    Block1Outcome::Incomplete => return fail(Code::REQUEST_ENTITY_INCOMPLETE),
                    Block1Outcome::Complete(body) => {
                        block1_done = Some(b);
                        assembled = body;
                        &assembled
                    }
                }
            }
        };
        let Some(before) = self.objects.backup(oid) else { return fail(Code::NOT_FOUND) };
        let Some(obj) = self.objects.get_mut(oid) else { return fail(Code::NOT_FOUND) };
        let result = if m.code == Code::POST && matches!(path, Path::Object(_)) {
            match ops::create(obj, env, path, cf, payload) {
                Ok(inst) => {
                    // TS §5.4.7: with several servers the creator owns an ACL
                    // instance for what it created.
                    if self.sessions.len() > 1 {
                        if let Some(s) = self.sessions.get(i) {
                            let _ = self.objects.acl.on_create(oid, inst, s.ssid);
                        }
                    }
                    let mut r = Reply::code(Code::CREATED);
                    r.location = Some((oid, inst));
                    Ok((r, Effect::ServerChanged, Some(Path::Object(oid))))
                }
                Err(c) => Err(Code::from(c)),
            }
        } else {
            let mode = if m.code == Code::PUT { WriteMode::Replace } else { WriteMode::Update };
            ops::write(obj, env, path, cf, payload, mode, Writer::Server).map(|e| (Reply::code(Code::CHANGED), e, Some(*path))).map_err(Code::from)
        };
        // A change to the stored configuration that would not read back
        // after a reboot (e.g. a Server instance created without a Short
        // Server ID) is refused, not answered and then lost.
        let result = result.and_then(|ok| {
            let stored = oid == server::OBJECT_ID || oid == crate::objects::acl::OBJECT_ID || ok.1 == Effect::ServerChanged;
            match self.objects.check_storable() {
                Err(why) if stored => {
                    log!(LOG_WRN, "write refused: ", why);
                    Err(Code::BAD_REQUEST)
                }
                _ => Ok(ok),
            }
        });
        match result {
            Ok((mut r, e, changed)) => {
                r.block1 = block1_done;
                (r, e, changed)
            }
            Err(c) => {
                // A refused write changes nothing (values were applied one by one).
                self.objects.restore(before);
                fail(c)
            }
        }
    }

    fn apply_effect(&mut self, now: Instant, i: usize, effect: Effect) {
        match effect {
            Effect::None => {}
            Effect::Reboot => self.outbox.push_back(Action::Reboot),
            Effect::FactoryReset => self.outbox.push_back(Action::FactoryReset),
            Effect::UpdateTrigger(ssid) => {
                if let Some((j, s)) = self.sessions.iter().enumerate().find(|(_, s)| s.ssid == ssid) {
                    if matches!(s.state, SessionState::Registered { .. }) {
                        self.send_update(now, j);
                    }
                }
            }
            Effect::Disable(ssid) => {
                if let Some((j, s)) = self.sessions.iter().enumerate().find(|(_, s)| s.ssid == ssid) {
                    if s.is_open() {
                        self.send_deregister(now, j, AfterDeregister::Disable);
                    }
                }
            }
            Effect::BootstrapTrigger => self.bootstrap_trigger(now),
            Effect::ServerChanged => {
                // A new lifetime or binding is announced with an Update (§5.3.2).
                for j in 0..self.sessions.len() {
                    let Some(s) = self.sessions.get_mut(j) else { break };
                    let Some(srv) = self.objects.server.by_ssid(s.ssid) else { continue };
                    if srv.lifetime_s != s.lifetime_s || srv.binding != s.binding {
                        s.lifetime_s = srv.lifetime_s;
                        s.binding = srv.binding.clone();
                        if matches!(s.state, SessionState::Registered { .. }) {
                            self.send_update(now, j);
                        }
                    }
                }
                let _ = i;
                // Persisted before the reply (session_datagram).
            }
        }
        self.flush_sessions();
    }
}

fn push_u32(s: &mut String, v: u32) {
    let mut tmp = [0u8; 20];
    let n = crate::util::decimal::fmt_u64(v as u64, &mut tmp);
    for &b in tmp.get(..n).unwrap_or_default() {
        s.push(b as char);
    }
}
