//! Observations of one server and when they notify
//! (OMA-TS-LightweightM2M-V1_0_2 §5.5.1 Observe, §5.5.2 Notify, §5.5.3
//! Cancel Observation, §5.1.2 notification attributes; RFC 7641).
//!
//! Rules:
//! - The response to the Observe request is the first notification (§5.1.2:
//!   "this event can be considered as the initial notification"); every
//!   notification restarts the `pmin` and `pmax` timers.
//! - A change owes a notification when it meets the change condition against
//!   the last *notified* value: with `gt`/`lt`/`st` on a numeric Resource,
//!   crossing `gt` (`> gt` on one side, `≤ gt` on the other) or `lt`
//!   (`< lt` / `≥ lt`), either way, or moving by `≥ st`; otherwise any change
//!   of the encoded body. Object and Object Instance observations, and
//!   non-numeric or multi-instance Resources, use the body rule. An owed
//!   notification stays owed until sent, even if the value moves back.
//! - It is sent no sooner than `pmin` after the previous one, then with the
//!   value current at that time (changes in between are coalesced).
//! - A notification is sent `pmax` after the previous one even without a
//!   change; `pmax` absent or 0: none. A `pmax` below `pmin` counts as `pmin`.
//! - Observe sequence numbers count up by one per notification, 24 bits,
//!   wrapping (RFC 7641 §4.4). A renewed observation (same token, or same
//!   path) keeps counting, so the server never sees an older number.
//! - A notification is confirmable when none of this observation was in the
//!   last [`CON_NOTIFICATION_INTERVAL_S`] (RFC 7641 §4.5; the original: NON,
//!   CON once per 86400 s). The Observe request counts as confirmation.
//! - Cancel (§5.5.3): a RST to a notification (by its Message ID), a GET with
//!   Observe=1 (RFC 7641 §3.6: by token; LwM2M servers may name only the
//!   path, so an exact path match is taken too), a CON notification that
//!   times out (RFC 7641 §4.5), a new Register (§5.5.1: the server
//!   re-observes), or deletion of the observed object.
//! - One observation per token and per path: a new Observe with the token or
//!   the exact path of an existing one replaces it (RFC 7641 §4.1 keys by
//!   token; matching the path too, as Wakaama and Zephyr do, keeps a server
//!   that re-observes without cancelling from filling the table).
//! - At most [`MAX_OBSERVATIONS`]; one more is refused ([`ObserveError::Full`]).
//!
//! How the engine uses it: `observe` on GET+Observe=0; `on_change` whenever
//! a value may have changed; `poll_timeout` for its timer; at that time (or
//! after `on_change` returned true) `due`, then for each one it sends, read
//! and encode the path and call `notified` (which commits the sequence
//! number and the Message ID a RST would name).

use alloc::vec::Vec;

use super::attributes::Attributes;
use super::{swap_take, CON_NOTIFICATION_INTERVAL_S, MAX_OBSERVATIONS, SEQ_MASK};
use crate::coap::msg::MAX_TOKEN_LEN;
use crate::lwm2m::{soft_f64, Path};
use crate::time::Instant;

/// A CoAP token (RFC 7252 §5.3.1: 0 to 8 bytes).
pub type Token = heapless::Vec<u8, MAX_TOKEN_LEN>;

/// What an observed path reads as, to compare with what was last notified.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Sample {
    /// [`body_hash`] of the encoded payload.
    pub body_hash: u32,
    /// The value of a single-instance Integer, Float or Time Resource, for
    /// `gt`/`lt`/`st`; `None` for anything else.
    pub numeric: Option<f64>,
}

impl Sample {
    /// The sample of an encoded payload.
    pub fn of_body(body: &[u8], numeric: Option<f64>) -> Sample {
        Sample {
            body_hash: body_hash(body),
            numeric,
        }
    }
}

/// FNV-1a, 32 bits: a cheap fingerprint of an encoded payload to tell
/// whether it changed (a collision at worst skips one change notification;
/// `pmax` still sends).
pub fn body_hash(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811C_9DC5u32, |h, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

/// One observation: a server's GET with Observe=0 on `path`.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub token: Token,
    pub path: Path,
    /// Content-Format of the notifications (that of the first response).
    pub format: u16,
    /// Numeric value last notified (see [`Sample::numeric`]).
    pub last_value: Option<f64>,
    /// [`body_hash`] of the payload last notified.
    pub last_body_hash: u32,
    /// When the last notification (or the Observe response) was sent.
    pub last_sent: Instant,
    /// Observe option value of the last notification (24 bits).
    pub seq: u32,
    /// When the last confirmable notification (or the Observe request) was.
    pub last_con: Instant,
    /// A change met the condition; it goes out once `pmin` allows.
    pub pending: bool,
    /// Message ID of the last notification: a RST naming it cancels.
    pub last_mid: Option<u16>,
}

