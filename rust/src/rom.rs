//! AshMaize ROM. Only `ROM[0 .. size/64 + 63]` is ever read by the VM (reads start at a byte
//! offset `addr mod size/64`), so the ROM is generated as a stream: every chunk goes through the
//! digest in order, and only that reachable window is kept in memory.

use crate::blake2b::{self, hprime, hprime_stream, HPrimeReader, State};
use crate::error::CoreError;

/// Upper bound on the ROM size we accept (16 GiB): the generation is streamed, but the
/// per-chunk base table is `size/64` bytes and the digest takes about 1.2 s per GiB.
pub const MAX_SIZE: u64 = 1 << 34;
const MAX_MIXING: u64 = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generation {
    FullRandom,
    TwoStep {
        pre_size: usize,
        mixing_numbers: usize,
    },
}

pub struct Rom {
    digest: [u8; 64],
    size: usize,
    /// `size / 64`: the modulus of every ROM read.
    nb_chunks: u32,
    /// `2^64 / nb_chunks` rounded up (mod 2^64): `x mod nb_chunks` by two multiplications.
    mod_mul: u64,
    window: crate::window::Window,
}

impl Rom {
    pub fn new(key: &[u8], generation: Generation, size: u64) -> Result<Rom, CoreError> {
        validate(generation, size)?;
        let size = size as usize;
        let seed = &seed(key, size as u64);
        let nb_chunks = size / 64;
        let window_len = nb_chunks + 63;
        let mut window = crate::window::Window::new(window_len);
        let digest = match generation {
            Generation::FullRandom => full_random(seed, size, window.as_mut_slice()),
            Generation::TwoStep {
                pre_size,
                mixing_numbers,
            } => two_step(seed, size, pre_size, mixing_numbers, window.as_mut_slice()),
        };
        Ok(Rom {
            digest,
            size,
            nb_chunks: nb_chunks as u32,
            mod_mul: (u64::MAX / nb_chunks as u64).wrapping_add(1),
            window,
        })
    }

