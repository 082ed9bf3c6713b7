#!/bin/sh
# Builds verifier-wasm/kernel.wasm from verifier-wasm/kernel/src with Debian's rustc 1.63
# (packages rustc and libstd-rust-dev-wasm32). No crates, no cargo. The build is reproducible:
# relative paths only and no custom sections, so a rebuild gives the committed bytes.
# Usage: verifier-wasm/build.sh [--check]   (--check: rebuild to a temp file, compare, exit 1 on diff)
set -eu
RUSTC="${RUSTC:-/usr/bin/rustc}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/kernel"
out="../kernel.wasm"
if [ "${1:-}" = "--check" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  out="$tmp/kernel.wasm"
fi
"$RUSTC" --edition 2021 --target wasm32-unknown-unknown --crate-type cdylib --crate-name kernel \
  -C opt-level=3 -C panic=abort -C target-feature=+simd128 -C codegen-units=1 \
  -C strip=symbols -C debuginfo=0 -C link-arg=--no-entry \
  --remap-path-prefix="$here/kernel=kernel" \
  -o "$out" src/lib.rs
if [ "${1:-}" = "--check" ]; then
  if cmp -s "$out" ../kernel.wasm; then
    echo "kernel.wasm matches a fresh build"
  else
    echo "kernel.wasm differs from a fresh build of verifier-wasm/kernel/src" >&2
    exit 1
  fi
else
  echo "built verifier-wasm/kernel.wasm ($(wc -c < "$out") bytes)"
fi
