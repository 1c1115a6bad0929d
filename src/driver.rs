//! `lwm2m_carrier_init()` / `lwm2m_carrier_run()`: the thin, event-driven
//! driver that feeds the sans-IO [`Engine`] from `lwm2m_os.h` and executes
//! its actions. It sleeps in `lwm2m_os_wait()` until the engine's next
//! deadline, a datagram, an AT notification or a wake-up: no periodic polling.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU8, Ordering};
use core::ffi::{c_char, c_int, c_void, CStr};

use crate::api::*;
use crate::hooks::*;
use crate::engine::{Action, ActionResult, Config, ConnId, Engine, Event, SecKind, Stored};
use crate::objects::device::Device;
use crate::objects::model::Env;
use crate::limits::{AT_RESPONSE_LEN, MAX_DATAGRAM, MAX_RECORD_LEN};
use crate::log;
use crate::os::{self, err};
use crate::shared;
use crate::storage;
use crate::time::Instant;

/// Connections the engine may have open at once (bootstrap + 3 servers).
const MAX_CONNS: usize = 4;

/// Exit status of the host port's reboot is documented in port/; the device reboots.
struct Driver {
    engine: Engine,
    handles: [Option<c_int>; MAX_CONNS],
    rx: Box<[u8]>,
    /// The application vetoed a reboot: `run()` returns.
    reboot_vetoed: bool,
}

/// Boxed: `None` is all zeros, so the static lives in .bss, not .data.
struct CarrierThreadCell(UnsafeCell<Option<Box<Driver>>>);
// SAFETY: `lwm2m_carrier_init()` and `lwm2m_carrier_run()` are called from the
// carrier thread only (their documented contract); nothing else touches it.
unsafe impl Sync for CarrierThreadCell {}
static DRIVER: CarrierThreadCell = CarrierThreadCell(UnsafeCell::new(None));

/// Where the library is in its life: `lwm2m_carrier_init()` and
/// `lwm2m_carrier_run()` refuse to start while one of them is already on
/// the stack (the event handler calling back into them would otherwise
/// hold two `&mut` to the driver).
static PHASE: AtomicU8 = AtomicU8::new(phase::IDLE);
mod phase {
    pub const IDLE: u8 = 0;
    pub const INITIALIZING: u8 = 1;
    pub const READY: u8 = 2;
    pub const RUNNING: u8 = 3;
}

/// Move from `from` to `to`, or tell where the library is instead.
fn enter(from: u8, to: u8) -> Result<(), u8> {
    PHASE.compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire).map(|_| ())
}

fn now() -> Instant {
    Instant(unsafe { os::lwm2m_os_uptime_ms() }.max(0) as u64)
}

/// Call the application's event handler (never under the lock).
fn deliver(e: &Event) -> c_int {
    let deferred;
    let error;
    let (type_, data): (u32, *const c_void) = match *e {
        Event::BsdlibInit => (LWM2M_CARRIER_EVENT_BSDLIB_INIT, core::ptr::null()),
        Event::Connecting => (LWM2M_CARRIER_EVENT_CONNECTING, core::ptr::null()),
        Event::Connected => (LWM2M_CARRIER_EVENT_CONNECTED, core::ptr::null()),
        Event::Disconnecting => (LWM2M_CARRIER_EVENT_DISCONNECTING, core::ptr::null()),
        Event::Disconnected => (LWM2M_CARRIER_EVENT_DISCONNECTED, core::ptr::null()),
        Event::Bootstrapped => (LWM2M_CARRIER_EVENT_BOOTSTRAPPED, core::ptr::null()),
        Event::Registered => (LWM2M_CARRIER_EVENT_REGISTERED, core::ptr::null()),
        Event::LteReady => (LWM2M_CARRIER_EVENT_LTE_READY, core::ptr::null()),
        Event::Deferred { reason, timeout_s } => {
            deferred = lwm2m_carrier_event_deferred_t { reason, timeout: timeout_s };
            (LWM2M_CARRIER_EVENT_DEFERRED, &deferred as *const _ as *const c_void)
        }
        Event::Error { code, value } => {
            error = lwm2m_carrier_event_error_t { code, value };
            (LWM2M_CARRIER_EVENT_ERROR, &error as *const _ as *const c_void)
        }
    };
    let evt = lwm2m_carrier_event_t { type_, data };
    unsafe { lwm2m_carrier_event_handler(&evt) }
}

