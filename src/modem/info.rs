//! Modem information for the Connectivity Monitoring (4) and Connectivity
//! Statistics (7) objects: the AT commands (behaviour.md §7.11, §7.14) and
//! parsers of their responses (3GPP TS 27.007 §8.69 +CESQ, §10.1.14
//! +CGPADDR, §10.1.1 +CGDCONT, §10.1.22 +CEREG, §7.3 +COPS; nRF91 AT
//! Commands Reference for %XCONNSTAT).
//!
//! Every parser takes the information text the modem returned and gives a
//! value or `None`. Refused (→ `None`, never a panic): a missing prefix, a
//! missing or non-numeric field, numbers out of the field's range, "unknown"
//! markers (255 for +CESQ, an absent cell id), and strings that are not
//! printable ASCII or are longer than the field allows. Fields are split on
//! commas outside double quotes.

use heapless::Vec as HVec;

/// Commands sent for objects 4 and 7.
pub mod cmd {
    /// Extended signal quality: RSRQ and RSRP indexes.
    pub const CESQ: &str = "AT+CESQ";
    /// Addresses of PDP context 0 (the default PDN).
    pub const CGPADDR: &str = "AT+CGPADDR=0";
    /// Defined PDP contexts (APN of context 0).
    pub const CGDCONT: &str = "AT+CGDCONT?";
    /// Registration status with tracking area and cell id.
    pub const CEREG_READ: &str = "AT+CEREG?";
    /// Selected operator (numeric PLMN with the modem's default format 2).
    pub const COPS: &str = "AT+COPS?";
    /// Connectivity statistics: start (resets the counters), stop, read.
    pub const XCONNSTAT_START: &str = "AT%XCONNSTAT=1";
    pub const XCONNSTAT_STOP: &str = "AT%XCONNSTAT=0";
    pub const XCONNSTAT_READ: &str = "AT%XCONNSTAT?";
}

/// Longest textual IP address kept (INET6_ADDRSTRLEN − 1 = 45, plus a
/// possible zone / prefix suffix the modem does not send).
pub const MAX_IP_ADDRESS_LEN: usize = 46;
/// Longest APN kept (3GPP TS 23.003 §9.1: at most 100 octets).
pub const MAX_APN_LEN: usize = 100;

/// Fields after `prefix` on the first line that starts with it, split on
/// commas outside double quotes; each field trimmed (quotes kept).
struct Fields<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        let mut quoted = false;
        // Commas and quotes are ASCII, so every split index is a char boundary.
        for (i, b) in s.bytes().enumerate() {
            match b {
                b'"' => quoted = !quoted,
                b',' if !quoted => {
                    self.rest = Some(&s[i + 1..]);
                    return s.get(..i).map(str::trim_ascii);
                }
                _ => {}
            }
        }
        self.rest = None;
        Some(s.trim_ascii())
    }
}

fn fields<'a>(resp: &'a str, prefix: &str) -> Option<Fields<'a>> {
    let line = resp.lines().map(str::trim).find(|l| l.starts_with(prefix))?;
    Some(Fields { rest: Some(&line[prefix.len()..]) })
}

/// A decimal number of at most 9 digits (no sign, no spaces inside).
fn uint(s: &str) -> Option<u32> {
    let s = s.trim_ascii();
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u32, |acc, b| acc * 10 + (b - b'0') as u32))
}

/// The text between double quotes; the field must be quoted.
fn quoted(s: &str) -> Option<&str> {
    s.strip_prefix('"')?.strip_suffix('"')
}

fn printable(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// `+CESQ: <rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>`: the E-UTRA indexes,
/// `None` where the modem reports 255 (not known or not detectable).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SignalQuality {
    /// RSRQ index 0..=34 (TS 27.007 §8.69: −20 dB + index × 0.5 dB).
    pub rsrq: Option<u8>,
    /// RSRP index 0..=97 (TS 27.007 §8.69: index n means −141+n dBm, 0 below −140).
    pub rsrp: Option<u8>,
}

