"""``scavenger bench``: ROM build time and peak RSS, then hashes/second for 1..N threads."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

import click

from scavenger import settings
from scavenger._core import _simd_kernel
from scavenger.core.backend import open_backend
from scavenger.core.bench import RateResult, build_rom, cpu_model, measure_rate, peak_rss_bytes, run_steps
from scavenger.core.opencl import BackendMismatch, OpenClUnavailable
from scavenger.envparse import ConfigError


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


@click.command()
@settings.plain_option(
    "--threads",
    "-t",
    type=click.IntRange(1, settings.MAX_THREADS),
    default=lambda: os.cpu_count() or 1,
    show_default="CPU count",
    metavar="N",
    bound=f"1..{settings.MAX_THREADS}",
    help="Measure 1..N threads.",
)
@settings.plain_option(
    "--seconds",
    "-s",
    type=click.FloatRange(0.1, 3600),
    default=5.0,
    metavar="SECONDS",
    bound="0.1..3600 s",
    help="Duration of each thread-count step.",
)
@settings.option("ASHMAIZE_ROM_SIZE")
@settings.option("ASHMAIZE_PRE_SIZE")
@click.option("--only", is_flag=True, help="Measure only N threads instead of 1..N.")
@settings.option(
    "MINER_BACKEND",
    help="cpu: native core per thread count; opencl / opencl+cpu / auto: one step on the device.",
)
@settings.option("OPENCL_DEVICE")
@settings.plain_option(
    "--work-group",
    type=click.IntRange(1, 1024),
    default=None,
    metavar="N",
    bound="1..1024",
    show_default="64 on GPUs, the runtime's choice elsewhere",
    help="OpenCL work-group size.",
)
@click.option("--cl-option", "cl_options", multiple=True, metavar="OPTION",
              help="Extra OpenCL build option for kernel A/B runs, e.g. -DASHMAIZE_SIMPLE_EXEC.")
@click.option("--list-devices", is_flag=True, help="List the OpenCL devices and exit.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the results as one JSON object on stdout (progress goes to stderr).")
def bench(
    threads: int,
    seconds: float,
    rom_size: int | None,
    pre_size: int | None,
    only: bool,
    backend: str | None,
    opencl_device: str | None,
    work_group: int | None,
    cl_options: tuple[str, ...],
    list_devices: bool,
    as_json: bool,
) -> None:
    """Benchmark the AshMaize core: ROM build, peak RSS, hashes/second per thread count."""
    if list_devices:
        _print_devices()
        return
    values = settings.read(
        ["ASHMAIZE_ROM_SIZE", "ASHMAIZE_PRE_SIZE"],
        given={"ASHMAIZE_ROM_SIZE": rom_size, "ASHMAIZE_PRE_SIZE": pre_size},
    )
    rom_size, pre_size = values["ASHMAIZE_ROM_SIZE"], values["ASHMAIZE_PRE_SIZE"]
    try:
        settings.check_rom(
            rom_size, pre_size, settings.labels(settings.given_on_command_line(click.get_current_context()))
        )
    except ConfigError as exc:
        raise settings.SettingError(str(exc)) from None
    # With --json the progress lines still show, on stderr; stdout gets only the JSON document.
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        if backend not in (None, "cpu"):
            device = opencl_device or None
            doc = _bench_device(backend, device, work_group, cl_options, threads, seconds, rom_size, pre_size)
        else:
            doc = _bench_cpu(threads, seconds, rom_size, pre_size, only)
    if as_json:
        click.echo(json.dumps(doc, indent=1))


def _bench_cpu(threads: int, seconds: float, rom_size: int, pre_size: int, only: bool) -> dict[str, Any]:
    click.echo(f" * CPU       {cpu_model()} ({os.cpu_count()} logical CPUs), BLAKE2b lanes: {_simd_kernel()}")
    click.echo(f" * ROM       TwoStep size {_human(rom_size)}, pre {_human(pre_size)}, mixing 4")
    built = build_rom(rom_size, pre_size)
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
            f"x{scale:.2f}   {result.rate_per_cpu_second:>8,.1f} H per CPU-s   "
            f"({result.hashes:,} hashes in {result.seconds:.2f} s)"
        )

    counts = [threads] if only else list(range(1, threads + 1))
    results = run_steps(built.rom, counts, seconds, report)
    best = max(results, key=lambda r: r.rate)
    click.echo(
        f" * best      {best.rate:,.1f} H/s with {best.threads} thread(s); "
        f"peak RSS {_human(built.peak_rss_bytes)} after build, {_human(peak_rss_bytes())} at the end"
    )
    click.echo(
        " * note      on a shared machine compare H per CPU-s (and ratios measured side by side); "
        "wall-clock H/s moves with other load"
    )
    return {
        "backend": "cpu",
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "blake2b_lanes": _simd_kernel(),
        "rom_size": rom_size,
        "pre_size": pre_size,
        "rom_build_seconds": round(built.seconds, 3),
        "rom_digest": built.rom.digest().hex(),
        "peak_rss_bytes": built.peak_rss_bytes,
        "peak_rss_end_bytes": peak_rss_bytes(),
        "steps": [
            {
                "threads": r.threads,
                "hashes": r.hashes,
                "seconds": round(r.seconds, 3),
                "rate": round(r.rate, 1),
                "cpu_seconds": round(r.cpu_seconds, 3),
                "rate_per_cpu_second": round(r.rate_per_cpu_second, 1),
            }
            for r in results
        ],
        "best": {"threads": best.threads, "rate": round(best.rate, 1)},
    }


def _print_devices() -> None:
    from scavenger.core.opencl.devices import list_devices

    try:
        devices = list_devices()
    except OpenClUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    for info in devices:
        click.echo(info.describe())


def _bench_device(
    backend: str,
    device: str | None,
    work_group: int | None,
    cl_options: tuple[str, ...],
    threads: int,
    seconds: float,
    rom_size: int,
    pre_size: int,
) -> dict[str, Any]:
    try:
        chosen = open_backend(backend, device, work_group, cl_options)
    except OpenClUnavailable as exc:
        raise click.ClickException(f"backend {backend}: {exc}") from None
    click.echo(f" * backend   {chosen.describe()}")
    click.echo(f" * ROM       TwoStep size {_human(rom_size)}, pre {_human(pre_size)}, mixing 4")
    built = build_rom(rom_size, pre_size)  # sizes already checked by the core's rule (settings.check_rom)
    click.echo(f" * ROM build {built.seconds:.2f} s, digest {built.rom.digest()[:8].hex()}…")
    try:
        searcher = chosen.searcher(built.rom)
    except BackendMismatch as exc:
        raise click.ClickException(str(exc)) from None
    if chosen.device is not None:
        click.echo(
            f" * device    {chosen.device.name}: work-group {chosen.device.work_group or 'auto'}, "
            f"batch {chosen.device.batch:,} nonces per launch (tuned), self-test ok"
        )
    cpu_threads = threads if chosen.name in ("cpu", "opencl+cpu") else 1
    first = chosen.device.batch if chosen.device is not None else None
    result = measure_rate(searcher, cpu_threads, seconds, first_batch=first)
    click.echo(
        f" * hashing   {result.rate:,.1f} H/s on {chosen.name} "
        f"({result.hashes:,} hashes in {result.seconds:.2f} s"
        + (f", {cpu_threads} CPU threads alongside" if chosen.name == "opencl+cpu" else "")
        + ")"
    )
    return {
        "backend": chosen.name,
        "device": chosen.device.name if chosen.device is not None else None,
        "rom_size": rom_size,
        "pre_size": pre_size,
        "rom_build_seconds": round(built.seconds, 3),
        "cpu_threads": cpu_threads,
        "hashes": result.hashes,
        "seconds": round(result.seconds, 3),
        "rate": round(result.rate, 1),
    }


@click.command("devices")
def devices() -> None:
    """List the OpenCL platforms and devices (for OPENCL_DEVICE)."""
    _print_devices()
