// The AshMaize VM (rust/src/vm.rs) for one nonce per work-item. Names follow the Rust core:
// `init_buffer` (here streamed by `vm_init`), `mem`, `special2`, `exec`, `mixing_seed`,
// `mix_registers`, `finish`. Differences are only in how bytes are held:
//  - A streaming BLAKE2b state (`State`) keeps its block as a union of words, half-words and
//    bytes. Every stream the VM feeds grows in whole 4-byte steps (20-byte instructions,
//    64-byte ROM lines, 8-byte sums), so absorbing is a plain store, and a peek masks the
//    block beyond the absorbed length.
//  - The program is never stored: H'(20*nb_instrs, prog_seed) is consumed strictly in order,
//    so its chain (`Prog`) is advanced as the instructions are fetched (5 half-words each).

typedef union {
    ulong w[16];
    uint u[32];
    uchar c[128];
} Block;

typedef struct {
    ulong h[8];
    Block b;
    ulong n;  // bytes absorbed; the block is compressed lazily (BLAKE2 keeps the last block)
} State;

void state_new512(State* s) {
    init_state(s->h, 64);
    s->n = 0;
}

void state_flush_full(State* s) {
    if (s->n > 0 && (s->n & 127) == 0) compress_words(s->h, s->b.w, s->n, 0);
}

void state_update_u64(State* s, ulong x) {  // n must be a multiple of 8
    state_flush_full(s);
    s->b.w[(s->n & 127) >> 3] = x;
    s->n += 8;
}

void state_update_u32(State* s, uint x) {  // n must be a multiple of 4
    state_flush_full(s);
    s->b.u[(s->n & 127) >> 2] = x;
    s->n += 4;
}

void state_update_byte(State* s, uchar x) {
    state_flush_full(s);
    s->b.c[s->n & 127] = x;
    s->n += 1;
}

// PD absorbs one 20-byte instruction (n is a multiple of 4). The block fills up at most once on the
// way, so there is one compression site (rather than one per half-word).
void state_update_instr(State* s, const uint u[5]) {
    uint pos = (uint)(s->n & 127) >> 2;
    uint split = 5;  // half-words written before the block is compressed (5: no compression)
    if (s->n > 0 && pos == 0) {
        split = 0;  // a full block is waiting for more data
    } else if (pos + 5 > 32) {
        split = 32 - pos;
    }
    for (uint k = 0; k < split; k++) s->b.u[pos + k] = u[k];
    if (split < 5) {
        compress_words(s->h, s->b.w, s->n + 4 * split, 0);
        for (uint k = split; k < 5; k++) s->b.u[k - split] = u[k];
    }
    s->n += 20;
}

// Finalizes a copy (the state keeps absorbing): the block beyond the absorbed bytes is zeroed.
void state_peek(const State* s, ulong out[8]) {
    uint inb = s->n == 0 ? 0 : (uint)(((s->n - 1) & 127) + 1);
    ulong m[16];
    for (uint j = 0; j < 16; j++) {
        ulong w = s->b.w[j];
        if (8 * j + 8 > inb) {
            uint keep = 8 * j < inb ? inb - 8 * j : 0;
            w = keep == 0 ? 0 : (w & ((1UL << (8 * keep)) - 1));
        }
        m[j] = w;
    }
    for (int i = 0; i < 8; i++) out[i] = s->h[i];
    compress_words(out, m, s->n, 1);
}

ulong state_peek_u64(const State* s) {
    ulong out[8];
    state_peek(s, out);
    return out[0];
}

// finalize(clone(s).update(LE64(x))): `pv` and `mv` at the end of a loop.
void state_peek_with(const State* s, ulong x, ulong out[8]) {
    State c = *s;
    state_update_u32(&c, (uint)x);
    state_update_u32(&c, (uint)(x >> 32));
    state_peek(&c, out);
}