impl Observation {
    /// When this observation must notify next under `attrs` (its effective
    /// attributes), or `None` if only a change can make it notify.
    pub fn deadline(&self, attrs: &Attributes) -> Option<Instant> {
        let pmin = attrs.pmin.unwrap_or(0) as u64;
        let owed = self.pending.then(|| self.last_sent.add_secs(pmin));
        let periodic = attrs
            .pmax
            .filter(|&p| p != 0)
            .map(|p| self.last_sent.add_secs((p as u64).max(pmin)));
        match (owed, periodic) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether `sample` differs from what was last notified enough to owe a
    /// notification under `attrs` (see the module doc).
    fn change_notifies(&self, sample: &Sample, attrs: &Attributes) -> bool {
        if sample.body_hash == self.last_body_hash && same_value(sample.numeric, self.last_value) {
            return false;
        }
        let resource_level = self.path.depth() >= 3;
        match (self.last_value, sample.numeric) {
            (Some(old), Some(new)) if resource_level && attrs.has_value_conditions() => {
                value_condition(attrs, old, new)
            }
            _ => true,
        }
    }

    fn confirmable_at(&self, now: Instant) -> bool {
        now.since(self.last_con) >= CON_NOTIFICATION_INTERVAL_S * 1000
    }
}

/// The change value condition of §5.1.2 for a numeric value that moved from
/// `old` (last notified) to `new`: `gt` or `lt` crossed in either direction,
/// or a move of at least `st`; any of those set suffices. (f64 arithmetic
/// through [`soft_f64`]: the FPU has no double precision.)
fn value_condition(attrs: &Attributes, old: f64, new: f64) -> bool {
    let crossed_gt = attrs.gt.is_some_and(|gt| soft_f64::gt(old, gt) != soft_f64::gt(new, gt));
    let crossed_lt = attrs.lt.is_some_and(|lt| soft_f64::lt(old, lt) != soft_f64::lt(new, lt));
    let stepped = attrs.st.is_some_and(|st| soft_f64::ge(soft_f64::abs(soft_f64::sub(new, old)), st));
    crossed_gt || crossed_lt || stepped
}

/// `a == b` for optional numbers, as `Option<f64>`'s `==` (NaN unequal).
fn same_value(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => soft_f64::eq(a, b),
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// A notification to send now.
#[derive(Clone, Debug, PartialEq)]
pub struct Due {
    pub token: Token,
    pub path: Path,
    pub format: u16,
    /// Send it confirmable (RFC 7641 §4.5 24-hour rule).
    pub confirmable: bool,
    /// Its Observe option value, committed by [`Observations::notified`].
    pub seq: u32,
}

/// Why an Observe request was not taken.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ObserveError {
    /// [`MAX_OBSERVATIONS`] already. RFC 7641 §4.1: answer the GET as a
    /// plain read, without an Observe option (the server learns it is not
    /// observing). The TS lists no failure code for this case (only 4.00,
    /// 4.01, 4.04, 4.05); if an error is wanted, 5.00 rather than 4.13,
    /// which is about request payload size (RFC 7252 §5.9.2.9).
    Full,
    /// A token longer than 8 bytes (cannot come from a parsed message).
    BadToken,
}

/// The observations of one server.
#[derive(Clone, Debug, Default)]
pub struct Observations {
    list: Vec<Observation>,
}

impl Observations {
    pub const fn new() -> Self {
        Observations { list: Vec::new() }
    }

    /// Registers (or renews) an observation whose response — carrying
    /// `initial`, encoded as `format` — is sent at `now`. Returns the Observe
    /// option value for that response.
    pub fn observe(
        &mut self,
        now: Instant,
        token: &[u8],
        path: Path,
        format: u16,
        initial: Sample,
    ) -> Result<u32, ObserveError> {
        let token = Token::from_slice(token).map_err(|_| ObserveError::BadToken)?;
        let same = |o: &Observation| o.token == token || o.path == path;
        let seq = match self
            .list
            .iter()
            .position(|o| o.token == token)
            .or_else(|| self.list.iter().position(same))
        {
            Some(i) => {
                let previous_seq = swap_take(&mut self.list, i).map_or(0, |o| o.seq);
                self.list.retain(|o| !same(o)); // at most one per token and per path
                previous_seq.wrapping_add(1) & SEQ_MASK
            }
            None if self.list.len() >= MAX_OBSERVATIONS => return Err(ObserveError::Full),
            None => 0,
        };
        self.list.push(Observation {
            token,
            path,
            format,
            last_value: initial.numeric,
            last_body_hash: initial.body_hash,
            last_sent: now,
            seq,
            last_con: now,
            pending: false,
            last_mid: None,
        });
        Ok(seq)
    }

