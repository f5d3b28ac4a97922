"""End to end: real `scavenger mine` processes against the real simulator subprocess on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from scavenger.miner.slots import list_slots
from scavenger.sim.testing import running_simulator
from scavenger.wallet.store import WalletStore
from timing import scaled

from .conftest import SIM_OPTIONS, MinerProcess, query, wait_for


def _wallets(root: Path, slot: int) -> list[str]:
    return [w.address for w in WalletStore(root / str(slot) / f"miner-{slot}" / "wallets", "mainnet").load()]


def _receipts(sim_state: Path) -> dict[str, set[str]]:
    by_address: dict[str, set[str]] = {}
    for address, challenge_id in query(sim_state, "SELECT address, challenge_id FROM solutions"):
        by_address.setdefault(address, set()).add(challenge_id)
    return by_address


@pytest.mark.timeout(scaled(240))
def test_instances_share_a_folder_register_mine_donate_and_resume_after_kill_9(
    tmp_path: Path, miners: Callable[..., MinerProcess]
) -> None:
    root = tmp_path / "config"
    with running_simulator(tmp_path / "sim", challenge_period=2, **SIM_OPTIONS) as sim:
        a = miners(root, sim.url, tmp_path / "a.log")
        b = miners(root, sim.url, tmp_path / "b.log")

        def logs() -> str:
            return f"--- a\n{a.log_tail()}\n--- b\n{b.log_tail()}\n--- sim\n{sim.log_tail(20)}"

        def all_wallets() -> list[str]:
            return [addr for s in list_slots(root) for addr in _wallets(root, s.number)]

        wait_for(lambda: len(all_wallets()) == 4, scaled(60), "4 wallets in 2 slots", logs)
        slots = {s.number: s for s in list_slots(root)}
        assert sorted(slots) == [1, 2]
        assert {s.holder.pid for s in slots.values() if s.holder and s.alive} == {a.pid, b.pid}

        # Every wallet registers and gets receipts for several challenges.
        wait_for(
            lambda: all(len(_receipts(sim.state_path).get(w, ())) >= 2 for w in all_wallets()),
            scaled(90),
            "2 receipts for every wallet",
            logs,
        )
        registered = {r[0] for r in query(sim.state_path, "SELECT address FROM registrations")}
        assert set(all_wallets()) <= registered

        # Donations: each wallet assigned to one address of the generated list, which we registered.
        destinations = (root / "donate_list.txt").read_text().split()
        assert len(destinations) == 3
        wait_for(
            lambda: len(query(sim.state_path, "SELECT original FROM donations")) == 4,
                scaled(60), "4 donations", logs
        )
        for original, destination in query(sim.state_path, "SELECT original, destination FROM donations"):
            assert original in all_wallets()
            assert destination in destinations
            assert destination in registered or destination in {
                r[0] for r in query(sim.state_path, "SELECT address FROM registrations")
            }

        # kill -9 one instance and restart it: same slot, same wallets, still mining.
        slot_a = next(n for n, s in slots.items() if s.holder and s.holder.pid == a.pid)
        wallets_a = _wallets(root, slot_a)
        journal_a = root / str(slot_a) / f"miner-{slot_a}" / "journal.sqlite3"
        found_before = {r[0:2] for r in query(journal_a, "SELECT address, challenge_id FROM solutions")}
        assert found_before, "instance a found nothing before the kill"
        a.kill9()
        assert not {s.number: s for s in list_slots(root)}[slot_a].alive
        a2 = miners(root, sim.url, tmp_path / "a2.log")
        wait_for(
            lambda: any(s.alive and s.holder and s.holder.pid == a2.pid for s in list_slots(root)),
            scaled(30),
            "restarted miner holding a slot",
            logs,
        )
        slot_a2 = next(s.number for s in list_slots(root) if s.holder and s.holder.pid == a2.pid)
        assert slot_a2 == slot_a
        assert _wallets(root, slot_a) == wallets_a
        before = {w: len(_receipts(sim.state_path).get(w, ())) for w in wallets_a}
        wait_for(
            lambda: all(len(_receipts(sim.state_path).get(w, ())) > before[w] for w in wallets_a),
            scaled(60),
            "new receipts after restart",
            lambda: a2.log_tail(),
        )
        # Nothing found before the kill was lost: every such solution is accepted by the server.
        accepted = {(addr, cid) for addr, cids in _receipts(sim.state_path).items() for cid in cids}
        assert found_before <= accepted

        # Graceful stop: exit 0 and slots freed.
        assert a2.terminate() == 0
        assert b.terminate() == 0
        assert not any(s.alive for s in list_slots(root))
        assert "released slot" in a2.log_tail()


@pytest.mark.timeout(scaled(180))
def test_found_solutions_survive_kill_9_and_are_submitted_after_restart(
    tmp_path: Path, miners: Callable[..., MinerProcess]
) -> None:
    root = tmp_path / "config"
    env = {"MAX_WALLETS_PER_INSTANCE": "1", "DONATE_ENABLED": "false"}
    with running_simulator(tmp_path / "sim", challenge_period=3, **SIM_OPTIONS) as sim:
        # Every submission fails for now: solutions pile up as pending in the journal.
        sim.add_fault(kind="500", endpoints=["solution"], count=None)
        miner = miners(root, sim.url, tmp_path / "m.log", env)
        journal = root / "1" / "miner-1" / "journal.sqlite3"
        pending_sql = "SELECT address, challenge_id, nonce FROM solutions WHERE status = 'pending'"
        wait_for(lambda: len(query(journal, pending_sql)) >= 2,
            scaled(60), "2 pending solutions", miner.log_tail)
        miner.kill9()
        pending = set(query(journal, pending_sql))
        assert len(pending) >= 2
        assert _receipts(sim.state_path) == {}

        sim.clear_faults()
        again = miners(root, sim.url, tmp_path / "m2.log", env)

        def submitted() -> bool:
            rows = query(sim.state_path, "SELECT address, challenge_id, nonce FROM solutions")
            return pending <= set(rows)

        wait_for(submitted, scaled(60), "pending solutions accepted after restart", again.log_tail)

        def journal_says_accepted() -> bool:
            rows = query(journal, "SELECT address, challenge_id, status FROM solutions")
            statuses = {(r[0], r[1]): r[2] for r in rows}
            return all(statuses.get((addr, cid)) == "accepted" for addr, cid, _ in pending)

        wait_for(journal_says_accepted, scaled(30), "the journal to record the acceptances", again.log_tail)
        assert again.terminate() == 0
        assert len(query(journal, "SELECT * FROM receipts WHERE body IS NOT NULL")) >= len(pending)


@pytest.mark.timeout(scaled(180))
def test_rate_limit_and_server_error_storms_are_survived(
    tmp_path: Path, miners: Callable[..., MinerProcess]
) -> None:
    root = tmp_path / "config"
    with running_simulator(tmp_path / "sim", challenge_period=2, **SIM_OPTIONS) as sim:
        # Deterministic storm: more than half of all API requests fail, in a fixed pattern (a random
        # 30 % rule once fired twice where the test wanted 3).
        sim.add_fault(kind="429", every=3, count=None, retry_after=1)
        sim.add_fault(kind="500", every=4, count=None)  # of the requests the 429 rule let through
        sim.add_fault(kind="html", every=10, count=None)
        miner = miners(root, sim.url, tmp_path / "m.log")

        def logs() -> str:
            return f"{miner.log_tail()}\n--- sim\n{sim.log_tail(10)}"

        wait_for(lambda: len(_wallets(root, 1)) == 2 if (root / "1").exists() else False,
            scaled(30), "wallets", logs)
        wallets = _wallets(root, 1)
        wait_for(
            lambda: all(len(_receipts(sim.state_path).get(w, ())) >= 2 for w in wallets),
            scaled(120),
            "receipts for both wallets through the storm",
            logs,
        )
        wait_for(
            lambda: len(query(sim.state_path, "SELECT original FROM donations")) == 2,
                scaled(60), "donations", logs
        )
        assert miner.proc is not None and miner.proc.poll() is None, "the miner must not crash"
        rules = {r["kind"]: r for r in httpx.get(f"{sim.url}/_sim/faults").json()["rules"]}
        for rule in rules.values():
            assert rule["fired"] == rule["matched"] // rule["every"], rule
        # Faults answer before the handler runs, so each row the simulator stored is a request that passed
        # all three rules. What the test waited for needs >= 10 of them (2 registrations, 4 accepted
        # solutions for >= 2 challenges fetched, 2 donations): html matched >= 10, hence 500 matched >= 13
        # (>= 3 fired), hence 429 matched >= 19 (>= 6 fired). These counts follow from the rules, not luck.
        solutions = query(sim.state_path, "SELECT challenge_id FROM solutions")
        successes = (len(query(sim.state_path, "SELECT address FROM registrations")) + len(solutions)
                     + len({row[0] for row in solutions})
                     + len(query(sim.state_path, "SELECT original FROM donations")))
        assert successes >= 10
        assert rules["html"]["matched"] >= successes
        assert rules["500"]["fired"] >= 3 and rules["429"]["fired"] >= 6, rules
        assert miner.terminate() == 0