fn reboot_event() -> c_int {
    let evt = lwm2m_carrier_event_t { type_: LWM2M_CARRIER_EVENT_REBOOT, data: core::ptr::null() };
    unsafe { lwm2m_carrier_event_handler(&evt) }
}

/// A NUL-terminated copy of `s`.
fn c_string(s: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend(s.iter().copied().filter(|&b| b != 0));
    v.push(0);
    v
}

fn read_record(id: u16, buf: &mut [u8]) -> Option<Vec<u8>> {
    let n = unsafe { os::lwm2m_os_storage_read(id, buf.as_mut_ptr() as *mut c_void, buf.len()) };
    if n <= 0 {
        return None;
    }
    if n as usize > buf.len() {
        log!(LOG_ERR, "stored record ", id, " is larger than ", buf.len(), " bytes: ignored");
        return None;
    }
    let rec = buf.get(..n as usize).and_then(storage::unframe);
    if rec.is_none() {
        log!(LOG_WRN, "stored record ", id, " is damaged or of another layout: ignored");
    }
    rec.map(|p| p.to_vec())
}

fn sec_kind(k: SecKind) -> c_int {
    match k {
        SecKind::Psk => os::SEC_PSK,
        SecKind::Identity => os::SEC_IDENTITY,
    }
}

impl Driver {
    /// Execute one action; actions with a result hand it back to the engine.
    fn execute(&mut self, a: Action) {
        let t = now();
        match a {
            Action::Event(e) => {
                deliver(&e);
            }
            Action::At(cmd) => {
                let res = at_command(cmd);
                self.engine.handle_result(t, res);
            }
            Action::SecWrite { tag, kind, data } => {
                let r = unsafe { os::lwm2m_os_sec_write(tag, sec_kind(kind), data.as_ptr() as *const c_void, data.len()) };
                self.engine.handle_result(t, if r == 0 { Ok(String::new()) } else { Err(r) });
            }
            Action::SecDelete { tag, kind } => {
                let r = unsafe { os::lwm2m_os_sec_delete(tag, sec_kind(kind)) };
                self.engine.handle_result(t, if r == 0 { Ok(String::new()) } else { Err(r) });
            }
            Action::SecExists { tag, kind } => {
                let r = unsafe { os::lwm2m_os_sec_exists(tag, sec_kind(kind)) };
                self.engine.handle_result(t, match r {
                    1 => Ok(String::new()),
                    0 => Err(-err::ENOENT),
                    e => Err(e.min(-1)),
                });
            }
            Action::Open { conn, host, port, sec_tag, local_port } => {
                self.close(conn);
                let h = c_string(host.as_bytes());
                let tag = sec_tag.map_or(os::NO_SEC_TAG, |t| t as i32);
                let r = unsafe { os::lwm2m_os_udp_open(h.as_ptr() as *const c_char, port, tag, local_port) };
                let t = now(); // the handshake may have taken a while
                if r >= 0 {
                    match self.handles.get_mut(conn as usize) {
                        Some(slot) => {
                            *slot = Some(r);
                            self.engine.handle_result(t, Ok(String::new()));
                        }
                        None => {
                            // The engine never asks for more (carrier::MAX_SERVER_ACCOUNTS);
                            // if it did, say so instead of dropping its traffic.
                            log!(LOG_ERR, "connection ", conn as u32, " beyond the ", MAX_CONNS, " the driver keeps: closed");
                            unsafe { os::lwm2m_os_udp_close(r) };
                            self.engine.handle_result(t, Err(-err::EINVAL));
                        }
                    }
                } else {
                    self.engine.handle_result(t, Err(r));
                }
            }
            Action::Send { conn, data } => match self.handle(conn) {
                Some(h) => {
                    let r = unsafe { os::lwm2m_os_udp_send(h, data.as_ptr() as *const c_void, data.len()) };
                    if r < 0 {
                        self.engine.handle_conn_error(t, conn, r);
                    }
                }
                None => log!(LOG_WRN, "datagram for connection ", conn as u32, " that is not open: dropped"),
            },
            Action::Close { conn } => self.close(conn),
            Action::Store { id, data } => {
                let r = unsafe { os::lwm2m_os_storage_write(id, data.as_ptr() as *const c_void, data.len()) };
                if r < 0 {
                    log!(LOG_ERR, "storage write of record ", id, " failed: ", r);
                }
            }
            Action::SetModemIdentity(idn) => shared::with(|s| s.device.set_modem_identity(idn)),
            Action::Reboot => self.reboot(),
            Action::FactoryReset => {
                // Execute /3/0/5: forget every record of ours, then reboot.
                let reporting = (1..MAX_CONNS as u16).map(|n| storage::REPORTING + n);
                for id in [storage::SECURITY, storage::SERVER, storage::ACL, storage::LOCATIONS, storage::MISC].into_iter().chain(reporting) {
                    unsafe { os::lwm2m_os_storage_delete(id) };
                }
                log!(LOG_INF, "factory reset: stored state erased");
                self.reboot();
            }
        }
    }

