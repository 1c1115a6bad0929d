#!/usr/bin/env bash
# Bounded fuzzing smoke run (fuzz/README.md).
#
# 1. Always, on stable Rust: the fuzz crate's test, which replays the
#    committed seed corpora and regression inputs of every target and a
#    fixed number of pseudo-random mutations of them (fixed seed).
# 2. If `cargo +nightly` and `cargo fuzz` are installed: each target under
#    libFuzzer for a bounded number of executions, one worker, starting from
#    the committed corpus (new inputs go to fuzz/runs/, never to corpus/).
#
# FUZZ_RUNS (default 20000) and FUZZ_SECONDS (default 20) bound each target;
# FUZZ_SMOKE_ITERS the stable test's generated inputs per target.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== fuzz targets on stable (corpora, regressions, mutations)"
cargo test --manifest-path fuzz/Cargo.toml

if ! cargo +nightly --version >/dev/null 2>&1 || ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "== cargo +nightly fuzz not available: libFuzzer runs skipped"
    exit 0
fi

runs=${FUZZ_RUNS:-20000}
secs=${FUZZ_SECONDS:-20}
cd fuzz
for t in $(cargo +nightly fuzz list); do
    echo "== libFuzzer: $t (-runs=$runs, -max_total_time=$secs)"
    mkdir -p "runs/$t"
    cargo +nightly fuzz run --features libfuzzer --debug-assertions "$t" "runs/$t" "corpus/$t" -- \
        -runs="$runs" -max_total_time="$secs" -malloc_limit_mb=16 -print_final_stats=1 2>&1 | awk '/DONE|^Done|panicked|ERROR|stat::number_of_executed_units/'
done
