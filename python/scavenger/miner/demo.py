"""``scavenger demo``: a local simulator plus a miner pointed at it, in ./demo-config."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from scavenger.miner.config import MinerConfig


@contextmanager
def running_demo_simulator(config: MinerConfig, *, challenge_period: float, difficulty: str) -> Iterator[str]:
    """Start ``scavenger simulate`` on 127.0.0.1 (state kept in the demo folder); yields its URL."""
    from scavenger.sim.testing import SimulatorHandle

    workdir = config.root.resolve() / "simulator"
    handle = SimulatorHandle(
        workdir,
        {
            "challenge_period": challenge_period,
            "difficulty": difficulty,
            "rom_size": config.rom_size,
            "pre_size": config.pre_size,
            "network": config.network,
            "log_level": "warning",
        },
    )
    handle.start()
    try:
        yield handle.url
    finally:
        handle.stop()


def demo_config(config: MinerConfig, url: str) -> MinerConfig:
    # The simulator issues a challenge every few seconds: poll often so the demo shows them promptly.
    return dataclasses.replace(config, base_url=url, poll_interval=min(config.poll_interval, 5.0))
