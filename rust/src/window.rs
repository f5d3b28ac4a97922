//! The ROM window: the only bytes the VM can read (`size/64 + 63` bytes, 16 MiB at the real
//! parameters). A plain allocation: transparent huge pages (madvise) were measured and gave no
//! gain once the loop's reads are prefetched (docs/core.md).

pub struct Window {
    data: Vec<u8>,
}

impl Window {
    pub fn new(len: usize) -> Self {
        Window {
            data: vec![0u8; len],
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.data
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.data
    }
}

#[inline(always)]
pub fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch is a hint; it never faults, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch(p as *const i8, _MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
