//! Splitting the prefill's heavy loops (matmul rows, attention heads) over threads.
//!
//! The threaded build (`kernel_mt.wasm`: `--cfg kernel_threads`, `+atomics,+bulk-memory`, one
//! shared imported memory)
//! runs one instance per thread over the same memory. The calling thread stores the job in
//! `JOB`, asks the host to wake the other instances (`host_start`), does share 0 itself, and
//! waits for them (`host_join`); instance k runs share k through `kernel_worker(k)`. The host
//! (verifier-wasm/kernel_threads.ts) does the waking and waiting with JavaScript `Atomics`,
//! because Rust 1.63's wasm32 wait/notify intrinsics are unstable.
//!
//! Every share computes whole output rows (a matmul's weight rows, an attention head) with the
//! same per-element summation order as one thread does, so logits are bit-identical for any
//! thread count. The plain build (`kernel.wasm`) has no imports and always runs one share.
use crate::dot::{matmul_part, MatJob};
use crate::llama::{attn_part, AttnJob};

/// A parallel job: which loop, with its operands.
#[derive(Clone, Copy)]
pub enum Job {
    /// Nothing to do.
    Idle,
    /// Weight rows of one matmul.
    Matmul(MatJob),
    /// Heads of one causal attention.
    Attn(AttnJob),
}

static mut JOB: Job = Job::Idle;
static mut THREADS: usize = 1;

#[cfg(kernel_threads)]
extern "C" {
    fn host_start();
    fn host_join();
}

/// Threads a job is split over (1 in the plain build).
pub fn threads() -> usize {
    unsafe { THREADS }
}

/// `[lo, hi)` of share `k` of `n` items over `nt` threads, boundaries even (whole row pairs).
pub fn share(n: usize, k: usize, nt: usize) -> (usize, usize) {
    let cut = |i: usize| {
        if i >= nt {
            n
        } else {
            (n * i / nt) & !1
        }
    };
    (cut(k), cut(k + 1))
}

unsafe fn run_part(job: Job, k: usize, nt: usize) {
    match job {
        Job::Idle => {}
        Job::Matmul(j) => matmul_part(&j, k, nt),
        Job::Attn(j) => attn_part(&j, k, nt),
    }
}

/// Runs `job` on every thread (share 0 on the caller) and returns when all shares are done.
pub unsafe fn run(job: Job) {
    let nt = THREADS;
    JOB = job;
    #[cfg(kernel_threads)]
    if nt > 1 {
        host_start();
    }
    run_part(job, 0, nt);
    #[cfg(kernel_threads)]
    if nt > 1 {
        host_join();
    }
    JOB = Job::Idle;
}

/// Exported: share `k` of the current job (called by the host on instance k, k >= 1).
#[no_mangle]
pub unsafe extern "C" fn kernel_worker(k: u32) {
    run_part(JOB, k as usize, THREADS);
}

/// Exported: sets the thread count (the threaded build only; the plain build stays at 1).
/// Returns the count in effect.
#[no_mangle]
pub unsafe extern "C" fn kernel_set_threads(n: u32) -> u32 {
    if cfg!(kernel_threads) {
        THREADS = (n as usize).clamp(1, 64);
    }
    THREADS as u32
}
