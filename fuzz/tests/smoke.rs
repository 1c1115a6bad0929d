//! The fuzz targets on stable Rust, bounded: every target replays its
//! committed corpus (`corpus/<target>/`) and regression inputs
//! (`regressions/<target>/`), then a fixed number of pseudo-random inputs
//! (fixed seed, so a failure reproduces) made by mutating those files.
//!
//! `FUZZ_SMOKE_ITERS=<n>` changes the number of generated inputs per
//! target (default 2000); a failing input is written to
//! `target/smoke-failure-<target>` before the panic is re-raised.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

use lwm2m_carrier_fuzz::{seeds, Target, TARGETS};

fn dir(kind: &str, target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(kind).join(target)
}

fn files(kind: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let Ok(rd) = fs::read_dir(dir(kind, target)) else { return Vec::new() };
    let mut v: Vec<(String, Vec<u8>)> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), fs::read(e.path()).unwrap()))
        .collect();
    v.sort();
    v
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A mutation of one of `pool` in the manner of libFuzzer's simple mutators.
fn mutate(rng: &mut Rng, pool: &[Vec<u8>]) -> Vec<u8> {
    let mut v = if pool.is_empty() || rng.below(8) == 0 {
        (0..rng.below(64)).map(|_| rng.next() as u8).collect()
    } else {
        pool[rng.below(pool.len())].clone()
    };
    for _ in 0..1 + rng.below(4) {
        let n = v.len();
        match rng.below(7) {
            0 if n > 0 => {
                let i = rng.below(n);
                v[i] ^= 1 << rng.below(8);
            }
            1 if n > 0 => {
                let i = rng.below(n);
                v[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(n + 1);
                let k = 1 + rng.below(8);
                for _ in 0..k {
                    v.insert(i, rng.next() as u8);
                }
            }
            3 if n > 0 => {
                let i = rng.below(n);
                let k = 1 + rng.below((n - i).min(16));
                v.drain(i..i + k);
            }
            4 if !pool.is_empty() => {
                let other = &pool[rng.below(pool.len())];
                let cut = rng.below(v.len() + 1);
                let from = rng.below(other.len() + 1);
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            5 if n > 0 => {
                let i = rng.below(n);
                v[i] = [0, 1, 0x7f, 0x80, 0xff, b'0', b'/', b'"'][rng.below(8)];
            }
            _ => v.truncate(rng.below(n + 1)),
        }
    }
    v
}

fn run_one(t: &Target, what: &str, data: &[u8]) {
    let r = panic::catch_unwind(|| (t.check)(data));
    if let Err(e) = r {
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join(format!("smoke-failure-{}", t.name));
        let _ = fs::create_dir_all(out.parent().unwrap());
        let _ = fs::write(&out, data);
        eprintln!("target {} failed on {what} ({}), input written to {}", t.name, hex(data), out.display());
        panic::resume_unwind(e);
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn iterations() -> usize {
    std::env::var("FUZZ_SMOKE_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
}

fn smoke(name: &str) {
    let t = lwm2m_carrier_fuzz::target(name).expect("target");
    let corpus = files("corpus", name);
    assert!(!corpus.is_empty(), "no seed corpus in {}", dir("corpus", name).display());
    let regressions = files("regressions", name);
    for (f, d) in corpus.iter().chain(&regressions) {
        run_one(t, f, d);
    }
    let pool: Vec<Vec<u8>> = corpus.iter().chain(&regressions).map(|(_, d)| d.clone()).collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64 * 0x1_0000_0001);
    for n in 0..iterations() {
        let d = mutate(&mut rng, &pool);
        run_one(t, &format!("generated input {n}"), &d);
    }
}

macro_rules! smoke_tests {
    ($($name:ident),*) => {
        $(#[test] fn $name() { smoke(stringify!($name)); })*
        #[test]
        fn every_target_has_a_smoke_test() {
            let named = [$(stringify!($name)),*];
            for t in TARGETS {
                assert!(named.contains(&t.name), "{} has no smoke test", t.name);
                assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz_targets").join(format!("{}.rs", t.name)).is_file());
            }
        }
    };
}

smoke_tests!(coap_msg, tlv, text, json, wattr, path, at, bootstrap, dm, engine_registered, engine_bootstrap);

/// The committed seed files are what `seeds::all()` writes.
#[test]
fn seed_corpora_are_current() {
    for (target, list) in seeds::all() {
        for (name, bytes) in list {
            let f = dir("corpus", target).join(format!("seed-{name}"));
            let on_disk = fs::read(&f).unwrap_or_else(|_| panic!("{} missing: run `cargo test --manifest-path fuzz/Cargo.toml -- --ignored write_seed_corpora`", f.display()));
            assert_eq!(on_disk, bytes, "{} is stale: rerun write_seed_corpora", f.display());
        }
    }
}

/// The engine seeds reach what they are meant to.
#[test]
fn engine_seeds_reach_their_states() {
    use lwm2m_carrier::engine::Event;
    use lwm2m_carrier_fuzz::engine::{bootstrap_and_register, Harness};
    use lwm2m_carrier_fuzz::input::Input;
    for (target, list) in seeds::all() {
        for (name, bytes) in list {
            let mut i = Input::new(&bytes);
            let p = i.byte();
            let h = match target {
                "engine_registered" => {
                    let mut h = Harness::new(0x1234_5678 ^ p as u32);
                    bootstrap_and_register(&mut h, p & 1 != 0, [60, 86_400, 30, 7200][(p as usize >> 1) & 3]);
                    if p & 8 != 0 {
                        h.reboot(0);
                    }
                    h.run(&mut i, 1);
                    h
                }
                "engine_bootstrap" => {
                    let mut h = Harness::new(0x9E37_79B9 ^ p as u32);
                    if p & 1 != 0 {
                        h.answer_last(0, 1, &[]);
                    }
                    h.run(&mut i, 0);
                    h
                }
                _ => continue,
            };
            assert!(h.answered > 0 || name == "silent-server" || name == "update", "{target}/{name}: no request answered");
            if target == "engine_bootstrap" && name != "silent-server" {
                assert!(h.events.contains(&Event::Bootstrapped), "{target}/{name}: not bootstrapped: {:?}", h.events);
                assert!(h.events.contains(&Event::Registered), "{target}/{name}: not registered: {:?}", h.events);
            }
            if name == "silent-server" {
                assert!(h.events.iter().any(|e| matches!(e, Event::Deferred { .. })), "silent server: no DEFERRED");
            }
        }
    }
}

/// Regenerates `corpus/<target>/seed-*` from `seeds::all()`.
#[test]
#[ignore]
fn write_seed_corpora() {
    for (target, list) in seeds::all() {
        let d = dir("corpus", target);
        fs::create_dir_all(&d).unwrap();
        for (name, bytes) in list {
            fs::write(d.join(format!("seed-{name}")), bytes).unwrap();
        }
    }
}