    /// Puts back an observation kept across a restart (TS §5.5.1: the
    /// client SHOULD keep them). Refused when full or when its token or path
    /// is already observed.
    pub fn restore(&mut self, observation: Observation) -> Result<(), ObserveError> {
        if self.list.len() >= MAX_OBSERVATIONS
            || self
                .list
                .iter()
                .any(|o| o.token == observation.token || o.path == observation.path)
        {
            return Err(ObserveError::Full);
        }
        self.list.push(observation);
        Ok(())
    }

    /// The Observe number of the observation `token` holds on `path`, if
    /// any: what the answer to a duplicate of its registration carries
    /// (the newest, so the server orders it after the notifications sent
    /// since, RFC 7641 §3.4).
    pub fn seq_of(&self, token: &[u8], path: &Path) -> Option<u32> {
        self.list.iter().find(|o| o.token[..] == *token && o.path == *path).map(|o| o.seq)
    }

    /// Removes the observation with this token (CON notification timed out,
    /// or GET with Observe=1, RFC 7641 §3.6, §4.5).
    pub fn cancel_by_token(&mut self, token: &[u8]) -> Option<Observation> {
        let i = self.list.iter().position(|o| o.token[..] == *token)?;
        swap_take(&mut self.list, i)
    }

    /// Removes the observation of exactly `path` (TS §5.5.3, GET with
    /// Observe=1 naming the path; an observation of `/3/0/7` is not one of
    /// `/3/0`).
    pub fn cancel_by_path(&mut self, path: &Path) -> Option<Observation> {
        let i = self.list.iter().position(|o| o.path == *path)?;
        swap_take(&mut self.list, i)
    }

    /// Removes the observation whose last notification had this Message ID
    /// (the server answered it with RST, RFC 7641 §3.6, TS §5.5.3).
    pub fn cancel_by_mid(&mut self, mid: u16) -> Option<Observation> {
        let i = self.list.iter().position(|o| o.last_mid == Some(mid))?;
        swap_take(&mut self.list, i)
    }

    /// GET with Observe=1 (TS §5.5.3): the observation with the request's
    /// token, else the one of its exact path. `None`: nothing was observed
    /// (the GET is still answered as a read).
    pub fn cancel_request(&mut self, token: &[u8], path: &Path) -> Option<Observation> {
        self.cancel_by_token(token)
            .or_else(|| self.cancel_by_path(path))
    }

    /// Removes and returns every observation of `path` or below it (the
    /// object or instance was deleted; RFC 7641 §3.2 lets the engine send
    /// each a final 4.04 notification).
    pub fn remove_within(&mut self, path: &Path) -> Vec<Observation> {
        let mut removed = Vec::new();
        let mut i = 0;
        while let Some(o) = self.list.get(i) {
            if path.contains(&o.path) {
                removed.extend(swap_take(&mut self.list, i));
            } else {
                i += 1;
            }
        }
        removed
    }

    /// Forgets every observation (a new Register, TS §5.5.1).
    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// Something at `changed` may have a new value: each observation of a
    /// path overlapping it reads its path (`read`, `None` if it cannot be
    /// read: skipped) and compares with its last notification under its
    /// effective attributes (`attrs`). Returns whether any notification is
    /// owed now (pending), so the engine looks at [`Self::poll_timeout`].
    ///
    /// No `now`: whether a change owes a notification does not depend on
    /// time; when it goes out is [`Self::due`]'s business.
    pub fn on_change(
        &mut self,
        changed: &Path,
        mut read: impl FnMut(&Path) -> Option<Sample>,
        attrs: impl Fn(&Path) -> Attributes,
    ) -> bool {
        let mut owed = false;
        for o in self.list.iter_mut() {
            if !o.pending && (o.path.contains(changed) || changed.contains(&o.path)) {
                if let Some(sample) = read(&o.path) {
                    o.pending = o.change_notifies(&sample, &attrs(&o.path));
                }
            }
            owed |= o.pending;
        }
        owed
    }

    /// The earliest time a notification is due (pending ones at `pmin`,
    /// periodic ones at `pmax`); `None` if none will be without a change.
    /// It may be in the past while a due notification waits to be sent.
    pub fn poll_timeout(&self, attrs: impl Fn(&Path) -> Attributes) -> Option<Instant> {
        self.list
            .iter()
            .filter_map(|o| o.deadline(&attrs(&o.path)))
            .min()
    }

