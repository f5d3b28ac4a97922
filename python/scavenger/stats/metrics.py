"""The stats backend's own Prometheus ``/metrics``: rows stored per table, HTTP requests by route and
status, whether the database answers and the schema is migrated, build info, and the default process
collectors (RSS, CPU seconds, open fds)."""

from __future__ import annotations

import platform
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scavenger import __version__


class BackendMetrics:
    def __init__(self, migrated: Callable[[], bool]) -> None:
        self.registry = CollectorRegistry()
        self._migrated = migrated
        self._rows = Counter(
            "scavenger_stats_rows_inserted", "Rows stored, by table", ["table"], registry=self.registry
        )
        self.requests = Counter(
            "scavenger_stats_http_requests", "HTTP requests answered, by route and status",
            ["route", "status"], registry=self.registry,
        )
        self._db_up = Gauge("scavenger_stats_database_up", "1 when PostgreSQL answered the last check",
                            registry=self.registry)
        self._schema = Gauge("scavenger_stats_schema_migrated", "1 once the schema migrations are applied",
                             registry=self.registry)
        info = Gauge("scavenger_stats_build_info", "Version of the running backend (always 1)",
                     ["version", "python"], registry=self.registry)
        info.labels(__version__, platform.python_version()).set(1)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def inserted(self, table: str, rows: int) -> None:
        self._rows.labels(table).inc(rows)

    def render(self, database_up: bool) -> tuple[bytes, str]:
        self._db_up.set(1 if database_up else 0)
        self._schema.set(1 if self._migrated() else 0)
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RequestCounter:
    """Pure ASGI middleware counting responses by route and status. Only the app's own paths are used as
    labels (``/static/*`` as one, anything else as ``other``), so a scanner cannot grow the series."""

    def __init__(self, app: ASGIApp, metrics: BackendMetrics, routes: Callable[[], set[str]]) -> None:
        self.app = app
        self.metrics = metrics
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        route = "/static" if path.startswith("/static/") else path if path in self._routes() else "other"

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.metrics.requests.labels(route, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting_send)


def route_paths(app: Any) -> set[str]:
    return {getattr(r, "path", "") for r in app.routes if "{" not in getattr(r, "path", "{")}
