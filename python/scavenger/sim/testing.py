"""Run the simulator as a real subprocess for tests and demos.

    from scavenger.sim.testing import running_simulator

    with running_simulator(tmp_path, challenge_period=2, difficulty="FFFFFFFF", rom_size=1 << 20,
                           pre_size=1 << 16) as sim:
        ... ScavengerClient(sim.url) ...
        sim.add_fault(kind="503", count=2, endpoints=["challenge"])
        sim.kill(); sim.start()          # SIGKILL and restart on the same port and state file

Keyword options map to ``scavenger simulate`` flags (underscores become dashes, e.g. ``challenge_period``
-> ``--challenge-period``; ``faults`` may be a dict/list and is JSON-encoded). The process always listens on
127.0.0.1 and a port picked by the kernel (kept across restarts, so ``url`` stays valid)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from scavenger import fsafe

HOST = "127.0.0.1"


def _wait_factor() -> float:
    # The test suite's one factor for timing-sensitive waits (tests/timing.py validates it); a bad value
    # here just means no stretching.
    try:
        return min(max(float(os.environ.get("TEST_WAIT_FACTOR", "1")), 1.0), 100.0)
    except ValueError:
        return 1.0


STARTUP_TIMEOUT = 30.0 * _wait_factor()


class SimulatorStartError(RuntimeError):
    pass


class SimulatorHandle:
    def __init__(self, workdir: Path, options: dict[str, Any], env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.state_path = Path(options.pop("state", workdir / "sim.sqlite3"))
        self.log_path = workdir / "simulator.log"
        self.options = options
        self.env = env
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._starts = 0

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("simulator not started")
        return f"http://{HOST}:{self.port}"

    def _argv(self, port_file: Path) -> list[str]:
        argv = [
            sys.executable,
            "-m",
            "scavenger.sim",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--state",
            str(self.state_path),
            "--port-file",
            str(port_file),
            "--parent-pid",
            str(os.getpid()),
        ]
        for key, value in self.options.items():
            if value is None or value is False:
                continue
            flag = "--" + key.replace("_", "-")
            if value is True:
                argv.append(flag)
            elif isinstance(value, dict | list):
                argv += [flag, json.dumps(value)]
            else:
                argv += [flag, str(value)]
        return argv

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("simulator already running")
        self._starts += 1
        port_file = self.workdir / f"simulator.port.{self._starts}"
        # A folder reused by a later run (the demo keeps its state) still holds the old process's port file;
        # reading it would make us wait on a port nobody listens on.
        port_file.unlink(missing_ok=True)
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        if self.env:
            env.update(self.env)
        fd, _ = fsafe.open_for_write(self.log_path, 0o644, append=True)
        with os.fdopen(fd, "ab") as log:
            log.write(f"--- start #{self._starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self._argv(port_file),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.workdir,
            )
        deadline = time.monotonic() + timeout
        while not port_file.exists():
            self._check_alive()
            if time.monotonic() > deadline:
                self.kill()
                raise SimulatorStartError(f"simulator did not start within {timeout}s\n{self.log_tail()}")
            time.sleep(0.05)
        self.port = int(port_file.read_text().strip())
        while True:
            self._check_alive()
            try:
                if httpx.get(f"{self.url}/_sim/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise SimulatorStartError(f"simulator not ready within {timeout}s\n{self.log_tail()}")
            time.sleep(0.05)

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise SimulatorStartError(
                f"simulator exited with code {self.process.returncode}\n{self.log_tail()}"
            )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: nothing gets a chance to flush, which is what persistence tests want."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait(10)

    def restart(self, *, hard: bool = False) -> None:
        self.kill() if hard else self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no simulator log)"

    # -- control -----------------------------------------------------------------------------------
    def add_fault(self, kind: str, **rule: Any) -> list[dict[str, Any]]:
        """Add a fault rule (see docs/simulator.md): kind 403/429/500/502/503/html/slow, count, every,
        probability, seed, endpoints, retry_after, delay, status."""
        reply = httpx.post(f"{self.url}/_sim/faults", json={"kind": kind, **rule}, timeout=5.0)
        reply.raise_for_status()
        rules: list[dict[str, Any]] = reply.json()["rules"]
        return rules

    def register_outside(self, address: str) -> None:
        """Register an address whose key the test does not hold (no signature check; /_sim only)."""
        reply = httpx.post(f"{self.url}/_sim/registrations", json={"address": address}, timeout=5.0)
        reply.raise_for_status()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.url}/_sim/faults", timeout=5.0).raise_for_status()

    def set_rate_limit(self, requests: int, window: float = 1.0) -> None:
        httpx.post(
            f"{self.url}/_sim/rate_limit", json={"requests": requests, "window": window}, timeout=5.0
        ).raise_for_status()

    def info(self) -> dict[str, Any]:
        reply = httpx.get(f"{self.url}/_sim/info", timeout=5.0)
        reply.raise_for_status()
        info: dict[str, Any] = reply.json()
        return info


@contextmanager
def running_simulator(
    tmp_path: Path,
    *,
    env: dict[str, str] | None = None,
    startup_timeout: float = STARTUP_TIMEOUT,
    **options: Any,
) -> Iterator[SimulatorHandle]:
    """Start ``scavenger simulate`` in ``tmp_path`` and stop it on exit (SIGTERM, then SIGKILL)."""
    options.setdefault("log_level", "warning")
    # Reproducible by default: probability rules fire the same way for the same sequence of requests.
    options.setdefault("fault_seed", 0)
    handle = SimulatorHandle(Path(tmp_path), dict(options), env)
    handle.start(startup_timeout)
    try:
        yield handle
    finally:
        handle.stop()


def find_nonce(
    challenge: Mapping[str, Any], address: str, *, rom_size: int, pre_size: int, limit: int = 1 << 20
) -> str:
    """Mine a nonce for ``challenge`` (the JSON of ``/challenge``'s ``challenge``) with the real core.
    For tests and demos with small ROMs and easy masks; raises if none is found within ``limit``."""
    from scavenger.core import Rom, build_preimage_suffix, format_nonce, parse_difficulty, rom_key

    fields = [
        str(challenge[name])
        for name in ("challenge_id", "difficulty", "no_pre_mine", "latest_submission", "no_pre_mine_hour")
    ]
    rom = Rom(rom_key(str(challenge["no_pre_mine"])), size=rom_size, pre_size=pre_size)
    result = rom.search(
        build_preimage_suffix(address, *fields), 0, limit, parse_difficulty(str(challenge["difficulty"]))
    )
    if result.nonce is None:
        raise RuntimeError(f"no nonce below {limit} meets {challenge['difficulty']}; use an easier mask")
    return str(format_nonce(result.nonce))
