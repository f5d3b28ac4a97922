"""Donation (``donate_to``): each mining wallet assigns its rights to ONE address of the donation list, once.

The destination is chosen by hashing the wallet's address, so every instance and every restart picks the same
one (the seed drew at random on every pass, so instances raced each other with different destinations). The
list is the user's ``donate_list.txt`` when present; otherwise three addresses are generated with their seeds
in ``donate_list_seed.txt`` and registered by us, because the server refuses unregistered destinations (the
seed never registered them, so its donations failed until its author's hard-coded address was drawn). No
address the user does not control is added unless TIP_ADDRESS is set.

A list the original program wrote ends with its author's address: it is reported and left out, unless the user
keeps it deliberately by setting TIP_ADDRESS to it. A wallet the server already assigns to an address of the
list counts as done; one assigned elsewhere (typically that author address) is reported and left as it is:
only ``scavenger legacy report --reassign`` moves it (undo = donate to self, then donate again).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scavenger.api.health import ApiHealth
from scavenger.miner.apierrors import Outcome, classify, failure_label, message_of
from scavenger.miner.journal import Journal
from scavenger.miner.services import Api, Signer

log = logging.getLogger(__name__)

DONATION_MESSAGE = "Assign accumulated Scavenger rights to: {destination}"
_CURRENT_DEST = re.compile(r"active donation assignment to (\S+)")


@dataclass(frozen=True)
class DonationList:
    addresses: list[str]
    owned: dict[str, Any]  # destination address -> Wallet or LegacyWallet whose seeds we hold
    generated: bool
    left_out: list[str] = field(default_factory=list)  # listed but not used: the original author's address

    def notice(self) -> str | None:
        """The start-up line about the original author's address, if the list holds it."""
        from scavenger.wallet.donate_list import ORIGINAL_AUTHOR_ADDRESS as author

        if author in self.left_out:
            return (
                f"donate_list.txt holds the original program's author address {author} "
                "(it appended it to every list it generated); it is NOT used. To keep donating to it "
                "deliberately, set TIP_ADDRESS to that address."
            )
        if author in self.addresses:
            return "donate_list.txt: the original author's address is kept because TIP_ADDRESS names it"
        return None


@dataclass
class PassResult:
    done: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)
    rate_limited: bool = False


def current_destination(exc: BaseException) -> str | None:
    """The address a 409 names: "... already has an active donation assignment to <dest>"."""
    current = getattr(exc, "current_destination", None)
    if isinstance(current, str):
        return current
    match = _CURRENT_DEST.search(message_of(exc))
    return match.group(1).rstrip(".,;") if match else None


def choose_destination(address: str, destinations: Sequence[str]) -> str:
    """Deterministic: the same wallet always maps to the same list entry, on every instance."""
    if not destinations:
        raise ValueError("the donation list is empty")
    digest = hashlib.sha256(address.encode("ascii")).digest()
    return destinations[int.from_bytes(digest[:8], "big") % len(destinations)]


def load_donation_list(root: Path, network: str, tip_address: str | None) -> DonationList:
    """Read (or create once, safely against concurrent instances) the shared list under ``root``."""
    from scavenger.wallet import donate_list
    from scavenger.wallet.errors import StoreError

    loaded = donate_list.ensure(root, network)
    addresses = list(loaded.addresses)
    left_out = []
    author = donate_list.ORIGINAL_AUTHOR_ADDRESS
    if author in addresses and tip_address != author:
        addresses.remove(author)
        left_out.append(author)
    owned = {w.address: w for w in loaded.wallets}
    if tip_address and tip_address not in addresses:
        addresses.append(tip_address)
    if not addresses:
        raise StoreError(
            f"{donate_list.list_path(root)} holds no address this program will use (only the original "
            "author's); write your own destination addresses in it"
        )
    return DonationList(addresses, owned, bool(owned), left_out)


