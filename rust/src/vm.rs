//! The AshMaize VM: the per-nonce hash over a built ROM. `Hasher` hashes one preimage,
//! `Hasher4` four at once (their BLAKE2b chains and program digests advance in lockstep).
//! Both own their scratch buffers, so hashing allocates nothing after the first call.

use crate::blake2b::{self, b512_64, bytes_to_words, hprime, State};
use crate::error::CoreError;
use crate::lanes::{self, Block4, Kernels, Words4, LANES};
use crate::rom::Rom;

pub const INSTR_SIZE: usize = 20;
const MIX_LEN: usize = 8192;

pub fn check_params(nb_loops: u32, nb_instrs: u32) -> Result<(), CoreError> {
    if nb_loops < 2 {
        return Err(CoreError::value(format!(
            "nb_loops must be >= 2, got {nb_loops}"
        )));
    }
    if nb_instrs < 256 {
        return Err(CoreError::value(format!(
            "nb_instrs must be >= 256, got {nb_instrs}"
        )));
    }
    if nb_instrs as u64 * INSTR_SIZE as u64 > u32::MAX as u64 {
        return Err(CoreError::value(format!(
            "nb_instrs is too large: {nb_instrs}"
        )));
    }
    Ok(())
}

/// `I = H'(448, rom_digest || preimage)`: registers, PD/MD initial input and the first seed.
pub fn init_buffer(rom_digest: &[u8; 64], preimage: &[u8]) -> [u8; 448] {
    let mut init = [0u8; 448];
    hprime(&mut init, &[rom_digest, preimage]);
    init
}

#[inline(always)]
fn two_op(op: u8) -> bool {
    !matches!(op, 128..=147 | 188..=239)
}

/// VM state except the program digest PD, which the caller owns (one stream per VM, or four
/// streams in lockstep) and consults through the `special1` closure.
struct Core<'a> {
    rom: &'a Rom,
    regs: [u64; 32],
    md: State,
    mc: u32,
    /// Special2 depends only on MD, which changes only on ROM reads: cache it.
    special2: Option<u64>,
}

impl<'a> Core<'a> {
    /// Returns the core, the initial PD input (I[256..320]) and the first program seed.
    fn new(rom: &'a Rom, preimage: &[u8]) -> (Core<'a>, [u8; 64], [u8; 64]) {
        let init = init_buffer(rom.digest(), preimage);
        let mut regs = [0u64; 32];
        for (k, r) in regs.iter_mut().enumerate() {
            *r = u64::from_le_bytes(init[8 * k..8 * k + 8].try_into().unwrap());
        }
        let mut md = State::new512();
        md.update(&init[320..384]);
        let pd_init: [u8; 64] = init[256..320].try_into().unwrap();
        let seed: [u8; 64] = init[384..448].try_into().unwrap();
        (
            Core {
                rom,
                regs,
                md,
                mc: 0,
                special2: None,
            },
            pd_init,
            seed,
        )
    }

    #[inline(always)]
    fn mem(&mut self, lit: u64) -> u64 {
        let line = self.rom.line(lit);
        self.md.update(line);
        self.special2 = None;
        self.mc = self.mc.wrapping_add(1);
        let k = (self.mc % 8) as usize * 8;
        u64::from_le_bytes(line[k..k + 8].try_into().unwrap())
    }

    #[inline(always)]
    fn special2(&mut self) -> u64 {
        match self.special2 {
            Some(v) => v,
            None => {
                let v = self.md.peek_u64();
                self.special2 = Some(v);
                v
            }
        }
    }

    #[inline(always)]
    fn operand(&mut self, kind: u8, reg: usize, lit: u64, special1: &impl Fn() -> u64) -> u64 {
        match kind {
            0..=4 => self.regs[reg],
            5..=8 => self.mem(lit),
            9..=12 => lit,
            13 => special1(),
            _ => self.special2(),
        }
    }

    /// Executes one instruction; the caller then absorbs it into PD.
    #[inline(always)]
    fn exec(&mut self, instr: &[u8], special1: impl Fn() -> u64) {
        let instr: &[u8; INSTR_SIZE] = instr.try_into().unwrap();
        let op = instr[0];
        let kind1 = instr[1] >> 4;
        let kind2 = instr[1] & 0x0f;
        let rs = ((instr[2] as u16) << 8) | instr[3] as u16;
        let r1 = ((rs >> 10) & 31) as usize;
        let r2 = ((rs >> 5) & 31) as usize;
        let r3 = (rs & 31) as usize;
        let lit1 = u64::from_le_bytes(instr[4..12].try_into().unwrap());
        let lit2 = u64::from_le_bytes(instr[12..20].try_into().unwrap());

        let a = self.operand(kind1, r1, lit1, &special1);
        let b = if two_op(op) {
            self.operand(kind2, r2, lit2, &special1)
        } else {
            0
        };
        let result = match op {
            0..=39 => a.wrapping_add(b),
            40..=79 => a.wrapping_mul(b),
            80..=95 => ((a as u128 * b as u128) >> 64) as u64,
            // 112..=127 is "Mod" in the reference but computes a division: kept for consensus.
            96..=127 => a.checked_div(b).unwrap_or_else(&special1),
            128..=137 => a.isqrt(),
            138..=147 => a.reverse_bits(),
            148..=187 => a ^ b,
            188..=203 => a.rotate_left(r1 as u32),
            204..=219 => a.rotate_right(r1 as u32),
            220..=239 => !a,
            240..=247 => a & b,
            248..=255 => blake2b::hash_block_words(64, &[a, b], 16)[(op - 248) as usize],
        };
        self.regs[r3] = result;
    }

