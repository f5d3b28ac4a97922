//! Development benchmark: per-hash CPU time and wall time on one thread, plus the cost of one
//! BLAKE2b compression. `cargo run --release --no-default-features --example perf -- [rom_size] [hashes]`

use std::time::Instant;

use scavenger_core::blake2b;
use scavenger_core::rom::{Generation, Rom};
use scavenger_core::search;

fn cpu_clock(clock: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn thread_cpu() -> f64 {
    cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn process_cpu() -> f64 {
    cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1 << 30);
    let hashes: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3000);
    let threads: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let pre = (16u64 << 20).min(size) as usize;

    let mut h = blake2b::init_state(64);
    let m = [7u64; 16];
    let n = 2_000_000u64;
    let (w0, c0) = (Instant::now(), thread_cpu());
    for i in 0..n {
        blake2b::compress_words(&mut h, &m, i, false);
    }
    let (w1, c1) = (w0.elapsed().as_secs_f64(), thread_cpu() - c0);
    println!(
        "compress: {:.1} ns wall, {:.1} ns cpu  ({:x})",
        w1 / n as f64 * 1e9,
        c1 / n as f64 * 1e9,
        h[0] & 0xf
    );

    let kernels = scavenger_core::lanes::kernels();
    let lanes = scavenger_core::lanes::LANES as u64;
    let mut v = [[3u64; scavenger_core::lanes::LANES]; 8];
    let (w0, c0) = (Instant::now(), thread_cpu());
    for _ in 0..n / lanes {
        (kernels.step)(&mut v);
    }
    let (w1, c1) = (w0.elapsed().as_secs_f64(), thread_cpu() - c0);
    println!(
        "{}-lane step ({}): {:.1} ns wall, {:.1} ns cpu per lane-compression ({:x})",
        lanes,
        kernels.name,
        w1 / n as f64 * 1e9,
        c1 / n as f64 * 1e9,
        v[0][0] & 0xf
    );

    let (t, c0, p0) = (Instant::now(), thread_cpu(), process_cpu());
    let key = b"fd651ac2725e3b9d804cc8b161c0709af14d6264f93e8d4afef0fd1142a3f011";
    let rom = Rom::new(
        key,
        Generation::TwoStep {
            pre_size: pre,
            mixing_numbers: 4,
        },
        size,
    )
    .unwrap();
    println!(
        "rom build: {:.3} s wall, {:.3} s cpu (this thread), {:.3} s cpu (process)  digest {:02x}{:02x}{:02x}{:02x}",
        t.elapsed().as_secs_f64(),
        thread_cpu() - c0,
        process_cpu() - p0,
        rom.digest()[0],
        rom.digest()[1],
        rom.digest()[2],
        rom.digest()[3]
    );

    let suffix = vec![b'x'; 200];
    scavenger_core::count::take();
    let (w0, c0) = (Instant::now(), thread_cpu());
    let found = search::search(&rom, &suffix, 0, hashes - 1, 0, threads, 8, 256);
    let (w1, c1) = (w0.elapsed().as_secs_f64(), thread_cpu() - c0);
    println!(
        "hash x{} threads {}: {:.0} H/s wall, {:.1} us/hash cpu (1 thread only)",
        found.hashes,
        threads,
        found.hashes as f64 / w1,
        c1 / found.hashes as f64 * 1e6
    );
    if scavenger_core::count::ENABLED {
        print_counts(found.hashes);
    }
}

/// Compressions per hash by phase, and time per step (build with `--features count`).
fn print_counts(hashes: u64) {
    use scavenger_core::count::{take, PHASES, STEPS};
    let c = take();
    let per = |x: u64| x as f64 / hashes as f64;
    println!(
        "phase          scalar/hash  {}-lane calls/hash  lane-compressions/hash  idle slots/hash",
        scavenger_core::lanes::LANES
    );
    let (mut ts, mut tv, mut ti) = (0, 0, 0);
    let l = scavenger_core::lanes::LANES as u64;
    for (i, p) in PHASES.iter().enumerate() {
        println!(
            "{:<14} {:>11.1} {:>18.1} {:>23.1} {:>16.1}",
            format!("{p:?}"),
            per(c.scalar[i]),
            per(c.vector[i]),
            per(c.scalar[i] + l * c.vector[i] - c.idle[i]),
            per(c.idle[i])
        );
        ts += c.scalar[i];
        tv += c.vector[i];
        ti += c.idle[i];
    }
    println!(
        "{:<14} {:>11.1} {:>18.1} {:>23.1} {:>16.1}",
        "total",
        per(ts),
        per(tv),
        per(ts + l * tv - ti),
        per(ti)
    );
    let total: u64 = c.ticks.iter().sum();
    println!("time share per step (TSC ticks):");
    for (i, s) in STEPS.iter().enumerate() {
        println!(
            "  {:<14} {:5.1} %",
            format!("{s:?}"),
            100.0 * c.ticks[i] as f64 / total.max(1) as f64
        );
    }
}
