"""The miner's network-facing background tasks: challenge polling, registration, submission.

Each loop survives any API failure (backoff, then try again) and leaves its durable traces in the journal
before acting, so it can be cancelled at any await (shutdown, kill -9) without losing anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from scavenger.miner.apierrors import Outcome, backoff, classify, failure_label, message_of, retry_after
from scavenger.miner.journal import Journal
from scavenger.miner.scheduler import parse_time
from scavenger.miner.sharing import ChallengeSharing
from scavenger.miner.state import MinerState, WalletState

log = logging.getLogger(__name__)

CHALLENGE_FIELDS = (
    "challenge_id",
    "difficulty",
    "no_pre_mine",
    "latest_submission",
    "no_pre_mine_hour",
)


class Api(Protocol):
    async def get_terms(self, version: str | None = None) -> Any: ...
    async def register(self, address: str, signature: str, pubkey: str) -> Any: ...
    async def get_challenge(self) -> Any: ...
    async def submit_solution(self, address: str, challenge_id: str, nonce: str) -> Any: ...
    async def donate_to(self, destination: str, original: str, signature: str) -> Any: ...


class Signer(Protocol):
    @property
    def address(self) -> str: ...
    @property
    def pubkey_hex(self) -> str: ...
    def sign(self, message: str) -> str: ...


def plain(value: Any) -> Any:
    """The API client's typed result as plain JSON-like data (pydantic model, dataclass or dict)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raw = getattr(value, "raw", None)
    if isinstance(raw, dict):
        return raw
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=True, exclude_none=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return str(value)


def _get(value: Any, *names: str) -> Any:
    for name in names:
        if isinstance(value, dict) and name in value:
            return value[name]
        if not isinstance(value, dict) and hasattr(value, name):
            return getattr(value, name)
    return None


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))


class ChallengePoller:
    """GET /challenge every ``interval`` and right after each ``next_challenge_starts_at``."""

    def __init__(
        self,
        api: Api,
        journal: Journal,
        state: MinerState,
        stop: asyncio.Event,
        on_new: Callable[[], None],
        interval: float,
        raw_challenge: Callable[[str], dict[str, Any] | None] = lambda _cid: None,
        sharing: ChallengeSharing | None = None,
    ) -> None:
        self._sharing = sharing
        self._api = api
        self._raw_challenge = raw_challenge
        self._journal = journal
        self._state = state
        self._stop = stop
        self._on_new = on_new
        self._interval = interval

    async def poll_once(self) -> float:
        """One poll; returns how long to wait before the next."""
        reply = await self._api.get_challenge()
        code = _get(reply, "code")
        self._state.api_status = f"challenge: {code}"
        if code == "active":
            challenge = plain(_get(reply, "challenge"))
            # Prefer the reply exactly as the server sent it (the typed model could normalise something).
            raw = self._raw_challenge(str(challenge.get("challenge_id")))
            if raw is not None:
                challenge = raw
            missing = [f for f in CHALLENGE_FIELDS if not isinstance(challenge.get(f), str)]
            if missing:
                raise ValueError(f"/challenge reply lacks {', '.join(missing)}: {challenge!r}")
            deadline = parse_time(challenge["latest_submission"])
            if self._journal.record_challenge(challenge, deadline):
                log.info(
                    "new challenge %s difficulty %s open until %s",
                    challenge["challenge_id"],
                    challenge["difficulty"],
                    challenge["latest_submission"],
                )
                self._on_new()
            if self._sharing is not None:
                await self._sharing.publish([challenge])
            next_text = _get(reply, "next_challenge_starts_at")
            if isinstance(next_text, str):
                next_at = parse_time(next_text)
                self._state.next_challenge_at = next_at
                # The server is a little slow to switch at HH:00: ask again just after.
                until_next = next_at - time.time() + 2.0
                if 0 < until_next < self._interval:
                    return until_next
            return self._interval
        if code == "before":
            starts = _get(reply, "starts_at")
            if isinstance(starts, str):
                self._state.next_challenge_at = parse_time(starts)
                return max(1.0, min(self._interval, parse_time(starts) - time.time() + 1.0))
        return self._interval

    async def run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                wait = await self.poll_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                wait = retry_after(exc) or min(self._interval, backoff(failures - 1, base=2.0))
                self._state.api_status = f"challenge poll failing: {message_of(exc)[:80]}"
                self._state.health.failed(
                    "challenge", failure_label(exc), message_of(exc), f"will poll again in {wait:.0f} s"
                )
            # Also while the API is unreachable: the fleet may know challenges this instance missed.
            await self._merge_shared()
            await _sleep_or_stop(self._stop, wait)

    async def _merge_shared(self) -> None:
        if self._sharing is None:
            return
        try:
            if await self._sharing.merge():
                self._on_new()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The book is a help, never a reason to stop polling.
            log.warning("shared challenges not merged: %s", str(exc)[:200])


