"""The stats backend: ingestion (seed-compatible), read API over the SQL views, dashboard at ``/``.

Status codes are real (the seed answered 200 to everything): 401 bad/missing token (decided before the
body is read), 422 bad body, 413 batch or body too large, 503 database unreachable (retry later; nothing
of that request was stored)."""

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import psycopg
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from scavenger.miner.book import export_document, parse_entries
from scavenger.stats import db
from scavenger.stats.config import BackendConfig
from scavenger.stats.metrics import BackendMetrics, RequestCounter, route_paths
from scavenger.stats.migrations import migrate
from scavenger.stats.models import ApiReturnIn, ProgressIn, StatIn

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).with_name("static")
_RETRY_AFTER = "5"
# A full batch of 5000 stat rows is about 1.5 MiB of JSON; the cap leaves room for large API payloads
# and bounds what one authenticated request can make the server hold (docs/stats.md).
MAX_BODY_BYTES = 32 << 20


class _State:
    def __init__(self, config: BackendConfig) -> None:
        self.config = config
        self.pool: AsyncConnectionPool[Any] | None = None
        self.migrated = False
        self.metrics = BackendMetrics(lambda: self.migrated)


class _TokenGate:
    """Answers 401 before a byte of the body is read when the token does not fit the path.

    FastAPI reads and parses the body before it runs any dependency, so a dependency alone let an
    anonymous client make the server buffer and parse hundreds of megabytes (422 instead of 401). Pure
    ASGI: no per-request overhead of BaseHTTPMiddleware on the hot insert path. Which paths need which
    token is read from the routes' own dependencies once they are all defined (``guarded``), so a new
    route is covered without a second list to keep in step; the dependencies still run as well."""

    def __init__(self, app: ASGIApp, config: BackendConfig, guarded: dict[str, str]) -> None:
        self.app = app
        self.config = config
        self.guarded = guarded  # path -> "write" | "read"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            need = self.guarded.get(path.rstrip("/") or "/")
            if need == "write":
                allowed = _write_allowed(_token_of(scope), self.config)
            elif need == "read":
                allowed = _read_allowed(_token_of(scope), self.config)
            else:
                allowed = True
            if not allowed:
                exc = _unauthorized()
                reply = JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
                await reply(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _configure_connection(conn: psycopg.AsyncConnection[Any]) -> None:
    # JSON timestamps in UTC whatever the server's TimeZone is; SET rather than the "options" connection
    # parameter so that options given in DATABASE_URL are kept.
    await conn.execute("SET TimeZone TO 'UTC'")
    await conn.commit()


def _bearer(header: str) -> bytes | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip().encode("utf-8")


def _presented_token(request: Request) -> bytes | None:
    return _bearer(request.headers.get("authorization", ""))


def _token_of(scope: Scope) -> bytes | None:
    return _bearer(Headers(scope=scope).get("authorization", ""))


def _matches(presented: bytes | None, expected: str) -> bool:
    # hmac.compare_digest: time does not depend on where the first differing byte is (the seed used ==).
    return bool(expected) and presented is not None and hmac.compare_digest(presented, expected.encode())


def _write_allowed(presented: bytes | None, config: BackendConfig) -> bool:
    return _matches(presented, config.token)


def _read_allowed(presented: bytes | None, config: BackendConfig) -> bool:
    if config.public_read:
        return True
    # Both comparisons always run, so timing does not reveal which token was close.
    write_ok = _matches(presented, config.token)
    read_ok = _matches(presented, config.read_token)
    return write_ok or read_ok


def _unauthorized() -> HTTPException:
    return HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})


