//! `LANES` (8) hashes at once (`MultiHasher`), with almost every BLAKE2b compression done by a
//! multi-lane kernel (`lanes`). Results equal `LANES` calls of `vm::Hasher::hash`.
//!
//! The key fact: within a loop, everything except the registers is fixed by the program and
//! the ROM. The program digest PD absorbs the instruction bytes, the memory digest MD absorbs
//! ROM lines at literal addresses, the memory counter counts the reads, so every Memory operand,
//! every Special1 (PD finalized before instruction j) and every Special2 (MD finalized at that
//! point) is known before any instruction runs. Each loop therefore goes:
//!
//! 1. generate the programs (the lanes' H' chains in lockstep);
//! 2. prefetch their ROM lines, then compress the lanes' PD streams in lockstep (they always hold
//!    the same number of bytes), keeping the chain value after every block;
//! 3. decode each program into operands that are either a register or a constant, reading the
//!    ROM lines into each lane's MD stream and recording where a Special value is needed;
//! 4. compress the lanes' MD streams in lockstep (their lengths differ: a lane with no block
//!    left idles), again keeping every chain value;
//! 5. finalize all recorded Special points, eight at a time from one pool (each from its chain
//!    value plus its partial block), and write the values into the decoded operands;
//! 6. execute: registers only, plus B512 for Hash instructions and, rarely, the Special1 of a
//!    Div/Mod by zero (which depends on a register, so it is computed when it happens);
//! 7. mix: pv, mv and the mixing H' chains, all lanes together.

use crate::blake2b;
use crate::count::{self, Phase, Step};
use crate::lanes::{self, Block, Kernels, Words, LANES, LAST};
use crate::rom::Rom;
use crate::vm::{INSTR_SIZE, MIX_LEN};
use std::hint::select_unpredictable;

/// Operand index meaning "the value is stored in the decoded instruction".
const CONST: u8 = 32;

/// Instruction classes, decoded once from the opcode byte.
#[derive(Clone, Copy, Default)]
#[repr(u8)]
enum Class {
    // The cheap classes first: their results are all computed and one is picked by index.
    #[default]
    Add,
    Mul,
    MulH,
    BitRev,
    Xor,
    RotL,
    RotR,
    Neg,
    And,
    // Then the costly ones, which branch.
    Div,
    ISqrt,
    Hash,
}

/// Number of cheap classes (`Class::Add ..= Class::And`).
const CHEAP: u8 = 9;

/// Class of every opcode.
const CLASS: [Class; 256] = {
    let mut t = [Class::Add; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = class(i as u8);
        i += 1;
    }
    t
};

const fn class(op: u8) -> Class {
    match op {
        0..=39 => Class::Add,
        40..=79 => Class::Mul,
        80..=95 => Class::MulH,
        // 112..=127 is "Mod" in the reference but computes a division: kept for consensus.
        96..=127 => Class::Div,
        128..=137 => Class::ISqrt,
        138..=147 => Class::BitRev,
        148..=187 => Class::Xor,
        188..=203 => Class::RotL,
        204..=219 => Class::RotR,
        220..=239 => Class::Neg,
        240..=247 => Class::And,
        248..=255 => Class::Hash,
    }
}

/// A decoded instruction: each operand is a register (`ia`/`ib` < 32) or the constant `a`/`b`.
/// `aux` is the rotation amount (the r1 field) or the Hash output word.
#[derive(Clone, Copy, Default)]
struct Op {
    a: u64,
    b: u64,
    class: Class,
    ia: u8,
    ib: u8,
    r3: u8,
    aux: u8,
}

/// A Special value to compute: lane, kind, and stream position (PD bytes for Special1, MD
/// 64-byte units for Special2, both counted from the start of this loop's stream).
#[derive(Clone, Copy)]
struct Job {
    lane: u8,
    special2: bool,
    pos: u32,
}

/// Where a job's value goes: lane, instruction, operand (false = first).
#[derive(Clone, Copy)]
struct Fix {
    lane: u8,
    second: bool,
    j: u32,
    job: u32,
}

