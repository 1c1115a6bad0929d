#!/usr/bin/env bash
# Run every test of lwm2m_carrier: Rust unit and scenario tests (engine with a
# simulated clock, codecs, header checks), the nRF9160 cross build and its
# footprint report, the host port's tests, the Kconfig lint, and the interop
# suite against real Eclipse Leshan servers over DTLS-PSK on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== Rust tests (library, host port, headers, archive symbols)"
cargo test --workspace

echo "== No panicking index, unwrap or expect in the library (deny in src/lib.rs)"
cargo clippy --lib

echo "== Fuzz targets: corpora, regressions, bounded mutations (libFuzzer runs if cargo-fuzz is installed)"
scripts/fuzz-smoke.sh

echo "== nRF9160 cross build (thumbv8m.main-none-eabihf) and footprint"
cargo build --release --target thumbv8m.main-none-eabihf -p lwm2m_carrier
python3 scripts/footprint.py   # rebuilds as a lone staticlib, with LTO, as the Zephyr module does

echo "== Host sample"
scripts/build-host-sample.sh

echo "== Kconfig lint and Leshan interop tests"
.venv/bin/python -m pytest -v -rs tests/kconfig tests/interop
