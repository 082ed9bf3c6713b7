//! SIMD (simd128) dot products and the weight-by-activation matmul for f32, f16 and q8_0 rows.
//!
//! Weights follow ggml's layout: a weight with dims [n_in, n_out] is n_out rows of n_in values;
//! a q8_0 row is n_in/32 blocks of (f16 scale, 32 int8). Activations are row-major
//! [tokens][n_in] f32. `y[t][r] = dot(row r, x[t])`, accumulated in f32.
use crate::math::{f16_to_f32, round_f16};
use crate::mem;
use crate::par;
use core::arch::wasm32::*;

/// ggml type id of f32 tensors.
pub const T_F32: u32 = 0;
/// ggml type id of f16 tensors.
pub const T_F16: u32 = 1;
/// ggml type id of q8_0 tensors.
pub const T_Q8_0: u32 = 8;
/// Values per q8_0 block.
pub const QK8_0: usize = 32;
/// Bytes per q8_0 block.
pub const Q8_0_BYTES: usize = 34;

/// A weight matrix in linear memory.
#[derive(Clone, Copy)]
pub struct Weight {
    pub ptr: *const u8,
    pub ty: u32,
}

/// Bytes of one row of `n` values of type `ty`, or None for an unsupported type or a q8_0 row
/// length that is not a multiple of 32.
pub fn row_bytes(ty: u32, n: usize) -> Option<usize> {
    match ty {
        T_F32 => n.checked_mul(4),
        T_F16 => n.checked_mul(2),
        T_Q8_0 if n % QK8_0 == 0 => Some(n / QK8_0 * Q8_0_BYTES),
        _ => None,
    }
}

#[inline(always)]
unsafe fn ld(p: *const f32) -> v128 {
    v128_load(p as *const v128)
}

