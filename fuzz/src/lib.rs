//! Fuzz targets of `lwm2m_carrier`: the checks themselves.
//!
//! Every target is a function `fn(&[u8])` in [`TARGETS`]. The libFuzzer
//! entry points in `fuzz_targets/` (nightly, `cargo fuzz run --features
//! libfuzzer <target>`) only call these functions, and so does the stable
//! test `tests/smoke.rs` that replays the committed corpora and a bounded
//! number of pseudo-random and mutated inputs. A check fails by panicking,
//! which libFuzzer reports as a crash and the test as a failure.
//!
//! The checks go beyond "no panic": outputs stay within `limits.rs`, what
//! a decoder accepts re-encodes and decodes to the same value, the engine
//! answers every confirmable request exactly once, and every record the
//! engine saves reloads. Structured inputs (the object and engine targets)
//! are read from the fuzzer's bytes with `arbitrary::Unstructured` through
//! [`input::Input`], a small documented byte format that
//! [`input::SeedWriter`] writes, so that the seed corpora are real-shaped.

pub mod alloc_cap;
pub mod codecs;
pub mod engine;
pub mod input;
pub mod objects;
pub mod oracles;
pub mod os_stubs;
pub mod seeds;

/// A fuzz target: its name (as in `fuzz_targets/<name>.rs` and
/// `corpus/<name>/`) and its check.
pub struct Target {
    pub name: &'static str,
    pub check: fn(&[u8]),
}

/// Every target, in the order the smoke test runs them.
pub const TARGETS: &[Target] = &[
    Target { name: "coap_msg", check: codecs::coap_msg },
    Target { name: "tlv", check: codecs::tlv },
    Target { name: "text", check: codecs::text },
    Target { name: "json", check: codecs::json },
    Target { name: "wattr", check: codecs::wattr },
    Target { name: "path", check: codecs::path },
    Target { name: "at", check: codecs::at },
    Target { name: "bootstrap", check: objects::bootstrap },
    Target { name: "dm", check: objects::dm },
    Target { name: "engine_registered", check: engine::registered },
    Target { name: "engine_bootstrap", check: engine::bootstrapping },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