    /// Issues the loop's ROM reads early: their addresses are literals of the program.
    fn prefetch(&self, program: &[u8]) {
        for instr in program.chunks_exact(INSTR_SIZE) {
            if (5..=8).contains(&(instr[1] >> 4)) {
                self.rom
                    .prefetch(u64::from_le_bytes(instr[4..12].try_into().unwrap()));
            }
            if two_op(instr[0]) && (5..=8).contains(&(instr[1] & 0x0f)) {
                self.rom
                    .prefetch(u64::from_le_bytes(instr[12..20].try_into().unwrap()));
            }
        }
    }

    /// End-of-loop values: (pv, B512(pv || mv || LE32(lc))).
    fn mixing_seed(&self, pd: &State, lc: u32) -> ([u8; 64], [u8; 64]) {
        let s = self
            .regs
            .iter()
            .fold(0u64, |acc, r| acc.wrapping_add(*r))
            .to_le_bytes();
        let pv = pd.peek_with(&s);
        let mv = self.md.peek_with(&s);
        (pv, blake2b::hash_parts(64, &[&pv, &mv, &lc.to_le_bytes()]))
    }

    fn finish(&self, pd: &State) -> [u8; 64] {
        let mut fin = State::new512();
        fin.update(&pd.peek());
        fin.update(&self.md.peek());
        fin.update(&self.mc.to_le_bytes());
        for r in self.regs.iter() {
            fin.update(&r.to_le_bytes());
        }
        fin.finalize()
    }
}

pub struct Hasher {
    program: Vec<u8>,
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    pub fn new() -> Self {
        Hasher {
            program: Vec::new(),
        }
    }

    /// AshMaize hash of `preimage`. Parameters must have passed `check_params`.
    pub fn hash(&mut self, rom: &Rom, preimage: &[u8], nb_loops: u32, nb_instrs: u32) -> [u8; 64] {
        let (mut core, pd_init, mut prog_seed) = Core::new(rom, preimage);
        let mut pd = State::new512();
        pd.update(&pd_init);
        self.program.resize(nb_instrs as usize * INSTR_SIZE, 0);
        for lc in 0..nb_loops {
            hprime(&mut self.program, &[&prog_seed]);
            core.prefetch(&self.program);
            for instr in self.program.chunks_exact(INSTR_SIZE) {
                core.exec(instr, || pd.peek_u64());
                pd.update(instr);
            }
            let (pv, seed) = core.mixing_seed(&pd, lc);
            mix_registers(&mut core.regs, &seed);
            prog_seed = pv;
        }
        core.finish(&pd)
    }
}

/// XORs H'(8192, seed) into the registers as it is produced (word w goes to r[w mod 32]).
fn mix_registers(regs: &mut [u64; 32], seed: &[u8; 64]) {
    let mut v = hprime_first(MIX_LEN as u32, seed);
    let mut w = 0usize;
    // 255 chained B512 calls: 254 emit their first 32 bytes, the last emits all 64.
    for _ in 0..254 {
        for x in &v[..4] {
            regs[w % 32] ^= x;
            w += 1;
        }
        v = b512_64(&v);
    }
    for x in &v {
        regs[w % 32] ^= x;
        w += 1;
    }
    debug_assert_eq!(w, 1024);
}

/// First block of H'(len, x) for a 64-byte x: `V1 = B512(LE32(len) || x)`.
fn hprime_first(len: u32, x: &[u8; 64]) -> [u64; 8] {
    bytes_to_words(&blake2b::hash_parts(64, &[&len.to_le_bytes(), x]))
}

fn lane_words(v: &Words4, lane: usize) -> [u64; 8] {
    std::array::from_fn(|k| v[k][lane])
}