#[inline(always)]
fn hsum(v: v128) -> f32 {
    // Pairwise: (l0 + l2) + (l1 + l3).
    let s = f32x4_add(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
    f32x4_extract_lane::<0>(s) + f32x4_extract_lane::<1>(s)
}

/// Four f16 values (as u16 at `p`) widened to f32x4. Inf/NaN are kept.
#[inline(always)]
unsafe fn ld_f16x4(p: *const u16) -> v128 {
    let h = u32x4_load_extend_u16x4(p);
    let sign = i32x4_shl(v128_and(h, u32x4_splat(0x8000)), 16);
    let em = v128_and(h, u32x4_splat(0x7fff));
    let big = u32x4_ge(em, u32x4_splat(0x7c00));
    let v = f32x4_mul(i32x4_shl(em, 13), f32x4_splat(f32::from_bits(0x7780_0000)));
    let v = v128_or(v, v128_and(big, u32x4_splat(0x7f80_0000)));
    v128_or(v, sign)
}

/// `o[d] = sum_j p[j] * v[j * stride + d]` for `d < n`, `j < count`, summed in key order
/// (starting from 0.0), eight vectors of `o` kept in registers at a time.
pub unsafe fn weighted_sum(
    o: *mut f32,
    p: *const f32,
    v: *const f32,
    stride: usize,
    count: usize,
    n: usize,
) {
    let mut d0 = 0;
    while d0 + 32 <= n {
        let mut acc = [f32x4_splat(0.0); 8];
        for j in 0..count {
            let pj = f32x4_splat(*p.add(j));
            let vj = v.add(j * stride + d0);
            for (c, a) in acc.iter_mut().enumerate() {
                *a = f32x4_add(*a, f32x4_mul(pj, ld(vj.add(4 * c))));
            }
        }
        for (c, a) in acc.iter().enumerate() {
            v128_store(o.add(d0 + 4 * c) as *mut v128, *a);
        }
        d0 += 32;
    }
    while d0 + 4 <= n {
        let mut a = f32x4_splat(0.0);
        for j in 0..count {
            a = f32x4_add(
                a,
                f32x4_mul(f32x4_splat(*p.add(j)), ld(v.add(j * stride + d0))),
            );
        }
        v128_store(o.add(d0) as *mut v128, a);
        d0 += 4;
    }
    while d0 < n {
        let mut a = 0.0f32;
        for j in 0..count {
            a += *p.add(j) * *v.add(j * stride + d0);
        }
        *o.add(d0) = a;
        d0 += 1;
    }
}

/// Runs the dot kernels over token tiles of TB rows: for each tile and pair of weight rows in
/// `rows` (`[lo, hi)`, `lo` even),
/// `prep(r, slot)` yields row `r` in the form the kernels read (the stored row, or a converted
/// copy in buffer `slot` reused by every token of the tile); then tokens go four at a time
/// (`f8`: two rows x four tokens) with one-token tails (`f1`), and an odd last row goes
/// through `f4`/`f1`. Every kernel sums one (row, token) pair in the same order, so results
/// never depend on the tiling or on which rows are computed.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<P, F8, F4, F1>(
    t: usize,
    n_in: usize,
    n_out: usize,
    rows: (usize, usize),
    y: *mut f32,
    prep: P,
    f8: F8,
    f4: F4,
    f1: F1,
) where
    P: Fn(usize, usize) -> *const u8,
    F8: Fn(*const u8, *const u8, usize) -> [[f32; 4]; 2],
    F4: Fn(*const u8, usize) -> [f32; 4],
    F1: Fn(*const u8, usize) -> f32,
{
    // Tokens per tile: as many as keep the tile's activations within about 256 KiB (cache
    // resident while every weight row streams past), a multiple of 4 in [16, 256].
    let tb = ((TILE_BYTES / 4 / n_in.max(1)) & !3).max(16).min(256);
    let mut t0 = 0;
    while t0 < t {
        let tn = if t - t0 < tb { t - t0 } else { tb };
        let mut r = rows.0;
        while r < rows.1 {
            let pair = r + 1 < rows.1;
            let row0 = prep(r, 0);
            let row1 = if pair { prep(r + 1, 1) } else { row0 };
            let mut i = 0;
            while i + 4 <= tn {
                if pair {
                    let v = f8(row0, row1, t0 + i);
                    for k in 0..4 {
                        *y.add((t0 + i + k) * n_out + r) = v[0][k];
                        *y.add((t0 + i + k) * n_out + r + 1) = v[1][k];
                    }
                } else {
                    let v = f4(row0, t0 + i);
                    for (k, vk) in v.iter().enumerate() {
                        *y.add((t0 + i + k) * n_out + r) = *vk;
                    }
                }
                i += 4;
            }
            while i < tn {
                *y.add((t0 + i) * n_out + r) = f1(row0, t0 + i);
                if pair {
                    *y.add((t0 + i) * n_out + r + 1) = f1(row1, t0 + i);
                }
                i += 1;
            }
            r += if pair { 2 } else { 1 };
        }
        t0 += tb;
    }
}

const TILE_BYTES: usize = 256 * 1024;

/// Two rows x four tokens: the same per-pair summation order as `dot4_f32`.
unsafe fn dot8_f32(
    w0: *const f32,
    w1: *const f32,
    x: *const f32,
    stride: usize,
    n: usize,
) -> [[f32; 4]; 2] {
    let (x0, x1, x2, x3) = (x, x.add(stride), x.add(2 * stride), x.add(3 * stride));
    let z = f32x4_splat(0.0);
    let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
    let (mut b0, mut b1, mut b2, mut b3) = (z, z, z, z);
    let mut i = 0;
    while i + 4 <= n {
        let u = ld(w0.add(i));
        let v = ld(w1.add(i));
        let (y0, y1, y2, y3) = (ld(x0.add(i)), ld(x1.add(i)), ld(x2.add(i)), ld(x3.add(i)));
        a0 = f32x4_add(a0, f32x4_mul(u, y0));
        a1 = f32x4_add(a1, f32x4_mul(u, y1));
        a2 = f32x4_add(a2, f32x4_mul(u, y2));
        a3 = f32x4_add(a3, f32x4_mul(u, y3));
        b0 = f32x4_add(b0, f32x4_mul(v, y0));
        b1 = f32x4_add(b1, f32x4_mul(v, y1));
        b2 = f32x4_add(b2, f32x4_mul(v, y2));
        b3 = f32x4_add(b3, f32x4_mul(v, y3));
        i += 4;
    }
    let mut s = [
        [hsum(a0), hsum(a1), hsum(a2), hsum(a3)],
        [hsum(b0), hsum(b1), hsum(b2), hsum(b3)],
    ];
    while i < n {
        let (u, v) = (*w0.add(i), *w1.add(i));
        let xs = [*x0.add(i), *x1.add(i), *x2.add(i), *x3.add(i)];
        for k in 0..4 {
            s[0][k] += u * xs[k];
            s[1][k] += v * xs[k];
        }
        i += 1;
    }
    s
}

