//! Datagram sockets of `lwm2m_os.h`: plain UDP, or DTLS 1.2 with a pre-shared
//! key (RFC 6347, RFC 4279) through OpenSSL.
//!
//! - At most [`MAX_SOCKETS`] are open; one more is refused with `-ENOMEM`.
//! - Open resolves the host (IPv4/IPv6 literal or name; failure `-ENOROUTE`;
//!   names go to the system resolver unless [`set_resolver`] replaced it),
//!   prefers IPv4 addresses of a name, binds the local port if one is given (in use: falls back to any port with
//!   a warning, since several test clients may run on one machine), connects,
//!   and for `sec_tag >= 0` runs the DTLS handshake with the identity and PSK
//!   the modem's credential store holds for that tag (missing: `-ECONNECT`).
//!   Ciphers: TLS_PSK_WITH_AES_128_CCM_8 and TLS_PSK_WITH_AES_128_CBC_SHA256;
//!   MTU 1280. Lost flights are retransmitted (RFC 6347 §4.2.4 timer).
//! - The handshake blocks for at most `LWM2M_HOST_DTLS_TIMEOUT_MS` (default
//!   10000). If the peer never answered: `-ETIMEDOUT`. If it answered but the
//!   handshake did not complete (a wrong PSK: DTLS drops records it cannot
//!   decrypt instead of alerting), a fatal alert, or ICMP "port unreachable":
//!   `-ECONNECT`.
//! - After open the socket is non-blocking. Receive returns one datagram
//!   (truncated to the caller's buffer), `-EAGAIN` when nothing is waiting
//!   (also for DTLS records that carry no application data), and
//!   `-ECONNLOST` after a fatal alert, close_notify or ICMP "port
//!   unreachable"; a DTLS socket stays broken after that.

use core::ffi::{c_char, c_int, c_void, CStr};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use foreign_types::ForeignTypeRef;
use lwm2m_carrier::os::{LOG_DBG, LOG_ERR, LOG_INF, LOG_WRN, SEC_IDENTITY, SEC_PSK};
use openssl::ssl::{
    ErrorCode, HandshakeError, SslConnector, SslMethod, SslOptions, SslStream, SslVerifyMode,
    SslVersion,
};

use crate::err;

/// Most sockets open at a time (`lwm2m_os.h`).
pub const MAX_SOCKETS: usize = 4;
/// OpenSSL names of TLS_PSK_WITH_AES_128_CCM_8 and TLS_PSK_WITH_AES_128_CBC_SHA256.
pub const CIPHERS: &str = "PSK-AES128-CCM8:PSK-AES128-CBC-SHA256";
/// DTLS path MTU (an IPv6 minimum MTU, as on the nRF9160).
pub const DTLS_MTU: u32 = 1280;
/// Handshake time limit variable and its default (ms).
pub const DTLS_TIMEOUT_VAR: &str = "LWM2M_HOST_DTLS_TIMEOUT_MS";
pub const DTLS_TIMEOUT_DEFAULT_MS: u64 = 10_000;
/// How often the handshake loop looks at the retransmission timer.
const HANDSHAKE_TICK: Duration = Duration::from_millis(100);
/// Largest DTLS record plaintext (RFC 6347 §4.1: 2^14).
const MAX_PLAINTEXT: usize = 16_384;
/// `DTLS_CTRL_HANDLE_TIMEOUT` of `ssl.h` (DTLSv1_handle_timeout is a macro).
const DTLS_CTRL_HANDLE_TIMEOUT: c_int = 74;

extern "C" {
    /// OpenSSL ≥ 1.1.0; not bound by openssl-sys.
    fn SSL_has_pending(s: *const openssl_sys::SSL) -> c_int;
}

/// A connected UDP socket as the byte stream OpenSSL wants: each read is one
/// datagram, each write one datagram. Counts the datagrams received.
#[derive(Debug)]
pub struct UdpChannel {
    socket: UdpSocket,
    received: usize,
}

impl UdpChannel {
    pub fn new(socket: UdpSocket) -> Self {
        UdpChannel {
            socket,
            received: 0,
        }
    }
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }
}

impl Read for UdpChannel {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.socket.recv(buf)?;
        self.received += 1;
        Ok(n)
    }
}

