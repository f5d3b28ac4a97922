//! The AshMaize VM: the per-nonce hash over a built ROM. `Hasher` owns the per-thread scratch
//! buffers so hashing allocates nothing.

use crate::blake2b::{self, b512_64, bytes_to_words, hprime, State};
use crate::error::CoreError;
use crate::rom::Rom;

pub const INSTR_SIZE: usize = 20;

pub fn check_params(nb_loops: u32, nb_instrs: u32) -> Result<(), CoreError> {
    if nb_loops < 2 {
        return Err(CoreError::value(format!("nb_loops must be >= 2, got {nb_loops}")));
    }
    if nb_instrs < 256 {
        return Err(CoreError::value(format!("nb_instrs must be >= 256, got {nb_instrs}")));
    }
    if nb_instrs as u64 * INSTR_SIZE as u64 > u32::MAX as u64 {
        return Err(CoreError::value(format!("nb_instrs is too large: {nb_instrs}")));
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
        let b = if two_op { self.operand(kind2, r2, lit2) } else { 0 };
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

impl Hasher {
    pub fn new() -> Self {
        Hasher { program: Vec::new() }
    }

    /// AshMaize hash of `preimage`. Parameters must have passed `check_params`.
    pub fn hash(&mut self, rom: &Rom, preimage: &[u8], nb_loops: u32, nb_instrs: u32) -> [u8; 64] {
        let init = init_buffer(rom.digest(), preimage);

        let mut regs = [0u64; 32];
        for (k, r) in regs.iter_mut().enumerate() {
            *r = u64::from_le_bytes(init[8 * k..8 * k + 8].try_into().unwrap());
        }
        let mut pd = State::new512();
        pd.update(&init[256..320]);
        let mut md = State::new512();
        md.update(&init[320..384]);
        let mut prog_seed: [u8; 64] = init[384..448].try_into().unwrap();

        let nb_instrs = nb_instrs as usize;
        self.program.resize(nb_instrs * INSTR_SIZE, 0);
        let mut vm = Vm { rom, regs, pd, md, mc: 0, special2: None };
        for lc in 0..nb_loops {
            hprime(&mut self.program, &[&prog_seed]);
            for instr in self.program.chunks_exact(INSTR_SIZE) {
                vm.step(instr);
            }
            let s = vm.regs.iter().fold(0u64, |acc, r| acc.wrapping_add(*r));
            let mut pv_state = vm.pd.clone();
            pv_state.update(&s.to_le_bytes());
            let pv = pv_state.finalize();
            let mut mv_state = vm.md.clone();
            mv_state.update(&s.to_le_bytes());
            let mv = mv_state.finalize();
            let seed = blake2b::hash_parts(64, &[&pv, &mv, &lc.to_le_bytes()]);
            mix_registers(&mut vm.regs, &seed);
            prog_seed = pv;
        }

        let mut fin = State::new512();
        fin.update(&vm.pd.finalize());
        fin.update(&vm.md.finalize());
        fin.update(&vm.mc.to_le_bytes());
        for r in vm.regs.iter() {
            fin.update(&r.to_le_bytes());
        }
        fin.finalize()
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