pub unsafe fn dot4_f32(w: *const f32, x: *const f32, stride: usize, n: usize) -> [f32; 4] {
    let (x0, x1, x2, x3) = (x, x.add(stride), x.add(2 * stride), x.add(3 * stride));
    let mut a0 = f32x4_splat(0.0);
    let mut a1 = a0;
    let mut a2 = a0;
    let mut a3 = a0;
    let mut i = 0;
    while i + 4 <= n {
        let wv = ld(w.add(i));
        a0 = f32x4_add(a0, f32x4_mul(wv, ld(x0.add(i))));
        a1 = f32x4_add(a1, f32x4_mul(wv, ld(x1.add(i))));
        a2 = f32x4_add(a2, f32x4_mul(wv, ld(x2.add(i))));
        a3 = f32x4_add(a3, f32x4_mul(wv, ld(x3.add(i))));
        i += 4;
    }
    let mut s = [hsum(a0), hsum(a1), hsum(a2), hsum(a3)];
    while i < n {
        let wi = *w.add(i);
        s[0] += wi * *x0.add(i);
        s[1] += wi * *x1.add(i);
        s[2] += wi * *x2.add(i);
        s[3] += wi * *x3.add(i);
        i += 1;
    }
    s
}

/// One row: the same summation order as one lane of `dot4_f32`, so a logit never depends on
/// which other rows share its tile.
pub unsafe fn dot1_f32(w: *const f32, x: *const f32, n: usize) -> f32 {
    let mut a0 = f32x4_splat(0.0);
    let mut i = 0;
    while i + 4 <= n {
        a0 = f32x4_add(a0, f32x4_mul(ld(w.add(i)), ld(x.add(i))));
        i += 4;
    }
    let mut s = hsum(a0);
    while i < n {
        s += *w.add(i) * *x.add(i);
        i += 1;
    }
    s
}

#[inline(always)]
unsafe fn blk_d(b: *const u8) -> f32 {
    f16_to_f32(core::ptr::read_unaligned(b as *const u16))
}

/// Converts an f16 row of `n` values to f32.
unsafe fn f16_row(w: *const u16, n: usize, out: *mut f32) {
    let mut i = 0;
    while i + 4 <= n {
        v128_store(out.add(i) as *mut v128, ld_f16x4(w.add(i)));
        i += 4;
    }
    while i < n {
        *out.add(i) = f16_to_f32(core::ptr::read_unaligned(w.add(i)));
        i += 1;
    }
}

