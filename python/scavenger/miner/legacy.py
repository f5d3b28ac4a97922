"""``scavenger legacy settle|report``: bring the original program's wallets along.

* ``settle``: a slot whose ``seeds.txt`` has no ``keys.hex`` and was not written by this program is ambiguous
  (legacy or standard derivation, two different addresses). The API decides: ``GET /statistics/<address>``
  answers 400 "not registered" for an address the server does not know, so the derivation whose addresses are
  registered is the one the user mined with. The answer is recorded beside the wallets folder.
* ``report``: per wallet of every slot, standard and legacy: address, kind, registered or not, receipts
  (/statistics), current assignment (our journal, which keeps what a 409 named, else the original program's
  ``donations_log.json``), flagging assignments to addresses outside the user's donation list. Only with
  ``reassign=True`` does it move such wallets to the list: undo (donate to self), then donate again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scavenger.miner.config import MinerConfig
from scavenger.miner.donate import DonationList, Donor, load_donation_list
from scavenger.miner.journal import Journal
from scavenger.miner.runner import JOURNAL_NAME
from scavenger.miner.services import Registrar
from scavenger.miner.slots import instance_dir, slot_numbers, wallets_dir
from scavenger.miner.state import MinerState

log = logging.getLogger(__name__)

ORIGINAL_DONATIONS_LOG = "donations_log.json"


class SettleError(RuntimeError):
    """The API could not decide (or contradicts the files); nothing was recorded."""


# -- settle ------------------------------------------------------------------------------------------------


async def _registered(api: Any, address: str) -> bool:
    from scavenger.miner.apierrors import Outcome, classify

    try:
        await api.statistics(address)
    except Exception as exc:
        if classify(exc) is Outcome.NOT_REGISTERED:
            return False
        raise
    return True


def _seed_lines(directory: Path) -> list[str]:
    from scavenger.wallet import fsutil
    from scavenger.wallet.errors import StoreError

    data = fsutil.read_file(directory / "seeds.txt")
    if data is None:
        raise StoreError(f"{directory / 'seeds.txt'} does not exist")
    return [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]


async def settle(config: MinerConfig, slot: int, kind: str | None = None) -> str:
    """Decide (or take ``kind``) and record the kind of an ambiguous slot; returns what was done."""
    from scavenger.api import ScavengerClient
    from scavenger.wallet import Wallet, kinds
    from scavenger.wallet.address import parse_network
    from scavenger.wallet.legacy import LegacyWallet

    directory = wallets_dir(config.root, slot)
    found = kinds.classify(directory)
    if found.kind == "empty":
        raise SettleError(f"slot {slot}: {directory} holds no seeds.txt; nothing to settle")
    if found.has_keys:
        if kind is not None and kind != found.kind:
            raise SettleError(f"slot {slot}: keys.hex shows a {found.kind} folder ({found.reason})")
        return f"slot {slot} is {found.kind}: {found.reason}; nothing to settle"
    if kind is not None:
        path = kinds.record_kind(directory, kind, "given with --kind")  # type: ignore[arg-type]
        return f"slot {slot}: recorded '{kind}' (given with --kind) in {path}"
    network = parse_network(config.network)
    seeds = _seed_lines(directory)
    legacy_hits: list[str] = []
    standard_hits: list[str] = []
    async with ScavengerClient(config.base_url) as api:
        for number, words in enumerate(seeds, start=1):
            try:
                old = LegacyWallet(words, network, number).address
                new = Wallet.from_mnemonic(words, network).address
            except ValueError as exc:
                raise SettleError(f"{directory / 'seeds.txt'}, line {number}: {exc}") from None
            if await _registered(api, old):
                legacy_hits.append(old)
            if await _registered(api, new):
                standard_hits.append(new)
    asked = f"asked {config.base_url} about {len(seeds)} line(s)"
    if legacy_hits and not standard_hits:
        choice, evidence = "legacy", f"{asked}: legacy {', '.join(legacy_hits)} registered, no standard"
    elif standard_hits and not legacy_hits:
        choice, evidence = "standard", f"{asked}: standard {', '.join(standard_hits)} registered, no legacy"
    elif not legacy_hits:
        raise SettleError(
            f"slot {slot}: {asked}: neither the legacy (addr1v...) nor the standard (addr1q...) addresses "
            "of these words are registered, so the API cannot tell. Nothing was recorded. If the words come "
            f"from the original program, run `scavenger legacy settle --slot {slot} --kind legacy`; if they "
            "come from Eternl/Lace/Yoroi or this program, use --kind standard."
        )
    else:
        raise SettleError(
            f"slot {slot}: {asked}: both derivations have registered addresses (legacy {len(legacy_hits)}, "
            f"standard {len(standard_hits)}); split the lines into separate slots or say which with --kind. "
            "Nothing was recorded."
        )
    path = kinds.record_kind(directory, choice, evidence)  # type: ignore[arg-type]
    return f"slot {slot}: recorded '{choice}' in {path} ({evidence})"


# -- report --------------------------------------------------------------------------------------------------


@dataclass
class WalletRow:
    slot: int
    line: int
    kind: str
    address: str
    registered: str  # yes | no | ? (the API did not answer)
    receipts: int | None
    assignment: str | None
    source: str  # where the assignment is known from
    outside_list: bool
    action: str = ""


@dataclass
class Report:
    notes: list[str]
    rows: list[WalletRow]

    def text(self) -> str:
        lines = list(self.notes)
        for row in self.rows:
            receipts = "?" if row.receipts is None else str(row.receipts)
            assigned = f"assigned to {row.assignment} ({row.source})" if row.assignment else "unassigned"
            flag = "  OUTSIDE YOUR LIST" if row.outside_list else ""
            action = f"  -> {row.action}" if row.action else ""
            lines.append(
                f"slot {row.slot} line {row.line}  {row.kind:<8} {row.address}  registered {row.registered}  "
                f"receipts {receipts}  {assigned}{flag}{action}"
            )
        outside = [r for r in self.rows if r.outside_list and not r.action.startswith("reassigned")]
        if outside:
            lines.append(
                f"{len(outside)} wallet(s) assigned to an address outside your donation list; "
                "`scavenger legacy report --reassign` moves them to your list (undo, then donate again)"
            )
        return "\n".join(lines)

    def json(self) -> str:
        return json.dumps({"notes": self.notes, "wallets": [asdict(r) for r in self.rows]}, indent=1)


def original_assignments(root: Path) -> dict[str, str]:
    """``config/donations_log.json`` of the original program: ``{"completed": [[original, destination]]}``."""
    path = root / ORIGINAL_DONATIONS_LOG
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        pairs = doc["completed"]
        return {str(p[0]): str(p[1]) for p in pairs if isinstance(p, list) and len(p) == 2}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s unreadable (%s); ignored", path, exc)
        return {}


async def _statistics(api: Any, address: str) -> tuple[str, int | None]:
    from scavenger.miner.apierrors import Outcome, classify, message_of

    try:
        stats = await api.statistics(address)
    except Exception as exc:
        if classify(exc) is Outcome.NOT_REGISTERED:
            return "no", None
        log.warning("statistics for %s… failed: %s", address[:24], message_of(exc)[:200])
        return "?", None
    return "yes", int(stats.local.crypto_receipts)


async def report(config: MinerConfig, *, reassign: bool = False) -> Report:
    from scavenger.api import ScavengerClient
    from scavenger.wallet import kinds
    from scavenger.wallet.errors import AmbiguousWalletsError

    donation_list: DonationList = load_donation_list(config.root, config.network, config.tip_address)
    notes = [f"donation list ({len(donation_list.addresses)}): {', '.join(donation_list.addresses)}"]
    notice = donation_list.notice()
    if notice:
        notes.append(notice)
    from_original = original_assignments(config.root)
    rows: list[WalletRow] = []
    stop = asyncio.Event()
    async with ScavengerClient(config.base_url) as api:
        for number in slot_numbers(config.root):
            try:
                loaded = kinds.load_slot_wallets(
                    wallets_dir(config.root, number), config.network, read_only=not reassign
                )
            except AmbiguousWalletsError:
                notes.append(f"slot {number}: ambiguous; run `scavenger legacy settle --slot {number}`")
                continue
            if not loaded.wallets:
                continue
            path = instance_dir(config.root, number) / JOURNAL_NAME
            journal = Journal(path) if (reassign or path.exists()) else None
            try:
                ours = journal.donations() if journal is not None else {}
                for line, wallet in enumerate(loaded.wallets, start=1):
                    registered, receipts = await _statistics(api, wallet.address)
                    assignment, source = None, ""
                    if wallet.address in ours:
                        assignment, source = ours[wallet.address][0], "journal"
                    elif wallet.address in from_original:
                        assignment, source = from_original[wallet.address], ORIGINAL_DONATIONS_LOG
                    row = WalletRow(
                        number,
                        line,
                        loaded.kind,
                        wallet.address,
                        registered,
                        receipts,
                        assignment,
                        source,
                        assignment is not None and assignment not in donation_list.addresses,
                    )
                    if row.outside_list and reassign and journal is not None:
                        row.action = await _reassign(api, journal, donation_list, wallet, number, stop)
                    rows.append(row)
            finally:
                if journal is not None:
                    journal.close()
    return Report(notes, rows)


async def _reassign(
    api: Any, journal: Journal, donation_list: DonationList, wallet: Any, slot: int, stop: asyncio.Event
) -> str:
    registrar = Registrar(api, journal, MinerState(f"miner-{slot}", slot, 0, ""), stop, lambda _a: None)
    status = await Donor(api, journal, donation_list, registrar.register).reassign(wallet)
    destination, state = journal.donations().get(wallet.address, ("", ""))
    if status == "done" and state == "done":
        return f"reassigned to {destination}"
    return f"not moved ({status}); see the log"
