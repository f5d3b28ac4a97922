"""The FastAPI application: the real server's routes, statuses, envelopes and texts.

Route handlers never raise for bad input: every check answers with the server's JSON error, and a
last-resort handler turns anything unexpected into a JSON 500 (which the fuzz tests treat as a bug)."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from scavenger.sim import texts
from scavenger.sim.faults import (
    ENDPOINTS,
    FaultPlan,
    FaultRule,
    FaultSpecError,
    RateLimiter,
    retry_after_header,
)
from scavenger.sim.schedule import Schedule
from scavenger.sim.signer import ReceiptSigner
from scavenger.sim.solver import SolutionChecker
from scavenger.sim.store import Donation, Registration, Store
from scavenger.sim.timefmt import iso_ms
from scavenger.sim.verify import Network, SignatureRejected, check_signature, is_hex, is_pubkey

log = logging.getLogger(__name__)

_NONCE = re.compile(r"^[0-9a-f]{16}$")
_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
# Path prefix (first segment) -> endpoint name used by faults and docs.
_SEGMENT_ENDPOINT = {
    "TandC": "terms",
    "register": "register",
    "challenge": "challenge",
    "solution": "solution",
    "donate_to": "donate_to",
    "work_to_star_rate": "work_to_star_rate",
    "statistics": "statistics",
}
DEFAULT_DAILY_POOL_STAR = 30_000_000 * 1_000_000  # ~626 M NIGHT / 21 days, in STAR


def nest_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """NestJS envelope used by register, donate_to, TandC and statistics."""
    return JSONResponse(
        {"message": message, "error": _REASONS.get(status, "Error"), "statusCode": status},
        status_code=status,
        headers=headers,
    )


def solution_error(status: int, message: str) -> JSONResponse:
    """Solution errors were observed without the "error" key."""
    return JSONResponse({"statusCode": status, "message": message}, status_code=status)


@dataclass
class Simulator:
    store: Store
    schedule: Schedule
    signer: ReceiptSigner
    checker: SolutionChecker
    network: Network
    faults: FaultPlan = field(default_factory=FaultPlan)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    daily_pool_star: int = DEFAULT_DAILY_POOL_STAR
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    # -- economics ---------------------------------------------------------------------------------
    def completed_days(self, now: datetime) -> int:
        return min(max(self.schedule.day_of(now) - 1, 0), self.schedule.days)

    def rates(self, now: datetime) -> list[int]:
        per_day = self.store.receipts_per_day()
        return [
            self.daily_pool_star // max(per_day.get(day, 0), 1)
            for day in range(1, self.completed_days(now) + 1)
        ]

    def allocation(self, address: str, now: datetime) -> int:
        """STAR of completed days for the address's own receipts plus those donated to it."""
        if self.store.donation(address) is not None:
            return 0
        rates = self.rates(now)
        counted = self.store.receipts_per_day_for([address, *self.store.donors_to(address)])
        return sum(count * rates[day - 1] for day, count in counted.items() if 1 <= day <= len(rates))


def _endpoint_of(path: str) -> str | None:
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] == "api":
        parts = parts[1:]
    return _SEGMENT_ENDPOINT.get(parts[0]) if parts else None


def _fault_response(rule: FaultRule) -> Response:
    headers = {} if rule.retry_after is None else {"Retry-After": retry_after_header(rule.retry_after)}
    if rule.kind == "html":
        return HTMLResponse(texts.BOT_PAGE, status_code=rule.status, headers=headers)
    status = int(rule.kind)
    if status == 429:
        return JSONResponse(
            {"message": texts.RATE_LIMITED, "statusCode": 429}, status_code=429, headers=headers
        )
    if status == 500:
        return JSONResponse(
            {"statusCode": 500, "message": "Internal server error"}, status_code=500, headers=headers
        )
    return nest_error(status, _REASONS.get(status, "Error"), headers)


