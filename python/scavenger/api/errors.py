"""One exception type per server condition, under :class:`ApiError`.

Every error carries the HTTP status (None for transport failures), the endpoint name and the server's
own message. Messages never include request secrets (there are none in this API: addresses, public
keys and signatures are public by design)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from scavenger.redact import printable


class ApiError(Exception):
    """Base of every client error. ``message`` is the server's text (or a description of the failure)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        endpoint: str = "",
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.endpoint = endpoint
        self.body = body
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive the default Exception pickling (process pools, queues).
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))

    @property
    def server_message(self) -> str:
        return self.message

    def __str__(self) -> str:
        where = self.endpoint or "api"
        status = "no reply" if self.status is None else f"HTTP {self.status}"
        # The message is the server's text: escaped, so it can neither forge log lines nor reorder them.
        return f"{where}: {status}: {printable(self.message)}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, endpoint={self.endpoint!r}, "
            f"message={self.message!r})"
        )


def _rebuild(cls: type[ApiError], message: str, state: dict[str, Any]) -> ApiError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


# -- transport and infrastructure: usually retried ---------------------------------------------------
class TransportError(ApiError):
    """No usable HTTP reply (connection refused/reset, protocol error, undecodable body)."""


class ApiTimeout(TransportError):
    """The request timed out. It may still have succeeded on the server."""


class BotPage(ApiError):
    """A non-JSON reply (HTML bot checkpoint such as Vercel's, proxy error page)."""


class RateLimited(ApiError):
    """429 Too Many Requests; ``retry_after`` in seconds when the server said so."""


class ServerError(ApiError):
    """5xx with a JSON body."""


class Forbidden(ApiError):
    """403 (seen from some VPN/IP ranges)."""


class UnexpectedResponse(ApiError):
    """A 2xx reply whose JSON does not have the documented shape."""


# -- client errors: the request itself was refused --------------------------------------------------
class ClientError(ApiError):
    """A 4xx the server explained; retrying the same request will not help."""


class NotFound(ClientError):
    """404 without a more specific meaning."""


class NotRegistered(ClientError):
    """The address (``address``) is not registered."""

    def __init__(self, message: str, *, address: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.address = address


class DestinationNotRegistered(NotRegistered):
    """donate_to: the destination address is not registered."""


class OriginalNotRegistered(NotRegistered):
    """donate_to: the original (donating) address is not registered."""


class SolutionAlreadyExists(ClientError):
    """This address already has an accepted solution for the challenge (a nonce we did not send)."""


class BelowDifficulty(ClientError):
    """The submitted nonce's hash does not meet the challenge difficulty."""


class ChallengeNotFound(ClientError):
    """Unknown (or not yet issued) challenge id."""


class SubmissionWindowClosed(ClientError):
    """The challenge's latest_submission has passed."""


class InvalidNonce(ClientError):
    """The nonce is not 16 lower-case hex characters."""


class InvalidPubkey(ClientError):
    """The public key is not 64 hex characters."""


class InvalidSignature(ClientError):
    """The CIP-8/CIP-30 signature was rejected (format, message, key)."""


class WrongNetwork(InvalidSignature):
    """The address belongs to another network than the server's."""


class DonationConflict(ClientError):
    """The original already donates to ``current_destination`` (undo first to change it)."""

    def __init__(self, message: str, *, current_destination: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.current_destination = current_destination


class NoActiveDonation(ClientError):
    """Undo requested but the original has no active donation assignment."""


class ChainedDonation(ClientError):
    """Donations are one level only."""


class AlreadyRegistered(ClientError):
    """register refused as a duplicate (DOC lists 409 "Duplicate registration"; the real server was seen
    returning the stored receipt instead). The address *is* registered; no receipt comes with it."""


class TermsNotFound(ClientError):
    """Unknown terms-and-conditions version."""


_CONFLICT = re.compile(r"active donation assignment to (?P<dest>addr[0-9a-z_]+)")
_TITLE = re.compile(r"<title[^>]*>(?P<title>[^<]{0,200})</title>", re.IGNORECASE)
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def is_retryable(error: ApiError) -> bool:
    if isinstance(error, TransportError | BotPage | RateLimited | ServerError):
        return True
    return error.status in _RETRYABLE_STATUS


def server_message(body: Any) -> str:
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, list):
            return "; ".join(str(part) for part in message)
        if message is not None:
            return str(message)
        error = body.get("error")
        if error is not None:
            return str(error)
    return ""


def describe_non_json(status: int, content_type: str, text: str) -> str:
    title = _TITLE.search(text)
    kind = content_type.split(";")[0].strip() or "no content type"
    if title:
        return f"non-JSON reply ({kind}): {title['title'].strip()}"
    snippet = " ".join(text.split())[:120]
    return f"non-JSON reply ({kind}): {snippet!r}" if snippet else f"empty non-JSON reply ({kind})"


def error_from_reply(
    endpoint: str,
    status: int,
    body: Any,
    *,
    retry_after: float | None = None,
    context: Mapping[str, str] | None = None,
) -> ApiError:
    """Map a JSON error reply to its exception type, by status and the server's (stable) texts."""
    context = context or {}
    message = server_message(body) or f"HTTP {status}"
    low = message.lower()
    common: dict[str, Any] = {
        "status": status,
        "endpoint": endpoint,
        "body": body,
        "retry_after": retry_after,
    }
    if status == 429:
        return RateLimited(message, **common)
    if status >= 500:
        return ServerError(message, **common)
    if status == 403:
        return Forbidden(message, **common)
    if endpoint == "register" and (status == 409 or "already" in low):
        return AlreadyRegistered(message, **common)
    if "already exists" in low:
        return SolutionAlreadyExists(message, **common)
    if "does not meet difficulty" in low:
        return BelowDifficulty(message, **common)
    if "window closed" in low:
        return SubmissionWindowClosed(message, **common)
    if "challenge not found" in low:
        return ChallengeNotFound(message, **common)
    if status == 409 or "already has an active donation assignment" in low:
        match = _CONFLICT.search(message)
        return DonationConflict(message, current_destination=match["dest"] if match else None, **common)
    if "no active donation assignment" in low:
        return NoActiveDonation(message, **common)
    if "chain" in low and endpoint == "donate_to":
        return ChainedDonation(message, **common)
    if "not registered" in low or "not accepted terms" in low:
        original, destination = context.get("original", ""), context.get("destination", "")
        if endpoint == "donate_to":
            mentions_original = bool(original) and original in message
            mentions_destination = bool(destination) and destination in message
            if low.startswith("original") or (mentions_original and not mentions_destination):
                return OriginalNotRegistered(message, address=original, **common)
            return DestinationNotRegistered(message, address=destination, **common)
        return NotRegistered(message, address=context.get("address"), **common)
    if "terms and conditions version" in low:
        return TermsNotFound(message, **common)
    if "pubkey" in low:
        return InvalidPubkey(message, **common)
    if "wrong network" in low:
        return WrongNetwork(message, **common)
    if "signature" in low or "cip-30" in low:
        return InvalidSignature(message, **common)
    if "nonce" in low:
        return InvalidNonce(message, **common)
    if status == 404:
        return NotFound(message, **common)
    return ClientError(message, **common)