/// MD unit meaning "MD's initial 64 bytes" (`Lane::md_init`) instead of a ROM line.
const INIT_UNIT: u32 = u32::MAX;

/// Whether an opcode fetches its second operand.
const TWO_OP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = !matches!(i, 128..=147 | 188..=239);
        i += 1;
    }
    t
};

/// The Special2 value that holds while MD has `Lane::s2_at` units.
#[derive(Clone, Copy)]
enum S2 {
    Value(u64),
    Job(u32),
}

/// One lane's VM state.
struct Lane {
    regs: [u64; 32],
    ops: Vec<Op>,
    /// PD stream of this loop: the bytes PD held uncompressed at the loop start, then the
    /// program. PD's chain values are shared (`MultiHasher::pd_snap`).
    pd: Vec<u8>,
    /// Window offset of each operand's ROM read this loop (two per instruction; 0 when the
    /// operand is not a Memory read).
    offs: Vec<u32>,
    /// MD chain value and bytes compressed, at the start of this loop.
    md_h: [u64; 8],
    md_t: u64,
    md_init: [u8; 64],
    /// MD stream of this loop in 64-byte units (window offsets, or INIT_UNIT): the 1 or 2
    /// units MD held uncompressed at the loop start, then every ROM line read. Only the first
    /// `md_len` entries are meaningful (the decoder appends without branching).
    md_units: Vec<u32>,
    md_len: usize,
    /// MD chain value after c blocks of this loop's stream, c = 0, 1, ...
    md_snap: Vec<[u64; 8]>,
    mc: u32,
    /// Special2 is cached while MD is unchanged: `s2` holds while `md_len == s2_at`.
    s2_at: usize,
    s2: S2,
}

impl Default for Lane {
    fn default() -> Self {
        Lane {
            regs: [0; 32],
            ops: Vec::new(),
            pd: Vec::new(),
            offs: Vec::new(),
            md_h: [0; 8],
            md_t: 0,
            md_init: [0; 64],
            md_units: Vec::new(),
            md_len: 0,
            md_snap: Vec::new(),
            mc: 0,
            s2_at: usize::MAX,
            s2: S2::Value(0),
        }
    }
}

impl Lane {
    fn md_blocks(&self) -> usize {
        // BLAKE2 keeps the last full block until more data arrives.
        (self.md_len - 1) / 2
    }

    /// The 64 bytes of MD unit `u` of this loop's stream.
    #[inline(always)]
    fn unit<'a>(&'a self, rom: &'a Rom, u: usize) -> &'a [u8; 64] {
        match self.md_units[u] {
            INIT_UNIT => &self.md_init,
            off => rom.line_at(off),
        }
    }

    /// Computes every operand's ROM offset of this loop's program (at `pd[carry..]`) and
    /// prefetches both cache lines of each read, without branching on the random operand kinds.
    fn prefetch(&mut self, rom: &Rom, carry: usize, nb_instrs: usize) {
        self.offs.clear();
        for instr in self.pd[carry..carry + nb_instrs * INSTR_SIZE].chunks_exact(INSTR_SIZE) {
            let instr: &[u8; INSTR_SIZE] = instr.try_into().unwrap();
            let lit1 = u64::from_le_bytes(instr[4..12].try_into().unwrap());
            let lit2 = u64::from_le_bytes(instr[12..20].try_into().unwrap());
            let mem1 = (instr[1] >> 4).wrapping_sub(5) < 4;
            let mem2 = (instr[1] & 0x0f).wrapping_sub(5) < 4 && TWO_OP[instr[0] as usize];
            let o1 = select_unpredictable(mem1, rom.offset_fast(lit1), 0);
            let o2 = select_unpredictable(mem2, rom.offset_fast(lit2), 0);
            rom.prefetch_at(o1);
            rom.prefetch_at(o2);
            self.offs.push(o1);
            self.offs.push(o2);
        }
    }