/// Parse `+CESQ:`. The whole response is refused if a field is missing or
/// not a number; an out-of-range E-UTRA index reads as unknown.
pub fn parse_cesq(resp: &str) -> Option<SignalQuality> {
    let mut f = fields(resp, "+CESQ:")?;
    let mut v = [0u32; 6];
    for slot in v.iter_mut() {
        *slot = uint(f.next()?)?;
    }
    let rsrq = (v[4] <= 34).then_some(v[4] as u8);
    let rsrp = (v[5] <= 97).then_some(v[5] as u8);
    Some(SignalQuality { rsrq, rsrp })
}

/// RSRP in dBm for an index (behaviour.md §7.11: −141 + n).
pub fn rsrp_dbm(index: u8) -> i32 {
    -141 + index as i32
}

/// `+CGPADDR: <cid>[,<addr1>[,<addr2>]]`: the IPv4 and/or IPv6 address of
/// the context, in the order given. A context without addresses gives an
/// empty list; an address that is not quoted, empty, too long or holds other
/// characters than hex digits, '.' and ':' refuses the response.
pub fn parse_cgpaddr(resp: &str) -> Option<HVec<&str, 2>> {
    let mut f = fields(resp, "+CGPADDR:")?;
    uint(f.next()?)?;
    let mut out = HVec::new();
    for field in f {
        let a = quoted(field)?;
        let valid = !a.is_empty()
            && a.len() <= MAX_IP_ADDRESS_LEN
            && a.bytes().all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':');
        if !valid {
            return None;
        }
        out.push(a).ok()?;
    }
    Some(out)
}

/// `+CGDCONT: <cid>,<PDP_type>,<APN>,...` (one line per context): the APN of
/// context 0, or of the first line if no line is for context 0. `None` when
/// the APN is empty (the network chose it), unquoted, not printable or too long.
pub fn parse_cgdcont_apn(resp: &str) -> Option<&str> {
    let mut first = None;
    for line in resp.lines().map(str::trim).filter(|l| l.starts_with("+CGDCONT:")) {
        let mut f = fields(line, "+CGDCONT:")?;
        let cid = uint(f.next()?);
        let _pdp_type = f.next()?;
        let apn = quoted(f.next()?)?;
        if cid == Some(0) {
            first = Some(apn);
            break;
        }
        first = first.or(Some(apn));
    }
    first.filter(|a| !a.is_empty() && a.len() <= MAX_APN_LEN && printable(a))
}

/// The read form `+CEREG: <n>,<stat>[,[<tac>],[<ci>],...]`: the E-UTRAN
/// cell id (28 bits, 1..=8 hex digits). `None` if the modem gives no cell
/// (not registered, or reporting mode n < 2).
pub fn parse_cereg_cell_id(resp: &str) -> Option<u32> {
    let mut f = fields(resp, "+CEREG:")?;
    uint(f.next()?)?; // <n>
    uint(f.next()?)?; // <stat>
    let _tac = f.next()?;
    let ci = quoted(f.next()?)?;
    if ci.is_empty() || ci.len() > 8 || !ci.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let v = ci.bytes().fold(0u32, |acc, b| acc << 4 | (b as char).to_digit(16).unwrap_or(0));
    // 0xFFFFFFFF is the "invalid cell" marker; real ids are 28 bits.
    (v <= 0x0FFF_FFFF).then_some(v)
}

/// A PLMN: Mobile Country Code and Mobile Network Code.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Plmn {
    pub mcc: u16,
    pub mnc: u16,
}

/// `+COPS: <mode>[,<format>,"<oper>"[,<AcT>]]` with format 2 (numeric):
/// `<oper>` is MCC (3 digits) then MNC (2 or 3 digits). Another format, or
/// no operator, gives `None`.
pub fn parse_cops(resp: &str) -> Option<Plmn> {
    let mut f = fields(resp, "+COPS:")?;
    uint(f.next()?)?; // <mode>
    if uint(f.next()?)? != 2 {
        return None;
    }
    let oper = quoted(f.next()?)?;
    if !(5..=6).contains(&oper.len()) || !oper.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Plmn { mcc: uint(&oper[..3])? as u16, mnc: uint(&oper[3..])? as u16 })
}

