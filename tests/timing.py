"""The suite's one factor for timing-sensitive waits.

Every deadline a test waits on (a process to start, a solution to be accepted, a report to arrive) is
written as `scaled(seconds)`, so a slow or loaded machine is handled by one setting,
`TEST_WAIT_FACTOR` (default 1), instead of by loosening each test.
"""

from __future__ import annotations

import os


def _factor() -> float:
    raw = os.environ.get("TEST_WAIT_FACTOR", "1")
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"TEST_WAIT_FACTOR={raw!r}: expected a number such as 2") from None
    if not 0.1 <= value <= 100:
        raise SystemExit(f"TEST_WAIT_FACTOR={raw!r}: expected a number between 0.1 and 100")
    return value


WAIT_FACTOR = _factor()


def scaled(seconds: float) -> float:
    """`seconds` stretched by the suite's wait factor."""
    return seconds * WAIT_FACTOR