/// Dequantizes a q8_0 row of `n` values to f32 (`d * q` in f32).
unsafe fn q8_row_f32(w: *const u8, n: usize, out: *mut f32) {
    for b in 0..n / QK8_0 {
        let wb = w.add(b * Q8_0_BYTES);
        let d = f32x4_splat(blk_d(wb));
        for h in 0..2 {
            let q = v128_load(wb.add(2 + 16 * h) as *const v128);
            let lo = i16x8_extend_low_i8x16(q);
            let hi = i16x8_extend_high_i8x16(q);
            let o = out.add(b * QK8_0 + 16 * h);
            let parts = [
                i32x4_extend_low_i16x8(lo),
                i32x4_extend_high_i16x8(lo),
                i32x4_extend_low_i16x8(hi),
                i32x4_extend_high_i16x8(hi),
            ];
            for (j, pj) in parts.iter().enumerate() {
                v128_store(
                    o.add(4 * j) as *mut v128,
                    f32x4_mul(f32x4_convert_i32x4(*pj), d),
                );
            }
        }
    }
}

/// Widens a q8_0 row of `n` values to i16 quants `qs[n]` followed by f32 scales `ds[n/32]`.
unsafe fn q8_row_i16(w: *const u8, n: usize, qs: *mut i16, ds: *mut f32) {
    for b in 0..n / QK8_0 {
        let wb = w.add(b * Q8_0_BYTES);
        *ds.add(b) = blk_d(wb);
        for h in 0..2 {
            let q = v128_load(wb.add(2 + 16 * h) as *const v128);
            let o = qs.add(b * QK8_0 + 16 * h);
            v128_store(o as *mut v128, i16x8_extend_low_i8x16(q));
            v128_store(o.add(8) as *mut v128, i16x8_extend_high_i8x16(q));
        }
    }
}

/// Integer dot of 32 widened weight quants with 32 widened activation quants.
#[inline(always)]
unsafe fn qdot(w: &[v128; 4], xq: *const i16) -> v128 {
    let s0 = i32x4_dot_i16x8(w[0], v128_load(xq as *const v128));
    let s1 = i32x4_dot_i16x8(w[1], v128_load(xq.add(8) as *const v128));
    let s2 = i32x4_dot_i16x8(w[2], v128_load(xq.add(16) as *const v128));
    let s3 = i32x4_dot_i16x8(w[3], v128_load(xq.add(24) as *const v128));
    i32x4_add(i32x4_add(s0, s1), i32x4_add(s2, s3))
}

#[inline(always)]
unsafe fn wblock(wq: *const i16) -> [v128; 4] {
    [
        v128_load(wq as *const v128),
        v128_load(wq.add(8) as *const v128),
        v128_load(wq.add(16) as *const v128),
        v128_load(wq.add(24) as *const v128),
    ]
}

/// q8_0 x q8_0 dot as ggml's x86 kernel: per block, the exact integer sum times
/// (d_w * d_x), accumulated in f32.
unsafe fn dot1_q8(
    wq: *const i16,
    wd: *const f32,
    xq: *const i16,
    xd: *const f32,
    nb: usize,
) -> f32 {
    let mut acc = f32x4_splat(0.0);
    for b in 0..nb {
        let w = wblock(wq.add(b * QK8_0));
        let s = qdot(&w, xq.add(b * QK8_0));
        let d = f32x4_splat(*wd.add(b) * *xd.add(b));
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), d));
    }
    hsum(acc)
}

