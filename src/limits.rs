//! Every bound on memory in one place. Nothing a peer sends can make the
//! library allocate past these.

/// Longest CoAP datagram we send or accept (RFC 7252 §4.6: fits an IPv6 MTU of 1280).
pub const MAX_DATAGRAM: usize = 1152;
/// Most CoAP options we keep from one message; more → 4.02 / dropped.
pub const MAX_OPTIONS: usize = 16;
/// Remembered responses for duplicate detection (RFC 7252 §4.5).
pub const DEDUP_ENTRIES: usize = 4;
/// Queued AT notifications waiting for the carrier thread; more are dropped (and logged).
pub const AT_NOTIF_QUEUE: usize = 8;
/// Longest AT notification kept; longer lines are dropped.
pub const AT_NOTIF_LEN: usize = 160;
/// Bytes of text the queued AT notifications may hold together; a line that
/// would go past it is dropped (and logged) like one past the count. The
/// library consumes only `+CEREG`, whose lines run to about 80 characters
/// in its longest form (`AT+CEREG=5`): 8 of them fit. Without this budget the
/// queue's worst case was 8 × 160 bytes.
pub const AT_NOTIF_BYTES: usize = 640;
/// Buffer for AT command responses.
pub const AT_RESPONSE_LEN: usize = 256;
/// `LWM2M_CARRIER_STRING_MAX_LEN`: longest string a setter accepts.
pub const STRING_MAX_LEN: usize = 200;
/// Security object instances (bootstrap + 3 servers), security tags 25..=28.
pub const MAX_SECURITY_INSTANCES: usize = 4;
/// Server object instances.
pub const MAX_SERVER_INSTANCES: usize = 3;
/// Longest server URI kept.
pub const MAX_URI_LEN: usize = 255;
/// Longest PSK identity / key accepted from a Bootstrap-Write (bytes).
pub const MAX_PSK_IDENTITY_LEN: usize = 128;
pub const MAX_PSK_KEY_LEN: usize = 64;
/// Longest registration location path ("/rd/abc...") kept.
pub const MAX_LOCATION_LEN: usize = 64;
/// Largest persisted record (framing included). Four Security instances at
/// their limits (URI 255, identity 128, key 64) fit; so do a server's 16
/// attribute levels and 8 observations. A larger record is refused (and
/// logged) when written, never silently lost when read back.
pub const MAX_RECORD_LEN: usize = 2048;
/// Most values one Write / Create payload of a LwM2M server may carry
/// (resources and resource instances together): a whole Device instance
/// with full lists fits. More → 4.13.
pub const MAX_WRITE_ITEMS: usize = 64;
/// Most values a Bootstrap-Write (or a record read back from storage) may
/// carry: the largest object the bootstrap server configures, Access
/// Control with 14 instances of 3 resources and 8 ACL entries, fits.
pub const MAX_BOOTSTRAP_WRITE_ITEMS: usize = 14 * (3 + 8);
/// Longest string or opaque value a LwM2M server may write (a package URI
/// of 255 bytes fits; the Device strings hold at most 200). More → 4.13.
/// Firmware packages do not go through it.
pub const MAX_WRITE_VALUE_LEN: usize = 256;
/// Most instances of one multiple resource in a write. More → 4.13.
pub const MAX_RESOURCE_INSTANCES: usize = 16;
/// Largest body a server may write block-wise (RFC 7959 Block1) outside
/// firmware packages; more → 4.13 with Size1. The largest write a DM
/// server has a use for (a whole Server or Access Control object in TLV) is
/// well under it; every byte of it is heap while the transfer lasts.
pub const MAX_BLOCK1_BODY: usize = 2048;
