// BLAKE2b (RFC 7693) for the AshMaize kernel: the same pieces as rust/src/blake2b.rs.
// Everything works on little-endian 64-bit words: every message the VM hashes is
// word-aligned once its 4-byte length prefixes are folded in by the callers.

__constant ulong IV[8] = {
    0x6a09e667f3bcc908UL, 0xbb67ae8584caa73bUL, 0x3c6ef372fe94f82bUL, 0xa54ff53a5f1d36f1UL,
    0x510e527fade682d1UL, 0x9b05688c2b3e6c1fUL, 0x1f83d9abfb41bd6bUL, 0x5be0cd19137e2179UL,
};

#define ROTR64(x, n) rotate((ulong)(x), (ulong)(64 - (n)))

#define G(a, b, c, d, x, y)              \
    do {                                 \
        v[a] = v[a] + v[b] + (x);        \
        v[d] = ROTR64(v[d] ^ v[a], 32);  \
        v[c] = v[c] + v[d];              \
        v[b] = ROTR64(v[b] ^ v[c], 24);  \
        v[a] = v[a] + v[b] + (y);        \
        v[d] = ROTR64(v[d] ^ v[a], 16);  \
        v[c] = v[c] + v[d];              \
        v[b] = ROTR64(v[b] ^ v[c], 63);  \
    } while (0)

// One round with literal message indices (the SIGMA row written out), as the Rust `round!`.
#define ROUND(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15) \
    do {                                                                           \
        G(0, 4, 8, 12, m[s0], m[s1]);                                              \
        G(1, 5, 9, 13, m[s2], m[s3]);                                              \
        G(2, 6, 10, 14, m[s4], m[s5]);                                             \
        G(3, 7, 11, 15, m[s6], m[s7]);                                             \
        G(0, 5, 10, 15, m[s8], m[s9]);                                             \
        G(1, 6, 11, 12, m[s10], m[s11]);                                           \
        G(2, 7, 8, 13, m[s12], m[s13]);                                            \
        G(3, 4, 9, 14, m[s14], m[s15]);                                            \
    } while (0)

// One shared copy of the compression instead of one per call site: smaller code, fewer instruction-cache
// misses on GPUs, at the price of real calls. Measured on an NVIDIA H200 (scripts/gpu-check.sh, real
// parameters, work-group 64): 326k H/s shared vs 187k H/s inlined. -DASHMAIZE_INLINE builds the inlined
// form for A/B runs.
#ifdef ASHMAIZE_INLINE
#define COMPRESS_ATTR
#else
#define COMPRESS_ATTR __attribute__((noinline))
#endif

// One compression on message words `m`. `t` is the byte counter *including* this block.
COMPRESS_ATTR void compress_words(ulong h[8], const ulong m[16], ulong t, int last) {
    ulong v[16];
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = IV[i];
    }
    v[12] ^= t;
    if (last) v[14] = ~v[14];
    ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);
    ROUND(11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4);
    ROUND(7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8);
    ROUND(9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13);
    ROUND(2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9);
    ROUND(12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11);
    ROUND(13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10);
    ROUND(6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5);
    ROUND(10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0);
    ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);
    for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

// Parameter block: digest length, no key, fanout 1, depth 1.
void init_state(ulong h[8], uint outlen) {
    for (int i = 0; i < 8; i++) h[i] = IV[i];
    h[0] ^= 0x01010000UL ^ (ulong)outlen;
}

// BLAKE2b-512 of one block holding `len` bytes given as the 8 words `w` (rest zero).
void hash_block_words8(ulong out[8], const ulong w[8], ulong len) {
    ulong m[16];
    for (int i = 0; i < 8; i++) {
        m[i] = w[i];
        m[i + 8] = 0;
    }
    init_state(out, 64);
    compress_words(out, m, len, 1);
}

// B512 of exactly 64 bytes: a single compression (one step of an H' chain), in place.
void b512_64(ulong v[8]) {
    ulong m[16];
    for (int i = 0; i < 8; i++) {
        m[i] = v[i];
        m[i + 8] = 0;
    }
    init_state(v, 64);
    compress_words(v, m, 64, 1);
}

// First block of H'(len, x) for a 64-byte x: V1 = B512(LE32(len) || x), 68 bytes. The 4-byte
// prefix shifts x by half a word.
void hprime_first(ulong v[8], uint len, const ulong x[8]) {
    ulong m[16];
    m[0] = (ulong)len | (x[0] << 32);
    for (int i = 1; i < 8; i++) m[i] = (x[i - 1] >> 32) | (x[i] << 32);
    m[8] = x[7] >> 32;
    for (int i = 9; i < 16; i++) m[i] = 0;
    init_state(v, 64);
    compress_words(v, m, 68, 1);
}
