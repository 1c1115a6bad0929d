//! Block-wise transfers (RFC 7959), sans-IO: no clock, no sockets, no messages
//! built here — the engine reads the Block options with [`Message::block1`] /
//! [`Message::block2`], asks this module what to do and writes the answer.
//!
//! Three roles:
//! - [`block2_slice`]: we are the server of a read larger than one block
//!   (RFC 7959 §2.4). Stateless: the engine re-encodes the resource for every
//!   block request and this picks the slice. The NUM/SZX asked for is honoured
//!   with the smaller of the two block sizes (§2.4 "MUST use the block size
//!   indicated or a smaller size"), keeping the byte offset asked for. Refused:
//!   a block that starts at or past the end of the body ([`BlockError::PastEnd`]).
//! - [`Block1Assembler`]: we are the server of a write larger than one block
//!   (§2.5, atomic: the body is handed over only when complete). One transfer
//!   at a time, keyed by the request path (§2.5: the Request-URI identifies the
//!   body; the token may change between blocks). Refused with 4.13 (§2.9.3):
//!   a Size1 or a body over the byte cap. Refused with 4.08 (§2.9.2): a block
//!   out of order, a changed SZX, another path without NUM 0, a block with M set
//!   whose payload is not exactly the block size, a payload over the block size.
//! - [`Block2Reader`]: we are the client of a read larger than one block
//!   (§2.4, §3.2). It does not buffer: each payload goes straight to the caller.
//!   Refused: a block other than the one asked for, a larger SZX than asked
//!   for, a payload of the wrong length, a changed ETag.
//!
//! The peer is implied: the engine keeps one assembler per server connection,
//! as [`crate::coap::Endpoint`] does for message-layer state.

use alloc::vec::Vec;

use super::block::Block;
use super::endpoint::EXCHANGE_LIFETIME_MS;
use super::msg::{option, Message};
use crate::util::crc::crc32;
use crate::time::Instant;

/// Longest request path kept as a Block1 transfer key: "/65535/65535/65535/65535"
/// (24 bytes, the longest LwM2M path) with room to spare.
pub const PATH_KEY_LEN: usize = 32;

/// Longest ETag (RFC 7252 §5.10.6: 1 to 8 bytes).
pub const MAX_ETAG_LEN: usize = 8;

/// The key of a Block1 transfer: the request's Uri-Path segments joined with '/'.
pub type PathKey = heapless::Vec<u8, PATH_KEY_LEN>;

/// Why a block could not be served or accepted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BlockError {
    /// A Block2 request for a block starting at or past the end of the body.
    ///
    /// RFC 7959 gives no response code for this. We answer **4.02 Bad Option**:
    /// Block2 is critical (§2.1) and this value cannot be honoured, which is the
    /// case RFC 7252 §5.4.1 maps to 4.02.
    PastEnd,
    /// A response carries another block than the one asked for (its byte offset
    /// differs), RFC 7959 §2.4.
    OutOfSequence,
    /// A response uses a larger block size than asked for (§2.4: the server
    /// "MUST use the block size indicated or a smaller size").
    SizeIncreased,
    /// A payload of the wrong length: not exactly the block size with M set
    /// (§2.2), or longer than the block size.
    PayloadLength,
    /// The ETag differs from the one of the first block (§2.4: the
    /// representation changed during the transfer).
    EtagChanged,
    /// A block with M set and NUM 2^20 - 1: the next NUM cannot be expressed (§2.2).
    TooManyBlocks,
    /// The last block (M unset) has already been accepted.
    Finished,
}

// ---------------------------------------------------------------------------
// Block2 responder (RFC 7959 §2.4)
// ---------------------------------------------------------------------------

/// Whether a body of `body_len` bytes must be sent block-wise because it does
/// not fit `max_payload` bytes of one message (RFC 7959 §2.4).
pub fn needs_block2(body_len: usize, max_payload: usize) -> bool {
    body_len > max_payload
}

/// The block of `body` to answer a read with, and the Block2 value to send
/// (RFC 7959 §2.4).
///
/// - `requested` is the request's Block2 option. Its M bit is ignored (§2.4:
///   "the server MUST ignore it"). The block size is the smaller of the
///   request's and `preferred_szx`; if ours is smaller, the NUM is scaled so
///   the block still starts at the byte offset asked for (§2.4, late
///   negotiation: "2:2/0/64" after "2:0/1/128").
/// - Without a Block2 option, block 0 at `preferred_szx` is returned. Call this
///   then only when [`needs_block2`] says the body does not fit one message;
///   otherwise send the body whole and without a Block2 option.
/// - `preferred_szx` above 6 is taken as 6.
///
/// The returned value has M set when more of the body follows. A block that
/// starts at or past the end of the body is [`BlockError::PastEnd`] (→ 4.02),
/// except block 0 of an empty body, which is the empty slice.
///
/// **Keeping the body stable.** The engine re-encodes the resource for every
/// block request, so the blocks of one transfer may come from different
/// values. It must put `etag(body)` ([`etag`]) in an ETag option of every
/// Block2 response, computed over the whole body (not the block): the DM
/// server compares them (§2.4: the client "MUST compare ETag Options") and
/// starts over when the representation changed.
pub fn block2_slice(
    body: &[u8],
    requested: Option<Block>,
    preferred_szx: u8,
) -> Result<(Block, &[u8]), BlockError> {
    let preferred_szx = preferred_szx.min(Block::MAX_SZX);
    let (offset, szx) = match requested {
        Some(asked) => {
            let szx = asked.szx.min(preferred_szx);
            (asked.offset(), szx)
        }
        None => (0, preferred_szx),
    };
    let size = 16usize << szx;
    // Both sizes are powers of two and ours is not larger: the division is exact.
    let num = u32::try_from(offset / size).map_err(|_| BlockError::PastEnd)?;
    if num > Block::MAX_NUM || (offset >= body.len() && offset != 0) {
        return Err(BlockError::PastEnd);
    }
    let end = offset.saturating_add(size).min(body.len());
    let slice = body.get(offset..end).ok_or(BlockError::PastEnd)?;
    let more = end < body.len();
    Ok((Block { num, more, szx }, slice))
}

