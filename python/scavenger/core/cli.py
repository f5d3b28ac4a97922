"""``scavenger bench``: ROM build time and peak RSS, then hashes/second for 1..N threads."""

from __future__ import annotations

import os

import click

from scavenger._core import _simd_kernel
from scavenger.core.bench import RateResult, build_rom, cpu_model, run_steps
from scavenger.envparse import ConfigError, parse_size


def _size_option(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """The option is typed str, so ``value`` is always text; ``parse_size`` also rejects zero."""
    try:
        return parse_size("size", value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


@click.command()
@click.option(
    "--threads",
    "-t",
    type=click.IntRange(1, 1024),
    default=lambda: os.cpu_count() or 1,
    show_default="CPU count",
    help="Measure 1..N threads.",
)
@click.option(
    "--seconds",
    "-s",
    type=click.FloatRange(0.1, 3600),
    default=5.0,
    show_default=True,
    help="Duration of each thread-count step.",
)
@click.option(
    "--rom-size",
    callback=_size_option,
    envvar="ASHMAIZE_ROM_SIZE",
    type=str,
    default="1GiB",
    help="ROM size (env ASHMAIZE_ROM_SIZE).",
)
@click.option(
    "--pre-size",
    callback=_size_option,
    envvar="ASHMAIZE_PRE_SIZE",
    type=str,
    default="16MiB",
    help="Pre-ROM size (env ASHMAIZE_PRE_SIZE).",
)
@click.option("--only", is_flag=True, help="Measure only N threads instead of 1..N.")
def bench(threads: int, seconds: float, rom_size: int, pre_size: int, only: bool) -> None:
    """Benchmark the AshMaize core: ROM build, peak RSS, hashes/second per thread count."""
    click.echo(f" * CPU       {cpu_model()} ({os.cpu_count()} logical CPUs), BLAKE2b lanes: {_simd_kernel()}")
    click.echo(f" * ROM       TwoStep size {_human(rom_size)}, pre {_human(pre_size)}, mixing 4")
    try:
        built = build_rom(rom_size, pre_size)
    except (ValueError, TypeError) as exc:
        raise click.UsageError(f"cannot build the ROM: {exc}") from exc
    click.echo(
        f" * ROM build {built.seconds:.2f} s, digest {built.rom.digest()[:8].hex()}…, "
        f"peak RSS {_human(built.peak_rss_bytes)}"
    )
    click.echo(f" * hashing   {seconds:g} s per step, real search path (Rom.search)")
    base: list[float] = []

    def report(result: RateResult) -> None:
        if not base:
            base.append(result.rate / result.threads)
        per_thread = result.rate / result.threads
        scale = result.rate / base[0] if base[0] > 0 else 0.0
        click.echo(
            f"   {result.threads:>3} thread{'s' if result.threads > 1 else ' '}  "
            f"{result.rate:>10,.1f} H/s   {per_thread:>8,.1f} H/s/thread   "
            f"x{scale:.2f}   ({result.hashes:,} hashes in {result.seconds:.2f} s)"
        )

    counts = [threads] if only else list(range(1, threads + 1))
    results = run_steps(built.rom, counts, seconds, report)
    best = max(results, key=lambda r: r.rate)
    click.echo(
        f" * best      {best.rate:,.1f} H/s with {best.threads} thread(s); "
        f"peak RSS {_human(built.peak_rss_bytes)} after build"
    )