/// Two widened q8_0 rows x four tokens: the same per-pair order as `dot4_q8`.
#[allow(clippy::too_many_arguments)]
unsafe fn dot8_q8(
    wq0: *const i16,
    wd0: *const f32,
    wq1: *const i16,
    wd1: *const f32,
    xq: *const i16,
    xd: *const f32,
    n: usize,
    nb: usize,
) -> [[f32; 4]; 2] {
    let mut a = [f32x4_splat(0.0); 4];
    let mut c = [f32x4_splat(0.0); 4];
    for b in 0..nb {
        let w0 = wblock(wq0.add(b * QK8_0));
        let w1 = wblock(wq1.add(b * QK8_0));
        let (d0, d1) = (*wd0.add(b), *wd1.add(b));
        for k in 0..4 {
            let xp = xq.add(k * n + b * QK8_0);
            let x = wblock(xp);
            let dx = *xd.add(k * nb + b);
            let s0 = i32x4_add(
                i32x4_add(i32x4_dot_i16x8(w0[0], x[0]), i32x4_dot_i16x8(w0[1], x[1])),
                i32x4_add(i32x4_dot_i16x8(w0[2], x[2]), i32x4_dot_i16x8(w0[3], x[3])),
            );
            let s1 = i32x4_add(
                i32x4_add(i32x4_dot_i16x8(w1[0], x[0]), i32x4_dot_i16x8(w1[1], x[1])),
                i32x4_add(i32x4_dot_i16x8(w1[2], x[2]), i32x4_dot_i16x8(w1[3], x[3])),
            );
            a[k] = f32x4_add(
                a[k],
                f32x4_mul(f32x4_convert_i32x4(s0), f32x4_splat(d0 * dx)),
            );
            c[k] = f32x4_add(
                c[k],
                f32x4_mul(f32x4_convert_i32x4(s1), f32x4_splat(d1 * dx)),
            );
        }
    }
    [
        [hsum(a[0]), hsum(a[1]), hsum(a[2]), hsum(a[3])],
        [hsum(c[0]), hsum(c[1]), hsum(c[2]), hsum(c[3])],
    ]
}

unsafe fn dot4_q8(
    wq: *const i16,
    wd: *const f32,
    xq: *const i16,
    xd: *const f32,
    n: usize,
    nb: usize,
) -> [f32; 4] {
    let mut a = [f32x4_splat(0.0); 4];
    for b in 0..nb {
        let w = wblock(wq.add(b * QK8_0));
        let dw = *wd.add(b);
        for (k, ak) in a.iter_mut().enumerate() {
            let s = qdot(&w, xq.add(k * n + b * QK8_0));
            let d = f32x4_splat(dw * *xd.add(k * nb + b));
            *ak = f32x4_add(*ak, f32x4_mul(f32x4_convert_i32x4(s), d));
        }
    }
    [hsum(a[0]), hsum(a[1]), hsum(a[2]), hsum(a[3])]
}

/// Quantizes `t` rows of `n` activations to q8_0 as ggml's x86 `quantize_row_q8_0` does:
/// d = f16(amax / 127), q = round-half-even(x * (127 / amax)). Scales are stored as f32.
unsafe fn quantize_q8(x: *const f32, t: usize, n: usize, qs: *mut i16, ds: *mut f32) {
    let nb = n / QK8_0;
    for r in 0..t {
        for b in 0..nb {
            let xb = x.add(r * n + b * QK8_0);
            let mut m = f32x4_splat(0.0);
            for j in 0..8 {
                m = f32x4_max(m, f32x4_abs(ld(xb.add(4 * j))));
            }
            let m2 = f32x4_max(m, i32x4_shuffle::<2, 3, 0, 1>(m, m));
            let amax = f32x4_extract_lane::<0>(m2).max(f32x4_extract_lane::<1>(m2));
            let d = amax / 127.0;
            *ds.add(r * nb + b) = round_f16(d);
            let id = f32x4_splat(if amax != 0.0 { 127.0 / amax } else { 0.0 });
            let q = qs.add(r * n + b * QK8_0);
            let mut w = [i32x4_splat(0); 8];
            for (j, wj) in w.iter_mut().enumerate() {
                *wj = i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(ld(xb.add(4 * j)), id)));
            }
            for h in 0..4 {
                v128_store(
                    q.add(8 * h) as *mut v128,
                    i16x8_narrow_i32x4(w[2 * h], w[2 * h + 1]),
                );
            }
        }
    }
}

/// `y[t][r] = dot(W row r, x[t])` for `t` rows of `n_in` activations and `n_out` weight rows.
/// With `mirror`, activations are first converted as llama.cpp's CPU backend does: rounded to
/// f16 for f16 weights, quantized to q8_0 for q8_0 weights. Returns false on a bad type or when
/// scratch memory cannot be allocated.
pub unsafe fn matmul(
    w: Weight,
    x: *const f32,
    t: usize,
    n_in: usize,
    n_out: usize,
    y: *mut f32,
    mirror: bool,
) -> bool {
    let stride = match row_bytes(w.ty, n_in) {
        Some(s) => s,
        None => return false,
    };
    let m = mem::mark();
    let ok = matmul_in(w, stride, x, t, n_in, n_out, y, mirror);
    mem::reset(m);
    ok
}