impl Write for UdpChannel {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket.send(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Link {
    Plain(UdpSocket),
    Dtls {
        stream: Box<SslStream<UdpChannel>>,
        scratch: Vec<u8>,
    },
}

/// One open socket.
pub struct Socket {
    link: Link,
    /// A DTLS connection that failed: every later call reports `-ECONNLOST`.
    broken: bool,
}

static SOCKETS: Mutex<[Option<Socket>; MAX_SOCKETS]> = Mutex::new([None, None, None, None]);

fn sockets() -> MutexGuard<'static, [Option<Socket>; MAX_SOCKETS]> {
    SOCKETS.lock().unwrap_or_else(|p| p.into_inner())
}

fn log(level: c_int, msg: String) {
    crate::log::write(level, msg.as_bytes());
}

/// What `lwm2m_os_wait()` must watch.
pub struct WaitSources {
    pub fds: Vec<RawFd>,
    /// A DTLS connection holds data that a receive would return without poll
    /// seeing anything on its socket.
    pub plaintext_pending: bool,
}

pub fn wait_sources() -> WaitSources {
    let table = sockets();
    let mut sources = WaitSources {
        fds: Vec::new(),
        plaintext_pending: false,
    };
    for sock in table.iter().flatten() {
        match &sock.link {
            Link::Plain(u) => sources.fds.push(u.as_raw_fd()),
            Link::Dtls { stream, .. } => {
                sources.fds.push(stream.get_ref().socket().as_raw_fd());
                // SAFETY: a valid SSL object owned by the stream.
                let buffered = unsafe { SSL_has_pending(stream.ssl().as_ptr()) } == 1;
                if !sock.broken && (stream.ssl().pending() > 0 || buffered) {
                    sources.plaintext_pending = true;
                }
            }
        }
    }
    sources
}

fn unspecified(addr: &SocketAddr) -> IpAddr {
    match addr {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// Bind (falling back to any port if `local_port` is taken) and connect.
fn connect_udp(remote: SocketAddr, local_port: u16) -> Result<UdpSocket, c_int> {
    let any = unspecified(&remote);
    let socket = match UdpSocket::bind((any, local_port)) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::AddrInUse && local_port != 0 => {
            log(
                LOG_WRN,
                format!("local port {local_port} is in use; using any port"),
            );
            UdpSocket::bind((any, 0)).map_err(|_| -err::EIO)?
        }
        Err(e) => {
            log(LOG_ERR, format!("bind to port {local_port}: {e}"));
            return Err(-err::EIO);
        }
    };
    socket.connect(remote).map_err(|e| match e.kind() {
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => -err::ENOROUTE,
        _ if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => -err::ENOROUTE,
        _ => -err::EIO,
    })?;
    Ok(socket)
}

/// Identity and key bytes stored under `sec_tag`; `-ECONNECT` if either is
/// missing or the PSK is not hex.
fn credentials(sec_tag: u32) -> Result<(Vec<u8>, Vec<u8>), c_int> {
    let store = crate::modem_sim::global().credentials();
    let identity = store.read(sec_tag, SEC_IDENTITY).map_err(|_| {
        log(LOG_ERR, format!("no PSK identity under sec tag {sec_tag}"));
        -err::ECONNECT
    })?;
    let hex = store.read(sec_tag, SEC_PSK).map_err(|_| {
        log(LOG_ERR, format!("no PSK under sec tag {sec_tag}"));
        -err::ECONNECT
    })?;
    let key = crate::modem_sim::psk_from_hex(&hex).ok_or_else(|| {
        log(
            LOG_ERR,
            format!("PSK under sec tag {sec_tag} is not a hex string"),
        );
        -err::ECONNECT
    })?;
    Ok((identity, key))
}

/// Run the DTLS 1.2 PSK client handshake on a connected socket.
pub fn dtls_handshake(
    socket: UdpSocket,
    identity: Vec<u8>,
    key: Vec<u8>,
    timeout: Duration,
) -> Result<SslStream<UdpChannel>, c_int> {
    let setup = |e: openssl::error::ErrorStack| {
        log(LOG_ERR, format!("DTLS setup: {e}"));
        -err::EIO
    };
    let mut builder = SslConnector::builder(SslMethod::dtls_client()).map_err(setup)?;
    builder
        .set_min_proto_version(Some(SslVersion::DTLS1_2))
        .map_err(setup)?;
    builder
        .set_max_proto_version(Some(SslVersion::DTLS1_2))
        .map_err(setup)?;
    builder.set_cipher_list(CIPHERS).map_err(setup)?;
    builder.set_verify(SslVerifyMode::NONE);
    // Servers built on older DTLS stacks (Californium/Scandium in Leshan, many
    // carrier servers, mbedTLS 2.x peers) do not send the RFC 5746
    // renegotiation_info extension, and OpenSSL 3 refuses them without this.
    // We never renegotiate, so allowing such servers costs nothing. The modem's
    // DTLS stack talks to them too.
    builder.set_options(
        SslOptions::NO_QUERY_MTU | SslOptions::from_bits_retain(openssl_sys::SSL_OP_LEGACY_SERVER_CONNECT),
    );
    builder.set_psk_client_callback(move |_ssl, _hint, identity_out, psk_out| {
        // The identity is passed NUL-terminated.
        if identity.len() >= identity_out.len() || key.len() > psk_out.len() {
            return Ok(0); // 0 = no PSK: the handshake fails
        }
        identity_out[..identity.len()].copy_from_slice(&identity);
        identity_out[identity.len()] = 0;
        psk_out[..key.len()].copy_from_slice(&key);
        Ok(key.len())
    });
    let connector = builder.build();
    let mut config = connector.configure().map_err(setup)?;
    config.set_verify_hostname(false);
    config.set_use_server_name_indication(false);
    config.set_mtu(DTLS_MTU).map_err(setup)?;

    let deadline = Instant::now() + timeout;
    socket
        .set_read_timeout(Some(HANDSHAKE_TICK))
        .map_err(|_| -err::EIO)?;
    let mut attempt = config.connect("", UdpChannel::new(socket));
    loop {
        match attempt {
            Ok(stream) => return Ok(stream),
            Err(HandshakeError::WouldBlock(mid)) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(if mid.get_ref().received > 0 {
                        log(
                            LOG_ERR,
                            "DTLS handshake did not complete (wrong PSK?)".into(),
                        );
                        -err::ECONNECT
                    } else {
                        log(LOG_ERR, "DTLS handshake: no answer from the server".into());
                        -err::ETIMEDOUT
                    });
                }
                let tick = HANDSHAKE_TICK
                    .min(deadline - now)
                    .max(Duration::from_millis(1));
                let _ = mid.get_ref().socket().set_read_timeout(Some(tick));
                // Retransmit the last flight if its timer expired.
                // SAFETY: a valid SSL object; the ctrl takes no argument.
                unsafe {
                    openssl_sys::SSL_ctrl(
                        mid.ssl().as_ptr(),
                        DTLS_CTRL_HANDLE_TIMEOUT,
                        0,
                        core::ptr::null_mut(),
                    )
                };
                attempt = mid.handshake();
            }
            Err(HandshakeError::Failure(mid)) => {
                let e = mid.error();
                let refused =
                    e.io_error().map(io::Error::kind) == Some(io::ErrorKind::ConnectionRefused);
                if refused {
                    log(
                        LOG_ERR,
                        "DTLS handshake: connection refused (ICMP port unreachable)".into(),
                    );
                } else {
                    log(LOG_ERR, format!("DTLS handshake failed: {e}"));
                }
                return Err(-err::ECONNECT);
            }
            Err(HandshakeError::SetupFailure(e)) => return Err(setup(e)),
        }
    }
}

