#!/usr/bin/env bash
# Build the LwM2M carrier sample for Linux: the unchanged sample main.c (its
# main() renamed to lwm2m_app_main), the host glue (port/c: the real main(),
# the carrier thread, the weak event handler) and liblwm2m_carrier_host.a
# (the library + the host port of lwm2m_os.h), linked with OpenSSL.
#
# Environment: CC (default cc), CARGO_TARGET_DIR (default target),
# SAMPLE_MAIN (default samples/lwm2m_carrier/src/main.c).
# Prints the path of the binary. See port/README.md for how to run it.
set -euo pipefail
cd "$(dirname "$0")/.."

cc=${CC:-cc}
target_dir=${CARGO_TARGET_DIR:-target}
sample_main=${SAMPLE_MAIN:-samples/lwm2m_carrier/src/main.c}
out=build/host
cflags=(-O2 -Wall -Werror -Iinclude)

cargo build --release -p lwm2m_carrier_host

mkdir -p "$out"
"$cc" "${cflags[@]}" -Dmain=lwm2m_app_main -c "$sample_main" -o "$out/main.o"
"$cc" "${cflags[@]}" -c port/c/lwm2m_carrier_host_main.c -o "$out/lwm2m_carrier_host_main.o"
"$cc" "${cflags[@]}" -c glue/lwm2m_carrier_defaults.c -o "$out/lwm2m_carrier_defaults.o"
"$cc" -o "$out/lwm2m_carrier_sample" "$out/main.o" "$out/lwm2m_carrier_host_main.o" "$out/lwm2m_carrier_defaults.o" \
    "$target_dir/release/liblwm2m_carrier_host.a" -lssl -lcrypto -lpthread -ldl -lm

echo "$(pwd)/$out/lwm2m_carrier_sample"
