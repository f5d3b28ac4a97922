//! BLAKE2b (RFC 7693): compression function, a streaming state with cheap clone-finalize, and
//! Argon2's variable-length hash H'. Written for this crate so the hot VM path can call the
//! compression directly (no allocation, no trait indirection).

pub const IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

pub(crate) const SIGMA: [[usize; 16]; 12] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
];

macro_rules! g {
    ($v:ident, $a:literal, $b:literal, $c:literal, $d:literal, $x:expr, $y:expr) => {
        $v[$a] = $v[$a].wrapping_add($v[$b]).wrapping_add($x);
        $v[$d] = ($v[$d] ^ $v[$a]).rotate_right(32);
        $v[$c] = $v[$c].wrapping_add($v[$d]);
        $v[$b] = ($v[$b] ^ $v[$c]).rotate_right(24);
        $v[$a] = $v[$a].wrapping_add($v[$b]).wrapping_add($y);
        $v[$d] = ($v[$d] ^ $v[$a]).rotate_right(16);
        $v[$c] = $v[$c].wrapping_add($v[$d]);
        $v[$b] = ($v[$b] ^ $v[$c]).rotate_right(63);
    };
}

// Rounds are expanded with literal indices so every message-word index is a constant.
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

/// One compression on message words `m`. `t` is the byte counter *including* this block.
#[inline(always)]
pub fn compress_words(h: &mut [u64; 8], m: &[u64; 16], t: u64, last: bool) {
    crate::count::scalar();
    let mut v = [
        h[0],
        h[1],
        h[2],
        h[3],
        h[4],
        h[5],
        h[6],
        h[7],
        IV[0],
        IV[1],
        IV[2],
        IV[3],
        IV[4] ^ t,
        IV[5],
        IV[6] ^ if last { u64::MAX } else { 0 },
        IV[7],
    ];
    let m = *m;
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
    for i in 0..8 {
        h[i] ^= v[i] ^ v[i + 8];
    }
}

#[inline(always)]
pub fn block_words(block: &[u8; 128]) -> [u64; 16] {
    let mut m = [0u64; 16];
    for (i, w) in m.iter_mut().enumerate() {
        *w = u64::from_le_bytes(block[8 * i..8 * i + 8].try_into().unwrap());
    }
    m
}

#[inline(always)]
pub fn compress(h: &mut [u64; 8], block: &[u8; 128], t: u64, last: bool) {
    compress_words(h, &block_words(block), t, last);
}

#[inline(always)]
pub fn init_state(outlen: usize) -> [u64; 8] {
    let mut h = IV;
    // Parameter block: digest length, no key, fanout 1, depth 1.
    h[0] ^= 0x0101_0000 ^ outlen as u64;
    h
}

#[inline(always)]
pub fn words_to_bytes(h: &[u64; 8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (i, w) in h.iter().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// Streaming BLAKE2b. The last block is only compressed at finalization (BLAKE2 rule), so a
/// full buffer is kept until more data arrives.
#[derive(Clone)]
pub struct State {
    h: [u64; 8],
    t: u64,
    buf: [u8; 128],
    buflen: usize,
    outlen: usize,
}

impl State {
    pub fn new(outlen: usize) -> Self {
        debug_assert!((1..=64).contains(&outlen));
        State {
            h: init_state(outlen),
            t: 0,
            buf: [0; 128],
            buflen: 0,
            outlen,
        }
    }

    pub fn new512() -> Self {
        Self::new(64)
    }

    /// A 64-byte-output state from its parts (used by the multi-lane hasher).
    pub fn from_parts(h: [u64; 8], t: u64, buf: [u8; 128], buflen: usize) -> Self {
        State {
            h,
            t,
            buf,
            buflen,
            outlen: 64,
        }
    }

    /// Finalizes a copy after absorbing `extra` bytes, without copying the state twice.
    #[inline]
    pub fn peek_with(&self, extra: &[u8]) -> [u8; 64] {
        let mut s = self.clone();
        s.update(extra);
        s.peek()
    }

    #[inline]
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.buflen == 128 {
                self.t += 128;
                compress(&mut self.h, &self.buf, self.t, false);
                self.buflen = 0;
                // Whole blocks straight from the input while more than a block remains.
                while data.len() > 128 {
                    self.t += 128;
                    compress(&mut self.h, data[..128].try_into().unwrap(), self.t, false);
                    data = &data[128..];
                }
            }
            let take = (128 - self.buflen).min(data.len());
            self.buf[self.buflen..self.buflen + take].copy_from_slice(&data[..take]);
            self.buflen += take;
            data = &data[take..];
        }
    }

    /// Finalizes a copy of the state: the state itself can keep absorbing.
    #[inline]
    pub fn peek(&self) -> [u8; 64] {
        let mut h = self.h;
        let mut block = self.buf;
        block[self.buflen..].fill(0);
        compress(&mut h, &block, self.t + self.buflen as u64, true);
        words_to_bytes(&h)
    }

    /// First 8 output bytes of a copy, as LE u64 (the VM's "special" values).
    #[inline]
    pub fn peek_u64(&self) -> u64 {
        let mut h = self.h;
        let mut block = self.buf;
        block[self.buflen..].fill(0);
        compress(&mut h, &block, self.t + self.buflen as u64, true);
        h[0]
    }

    pub fn finalize(&self) -> [u8; 64] {
        let mut out = self.peek();
        out[self.outlen..].fill(0);
        out
    }
}

/// BLAKE2b with output length `outlen` over the concatenation of `parts`.
pub fn hash_parts(outlen: usize, parts: &[&[u8]]) -> [u8; 64] {
    let mut s = State::new(outlen);
    for p in parts {
        s.update(p);
    }
    s.finalize()
}

