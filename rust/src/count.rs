//! Compression counters for the cost model (docs/core.md). Built only with the `count` feature;
//! without it every function here is an empty inline and costs nothing.
//!
//! Each BLAKE2b compression is charged to the thread's current phase (`set`): scalar
//! compressions one by one, multi-lane calls as `LANES` slots, of which `idle` reports the ones that
//! carried no useful work (padding of a job group, a lane whose chain had no block that step).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Phase {
    /// VM init: H'(448, rom_digest || preimage).
    Init = 0,
    /// Program generation: H'(20 * nb_instrs, seed), including its first block.
    Program,
    /// Program digest PD: the blocks of the instruction stream.
    ProgramDigest,
    /// Memory digest MD: the blocks of the ROM lines read.
    MemoryDigest,
    /// Special1 values (PD finalized), including Div/Mod zero fallbacks.
    Special1,
    /// Special2 values (MD finalized).
    Special2,
    /// Hash instructions: B512(a || b).
    HashOp,
    /// End of loop: pv, mv, the mixing seed and H'(8192).
    Mixing,
    /// Final digest: finalize(PD), finalize(MD), B512 of 388 bytes.
    Final,
    /// Anything else (ROM build, tests).
    Other,
}

pub const PHASES: [Phase; 10] = [
    Phase::Init,
    Phase::Program,
    Phase::ProgramDigest,
    Phase::MemoryDigest,
    Phase::Special1,
    Phase::Special2,
    Phase::HashOp,
    Phase::Mixing,
    Phase::Final,
    Phase::Other,
];

/// Steps of a multi-lane hash, for the time split (TSC ticks between `step` calls).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Step {
    Init = 0,
    Program,
    PrefetchAndPd,
    Decode,
    Md,
    Specials,
    Execute,
    Mixing,
    Final,
}

pub const STEPS: [Step; 9] = [
    Step::Init,
    Step::Program,
    Step::PrefetchAndPd,
    Step::Decode,
    Step::Md,
    Step::Specials,
    Step::Execute,
    Step::Mixing,
    Step::Final,
];

/// Totals per phase: scalar compressions, multi-lane calls, idle lane slots; ticks per step.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub scalar: [u64; 10],
    pub vector: [u64; 10],
    pub idle: [u64; 10],
    pub ticks: [u64; 9],
}

#[cfg(feature = "count")]
mod imp {
    use super::{Counts, Phase};
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, Ordering};

    static SCALAR: [AtomicU64; 10] = [const { AtomicU64::new(0) }; 10];
    static VECTOR: [AtomicU64; 10] = [const { AtomicU64::new(0) }; 10];
    static IDLE: [AtomicU64; 10] = [const { AtomicU64::new(0) }; 10];
    static TICKS: [AtomicU64; 9] = [const { AtomicU64::new(0) }; 9];
    thread_local!(static CUR: Cell<usize> = const { Cell::new(Phase::Other as usize) });
    // Current step and the tick it started at (usize::MAX: none).
    thread_local!(static STEP: Cell<(usize, u64)> = const { Cell::new((usize::MAX, 0)) });

    fn now() -> u64 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: rdtsc has no preconditions.
        unsafe {
            std::arch::x86_64::_rdtsc()
        }
        #[cfg(not(target_arch = "x86_64"))]
        0
    }

    /// Ends the current step (if any) and starts `s` (None: just end it).
    pub fn step(s: Option<super::Step>) {
        let t = now();
        STEP.with(|c| {
            let (cur, start) = c.get();
            if cur != usize::MAX {
                TICKS[cur].fetch_add(t - start, Ordering::Relaxed);
            }
            c.set((s.map_or(usize::MAX, |s| s as usize), t));
        });
    }

    pub fn set(p: Phase) {
        CUR.with(|c| c.set(p as usize));
    }
    pub fn scalar() {
        CUR.with(|c| SCALAR[c.get()].fetch_add(1, Ordering::Relaxed));
    }
    pub fn vector() {
        CUR.with(|c| VECTOR[c.get()].fetch_add(1, Ordering::Relaxed));
    }
    pub fn idle(n: u64) {
        CUR.with(|c| IDLE[c.get()].fetch_add(n, Ordering::Relaxed));
    }
    pub fn take() -> Counts {
        let get = |a: &[AtomicU64; 10]| std::array::from_fn(|i| a[i].swap(0, Ordering::Relaxed));
        Counts {
            scalar: get(&SCALAR),
            vector: get(&VECTOR),
            idle: get(&IDLE),
            ticks: std::array::from_fn(|i| TICKS[i].swap(0, Ordering::Relaxed)),
        }
    }
}

#[cfg(not(feature = "count"))]
mod imp {
    use super::{Counts, Phase};
    #[inline(always)]
    pub fn set(_: Phase) {}
    #[inline(always)]
    pub fn scalar() {}
    #[inline(always)]
    pub fn vector() {}
    #[inline(always)]
    pub fn idle(_: u64) {}
    #[inline(always)]
    pub fn step(_: Option<super::Step>) {}
    pub fn take() -> Counts {
        Counts::default()
    }
}

pub use imp::{idle, scalar, set, step, take, vector};

/// Whether this build counts (the `count` feature).
pub const ENABLED: bool = cfg!(feature = "count");