/// Resolves a host name (never an IP literal) to socket addresses.
pub type Resolver = fn(&str, u16) -> io::Result<Vec<SocketAddr>>;

static RESOLVER: Mutex<Option<Resolver>> = Mutex::new(None);

/// Resolve names with `resolver` instead of the system's (getaddrinfo, which
/// may send DNS queries); `None` restores the system resolver. Tests install
/// a stub so that nothing they do leaves the machine.
pub fn set_resolver(resolver: Option<Resolver>) {
    *RESOLVER.lock().unwrap_or_else(|p| p.into_inner()) = resolver;
}

/// IP literals directly, names through the installed or the system resolver.
fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let custom = *RESOLVER.lock().unwrap_or_else(|p| p.into_inner());
    match custom {
        Some(resolver) => resolver(host, port),
        None => (host, port).to_socket_addrs().map(Iterator::collect),
    }
}

/// Open a socket (see the module rules); not yet in the table.
pub fn open(host: &str, port: u16, sec_tag: i32, local_port: u16) -> Result<Socket, c_int> {
    let mut remotes: Vec<SocketAddr> = match resolve(host, port) {
        Ok(addrs) => addrs,
        Err(e) => {
            log(LOG_WRN, format!("cannot resolve {host:?}: {e}"));
            return Err(-err::ENOROUTE);
        }
    };
    // IPv4 first: a UDP connect to an address where nobody listens succeeds,
    // so "localhost" resolving to ::1 first would miss a server on 127.0.0.1.
    remotes.sort_by_key(SocketAddr::is_ipv6);
    let mut last = -err::ENOROUTE;
    let mut connected = None;
    for remote in remotes {
        match connect_udp(remote, local_port) {
            Ok(s) => {
                connected = Some((s, remote));
                break;
            }
            Err(e) => last = e,
        }
    }
    let Some((socket, remote)) = connected else {
        log(LOG_WRN, format!("no route to {host:?} port {port}"));
        return Err(last);
    };
    log(
        LOG_DBG,
        format!(
            "udp {remote} from {:?}, sec tag {sec_tag}",
            socket.local_addr().ok()
        ),
    );
    if sec_tag < 0 {
        socket.set_nonblocking(true).map_err(|_| -err::EIO)?;
        return Ok(Socket {
            link: Link::Plain(socket),
            broken: false,
        });
    }
    let (identity, key) = credentials(sec_tag as u32)?;
    let timeout = Duration::from_millis(crate::env::number(
        DTLS_TIMEOUT_VAR,
        DTLS_TIMEOUT_DEFAULT_MS,
    ));
    let stream = dtls_handshake(socket, identity, key, timeout)?;
    let sock = stream.get_ref().socket();
    sock.set_read_timeout(None).map_err(|_| -err::EIO)?;
    sock.set_nonblocking(true).map_err(|_| -err::EIO)?;
    let cipher = stream
        .ssl()
        .current_cipher()
        .map(|c| c.name())
        .unwrap_or("?");
    log(LOG_INF, format!("DTLS connected to {remote} ({cipher})"));
    Ok(Socket {
        link: Link::Dtls {
            stream: Box::new(stream),
            scratch: vec![0; MAX_PLAINTEXT],
        },
        broken: false,
    })
}

