//! The AshMaize VM: the per-nonce hash over a built ROM. `Hasher` hashes one preimage the
//! straightforward way (it is also the oracle the multi-lane `MultiHasher` in `multi` is tested
//! against). It owns its scratch buffer, so hashing allocates nothing after the first call.

use crate::blake2b::{self, b512_64, bytes_to_words, hprime, State};
use crate::error::CoreError;
use crate::rom::Rom;

pub use crate::multi::MultiHasher;

pub const INSTR_SIZE: usize = 20;
pub(crate) const MIX_LEN: usize = 8192;

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
pub(crate) fn two_op(op: u8) -> bool {
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
pub(crate) fn hprime_first(len: u32, x: &[u8; 64]) -> [u64; 8] {
    bytes_to_words(&blake2b::hash_parts(64, &[&len.to_le_bytes(), x]))
}
