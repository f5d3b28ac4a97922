"""Fixtures for the client tests: a real simulator subprocess, wallets, a fast retry policy, and a tiny
scripted HTTP server on 127.0.0.1 for replies the simulator never gives (HTML 200, wrong shapes, hangs)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from scavenger.api import RetryPolicy
from scavenger.sim.testing import SimulatorHandle, running_simulator
from scavenger.wallet import Wallet
from vector_files import load_vector_file

SMALL_ROM = 1 << 20
SMALL_PRE = 1 << 16
EASY = "0FFFFFFF"
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, total_time=10.0)
CAPTURES: list[dict[str, Any]] = load_vector_file("scavenger_captures.json")


def capture(kind: str) -> dict[str, Any]:
    return next(c for c in CAPTURES if c["kind"] == kind)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorHandle]:
    with running_simulator(
        tmp_path_factory.mktemp("sim"),
        challenge_period=60,
        difficulty=EASY,
        rom_size=SMALL_ROM,
        pre_size=SMALL_PRE,
    ) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sim" in request.fixturenames:
        handle: SimulatorHandle = request.getfixturevalue("sim")
        if handle.process is not None and handle.process.poll() is None:
            handle.clear_faults()
            handle.set_rate_limit(0)


@pytest.fixture
def wallet() -> Wallet:
    return Wallet.generate("mainnet")


@pytest.fixture
def other_wallet() -> Wallet:
    return Wallet.generate("mainnet")


@dataclass
class Canned:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    raw_path: str
    headers: dict[str, str]
    body: bytes


class ScriptedServer:
    """Answers requests with the queued replies in order (the last one repeats)."""

    def __init__(self) -> None:
        self.replies: list[Canned] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with outer._lock:
                    outer.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                    reply = outer.replies.pop(0) if len(outer.replies) > 1 else outer.replies[0]
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            do_GET = _answer
            do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def reply(self, *replies: Canned) -> None:
        with self._lock:
            self.replies = list(replies)


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def json_reply(status: int, body: Any, **headers: str) -> Canned:
    return Canned(status, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})