    fn handle(&self, conn: ConnId) -> Option<c_int> {
        self.handles.get(conn as usize).copied().flatten()
    }

    fn close(&mut self, conn: ConnId) {
        if let Some(slot) = self.handles.get_mut(conn as usize) {
            if let Some(h) = slot.take() {
                unsafe { os::lwm2m_os_udp_close(h) };
            }
        }
    }

    /// REBOOT event; unless vetoed: radio off, modem library down, reset.
    fn reboot(&mut self) {
        if reboot_event() != 0 {
            log!(LOG_INF, "reboot vetoed by the application");
            self.reboot_vetoed = true;
            return;
        }
        for c in 0..MAX_CONNS as ConnId {
            self.close(c);
        }
        let off = c_string(crate::modem::cmd::POWER_OFF.as_bytes());
        unsafe {
            os::lwm2m_os_at_cmd(off.as_ptr() as *const c_char, core::ptr::null_mut(), 0);
            os::lwm2m_os_modem_shutdown();
            os::lwm2m_os_reboot();
        }
    }

    /// Feed everything that happened into the engine and execute its actions.
    fn pump(&mut self) {
        let t = now();
        while let Some(line) = shared::pop_at_notif() {
            self.engine.handle_at_notif(t, &line);
        }
        let dropped = shared::take_at_dropped();
        if dropped > 0 {
            log!(LOG_WRN, "AT notifications dropped (queue full or line too long): ", dropped);
        }
        for conn in 0..MAX_CONNS as ConnId {
            while let Some(h) = self.handle(conn) {
                let r = unsafe { os::lwm2m_os_udp_recv(h, self.rx.as_mut_ptr() as *mut c_void, self.rx.len()) };
                if r == -err::EAGAIN {
                    break;
                }
                if r <= 0 {
                    self.close(conn);
                    self.engine.handle_conn_error(now(), conn, r);
                    break;
                }
                let Some(datagram) = self.rx.get(..r as usize).filter(|d| d.len() <= MAX_DATAGRAM) else {
                    log!(LOG_WRN, "datagram over ", MAX_DATAGRAM, " bytes dropped");
                    continue;
                };
                self.engine.handle_datagram(t, conn, datagram, &mut OsEnv::default());
                self.drain();
            }
        }
        if shared::take_device_changed() {
            self.engine.handle_device_changed(now(), &mut OsEnv::default());
            self.drain();
        }
        if self.engine.poll_timeout().is_some_and(|d| d <= now()) {
            self.engine.handle_timeout(now(), &mut OsEnv::default());
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(a) = self.engine.poll_action() {
            self.execute(a);
            if self.reboot_vetoed {
                break;
            }
        }
    }

    /// Sleep until the next deadline or activity.
    fn wait(&self) {
        let timeout = match self.engine.poll_timeout() {
            None => -1,
            Some(d) => d.since(now()).min(i32::MAX as u64) as i32,
        };
        if timeout != 0 {
            unsafe { os::lwm2m_os_wait(timeout) };
        }
    }
}

/// The platform as the objects see it: the shared Device values (one
/// snapshot per request, taken under the lock), the modem, and the
/// application's time and memory hooks (called without the lock).
#[derive(Default)]
struct OsEnv {
    device: Option<Device>,
}

/// Send an AT command; the response text or the OS layer's error.
fn at_command(cmd: &str) -> ActionResult {
    let c = c_string(cmd.as_bytes());
    let mut buf = [0u8; AT_RESPONSE_LEN];
    let r = unsafe { os::lwm2m_os_at_cmd(c.as_ptr() as *const c_char, buf.as_mut_ptr() as *mut c_char, buf.len()) };
    if r == 0 {
        let text = buf.split(|&b| b == 0).next().unwrap_or_default();
        Ok(String::from(core::str::from_utf8(text).unwrap_or("")))
    } else {
        log!(LOG_DBG, cmd, " -> ", r);
        Err(r)
    }
}

impl Env for OsEnv {
    fn with_device(&mut self, f: &mut dyn FnMut(&mut Device)) {
        let d = self.device.get_or_insert_with(|| shared::with(|s| s.device.clone()));
        f(d);
    }
    fn device_mut(&mut self, f: &mut dyn FnMut(&mut Device)) {
        shared::with(|s| f(&mut s.device));
        self.device = None;
    }
    fn at(&mut self, cmd: &str) -> Result<String, i32> {
        at_command(cmd)
    }
    fn memory_free(&mut self) -> i32 {
        unsafe { lwm2m_carrier_memory_free_read() }
    }
    fn utc_time(&mut self) -> i32 {
        unsafe { lwm2m_carrier_utc_time_read() }
    }
    fn utc_offset(&mut self) -> i32 {
        unsafe { lwm2m_carrier_utc_offset_read() }
    }
    fn timezone(&mut self) -> String {
        let p = unsafe { lwm2m_carrier_timezone_read() };
        if p.is_null() {
            return String::new();
        }
        // At most 64 bytes (the original's limit), read no further than
        // that, cut on a UTF-8 boundary.
        let mut b = heapless::Vec::<u8, 64>::new();
        for i in 0..64 {
            // SAFETY: a NUL-terminated string; we stop at its NUL.
            let c = unsafe { *p.cast::<u8>().add(i) };
            if c == 0 || b.push(c).is_err() {
                break;
            }
        }
        let text = match core::str::from_utf8(&b) {
            Ok(t) => t,
            Err(e) => core::str::from_utf8(b.get(..e.valid_up_to()).unwrap_or_default()).unwrap_or(""),
        };
        String::from(text)
    }
    fn set_utc_time(&mut self, t: i32) -> i32 {
        unsafe { lwm2m_carrier_utc_time_write(t) }
    }
    fn set_utc_offset(&mut self, m: i32) -> i32 {
        unsafe { lwm2m_carrier_utc_offset_write(m) }
    }
    fn set_timezone(&mut self, tz: &str) -> i32 {
        let c = c_string(tz.as_bytes());
        unsafe { lwm2m_carrier_timezone_write(c.as_ptr() as *const c_char) }
    }
}

unsafe extern "C" fn at_notif_handler(notif: *const c_char) {
    if notif.is_null() {
        return;
    }
    if let Ok(s) = CStr::from_ptr(notif).to_str() {
        shared::push_at_notif(s.trim_ascii_end());
    }
}

unsafe fn config_string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    CStr::from_ptr(p).to_str().ok().map(String::from)
}

