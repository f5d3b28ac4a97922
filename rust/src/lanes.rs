//! Four independent BLAKE2b chains in lockstep (multi-buffer). The VM's H' chains are
//! `V <- B512(V)` on 64-byte values; hashing four nonces together lets one 256-bit instruction
//! advance all four chains. The layout is transposed: `v[word][lane]`.
//!
//! The kernel is chosen at run time (the binary must also run on CPUs without these
//! extensions): AVX-512VL, else AVX2, else portable; `SCAVENGER_SIMD=avx2|portable` caps it.

#![allow(clippy::needless_range_loop)] // index loops read clearer on transposed lane arrays

use crate::blake2b::{self, IV};

pub const LANES: usize = 4;
pub type Words4 = [[u64; LANES]; 8];
pub type Block4 = [[u64; LANES]; 16];

/// `v[.][lane] <- B512(v[.][lane])` for every lane.
pub type ChainStep = fn(&mut Words4);

/// Compression of four lanes: `h[.][lane]` with message `m[.][lane]`, same counter and flag.
pub type Compress4 = fn(&mut Words4, &Block4, u64, bool);

#[derive(Clone, Copy)]
pub struct Kernels {
    pub step: ChainStep,
    pub compress: Compress4,
    pub name: &'static str,
}

pub fn kernels() -> Kernels {
    #[cfg(target_arch = "x86_64")]
    {
        let simd = std::env::var("SCAVENGER_SIMD").unwrap_or_default();
        if simd != "portable"
            && simd != "avx2"
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vl")
        {
            return Kernels {
                step: step_avx512,
                compress: compress_avx512,
                name: "avx512vl",
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

pub fn compress_portable(h: &mut Words4, m: &Block4, t: u64, last: bool) {
    for lane in 0..LANES {
        let mut hl = [0u64; 8];
        let mut ml = [0u64; 16];
        for k in 0..8 {
            hl[k] = h[k][lane];
        }
        for k in 0..16 {
            ml[k] = m[k][lane];
        }
        blake2b::compress_words(&mut hl, &ml, t, last);
        for k in 0..8 {
            h[k][lane] = hl[k];
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn compress_avx2(h: &mut Words4, m: &Block4, t: u64, last: bool) {
    // SAFETY: only selected after `is_x86_feature_detected!("avx2")`.
    unsafe { avx2::compress(h, m, t, last) }
}

#[cfg(target_arch = "x86_64")]
fn compress_avx512(h: &mut Words4, m: &Block4, t: u64, last: bool) {
    // SAFETY: only selected after detecting avx512f and avx512vl.
    unsafe { avx512::compress(h, m, t, last) }
}

pub fn step_portable(v: &mut Words4) {
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
fn step_avx2(v: &mut Words4) {
    // SAFETY: only selected after `is_x86_feature_detected!("avx2")`.
    unsafe { avx2::step(v) }
}

#[cfg(target_arch = "x86_64")]
fn step_avx512(v: &mut Words4) {
    // SAFETY: only selected after detecting avx512f and avx512vl (which imply avx2).
    unsafe { avx512::step(v) }
}

// The same four-lane compression is generated twice: with AVX2 byte shuffles for the rotations,
// and with AVX-512VL's native 64-bit rotate (`vprorq`) on the same 256-bit registers.
macro_rules! lanes_impl {
    ($name:ident, $features:literal, $rot:ident) => {
        #[cfg(target_arch = "x86_64")]
        mod $name {
            use super::{Block4, Words4, IV};
            use crate::blake2b::SIGMA;
            use std::arch::x86_64::*;

            macro_rules! g {
                ($v:ident, $a:literal, $b:literal, $c:literal, $d:literal, $x:expr, $y:expr) => {
                    $v[$a] = _mm256_add_epi64(_mm256_add_epi64($v[$a], $v[$b]), $x);
                    $v[$d] = $rot!(32, _mm256_xor_si256($v[$d], $v[$a]));
                    $v[$c] = _mm256_add_epi64($v[$c], $v[$d]);
                    $v[$b] = $rot!(24, _mm256_xor_si256($v[$b], $v[$c]));
                    $v[$a] = _mm256_add_epi64(_mm256_add_epi64($v[$a], $v[$b]), $y);
                    $v[$d] = $rot!(16, _mm256_xor_si256($v[$d], $v[$a]));
                    $v[$c] = _mm256_add_epi64($v[$c], $v[$d]);
                    $v[$b] = $rot!(63, _mm256_xor_si256($v[$b], $v[$c]));
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

            /// General compression of four lanes sharing the byte counter and last-block flag.
            #[target_feature(enable = $features)]
            pub unsafe fn compress(h: &mut Words4, msg: &Block4, t: u64, last: bool) {
                let mut m = [_mm256_setzero_si256(); 16];
                for k in 0..16 {
                    m[k] = _mm256_loadu_si256(msg[k].as_ptr() as *const __m256i);
                }
                let mut hv = [_mm256_setzero_si256(); 8];
                for k in 0..8 {
                    hv[k] = _mm256_loadu_si256(h[k].as_ptr() as *const __m256i);
                }
                let mut v = [_mm256_setzero_si256(); 16];
                for k in 0..8 {
                    v[k] = hv[k];
                    v[k + 8] = _mm256_set1_epi64x(IV[k] as i64);
                }
                v[12] = _mm256_set1_epi64x((IV[4] ^ t) as i64);
                if last {
                    v[14] = _mm256_set1_epi64x(!IV[6] as i64);
                }
                round!(v, m, 0);
                round!(v, m, 1);
                round!(v, m, 2);
                round!(v, m, 3);
                round!(v, m, 4);
                round!(v, m, 5);
                round!(v, m, 6);
                round!(v, m, 7);
                round!(v, m, 8);
                round!(v, m, 9);
                round!(v, m, 10);
                round!(v, m, 11);
                for k in 0..8 {
                    let out = _mm256_xor_si256(hv[k], _mm256_xor_si256(v[k], v[k + 8]));
                    _mm256_storeu_si256(h[k].as_mut_ptr() as *mut __m256i, out);
                }
            }

            /// One chain step on four lanes: message = the 64-byte V (then zeros), t = 64, last.
            #[target_feature(enable = $features)]
            pub unsafe fn step(words: &mut Words4) {
                let zero = _mm256_setzero_si256();
                let mut m = [zero; 16];
                for k in 0..8 {
                    m[k] = _mm256_loadu_si256(words[k].as_ptr() as *const __m256i);
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
                let mut v = [zero; 16];
                for k in 0..8 {
                    v[k] = _mm256_set1_epi64x(h[k] as i64);
                    v[k + 8] = _mm256_set1_epi64x(IV[k] as i64);
                }
                v[12] = _mm256_set1_epi64x((IV[4] ^ 64) as i64);
                v[14] = _mm256_set1_epi64x(!IV[6] as i64);
                round!(v, m, 0);
                round!(v, m, 1);
                round!(v, m, 2);
                round!(v, m, 3);
                round!(v, m, 4);
                round!(v, m, 5);
                round!(v, m, 6);
                round!(v, m, 7);
                round!(v, m, 8);
                round!(v, m, 9);
                round!(v, m, 10);
                round!(v, m, 11);
                for k in 0..8 {
                    let out = _mm256_xor_si256(
                        _mm256_set1_epi64x(h[k] as i64),
                        _mm256_xor_si256(v[k], v[k + 8]),
                    );
                    _mm256_storeu_si256(words[k].as_mut_ptr() as *mut __m256i, out);
                }
            }
        }
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
        _mm256_ror_epi64($x, $n)
    };
}

lanes_impl!(avx2, "avx2", rot_avx2);
lanes_impl!(avx512, "avx2,avx512f,avx512vl", rot_avx512);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn general_compress_matches_scalar() {
        let mut h: Words4 = [[0; LANES]; 8];
        let mut m: Block4 = [[0; LANES]; 16];
        for l in 0..LANES {
            for k in 0..8 {
                h[k][l] = (k as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ l as u64;
            }
            for k in 0..16 {
                m[k][l] = (k as u64 + 7).wrapping_mul(0xc2b2_ae3d_27d4_eb4f) ^ (l as u64) << 7;
            }
        }
        for (t, last) in [(128u64, false), (200, true)] {
            let mut expect = h;
            compress_portable(&mut expect, &m, t, last);
            let mut got = h;
            (kernels().compress)(&mut got, &m, t, last);
            assert_eq!(got, expect);
            #[cfg(target_arch = "x86_64")]
            if is_x86_feature_detected!("avx2") {
                let mut got = h;
                compress_avx2(&mut got, &m, t, last);
                assert_eq!(got, expect);
            }
        }
    }

    #[test]
    fn lanes_match_scalar() {
        let mut v: Words4 = [[0; LANES]; 8];
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
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vl") {
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
