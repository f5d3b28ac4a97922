"""End to end: an instance that was down while challenges were current mines them from the fleet's book."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from scavenger.miner.book import BOOK_NAME, ChallengeBook
from scavenger.miner.slots import list_slots
from scavenger.sim.testing import running_simulator
from scavenger.wallet.store import WalletStore
from timing import scaled

from .conftest import SIM_OPTIONS, MinerProcess, query, wait_for

PERIOD = 2  # seconds between challenges; each stays open 24 periods


def book_sources(root: Path) -> dict[str, str]:
    """challenge id -> source, straight from the book file: closed entries too (under load the early missed
    challenges may have closed by the time the test reads the book)."""
    entries = json.loads((root / BOOK_NAME).read_text())["challenges"]
    return {e["challenge"]["challenge_id"]: e["source"] for e in entries}


def current_index(url: str) -> int:
    challenge = httpx.get(f"{url}/challenge", timeout=5).json()["challenge"]
    return (challenge["day"] - 1) * 24 + challenge["challenge_number"] - 1


def challenge_id(index: int) -> str:
    return f"**D{index // 24 + 1:02d}C{index % 24 + 1:02d}"


def wallets_of(root: Path, pid: int) -> list[str]:
    [slot] = [s for s in list_slots(root) if s.holder is not None and s.holder.pid == pid and s.alive]
    return [w.address for w in WalletStore(slot.path / f"miner-{slot.number}" / "wallets", "mainnet").load()]


def solved(sim_state: Path, addresses: list[str]) -> set[tuple[str, str]]:
    rows = query(sim_state, "SELECT address, challenge_id FROM solutions")
    return {(a, c) for a, c in rows if a in addresses}


def run_outage(
    tmp_path: Path,
    miners: Callable[..., MinerProcess],
    root_a: Path,
    root_b: Path,
    env: dict[str, str] | None = None,
) -> tuple[MinerProcess, list[str], list[str]]:
    """A keeps mining while B is down for several periods; returns B (restarted), its wallets and the
    challenges issued while it was down."""
    with running_simulator(tmp_path / "sim", challenge_period=PERIOD, **SIM_OPTIONS) as sim:
        a = miners(root_a, sim.url, tmp_path / "a.log", env)
        b = miners(root_b, sim.url, tmp_path / "b.log", env)

        def logs() -> str:
            return f"--- a\n{a.log_tail()}\n--- b\n{b.log_tail()}\n--- sim\n{sim.log_tail(20)}"

        def registered() -> set[str]:
            return {r[0] for r in query(sim.state_path, "SELECT address FROM registrations")}

        def b_registered() -> bool:
            try:
                return set(wallets_of(root_b, b.pid)) <= registered()
            except ValueError:  # B has not claimed its slot yet
                return False

        wait_for(b_registered, scaled(60), "B's wallets registered", logs)
        b_wallets = wallets_of(root_b, b.pid)
        b.kill9()  # the outage: as abrupt as a crash or a lost host
        down_at = current_index(sim.url)
        wait_for(lambda: current_index(sim.url) >= down_at + 4, scaled(30), "4 more challenges", logs)
        back_at = current_index(sim.url)
        missed = [challenge_id(i) for i in range(down_at + 1, back_at)]
        assert len(missed) >= 3
        b = miners(root_b, sim.url, tmp_path / "b2.log", env)
        wait_for(
            lambda: {(w, c) for w in b_wallets for c in missed} <= solved(sim.state_path, b_wallets),
            scaled(90),
            f"B's wallets to solve {missed}",
            logs,
        )
        b.terminate()
        a.terminate()
    return b, b_wallets, missed


@pytest.mark.timeout(300)
def test_an_instance_back_from_an_outage_mines_what_the_others_saw(
    tmp_path: Path, miners: Callable[..., MinerProcess]
) -> None:
    root = tmp_path / "config"
    b, _wallets, missed = run_outage(tmp_path, miners, root, root)
    # The book on the shared folder holds every missed challenge, first heard of on the API.
    book = book_sources(root)
    assert set(missed) <= set(book)
    assert {book[c] for c in missed} == {"api"}
    log_text = b.log_path.read_text()
    assert all(f"challenge {c} from the fleet book (api)" in log_text for c in missed), b.log_tail()
    # `scavenger status` says how many open challenges the fleet knows, and from where.
    status = subprocess.run(
        [str(Path(sys.executable).with_name("scavenger")), "status", "--json", "--offline",
         "--config-dir", str(root)],
        capture_output=True, timeout=60, check=False,
    )
    assert status.stdout.startswith(b"{"), status.stderr
    known = json.loads(status.stdout)["challenges"]
    # Entries only close as time passes: what is open now was open when status counted.
    still_open = ChallengeBook(root).open_entries()
    assert known["open"] >= len(still_open)
    assert known["by_source"].get("api", 0) >= sum(1 for e in still_open if e.source == "api")
