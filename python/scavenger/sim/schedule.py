"""The clock-driven challenge schedule: which challenge is current, and the exact fields of each one.

Everything is derived from (seed, start, period, days, difficulties), so the schedule needs no table:
persisting those five values is enough for a restarted simulator to serve identical challenges."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scavenger.sim.timefmt import iso_ms, iso_s

CHALLENGES_PER_DAY = 24
# fullmatch, and ASCII digits only: "\d" also takes other scripts' digits, "$" a trailing newline.
_CHALLENGE_ID = re.compile(r"\*\*D([0-9]{2})C([0-9]{2})")
_MASK = re.compile(r"[0-9A-Fa-f]{8}")


def parse_masks(text: str) -> tuple[str, ...]:
    """Comma-separated 8-hex masks, used round-robin per challenge; upper case like the real server."""
    masks = tuple(part.strip() for part in text.split(",") if part.strip())
    if not masks:
        raise ValueError("difficulty must name at least one 8-hex mask, e.g. 000FFFFF")
    for mask in masks:
        if not _MASK.fullmatch(mask):
            raise ValueError(f"difficulty {mask!r} is not an 8-hex-digit mask such as 000FFFFF")
    return tuple(mask.upper() for mask in masks)


@dataclass(frozen=True)
class Challenge:
    index: int  # 0-based position in the whole event
    challenge_id: str
    day: int
    challenge_number: int
    issued: datetime
    deadline: datetime
    issued_at: str
    latest_submission: str
    difficulty: str
    no_pre_mine: str
    no_pre_mine_hour: str

    def as_json(self) -> dict[str, Any]:
        return {
            "challenge_id": self.challenge_id,
            "day": self.day,
            "challenge_number": self.challenge_number,
            "issued_at": self.issued_at,
            "latest_submission": self.latest_submission,
            "difficulty": self.difficulty,
            "no_pre_mine": self.no_pre_mine,
            "no_pre_mine_hour": self.no_pre_mine_hour,
        }


@dataclass(frozen=True)
class Schedule:
    seed: bytes
    start: datetime
    period: float  # seconds between challenges (3600 on the real server)
    days: int
    difficulties: tuple[str, ...]

    def __post_init__(self) -> None:
        if not (math.isfinite(self.period) and self.period >= 1):
            raise ValueError(f"challenge period must be at least 1 second, got {self.period}")
        if not 1 <= self.days <= 99:
            raise ValueError(f"days must be between 1 and 99 (ids are **DddCcc), got {self.days}")
        if len(self.seed) < 16:
            raise ValueError("schedule seed must be at least 16 bytes")
        try:  # every date the schedule serves must be representable, else replies fail later
            self.mining_period_ends  # noqa: B018
        except OverflowError:
            raise ValueError(
                f"a schedule from {self.start.isoformat()} with {self.period} s periods over {self.days} days"
                " ends after the year 9999"
            ) from None

    @property
    def total(self) -> int:
        return self.days * CHALLENGES_PER_DAY

    @property
    def day_length(self) -> timedelta:
        return timedelta(seconds=self.period * CHALLENGES_PER_DAY)

    @property
    def mining_period_ends(self) -> datetime:
        """End of the last day, inclusive (``…T23:59:59Z`` on the real server)."""
        return self.start + self.day_length * self.days - timedelta(seconds=1)

    def _derive(self, label: str, number: int) -> bytes:
        return hashlib.blake2b(f"{label}:{number}".encode(), key=self.seed[:64], digest_size=32).digest()

    def no_pre_mine(self, day: int) -> str:
        return self._derive("no_pre_mine", day).hex()

    def challenge(self, index: int) -> Challenge:
        if not 0 <= index < self.total:
            raise IndexError(f"challenge index {index} outside 0..{self.total - 1}")
        day, number = divmod(index, CHALLENGES_PER_DAY)
        day += 1
        number += 1
        issued = self.start + timedelta(seconds=self.period * index)
        deadline = issued + self.day_length - timedelta(seconds=1)
        ends = self.mining_period_ends
        # Final day: the window is capped at the end of mining, and the real server then shows the
        # cap in its own format (no milliseconds) - miners must hash whatever string they were given.
        latest = iso_ms(deadline) if deadline <= ends else iso_s(ends)
        hour_value = int.from_bytes(self._derive("no_pre_mine_hour", index)[:8], "big")
        return Challenge(
            index=index,
            challenge_id=f"**D{day:02d}C{number:02d}",
            day=day,
            challenge_number=number,
            issued=issued,
            deadline=min(deadline, ends),
            issued_at=iso_ms(issued),
            latest_submission=latest,
            difficulty=self.difficulties[index % len(self.difficulties)],
            no_pre_mine=self.no_pre_mine(day),
            # 9-10 decimal digits like every observed value (509681483, 4294967295 at most)
            no_pre_mine_hour=str(100_000_000 + hour_value % (4_294_967_296 - 100_000_000)),
        )

    def index_of(self, challenge_id: str) -> int | None:
        match = _CHALLENGE_ID.fullmatch(challenge_id)
        if match is None:
            return None
        day, number = int(match[1]), int(match[2])
        if not (1 <= day <= self.days and 1 <= number <= CHALLENGES_PER_DAY):
            return None
        return (day - 1) * CHALLENGES_PER_DAY + number - 1

    def current_index(self, now: datetime) -> int | None:
        """Index of the newest issued challenge, None before the start or after the mining period.

        ``mining_period_ends`` names its last second (``…T23:59:59Z``) and solutions are accepted until that
        second is over, so the period ends one second later - with 1 s periods the final challenge is issued
        at that very second and would otherwise never be current."""
        if now < self.start or now >= self.mining_period_ends + timedelta(seconds=1):
            return None
        return min(int((now - self.start).total_seconds() // self.period), self.total - 1)

    def issued_count(self, now: datetime) -> int:
        if now < self.start:
            return 0
        return min(int((now - self.start).total_seconds() // self.period) + 1, self.total)

    def day_of(self, moment: datetime) -> int:
        """Event day a moment falls in (1-based; 0 before the start) - receipts count for this day."""
        if moment < self.start:
            return 0
        return int((moment - self.start).total_seconds() // (self.period * CHALLENGES_PER_DAY)) + 1

    def challenge_reply(self, now: datetime) -> dict[str, Any]:
        if now < self.start:
            return {"code": "before", "starts_at": iso_ms(self.start)}
        index = self.current_index(now)
        if index is None:
            return {"code": "after"}
        current = self.challenge(index)
        return {
            "code": "active",
            "challenge": current.as_json(),
            "mining_period_ends": iso_s(self.mining_period_ends),
            "max_day": self.days,
            "total_challenges": self.total,
            "current_day": current.day,
            "next_challenge_starts_at": iso_s(current.issued + timedelta(seconds=self.period)),
        }
