//! Message-layer reliability for one connection (RFC 7252 §4), sans-IO.
//!
//! The client talks to one server, so messages are matched by Message ID and
//! Token alone (the peer address is implied). Time comes in as `Instant`s;
//! datagrams go out through [`Endpoint::poll_transmit`].
//!
//! Rules kept here:
//! - NSTART = 1 (§4.7): at most one outstanding CON request; a second one is refused (`Busy`).
//! - A CON request is retransmitted after ACK_TIMEOUT, the timeout doubling each
//!   time, MAX_RETRANSMIT times; then the caller gets `Timeout::GaveUp` (§4.2).
//!   ACK_RANDOM_FACTOR is 1, as in the original library: 2 s, 4 s, 8 s → 14 s.
//! - After an empty ACK the separate response is awaited for EXCHANGE_LIFETIME,
//!   then `GaveUp` too (RFC 7252 sets no bound; the engine must not wait forever).
//! - A separate response matching our token is accepted even before the empty
//!   ACK (§5.2.2: it acts as the ACK); a CON one is acknowledged with an empty ACK.
//! - Duplicate detection (§4.5) by Message ID over the last `DEDUP_ENTRIES`
//!   CON/NON messages received, each kept for EXCHANGE_LIFETIME: a duplicate CON
//!   gets the cached response (or empty ACK) again, a duplicate NON is ignored.
//! - Refused: messages with reserved codes (class 1, 6, 7), a NON Empty message,
//!   an ACK carrying a request, a non-empty RST (§4.2, §4.3): a CON among them
//!   gets a RST, the others are dropped silently. Format errors are dropped,
//!   with a RST if the message is a readable version-1 CON (§4.2). Unknown
//!   versions are ignored silently (§3).
//! - The transmit queue holds `TX_QUEUE` datagrams; when full the oldest is
//!   dropped and logged (a lost CON request is retransmitted anyway).

use alloc::vec::Vec;

use super::msg::{empty, Code, Message, MsgType, ParseError, MAX_TOKEN_LEN};
use crate::limits::DEDUP_ENTRIES;
use crate::time::Instant;

/// Initial retransmission timeout (RFC 7252 §4.8, ACK_RANDOM_FACTOR 1 as the original).
pub const ACK_TIMEOUT_MS: u64 = 2000;
/// Retransmissions of a CON request before giving up (RFC 7252 §4.8): 2 s + 4 s + 8 s = 14 s.
pub const MAX_RETRANSMIT: u8 = 2;
/// MAX_TRANSMIT_SPAN (RFC 7252 §4.8.2): ACK_TIMEOUT * (2^MAX_RETRANSMIT - 1) * ACK_RANDOM_FACTOR.
pub const MAX_TRANSMIT_SPAN_MS: u64 = ACK_TIMEOUT_MS * ((1 << MAX_RETRANSMIT) - 1);
/// MAX_TRANSMIT_WAIT (RFC 7252 §4.8.2): ACK_TIMEOUT * (2^(MAX_RETRANSMIT + 1) - 1)
/// = 14 s: from the first copy of our CON request to giving up on it.
pub const MAX_TRANSMIT_WAIT_MS: u64 = ACK_TIMEOUT_MS * ((1 << (MAX_RETRANSMIT + 1)) - 1);
/// MAX_LATENCY (RFC 7252 §4.8.2): 100 s.
pub const MAX_LATENCY_MS: u64 = 100_000;
/// EXCHANGE_LIFETIME (RFC 7252 §4.8.2) = MAX_TRANSMIT_SPAN + 2 * MAX_LATENCY +
/// PROCESSING_DELAY (= ACK_TIMEOUT) = 6 + 200 + 2 = 208 s with our parameters.
pub const EXCHANGE_LIFETIME_MS: u64 = MAX_TRANSMIT_SPAN_MS + 2 * MAX_LATENCY_MS + ACK_TIMEOUT_MS;
/// How long a separate response is awaited after the empty ACK of our request.
pub const SEPARATE_RESPONSE_TIMEOUT_MS: u64 = EXCHANGE_LIFETIME_MS;
/// Datagrams waiting for `poll_transmit`; when full the oldest is dropped.
pub const TX_QUEUE: usize = 4;

/// `send_request` refused: a CON request is already outstanding (NSTART = 1, RFC 7252 §4.7).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Busy;

