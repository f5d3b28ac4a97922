"""Failed API replies: logged once per kind with a running count and the effect, counted in /metrics.

The bug: three 429 replies on /solution, retried inside one client call, were logged at DEBUG only and
``scavenger_submit_errors_total`` stayed 0."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scavenger.api.health import ApiHealth
from scavenger.sim.testing import running_simulator
from timing import scaled

from .conftest import SIM_OPTIONS, MinerProcess, query, wait_for


def test_one_line_per_kind_then_a_summary_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    health = ApiHealth(clock=lambda: now[0], summary_every=60.0)
    caplog.set_level(logging.WARNING, logger="scavenger.api.health")
    for _ in range(100):
        health.count("solution", "429")
        health.failed("solution", "429", "Too Many Requests", "will retry in 30 s")
        now[0] += 0.1
    health.failed("challenge", "503", "down", "will poll again in 2 s")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "HTTP 429" in lines[0] and "will retry in 30 s" in lines[0]
    assert "/challenge" in lines[1]
    now[0] = 61.0
    health.failed("solution", "429", "Too Many Requests", "will retry in 30 s")
    summary = caplog.records[-1].getMessage()
    assert "x 101 so far" in summary and "100 since the last line" in summary
    assert health.failures("solution") == 100 and health.responses()[("solution", "429")] == 100
    assert health.recent_failures() == {"solution": {"429": 100}}
    now[0] = 61.0 + 900.0
    assert health.recent_failures() == {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(scaled(120))
def test_three_429_on_solution_are_logged_and_counted(
    tmp_path: Path, miners: Callable[..., MinerProcess]
) -> None:
    port = _free_port()
    env = {"METRICS_PORT": str(port), "MAX_WALLETS_PER_INSTANCE": "1", "DONATE_ENABLED": "false"}
    with running_simulator(tmp_path / "sim", challenge_period=2, **SIM_OPTIONS) as sim:
        sim.add_fault(kind="429", count=3, endpoints=["solution"], retry_after=1)
        miner = miners(tmp_path / "config", sim.url, tmp_path / "m.log", env)
        wait_for(
            lambda: len(query(sim.state_path, "SELECT * FROM solutions")) >= 1,
            scaled(60), "an accepted solution", miner.log_tail,
        )
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=scaled(5)).text
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        me = (("miner", "miner-1"),)
        assert samples[("scavenger_submit_errors_total", me)] == 3
        def responses(status: str) -> float:
            labels = (("endpoint", "solution"), ("miner", "miner-1"), ("status", status))
            return samples.get(("scavenger_api_responses_total", labels), 0.0)

        assert responses("429") == 3 and responses("201") >= 1
        assert any(name == "process_resident_memory_bytes" for name, _ in samples)
        assert any(name == "scavenger_build_info" for name, _ in samples)
        assert not any(label == "instance" for _, labels in samples for label, _ in labels)
        assert miner.terminate() == 0
    log = miner.log_path.read_text()
    warnings = [
        line for line in log.splitlines() if "WARNING" in line and "/solution" in line and "429" in line
    ]
    # The first of the kind at once with its effect; the other two folded into the count (no flood).
    assert len(warnings) == 1 and "will retry in" in warnings[0], log[-3000:]
