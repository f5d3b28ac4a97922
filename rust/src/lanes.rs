//! Eight independent BLAKE2b chains in lockstep (multi-buffer). The VM's H' chains are
//! `V <- B512(V)` on 64-byte values; hashing eight nonces together lets one 512-bit instruction
//! (or two 256-bit ones) advance all eight chains. The layout is transposed: `v[word][lane]`.
//!
//! The kernel is chosen at run time (the binary must also run on CPUs without these
//! extensions): AVX-512 (zmm, 8 lanes per instruction), else AVX2 (two 4-lane halves), else
//! portable; `SCAVENGER_SIMD=avx2|portable` caps it. On the Zen 4 development VM the zmm kernel
//! costs 30 ns per lane-compression against 37 ns for 4-lane ymm with AVX-512VL rotates
//! (docs/core.md).

#![allow(clippy::needless_range_loop)] // index loops read clearer on transposed lane arrays

use crate::blake2b::{self, IV};

pub const LANES: usize = 8;
pub type Words = [[u64; LANES]; 8];
pub type Block = [[u64; LANES]; 16];

/// `v[.][lane] <- B512(v[.][lane])` for every lane.
pub type ChainStep = fn(&mut Words);

/// Compression of all lanes: `h[.][lane]` with message `m[.][lane]`, byte counter `t[lane]`
/// and finalization flag word `f[lane]` (0, or all ones for a last block).
pub type Compress = fn(&mut Words, &Block, &[u64; LANES], &[u64; LANES]);

/// `f` word of a last block.
pub const LAST: u64 = u64::MAX;

#[derive(Clone, Copy)]
pub struct Kernels {
    pub step: ChainStep,
    pub compress: Compress,
    pub name: &'static str,
}

pub fn kernels() -> Kernels {
    #[cfg(target_arch = "x86_64")]
    {
        let simd = std::env::var("SCAVENGER_SIMD").unwrap_or_default();
        if simd != "portable" && simd != "avx2" && is_x86_feature_detected!("avx512f") {
            return Kernels {
                step: step_avx512,
                compress: compress_avx512,
                name: "avx512",
            };
        }
        if simd != "portable" && is_x86_feature_detected!("avx2") {
            return Kernels {
                step: step_avx2,
                compress: compress_avx2,
                name: "avx2",
            };
        }
    }
    Kernels {
        step: step_portable,
        compress: compress_portable,
        name: "portable",
    }
}

pub fn compress_portable(h: &mut Words, m: &Block, t: &[u64; LANES], f: &[u64; LANES]) {
    for lane in 0..LANES {
        let mut hl = [0u64; 8];
        let mut ml = [0u64; 16];
        for k in 0..8 {
            hl[k] = h[k][lane];
        }
        for k in 0..16 {
            ml[k] = m[k][lane];
        }
        blake2b::compress_words(&mut hl, &ml, t[lane], f[lane] != 0);
        for k in 0..8 {
            h[k][lane] = hl[k];
        }
    }
}

