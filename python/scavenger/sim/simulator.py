"""The simulator's state and its economics (work_to_star_rate, allocations)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from scavenger.sim.faults import FaultPlan, RateLimiter
from scavenger.sim.schedule import Schedule
from scavenger.sim.signer import ReceiptSigner
from scavenger.sim.solver import SolutionChecker
from scavenger.sim.store import Store
from scavenger.sim.verify import Network

DEFAULT_DAILY_POOL_STAR = 30_000_000 * 1_000_000  # ~626 M NIGHT / 21 days, in STAR
# Receipts the rest of the world submits per day (before the day's +-30 % variation): with the real pool
# this gives ~10^7 STAR per receipt, the magnitude of the documentation's [10882519, 7692307, 12487254].
DEFAULT_NETWORK_RECEIPTS = 3_000_000


@dataclass
class Simulator:
    store: Store
    schedule: Schedule
    signer: ReceiptSigner
    checker: SolutionChecker
    network: Network
    faults: FaultPlan = field(default_factory=FaultPlan)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    daily_pool_star: int = DEFAULT_DAILY_POOL_STAR
    network_receipts: int = DEFAULT_NETWORK_RECEIPTS
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    # -- economics ---------------------------------------------------------------------------------
    def completed_days(self, now: datetime) -> int:
        return min(max(self.schedule.day_of(now) - 1, 0), self.schedule.days)

    def network_receipts_on(self, day: int) -> int:
        """Receipts of the simulated rest of the world on ``day``: ``network_receipts`` x a factor in
        [0.7, 1.3] derived from the schedule seed and the day (stable across restarts)."""
        if self.network_receipts == 0:
            return 0
        digest = hashlib.blake2b(f"network_receipts:{day}".encode(), key=self.schedule.seed[:64]).digest()
        factor = 0.7 + 0.6 * int.from_bytes(digest[:8], "big") / 2**64
        return max(1, round(self.network_receipts * factor))

    def rates(self, now: datetime) -> list[int]:
        """STAR per receipt for each completed day: the day's pool shared by every receipt of that day,
        ours and the simulated world's (``--network-receipts 0``: ours only, so a day without any
        receipt pays the whole pool, as before)."""
        per_day = self.store.receipts_per_day()
        return [
            self.daily_pool_star // max(per_day.get(day, 0) + self.network_receipts_on(day), 1)
            for day in range(1, self.completed_days(now) + 1)
        ]

    def allocation(self, address: str, now: datetime) -> int:
        """STAR of completed days for the address's own receipts plus those donated to it."""
        if self.store.donation(address) is not None:
            return 0
        rates = self.rates(now)
        counted = self.store.receipts_per_day_for([address, *self.store.donors_to(address)])
        return sum(count * rates[day - 1] for day, count in counted.items() if 1 <= day <= len(rates))
