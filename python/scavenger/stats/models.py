"""Request bodies of the ingestion endpoints (the seed's JSON shapes, validated).

Every number is bounded: finite, non-negative and at most a documented maximum (docs/stats.md). The maxima
keep PostgreSQL's aggregates in range: AVG(double precision) accumulates squares, so a single 1e200 sample
made every hash-rate query fail with NumericValueOutOfRange; SUM(hashes) of BIGINT rows must fit the
read API's saturating BIGINT. They are far above anything a miner reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from scavenger.redact import redact_url


def _no_nul(value: str) -> str:
    # PostgreSQL TEXT cannot hold NUL; rejecting here gives a 422 naming the field instead of a DB error.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Ident = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_nul)]
ShortText = Annotated[str, Field(max_length=2000), AfterValidator(_no_nul)]
# Stored for people to read: user info and token-like query values are redacted at ingestion, whatever the
# client sent (an APP_BASE_URL with http://user:password@ must not end up in the database).
UrlText = Annotated[
    str, Field(min_length=1, max_length=8000), AfterValidator(_no_nul), AfterValidator(redact_url)
]


MAX_HASH_RATE = 1e12  # hashes per second of one miner (a fast CPU core does ~1e4)
MAX_HASHES = 10**18  # hashes counted in one report (fits BIGINT nine times over)
MAX_INTERVAL_SECS = 1e6  # about 11.6 days
MAX_UPTIME_SECS = 1e10  # about 317 years
EARLIEST_TIMESTAMP = datetime(2000, 1, 1, tzinfo=UTC)
# Miners' clocks drift; a sample dated further ahead than this would stay "current" in every window.
MAX_CLOCK_AHEAD = timedelta(days=1)


def _as_utc(value: datetime) -> datetime:
    # The seed stored naive UTC; a timestamp without offset is read the same way.
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if value < EARLIEST_TIMESTAMP:
        raise ValueError(f"must not be before {EARLIEST_TIMESTAMP.date().isoformat()}")
    if value > datetime.now(UTC) + MAX_CLOCK_AHEAD:
        raise ValueError("must not be more than one day ahead of the server's clock")
    return value


class StatIn(BaseModel):
    """``POST /insert_stat``. Unknown extra fields are ignored, like the seed."""

    model_config = ConfigDict(extra="ignore")

    container_id: Ident
    miner_id: Ident
    hash_rate: float = Field(ge=0, le=MAX_HASH_RATE, allow_inf_nan=False)
    timestamp: datetime
    description: ShortText | None = None
    hashes: int | None = Field(default=None, ge=0, le=MAX_HASHES)
    interval_secs: float | None = Field(default=None, gt=0, le=MAX_INTERVAL_SECS, allow_inf_nan=False)
    uptime_secs: float | None = Field(default=None, ge=0, le=MAX_UPTIME_SECS, allow_inf_nan=False)
    version: Annotated[str, Field(max_length=100), AfterValidator(_no_nul)] | None = None

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)


class ApiReturnIn(BaseModel):
    """``POST /insert_api_return``. ``timestamp`` and ``status`` are additions (optional): a reporter that
    buffered an event while the backend was down keeps the time the reply really arrived."""

    model_config = ConfigDict(extra="ignore")

    container_id: Ident
    miner_id: Ident
    wallet_addr: Annotated[str, Field(max_length=300), AfterValidator(_no_nul)] | None = None
    url: UrlText
    endpoint: Ident
    description: ShortText | None = None
    payload: Any = None
    api_response: Any = None
    status: int | None = Field(default=None, ge=100, le=599)
    timestamp: datetime | None = None

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _as_utc(value)


Count = Annotated[int, Field(ge=0, le=2**63 - 1)]


class ProgressIn(BaseModel):
    """``POST /insert_progress``: one miner's cumulative journal counts and earnings estimate at a moment
    (sent every report interval beside the hash rate)."""

    model_config = ConfigDict(extra="ignore")

    container_id: Ident
    miner_id: Ident
    timestamp: datetime
    solutions_found: Count
    solutions_accepted: Count
    solutions_pending: Count = 0
    solutions_expired: Count = 0
    receipts: Count
    estimated_star: Count = 0
    last_challenge_id: Annotated[str, Field(max_length=100), AfterValidator(_no_nul)] | None = None
    last_difficulty: Annotated[str, Field(max_length=100), AfterValidator(_no_nul)] | None = None

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)
