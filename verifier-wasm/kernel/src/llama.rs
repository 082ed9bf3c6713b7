//! Llama-architecture prefill with logits only at requested rows, following llama.cpp's CPU
//! graph for LLM_ARCH_LLAMA step by step (see docs/protocol.md, "WASM kernel").
//!
//! The model descriptor is an array of u32 words written by the TypeScript loader:
//! ```text
//!  0 abi version (1)     1 n_vocab    2 n_embd     3 n_layer    4 n_head     5 n_head_kv
//!  6 head_dim            7 n_ff       8 n_rot      9 rms eps (f32 bits)
//! 10 rope theta_scale (f32 bits: powf(freq_base, -2/n_rot))   11 rope freq_scale (f32 bits)
//! 12 flags: bit 0 = convert activations as llama.cpp does before f16/q8_0 matmuls,
//!           bit 1 = round K, V, Q and attention weights to f16 as llama.cpp's f16 KV cache does
//! 13 token_embd ptr  14 token_embd type  15 output_norm ptr  16 output ptr  17 output type
//! 18 + 16*l: attn_norm, wq, wq type, wk, wk type, wv, wv type, wo, wo type,
//!            ffn_norm, ffn_gate, gate type, ffn_up, up type, ffn_down, down type
//! ```
//! Norm weights are f32. Pointers are byte offsets into linear memory.
use crate::dot::{dot1_f32, dot4_f32, get_row, matmul, row_bytes, weighted_sum, Weight};
use crate::math::{expf, round_f16, sincosf, sqrtf};
use crate::mem;
use crate::par;

const HEADER_WORDS: usize = 18;
const LAYER_WORDS: usize = 16;

/// Error: malformed descriptor.
pub const E_DESC: i32 = -1;
/// Error: out of memory.
pub const E_NOMEM: i32 = -2;
/// Error: a token id is not below n_vocab.
pub const E_TOKEN: i32 = -3;
/// Error: a requested row is not below n_tokens.
pub const E_ROW: i32 = -4;
/// Error: no tokens.
pub const E_EMPTY: i32 = -5;

struct Layer {
    attn_norm: *const f32,
    wq: Weight,
    wk: Weight,
    wv: Weight,
    wo: Weight,
    ffn_norm: *const f32,
    gate: Weight,
    up: Weight,
    down: Weight,
}

struct Model {
    n_vocab: usize,
    n_embd: usize,
    n_layer: usize,
    n_head: usize,
    n_head_kv: usize,
    head_dim: usize,
    n_ff: usize,
    n_rot: usize,
    eps: f32,
    theta_scale: f32,
    freq_scale: f32,
    mirror_act: bool,
    mirror_kv: bool,
    tok_embd: Weight,
    out_norm: *const f32,
    output: Weight,
    desc: *const u32,
}

impl Model {
    unsafe fn read(d: *const u32) -> Option<Model> {
        let w = |i: usize| *d.add(i);
        if w(0) != 1 {
            return None;
        }
        let m = Model {
            n_vocab: w(1) as usize,
            n_embd: w(2) as usize,
            n_layer: w(3) as usize,
            n_head: w(4) as usize,
            n_head_kv: w(5) as usize,
            head_dim: w(6) as usize,
            n_ff: w(7) as usize,
            n_rot: w(8) as usize,
            eps: f32::from_bits(w(9)),
            theta_scale: f32::from_bits(w(10)),
            freq_scale: f32::from_bits(w(11)),
            mirror_act: w(12) & 1 != 0,
            mirror_kv: w(12) & 2 != 0,
            tok_embd: Weight {
                ptr: w(13) as *const u8,
                ty: w(14),
            },
            out_norm: w(15) as *const f32,
            output: Weight {
                ptr: w(16) as *const u8,
                ty: w(17),
            },
            desc: d,
        };
        let ok = m.n_vocab > 0
            && m.n_embd > 0
            && m.n_head > 0
            && m.n_head_kv > 0
            && m.n_head % m.n_head_kv == 0
            && m.head_dim > 0
            && m.n_ff > 0
            && m.n_rot % 2 == 0
            && m.n_rot <= m.head_dim
            && row_bytes(m.tok_embd.ty, m.n_embd).is_some()
            && row_bytes(m.output.ty, m.n_embd).is_some();
        if !ok {
            return None;
        }
        for l in 0..m.n_layer {
            let ly = m.layer(l);
            let q = m.n_head * m.head_dim;
            let kv = m.n_head_kv * m.head_dim;
            let ok = row_bytes(ly.wq.ty, m.n_embd).is_some()
                && row_bytes(ly.wk.ty, m.n_embd).is_some()
                && row_bytes(ly.wv.ty, m.n_embd).is_some()
                && row_bytes(ly.wo.ty, q).is_some()
                && row_bytes(ly.gate.ty, m.n_embd).is_some()
                && row_bytes(ly.up.ty, m.n_embd).is_some()
                && row_bytes(ly.down.ty, m.n_ff).is_some()
                && kv > 0;
            if !ok {
                return None;
            }
        }
        Some(m)
    }

