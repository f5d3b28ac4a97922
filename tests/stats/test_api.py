"""Ingestion API: authentication, validation, batches, configuration and secrets hygiene."""

from __future__ import annotations

import hmac
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from scavenger.stats import app as app_module
from scavenger.stats.config import BackendConfig, ConfigError, build_database_url, redact_url
from timing import scaled

from .conftest import BACKEND_ARGV, READ_TOKEN, WRITE_TOKEN, Backend, PgCluster, backend_env, free_port


def stat(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"container_id": "CTN/x", "miner_id": "miner-1", "hash_rate": 10.5,
                            "timestamp": datetime.now(UTC).isoformat()}
    body.update(overrides)
    return body


def api_return(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"container_id": "CTN/x", "miner_id": "miner-1", "wallet_addr": "addr1q",
                            "url": "https://h/challenge", "endpoint": "/challenge", "description": None,
                            "payload": None, "api_response": {"code": "active"}}
    body.update(overrides)
    return body


def count(database_url: str, table: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(f"SELECT COUNT(*) FROM {table}".encode()).fetchone()
        assert row is not None
        return int(row[0])


def test_auth_validation_and_batches(start_backend: Callable[..., Backend], database_url: str) -> None:
    backend = start_backend(database_url)
    with backend.client(None) as anonymous, backend.client("wrong-token") as wrong, \
            backend.client(READ_TOKEN) as reader, backend.client() as writer:
        for client in (anonymous, wrong, reader):
            reply = client.post("/insert_stat", json=stat())
            assert reply.status_code == 401, reply.text
            assert reply.headers["www-authenticate"] == "Bearer"
            assert client.post("/insert_api_return", json=api_return()).status_code == 401
        # Unauthenticated bad bodies get 401, not a validation report.
        assert anonymous.post("/insert_stat", json={"nope": 1}).status_code == 401
        assert anonymous.get("/api/hashrate/summary").status_code == 401
        assert wrong.get("/api/miners/last-seen").status_code == 401
        assert reader.get("/api/hashrate/summary").status_code == 200
        assert writer.get("/api/hashrate/summary").status_code == 200
        basic = writer.post("/insert_stat", json=stat(), headers={"Authorization": f"Basic {WRITE_TOKEN}"})
        assert basic.status_code == 401
        assert count(database_url, "stats") == 0

        bad_bodies = [
            {"miner_id": "m", "hash_rate": 1, "timestamp": "2025-11-20T10:00:00Z"},  # no container_id
            stat(hash_rate=-1),
            stat(hash_rate="fast"),
            stat(timestamp="yesterday"),
            stat(container_id=""),
            stat(miner_id="nul\x00byte"),
            [stat(), stat(hash_rate=None)],  # one bad row rejects the whole batch
        ]
        for body in bad_bodies:
            reply = writer.post("/insert_stat", json=body)
            assert reply.status_code == 422, (body, reply.text)
        nan_body = b'{"container_id":"c","miner_id":"m","hash_rate":NaN,"timestamp":"2025-11-20T10:00:00Z"}'
        nan = writer.post("/insert_stat", content=nan_body, headers={"Content-Type": "application/json"})
        assert nan.status_code == 422
        assert writer.post("/insert_api_return", json=api_return(url=None)).status_code == 422
        assert writer.post("/insert_api_return", json=api_return(endpoint="")).status_code == 422
        # PostgreSQL's jsonb cannot store \u0000: a clear 422, not a 500.
        nul_json = writer.post("/insert_api_return", json=api_return(api_response={"x": "\x00"}))
        assert nul_json.status_code == 422, nul_json.text
        assert count(database_url, "stats") == 0 and count(database_url, "api_return") == 0

        # The seed's exact bodies, with its extra fields; then arrays.
        seed_stat = stat(uptime_secs=30, version="0.1.0", description=None)
        assert writer.post("/insert_stat", json=seed_stat).json() == {"inserted": 1}
        assert writer.post("/insert_stat", json=[stat(miner_id=f"m{i}") for i in range(50)]).json() == {
            "inserted": 50}
        assert writer.post("/insert_stat", json=[]).json() == {"inserted": 0}
        assert writer.post("/insert_api_return", json=api_return()).json() == {"inserted": 1}
        pair = [api_return(), api_return(payload={"a": [1]})]
        assert writer.post("/insert_api_return", json=pair).json() == {"inserted": 2}
        too_many = writer.post("/insert_stat", json=[stat()] * 5001)
        assert too_many.status_code == 413
        huge = writer.post("/insert_api_return", content=b"[" + b" " * (33 << 20) + b"]",
                           headers={"Content-Type": "application/json"})
        assert huge.status_code == 413
        assert count(database_url, "stats") == 51 and count(database_url, "api_return") == 3
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT uptime_secs, version, payload FROM stats s, api_return a"
                               " WHERE s.miner_id = 'miner-1' AND a.payload IS NOT NULL").fetchone()
            assert row == (30.0, "0.1.0", {"a": [1]})
            # The seed stored no payload as SQL NULL, not JSON null.
            nulls = conn.execute("SELECT COUNT(*) FROM api_return WHERE payload IS NULL").fetchone()
            assert nulls == (2,)

        spec = writer.get("/openapi.json").json()
        assert {"/insert_stat", "/insert_api_return", "/health", "/api/hashrate/series"} <= set(spec["paths"])
    log = backend.log_text()
    assert WRITE_TOKEN not in log and READ_TOKEN not in log
    assert "***@" in log