/// What a received datagram meant for the caller.
#[derive(Debug)]
pub enum Incoming<'a> {
    /// The response to our outstanding request (piggy-backed in an ACK, or a separate CON/NON response
    /// matched by token — for a CON the endpoint has already queued the empty ACK).
    Response(Message<'a>),
    /// A new request from the peer (CON or NON). Answer it with `respond()` (exactly once for a CON).
    Request(Message<'a>),
    /// A duplicate of a CON GET with Observe that was answered: answer it
    /// again with `respond()` from a fresh read, without registering or
    /// cancelling again (the first copy did; a replay after a later request
    /// of the same token could undo that request). Its answer is not cached:
    /// an Observe answer can be a whole datagram, and four of them per
    /// server held for EXCHANGE_LIFETIME were the largest unbounded share
    /// of the heap.
    Repeat(Message<'a>),
    /// Nothing for the caller: empty ACK of our request (separate response will follow), a duplicate CON
    /// (the cached response has been re-queued, RFC 7252 §4.5), a stray ACK, or a ping (CON 0.00 → RST queued).
    Handled,
    /// A Reset naming `mid`: our outstanding request's (`of_request`: it
    /// failed) or something else we sent (e.g. a notification).
    Reset { mid: u16, of_request: bool },
    /// Not a valid CoAP message: dropped (RFC 7252 §4.2: a CON with a format error gets an RST — queue it when the header is readable).
    Malformed,
}

/// A deadline of the outstanding request passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// our request got no answer after all retransmissions
    GaveUp { token: heapless::Vec<u8, 8> },
}

/// Our outstanding CON request.
#[derive(Clone)]
struct Outstanding {
    mid: u16,
    token: heapless::Vec<u8, MAX_TOKEN_LEN>,
    bytes: Vec<u8>,
    /// The empty ACK came: no more retransmissions, a separate response is awaited.
    acked: bool,
    /// It is a request (a response is awaited); false for a CON notification,
    /// which is complete once acknowledged (RFC 7641 §4.5).
    is_request: bool,
    retransmissions: u8,
    /// Current retransmission timeout (doubles each time).
    timeout_ms: u64,
    /// Retransmit (or give up) at this time.
    deadline: Instant,
}

/// One received CON/NON message remembered for duplicate detection (RFC 7252 §4.5).
#[derive(Clone)]
struct Seen {
    mid: u16,
    confirmable: bool,
    received: Instant,
    /// What we answered (piggy-backed response or empty ACK), once known.
    reply: Option<Vec<u8>>,
    /// A GET: its duplicate is read again instead of answered from a
    /// cached copy (RFC 7252 §4.5 allows it for requests without side
    /// effects), so the largest responses, reads, are not kept in RAM for
    /// EXCHANGE_LIFETIME. A GET with Observe comes back as
    /// [`Incoming::Repeat`]: read again, its registration not replayed.
    /// Writes, Executes and Deletes keep their cached answer (they have no
    /// payload worth the name): replaying them after a later request (a
    /// reordered duplicate) could undo that request. Set once the request
    /// is answered (a duplicate before that is ignored).
    reprocess: bool,
    /// What kind of request it was.
    kind: SeenKind,
}

/// Kinds of remembered request, for what a duplicate of it gets.
#[derive(Copy, Clone, PartialEq, Eq)]
enum SeenKind {
    /// Anything but a confirmable GET: its duplicate gets the cached answer.
    Other,
    /// A confirmable GET without Observe: read again ([`Incoming::Request`]).
    PlainGet,
    /// A confirmable GET with Observe: read again ([`Incoming::Repeat`]).
    ObserveGet,
}

/// Reliability state of one CoAP connection.
#[derive(Clone)]
pub struct Endpoint {
    mid: u16,
    token_seed: u32,
    token_counter: u32,
    request: Option<Outstanding>,
    /// Token of our last NON request, to match its response (no retransmission).
    non_request_token: Option<heapless::Vec<u8, MAX_TOKEN_LEN>>,
    seen: heapless::Deque<Seen, DEDUP_ENTRIES>,
    tx: heapless::Deque<Vec<u8>, TX_QUEUE>,
}

fn token_vec(token: &[u8]) -> heapless::Vec<u8, MAX_TOKEN_LEN> {
    // Longer tokens cannot be on the wire; keep the first 8 bytes rather than fail.
    heapless::Vec::from_slice(token.get(..MAX_TOKEN_LEN).unwrap_or(token)).unwrap_or_default()
}

/// A bijection on u32 (murmur3 fmix32): distinct counters give distinct tokens.
fn mix(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x85eb_ca6b);
    x ^= x >> 13;
    x = x.wrapping_mul(0xc2b2_ae35);
    x ^ (x >> 16)
}

impl Endpoint {
    /// A fresh endpoint; seeds come from `lwm2m_os_rand()` (RFC 7252 §4.4: MIDs
    /// start randomised; §5.3.1: tokens should not be guessable).
    pub fn new(mid_seed: u16, token_seed: u32) -> Endpoint {
        Endpoint {
            mid: mid_seed,
            token_seed,
            token_counter: 0,
            request: None,
            non_request_token: None,
            seen: heapless::Deque::new(),
            tx: heapless::Deque::new(),
        }
    }

    /// The next Message ID (sequential from the seed, wrapping).
    pub fn next_mid(&mut self) -> u16 {
        let mid = self.mid;
        self.mid = self.mid.wrapping_add(1);
        mid
    }

    /// A token unique per endpoint for 2^32 calls (counter mixed with the seed).
    pub fn next_token(&mut self) -> [u8; 4] {
        let t = mix(self.token_counter ^ self.token_seed);
        self.token_counter = self.token_counter.wrapping_add(1);
        t.to_be_bytes()
    }

    /// NSTART = 1: one outstanding CON request at a time (RFC 7252 §4.7).
    pub fn busy(&self) -> bool {
        self.request.is_some()
    }