    /// Decodes this loop's program (at `pd[carry..]`), appending its ROM lines to the MD
    /// stream and recording the Special values it needs. The random operand kinds are resolved
    /// with selects, not branches; only the (rarer) Special kinds branch.
    #[allow(clippy::too_many_arguments)]
    fn decode(
        &mut self,
        rom: &Rom,
        lane: u8,
        carry: usize,
        nb_instrs: usize,
        jobs: &mut Vec<Job>,
        fixes: &mut Vec<Fix>,
    ) {
        self.ops.clear();
        // Room for every read of the loop, so appending needs no capacity check.
        if self.md_units.len() < self.md_len + 2 * nb_instrs + 1 {
            self.md_units.resize(self.md_len + 2 * nb_instrs + 1, 0);
        }
        let pd = std::mem::take(&mut self.pd);
        let offs = std::mem::take(&mut self.offs);
        for (j, instr) in pd[carry..carry + nb_instrs * INSTR_SIZE]
            .chunks_exact(INSTR_SIZE)
            .enumerate()
        {
            let instr: &[u8; INSTR_SIZE] = instr.try_into().unwrap();
            let opcode = instr[0];
            let rs = ((instr[2] as u16) << 8) | instr[3] as u16;
            let r1 = ((rs >> 10) & 31) as u8;
            let r2 = ((rs >> 5) & 31) as u8;
            let lit1 = u64::from_le_bytes(instr[4..12].try_into().unwrap());
            let lit2 = u64::from_le_bytes(instr[12..20].try_into().unwrap());
            let mut op = Op {
                class: CLASS[opcode as usize],
                r3: (rs & 31) as u8,
                aux: select_unpredictable(opcode >= 248, opcode.wrapping_sub(248), r1),
                ..Op::default()
            };
            // Special1 of instruction j: PD before it absorbs the instruction.
            let q = (carry + j * INSTR_SIZE) as u32;
            let mut s1_job = None;
            let mut operand = |kind: u8, reg: u8, lit: u64, off: u32, second: bool| -> (u8, u64) {
                let mem = kind.wrapping_sub(5) < 4;
                self.md_units[self.md_len] = off;
                self.md_len += mem as usize;
                self.mc = self.mc.wrapping_add(mem as u32);
                // A non-Memory operand reads window bytes 0..64 (offset 0) for nothing.
                let word = rom.word_at(off as usize + 8 * (self.mc % 8) as usize);
                let value = select_unpredictable(mem, word, lit);
                let index = select_unpredictable(kind < 5, reg, CONST);
                if kind < 13 {
                    return (index, value);
                }
                let id = if kind == 13 {
                    *s1_job.get_or_insert_with(|| {
                        jobs.push(Job {
                            lane,
                            special2: false,
                            pos: q,
                        });
                        jobs.len() as u32 - 1
                    })
                } else {
                    match self.s2 {
                        S2::Value(v) if self.s2_at == self.md_len => return (CONST, v),
                        S2::Job(id) if self.s2_at == self.md_len => id,
                        _ => {
                            jobs.push(Job {
                                lane,
                                special2: true,
                                pos: self.md_len as u32,
                            });
                            let id = jobs.len() as u32 - 1;
                            self.s2 = S2::Job(id);
                            self.s2_at = self.md_len;
                            id
                        }
                    }
                };
                fixes.push(Fix {
                    lane,
                    second,
                    j: j as u32,
                    job: id,
                });
                (CONST, 0)
            };
            (op.ia, op.a) = operand(instr[1] >> 4, r1, lit1, offs[2 * j], false);
            // A one-operand instruction never touches its second operand: a literal 0 here.
            let two = TWO_OP[opcode as usize];
            let kind2 = select_unpredictable(two, instr[1] & 0x0f, 9);
            (op.ib, op.b) = operand(
                kind2,
                r2,
                select_unpredictable(two, lit2, 0),
                offs[2 * j + 1],
                true,
            );
            self.ops.push(op);
        }
        self.pd = pd;
        self.offs = offs;
    }
}

/// The message words of a last block holding `bytes` (at most 128), zero-padded.
fn last_block(bytes: &[u8]) -> [u64; 16] {
    let mut block = [0u8; 128];
    block[..bytes.len()].copy_from_slice(bytes);
    blake2b::block_words(&block)
}

/// Per-lane words from the transposed layout.
fn transpose(v: &Words) -> [[u64; 8]; LANES] {
    std::array::from_fn(|lane| lane_words(v, lane))
}

