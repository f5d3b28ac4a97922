"""Which event day a receipt counts for, and what it is worth.

The real server splits each day's pool among the receipts *submitted* that day (spec 1.6: "Solutions for
challenges started in one cycle but completed in the next will count toward the allocation of the later
cycle"), and ``/work_to_star_rate`` gives STAR per receipt for each completed day (index 0 = day 1).

A receipt's day is therefore the server's ``current_day`` at the receipt's ``timestamp`` (acceptance time;
our own ``received_at`` when the server gave no receipt body). The calendar comes from the challenges the
miner journalled: challenge ``n`` of day ``d`` is issued at ``start + ((d - 1) * 24 + n - 1) * period``
(spec 1.3/4: one per period, 24 a day), so two journalled challenges give ``start`` and ``period`` exactly,
whichever challenges in between were missed; with one, the period is the real hour. That works for the real
event (Day 1 = 2025-10-30, hourly) and for a simulator with compressed days alike. Without any journalled
challenge a receipt counts for the day in its challenge id (``**D07C04`` -> 7), the rule some peers use.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

STAR_PER_NIGHT = 1_000_000

_DAY_IN_ID = re.compile(r"\*\*D(\d{2,})C\d+")


def format_iso(t: float | None = None) -> str:
    """Unix time (default now) as ``2025-11-20T23:59:59Z``, the form of every time in status and the book."""
    moment = datetime.fromtimestamp(time.time() if t is None else t, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return None


def day_from_challenge_id(challenge_id: str) -> int | None:
    match = _DAY_IN_ID.fullmatch(challenge_id)
    return int(match.group(1)) if match else None


CHALLENGES_PER_DAY = 24
REAL_PERIOD = 3600.0


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class DayCalendar:
    """The server's event day at a moment, learnt from journalled challenge bodies."""

    def __init__(self, challenges: Iterable[Mapping[str, Any]]) -> None:
        points: list[tuple[int, float]] = []  # (challenge index since the start, issued at)
        for body in challenges:
            issued, day, number = body.get("issued_at"), body.get("day"), body.get("challenge_number")
            if not (isinstance(issued, str) and isinstance(day, int) and isinstance(number, int)):
                continue
            if _is_int(day) and _is_int(number) and day >= 1 and number >= 1:
                moment = parse_iso(issued)
                if moment is not None:
                    points.append(((day - 1) * CHALLENGES_PER_DAY + number - 1, moment))
        self._start: float | None = None
        self._period = REAL_PERIOD
        if points:
            first, last = min(points), max(points)
            if last[0] > first[0] and last[1] > first[1]:
                self._period = (last[1] - first[1]) / (last[0] - first[0])
            self._start = first[1] - first[0] * self._period

    def day_at(self, moment: float, challenge_id: str) -> int | None:
        if self._start is None:
            return day_from_challenge_id(challenge_id)
        # A hair of tolerance: timestamps are rounded to the millisecond, periods are not.
        elapsed = moment - self._start + 1e-6
        return max(1, math.floor(elapsed / (self._period * CHALLENGES_PER_DAY)) + 1)


@dataclass(frozen=True)
class Estimate:
    star: int  # receipts of completed days x that day's rate
    rated: int  # receipts on completed days
    unrated: int  # receipts on days without a rate yet (today, or an unknown day)


def estimate(receipts_by_day: Mapping[int, int], rates: Sequence[int] | None) -> Estimate:
    """STAR earned by ``receipts_by_day`` at ``rates`` (STAR per receipt per completed day)."""
    star = rated = unrated = 0
    for day, count in receipts_by_day.items():
        if rates is not None and 1 <= day <= len(rates):
            star += count * rates[day - 1]
            rated += count
        else:
            unrated += count
    return Estimate(star, rated, unrated)


def night(star: int | float) -> float:
    """STAR as NIGHT, rounded to the STAR (6 decimals)."""
    return round(star / STAR_PER_NIGHT, 6)
