//! RASTiC sampler noise blocks (verifier-wasm/sampler.ts): block b of a 32-byte position key is
//! SHA-256(key || b as u32 LE), one padded 64-byte compression. The eight key words give the same
//! first eight rounds for every block (computed once); the rest runs eight blocks at a time, one
//! per u32 lane of two v128 lane sets.
use crate::sha::{add, be32, bswap_lanes, rounds, vrounds, IV};
use core::arch::wasm32::*;

const LANE_SETS: usize = 2;

/// Writes the eight big-endian digest words of blocks `first .. first + count` (counters wrap at
/// 2^32) of `key` to `out[8 * i ..]`.
pub unsafe fn noise_blocks(key: *const u8, first: u32, count: u32, out: *mut u32) {
    let mut w0 = [0u32; 64];
    for (i, w) in w0.iter_mut().take(8).enumerate() {
        *w = be32(key.add(4 * i));
    }
    w0[9] = 0x8000_0000;
    w0[15] = 36 * 8;
    let mut pre = IV;
    rounds(&mut pre, &mut w0, 0, 8);
    let lane = u32x4(0, 1, 2, 3);
    let mut b = 0u32;
    while b < count {
        let mut w = [[u32x4_splat(0); LANE_SETS]; 16];
        let mut s = [[u32x4_splat(0); LANE_SETS]; 8];
        for j in 0..LANE_SETS {
            let ctr = i32x4_add(u32x4_splat(first.wrapping_add(b + 4 * j as u32)), lane);
            for i in 0..16 {
                w[i][j] = u32x4_splat(w0[i]);
            }
            w[8][j] = bswap_lanes(ctr);
            for i in 0..8 {
                s[i][j] = u32x4_splat(pre[i]);
            }
        }
        vrounds(&mut s, &mut w, 8);
        for j in 0..LANE_SETS {
            let mut words = [[0u32; 4]; 8];
            for (i, wi) in words.iter_mut().enumerate() {
                v128_store(wi.as_mut_ptr() as *mut v128, add(s[i][j], u32x4_splat(IV[i])));
            }
            for l in 0..4u32 {
                let blk = b + 4 * j as u32 + l;
                if blk < count {
                    for (i, wi) in words.iter().enumerate() {
                        *out.add(8 * blk as usize + i) = wi[l as usize];
                    }
                }
            }
        }
        b = b.saturating_add(4 * LANE_SETS as u32);
    }
}

/// Exported: sampler noise blocks (see `noise_blocks`).
#[no_mangle]
pub unsafe extern "C" fn sampler_noise_blocks(key: *const u8, first: u32, count: u32, out: *mut u32) {
    noise_blocks(key, first, count, out)
}