fn lane_words(v: &Words, lane: usize) -> [u64; 8] {
    std::array::from_fn(|k| v[k][lane])
}

/// `LANES` H'(len, .) chains in lockstep, from their first values `v1`. `emit(lane, words, bytes)`
/// receives each lane's output in order (`bytes` of the words are output).
fn hprime_lanes(
    k: &Kernels,
    len: usize,
    v1: &[[u64; 8]; LANES],
    mut emit: impl FnMut(usize, &[u64; 8], usize),
) {
    debug_assert!(len > 64);
    let mut v: Words = [[0; LANES]; 8];
    for (lane, first) in v1.iter().enumerate() {
        for w in 0..8 {
            v[w][lane] = first[w];
        }
    }
    for (lane, first) in v1.iter().enumerate() {
        emit(lane, first, 32);
    }
    let mut rem = len - 32;
    while rem > 64 {
        count::vector();
        (k.step)(&mut v);
        for lane in 0..LANES {
            emit(lane, &lane_words(&v, lane), 32);
        }
        rem -= 32;
    }
    if rem == 64 {
        count::vector();
        (k.step)(&mut v);
        for lane in 0..LANES {
            emit(lane, &lane_words(&v, lane), 64);
        }
    } else {
        // Tail of another length: a BLAKE2b with that output length, per lane.
        for lane in 0..LANES {
            let tail = blake2b::hash_block_words(rem, &lane_words(&v, lane), 64);
            emit(lane, &tail, rem);
        }
    }
}

/// `LANES` hashes at once. Owns all scratch space, so hashing allocates nothing after the first
/// call.
pub struct MultiHasher {
    kernels: Kernels,
    lanes: [Lane; LANES],
    /// PD chain value (the same stream length in every lane) and bytes compressed, at the
    /// start of the loop; `pd_snap[c]` is the value after c blocks of this loop.
    pd_h: Words,
    pd_t: u64,
    pd_snap: Vec<Words>,
    jobs: Vec<Job>,
    fixes: Vec<Fix>,
    values: Vec<u64>,
    /// Per-lane message scratch for `finish_lanes`.
    msg: [Vec<u8>; LANES],
}

impl Default for MultiHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl MultiHasher {
    pub fn new() -> Self {
        MultiHasher {
            kernels: lanes::kernels(),
            lanes: Default::default(),
            pd_h: [[0; LANES]; 8],
            pd_t: 0,
            pd_snap: Vec::new(),
            jobs: Vec::new(),
            fixes: Vec::new(),
            values: Vec::new(),
            msg: Default::default(),
        }
    }

    #[inline(always)]
    fn compress_lanes(&self, h: &mut Words, m: &Block, t: &[u64; LANES], f: &[u64; LANES]) {
        count::vector();
        (self.kernels.compress)(h, m, t, f);
    }

    /// Finishes one BLAKE2b stream per lane: lane l has chain value `h[.][l]` after `t0[l]`
    /// bytes, with nothing buffered, and `data[l]` still to absorb; returns the 64-byte outputs
    /// (as words). Lanes may have different lengths: a lane whose blocks are done idles.
    fn finish_lanes(&self, mut h: Words, t0: &[u64; LANES], data: &[Vec<u8>; LANES]) -> Words {
        let blocks: [usize; LANES] = std::array::from_fn(|l| data[l].len().div_ceil(128).max(1));
        let steps = blocks.iter().copied().max().unwrap_or(1);
        let mut out = h;
        for i in 0..steps {
            let mut m: Block = [[0; LANES]; 16];
            let mut t = [0u64; LANES];
            let mut f = [0u64; LANES];
            for lane in 0..LANES {
                if i >= blocks[lane] {
                    count::idle(1);
                    continue;
                }
                let d = &data[lane];
                let end = (128 * i + 128).min(d.len());
                let words = last_block(&d[128 * i..end]);
                for w in 0..16 {
                    m[w][lane] = words[w];
                }
                t[lane] = t0[lane] + end as u64;
                f[lane] = if i + 1 == blocks[lane] { LAST } else { 0 };
            }
            self.compress_lanes(&mut h, &m, &t, &f);
            for lane in 0..LANES {
                if i + 1 == blocks[lane] {
                    for w in 0..8 {
                        out[w][lane] = h[w][lane];
                    }
                }
            }
        }
        out
    }