/// Four H'(len, .) chains in lockstep, from their first values `v1`. `emit(lane, words, bytes)`
/// receives each lane's output in order (`bytes` of the words are output).
fn hprime_x4(
    k: &Kernels,
    len: usize,
    v1: &[[u64; 8]; LANES],
    mut emit: impl FnMut(usize, &[u64; 8], usize),
) {
    debug_assert!(len > 64);
    let mut v: Words4 = [[0; LANES]; 8];
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
        (k.step)(&mut v);
        for lane in 0..LANES {
            emit(lane, &lane_words(&v, lane), 32);
        }
        rem -= 32;
    }
    if rem == 64 {
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

/// The program digests of four VMs. Every VM absorbs one 20-byte instruction per step, so the
/// four streams always hold the same number of bytes and their full blocks are compressed
/// together by one four-lane compression.
struct Pd4 {
    h: Words4,
    buf: [[u8; 128]; LANES],
    buflen: usize,
    t: u64,
}

impl Pd4 {
    fn new() -> Self {
        let h0 = blake2b::init_state(64);
        Pd4 {
            h: std::array::from_fn(|k| [h0[k]; LANES]),
            buf: [[0; 128]; LANES],
            buflen: 0,
            t: 0,
        }
    }

    /// Absorbs `len` bytes per lane; `data(lane)` gives them.
    #[inline(always)]
    fn absorb<'d>(&mut self, k: &Kernels, len: usize, data: impl Fn(usize) -> &'d [u8]) {
        let mut done = 0;
        while done < len {
            if self.buflen == 128 {
                self.t += 128;
                let mut m: Block4 = [[0; LANES]; 16];
                for (lane, buf) in self.buf.iter().enumerate() {
                    for (w, word) in buf.chunks_exact(8).enumerate() {
                        m[w][lane] = u64::from_le_bytes(word.try_into().unwrap());
                    }
                }
                (k.compress)(&mut self.h, &m, self.t, false);
                self.buflen = 0;
            }
            let take = (128 - self.buflen).min(len - done);
            for lane in 0..LANES {
                self.buf[lane][self.buflen..self.buflen + take]
                    .copy_from_slice(&data(lane)[done..done + take]);
            }
            self.buflen += take;
            done += take;
        }
    }

    #[inline(always)]
    fn peek_u64(&self, lane: usize) -> u64 {
        let mut h = lane_words(&self.h, lane);
        let mut block = self.buf[lane];
        block[self.buflen..].fill(0);
        blake2b::compress(&mut h, &block, self.t + self.buflen as u64, true);
        h[0]
    }

    fn lane_state(&self, lane: usize) -> State {
        State::from_parts(
            lane_words(&self.h, lane),
            self.t,
            self.buf[lane],
            self.buflen,
        )
    }
}

/// Four hashes at once. Results equal four calls of `Hasher::hash`.
pub struct Hasher4 {
    kernels: Kernels,
    programs: [Vec<u8>; LANES],
}

impl Default for Hasher4 {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher4 {
    pub fn new() -> Self {
        Hasher4 {
            kernels: lanes::kernels(),
            programs: Default::default(),
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
        let mut seeds = [[0u8; 64]; LANES];
        let mut pd_inits = [[0u8; 64]; LANES];
        let mut cores: [Core<'_>; LANES] = std::array::from_fn(|lane| {
            let (core, pd_init, seed) = Core::new(rom, preimages[lane]);
            seeds[lane] = seed;
            pd_inits[lane] = pd_init;
            core
        });
        let mut pd = Pd4::new();
        pd.absorb(&k, 64, |lane| &pd_inits[lane]);

        let len = nb_instrs as usize * INSTR_SIZE;
        for lc in 0..nb_loops {
            let v1: [[u64; 8]; LANES] =
                std::array::from_fn(|l| hprime_first(len as u32, &seeds[l]));
            for p in self.programs.iter_mut() {
                p.clear();
            }
            let programs = &mut self.programs;
            hprime_x4(&k, len, &v1, |lane, words, bytes| {
                programs[lane].extend_from_slice(&blake2b::words_to_bytes(words)[..bytes]);
            });
            for (core, program) in cores.iter().zip(self.programs.iter()) {
                core.prefetch(program);
            }
            let programs = &self.programs;
            for j in (0..len).step_by(INSTR_SIZE) {
                for (lane, core) in cores.iter_mut().enumerate() {
                    core.exec(&programs[lane][j..j + INSTR_SIZE], || pd.peek_u64(lane));
                }
                pd.absorb(&k, INSTR_SIZE, |lane| &programs[lane][j..j + INSTR_SIZE]);
            }
            let mut mix_v1 = [[0u64; 8]; LANES];
            for (lane, core) in cores.iter().enumerate() {
                let (pv, mix_seed) = core.mixing_seed(&pd.lane_state(lane), lc);
                seeds[lane] = pv;
                mix_v1[lane] = hprime_first(MIX_LEN as u32, &mix_seed);
            }
            let mut word = [0usize; LANES];
            hprime_x4(&k, MIX_LEN, &mix_v1, |lane, words, bytes| {
                let regs = &mut cores[lane].regs;
                for x in &words[..bytes / 8] {
                    regs[word[lane] % 32] ^= x;
                    word[lane] += 1;
                }
            });
        }
        std::array::from_fn(|lane| cores[lane].finish(&pd.lane_state(lane)))
    }
}
