"""The miner's defaults are the real AshMaize parameters (1 GiB ROM, 16 MiB pre-ROM, 8 loops, 256
instructions): a solution found with them is accepted by the simulator running the same real parameters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from scavenger.sim.testing import running_simulator
from timing import scaled

from .conftest import MinerProcess, query, wait_for


@pytest.mark.slow
@pytest.mark.timeout(scaled(300))
def test_default_parameters_produce_accepted_solutions(
    tmp_path: Path, miners: Callable[..., MinerProcess]
) -> None:
    env = {
        # Empty = the defaults: the real 1 GiB ROM on both sides.
        "ASHMAIZE_ROM_SIZE": "",
        "ASHMAIZE_PRE_SIZE": "",
        "MAX_WALLETS_PER_INSTANCE": "1",
        "DONATE_ENABLED": "false",
        "MINER_THREADS": "2",
    }
    with running_simulator(
        tmp_path / "sim", challenge_period=600, difficulty="0FFFFFFF", startup_timeout=120
    ) as sim:
        info = sim.info()
        assert (info["rom_size"], info["pre_size"]) == (1 << 30, 16 << 20)
        miner = miners(tmp_path / "config", sim.url, tmp_path / "m.log", env)
        wait_for(
            lambda: len(query(sim.state_path, "SELECT * FROM solutions")) >= 1,
            scaled(240),
            "a solution accepted at the real parameters",
            miner.log_tail,
        )
        assert miner.terminate(timeout=scaled(60)) == 0
        assert "built in" in miner.log_path.read_text()