    /// Special1 of `lane` at PD stream position `q` of this loop (from the PD chain values).
    fn special1_job(&self, lane: usize, q: usize) -> ([u64; 8], [u64; 16], u64) {
        let c = (q - 1) / 128;
        let h = lane_words(&self.pd_snap[c], lane);
        let m = last_block(&self.lanes[lane].pd[128 * c..q]);
        (h, m, self.pd_t + q as u64)
    }

    /// Special2 of `lane` at MD stream position `u` (units) of this loop.
    fn special2_job(&self, rom: &Rom, lane: usize, u: usize) -> ([u64; 8], [u64; 16], u64) {
        let l = &self.lanes[lane];
        let c = (u - 1) / 2;
        let mut m = [0u64; 16];
        m[..8].copy_from_slice(&blake2b::bytes_to_words(l.unit(rom, 2 * c)));
        if u - 2 * c == 2 {
            m[8..].copy_from_slice(&blake2b::bytes_to_words(l.unit(rom, 2 * c + 1)));
        }
        (l.md_snap[c], m, l.md_t + 64 * u as u64)
    }

    /// Runs every recorded Special job, `LANES` per kernel call, into `values`.
    fn run_jobs(&mut self, rom: &Rom) {
        self.values.clear();
        let n = self.jobs.len();
        let mut i = 0;
        while i < n {
            let group = (n - i).min(LANES);
            let mut h: Words = [[0; LANES]; 8];
            let mut m: Block = [[0; LANES]; 16];
            let mut t = [0u64; LANES];
            for g in 0..group {
                let job = self.jobs[i + g];
                count::set(if job.special2 {
                    Phase::Special2
                } else {
                    Phase::Special1
                });
                let (hj, mj, tj) = if job.special2 {
                    self.special2_job(rom, job.lane as usize, job.pos as usize)
                } else {
                    self.special1_job(job.lane as usize, job.pos as usize)
                };
                for w in 0..8 {
                    h[w][g] = hj[w];
                }
                for w in 0..16 {
                    m[w][g] = mj[w];
                }
                t[g] = tj;
            }
            if group == 1 {
                let (mut hl, ml) = (lane_words(&h, 0), std::array::from_fn(|w| m[w][0]));
                blake2b::compress_words(&mut hl, &ml, t[0], true);
                self.values.push(hl[0]);
            } else {
                count::idle((LANES - group) as u64);
                self.compress_lanes(&mut h, &m, &t, &[LAST; LANES]);
                self.values.extend_from_slice(&h[0][..group]);
            }
            i += group;
        }
        for fix in &self.fixes {
            let op = &mut self.lanes[fix.lane as usize].ops[fix.j as usize];
            let v = self.values[fix.job as usize];
            if fix.second {
                op.b = v;
            } else {
                op.a = v;
            }
        }
    }