pub fn step_portable(v: &mut Words) {
    for lane in 0..LANES {
        let mut w = [0u64; 8];
        for k in 0..8 {
            w[k] = v[k][lane];
        }
        let out = blake2b::b512_64(&w);
        for k in 0..8 {
            v[k][lane] = out[k];
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn compress_avx2(h: &mut Words, m: &Block, t: &[u64; LANES], f: &[u64; LANES]) {
    // SAFETY: only selected after `is_x86_feature_detected!("avx2")`.
    unsafe {
        avx2::compress(h, m, t, f, 0);
        avx2::compress(h, m, t, f, 4);
    }
}

#[cfg(target_arch = "x86_64")]
fn step_avx2(v: &mut Words) {
    // SAFETY: only selected after `is_x86_feature_detected!("avx2")`.
    unsafe {
        avx2::step(v, 0);
        avx2::step(v, 4);
    }
}

#[cfg(target_arch = "x86_64")]
fn compress_avx512(h: &mut Words, m: &Block, t: &[u64; LANES], f: &[u64; LANES]) {
    // SAFETY: only selected after detecting avx512f.
    unsafe { avx512::compress(h, m, t, f, 0) }
}

#[cfg(target_arch = "x86_64")]
fn step_avx512(v: &mut Words) {
    // SAFETY: only selected after detecting avx512f.
    unsafe { avx512::step(v, 0) }
}

// The same compression is generated for two vector widths: AVX2 on 256-bit registers (4 lanes
// from `first`, rotations by byte shuffles) and AVX-512F on 512-bit registers (all 8 lanes,
// native 64-bit rotates).
macro_rules! lanes_impl {
    ($name:ident, $features:literal, $t:ty, $p:ident, $rot:ident) => {
        #[cfg(target_arch = "x86_64")]
        mod $name {
            use super::{Block, Words, IV, LANES};
            use crate::blake2b::SIGMA;
            use std::arch::x86_64::*;

            macro_rules! g {
                ($v:ident, $a:literal, $b:literal, $c:literal, $d:literal, $x:expr, $y:expr) => {
                    $v[$a] = $p!(add, $p!(add, $v[$a], $v[$b]), $x);
                    $v[$d] = $rot!(32, $p!(xor, $v[$d], $v[$a]));
                    $v[$c] = $p!(add, $v[$c], $v[$d]);
                    $v[$b] = $rot!(24, $p!(xor, $v[$b], $v[$c]));
                    $v[$a] = $p!(add, $p!(add, $v[$a], $v[$b]), $y);
                    $v[$d] = $rot!(16, $p!(xor, $v[$d], $v[$a]));
                    $v[$c] = $p!(add, $v[$c], $v[$d]);
                    $v[$b] = $rot!(63, $p!(xor, $v[$b], $v[$c]));
                };
            }

            macro_rules! round {
                ($v:ident, $m:ident, $r:literal) => {
                    g!($v, 0, 4, 8, 12, $m[SIGMA[$r][0]], $m[SIGMA[$r][1]]);
                    g!($v, 1, 5, 9, 13, $m[SIGMA[$r][2]], $m[SIGMA[$r][3]]);
                    g!($v, 2, 6, 10, 14, $m[SIGMA[$r][4]], $m[SIGMA[$r][5]]);
                    g!($v, 3, 7, 11, 15, $m[SIGMA[$r][6]], $m[SIGMA[$r][7]]);
                    g!($v, 0, 5, 10, 15, $m[SIGMA[$r][8]], $m[SIGMA[$r][9]]);
                    g!($v, 1, 6, 11, 12, $m[SIGMA[$r][10]], $m[SIGMA[$r][11]]);
                    g!($v, 2, 7, 8, 13, $m[SIGMA[$r][12]], $m[SIGMA[$r][13]]);
                    g!($v, 3, 4, 9, 14, $m[SIGMA[$r][14]], $m[SIGMA[$r][15]]);
                };
            }

            macro_rules! rounds {
                ($v:ident, $m:ident) => {
                    round!($v, $m, 0);
                    round!($v, $m, 1);
                    round!($v, $m, 2);
                    round!($v, $m, 3);
                    round!($v, $m, 4);
                    round!($v, $m, 5);
                    round!($v, $m, 6);
                    round!($v, $m, 7);
                    round!($v, $m, 8);
                    round!($v, $m, 9);
                    round!($v, $m, 10);
                    round!($v, $m, 11);
                };
            }

            /// Compression of the lanes `first ..` that one register holds, each lane with its
            /// own counter and flag word.
            #[target_feature(enable = $features)]
            pub unsafe fn compress(
                h: &mut Words,
                msg: &Block,
                t: &[u64; LANES],
                f: &[u64; LANES],
                first: usize,
            ) {
                let mut m: [$t; 16] = [$p!(zero); 16];
                for k in 0..16 {
                    m[k] = $p!(load, msg[k][first..].as_ptr());
                }
                let mut hv: [$t; 8] = [$p!(zero); 8];
                for k in 0..8 {
                    hv[k] = $p!(load, h[k][first..].as_ptr());
                }
                let mut v: [$t; 16] = [$p!(zero); 16];
                for k in 0..8 {
                    v[k] = hv[k];
                    v[k + 8] = $p!(set1, IV[k]);
                }
                v[12] = $p!(xor, v[12], $p!(load, t[first..].as_ptr()));
                v[14] = $p!(xor, v[14], $p!(load, f[first..].as_ptr()));
                rounds!(v, m);
                for k in 0..8 {
                    let out = $p!(xor, hv[k], $p!(xor, v[k], v[k + 8]));
                    $p!(store, h[k][first..].as_mut_ptr(), out);
                }
            }

            /// One chain step of the lanes `first ..` one register holds: message = the 64-byte
            /// V (then zeros), t = 64, last block.
            #[target_feature(enable = $features)]
            pub unsafe fn step(words: &mut Words, first: usize) {
                let mut m: [$t; 16] = [$p!(zero); 16];
                for k in 0..8 {
                    m[k] = $p!(load, words[k][first..].as_ptr());
                }
                // Parameter block: 64-byte digest, fanout 1, depth 1.
                let h = [
                    IV[0] ^ 0x0101_0040,
                    IV[1],
                    IV[2],
                    IV[3],
                    IV[4],
                    IV[5],
                    IV[6],
                    IV[7],
                ];
                let mut v: [$t; 16] = [$p!(zero); 16];
                for k in 0..8 {
                    v[k] = $p!(set1, h[k]);
                    v[k + 8] = $p!(set1, IV[k]);
                }
                v[12] = $p!(set1, IV[4] ^ 64);
                v[14] = $p!(set1, !IV[6]);
                rounds!(v, m);
                for k in 0..8 {
                    let out = $p!(xor, $p!(set1, h[k]), $p!(xor, v[k], v[k + 8]));
                    $p!(store, words[k][first..].as_mut_ptr(), out);
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
macro_rules! p256 {
    (zero) => {
        _mm256_setzero_si256()
    };
    (add, $a:expr, $b:expr) => {
        _mm256_add_epi64($a, $b)
    };
    (xor, $a:expr, $b:expr) => {
        _mm256_xor_si256($a, $b)
    };
    (set1, $x:expr) => {
        _mm256_set1_epi64x($x as i64)
    };
    (load, $p:expr) => {
        _mm256_loadu_si256($p as *const __m256i)
    };
    (store, $p:expr, $v:expr) => {
        _mm256_storeu_si256($p as *mut __m256i, $v)
    };
}

#[cfg(target_arch = "x86_64")]
macro_rules! p512 {
    (zero) => {
        _mm512_setzero_si512()
    };
    (add, $a:expr, $b:expr) => {
        _mm512_add_epi64($a, $b)
    };
    (xor, $a:expr, $b:expr) => {
        _mm512_xor_si512($a, $b)
    };
    (set1, $x:expr) => {
        _mm512_set1_epi64($x as i64)
    };
    (load, $p:expr) => {
        _mm512_loadu_si512($p as *const _)
    };
    (store, $p:expr, $v:expr) => {
        _mm512_storeu_si512($p as *mut _, $v)
    };
}

#[cfg(target_arch = "x86_64")]
macro_rules! rot_avx2 {
    (32, $x:expr) => {
        _mm256_shuffle_epi32($x, 0b10_11_00_01)
    };
    (24, $x:expr) => {
        _mm256_shuffle_epi8(
            $x,
            _mm256_setr_epi8(
                3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3, 4, 5, 6, 7, 0, 1, 2, 11,
                12, 13, 14, 15, 8, 9, 10,
            ),
        )
    };
    (16, $x:expr) => {
        _mm256_shuffle_epi8(
            $x,
            _mm256_setr_epi8(
                2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2, 3, 4, 5, 6, 7, 0, 1, 10,
                11, 12, 13, 14, 15, 8, 9,
            ),
        )
    };
    (63, $x:expr) => {{
        let x = $x;
        _mm256_or_si256(_mm256_srli_epi64(x, 63), _mm256_add_epi64(x, x))
    }};
}

#[cfg(target_arch = "x86_64")]
macro_rules! rot_avx512 {
    ($n:literal, $x:expr) => {
        _mm512_ror_epi64($x, $n)
    };
}

lanes_impl!(avx2, "avx2", __m256i, p256, rot_avx2);
lanes_impl!(avx512, "avx2,avx512f", __m512i, p512, rot_avx512);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn general_compress_matches_scalar() {
        let mut h: Words = [[0; LANES]; 8];
        let mut m: Block = [[0; LANES]; 16];
        for l in 0..LANES {
            for k in 0..8 {
                h[k][l] = (k as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ l as u64;
            }
            for k in 0..16 {
                m[k][l] = (k as u64 + 7).wrapping_mul(0xc2b2_ae3d_27d4_eb4f) ^ (l as u64) << 7;
            }
        }
        // Per-lane counters and flags, mixed in one call.
        let t = [128u64, 200, 1 << 40, 64, 0, 1, 333, 1 << 20];
        let f = [0, LAST, LAST, 0, LAST, 0, 0, LAST];
        let mut expect = h;
        compress_portable(&mut expect, &m, &t, &f);
        for lane in 0..LANES {
            let mut hl: [u64; 8] = std::array::from_fn(|k| h[k][lane]);
            let ml: [u64; 16] = std::array::from_fn(|k| m[k][lane]);
            blake2b::compress_words(&mut hl, &ml, t[lane], f[lane] != 0);
            for k in 0..8 {
                assert_eq!(expect[k][lane], hl[k]);
            }
        }
        let mut got = h;
        (kernels().compress)(&mut got, &m, &t, &f);
        assert_eq!(got, expect);
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                let mut got = h;
                compress_avx2(&mut got, &m, &t, &f);
                assert_eq!(got, expect);
            }
            if is_x86_feature_detected!("avx512f") {
                let mut got = h;
                compress_avx512(&mut got, &m, &t, &f);
                assert_eq!(got, expect);
            }
        }
    }

    #[test]
    fn lanes_match_scalar() {
        let mut v: Words = [[0; LANES]; 8];
        for k in 0..8 {
            for l in 0..LANES {
                v[k][l] = (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    ^ (l as u64).wrapping_mul(0x1234_5678_9abc_def1);
            }
        }
        let mut expect = v;
        step_portable(&mut expect);
        let mut got = v;
        (kernels().step)(&mut got);
        assert_eq!(got, expect);
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                let mut got = v;
                step_avx2(&mut got);
                assert_eq!(got, expect);
            }
            if is_x86_feature_detected!("avx512f") {
                let mut got = v;
                step_avx512(&mut got);
                assert_eq!(got, expect);
            }
        }
        // And the portable step is B512 of the 64 bytes.
        let mut w = [0u64; 8];
        for k in 0..8 {
            w[k] = v[k][2];
        }
        let bytes = blake2b::words_to_bytes(&w);
        let want = blake2b::hash_parts(64, &[&bytes]);
        for k in 0..8 {
            assert_eq!(expect[k][2].to_le_bytes(), want[8 * k..8 * k + 8]);
        }
    }
}
