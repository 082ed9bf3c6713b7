//! SHA-256d mining over an 80-byte block header: four nonces per v128 (one per u32 lane), the
//! first 64-byte block compressed once per call (midstate) and the first three rounds of the
//! second block (independent of the nonce) computed once too.
//!
//! Header: version u32 LE | prevHash 32 | merkleRoot 32 | time u32 LE | bits u32 LE | nonce u32 LE
//! (offset 76). Proof of work holds when the digest, read as a big-endian 256-bit integer in
//! digest byte order, is <= the 32-byte big-endian target.
use core::arch::wasm32::*;

pub(crate) const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

pub(crate) const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

static mut HASHES: u64 = 0;

#[inline(always)]
fn ssig0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}
#[inline(always)]
fn ssig1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

/// Scalar SHA-256 compression of one block of 16 big-endian words, starting `from` rounds in
/// with working variables `s` (used for the precomputed rounds).
pub(crate) fn rounds(s: &mut [u32; 8], w: &mut [u32; 64], from: usize, to: usize) {
    for i in 16..to.max(16) {
        w[i] = ssig1(w[i - 2])
            .wrapping_add(w[i - 7])
            .wrapping_add(ssig0(w[i - 15]))
            .wrapping_add(w[i - 16]);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *s;
    for i in from..to {
        let t1 = h
            .wrapping_add(e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25))
            .wrapping_add((e & f) ^ (!e & g))
            .wrapping_add(K[i])
            .wrapping_add(w[i]);
        let t2 = (a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22))
            .wrapping_add((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    *s = [a, b, c, d, e, f, g, h];
}

fn compress(state: &mut [u32; 8], block: &[u32; 16]) {
    let mut w = [0u32; 64];
    w[..16].copy_from_slice(block);
    let mut s = *state;
    rounds(&mut s, &mut w, 0, 64);
    for i in 0..8 {
        state[i] = state[i].wrapping_add(s[i]);
    }
}

pub(crate) unsafe fn be32(p: *const u8) -> u32 {
    u32::from_be_bytes([*p, *p.add(1), *p.add(2), *p.add(3)])
}

/// Scalar SHA-256d of the header with `nonce` in place; digest words H0..H7 (big-endian words).
unsafe fn sha256d_words(header: *const u8, nonce: u32) -> [u32; 8] {
    let mut b1 = [0u32; 16];
    for (i, w) in b1.iter_mut().enumerate() {
        *w = be32(header.add(4 * i));
    }
    let mut st = IV;
    compress(&mut st, &b1);
    let mut b2 = [0u32; 16];
    for (i, w) in b2.iter_mut().take(3).enumerate() {
        *w = be32(header.add(64 + 4 * i));
    }
    b2[3] = nonce.swap_bytes();
    b2[4] = 0x8000_0000;
    b2[15] = 640;
    compress(&mut st, &b2);
    let mut b3 = [0u32; 16];
    b3[..8].copy_from_slice(&st);
    b3[8] = 0x8000_0000;
    b3[15] = 256;
    let mut out = IV;
    compress(&mut out, &b3);
    out
}

fn meets(h: &[u32; 8], t: &[u32; 8]) -> bool {
    for i in 0..8 {
        if h[i] != t[i] {
            return h[i] < t[i];
        }
    }
    true
}

#[inline(always)]
fn rotr(x: v128, n: u32) -> v128 {
    v128_or(u32x4_shr(x, n), i32x4_shl(x, 32 - n))
}
#[inline(always)]
pub(crate) fn add(a: v128, b: v128) -> v128 {
    i32x4_add(a, b)
}
#[inline(always)]
fn vsig0(x: v128) -> v128 {
    v128_xor(v128_xor(rotr(x, 7), rotr(x, 18)), u32x4_shr(x, 3))
}
#[inline(always)]
fn vsig1(x: v128) -> v128 {
    v128_xor(v128_xor(rotr(x, 17), rotr(x, 19)), u32x4_shr(x, 10))
}

/// SHA-256 rounds `from..64` over `N` interleaved lane sets (4 nonces each) with working
/// variables `s` and message words `w[0..16]` given per lane set (expanded here, in a rolling
/// 16-word window).
#[inline(always)]
pub(crate) fn vrounds<const N: usize>(s: &mut [[v128; N]; 8], w: &mut [[v128; N]; 16], from: usize) {
    for i in from..64 {
        let mut wi = [u32x4_splat(0); N];
        for n in 0..N {
            wi[n] = if i < 16 {
                w[i][n]
            } else {
                let v = add(
                    add(vsig1(w[(i - 2) & 15][n]), w[(i - 7) & 15][n]),
                    add(vsig0(w[(i - 15) & 15][n]), w[i & 15][n]),
                );
                w[i & 15][n] = v;
                v
            };
        }
        let k = u32x4_splat(K[i]);
        for n in 0..N {
            let [a, b, c, d, e, f, g, h] = [
                s[0][n], s[1][n], s[2][n], s[3][n], s[4][n], s[5][n], s[6][n], s[7][n],
            ];
            let s1 = v128_xor(v128_xor(rotr(e, 6), rotr(e, 11)), rotr(e, 25));
            let ch = v128_bitselect(f, g, e);
            let t1 = add(add(add(h, s1), add(ch, k)), wi[n]);
            let s0 = v128_xor(v128_xor(rotr(a, 2), rotr(a, 13)), rotr(a, 22));
            let maj = v128_bitselect(c, a, v128_xor(a, b));
            let t2 = add(s0, maj);
            s[7][n] = g;
            s[6][n] = f;
            s[5][n] = e;
            s[4][n] = add(d, t1);
            s[3][n] = c;
            s[2][n] = b;
            s[1][n] = a;
            s[0][n] = add(t1, t2);
        }
    }
}

/// Each u32 lane byte-swapped: a little-endian counter as SHA-256's big-endian message word.
#[inline(always)]
pub(crate) fn bswap_lanes(x: v128) -> v128 {
    v128_or(
        v128_or(i32x4_shl(x, 24), u32x4_shr(x, 24)),
        v128_or(
            i32x4_shl(v128_and(x, u32x4_splat(0xff00)), 8),
            v128_and(u32x4_shr(x, 8), u32x4_splat(0xff00)),
        ),
    )
}

/// Lane sets hashed per loop iteration (LANE_SETS * 4 nonces).
const LANE_SETS: usize = 2;
const STEP: u64 = 4 * LANE_SETS as u64;

/// Searches nonces `start .. start+count` (no wrap past 2^32-1: the range is clipped) for the
/// smallest nonce whose SHA-256d meets the target. Returns it, or -1.
pub unsafe fn mine(header: *const u8, target: *const u8, start: u32, count: u32) -> i64 {
    let end = (start as u64 + count as u64).min(1u64 << 32);
    let mut t = [0u32; 8];
    for (i, w) in t.iter_mut().enumerate() {
        *w = be32(target.add(4 * i));
    }
    // Midstate of the first block, then three nonce-independent rounds of the second.
    let mut b1 = [0u32; 16];
    for (i, w) in b1.iter_mut().enumerate() {
        *w = be32(header.add(4 * i));
    }
    let mut mid = IV;
    compress(&mut mid, &b1);
    let mut w2 = [0u32; 64];
    for (i, w) in w2.iter_mut().take(3).enumerate() {
        *w = be32(header.add(64 + 4 * i));
    }
    w2[4] = 0x8000_0000;
    w2[15] = 640;
    let mut pre = mid;
    rounds(&mut pre, &mut w2, 0, 3);
    let t0 = u32x4_splat(t[0]);
    let lane = u32x4(0, 1, 2, 3);
    let mut n = start as u64;
    let mut done: u64 = 0;
    while n < end {
        let mut w = [[u32x4_splat(0); LANE_SETS]; 16];
        let mut s = [[u32x4_splat(0); LANE_SETS]; 8];
        for j in 0..LANE_SETS {
            let nonces = i32x4_add(u32x4_splat((n as u32).wrapping_add(4 * j as u32)), lane);
            // Nonce bytes are little-endian in the header; SHA-256 reads the word big-endian.
            let wn = bswap_lanes(nonces);
            for i in 0..16 {
                w[i][j] = u32x4_splat(w2[i]);
            }
            w[3][j] = wn;
            for i in 0..8 {
                s[i][j] = u32x4_splat(pre[i]);
            }
        }
        vrounds(&mut s, &mut w, 3);
        let mut w3 = [[u32x4_splat(0); LANE_SETS]; 16];
        let mut s2 = [[u32x4_splat(0); LANE_SETS]; 8];
        for j in 0..LANE_SETS {
            for i in 0..8 {
                w3[i][j] = add(s[i][j], u32x4_splat(mid[i]));
                s2[i][j] = u32x4_splat(IV[i]);
            }
            w3[8][j] = u32x4_splat(0x8000_0000);
            w3[15][j] = u32x4_splat(256);
        }
        vrounds(&mut s2, &mut w3, 0);
        let lanes = (end - n).min(STEP);
        let mut any = false;
        for j in 0..LANE_SETS {
            any |= v128_any_true(u32x4_le(add(s2[0][j], u32x4_splat(IV[0])), t0));
        }
        if any {
            for j in 0..lanes {
                let nonce = (n + j) as u32;
                let h = sha256d_words(header, nonce);
                if meets(&h, &t) {
                    HASHES += done + j + 1;
                    return nonce as i64;
                }
            }
        }
        done += lanes;
        n += STEP;
    }
    HASHES += done;
    -1
}

/// Exported: search nonces (see `mine`). Returns the nonce found or -1.
#[no_mangle]
pub unsafe extern "C" fn sha_mine(
    header: *const u8,
    target: *const u8,
    start: u32,
    count: u32,
) -> i64 {
    mine(header, target, start, count)
}

/// Exported: nonces hashed by `sha_mine` since the module was instantiated.
#[no_mangle]
pub unsafe extern "C" fn sha_hash_count() -> f64 {
    HASHES as f64
}

/// Exported: scalar SHA-256d of the 80-byte header (nonce taken from the header) into `out[32]`.
#[no_mangle]
pub unsafe extern "C" fn sha_sha256d_header(header: *const u8, out: *mut u8) {
    let nonce = u32::from_le_bytes([
        *header.add(76),
        *header.add(77),
        *header.add(78),
        *header.add(79),
    ]);
    let h = sha256d_words(header, nonce);
    for (i, w) in h.iter().enumerate() {
        let b = w.to_be_bytes();
        for j in 0..4 {
            *out.add(4 * i + j) = b[j];
        }
    }
}
