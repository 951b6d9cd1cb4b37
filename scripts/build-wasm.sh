#!/usr/bin/env bash
# Builds crates/causeway-core to WebAssembly and installs it as packages/core/wasm/causeway_core.wasm.
#
#   scripts/build-wasm.sh            build and install the artifact
#   scripts/build-wasm.sh --check    build, and fail if the committed artifact differs from the build
#
# Needs Debian's rustc-web toolchain (rustc 1.96 with the standard library's source) and wasm-ld:
#   apt-get install -y rustc-web cargo-web rust-web-src lld-14
# The wasm32 standard library is built from source (-Zbuild-std) because no prebuilt one can be
# downloaded here; RUSTC_BOOTSTRAP=1 allows that unstable flag on a stable compiler.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
crate="$root/crates/causeway-core"
artifact="$root/packages/core/wasm/causeway_core.wasm"
toolchain_note="$root/packages/core/wasm/TOOLCHAIN"
vendor=/usr/lib/rustlib/src/rust/library/vendor

check=false
[ "${1:-}" = "--check" ] && check=true

for tool in /usr/bin/rustc /usr/bin/cargo wasm-ld-14; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build-wasm: $tool is missing; install it with: apt-get install -y rustc-web cargo-web rust-web-src lld-14" >&2
    exit 1
  fi
done
if [ ! -d "$vendor" ]; then
  echo "build-wasm: $vendor is missing; install it with: apt-get install -y rust-web-src" >&2
  exit 1
fi

# A target directory of its own, so that native `cargo test` builds and this one never mix.
target="${CAUSEWAY_WASM_TARGET_DIR:-$crate/target/wasm-build}"

# The source replacement is given here rather than in .cargo/config.toml so that native builds
# with any toolchain do not depend on Debian's vendor directory. --remap-path-prefix keeps the
# checkout's location out of the artifact, so every clone builds the same bytes.
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-14 \
RUSTFLAGS="--remap-path-prefix=$crate=causeway-core --remap-path-prefix=$HOME=~" \
/usr/bin/cargo build --offline --release --quiet \
  --manifest-path "$crate/Cargo.toml" \
  --target wasm32-unknown-unknown \
  --target-dir "$target" \
  --config 'source.crates-io.replace-with="rust-std-vendor"' \
  --config "source.rust-std-vendor.directory=\"$vendor\"" \
  -Zbuild-std=std,panic_abort

built="$target/wasm32-unknown-unknown/release/causeway_core.wasm"
version="$(/usr/bin/rustc --version)"

if $check; then
  committed_version="$(cat "$toolchain_note" 2>/dev/null || echo unknown)"
  if [ "$committed_version" != "$version" ]; then
    echo "build-wasm: the committed artifact was built with '$committed_version', this machine has '$version';" >&2
    echo "build-wasm: byte comparison is only meaningful with the same toolchain, so tests will use the fresh build." >&2
    cp "$built" "$artifact"
    exit 0
  fi
  if ! cmp -s "$built" "$artifact"; then
    echo "build-wasm: packages/core/wasm/causeway_core.wasm does not match crates/causeway-core." >&2
    echo "build-wasm: run scripts/build-wasm.sh and commit the artifact with the source change." >&2
    exit 1
  fi
  echo "build-wasm: committed artifact matches the source ($(wc -c <"$built") bytes, $version)"
  exit 0
fi

mkdir -p "$(dirname "$artifact")"
cp "$built" "$artifact"
echo "$version" >"$toolchain_note"
echo "build-wasm: wrote packages/core/wasm/causeway_core.wasm ($(wc -c <"$artifact") bytes, $version)"