def create_app(config: BackendConfig) -> FastAPI:
    state = _State(config)

    async def migrate_until_ready(pool: AsyncConnectionPool[Any]) -> None:
        # Keeps retrying like the seed's start-up loop, but in the background: the service answers
        # /health and 503s meanwhile instead of refusing connections.
        delay = 1.0
        while True:
            try:
                async with pool.connection(timeout=config.db_timeout) as conn:
                    applied = await migrate(conn)
                state.migrated = True
                log.info("stats: schema up to date (%s)", ", ".join(applied) if applied else "no change")
                return
            except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
                log.warning("stats: database %s not reachable (%s); retrying in %.0f s",
                            config.safe_database_url, type(exc).__name__, delay)
            except psycopg.Error:
                log.exception("stats: migration failed; retrying in %.0f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            config.database_url,
            min_size=config.pool_min,
            max_size=config.pool_max,
            open=False,
            timeout=config.db_timeout,
            check=AsyncConnectionPool.check_connection,
            kwargs={"connect_timeout": max(1, int(config.db_timeout)),
                    "application_name": "scavenger-stats-backend"},
            configure=_configure_connection,
            name="stats",
        )
        await pool.open(wait=False)
        state.pool = pool
        task = asyncio.create_task(migrate_until_ready(pool))
        log.info("stats: backend using database %s", config.safe_database_url)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await pool.close()

    app = FastAPI(
        title="Scavenger stats backend",
        version="1.0",
        summary="Hash rates and API replies reported by scavenger miners (PostgreSQL).",
        lifespan=lifespan,
        # Counted while the body streams in (chunked bodies too): 413 as soon as it passes the cap.
        max_body_size=MAX_BODY_BYTES,
    )
    guarded: dict[str, str] = {}
    app.add_middleware(_TokenGate, config=config, guarded=guarded)
    paths: set[str] = set()
    app.add_middleware(RequestCounter, metrics=state.metrics, routes=lambda: paths)

    @app.exception_handler(db.DatabaseUnavailable)
    async def _db_down(request: Request, exc: db.DatabaseUnavailable) -> JSONResponse:
        return JSONResponse({"detail": "database unavailable, retry later"}, status_code=503,
                            headers={"Retry-After": _RETRY_AFTER})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Without the echoed input: it may be huge, and NaN/Infinity in it cannot be rendered as JSON.
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()[:20]
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(db.RejectedData)
    async def _rejected(request: Request, exc: db.RejectedData) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    # async: FastAPI would run a plain def dependency in a worker thread, per request.
    async def require_write(request: Request) -> None:
        if not _write_allowed(_presented_token(request), config):
            raise _unauthorized()

    async def require_read(request: Request) -> None:
        if not _read_allowed(_presented_token(request), config):
            raise _unauthorized()

    async def pool_ready() -> AsyncConnectionPool[Any]:
        if state.pool is None or not state.migrated:
            raise db.DatabaseUnavailable("schema not ready")
        return state.pool

    Pool = Annotated[AsyncConnectionPool[Any], Depends(pool_ready)]
    Minutes = Annotated[int, Query(ge=1, le=7 * 24 * 60, description="window, minutes")]

    def check_batch(count: int) -> None:
        if count > config.max_batch:
            raise HTTPException(413, f"batch of {count} rows exceeds the limit of {config.max_batch}")

    async def store(body: Any, insert: Callable[[Any, Any], Awaitable[int]], pool: Any, table: str
                    ) -> dict[str, int]:
        """One row or a JSON array of them, stored in one transaction and counted for /metrics."""
        rows = body if isinstance(body, list) else [body]
        check_batch(len(rows))
        inserted = await insert(pool, rows)
        state.metrics.inserted(table, inserted)
        return {"inserted": inserted}

    @app.post("/insert_stat", dependencies=[Depends(require_write)], tags=["ingest"])
    async def insert_stat(body: StatIn | list[StatIn], pool: Pool) -> dict[str, int]:
        """One hash-rate sample (seed body) or a JSON array of them, stored in one transaction."""
        return await store(body, db.insert_stats, pool, "stats")

    @app.post("/insert_api_return", dependencies=[Depends(require_write)], tags=["ingest"])
    async def insert_api_return(body: ApiReturnIn | list[ApiReturnIn], pool: Pool) -> dict[str, int]:
        """One API reply record (seed body) or a JSON array of them, stored in one transaction."""
        return await store(body, db.insert_api_returns, pool, "api_return")

    @app.post("/insert_progress", dependencies=[Depends(require_write)], tags=["ingest"])
    async def insert_progress(body: ProgressIn | list[ProgressIn], pool: Pool) -> dict[str, int]:
        """A miner's cumulative solutions, receipts and estimate (or an array of them), one transaction."""
        return await store(body, db.insert_progress, pool, "miner_progress")

    @app.get("/health", tags=["service"])
    async def health() -> JSONResponse:
        """200 when PostgreSQL answers and the schema is migrated, else 503 (no token needed)."""
        reachable = state.pool is not None and await db.ping(state.pool)
        ok = reachable and state.migrated
        body = {"status": "ok" if ok else "unavailable", "database": reachable, "migrated": state.migrated}
        return JSONResponse(body, status_code=200 if ok else 503)

    read = [Depends(require_read)]

    @app.get("/api/hashrate/summary", dependencies=read, tags=["read"])
    async def hashrate_summary(pool: Pool, minutes: Minutes = 5) -> dict[str, Any]:
        """Combined current rate: each miner's average over the window, summed."""
        rows = await db.fetch(pool, db.SUMMARY, {"minutes": minutes})
        return rows[0]

    @app.get("/api/hashrate/recent", dependencies=read, tags=["read"])
    async def hashrate_recent(pool: Pool, minutes: Minutes = 5) -> list[dict[str, Any]]:
        """README query 3 with a configurable window: average rate per miner."""
        return await db.fetch(pool, db.RECENT, {"minutes": minutes})

    @app.get("/api/hashrate/by-miner", dependencies=read, tags=["read"])
    async def hashrate_by_miner(pool: Pool) -> list[dict[str, Any]]:
        """README query 2 (view hashrate_avg_by_miner): all-time average per miner."""
        return await db.fetch(pool, db.BY_MINER)

    @app.get("/api/hashrate/by-container", dependencies=read, tags=["read"])
    async def hashrate_by_container(pool: Pool, minutes: Minutes = 5) -> list[dict[str, Any]]:
        """Current combined rate per container, plus README query 4's sum of samples."""
        return await db.fetch(pool, db.BY_CONTAINER, {"minutes": minutes})

    @app.get("/api/hashrate/activity", dependencies=read, tags=["read"])
    async def hashrate_activity(pool: Pool) -> list[dict[str, Any]]:
        """README query 1 without its join fan-out (view hashrate_api_activity)."""
        return await db.fetch(pool, db.ACTIVITY)

    @app.get("/api/hashrate/series", dependencies=read, tags=["read"])
    async def hashrate_series(
        pool: Pool,
        minutes: Minutes = 60,
        bucket: Annotated[int, Query(ge=5, le=86_400, description="bucket width, seconds")] = 60,
        group: db.Group = "total",
    ) -> list[dict[str, Any]]:
        """Rate over time per bucket, for the whole fleet, per container or per miner."""
        return await db.fetch(pool, db.series_query(group), {"minutes": minutes, "bucket": bucket})

    @app.get("/api/api-returns/by-endpoint", dependencies=read, tags=["read"])
    async def api_returns_by_endpoint(pool: Pool, minutes: Minutes = 24 * 60) -> list[dict[str, Any]]:
        """API replies counted by endpoint and HTTP status over the window."""
        return await db.fetch(pool, db.API_BY_ENDPOINT, {"minutes": minutes})

    @app.get("/api/miners/last-seen", dependencies=read, tags=["read"])
    async def miners_last_seen(pool: Pool) -> list[dict[str, Any]]:
        """Last stat and last API call of every miner (view miners_last_seen)."""
        return await db.fetch(pool, db.LAST_SEEN)

    @app.get("/api/challenges/open", dependencies=read, tags=["read"])
    async def challenges_open(pool: Pool) -> dict[str, Any]:
        """Challenges the miners saw that are still open, in the challenge book's shape, so a miner that
        was down while one was current can still mine it."""
        rows = await db.fetch(pool, db.OPEN_CHALLENGES)
        seen = [{"challenge": r["challenge"], "first_seen": r["first_seen"].isoformat()} for r in rows]
        entries, _rejected = parse_entries(seen, time.time(), "backend")
        return export_document(entries)

    Bucket = Annotated[int, Query(ge=5, le=86_400, description="bucket width, seconds")]

    def check_buckets(minutes: int, bucket: int) -> None:
        if minutes * 60 // bucket > 2000:
            raise HTTPException(422, f"{minutes} min in {bucket} s buckets is more than 2000 buckets")

    @app.get("/api/miners", dependencies=read, tags=["read"])
    async def miners(pool: Pool) -> list[dict[str, Any]]:
        """Every miner: state ``up``/``down`` (down: no report for 3 of its report intervals), last report,
        since when it is down, last rate, latest solutions/receipts/estimate, API errors in 15 min."""
        return await db.fetch(pool, db.MINERS)

    @app.get("/api/earnings/summary", dependencies=read, tags=["read"])
    async def earnings_summary(pool: Pool) -> dict[str, Any]:
        """Latest cumulative counts of every miner summed, and the last challenge and difficulty seen."""
        rows = await db.fetch(pool, db.EARNINGS)
        return rows[0]

    @app.get("/api/earnings/series", dependencies=read, tags=["read"])
    async def earnings_series(
        pool: Pool, minutes: Minutes = 60, bucket: Bucket = 60, group: db.Group = "total"
    ) -> list[dict[str, Any]]:
        """Accepted solutions, receipts and estimated STAR over time (carried forward), per group."""
        check_buckets(minutes, bucket)
        return await db.fetch(pool, db.progress_series_query(group), {"minutes": minutes, "bucket": bucket})

    @app.get("/api/api-returns/errors-series", dependencies=read, tags=["read"])
    async def api_error_series(
        pool: Pool, minutes: Minutes = 60, bucket: Bucket = 60
    ) -> list[dict[str, Any]]:
        """Non-2xx API replies per time bucket, per miner and status."""
        check_buckets(minutes, bucket)
        return await db.fetch(pool, db.API_ERROR_SERIES, {"minutes": minutes, "bucket": bucket})

    @app.get("/api/api-returns/errors-by-miner", dependencies=read, tags=["read"])
    async def api_errors_by_miner(pool: Pool, minutes: Minutes = 60) -> list[dict[str, Any]]:
        """Non-2xx API replies over the window per miner, endpoint and status."""
        return await db.fetch(pool, db.API_ERRORS_BY_MINER, {"minutes": minutes})

    @app.get("/metrics", dependencies=read, tags=["service"])
    async def metrics() -> Response:
        """Prometheus text format: rows stored per table, requests by route and status, database up,
        process collectors (same token as the read API, or none with STATS_PUBLIC_READ)."""
        reachable = state.pool is not None and await db.ping(state.pool)
        body, content_type = state.metrics.render(reachable)
        return Response(body, media_type=content_type)

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    paths.update(route_paths(app))
    guarded.update(_guarded_paths(app, require_write, require_read))
    return app


def _guarded_paths(app: FastAPI, write: Any, read: Any) -> dict[str, str]:
    """Path -> the token its route's dependencies ask for ("write" or "read")."""
    guarded: dict[str, str] = {}
    for route in app.routes:
        if isinstance(route, APIRoute):
            calls = {dependency.dependency for dependency in route.dependencies}
            if write in calls:
                guarded[route.path] = "write"
            elif read in calls:
                guarded[route.path] = "read"
    return guarded