    unsafe fn layer(&self, l: usize) -> Layer {
        let b = self.desc.add(HEADER_WORDS + l * LAYER_WORDS);
        let w = |i: usize| *b.add(i);
        let wt = |i: usize| Weight {
            ptr: w(i) as *const u8,
            ty: w(i + 1),
        };
        Layer {
            attn_norm: w(0) as *const f32,
            wq: wt(1),
            wk: wt(3),
            wv: wt(5),
            wo: wt(7),
            ffn_norm: w(9) as *const f32,
            gate: wt(10),
            up: wt(12),
            down: wt(14),
        }
    }
}

/// ggml_rms_norm followed by ggml_mul with the norm weight: sum of squares in f64,
/// scale = 1/sqrtf(mean + eps) in f32.
unsafe fn rms_norm(x: *const f32, w: *const f32, t: usize, n: usize, eps: f32, y: *mut f32) {
    for r in 0..t {
        let xr = x.add(r * n);
        let yr = y.add(r * n);
        let mut sum = 0.0f64;
        for i in 0..n {
            let v = *xr.add(i);
            sum += (v * v) as f64;
        }
        let mean = (sum / n as f64) as f32;
        let scale = 1.0f32 / sqrtf(mean + eps);
        for i in 0..n {
            *yr.add(i) = (*xr.add(i) * scale) * *w.add(i);
        }
    }
}

/// ggml_rope_ext, mode NORM: adjacent pairs (2i, 2i+1) of the first n_rot dims of each head
/// rotate by theta_i = freq_scale * pos * theta_scale^i (theta_scale applied by repeated f32
/// multiplication as in ggml_rope_cache_init).
unsafe fn rope(v: *mut f32, n_heads: usize, head_dim: usize, n_rot: usize, cache: *const f32) {
    for h in 0..n_heads {
        let p = v.add(h * head_dim);
        let mut i = 0;
        while i < n_rot {
            let c = *cache.add(i);
            let s = *cache.add(i + 1);
            let x0 = *p.add(i);
            let x1 = *p.add(i + 1);
            *p.add(i) = x0 * c - x1 * s;
            *p.add(i + 1) = x0 * s + x1 * c;
            i += 2;
        }
    }
}

unsafe fn rope_cache(m: &Model, pos: usize, cache: *mut f32) {
    let mut theta = pos as f32;
    let mut i = 0;
    while i < m.n_rot {
        let (s, c) = sincosf(m.freq_scale * theta);
        *cache.add(i) = c;
        *cache.add(i + 1) = s;
        theta *= m.theta_scale;
        i += 2;
    }
}

/// Runs the prefill. `tokens[n_tokens]` are at positions 0..n_tokens; logits for each
/// `rows[i]` (a token index) go to `out[i * n_vocab ..]`. Returns 0 or a negative error code.
pub unsafe fn prefill(
    desc: *const u32,
    tokens: *const u32,
    n_tokens: usize,
    rows: *const u32,
    n_rows: usize,
    out: *mut f32,
) -> i32 {
    let m = match Model::read(desc) {
        Some(m) => m,
        None => return E_DESC,
    };
    if n_tokens == 0 || n_rows == 0 {
        return E_EMPTY;
    }
    for i in 0..n_tokens {
        if *tokens.add(i) as usize >= m.n_vocab {
            return E_TOKEN;
        }
    }
    for i in 0..n_rows {
        if *rows.add(i) as usize >= n_tokens {
            return E_ROW;
        }
    }
    let mark = mem::mark();
    let r = run(&m, tokens, n_tokens, rows, n_rows, out);
    mem::reset(mark);
    r
}

macro_rules! alloc_or {
    ($n:expr) => {
        match mem::alloc_f32($n) {
            Some(p) => p,
            None => return E_NOMEM,
        }
    };
}

