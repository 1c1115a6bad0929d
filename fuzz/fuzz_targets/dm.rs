#![no_main]
// The check lives in the library (lwm2m_carrier_fuzz::objects::dm) so that the
// stable smoke test (tests/smoke.rs) runs the same code without libFuzzer.
libfuzzer_sys::fuzz_target!(|data: &[u8]| lwm2m_carrier_fuzz::objects::dm(data));