def test_public_read_setting(start_backend: Callable[..., Backend], database_url: str) -> None:
    backend = start_backend(database_url, STATS_PUBLIC_READ="true", STATS_READ_TOKEN="")
    with backend.client(None) as anonymous:
        assert anonymous.get("/api/hashrate/summary").status_code == 200
        assert anonymous.post("/insert_stat", json=stat()).status_code == 401


def test_token_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(app_module.hmac, "compare_digest", spy)
    assert app_module._matches(b"abc", "abc")
    assert not app_module._matches(b"abd", "abc")
    assert not app_module._matches(None, "abc")
    assert not app_module._matches(b"abc", "")  # an unset read token never matches
    assert calls == [(b"abc", b"abc"), (b"abd", b"abc")]


def test_refuses_to_start_without_token(pg_cluster: PgCluster, database_url: str) -> None:
    env = backend_env(database_url, free_port(), STATS_BEARER_TOKEN="")
    result = subprocess.run(BACKEND_ARGV, env=env, capture_output=True, text=True, timeout=scaled(60))
    assert result.returncode != 0
    assert "STATS_BEARER_TOKEN is empty" in result.stderr
    assert pg_cluster.app_password not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"STATS_BEARER_TOKEN": "AZERTY"}, "STATS_BEARER_TOKEN is a published default"),
        ({"STATS_BEARER_TOKEN": "changeme", "COMPOSE_PROFILES": "miners"}, "only the demo profile"),
        ({"STATS_BEARER_TOKEN": "change-me-to-a-long-random-token"}, "published default"),
        ({"STATS_BEARER_TOKEN": "x"}, "STATS_BEARER_TOKEN has 1 characters; at least 16 are required"),
        ({"STATS_READ_TOKEN": "fifteen-chars.."}, "STATS_READ_TOKEN has 15 characters"),
    ],
)
def test_refuses_short_and_published_tokens(pg_cluster: PgCluster, database_url: str, extra: dict[str, str],
                                            message: str) -> None:
    env = backend_env(database_url, free_port(), **extra)
    result = subprocess.run(BACKEND_ARGV, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert message in result.stderr and "secrets.token_urlsafe(32)" in result.stderr
    assert "Traceback" not in result.stderr
    for value in extra.values():
        assert f"'{value}'" not in result.stderr  # the refused token itself is never echoed


def test_warns_loudly_on_seed_default_token(start_backend: Callable[..., Backend], database_url: str,
                                             pg_cluster: PgCluster) -> None:
    # Accepted only in Compose's demo profile (docker-compose.yml passes COMPOSE_PROFILES through).
    backend = start_backend(database_url, STATS_BEARER_TOKEN="AZERTY", COMPOSE_PROFILES="demo")
    with backend.client("AZERTY") as client:
        assert client.post("/insert_stat", json=stat()).status_code == 200
    log = backend.log_text()
    assert "WARNING" in log and "published default" in log
    assert pg_cluster.app_password not in log


def test_database_url_from_seed_variables() -> None:
    env = {"POSTGRES_HOST": "stats-db", "POSTGRES_PORT": "5432", "POSTGRES_USER": "stats_user",
           "POSTGRES_PASSWORD": "p@ss:w/rd", "POSTGRES_DB": "statsdb"}
    url = build_database_url(env)
    # The user is POSTGRES_USER (the seed's .env.example wrongly put $POSTGRES_DB there).
    assert url == "postgresql://stats_user:p%40ss%3Aw%2Frd@stats-db:5432/statsdb"
    assert redact_url(url) == "postgresql://stats_user:***@stats-db:5432/statsdb"
    # libpq also reads the password from the query string: it must not reach the logs either.
    assert (redact_url("postgresql://u@h/d?sslmode=require&password=s3cr3t&sslpassword=k3y")
            == "postgresql://u@h/d?sslmode=require&password=***&sslpassword=***")
    assert build_database_url({**env, "DATABASE_URL": "postgres://a:b@h/d"}) == "postgres://a:b@h/d"
    with pytest.raises(ConfigError, match="POSTGRES_PORT"):
        build_database_url({"POSTGRES_PORT": "abc"})
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        build_database_url({"DATABASE_URL": "mysql://x"})
    config = BackendConfig.from_env({**env, "STATS_BEARER_TOKEN": "t0ken-secret-16c", "BACKEND_PORT": "9090"})
    assert config.port == 9090 and config.host == "0.0.0.0"
    assert "t0ken-secret-16c" not in repr(config) and "p%40ss" not in repr(config)
    with pytest.raises(ConfigError, match="BACKEND_PORT"):
        BackendConfig.from_env({**env, "STATS_BEARER_TOKEN": "t" * 16, "BACKEND_PORT": "http"})
    with pytest.raises(ConfigError, match="STATS_DB_TIMEOUT"):
        BackendConfig.from_env({**env, "STATS_BEARER_TOKEN": "t" * 16, "STATS_DB_TIMEOUT": "soon"})
    quick = BackendConfig.from_env({**env, "STATS_BEARER_TOKEN": "t" * 16, "STATS_DB_TIMEOUT": "0.5"})
    assert quick.db_timeout == 0.5
