"""Async client of the Scavenger Mine API (httpx).

    async with ScavengerClient(base_url, retry=RetryPolicy(), on_response=reporter.record_api_event) as api:
        state = await api.get_challenge()

Every method retries transient failures (429, 5xx, timeouts, connection errors, HTML bot pages) with
backoff, and raises one :mod:`scavenger.api.errors` type per server condition otherwise."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import random
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError

from scavenger.api import errors
from scavenger.api.events import ApiEvent
from scavenger.api.health import ApiHealth
from scavenger.api.models import (
    CHALLENGE_STATE,
    WORK_TO_STAR_RATE,
    ChallengeActive,
    ChallengeAfter,
    ChallengeBefore,
    Donation,
    Registration,
    SolutionAccepted,
    SolutionReply,
    Statistics,
    Terms,
)
from scavenger.api.retry import RetryPolicy, parse_retry_after
from scavenger.redact import redact_url, scrub

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://scavenger.prod.gd.midnighttge.io"
DEFAULT_TIMEOUT = 30.0
# RFC 3986 pchar minus "%": path segments go out verbatim (the server expects a raw "**" in challenge ids),
# so anything that would need escaping is refused up front instead of being silently altered.
# Used with fullmatch: "$" would also accept a trailing newline.
_SEGMENT = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@]{1,4096}")
_SENT_MEMORY = 100_000

OnResponse = Callable[[ApiEvent], object]
T = TypeVar("T")


def _user_agent() -> str:
    try:
        version = metadata.version("midnight-scavenger")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"midnight-scavenger/{version} (Scavenger Mine miner; python-httpx)"


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Any
    attempt: int


class ScavengerClient:
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        on_response: OnResponse | None = None,
        user_agent: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        health: ApiHealth | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {redact_url(base_url)!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.on_response = on_response
        # Counts every reply by (endpoint, status) and logs each kind of failure without flooding.
        self.health = health if health is not None else ApiHealth()
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": user_agent or _user_agent(), "Accept": "application/json"},
            transport=transport,
            follow_redirects=False,
        )
        # (address, challenge_id, nonce) this client has sent, so "already exists" can be recognised as
        # our own earlier (timed-out) submission. Bounded: the oldest entries are forgotten first.
        self._sent: OrderedDict[tuple[str, str, str], None] = OrderedDict()

    def __repr__(self) -> str:
        return f"ScavengerClient(base_url={redact_url(self.base_url)!r})"

    async def __aenter__(self) -> ScavengerClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- endpoints ---------------------------------------------------------------------------------
    async def get_terms(self, version: str | None = None) -> Terms:
        path = ["TandC"] if version is None else ["TandC", _segment("version", version)]
        reply = await self._call("GET", "terms", path)
        return _parse(Terms.model_validate, reply, "terms")

    async def register(self, address: str, signature: str, pubkey: str) -> Registration:
        path = [
            "register",
            _segment("address", address),
            _segment("signature", signature),
            _segment("pubkey", pubkey),
        ]
        reply = await self._call("POST", "register", path, address=address)
        return _parse(Registration.model_validate, reply, "register")

    async def get_challenge(self) -> ChallengeBefore | ChallengeActive | ChallengeAfter:
        reply = await self._call("GET", "challenge", ["challenge"])
        return _parse(CHALLENGE_STATE.validate_python, reply, "challenge")

    async def submit_solution(
        self, address: str, challenge_id: str, nonce: str, *, sent_before: bool = False
    ) -> SolutionAccepted:
        """Submit a nonce (16 lower-case hex). ``sent_before``: the caller knows (e.g. from its journal)
        that this exact nonce was sent earlier, so "already exists" means it was accepted."""
        if not re.fullmatch(r"[0-9a-f]{16}", nonce):
            raise ValueError("nonce must be exactly 16 lower-case hex characters")
        path = ["solution", _segment("address", address), _segment("challenge_id", challenge_id), nonce]
        key = (address, challenge_id, nonce)
        known = sent_before or key in self._sent
        self._remember(key)

        def recovered(error: errors.ApiError, attempt: int) -> bool:
            return isinstance(error, errors.SolutionAlreadyExists) and (known or attempt > 1)

        reply = await self._call_accepting("POST", "solution", path, address=address, accept=recovered)
        if reply is None:
            log.info(
                "solution for %s %s: already stored (an earlier attempt was accepted)", address, challenge_id
            )
            return SolutionAccepted(receipt=None, already_existed=True)
        accepted = _parse(SolutionReply.model_validate, reply, "solution")
        return SolutionAccepted(receipt=accepted.crypto_receipt)

    async def donate_to(self, destination: str, original: str, signature: str) -> Donation:
        """Assign ``original``'s rights to ``destination``; ``destination == original`` undoes it."""
        path = [
            "donate_to",
            _segment("destination", destination),
            _segment("original", original),
            _segment("signature", signature),
        ]
        context = {"destination": destination, "original": original, "address": original}

        def recovered(error: errors.ApiError, attempt: int) -> bool:
            if attempt == 1:
                return False
            if destination == original:
                return isinstance(error, errors.NoActiveDonation)
            return isinstance(error, errors.DonationConflict) and error.current_destination == destination

        reply = await self._call_accepting(
            "POST", "donate_to", path, address=original, context=context, accept=recovered
        )
        if reply is None:
            return Donation(
                status="success",
                message="assignment already in place after a retried request",
                original_address=original,
                destination_address=destination,
                timestamp=_now_iso(),
                already_done=True,
            )
        return _parse(Donation.model_validate, reply, "donate_to")

    async def work_to_star_rate(self) -> list[int]:
        reply = await self._call("GET", "work_to_star_rate", ["work_to_star_rate"])
        return _parse(WORK_TO_STAR_RATE.validate_python, reply, "work_to_star_rate")

    async def statistics(self, address: str) -> Statistics:
        reply = await self._call(
            "GET", "statistics", ["statistics", _segment("address", address)], address=address
        )
        return _parse(Statistics.model_validate, reply, "statistics")

    # -- machinery ---------------------------------------------------------------------------------
    def _remember(self, key: tuple[str, str, str]) -> None:
        self._sent[key] = None
        self._sent.move_to_end(key)
        while len(self._sent) > _SENT_MEMORY:
            self._sent.popitem(last=False)

    async def _call(
        self, method: str, endpoint: str, path: list[str], *, address: str | None = None
    ) -> _Reply:
        reply = await self._call_accepting(method, endpoint, path, address=address)
        if reply is None:  # only an ``accept`` callback can turn an error into None
            raise RuntimeError(f"{endpoint}: no reply without an accept callback")
        return reply

    async def _call_accepting(
        self,
        method: str,
        endpoint: str,
        path: list[str],
        *,
        address: str | None = None,
        context: Mapping[str, str] | None = None,
        accept: Callable[[errors.ApiError, int], bool] | None = None,
    ) -> _Reply | None:
        """The reply (status 2xx, JSON body), or None when ``accept`` turned an error into success."""
        url = self.base_url + "/" + "/".join(path)
        context = {"address": address or "", **(context or {})}
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(method, endpoint, url, address, attempt, context)
            if isinstance(outcome, _Reply):
                return outcome
            error = outcome
            label = status_label(error)
            if accept is not None and accept(error, attempt):
                self.health.failed(endpoint, label, error.message, "taken as success (an earlier try got in)")
                return None
            wait = self.retry.delay(attempt, error.retry_after, self._rng)
            if (
                not errors.is_retryable(error)
                or attempt >= self.retry.max_attempts
                or time.monotonic() - started + wait > self.retry.total_time
            ):
                # The caller decides what happens next and logs it through the same ``health``.
                raise error
            self.health.failed(
                endpoint, label, error.message,
                f"will retry in {wait:.1f} s (try {attempt + 1} of {self.retry.max_attempts})",
            )
            await self._sleep(wait)

    async def _attempt(
        self,
        method: str,
        endpoint: str,
        url: str,
        address: str | None,
        attempt: int,
        context: Mapping[str, str],
    ) -> _Reply | errors.ApiError:
        began = time.monotonic()
        try:
            if method == "POST":
                # The server reads everything from the path; "{}" is what most clients sent.
                response = await self._http.post(
                    url, content=b"{}", headers={"Content-Type": "application/json"}
                )
            else:
                response = await self._http.get(url)
        except httpx.TimeoutException as exc:
            self.health.count(endpoint, "timeout")
            return errors.ApiTimeout(f"timed out ({type(exc).__name__})", endpoint=endpoint)
        except httpx.RequestError as exc:  # also DecodingError (a body that fails its Content-Encoding)
            self.health.count(endpoint, "network")
            # httpx may quote the URL: its user info / token must not reach a log or the stats database.
            text = scrub(f"{type(exc).__name__}: {exc}", self.base_url)
            return errors.TransportError(text[:300], endpoint=endpoint)
        elapsed = time.monotonic() - began
        status = response.status_code
        self.health.count(endpoint, str(status))
        content_type = response.headers.get("content-type", "")
        body: Any = None
        description: str | None = None
        try:
            body = json.loads(response.content) if response.content else None
        except ValueError:
            description = errors.describe_non_json(status, content_type, response.text)
        if body is None and description is None:
            description = errors.describe_non_json(status, content_type, "")
        await self._emit(
            ApiEvent(
                endpoint=endpoint,
                method=method,
                url=redact_url(url),  # forwarded to the stats backend and stored: never a password
                address=address,
                status=status,
                body=body,
                attempt=attempt,
                elapsed=elapsed,
                description=description,
            )
        )
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if description is not None:
            return errors.BotPage(description, status=status, endpoint=endpoint, retry_after=retry_after)
        if 200 <= status < 300:
            return _Reply(status, body, attempt)
        return errors.error_from_reply(endpoint, status, body, retry_after=retry_after, context=context)

    async def _emit(self, event: ApiEvent) -> None:
        if self.on_response is None:
            return
        try:
            result = self.on_response(event)
            if inspect.isawaitable(result):
                await result
        except Exception:  # a stats hook must never break mining
            log.warning("on_response hook failed for %s", event.endpoint, exc_info=True)


def status_label(error: errors.ApiError) -> str:
    """The ``status`` label of a failure: the HTTP status, else ``timeout`` or ``network``."""
    if error.status is not None:
        return str(error.status)
    return "timeout" if isinstance(error, errors.ApiTimeout) else "network"


def _now_iso() -> str:
    """The server's timestamp format (``2025-10-16T14:47:33.925Z``)."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _segment(name: str, value: str) -> str:
    if not isinstance(value, str) or not _SEGMENT.fullmatch(value):
        shown = repr(value) if isinstance(value, str) and len(value) <= 120 else f"<{type(value).__name__}>"
        raise ValueError(f"{name} {shown} cannot be sent as a raw URL path segment")
    return value


def _parse(validate: Callable[[Any], T], reply: _Reply, endpoint: str) -> T:
    """``validate`` (a model's ``model_validate`` or an adapter's ``validate_python``) of the reply body;
    a body without the documented shape raises UnexpectedResponse naming the first problems."""
    try:
        return validate(reply.body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise errors.UnexpectedResponse(
            f"reply does not have the documented shape ({problems})",
            status=reply.status,
            endpoint=endpoint,
            body=reply.body,
        ) from None
