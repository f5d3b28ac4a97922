//! The AshMaize VM: the per-nonce hash over a built ROM. `Hasher` owns the per-thread scratch
//! buffers so hashing allocates nothing.

use crate::blake2b::{self, b512_64, bytes_to_words, hprime, State};
use crate::error::CoreError;
use crate::lanes::{self, ChainStep, Words4, LANES};
use crate::rom::Rom;

pub const INSTR_SIZE: usize = 20;

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

pub struct Hasher {
    program: Vec<u8>,
}

/// `I = H'(448, rom_digest || preimage)`: registers, PD/MD initial input and the first seed.
pub fn init_buffer(rom_digest: &[u8; 64], preimage: &[u8]) -> [u8; 448] {
    let mut init = [0u8; 448];
    hprime(&mut init, &[rom_digest, preimage]);
    init
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

struct Vm<'a> {
    rom: &'a Rom,
    regs: [u64; 32],
    pd: State,
    md: State,
    mc: u32,
    /// Special2 depends only on MD, which changes only on ROM reads: cache it.
    special2: Option<u64>,
}

impl<'a> Vm<'a> {
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
    fn special1(&self) -> u64 {
        self.pd.peek_u64()
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
    fn operand(&mut self, kind: u8, reg: usize, lit: u64) -> u64 {
        match kind {
            0..=4 => self.regs[reg],
            5..=8 => self.mem(lit),
            9..=12 => lit,
            13 => self.special1(),
            _ => self.special2(),
        }
    }

    #[inline(always)]
    fn step(&mut self, instr: &[u8]) {
        let op = instr[0];
        let kind1 = instr[1] >> 4;
        let kind2 = instr[1] & 0x0f;
        let rs = ((instr[2] as u16) << 8) | instr[3] as u16;
        let r1 = ((rs >> 10) & 31) as usize;
        let r2 = ((rs >> 5) & 31) as usize;
        let r3 = (rs & 31) as usize;
        let lit1 = u64::from_le_bytes(instr[4..12].try_into().unwrap());
        let lit2 = u64::from_le_bytes(instr[12..20].try_into().unwrap());

        let a = self.operand(kind1, r1, lit1);
        let two_op = !matches!(op, 128..=147 | 188..=239);
        let b = if two_op {
            self.operand(kind2, r2, lit2)
        } else {
            0
        };
        let result = match op {
            0..=39 => a.wrapping_add(b),
            40..=79 => a.wrapping_mul(b),
            80..=95 => ((a as u128 * b as u128) >> 64) as u64,
            // 112..=127 is "Mod" in the reference but computes a division: kept for consensus.
            96..=127 => {
                if b == 0 {
                    self.special1()
                } else {
                    a / b
                }
            }
            128..=137 => a.isqrt(),
            138..=147 => a.reverse_bits(),
            148..=187 => a ^ b,
            188..=203 => a.rotate_left(r1 as u32),
            204..=219 => a.rotate_right(r1 as u32),
            220..=239 => !a,
            240..=247 => a & b,
            248..=255 => {
                let n = (op - 248) as usize;
                let mut m = [0u64; 16];
                m[0] = a;
                m[1] = b;
                let mut h = blake2b::init_state(64);
                blake2b::compress_words(&mut h, &m, 16, true);
                h[n]
            }
        };
        self.regs[r3] = result;
        self.pd.update(instr);
    }
}

impl<'a> Vm<'a> {
    fn new(rom: &'a Rom, preimage: &[u8]) -> (Vm<'a>, [u8; 64]) {
        let init = init_buffer(rom.digest(), preimage);
        let mut regs = [0u64; 32];
        for (k, r) in regs.iter_mut().enumerate() {
            *r = u64::from_le_bytes(init[8 * k..8 * k + 8].try_into().unwrap());
        }
        let mut pd = State::new512();
        pd.update(&init[256..320]);
        let mut md = State::new512();
        md.update(&init[320..384]);
        let prog_seed: [u8; 64] = init[384..448].try_into().unwrap();
        (
            Vm {
                rom,
                regs,
                pd,
                md,
                mc: 0,
                special2: None,
            },
            prog_seed,
        )
    }

    fn run(&mut self, program: &[u8]) {
        for instr in program.chunks_exact(INSTR_SIZE) {
            self.step(instr);
        }
    }

    /// Issues the loop's ROM reads early: their addresses are literals of the program.
    fn prefetch(&self, program: &[u8]) {
        for instr in program.chunks_exact(INSTR_SIZE) {
            let op = instr[0];
            if (5..=8).contains(&(instr[1] >> 4)) {
                self.prefetch_line(u64::from_le_bytes(instr[4..12].try_into().unwrap()));
            }
            let two_op = !matches!(op, 128..=147 | 188..=239);
            if two_op && (5..=8).contains(&(instr[1] & 0x0f)) {
                self.prefetch_line(u64::from_le_bytes(instr[12..20].try_into().unwrap()));
            }
        }
    }

    #[inline(always)]
    fn prefetch_line(&self, addr: u64) {
        self.rom.prefetch(addr);
    }

    /// Post-instruction mixing input: returns (pv, B512(pv || mv || LE32(lc))).
    fn mixing_seed(&self, lc: u32) -> ([u8; 64], [u8; 64]) {
        let s = self.regs.iter().fold(0u64, |acc, r| acc.wrapping_add(*r));
        let mut pv_state = self.pd.clone();
        pv_state.update(&s.to_le_bytes());
        let pv = pv_state.finalize();
        let mut mv_state = self.md.clone();
        mv_state.update(&s.to_le_bytes());
        let mv = mv_state.finalize();
        (pv, blake2b::hash_parts(64, &[&pv, &mv, &lc.to_le_bytes()]))
    }

