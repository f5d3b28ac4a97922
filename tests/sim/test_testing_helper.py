"""The running_simulator helper other parts' tests rely on."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx

from scavenger.sim.testing import running_simulator
from timing import scaled

from .conftest import SMALL_PRE, SMALL_ROM


def test_env_state_and_clean_stop(tmp_path: Path) -> None:
    state = tmp_path / "elsewhere" / "my.sqlite3"
    env = {"ASHMAIZE_ROM_SIZE": str(SMALL_ROM), "ASHMAIZE_PRE_SIZE": str(SMALL_PRE)}
    with running_simulator(tmp_path / "run", env=env, state=state, challenge_period=5) as sim:
        info = sim.info()
        assert (info["rom_size"], info["pre_size"]) == (SMALL_ROM, SMALL_PRE)
        assert Path(info["state"]) == state and state.exists()
        assert info["challenge_period"] == 5.0
        process = sim.process
    assert process is not None and process.poll() is not None
    assert sim.log_path.exists()


def test_simulator_does_not_outlive_a_killed_test_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "sim.pid"
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from scavenger.sim.testing import running_simulator
        options = dict(rom_size={SMALL_ROM}, pre_size={SMALL_PRE})
        with running_simulator(Path({str(tmp_path / "w")!r}), **options) as sim:
            Path({str(pid_file)!r}).write_text(str(sim.process.pid) + " " + sim.url)
            time.sleep(60)
    """)
    owner = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + scaled(30)
        while not pid_file.exists():
            assert time.monotonic() < deadline and owner.poll() is None
            time.sleep(0.05)
        pid_text, url = pid_file.read_text().split()
        assert httpx.get(f"{url}/_sim/health").status_code == 200
    finally:
        owner.kill()
        owner.wait(scaled(10))
    pid = int(pid_text)
    deadline = time.monotonic() + scaled(15)
    while alive(pid):
        assert time.monotonic() < deadline, f"simulator {pid} still alive 15 s after its parent was killed"
        time.sleep(0.1)


def alive(pid: int) -> bool:
    """Running (a zombie left unreaped by a container's PID 1 counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")



def test_a_second_run_in_the_same_folder_gets_the_new_port(tmp_path: Path) -> None:
    # The demo keeps its simulator folder between runs; the first run's port file must not be trusted.
    options = dict(rom_size=SMALL_ROM, pre_size=SMALL_PRE)
    with running_simulator(tmp_path, **options) as first:
        first_state = first.info()["state"]
    with running_simulator(tmp_path, startup_timeout=20, **options) as second:
        assert httpx.get(f"{second.url}/_sim/health").status_code == 200
        assert second.info()["state"] == first_state
