"""Timestamp formats of the real server. Clients hash some of these strings verbatim, so the exact
rendering (milliseconds or not) is part of the protocol, not cosmetics."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta


def iso_ms(moment: datetime) -> str:
    """``2025-10-19T08:59:59.000Z``: issued_at, latest_submission, receipt timestamps."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_s(moment: datetime) -> str:
    """``2025-11-20T23:59:59Z``: mining_period_ends and next_challenge_starts_at in the documented reply."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_RELATIVE = re.compile(r"^(?P<sign>[+-])(?P<value>\d+(?:\.\d+)?)(?P<unit>[smhd]?)$")
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_start(text: str, now: datetime) -> datetime:
    """``now``, ``+30s`` / ``-2h`` relative to now, or an ISO-8601 instant (naive means UTC).
    Truncated to whole seconds so every derived timestamp renders with ``.000``."""
    text = text.strip()
    if text.lower() == "now":
        moment = now
    elif match := _RELATIVE.match(text):
        seconds = float(match["value"]) * _UNITS[match["unit"]]
        try:
            moment = now + timedelta(seconds=seconds if match["sign"] == "+" else -seconds)
        except OverflowError:
            raise ValueError(f"start {text!r} is too far from now") from None
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(
                f"start {text!r} is neither 'now', +/-SECONDS[smhd] nor an ISO-8601 time"
            ) from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