    /// The notifications to send at `now`. Nothing changes until
    /// [`Self::notified`]: one the engine cannot send yet stays due.
    pub fn due(&self, now: Instant, attrs: impl Fn(&Path) -> Attributes) -> Vec<Due> {
        self.list
            .iter()
            .filter(|o| o.deadline(&attrs(&o.path)).is_some_and(|t| t <= now))
            .map(|o| Due {
                token: o.token.clone(),
                path: o.path,
                format: o.format,
                confirmable: o.confirmable_at(now),
                seq: o.seq.wrapping_add(1) & SEQ_MASK,
            })
            .collect()
    }

    /// The notification of `token` went out at `now` with Message ID `mid`,
    /// carrying `sent`. Returns its Observe value (the one [`Due::seq`]
    /// announced), `None` for an unknown token.
    ///
    /// `confirmable` is how it was actually sent: if the endpoint was busy
    /// and a due CON went out NON, the next notification is CON instead.
    pub fn notified(
        &mut self,
        now: Instant,
        token: &[u8],
        mid: u16,
        confirmable: bool,
        sent: Sample,
    ) -> Option<u32> {
        let o = self.list.iter_mut().find(|o| o.token[..] == *token)?;
        o.seq = o.seq.wrapping_add(1) & SEQ_MASK;
        o.last_sent = now;
        o.last_mid = Some(mid);
        o.last_value = sent.numeric;
        o.last_body_hash = sent.body_hash;
        o.pending = false;
        if confirmable {
            o.last_con = now;
        }
        Some(o.seq)
    }

    pub fn get(&self, token: &[u8]) -> Option<&Observation> {
        self.list.iter().find(|o| o.token[..] == *token)
    }

    /// Every observation, in no particular order (for persistence).
    pub fn iter(&self) -> impl Iterator<Item = &Observation> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::super::attributes::{parse_write_attributes, AttributeStore};
    use super::*;
    use alloc::vec;

    const TEXT: u16 = 0;
    const TLV: u16 = 11542;
    const BATTERY: Path = Path::Resource(3, 0, 9);
    const VOLTAGE: Path = Path::Resource(3, 0, 7);

    fn at(s: u64) -> Instant {
        Instant::from_millis(s * 1000)
    }

    fn num(v: f64) -> Sample {
        Sample::of_body(&v.to_bits().to_le_bytes(), Some(v))
    }

    fn attrs(q: &str) -> Attributes {
        let mut store = AttributeStore::new();
        let items: Vec<&[u8]> = q.split('&').map(str::as_bytes).collect();
        store
            .apply(
                &BATTERY,
                &parse_write_attributes(items.into_iter(), &BATTERY).unwrap(),
            )
            .unwrap();
        store.effective(&BATTERY, 0, 0)
    }

    /// A device with numeric resources under /3/0, a server's attribute
    /// store, its observations, and the notifications "sent".
    struct Sim {
        values: Vec<(Path, f64)>,
        store: AttributeStore,
        default_pmin: u32,
        default_pmax: u32,
        obs: Observations,
        sent: Vec<(u64, Path, bool, u32, f64)>,
        next_mid: u16,
        /// When set, the endpoint is "busy": a due CON goes out NON.
        busy: bool,
    }

    fn read(values: &[(Path, f64)], path: &Path) -> Option<Sample> {
        if path.depth() >= 3 {
            values.iter().find(|(p, _)| p == path).map(|&(_, v)| num(v))
        } else {
            // An instance: its encoded body changes with any of its resources.
            let mut body = Vec::new();
            for (p, v) in values.iter().filter(|(p, _)| path.contains(p)) {
                body.extend_from_slice(&p.resource().unwrap_or(0).to_le_bytes());
                body.extend_from_slice(&v.to_bits().to_le_bytes());
            }
            Some(Sample::of_body(&body, None))
        }
    }

    impl Sim {
        fn new(values: &[(Path, f64)]) -> Sim {
            Sim {
                values: values.to_vec(),
                store: AttributeStore::new(),
                default_pmin: 0,
                default_pmax: 0,
                obs: Observations::new(),
                sent: Vec::new(),
                next_mid: 100,
                busy: false,
            }
        }

        fn write_attrs(&mut self, path: Path, q: &str) {
            let items: Vec<&[u8]> = q.split('&').map(str::as_bytes).collect();
            self.store
                .apply(
                    &path,
                    &parse_write_attributes(items.into_iter(), &path).unwrap(),
                )
                .unwrap();
        }

        fn observe(&mut self, t: u64, token: &[u8], path: Path) -> u32 {
            let initial = read(&self.values, &path).unwrap();
            self.obs.observe(at(t), token, path, TLV, initial).unwrap()
        }