/// `lwm2m_carrier_init()` (spec behaviour.md §7.1). -EPERM when called
/// again after a successful init, or from the event handler while init or
/// run is on the stack.
pub fn init(cfg: Option<&lwm2m_carrier_config_t>) -> c_int {
    if let Err(p) = enter(phase::IDLE, phase::INITIALIZING) {
        log!(LOG_WRN, "lwm2m_carrier_init() refused: ", if p == phase::INITIALIZING { "already initializing" } else { "already initialized" });
        return -crate::errno::EPERM;
    }
    let r = init_driver(cfg);
    PHASE.store(if r == 0 { phase::READY } else { phase::IDLE }, Ordering::Release);
    r
}

fn init_driver(cfg: Option<&lwm2m_carrier_config_t>) -> c_int {
    let r = unsafe { os::lwm2m_os_init() };
    if r < 0 {
        log!(LOG_ERR, "OS layer init failed: ", r);
        return -crate::errno::EIO;
    }
    let mut config = Config::default();
    if let Some(c) = cfg {
        unsafe {
            config.bootstrap_uri = config_string(c.bootstrap_uri);
            config.psk = config_string(c.psk);
            config.apn = config_string(c.apn);
        }
        config.certification_mode = c.certification_mode;
    }
    let mut seed = [0u8; 4];
    unsafe { os::lwm2m_os_rand(seed.as_mut_ptr() as *mut c_void, 4) };
    config.seed = u32::from_le_bytes(seed);

    let mut buf = vec![0u8; MAX_RECORD_LEN];
    let sec = read_record(storage::SECURITY, &mut buf);
    let srv = read_record(storage::SERVER, &mut buf);
    let acl = read_record(storage::ACL, &mut buf);
    let misc = read_record(storage::MISC, &mut buf);
    let locs = read_record(storage::LOCATIONS, &mut buf);
    let mut stored = Stored::from_records(sec.as_deref(), srv.as_deref(), acl.as_deref(), misc.as_deref(), locs.as_deref());
    for conn in 1..MAX_CONNS as ConnId {
        if let Some(rec) = read_record(storage::REPORTING + conn as u16, &mut buf) {
            stored.reporting.push((conn, rec));
        }
    }
    drop(buf);

    let m = unsafe { os::lwm2m_os_modem_init() };
    if m < 0 {
        log!(LOG_ERR, "modem library init failed: ", m);
        return -1;
    }
    if m > 0 {
        log!(LOG_INF, "modem firmware update result ", m);
    }
    deliver(&Event::BsdlibInit);
    if unsafe { os::lwm2m_os_at_notif_register(Some(at_notif_handler)) } < 0 {
        log!(LOG_ERR, "cannot register for AT notifications");
        return -1;
    }

    // On the heap from the start: the engine is large, and the carrier
    // thread's stack is small.
    let mut d = Box::new(Driver {
        engine: Engine::new(config, stored),
        handles: [None; MAX_CONNS],
        rx: vec![0u8; MAX_DATAGRAM + 1].into_boxed_slice(),
        reboot_vetoed: false,
    });
    d.engine.start(now());
    loop {
        d.pump();
        if let Some(r) = d.engine.init_result() {
            if r == 0 {
                // SAFETY: carrier thread only (see CarrierThreadCell), and
                // PHASE keeps any other init/run off the driver meanwhile.
                unsafe { *DRIVER.0.get() = Some(d) };
            }
            return r;
        }
        d.wait();
    }
}

