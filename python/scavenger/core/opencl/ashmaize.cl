// The kernel: one work-item per preimage. Built after blake2b.cl and vm.cl (concatenated in that
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

// One kernel for every use (one copy of the VM to compile), one work-item per preimage:
//   ASH_SEARCH     nonces start+i (16 hex digits || suffix); best[0] = the smallest passing i
//   ASH_NONCES     the same preimages; their digests go to out[8i .. 8i+8]
//   ASH_PREIMAGES  preimage i = bytes[offsets[i] .. offsets[i+1]]; digests to out
#define ASH_SEARCH 0
#define ASH_NONCES 1
#define ASH_PREIMAGES 2

__kernel void ashmaize_run(__global const ulong* window, uint nb_chunks, __global const ulong* rom_digest,
                           __global const uchar* bytes, __global const uint* offsets, uint suffix_len,
                           ulong start, uint count, uint nb_loops, uint nb_instrs, uint mask, uint mode,
                           __global volatile uint* best, __global ulong* out) {
    uint i = get_global_id(0);
    if (i >= count) return;
    uchar prefix[16];
    uint prefix_len = 0;
    __global const uchar* tail = bytes;
    uint tail_len = suffix_len;
    if (mode == ASH_PREIMAGES) {
        tail = bytes + offsets[i];
        tail_len = offsets[i + 1] - offsets[i];
    } else {
        format_nonce(start + i, prefix);
        prefix_len = 16;
    }
    ulong h[8];
    ashmaize(h, window, nb_chunks, rom_digest, prefix, prefix_len, tail, tail_len, nb_loops, nb_instrs);
    if (mode == ASH_SEARCH) {
        if (meets(h, mask)) atomic_min(best, i);
    } else {
        for (int k = 0; k < 8; k++) out[8 * i + k] = h[k];
    }
}
