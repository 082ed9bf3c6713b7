//! Splitting the prefill's heavy loops (matmul rows, attention heads) over threads.
//!
//! The threaded build (`kernel_mt.wasm`: `--cfg kernel_threads`, `+atomics,+bulk-memory`, one
//! shared imported memory) runs one instance per thread. The calling thread publishes a job cut
//! into chunks, asks the host to wake the other instances (`host_start`), claims and runs chunks
//! itself, and waits until every chunk is done (`host_join`); helper instances claim chunks
//! through `kernel_worker(slot)`. The host (verifier-wasm/kernel_threads.ts) does the waking and
//! waiting with JavaScript `Atomics`, because Rust 1.63's wasm32 wait/notify intrinsics are
//! unstable.
//!
//! Every chunk computes whole output rows (a matmul's weight rows, attention heads) with the
//! same per-element summation order as one thread does, so logits are bit-identical for any
//! thread count. The plain build (`kernel.wasm`) has no imports and runs every chunk itself.
use crate::dot::{matmul_part, MatJob};
use crate::llama::{attn_part, AttnJob};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

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
/// The current job's claim word: generation (high 32 bits), chunk count (16 bits), next
/// unclaimed chunk (low 16 bits). Storing it publishes the job; one compare-and-swap claims a
/// chunk, and only of the job it was read with.
static CLAIM: AtomicU64 = AtomicU64::new(0);
/// Chunks of the current job finished (the host waits on this word).
static DONE: AtomicU32 = AtomicU32::new(0);
static mut GENERATION: u64 = 0;

#[cfg(kernel_threads)]
extern "C" {
    /// Returns once no helper is inside a job that the caller left by a trap.
    fn host_quiesce();
    fn host_start();
    fn host_join();
}

/// Threads a job is split over (1 in the plain build); scratch is sized per thread.
pub fn threads() -> usize {
    unsafe { THREADS }
}

/// Chunks for a job of `n` items: a few per thread (a late thread takes fewer), at most `n`.
pub fn chunks_for(n: usize) -> usize {
    if threads() == 1 {
        1
    } else {
        (threads() * 16).min(n).clamp(1, 0xffff)
    }
}

/// `[lo, hi)` of chunk `k` of `n` items cut into `nk` chunks; with `even`, boundaries are even
/// (whole row pairs).
pub fn share(n: usize, k: usize, nk: usize, even: bool) -> (usize, usize) {
    let cut = |i: usize| {
        if i >= nk {
            n
        } else if even {
            (n * i / nk) & !1
        } else {
            n * i / nk
        }
    };
    (cut(k), cut(k + 1))
}

/// Claims and runs chunks of the current job until none is left; `slot` picks the caller's
/// scratch region. The job is read only after a successful claim: until that chunk is counted
/// done, the caller cannot move on to another job.
unsafe fn work(slot: usize) {
    loop {
        let v = CLAIM.load(Ordering::SeqCst);
        let chunks = (v >> 16) & 0xffff;
        let next = v & 0xffff;
        if next >= chunks {
            return;
        }
        if CLAIM
            .compare_exchange(v, v + 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            continue;
        }
        let (c, nk) = (next as usize, chunks as usize);
        match JOB {
            Job::Idle => {}
            Job::Matmul(j) => matmul_part(&j, c, nk, slot),
            Job::Attn(j) => attn_part(&j, c, nk, slot),
        }
        DONE.fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs `job` in `chunks` pieces on every thread and returns when all are done. Threads claim
/// chunks one at a time, so a late thread (a busy core, or a helper that has retired) just takes
/// fewer; the caller alone can finish the job. Chunks compute disjoint outputs with the
/// one-thread summation order, so results never depend on who ran what.
pub unsafe fn run(job: Job, chunks: usize) {
    let chunks = chunks.clamp(1, 0xffff) as u64;
    // No chunk of an earlier job can be claimed from here on (one the caller left by a trap
    // may still have unclaimed chunks and helpers inside it).
    CLAIM.store(0, Ordering::SeqCst);
    #[cfg(kernel_threads)]
    if THREADS > 1 {
        host_quiesce();
    }
    JOB = job;
    DONE.store(0, Ordering::SeqCst);
    GENERATION = GENERATION.wrapping_add(1) & 0xffff_ffff;
    CLAIM.store((GENERATION << 32) | (chunks << 16), Ordering::SeqCst);
    #[cfg(kernel_threads)]
    if THREADS > 1 {
        host_start();
    }
    work(0);
    #[cfg(kernel_threads)]
    if THREADS > 1 {
        host_join();
    }
    JOB = Job::Idle;
}

/// Exported: claim and run chunks of the current job as helper thread `slot` (1 .. threads - 1).
#[no_mangle]
pub unsafe extern "C" fn kernel_worker(slot: u32) {
    if (slot as usize) < THREADS {
        work(slot as usize);
    }
}

/// Exported: the address of the finished-chunk counter (an i32 the host waits on).
#[no_mangle]
pub unsafe extern "C" fn kernel_done_word() -> *const AtomicU32 {
    &DONE
}

/// Exported: the chunk count of the current job.
#[no_mangle]
pub unsafe extern "C" fn kernel_job_chunks() -> u32 {
    ((CLAIM.load(Ordering::SeqCst) >> 16) & 0xffff) as u32
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