class Donor:
    def __init__(
        self,
        api: Api,
        journal: Journal,
        donation_list: DonationList,
        register: Any,
        health: ApiHealth | None = None,
    ) -> None:
        self._api = api
        self._health = health if health is not None else ApiHealth()
        self._journal = journal
        self._list = donation_list
        self._register = register  # async (Signer) -> None; registers a destination we own
        self._destinations_registered: set[str] = set()

    async def _ensure_destination(self, destination: str) -> None:
        wallet = self._list.owned.get(destination)
        if wallet is None or destination in self._destinations_registered:
            return
        if destination not in self._journal.registered():
            await self._register(wallet)
        self._destinations_registered.add(destination)

    async def donate_one(self, wallet: Signer) -> str:
        """One attempt for ``wallet``; returns done | conflict | retry | rate_limited | self."""
        destination = choose_destination(wallet.address, self._list.addresses)
        if destination == wallet.address:
            # Donating to oneself is the server's "undo": nothing to assign.
            self._journal.record_donation(wallet.address, destination, "done", "own address is on the list")
            return "self"
        try:
            await self._ensure_destination(destination)
            signature = wallet.sign(DONATION_MESSAGE.format(destination=destination))
            await self._api.donate_to(destination, wallet.address, signature)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return self._on_error(exc, wallet, destination)
        self._journal.record_donation(wallet.address, destination, "done", None)
        log.info("rights of %s… assigned to %s…", wallet.address[:24], destination[:24])
        return "done"

    def _on_error(self, exc: BaseException, wallet: Signer, destination: str) -> str:
        outcome = classify(exc)
        text = message_of(exc)
        if outcome is Outcome.CONFLICT:
            current = current_destination(exc)
            if current is not None and current in self._list.addresses:
                # Already assigned to the user's list (an earlier pass, another instance, the original
                # program with the user's own list): that is what we want, whichever entry it is.
                self._journal.record_donation(wallet.address, current, "done", "already assigned")
                return "done"
            self._journal.record_donation(wallet.address, current or destination, "conflict", text[:300])
            log.warning(
                "%s… is already assigned to %s, which is not in the donation list; left as is "
                "(`scavenger legacy report --reassign` moves it)",
                wallet.address[:24],
                current or "another address",
            )
            return "conflict"
        if outcome is Outcome.RATE_LIMITED:
            self._health.failed("donate_to", failure_label(exc), text, "donations wait for the next pass")
            return "rate_limited"
        if outcome in (Outcome.NOT_FOUND, Outcome.NOT_REGISTERED):
            # 404: destination (or original) not registered. Ours gets registered on the next attempt;
            # someone else's list entry can only be retried later.
            self._destinations_registered.discard(destination)
            if destination in self._list.owned:
                self._journal.forget_registration(destination)
        self._health.failed(
            "donate_to", failure_label(exc), text,
            f"{wallet.address[:24]}… -> {destination[:24]}… retried at the next donation pass",
        )
        return "retry"

    async def reassign(self, wallet: Signer) -> str:
        """Move ``wallet``'s rights to the list: undo (donate to self), then donate again. Only ever called on
        the user's explicit request (``scavenger legacy report --reassign``)."""
        try:
            signature = wallet.sign(DONATION_MESSAGE.format(destination=wallet.address))
            await self._api.donate_to(wallet.address, wallet.address, signature)
            log.info("undid the donation assignment of %s…", wallet.address[:24])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if "no active donation assignment" not in message_of(exc).lower():
                log.warning("undo for %s… failed: %s", wallet.address[:24], message_of(exc)[:200])
                return "retry"
        # Unassigned now: if the donation below fails, the next pass (mine or donate) assigns it to the list.
        self._journal.forget_donation(wallet.address)
        return await self.donate_one(wallet)

    async def run_pass(self, wallets: Sequence[Signer]) -> PassResult:
        result = PassResult()
        settled = self._journal.donations()
        for wallet in wallets:
            if wallet.address in settled:
                continue
            status = await self.donate_one(wallet)
            if status in ("done", "self"):
                result.done.append(wallet.address)
            elif status == "conflict":
                result.conflicts.append(wallet.address)
            elif status == "rate_limited":
                result.rate_limited = True
                result.retry.append(wallet.address)
                break
            else:
                result.retry.append(wallet.address)
        return result