// An H'(len, .) chain read 4 bytes at a time, from its first value V1 (rust: hprime_stream).
typedef struct {
    union {
        ulong w[8];
        uint u[16];
    } v;
    uint pos;    // next half-word of v to hand out
    uint avail;  // half-words of v that belong to the output
    uint rem;    // output bytes not yet produced by the chain
} Chain;

void chain_start(Chain* c, const ulong v1[8], uint len) {
    for (int i = 0; i < 8; i++) c->v.w[i] = v1[i];
    c->pos = 0;
    c->avail = 8;
    c->rem = len - 32;
}

// The next step of the chain, one compression: B512(V) while more than 64 bytes remain, else the
// tail, a BLAKE2b with outlen = rem (64 in every H' the VM runs but the program of an nb_instrs
// that is not a multiple of 8).
void chain_refill(Chain* c) {
    ulong m[16];
    for (int i = 0; i < 8; i++) {
        m[i] = c->v.w[i];
        m[i + 8] = 0;
    }
    init_state(c->v.w, c->rem >= 64 ? 64 : c->rem);
    compress_words(c->v.w, m, 64, 1);
    if (c->rem > 64) {
        c->avail = 8;
        c->rem -= 32;
    } else {
        c->avail = c->rem / 4;
        c->rem = 0;
    }
    c->pos = 0;
}

uint chain_next_u32(Chain* c) {
    if (c->pos == c->avail) chain_refill(c);
    return c->v.u[c->pos++];
}

// One instruction's 5 half-words. A step gives at least 8, so at most one refill (one compression
// site in the hot loop, whatever the compiler unrolls).
void chain_take5(Chain* c, uint out[5]) {
    uint k = 0;
    uint have = c->avail - c->pos;
    for (; k < 5 && k < have; k++) out[k] = c->v.u[c->pos + k];
    c->pos += k;
    if (k < 5) {
        chain_refill(c);
        for (; k < 5; k++) out[k] = c->v.u[c->pos++];
    }
}

ulong chain_next_u64(Chain* c) {
    ulong lo = chain_next_u32(c);
    return lo | ((ulong)chain_next_u32(c) << 32);
}

typedef struct {
    ulong regs[32];
    State pd;
    State md;
    uint mc;
    ulong prog_seed[8];
    ulong special2;
    int special2_ok;  // Special2 depends only on MD, which changes only on ROM reads: cached
} Vm;

// I = H'(448, rom_digest || preimage), streamed into the registers, PD, MD and the first seed.
// The preimage is `prefix` (private, e.g. the 16 nonce digits) followed by `tail`.
void vm_init(Vm* vm, __global const ulong* rom_digest, const uchar* prefix, uint prefix_len,
                    __global const uchar* tail, uint tail_len) {
    State s;
    state_new512(&s);
    state_update_u32(&s, 448);
    for (int i = 0; i < 8; i++) {
        ulong d = rom_digest[i];
        state_update_u32(&s, (uint)d);
        state_update_u32(&s, (uint)(d >> 32));
    }
    for (uint i = 0; i < prefix_len; i++) state_update_byte(&s, prefix[i]);
    for (uint i = 0; i < tail_len; i++) state_update_byte(&s, tail[i]);
    ulong v1[8];
    state_peek(&s, v1);
    Chain c;
    chain_start(&c, v1, 448);
    for (int k = 0; k < 32; k++) vm->regs[k] = chain_next_u64(&c);
    state_new512(&vm->pd);
    for (int k = 0; k < 8; k++) state_update_u64(&vm->pd, chain_next_u64(&c));
    state_new512(&vm->md);
    for (int k = 0; k < 8; k++) state_update_u64(&vm->md, chain_next_u64(&c));
    for (int k = 0; k < 8; k++) vm->prog_seed[k] = chain_next_u64(&c);
    vm->mc = 0;
    vm->special2_ok = 0;
}

