//! Helpers shared by the port's tests.
//!
//! The C functions use process-wide state (the storage directory, the
//! simulated modem, the socket table, the wake eventfd, the resolver), so
//! tests that use them call [`init_env`] first, and tests that need that
//! state to themselves (sockets: at most 4; wake: one eventfd) hold
//! [`serial`]. [`init_env`] also installs a stub resolver: no test sends a
//! DNS query.

use std::ffi::CString;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A new, empty directory under the system temp dir.
pub fn temp_dir(what: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "lwm2m_host_test_{}_{}_{what}",
        std::process::id(),
        n
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A name the stub resolver answers with `::1` first, then `127.0.0.1`.
pub const DUAL_STACK_NAME: &str = "dual-stack.test";
/// A name the stub resolver does not know.
pub const UNKNOWN_NAME: &str = "no-such-host.test";

/// The tests' resolver: no name goes to the system resolver, so no test
/// sends a DNS query. IP literals do not get here (udp::resolve).
fn stub_resolver(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    match host {
        DUAL_STACK_NAME => Ok(vec![
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
        ]),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("stub resolver: unknown name {host:?}"),
        )),
    }
}

/// Point the process-wide storage at a fresh directory and install the stub
/// resolver (once per test binary).
pub fn init_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        crate::udp::set_resolver(Some(stub_resolver));
        let dir = temp_dir("global");
        std::env::set_var(crate::env::STORAGE_DIR, &dir);
        std::env::set_var("LWM2M_HOST_LOG_LEVEL", "dbg");
        assert_eq!(crate::system::lwm2m_os_init(), 0);
    });
}

/// Serialise tests that use the process-wide sockets or wake eventfd.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    init_env();
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// `lwm2m_os_udp_open()` with a Rust string.
pub fn udp_open(host: &str, port: u16, sec_tag: i32, local_port: u16) -> i32 {
    let host = CString::new(host).unwrap();
    crate::udp::lwm2m_os_udp_open(host.as_ptr(), port, sec_tag, local_port)
}