class Registrar:
    """Registers every wallet (T&C message signed by its payment key) until the server accepts it."""

    def __init__(
        self,
        api: Api,
        journal: Journal,
        state: MinerState,
        stop: asyncio.Event,
        on_registered: Callable[[str], None],
        spacing: float = 0.5,
    ) -> None:
        self._api = api
        self._journal = journal
        self._state = state
        self._stop = stop
        self._on_registered = on_registered
        self._spacing = spacing
        self._terms: str | None = None
        self.wanted = asyncio.Event()
        self._queue: dict[str, Signer] = {}
        self._attempts: dict[str, int] = {}
        self._next: dict[str, float] = {}

    def request(self, wallet: Signer) -> None:
        """(Re-)register ``wallet``: first start, or the server said "not registered"."""
        self._queue[wallet.address] = wallet
        self._next.setdefault(wallet.address, 0.0)
        self.wanted.set()

    async def _message(self) -> str:
        if self._terms is None:
            terms = await self._api.get_terms()
            message = _get(terms, "message")
            if not isinstance(message, str) or not message:
                raise ValueError("/TandC reply has no message to sign")
            self._terms = message
        return self._terms

    async def register(self, wallet: Signer) -> None:
        message = await self._message()
        signature = wallet.sign(message)
        try:
            reply = await self._api.register(wallet.address, signature, wallet.pubkey_hex)
        except Exception as exc:
            if classify(exc) is not Outcome.ALREADY_REGISTERED:
                raise
            # A duplicate is refused without a receipt, but the server does know the address.
            reply = None
        receipt = plain(_get(reply, "registrationReceipt", "registration_receipt", "receipt"))
        self._journal.record_registration(
            wallet.address, wallet.pubkey_hex, signature, receipt if isinstance(receipt, dict) else None
        )

    def _registered(self, wallet: Signer, ws: WalletState | None) -> None:
        self._queue.pop(wallet.address, None)
        self._attempts.pop(wallet.address, None)
        if ws is not None:
            ws.registration = "registered"
            ws.registration_error = None
        log.info("registered %s…", wallet.address[:24])
        self._on_registered(wallet.address)

    async def run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            due = [w for a, w in self._queue.items() if self._next.get(a, 0.0) <= now]
            for wallet in due:
                if self._stop.is_set():
                    return
                address = wallet.address
                ws = self._state.wallets.get(address)
                try:
                    await self.register(wallet)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    outcome = classify(exc)
                    attempt = self._attempts.get(address, 0)
                    self._attempts[address] = attempt + 1
                    wait = retry_after(exc) or backoff(attempt, base=2.0, cap=120.0)
                    self._next[address] = time.time() + wait
                    if ws is not None:
                        ws.registration = "failing"
                        ws.registration_error = message_of(exc)[:120]
                    self._state.health.failed(
                        "register", failure_label(exc), message_of(exc),
                        f"registration of {address[:24]}… will be retried in {wait:.0f} s",
                        # A 4xx on our own signature is a bug or a changed T&C text, not weather.
                        logging.ERROR if outcome is Outcome.REJECTED else logging.WARNING,
                    )
                    if outcome is Outcome.REJECTED:
                        # A 400 on our own signature means the T&C message may have changed: fetch it again.
                        self._terms = None
                else:
                    self._registered(wallet, ws)
                await _sleep_or_stop(self._stop, self._spacing)
            self.wanted.clear()
            if not self._queue:
                await _wait_either(self._stop, self.wanted, None)
            else:
                soonest = min(self._next.get(a, 0.0) for a in self._queue) - time.time()
                await _wait_either(self._stop, self.wanted, max(0.05, soonest))


