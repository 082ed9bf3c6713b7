//! Bump heap above the module's initial linear memory. Grows memory on demand.
use core::arch::wasm32::{memory_grow, memory_size};

const PAGE: usize = 65536;
static mut TOP: usize = 0;

unsafe fn top() -> usize {
    if TOP == 0 {
        TOP = memory_size::<0>() * PAGE;
    }
    TOP
}

/// Allocates `size` bytes aligned to 16; returns null when memory cannot grow.
pub unsafe fn alloc(size: usize) -> *mut u8 {
    let start = match top().checked_add(15) {
        Some(v) => v & !15,
        None => return core::ptr::null_mut(),
    };
    let end = match start.checked_add(size) {
        Some(v) => v,
        None => return core::ptr::null_mut(),
    };
    let have = memory_size::<0>() * PAGE;
    if end > have {
        let need = (end - have + PAGE - 1) / PAGE;
        if memory_grow::<0>(need) == usize::MAX {
            return core::ptr::null_mut();
        }
    }
    TOP = end;
    start as *mut u8
}

/// Allocates `n` f32 values.
pub unsafe fn alloc_f32(n: usize) -> Option<*mut f32> {
    let bytes = n.checked_mul(4)?;
    let p = alloc(bytes);
    if p.is_null() {
        None
    } else {
        Some(p as *mut f32)
    }
}

/// Current heap top: pass it to `reset` to free everything allocated after this point.
pub unsafe fn mark() -> usize {
    top()
}

/// Frees everything allocated after `m` (a value from `mark`).
pub unsafe fn reset(m: usize) {
    if m != 0 && m <= top() {
        TOP = m;
    }
}

/// Exported: allocate `size` bytes (16-byte aligned); 0 when out of memory.
#[no_mangle]
pub unsafe extern "C" fn kernel_alloc(size: usize) -> *mut u8 {
    alloc(size)
}

/// Exported: the current heap top.
#[no_mangle]
pub unsafe extern "C" fn kernel_mark() -> usize {
    mark()
}

/// Exported: free everything allocated after `m`.
#[no_mangle]
pub unsafe extern "C" fn kernel_reset(m: usize) {
    reset(m)
}
