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


def test_opencl_without_pyopencl_stops_before_anything_is_created(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    root = tmp_path / "config"
    env = {
        **os.environ,
        "MINER_BACKEND": "opencl",
        "ROOT_CONF_PATH": str(root),
        "APP_BASE_URL": "http://127.0.0.1:9",
    }
    hide = "import sys; sys.modules['pyopencl'] = None; from scavenger.cli import main; main()"
    out = subprocess.run(
        [sys.executable, "-c", hide, "mine", "--plain"],
        capture_output=True,
        text=True,
        env=env,
        timeout=scaled(60),
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode != 0
    assert "MINER_BACKEND=opencl: pyopencl is not installed" in out.stderr
    assert "Traceback" not in out.stderr
    assert not root.exists()
