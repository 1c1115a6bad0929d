//! `lwm2m_os_log()`: one line to stderr, Zephyr-like:
//! `[  12.345] <inf> lwm2m_carrier: registered`.
//!
//! The time is the port's uptime in seconds. Lines above the level set by
//! `LWM2M_HOST_LOG_LEVEL` (`none`, `err`, `wrn`, `inf`, `dbg` or 0..4; default
//! `inf`) are dropped, and so are lines logged with level 0 (NONE). Each line
//! is written with one `write` call so lines from several threads do not mix.

use core::ffi::{c_char, c_int, CStr};
use std::io::Write;
use std::sync::OnceLock;

use lwm2m_carrier::os::{LOG_DBG, LOG_ERR, LOG_INF, LOG_WRN};

/// Log level variable.
pub const LOG_LEVEL_VAR: &str = "LWM2M_HOST_LOG_LEVEL";

static MAX_LEVEL: OnceLock<c_int> = OnceLock::new();

/// Parse a level name or number; `None` if it is neither.
pub fn parse_level(s: &str) -> Option<c_int> {
    match s.trim().to_ascii_lowercase().as_str() {
        "none" | "0" => Some(0),
        "err" | "error" | "1" => Some(LOG_ERR),
        "wrn" | "warn" | "warning" | "2" => Some(LOG_WRN),
        "inf" | "info" | "3" => Some(LOG_INF),
        "dbg" | "debug" | "4" => Some(LOG_DBG),
        _ => None,
    }
}

/// The most verbose level printed (read once from the environment).
pub fn max_level() -> c_int {
    *MAX_LEVEL.get_or_init(|| match std::env::var(LOG_LEVEL_VAR) {
        Ok(v) if !v.is_empty() => parse_level(&v).unwrap_or_else(|| {
            eprintln!("lwm2m_carrier_host: {LOG_LEVEL_VAR}={v:?} is not a level; using inf");
            LOG_INF
        }),
        _ => LOG_INF,
    })
}

/// The line as printed, without the newline.
pub fn format_line(uptime_ms: i64, level: c_int, msg: &[u8]) -> Vec<u8> {
    let tag = match level {
        LOG_ERR => "err",
        LOG_WRN => "wrn",
        LOG_INF => "inf",
        _ => "dbg",
    };
    let ms = uptime_ms.max(0);
    let mut line = format!(
        "[{:>4}.{:03}] <{tag}> lwm2m_carrier: ",
        ms / 1000,
        ms % 1000
    )
    .into_bytes();
    line.extend_from_slice(msg);
    line
}

/// Write one line if `level` passes the filter (used by the port itself, too).
pub fn write(level: c_int, msg: &[u8]) {
    if level <= 0 || level > max_level() {
        return;
    }
    let mut line = format_line(crate::system::uptime_ms(), level, msg);
    line.push(b'\n');
    let _ = std::io::stderr().lock().write_all(&line);
}

#[no_mangle]
pub extern "C" fn lwm2m_os_log(level: c_int, msg: *const c_char) {
    if msg.is_null() {
        return;
    }
    // SAFETY: the caller passes a NUL-terminated string valid for the call.
    let msg = unsafe { CStr::from_ptr(msg) };
    write(level, msg.to_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_format_matches_zephyr_style() {
        assert_eq!(
            format_line(12_345, LOG_INF, b"registered"),
            b"[  12.345] <inf> lwm2m_carrier: registered"
        );
        assert_eq!(
            format_line(5, LOG_ERR, b"x"),
            b"[   0.005] <err> lwm2m_carrier: x"
        );
        assert_eq!(
            format_line(123_456_789, LOG_DBG, b""),
            b"[123456.789] <dbg> lwm2m_carrier: "
        );
        assert_eq!(
            format_line(0, LOG_WRN, b"w"),
            b"[   0.000] <wrn> lwm2m_carrier: w"
        );
    }

    #[test]
    fn level_names_and_numbers_parse() {
        assert_eq!(parse_level("dbg"), Some(LOG_DBG));
        assert_eq!(parse_level(" ERR "), Some(LOG_ERR));
        assert_eq!(parse_level("2"), Some(LOG_WRN));
        assert_eq!(parse_level("none"), Some(0));
        assert_eq!(parse_level("loud"), None);
    }
}
