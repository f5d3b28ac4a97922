"""One parser per kind of setting, shared by the miner, the simulator, the benchmark and the reporter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scavenger.envparse import (
    ConfigError,
    parse_bool,
    parse_port,
    parse_positive_float,
    parse_positive_int,
    parse_size,
    parse_url,
)
from timing import scaled


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1073741824", 1 << 30), ("1GiB", 1 << 30), ("16MiB", 16 << 20), ("64k", 64 << 10), (" 2 mb ", 2 << 20)],
)
def test_sizes(text: str, expected: int) -> None:
    assert parse_size("ASHMAIZE_ROM_SIZE", text) == expected


@pytest.mark.parametrize("text", ["", "lots", "0", "1.5GiB", "-1", "12TiB"])
def test_bad_sizes_name_the_variable(text: str) -> None:
    with pytest.raises(ConfigError, match=f"ASHMAIZE_PRE_SIZE must be a .*{text!r}"):
        parse_size("ASHMAIZE_PRE_SIZE", text)


def test_scalars() -> None:
    assert parse_bool("X", " Yes ") is True and parse_bool("X", "") is False
    assert parse_positive_int("N", "3") == 3 and parse_positive_float("S", "0.5") == 0.5
    assert parse_port("P", "0") == 0 and parse_port("P", "65535") == 65535
    assert parse_url("U", "http://127.0.0.1:8088/") == "http://127.0.0.1:8088"
    for parse, text in [
        (parse_bool, "maybe"),
        (parse_positive_int, "0"),
        (parse_positive_float, "nan"),
        (parse_positive_float, "inf"),
        (parse_port, "65536"),
        (parse_url, "ftp://x"),
    ]:
        with pytest.raises(ConfigError, match=r"^VAR must be"):
            parse("VAR", text)


def test_the_simulator_reads_rom_sizes_like_the_miner(tmp_path: Path) -> None:
    # Same variable, same meaning in every command: a unit-suffixed size must not crash the simulator.
    scavenger = Path(sys.executable).with_name("scavenger")
    env = {**os.environ, "ASHMAIZE_ROM_SIZE": "lots"}
    bad = subprocess.run(
        [str(scavenger), "simulate", "--state", str(tmp_path / "s.sqlite3"), "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=scaled(60),
    )
    assert bad.returncode != 0
    assert "ASHMAIZE_ROM_SIZE must be a size in bytes" in bad.stderr and "'lots'" in bad.stderr


def test_a_bad_url_error_does_not_echo_credentials() -> None:
    with pytest.raises(ConfigError, match="STATS_BACKEND_URL must be an http") as caught:
        parse_url("STATS_BACKEND_URL", "postgres://stats:hunter2@db:5432/stats")
    assert "hunter2" not in str(caught.value)
