#!/usr/bin/env bash
# Install what a fresh Debian (bookworm) machine lacks to build and test
# lwm2m_carrier: the Arm cross toolchain, OpenSSL headers (host DTLS), the
# Rust targets of the nRF9160, Java + Maven (Leshan), Python test packages in
# .venv, and the pinned Leshan jar. Safe to run again: it skips what is there.
# With --reports, also what the figure scripts need: scripts/heap.py's 32-bit
# Arm target run under qemu (armv7-unknown-linux-gnueabihf, its cross linker
# and qemu-user) and scripts/stack.py's nightly with the nRF9160 target.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

reports=0
[ "${1:-}" = "--reports" ] && reports=1

apt_pkgs=(gcc-arm-none-eabi binutils-arm-none-eabi libnewlib-arm-none-eabi libssl-dev pkg-config
          python3-venv gcc make)
[ $reports -eq 1 ] && apt_pkgs+=(qemu-user gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)
command -v javac >/dev/null 2>&1 || apt_pkgs+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || apt_pkgs+=(maven)
missing=()
for p in "${apt_pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: Rust is missing: install rustup (https://rustup.rs) first" >&2
    exit 1
fi
rustup target list --installed | grep -q '^thumbv8m.main-none-eabihf$' \
    || rustup target add thumbv8m.main-none-eabihf thumbv8m.main-none-eabi
if [ $reports -eq 1 ]; then
    rustup target list --installed | grep -q '^armv7-unknown-linux-gnueabihf$' || rustup target add armv7-unknown-linux-gnueabihf
    rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
    rustup +nightly target list --installed | grep -q '^thumbv8m.main-none-eabihf$' \
        || rustup +nightly target add thumbv8m.main-none-eabihf
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt

scripts/leshan.sh fetch
echo "setup: done"
