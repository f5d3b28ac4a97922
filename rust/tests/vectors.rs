//! Pure-Rust checks of the core against published AshMaize vectors (no Python involved).

use scavenger_core::rom::{self, Generation, Rom};
use scavenger_core::search;
use scavenger_core::vm::{check_params, Hasher};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn two_step(pre_size: usize, mixing_numbers: usize) -> Generation {
    Generation::TwoStep {
        pre_size,
        mixing_numbers,
    }
}

#[test]
fn reference_test_eq_vector() {
    // ce-ashmaize src/lib.rs test_eq: key "123", 10 MiB, TwoStep(16 KiB, 4), "hello", 8/256.
    let rom = Rom::new(b"123", two_step(16384, 4), 10 << 20).unwrap();
    assert!(hex(rom.digest()).starts_with("31acada5553e440659d6a2e8e27491843b654f2f"));
    let h = Hasher::new().hash(&rom, b"hello", 8, 256);
    assert!(hex(&h).starts_with("389401e43b60d3ad0962443d59ab7cab7cb7c8c4"));
}

#[test]
fn reference_doc_test_full_random() {
    let rom = Rom::new(b"seed", Generation::FullRandom, 16384).unwrap();
    assert!(hex(rom.digest()).starts_with("4d0b02c0772bbf3b6fd455d3a5f02ef95f38ff3f"));
    let h = Hasher::new().hash(&rom, b"salt", 8, 256);
    assert!(hex(&h).starts_with("27c82384fa973e24c3253706317127fc74706551"));
}

#[test]
fn odd_chunk_count_and_mixing_variants() {
    let rom = Rom::new(b"key", two_step(1024, 4), 4160).unwrap();
    assert!(hex(&Hasher::new().hash(&rom, b"hello", 8, 256)).starts_with("51d403ee0a23b487"));
    let rom = Rom::new(b"key", two_step(4096, 1), 65536).unwrap();
    assert!(hex(&Hasher::new().hash(&rom, b"hello", 8, 256)).starts_with("9e7d845ce0c28184"));
    let rom = Rom::new(b"key", two_step(4096, 2), 65536).unwrap();
    assert!(hex(&Hasher::new().hash(&rom, b"hello", 8, 256)).starts_with("690c30091abae9a5"));
}

#[test]
fn loop_and_instruction_counts() {
    let rom = Rom::new(b"123", two_step(16384, 4), 10 << 20).unwrap();
    let mut hasher = Hasher::new();
    assert!(hex(&hasher.hash(&rom, b"hello", 2, 256)).starts_with("77f14d70043fbab7"));
    assert!(hex(&hasher.hash(&rom, b"hello", 8, 257)).starts_with("b3991ba36bedaabf"));
    // The same hasher gives the same answer again (scratch buffers carry no state).
    assert!(hex(&hasher.hash(&rom, b"hello", 8, 256)).starts_with("389401e43b60d3ad"));
}

#[test]
fn official_rom_intermediates() {
    let key = b"fd651ac2725e3b9d804cc8b161c0709af14d6264f93e8d4afef0fd1142a3f011";
    let seed = rom::seed(key, 1 << 30);
    assert_eq!(
        hex(&seed),
        "118a9e880ecef64f9dff3eb94db22b0f417524697ae4b9e8037b1328de0765fe"
    );
    let diffs = rom::diffs(&seed);
    assert_eq!(&diffs[..4], &[46276, 19146, 43998, 33504]);
    assert_eq!(diffs[127], 50815);
}

#[test]
fn parameter_and_size_validation() {
    assert!(Rom::new(b"k", Generation::FullRandom, 0).is_err());
    assert!(Rom::new(b"k", Generation::FullRandom, 100).is_err());
    assert!(Rom::new(b"k", two_step(1000, 4), 1 << 16).is_err());
    assert!(Rom::new(b"k", two_step(1 << 17, 4), 1 << 16).is_err());
    assert!(Rom::new(b"k", two_step(1 << 12, 0), 1 << 16).is_err());
    // H' lengths are 32-bit: rejected up front instead of panicking in the build.
    assert!(rom::validate(Generation::FullRandom, 1 << 32).is_err());
    assert!(rom::validate(two_step(1 << 32, 4), 1 << 33).is_err());
    assert!(rom::validate(Generation::FullRandom, (1 << 32) - 64).is_ok());
    assert!(rom::validate(two_step(1 << 31, 4), 1 << 33).is_ok());
    assert!(check_params(1, 256).is_err());
    assert!(check_params(2, 255).is_err());
    assert!(check_params(2, 256).is_ok());
}

#[test]
fn search_equals_sequential_scan() {
    let rom = Rom::new(b"search", two_step(1 << 12, 4), 1 << 16).unwrap();
    let suffix = b"suffix";
    let mask = 0x0fff_ffff; // 1 in 16
    let mut hasher = Hasher::new();
    let mut preimage = vec![0u8; 16 + suffix.len()];
    preimage[16..].copy_from_slice(suffix);
    let expected = (100u64..400).find(|&n| {
        search::format_nonce(n, &mut preimage[..16]);
        search::meets(&hasher.hash(&rom, &preimage, 2, 256), mask)
    });
    for threads in 1..=3 {
        let found = search::search(&rom, suffix, 100, 399, mask, threads, 2, 256);
        assert_eq!(found.nonce, expected, "threads {threads}");
    }
}

#[test]
fn multi_lane_hasher_equals_single_hasher() {
    use scavenger_core::vm::MultiHasher;
    let rom = Rom::new(b"lanes", two_step(1 << 12, 4), 1 << 16).unwrap();
    let inputs: [&[u8]; 8] = [
        b"a",
        b"",
        b"a much longer preimage crossing one BLAKE2b block boundary at least.......",
        b"d",
        b"e",
        b"f",
        &[0u8; 300],
        b"h",
    ];
    let mut single = Hasher::new();
    let mut multi = MultiHasher::new();
    for (loops, instrs) in [(8, 256), (2, 256), (3, 257), (2, 300)] {
        let got = multi.hash(&rom, inputs, loops, instrs);
        for (lane, input) in inputs.iter().enumerate() {
            assert_eq!(
                got[lane],
                single.hash(&rom, input, loops, instrs),
                "lane {lane} {loops}/{instrs}"
            );
        }
    }
    // The official test_eq vector through the multi-lane path.
    let rom = Rom::new(b"123", two_step(16384, 4), 10 << 20).unwrap();
    let mut inputs: [&[u8]; 8] = [b"hello"; 8];
    inputs[2] = b"x";
    let got = multi.hash(&rom, inputs, 8, 256);
    assert!(hex(&got[3]).starts_with("389401e43b60d3ad"));
}
