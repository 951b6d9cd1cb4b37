#!/usr/bin/env bash
# Installs Debian's Rust toolchain for the WebAssembly build (rustc 1.96 with the standard
# library's source, cargo, wasm-ld) unless it is already there. Needs root (apt-get).
set -euo pipefail

packages=(rustc-web cargo-web rust-web-src lld-14)
if [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && command -v wasm-ld-14 >/dev/null && [ -d /usr/lib/rustlib/src/rust/library ]; then
  exit 0
fi
echo "install-rust-wasm: installing ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q "${packages[@]}" >/dev/null; then
  apt-get update -q >/dev/null
  apt-get install -y -q "${packages[@]}" >/dev/null
fi