    pub fn digest(&self) -> &[u8; 64] {
        &self.digest
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// The reachable window `ROM[0 .. size/64 + 63]` (what a GPU backend uploads).
    pub fn window(&self) -> &[u8] {
        self.window.as_slice()
    }

    #[inline(always)]
    pub fn offset(&self, addr: u64) -> usize {
        (addr as u32 % self.nb_chunks) as usize
    }

    /// `offset` without a division (Lemire's fastmod; exact for every 32-bit dividend).
    #[inline(always)]
    pub fn offset_fast(&self, addr: u64) -> u32 {
        let low = self.mod_mul.wrapping_mul(addr as u32 as u64);
        ((low as u128 * self.nb_chunks as u128) >> 64) as u32
    }

    /// The 64 bytes at window offset `start` (an `offset` value).
    #[inline(always)]
    pub fn line_at(&self, start: u32) -> &[u8; 64] {
        self.window.as_slice()[start as usize..start as usize + 64]
            .try_into()
            .unwrap()
    }

    /// The little-endian word at window byte `pos` (`pos + 8 <= window length`).
    #[inline(always)]
    pub fn word_at(&self, pos: usize) -> u64 {
        u64::from_le_bytes(self.window.as_slice()[pos..pos + 8].try_into().unwrap())
    }

    /// Prefetches both cache lines of the read at window offset `start`.
    #[inline(always)]
    pub fn prefetch_at(&self, start: u32) {
        let p = self.window.as_slice().as_ptr().wrapping_add(start as usize);
        crate::window::prefetch(p);
        crate::window::prefetch(p.wrapping_add(63));
    }

    /// The 64 bytes the VM reads for a literal address.
    #[inline(always)]
    pub fn line(&self, addr: u64) -> &[u8; 64] {
        let start = self.offset(addr);
        self.window.as_slice()[start..start + 64]
            .try_into()
            .unwrap()
    }

    #[inline(always)]
    pub fn prefetch(&self, addr: u64) {
        let start = self.offset(addr);
        // A read covers 64 bytes from an unaligned offset: usually two cache lines.
        let p = self.window.as_slice()[start..].as_ptr();
        crate::window::prefetch(p);
        crate::window::prefetch(p.wrapping_add(63));
    }
}

pub fn validate(generation: Generation, size: u64) -> Result<(), CoreError> {
    if size == 0 {
        return Err(CoreError::value("size must be > 0"));
    }
    if !size.is_multiple_of(64) {
        return Err(CoreError::value(format!(
            "size must be a multiple of 64, got {size}"
        )));
    }
    if size > MAX_SIZE {
        return Err(CoreError::value(format!(
            "size must be <= {MAX_SIZE}, got {size}"
        )));
    }
    // H' generates the FullRandom ROM and the TwoStep pre-ROM, and its output length is 32-bit:
    // a longer one would panic in `hprime_stream`.
    if generation == Generation::FullRandom && size > u32::MAX as u64 {
        return Err(CoreError::value(format!(
            "size must be < 4 GiB for a full_random ROM, got {size}"
        )));
    }
    if let Generation::TwoStep {
        pre_size,
        mixing_numbers,
    } = generation
    {
        let pre_size = pre_size as u64;
        if pre_size < 64 || !pre_size.is_power_of_two() {
            return Err(CoreError::value(format!(
                "pre_size must be a power of two >= 64, got {pre_size}"
            )));
        }
        if pre_size > u32::MAX as u64 {
            return Err(CoreError::value(format!(
                "pre_size must be < 4 GiB, got {pre_size}"
            )));
        }
        if pre_size > size {
            return Err(CoreError::value(format!(
                "pre_size ({pre_size}) must not be larger than size ({size})"
            )));
        }
        if mixing_numbers == 0 || mixing_numbers as u64 > MAX_MIXING {
            return Err(CoreError::value(format!(
                "mixing_numbers must be in 1..={MAX_MIXING}, got {mixing_numbers}"
            )));
        }
    }
    Ok(())
}

fn full_random(seed: &[u8], size: usize, window: &mut [u8]) -> [u8; 64] {
    let mut digest = State::new512();
    let mut pos = 0usize;
    hprime_stream(size, &[seed], |piece| {
        digest.update(piece);
        if pos < window.len() {
            let n = piece.len().min(window.len() - pos);
            window[pos..pos + n].copy_from_slice(&piece[..n]);
        }
        pos += piece.len();
    });
    digest.finalize()
}

/// ROM seed: B256(LE32(size as u32) || key).
pub fn seed(key: &[u8], size: u64) -> [u8; 32] {
    let s = blake2b::hash_parts(32, &[&(size as u32).to_le_bytes(), key]);
    s[..32].try_into().unwrap()
}

/// The 128 offset differences (u16 LE) of TwoStep generation.
pub fn diffs(seed: &[u8]) -> [u32; 128] {
    let mut diffs = [0u32; 128];
    for i in 0..4u32 {
        let d = blake2b::hash_parts(64, &[seed, b"generation offset", &i.to_le_bytes()]);
        for k in 0..32 {
            diffs[32 * i as usize + k] = u16::from_le_bytes([d[2 * k], d[2 * k + 1]]) as u32;
        }
    }
    diffs
}

/// The pre-ROM and the mixing table: with the chunk's `base` byte, everything that makes a
/// TwoStep chunk, `chunk_i = pre[i mod nsc] XOR mix[base[i]]`.
pub struct PreMix {
    pub diffs: [u32; 128],
    pre_words: Vec<u64>,
    mix: Vec<[u64; 8]>,
    nsc: usize,
}

impl PreMix {
    /// The pre-ROM H' chain, on the calling thread.
    pub fn new(seed: &[u8], pre_size: usize, mixing_numbers: usize) -> PreMix {
        let nsc = pre_size / 64;
        // Straight into words: no second buffer and copy. Every H' piece is a multiple of 8
        // bytes (32-byte pieces, a 64-byte tail; pre_size is a power of two >= 64).
        let mut pre_words = vec![0u64; pre_size / 8];
        let mut pos = 0;
        hprime_stream(pre_size, &[seed], |piece| {
            for (w, b) in pre_words[pos..].iter_mut().zip(piece.chunks_exact(8)) {
                *w = u64::from_le_bytes(b.try_into().unwrap());
            }
            pos += piece.len() / 8;
        });
        let diffs = diffs(seed);
        // base[i] is one byte, so the XOR of the mixed sources takes only 256 distinct values.
        let mut mix = vec![[0u64; 8]; 256];
        for (b, m) in mix.iter_mut().enumerate() {
            let start = b as u32 % nsc as u32;
            for d in 1..mixing_numbers {
                let idx = (start.wrapping_add(diffs[(d - 1) % 128]) % nsc as u32) as usize;
                for k in 0..8 {
                    m[k] ^= pre_words[8 * idx + k];
                }
            }
        }
        PreMix {
            diffs,
            pre_words,
            mix,
            nsc,
        }
    }

