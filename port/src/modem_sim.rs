//! A simulated nRF9160 modem: the AT commands the library sends, the +CEREG
//! notifications a real modem raises, and the modem's credential store.
//!
//! Rules (3GPP TS 27.007 §7.2 +CEREG, §9.2 +CFUN; nRF91 AT Commands
//! Reference for %XOPERID, %HWVERSION, %CMNG):
//! - The modem starts in CFUN=0 with +CEREG reporting off (n=0).
//! - `AT+CFUN=1` answers OK at once; after `LWM2M_HOST_ATTACH_DELAY_MS` the
//!   simulator thread raises `+CEREG: 2,...` (searching) then
//!   `+CEREG: <LWM2M_HOST_REG_STATUS>,...` (1 home, 5 roaming) — or only the
//!   first one with `LWM2M_HOST_ATTACH_FAIL=1`. `AT+CFUN=4`/`=0` cancels a
//!   pending attach and, if the link was on, raises `+CEREG: 0`.
//! - Notifications follow the +CEREG mode: none with n=0, `+CEREG: <stat>`
//!   with n=1, and with n>=2 the tracking area, cell id and access technology
//!   (`+CEREG: 1,"0A0B","01020304",7`) whenever the stat is not 0.
//! - Responses carry the information text without the final OK (like NCS
//!   `at_cmd_write`); several lines are separated by "\r\n". A command the
//!   simulator does not know is answered with ERROR (`-ENOEXEC`).
//! - Notifications are delivered from the simulator's own thread, one at a
//!   time and never while the simulator holds its state lock, so a handler
//!   may call back into the modem.
//! - Credentials (`<storage>/sec/<tag>.<type>`, types 3 PSK as a hex string
//!   and 4 identity) survive restarts like the modem's; writing or deleting
//!   one while CFUN=1 is refused with `-EACCES`, as the real modem does.
//!   The files are mode 0600 (a new `sec` directory 0700), and every write
//!   and delete has power-cut commit points ([`crate::power_cut`]).
//! - Radio and network information (TS 27.007 §8.69 +CESQ, §10.1.14
//!   +CGPADDR, §7.3 +COPS) describes the configured cell while registered
//!   (stat 1 or 5): `+CESQ: 99,99,255,255,<rsrq>,<rsrp>`,
//!   `+CGPADDR: 0,"<addr>",...`, `+COPS: 0,2,"<plmn>",7`. Otherwise the
//!   modem knows nothing: RSRQ/RSRP 255, no address, `+COPS: 0`.
//! - `AT%XCONNSTAT=1` starts and `=0` stops the connectivity statistics;
//!   `AT%XCONNSTAT?` gives the configured counters once a collection has
//!   been started, zeros before (fixed values: the simulator does not see
//!   the sockets' traffic).

use core::ffi::{c_char, c_int, c_void, CStr};
use std::ffi::CString;
use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lwm2m_carrier::os::{AtNotifHandler, LOG_INF, SEC_IDENTITY, SEC_PSK};

use crate::err;
use crate::power_cut::Kind;

/// Tracking area code, cell id and access technology (7 = E-UTRAN) reported
/// with +CEREG modes 2..5.
const LOCATION: &str = "\"0A0B\",\"01020304\",7";

/// What the simulated modem reports about itself; see `port/README.md`.
#[derive(Debug, Clone)]
pub struct Config {
    pub imei: String,
    pub operator_id: u32,
    /// +CEREG stat once attached (1 home, 5 roaming).
    pub reg_status: u8,
    pub attach_delay: Duration,
    /// Never registers: stays in "+CEREG: 2" (searching).
    pub attach_fail: bool,
    pub manufacturer: String,
    pub model: String,
    pub fw_version: String,
    pub hw_version: String,
    /// Log every command, response and notification at inf.
    pub at_trace: bool,
    /// +CESQ RSRP index (0..=97, 255 unknown) and RSRQ index (0..=34, 255).
    pub rsrp: u8,
    pub rsrq: u8,
    /// +CGPADDR addresses of context 0 (IPv4 and/or IPv6).
    pub ip_addresses: Vec<String>,
    /// +COPS numeric PLMN (MCC + MNC).
    pub plmn: String,
    /// %XCONNSTAT counters: SMS tx, SMS rx, data tx kB, data rx kB, packet
    /// max, packet average.
    pub connstat: [u32; 6],
}

impl Default for Config {
    fn default() -> Self {
        Config {
            imei: "351358815340515".into(),
            operator_id: 0,
            reg_status: 1,
            attach_delay: Duration::from_millis(200),
            attach_fail: false,
            manufacturer: "Nordic Semiconductor ASA".into(),
            model: "nRF9160-SICA".into(),
            fw_version: "mfw_nrf9160_1.2.3".into(),
            hw_version: "nRF9160 SICA B1A".into(),
            at_trace: false,
            rsrp: 62,
            rsrq: 31,
            ip_addresses: vec!["10.0.0.2".into(), "2001:db8::2".into()],
            plmn: "24201".into(),
            connstat: [0, 0, 12, 34, 1152, 256],
        }
    }
}