macro_rules! mm {
    ($w:expr, $x:expr, $t:expr, $nin:expr, $nout:expr, $y:expr, $mirror:expr) => {
        if !matmul($w, $x, $t, $nin, $nout, $y, $mirror) {
            return E_NOMEM;
        }
    };
}

unsafe fn gather(src: *const f32, rows: *const u32, n_rows: usize, n: usize, dst: *mut f32) {
    for i in 0..n_rows {
        let r = *rows.add(i) as usize;
        core::ptr::copy_nonoverlapping(src.add(r * n), dst.add(i * n), n);
    }
}

/// One causal attention's operands, shared by the threads that split its heads.
#[derive(Clone, Copy)]
pub struct AttnJob {
    q: *const f32,
    k: *const f32,
    v: *const f32,
    att: *mut f32,
    /// Per-thread score rows: `nt` regions of 4 * t floats.
    scores: *mut f32,
    idx: *const u32,
    n: usize,
    t: usize,
    nq: usize,
    nkv: usize,
    hd: usize,
    n_head: usize,
    group: usize,
    kq_scale: f32,
    mirror_kv: bool,
}

/// Chunk `c` of `nc` of a causal grouped-query attention (its range of query heads; head h reads
/// kv head h / group), with the score rows of thread `slot`. Scores for four query rows at a time
/// share each key load (same per-pair order as one row).
pub unsafe fn attn_part(a: &AttnJob, c: usize, nc: usize, slot: usize) {
    let (heads_lo, heads_hi) = par::share(a.n_head, c, nc, false);
    let (n, t, nq, nkv, hd) = (a.n, a.t, a.nq, a.nkv, a.hd);
    let scores = a.scores.add(slot * 4 * t);
    let mut i0 = 0;
    while i0 < n {
        let nb = if n - i0 < 4 { n - i0 } else { 4 };
        let mut maxpos = 0;
        for r in 0..nb {
            maxpos = maxpos.max(*a.idx.add(i0 + r) as usize);
        }
        for h in heads_lo..heads_hi {
            let g = h / a.group;
            let q0 = a.q.add(i0 * nq + h * hd);
            for j in 0..=maxpos {
                let kj = a.k.add(j * nkv + g * hd);
                if nb == 4 {
                    let s4 = dot4_f32(kj, q0, nq, hd);
                    for (r, sr) in s4.iter().enumerate() {
                        *scores.add(r * t + j) = *sr * a.kq_scale;
                    }
                } else {
                    for r in 0..nb {
                        *scores.add(r * t + j) = dot1_f32(kj, q0.add(r * nq), hd) * a.kq_scale;
                    }
                }
            }
            for r in 0..nb {
                let i = i0 + r;
                let pos = *a.idx.add(i) as usize;
                let sc = scores.add(r * t);
                let mut mx = f32::NEG_INFINITY;
                for j in 0..=pos {
                    mx = mx.max(*sc.add(j));
                }
                let mut sum = 0.0f64;
                for j in 0..=pos {
                    let ev = expf(*sc.add(j) - mx);
                    *sc.add(j) = ev;
                    sum += ev as f64;
                }
                let inv = (1.0 / sum) as f32;
                for j in 0..=pos {
                    let p = *sc.add(j) * inv;
                    *sc.add(j) = if a.mirror_kv { round_f16(p) } else { p };
                }
                weighted_sum(
                    a.att.add(i * nq + h * hd),
                    sc,
                    a.v.add(g * hd),
                    nkv,
                    pos + 1,
                    hd,
                );
            }
        }
        i0 += nb;
    }
}

