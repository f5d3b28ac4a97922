"""`scavenger bench` end to end on a small ROM, as a real subprocess of the installed CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from timing import scaled


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from scavenger.cli import main; main()", "bench", *args],
        capture_output=True,
        text=True,
        timeout=scaled(120),
        check=False,
    )


def test_bench_reports_build_rss_and_rate_per_thread_count() -> None:
    done = _run("--rom-size", "1MiB", "--pre-size", "16KiB", "--seconds", "0.3", "--threads", "2")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"ROM build \d+\.\d\d s, digest [0-9a-f]{16}…, peak RSS \d+\.\d MiB", out)
    rates = re.findall(
        r"^\s+(\d) threads?\s+([\d,]+\.\d) H/s .* x(\d+\.\d\d)\s+([\d,]+\.\d) H per CPU-s", out, re.MULTILINE
    )
    assert [t for t, *_ in rates] == ["1", "2"]
    assert all(float(r.replace(",", "")) > 0 and float(c.replace(",", "")) > 0 for _, r, _, c in rates)
    assert rates[0][2] == "1.00"  # scaling is against the 1-thread step
    assert re.search(r"peak RSS \d+\.\d MiB after build, \d+\.\d MiB at the end", out)


def test_bench_rejects_a_bad_rom_size() -> None:
    done = _run("--rom-size", "100", "--pre-size", "64", "--seconds", "0.1")
    assert done.returncode != 0
    assert "multiple of 64" in done.stderr


@pytest.mark.parametrize(
    ("size", "message"),
    # 5000 digits: beyond int()'s limit, which once escaped parse_size as a bare ValueError.
    [("0", "positive size"), ("lots", "size in bytes"), ("9" * 5000, "size in bytes")],
)
def test_bench_rejects_an_unparsable_size(size: str, message: str) -> None:
    done = _run("--rom-size", size, "--seconds", "0.1")
    assert done.returncode == 2
    assert "--rom-size" in done.stderr and message in done.stderr


def test_bench_size_from_environment() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from scavenger.cli import main; main()", "bench", "-s", "0.1", "-t", "1"],
        capture_output=True,
        text=True,
        timeout=scaled(120),
        check=False,
        env={"ASHMAIZE_ROM_SIZE": "64KiB", "ASHMAIZE_PRE_SIZE": "4KiB", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "size 64.0 KiB, pre 4.0 KiB" in done.stdout


def test_bench_json_is_one_document_on_stdout() -> None:
    done = _run("--rom-size", "1MiB", "--pre-size", "16KiB", "--seconds", "0.2", "--threads", "2", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # nothing else on stdout
    assert doc["backend"] == "cpu" and (doc["rom_size"], doc["pre_size"]) == (1 << 20, 16 << 10)
    assert [step["threads"] for step in doc["steps"]] == [1, 2]
    assert all(step["rate"] > 0 and step["hashes"] > 0 for step in doc["steps"])
    assert doc["best"]["rate"] == max(step["rate"] for step in doc["steps"])
    assert "ROM build" in done.stderr  # the progress lines still show, on stderr
