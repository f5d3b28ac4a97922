"""The runner: supervision of its background tasks, a bad donation list, a busy metrics port."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from scavenger.miner.config import MinerConfig
from scavenger.miner.journal import Journal
from scavenger.miner.runner import Miner
from scavenger.miner.state import MinerState
from timing import scaled


async def test_a_crashed_background_task_stops_the_miner_with_a_failure() -> None:
    miner = Miner(MinerConfig())

    async def crash() -> None:
        raise RuntimeError("boom")

    async def finish() -> None:
        return None

    await miner._guard(finish(), "quiet task")
    assert not miner.stop.is_set() and not miner.failed
    await miner._guard(crash(), "submitter")
    # Stopped, and marked so the process exits 1 (a clean SIGTERM stop exits 0).
    assert miner.stop.is_set() and miner.failed


async def test_a_bad_donation_list_pauses_donations_but_not_the_miner(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "donate_list.txt").write_text("not-an-address\n")
    miner = Miner(MinerConfig(root=tmp_path, donate_interval=0.05))
    journal = Journal(tmp_path / "journal.sqlite3")
    state = MinerState("miner-1", 1, 1, "")
    task = asyncio.create_task(
        miner._guard(
            miner._donation_loop(None, journal, state, [], None, asyncio.Event()),  # type: ignore[arg-type]
            "donations",
        )
    )
    await asyncio.sleep(0.3)
    assert not miner.stop.is_set() and not task.done()  # still retrying, the miner keeps mining
    assert "donations paused" in caplog.text and "donate_list.txt, line 1" in caplog.text
    assert state.last_error is not None and state.last_error.startswith("donation list:")
    miner.request_stop()
    await asyncio.wait_for(task, scaled(5))
    assert not miner.failed
    journal.close()


def test_a_busy_metrics_port_is_a_clear_configuration_error() -> None:
    import socket

    from scavenger.miner.config import ConfigError
    from scavenger.miner.metrics import start_metrics

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"METRICS_PORT {port}: cannot serve /metrics"):
            start_metrics(MinerState("miner-1", 1, 1, ""), port, addr="127.0.0.1")


def test_metrics_listen_on_loopback_unless_metrics_host_says_otherwise() -> None:
    from scavenger.miner.config import load_config
    from scavenger.miner.metrics import start_metrics

    assert load_config({}).metrics_host == "127.0.0.1"
    assert load_config({"METRICS_HOST": "0.0.0.0"}).metrics_host == "0.0.0.0"
    server = start_metrics(MinerState("miner-1", 1, 1, ""), _free_port())
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.shutdown()
        server.server_close()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