/// An ETag for a Block2 body (RFC 7252 §5.10.6, RFC 7959 §2.4): the CRC-32 of
/// the whole body, big-endian. Equal bodies give equal tags, so a server
/// reading block by block sees a changed representation as a changed ETag.
pub fn etag(body: &[u8]) -> [u8; 4] {
    crc32(body).to_be_bytes()
}

// ---------------------------------------------------------------------------
// Block1 assembler (RFC 7959 §2.5)
// ---------------------------------------------------------------------------

/// The key of a Block1 transfer for `msg`: its Uri-Path segments joined with
/// '/' ("5/0/0"), so "50"+"0" and "5"+"00" differ. `None` if longer than
/// [`PATH_KEY_LEN`] (the engine then answers 4.13 or 4.04; no LwM2M path is
/// that long).
pub fn path_key(msg: &Message<'_>) -> Option<PathKey> {
    let mut key = PathKey::new();
    for (i, segment) in msg.options_of(option::URI_PATH).enumerate() {
        if i > 0 {
            key.push(b'/').ok()?;
        }
        key.extend_from_slice(segment).ok()?;
    }
    Some(key)
}

/// What to answer a Block1 request with (RFC 7959 §2.3, §2.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block1Outcome {
    /// The block is stored: answer 2.31 Continue with this Block1 option
    /// (the request's, echoed, M set; §2.3 and the simple atomic
    /// block-wise PUT of §3.2).
    Continue(Block),
    /// The last block arrived: this is the whole body. Act on it and answer
    /// with the final code (e.g. 2.04) and the request's Block1 option echoed.
    Complete(Vec<u8>),
    /// Answer 4.13 Request Entity Too Large with a Size1 option of `max`
    /// (§2.9.3, §4). Any transfer on this path is dropped.
    TooLarge { max: u32 },
    /// Answer 4.08 Request Entity Incomplete (§2.9.2): a block out of order,
    /// a changed SZX, a block of another path than the transfer's, or a
    /// payload of the wrong length. A transfer in progress is kept, so a
    /// stray datagram cannot end it; it expires when idle.
    Incomplete,
}

/// One block-wise write in progress.
#[derive(Clone, Debug)]
struct Transfer {
    path: PathKey,
    szx: u8,
    /// NUM of the next block expected; every block before it is in `body`.
    next_num: u32,
    body: Vec<u8>,
    last_activity: Instant,
}

/// Reassembles a request body sent with Block1 (RFC 7959 §2.5), for one peer.
///
/// Rules:
/// - NUM 0 starts a transfer, replacing any other (one transfer at a time;
///   a DM server that gave up on a transfer and starts over is served).
/// - Blocks must follow in order with the SZX of block 0. The block just
///   stored may come again (a retransmission the message layer did not catch,
///   e.g. under a new Message ID): if its payload is the same it is answered
///   2.31 again and not appended twice; otherwise 4.08.
/// - With M set the payload must be exactly the block size (§2.2); the last
///   block may be shorter, never longer.
/// - A Size1 (§4) over the cap is refused at once with 4.13; so is a body
///   that grows past the cap. The buffer never holds more than the cap.
/// - A transfer idle for EXCHANGE_LIFETIME (RFC 7252 §4.8.2) is dropped.
#[derive(Clone, Debug)]
pub struct Block1Assembler {
    max_len: usize,
    transfer: Option<Transfer>,
}

impl Block1Assembler {
    /// An assembler that never holds more than `max_len` body bytes.
    pub fn new(max_len: usize) -> Block1Assembler {
        Block1Assembler {
            max_len,
            transfer: None,
        }
    }

    /// Whether a transfer is in progress.
    pub fn is_active(&self) -> bool {
        self.transfer.is_some()
    }

    /// Drops the transfer in progress, if any (e.g. the server was deregistered).
    pub fn abort(&mut self) {
        self.transfer = None;
    }

    /// Takes one Block1 request: its path key ([`path_key`]), Block1 option,
    /// payload and Size1 option. See the type's rules.
    pub fn offer(
        &mut self,
        now: Instant,
        path_key: &[u8],
        block: Block,
        payload: &[u8],
        size1: Option<u32>,
    ) -> Block1Outcome {
        self.expire(now);
        let too_large = Block1Outcome::TooLarge {
            max: u32::try_from(self.max_len).unwrap_or(u32::MAX),
        };
        let same_path = |t: &Transfer| t.path.as_slice() == path_key;

        if size1.is_some_and(|s| usize::try_from(s).map_or(true, |s| s > self.max_len)) {
            if self.transfer.as_ref().is_some_and(same_path) {
                self.transfer = None;
            }
            return too_large;
        }
        if block.szx > Block::MAX_SZX
            || payload.len() > block.size()
            || (block.more && payload.len() != block.size())
        {
            return Block1Outcome::Incomplete;
        }

        if block.num == 0 {
            // Start (or restart): a retransmitted block 0 restarts to the same state.
            let Ok(path) = PathKey::from_slice(path_key) else {
                return Block1Outcome::Incomplete;
            };
            self.transfer = None;
            let mut body = Vec::new();
            // Size1 is a hint (§4): reserve it, capped, to spare reallocations.
            let hint = size1.map_or(0, |s| s as usize).max(payload.len());
            if payload.len() > self.max_len || body.try_reserve_exact(hint).is_err() {
                return too_large;
            }
            body.extend_from_slice(payload);
            let transfer = Transfer {
                path,
                szx: block.szx,
                next_num: 1,
                body,
                last_activity: now,
            };
            return self.stored(transfer, block);
        }

        let Some(mut transfer) = self.transfer.take() else {
            return Block1Outcome::Incomplete;
        };
        if !same_path(&transfer) || block.szx != transfer.szx {
            self.transfer = Some(transfer);
            return Block1Outcome::Incomplete;
        }
        if block.num == transfer.next_num {
            let needed = transfer.body.len().saturating_add(payload.len());
            if needed > self.max_len || !reserve_capped(&mut transfer.body, needed, self.max_len) {
                return too_large; // the transfer is dropped
            }
            transfer.body.extend_from_slice(payload);
            transfer.next_num += 1;
            transfer.last_activity = now;
            return self.stored(transfer, block);
        }
        // The block stored last, again: answer as before, append nothing.
        let stored_last = block.num.checked_add(1) == Some(transfer.next_num)
            && block.more
            && transfer.body.get(block.offset()..) == Some(payload);
        let outcome = if stored_last {
            transfer.last_activity = now;
            Block1Outcome::Continue(block)
        } else {
            Block1Outcome::Incomplete
        };
        self.transfer = Some(transfer);
        outcome
    }