impl Socket {
    /// One datagram into `buf` (truncated), or a negative code.
    pub fn recv(&mut self, buf: &mut [u8]) -> c_int {
        if self.broken {
            return -err::ECONNLOST;
        }
        match &mut self.link {
            Link::Plain(u) => loop {
                match u.recv(buf) {
                    Ok(0) => continue, // an empty datagram carries nothing
                    Ok(n) => return n as c_int,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return -err::EAGAIN,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                        return -err::ECONNLOST
                    }
                    Err(_) => return -err::EIO,
                }
            },
            Link::Dtls { stream, scratch } => {
                // A few non-application records in a row, then give up for now.
                for _ in 0..8 {
                    match stream.ssl_read(scratch) {
                        Ok(n) => {
                            let n = n.min(buf.len());
                            buf[..n].copy_from_slice(&scratch[..n]);
                            return n as c_int;
                        }
                        Err(e) => match (e.code(), e.io_error().map(io::Error::kind)) {
                            (ErrorCode::WANT_READ, None) => continue,
                            (ErrorCode::WANT_READ, _) => return -err::EAGAIN,
                            (_, Some(io::ErrorKind::WouldBlock)) => return -err::EAGAIN,
                            (_, Some(io::ErrorKind::Interrupted)) => continue,
                            (code, kind) => {
                                log(
                                    LOG_WRN,
                                    format!("DTLS connection lost ({code:?}, {kind:?}): {e}"),
                                );
                                self.broken = true;
                                return -err::ECONNLOST;
                            }
                        },
                    }
                }
                -err::EAGAIN
            }
        }
    }

    /// Send one datagram; `buf.len()` or a negative code.
    pub fn send(&mut self, buf: &[u8]) -> c_int {
        if self.broken {
            return -err::ECONNLOST;
        }
        let io_code = |e: &io::Error| match e.kind() {
            io::ErrorKind::WouldBlock => -err::EAGAIN,
            io::ErrorKind::ConnectionRefused => -err::ECONNLOST,
            _ if e.raw_os_error() == Some(libc::EMSGSIZE) => -err::EINVAL,
            _ => -err::EIO,
        };
        match &mut self.link {
            Link::Plain(u) => match u.send(buf) {
                Ok(n) => n as c_int,
                Err(e) => io_code(&e),
            },
            Link::Dtls { stream, .. } => {
                if buf.is_empty() {
                    return 0;
                }
                match stream.ssl_write(buf) {
                    Ok(n) => n as c_int,
                    Err(e) => {
                        let code = match e.io_error() {
                            Some(io) => io_code(io),
                            None if e.code() == ErrorCode::ZERO_RETURN => -err::ECONNLOST,
                            None => -err::EIO,
                        };
                        if code == -err::ECONNLOST {
                            self.broken = true;
                        }
                        log(LOG_WRN, format!("DTLS send: {e}"));
                        code
                    }
                }
            }
        }
    }

    /// End a DTLS session with close_notify (best effort).
    fn close(mut self) {
        if let Link::Dtls { stream, .. } = &mut self.link {
            if !self.broken {
                let _ = stream.shutdown();
            }
        }
    }
}