        fn set(&mut self, path: Path, v: f64) -> bool {
            if let Some(entry) = self.values.iter_mut().find(|(p, _)| *p == path) {
                entry.1 = v;
            }
            let (values, store, dmin, dmax) = (
                &self.values,
                &self.store,
                self.default_pmin,
                self.default_pmax,
            );
            self.obs.on_change(
                &path,
                |p| read(values, p),
                |p| store.effective(p, dmin, dmax),
            )
        }

        fn timeout(&self) -> Option<u64> {
            let (store, dmin, dmax) = (&self.store, self.default_pmin, self.default_pmax);
            self.obs
                .poll_timeout(|p| store.effective(p, dmin, dmax))
                .map(|t| t.millis() / 1000)
        }

        /// The engine's turn at `t` s: send what is due.
        fn run(&mut self, t: u64) -> usize {
            let (store, dmin, dmax) = (&self.store, self.default_pmin, self.default_pmax);
            let due = self.obs.due(at(t), |p| store.effective(p, dmin, dmax));
            for d in &due {
                let sample = read(&self.values, &d.path).unwrap();
                let confirmable = d.confirmable && !self.busy;
                self.next_mid += 1;
                let seq = self
                    .obs
                    .notified(at(t), &d.token, self.next_mid, confirmable, sample)
                    .unwrap();
                assert_eq!(seq, d.seq);
                let v = self
                    .values
                    .iter()
                    .find(|(p, _)| *p == d.path)
                    .map_or(f64::NAN, |e| e.1);
                self.sent.push((t, d.path, confirmable, seq, v));
            }
            due.len()
        }

        fn times(&self) -> Vec<u64> {
            self.sent.iter().map(|s| s.0).collect()
        }
    }

    #[test]
    fn fnv1a_vectors() {
        // FNV-1a 32-bit reference values (Fowler/Noll/Vo test suite).
        assert_eq!(body_hash(b""), 0x811C_9DC5);
        assert_eq!(body_hash(b"a"), 0xE40C_292C);
        assert_eq!(body_hash(b"foobar"), 0xBF9C_F968);
    }

    #[test]
    fn value_conditions_of_the_ts_examples() {
        // The TS's Write-Attributes examples 4 and 5 (old value → new value, notify?).
        let a = attrs("gt=45&st=10");
        for (old, new) in [(20.0, 35.0), (45.0, 50.0), (50.0, 40.0), (35.0, 20.0)] {
            assert!(value_condition(&a, old, new), "gt=45&st=10: {old} → {new}");
        }
        for (old, new) in [(20.0, 29.9), (46.0, 55.0), (45.0, 40.0), (44.0, 45.0)] {
            assert!(!value_condition(&a, old, new), "gt=45&st=10: {old} → {new}");
        }
        let a = attrs("lt=20&gt=85&st=10");
        for (old, new) in [(17.0, 24.0), (75.0, 90.0), (50.0, 10.0), (87.0, 99.0)] {
            assert!(
                value_condition(&a, old, new),
                "lt=20&gt=85&st=10: {old} → {new}"
            );
        }
        for (old, new) in [(17.0, 19.0), (50.0, 59.0), (86.0, 95.0), (20.0, 21.0)] {
            assert!(
                !value_condition(&a, old, new),
                "lt=20&gt=85&st=10: {old} → {new}"
            );
        }
        // Negative thresholds (RSRP in dBm).
        let a = attrs("lt=-110");
        assert!(value_condition(&a, -100.0, -115.0) && value_condition(&a, -115.0, -100.0));
        assert!(!value_condition(&a, -100.0, -105.0));
    }

    #[test]
    fn initial_response_counts_as_a_notification() {
        let mut sim = Sim::new(&[(BATTERY, 50.0)]);
        sim.write_attrs(BATTERY, "pmin=10");
        assert_eq!(sim.observe(0, b"t1", BATTERY), 0);
        assert_eq!(sim.timeout(), None); // nothing owed, no pmax
        assert!(sim.set(BATTERY, 51.0));
        assert_eq!(sim.timeout(), Some(10)); // pmin counts from the response
        assert_eq!(sim.run(9), 0);
        assert_eq!(sim.run(10), 1);
        assert_eq!(sim.sent, vec![(10, BATTERY, false, 1, 51.0)]);
    }

    #[test]
    fn pmin_coalesces_changes_and_sends_the_latest() {
        let mut sim = Sim::new(&[(BATTERY, 50.0)]);
        sim.write_attrs(Path::Instance(3, 0), "pmin=10");
        sim.observe(0, b"t1", BATTERY);
        sim.set(BATTERY, 51.0);
        sim.run(1);
        sim.set(BATTERY, 52.0);
        sim.set(BATTERY, 53.0);
        for t in 2..10 {
            assert_eq!(sim.run(t), 0);
        }
        assert_eq!(sim.run(10), 1);
        assert_eq!(sim.sent, vec![(10, BATTERY, false, 1, 53.0)]);
        // Next change right after: wait pmin after that notification.
        sim.set(BATTERY, 54.0);
        assert_eq!(sim.timeout(), Some(20));
        assert_eq!(sim.run(19), 0);
        assert_eq!(sim.run(20), 1);
        // A change long after pmin goes at once.
        sim.set(BATTERY, 55.0);
        assert_eq!(sim.run(100), 1);
        // A "change" to the value last notified owes nothing.
        assert!(!sim.set(BATTERY, 55.0));
        assert_eq!(sim.times(), vec![10, 20, 100]);
    }

