//! The ROM window: the only bytes the VM can read. A plain zeroed allocation for now.

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
pub fn prefetch(p: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch(p.as_ptr() as *const i8, _MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
