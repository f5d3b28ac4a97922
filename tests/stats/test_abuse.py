"""The backend under abuse: huge and endless bodies, out-of-range numbers, rows written behind its back."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from scavenger.stats.app import MAX_BODY_BYTES
from timing import scaled

from .conftest import WRITE_TOKEN, Backend

CHUNK = 1 << 20
ATTEMPTED = 300 << 20  # what the attacker tries to send: 300 MiB


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def chunked_post(backend: Backend, path: str, token: str | None) -> tuple[int, int, float]:
    """POST an (attempted) 300 MiB chunked body over a raw socket, 1 MiB per chunk, reading the reply as
    soon as the server sends one. Returns (status, bytes sent, seconds to the reply)."""
    parts = urlsplit(backend.url)
    head = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json",
            "Transfer-Encoding: chunked"]
    if token:
        head.append(f"Authorization: Bearer {token}")
    chunk = f"{CHUNK:x}\r\n".encode() + b"[" + b" " * (CHUNK - 1) + b"\r\n"
    started = time.monotonic()
    sent = 0
    pending = memoryview(b"")
    with socket.create_connection((parts.hostname, parts.port), timeout=scaled(30)) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        sock.setblocking(False)
        reply = b""
        while b"\r\n" not in reply:
            try:
                data = sock.recv(65536)
                if not data:
                    break
                reply += data
                continue
            except BlockingIOError:
                pass
            except ConnectionError:
                break
            if sent >= ATTEMPTED:
                time.sleep(0.01)
                if time.monotonic() - started > scaled(30):
                    break
                continue
            if not pending:
                pending = memoryview(chunk)
            try:
                done = sock.send(pending)
                sent += done
                pending = pending[done:]
            except BlockingIOError:
                time.sleep(0.001)
            except ConnectionError:
                sock.setblocking(True)
                reply += sock.recv(65536)
                break
        elapsed = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 "), reply[:200]
    return int(reply.split()[1]), sent, elapsed


def test_anonymous_endless_body_gets_401_before_the_body_is_read(
    start_backend: Callable[..., Backend], database_url: str
) -> None:
    backend = start_backend(database_url)
    with backend.client(None) as anonymous:
        spec = anonymous.get("/openapi.json").json()
    # Every write route the backend has, not a list kept by hand.
    writes = sorted(path for path, methods in spec["paths"].items() if "post" in methods)
    assert {"/insert_stat", "/insert_api_return"} <= set(writes)
    before = rss_bytes(backend.process.pid)
    for path in [*writes, "/insert_stat/"]:
        status, sent, elapsed = chunked_post(backend, path, None)
        assert status == 401, path
        # The reply comes before the body: far less than the 300 MiB tried reached the server.
        assert sent < 64 << 20, (path, sent)
        assert elapsed < scaled(10)
    status, _, _ = chunked_post(backend, "/insert_stat", "wrong-token-0123456789")
    assert status == 401
    grown = rss_bytes(backend.process.pid) - before
    assert grown < 32 << 20, f"server RSS grew by {grown >> 20} MiB"
    assert "Traceback" not in backend.log_text()


def test_authenticated_endless_body_is_cut_at_the_cap_with_413(
    start_backend: Callable[..., Backend], database_url: str
) -> None:
    backend = start_backend(database_url)
    before = rss_bytes(backend.process.pid)
    status, sent, _ = chunked_post(backend, "/insert_api_return", WRITE_TOKEN)
    assert status == 413
    assert sent < MAX_BODY_BYTES + (64 << 20), sent
    grown = rss_bytes(backend.process.pid) - before
    assert grown < 4 * MAX_BODY_BYTES, f"server RSS grew by {grown >> 20} MiB"
    with backend.client() as client:  # still serving
        assert client.get("/health").status_code == 200
    assert "Traceback" not in backend.log_text()


def stat(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"container_id": "CTN/a", "miner_id": "miner-1", "hash_rate": 100.0,
                            "timestamp": datetime.now(UTC).isoformat()}
    body.update(overrides)
    return body


READ_ENDPOINTS = ["/api/hashrate/summary", "/api/hashrate/recent", "/api/hashrate/by-miner",
                  "/api/hashrate/by-container", "/api/hashrate/activity", "/api/hashrate/series",
                  "/api/hashrate/series?group=miner", "/api/api-returns/by-endpoint", "/api/miners/last-seen"]


def test_every_number_is_bounded_at_ingestion(
    start_backend: Callable[..., Backend], database_url: str
) -> None:
    backend = start_backend(database_url)
    now = datetime.now(UTC)
    rejected = [
        stat(hash_rate=1e200), stat(hash_rate=1e12 + 1e6), stat(hash_rate=-0.5),
        stat(hashes=10**19), stat(hashes=-1), stat(hashes=10**400),
        stat(interval_secs=0), stat(interval_secs=1e7), stat(uptime_secs=1e11), stat(uptime_secs=-1),
        stat(timestamp=(now + timedelta(days=2)).isoformat()), stat(timestamp="1999-12-31T23:59:59Z"),
        stat(timestamp="9999-12-31T23:59:59Z"),
    ]
    with backend.client() as client:
        for body in rejected:
            reply = client.post("/insert_stat", json=body)
            assert reply.status_code == 422, (body, reply.text)
        # The exact sequence: 1e200 then 1 for one miner; the reads keep working.
        assert client.post("/insert_stat", json=stat(miner_id="m", hash_rate=1e200)).status_code == 422
        assert client.post("/insert_stat", json=stat(miner_id="m", hash_rate=1)).status_code == 200
        at_max = stat(hash_rate=1e12, hashes=10**18, interval_secs=1e6, uptime_secs=1e10)
        assert client.post("/insert_stat", json=[at_max] * 10).status_code == 200
        api_future = {"container_id": "c", "miner_id": "m", "url": "u", "endpoint": "/x",
                      "timestamp": (now + timedelta(days=2)).isoformat()}
        assert client.post("/insert_api_return", json=api_future).status_code == 422
        for path in READ_ENDPOINTS:
            reply = client.get(path)
            assert reply.status_code == 200, (path, reply.text)
        summary = client.get("/api/hashrate/summary").json()
        # Ten rows of 1e18 hashes: the sum (1e19) would overflow the BIGINT it is returned as; it saturates.
        assert summary["hashes"] == 2**63 - 1
        assert summary["total_hashrate_hs"] == pytest.approx(1e12 + 1)


def test_reads_survive_whatever_is_stored(start_backend: Callable[..., Backend], database_url: str) -> None:
    backend = start_backend(database_url)
    with backend.client() as client:
        assert client.post("/insert_stat", json=stat(miner_id="good", hash_rate=5.0, hashes=50,
                                                     interval_secs=10)).status_code == 200
        assert client.post("/insert_api_return", json={"container_id": "CTN/a", "miner_id": "good",
                                                       "url": "u", "endpoint": "/challenge",
                                                       "status": 200}).status_code == 200
    # Written behind the backend's back (psql, an old version, the seed): values no bound lets in.
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO stats (container_id, miner_id, hash_rate, timestamp, hashes, interval_secs,"
            " uptime_secs) VALUES"
            " ('CTN/a', 'bad', 1e200, NOW(), 9000000000000000000, 'NaN', 'Infinity'),"
            " ('CTN/a', 'bad', 1, NOW(), 9000000000000000000, 1e300, -1),"
            " ('CTN/a', 'bad', 'NaN', NOW(), NULL, NULL, NULL),"
            " ('CTN/a', 'bad', 'Infinity', NOW(), NULL, NULL, NULL),"
            " ('CTN/a', 'bad', '-Infinity', NOW(), NULL, NULL, NULL),"
            " ('CTN/a', 'bad', -3, NOW(), NULL, NULL, NULL),"
            " ('CTN/a', 'bad', 2, 'infinity', NULL, NULL, NULL),"
            " ('CTN/a', 'bad', 2, '-infinity', NULL, NULL, NULL),"
            " ('CTN/a', 'bad', 2, '20000-01-01', NULL, NULL, NULL)")
        challenge = '{"code": "active", "challenge": {"challenge_id": "**D01C01"}}'
        conn.execute("INSERT INTO api_return (container_id, miner_id, endpoint, url, timestamp, api_response)"
                     " VALUES ('CTN/a', 'bad', '/challenge', 'u', 'infinity', NULL),"
                     " ('CTN/a', 'bad', '/challenge', 'u', '30000-01-01', NULL),"
                     f" ('CTN/a', 'bad', 'challenge', 'u', 'infinity', '{challenge}'),"
                     f" ('CTN/a', 'bad', 'challenge', 'u', '-infinity', '{challenge}')")
        big = 9000000000000000000
        conn.execute("INSERT INTO miner_progress (container_id, miner_id, timestamp, solutions_found,"
                     " solutions_accepted, solutions_pending, solutions_expired, receipts, estimated_star)"
                     f" VALUES ('CTN/a', 'bad', 'infinity', {big}, {big}, {big}, {big}, {big}, {big}),"
                     f" ('CTN/a', 'bad2', NOW(), {big}, {big}, {big}, {big}, {big}, {big}),"
                     " ('CTN/a', 'bad', '-infinity', -1, -1, -1, -1, -1, -1),"
                     " ('CTN/a', 'bad', '20000-01-01', 1, 1, 1, 1, 1, 1)")
    with backend.client() as client:
        spec = client.get("/openapi.json").json()
        # Every read endpoint the backend has (the list above, and any added since), with a window.
        reads = {path for path, methods in spec["paths"].items() if "get" in methods and path != "/health"}
        assert set(READ_ENDPOINTS) - {"/api/hashrate/series?group=miner"} <= reads
        for path in sorted(reads | set(READ_ENDPOINTS)):
            reply = client.get(path + ("&" if "?" in path else "?") + "minutes=60")
            assert reply.status_code == 200, (path, reply.text)
        recent = {r["miner_id"]: r for r in client.get("/api/hashrate/recent").json()}
        # The good row is intact; of the bad miner only its one in-range sample (rate 1) counts, and its
        # out-of-range hash count reads as missing.
        assert recent["good"]["avg_hashrate_hs"] == 5.0 and recent["good"]["hashes"] == 50
        assert recent["bad"]["avg_hashrate_hs"] == 1.0 and recent["bad"]["hashes"] is None
        summary = client.get("/api/hashrate/summary").json()
        assert summary["total_hashrate_hs"] == 6.0 and summary["stat_rows"] == 10
        calls = client.get("/api/api-returns/by-endpoint").json()
        assert [(c["endpoint"], c["calls"]) for c in calls] == [("/challenge", 1)]
    assert "Traceback" not in backend.log_text()
