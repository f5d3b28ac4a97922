"""Which event day a receipt counts for, and what it is worth.

The real server splits each day's pool among the receipts *submitted* that day (spec 1.6: "Solutions for
challenges started in one cycle but completed in the next will count toward the allocation of the later
cycle"), and ``/work_to_star_rate`` gives STAR per receipt for each completed day (index 0 = day 1).

A receipt's day is therefore the server's ``current_day`` at the receipt's ``timestamp`` (acceptance time;
our own ``received_at`` when the server gave no receipt body). We know the server's day at a moment from the
challenges the miner journalled: the newest challenge issued at or before that moment carries its ``day``.
That needs no calendar, so it works for the real event (days of 24 h from 2025-10-30) and for a simulator
with compressed days alike. A receipt older than every journalled challenge falls back to the day in its
challenge id (``**D07C04`` -> 7), the rule some peers use.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

STAR_PER_NIGHT = 1_000_000

_DAY_IN_ID = re.compile(r"\*\*D(\d{2,})C\d+")


def parse_iso(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return None


def day_from_challenge_id(challenge_id: str) -> int | None:
    match = _DAY_IN_ID.fullmatch(challenge_id)
    return int(match.group(1)) if match else None


class DayCalendar:
    """The server's event day at a moment, learnt from journalled challenge bodies."""

    def __init__(self, challenges: Iterable[Mapping[str, Any]]) -> None:
        points: list[tuple[float, int]] = []
        for body in challenges:
            issued = body.get("issued_at")
            day = body.get("day")
            if isinstance(issued, str) and isinstance(day, int) and not isinstance(day, bool):
                moment = parse_iso(issued)
                if moment is not None:
                    points.append((moment, day))
        points.sort()
        self._times = [p[0] for p in points]
        self._days = [p[1] for p in points]

    def day_at(self, moment: float, challenge_id: str) -> int | None:
        index = bisect.bisect_right(self._times, moment) - 1
        if index >= 0:
            return self._days[index]
        return day_from_challenge_id(challenge_id)


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
