"""Opening a state file: the schedule and the receipt key are fixed when the file is created, so a
restarted simulator serves the same challenges and signs with the same key."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scavenger.sim.schedule import Schedule, parse_masks
from scavenger.sim.signer import ReceiptSigner
from scavenger.sim.store import Store
from scavenger.sim.timefmt import iso_ms, parse_iso
from scavenger.sim.verify import Network

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduleOptions:
    start: datetime
    period: float
    days: int
    difficulty: str
    network: Network
    seed_hex: str | None = None  # fixed schedule seed (tests); random when None


@dataclass(frozen=True)
class OpenedState:
    store: Store
    schedule: Schedule
    signer: ReceiptSigner
    network: Network
    created: bool


def open_state(path: Path, options: ScheduleOptions) -> OpenedState:
    store = Store(path)
    created = store.get_meta("schedule_seed") is None
    seed_hex = options.seed_hex or secrets.token_hex(32)
    if options.seed_hex is not None:
        try:
            if len(bytes.fromhex(seed_hex)) < 16:
                raise ValueError
        except ValueError:
            raise ValueError("schedule seed must be at least 32 hex characters") from None
    requested = {
        "schedule_seed": seed_hex,
        "start": iso_ms(options.start),
        "period": repr(float(options.period)),
        "days": str(options.days),
        "difficulty": ",".join(parse_masks(options.difficulty)),
        "network": options.network,
        "receipt_key_seed": secrets.token_hex(32),
    }
    _schedule(requested)  # refuse bad options before a new state file keeps them for good
    stored = store.init_meta(requested)
    if not created:
        for key in ("start", "period", "days", "difficulty", "network"):
            if stored[key] != requested[key]:
                log.info(
                    "state %s keeps its %s %s (requested %s ignored)", path, key, stored[key], requested[key]
                )
    network = stored["network"]
    if network not in ("mainnet", "testnet"):
        raise ValueError(f"state file {path} has an unknown network {network!r}")
    signer = ReceiptSigner(bytes.fromhex(stored["receipt_key_seed"]))
    return OpenedState(
        store, _schedule(stored), signer, "mainnet" if network == "mainnet" else "testnet", created
    )


def _schedule(values: dict[str, str]) -> Schedule:
    return Schedule(
        seed=bytes.fromhex(values["schedule_seed"]),
        start=parse_iso(values["start"]),
        period=float(values["period"]),
        days=int(values["days"]),
        difficulties=parse_masks(values["difficulty"]),
    )