class _IgnoreTrailingSlash:
    """Express (under NestJS) routes ``/TandC/`` like ``/TandC``; Starlette would answer a redirect."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = dict(scope, path=path.rstrip("/") or "/")
        await self.app(scope, receive, send)


def create_app(sim: Simulator) -> FastAPI:
    app = FastAPI(title="Scavenger Mine simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.router.redirect_slashes = False
    app.add_middleware(_IgnoreTrailingSlash)
    app.state.sim = sim

    @app.middleware("http")
    async def faults_and_limits(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        endpoint = _endpoint_of(request.url.path)
        if endpoint is None:
            return await call_next(request)
        client = request.client.host if request.client else "?"
        wait = sim.limiter.check(client)
        if wait is not None:
            return JSONResponse(
                {"message": texts.RATE_LIMITED, "statusCode": 429},
                status_code=429,
                headers={"Retry-After": retry_after_header(max(wait, 1.0))},
            )
        rule = sim.faults.pick(endpoint)
        if rule is None:
            return await call_next(request)
        if rule.kind != "slow":
            return _fault_response(rule)
        response = await call_next(request)
        await asyncio.sleep(rule.delay)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Express/NestJS answer unknown routes and wrong methods alike with 404 "Cannot METHOD /path".
        if exc.status_code in (404, 405):
            return nest_error(404, f"Cannot {request.method} {request.url.path}")
        return nest_error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return nest_error(400, "Bad request")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("simulator bug on %s %s", request.method, request.url.path)
        return JSONResponse({"statusCode": 500, "message": "Internal server error"}, status_code=500)

    def terms_reply(version: str) -> Response:
        if version != texts.TERMS_VERSION:
            return nest_error(404, texts.terms_not_found(version))
        return JSONResponse(
            {"version": texts.TERMS_VERSION, "content": texts.TERMS_CONTENT, "message": texts.TERMS_MESSAGE}
        )

    for prefix in ("", "/api"):

        @app.get(prefix + "/TandC")
        async def terms() -> Response:
            return terms_reply(texts.TERMS_VERSION)

        @app.get(prefix + "/TandC/{version}")
        async def terms_version(version: str) -> Response:
            return terms_reply(version)

        @app.get(prefix + "/challenge")
        async def challenge() -> Response:
            reply = sim.schedule.challenge_reply(sim.clock())
            if reply["code"] == "active":
                sim.checker.warm(reply["challenge"]["no_pre_mine"])
            return JSONResponse(reply)

        @app.post(prefix + "/register/{address}/{signature}/{pubkey}")
        async def register(address: str, signature: str, pubkey: str) -> Response:
            return await run_in_threadpool(_register, sim, address, signature, pubkey)

        @app.post(prefix + "/solution/{address}/{challenge_id}/{nonce}")
        async def solution(address: str, challenge_id: str, nonce: str) -> Response:
            return await _solution(sim, address, challenge_id, nonce)

        @app.post(prefix + "/donate_to/{destination}/{original}/{signature}")
        async def donate_to(destination: str, original: str, signature: str) -> Response:
            return await run_in_threadpool(_donate, sim, destination, original, signature)

        @app.get(prefix + "/work_to_star_rate")
        async def work_to_star_rate() -> Response:
            return JSONResponse(sim.rates(sim.clock()))

        @app.get(prefix + "/statistics/{address}")
        async def statistics(address: str) -> Response:
            return await run_in_threadpool(_statistics, sim, address)

    _admin_routes(app, sim)
    return app


def _register(sim: Simulator, address: str, signature: str, pubkey: str) -> Response:
    if not is_pubkey(pubkey):
        return nest_error(400, texts.REGISTER_BAD_PUBKEY)
    if not is_hex(signature):
        return nest_error(400, texts.REGISTER_BAD_SIGNATURE_HEX)
    try:
        check_signature(
            address=address,
            signature=signature,
            pubkey_hex=pubkey,
            message=texts.TERMS_MESSAGE,
            network=sim.network,
            prefix=texts.CIP30_PREFIX,
        )
    except SignatureRejected as exc:
        return nest_error(400, exc.message)
    existing = sim.store.registration(address)
    if existing is None:
        preimage = address + signature + pubkey
        receipt_time = iso_ms(sim.clock())
        reply = {
            "preimage": preimage,
            "registrationReceipt": {
                "preimage": preimage,
                "signature": sim.signer.sign(preimage, receipt_time),
                "timestamp": receipt_time,
            },
            "timestamp": iso_ms(sim.clock()),
        }
        existing = sim.store.add_registration(Registration(address, pubkey, signature, reply), receipt_time)
    # A repeated registration answers with the first receipt, as the captured real reply shows.
    return JSONResponse(existing.reply, status_code=201)


async def _solution(sim: Simulator, address: str, challenge_id: str, nonce: str) -> Response:
    now = sim.clock()
    if sim.store.registration(address) is None:
        return solution_error(400, texts.SOLUTION_NOT_REGISTERED)
    index = sim.schedule.index_of(challenge_id)
    if index is None or index >= sim.schedule.issued_count(now):
        return solution_error(404, texts.challenge_not_found(challenge_id))
    challenge = sim.schedule.challenge(index)
    if now >= challenge.deadline + timedelta(seconds=1):
        return solution_error(400, texts.SOLUTION_WINDOW_CLOSED)
    if sim.store.has_solution(address, challenge.challenge_id):
        return solution_error(400, texts.SOLUTION_EXISTS)
    if not _NONCE.match(nonce):
        return solution_error(400, texts.SOLUTION_BAD_NONCE)
    ok, digest, preimage = await run_in_threadpool(sim.checker.check, nonce, address, challenge)
    if not ok:
        return solution_error(400, texts.SOLUTION_DIFFICULTY)
    accepted = sim.clock()
    timestamp = iso_ms(accepted)
    text = preimage.decode("utf-8")
    receipt = {"preimage": text, "timestamp": timestamp, "signature": sim.signer.sign(text, timestamp)}
    added = sim.store.add_solution(
        address,
        challenge.challenge_id,
        nonce,
        digest.hex(),
        receipt,
        timestamp,
        sim.schedule.day_of(accepted),
    )
    if not added:  # a concurrent submission for the same pair won the race
        return solution_error(400, texts.SOLUTION_EXISTS)
    return JSONResponse({"crypto_receipt": receipt}, status_code=201)


def _donate(sim: Simulator, destination: str, original: str, signature: str) -> Response:
    if sim.store.registration(destination) is None:
        return nest_error(404, texts.destination_not_registered(destination))
    original_reg = sim.store.registration(original)
    if original_reg is None:
        return nest_error(404, texts.original_not_registered(original))
    if not is_hex(signature):
        return nest_error(400, texts.DONATE_SIG_PREFIX + texts.REGISTER_BAD_SIGNATURE_HEX)
    try:
        check_signature(
            address=original,
            signature=signature,
            pubkey_hex=original_reg.pubkey,
            message=texts.donation_message(destination),
            network=sim.network,
            prefix=texts.DONATE_SIG_PREFIX,
        )
    except SignatureRejected as exc:
        return nest_error(400, exc.message)
    now = iso_ms(sim.clock())
    if destination == original:
        undone = sim.store.undo_donation(original, now)
        if undone is None:
            return nest_error(404, texts.no_active_donation(original))
        return JSONResponse(
            {
                "status": "success",
                "message": texts.donation_undone(original),
                "original_address": original,
                "destination_address": destination,
                "timestamp": now,
                "solutions_consolidated": 0,
            },
            status_code=201,
        )
    current = sim.store.donation(original)
    if current is not None:
        return nest_error(409, texts.donation_conflict(original, current.destination))
    if sim.store.donation(destination) is not None:
        return nest_error(400, texts.chained_donation(destination))
    if sim.store.donors_to(original):
        return nest_error(400, texts.chained_donation(original))
    donation = Donation(original, destination, str(uuid.uuid4()))
    if not sim.store.assign_donation(donation, now):
        current = sim.store.donation(original)
        return nest_error(409, texts.donation_conflict(original, current.destination if current else "?"))
    return JSONResponse(
        {
            "status": "success",
            "message": texts.donation_success(original, destination),
            "donation_id": donation.donation_id,
            "original_address": original,
            "destination_address": destination,
            "timestamp": now,
            "solutions_consolidated": sim.store.solution_count(original),
        },
        status_code=201,
    )


def _statistics(sim: Simulator, address: str) -> Response:
    if sim.store.registration(address) is None:
        return nest_error(400, texts.statistics_not_registered(address))
    now = sim.clock()
    recent_since = iso_ms(now - sim.schedule.day_length)
    return JSONResponse(
        {
            "global": {
                "wallets": sim.store.registration_count(),
                "challenges": sim.schedule.issued_count(now),
                "total_challenges": sim.schedule.total,
                "total_crypto_receipts": sim.store.solution_count(),
                "recent_crypto_receipts": sim.store.solutions_since(recent_since),
            },
            "local": {
                "crypto_receipts": sim.store.solution_count(address),
                "night_allocation": sim.allocation(address, now),
            },
        }
    )


def _admin_routes(app: FastAPI, sim: Simulator) -> None:
    """Not part of the real API: readiness, introspection and fault control for tests and demos."""

    @app.get("/_sim/health")
    async def health() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/_sim/info")
    async def info() -> dict[str, Any]:
        schedule = sim.schedule
        return {
            "receipt_public_key": sim.signer.public_key_hex,
            "network": sim.network,
            "start": iso_ms(schedule.start),
            "challenge_period": schedule.period,
            "days": schedule.days,
            "difficulty": list(schedule.difficulties),
            "rom_size": sim.checker.params.size,
            "pre_size": sim.checker.params.pre_size,
            "state": str(sim.store.path),
            "endpoints": sorted(ENDPOINTS),
        }

    @app.get("/_sim/faults")
    async def list_faults() -> dict[str, Any]:
        return {
            "rules": sim.faults.rules(),
            "rate_limit": {"requests": sim.limiter.limit, "window": sim.limiter.window},
        }

    @app.post("/_sim/faults")
    async def add_faults(request: Request) -> Response:
        try:
            body = await request.json()
            specs = body if isinstance(body, list) else [body]
            rules = [FaultRule.from_json(spec) for spec in specs]
        except (ValueError, FaultSpecError) as exc:
            return nest_error(400, f"bad fault rule: {exc}")
        for rule in rules:
            sim.faults.add(rule)
        return JSONResponse({"rules": sim.faults.rules()})

    @app.delete("/_sim/faults")
    async def clear_faults() -> dict[str, Any]:
        sim.faults.clear()
        return {"rules": []}

    @app.post("/_sim/rate_limit")
    async def rate_limit(request: Request) -> Response:
        try:
            body = await request.json()
            sim.limiter.configure(int(body.get("requests", 0)), float(body.get("window", 1.0)))
        except (ValueError, TypeError, AttributeError) as exc:
            return nest_error(400, f"bad rate limit: {exc}")
        return JSONResponse({"requests": sim.limiter.limit, "window": sim.limiter.window})
