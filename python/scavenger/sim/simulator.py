"""The simulator's state and its economics (work_to_star_rate, allocations)."""

from __future__ import annotations

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
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    # -- economics ---------------------------------------------------------------------------------
    def completed_days(self, now: datetime) -> int:
        return min(max(self.schedule.day_of(now) - 1, 0), self.schedule.days)

    def rates(self, now: datetime) -> list[int]:
        per_day = self.store.receipts_per_day()
        return [
            self.daily_pool_star // max(per_day.get(day, 0), 1)
            for day in range(1, self.completed_days(now) + 1)
        ]

    def allocation(self, address: str, now: datetime) -> int:
        """STAR of completed days for the address's own receipts plus those donated to it."""
        if self.store.donation(address) is not None:
            return 0
        rates = self.rates(now)
        counted = self.store.receipts_per_day_for([address, *self.store.donors_to(address)])
        return sum(count * rates[day - 1] for day, count in counted.items() if 1 <= day <= len(rates))
