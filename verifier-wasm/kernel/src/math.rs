//! Scalar float helpers without libm: f16 conversion (round to nearest even), `expf`, `sinf`,
//! `cosf` evaluated in f64 and rounded once to f32 (so they agree with a correctly rounded libm
//! almost always), and IEEE square root through the SIMD unit.
use core::arch::wasm32::{f32x4_extract_lane, f32x4_splat, f32x4_sqrt};

/// IEEE f32 square root.
#[inline]
pub fn sqrtf(x: f32) -> f32 {
    f32x4_extract_lane::<0>(f32x4_sqrt(f32x4_splat(x)))
}

/// f16 bits to f32 (exact).
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let em = h & 0x7fff;
    if em >= 0x7c00 {
        return f32::from_bits(sign | 0x7f80_0000 | ((em & 0x3ff) << 13));
    }
    // Align the 15 exponent+mantissa bits under f32's and rescale by 2^112: exact for normal
    // and subnormal halves alike.
    let v = f32::from_bits(em << 13) * f32::from_bits(0x7780_0000);
    f32::from_bits(v.to_bits() | sign)
}

/// f32 to f16 bits, round to nearest even (as F16C `vcvtps2ph` with rounding mode 0).
#[inline]
pub fn f32_to_f16(f: f32) -> u16 {
    let mut u = f.to_bits();
    let sign = u & 0x8000_0000;
    u ^= sign;
    let o: u32;
    if u >= (127 + 16) << 23 {
        o = if u > 0x7f80_0000 { 0x7e00 } else { 0x7c00 };
    } else if u < (113 << 23) {
        // Subnormal or zero half: add a magic value so the FPU rounds at the right bit.
        let magic: u32 = ((127 - 15) + (23 - 10) + 1) << 23;
        let v = f32::from_bits(u) + f32::from_bits(magic);
        o = v.to_bits() - magic;
    } else {
        let mant_odd = (u >> 13) & 1;
        let mut v = u.wrapping_add(((15u32.wrapping_sub(127)) << 23).wrapping_add(0xfff));
        v = v.wrapping_add(mant_odd);
        o = v >> 13;
    }
    (o | (sign >> 16)) as u16
}

/// Rounds `x` to the nearest f16 value, returned as f32.
#[inline]
pub fn round_f16(x: f32) -> f32 {
    f16_to_f32(f32_to_f16(x))
}

const ROUND_MAGIC: f64 = 6755399441055744.0; // 1.5 * 2^52

#[inline]
fn rint(x: f64) -> f64 {
    (x + ROUND_MAGIC) - ROUND_MAGIC
}

#[inline]
fn pow2i(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// e^x for f32, computed in f64 and rounded once.
pub fn expf(x: f32) -> f32 {
    if x != x {
        return x;
    }
    if x > 89.0 {
        return f32::INFINITY;
    }
    if x < -104.0 {
        return 0.0;
    }
    const LOG2E: f64 = 1.4426950408889634;
    const LN2_HI: f64 = 6.93147180369123816490e-01;
    const LN2_LO: f64 = 1.90821492927058770002e-10;
    let xd = x as f64;
    let k = rint(xd * LOG2E);
    let r = (xd - k * LN2_HI) - k * LN2_LO;
    // Taylor series of e^r on |r| <= 0.35: truncation error below 2e-16.
    let mut p = 1.0 / 479001600.0; // 1/12!
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    (p * pow2i(k as i32)) as f32
}

/// (sin x, cos x) for f32 `x` with |x| < 2^20 * pi/2, computed in f64 and rounded once.
pub fn sincosf(x: f32) -> (f32, f32) {
    const INV_PIO2: f64 = 6.36619772367581382433e-01;
    const PIO2_1: f64 = 1.57079631090164184570e+00; // first 33 bits of pi/2
    const PIO2_1T: f64 = 1.58932547735281966916e-08; // pi/2 - PIO2_1
    let xd = x as f64;
    let k = rint(xd * INV_PIO2);
    let r = (xd - k * PIO2_1) - k * PIO2_1T;
    let r2 = r * r;
    // sin r = r - r^3/3! + ... + r^15/15!, cos r = 1 - r^2/2! + ... + r^16/16!, |r| <= pi/4.
    let mut s = -1.0 / 1307674368000.0;
    s = s * r2 + 1.0 / 6227020800.0;
    s = s * r2 - 1.0 / 39916800.0;
    s = s * r2 + 1.0 / 362880.0;
    s = s * r2 - 1.0 / 5040.0;
    s = s * r2 + 1.0 / 120.0;
    s = s * r2 - 1.0 / 6.0;
    let sin_r = r + r * r2 * s;
    let mut c = 1.0 / 20922789888000.0;
    c = c * r2 - 1.0 / 87178291200.0;
    c = c * r2 + 1.0 / 479001600.0;
    c = c * r2 - 1.0 / 3628800.0;
    c = c * r2 + 1.0 / 40320.0;
    c = c * r2 - 1.0 / 720.0;
    c = c * r2 + 1.0 / 24.0;
    c = c * r2 - 0.5;
    let cos_r = 1.0 + r2 * c;
    let (s_out, c_out) = match (k as i64) & 3 {
        0 => (sin_r, cos_r),
        1 => (cos_r, -sin_r),
        2 => (-sin_r, -cos_r),
        _ => (-cos_r, sin_r),
    };
    (s_out as f32, c_out as f32)
}

/// Exported for tests: `expf`.
#[no_mangle]
pub extern "C" fn kernel_expf(x: f32) -> f32 {
    expf(x)
}

/// Exported for tests: `sinf`.
#[no_mangle]
pub extern "C" fn kernel_sinf(x: f32) -> f32 {
    sincosf(x).0
}

/// Exported for tests: `cosf`.
#[no_mangle]
pub extern "C" fn kernel_cosf(x: f32) -> f32 {
    sincosf(x).1
}

/// Exported for tests: f32 -> f16 bits.
#[no_mangle]
pub extern "C" fn kernel_f32_to_f16(x: f32) -> u32 {
    f32_to_f16(x) as u32
}

/// Exported for tests: f16 bits -> f32.
#[no_mangle]
pub extern "C" fn kernel_f16_to_f32(h: u32) -> f32 {
    f16_to_f32(h as u16)
}