    /// Keeps `transfer` after storing `block`, or hands its body over if it was the last.
    fn stored(&mut self, transfer: Transfer, block: Block) -> Block1Outcome {
        if block.more {
            self.transfer = Some(transfer);
            Block1Outcome::Continue(block)
        } else {
            Block1Outcome::Complete(transfer.body)
        }
    }

    /// Drops a transfer idle for EXCHANGE_LIFETIME or longer (RFC 7252 §4.8.2):
    /// by then the DM server has given up on it.
    pub fn expire(&mut self, now: Instant) {
        if self
            .transfer
            .as_ref()
            .is_some_and(|t| now.since(t.last_activity) >= EXCHANGE_LIFETIME_MS)
        {
            self.transfer = None;
        }
    }

    /// When [`expire`](Self::expire) will drop the transfer in progress.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.transfer
            .as_ref()
            .map(|t| t.last_activity.add_millis(EXCHANGE_LIFETIME_MS))
    }
}

/// Makes room for `needed` bytes in `body` without its capacity ever passing
/// `cap` (`needed <= cap`): doubles while that fits, else reserves exactly.
/// `false` if the allocator refuses (no abort: `try_reserve`).
fn reserve_capped(body: &mut Vec<u8>, needed: usize, cap: usize) -> bool {
    if needed <= body.capacity() {
        return true;
    }
    let target = body.capacity().saturating_mul(2).clamp(needed, cap);
    body.try_reserve_exact(target - body.len()).is_ok()
}

// ---------------------------------------------------------------------------
// Block2 reader (RFC 7959 §2.4, client side)
// ---------------------------------------------------------------------------

/// Where a block-wise read stands after a block.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReadProgress {
    /// More blocks follow: ask for [`Block2Reader::next_request_block`].
    More,
    /// That was the last block.
    Done,
}

/// Reads a resource block by block as a client (RFC 7959 §2.4), e.g. a
/// firmware package over CoAP. Holds no payload: each accepted payload is the
/// caller's to write at [`offset`](Self::offset) before accepting.
///
/// The first request already carries Block2 with the SZX we want (early
/// negotiation, §2.4). The server may answer with a smaller SZX; the reader
/// then continues with it, as long as each block starts at the byte offset
/// asked for (late negotiation, §2.4 and §3.1). A response without a Block2
/// option holds the whole body and needs no reader.
#[derive(Clone, Debug)]
pub struct Block2Reader {
    next_num: u32,
    szx: u8,
    received: usize,
    done: bool,
    /// The ETag of the first response checked, `Some(None)` if it had none.
    etag: Option<Option<heapless::Vec<u8, MAX_ETAG_LEN>>>,
}

impl Block2Reader {
    /// A read from the start with blocks of `16 << szx` bytes (SZX above 6 is taken as 6).
    pub fn new(szx: u8) -> Block2Reader {
        Block2Reader {
            next_num: 0,
            szx: szx.min(Block::MAX_SZX),
            received: 0,
            done: false,
            etag: None,
        }
    }

    /// A read resumed at byte `offset` (e.g. what the modem's DFU already
    /// holds). `None` unless `offset` is a multiple of the block size with a
    /// NUM that fits 20 bits (§2.2).
    pub fn starting_at(offset: usize, szx: u8) -> Option<Block2Reader> {
        let mut reader = Block2Reader::new(szx);
        let size = 16usize << reader.szx;
        if !offset.is_multiple_of(size) {
            return None;
        }
        reader.next_num = u32::try_from(offset / size)
            .ok()
            .filter(|&n| n <= Block::MAX_NUM)?;
        reader.received = offset;
        Some(reader)
    }

    /// The Block2 option for the next request: the next NUM, M unset (§2.4:
    /// "the client MUST set the M bit ... to zero"), the current SZX.
    pub fn next_request_block(&self) -> Block {
        Block {
            num: self.next_num,
            more: false,
            szx: self.szx,
        }
    }

    /// Bytes of the body accepted so far: where the next payload goes.
    pub fn offset(&self) -> usize {
        self.received
    }

    /// Checks a response's ETag option against the first one seen (§2.4: the
    /// client "MUST compare ETag Options"). Call it for every response before
    /// [`accept`](Self::accept); a mismatch means the representation changed
    /// and the read must start over.
    pub fn check_etag(&mut self, etag: Option<&[u8]>) -> Result<(), BlockError> {
        let this = match etag {
            Some(e) => Some(heapless::Vec::from_slice(e).map_err(|_| BlockError::EtagChanged)?),
            None => None,
        };
        match &self.etag {
            None => {
                self.etag = Some(this);
                Ok(())
            }
            Some(first) if *first == this => Ok(()),
            Some(_) => Err(BlockError::EtagChanged),
        }
    }