/// BLAKE2b with output length `outlen` of a message of at most one block: `len` bytes, given as
/// the little-endian words `words` (at most 16; the rest of the block is zero).
#[inline(always)]
pub fn hash_block_words(outlen: usize, words: &[u64], len: u64) -> [u64; 8] {
    let mut m = [0u64; 16];
    m[..words.len()].copy_from_slice(words);
    let mut h = init_state(outlen);
    compress_words(&mut h, &m, len, true);
    h
}

/// B512 of exactly 64 bytes: a single compression.
#[inline(always)]
pub fn b512_64(input: &[u64; 8]) -> [u64; 8] {
    hash_block_words(64, input, 64)
}

#[inline(always)]
pub fn bytes_to_words(b: &[u8; 64]) -> [u64; 8] {
    let mut w = [0u64; 8];
    for (i, x) in w.iter_mut().enumerate() {
        *x = u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap());
    }
    w
}

/// Argon2's H' (variable-length hash), streamed: `sink` receives the output in order, in pieces
/// of at most 64 bytes. `parts` concatenated form X.
pub fn hprime_stream(len: usize, parts: &[&[u8]], mut sink: impl FnMut(&[u8])) {
    assert!(len > 0 && len <= u32::MAX as usize);
    let prefix = (len as u32).to_le_bytes();
    if len <= 64 {
        let mut s = State::new(len);
        s.update(&prefix);
        for p in parts {
            s.update(p);
        }
        sink(&s.finalize()[..len]);
        return;
    }
    let mut s = State::new512();
    s.update(&prefix);
    for p in parts {
        s.update(p);
    }
    let mut v = bytes_to_words(&s.finalize());
    let mut rem = len;
    sink(&words_to_bytes(&v)[..32]);
    rem -= 32;
    while rem > 64 {
        v = b512_64(&v);
        sink(&words_to_bytes(&v)[..32]);
        rem -= 32;
    }
    // Tail: a full BLAKE2b with outlen = rem over the 64-byte V.
    sink(&words_to_bytes(&hash_block_words(rem, &v, 64))[..rem]);
}

/// Argon2's H' read on demand, in order: the same bytes as `hprime_stream`, but the caller
/// pulls them (32 bytes per compression) instead of receiving them all at once, so a consumer
/// can interleave H' with other work and never store the whole output.
pub struct HPrimeReader {
    v: [u64; 8],
    /// Output bytes not yet computed.
    rem: usize,
    piece: [u8; 64],
    piece_len: usize,
    piece_pos: usize,
}

impl HPrimeReader {
    pub fn new(len: usize, parts: &[&[u8]]) -> Self {
        assert!(len > 0 && len <= u32::MAX as usize);
        let prefix = (len as u32).to_le_bytes();
        let mut s = State::new(len.min(64));
        s.update(&prefix);
        for p in parts {
            s.update(p);
        }
        let first = s.finalize();
        let (piece_len, rem) = if len <= 64 { (len, 0) } else { (32, len - 32) };
        HPrimeReader {
            v: bytes_to_words(&first),
            rem,
            piece: first,
            piece_len,
            piece_pos: 0,
        }
    }

    /// The next `out.len()` bytes of the output. Panics past its end.
    pub fn read(&mut self, mut out: &mut [u8]) {
        while !out.is_empty() {
            if self.piece_pos == self.piece_len {
                assert!(self.rem > 0, "read past the end of H'");
                if self.rem > 64 {
                    self.v = b512_64(&self.v);
                    self.piece = words_to_bytes(&self.v);
                    self.piece_len = 32;
                } else {
                    self.piece = words_to_bytes(&hash_block_words(self.rem, &self.v, 64));
                    self.piece_len = self.rem;
                }
                self.rem -= self.piece_len;
                self.piece_pos = 0;
            }
            let n = (self.piece_len - self.piece_pos).min(out.len());
            out[..n].copy_from_slice(&self.piece[self.piece_pos..self.piece_pos + n]);
            self.piece_pos += n;
            out = &mut out[n..];
        }
    }
}

pub fn hprime(out: &mut [u8], parts: &[&[u8]]) {
    let mut pos = 0;
    hprime_stream(out.len(), parts, |piece| {
        out[pos..pos + piece.len()].copy_from_slice(piece);
        pos += piece.len();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn rfc7693_abc() {
        let d = hash_parts(64, &[b"abc"]);
        assert_eq!(
            hex(&d),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1\
             7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"
        );
    }

    #[test]
    fn hprime_reader_equals_hprime() {
        let mut lens: Vec<usize> = (1..=200).collect();
        lens.extend([255, 256, 257, 1000, 4096, 4096 + 7, 65536]);
        for len in lens {
            let mut whole = vec![0u8; len];
            hprime(&mut whole, &[b"reader", &len.to_le_bytes()]);
            // Reads of varying sizes, across piece boundaries.
            let mut r = HPrimeReader::new(len, &[b"reader", &len.to_le_bytes()]);
            let mut got = vec![0u8; len];
            let (mut pos, mut step) = (0, 1);
            while pos < len {
                let n = step.min(len - pos);
                r.read(&mut got[pos..pos + n]);
                pos += n;
                step = step % 97 + 13;
            }
            assert_eq!(got, whole, "len {len}");
        }
    }

    #[test]
    fn empty_and_streaming_split() {
        assert_eq!(
            hex(&hash_parts(64, &[])),
            "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419\
             d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce"
        );
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let whole = hash_parts(64, &[&data]);
        for split in [0, 1, 127, 128, 129, 256, 999] {
            let mut s = State::new512();
            s.update(&data[..split]);
            s.update(&data[split..]);
            assert_eq!(s.finalize(), whole, "split {split}");
        }
    }
}
