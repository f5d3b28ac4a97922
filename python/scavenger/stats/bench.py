"""Sustained-insert benchmark of the stats backend on loopback.

    DATABASE_URL=postgresql://... python -m scavenger.stats.bench --miners 100 --duration 20

Starts ``scavenger stats-backend`` as a subprocess on a free 127.0.0.1 port with a throwaway token,
then N simulated miners each POST ``/insert_stat`` back to back (``--batch`` rows per request, 1 = the
seed's one-row body) for a bounded duration. Prints rows/s and request latency percentiles, and checks
that the database holds exactly the rows acknowledged. The load generator shares the machine with the
server, so numbers are a floor for what the backend alone can do."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx
import psycopg


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


class _Connection:
    """One keep-alive HTTP/1.1 connection per simulated miner, written by hand: httpx's pool spends more
    CPU than the server under test once ~100 connections share one event loop, which would make the
    benchmark measure the load generator."""

    def __init__(self, port: int, token: str) -> None:
        self._port = port
        self._head = (f"POST /insert_stat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> int:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self._port)
        self._writer.write(f"{self._head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await self._writer.drain()
        status_line = await self._reader.readline()
        length = 0
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        await self._reader.readexactly(length)
        return int(status_line.split()[1])

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()


async def _miner(port: int, token: str, n: int, batch: int, stop_at: float,
                 latencies: list[float], counts: dict[str, int]) -> None:
    container, miner = f"BENCH/host-{n // 4}", f"miner-{n % 4}"
    connection = _Connection(port, token)
    try:
        while time.monotonic() < stop_at:
            stamp = datetime.now(UTC).isoformat()
            rows = [{"container_id": container, "miner_id": miner, "hash_rate": 1234.5 + i,
                     "timestamp": stamp, "hashes": 12345, "interval_secs": 10.0, "uptime_secs": 60.0,
                     "version": "bench"} for i in range(batch)]
            body = json.dumps(rows[0] if batch == 1 else rows).encode()
            started = time.perf_counter()
            try:
                status = await asyncio.wait_for(connection.post(body), 10)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
                counts["errors"] += 1
                await connection.close()
                connection = _Connection(port, token)
                continue
            latencies.append(time.perf_counter() - started)
            if status == 200:
                counts["rows"] += batch
                counts["requests"] += 1
            else:
                counts["errors"] += 1
    finally:
        await connection.close()


async def _load(port: int, token: str, miners: int, duration: float, batch: int
                ) -> tuple[dict[str, int], list[float], float]:
    latencies: list[float] = []
    counts = {"rows": 0, "requests": 0, "errors": 0}
    started = time.monotonic()
    stop_at = started + duration
    await asyncio.gather(*(_miner(port, token, n, batch, stop_at, latencies, counts) for n in range(miners)))
    return counts, sorted(latencies), time.monotonic() - started


def _wait_healthy(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"backend exited with {process.returncode}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("backend did not become healthy")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--miners", type=int, default=100)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load (max 120)")
    parser.add_argument("--batch", type=int, default=1, help="rows per request (1 = seed body)")
    args = parser.parse_args(argv)
    if not 1 <= args.miners <= 1000 or not 0 < args.duration <= 120 or not 1 <= args.batch <= 5000:
        parser.error("--miners 1..1000, --duration 0..120 s, --batch 1..5000")
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        parser.error("set DATABASE_URL to a PostgreSQL database the benchmark may write to")

    token = secrets.token_hex(16)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "STATS_BEARER_TOKEN": token, "BACKEND_PORT": str(port),
           "BACKEND_BIND_HOST": "127.0.0.1", "APP_LOG_LEVEL": "warning", "STATS_DB_POOL_MAX": "10"}
    process = subprocess.Popen([sys.executable, "-c", "from scavenger.cli import main; main()",
                                "stats-backend"], env=env)
    try:
        _wait_healthy(url, process)
        with psycopg.connect(database_url) as conn:
            conn.execute("DELETE FROM stats WHERE version = 'bench'")
        counts, latencies, elapsed = asyncio.run(_load(port, token, args.miners, args.duration, args.batch))
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT COUNT(*) FROM stats WHERE version = 'bench'").fetchone()
            stored = int(row[0]) if row else -1
    finally:
        process.terminate()
        process.wait(15)

    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}")
    print(f"load: {args.miners} miners x {args.batch} row(s)/request for {elapsed:.1f} s on loopback")
    print(f"rows stored: {stored} (acknowledged {counts['rows']}, errors {counts['errors']})")
    print(f"throughput: {counts['rows'] / elapsed:.0f} rows/s, {counts['requests'] / elapsed:.0f} requests/s")
    if latencies:
        p50, p99 = _percentile(latencies, 0.5) * 1e3, _percentile(latencies, 0.99) * 1e3
        print(f"latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms, mean {statistics.fmean(latencies) * 1e3:.1f} ms")
    return 0 if stored == counts["rows"] and counts["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
