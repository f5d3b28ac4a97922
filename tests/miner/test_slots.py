from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scavenger.miner.slots import Holder, SlotError, claim_slot, list_slots
from timing import scaled

# A child process that claims a slot at a given wall-clock instant, prints it, then holds it until killed.
_CHILD = """
import sys, time
from pathlib import Path
from scavenger.miner.slots import Holder, claim_slot
root, host, start_at = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
while time.time() < start_at:
    time.sleep(0.0005)
lease = claim_slot(root, holder=Holder(host=host, pid=__import__("os").getpid(), started_at="t"))
print(lease.number, flush=True)
time.sleep(120)
"""


def _spawn(root: Path, host: str, start_at: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(root), host, str(start_at)],
        stdout=subprocess.PIPE,
        text=True,
    )


def _slot_of(proc: subprocess.Popen[str]) -> int:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"child exited with {proc.poll()}"
    return int(line)


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=scaled(10))


@pytest.mark.timeout(scaled(60))
def test_processes_starting_together_get_distinct_slots(tmp_path: Path) -> None:
    root = tmp_path / "config"
    start_at = time.time() + scaled(1.5)  # all children are imported and spinning by then
    procs = [_spawn(root, "same-host", start_at) for _ in range(6)]
    try:
        slots = sorted(_slot_of(p) for p in procs)
        assert slots == [1, 2, 3, 4, 5, 6]
        listed = {s.number: s for s in list_slots(root)}
        assert sorted(listed) == slots
        assert all(s.alive for s in listed.values())
        assert {s.holder.pid for s in listed.values() if s.holder} == {p.pid for p in procs}
    finally:
        for p in procs:
            _kill(p)


@pytest.mark.timeout(scaled(60))
def test_kill_9_frees_the_slot_at_once(tmp_path: Path) -> None:
    root = tmp_path / "config"
    proc = _spawn(root, "h", time.time())
    assert _slot_of(proc) == 1
    with pytest.raises(SlotError, match=r"slot 1 .* is held by h pid"):
        claim_slot(root, forced=1, wait_seconds=0.2)
    _kill(proc)
    assert [s.alive for s in list_slots(root)] == [False]
    with claim_slot(root, holder=Holder("other", os.getpid(), "t")) as lease:
        assert lease.number == 1
        recorded = json.loads((root / "1" / "in_use.lock").read_text())
        assert recorded["host"] == "other" and recorded["pid"] == os.getpid()


@pytest.mark.timeout(scaled(60))
def test_restart_reclaims_the_slot_of_the_same_host(tmp_path: Path) -> None:
    root = tmp_path / "config"
    first = _spawn(root, "container-a", time.time())
    assert _slot_of(first) == 1
    second = _spawn(root, "container-b", time.time())
    assert _slot_of(second) == 2
    _kill(first)
    _kill(second)
    # container-b restarts first: it must get its own slot 2 back, not the lowest free one.
    again_b = _spawn(root, "container-b", time.time())
    again_a = None
    try:
        assert _slot_of(again_b) == 2
        again_a = _spawn(root, "container-a", time.time())
        assert _slot_of(again_a) == 1
        # A newcomer reuses no busy slot and creates slot 3.
        with claim_slot(root, holder=Holder("container-c", 1, "t")) as lease:
            assert lease.number == 3
    finally:
        _kill(again_b)
        if again_a is not None:
            _kill(again_a)


def test_unknown_host_takes_lowest_free_existing_slot(tmp_path: Path) -> None:
    root = tmp_path / "config"
    for n in (1, 2, 3):
        claim_slot(root, forced=n, holder=Holder(f"h{n}", 1, "t")).release()
    with claim_slot(root, forced=2, holder=Holder("h2", 1, "t")), claim_slot(
        root, holder=Holder("new", 1, "t")
    ) as lease:
        assert lease.number == 1


def test_forced_slot_is_used_and_created(tmp_path: Path) -> None:
    root = tmp_path / "config"
    with claim_slot(root, forced=5) as lease:
        assert lease.number == 5
        assert lease.wallets_dir == root / "5" / "miner-5" / "wallets"
        assert lease.instance_id == "miner-5"
    assert not lease.held


def _slots_cli(*args: str) -> subprocess.CompletedProcess[str]:
    # stdout is a pipe here, as in `scavenger slots | grep ...`
    return subprocess.run(
        [sys.executable, "-c", "from scavenger.cli import main; main()", "slots", *args],
        capture_output=True, text=True, timeout=60,
    )


@pytest.mark.timeout(60)
def test_slots_piped_and_json_keep_whole_values(tmp_path: Path) -> None:
    # A long folder path and a full timestamp: a table would cut both to the 80 columns of a pipe.
    root = tmp_path / ("a-rather-long-folder-name-" * 3) / "config"
    started = "2026-11-30T18:55:45+00:00"
    with claim_slot(root, holder=Holder("host-with-a-long-name.example", os.getpid(), started)):
        piped = _slots_cli("--config-dir", str(root))
        listed = _slots_cli("--config-dir", str(root), "--json")
    assert piped.returncode == 0, piped.stderr
    header, row = piped.stdout.splitlines()
    columns = ["slot", "state", "host", "pid", "since", "wallets", "kind", "folder", "note"]
    assert header.split("\t") == columns
    host, pid = "host-with-a-long-name.example", str(os.getpid())
    assert row.split("\t") == ["1", "alive", host, pid, started, "0", "-", str(root / "1"), "-"]
    (doc,) = json.loads(listed.stdout)
    assert doc["slot"] == 1 and doc["state"] == "alive" and doc["since"] == started
    assert doc["folder"] == str(root / "1") and doc["pid"] == os.getpid()
    empty = _slots_cli("--config-dir", str(tmp_path / "none"), "--json")
    assert empty.returncode == 0 and json.loads(empty.stdout) == []
