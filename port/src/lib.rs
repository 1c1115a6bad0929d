//! Host (Linux) port of `include/lwm2m_os.h`: the library runs as an ordinary
//! process, talks real UDP / DTLS 1.2 PSK (OpenSSL) to real servers, keeps its
//! records in files, and drives a simulated nRF9160 modem.
//!
//! `liblwm2m_carrier_host.a` is the one archive a C host program links: the
//! library itself (re-exported below, so its `#[no_mangle]` C API ends up in
//! the archive) plus every `lwm2m_os_*` function, each a `#[no_mangle] extern
//! "C"` function with exactly the C types of the header.
//!
//! Modules:
//! - [`system`]: init, heap, uptime, the global lock, reboot, random bytes.
//! - [`log`]: `lwm2m_os_log()` to stderr, filtered by `LWM2M_HOST_LOG_LEVEL`.
//! - [`wait`]: `lwm2m_os_wait()` / `lwm2m_os_wake()` over `poll()` and an eventfd.
//! - [`storage`]: records as files, replaced atomically.
//! - [`modem_sim`]: the simulated modem: AT commands, +CEREG notifications,
//!   and the credential store (which, like the real modem's, refuses writes
//!   while the link is up).
//! - [`udp`]: datagram sockets, plain or DTLS 1.2 PSK.
//! - [`power_cut`]: test hooks that SIGKILL the process at a storage commit
//!   point or after a time, as a power cut would.
//!
//! Configuration is by environment variables, all listed in `port/README.md`.

// The `lwm2m_os_*` functions are C entry points with the signatures of the
// header (`pub extern "C" fn`); the pointers they take are valid per the
// header's contract, which is the C caller's to keep, as with any C function.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub use lwm2m_carrier;

pub mod log;
pub mod modem_sim;
pub mod power_cut;
pub mod storage;
pub mod system;
pub mod udp;
pub mod wait;

mod env;

/// Error codes of `lwm2m_os.h`, shared with the library.
pub(crate) use lwm2m_carrier::os::err;

#[cfg(test)]
pub(crate) mod test_support;