    #[test]
    fn pmax_sends_periodically_without_change() {
        let mut sim = Sim::new(&[(BATTERY, 50.0)]);
        sim.write_attrs(BATTERY, "pmax=60");
        sim.observe(0, b"t1", BATTERY);
        assert_eq!(sim.timeout(), Some(60));
        for t in 1..=200 {
            sim.run(t);
        }
        assert_eq!(sim.times(), vec![60, 120, 180]);
        // A change notification restarts the pmax timer.
        sim.set(BATTERY, 1.0);
        sim.run(200);
        assert_eq!(sim.timeout(), Some(260));
        // pmax 0 is no periodic notification, and a server default applies when unset.
        sim.write_attrs(BATTERY, "pmax=0");
        assert_eq!(sim.timeout(), None);
        sim.write_attrs(BATTERY, "pmax");
        sim.default_pmax = 1000;
        assert_eq!(sim.timeout(), Some(1200));
    }

    #[test]
    fn pmax_below_pmin_waits_for_pmin() {
        let mut sim = Sim::new(&[(BATTERY, 50.0)]);
        sim.write_attrs(Path::Object(3), "pmin=30");
        sim.write_attrs(BATTERY, "pmax=10");
        sim.observe(0, b"t1", BATTERY);
        assert_eq!(sim.timeout(), Some(30));
    }

    #[test]
    fn gt_and_lt_crossings_both_ways() {
        let mut sim = Sim::new(&[(BATTERY, 50.0)]);
        sim.write_attrs(BATTERY, "lt=20&gt=80");
        sim.observe(0, b"t1", BATTERY);
        let steps = [
            (60.0, false),
            (81.0, true),
            (95.0, false),
            (80.0, true),
            (30.0, false),
            (19.5, true),
            (5.0, false),
            (20.0, true),
        ];
        for (t, &(v, notifies)) in (1..).zip(steps.iter()) {
            sim.set(BATTERY, v);
            assert_eq!(sim.run(t), notifies as usize, "→ {v}");
        }
        let values: Vec<f64> = sim.sent.iter().map(|s| s.4).collect();
        assert_eq!(values, vec![81.0, 80.0, 19.5, 20.0]);
    }

    #[test]
    fn crossing_is_judged_against_the_last_notification() {
        let mut sim = Sim::new(&[(BATTERY, 50.0)]);
        sim.write_attrs(BATTERY, "gt=80&pmin=10");
        sim.observe(0, b"t1", BATTERY);
        sim.set(BATTERY, 90.0); // crossed: owed at pmin
        sim.set(BATTERY, 70.0); // back below: still owed, latest value goes
        assert_eq!(sim.run(10), 1);
        assert_eq!(sim.sent[0].4, 70.0);
        sim.set(BATTERY, 79.0); // 70 → 79: no crossing
        assert_eq!(sim.run(30), 0);
    }

    #[test]
    fn step_counts_from_the_last_notified_value() {
        let mut sim = Sim::new(&[(BATTERY, 50.0)]);
        sim.write_attrs(BATTERY, "st=5");
        sim.observe(0, b"t1", BATTERY);
        for (t, &(v, notifies)) in (1..).zip(
            [
                (52.0, false),
                (54.9, false),
                (55.0, true),
                (51.0, false),
                (50.0, true),
                (44.0, true),
            ]
            .iter(),
        ) {
            sim.set(BATTERY, v);
            assert_eq!(sim.run(t), notifies as usize, "→ {v}");
        }
    }

    #[test]
    fn without_value_conditions_any_change_notifies() {
        let mut sim = Sim::new(&[(BATTERY, 50.0), (VOLTAGE, 3.3)]);
        sim.observe(0, b"t1", BATTERY);
        sim.observe(0, b"t2", Path::Instance(3, 0));
        sim.set(BATTERY, 50.5);
        assert_eq!(sim.run(1), 2);
        // A resource outside the observed one changes only the instance.
        sim.set(VOLTAGE, 3.4);
        assert_eq!(sim.run(2), 1);
        assert_eq!(sim.sent[2].1, Path::Instance(3, 0));
        // gt/lt/st on a resource do not apply to the instance's observation.
        sim.write_attrs(VOLTAGE, "gt=100");
        sim.set(VOLTAGE, 3.5);
        assert_eq!(sim.run(3), 1);
        // ...and a Write of the instance reaches the resource observation.
        sim.values[0].1 = 60.0;
        let (values, store) = (&sim.values, &sim.store);
        assert!(sim.obs.on_change(
            &Path::Instance(3, 0),
            |p| read(values, p),
            |p| store.effective(p, 0, 0)
        ));
        assert_eq!(sim.run(4), 2);
    }

