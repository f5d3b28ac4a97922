"""Typed replies of the Scavenger Mine API, parsed from the real payload shapes.

Fields the miner hashes (challenge strings, timestamps) are kept as the exact strings the server sent;
convenience properties parse them. Unknown extra fields are kept (``model_extra``) rather than dropped,
so a server-side addition never breaks parsing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter


def parse_timestamp(text: str) -> datetime:
    """``2025-10-19T08:59:59.000Z`` and ``2025-11-20T23:59:59Z`` alike, as an aware UTC datetime.

    Anything else raises ValueError naming the text: a time without a zone (``astimezone`` would have read
    it in the machine's local zone) and one that leaves datetime's range once moved to UTC (which raised
    OverflowError, e.g. ``9999-12-31T23:59:59-01:00``) included."""
    value = text.strip()
    if value.endswith("z"):
        value = value[:-1] + "Z"
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    raise ValueError(f"not an ISO-8601 time with a zone: {text[:80]!r}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class Terms(_Model):
    version: StrictStr
    content: StrictStr
    message: StrictStr


class RegistrationReceipt(_Model):
    preimage: StrictStr
    signature: StrictStr
    timestamp: StrictStr


class Registration(_Model):
    """201 reply of register. A repeated registration returns the first (stored) receipt."""

    receipt: RegistrationReceipt = Field(alias="registrationReceipt")
    preimage: StrictStr | None = None
    timestamp: StrictStr | None = None


class Challenge(_Model):
    challenge_id: StrictStr
    day: StrictInt
    challenge_number: StrictInt
    issued_at: StrictStr
    latest_submission: StrictStr
    difficulty: StrictStr
    no_pre_mine: StrictStr
    no_pre_mine_hour: StrictStr

    @property
    def issued(self) -> datetime:
        return parse_timestamp(self.issued_at)

    @property
    def deadline(self) -> datetime:
        """The last instant a submission is accepted (``latest_submission`` parsed)."""
        return parse_timestamp(self.latest_submission)


class ChallengeBefore(_Model):
    code: Literal["before"]
    starts_at: StrictStr


class ChallengeActive(_Model):
    code: Literal["active"]
    challenge: Challenge
    mining_period_ends: StrictStr
    max_day: StrictInt
    total_challenges: StrictInt
    current_day: StrictInt
    next_challenge_starts_at: StrictStr


class ChallengeAfter(_Model):
    code: Literal["after"]


ChallengeState = Annotated[ChallengeBefore | ChallengeActive | ChallengeAfter, Field(discriminator="code")]
CHALLENGE_STATE: TypeAdapter[ChallengeBefore | ChallengeActive | ChallengeAfter] = TypeAdapter(ChallengeState)


class CryptoReceipt(_Model):
    preimage: StrictStr
    timestamp: StrictStr
    signature: StrictStr


class SolutionReply(_Model):
    crypto_receipt: CryptoReceipt


@dataclass(frozen=True)
class SolutionAccepted:
    """A stored solution. ``receipt`` is None when the server said "Solution already exists" for a nonce
    this client had already sent (a previous attempt that timed out had in fact been accepted); the
    server offers no way to fetch that receipt again."""

    receipt: CryptoReceipt | None
    already_existed: bool = False


class Donation(_Model):
    """Reply of donate_to. An undo (destination == original) has no ``donation_id``.

    ``already_done`` is set by the client (not the server) when a retry found the assignment (or its
    undo) already in place because an earlier attempt had succeeded without its reply arriving."""

    status: StrictStr
    message: StrictStr
    original_address: StrictStr
    destination_address: StrictStr
    timestamp: StrictStr
    solutions_consolidated: StrictInt = 0
    donation_id: StrictStr | None = None
    already_done: bool = False

    @property
    def is_undo(self) -> bool:
        return self.original_address == self.destination_address


class GlobalStatistics(_Model):
    wallets: StrictInt
    challenges: StrictInt
    total_challenges: StrictInt
    total_crypto_receipts: StrictInt
    recent_crypto_receipts: StrictInt


class LocalStatistics(_Model):
    crypto_receipts: StrictInt
    night_allocation: StrictInt | float  # in STAR (1 NIGHT = 1 000 000 STAR)


class Statistics(_Model):
    global_: GlobalStatistics = Field(alias="global")
    local: LocalStatistics


WORK_TO_STAR_RATE: TypeAdapter[list[int]] = TypeAdapter(list[StrictInt])