    pub fn hash(
        &mut self,
        rom: &Rom,
        preimages: [&[u8]; LANES],
        nb_loops: u32,
        nb_instrs: u32,
    ) -> [[u8; 64]; LANES] {
        let k = self.kernels;
        let n = nb_instrs as usize;
        let len = n * INSTR_SIZE;

        count::step(Some(Step::Init));
        // Init: I = H'(448, rom_digest || preimage), the chains in lockstep.
        count::set(Phase::Init);
        let h0 = blake2b::init_state(64);
        let h0s: Words = std::array::from_fn(|w| [h0[w]; LANES]);
        for (m, p) in self.msg.iter_mut().zip(preimages) {
            m.clear();
            m.extend_from_slice(&448u32.to_le_bytes());
            m.extend_from_slice(rom.digest());
            m.extend_from_slice(p);
        }
        let v1 = transpose(&self.finish_lanes(h0s, &[0; LANES], &self.msg));
        let mut init = [[0u64; 56]; LANES];
        let mut pos = [0usize; LANES];
        hprime_lanes(&k, 448, &v1, |lane, words, bytes| {
            init[lane][pos[lane]..pos[lane] + bytes / 8].copy_from_slice(&words[..bytes / 8]);
            pos[lane] += bytes / 8;
        });
        let mut seeds = [[0u8; 64]; LANES];
        self.pd_h = h0s;
        self.pd_t = 0;
        for (lane, l) in self.lanes.iter_mut().enumerate() {
            let i = &init[lane];
            l.regs.copy_from_slice(&i[..32]);
            // PD and MD absorb 64 bytes each: nothing is compressed yet.
            l.pd.clear();
            l.pd.extend(i[32..40].iter().flat_map(|w| w.to_le_bytes()));
            l.md_h = h0;
            l.md_t = 0;
            l.md_init = blake2b::words_to_bytes(&i[40..48].try_into().unwrap());
            if l.md_units.is_empty() {
                l.md_units.push(0);
            }
            l.md_units[0] = INIT_UNIT;
            l.md_len = 1;
            seeds[lane] = blake2b::words_to_bytes(&i[48..56].try_into().unwrap());
            l.mc = 0;
            l.s2_at = usize::MAX;
        }

        for lc in 0..nb_loops {
            count::step(Some(Step::Program));
            // 1. Programs, appended to each lane's PD stream.
            count::set(Phase::Program);
            let carry = self.lanes[0].pd.len();
            // First block of H': B512(LE32(len) || seed).
            for (m, seed) in self.msg.iter_mut().zip(&seeds) {
                m.clear();
                m.extend_from_slice(&(len as u32).to_le_bytes());
                m.extend_from_slice(seed);
            }
            let v1 = transpose(&self.finish_lanes(h0s, &[0; LANES], &self.msg));
            {
                let lanes = &mut self.lanes;
                hprime_lanes(&k, len, &v1, |lane, words, bytes| {
                    lanes[lane]
                        .pd
                        .extend_from_slice(&blake2b::words_to_bytes(words)[..bytes]);
                });
            }
            count::step(Some(Step::PrefetchAndPd));
            // 2. Prefetch the loop's ROM lines, then the PD chains (which hides their latency).
            for l in self.lanes.iter_mut() {
                l.prefetch(rom, carry, n);
            }
            count::set(Phase::ProgramDigest);
            let total = carry + len;
            let pd_blocks = (total - 1) / 128;
            self.pd_snap.clear();
            self.pd_snap.push(self.pd_h);
            let mut h = self.pd_h;
            for b in 0..pd_blocks {
                let mut m: Block = [[0; LANES]; 16];
                for (lane, l) in self.lanes.iter().enumerate() {
                    for (w, word) in l.pd[128 * b..128 * b + 128].chunks_exact(8).enumerate() {
                        m[w][lane] = u64::from_le_bytes(word.try_into().unwrap());
                    }
                }
                let t = self.pd_t + 128 * (b as u64 + 1);
                self.compress_lanes(&mut h, &m, &[t; LANES], &[0; LANES]);
                self.pd_snap.push(h);
            }

            count::step(Some(Step::Decode));
            // 3. Decode: ROM reads into the MD streams, Special points recorded.
            self.jobs.clear();
            self.fixes.clear();
            for (lane, l) in self.lanes.iter_mut().enumerate() {
                l.decode(rom, lane as u8, carry, n, &mut self.jobs, &mut self.fixes);
            }

            count::step(Some(Step::Md));
            // 4. MD chains in lockstep; a lane whose stream is shorter idles.
            count::set(Phase::MemoryDigest);
            let md_blocks: [usize; LANES] = std::array::from_fn(|l| self.lanes[l].md_blocks());
            let steps = md_blocks.iter().copied().max().unwrap_or(0);
            let mut h: Words =
                std::array::from_fn(|w| std::array::from_fn(|l| self.lanes[l].md_h[w]));
            for l in self.lanes.iter_mut() {
                l.md_snap.clear();
                l.md_snap.push(l.md_h);
            }
            for b in 0..steps {
                let mut m: Block = [[0; LANES]; 16];
                let mut t = [0u64; LANES];
                for (lane, l) in self.lanes.iter().enumerate() {
                    if b < md_blocks[lane] {
                        let (u0, u1) = (l.unit(rom, 2 * b), l.unit(rom, 2 * b + 1));
                        for w in 0..8 {
                            m[w][lane] =
                                u64::from_le_bytes(u0[8 * w..8 * w + 8].try_into().unwrap());
                            m[w + 8][lane] =
                                u64::from_le_bytes(u1[8 * w..8 * w + 8].try_into().unwrap());
                        }
                        t[lane] = l.md_t + 128 * (b as u64 + 1);
                    } else {
                        count::idle(1);
                    }
                }
                self.compress_lanes(&mut h, &m, &t, &[0; LANES]);
                for (lane, l) in self.lanes.iter_mut().enumerate() {
                    if b < md_blocks[lane] {
                        l.md_snap.push(lane_words(&h, lane));
                    }
                }
            }

            count::step(Some(Step::Specials));
            // 5. Special values, eight at a time.
            self.run_jobs(rom);
            for l in self.lanes.iter_mut() {
                if let S2::Job(id) = l.s2 {
                    l.s2 = S2::Value(self.values[id as usize]);
                }
            }

            count::step(Some(Step::Execute));
            // 6. Execute the programs, interleaved (independent dependency chains).
            count::set(Phase::HashOp);
            for j in 0..n {
                for lane in 0..LANES {
                    let op = self.lanes[lane].ops[j];
                    let regs = &self.lanes[lane].regs;
                    let a = select_unpredictable(op.ia < 32, regs[op.ia as usize & 31], op.a);
                    let b = select_unpredictable(op.ib < 32, regs[op.ib as usize & 31], op.b);
                    // The class is random: computing every cheap result and indexing the
                    // one wanted replaces an unpredictable 12-way jump for 80 % of instructions.
                    let cheap = [
                        a.wrapping_add(b),
                        a.wrapping_mul(b),
                        ((a as u128 * b as u128) >> 64) as u64,
                        a.reverse_bits(),
                        a ^ b,
                        a.rotate_left(op.aux as u32),
                        a.rotate_right(op.aux as u32),
                        !a,
                        a & b,
                    ];
                    let r = if (op.class as u8) < CHEAP {
                        cheap[op.class as usize % CHEAP as usize]
                    } else {
                        match op.class {
                            Class::Div => match a.checked_div(b) {
                                Some(v) => v,
                                None => {
                                    count::set(Phase::Special1);
                                    let (mut hj, mj, tj) =
                                        self.special1_job(lane, carry + j * INSTR_SIZE);
                                    blake2b::compress_words(&mut hj, &mj, tj, true);
                                    count::set(Phase::HashOp);
                                    hj[0]
                                }
                            },
                            Class::ISqrt => a.isqrt(),
                            _ => blake2b::hash_block_words(64, &[a, b], 16)[op.aux as usize],
                        }
                    };
                    self.lanes[lane].regs[op.r3 as usize & 31] = r;
                }
            }

            count::step(Some(Step::Mixing));
            // 7. End of loop: pv, mv, mixing. First carry the unfinished blocks over.
            count::set(Phase::Mixing);
            let pd_end = self.pd_snap[pd_blocks];
            let pd_t_end = self.pd_t + 128 * pd_blocks as u64;
            let mut sums = [[0u8; 8]; LANES];
            for (lane, l) in self.lanes.iter_mut().enumerate() {
                sums[lane] = l
                    .regs
                    .iter()
                    .fold(0u64, |acc, r| acc.wrapping_add(*r))
                    .to_le_bytes();
                l.pd.copy_within(128 * pd_blocks..total, 0);
                l.pd.truncate(total - 128 * pd_blocks);
                let mb = md_blocks[lane];
                l.md_h = l.md_snap[mb];
                l.md_t += 128 * mb as u64;
                l.md_units.copy_within(2 * mb..l.md_len, 0);
                l.md_len -= 2 * mb;
                // The cached Special2 stays valid only if no line was read after it.
                l.s2_at = if l.s2_at == l.md_len + 2 * mb {
                    l.md_len
                } else {
                    usize::MAX
                };
            }
            self.pd_h = pd_end;
            self.pd_t = pd_t_end;
            // pv = PD finalized after LE64(sum of registers); mv the same for MD.
            for (lane, m) in self.msg.iter_mut().enumerate() {
                m.clear();
                m.extend_from_slice(&self.lanes[lane].pd);
                m.extend_from_slice(&sums[lane]);
            }
            let pv = self.finish_lanes(pd_end, &[pd_t_end; LANES], &self.msg);
            for (lane, m) in self.msg.iter_mut().enumerate() {
                let l = &self.lanes[lane];
                m.clear();
                for u in 0..l.md_len {
                    m.extend_from_slice(l.unit(rom, u));
                }
                m.extend_from_slice(&sums[lane]);
            }
            let md_h: Words =
                std::array::from_fn(|w| std::array::from_fn(|l| self.lanes[l].md_h[w]));
            let md_t: [u64; LANES] = std::array::from_fn(|l| self.lanes[l].md_t);
            let mv = self.finish_lanes(md_h, &md_t, &self.msg);
            // Mixing seed B512(pv || mv || LE32(lc)), then the first block of H'(8192, seed).
            for (lane, m) in self.msg.iter_mut().enumerate() {
                m.clear();
                m.extend_from_slice(&blake2b::words_to_bytes(&lane_words(&pv, lane)));
                m.extend_from_slice(&blake2b::words_to_bytes(&lane_words(&mv, lane)));
                m.extend_from_slice(&lc.to_le_bytes());
            }
            let seed = self.finish_lanes(h0s, &[0; LANES], &self.msg);
            for (lane, m) in self.msg.iter_mut().enumerate() {
                m.clear();
                m.extend_from_slice(&(MIX_LEN as u32).to_le_bytes());
                m.extend_from_slice(&blake2b::words_to_bytes(&lane_words(&seed, lane)));
                seeds[lane] = blake2b::words_to_bytes(&lane_words(&pv, lane));
            }
            let mix_v1 = transpose(&self.finish_lanes(h0s, &[0; LANES], &self.msg));
            let mut word = [0usize; LANES];
            let lanes = &mut self.lanes;
            hprime_lanes(&k, MIX_LEN, &mix_v1, |lane, words, bytes| {
                let regs = &mut lanes[lane].regs;
                for x in &words[..bytes / 8] {
                    regs[word[lane] % 32] ^= x;
                    word[lane] += 1;
                }
            });
        }

        count::step(Some(Step::Final));
        count::set(Phase::Final);
        for (lane, m) in self.msg.iter_mut().enumerate() {
            m.clear();
            m.extend_from_slice(&self.lanes[lane].pd);
        }
        let pd_fin = self.finish_lanes(self.pd_h, &[self.pd_t; LANES], &self.msg);
        for (lane, m) in self.msg.iter_mut().enumerate() {
            let l = &self.lanes[lane];
            m.clear();
            for u in 0..l.md_len {
                m.extend_from_slice(l.unit(rom, u));
            }
        }
        let md_h: Words = std::array::from_fn(|w| std::array::from_fn(|l| self.lanes[l].md_h[w]));
        let md_t: [u64; LANES] = std::array::from_fn(|l| self.lanes[l].md_t);
        let md_fin = self.finish_lanes(md_h, &md_t, &self.msg);
        // digest = B512(PD final || MD final || LE32(mc) || registers).
        for (lane, m) in self.msg.iter_mut().enumerate() {
            let l = &self.lanes[lane];
            m.clear();
            m.extend_from_slice(&blake2b::words_to_bytes(&lane_words(&pd_fin, lane)));
            m.extend_from_slice(&blake2b::words_to_bytes(&lane_words(&md_fin, lane)));
            m.extend_from_slice(&l.mc.to_le_bytes());
            for r in &l.regs {
                m.extend_from_slice(&r.to_le_bytes());
            }
        }
        let fin = self.finish_lanes(h0s, &[0; LANES], &self.msg);
        let out = std::array::from_fn(|lane| blake2b::words_to_bytes(&lane_words(&fin, lane)));
        count::step(None);
        out
    }
}