// ROM read: line = ROM[s .. s+64], s = (lit as u32) mod nb_chunks, a byte offset (unaligned).
ulong mem(Vm* vm, __global const ulong* window, uint nb_chunks, ulong lit) {
    uint s = (uint)lit % nb_chunks;
    uint q = s >> 3;
    uint r = (s & 7) * 8;
    ulong line[8];
    if (r == 0) {
        for (int i = 0; i < 8; i++) line[i] = window[q + i];
    } else {
        ulong lo = window[q];
        for (int i = 0; i < 8; i++) {
            ulong hi = window[q + i + 1];
            line[i] = (lo >> r) | (hi << (64 - r));
            lo = hi;
        }
    }
    // MD is fed whole lines, so it is always 64-byte aligned.
    for (int i = 0; i < 8; i++) state_update_u64(&vm->md, line[i]);
    vm->special2_ok = 0;
    vm->mc += 1;  // incremented before the word is chosen
    return line[vm->mc & 7];
}

ulong special2(Vm* vm) {
    if (!vm->special2_ok) {
        vm->special2 = state_peek_u64(&vm->md);
        vm->special2_ok = 1;
    }
    return vm->special2;
}

// Special1 reads PD before the current instruction is absorbed; cached per instruction.
ulong special1(Vm* vm, ulong* cache, int* ok) {
    if (!*ok) {
        *cache = state_peek_u64(&vm->pd);
        *ok = 1;
    }
    return *cache;
}

ulong operand(Vm* vm, __global const ulong* window, uint nb_chunks, uint kind, uint reg, ulong lit,
                     ulong* s1, int* s1_ok) {
    if (kind <= 4) return vm->regs[reg];
    if (kind <= 8) return mem(vm, window, nb_chunks, lit);
    if (kind <= 12) return lit;
    if (kind == 13) return special1(vm, s1, s1_ok);
    return special2(vm);
}

ulong isqrt64(ulong a) {
    if (a < 2) return a;
    ulong x = (ulong)sqrt((float)a);
    if (x == 0) x = 1;
    x = (x + a / x) >> 1;  // one Newton step from the float estimate, then exact correction
    if (x > 0xffffffffUL) x = 0xffffffffUL;
    while (x * x > a) x--;
    while (x < 0xffffffffUL && (x + 1) * (x + 1) <= a) x++;
    return x;
}

ulong reverse_bits(ulong x) {
    x = ((x >> 1) & 0x5555555555555555UL) | ((x & 0x5555555555555555UL) << 1);
    x = ((x >> 2) & 0x3333333333333333UL) | ((x & 0x3333333333333333UL) << 2);
    x = ((x >> 4) & 0x0f0f0f0f0f0f0f0fUL) | ((x & 0x0f0f0f0f0f0f0f0fUL) << 4);
    x = ((x >> 8) & 0x00ff00ff00ff00ffUL) | ((x & 0x00ff00ff00ff00ffUL) << 8);
    x = ((x >> 16) & 0x0000ffff0000ffffUL) | ((x & 0x0000ffff0000ffffUL) << 16);
    return (x >> 32) | (x << 32);
}