    #[test]
    fn non_numeric_values_use_the_body() {
        let mut obs = Observations::new();
        let a = attrs("gt=10");
        obs.observe(at(0), b"t", BATTERY, TEXT, Sample::of_body(b"abc", None))
            .unwrap();
        assert!(!obs.on_change(&BATTERY, |_| Some(Sample::of_body(b"abc", None)), |_| a));
        assert!(obs.on_change(&BATTERY, |_| Some(Sample::of_body(b"abd", None)), |_| a));
        // An unreadable path owes nothing.
        let mut obs = Observations::new();
        obs.observe(at(0), b"t", BATTERY, TEXT, Sample::of_body(b"abc", None))
            .unwrap();
        assert!(!obs.on_change(&Path::Root, |_| None, |_| a));
    }

    #[test]
    fn observations_are_bounded_and_renewed_in_place() {
        let mut obs = Observations::new();
        for r in 0..MAX_OBSERVATIONS as u16 {
            assert_eq!(
                obs.observe(at(0), &[r as u8], Path::Resource(3, 0, r), TLV, num(0.0)),
                Ok(0)
            );
        }
        assert_eq!(
            obs.observe(at(0), b"new", Path::Resource(3, 0, 99), TLV, num(0.0)),
            Err(ObserveError::Full)
        );
        assert_eq!(
            obs.observe(at(0), &[0u8; 9], Path::Resource(3, 0, 99), TLV, num(0.0)),
            Err(ObserveError::BadToken)
        );
        // Same token: renewed, sequence numbers go on (RFC 7641 §4.1, §4.4).
        obs.notified(at(1), &[0], 1, false, num(1.0));
        assert_eq!(
            obs.observe(at(2), &[0], Path::Resource(3, 0, 0), TLV, num(1.0)),
            Ok(2)
        );
        // Same path, new token: replaces the old one.
        assert_eq!(
            obs.observe(at(3), b"other", Path::Resource(3, 0, 1), TEXT, num(1.0)),
            Ok(1)
        );
        assert_eq!(obs.len(), MAX_OBSERVATIONS);
        assert!(obs.get(&[1]).is_none());
        assert_eq!(obs.get(b"other").map(|o| o.format), Some(TEXT));
        // A token that moves to the path of another observation leaves one of each.
        assert_eq!(
            obs.observe(at(4), b"other", Path::Resource(3, 0, 2), TLV, num(1.0)),
            Ok(2)
        );
        assert_eq!(obs.len(), MAX_OBSERVATIONS - 1);
        assert!(obs.get(&[2]).is_none());
        // restore refuses duplicates and overflow.
        let kept = obs.get(b"other").unwrap().clone();
        assert_eq!(obs.restore(kept.clone()), Err(ObserveError::Full));
        obs.cancel_by_token(b"other");
        assert_eq!(obs.restore(kept), Ok(()));
    }

    #[test]
    fn cancel_by_token_path_and_mid() {
        let mut sim = Sim::new(&[
            (BATTERY, 50.0),
            (VOLTAGE, 3.3),
            (Path::Resource(4, 0, 2), -90.0),
        ]);
        sim.observe(0, b"a", BATTERY);
        sim.observe(0, b"b", VOLTAGE);
        sim.observe(0, b"c", Path::Instance(3, 0));
        // GET Observe=1 on /3/0/7 with a fresh token: by path.
        assert_eq!(
            sim.obs.cancel_request(b"zz", &VOLTAGE).map(|o| o.token),
            Some(Token::from_slice(b"b").unwrap())
        );
        // ...with the observation's token: by token, whatever path it names.
        assert!(sim.obs.cancel_request(b"c", &Path::Object(3)).is_some());
        assert!(sim.obs.cancel_request(b"zz", &Path::Object(3)).is_none());
        // RST to a notification: by its Message ID; unknown ones change nothing.
        sim.set(BATTERY, 1.0);
        sim.run(1);
        let mid = sim.next_mid;
        assert!(sim.obs.cancel_by_mid(mid.wrapping_add(1)).is_none());
        assert!(sim.obs.cancel_by_mid(mid).is_some());
        assert!(sim.obs.is_empty());
        // Deleting an instance takes its observations; a Register takes all.
        sim.observe(0, b"a", BATTERY);
        sim.observe(0, b"d", Path::Resource(4, 0, 2));
        assert_eq!(sim.obs.remove_within(&Path::Instance(3, 0)).len(), 1);
        assert_eq!(sim.obs.len(), 1);
        sim.obs.clear();
        assert!(sim.obs.is_empty());
        assert_eq!(sim.obs.cancel_by_token(b"a"), None);
    }

