"""``scavenger donate``: one donation pass over the wallets of every slot (standard and legacy), then exit."""

from __future__ import annotations

from scavenger.miner.config import MinerConfig
from scavenger.miner.donate import Donor, load_donation_list
from scavenger.miner.journal import Journal
from scavenger.miner.runner import JOURNAL_NAME
from scavenger.miner.services import Registrar
from scavenger.miner.slots import instance_dir, slot_numbers, wallets_dir
from scavenger.miner.state import MinerState


async def run_donation_pass(config: MinerConfig) -> str:
    import asyncio

    from scavenger.api import ScavengerClient
    from scavenger.wallet import kinds
    from scavenger.wallet.errors import AmbiguousWalletsError

    donation_list = load_donation_list(config.root, config.network, config.tip_address)
    lines = [f"donation list: {len(donation_list.addresses)} address(es)"]
    notice = donation_list.notice()
    if notice:
        lines.append(notice)
    stop = asyncio.Event()
    async with ScavengerClient(config.base_url) as api:
        # Only the folder numbers: probing each slot's lock (as `scavenger slots` does) is not needed here and
        # could make a miner starting at that instant skip a free slot.
        for number in slot_numbers(config.root):
            try:
                loaded = kinds.load_slot_wallets(wallets_dir(config.root, number), config.network)
            except AmbiguousWalletsError as exc:
                lines.append(f"slot {number}: skipped: {exc}")
                continue
            wallets = loaded.wallets
            if not wallets:
                continue
            # SQLite WAL lets this pass share the journal with a miner running in that slot.
            journal = Journal(instance_dir(config.root, number) / JOURNAL_NAME)
            try:
                state = MinerState(f"miner-{number}", number, 0, config.base_url)
                registrar = Registrar(api, journal, state, stop, lambda _a: None)
                registered = journal.registered()
                for wallet in wallets:
                    if wallet.address not in registered:
                        await registrar.register(wallet)
                result = await Donor(api, journal, donation_list, registrar.register).run_pass(wallets)
                settled = journal.donations()
                done = sum(1 for w in wallets if settled.get(w.address, ("", ""))[1] == "done")
                lines.append(
                    f"slot {number} ({loaded.kind}): {len(wallets)} wallet(s), {done} assigned, "
                    f"{len(result.conflicts)} assigned elsewhere, {len(result.retry)} to retry"
                )
            finally:
                journal.close()
    return "\n".join(lines)
