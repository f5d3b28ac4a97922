"""The runner's supervision of its background tasks."""

from __future__ import annotations

from scavenger.miner.config import MinerConfig
from scavenger.miner.runner import Miner


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
