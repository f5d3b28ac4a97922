"""`scavenger simulate` through the top-level CLI, as the Docker image and scripts start it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CLI = [sys.executable, "-c", "from scavenger.cli import main; main()", "simulate"]


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_top_level_cli_serves_and_stops_cleanly_on_a_signal(tmp_path: Path, sig: int, status: int) -> None:
    """SIGTERM (supervisors) exits 0 and Ctrl-C exits 130, both after uvicorn's graceful shutdown."""
    port_file = tmp_path / "port"
    argv = [
        *CLI,
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--state",
        str(tmp_path / "s.sqlite3"),
        "--challenge-period",
        "5",
        "--rom-size",
        str(1 << 20),
        "--pre-size",
        str(1 << 16),
    ]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as process:
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists():
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port_file.read_text().strip()}"
            for _ in range(100):
                try:
                    reply = httpx.get(f"{url}/challenge", timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            assert reply.json()["challenge"]["challenge_id"] == "**D01C01"
        finally:
            process.send_signal(sig)
            output = process.communicate(timeout=15)[0].decode()
    assert process.returncode == status, output
    assert "Aborted!" not in output and "Traceback" not in output
    assert "Finished server process" in output
    assert "state=" in output and "(new)" in output


def test_bad_flags_fail_with_a_clear_message(tmp_path: Path) -> None:
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("these are not the pages you are looking for\n" * 200)
    for flags, text in [
        (["--start", "tomorrow"], "start 'tomorrow'"),
        (["--difficulty", "12"], "difficulty '12'"),
        (["--challenge-period", "0.1"], "--challenge-period"),
        (["--state", str(not_a_database)], "is not an SQLite database"),
    ]:
        done = subprocess.run(
            [*CLI, "--state", str(tmp_path / "x.sqlite3"), *flags], capture_output=True, text=True, timeout=30
        )
        assert done.returncode != 0 and text in done.stderr, done.stderr


def test_environment_variables_configure_the_simulator(tmp_path: Path) -> None:
    env = {**os.environ, "SCAVENGER_SIM_DIFFICULTY": "0000000Z"}
    done = subprocess.run(
        [*CLI, "--state", str(tmp_path / "y.sqlite3")], capture_output=True, text=True, timeout=30, env=env
    )
    assert done.returncode != 0 and "difficulty '0000000Z'" in done.stderr, done.stderr


def test_planted_state_and_port_files_are_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (tmp_path / "state.sqlite3").symlink_to(victim)
    os.link(victim, tmp_path / "port")
    for flags, text in [
        (["--state", str(tmp_path / "state.sqlite3")], "state.sqlite3: it is a symbolic link"),
        (["--state", str(tmp_path / "ok.db"), "--port-file", str(tmp_path / "port")], "port: it has 2 hard"),
    ]:
        done = subprocess.run([*CLI, "--port", "0", *flags], capture_output=True, text=True, timeout=30)
        assert done.returncode != 0 and text in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert victim.read_text() == "keep me\n"
