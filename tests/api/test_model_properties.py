"""Properties of the challenge parser (``scavenger.api.models``): whatever JSON the server sends, parsing
either gives a model that keeps the server's strings verbatim or raises pydantic's ValidationError (which
the client turns into one clear UnexpectedResponse); timestamps parse to aware UTC or raise ValueError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from scavenger.api.models import (
    CHALLENGE_STATE,
    ChallengeActive,
    ChallengeAfter,
    ChallengeBefore,
    parse_timestamp,
)

from .conftest import capture

ACTIVE = capture("challenge_responses_documented")["active"]
SETTINGS = settings(max_examples=300, derandomize=True, deadline=None, database=None)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
CHALLENGE_KEYS = list(ACTIVE["challenge"]) + list(ACTIVE)


def mutated(data: st.DataObject) -> Any:
    """The documented active reply with some fields replaced, removed or added, at both levels."""
    reply: dict[str, Any] = {**ACTIVE, "challenge": dict(ACTIVE["challenge"])}
    for _ in range(data.draw(st.integers(0, 4))):
        inner = reply.get("challenge")
        target = inner if isinstance(inner, dict) and data.draw(st.booleans()) else reply
        key = data.draw(st.sampled_from(CHALLENGE_KEYS) | st.text(max_size=8))
        if data.draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = data.draw(JSON | st.sampled_from(["active", "before", "after"]))
    return reply


def parse_or_refuse(value: Any) -> ChallengeActive | ChallengeBefore | ChallengeAfter | None:
    try:
        return CHALLENGE_STATE.validate_python(value)
    except ValidationError:
        return None


@SETTINGS
@given(value=JSON)
def test_any_json_parses_or_is_refused_cleanly(value: Any) -> None:
    parse_or_refuse(value)


@SETTINGS
@given(data=st.data())
def test_mutated_replies_parse_or_are_refused_cleanly(data: st.DataObject) -> None:
    reply = mutated(data)
    parsed = parse_or_refuse(reply)
    if isinstance(parsed, ChallengeActive):
        # Whatever was accepted is kept exactly as sent: the miner hashes these strings.
        assert parsed.challenge.model_dump() == reply["challenge"]
        for field in ("deadline", "issued"):
            try:
                moment = getattr(parsed.challenge, field)
            except ValueError:
                continue
            assert moment.tzinfo is UTC


STRINGS = st.text(max_size=40)
ISO_LIKE = r"\A\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,6})?)?([Zz]|[+-]\d\d:\d\d)?\Z"


@SETTINGS
@given(
    fields=st.fixed_dictionaries({k: STRINGS for k, v in ACTIVE["challenge"].items() if isinstance(v, str)}),
    numbers=st.fixed_dictionaries({k: st.integers() for k, v in ACTIVE["challenge"].items()
                                   if isinstance(v, int)}),
    extra=st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k not in ACTIVE["challenge"]),
                          JSON, max_size=3),
)
def test_well_typed_challenges_keep_every_string_and_extra_field(
    fields: dict[str, str], numbers: dict[str, int], extra: dict[str, Any]
) -> None:
    body = {**fields, **numbers, **extra}
    parsed = CHALLENGE_STATE.validate_python({**ACTIVE, "challenge": body})
    assert isinstance(parsed, ChallengeActive)
    assert parsed.challenge.model_dump() == body


@SETTINGS
@given(text=st.text(max_size=40) | st.from_regex(ISO_LIKE))
def test_any_timestamp_text_gives_utc_or_value_error(text: str) -> None:
    try:
        moment = parse_timestamp(text)
    except ValueError as exc:
        assert "not an ISO-8601 time with a zone" in str(exc)
        return
    assert moment.tzinfo is UTC


@SETTINGS
@given(
    moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                        timezones=st.just(UTC)),
    offset_minutes=st.integers(-23 * 60, 23 * 60),
    millis=st.booleans(),
)
def test_server_formats_round_trip(moment: datetime, offset_minutes: int, millis: bool) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000 if millis else 0)
    # The server's two shapes: 2025-10-19T08:59:59.000Z and 2025-11-20T23:59:59Z.
    zulu = moment.replace(tzinfo=None).isoformat(timespec="milliseconds" if millis else "seconds") + "Z"
    assert parse_timestamp(zulu) == moment
    local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    assert parse_timestamp(local.isoformat()) == moment


def test_edge_cases_found_by_the_properties() -> None:
    # Were OverflowError (out of datetime's range once moved to UTC) and a silent local-time reading.
    for text in ("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "2025-11-20T23:59:59"):
        try:
            parse_timestamp(text)
        except ValueError:
            continue
        raise AssertionError(f"{text!r} was accepted")
    assert parse_timestamp("2025-11-20T23:59:59z") == datetime(2025, 11, 20, 23, 59, 59, tzinfo=UTC)