    #[inline(always)]
    pub fn chunk(&self, i: usize, base: u8) -> [u64; 8] {
        // nsc is a power of two (validated): a mask, not a division per chunk.
        let src = (i & (self.nsc - 1)) * 8;
        let m = &self.mix[base as usize];
        let mut c = [0u64; 8];
        for k in 0..8 {
            c[k] = self.pre_words[src + k] ^ m[k];
        }
        c
    }

    /// Chunks `first .. first + base.len()` as bytes into `out` (`64 * base.len()` bytes).
    #[inline]
    pub fn fill(&self, first: usize, base: &[u8], out: &mut [u8]) {
        let mask = self.nsc - 1;
        for (k, (dst, &b)) in out.chunks_exact_mut(64).zip(base).enumerate() {
            let src: &[u64; 8] = self.pre_words[((first + k) & mask) * 8..][..8]
                .try_into()
                .unwrap();
            let m = &self.mix[b as usize];
            for j in 0..8 {
                dst[8 * j..8 * j + 8].copy_from_slice(&(src[j] ^ m[j]).to_le_bytes());
            }
        }
    }
}

/// A whole TwoStep generator with its `base` bytes stored: any chunk, in any order (the
/// published intermediates, and the scalar digest the tests compare the fast one with).
pub struct TwoStep {
    pub base: Vec<u8>,
    pub premix: PreMix,
}

/// The input of the `base` H' chain (one offset byte per chunk).
fn base_input(seed: &[u8]) -> [u8; 64] {
    blake2b::hash_parts(64, &[seed, b"generation offset base"])
}

impl TwoStep {
    pub fn new(seed: &[u8], size: usize, pre_size: usize, mixing_numbers: usize) -> TwoStep {
        let nb_chunks = size / 64;
        // The two long H' chains are independent: run them on two threads.
        std::thread::scope(|s| {
            let pre_job = s.spawn(|| PreMix::new(seed, pre_size, mixing_numbers));
            let mut base = vec![0u8; nb_chunks];
            hprime(&mut base, &[&base_input(seed)]);
            TwoStep {
                base,
                premix: pre_job.join().expect("pre-ROM thread panicked"),
            }
        })
    }

    #[inline(always)]
    pub fn chunk(&self, i: usize) -> [u64; 8] {
        self.premix.chunk(i, self.base[i])
    }

    /// The first `n` bytes of the pre-ROM.
    pub fn pre_prefix(&self, n: usize) -> Vec<u8> {
        let pre = &self.premix.pre_words;
        let words = &pre[..n.div_ceil(8).min(pre.len())];
        let mut out: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        out.truncate(n);
        out
    }

