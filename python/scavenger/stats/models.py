"""Request bodies of the ingestion endpoints (the seed's JSON shapes, validated)."""

from __future__ import annotations

from datetime import UTC, datetime
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


def _as_utc(value: datetime) -> datetime:
    # The seed stored naive UTC; a timestamp without offset is read the same way.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class StatIn(BaseModel):
    """``POST /insert_stat``. Unknown extra fields are ignored, like the seed."""

    model_config = ConfigDict(extra="ignore")

    container_id: Ident
    miner_id: Ident
    hash_rate: float = Field(ge=0, allow_inf_nan=False)
    timestamp: datetime
    description: ShortText | None = None
    hashes: int | None = Field(default=None, ge=0, le=2**63 - 1)
    interval_secs: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    uptime_secs: float | None = Field(default=None, ge=0, allow_inf_nan=False)
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