    /// Send a request we built (CON: retransmitted until answered; NON: sent once). Err if busy (CON).
    ///
    /// A CON *notification* (Observe, RFC 7641 §4.5) is sent this way too: it
    /// takes the one CON slot (NSTART = 1 covers all CON messages to the
    /// server), is retransmitted alike, and is finished by the empty ACK
    /// (`Handled`, `busy()` turns false), or by a RST (`Reset`: cancel the observation).
    pub fn send_request(
        &mut self,
        now: Instant,
        mid: u16,
        token: &[u8],
        confirmable: bool,
        bytes: Vec<u8>,
    ) -> Result<(), Busy> {
        if !confirmable {
            self.non_request_token = Some(token_vec(token));
            self.queue(bytes);
            return Ok(());
        }
        if self.busy() {
            return Err(Busy);
        }
        self.queue(bytes.clone());
        let is_request = bytes.get(1).is_some_and(|&c| Code(c).is_request());
        self.request = Some(Outstanding {
            mid,
            token: token_vec(token),
            bytes,
            acked: false,
            is_request,
            retransmissions: 0,
            timeout_ms: ACK_TIMEOUT_MS,
            deadline: now.add_millis(ACK_TIMEOUT_MS),
        });
        Ok(())
    }

    /// The connection is closed: nothing more goes out on it — no
    /// retransmission of the outstanding request, no queued datagram.
    pub fn close(&mut self) {
        self.cancel_request();
        self.tx.clear();
    }

    /// Cancel the outstanding request (e.g. connection closed).
    pub fn cancel_request(&mut self) {
        self.request = None;
        self.non_request_token = None;
    }

    /// Queue a response to a request received earlier; for a CON request the response is piggy-backed
    /// (caller builds it as ACK with the request's MID) and cached for dedup by (mid).
    pub fn respond(&mut self, _now: Instant, request_mid: u16, bytes: Vec<u8>) {
        if let Some(seen) = self
            .seen
            .iter_mut()
            .find(|s| s.mid == request_mid && s.confirmable)
        {
            if seen.kind != SeenKind::Other {
                seen.reprocess = true;
            } else {
                seen.reply = Some(bytes.clone());
            }
        }
        self.queue(bytes);
    }

    /// Send a message that needs no reliability from us (e.g. NON notification).
    pub fn send_raw(&mut self, bytes: Vec<u8>) {
        self.queue(bytes);
    }