    pub fn chunk_bytes(&self, i: usize) -> [u8; 64] {
        blake2b::words_to_bytes(&self.chunk(i))
    }
}

fn two_step(
    seed: &[u8],
    size: usize,
    pre_size: usize,
    mixing_numbers: usize,
    window: &mut [u8],
) -> [u8; 64] {
    if std::env::var("SCAVENGER_SIMD").as_deref() == Ok("portable") {
        // The crate's own scalar BLAKE2b, base stored, digest on one thread: what the tests
        // check the fast path with.
        let gen = TwoStep::new(seed, size, pre_size, mixing_numbers);
        fill_window(&gen, window);
        return digest_scalar(&gen, size);
    }
    digest_pipelined(seed, size, pre_size, mixing_numbers, window)
}

/// Bytes of ROM per hand-off from the generating thread to the digest (4,096 chunks): a
/// hand-off (a futex wake when the generator waits) comes only every 2,048 compressions; with
/// 64 KiB slices the digest thread measured 12 % slower. 16 slices in flight (4 MiB, 3.5 ms of
/// digest) let the generator be descheduled for a time slice on a loaded machine without
/// stalling the digest (the digest thread's CPU time is the same with 4, 16 or 48).
const SLICE: usize = 256 << 10;
const SLICES_IN_FLIGHT: usize = 16;
const RETURN_BATCH: usize = 8;

/// The whole TwoStep build on two threads. This thread runs the pre-ROM H' chain, then the
/// digest with `blake2b_simd` (its AVX2 single-message compression is the fastest BLAKE2b
/// measured on one core here, docs/core.md) and nothing else: the digest is one sequential
/// chain, the floor of the build. The other thread reads the `base` H' chain on demand (it is
/// never stored), generates the chunks in slices once the pre-ROM is there, and keeps the
/// window.
fn digest_pipelined(
    seed: &[u8],
    size: usize,
    pre_size: usize,
    mixing_numbers: usize,
    window: &mut [u8],
) -> [u8; 64] {
    use std::sync::mpsc::sync_channel;
    use std::sync::OnceLock;
    let nb_chunks = size / 64;
    let premix_cell = OnceLock::new();
    let (ready_tx, ready_rx) = sync_channel::<()>(1);
    let (full_tx, full_rx) = sync_channel::<Vec<u8>>(SLICES_IN_FLIGHT);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(SLICES_IN_FLIGHT);
    for _ in 0..SLICES_IN_FLIGHT {
        empty_tx.send(vec![0u8; SLICE]).expect("fresh channel");
    }
    let premix_ref = &premix_cell;
    std::thread::scope(|s| {
        // Owned by this closure, so that a panic here drops them and the generator stops
        // instead of waiting forever (the scope joins it before re-raising).
        let (ready_tx, full_rx, empty_tx) = (ready_tx, full_rx, empty_tx);
        s.spawn(move || {
            let mut base_reader = HPrimeReader::new(nb_chunks, &[&base_input(seed)]);
            let mut base = vec![0u8; SLICE / 64];
            let mut premix = None;
            let mut first = 0;
            while first < nb_chunks {
                let n = (nb_chunks - first).min(SLICE / 64);
                base_reader.read(&mut base[..n]);
                let pm: &PreMix = match premix {
                    Some(pm) => pm,
                    None => {
                        if ready_rx.recv().is_err() {
                            return;
                        }
                        premix.insert(premix_ref.get().expect("pre-ROM set before ready"))
                    }
                };
                let Ok(mut buf) = empty_rx.recv() else {
                    return;
                };
                buf.resize(n * 64, 0);
                pm.fill(first, &base[..n], &mut buf);
                let pos = first * 64;
                if pos < window.len() {
                    let len = (window.len() - pos).min(buf.len());
                    window[pos..pos + len].copy_from_slice(&buf[..len]);
                }
                first += n;
                if full_tx.send(buf).is_err() {
                    return;
                }
            }
        });
        let _ = premix_cell.set(PreMix::new(seed, pre_size, mixing_numbers));
        // The generator only stops early if it panicked (the scope re-raises that).
        let _ = ready_tx.send(());
        let mut state = blake2b_simd::Params::new().hash_length(64).to_state();
        // Used slices go back to the generator in batches, so that it wakes (a futex call on
        // this thread) once per RETURN_BATCH slices rather than once per slice.
        let mut used = Vec::with_capacity(RETURN_BATCH);
        while let Ok(buf) = full_rx.recv() {
            state.update(&buf);
            used.push(buf);
            if used.len() == RETURN_BATCH {
                for buf in used.drain(..) {
                    // The generator may be done and gone: then the buffer is simply dropped.
                    let _ = empty_tx.send(buf);
                }
            }
        }
        let mut out = [0u8; 64];
        out.copy_from_slice(state.finalize().as_bytes());
        out
    })
}

/// Keep the reachable window.
fn fill_window(gen: &TwoStep, window: &mut [u8]) {
    for (i, dst) in window.chunks_mut(64).enumerate() {
        let c = gen.chunk_bytes(i);
        dst.copy_from_slice(&c[..dst.len()]);
    }
}

/// The digest with the crate's scalar compression: two chunks per block, fed straight from the
/// generator (nothing stored). With BMI2 where available (`rorx` rotates).
fn digest_scalar(gen: &TwoStep, size: usize) -> [u8; 64] {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("bmi2") {
        // SAFETY: bmi2 was just detected.
        return unsafe { digest_bmi2(gen, size) };
    }
    digest(gen, size)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "bmi2")]
