"""End to end: a config tree written exactly as the original (whosbax) program writes it, mined by several
real `scavenger mine` processes on the same folder (like `docker compose --scale`) against the simulator."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from scavenger.sim.testing import running_simulator
from scavenger.wallet import bip39, donate_list, legacy
from scavenger.wallet.legacy import LegacyWallet
from timing import scaled

from .conftest import SIM_OPTIONS, MinerProcess, query, wait_for

AUTHOR = donate_list.ORIGINAL_AUTHOR_ADDRESS
TERMS = "/TandC"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, 0o644)


class OriginalTree:
    """config/<n>/in_use.lock, config/<n>/miner-<n>/wallets/{seeds.txt,keys.hex}, config/donate_list.txt (3
    generated enterprise addresses + the author's), donate_list_seed.txt, donations_log.json: lines joined
    by "\\n" without a final newline, default permissions, as the original program's Rust code writes them."""

    def __init__(self, root: Path, ambiguous_slot: int, legacy_slots: dict[int, int]) -> None:
        self.root = root
        self.words: dict[int, list[str]] = {}
        for slot, count in {ambiguous_slot: 1, **legacy_slots}.items():
            words = [bip39.generate() for _ in range(count)]
            self.words[slot] = words
            folder = root / str(slot) / f"miner-{slot}" / "wallets"
            _write(root / str(slot) / "in_use.lock", b"")
            _write(folder / "seeds.txt", "\n".join(words).encode())
            if slot != ambiguous_slot:
                _write(folder / "keys.hex", "\n".join(legacy.legacy_seed(w).hex() for w in words).encode())
        self.destination_words = [bip39.generate() for _ in range(3)]
        self.destinations = [LegacyWallet(w, "mainnet").address for w in self.destination_words]
        _write(root / "donate_list.txt", "\n".join([*self.destinations, AUTHOR]).encode())
        _write(root / "donate_list_seed.txt", "\n".join(self.destination_words).encode())

    def wallets(self, slot: int) -> list[LegacyWallet]:
        return [LegacyWallet(w, "mainnet", n) for n, w in enumerate(self.words[slot], start=1)]

    def write_donations_log(self, pairs: list[tuple[str, str]]) -> None:
        # serde_json::to_string_pretty of {"completed": HashSet<(String, String)>}
        _write(
            self.root / "donations_log.json",
            json.dumps({"completed": [list(p) for p in pairs]}, indent=2).encode(),
        )

    def digests(self) -> dict[str, str]:
        """Every file the original program wrote, and the listing of every wallets/ folder."""
        result = {}
        for path in sorted(self.root.rglob("*")):
            relative = str(path.relative_to(self.root))
            if path.name in ("seeds.txt", "keys.hex") or (
                path.parent == self.root
                and path.name
                in (
                    "donate_list.txt",
                    "donate_list_seed.txt",
                    "donations_log.json",
                )
            ):
                result[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
            if path.name == "wallets":
                result[relative + "/"] = ",".join(sorted(os.listdir(path)))
        return result


def _register_as_the_original_did(url: str, wallet: LegacyWallet) -> None:
    message = httpx.get(url + TERMS, timeout=scaled(10)).json()["message"]
    reply = httpx.post(
        f"{url}/register/{wallet.address}/{wallet.sign(message)}/{wallet.pubkey_hex}", timeout=scaled(10)
    )
    assert reply.status_code == 201, reply.text


def _donate(url: str, wallet: LegacyWallet, destination: str) -> None:
    signature = wallet.sign(f"Assign accumulated Scavenger rights to: {destination}")
    reply = httpx.post(f"{url}/donate_to/{destination}/{wallet.address}/{signature}", timeout=scaled(10))
    assert reply.status_code == 201, reply.text


def _scavenger(root: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ROOT_CONF_PATH": str(root), "APP_BASE_URL": url, "APP_LOG_LEVEL": "warn"}
    env["COLUMNS"] = "250"  # the `slots` table on one line per slot
    return subprocess.run(
        [sys.executable, "-c", "from scavenger.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=scaled(60),
        check=False,
    )


@pytest.mark.timeout(scaled(300))
def test_original_config_tree_is_mined_consolidated_settled_and_reassigned(
    tmp_path: Path, miners: Callable[..., MinerProcess]
) -> None:
    root = tmp_path / "config"
    tree = OriginalTree(root, ambiguous_slot=1, legacy_slots={2: 2, 3: 2})
    author_assigned = tree.wallets(2)[0]
    tree.write_donations_log([(author_assigned.address, AUTHOR)])
    legacy_addresses = [w.address for s in (2, 3) for w in tree.wallets(s)]
    with running_simulator(tmp_path / "sim", challenge_period=2, **SIM_OPTIONS) as sim:
        # What the original program left on the server: slot 2 registered (slot 3 not: it registers first
        # here), one wallet assigned to the author, the ambiguous slot's legacy address registered.
        for wallet in [*tree.wallets(2), *tree.wallets(1)]:
            _register_as_the_original_did(sim.url, wallet)
        sim.register_outside(AUTHOR)
        _donate(sim.url, author_assigned, AUTHOR)
        before = tree.digests()

        a = miners(root, sim.url, tmp_path / "a.log")
        b = miners(root, sim.url, tmp_path / "b.log")

        def logs() -> str:
            return f"--- a\n{a.log_tail()}\n--- b\n{b.log_tail()}\n--- sim\n{sim.log_tail(20)}"

        def receipts() -> dict[str, int]:
            counts: dict[str, int] = {}
            for (address,) in query(sim.state_path, "SELECT address FROM solutions"):
                counts[address] = counts.get(address, 0) + 1
            return counts

        def donations() -> dict[str, str]:
            return dict(query(sim.state_path, "SELECT original, destination FROM donations"))

        # Both instances move past the ambiguous slot 1 and mine the legacy slots 2 and 3, as they are.
        wait_for(
            lambda: all(receipts().get(w, 0) >= 1 for w in legacy_addresses), scaled(90), "receipts", logs
        )
        assert "slot 1 skipped" in a.log_tail(200) + b.log_tail(200)
        assert "scavenger legacy settle" in a.log_tail(200) + b.log_tail(200)
        # Rights consolidated into the user's list (the original's generated destinations, registered by
        # us first), except the wallet already assigned to the author: nothing moves it without the flag.
        others = [w for w in legacy_addresses if w != author_assigned.address]
        wait_for(
            lambda: all(donations().get(w) in tree.destinations for w in others),
            scaled(60),
            "donations",
            logs,
        )
        registered = {r[0] for r in query(sim.state_path, "SELECT address FROM registrations")}
        assert set(donations().values()) - {AUTHOR} <= registered
        assert donations()[author_assigned.address] == AUTHOR
        assert "author address" in a.log_tail(400) + b.log_tail(400)

        # A forced INSTANCE_SLOT on the ambiguous folder waits with a clear message instead of crash-looping.
        c = miners(root, sim.url, tmp_path / "c.log", {"INSTANCE_SLOT": "1"})
        wait_for(
            lambda: "INSTANCE_SLOT=1 cannot be mined yet" in c.log_tail(), scaled(30), "waiting", c.log_tail
        )
        assert c.proc is not None and c.proc.poll() is None

        report = _scavenger(root, sim.url, "legacy", "report")
        assert report.returncode == 0, report.stderr
        line = next(x for x in report.stdout.splitlines() if author_assigned.address in x)
        assert "OUTSIDE YOUR LIST" in line and "legacy" in line and "registered yes" in line
        assert "slot 1: ambiguous" in report.stdout
        assert "author address" in report.stdout
        assert donations()[author_assigned.address] == AUTHOR  # the report alone moves nothing

        table = _scavenger(root, sim.url, "slots").stdout.splitlines()
        kinds_listed = {n: next(x for x in table if x.startswith(f"{n}\t")) for n in (1, 2, 3)}  # piped: TSV
        assert "ambiguous" in kinds_listed[1] and "legacy" in kinds_listed[2] and "legacy" in kinds_listed[3]

        settle = _scavenger(root, sim.url, "legacy", "settle", "--slot", "1")
        assert settle.returncode == 0, settle.stderr
        assert "recorded 'legacy'" in settle.stdout
        assert (root / "1" / "miner-1" / "wallet_kind.txt").read_text().startswith("legacy\n")
        (settled,) = tree.wallets(1)
        wait_for(lambda: receipts().get(settled.address, 0) >= 1, scaled(60), "slot 1 mined", c.log_tail)
        wait_for(
            lambda: donations().get(settled.address) in tree.destinations,
            scaled(60),
            "slot 1 donated",
            c.log_tail,
        )

        moved = _scavenger(root, sim.url, "legacy", "report", "--reassign")
        assert moved.returncode == 0, moved.stderr
        assert "reassigned to" in moved.stdout
        assert donations()[author_assigned.address] in tree.destinations

        listing = _scavenger(root, sim.url, "wallet", "list", "--slot", "2")
        assert listing.returncode == 0, listing.stderr
        assert [x.split("\t")[-1] for x in listing.stdout.splitlines()[1:]] == ["legacy", "legacy"]

        status = _scavenger(root, sim.url, "status", "--json", "--offline")
        assert status.returncode == 0, status.stderr
        slots = json.loads(status.stdout)["slots"]
        kinds_seen = {w["address"]: w["kind"] for s in slots for w in s["wallets"]}
        assert all(kinds_seen[address] == "legacy" for address in legacy_addresses), kinds_seen

        for miner in (a, b, c):
            assert miner.terminate() == 0
        # The original program's files are byte-identical and no file was added to any wallets/ folder.
        assert tree.digests() == before