/// How a matmul reads its weight rows.
#[derive(Clone, Copy)]
enum Mode {
    /// f32 rows used as stored.
    F32,
    /// f16 rows converted to f32 per tile.
    F16,
    /// q8_0 rows dequantized to f32 (plain f32-activation mode).
    Q8F32,
    /// q8_0 rows widened to i16, activations quantized to q8_0 (llama.cpp mode).
    Q8I16,
}

/// One matmul's operands, shared by the threads that split its weight rows.
#[derive(Clone, Copy)]
pub struct MatJob {
    w: *const u8,
    stride: usize,
    mode: Mode,
    /// f32 activations (rounded to f16 in llama.cpp mode for f16 weights).
    xs: *const f32,
    /// Quantized activations and their scales (Q8I16 only).
    qs: *const i16,
    ds: *const f32,
    t: usize,
    n_in: usize,
    n_out: usize,
    y: *mut f32,
    /// Per-thread scratch: `nt` regions of `per` bytes.
    scratch: *mut u8,
    per: usize,
}

#[allow(clippy::too_many_arguments)]
unsafe fn matmul_in(
    w: Weight,
    stride: usize,
    x: *const f32,
    t: usize,
    n_in: usize,
    n_out: usize,
    y: *mut f32,
    mirror: bool,
) -> bool {
    let nb = n_in / QK8_0;
    let mode = match w.ty {
        T_F32 => Mode::F32,
        T_F16 => Mode::F16,
        _ if !mirror => Mode::Q8F32,
        _ => Mode::Q8I16,
    };
    let xs: *const f32 = if w.ty == T_F16 && mirror {
        let p = match mem::alloc_f32(t * n_in) {
            Some(p) => p,
            None => return false,
        };
        for i in 0..t * n_in {
            *p.add(i) = round_f16(*x.add(i));
        }
        p
    } else {
        x
    };
    let (mut qs, mut ds) = (core::ptr::null_mut::<i16>(), core::ptr::null_mut::<f32>());
    if let Mode::Q8I16 = mode {
        qs = mem::alloc(t * n_in * 2) as *mut i16;
        ds = match mem::alloc_f32(t * nb) {
            Some(p) if !qs.is_null() => p,
            _ => return false,
        };
        quantize_q8(x, t, n_in, qs, ds);
    }
    // Per thread: two f32 row buffers (slots 0 and 1), or two i16 rows and their scales.
    let per = (2 * n_in * 4 + 2 * nb * 4 + 15) & !15;
    let nt = par::threads();
    let scratch = mem::alloc(nt * per);
    if scratch.is_null() {
        return false;
    }
    let job = MatJob {
        w: w.ptr,
        stride,
        mode,
        xs,
        qs,
        ds,
        t,
        n_in,
        n_out,
        y,
        scratch,
        per,
    };
    par::run(par::Job::Matmul(job), par::chunks_for(n_out / 2));
    true
}

