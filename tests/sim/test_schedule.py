"""The challenge schedule: ids, cadence, daily/hourly randomness, deadlines and their string formats."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scavenger.sim.schedule import Schedule, parse_masks
from scavenger.sim.state import ScheduleOptions, open_state
from scavenger.sim.timefmt import parse_iso, parse_start

START = datetime(2025, 10, 30, tzinfo=UTC)
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ISO_S = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def real_schedule(**overrides: object) -> Schedule:
    params: dict[str, object] = {
        "seed": b"x" * 32,
        "start": START,
        "period": 3600.0,
        "days": 21,
        "difficulties": ("000FFFFF",),
    }
    params.update(overrides)
    return Schedule(**params)  # type: ignore[arg-type]


def test_real_cadence_matches_mainnet_example() -> None:
    # **D01C17 was issued 2025-10-30T16:00Z with latest_submission 2025-10-31T15:59:59.000Z on mainnet.
    schedule = real_schedule()
    challenge = schedule.challenge(16)
    assert challenge.challenge_id == "**D01C17"
    assert (challenge.day, challenge.challenge_number) == (1, 17)
    assert challenge.issued_at == "2025-10-30T16:00:00.000Z"
    assert challenge.latest_submission == "2025-10-31T15:59:59.000Z"
    assert schedule.index_of("**D01C17") == 16
    assert schedule.total == 504


def test_day_rollover_changes_no_pre_mine_daily_and_hour_value_each_challenge() -> None:
    schedule = real_schedule()
    day1 = [schedule.challenge(i) for i in range(24)]
    day2 = schedule.challenge(24)
    assert day2.challenge_id == "**D02C01" and day2.day == 2
    assert {c.no_pre_mine for c in day1} == {day1[0].no_pre_mine}
    assert day2.no_pre_mine != day1[0].no_pre_mine
    assert re.fullmatch(r"[0-9a-f]{64}", day2.no_pre_mine)
    hours = [c.no_pre_mine_hour for c in day1]
    assert len(set(hours)) == 24
    assert all(re.fullmatch(r"\d{9,10}", h) and int(h) < 2**32 for h in hours)


def test_same_seed_same_challenges_other_seed_other_values() -> None:
    assert real_schedule().challenge(30) == real_schedule().challenge(30)
    assert (
        real_schedule(seed=b"y" * 32).challenge(30).no_pre_mine != real_schedule().challenge(30).no_pre_mine
    )


def test_final_day_deadline_capped_and_rendered_without_milliseconds() -> None:
    schedule = real_schedule(days=2)
    first_day_last = schedule.challenge(23)
    last_day = schedule.challenge(30)
    assert ISO_MS.match(first_day_last.latest_submission)
    assert first_day_last.latest_submission == "2025-10-31T22:59:59.000Z"
    assert last_day.latest_submission == "2025-10-31T23:59:59Z"
    assert last_day.deadline == schedule.mining_period_ends


def test_challenge_reply_phases_and_formats() -> None:
    schedule = real_schedule(days=1)
    assert schedule.challenge_reply(START - timedelta(seconds=1)) == {
        "code": "before",
        "starts_at": "2025-10-30T00:00:00.000Z",
    }
    active = schedule.challenge_reply(START + timedelta(hours=5, minutes=30))
    assert active["code"] == "active"
    assert active["challenge"]["challenge_id"] == "**D01C06"
    assert active["current_day"] == 1 and active["max_day"] == 1 and active["total_challenges"] == 24
    assert active["next_challenge_starts_at"] == "2025-10-30T06:00:00Z"
    assert active["mining_period_ends"] == "2025-10-30T23:59:59Z"
    assert ISO_S.match(active["mining_period_ends"]) and ISO_MS.match(active["challenge"]["issued_at"])
    assert schedule.challenge_reply(START + timedelta(days=1)) == {"code": "after"}
    # the last second named by mining_period_ends still belongs to the period (solutions are accepted in it)
    last = schedule.challenge_reply(START + timedelta(days=1, milliseconds=-500))
    assert last["code"] == "active" and last["challenge"]["challenge_id"] == "**D01C24"
    # regression (found by test_schedule_invariants): with 1 s periods the final challenge, issued in that
    # last second, was never current
    fast = real_schedule(period=1.0, days=1)
    assert fast.current_index(START + timedelta(seconds=23.5)) == 23


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "**D01C00",
        "**D01C25",
        "**D22C01",
        "*D01C01",
        "**D1C1",
        "D01C01",
        "**d01c01",
        "**D01C01 ",
        "**D0AC01",
    ],
)
def test_index_of_rejects_malformed_or_out_of_range_ids(bad: str) -> None:
    assert real_schedule().index_of(bad) is None


def test_masks_and_start_parsing() -> None:
    assert parse_masks("000fffff, 0000FFFF") == ("000FFFFF", "0000FFFF")
    for bad in ("", "FFFF", "GGGGGGGG", "000FFFFF,"[:-2]):
        with pytest.raises(ValueError, match="difficulty"):
            parse_masks(bad)
    now = datetime(2025, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    assert parse_start("now", now) == now.replace(microsecond=0)
    assert parse_start("+90s", now) == datetime(2025, 1, 1, 12, 1, 30, tzinfo=UTC)
    assert parse_start("-2h", now) == datetime(2025, 1, 1, 10, 0, 0, tzinfo=UTC)
    assert parse_start("2025-10-30T00:00:00Z", now) == START
    with pytest.raises(ValueError, match="start 'tomorrow'"):
        parse_start("tomorrow", now)


def test_schedule_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="period"):
        real_schedule(period=0.5)
    with pytest.raises(ValueError, match="days"):
        real_schedule(days=100)
    # regression: inf/NaN or an overflowing period was accepted, then every /challenge answered 500
    for period in (float("inf"), float("nan")):
        with pytest.raises(ValueError, match="period"):
            real_schedule(period=period)
    with pytest.raises(ValueError, match="after the year 9999"):
        real_schedule(period=1e15)
    with pytest.raises(ValueError, match="too far from now"):
        parse_start("+99999999999d", START)


def test_a_refused_schedule_is_not_kept_in_a_new_state_file(tmp_path: Path) -> None:
    options = ScheduleOptions(
        start=START, period=float("inf"), days=21, difficulty="000FFFFF", network="mainnet"
    )
    with pytest.raises(ValueError, match="period"):
        open_state(tmp_path / "sim.sqlite3", options)
    opened = open_state(tmp_path / "sim.sqlite3", replace(options, period=60.0))
    try:
        assert opened.created and opened.schedule.period == 60.0
    finally:
        opened.store.close()


@settings(max_examples=200, deadline=None)
@given(period=st.integers(1, 7200), days=st.integers(1, 30), data=st.data())
def test_schedule_invariants(period: int, days: int, data: st.DataObject) -> None:
    schedule = real_schedule(period=float(period), days=days)
    index = data.draw(st.integers(0, schedule.total - 1))
    challenge = schedule.challenge(index)
    assert schedule.index_of(challenge.challenge_id) == index
    expected = min(challenge.issued + timedelta(seconds=24 * period - 1), schedule.mining_period_ends)
    assert parse_iso(challenge.latest_submission) == expected == challenge.deadline
    assert challenge.issued_at.endswith(".000Z")
    inside = challenge.issued + timedelta(seconds=period / 2)
    assert schedule.current_index(inside) == index
    assert schedule.challenge_reply(inside)["challenge"]["challenge_id"] == challenge.challenge_id
    assert schedule.issued_count(inside) == index + 1