    /// Interpret one received datagram; replies it needs (ACK, RST, cached
    /// response) are queued for `poll_transmit`.
    pub fn handle_datagram<'a>(&mut self, now: Instant, data: &'a [u8]) -> Incoming<'a> {
        let msg = match Message::parse(data) {
            Ok(m) => m,
            Err(e) => {
                // §4.2: reject a CON with a format error by RST, when its header is readable.
                if let (true, [first, _, mid_hi, mid_lo, ..]) = (e != ParseError::BadVersion, data)
                {
                    if (first >> 4) & 0x3 == MsgType::Con as u8 {
                        self.queue(empty(MsgType::Rst, u16::from_be_bytes([*mid_hi, *mid_lo])));
                    }
                }
                crate::log!(LOG_DBG, "coap: malformed datagram dropped");
                return Incoming::Malformed;
            }
        };
        self.expire_seen(now);
        match msg.mtype {
            MsgType::Ack => self.on_ack(now, msg),
            MsgType::Rst => {
                if !msg.code.is_empty() {
                    return Incoming::Malformed; // §4.2: rejecting a RST = ignoring it
                }
                let of_request = self.request.as_ref().is_some_and(|r| r.mid == msg.mid);
                if of_request {
                    self.request = None;
                }
                Incoming::Reset { mid: msg.mid, of_request }
            }
            MsgType::Con | MsgType::Non => self.on_con_non(now, msg),
        }
    }

    fn on_ack<'a>(&mut self, now: Instant, msg: Message<'a>) -> Incoming<'a> {
        if !msg.code.is_empty() && !msg.code.is_response() {
            return Incoming::Malformed; // §4.2: an ACK carries a response or is Empty
        }
        let Some(req) = self
            .request
            .as_mut()
            .filter(|r| r.mid == msg.mid && !r.acked)
        else {
            return Incoming::Handled; // stray or duplicate ACK
        };
        if msg.code.is_empty() && !req.is_request {
            // A CON notification (or other CON response) was delivered.
            self.request = None;
            return Incoming::Handled;
        }
        if msg.code.is_empty() {
            // §5.2.2: separate response follows.
            req.acked = true;
            req.deadline = now.add_millis(SEPARATE_RESPONSE_TIMEOUT_MS);
            return Incoming::Handled;
        }
        if msg.token != &req.token[..] {
            if !req.is_request {
                // Our CON notification was delivered; what the ACK carries is not ours.
                self.request = None;
                return Incoming::Handled;
            }
            // §5.3.2: a response to some other request under our Message ID. The
            // peer matched the MID to an exchange it still remembers (§4.5
            // deduplication: e.g. one from before our reboot, when MIDs restarted
            // from a new random seed) and will answer every retransmission the
            // same way: this request will never be processed. Send it again at
            // once under a fresh MID; it counts as a retransmission, so a peer
            // that keeps doing this still ends in `GaveUp`.
            crate::log!(LOG_WRN, "coap: piggy-backed response with another token: resending under a new message id");
            let fresh = self.mid;
            self.mid = self.mid.wrapping_add(1);
            let Some(req) = self.request.as_mut() else { return Incoming::Handled };
            if req.retransmissions >= MAX_RETRANSMIT {
                req.deadline = now; // handle_timeout gives up
                return Incoming::Handled;
            }
            req.mid = fresh;
            if let Some(field) = req.bytes.get_mut(2..4) {
                field.copy_from_slice(&fresh.to_be_bytes());
            }
            req.retransmissions += 1;
            req.timeout_ms *= 2;
            req.deadline = now.add_millis(req.timeout_ms);
            let bytes = req.bytes.clone();
            self.queue(bytes);
            return Incoming::Handled;
        }
        self.request = None;
        Incoming::Response(msg)
    }

    fn on_con_non<'a>(&mut self, now: Instant, msg: Message<'a>) -> Incoming<'a> {
        let confirmable = msg.mtype == MsgType::Con;
        let reject = |ep: &mut Self| {
            if confirmable {
                ep.queue(empty(MsgType::Rst, msg.mid));
            }
        };
        if msg.code.is_empty() {
            // §4.3: CON 0.00 is a ping, answered by RST; a NON must not be Empty.
            reject(self);
            return if confirmable {
                Incoming::Handled
            } else {
                Incoming::Malformed
            };
        }
        if !msg.code.is_request() && !msg.code.is_response() {
            reject(self); // reserved class 1, 6 or 7
            return Incoming::Malformed;
        }
        // §4.5: duplicate detection by Message ID.
        if let Some(seen) = self.seen.iter().find(|s| s.mid == msg.mid) {
            if seen.reprocess {
                return if seen.kind == SeenKind::ObserveGet { Incoming::Repeat(msg) } else { Incoming::Request(msg) };
            }
            if let Some(reply) = &seen.reply {
                let reply = reply.clone();
                self.queue(reply);
            }
            return Incoming::Handled;
        }
        if msg.code.is_request() {
            let kind = match (confirmable && msg.code == Code::GET, msg.observe()) {
                (false, _) => SeenKind::Other,
                (true, None) => SeenKind::PlainGet,
                (true, Some(_)) => SeenKind::ObserveGet,
            };
            self.remember(now, msg.mid, confirmable, None, kind);
            return Incoming::Request(msg);
        }
        // A separate response (§5.2.2), matched by token (§5.3.2).
        let ours = self
            .request
            .as_ref()
            .is_some_and(|r| r.is_request && msg.token == &r.token[..]);
        let ours_non = self
            .non_request_token
            .as_ref()
            .is_some_and(|t| msg.token == &t[..]);
        if !ours && !ours_non {
            // §5.3.2: an unexpected CON response is rejected; NON is ignored.
            reject(self);
            return Incoming::Handled;
        }
        if ours {
            self.request = None;
        } else {
            self.non_request_token = None;
        }
        if confirmable {
            let ack = empty(MsgType::Ack, msg.mid);
            self.remember(now, msg.mid, true, Some(ack.clone()), SeenKind::Other);
            self.queue(ack);
        } else {
            self.remember(now, msg.mid, false, None, SeenKind::Other);
        }
        Incoming::Response(msg)
    }

    /// Retransmit the outstanding CON request or give up on it (RFC 7252 §4.2).
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Timeout> {
        self.expire_seen(now);
        let req = self.request.as_mut()?;
        if now < req.deadline {
            return None;
        }
        if !req.acked && req.retransmissions < MAX_RETRANSMIT {
            req.retransmissions += 1;
            req.timeout_ms *= 2;
            req.deadline = now.add_millis(req.timeout_ms);
            let bytes = req.bytes.clone();
            self.queue(bytes);
            return None;
        }
        let token = self.request.take().map(|r| r.token).unwrap_or_default();
        crate::log!(LOG_WRN, "coap: request timed out");
        Some(Timeout::GaveUp { token })
    }

    /// Next deadline of the outstanding request (retransmission or giving up).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.request.as_ref().map(|r| r.deadline)
    }

    /// Datagrams to send now, FIFO.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.tx.pop_front()
    }

    fn queue(&mut self, bytes: Vec<u8>) {
        if self.tx.is_full() {
            self.tx.pop_front();
            crate::log!(LOG_WRN, "coap: tx queue full, oldest datagram dropped");
        }
        let _ = self.tx.push_back(bytes);
    }

    fn remember(&mut self, now: Instant, mid: u16, confirmable: bool, reply: Option<Vec<u8>>, kind: SeenKind) {
        if self.seen.is_full() {
            self.seen.pop_front();
        }
        let _ = self.seen.push_back(Seen {
            mid,
            confirmable,
            received: now,
            reply,
            reprocess: false,
            kind,
        });
    }

    /// Forget messages older than EXCHANGE_LIFETIME (RFC 7252 §4.8.2); the
    /// queue is in arrival order, so only the front can be expired.
    fn expire_seen(&mut self, now: Instant) {
        while self
            .seen
            .front()
            .is_some_and(|s| now.since(s.received) >= EXCHANGE_LIFETIME_MS)
        {
            self.seen.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coap::msg::{option, MessageWriter};
    use alloc::vec;

    const TOKEN: [u8; 4] = [0xA1, 0xB2, 0xC3, 0xD4];

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn con_post(mid: u16, token: &[u8]) -> Vec<u8> {
        let mut w = MessageWriter::new(MsgType::Con, Code::POST, mid, token).unwrap();
        w.path_option(option::URI_PATH, "/rd").unwrap();
        w.finish()
    }

    fn build(mtype: MsgType, code: Code, mid: u16, token: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut w = MessageWriter::new(mtype, code, mid, token).unwrap();
        w.payload(payload).unwrap();
        w.finish()
    }

    fn drain(ep: &mut Endpoint) -> Vec<Vec<u8>> {
        core::iter::from_fn(|| ep.poll_transmit()).collect()
    }

    /// Endpoint with our CON request (MID 0x100) sent at t = 0.
    fn with_request() -> (Endpoint, Vec<u8>) {
        let mut ep = Endpoint::new(0x100, 7);
        let mid = ep.next_mid();
        assert_eq!(mid, 0x100);
        let req = con_post(mid, &TOKEN);
        ep.send_request(at(0), mid, &TOKEN, true, req.clone())
            .unwrap();
        assert_eq!(drain(&mut ep), vec![req.clone()]);
        (ep, req)
    }

    /// RFC 7252 §4.2 with ACK_TIMEOUT 2 s, factor 1, MAX_RETRANSMIT 2:
    /// sent at 0, retransmitted at 2 s and 6 s, given up at 14 s.
    #[test]
    fn retransmission_schedule() {
        let (mut ep, req) = with_request();
        assert!(ep.busy());
        assert_eq!(
            ep.send_request(at(0), 0x101, &[1], true, con_post(0x101, &[1])),
            Err(Busy)
        );
        assert_eq!(ep.poll_timeout(), Some(at(2000)));
        assert_eq!(ep.handle_timeout(at(1999)), None);
        assert!(drain(&mut ep).is_empty());

        assert_eq!(ep.handle_timeout(at(2000)), None);
        assert_eq!(drain(&mut ep), vec![req.clone()]);
        assert_eq!(ep.poll_timeout(), Some(at(6000)));

        assert_eq!(ep.handle_timeout(at(5999)), None);
        assert_eq!(ep.handle_timeout(at(6000)), None);
        assert_eq!(drain(&mut ep), vec![req.clone()]);
        assert_eq!(ep.poll_timeout(), Some(at(14000)));

        assert_eq!(ep.handle_timeout(at(13999)), None);
        let token = heapless::Vec::from_slice(&TOKEN).unwrap();
        assert_eq!(
            ep.handle_timeout(at(14000)),
            Some(Timeout::GaveUp { token })
        );
        assert!(drain(&mut ep).is_empty(), "no third retransmission");
        assert!(!ep.busy());
        assert_eq!(ep.poll_timeout(), None);
        assert_eq!(ep.handle_timeout(at(30000)), None);
    }

    #[test]
    fn exchange_lifetime_value() {
        // RFC 7252 §4.8.2 with ACK_TIMEOUT 2 s, MAX_RETRANSMIT 2, factor 1.
        assert_eq!(MAX_TRANSMIT_SPAN_MS, 6_000);
        assert_eq!(EXCHANGE_LIFETIME_MS, 208_000);
    }

    #[test]
    fn piggybacked_response() {
        let (mut ep, _) = with_request();
        let ack = build(MsgType::Ack, Code::CREATED, 0x100, &TOKEN, b"");
        match ep.handle_datagram(at(500), &ack) {
            Incoming::Response(m) => {
                assert_eq!((m.code, m.mid, m.token), (Code::CREATED, 0x100, &TOKEN[..]))
            }
            other => panic!("{other:?}"),
        }
        assert!(!ep.busy());
        assert!(drain(&mut ep).is_empty(), "nothing to acknowledge");
        // A duplicate ACK is stray now.
        assert!(matches!(
            ep.handle_datagram(at(600), &ack),
            Incoming::Handled
        ));
        assert_eq!(ep.handle_timeout(at(2000)), None);
        assert!(drain(&mut ep).is_empty());
    }

    /// A peer answering our MID from its duplicate cache (another token) gets the
    /// request again under a fresh MID at once, not after EXCHANGE_LIFETIME.
    #[test]
    fn response_with_another_token_resends_under_a_fresh_mid() {
        let (mut ep, req) = with_request();
        let stale = build(MsgType::Ack, Code::CHANGED, 0x100, &[0xEE, 0xEE], b"");
        assert!(matches!(ep.handle_datagram(at(100), &stale), Incoming::Handled));
        let sent = drain(&mut ep);
        assert_eq!(sent.len(), 1, "resent at once");
        let again = Message::parse(&sent[0]).unwrap();
        assert_eq!(again.mid, 0x101, "fresh MID");
        assert_eq!(again.token, &TOKEN[..], "same token");
        assert_eq!(&sent[0][4..], &req[4..], "same request otherwise");
        assert!(ep.busy());
        // The answer to the fresh MID completes the request; the old MID is stray now.
        assert!(matches!(ep.handle_datagram(at(150), &stale), Incoming::Handled));
        assert!(drain(&mut ep).is_empty());
        let ok = build(MsgType::Ack, Code::CHANGED, 0x101, &TOKEN, b"");
        assert!(matches!(ep.handle_datagram(at(200), &ok), Incoming::Response(_)));
        assert!(!ep.busy());
        assert_eq!(ep.next_mid(), 0x102, "the fresh MID is not handed out again");
    }

    /// A peer that always answers with another token ends the request like a
    /// lost one: within the retransmission budget, never a wait for a separate response.
    #[test]
    fn response_with_another_token_is_bounded() {
        let (mut ep, _) = with_request();
        let mut t = 0;
        let mut resent = 0;
        loop {
            t += 10;
            let mid = ep.request.as_ref().map(|r| r.mid).unwrap();
            let stale = build(MsgType::Ack, Code::CHANGED, mid, &[0xEE], b"");
            ep.handle_datagram(at(t), &stale);
            resent += drain(&mut ep).len();
            if let Some(Timeout::GaveUp { token }) = ep.handle_timeout(at(t)) {
                assert_eq!(&token[..], &TOKEN[..]);
                break;
            }
            assert!(t < 1000, "gave up within the retransmission budget");
        }
        assert_eq!(resent, MAX_RETRANSMIT as usize);
        assert!(!ep.busy());
    }

    #[test]
    fn ack_with_wrong_mid_or_request_code() {
        let (mut ep, _) = with_request();
        let other = build(MsgType::Ack, Code::CONTENT, 0x999, &TOKEN, b"");
        assert!(matches!(
            ep.handle_datagram(at(1), &other),
            Incoming::Handled
        ));
        let ack_req = build(MsgType::Ack, Code::GET, 0x100, &TOKEN, b"");
        assert!(matches!(
            ep.handle_datagram(at(1), &ack_req),
            Incoming::Malformed
        ));
        assert!(ep.busy(), "still waiting");
        assert!(drain(&mut ep).is_empty(), "ACKs are never answered");
    }

    /// RFC 7252 §5.2.2: empty ACK, then the response as a separate CON.
    #[test]
    fn separate_response() {
        let (mut ep, _) = with_request();
        assert!(matches!(
            ep.handle_datagram(at(300), &empty(MsgType::Ack, 0x100)),
            Incoming::Handled
        ));
        assert!(ep.busy());
        // No retransmission once acknowledged.
        assert_eq!(ep.handle_timeout(at(2000)), None);
        assert!(drain(&mut ep).is_empty());
        assert_eq!(
            ep.poll_timeout(),
            Some(at(300 + SEPARATE_RESPONSE_TIMEOUT_MS))
        );

        let sep = build(MsgType::Con, Code::CHANGED, 0x7000, &TOKEN, b"ok");
        match ep.handle_datagram(at(5000), &sep) {
            Incoming::Response(m) => assert_eq!((m.code, m.payload), (Code::CHANGED, &b"ok"[..])),
            other => panic!("{other:?}"),
        }
        assert!(!ep.busy());
        assert_eq!(drain(&mut ep), [empty(MsgType::Ack, 0x7000)]);
        // The server missed our ACK and retransmits: ACK again, not a second Response.
        assert!(matches!(
            ep.handle_datagram(at(7000), &sep),
            Incoming::Handled
        ));
        assert_eq!(drain(&mut ep), [empty(MsgType::Ack, 0x7000)]);
    }

    #[test]
    fn separate_response_before_empty_ack_and_as_non() {
        // §5.2.2: the separate response also acknowledges the request.
        let (mut ep, _) = with_request();
        let sep = build(MsgType::Non, Code::CONTENT, 0x7001, &TOKEN, b"v");
        assert!(matches!(
            ep.handle_datagram(at(100), &sep),
            Incoming::Response(_)
        ));
        assert!(!ep.busy());
        assert!(
            drain(&mut ep).is_empty(),
            "a NON response is not acknowledged"
        );
        assert_eq!(ep.handle_timeout(at(2000)), None);
        assert!(drain(&mut ep).is_empty());
    }

    #[test]
    fn separate_response_never_comes() {
        let (mut ep, _) = with_request();
        ep.handle_datagram(at(0), &empty(MsgType::Ack, 0x100));
        assert_eq!(
            ep.handle_timeout(at(SEPARATE_RESPONSE_TIMEOUT_MS - 1)),
            None
        );
        assert!(matches!(
            ep.handle_timeout(at(SEPARATE_RESPONSE_TIMEOUT_MS)),
            Some(Timeout::GaveUp { .. })
        ));
        assert!(!ep.busy());
    }

    #[test]
    fn unexpected_con_response_is_reset() {
        let mut ep = Endpoint::new(1, 1);
        let sep = build(MsgType::Con, Code::CONTENT, 0x4242, &[9, 9], b"late");
        assert!(matches!(ep.handle_datagram(at(0), &sep), Incoming::Handled));
        assert_eq!(drain(&mut ep), [empty(MsgType::Rst, 0x4242)]);
        let non = build(MsgType::Non, Code::CONTENT, 0x4243, &[9, 9], b"late");
        assert!(matches!(ep.handle_datagram(at(0), &non), Incoming::Handled));
        assert!(drain(&mut ep).is_empty());
    }

    /// RFC 7252 §4.5: a duplicate CON gets the same response again.
    #[test]
    fn duplicate_con_request() {
        let mut ep = Endpoint::new(1, 1);
        let req = build(MsgType::Con, Code::PUT, 0x5555, &[1, 2], b"");
        let Incoming::Request(m) = ep.handle_datagram(at(0), &req) else {
            panic!()
        };
        assert_eq!(m.code, Code::PUT);
        // Retransmitted before we answered: nothing to re-send yet.
        assert!(matches!(
            ep.handle_datagram(at(10), &req),
            Incoming::Handled
        ));
        assert!(drain(&mut ep).is_empty());

        let resp = build(MsgType::Ack, Code::CHANGED, 0x5555, &[1, 2], b"");
        ep.respond(at(20), 0x5555, resp.clone());
        assert_eq!(drain(&mut ep), vec![resp.clone()]);
        assert!(matches!(
            ep.handle_datagram(at(2000), &req),
            Incoming::Handled
        ));
        assert_eq!(drain(&mut ep), vec![resp.clone()]);

        // After EXCHANGE_LIFETIME the MID is new again.
        assert!(matches!(
            ep.handle_datagram(at(EXCHANGE_LIFETIME_MS), &req),
            Incoming::Request(_)
        ));
    }

    #[test]
    fn dedup_cache_is_bounded() {
        let mut ep = Endpoint::new(1, 1);
        for mid in 0..(DEDUP_ENTRIES as u16 + 1) {
            let req = build(MsgType::Con, Code::POST, mid, &[], b"");
            assert!(matches!(
                ep.handle_datagram(at(0), &req),
                Incoming::Request(_)
            ));
            ep.respond(
                at(0),
                mid,
                build(MsgType::Ack, Code::CONTENT, mid, &[], b"x"),
            );
        }
        drain(&mut ep);
        // MID 0 was evicted, the last DEDUP_ENTRIES are remembered.
        let first = build(MsgType::Con, Code::POST, 0, &[], b"");
        assert!(matches!(
            ep.handle_datagram(at(1), &first),
            Incoming::Request(_)
        ));
        let last = build(MsgType::Con, Code::POST, DEDUP_ENTRIES as u16, &[], b"");
        assert!(matches!(
            ep.handle_datagram(at(1), &last),
            Incoming::Handled
        ));
    }

    /// A duplicate of an answered CON GET is read again instead of keeping
    /// the largest responses cached: a plain GET as a new Request, a GET
    /// with Observe as a Repeat (read, not registered again). Before the
    /// answer a duplicate is ignored.
    #[test]
    fn duplicate_get_is_read_again() {
        let mut ep = Endpoint::new(1, 1);
        let req = build(MsgType::Con, Code::GET, 0x600, &[7], b"");
        assert!(matches!(ep.handle_datagram(at(0), &req), Incoming::Request(_)));
        assert!(matches!(ep.handle_datagram(at(1), &req), Incoming::Handled), "not answered yet");
        let resp = build(MsgType::Ack, Code::CONTENT, 0x600, &[7], &[0x55; 900]);
        ep.respond(at(2), 0x600, resp.clone());
        assert_eq!(drain(&mut ep), vec![resp]);
        assert!(ep.seen.iter().all(|s| s.reply.is_none()), "the read's answer is not kept");
        assert!(matches!(ep.handle_datagram(at(3000), &req), Incoming::Request(_)));

        let mut observe = MessageWriter::new(MsgType::Con, Code::GET, 0x601, &[8]).unwrap();
        observe.uint_option(option::OBSERVE, 0).unwrap();
        let observe = observe.finish();
        assert!(matches!(ep.handle_datagram(at(0), &observe), Incoming::Request(_)));
        let ans = build(MsgType::Ack, Code::CONTENT, 0x601, &[8], b"1");
        ep.respond(at(1), 0x601, ans.clone());
        drain(&mut ep);
        assert!(ep.seen.iter().all(|s| s.reply.is_none()), "the Observe answer is not kept");
        assert!(matches!(ep.handle_datagram(at(2), &observe), Incoming::Repeat(_)), "an Observe registration's duplicate is read again, not registered again");
        assert!(drain(&mut ep).is_empty());
    }

    #[test]
    fn duplicate_non_request_is_ignored() {
        let mut ep = Endpoint::new(1, 1);
        let req = build(MsgType::Non, Code::GET, 0x10, &[3], b"");
        assert!(matches!(
            ep.handle_datagram(at(0), &req),
            Incoming::Request(_)
        ));
        ep.respond(
            at(0),
            0x10,
            build(MsgType::Non, Code::CONTENT, 0x11, &[3], b"x"),
        );
        drain(&mut ep);
        assert!(matches!(ep.handle_datagram(at(5), &req), Incoming::Handled));
        assert!(drain(&mut ep).is_empty());
    }

    #[test]
    fn reset_of_our_request() {
        let (mut ep, _) = with_request();
        assert!(matches!(
            ep.handle_datagram(at(100), &empty(MsgType::Rst, 0x100)),
            Incoming::Reset { mid: 0x100, .. }
        ));
        assert!(!ep.busy());
        assert_eq!(ep.handle_timeout(at(2000)), None);
        assert!(drain(&mut ep).is_empty());
        // A RST for something else (e.g. a notification) is reported, nothing changes.
        assert!(matches!(
            ep.handle_datagram(at(100), &empty(MsgType::Rst, 0x33)),
            Incoming::Reset { mid: 0x33, .. }
        ));
        // A RST must be Empty.
        let bad = build(MsgType::Rst, Code::CONTENT, 0x33, &[], b"");
        assert!(matches!(
            ep.handle_datagram(at(100), &bad),
            Incoming::Malformed
        ));
        assert!(drain(&mut ep).is_empty());
    }

    /// RFC 7252 §4.3: CON 0.00 is a ping, answered with RST.
    #[test]
    fn ping_gets_reset() {
        let mut ep = Endpoint::new(1, 1);
        assert!(matches!(
            ep.handle_datagram(at(0), b"\x40\x00\xAB\xCD"),
            Incoming::Handled
        ));
        assert_eq!(drain(&mut ep), [empty(MsgType::Rst, 0xABCD)]);
        // NON 0.00 is not allowed: dropped silently.
        assert!(matches!(
            ep.handle_datagram(at(0), b"\x50\x00\xAB\xCE"),
            Incoming::Malformed
        ));
        assert!(drain(&mut ep).is_empty());
    }

    #[test]
    fn malformed_con_gets_reset_others_dropped() {
        let mut ep = Endpoint::new(1, 1);
        // CON with reserved option nibble 15: header readable → RST.
        assert!(matches!(
            ep.handle_datagram(at(0), b"\x40\x01\x12\x34\xF1a"),
            Incoming::Malformed
        ));
        assert_eq!(drain(&mut ep), [empty(MsgType::Rst, 0x1234)]);
        // CON with a reserved code class (7.00) → RST.
        assert!(matches!(
            ep.handle_datagram(at(0), b"\x40\xE0\x12\x35"),
            Incoming::Malformed
        ));
        assert_eq!(drain(&mut ep), [empty(MsgType::Rst, 0x1235)]);
        // Version 2, NON with a format error, short garbage: silently dropped.
        for bad in [
            &b"\x80\x01\x12\x34"[..],
            b"\x50\x01\x12\x34\xFF",
            b"\x40\x01",
            b"",
        ] {
            assert!(matches!(
                ep.handle_datagram(at(0), bad),
                Incoming::Malformed
            ));
        }
        assert!(drain(&mut ep).is_empty());
    }

    #[test]
    fn non_request_response_matched_by_token() {
        let mut ep = Endpoint::new(1, 1);
        let mid = ep.next_mid();
        let req = build(MsgType::Non, Code::POST, mid, &[5, 5], b"x");
        ep.send_request(at(0), mid, &[5, 5], false, req.clone())
            .unwrap();
        assert!(!ep.busy());
        assert_eq!(ep.poll_timeout(), None);
        assert_eq!(drain(&mut ep), [req]);
        let resp = build(MsgType::Non, Code::CHANGED, 0x900, &[5, 5], b"");
        assert!(matches!(
            ep.handle_datagram(at(10), &resp),
            Incoming::Response(_)
        ));
    }

    #[test]
    fn cancel_request_stops_retransmission() {
        let (mut ep, _) = with_request();
        ep.cancel_request();
        assert!(!ep.busy());
        assert_eq!(ep.handle_timeout(at(2000)), None);
        assert!(drain(&mut ep).is_empty());
    }

    #[test]
    fn tx_queue_drops_oldest() {
        let mut ep = Endpoint::new(1, 1);
        for i in 0..(TX_QUEUE as u16 + 2) {
            ep.send_raw(empty(MsgType::Rst, i));
        }
        let out = drain(&mut ep);
        assert_eq!(out.len(), TX_QUEUE);
        assert_eq!(out[0], empty(MsgType::Rst, 2));
    }

    #[test]
    fn mids_and_tokens() {
        let mut ep = Endpoint::new(0xFFFF, 0xDEAD_BEEF);
        assert_eq!((ep.next_mid(), ep.next_mid()), (0xFFFF, 0));
        let mut tokens: Vec<[u8; 4]> = (0..1000).map(|_| ep.next_token()).collect();
        tokens.sort();
        tokens.dedup();
        assert_eq!(tokens.len(), 1000);
        let mut other = Endpoint::new(0, 0xDEAD_BEEE);
        assert_ne!(
            other.next_token(),
            Endpoint::new(0, 0xDEAD_BEEF).next_token()
        );
    }

    #[test]
    fn con_notification_is_done_when_acked() {
        let mut ep = Endpoint::new(0x20, 1);
        let mid = ep.next_mid();
        let mut w = MessageWriter::new(MsgType::Con, Code::CONTENT, mid, &[7, 7]).unwrap();
        w.uint_option(option::OBSERVE, 5)
            .unwrap()
            .payload(b"1")
            .unwrap();
        ep.send_request(at(0), mid, &[7, 7], true, w.finish())
            .unwrap();
        drain(&mut ep);
        // A response-looking message with the observation's token is not ours.
        let stray = build(MsgType::Non, Code::CONTENT, 0x99, &[7, 7], b"x");
        assert!(matches!(
            ep.handle_datagram(at(1), &stray),
            Incoming::Handled
        ));
        assert!(ep.busy());
        assert!(matches!(
            ep.handle_datagram(at(100), &empty(MsgType::Ack, mid)),
            Incoming::Handled
        ));
        assert!(!ep.busy());
        assert_eq!(ep.poll_timeout(), None);
    }
}
