//! Run one input: `FUZZ_TARGET=<target> FUZZ_INPUT=<file> cargo test
//! --manifest-path fuzz/Cargo.toml --test replay -- --nocapture`
//! (add `FUZZ_LOG=1` for the library's log and the engine harness's trace).

#[test]
fn replay() {
    let (Ok(t), Ok(f)) = (std::env::var("FUZZ_TARGET"), std::env::var("FUZZ_INPUT")) else { return };
    let data = std::fs::read(&f).expect("FUZZ_INPUT");
    (lwm2m_carrier_fuzz::target(&t).expect("FUZZ_TARGET").check)(&data);
}