/// `%XCONNSTAT: <SMS Tx>,<SMS Rx>,<Data Tx>,<Data Rx>,<Packet max>,<Packet average>`
/// (data in kB, packet sizes in bytes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct ConnStats {
    pub sms_tx: u32,
    pub sms_rx: u32,
    pub data_tx_kb: u32,
    pub data_rx_kb: u32,
    pub packet_max: u32,
    pub packet_average: u32,
}

/// Parse `%XCONNSTAT:`; all six counters must be there.
pub fn parse_xconnstat(resp: &str) -> Option<ConnStats> {
    let mut f = fields(resp, "%XCONNSTAT:")?;
    let mut v = [0u32; 6];
    for slot in v.iter_mut() {
        *slot = uint(f.next()?)?;
    }
    Some(ConnStats {
        sms_tx: v[0],
        sms_rx: v[1],
        data_tx_kb: v[2],
        data_rx_kb: v[3],
        packet_max: v[4],
        packet_average: v[5],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cesq_vectors() {
        // TS 27.007 §8.69: 99/255 mark the fields of other radio access technologies.
        assert_eq!(
            parse_cesq("+CESQ: 99,99,255,255,31,62"),
            Some(SignalQuality { rsrq: Some(31), rsrp: Some(62) })
        );
        assert_eq!(rsrp_dbm(62), -79);
        assert_eq!(rsrp_dbm(0), -141);
        assert_eq!(rsrp_dbm(97), -44);
        assert_eq!(
            parse_cesq("\r\n+CESQ: 99,99,255,255,255,255\r\n"),
            Some(SignalQuality { rsrq: None, rsrp: None })
        );
        assert_eq!(parse_cesq("+CESQ: 99,99,255,255,35,98"), Some(SignalQuality { rsrq: None, rsrp: None }));
        for bad in ["", "ERROR", "+CESQ:", "+CESQ: 99,99,255,255,31", "+CESQ: 99,99,255,255,x,62", "+CESQ: 99,99,255,255,-1,62", "+CESQ: 99,99,255,255,31,9999999999"] {
            assert_eq!(parse_cesq(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cgpaddr_vectors() {
        let a = parse_cgpaddr("+CGPADDR: 0,\"10.0.0.2\",\"2001:db8::2\"").unwrap();
        assert_eq!(a.as_slice(), ["10.0.0.2", "2001:db8::2"]);
        let a = parse_cgpaddr("+CGPADDR: 0,\"1111:2222:3:FFF::55\"").unwrap();
        assert_eq!(a.as_slice(), ["1111:2222:3:FFF::55"]);
        assert_eq!(parse_cgpaddr("+CGPADDR: 0").unwrap().len(), 0);
        for bad in [
            "",
            "+CGPADDR:",
            "+CGPADDR: x,\"10.0.0.2\"",
            "+CGPADDR: 0,10.0.0.2",
            "+CGPADDR: 0,\"\"",
            "+CGPADDR: 0,\"10.0.0.2 \"",
            "+CGPADDR: 0,\"1.1.1.1\",\"2.2.2.2\",\"3.3.3.3\"",
            "+CGPADDR: 0,\"0123456789012345678901234567890123456789012345678\"",
            "+CGPADDR: 0,\"10.0.0.2",
        ] {
            assert_eq!(parse_cgpaddr(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cgdcont_vectors() {
        assert_eq!(parse_cgdcont_apn("+CGDCONT: 0,\"IP\",\"internet\",\"10.0.0.2\",0,0"), Some("internet"));
        assert_eq!(
            parse_cgdcont_apn("+CGDCONT: 1,\"IPV4V6\",\"vzwadmin\",\"\",0,0\r\n+CGDCONT: 0,\"IPV4V6\",\"ibasis.iot\",\"10.1.2.3 1111:2222::5\",0,0"),
            Some("ibasis.iot")
        );
        assert_eq!(parse_cgdcont_apn("+CGDCONT: 3,\"IP\",\"other\",\"\",0,0"), Some("other"));
        assert_eq!(parse_cgdcont_apn("+CGDCONT: 0,\"IP\",\"a,b\",\"\",0,0"), Some("a,b"), "comma inside quotes");
        for bad in ["", "OK", "+CGDCONT: 0,\"IP\",\"\",\"\",0,0", "+CGDCONT: 0,\"IP\"", "+CGDCONT: 0,\"IP\",internet", "+CGDCONT: 0,\"IP\",\"int\u{7f}\""] {
            assert_eq!(parse_cgdcont_apn(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cereg_cell_id_vectors() {
        assert_eq!(parse_cereg_cell_id("+CEREG: 2,1,\"0A0B\",\"01020304\",7"), Some(0x0102_0304));
        assert_eq!(parse_cereg_cell_id("+CEREG: 5,5,\"002F\",\"0012BEEF\",7,,,\"00000110\",\"01011111\""), Some(0x0012_BEEF));
        assert_eq!(parse_cereg_cell_id("+CEREG: 2,1,\"0A0B\",\"a\",7"), Some(10));
        for bad in [
            "+CEREG: 2,0",
            "+CEREG: 0,1",
            "+CEREG: 2,1,\"0A0B\",\"FFFFFFFF\",7",
            "+CEREG: 2,1,\"0A0B\",\"123456789\",7",
            "+CEREG: 2,1,\"0A0B\",\"12G4\",7",
            "+CEREG: 2,1,\"0A0B\",\"\",7",
            "+CEREG: 2,1,\"0A0B\",01020304,7",
            "+CEREG: x,1,\"0A0B\",\"01020304\",7",
            "",
        ] {
            assert_eq!(parse_cereg_cell_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cops_vectors() {
        assert_eq!(parse_cops("+COPS: 0,2,\"24201\",7"), Some(Plmn { mcc: 242, mnc: 1 }));
        assert_eq!(parse_cops("+COPS: 0,2,\"310410\",7"), Some(Plmn { mcc: 310, mnc: 410 }));
        assert_eq!(parse_cops("+COPS: 1,2,\"26202\""), Some(Plmn { mcc: 262, mnc: 2 }));
        for bad in ["+COPS: 0", "+COPS: 0,0,\"Telenor\",7", "+COPS: 0,2,\"2420\",7", "+COPS: 0,2,\"2420123\",7", "+COPS: 0,2,\"24a01\",7", "+COPS: 0,2,24201,7", ""] {
            assert_eq!(parse_cops(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn xconnstat_vectors() {
        assert_eq!(
            parse_xconnstat("%XCONNSTAT: 2,3,45,60,708,650"),
            Some(ConnStats { sms_tx: 2, sms_rx: 3, data_tx_kb: 45, data_rx_kb: 60, packet_max: 708, packet_average: 650 })
        );
        assert_eq!(parse_xconnstat("%XCONNSTAT: 0,0,0,0,0,0\r\n"), Some(ConnStats::default()));
        for bad in ["", "ERROR", "%XCONNSTAT:", "%XCONNSTAT: 1,2,3,4,5", "%XCONNSTAT: 1,2,3,4,5,x", "%XCONNSTAT: 1,2,3,4,5,-6"] {
            assert_eq!(parse_xconnstat(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parsers_never_panic_on_noise() {
        // Every prefix of a few responses, and multibyte text around the separators.
        let samples = [
            "+CESQ: 99,99,255,255,31,62",
            "+CGPADDR: 0,\"10.0.0.2\",\"2001:db8::2\"",
            "+CGDCONT: 0,\"IP\",\"internet\",\"10.0.0.2\",0,0",
            "+CEREG: 2,1,\"0A0B\",\"01020304\",7",
            "+COPS: 0,2,\"24201\",7",
            "%XCONNSTAT: 2,3,45,60,708,650",
            "+CGDCONT: 0,\"IP\",\"é,ü\",\"\u{1F600}\"",
            "+CEREG: 2,1,\"é\",\"ü\",7",
        ];
        for s in samples {
            for end in (0..=s.len()).filter(|&i| s.is_char_boundary(i)) {
                let t = &s[..end];
                let _ = (parse_cesq(t), parse_cgpaddr(t), parse_cgdcont_apn(t));
                let _ = (parse_cereg_cell_id(t), parse_cops(t), parse_xconnstat(t));
            }
        }
    }
}