    #[test]
    fn a_confirmable_notification_every_24_hours() {
        let mut sim = Sim::new(&[(BATTERY, 50.0)]);
        sim.write_attrs(BATTERY, "pmax=3600");
        sim.observe(0, b"t", BATTERY);
        for h in 1..=48 {
            assert_eq!(sim.run(h * 3600), 1);
        }
        let con_hours: Vec<u64> = sim
            .sent
            .iter()
            .filter(|s| s.2)
            .map(|s| s.0 / 3600)
            .collect();
        assert_eq!(con_hours, vec![24, 48]);
        // Endpoint busy when the CON was due: sent NON, the duty passes on.
        sim.sent.clear();
        sim.busy = true;
        sim.run(72 * 3600);
        sim.busy = false;
        sim.run(73 * 3600);
        sim.run(74 * 3600);
        let con: Vec<bool> = sim.sent.iter().map(|s| s.2).collect();
        assert_eq!(con, vec![false, true, false]);
    }

    #[test]
    fn sequence_numbers_wrap_at_24_bits() {
        // RFC 7641 §3.4: V2 is fresher than V1 if (V1 < V2 and V2 - V1 < 2^23) or (V1 > V2 and V1 - V2 > 2^23).
        fn fresher(v1: u32, v2: u32) -> bool {
            (v1 < v2 && v2 - v1 < 1 << 23) || (v1 > v2 && v1 - v2 > 1 << 23)
        }
        let mut obs = Observations::new();
        obs.observe(at(0), b"t", BATTERY, TLV, num(0.0)).unwrap();
        obs.list[0].seq = SEQ_MASK - 1;
        let mut seen = vec![SEQ_MASK - 1];
        for i in 1..=3u64 {
            let due = obs.due(at(i), |_| Attributes {
                pmax: Some(1),
                ..Default::default()
            });
            let seq = obs
                .notified(at(i), b"t", i as u16, false, num(0.0))
                .unwrap();
            assert_eq!(due[0].seq, seq);
            seen.push(seq);
        }
        assert_eq!(seen, vec![0xFF_FFFE, 0xFF_FFFF, 0, 1]);
        assert!(seen.windows(2).all(|w| fresher(w[0], w[1])));
        // Renewal across the wrap keeps counting too.
        assert_eq!(obs.observe(at(9), b"t", BATTERY, TLV, num(0.0)), Ok(2));
        assert_eq!(obs.notified(at(9), b"unknown", 1, false, num(0.0)), None);
    }

    /// xorshift32 (Marsaglia 2003).
    fn xorshift(state: &mut u32) -> u32 {
        let mut x = *state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *state = x;
        x
    }

    #[test]
    fn random_runs_keep_the_period_rules() {
        let mut seed = 0x9E37_79B9u32;
        for _ in 0..50 {
            let pmin = xorshift(&mut seed) % 20;
            let pmax = match xorshift(&mut seed) % 3 {
                0 => 0,
                _ => pmin + xorshift(&mut seed) % 40,
            };
            let mut sim = Sim::new(&[(BATTERY, 0.0)]);
            sim.write_attrs(BATTERY, &alloc::format!("pmin={pmin}&pmax={pmax}"));
            sim.observe(0, b"t", BATTERY);
            let mut last_sent = 0u64;
            let mut owed_since: Option<u64> = None;
            for t in 1..2000u64 {
                if xorshift(&mut seed).is_multiple_of(7) {
                    let v = (xorshift(&mut seed) % 4) as f64;
                    if sim.set(BATTERY, v) && owed_since.is_none() {
                        owed_since = Some(t);
                    }
                }
                if sim.run(t) == 1 {
                    assert!(
                        t - last_sent >= pmin as u64,
                        "pmin {pmin}: {last_sent} → {t}"
                    );
                    last_sent = t;
                    owed_since = None;
                }
                // Never later than pmax (or pmin, when more) after the previous one, nor a change later than pmin.
                if pmax != 0 {
                    assert!(
                        t - last_sent < pmax as u64,
                        "pmax {pmax}: last {last_sent}, now {t}"
                    );
                }
                if owed_since.is_some() {
                    assert!(
                        t < last_sent + pmin as u64,
                        "owed change not sent at pmin {pmin}"
                    );
                }
            }
        }
    }
}