impl Config {
    /// The defaults, overridden by the `LWM2M_HOST_*` variables.
    pub fn from_env() -> Self {
        use crate::env::{flag, number, string};
        let d = Config::default();
        Config {
            imei: string("LWM2M_HOST_IMEI", &d.imei),
            operator_id: number("LWM2M_HOST_OPERATOR_ID", d.operator_id),
            reg_status: number("LWM2M_HOST_REG_STATUS", d.reg_status),
            attach_delay: Duration::from_millis(number(
                "LWM2M_HOST_ATTACH_DELAY_MS",
                d.attach_delay.as_millis() as u64,
            )),
            attach_fail: flag("LWM2M_HOST_ATTACH_FAIL"),
            manufacturer: string("LWM2M_HOST_MANUFACTURER", &d.manufacturer),
            model: string("LWM2M_HOST_MODEL", &d.model),
            fw_version: string("LWM2M_HOST_FW_VERSION", &d.fw_version),
            hw_version: string("LWM2M_HOST_HW_VERSION", &d.hw_version),
            at_trace: flag("LWM2M_HOST_AT_TRACE"),
            rsrp: number("LWM2M_HOST_RSRP", d.rsrp),
            rsrq: number("LWM2M_HOST_RSRQ", d.rsrq),
            ip_addresses: list("LWM2M_HOST_IP_ADDRESSES").unwrap_or(d.ip_addresses),
            plmn: string("LWM2M_HOST_PLMN", &d.plmn),
            connstat: list("LWM2M_HOST_CONNSTAT")
                .and_then(|v| counters(&v))
                .unwrap_or(d.connstat),
        }
    }
}

/// A comma-separated list from the environment (None when unset or empty).
fn list(name: &str) -> Option<Vec<String>> {
    let v = crate::env::string(name, "");
    (!v.is_empty()).then(|| v.split(',').map(|s| s.trim().to_string()).collect())
}

/// Six %XCONNSTAT counters; a list of another length or a non-number is
/// reported and ignored.
fn counters(v: &[String]) -> Option<[u32; 6]> {
    let parsed: Option<Vec<u32>> = v.iter().map(|s| s.parse().ok()).collect();
    let out = parsed.and_then(|p| <[u32; 6]>::try_from(p).ok());
    if out.is_none() {
        eprintln!("lwm2m_carrier_host: LWM2M_HOST_CONNSTAT needs six numbers; using the default");
    }
    out
}

/// Receiver of unsolicited notifications (one line, without "\r\n").
pub type NotifHandler = Arc<dyn Fn(&str) + Send + Sync>;

/// Something the simulator thread does at a given time.
enum Pending {
    /// Attach started by CFUN=1 number `gen` completes (unless cancelled).
    Attach { gen: u64 },
    /// Deliver this notification.
    Line(String),
}

struct Scheduled {
    at: Instant,
    what: Pending,
}

struct State {
    cfun: u8,
    cereg_n: u8,
    stat: u8,
    /// Bumped by every CFUN change; a pending attach of an older one is void.
    attach_gen: u64,
    /// A %XCONNSTAT collection has been started.
    connstat_started: bool,
    /// Ordered by time; equal times keep their order.
    queue: Vec<Scheduled>,
    stop: bool,
}

struct Shared {
    config: Config,
    state: Mutex<State>,
    changed: Condvar,
    handler: Mutex<Option<NotifHandler>>,
}

/// The modem. Dropping it stops its thread.
pub struct ModemSim {
    shared: Arc<Shared>,
    creds: CredentialStore,
    thread: Option<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `+CEREG: <stat>[,<location>]` as a notification in mode `n` (None: no notification).
fn cereg_notification(n: u8, stat: u8) -> Option<String> {
    match n {
        0 => None,
        1 => Some(format!("+CEREG: {stat}")),
        _ if stat == 0 => Some(format!("+CEREG: {stat}")),
        _ => Some(format!("+CEREG: {stat},{LOCATION}")),
    }
}

/// Registered, home (1) or roaming (5): the modem knows its cell.
fn registered(stat: u8) -> bool {
    stat == 1 || stat == 5
}

/// Parse the number after `prefix` in `cmd` (e.g. "AT+CFUN=" in "AT+CFUN=1").
fn arg<T: std::str::FromStr>(cmd: &str, prefix: &str) -> Option<T> {
    cmd.strip_prefix(prefix)
        .and_then(|rest| rest.trim().parse().ok())
}

impl Shared {
    fn trace(&self, what: &str) {
        if self.config.at_trace {
            crate::log::write(LOG_INF, what.as_bytes());
        }
    }

    fn schedule(&self, st: &mut State, at: Instant, what: Pending) {
        let pos = st
            .queue
            .iter()
            .position(|s| s.at > at)
            .unwrap_or(st.queue.len());
        st.queue.insert(pos, Scheduled { at, what });
        self.changed.notify_all();
    }

    fn deliver(&self, line: &str) {
        self.trace(&format!("AT! {line}"));
        let handler = lock(&self.handler).clone();
        if let Some(h) = handler {
            h(line);
        }
    }

