// Kernels: one work-item per preimage. Built after blake2b.cl and vm.cl (concatenated in that
// order by scavenger.core.opencl.kernel).

// 16 lowercase hex digits of n (rust: search::format_nonce).
void format_nonce(ulong n, uchar out[16]) {
    for (int i = 0; i < 16; i++) {
        uint d = (uint)((n >> (60 - 4 * i)) & 0xf);
        out[i] = (uchar)(d < 10 ? '0' + d : 'a' + d - 10);
    }
}

// Difficulty rule: BE32(digest[0..4]) & ~mask == 0.
int meets(const ulong h[8], uint mask) {
    uint lo = (uint)h[0];
    uint prefix = ((lo & 0xff) << 24) | ((lo & 0xff00) << 8) | ((lo >> 8) & 0xff00) | (lo >> 24);
    return (prefix & ~mask) == 0;
}

// Digests of arbitrary preimages: preimage i is bytes[offsets[i] .. offsets[i+1]].
__kernel void ashmaize_hash(__global const ulong* window, uint nb_chunks, __global const ulong* rom_digest,
                            __global const uchar* bytes, __global const uint* offsets, uint count,
                            uint nb_loops, uint nb_instrs, __global ulong* out) {
    uint i = get_global_id(0);
    if (i >= count) return;
    uint lo = offsets[i];
    uint len = offsets[i + 1] - lo;
    uchar none[1] = {0};
    ulong h[8];
    ashmaize(h, window, nb_chunks, rom_digest, none, 0, bytes + lo, len, nb_loops, nb_instrs);
    for (int k = 0; k < 8; k++) out[8 * i + k] = h[k];
}

// Digests of nonces start .. start+count-1 (preimage = 16 hex digits || suffix).
__kernel void ashmaize_nonces(__global const ulong* window, uint nb_chunks, __global const ulong* rom_digest,
                              __global const uchar* suffix, uint suffix_len, ulong start, uint count,
                              uint nb_loops, uint nb_instrs, __global ulong* out) {
    uint i = get_global_id(0);
    if (i >= count) return;
    uchar prefix[16];
    format_nonce(start + i, prefix);
    ulong h[8];
    ashmaize(h, window, nb_chunks, rom_digest, prefix, 16, suffix, suffix_len, nb_loops, nb_instrs);
    for (int k = 0; k < 8; k++) out[8 * i + k] = h[k];
}

// Search: best[0] receives the smallest passing offset i (start + i is the nonce).
__kernel void ashmaize_search(__global const ulong* window, uint nb_chunks, __global const ulong* rom_digest,
                              __global const uchar* suffix, uint suffix_len, ulong start, uint count,
                              uint nb_loops, uint nb_instrs, uint mask, __global volatile uint* best) {
    uint i = get_global_id(0);
    if (i >= count) return;
    uchar prefix[16];
    format_nonce(start + i, prefix);
    ulong h[8];
    ashmaize(h, window, nb_chunks, rom_digest, prefix, 16, suffix, suffix_len, nb_loops, nb_instrs);
    if (meets(h, mask)) atomic_min(best, i);
}