async def _wait_either(a: asyncio.Event, b: asyncio.Event, timeout: float | None) -> None:
    waiters = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class Submitter:
    """Sends every journalled solution until it is accepted or its challenge closes, with backoff."""

    def __init__(
        self,
        api: Api,
        journal: Journal,
        state: MinerState,
        stop: asyncio.Event,
        wallets: Sequence[Signer],
        registrar: Registrar,
    ) -> None:
        self._api = api
        self._journal = journal
        self._state = state
        self._stop = stop
        self._wallets = {w.address: w for w in wallets}
        self._registrar = registrar
        self.wake = asyncio.Event()

    async def submit_due(self) -> float | None:
        """Try every pending solution that is due; returns seconds until the next one is due."""
        registered = self._journal.registered()
        soonest: float | None = None
        for solution in self._journal.solutions(status="pending"):
            if self._stop.is_set():
                break
            now = time.time()
            challenge = self._journal.challenge(solution.challenge_id)
            if challenge is not None and now > challenge.deadline:
                self._journal.mark_final(
                    solution.address, solution.challenge_id, "expired", "deadline passed before acceptance"
                )
                log.error(
                    "solution for %s by %s… expired unsent", solution.challenge_id, solution.address[:24]
                )
                continue
            if solution.address not in registered:
                # Sent only once the address is registered, else the server just says "not registered".
                continue
            if solution.next_attempt > now:
                wait = solution.next_attempt - now
                soonest = wait if soonest is None else min(soonest, wait)
                continue
            await self._submit(solution.address, solution.challenge_id, solution.nonce, solution.attempts)
        return soonest

    async def _submit(self, address: str, challenge_id: str, nonce: str, attempts: int) -> None:
        try:
            reply = await self._api.submit_solution(address, challenge_id, nonce)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._handle_error(exc, address, challenge_id, attempts)
            return
        receipt = plain(_get(reply, "crypto_receipt", "receipt"))
        self._journal.mark_accepted(address, challenge_id, receipt if isinstance(receipt, dict) else None)
        log.info("solution for %s by %s… accepted", challenge_id, address[:24])

    def _handle_error(self, exc: BaseException, address: str, challenge_id: str, attempts: int) -> None:
        outcome = classify(exc)
        text = message_of(exc)
        if outcome is Outcome.ALREADY_EXISTS:
            # Our earlier attempt reached the server (timeout on our side) or a restart re-sent it.
            self._journal.mark_accepted(address, challenge_id, None)
            self._state.health.failed(
                "solution", failure_label(exc), text, "taken as accepted (an earlier submission was stored)"
            )
        elif outcome is Outcome.WINDOW_CLOSED:
            self._journal.mark_final(address, challenge_id, "expired", text)
            log.error("solution for %s by %s… too late: %s", challenge_id, address[:24], text)
        elif outcome is Outcome.BAD_SOLUTION:
            self._journal.mark_final(address, challenge_id, "rejected", text)
            log.error("solution for %s by %s… rejected: %s", challenge_id, address[:24], text)
        else:
            if outcome is Outcome.NOT_REGISTERED:
                self._journal.forget_registration(address)
                wallet = self._wallets.get(address)
                if wallet is not None:
                    self._registrar.request(wallet)
                    ws = self._state.wallets.get(address)
                    if ws is not None:
                        ws.registration = "pending"
            wait = retry_after(exc) or backoff(attempts)
            self._journal.mark_retry(address, challenge_id, text, time.time() + wait)
            self._state.last_error = f"submit {challenge_id}: {text[:100]}"
            self._state.health.failed(
                "solution", failure_label(exc), text,
                f"solution for {challenge_id} by {address[:24]}… will be resent in {wait:.0f} s",
            )

    async def run(self) -> None:
        while not self._stop.is_set():
            self.wake.clear()
            try:
                soonest = await self.submit_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("submission pass failed")
                soonest = 5.0
            await _wait_either(self._stop, self.wake, min(soonest if soonest is not None else 5.0, 5.0))
