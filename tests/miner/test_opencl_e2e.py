"""End to end on the OpenCL backend: a real `scavenger mine --backend opencl` process (pocl in CI) mines
against the real simulator on 127.0.0.1, and the server accepts what the device found."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from scavenger.core.opencl import OpenClUnavailable
from scavenger.core.opencl.devices import list_devices
from scavenger.sim.testing import running_simulator
from timing import scaled

from .conftest import SIM_OPTIONS, MinerProcess, query, wait_for


def _require_opencl() -> None:
    try:
        list_devices()
    except OpenClUnavailable as exc:
        pytest.skip(f"no OpenCL platform for the OpenCL backend: {exc}")


@pytest.mark.timeout(scaled(240))
def test_mine_with_the_opencl_backend_gets_receipts(
    tmp_path: Path, miners: Callable[..., MinerProcess]
) -> None:
    _require_opencl()
    root = tmp_path / "config"
    with running_simulator(tmp_path / "sim", challenge_period=3, **SIM_OPTIONS) as sim:
        miner = miners(
            root, sim.url, tmp_path / "miner.log", {"MINER_BACKEND": "opencl", "DONATE_ENABLED": "false"}
        )

        def logs() -> str:
            return f"--- miner\n{miner.log_tail()}\n--- sim\n{sim.log_tail(20)}"

        def receipts() -> int:
            return len(query(sim.state_path, "SELECT address, challenge_id FROM solutions"))

        wait_for(lambda: receipts() >= 3, scaled(120), "3 solutions accepted from the OpenCL backend", logs)
        assert miner.terminate() == 0
        text = (tmp_path / "miner.log").read_text()
        assert "hashing backend: opencl on" in text
        assert "nonces per launch" in text
        assert "OpenCL backend stopped" not in text