    fn finish(&self) -> [u8; 64] {
        let mut fin = State::new512();
        fin.update(&self.pd.finalize());
        fin.update(&self.md.finalize());
        fin.update(&self.mc.to_le_bytes());
        for r in self.regs.iter() {
            fin.update(&r.to_le_bytes());
        }
        fin.finalize()
    }
}

/// First block of H'(len, x) for a 64-byte x: `V1 = B512(LE32(len) || x)`.
fn hprime_first(len: u32, x: &[u8; 64]) -> [u64; 8] {
    bytes_to_words(&blake2b::hash_parts(64, &[&len.to_le_bytes(), x]))
}

/// Four H'(len, .) chains in lockstep, from their first values `v1`. `emit(lane, bytes)` gets
/// each lane's output in order.
fn hprime_x4(
    step: ChainStep,
    len: usize,
    v1: &[[u64; 8]; LANES],
    mut emit: impl FnMut(usize, &[u8]),
) {
    debug_assert!(len > 64);
    let mut v: Words4 = [[0; LANES]; 8];
    for (lane, first) in v1.iter().enumerate() {
        for k in 0..8 {
            v[k][lane] = first[k];
        }
    }
    let lane_bytes = |v: &Words4, lane: usize| {
        let mut w = [0u64; 8];
        for k in 0..8 {
            w[k] = v[k][lane];
        }
        blake2b::words_to_bytes(&w)
    };
    for lane in 0..LANES {
        emit(lane, &lane_bytes(&v, lane)[..32]);
    }
    let mut rem = len - 32;
    while rem > 64 {
        step(&mut v);
        for lane in 0..LANES {
            emit(lane, &lane_bytes(&v, lane)[..32]);
        }
        rem -= 32;
    }
    if rem == 64 {
        step(&mut v);
        for lane in 0..LANES {
            emit(lane, &lane_bytes(&v, lane));
        }
    } else {
        // Tail of another length: a BLAKE2b with that output length, per lane.
        for lane in 0..LANES {
            let mut m = [0u64; 16];
            for k in 0..8 {
                m[k] = v[k][lane];
            }
            let mut h = blake2b::init_state(rem);
            blake2b::compress_words(&mut h, &m, 64, true);
            emit(lane, &blake2b::words_to_bytes(&h)[..rem]);
        }
    }
}

/// Four hashes at once: the H' chains of the four VMs advance together (multi-buffer BLAKE2b);
/// everything else runs per lane, in order. Results equal four calls of `Hasher::hash`.
pub struct Hasher4 {
    step: ChainStep,
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
            step: lanes::select(),
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
        let mut seeds = [[0u8; 64]; LANES];
        let mut vms: [Vm<'_>; LANES] = std::array::from_fn(|lane| {
            let (vm, seed) = Vm::new(rom, preimages[lane]);
            seeds[lane] = seed;
            vm
        });
        let len = nb_instrs as usize * INSTR_SIZE;
        for p in self.programs.iter_mut() {
            p.clear();
            p.reserve(len);
        }
        for lc in 0..nb_loops {
            let v1: [[u64; 8]; LANES] =
                std::array::from_fn(|l| hprime_first(len as u32, &seeds[l]));
            for p in self.programs.iter_mut() {
                p.clear();
            }
            let programs = &mut self.programs;
            hprime_x4(self.step, len, &v1, |lane, bytes| {
                programs[lane].extend_from_slice(bytes)
            });
            for (vm, program) in vms.iter().zip(self.programs.iter()) {
                vm.prefetch(program);
            }
            for (vm, program) in vms.iter_mut().zip(self.programs.iter()) {
                vm.run(program);
            }
            let mut mix_v1 = [[0u64; 8]; LANES];
            for (lane, vm) in vms.iter().enumerate() {
                let (pv, mix_seed) = vm.mixing_seed(lc);
                seeds[lane] = pv;
                mix_v1[lane] = hprime_first(MIX_LEN as u32, &mix_seed);
            }
            let mut word = [0usize; LANES];
            hprime_x4(self.step, MIX_LEN, &mix_v1, |lane, bytes| {
                let vm = &mut vms[lane];
                for w in bytes.chunks_exact(8) {
                    vm.regs[word[lane] % 32] ^= u64::from_le_bytes(w.try_into().unwrap());
                    word[lane] += 1;
                }
            });
        }
        std::array::from_fn(|lane| vms[lane].finish())
    }
}

const MIX_LEN: usize = 8192;

impl Hasher {
    pub fn new() -> Self {
        Hasher {
            program: Vec::new(),
        }
    }

    /// AshMaize hash of `preimage`. Parameters must have passed `check_params`.
    pub fn hash(&mut self, rom: &Rom, preimage: &[u8], nb_loops: u32, nb_instrs: u32) -> [u8; 64] {
        let (mut vm, mut prog_seed) = Vm::new(rom, preimage);
        self.program.resize(nb_instrs as usize * INSTR_SIZE, 0);
        for lc in 0..nb_loops {
            hprime(&mut self.program, &[&prog_seed]);
            vm.prefetch(&self.program);
            vm.run(&self.program);
            let (pv, seed) = vm.mixing_seed(lc);
            mix_registers(&mut vm.regs, &seed);
            prog_seed = pv;
        }
        vm.finish()
    }
}

/// XORs H'(8192, seed) into the registers as it is produced (word w goes to r[w mod 32]).
fn mix_registers(regs: &mut [u64; 32], seed: &[u8; 64]) {
    const LEN: u32 = 8192;
    let mut s = State::new512();
    s.update(&LEN.to_le_bytes());
    s.update(seed);
    let mut v = bytes_to_words(&s.finalize());
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
