//! The allocation cap of every target, with or without a sanitizer.
//!
//! libFuzzer's `-malloc_limit_mb` only sees allocations through a
//! sanitizer's malloc hooks; the long runs without AddressSanitizer
//! (`cargo fuzz run -s none`, fuzz/README.md) would lose it. This global
//! allocator aborts the process (a crash to libFuzzer, a failure to the
//! stable test) when one allocation asks for more than [`MAX_ALLOCATION`]:
//! the library's limits (`src/limits.rs`) keep every buffer to a few KB, so
//! a request for a megabyte is a size taken from the peer without a bound.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;

/// The largest single allocation any target may make.
pub const MAX_ALLOCATION: usize = 1 << 20;

pub struct CappedAlloc;

impl CappedAlloc {
    fn check(size: usize) {
        // A panic's backtrace (symbolising with debug info) may take more:
        // the panic is the report then, not the allocation.
        if size > MAX_ALLOCATION && !std::thread::panicking() {
            // No allocation from here on: the message is static.
            let _ = std::io::stderr().write_all(b"fuzz: an allocation over MAX_ALLOCATION (1 MiB): unbounded size from the input\n");
            std::process::abort();
        }
    }
}

// SAFETY: every call is passed to `System` unchanged after the size check.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::check(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::check(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::check(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;