#ifdef ASHMAIZE_SIMPLE_EXEC
// The plain form of `exec` (one BLAKE2b call site per use), kept for A/B runs on a device:
// build with -DASHMAIZE_SIMPLE_EXEC.
void exec(Vm* vm, __global const ulong* window, uint nb_chunks, uint u0, uint u1, uint u2, uint u3,
                 uint u4) {
    uint op = u0 & 0xff;
    uint kind1 = (u0 >> 12) & 0xf;
    uint kind2 = (u0 >> 8) & 0xf;
    // rs is big-endian in bytes 2..3.
    uint rs = (((u0 >> 16) & 0xff) << 8) | ((u0 >> 24) & 0xff);
    uint r1 = (rs >> 10) & 31;
    uint r2 = (rs >> 5) & 31;
    uint r3 = rs & 31;
    ulong lit1 = (ulong)u1 | ((ulong)u2 << 32);
    ulong lit2 = (ulong)u3 | ((ulong)u4 << 32);
    ulong s1 = 0;
    int s1_ok = 0;
    ulong a = operand(vm, window, nb_chunks, kind1, r1, lit1, &s1, &s1_ok);
    int two_op = !((op >= 128 && op <= 147) || (op >= 188 && op <= 239));
    ulong b = two_op ? operand(vm, window, nb_chunks, kind2, r2, lit2, &s1, &s1_ok) : 0;
    ulong result;
    if (op < 40) {
        result = a + b;
    } else if (op < 80) {
        result = a * b;
    } else if (op < 96) {
        result = mul_hi(a, b);
    } else if (op < 128) {
        // 112..127 is "Mod" in the reference but computes a division: kept for consensus.
        result = b == 0 ? special1(vm, &s1, &s1_ok) : a / b;
    } else if (op < 138) {
        result = isqrt64(a);
    } else if (op < 148) {
        result = reverse_bits(a);
    } else if (op < 188) {
        result = a ^ b;
    } else if (op < 204) {
        result = rotate(a, (ulong)r1);
    } else if (op < 220) {
        result = rotate(a, (ulong)((64 - r1) & 63));
    } else if (op < 240) {
        result = ~a;
    } else if (op < 248) {
        result = a & b;
    } else {
        ulong w[8] = {a, b, 0, 0, 0, 0, 0, 0};
        ulong h[8];
        hash_block_words8(h, w, 16);
        result = h[op - 248];
    }
    vm->regs[r3] = result;
    uint instr[5] = {u0, u1, u2, u3, u4};
    state_update_instr(&vm->pd, instr);
}

#else
#define IS_REG(k) ((k) <= 4)
#define IS_MEM(k) ((k) >= 5 && (k) <= 8)
#define IS_S1(k) ((k) == 13)
#define IS_S2(k) ((k) >= 14)

// The compression input of a peek: the block masked beyond the absorbed bytes, t = n.
void peek_setup(const State* s, ulong h[8], ulong m[16], ulong* t) {
    uint inb = s->n == 0 ? 0 : (uint)(((s->n - 1) & 127) + 1);
    for (uint j = 0; j < 16; j++) {
        ulong w = s->b.w[j];
        if (8 * j + 8 > inb) {
            uint keep = 8 * j < inb ? inb - 8 * j : 0;
            w = keep == 0 ? 0 : (w & ((1UL << (8 * keep)) - 1));
        }
        m[j] = w;
    }
    for (int i = 0; i < 8; i++) h[i] = s->h[i];
    *t = s->n;
}

// `mem` once MD has room for the line (its full block, if any, already compressed).
ulong mem_absorb(Vm* vm, __global const ulong* window, uint nb_chunks, ulong lit) {
    uint s = (uint)lit % nb_chunks;
    uint q = s >> 3;
    uint r = (s & 7) * 8;
    uint at = (uint)(vm->md.n & 127) >> 3;
    uint pick = (vm->mc + 1) & 7;  // MC is incremented before the word is chosen
    ulong value = 0;
    ulong lo = window[q];
    for (uint i = 0; i < 8; i++) {
        ulong hi = window[q + i + 1];
        ulong w = r == 0 ? lo : (lo >> r) | (hi << (64 - r));
        vm->md.b.w[at + i] = w;
        if (i == pick) value = w;
        lo = hi;
    }
    vm->md.n += 64;
    vm->special2_ok = 0;
    vm->mc += 1;
    return value;
}