unsafe fn run(
    m: &Model,
    tokens: *const u32,
    t: usize,
    rows: *const u32,
    n_rows: usize,
    out: *mut f32,
) -> i32 {
    let e = m.n_embd;
    let hd = m.head_dim;
    let nq = m.n_head * hd;
    let nkv = m.n_head_kv * hd;
    let group = m.n_head / m.n_head_kv;
    let kq_scale = 1.0f32 / sqrtf(hd as f32);
    // Every buffer below is at most t * widest floats: refuse sizes that overflow 32 bits.
    let widest = e.max(nq).max(m.n_ff).max(nkv).max(m.n_rot);
    let big = t.max(n_rows);
    if big
        .checked_mul(widest)
        .and_then(|v| v.checked_mul(4))
        .is_none()
    {
        return E_NOMEM;
    }
    let mut x = alloc_or!(t * e);
    let mut xb = alloc_or!(t * e);
    let q = alloc_or!(t * nq);
    let k = alloc_or!(t * nkv);
    let v = alloc_or!(t * nkv);
    let att = alloc_or!(t * nq);
    let hb = alloc_or!(t * m.n_ff);
    let hb2 = alloc_or!(t * m.n_ff);
    let scores = alloc_or!(4 * t * par::threads());
    let cache = alloc_or!(t * m.n_rot.max(2));
    let mut idx = mem::alloc(t * 4) as *mut u32;
    if idx.is_null() {
        return E_NOMEM;
    }
    for i in 0..t {
        *idx.add(i) = i as u32;
        rope_cache(m, i, cache.add(i * m.n_rot));
        if !get_row(m.tok_embd, *tokens.add(i) as usize, e, x.add(i * e)) {
            return E_DESC;
        }
    }
    let mut n = t;
    if m.n_layer == 0 {
        let x2 = alloc_or!(n_rows * e);
        gather(x, rows, n_rows, e, x2);
        x = x2;
        n = n_rows;
    }
    for l in 0..m.n_layer {
        let ly = m.layer(l);
        rms_norm(x, ly.attn_norm, n, e, m.eps, xb);
        mm!(ly.wk, xb, n, e, nkv, k, m.mirror_act);
        mm!(ly.wv, xb, n, e, nkv, v, m.mirror_act);
        for i in 0..n {
            rope(
                k.add(i * nkv),
                m.n_head_kv,
                hd,
                m.n_rot,
                cache.add(i * m.n_rot),
            );
        }
        if m.mirror_kv {
            for i in 0..n * nkv {
                *k.add(i) = round_f16(*k.add(i));
                *v.add(i) = round_f16(*v.add(i));
            }
        }
        if l + 1 == m.n_layer {
            // Last layer: only the requested rows go on (llama.cpp's inp_out_ids).
            let x2 = alloc_or!(n_rows * e);
            let xb2 = alloc_or!(n_rows * e);
            gather(x, rows, n_rows, e, x2);
            gather(xb, rows, n_rows, e, xb2);
            x = x2;
            xb = xb2;
            idx = rows as *mut u32;
            n = n_rows;
        }
        mm!(ly.wq, xb, n, e, nq, q, m.mirror_act);
        for i in 0..n {
            let pos = *idx.add(i) as usize;
            let qi = q.add(i * nq);
            rope(qi, m.n_head, hd, m.n_rot, cache.add(pos * m.n_rot));
            if m.mirror_kv {
                for j in 0..nq {
                    *qi.add(j) = round_f16(*qi.add(j));
                }
            }
        }
        let job = AttnJob {
            q,
            k,
            v,
            att,
            scores,
            idx,
            n,
            t,
            nq,
            nkv,
            hd,
            n_head: m.n_head,
            group,
            kq_scale,
            mirror_kv: m.mirror_kv,
        };
        par::run(par::Job::Attn(job), par::chunks_for(m.n_head));
        mm!(ly.wo, att, n, nq, e, xb, m.mirror_act);
        for i in 0..n * e {
            *x.add(i) += *xb.add(i);
        }
        rms_norm(x, ly.ffn_norm, n, e, m.eps, xb);
        mm!(ly.gate, xb, n, e, m.n_ff, hb, m.mirror_act);
        mm!(ly.up, xb, n, e, m.n_ff, hb2, m.mirror_act);
        for i in 0..n * m.n_ff {
            let g = *hb.add(i);
            *hb.add(i) = (g / (1.0 + expf(-g))) * *hb2.add(i);
        }
        mm!(ly.down, hb, n, m.n_ff, e, xb, m.mirror_act);
        for i in 0..n * e {
            *x.add(i) += *xb.add(i);
        }
    }
    rms_norm(x, m.out_norm, n, e, m.eps, xb);
    mm!(m.output, xb, n, e, m.n_vocab, out, m.mirror_act);
    0
}

/// Exported: run a prefill (see `prefill`).
#[no_mangle]
pub unsafe extern "C" fn llama_prefill(
    desc: *const u32,
    tokens: *const u32,
    n_tokens: usize,
    rows: *const u32,
    n_rows: usize,
    out: *mut f32,
) -> i32 {
    prefill(desc, tokens, n_tokens, rows, n_rows, out)
}
