//! CamelidCoin WASM kernel: a `no_std` crate built for `wasm32-unknown-unknown` with `+simd128`.
//!
//! Three kernels share one module:
//! - `llama`: a llama-architecture prefill (embeddings, RMSNorm, RoPE, grouped-query causal
//!   attention, SwiGLU, output head) over f32, f16 and q8_0 weights with f32 accumulation,
//!   producing logits only at requested rows, its matmuls and attention split over threads in
//!   the threaded build (`par`). Used by the RASTiC verifier.
//! - `sha`: SHA-256d of 80-byte block headers, four nonces per SIMD lane set with midstate
//!   reuse. Used by the node's miner.
//! - `noise`: the sampler's noise blocks (SHA-256 of key || counter), eight per SIMD pass. Used
//!   by the sampler's competitor search.
//!
//! Memory is a bump heap above the module's initial memory (`mem`); the TypeScript loader
//! allocates tensors with `kernel_alloc` and frees whole regions with `kernel_mark`/`kernel_reset`.
#![no_std]

mod dot;
mod llama;
mod math;
mod mem;
mod noise;
mod par;
mod sha;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// ABI version of the exported functions; the loader refuses a module with another version.
#[no_mangle]
pub extern "C" fn kernel_abi_version() -> u32 {
    1
}
