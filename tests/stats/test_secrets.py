"""URL secrets never reach the miner's log or the stats database."""

from __future__ import annotations

import logging
from collections.abc import Callable

import psycopg
import pytest

from scavenger.stats.reporter import ReporterConfig, StatsReporter

from .conftest import Backend, StepClock, free_port


async def test_backend_url_password_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    dead = f"http://admin:hunter22@127.0.0.1:{free_port()}"  # nothing listens: the warning fires
    clock = StepClock()
    reporter = StatsReporter(ReporterConfig(enabled=True, stats_url=dead + "/insert_stat?token=tok3n",
                                            api_url=dead + "/insert_api_return", token="t" * 20,
                                            container_id="c", timeout=1.0), clock=clock)
    reporter.record_hashes("miner-1", 10)
    reporter.record_api_event({"endpoint": "challenge", "status": 200,
                               "url": "http://u:pw-in-app-base-url@api.example/challenge"})
    clock.now += 1
    with caplog.at_level(logging.INFO):
        await reporter.flush()
    assert "backend unavailable" in caplog.text and "***@127.0.0.1" in caplog.text
    assert "hunter22" not in caplog.text and "tok3n" not in caplog.text
    (row,) = reporter._api.take(1)
    assert row["url"] == "http://***@api.example/challenge"
    await reporter.aclose()


def test_backend_stores_urls_redacted(start_backend: Callable[..., Backend], database_url: str) -> None:
    backend = start_backend(database_url)
    body = {"container_id": "CTN/x", "miner_id": "miner-1", "endpoint": "challenge",
            "url": "http://u:pw-in-app-base-url@api.example/challenge?api_key=k3y&x=1"}
    with backend.client() as writer:
        assert writer.post("/insert_api_return", json=body).status_code == 200
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT url FROM api_return").fetchall()
    assert stored == [("http://***@api.example/challenge?api_key=***&x=1",)]


@pytest.mark.parametrize(("token", "env", "warned"), [
    ("short", {}, "STATS_BEARER_TOKEN has 5 characters"),
    ("changeme", {}, "published default"),
    ("changeme", {"COMPOSE_PROFILES": "demo"}, None),
    ("a-long-enough-random-token", {}, None),
])
def test_miner_side_warns_about_a_token_the_backend_refuses(
    caplog: pytest.LogCaptureFixture, token: str, env: dict[str, str], warned: str | None
) -> None:
    config = ReporterConfig.from_env({"ENABLE_STATS_BACKEND": "true", "STATS_BEARER_TOKEN": token, **env})
    with caplog.at_level(logging.WARNING):
        StatsReporter(config)
    if warned is None:
        assert "STATS_BEARER_TOKEN" not in caplog.text
    else:
        assert warned in caplog.text and "token_urlsafe" in caplog.text and token not in caplog.text
