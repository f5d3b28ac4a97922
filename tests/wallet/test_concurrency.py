"""Several real processes on one wallet folder and on one donation list at the same time."""

from __future__ import annotations

import itertools
from pathlib import Path

from scavenger.wallet import donate_list
from scavenger.wallet.store import WalletStore
from timing import scaled

from .helpers import spawn_together, used

PROCESSES = 4


def test_concurrent_creators_never_share_or_overwrite(tmp_path: Path) -> None:
    directory = tmp_path / "1" / "miner-1" / "wallets"
    procs = spawn_together(PROCESSES, tmp_path / "go", "store", str(directory), "mainnet", "3", "0.05")
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=scaled(120))
        assert proc.returncode == 0, err
        outputs.append(used(out))
    everyone = [a for out in outputs for a in out]
    assert all(len(out) == 3 for out in outputs)
    assert len(set(everyone)) == PROCESSES * 3, "two processes were handed the same wallet"
    stored = [w.address for w in WalletStore(directory, "mainnet").load()]
    assert sorted(stored) == sorted(everyone), "a wallet handed out is missing from the store"
    owner = {address: n for n, out in enumerate(outputs) for address in out}
    order = [owner[address] for address in stored]
    changes = sum(1 for a, b in itertools.pairwise(order) if a != b)
    print(f"writers by line: {order}")
    assert changes > PROCESSES - 1, "the writers never interleaved; the test did not exercise contention"


def test_concurrent_ensure_converges(tmp_path: Path) -> None:
    """Instances that all ensure(5) on one folder agree on the same five wallets."""
    directory = tmp_path / "wallets"
    procs = spawn_together(PROCESSES, tmp_path / "go", "ensure", str(directory), "testnet", "5")
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=scaled(120))
        assert proc.returncode == 0, err
        results.append(used(out))
    assert all(r == results[0] for r in results) and len(results[0]) == 5
    assert [w.address for w in WalletStore(directory, "testnet").load()] == results[0]


def test_concurrent_donate_list_creators_converge(tmp_path: Path) -> None:
    procs = spawn_together(PROCESSES, tmp_path / "go", "donate", str(tmp_path / "config"), "mainnet")
    lists = []
    for proc in procs:
        out, err = proc.communicate(timeout=scaled(120))
        assert proc.returncode == 0, err
        lists.append(used(out, "LIST"))
    assert all(lst == lists[0] for lst in lists) and len(lists[0]) == 3
    seeds = (tmp_path / "config" / donate_list.SEED_FILE).read_text().splitlines()
    assert len(seeds) == 3
    assert [w.address for w in donate_list.load(tmp_path / "config", "mainnet").wallets] == lists[0]
