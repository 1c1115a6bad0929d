//! Operator policy: who we are to the servers, which security tags hold
//! which keys, and how long to wait before retrying (behaviour.md §7.3–§7.9).

use alloc::string::String;

/// Security tag of the bootstrap server's credentials (§7.5).
pub const BOOTSTRAP_SEC_TAG: u32 = 25;
/// Highest security tag the library uses for server credentials (25 + 3).
pub const LAST_SERVER_SEC_TAG: u32 = 28;
/// Local UDP port of the bootstrap connection (§7.7).
pub const BOOTSTRAP_LOCAL_PORT: u16 = 9998;
/// Local port of server connection `n` (1-based) is 9999 + n (§7.8).
pub const SERVER_LOCAL_PORT_BASE: u16 = 9999;
/// Server accounts the library serves (connections 1..=3, sec tags 26..=28).
pub const MAX_SERVER_ACCOUNTS: usize = 3;

/// Security tag of the `index`-th LwM2M server account (0-based, in
/// Security instance order, bootstrap account not counted): 26, 27, 28.
/// None past the last: the library never touches a tag outside 25..=28.
pub fn server_sec_tag(index: usize) -> Option<u32> {
    (index < MAX_SERVER_ACCOUNTS).then(|| BOOTSTRAP_SEC_TAG + 1 + index as u32)
}

/// How long the bootstrap server may stay silent between its requests
/// before the bootstrap sequence counts as failed (§7.7: 20 s, the floor).
pub const BOOTSTRAP_IDLE_TIMEOUT_S: u64 = 20;
/// MAX_TRANSMIT_WAIT of a server using RFC 7252's default transmission
/// parameters (§4.8.2: ACK_TIMEOUT 2 s × ACK_RANDOM_FACTOR 1.5 ×
/// (2^(MAX_RETRANSMIT 4 + 1) − 1) = 93 s): how long a server's request can
/// still arrive after its first copy was sent. Our deviation from the
/// original's 20 s: the bootstrap sequence is never given up while the
/// server may still be retransmitting (a lossy link).
pub const SERVER_MAX_TRANSMIT_WAIT_S: u64 = 93;
/// Silence from the bootstrap server that ends a bootstrap sequence: the
/// original's 20 s, but never less than the server's retransmission window.
pub const BOOTSTRAP_SILENCE_S: u64 = if SERVER_MAX_TRANSMIT_WAIT_S > BOOTSTRAP_IDLE_TIMEOUT_S {
    SERVER_MAX_TRANSMIT_WAIT_S
} else {
    BOOTSTRAP_IDLE_TIMEOUT_S
};
/// Registration Update is sent this long before the lifetime expires (§7.8:
/// the original's 4 s; our margin is wider, see [`update_margin_s`]).
pub const UPDATE_EARLY_S: u64 = 4;

/// How long before the registration expires the Update goes out, counted
/// from when the server last refreshed it (the first copy of the Register or
/// Update that it accepted). At least our own retransmission window
/// (`max_transmit_wait_s`, RFC 7252 §4.8.2), so an Update that needs every
/// retransmission still arrives in time, and at least the original's 4 s;
/// at most half the lifetime, so short lifetimes still leave room between
/// Updates.
pub fn update_margin_s(lifetime_s: u32, max_transmit_wait_s: u64) -> u64 {
    let wanted = max_transmit_wait_s.max(UPDATE_EARLY_S);
    wanted.min(lifetime_s as u64 / 2)
}
/// How long to wait for +CEREG after AT+CFUN=1 (NCS `CONFIG_LTE_NETWORK_TIMEOUT`).
pub const LINK_UP_TIMEOUT_S: u64 = 600;

/// `AT%XOPERID` operator ids (§7.3).
pub mod operator {
    pub const UNKNOWN: u32 = 0;
    pub const VERIZON: u32 = 1;
    pub const ATT: u32 = 2;
    pub const ATT_FIRSTNET: u32 = 3;
    pub const ATT_CRICKET: u32 = 4;
    pub const ATT_JASPER: u32 = 5;
    pub const LG_UPLUS: u32 = 10;
}

/// The endpoint client name and PSK identity: `urn:imei:<IMEI>` (§7.5).
pub fn endpoint_name(imei: &str) -> String {
    let mut s = String::with_capacity(9 + imei.len());
    s.push_str("urn:imei:");
    s.push_str(imei);
    s
}

/// Retry delay in seconds after the `attempt`-th consecutive failure
/// (1-based) of a connection or sequence.
///
/// The carrier schedules (Verizon 2/4/6/8 min then 24 h; AT&T fixed 2 min)
/// come with carrier support. Everything else — custom bootstrap servers,
/// development boards — gets an exponential back-off from 30 s doubling to
/// a 24 h cap, where the original retried at once (a tight loop against an
/// unreachable server).
pub fn retry_delay_s(_operator: u32, attempt: u32) -> u32 {
    const CAP: u32 = 86_400;
    let shift = attempt.saturating_sub(1).min(12);
    (30u32 << shift).min(CAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_is_imei_urn() {
        assert_eq!(endpoint_name("351358815340515"), "urn:imei:351358815340515");
    }

    #[test]
    fn server_tags_stay_within_26_to_28() {
        assert_eq!(server_sec_tag(0), Some(26));
        assert_eq!(server_sec_tag(2), Some(28));
        assert_eq!(server_sec_tag(3), None);
        assert_eq!(server_sec_tag(usize::MAX), None);
    }

    #[test]
    fn update_margin_covers_the_retransmissions_and_halves_short_lifetimes() {
        assert_eq!(update_margin_s(86_400, 14), 14);
        assert_eq!(update_margin_s(60, 14), 14);
        assert_eq!(update_margin_s(20, 14), 10);
        assert_eq!(update_margin_s(1, 14), 0);
        assert_eq!(update_margin_s(3600, 2), 4, "never less than the original's 4 s");
        assert_eq!(BOOTSTRAP_SILENCE_S, 93);
    }

    #[test]
    fn back_off_doubles_to_a_day() {
        let d: alloc::vec::Vec<u32> = (1..=14).map(|a| retry_delay_s(0, a)).collect();
        assert_eq!(&d[..6], &[30, 60, 120, 240, 480, 960]);
        assert_eq!(retry_delay_s(0, 13), 86_400);
        assert_eq!(retry_delay_s(0, u32::MAX), 86_400);
        assert_eq!(retry_delay_s(0, 0), 30);
    }
}