/// `lwm2m_carrier_run()`: returns only after a fatal error or a vetoed reboot.
pub fn run() {
    if let Err(p) = enter(phase::READY, phase::RUNNING) {
        log!(LOG_ERR, "lwm2m_carrier_run() refused: ", if p == phase::RUNNING { "already running" } else { "no successful lwm2m_carrier_init()" });
        return;
    }
    // SAFETY: carrier thread only (see CarrierThreadCell); PHASE makes this
    // the only live reference.
    let Some(d) = (unsafe { &mut *DRIVER.0.get() }) else { return };
    d.engine.begin_run(now());
    loop {
        d.pump();
        if d.engine.is_stopped() || d.reboot_vetoed {
            log!(LOG_INF, "lwm2m_carrier_run() returns");
            // A returned run may be called again (the application decides).
            PHASE.store(phase::READY, Ordering::Release);
            return;
        }
        d.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The driver's own heap on top of the engine's (see the engine's
    /// `heap_peak_over_a_lifecycle_stays_under_the_cap`): printed for
    /// `scripts/heap.py`, in bytes requested on the test's target.
    /// - held while running: the boxed driver (engine inline), the receive
    ///   buffer, the shared state (Device object, AT notification queue at
    ///   its limit);
    /// - at init only, before the engine exists: the record read buffer and
    ///   the copies of the records read (at most one at a time is largest).
    #[test]
    fn driver_heap_is_known() {
        let fifo_vec = 2 * core::mem::size_of::<Vec<String>>();
        let at_queue = crate::limits::AT_NOTIF_QUEUE * core::mem::size_of::<String>() * 2 + crate::limits::AT_NOTIF_BYTES + fifo_vec;
        let running = core::mem::size_of::<Driver>() + MAX_DATAGRAM + 1 + core::mem::size_of::<shared::Shared>() + at_queue;
        let init = MAX_RECORD_LEN * 2;
        eprintln!("HEAP_FIXED driver_running {running}");
        eprintln!("HEAP_FIXED driver_init {init}");
        assert!(running < 5 * 1024, "the driver's own heap grew: {running} B");
    }
}
