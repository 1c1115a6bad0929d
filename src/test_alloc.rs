//! A counting allocator for this crate's unit-test binary: how much heap a
//! piece of library code needs at its peak, per test thread, and an
//! allocation cap that turns "allocates more than X" into a test failure.
//!
//! Counters are thread-local (tests run in parallel) and const-initialized,
//! so reading them never allocates. Only code run inside [`counted`] is
//! counted: the engine's harness (`engine::sim`) runs the engine inside it
//! and its own bookkeeping outside, and copies what it keeps of the
//! engine's outputs before dropping them inside — as the driver on the
//! device frees each output once executed. So the figure is the library's
//! heap, not the test's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static CURRENT: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static BLOCKS: Cell<usize> = const { Cell::new(0) };
    static PEAK_BLOCKS: Cell<usize> = const { Cell::new(0) };
}

fn counting() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

fn add(n: usize, blocks: usize) {
    if !counting() {
        return;
    }
    let _ = BLOCKS.try_with(|b| b.set(b.get() + blocks));
    let _ = CURRENT.try_with(|c| {
        let v = c.get() + n;
        c.set(v);
        let _ = PEAK.try_with(|p| {
            if v > p.get() {
                p.set(v);
                let _ = PEAK_BLOCKS.try_with(|pb| pb.set(BLOCKS.with(Cell::get)));
            }
        });
    });
}

fn sub(n: usize, blocks: usize) {
    if !counting() {
        return;
    }
    let _ = BLOCKS.try_with(|b| b.set(b.get().saturating_sub(blocks)));
    let _ = CURRENT.try_with(|c| c.set(c.get().saturating_sub(n)));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() {
            add(l.size(), 1);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        sub(l.size(), 1);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            sub(l.size(), 0);
            add(new, 0);
        }
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Heap this thread holds now (bytes requested, allocator overhead not counted).
pub fn current() -> usize {
    CURRENT.with(Cell::get)
}

/// Run `f`; return its result and the most heap it held at once beyond what
/// was held when it started.
pub fn peak_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = current();
    PEAK.with(|p| p.set(base));
    let r = f();
    (r, PEAK.with(Cell::get) - base)
}

/// Run `f` with its allocations counted (see the module doc).
pub fn counted<R>(f: impl FnOnce() -> R) -> R {
    let was = COUNTING.with(|c| c.replace(true));
    let r = f();
    COUNTING.with(|c| c.set(was));
    r
}

/// Run `f` with its allocations not counted: the harness's own records
/// made while the library runs. What `f` allocates must also be freed
/// outside the count.
pub fn uncounted<R>(f: impl FnOnce() -> R) -> R {
    let was = COUNTING.with(|c| c.replace(false));
    let r = f();
    COUNTING.with(|c| c.set(was));
    r
}

/// The most heap held at once since the last [`peak_of`] began.
pub fn peak() -> usize {
    PEAK.with(Cell::get)
}

/// Live allocations (blocks) when the peak of [`peak`] was reached: each
/// costs the device's allocator its per-block overhead on top.
pub fn peak_blocks() -> usize {
    PEAK_BLOCKS.with(Cell::get)
}