/// Chunk `c` of `nc` of a matmul (its range of weight rows, for every token), with the scratch
/// region of thread `slot`.
pub unsafe fn matmul_part(j: &MatJob, c: usize, nc: usize, slot: usize) {
    let (t, n_in, n_out, y, xs) = (j.t, j.n_in, j.n_out, j.y, j.xs);
    let rows = par::share(n_out, c, nc, true);
    let nb = n_in / QK8_0;
    let buf = j.scratch.add(slot * j.per) as *mut f32;
    let (w, stride) = (j.w, j.stride);
    let f8 = |r0: *const u8, r1: *const u8, i: usize| {
        dot8_f32(
            r0 as *const f32,
            r1 as *const f32,
            xs.add(i * n_in),
            n_in,
            n_in,
        )
    };
    let f4 = |row: *const u8, i: usize| dot4_f32(row as *const f32, xs.add(i * n_in), n_in, n_in);
    let f1 = |row: *const u8, i: usize| dot1_f32(row as *const f32, xs.add(i * n_in), n_in);
    match j.mode {
        Mode::F32 => tile(t, n_in, n_out, rows, y, |r, _| w.add(r * stride), f8, f4, f1),
        Mode::F16 => {
            let prep = |r: usize, slot: usize| {
                let b = buf.add(slot * n_in);
                f16_row(w.add(r * stride) as *const u16, n_in, b);
                b as *const u8
            };
            tile(t, n_in, n_out, rows, y, prep, f8, f4, f1);
        }
        Mode::Q8F32 => {
            let prep = |r: usize, slot: usize| {
                let b = buf.add(slot * n_in);
                q8_row_f32(w.add(r * stride), n_in, b);
                b as *const u8
            };
            tile(t, n_in, n_out, rows, y, prep, f8, f4, f1);
        }
        Mode::Q8I16 => {
            let (qs, ds) = (j.qs, j.ds);
            let wq = buf as *mut i16;
            let wd = (buf as *mut u8).add(2 * n_in * 2) as *mut f32;
            let prep = |r: usize, slot: usize| {
                q8_row_i16(
                    w.add(r * stride),
                    n_in,
                    wq.add(slot * n_in),
                    wd.add(slot * nb),
                );
                slot as *const u8
            };
            let row = |p: *const u8| {
                let slot = p as usize;
                (
                    wq.add(slot * n_in) as *const i16,
                    wd.add(slot * nb) as *const f32,
                )
            };
            tile(
                t,
                n_in,
                n_out,
                rows,
                y,
                prep,
                |p0, p1, i| {
                    let (q0, d0) = row(p0);
                    let (q1, d1) = row(p1);
                    dot8_q8(q0, d0, q1, d1, qs.add(i * n_in), ds.add(i * nb), n_in, nb)
                },
                |p, i| {
                    let (q, d) = row(p);
                    dot4_q8(q, d, qs.add(i * n_in), ds.add(i * nb), n_in, nb)
                },
                |p, i| {
                    let (q, d) = row(p);
                    dot1_q8(q, d, qs.add(i * n_in), ds.add(i * nb), nb)
                },
            );
        }
    }
}

/// Row `r` of a weight with rows of `n` values, dequantized to f32 into `out`.
pub unsafe fn get_row(w: Weight, r: usize, n: usize, out: *mut f32) -> bool {
    let stride = match row_bytes(w.ty, n) {
        Some(s) => s,
        None => return false,
    };
    let p = w.ptr.add(r * stride);
    match w.ty {
        T_F32 => core::ptr::copy_nonoverlapping(p as *const f32, out, n),
        T_F16 => {
            for i in 0..n {
                *out.add(i) = f16_to_f32(core::ptr::read_unaligned((p as *const u16).add(i)));
            }
        }
        _ => {
            for b in 0..n / QK8_0 {
                let wb = p.add(b * Q8_0_BYTES);
                let d = blk_d(wb);
                for j in 0..QK8_0 {
                    *out.add(b * QK8_0 + j) = d * (*(wb.add(2 + j) as *const i8) as f32);
                }
            }
        }
    }
    true
}

/// Exported for tests and benchmarks: `y = W x` for `t` activation rows (see `matmul`).
#[no_mangle]
pub unsafe extern "C" fn kernel_matmul(
    w: *const u8,
    ty: u32,
    x: *const f32,
    t: usize,
    n_in: usize,
    n_out: usize,
    y: *mut f32,
    mirror: u32,
) -> i32 {
    if matmul(Weight { ptr: w, ty }, x, t, n_in, n_out, y, mirror != 0) {
        0
    } else {
        -1
    }
}
