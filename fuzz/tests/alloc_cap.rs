//! The fuzz crate's allocator aborts on an allocation over its cap
//! (`src/alloc_cap.rs`): the test runs itself again as a child that
//! allocates 2 MiB, and expects SIGABRT.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use lwm2m_carrier_fuzz::alloc_cap::MAX_ALLOCATION;

const CHILD: &str = "LWM2M_FUZZ_ALLOC_CAP_CHILD";

#[test]
fn an_allocation_over_the_cap_aborts() {
    if std::env::var_os(CHILD).is_some() {
        let v: Vec<u8> = Vec::with_capacity(2 * MAX_ALLOCATION);
        std::hint::black_box(&v);
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "an_allocation_over_the_cap_aborts", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(6), "child: {:?}", out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("over MAX_ALLOCATION"));
}

#[test]
fn an_allocation_at_the_cap_is_served() {
    let v: Vec<u8> = Vec::with_capacity(MAX_ALLOCATION);
    assert!(v.capacity() >= MAX_ALLOCATION);
}
