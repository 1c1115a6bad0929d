#!/usr/bin/env bash
# Run every test of lwm2m_carrier: Rust unit and scenario tests (engine with a
# simulated clock, codecs, header checks), the nRF9160 cross build and its
# footprint report, the host port's tests, the Kconfig lint, and the interop
# suite against real Eclipse Leshan servers over DTLS-PSK on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

# Some CI sandboxes give /dev/null as a regular file: what one tool writes
# there is read back by the next. cc-rs (building libFuzzer) writes a compiler
# error to it, and cargo's `rustc -` target probe then reads that error as its
# program and fails ("failed to run `rustc` to learn about target-specific
# information"). Empty it before each step so no step reads another's output.
step() {
    echo "== $1"
    if [ ! -c /dev/null ]; then
        echo "test.sh: /dev/null is a $(stat -c %F /dev/null), not a device: emptied before this step" >&2
        : >/dev/null || true
    fi
}

step "Setup"
scripts/setup.sh

step "Rust tests (library, host port, headers, archive symbols)"
cargo test --workspace

step "No panicking index, unwrap or expect in the library (deny in src/lib.rs), host and device code"
cargo clippy --lib
cargo clippy --lib --target thumbv8m.main-none-eabihf   # the allocator and panic handler are device-only

step "Fuzz targets: corpora, regressions, bounded mutations (libFuzzer runs if cargo-fuzz is installed)"
scripts/fuzz-smoke.sh

step "nRF9160 cross build (thumbv8m.main-none-eabihf) and footprint"
cargo build --release --target thumbv8m.main-none-eabihf -p lwm2m_carrier
python3 scripts/footprint.py   # rebuilds as a lone staticlib, with LTO, as the Zephyr module does

step "Host sample"
scripts/build-host-sample.sh

step "Kconfig lint and Leshan interop tests"
.venv/bin/python -m pytest -v -rs tests/kconfig tests/interop
