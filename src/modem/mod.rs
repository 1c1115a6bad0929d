//! AT command responses and notifications (3GPP TS 27.007, nRF91 AT commands).
//!
//! Parsers take the text the modem returned and give a value or `None`:
//! malformed or unexpected text is never trusted and never panics.

// A panic on the device is a reboot: no unchecked index, `unwrap` or `expect`
// outside tests (plain `cargo clippy --lib` fails on one).
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used))]

pub mod info;

use alloc::string::String;

/// What the modem told us about itself (+CGSN, +CGMI, +CGMM, +CGMR,
/// %HWVERSION): the Device object takes it with
/// `Device::set_modem_identity`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModemIdentity {
    pub imei: String,
    pub manufacturer: String,
    pub model: String,
    pub firmware_version: String,
    pub hardware_version: Option<String>,
}

/// Commands the library sends.
pub mod cmd {
    pub const CGEREP: &str = "AT+CGEREP=1";
    pub const CNEC: &str = "AT+CNEC=16";
    pub const CEREG_NOTIF: &str = "AT+CEREG=2";
    pub const LINK_UP: &str = "AT+CFUN=1";
    pub const LINK_OFFLINE: &str = "AT+CFUN=4";
    pub const POWER_OFF: &str = "AT+CFUN=0";
    pub const IMEI: &str = "AT+CGSN=1";
    pub const OPERATOR_ID: &str = "AT%XOPERID";
    pub const MANUFACTURER: &str = "AT+CGMI";
    pub const MODEL: &str = "AT+CGMM";
    pub const FIRMWARE: &str = "AT+CGMR";
    pub const HW_VERSION: &str = "AT%HWVERSION";
}

/// Network registration status (`<stat>` of +CEREG, TS 27.007 §10.1.22).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RegStatus {
    NotRegistered,
    Home,
    Searching,
    Denied,
    Unknown,
    Roaming,
    /// 90: UICC failure, and anything else.
    Other(u8),
}

impl RegStatus {
    fn from_stat(n: u32) -> RegStatus {
        match n {
            0 => RegStatus::NotRegistered,
            1 => RegStatus::Home,
            2 => RegStatus::Searching,
            3 => RegStatus::Denied,
            4 => RegStatus::Unknown,
            5 => RegStatus::Roaming,
            n => RegStatus::Other(n.min(255) as u8),
        }
    }
    /// Registered (home or roaming): the link is up.
    pub fn is_registered(self) -> bool {
        matches!(self, RegStatus::Home | RegStatus::Roaming)
    }
}

/// Split the parameters after "PREFIX:" on commas (quotes are kept).
fn params<'a>(line: &'a str, prefix: &str) -> Option<core::str::Split<'a, char>> {
    let rest = line.trim_ascii().strip_prefix(prefix)?;
    Some(rest.trim_ascii_start().split(','))
}

fn uint(s: &str) -> Option<u32> {
    let s = s.trim_ascii();
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.bytes().try_fold(0u32, |acc, b| Some(acc * 10 + (b - b'0') as u32))
}

fn unquote(s: &str) -> &str {
    let s = s.trim_ascii();
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s)
}

/// The `+CEREG: <stat>[,<tac>,<ci>,<AcT>...]` notification (n=2 form).
pub fn parse_cereg_notif(line: &str) -> Option<RegStatus> {
    let mut p = params(line, "+CEREG:")?;
    Some(RegStatus::from_stat(uint(p.next()?)?))
}

/// The first line starting with `prefix` in a (possibly multi-line) response.
pub fn line_with<'a>(resp: &'a str, prefix: &str) -> Option<&'a str> {
    resp.lines().map(str::trim_ascii).find(|l| l.starts_with(prefix))
}

/// `+CGSN: "<IMEI>"` (AT+CGSN=1): the IMEI, 15 digits.
pub fn parse_imei(resp: &str) -> Option<&str> {
    let line = line_with(resp, "+CGSN:")?;
    let imei = unquote(params(line, "+CGSN:")?.next()?);
    (imei.len() == 15 && imei.bytes().all(|b| b.is_ascii_digit())).then_some(imei)
}

/// `%XOPERID: <oper_id>`.
pub fn parse_operator_id(resp: &str) -> Option<u32> {
    let line = line_with(resp, "%XOPERID:")?;
    uint(params(line, "%XOPERID:")?.next()?)
}

/// `%HWVERSION: <version>`.
pub fn parse_hw_version(resp: &str) -> Option<&str> {
    let line = line_with(resp, "%HWVERSION:")?;
    let v = line.strip_prefix("%HWVERSION:")?.trim_ascii();
    (!v.is_empty()).then_some(v)
}

/// A single-line information response such as the one of AT+CGMI: the first
/// non-empty line, which must be printable.
pub fn parse_text(resp: &str) -> Option<&str> {
    let l = resp.lines().map(str::trim_ascii).find(|l| !l.is_empty())?;
    (l.len() <= 64 && l.bytes().all(|b| (0x20..0x7f).contains(&b))).then_some(l)
}

/// Model number as the original reports it: AT+CGMM text up to the first '-'
/// ("nRF9160-SICA" → "nRF9160").
pub fn model_number(cgmm: &str) -> &str {
    cgmm.split('-').next().unwrap_or(cgmm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cereg_notifications() {
        assert_eq!(parse_cereg_notif("+CEREG: 1,\"0A0B\",\"01020304\",7"), Some(RegStatus::Home));
        assert_eq!(parse_cereg_notif("+CEREG: 5,\"0A0B\",\"01020304\",7"), Some(RegStatus::Roaming));
        assert_eq!(parse_cereg_notif("+CEREG: 2"), Some(RegStatus::Searching));
        assert_eq!(parse_cereg_notif("+CEREG: 0"), Some(RegStatus::NotRegistered));
        assert_eq!(parse_cereg_notif("+CEREG: 90"), Some(RegStatus::Other(90)));
        assert_eq!(parse_cereg_notif("+CEREG: x"), None);
        assert_eq!(parse_cereg_notif("+CEREG:"), None);
        assert_eq!(parse_cereg_notif("+CGEV: ME PDN ACT 0"), None);
        assert_eq!(parse_cereg_notif("+CEREG: 99999999999999"), None);
    }

    #[test]
    fn identity_responses() {
        assert_eq!(parse_imei("+CGSN: \"351358815340515\""), Some("351358815340515"));
        assert_eq!(parse_imei("+CGSN: \"35135881534051\""), None);
        assert_eq!(parse_imei("+CGSN: \"35135881534051x\""), None);
        assert_eq!(parse_imei("ERROR"), None);
        assert_eq!(parse_operator_id("%XOPERID: 2"), Some(2));
        assert_eq!(parse_operator_id("%XOPERID: "), None);
        assert_eq!(parse_hw_version("%HWVERSION: nRF9160 SICA B1A"), Some("nRF9160 SICA B1A"));
        assert_eq!(parse_text("Nordic Semiconductor ASA\r\n"), Some("Nordic Semiconductor ASA"));
        assert_eq!(parse_text(""), None);
        assert_eq!(model_number("nRF9160-SICA"), "nRF9160");
        assert_eq!(model_number("nRF9160"), "nRF9160");
    }
}
