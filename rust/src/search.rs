//! Multi-threaded nonce search returning the smallest passing nonce of a range, i.e. exactly the
//! answer of a sequential scan.
//!
//! Threads take small chunks of the range in increasing order from a shared cursor and publish
//! any hit into an atomic minimum. A thread stops as soon as its next nonce is above the best hit:
//! every nonce below the best was handed out earlier and is finished by its owner, so the minimum
//! over all hits is the smallest passing nonce.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::lanes::LANES;
use crate::rom::Rom;
use crate::vm::{Hasher, MultiHasher};

pub struct Found {
    pub nonce: Option<u64>,
    pub hash: Option<[u8; 64]>,
    pub hashes: u64,
}

pub fn format_nonce(n: u64, out: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in 0..16 {
        out[i] = HEX[((n >> (60 - 4 * i)) & 0xf) as usize];
    }
}

#[inline]
pub fn meets(digest: &[u8; 64], mask: u32) -> bool {
    let prefix = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    prefix & !mask == 0
}

/// Scans `first ..= last` (inclusive, so the full u64 range is expressible).
#[allow(clippy::too_many_arguments)]
pub fn search(
    rom: &Rom,
    suffix: &[u8],
    first: u64,
    last: u64,
    mask: u32,
    threads: usize,
    nb_loops: u32,
    nb_instrs: u32,
) -> Found {
    // Offsets from `first`, so `last - first + 1` never overflows below 2^64 nonces.
    // One lane group per fetch: a smaller tail when threads finish a bounded range.
    const CHUNK: u64 = LANES as u64;
    let span = last - first; // inclusive offset of the last nonce
    let cursor = AtomicU64::new(0);
    let exhausted = AtomicBool::new(false);
    let best = AtomicU64::new(u64::MAX); // offset of the best hit; MAX = none
    let hashes = AtomicU64::new(0);
    let best_hash = std::sync::Mutex::new(None::<(u64, [u8; 64])>);
    let threads = threads.max(1);

    let worker = || {
        let mut hasher = Hasher::new();
        let mut multi = MultiHasher::new();
        let mut preimages = vec![vec![0u8; 16 + suffix.len()]; LANES];
        for p in preimages.iter_mut() {
            p[16..].copy_from_slice(suffix);
        }
        let mut done = 0u64;
        // Returns true when this worker must stop (hit found or range beaten by a better hit).
        let record = |off: u64, digest: &[u8; 64]| -> bool {
            if meets(digest, mask) {
                best.fetch_min(off, Ordering::Relaxed);
                let mut g = best_hash.lock().unwrap_or_else(|e| e.into_inner());
                if g.is_none_or(|(o, _)| off < o) {
                    *g = Some((off, *digest));
                }
                return true;
            }
            false
        };
        'outer: loop {
            if exhausted.load(Ordering::Relaxed) {
                break;
            }
            let lo = cursor.fetch_add(CHUNK, Ordering::Relaxed);
            // fetch_add can wrap only after ~2^60 chunks, far beyond any real run.
            if lo > span {
                exhausted.store(true, Ordering::Relaxed);
                break;
            }
            let hi = lo.saturating_add(CHUNK - 1).min(span);
            if hi == span {
                exhausted.store(true, Ordering::Relaxed);
            }
            let mut off = lo;
            // Full groups of LANES nonces go through the multi-buffer hasher, the rest one by one.
            while hi - off + 1 >= LANES as u64 {
                if off > best.load(Ordering::Relaxed) {
                    break 'outer;
                }
                for (lane, p) in preimages.iter_mut().enumerate() {
                    format_nonce(first + off + lane as u64, &mut p[..16]);
                }
                let refs: [&[u8]; LANES] = std::array::from_fn(|l| preimages[l].as_slice());
                let digests = multi.hash(rom, refs, nb_loops, nb_instrs);
                done += LANES as u64;
                for (lane, digest) in digests.iter().enumerate() {
                    if record(off + lane as u64, digest) {
                        break 'outer;
                    }
                }
                if off + LANES as u64 - 1 == hi {
                    continue 'outer;
                }
                off += LANES as u64;
            }
            loop {
                if off > best.load(Ordering::Relaxed) {
                    break 'outer;
                }
                format_nonce(first + off, &mut preimages[0][..16]);
                let digest = hasher.hash(rom, &preimages[0], nb_loops, nb_instrs);
                done += 1;
                if record(off, &digest) {
                    break 'outer;
                }
                if off == hi {
                    break;
                }
                off += 1;
            }
        }
        hashes.fetch_add(done, Ordering::Relaxed);
    };

    if threads == 1 {
        worker();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(worker);
            }
        });
    }

    let found = best_hash.into_inner().unwrap_or_else(|e| e.into_inner());
    Found {
        nonce: found.map(|(o, _)| first + o),
        hash: found.map(|(_, h)| h),
        hashes: hashes.load(Ordering::Relaxed),
    }
}
