//! `lwm2m_os_wait()` / `lwm2m_os_wake()`: `poll(2)` over every open socket
//! plus an eventfd that `lwm2m_os_wake()` writes.
//!
//! - A wake before the wait is kept in the eventfd, so the next wait returns
//!   at once; waits drain it when they return 0.
//! - A socket with an error pending (an ICMP "port unreachable") also counts
//!   as ready, so that the library's next receive reports it.
//! - An open DTLS connection holding decrypted data that no receive has taken
//!   yet makes the wait return 0 immediately (poll cannot see that data).
//! - `lwm2m_os_wake()` never blocks: the eventfd is non-blocking, and a
//!   counter that is already full means a wake is pending anyway.

use core::ffi::c_int;
use std::os::fd::RawFd;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::err;

static WAKE_FD: OnceLock<RawFd> = OnceLock::new();

/// Create the wake eventfd (once). Err: a negative lwm2m_os code.
pub fn init() -> Result<RawFd, c_int> {
    if let Some(fd) = WAKE_FD.get() {
        return Ok(*fd);
    }
    // SAFETY: plain syscall.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(-err::EIO);
    }
    match WAKE_FD.set(fd) {
        Ok(()) => Ok(fd),
        Err(_) => {
            // Another thread won the race; keep its descriptor.
            // SAFETY: fd is ours and unused.
            unsafe { libc::close(fd) };
            Ok(*WAKE_FD.get().expect("set by the other thread"))
        }
    }
}

fn drain(fd: RawFd) {
    let mut count = 0u64;
    // SAFETY: reads 8 bytes into a u64; EAGAIN when nothing is pending.
    unsafe { libc::read(fd, &mut count as *mut u64 as *mut libc::c_void, 8) };
}

/// Wait for a wake, a readable socket, or the timeout (negative: forever).
/// Returns 0 (woken / maybe ready) or 1 (timeout).
pub fn wait(timeout_ms: i32) -> c_int {
    let wake_fd = match init() {
        Ok(fd) => fd,
        Err(_) => {
            // No wake mechanism: at least honour the timeout.
            if timeout_ms > 0 {
                std::thread::sleep(Duration::from_millis(timeout_ms as u64));
            }
            return 1;
        }
    };
    let sources = crate::udp::wait_sources();
    if sources.plaintext_pending {
        drain(wake_fd);
        return 0;
    }
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(1 + sources.fds.len());
    fds.push(libc::pollfd {
        fd: wake_fd,
        events: libc::POLLIN,
        revents: 0,
    });
    for fd in sources.fds {
        fds.push(libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
    }
    let deadline =
        (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
    loop {
        let poll_ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Round up so that we never return before the deadline.
                left.as_micros().div_ceil(1000).min(i32::MAX as u128) as c_int
            }
        };
        // SAFETY: fds is a valid array of fds.len() pollfd structures.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, poll_ms) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            // Unexpected: report a spurious wake-up (allowed) rather than spin.
            return 0;
        }
        if n == 0 {
            return 1;
        }
        drain(wake_fd);
        return 0;
    }
}

#[no_mangle]
pub extern "C" fn lwm2m_os_wait(timeout_ms: i32) -> c_int {
    wait(timeout_ms)
}

#[no_mangle]
pub extern "C" fn lwm2m_os_wake() {
    if let Ok(fd) = init() {
        let one = 1u64;
        // SAFETY: writes 8 bytes from a u64; EAGAIN (counter full) is fine.
        unsafe { libc::write(fd, &one as *const u64 as *const libc::c_void, 8) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support;

    #[test]
    fn wake_from_another_thread_ends_the_wait_quickly() {
        let _g = test_support::serial();
        lwm2m_os_wait(0); // drain an older wake
        let t = std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            lwm2m_os_wake();
        });
        let start = Instant::now();
        assert_eq!(lwm2m_os_wait(10_000), 0);
        assert!(start.elapsed() < Duration::from_secs(5));
        t.join().unwrap();
    }

    #[test]
    fn wake_before_wait_returns_at_once_and_only_once() {
        let _g = test_support::serial();
        lwm2m_os_wake();
        lwm2m_os_wake();
        let start = Instant::now();
        assert_eq!(lwm2m_os_wait(10_000), 0);
        assert!(start.elapsed() < Duration::from_secs(1));
        // Drained: the next wait runs to its timeout.
        assert_eq!(lwm2m_os_wait(30), 1);
    }

    #[test]
    fn wait_times_out_with_1() {
        let _g = test_support::serial();
        lwm2m_os_wait(0);
        let start = Instant::now();
        assert_eq!(lwm2m_os_wait(100), 1);
        assert!(start.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn readable_socket_ends_the_wait() {
        let _g = test_support::serial();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = peer.local_addr().unwrap().port();
        let h = test_support::udp_open("127.0.0.1", port, -1, 0);
        assert!(h >= 0, "open: {h}");
        lwm2m_os_wait(0);
        assert_eq!(lwm2m_os_wait(50), 1, "nothing to read yet");
        let mut buf = [0u8; 16];
        assert_eq!(
            crate::udp::lwm2m_os_udp_send(h, b"hi".as_ptr().cast(), 2),
            2
        );
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        peer.send_to(&buf[..n], from).unwrap();
        let start = Instant::now();
        assert_eq!(lwm2m_os_wait(5_000), 0);
        assert!(start.elapsed() < Duration::from_secs(2));
        crate::udp::lwm2m_os_udp_close(h);
    }
}
