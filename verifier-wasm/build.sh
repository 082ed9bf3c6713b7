#!/bin/sh
# Builds verifier-wasm/kernel.wasm and kernel_mt.wasm (threads) from verifier-wasm/kernel/src with Debian's rustc 1.63
# (packages rustc and libstd-rust-dev-wasm32). No crates, no cargo. The build is reproducible:
# relative paths only and no custom sections, so a rebuild gives the committed bytes.
# Usage: verifier-wasm/build.sh [--check]   (--check: rebuild to a temp file, compare, exit 1 on diff)
set -eu
RUSTC="${RUSTC:-/usr/bin/rustc}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/kernel"
outdir=".."
if [ "${1:-}" = "--check" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  outdir="$tmp"
fi
# kernel.wasm: one thread, own memory, no imports (any runtime).
# kernel_mt.wasm: the same sources with atomics over one shared imported memory, one instance per
# thread (kernel_threads.ts). Debian's core is built without atomics, which wasm-ld refuses for a
# shared memory unless told not to check features; the kernel uses no core code that needs them.
build() {
  "$RUSTC" --edition 2021 --target wasm32-unknown-unknown --crate-type cdylib --crate-name kernel \
    -C opt-level=3 -C panic=abort -C codegen-units=1 \
    -C strip=symbols -C debuginfo=0 -C link-arg=--no-entry \
    --remap-path-prefix="$here/kernel=kernel" "$@" src/lib.rs
}
build -C target-feature=+simd128 -o "$outdir/kernel.wasm"
build --cfg kernel_threads -C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals \
  -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--no-check-features \
  -C link-arg=--max-memory=4294967296 -C link-arg=--export=__stack_pointer \
  -o "$outdir/kernel_mt.wasm"
if [ "${1:-}" = "--check" ]; then
  for f in kernel.wasm kernel_mt.wasm; do
    if ! cmp -s "$outdir/$f" "../$f"; then
      echo "$f differs from a fresh build of verifier-wasm/kernel/src" >&2
      exit 1
    fi
  done
  echo "kernel.wasm and kernel_mt.wasm match a fresh build"
else
  echo "built verifier-wasm/kernel.wasm ($(wc -c < ../kernel.wasm) bytes), kernel_mt.wasm ($(wc -c < ../kernel_mt.wasm) bytes)"
fi