#[no_mangle]
pub extern "C" fn lwm2m_os_udp_open(
    host: *const c_char,
    port: u16,
    sec_tag: i32,
    local_port: u16,
) -> c_int {
    if host.is_null() {
        return -err::EINVAL;
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let Ok(host) = unsafe { CStr::from_ptr(host) }.to_str() else {
        return -err::ENOROUTE;
    };
    if sockets().iter().all(Option::is_some) {
        log(
            LOG_ERR,
            format!("udp open: all {MAX_SOCKETS} sockets are in use"),
        );
        return -err::ENOMEM;
    }
    let socket = match open(host, port, sec_tag, local_port) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut table = sockets();
    match table.iter().position(Option::is_none) {
        Some(i) => {
            table[i] = Some(socket);
            i as c_int
        }
        None => -err::ENOMEM,
    }
}

fn with_socket(handle: c_int, f: impl FnOnce(&mut Socket) -> c_int) -> c_int {
    let mut table = sockets();
    match usize::try_from(handle)
        .ok()
        .and_then(|i| table.get_mut(i))
        .and_then(Option::as_mut)
    {
        Some(sock) => f(sock),
        None => -err::EBADF,
    }
}

#[no_mangle]
pub extern "C" fn lwm2m_os_udp_send(handle: c_int, buf: *const c_void, len: usize) -> c_int {
    if len > c_int::MAX as usize || (buf.is_null() && len > 0) {
        return -err::EINVAL;
    }
    let data: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: the caller passes len readable bytes.
        unsafe { core::slice::from_raw_parts(buf as *const u8, len) }
    };
    with_socket(handle, |s| s.send(data))
}

#[no_mangle]
pub extern "C" fn lwm2m_os_udp_recv(handle: c_int, buf: *mut c_void, len: usize) -> c_int {
    if buf.is_null() || len == 0 {
        return -err::EINVAL;
    }
    let len = len.min(c_int::MAX as usize);
    // SAFETY: the caller passes len writable bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(buf as *mut u8, len) };
    with_socket(handle, |s| s.recv(out))
}