// One instruction from its five half-words (20 bytes), then PD absorbs it.
//
// On a GPU the work-items of a warp run different instructions, and every BLAKE2b compression an
// instruction may need (Special2 of operand 1, a full MD block before operand 1's ROM line, the same
// two for operand 2, Special1, the Hash opcode) would be a separate divergent call. Here they are
// stages, in the reference order, of one loop with a single compression site: a warp then pays for
// the largest number of compressions any of its work-items needs, not for the sum over the sites.
void exec(Vm* vm, __global const ulong* window, uint nb_chunks, uint u0, uint u1, uint u2, uint u3,
          uint u4) {
    uint op = u0 & 0xff;
    uint kind1 = (u0 >> 12) & 0xf;
    uint kind2 = (u0 >> 8) & 0xf;
    // rs is big-endian in bytes 2..3.
    uint rs = (((u0 >> 16) & 0xff) << 8) | ((u0 >> 24) & 0xff);
    uint r1 = (rs >> 10) & 31;
    uint r2 = (rs >> 5) & 31;
    uint r3 = rs & 31;
    ulong lit1 = (ulong)u1 | ((ulong)u2 << 32);
    ulong lit2 = (ulong)u3 | ((ulong)u4 << 32);
    int two_op = !((op >= 128 && op <= 147) || (op >= 188 && op <= 239));
    int is_div = op >= 96 && op < 128;
    // Registers and literals now; Memory and Special operands are filled in by the stages.
    ulong a = IS_REG(kind1) ? vm->regs[r1] : lit1;
    ulong b = two_op ? (IS_REG(kind2) ? vm->regs[r2] : lit2) : 0;
    ulong s1 = 0;
    ulong hashed[8];
    uint stage = 0;
    for (;;) {
        ulong h[8];
        ulong m[16];
        ulong t = 0;
        int last = 1;
        int job = -1;
        while (job < 0 && stage < 6) {
            uint kind = stage < 2 ? kind1 : kind2;
            int used = stage < 2 || two_op;
            if (stage == 0 || stage == 2) {  // Special2 (stage 2 sees operand 1's ROM read)
                if (!used || !IS_S2(kind)) {
                    stage++;
                } else if (vm->special2_ok) {
                    if (stage == 0) a = vm->special2; else b = vm->special2;
                    stage++;
                } else {
                    peek_setup(&vm->md, h, m, &t);
                    job = stage;
                }
            } else if (stage == 1 || stage == 3) {  // Memory
                if (!used || !IS_MEM(kind)) {
                    stage++;
                } else if ((vm->md.n & 127) == 0) {  // MD holds a full block: compress it first
                    for (int i = 0; i < 8; i++) h[i] = vm->md.h[i];
                    for (int i = 0; i < 16; i++) m[i] = vm->md.b.w[i];
                    t = vm->md.n;
                    last = 0;
                    job = stage;
                } else {
                    ulong v = mem_absorb(vm, window, nb_chunks, stage == 1 ? lit1 : lit2);
                    if (stage == 1) a = v; else b = v;
                    stage++;
                }
            } else if (stage == 4) {  // Special1: PD before this instruction
                // b is final here unless it is Special1 itself, which needs the peek anyway.
                if (IS_S1(kind1) || (two_op && IS_S1(kind2)) || (is_div && b == 0)) {
                    peek_setup(&vm->pd, h, m, &t);
                    job = 4;
                } else {
                    stage++;
                }
            } else {  // Hash opcode
                if (op >= 248) {
                    init_state(h, 64);
                    m[0] = a;
                    m[1] = b;
                    for (int i = 2; i < 16; i++) m[i] = 0;
                    t = 16;
                    job = 5;
                } else {
                    stage++;
                }
            }
        }
        if (job < 0) break;
        compress_words(h, m, t, last);
        if (job == 0 || job == 2) {
            vm->special2 = h[0];
            vm->special2_ok = 1;
            if (job == 0) a = h[0]; else b = h[0];
        } else if (job == 1 || job == 3) {
            for (int i = 0; i < 8; i++) vm->md.h[i] = h[i];
            ulong v = mem_absorb(vm, window, nb_chunks, job == 1 ? lit1 : lit2);
            if (job == 1) a = v; else b = v;
        } else if (job == 4) {
            s1 = h[0];
            if (IS_S1(kind1)) a = s1;
            if (two_op && IS_S1(kind2)) b = s1;
        } else {
            for (int i = 0; i < 8; i++) hashed[i] = h[i];
        }
        stage = job + 1;
    }
    ulong result;
    if (op < 40) {
        result = a + b;
    } else if (op < 80) {
        result = a * b;
    } else if (op < 96) {
        result = mul_hi(a, b);
    } else if (op < 128) {
        // 112..127 is "Mod" in the reference but computes a division: kept for consensus.
        result = b == 0 ? s1 : a / b;
    } else if (op < 138) {
        result = isqrt64(a);
    } else if (op < 148) {
        result = reverse_bits(a);
    } else if (op < 188) {
        result = a ^ b;
    } else if (op < 204) {
        result = rotate(a, (ulong)r1);
    } else if (op < 220) {
        result = rotate(a, (ulong)((64 - r1) & 63));
    } else if (op < 240) {
        result = ~a;
    } else if (op < 248) {
        result = a & b;
    } else {
        result = hashed[op - 248];
    }
    vm->regs[r3] = result;
    uint instr[5] = {u0, u1, u2, u3, u4};
    state_update_instr(&vm->pd, instr);
}

