"""The FastAPI application: the real server's routes, statuses, envelopes and texts.

Route handlers never raise for bad input: every check answers with the server's JSON error, and a
last-resort handler turns anything unexpected into a JSON 500 (which the fuzz tests treat as a bug)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from scavenger.sim import handlers, texts
from scavenger.sim.admin import add_admin_routes
from scavenger.sim.faults import retry_after_header
from scavenger.sim.replies import fault_response, nest_error
from scavenger.sim.simulator import DEFAULT_DAILY_POOL_STAR, DEFAULT_NETWORK_RECEIPTS, Simulator

__all__ = ["DEFAULT_DAILY_POOL_STAR", "DEFAULT_NETWORK_RECEIPTS", "Simulator", "create_app"]

log = logging.getLogger(__name__)

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


def _documented(pattern: str, what: str) -> Any:
    """A path parameter whose format the OpenAPI description states (for schemathesis and readers) but
    FastAPI does not enforce: the handlers check it and answer with the real server's own status and text."""
    return Path(description=what, json_schema_extra={"pattern": pattern})


PUBKEY = Annotated[str, _documented(r"^[0-9a-fA-F]{64}$", "Ed25519 public key, 64 hex digits")]
SIGNATURE = Annotated[str, _documented(r"^([0-9a-fA-F]{2})+$", "CIP-8 COSE_Sign1 signature, hex")]
NONCE = Annotated[str, _documented(r"^[0-9a-f]{16}$", "nonce, 16 lowercase hex digits")]


def _endpoint_of(path: str) -> str | None:
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] == "api":
        parts = parts[1:]
    return _SEGMENT_ENDPOINT.get(parts[0]) if parts else None


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
            return fault_response(rule)
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
        async def register(address: str, signature: SIGNATURE, pubkey: PUBKEY) -> Response:
            return await run_in_threadpool(handlers.register, sim, address, signature, pubkey)

        @app.post(prefix + "/solution/{address}/{challenge_id}/{nonce}")
        async def solution(address: str, challenge_id: str, nonce: NONCE) -> Response:
            return await run_in_threadpool(handlers.submit_solution, sim, address, challenge_id, nonce)

        @app.post(prefix + "/donate_to/{destination}/{original}/{signature}")
        async def donate_to(destination: str, original: str, signature: SIGNATURE) -> Response:
            return await run_in_threadpool(handlers.donate, sim, destination, original, signature)

        @app.get(prefix + "/work_to_star_rate")
        async def work_to_star_rate() -> Response:
            return JSONResponse(sim.rates(sim.clock()))

        @app.get(prefix + "/statistics/{address}")
        async def statistics(address: str) -> Response:
            return await run_in_threadpool(handlers.statistics, sim, address)

    add_admin_routes(app, sim)
    return app
