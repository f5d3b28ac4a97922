"""What the miner is doing right now, shared by the live view, the log lines and /metrics.

Written by the event-loop tasks only; readers take a snapshot-ish view (a torn read shows one stale number for
one refresh, which is harmless for a display).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from scavenger.api.health import ApiHealth
from scavenger.miner.journal import Counts
from scavenger.miner.meter import HashRateMeter


@dataclass
class WalletState:
    address: str
    registration: str = "pending"  # pending | registered | failing
    registration_error: str | None = None
    donation: str = "pending"  # pending | done | conflict | off
    found: int = 0
    accepted: int = 0
    pending: int = 0


@dataclass
class CurrentWork:
    address: str
    challenge_id: str
    difficulty: str
    tried: int
    expected: float
    deadline: float


@dataclass
class ChallengeState:
    challenge_id: str
    difficulty: str
    deadline: float
    solved_by: int
    tried: int


@dataclass
class MinerState:
    instance_id: str
    slot: int
    threads: int
    base_url: str
    meter: HashRateMeter = field(default_factory=HashRateMeter)
    started: float = field(default_factory=time.time)
    wallets: dict[str, WalletState] = field(default_factory=dict)
    current: CurrentWork | None = None
    challenges: list[ChallengeState] = field(default_factory=list)
    counts: Counts = field(default_factory=lambda: Counts(0, 0, 0, 0, 0))
    receipts: int = 0
    next_challenge_at: float | None = None
    api_status: str = "starting"
    # Open challenges known to this instance by where the fleet first heard of them (api, backend, import).
    challenge_sources: dict[str, int] = field(default_factory=dict)
    phase: str = "starting"  # starting | building ROM | mining | idle | stopping
    last_error: str | None = None
    health: ApiHealth = field(default_factory=ApiHealth)
    # STAR per receipt per completed day (GET /work_to_star_rate), refreshed hourly; None until known.
    rates: list[int] | None = None
    receipts_by_day: dict[int, int] = field(default_factory=dict)

    @property
    def submit_errors(self) -> int:
        """Submission requests that got no 2xx reply, including those retried within one call."""
        return self.health.failures("solution")