    /// Takes the Block2 option and payload of a response to
    /// [`next_request_block`](Self::next_request_block). On `Ok` the caller
    /// owns the payload (bytes `offset()-before .. +payload.len()` of the body).
    pub fn accept(
        &mut self,
        response_block: Block,
        payload: &[u8],
    ) -> Result<ReadProgress, BlockError> {
        if self.done {
            return Err(BlockError::Finished);
        }
        if response_block.szx > self.szx {
            return Err(BlockError::SizeIncreased);
        }
        if response_block.offset() != self.next_request_block().offset() {
            return Err(BlockError::OutOfSequence);
        }
        let size = response_block.size();
        if payload.len() > size || (response_block.more && payload.len() != size) {
            return Err(BlockError::PayloadLength);
        }
        if response_block.more && response_block.num >= Block::MAX_NUM {
            return Err(BlockError::TooManyBlocks);
        }
        self.szx = response_block.szx;
        self.next_num = response_block.num.saturating_add(1);
        self.received = self.received.saturating_add(payload.len());
        if response_block.more {
            Ok(ReadProgress::More)
        } else {
            self.done = true;
            Ok(ReadProgress::Done)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coap::msg::{Code, MessageWriter, MsgType};

    fn blk(num: u32, more: bool, szx: u8) -> Block {
        Block { num, more, szx }
    }

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    /// A body whose bytes say where they are.
    fn body(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    // --- Block2 responder -------------------------------------------------

    /// RFC 7959 §3.1 Figure 2 (simple block-wise GET): 2:0/1/128, 2:1/1/128,
    /// 2:2/0/128. The body is 128 + 128 + 82 bytes.
    #[test]
    fn rfc7959_figure2_three_blocks_of_128() {
        let b = body(338);
        // The first GET carries no Block2; we prefer 128 bytes (SZX 3).
        assert!(needs_block2(b.len(), 256));
        assert_eq!(block2_slice(&b, None, 3), Ok((blk(0, true, 3), &b[..128])));
        assert_eq!(
            block2_slice(&b, Some(blk(1, false, 3)), 3),
            Ok((blk(1, true, 3), &b[128..256]))
        );
        assert_eq!(
            block2_slice(&b, Some(blk(2, false, 3)), 3),
            Ok((blk(2, false, 3), &b[256..]))
        );
        // Block 3 would start past the end.
        assert_eq!(
            block2_slice(&b, Some(blk(3, false, 3)), 3),
            Err(BlockError::PastEnd)
        );
    }

    /// RFC 7959 §3.1 Figure 3 (early negotiation): the client asks 2:0/0/64;
    /// we prefer 128 but must not send more than asked.
    #[test]
    fn rfc7959_figure3_early_negotiation() {
        let b = body(150);
        assert_eq!(
            block2_slice(&b, Some(blk(0, false, 2)), 3),
            Ok((blk(0, true, 2), &b[..64]))
        );
        assert_eq!(
            block2_slice(&b, Some(blk(2, false, 2)), 3),
            Ok((blk(2, false, 2), &b[128..]))
        );
    }

    /// RFC 7959 §3.1 Figure 4 (late negotiation): block 0 went out as
    /// 2:0/1/128, then the client asks 2:2/0/64 (offset 128), 3, 4, 5 at 64.
    #[test]
    fn rfc7959_figure4_late_negotiation() {
        let b = body(128 + 4 * 64);
        assert_eq!(block2_slice(&b, None, 3), Ok((blk(0, true, 3), &b[..128])));
        for num in 2..=5u32 {
            let (sent, slice) = block2_slice(&b, Some(blk(num, false, 2)), 3).unwrap();
            assert_eq!(sent, blk(num, num < 5, 2));
            let start = num as usize * 64;
            assert_eq!(slice, &b[start..start + 64]);
        }
    }

    /// A request for larger blocks than we send keeps its byte offset.
    #[test]
    fn smaller_szx_of_ours_scales_num() {
        let b = body(1000);
        // 1/0/512 asks for bytes 512..1024; we send 128-byte blocks → NUM 4.
        assert_eq!(
            block2_slice(&b, Some(blk(1, false, 5)), 3),
            Ok((blk(4, true, 3), &b[512..640]))
        );
    }

    #[test]
    fn block2_edges() {
        // The M bit of the request is ignored (§2.4).
        let b = body(40);
        assert_eq!(
            block2_slice(&b, Some(blk(0, true, 0)), 6),
            Ok((blk(0, true, 0), &b[..16]))
        );
        // A body of exactly two blocks: the second has M unset, a third is past the end.
        let b = body(32);
        assert_eq!(
            block2_slice(&b, Some(blk(1, false, 0)), 0),
            Ok((blk(1, false, 0), &b[16..]))
        );
        assert_eq!(
            block2_slice(&b, Some(blk(2, false, 0)), 0),
            Err(BlockError::PastEnd)
        );
        // Block 0 of an empty body is empty and final; block 1 is past the end.
        assert_eq!(
            block2_slice(&[], Some(blk(0, false, 3)), 3),
            Ok((blk(0, false, 3), &[][..]))
        );
        assert_eq!(
            block2_slice(&[], Some(blk(1, false, 3)), 3),
            Err(BlockError::PastEnd)
        );
        // The largest NUM, and a preferred SZX out of range taken as 6.
        let huge = blk(Block::MAX_NUM, false, 6);
        assert_eq!(block2_slice(&b, Some(huge), 9), Err(BlockError::PastEnd));
        assert_eq!(
            block2_slice(&body(2000), None, 9).unwrap().0,
            blk(0, true, 6)
        );
        assert!(!needs_block2(1024, 1024));
        assert!(needs_block2(1025, 1024));
    }

    /// Every body length and size: the blocks, in order, are the body.
    #[test]
    fn block2_slices_cover_the_body() {
        for len in [1usize, 15, 16, 17, 100, 1024, 1025, 3000] {
            let b = body(len);
            for szx in 0..=6u8 {
                let mut joined = Vec::new();
                let mut num = 0;
                loop {
                    let (sent, slice) = block2_slice(&b, Some(blk(num, false, szx)), 6).unwrap();
                    assert_eq!((sent.num, sent.szx), (num, szx));
                    joined.extend_from_slice(slice);
                    if !sent.more {
                        break;
                    }
                    assert_eq!(slice.len(), 16 << szx);
                    num += 1;
                }
                assert_eq!(joined, b);
            }
        }
    }

    #[test]
    fn etag_is_crc32_of_the_body() {
        // The CRC-32 check value (ISO-HDLC): crc32("123456789") = 0xCBF43926.
        assert_eq!(etag(b"123456789"), [0xCB, 0xF4, 0x39, 0x26]);
        let before = body(300);
        let mut after = before.clone();
        after[299] ^= 1;
        assert_eq!(etag(&before), etag(&before.clone()));
        assert_ne!(etag(&before), etag(&after));
    }

    // --- Block1 assembler -------------------------------------------------

    /// RFC 7959 §3.2, simple atomic block-wise PUT: 1:0/1/128 and
    /// 1:1/1/128 get 2.31 with the option echoed, 1:2/0/128 gets the body (→ 2.04).
    #[test]
    fn rfc7959_simple_atomic_put() {
        let b = body(300);
        let mut asm = Block1Assembler::new(1024);
        assert_eq!(
            asm.offer(at(0), b"options", blk(0, true, 3), &b[..128], None),
            Block1Outcome::Continue(blk(0, true, 3))
        );
        assert_eq!(
            asm.offer(at(10), b"options", blk(1, true, 3), &b[128..256], None),
            Block1Outcome::Continue(blk(1, true, 3))
        );
        assert_eq!(
            asm.offer(at(20), b"options", blk(2, false, 3), &b[256..], None),
            Block1Outcome::Complete(b)
        );
        assert!(!asm.is_active());
        assert_eq!(asm.poll_timeout(), None);
    }

    /// RFC 7959 §2.9.3 / §4: 4.13 with Size1 = our cap, at once when the
    /// request's Size1 says the body is too large, else when it grows too large.
    #[test]
    fn too_large_with_size1() {
        let mut asm = Block1Assembler::new(256);
        assert_eq!(
            asm.offer(at(0), b"5/0/0", blk(0, true, 3), &body(128), Some(2048)),
            Block1Outcome::TooLarge { max: 256 }
        );
        assert!(!asm.is_active());
        // Size1 exactly the cap is fine.
        assert_eq!(
            asm.offer(at(0), b"5/0/0", blk(0, true, 3), &body(128), Some(256)),
            Block1Outcome::Continue(blk(0, true, 3))
        );
        // No Size1, the body grows past the cap: 4.13 and the transfer is dropped.
        let mut asm = Block1Assembler::new(200);
        asm.offer(at(0), b"5/0/0", blk(0, true, 3), &body(128), None);
        assert_eq!(
            asm.offer(at(1), b"5/0/0", blk(1, true, 3), &body(128), None),
            Block1Outcome::TooLarge { max: 200 }
        );
        assert!(!asm.is_active());
        // A single block over the cap.
        let mut asm = Block1Assembler::new(100);
        assert_eq!(
            asm.offer(at(0), b"x", blk(0, false, 3), &body(128), None),
            Block1Outcome::TooLarge { max: 100 }
        );
    }

    /// RFC 7959 §2.9.2: a gap (block 1 missing) gets 4.08; the transfer
    /// survives and the missing block still completes it.
    #[test]
    fn gap_is_incomplete() {
        let b = body(300);
        let mut asm = Block1Assembler::new(1024);
        asm.offer(at(0), b"5/0/0", blk(0, true, 3), &b[..128], None);
        assert_eq!(
            asm.offer(at(1), b"5/0/0", blk(2, false, 3), &b[256..], None),
            Block1Outcome::Incomplete
        );
        assert!(asm.is_active());
        asm.offer(at(2), b"5/0/0", blk(1, true, 3), &b[128..256], None);
        assert_eq!(
            asm.offer(at(3), b"5/0/0", blk(2, false, 3), &b[256..], None),
            Block1Outcome::Complete(b)
        );
        // No transfer at all: a block other than 0 is incomplete.
        assert_eq!(
            asm.offer(at(4), b"5/0/0", blk(1, true, 3), &body(128), None),
            Block1Outcome::Incomplete
        );
    }

    #[test]
    fn changed_szx_other_path_and_bad_lengths_are_incomplete() {
        let mut asm = Block1Assembler::new(4096);
        asm.offer(at(0), b"5/0/0", blk(0, true, 3), &body(128), None);
        // SZX changed mid-transfer.
        assert_eq!(
            asm.offer(at(1), b"5/0/0", blk(2, true, 2), &body(64), None),
            Block1Outcome::Incomplete
        );
        // Another path.
        assert_eq!(
            asm.offer(at(1), b"5/0/1", blk(1, true, 3), &body(128), None),
            Block1Outcome::Incomplete
        );
        // M set with a short payload, a last block longer than the block size.
        assert_eq!(
            asm.offer(at(1), b"5/0/0", blk(1, true, 3), &body(100), None),
            Block1Outcome::Incomplete
        );
        assert_eq!(
            asm.offer(at(1), b"5/0/0", blk(1, false, 3), &body(129), None),
            Block1Outcome::Incomplete
        );
        // None of this disturbed the transfer.
        assert_eq!(
            asm.offer(at(1), b"5/0/0", blk(1, false, 3), &body(5), None),
            Block1Outcome::Complete([body(128), body(5)].concat())
        );
        // A key too long to keep is refused.
        assert_eq!(
            asm.offer(
                at(2),
                &[b'a'; PATH_KEY_LEN + 1],
                blk(0, true, 0),
                &body(16),
                None
            ),
            Block1Outcome::Incomplete
        );
    }

    /// NUM 0 on another path replaces the transfer; NUM 0 again restarts it.
    #[test]
    fn block0_restarts() {
        let mut asm = Block1Assembler::new(4096);
        asm.offer(at(0), b"5/0/0", blk(0, true, 0), &[1; 16], None);
        asm.offer(at(0), b"5/0/0", blk(1, true, 0), &[2; 16], None);
        asm.offer(at(0), b"3/0/13", blk(0, true, 0), &[3; 16], None);
        assert_eq!(
            asm.offer(at(0), b"5/0/0", blk(2, false, 0), &[4; 3], None),
            Block1Outcome::Incomplete
        );
        assert_eq!(
            asm.offer(at(0), b"3/0/13", blk(0, true, 1), &[5; 32], None),
            Block1Outcome::Continue(blk(0, true, 1))
        );
        assert_eq!(
            asm.offer(at(0), b"3/0/13", blk(1, false, 1), &[6; 2], None),
            Block1Outcome::Complete([&[5u8; 32][..], &[6; 2]].concat())
        );
        // A whole body in one block (NUM 0, M unset).
        assert_eq!(
            asm.offer(at(0), b"1/0/1", blk(0, false, 6), b"300", Some(3)),
            Block1Outcome::Complete(b"300".to_vec())
        );
    }

    /// The block stored last, sent again with the same payload, is answered
    /// again and not appended twice; with another payload it is 4.08.
    #[test]
    fn retransmitted_block_is_idempotent() {
        let b = body(16 * 3 + 7);
        let mut asm = Block1Assembler::new(4096);
        for _ in 0..3 {
            assert_eq!(
                asm.offer(at(0), b"5/0/0", blk(0, true, 0), &b[..16], None),
                Block1Outcome::Continue(blk(0, true, 0))
            );
        }
        for _ in 0..3 {
            assert_eq!(
                asm.offer(at(0), b"5/0/0", blk(1, true, 0), &b[16..32], None),
                Block1Outcome::Continue(blk(1, true, 0))
            );
        }
        // Block 1 again but with different bytes.
        assert_eq!(
            asm.offer(at(0), b"5/0/0", blk(1, true, 0), &[0xEE; 16], None),
            Block1Outcome::Incomplete
        );
        // Block 1 again claiming to be the last one.
        assert_eq!(
            asm.offer(at(0), b"5/0/0", blk(1, false, 0), &b[16..32], None),
            Block1Outcome::Incomplete
        );
        // Older than the last block: not a retransmission we answer.
        asm.offer(at(0), b"5/0/0", blk(2, true, 0), &b[32..48], None);
        assert_eq!(
            asm.offer(at(0), b"5/0/0", blk(1, true, 0), &b[16..32], None),
            Block1Outcome::Incomplete
        );
        assert_eq!(
            asm.offer(at(0), b"5/0/0", blk(3, false, 0), &b[48..], None),
            Block1Outcome::Complete(b)
        );
    }

    /// EXCHANGE_LIFETIME (208 s) after the last block the transfer is gone.
    #[test]
    fn idle_transfer_expires() {
        let mut asm = Block1Assembler::new(4096);
        asm.offer(at(1000), b"5/0/0", blk(0, true, 0), &[1; 16], None);
        assert_eq!(asm.poll_timeout(), Some(at(1000 + EXCHANGE_LIFETIME_MS)));
        // A retransmission refreshes the clock.
        asm.offer(at(5000), b"5/0/0", blk(0, true, 0), &[1; 16], None);
        asm.offer(at(9000), b"5/0/0", blk(1, true, 0), &[2; 16], None);
        asm.offer(at(10_000), b"5/0/0", blk(1, true, 0), &[2; 16], None);
        let deadline = at(10_000 + EXCHANGE_LIFETIME_MS);
        assert_eq!(asm.poll_timeout(), Some(deadline));
        asm.expire(at(deadline.millis() - 1));
        assert!(asm.is_active());
        asm.expire(deadline);
        assert!(!asm.is_active());
        assert_eq!(asm.poll_timeout(), None);

        // offer() expires first: a late block finds no transfer.
        asm.offer(at(0), b"5/0/0", blk(0, true, 0), &[1; 16], None);
        assert_eq!(
            asm.offer(
                at(EXCHANGE_LIFETIME_MS),
                b"5/0/0",
                blk(1, false, 0),
                &[2; 3],
                None
            ),
            Block1Outcome::Incomplete
        );
        assert!(!asm.is_active());
        asm.offer(at(0), b"5/0/0", blk(0, true, 0), &[1; 16], None);
        asm.abort();
        assert!(!asm.is_active());
    }

    #[test]
    fn capacity_never_passes_the_cap() {
        for cap in [16usize, 100, 1000, 5000] {
            let mut asm = Block1Assembler::new(cap);
            let mut num = 0;
            loop {
                let outcome = asm.offer(at(0), b"k", blk(num, true, 0), &[7; 16], None);
                if let Some(t) = &asm.transfer {
                    assert!(t.body.capacity() <= cap, "{} > {cap}", t.body.capacity());
                }
                if outcome != Block1Outcome::Continue(blk(num, true, 0)) {
                    assert_eq!(outcome, Block1Outcome::TooLarge { max: cap as u32 });
                    assert_eq!(num as usize, cap / 16);
                    break;
                }
                num += 1;
            }
        }
        // Size1 is reserved up front, never beyond the cap.
        let mut asm = Block1Assembler::new(5000);
        asm.offer(at(0), b"k", blk(0, true, 6), &[7; 1024], Some(4000));
        assert_eq!(asm.transfer.as_ref().unwrap().body.capacity(), 4000);
    }

    // --- Block2 reader ----------------------------------------------------

    /// RFC 7959 §3.1 Figure 2 from the client's side: 3 blocks of 128.
    #[test]
    fn reader_three_blocks() {
        let b = body(338);
        let mut reader = Block2Reader::new(3);
        let mut got = Vec::new();
        let mut progress = ReadProgress::More;
        while progress == ReadProgress::More {
            let ask = reader.next_request_block();
            assert!(!ask.more);
            let (sent, slice) = block2_slice(&b, Some(ask), 3).unwrap();
            assert_eq!(reader.offset(), got.len());
            progress = reader.accept(sent, slice).unwrap();
            got.extend_from_slice(slice);
        }
        assert_eq!(got, b);
        assert_eq!(reader.offset(), 338);
        assert_eq!(reader.next_request_block(), blk(3, false, 3));
        assert_eq!(
            reader.accept(blk(3, false, 3), &[]),
            Err(BlockError::Finished)
        );
    }

    /// We ask 1024-byte blocks, the server answers 128 (late negotiation from our side).
    #[test]
    fn reader_adopts_a_smaller_szx() {
        let b = body(400);
        let mut reader = Block2Reader::new(6);
        assert_eq!(reader.next_request_block(), blk(0, false, 6));
        let (sent, slice) = block2_slice(&b, Some(reader.next_request_block()), 3).unwrap();
        assert_eq!(sent, blk(0, true, 3));
        assert_eq!(reader.accept(sent, slice), Ok(ReadProgress::More));
        assert_eq!(reader.next_request_block(), blk(1, false, 3));
        // Later the server drops to 64: block 2 at 64 starts at byte 128, as asked.
        assert_eq!(
            reader.accept(blk(2, true, 2), &b[128..192]),
            Ok(ReadProgress::More)
        );
        assert_eq!(reader.next_request_block(), blk(3, false, 2));
        assert_eq!(reader.offset(), 192);
    }

    #[test]
    fn reader_refusals() {
        let mut reader = Block2Reader::new(2);
        // A larger SZX than asked for.
        assert_eq!(
            reader.accept(blk(0, true, 3), &[0; 128]),
            Err(BlockError::SizeIncreased)
        );
        // Another block than asked for.
        assert_eq!(
            reader.accept(blk(1, true, 2), &[0; 64]),
            Err(BlockError::OutOfSequence)
        );
        // Short with M set, too long without.
        assert_eq!(
            reader.accept(blk(0, true, 2), &[0; 63]),
            Err(BlockError::PayloadLength)
        );
        assert_eq!(
            reader.accept(blk(0, false, 2), &[0; 65]),
            Err(BlockError::PayloadLength)
        );
        // None of that moved the reader.
        assert_eq!(
            (reader.next_request_block(), reader.offset()),
            (blk(0, false, 2), 0)
        );
        assert_eq!(
            reader.accept(blk(0, true, 2), &[0; 64]),
            Ok(ReadProgress::More)
        );
        // A block already accepted, again.
        assert_eq!(
            reader.accept(blk(0, true, 2), &[0; 64]),
            Err(BlockError::OutOfSequence)
        );
        // The last NUM with M set cannot be followed.
        let mut end = Block2Reader::starting_at(Block::MAX_NUM as usize * 16, 0).unwrap();
        assert_eq!(
            end.accept(blk(Block::MAX_NUM, true, 0), &[0; 16]),
            Err(BlockError::TooManyBlocks)
        );
        assert_eq!(
            end.accept(blk(Block::MAX_NUM, false, 0), &[0; 1]),
            Ok(ReadProgress::Done)
        );
    }

    #[test]
    fn reader_resumes_and_checks_etags() {
        assert!(Block2Reader::starting_at(100, 3).is_none());
        assert!(Block2Reader::starting_at((Block::MAX_NUM as usize + 1) * 16, 0).is_none());
        let mut reader = Block2Reader::starting_at(1024, 9).unwrap();
        assert_eq!(reader.next_request_block(), blk(1, false, 6));
        assert_eq!(reader.offset(), 1024);

        assert_eq!(reader.check_etag(Some(&[1, 2, 3, 4])), Ok(()));
        assert_eq!(reader.check_etag(Some(&[1, 2, 3, 4])), Ok(()));
        assert_eq!(
            reader.check_etag(Some(&[1, 2, 3, 5])),
            Err(BlockError::EtagChanged)
        );
        assert_eq!(reader.check_etag(None), Err(BlockError::EtagChanged));
        assert_eq!(
            reader.check_etag(Some(&[0; 9])),
            Err(BlockError::EtagChanged)
        );
        let mut untagged = Block2Reader::new(0);
        assert_eq!(untagged.check_etag(None), Ok(()));
        assert_eq!(untagged.check_etag(None), Ok(()));
        assert_eq!(
            untagged.check_etag(Some(&[1])),
            Err(BlockError::EtagChanged)
        );
    }

    // --- Real messages ----------------------------------------------------

    /// A DM server's block-wise PUT to /5/0/0 and our answers, as datagrams:
    /// Block1 and Size1 written with `MessageWriter`, parsed back, assembled.
    #[test]
    fn block1_through_real_messages() {
        let package = body(16 * 5 + 9);
        let mut asm = Block1Assembler::new(1024);
        let chunks: Vec<&[u8]> = package.chunks(16).collect();
        for (num, chunk) in chunks.iter().enumerate() {
            let more = num + 1 < chunks.len();
            let mut w =
                MessageWriter::new(MsgType::Con, Code::PUT, 0x100 + num as u16, &[num as u8])
                    .unwrap();
            w.path_option(option::URI_PATH, "/5/0/0").unwrap();
            w.block_option(option::BLOCK1, blk(num as u32, more, 0))
                .unwrap();
            if num == 0 {
                w.uint_option(option::SIZE1, package.len() as u32).unwrap();
            }
            w.payload(chunk).unwrap();
            let datagram = w.finish();

            let request = Message::parse(&datagram).unwrap();
            let key = path_key(&request).unwrap();
            assert_eq!(key.as_slice(), b"5/0/0");
            let block = request.block1().unwrap();
            let size1 = request.uint_option(option::SIZE1);
            let outcome = asm.offer(at(num as u64), &key, block, request.payload, size1);

            let (code, echoed) = match outcome {
                Block1Outcome::Continue(b) => (Code::CONTINUE, b),
                Block1Outcome::Complete(whole) => {
                    assert_eq!(whole, package);
                    (Code::CHANGED, block)
                }
                other => panic!("{other:?}"),
            };
            let mut w = MessageWriter::new(MsgType::Ack, code, request.mid, request.token).unwrap();
            w.block_option(option::BLOCK1, echoed).unwrap();
            let answer = w.finish();
            let parsed = Message::parse(&answer).unwrap();
            assert_eq!(
                parsed.code,
                if more { Code::CONTINUE } else { Code::CHANGED }
            );
            assert_eq!(parsed.block1(), Some(blk(num as u32, more, 0)));
        }
        assert!(!asm.is_active());

        // 4.13 with Size1 as a datagram.
        let mut small = Block1Assembler::new(64);
        let Block1Outcome::TooLarge { max } = small.offer(
            at(0),
            b"5/0/0",
            blk(0, true, 0),
            &package[..16],
            Some(package.len() as u32),
        ) else {
            panic!()
        };
        let mut w =
            MessageWriter::new(MsgType::Ack, Code::REQUEST_ENTITY_TOO_LARGE, 1, &[]).unwrap();
        w.uint_option(option::SIZE1, max).unwrap();
        assert_eq!(
            Message::parse(&w.finish())
                .unwrap()
                .uint_option(option::SIZE1),
            Some(64)
        );
    }

    /// A block-wise GET both ways as datagrams: our reader asks, the responder
    /// answers with Block2 and ETag, the reader checks and takes each block.
    #[test]
    fn block2_through_real_messages() {
        let resource = body(700);
        let tag = etag(&resource);
        let mut reader = Block2Reader::new(2);
        let mut got = Vec::new();
        for mid in 0u16.. {
            let mut w = MessageWriter::new(MsgType::Con, Code::GET, mid, &[9]).unwrap();
            w.path_option(option::URI_PATH, "/19/0/0").unwrap();
            w.block_option(option::BLOCK2, reader.next_request_block())
                .unwrap();
            let request_bytes = w.finish();

            let request = Message::parse(&request_bytes).unwrap();
            let (sent, slice) = block2_slice(&resource, request.block2(), 6).unwrap();
            let mut w = MessageWriter::new(MsgType::Ack, Code::CONTENT, request.mid, request.token)
                .unwrap();
            w.option(option::ETAG, &tag).unwrap();
            w.block_option(option::BLOCK2, sent).unwrap();
            w.payload(slice).unwrap();
            let response_bytes = w.finish();

            let response = Message::parse(&response_bytes).unwrap();
            reader.check_etag(response.option(option::ETAG)).unwrap();
            let progress = reader
                .accept(response.block2().unwrap(), response.payload)
                .unwrap();
            got.extend_from_slice(response.payload);
            if progress == ReadProgress::Done {
                assert_eq!(mid, 10); // 11 blocks of 64
                break;
            }
        }
        assert_eq!(got, resource);
    }

    // --- No panic on anything a peer sends --------------------------------

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Random sequences of offers (mostly plausible, often wrong): no panic,
    /// never a body or buffer over the cap, a completed body never over the cap.
    #[test]
    fn random_offers_never_panic() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let long_key = [b'z'; PATH_KEY_LEN + 3];
        let keys: [&[u8]; 4] = [b"5/0/0", b"3/0/13", b"", &long_key];
        let payload_pool = body(1100);
        for round in 0..300 {
            let cap = rng.below(3000) as usize;
            let mut asm = Block1Assembler::new(cap);
            let mut now = 0u64;
            let mut num = 0u32;
            for _ in 0..200 {
                now += rng.below(60_000);
                let key = keys[rng.below(if round % 2 == 0 { 1 } else { 4 }) as usize];
                let szx = rng.below(8) as u8; // 7 is invalid on the wire; must not panic here
                num = match rng.below(6) {
                    0 => 0,
                    1 => rng.below(Block::MAX_NUM as u64 + 1) as u32,
                    2 if rng.below(8) == 0 => u32::MAX, // not on the wire, but callers may
                    2 => num.saturating_sub(1),
                    3 => num,
                    _ => num.saturating_add(1).min(Block::MAX_NUM),
                };
                let more = rng.below(4) != 0;
                let len = match rng.below(3) {
                    0 => rng.below(1101) as usize,
                    _ => (16usize << szx.min(6)).min(1100),
                };
                let size1 = match rng.below(4) {
                    0 => Some(rng.next() as u32),
                    1 => Some(rng.below(4000) as u32),
                    _ => None,
                };
                let block = Block { num, more, szx };
                match asm.offer(at(now), key, block, &payload_pool[..len], size1) {
                    Block1Outcome::Complete(b) => assert!(b.len() <= cap),
                    Block1Outcome::TooLarge { max } => assert_eq!(max as usize, cap),
                    Block1Outcome::Continue(b) => assert_eq!(b, block),
                    Block1Outcome::Incomplete => {}
                }
                if let Some(t) = &asm.transfer {
                    assert!(t.body.capacity() <= cap && t.body.len() <= cap);
                    assert_eq!(
                        t.body.len(),
                        Block {
                            num: t.next_num,
                            more: false,
                            szx: t.szx
                        }
                        .offset()
                    );
                }
                if rng.below(50) == 0 {
                    asm.expire(at(now));
                }
            }
        }
    }

    /// Random well-formed transfers with duplicated blocks: always the body back.
    #[test]
    fn random_transfers_with_duplicates_complete() {
        let mut rng = XorShift(0x0123_4567_89AB_CDEF);
        for _ in 0..200 {
            let total = rng.below(3000) as usize;
            let original: Vec<u8> = (0..total).map(|_| rng.next() as u8).collect();
            let szx = rng.below(7) as u8;
            let size = 16usize << szx;
            let mut asm = Block1Assembler::new(3000);
            let count = total.div_ceil(size).max(1);
            let mut result = None;
            for num in 0..count {
                let chunk = &original[num * size..((num + 1) * size).min(total)];
                let block = blk(num as u32, num + 1 < count, szx);
                let copies = 1 + rng.below(3);
                for _ in 0..copies {
                    let outcome = asm.offer(at(num as u64), b"5/0/0", block, chunk, None);
                    match outcome {
                        Block1Outcome::Continue(b) => assert_eq!(b, block),
                        Block1Outcome::Complete(b) => {
                            result = Some(b);
                            break;
                        }
                        other => panic!("{other:?}"),
                    }
                }
            }
            assert_eq!(result.as_deref(), Some(&original[..]));
        }
    }

    /// Random responses to a reader and random Block2 requests to the
    /// responder: errors, never a panic.
    #[test]
    fn random_blocks_never_panic() {
        let mut rng = XorShift(0xDEAD_BEEF_CAFE_F00D);
        let pool = body(1100);
        for _ in 0..200 {
            let mut reader = Block2Reader::new(rng.below(8) as u8);
            let b = &pool[..rng.below(1100) as usize];
            for _ in 0..100 {
                let block = Block {
                    num: match rng.below(20) {
                        0 => u32::MAX,
                        _ => (rng.below(Block::MAX_NUM as u64 + 1) >> rng.below(21)) as u32,
                    },
                    more: rng.below(2) == 0,
                    szx: rng.below(8) as u8,
                };
                let _ = block2_slice(b, Some(block), rng.below(9) as u8);
                let len = rng.below(1101) as usize;
                let before = reader.offset();
                if reader.accept(block, &pool[..len]).is_ok() {
                    assert_eq!(reader.offset(), before + len);
                }
                let tag = &pool[..rng.below(10) as usize];
                let _ = reader.check_etag(Some(tag).filter(|_| rng.below(2) == 0));
            }
        }
    }

    #[test]
    fn path_keys() {
        let mut w = MessageWriter::new(MsgType::Con, Code::PUT, 1, &[]).unwrap();
        w.option(option::URI_PATH, b"50")
            .unwrap()
            .option(option::URI_PATH, b"0")
            .unwrap();
        let a = w.finish();
        let mut w = MessageWriter::new(MsgType::Con, Code::PUT, 1, &[]).unwrap();
        w.option(option::URI_PATH, b"5")
            .unwrap()
            .option(option::URI_PATH, b"00")
            .unwrap();
        let b = w.finish();
        let ka = path_key(&Message::parse(&a).unwrap()).unwrap();
        let kb = path_key(&Message::parse(&b).unwrap()).unwrap();
        assert_eq!((ka.as_slice(), kb.as_slice()), (&b"50/0"[..], &b"5/00"[..]));
        // No Uri-Path: the empty key (the root).
        let root = MessageWriter::new(MsgType::Con, Code::PUT, 1, &[])
            .unwrap()
            .finish();
        assert_eq!(path_key(&Message::parse(&root).unwrap()).unwrap().len(), 0);
        // Too long to keep.
        let mut w = MessageWriter::new(MsgType::Con, Code::PUT, 1, &[]).unwrap();
        w.option(option::URI_PATH, &[b'a'; PATH_KEY_LEN + 1])
            .unwrap();
        assert_eq!(path_key(&Message::parse(&w.finish()).unwrap()), None);
    }
}