    /// The simulator thread: run scheduled events when they are due.
    fn run(&self) {
        let mut st = lock(&self.state);
        loop {
            if st.stop {
                return;
            }
            let now = Instant::now();
            match st.queue.first().map(|s| s.at) {
                Some(at) if at <= now => {
                    let item = st.queue.remove(0);
                    let lines = self.due(&mut st, item.what);
                    drop(st);
                    for line in lines {
                        self.deliver(&line);
                    }
                    st = lock(&self.state);
                }
                Some(at) => {
                    st = self
                        .changed
                        .wait_timeout(st, at - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                None => st = self.changed.wait(st).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }

    /// Apply a due event; the notifications it raises.
    fn due(&self, st: &mut State, what: Pending) -> Vec<String> {
        match what {
            Pending::Line(line) => vec![line],
            Pending::Attach { gen } if gen == st.attach_gen && st.cfun == 1 => {
                let mut lines = Vec::new();
                st.stat = 2;
                lines.extend(cereg_notification(st.cereg_n, 2));
                if !self.config.attach_fail {
                    st.stat = self.config.reg_status;
                    lines.extend(cereg_notification(st.cereg_n, st.stat));
                }
                lines
            }
            Pending::Attach { .. } => Vec::new(),
        }
    }

    /// Answer one command: Ok(information text) or Err(negative code).
    fn at_cmd(&self, cmd: &str) -> Result<String, c_int> {
        let c = cmd.trim().to_ascii_uppercase();
        let cfg = &self.config;
        let mut st = lock(&self.state);
        let ok = || Ok(String::new());
        match c.as_str() {
            "AT+CFUN?" => Ok(format!("+CFUN: {}", st.cfun)),
            "AT+CEREG?" => {
                let mut r = format!("+CEREG: {},{}", st.cereg_n, st.stat);
                if st.cereg_n >= 2 && st.stat != 0 {
                    r.push(',');
                    r.push_str(LOCATION);
                }
                Ok(r)
            }
            "AT+CGSN=1" => Ok(format!("+CGSN: \"{}\"", cfg.imei)),
            "AT+CGSN" | "AT+CGSN=0" => Ok(cfg.imei.clone()),
            "AT%XOPERID" => Ok(format!("%XOPERID: {}", cfg.operator_id)),
            "AT+CGMI" => Ok(cfg.manufacturer.clone()),
            "AT+CGMM" => Ok(cfg.model.clone()),
            "AT+CGMR" => Ok(cfg.fw_version.clone()),
            "AT%HWVERSION" => Ok(format!("%HWVERSION: {}", cfg.hw_version)),
            "AT+CGDCONT?" => Ok("+CGDCONT: 0,\"IP\",\"internet\",\"10.0.0.2\",0,0".into()),
            "AT+CESQ" => {
                let (rsrq, rsrp) = if registered(st.stat) {
                    (cfg.rsrq, cfg.rsrp)
                } else {
                    (255, 255)
                };
                Ok(format!("+CESQ: 99,99,255,255,{rsrq},{rsrp}"))
            }
            "AT+CGPADDR=0" => {
                let mut r = String::from("+CGPADDR: 0");
                if registered(st.stat) {
                    for a in &cfg.ip_addresses {
                        r.push_str(&format!(",\"{a}\""));
                    }
                }
                Ok(r)
            }
            "AT+COPS?" if registered(st.stat) => Ok(format!("+COPS: 0,2,\"{}\",7", cfg.plmn)),
            "AT+COPS?" => Ok("+COPS: 0".into()),
            "AT%XCONNSTAT=1" => {
                st.connstat_started = true;
                ok()
            }
            "AT%XCONNSTAT=0" => ok(),
            "AT%XCONNSTAT?" => {
                let c = if st.connstat_started {
                    cfg.connstat
                } else {
                    [0; 6]
                };
                Ok(format!(
                    "%XCONNSTAT: {},{},{},{},{},{}",
                    c[0], c[1], c[2], c[3], c[4], c[5]
                ))
            }
            _ if c.starts_with("AT+CFUN=") => match arg::<u8>(&c, "AT+CFUN=") {
                Some(1) => {
                    if st.cfun != 1 {
                        st.cfun = 1;
                        st.stat = 2;
                        st.attach_gen += 1;
                        let gen = st.attach_gen;
                        self.schedule(
                            &mut st,
                            Instant::now() + cfg.attach_delay,
                            Pending::Attach { gen },
                        );
                    }
                    ok()
                }
                Some(mode @ (0 | 4)) => {
                    let was_on = st.cfun == 1;
                    st.cfun = mode;
                    st.stat = 0;
                    st.attach_gen += 1;
                    if was_on {
                        if let Some(line) = cereg_notification(st.cereg_n, 0) {
                            self.schedule(&mut st, Instant::now(), Pending::Line(line));
                        }
                    }
                    ok()
                }
                _ => Err(-err::ENOEXEC),
            },
            _ if c.starts_with("AT+CEREG=") => match arg::<u8>(&c, "AT+CEREG=") {
                Some(n @ 0..=5) => {
                    st.cereg_n = n;
                    ok()
                }
                _ => Err(-err::ENOEXEC),
            },
            _ if c.starts_with("AT+CGEREP=") => match arg::<u8>(&c, "AT+CGEREP=") {
                Some(0 | 1) => ok(),
                _ => Err(-err::ENOEXEC),
            },
            _ if c.starts_with("AT+CNEC=") => match arg::<u8>(&c, "AT+CNEC=") {
                Some(_) => ok(),
                None => Err(-err::ENOEXEC),
            },
            _ if c.starts_with("AT+CNMI=") => ok(),
            _ if c.starts_with("AT+ODISNTF=") => ok(),
            _ => Err(-err::ENOEXEC),
        }
    }
}

impl ModemSim {
    /// A modem in CFUN=0 with credentials under `sec_dir`; starts its thread.
    pub fn new(config: Config, sec_dir: impl Into<PathBuf>) -> Self {
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(State {
                cfun: 0,
                cereg_n: 0,
                stat: 0,
                attach_gen: 0,
                connstat_started: false,
                queue: Vec::new(),
                stop: false,
            }),
            changed: Condvar::new(),
            handler: Mutex::new(None),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("modem_sim".into())
                .spawn(move || shared.run())
                .expect("spawn the modem simulator thread")
        };
        ModemSim {
            shared,
            creds: CredentialStore::new(sec_dir),
            thread: Some(thread),
        }
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Send one AT command: Ok(information text without OK) or Err(negative code).
    pub fn at_cmd(&self, cmd: &str) -> Result<String, c_int> {
        self.shared.trace(&format!("AT> {cmd}"));
        let result = self.shared.at_cmd(cmd);
        match &result {
            Ok(text) if text.is_empty() => self.shared.trace("AT< OK"),
            Ok(text) => self.shared.trace(&format!("AT< {text}")),
            Err(_) => self.shared.trace("AT< ERROR"),
        }
        result
    }

    /// Set (or with None, clear) the notification handler.
    pub fn set_notif_handler(&self, handler: Option<NotifHandler>) {
        *lock(&self.shared.handler) = handler;
    }

    /// Is the link on (CFUN=1)?
    pub fn link_on(&self) -> bool {
        lock(&self.shared.state).cfun == 1
    }

    /// Power the modem off without notifications (library shutdown).
    pub fn shutdown(&self) {
        let mut st = lock(&self.shared.state);
        st.cfun = 0;
        st.stat = 0;
        st.attach_gen += 1;
        st.queue.clear();
    }

    pub fn credentials(&self) -> &CredentialStore {
        &self.creds
    }

    /// Write a credential; `-EACCES` while CFUN=1.
    pub fn sec_write(&self, tag: u32, kind: c_int, value: &[u8]) -> Result<(), c_int> {
        let st = lock(&self.shared.state);
        if st.cfun == 1 {
            return Err(-err::EACCES);
        }
        self.creds.write(tag, kind, value)
        // st is held until here: CFUN cannot change during the write.
    }

    /// Delete a credential; `-EACCES` while CFUN=1.
    pub fn sec_delete(&self, tag: u32, kind: c_int) -> Result<(), c_int> {
        let st = lock(&self.shared.state);
        if st.cfun == 1 {
            return Err(-err::EACCES);
        }
        self.creds.delete(tag, kind)
    }
}

impl Drop for ModemSim {
    fn drop(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.changed.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Credentials by security tag, one file each: `<dir>/<tag>.<type>`.
/// Types: 3 PSK (hex string, even length), 4 identity (non-empty); others `-EINVAL`.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    dir: PathBuf,
}

impl CredentialStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CredentialStore { dir: dir.into() }
    }

    fn file_name(tag: u32, kind: c_int) -> Result<String, c_int> {
        match kind {
            SEC_PSK | SEC_IDENTITY => Ok(format!("{tag}.{kind}")),
            _ => Err(-err::EINVAL),
        }
    }

    pub fn exists(&self, tag: u32, kind: c_int) -> Result<bool, c_int> {
        let name = Self::file_name(tag, kind)?;
        Ok(self.dir.join(name).is_file())
    }

    /// The stored value (a PSK as its hex string); `-ENOENT` if missing.
    pub fn read(&self, tag: u32, kind: c_int) -> Result<Vec<u8>, c_int> {
        let name = Self::file_name(tag, kind)?;
        fs::read(self.dir.join(name)).map_err(|e| crate::storage::io_code(&e))
    }

    /// Store a value without the CFUN check (that is [`ModemSim::sec_write`]'s).
    pub fn write(&self, tag: u32, kind: c_int, value: &[u8]) -> Result<(), c_int> {
        let name = Self::file_name(tag, kind)?;
        let valid = match kind {
            SEC_PSK => {
                !value.is_empty()
                    && value.len().is_multiple_of(2)
                    && value.iter().all(u8::is_ascii_hexdigit)
            }
            _ => !value.is_empty(),
        };
        if !valid {
            return Err(-err::EINVAL);
        }
        crate::storage::write_atomic(&self.dir, &name, value, Kind::Credential)
            .map_err(|e| crate::storage::io_code(&e))
    }

    pub fn delete(&self, tag: u32, kind: c_int) -> Result<(), c_int> {
        let name = Self::file_name(tag, kind)?;
        crate::storage::remove_durable(&self.dir, &name, Kind::Credential)
            .map_err(|e| crate::storage::io_code(&e))
    }
}

/// Decode a PSK hex string into key bytes; None if it is not valid hex.
pub fn psk_from_hex(hex: &[u8]) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    hex.chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

static GLOBAL: OnceLock<ModemSim> = OnceLock::new();

/// The modem behind the C functions (configured once from the environment).
pub fn global() -> &'static ModemSim {
    GLOBAL.get_or_init(|| ModemSim::new(Config::from_env(), crate::env::storage_dir().join("sec")))
}

/// `LWM2M_HOST_MODEM_INIT_RESULT` (default 0): a positive value simulates a
/// modem firmware update result, a negative one a failed init.
#[no_mangle]
pub extern "C" fn lwm2m_os_modem_init() -> c_int {
    global();
    crate::env::number("LWM2M_HOST_MODEM_INIT_RESULT", 0)
}

#[no_mangle]
pub extern "C" fn lwm2m_os_modem_shutdown() -> c_int {
    global().shutdown();
    0
}

#[no_mangle]
pub extern "C" fn lwm2m_os_at_cmd(cmd: *const c_char, resp: *mut c_char, resp_len: usize) -> c_int {
    if cmd.is_null() {
        return -err::EINVAL;
    }
    // SAFETY: the caller passes a NUL-terminated command.
    let Ok(cmd) = unsafe { CStr::from_ptr(cmd) }.to_str() else {
        return -err::ENOEXEC;
    };
    let (text, code) = match global().at_cmd(cmd) {
        Ok(text) => (text, 0),
        Err(code) => (String::new(), code),
    };
    if resp.is_null() || resp_len == 0 {
        return code;
    }
    let fits = text.len() < resp_len;
    let n = if fits { text.len() } else { resp_len - 1 };
    // SAFETY: resp is writable for resp_len > n bytes.
    unsafe {
        core::ptr::copy_nonoverlapping(text.as_ptr(), resp as *mut u8, n);
        *resp.add(n) = 0;
    }
    if fits || code != 0 {
        code
    } else {
        -err::ENOBUFS
    }
}

#[no_mangle]
pub extern "C" fn lwm2m_os_at_notif_register(handler: AtNotifHandler) -> c_int {
    let wrapped: Option<NotifHandler> = handler.map(|h| {
        Arc::new(move |line: &str| {
            // Our lines never contain NUL; skip one that somehow does.
            if let Ok(c) = CString::new(line) {
                // SAFETY: h is the C handler; c lives for the call.
                unsafe { h(c.as_ptr()) };
            }
        }) as NotifHandler
    });
    global().set_notif_handler(wrapped);
    0
}

fn value_bytes<'a>(buf: *const c_void, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        Some(&[])
    } else if buf.is_null() {
        None
    } else {
        // SAFETY: the caller passes len readable bytes.
        Some(unsafe { core::slice::from_raw_parts(buf as *const u8, len) })
    }
}

#[no_mangle]
pub extern "C" fn lwm2m_os_sec_exists(sec_tag: u32, kind: c_int) -> c_int {
    match global().credentials().exists(sec_tag, kind) {
        Ok(yes) => yes as c_int,
        Err(e) => e,
    }
}

#[no_mangle]
pub extern "C" fn lwm2m_os_sec_write(
    sec_tag: u32,
    kind: c_int,
    buf: *const c_void,
    len: usize,
) -> c_int {
    let Some(value) = value_bytes(buf, len) else {
        return -err::EINVAL;
    };
    match global().sec_write(sec_tag, kind, value) {
        Ok(()) => 0,
        Err(e) => e,
    }
}

#[no_mangle]
pub extern "C" fn lwm2m_os_sec_delete(sec_tag: u32, kind: c_int) -> c_int {
    match global().sec_delete(sec_tag, kind) {
        Ok(()) => 0,
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support;
    use std::sync::mpsc;

    fn sim(config: Config) -> (ModemSim, mpsc::Receiver<(Instant, String)>) {
        let modem = ModemSim::new(config, test_support::temp_dir("sec"));
        let (tx, rx) = mpsc::channel();
        modem.set_notif_handler(Some(Arc::new(move |line: &str| {
            let _ = tx.send((Instant::now(), line.to_string()));
        })));
        (modem, rx)
    }

    fn fast() -> Config {
        Config {
            attach_delay: Duration::from_millis(50),
            ..Config::default()
        }
    }

    fn next(rx: &mpsc::Receiver<(Instant, String)>) -> String {
        rx.recv_timeout(Duration::from_secs(5))
            .expect("a notification")
            .1
    }

    fn nothing_more(rx: &mpsc::Receiver<(Instant, String)>, wait_ms: u64) {
        if let Ok((_, line)) = rx.recv_timeout(Duration::from_millis(wait_ms)) {
            panic!("unexpected notification {line:?}");
        }
    }

    #[test]
    fn attach_dialogue_with_cereg_5() {
        let (m, rx) = sim(fast());
        assert_eq!(m.at_cmd("AT+CFUN?").unwrap(), "+CFUN: 0");
        assert_eq!(m.at_cmd("AT+CEREG=5").unwrap(), "");
        assert_eq!(m.at_cmd("AT+CEREG?").unwrap(), "+CEREG: 5,0");
        for c in [
            "AT+CGEREP=1",
            "AT+CNEC=16",
            "AT+CNMI=3,1,2,1,0",
            "AT+ODISNTF=1",
        ] {
            assert_eq!(m.at_cmd(c), Ok(String::new()), "{c}");
        }
        let sent = Instant::now();
        assert_eq!(m.at_cmd("AT+CFUN=1").unwrap(), "");
        assert_eq!(m.at_cmd("AT+CFUN?").unwrap(), "+CFUN: 1");
        let (at, searching) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(
            at - sent >= Duration::from_millis(50),
            "not before the attach delay"
        );
        assert_eq!(searching, "+CEREG: 2,\"0A0B\",\"01020304\",7");
        assert_eq!(next(&rx), "+CEREG: 1,\"0A0B\",\"01020304\",7");
        assert_eq!(
            m.at_cmd("AT+CEREG?").unwrap(),
            "+CEREG: 5,1,\"0A0B\",\"01020304\",7"
        );
        assert_eq!(
            m.at_cmd("AT+CFUN=1").unwrap(),
            "",
            "already on: no new attach"
        );
        nothing_more(&rx, 150);
        assert_eq!(m.at_cmd("AT+CFUN=4").unwrap(), "");
        assert_eq!(next(&rx), "+CEREG: 0");
        assert_eq!(m.at_cmd("AT+CEREG?").unwrap(), "+CEREG: 5,0");
        assert_eq!(m.at_cmd("AT+CFUN=0").unwrap(), "");
        nothing_more(&rx, 100); // 4 -> 0: the link was already down
        assert_eq!(m.at_cmd("AT+CFUN?").unwrap(), "+CFUN: 0");
    }

    #[test]
    fn roaming_and_short_cereg_form() {
        let (m, rx) = sim(Config {
            reg_status: 5,
            ..fast()
        });
        assert_eq!(m.at_cmd("AT+CEREG=1"), Ok(String::new()));
        m.at_cmd("AT+CFUN=1").unwrap();
        assert_eq!(next(&rx), "+CEREG: 2");
        assert_eq!(next(&rx), "+CEREG: 5");
        assert_eq!(m.at_cmd("AT+CEREG?").unwrap(), "+CEREG: 1,5");
        m.at_cmd("AT+CFUN=4").unwrap();
        assert_eq!(next(&rx), "+CEREG: 0");
    }

    #[test]
    fn cereg_0_raises_no_notifications() {
        let (m, rx) = sim(fast());
        m.at_cmd("AT+CFUN=1").unwrap();
        nothing_more(&rx, 300);
        assert_eq!(m.at_cmd("AT+CEREG?").unwrap(), "+CEREG: 0,1");
        m.at_cmd("AT+CFUN=4").unwrap();
        nothing_more(&rx, 100);
    }

    #[test]
    fn attach_failure_stays_searching() {
        let (m, rx) = sim(Config {
            attach_fail: true,
            ..fast()
        });
        m.at_cmd("AT+CEREG=2").unwrap();
        m.at_cmd("AT+CFUN=1").unwrap();
        assert_eq!(next(&rx), "+CEREG: 2,\"0A0B\",\"01020304\",7");
        nothing_more(&rx, 300);
        assert_eq!(
            m.at_cmd("AT+CEREG?").unwrap(),
            "+CEREG: 2,2,\"0A0B\",\"01020304\",7"
        );
    }

    #[test]
    fn cfun_4_during_the_attach_delay_cancels_the_attach() {
        let (m, rx) = sim(Config {
            attach_delay: Duration::from_millis(200),
            ..fast()
        });
        m.at_cmd("AT+CEREG=2").unwrap();
        m.at_cmd("AT+CFUN=1").unwrap();
        m.at_cmd("AT+CFUN=4").unwrap();
        assert_eq!(next(&rx), "+CEREG: 0");
        nothing_more(&rx, 400);
        assert_eq!(m.at_cmd("AT+CEREG?").unwrap(), "+CEREG: 2,0");
    }

    #[test]
    fn identity_commands() {
        let config = Config {
            operator_id: 2,
            ..Config::default()
        };
        let (m, _rx) = sim(config);
        assert_eq!(m.at_cmd("AT+CGSN=1").unwrap(), "+CGSN: \"351358815340515\"");
        assert_eq!(m.at_cmd("AT+CGSN").unwrap(), "351358815340515");
        assert_eq!(m.at_cmd("AT%XOPERID").unwrap(), "%XOPERID: 2");
        assert_eq!(m.at_cmd("AT+CGMI").unwrap(), "Nordic Semiconductor ASA");
        assert_eq!(m.at_cmd("AT+CGMM").unwrap(), "nRF9160-SICA");
        assert_eq!(m.at_cmd("AT+CGMR").unwrap(), "mfw_nrf9160_1.2.3");
        assert_eq!(
            m.at_cmd("AT%HWVERSION").unwrap(),
            "%HWVERSION: nRF9160 SICA B1A"
        );
        assert_eq!(
            m.at_cmd("AT+CGDCONT?").unwrap(),
            "+CGDCONT: 0,\"IP\",\"internet\",\"10.0.0.2\",0,0"
        );
    }

    #[test]
    fn radio_information_follows_the_registration() {
        use lwm2m_carrier::modem::info;
        let (m, rx) = sim(fast());
        assert_eq!(m.at_cmd("AT+CESQ").unwrap(), "+CESQ: 99,99,255,255,255,255");
        assert_eq!(m.at_cmd("AT+CGPADDR=0").unwrap(), "+CGPADDR: 0");
        assert_eq!(m.at_cmd("AT+COPS?").unwrap(), "+COPS: 0");
        m.at_cmd("AT+CEREG=2").unwrap();
        m.at_cmd("AT+CFUN=1").unwrap();
        assert_eq!(next(&rx), "+CEREG: 2,\"0A0B\",\"01020304\",7");
        assert_eq!(next(&rx), "+CEREG: 1,\"0A0B\",\"01020304\",7");
        let cesq = m.at_cmd("AT+CESQ").unwrap();
        assert_eq!(cesq, "+CESQ: 99,99,255,255,31,62");
        let q = info::parse_cesq(&cesq).unwrap();
        assert_eq!((q.rsrq, q.rsrp.map(info::rsrp_dbm)), (Some(31), Some(-79)));
        let addr = m.at_cmd("AT+CGPADDR=0").unwrap();
        assert_eq!(addr, "+CGPADDR: 0,\"10.0.0.2\",\"2001:db8::2\"");
        assert_eq!(
            info::parse_cgpaddr(&addr).unwrap().as_slice(),
            ["10.0.0.2", "2001:db8::2"]
        );
        let cops = m.at_cmd("AT+COPS?").unwrap();
        assert_eq!(cops, "+COPS: 0,2,\"24201\",7");
        assert_eq!(
            info::parse_cops(&cops),
            Some(info::Plmn { mcc: 242, mnc: 1 })
        );
        let cereg = m.at_cmd("AT+CEREG?").unwrap();
        assert_eq!(info::parse_cereg_cell_id(&cereg), Some(0x0102_0304));
        let apn = m.at_cmd("AT+CGDCONT?").unwrap();
        assert_eq!(info::parse_cgdcont_apn(&apn), Some("internet"));
        m.at_cmd("AT+CFUN=4").unwrap();
        assert_eq!(m.at_cmd("AT+CESQ").unwrap(), "+CESQ: 99,99,255,255,255,255");
        assert_eq!(m.at_cmd("AT+CGPADDR=0").unwrap(), "+CGPADDR: 0");
    }

    #[test]
    fn radio_information_is_configurable() {
        let (m, rx) = sim(Config {
            reg_status: 5,
            rsrp: 255,
            rsrq: 0,
            ip_addresses: vec!["2001:db8::7".into()],
            plmn: "310410".into(),
            ..fast()
        });
        m.at_cmd("AT+CEREG=1").unwrap();
        m.at_cmd("AT+CFUN=1").unwrap();
        assert_eq!(next(&rx), "+CEREG: 2");
        assert_eq!(next(&rx), "+CEREG: 5");
        assert_eq!(m.at_cmd("AT+CESQ").unwrap(), "+CESQ: 99,99,255,255,0,255");
        assert_eq!(
            m.at_cmd("AT+CGPADDR=0").unwrap(),
            "+CGPADDR: 0,\"2001:db8::7\""
        );
        assert_eq!(m.at_cmd("AT+COPS?").unwrap(), "+COPS: 0,2,\"310410\",7");
    }

    #[test]
    fn connectivity_statistics() {
        use lwm2m_carrier::modem::info;
        let (m, _rx) = sim(Config {
            connstat: [1, 2, 30, 40, 708, 650],
            ..fast()
        });
        assert_eq!(
            m.at_cmd("AT%XCONNSTAT?").unwrap(),
            "%XCONNSTAT: 0,0,0,0,0,0"
        );
        assert_eq!(m.at_cmd("AT%XCONNSTAT=1"), Ok(String::new()));
        let s = m.at_cmd("AT%XCONNSTAT?").unwrap();
        assert_eq!(s, "%XCONNSTAT: 1,2,30,40,708,650");
        let parsed = info::parse_xconnstat(&s).unwrap();
        assert_eq!((parsed.data_tx_kb, parsed.packet_average), (30, 650));
        assert_eq!(m.at_cmd("AT%XCONNSTAT=0"), Ok(String::new()));
        assert_eq!(
            m.at_cmd("AT%XCONNSTAT?").unwrap(),
            s,
            "stopping keeps the counters"
        );
        for bad in ["AT%XCONNSTAT=2", "AT%XCONNSTAT", "AT%XCONNSTAT=x"] {
            assert_eq!(m.at_cmd(bad), Err(-err::ENOEXEC), "{bad}");
        }
    }

    #[test]
    fn counter_lists_from_the_environment() {
        let v = |s: &str| s.split(',').map(String::from).collect::<Vec<_>>();
        assert_eq!(counters(&v("1,2,3,4,5,6")), Some([1, 2, 3, 4, 5, 6]));
        assert_eq!(counters(&v("1,2,3,4,5")), None);
        assert_eq!(counters(&v("1,2,3,4,5,x")), None);
        assert_eq!(counters(&v("1,2,3,4,5,6,7")), None);
    }

    #[test]
    fn unknown_or_bad_commands_are_errors() {
        let (m, _rx) = sim(fast());
        for c in [
            "AT+FOO",
            "",
            "AT+CFUN=7",
            "AT+CFUN=",
            "AT+CEREG=6",
            "AT+CEREG=x",
            "AT+CGEREP=2",
        ] {
            assert_eq!(m.at_cmd(c), Err(-err::ENOEXEC), "{c:?}");
        }
    }

    #[test]
    fn credentials_are_refused_while_the_link_is_on() {
        let (m, _rx) = sim(fast());
        assert_eq!(m.sec_write(25, SEC_PSK, b"000102"), Ok(()));
        assert_eq!(m.sec_write(25, SEC_IDENTITY, b"urn:imei:1"), Ok(()));
        m.at_cmd("AT+CFUN=1").unwrap();
        assert_eq!(m.sec_write(25, SEC_PSK, b"0a0b"), Err(-err::EACCES));
        assert_eq!(m.sec_delete(25, SEC_PSK), Err(-err::EACCES));
        assert_eq!(
            m.credentials().exists(25, SEC_PSK),
            Ok(true),
            "reading is allowed"
        );
        m.at_cmd("AT+CFUN=4").unwrap();
        assert_eq!(m.sec_write(25, SEC_PSK, b"0a0b"), Ok(()));
        assert_eq!(m.credentials().read(25, SEC_PSK).unwrap(), b"0a0b");
        assert_eq!(m.sec_delete(25, SEC_PSK), Ok(()));
        assert_eq!(m.sec_delete(25, SEC_PSK), Err(-err::ENOENT));
        assert_eq!(m.credentials().exists(25, SEC_PSK), Ok(false));
    }

    #[test]
    fn credentials_survive_a_restart_and_are_validated() {
        let dir = test_support::temp_dir("sec_persist");
        {
            let m = ModemSim::new(Config::default(), &dir);
            m.sec_write(26, SEC_IDENTITY, b"id").unwrap();
            m.sec_write(26, SEC_PSK, b"DEADbeef").unwrap();
        }
        let m = ModemSim::new(Config::default(), &dir);
        assert!(dir.join("26.3").is_file() && dir.join("26.4").is_file());
        assert_eq!(m.credentials().read(26, SEC_IDENTITY).unwrap(), b"id");
        assert_eq!(m.credentials().read(26, SEC_PSK).unwrap(), b"DEADbeef");
        assert_eq!(
            m.sec_write(26, 1, b"x"),
            Err(-err::EINVAL),
            "type 1 (CA cert) unsupported"
        );
        assert_eq!(m.credentials().exists(26, 7), Err(-err::EINVAL));
        for bad in [&b""[..], b"abc", b"zz", b"12 4"] {
            assert_eq!(m.sec_write(27, SEC_PSK, bad), Err(-err::EINVAL), "{bad:?}");
        }
        assert_eq!(m.sec_write(27, SEC_IDENTITY, b""), Err(-err::EINVAL));
    }

    #[test]
    fn credential_files_are_private_to_the_user() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = test_support::temp_dir("sec_mode").join("sec");
        let m = ModemSim::new(Config::default(), &dir);
        m.sec_write(26, SEC_PSK, b"00112233").unwrap();
        m.sec_write(26, SEC_IDENTITY, b"urn:imei:1").unwrap();
        assert_eq!(mode(&dir), 0o700, "the sec directory it created");
        assert_eq!(mode(&dir.join("26.3")), 0o600, "PSK");
        assert_eq!(mode(&dir.join("26.4")), 0o600, "identity");
        // A file left world-readable by an older version is tightened when
        // it is written again (the temp file's mode is set, not inherited).
        fs::set_permissions(dir.join("26.3"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(dir.join("26.3.tmp"), b"").unwrap();
        fs::set_permissions(dir.join("26.3.tmp"), fs::Permissions::from_mode(0o666)).unwrap();
        m.sec_write(26, SEC_PSK, b"44556677").unwrap();
        assert_eq!(mode(&dir.join("26.3")), 0o600);
    }

    #[test]
    fn psk_hex_decoding() {
        assert_eq!(psk_from_hex(b"000aFF").unwrap(), vec![0, 10, 255]);
        assert_eq!(psk_from_hex(b"0"), None);
        assert_eq!(psk_from_hex(b"0g"), None);
        assert_eq!(psk_from_hex(b"+1"), None);
        assert_eq!(psk_from_hex(b""), None);
    }

    #[test]
    fn c_at_cmd_truncates_with_enobufs() {
        test_support::init_env();
        let cmd = CString::new("AT+CGMI").unwrap();
        let mut buf = [0x55 as c_char; 5];
        assert_eq!(
            lwm2m_os_at_cmd(cmd.as_ptr(), buf.as_mut_ptr(), buf.len()),
            -err::ENOBUFS
        );
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_bytes(), b"Nord");
        let mut big = [0 as c_char; 64];
        assert_eq!(
            lwm2m_os_at_cmd(cmd.as_ptr(), big.as_mut_ptr(), big.len()),
            0
        );
        assert_eq!(
            unsafe { CStr::from_ptr(big.as_ptr()) }.to_bytes(),
            b"Nordic Semiconductor ASA"
        );
        assert_eq!(lwm2m_os_at_cmd(cmd.as_ptr(), core::ptr::null_mut(), 0), 0);
        let bad = CString::new("AT+NOPE").unwrap();
        assert_eq!(
            lwm2m_os_at_cmd(bad.as_ptr(), big.as_mut_ptr(), big.len()),
            -err::ENOEXEC
        );
        assert_eq!(big[0], 0, "empty response text on ERROR");
    }

    static C_NOTIFS: Mutex<Vec<String>> = Mutex::new(Vec::new());

    extern "C" fn record_notif(line: *const c_char) {
        let line = unsafe { CStr::from_ptr(line) }
            .to_str()
            .unwrap()
            .to_string();
        C_NOTIFS.lock().unwrap().push(line);
    }

    #[test]
    fn c_handler_and_credentials_through_the_c_functions() {
        let _g = test_support::serial();
        let run = |c: &str| {
            let c = CString::new(c).unwrap();
            lwm2m_os_at_cmd(c.as_ptr(), core::ptr::null_mut(), 0)
        };
        assert_eq!(lwm2m_os_at_notif_register(Some(record_notif)), 0);
        assert_eq!(run("AT+CEREG=1"), 0);
        assert_eq!(run("AT+CFUN=1"), 0);
        let psk = b"0102";
        assert_eq!(
            lwm2m_os_sec_write(900, SEC_PSK, psk.as_ptr().cast(), psk.len()),
            -err::EACCES
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while C_NOTIFS.lock().unwrap().len() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(*C_NOTIFS.lock().unwrap(), ["+CEREG: 2", "+CEREG: 1"]);
        assert_eq!(run("AT+CFUN=4"), 0);
        assert_eq!(
            lwm2m_os_sec_write(900, SEC_PSK, psk.as_ptr().cast(), psk.len()),
            0
        );
        assert_eq!(lwm2m_os_sec_exists(900, SEC_PSK), 1);
        assert_eq!(lwm2m_os_sec_exists(900, SEC_IDENTITY), 0);
        assert_eq!(lwm2m_os_sec_delete(900, SEC_PSK), 0);
        assert_eq!(lwm2m_os_sec_delete(900, SEC_PSK), -err::ENOENT);
        assert_eq!(run("AT+CEREG=0"), 0);
        assert_eq!(lwm2m_os_at_notif_register(None), 0);
        std::thread::sleep(Duration::from_millis(50)); // the "+CEREG: 0" goes nowhere
    }
}
