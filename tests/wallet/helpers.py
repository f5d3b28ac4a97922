"""Helpers shared by the store tests: run the worker as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WORKER = Path(__file__).with_name("worker.py")


def worker_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SCAVENGER_WALLET_CRASH_AT", None)
    env.update(extra)
    return env


def spawn(*args: str, **extra_env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=worker_env(**extra_env),
    )


def spawn_together(count: int, go_file: Path, *args: str) -> list[subprocess.Popen[str]]:
    """Start ``count`` workers, wait until all are imported and ready, then release them at once."""
    procs = [spawn(*args, WALLET_TEST_GO=str(go_file)) for _ in range(count)]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
    go_file.touch()
    return procs


def used(stdout: str, tag: str = "USED") -> list[str]:
    return [line.split()[1] for line in stdout.splitlines() if line.startswith(tag + " ")]


def assert_no_secret(text: str, mnemonics: list[str]) -> None:
    """No run of 3 consecutive words of any mnemonic appears in ``text``.

    Single words are not checked: BIP-39 words such as "address", "wallet" or "match" occur in
    ordinary messages; three in a row from a given mnemonic do not.
    """
    flat = " " + " ".join(text.split()).lower() + " "
    for words in mnemonics:
        parts = words.split()
        for i in range(len(parts) - 2):
            assert " " + " ".join(parts[i : i + 3]) + " " not in flat, "mnemonic words leaked"