#endif

// XORs H'(8192, seed) into the registers as it is produced (word w goes to r[w mod 32]).
void mix_registers(ulong regs[32], const ulong seed[8]) {
    ulong v[8];
    hprime_first(v, 8192, seed);
    // 255 chained B512 calls: 254 emit their first 32 bytes, the last emits all 64.
    for (uint c = 0; c < 254; c++) {
        uint base = (4 * c) & 31;
        for (int i = 0; i < 4; i++) regs[base + i] ^= v[i];
        b512_64(v);
    }
    for (int i = 0; i < 8; i++) regs[24 + i] ^= v[i];
}

// End of a loop: pv, mv, the mixing seed B512(pv || mv || LE32(lc)), then the register mix.
void mixing(Vm* vm, uint lc) {
    ulong s = 0;
    for (int k = 0; k < 32; k++) s += vm->regs[k];
    ulong pv[8], mv[8];
    state_peek_with(&vm->pd, s, pv);
    state_peek_with(&vm->md, s, mv);
    ulong m[16];
    ulong seed[8];
    for (int i = 0; i < 8; i++) {
        m[i] = pv[i];
        m[i + 8] = mv[i];
    }
    init_state(seed, 64);
    compress_words(seed, m, 128, 0);
    m[0] = lc;
    for (int i = 1; i < 16; i++) m[i] = 0;
    compress_words(seed, m, 132, 1);
    mix_registers(vm->regs, seed);
    for (int i = 0; i < 8; i++) vm->prog_seed[i] = pv[i];
}

// digest = B512(finalize(PD) || finalize(MD) || LE32(MC) || LE64(r[0]) || ... || LE64(r[31])).
void finish(const Vm* vm, ulong out[8]) {
    ulong pf[8], mf[8];
    state_peek(&vm->pd, pf);
    state_peek(&vm->md, mf);
    State s;
    state_new512(&s);
    for (int i = 0; i < 8; i++) state_update_u64(&s, pf[i]);
    for (int i = 0; i < 8; i++) state_update_u64(&s, mf[i]);
    state_update_u32(&s, vm->mc);
    for (int k = 0; k < 32; k++) {
        state_update_u32(&s, (uint)vm->regs[k]);
        state_update_u32(&s, (uint)(vm->regs[k] >> 32));
    }
    state_peek(&s, out);
}

// The whole hash of prefix || tail (rust: Hasher::hash).
void ashmaize(ulong out[8], __global const ulong* window, uint nb_chunks,
                     __global const ulong* rom_digest, const uchar* prefix, uint prefix_len,
                     __global const uchar* tail, uint tail_len, uint nb_loops, uint nb_instrs) {
    Vm vm;
    vm_init(&vm, rom_digest, prefix, prefix_len, tail, tail_len);
    for (uint lc = 0; lc < nb_loops; lc++) {
        ulong v1[8];
        hprime_first(v1, 20 * nb_instrs, vm.prog_seed);
        Chain prog;
        chain_start(&prog, v1, 20 * nb_instrs);
        for (uint j = 0; j < nb_instrs; j++) {
            uint u[5];
            chain_take5(&prog, u);
            exec(&vm, window, nb_chunks, u[0], u[1], u[2], u[3], u[4]);
        }
        mixing(&vm, lc);
    }
    finish(&vm, out);
}
