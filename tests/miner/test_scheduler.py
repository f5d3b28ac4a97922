from __future__ import annotations

from typing import Any

import pytest

from scavenger.miner.meter import HashRateMeter
from scavenger.miner.scheduler import expected_hashes, parse_time, plan


def _challenge(cid: str, deadline_text: str, key: str = "k1") -> tuple[dict[str, Any], float]:
    body = {
        "challenge_id": cid,
        "latest_submission": deadline_text,
        "no_pre_mine": key,
        "difficulty": "0000FFFF",
    }
    return body, parse_time(deadline_text)


def test_parse_time_accepts_the_server_formats() -> None:
    assert parse_time("2025-11-20T23:59:59Z") == parse_time("2025-11-20T23:59:59.000Z")
    assert parse_time("1970-01-01T00:00:10.500Z") == 10.5
    with pytest.raises(ValueError, match="not an ISO-8601 time"):
        parse_time("yesterday")
    with pytest.raises(ValueError, match="without a zone"):
        parse_time("2025-11-20T23:59:59")


def test_expected_hashes_counts_zero_bits_of_the_mask() -> None:
    assert expected_hashes("0000FFFF") == 2.0**16
    assert expected_hashes("00001FFF") == 2.0**19
    assert expected_hashes("FFFFFFFF") == 1.0


def test_plan_orders_by_deadline_and_skips_solved_and_closing() -> None:
    early = _challenge("**D01C02", "1970-01-01T00:01:40Z")  # t=100
    late = _challenge("**D01C03", "1970-01-01T00:03:20Z", key="k2")  # t=200
    closing = _challenge("**D01C01", "1970-01-01T00:00:52Z")  # t=52, inside the margin at now=50
    expired = _challenge("**D00C24", "1970-01-01T00:00:10Z")
    wallets = ["addrA", "addrB"]
    work = plan([late, closing, early, expired], wallets, {("addrA", "**D01C02")}, now=50.0)
    assert [(w.address, w.challenge_id) for w in work] == [
        ("addrB", "**D01C02"),
        ("addrA", "**D01C03"),
        ("addrB", "**D01C03"),
    ]
    assert work[1].rom_key == "k2"
    assert plan([early], wallets, {("addrA", "**D01C02"), ("addrB", "**D01C02")}, now=0.0) == []


def test_meter_windows() -> None:
    now = [1000.0]
    meter = HashRateMeter(clock=lambda: now[0])
    assert meter.rates() == (0.0, 0.0, 0.0)
    for _ in range(120):  # 2 minutes of 1-s batches at 100 H/s
        now[0] += 1.0
        meter.add(100, elapsed=1.0)
    r10, r60, r15m = meter.rates()
    assert r10 == pytest.approx(100.0, rel=0.11)
    assert r60 == pytest.approx(100.0, rel=0.02)
    # Younger than 15 min: divided by the 121 s the meter has run, not by 900 s.
    assert r15m == pytest.approx(12000 / 121, rel=0.01)
    now[0] += 30.0  # idle: the short window drains first
    assert meter.rate(10.0) == 0.0
    assert meter.rate(60.0) == pytest.approx(3000 / 60, rel=0.05)
    assert meter.total == 12000


def test_rate_while_hashing_is_not_diluted_by_idle_time() -> None:
    """The demo idles between easy challenges: its wall-clock average looked tiny (49-117 H/s) beside the
    benchmark's thousands. The rate while hashing is what the machine does when it works."""
    now = [1000.0]
    meter = HashRateMeter(clock=lambda: now[0])
    meter.add(5000, elapsed=1.0)  # 1 s of hashing at 5,000 H/s
    now[0] += 59.0  # then 59 s waiting for the next challenge
    meter.add(5000, elapsed=1.0)
    assert meter.rate(60.0) == pytest.approx(10000 / 60)
    assert meter.hashing_rate(60.0) == pytest.approx(5000.0)
    assert meter.busy(60.0) == pytest.approx(2 / 60)
    now[0] += 120.0  # nothing in the last minute
    assert meter.hashing_rate(60.0) == 0.0 and meter.busy(60.0) == 0.0