#[no_mangle]
pub extern "C" fn lwm2m_os_udp_close(handle: c_int) {
    let socket = {
        let mut table = sockets();
        usize::try_from(handle)
            .ok()
            .and_then(|i| table.get_mut(i))
            .and_then(Option::take)
    };
    if let Some(s) = socket {
        s.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modem_sim::lwm2m_os_sec_write;
    use crate::test_support::{self, udp_open};
    use crate::wait::lwm2m_os_wait;
    use openssl::ssl::{Ssl, SslContext};
    use std::thread::JoinHandle;

    const IDENTITY: &[u8] = b"urn:imei:351358815340515";
    const PSK_HEX: &[u8] = b"000102030405060708090a0b0c0d0e0f";

    fn store_credentials(tag: u32, psk_hex: &[u8]) {
        assert_eq!(
            lwm2m_os_sec_write(tag, SEC_IDENTITY, IDENTITY.as_ptr().cast(), IDENTITY.len()),
            0
        );
        assert_eq!(
            lwm2m_os_sec_write(tag, SEC_PSK, psk_hex.as_ptr().cast(), psk_hex.len()),
            0
        );
    }

    /// A DTLS 1.2 PSK server on 127.0.0.1 that echoes one datagram, then
    /// waits for the client's close_notify (or with `then_close` sends its
    /// own), and returns the negotiated cipher (Err: what went wrong).
    fn dtls_echo_server(
        cipher: &'static str,
        then_close: bool,
    ) -> (u16, JoinHandle<Result<String, String>>) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        let thread = std::thread::spawn(move || {
            socket
                .set_read_timeout(Some(Duration::from_secs(3)))
                .unwrap();
            let mut peek = [0u8; 1500];
            let (_, peer) = socket.peek_from(&mut peek).map_err(|e| e.to_string())?;
            socket.connect(peer).unwrap();
            let mut ctx = SslContext::builder(SslMethod::dtls_server()).unwrap();
            ctx.set_min_proto_version(Some(SslVersion::DTLS1_2))
                .unwrap();
            ctx.set_max_proto_version(Some(SslVersion::DTLS1_2))
                .unwrap();
            ctx.set_cipher_list(cipher).unwrap();
            let key = crate::modem_sim::psk_from_hex(PSK_HEX).unwrap();
            ctx.set_psk_server_callback(move |_ssl, identity, psk_out| {
                if identity != Some(IDENTITY) {
                    return Ok(0);
                }
                psk_out[..key.len()].copy_from_slice(&key);
                Ok(key.len())
            });
            let ssl = Ssl::new(&ctx.build()).unwrap();
            let mut stream = ssl
                .accept(UdpChannel::new(socket))
                .map_err(|e| e.to_string())?;
            let mut buf = [0u8; 1500];
            let n = stream.ssl_read(&mut buf).map_err(|e| e.to_string())?;
            stream.ssl_write(&buf[..n]).map_err(|e| e.to_string())?;
            let name = stream.ssl().current_cipher().unwrap().name().to_string();
            if then_close {
                stream.shutdown().map_err(|e| e.to_string())?;
            } else {
                // Stay until the client closes (its close_notify), or give up.
                let _ = stream.ssl_read(&mut buf);
            }
            Ok(name)
        });
        (port, thread)
    }

    /// Wait for and receive one datagram through the C functions.
    fn recv_one(h: c_int) -> Result<Vec<u8>, c_int> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = [0u8; 256];
        loop {
            match lwm2m_os_udp_recv(h, buf.as_mut_ptr().cast(), buf.len()) {
                n if n > 0 => return Ok(buf[..n as usize].to_vec()),
                e if e == -err::EAGAIN && Instant::now() < deadline => {
                    lwm2m_os_wait(500);
                }
                e => return Err(e),
            }
        }
    }

    fn dtls_echo(cipher: &'static str, tag: u32) {
        let _g = test_support::serial();
        store_credentials(tag, PSK_HEX);
        let (port, server) = dtls_echo_server(cipher, false);
        let h = udp_open("127.0.0.1", port, tag as i32, 0);
        assert!(h >= 0, "open: {h}");
        let mut buf = [0u8; 4];
        assert_eq!(
            lwm2m_os_udp_recv(h, buf.as_mut_ptr().cast(), 4),
            -err::EAGAIN
        );
        assert_eq!(lwm2m_os_udp_send(h, b"ping".as_ptr().cast(), 4), 4);
        assert_eq!(recv_one(h), Ok(b"ping".to_vec()));
        lwm2m_os_udp_close(h);
        assert_eq!(server.join().unwrap(), Ok(cipher.to_string()));
    }

    #[test]
    fn dtls_echo_with_ccm8() {
        dtls_echo("PSK-AES128-CCM8", 1001);
    }

    #[test]
    fn dtls_echo_with_cbc_sha256() {
        dtls_echo("PSK-AES128-CBC-SHA256", 1002);
    }

    /// Run `f` with the handshake timeout set to `ms`.
    fn with_dtls_timeout<T>(ms: &str, f: impl FnOnce() -> T) -> T {
        std::env::set_var(DTLS_TIMEOUT_VAR, ms);
        let result = f();
        std::env::remove_var(DTLS_TIMEOUT_VAR);
        result
    }

    #[test]
    fn wrong_psk_is_econnect() {
        let _g = test_support::serial();
        store_credentials(1003, b"ffffffffffffffffffffffffffffffff");
        let (port, _server) = dtls_echo_server("PSK-AES128-CCM8", false);
        let start = Instant::now();
        // The server silently drops the records it cannot decrypt (RFC 6347
        // §4.1.2.7), so the client notices at the end of the handshake timeout.
        let h = with_dtls_timeout("1500", || udp_open("127.0.0.1", port, 1003, 0));
        assert_eq!(h, -err::ECONNECT);
        assert!(start.elapsed() < Duration::from_secs(8));
        // (The server thread gives up on its own later; it is not joined.)
    }

    /// Forward datagrams between one client and `server`, dropping the
    /// client's first one. Returns the port clients should use.
    fn lossy_proxy(server: u16) -> u16 {
        let front = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = front.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let back = UdpSocket::bind("127.0.0.1:0").unwrap();
            back.connect(("127.0.0.1", server)).unwrap();
            front
                .set_read_timeout(Some(Duration::from_millis(10)))
                .unwrap();
            back.set_read_timeout(Some(Duration::from_millis(10)))
                .unwrap();
            let (mut client, mut dropped) = (None, false);
            let mut buf = [0u8; 2048];
            let end = Instant::now() + Duration::from_secs(10);
            while Instant::now() < end {
                if let Ok((n, from)) = front.recv_from(&mut buf) {
                    client = Some(from);
                    if dropped {
                        let _ = back.send(&buf[..n]);
                    }
                    dropped = true;
                }
                if let (Ok(n), Some(to)) = (back.recv(&mut buf), client) {
                    let _ = front.send_to(&buf[..n], to);
                }
            }
        });
        port
    }

    #[test]
    fn lost_client_hello_is_retransmitted() {
        let _g = test_support::serial();
        store_credentials(1007, PSK_HEX);
        let (server_port, server) = dtls_echo_server("PSK-AES128-CCM8", false);
        let port = lossy_proxy(server_port);
        let start = Instant::now();
        let h = with_dtls_timeout("5000", || udp_open("127.0.0.1", port, 1007, 0));
        assert!(h >= 0, "open: {h}");
        assert!(
            start.elapsed() >= Duration::from_millis(500),
            "took a retransmission"
        );
        assert_eq!(lwm2m_os_udp_send(h, b"again".as_ptr().cast(), 5), 5);
        assert_eq!(recv_one(h), Ok(b"again".to_vec()));
        lwm2m_os_udp_close(h);
        assert!(server.join().unwrap().is_ok());
    }

    #[test]
    fn close_notify_from_the_server_is_econnlost() {
        let _g = test_support::serial();
        store_credentials(1006, PSK_HEX);
        let (port, server) = dtls_echo_server("PSK-AES128-CCM8", true);
        let h = udp_open("127.0.0.1", port, 1006, 0);
        assert!(h >= 0, "open: {h}");
        assert_eq!(lwm2m_os_udp_send(h, b"bye".as_ptr().cast(), 3), 3);
        assert_eq!(recv_one(h), Ok(b"bye".to_vec()));
        assert_eq!(server.join().unwrap(), Ok("PSK-AES128-CCM8".to_string()));
        assert_eq!(recv_one(h), Err(-err::ECONNLOST));
        assert_eq!(
            lwm2m_os_udp_send(h, b"x".as_ptr().cast(), 1),
            -err::ECONNLOST
        );
        lwm2m_os_udp_close(h);
    }

    #[test]
    fn closed_port_is_econnect() {
        let _g = test_support::serial();
        store_credentials(1004, PSK_HEX);
        let port = {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap().port()
        }; // closed again: the kernel answers with ICMP port unreachable
        assert_eq!(udp_open("127.0.0.1", port, 1004, 0), -err::ECONNECT);
    }

    #[test]
    fn silent_server_is_etimedout() {
        let _g = test_support::serial();
        store_credentials(1005, PSK_HEX);
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let start = Instant::now();
        let h = with_dtls_timeout("400", || udp_open("127.0.0.1", port, 1005, 0));
        assert_eq!(h, -err::ETIMEDOUT);
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_secs(3),
            "{took:?}"
        );
        // The client did try: a ClientHello is waiting at the silent server.
        silent.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 1500];
        assert!(silent.recv(&mut buf).is_ok(), "a ClientHello arrived");
    }

    #[test]
    fn missing_credentials_are_econnect() {
        let _g = test_support::serial();
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        assert_eq!(udp_open("127.0.0.1", port, 1999, 0), -err::ECONNECT);
    }

    #[test]
    fn plain_udp_echo_and_truncation() {
        let _g = test_support::serial();
        let peer = UdpSocket::bind("[::1]:0")
            .or_else(|_| UdpSocket::bind("127.0.0.1:0"))
            .unwrap();
        let addr = peer.local_addr().unwrap();
        let h = udp_open(&addr.ip().to_string(), addr.port(), -1, 0);
        assert!(h >= 0, "open: {h}");
        assert_eq!(lwm2m_os_udp_send(h, b"hello world".as_ptr().cast(), 11), 11);
        let mut buf = [0u8; 64];
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello world");
        peer.send_to(b"hello back", from).unwrap();
        peer.send_to(b"second", from).unwrap();
        let mut small = [0u8; 5];
        let deadline = Instant::now() + Duration::from_secs(5);
        let n = loop {
            match lwm2m_os_udp_recv(h, small.as_mut_ptr().cast(), small.len()) {
                n if n == -err::EAGAIN && Instant::now() < deadline => {
                    lwm2m_os_wait(200);
                }
                n => break n,
            }
        };
        assert_eq!(n, 5);
        assert_eq!(&small, b"hello");
        assert_eq!(
            recv_one(h),
            Ok(b"second".to_vec()),
            "the rest of a datagram is dropped"
        );
        assert_eq!(
            lwm2m_os_udp_recv(h, buf.as_mut_ptr().cast(), buf.len()),
            -err::EAGAIN
        );
        lwm2m_os_udp_close(h);
        assert_eq!(
            lwm2m_os_udp_recv(h, buf.as_mut_ptr().cast(), buf.len()),
            -err::EBADF
        );
        lwm2m_os_udp_close(h); // ignored
        lwm2m_os_udp_close(-1);
    }

    #[test]
    fn at_most_four_sockets_and_bad_names() {
        let _g = test_support::serial();
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = peer.local_addr().unwrap().port();
        let handles: Vec<c_int> = (0..MAX_SOCKETS)
            .map(|_| udp_open("127.0.0.1", port, -1, 0))
            .collect();
        assert!(handles.iter().all(|&h| h >= 0), "{handles:?}");
        assert_eq!(udp_open("127.0.0.1", port, -1, 0), -err::ENOMEM);
        for h in handles {
            lwm2m_os_udp_close(h);
        }
        // The tests' stub resolver (test_support) rejects every name but
        // its own: no DNS query leaves the machine.
        assert_eq!(
            udp_open(test_support::UNKNOWN_NAME, 5683, -1, 0),
            -err::ENOROUTE
        );
        assert_eq!(udp_open("", 5683, -1, 0), -err::ENOROUTE);
    }

    #[test]
    fn names_resolve_ipv4_first() {
        let _g = test_support::serial();
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = peer.local_addr().unwrap().port();
        // The stub answers ::1 before 127.0.0.1 for this name, as a system
        // resolver may for "localhost"; the peer only listens on IPv4.
        let h = udp_open(test_support::DUAL_STACK_NAME, port, -1, 0);
        assert!(h >= 0, "open: {h}");
        assert_eq!(lwm2m_os_udp_send(h, b"v4".as_ptr().cast(), 2), 2);
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(peer.recv(&mut buf).unwrap(), 2);
        lwm2m_os_udp_close(h);
    }

    #[test]
    fn local_port_in_use_falls_back_to_any_port() {
        let _g = test_support::serial();
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = peer.local_addr().unwrap().port();
        let taken = UdpSocket::bind("0.0.0.0:0").unwrap();
        let taken_port = taken.local_addr().unwrap().port();
        let h = udp_open("127.0.0.1", port, -1, taken_port);
        assert!(h >= 0, "open: {h}");
        assert_eq!(lwm2m_os_udp_send(h, b"x".as_ptr().cast(), 1), 1);
        let mut buf = [0u8; 4];
        let (_, from) = peer.recv_from(&mut buf).unwrap();
        assert_ne!(from.port(), taken_port);
        lwm2m_os_udp_close(h);
    }

    #[test]
    fn icmp_refused_after_open_is_econnlost_for_plain_udp() {
        let _g = test_support::serial();
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let h = udp_open("127.0.0.1", port, -1, 0);
        assert!(h >= 0);
        assert_eq!(lwm2m_os_udp_send(h, b"x".as_ptr().cast(), 1), 1);
        assert_eq!(lwm2m_os_wait(2000), 0, "the ICMP error wakes the wait");
        let mut buf = [0u8; 4];
        assert_eq!(
            lwm2m_os_udp_recv(h, buf.as_mut_ptr().cast(), 4),
            -err::ECONNLOST
        );
        lwm2m_os_udp_close(h);
    }
}