unsafe fn digest_bmi2(gen: &TwoStep, size: usize) -> [u8; 64] {
    digest(gen, size)
}

#[inline(always)]
fn digest(gen: &TwoStep, size: usize) -> [u8; 64] {
    let nb_chunks = size / 64;
    let mut h = blake2b::init_state(64);
    let mut m = [0u64; 16];
    let full_pairs = nb_chunks / 2;
    for p in 0..full_pairs {
        m[..8].copy_from_slice(&gen.chunk(2 * p));
        m[8..].copy_from_slice(&gen.chunk(2 * p + 1));
        let t = (p as u64 + 1) * 128;
        let last = nb_chunks.is_multiple_of(2) && p + 1 == full_pairs;
        blake2b::compress_words(&mut h, &m, t, last);
    }
    if nb_chunks % 2 == 1 {
        m[..8].copy_from_slice(&gen.chunk(nb_chunks - 1));
        m[8..].fill(0);
        blake2b::compress_words(&mut h, &m, size as u64, true);
    }
    blake2b::words_to_bytes(&h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pipelined `blake2b_simd` digest and window equal the scalar digest and window, for
    /// odd and even chunk counts, ROMs shorter than one slice and spanning several, and pre-ROMs
    /// shorter than a slice (the pre-ROM index wraps inside a slice).
    #[test]
    fn pipelined_digest_equals_scalar() {
        let sizes = [
            (64usize, 64usize),
            (128, 64),
            (4160, 1024),
            (SLICE - 64, 4096),
            (SLICE, 1 << 16),
            (3 * SLICE + 64, 1 << 12),
            (SLICES_IN_FLIGHT * SLICE * 2 + 192, 1 << 20),
        ];
        for (size, pre_size) in sizes {
            let seed = seed(b"pipeline", size as u64);
            let gen = TwoStep::new(&seed, size, pre_size, 4);
            let len = size / 64 + 63;
            let (mut fast, mut slow) = (vec![0u8; len], vec![0u8; len]);
            let d_fast = digest_pipelined(&seed, size, pre_size, 4, &mut fast);
            fill_window(&gen, &mut slow);
            assert_eq!(d_fast, digest_scalar(&gen, size), "digest, size {size}");
            assert_eq!(fast, slow, "window, size {size}");
        }
    }

    #[test]
    fn fast_offset_equals_modulo() {
        for size in [64u64, 128, 4160, 65536, 10 << 20, 1 << 30, (1 << 32) - 64] {
            let rom = Rom {
                digest: [0; 64],
                size: size as usize,
                nb_chunks: (size / 64) as u32,
                mod_mul: (u64::MAX / (size / 64)).wrapping_add(1),
                window: crate::window::Window::new(0),
            };
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            for a in [
                0u64,
                1,
                63,
                64,
                u32::MAX as u64,
                u64::MAX,
                1 << 32,
                (1 << 32) - 1,
            ] {
                assert_eq!(rom.offset_fast(a) as usize, rom.offset(a), "{size} {a}");
            }
            for _ in 0..10_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                assert_eq!(rom.offset_fast(x) as usize, rom.offset(x), "{size} {x}");
            }
        }
    }
}
