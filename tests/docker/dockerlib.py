"""Helpers for the Docker tests: find a working engine and compose tool, build the images once, drive a
compose project, and wait for things with bounded deadlines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME_BASE = "scavenger-base-runtime:bookworm"
POSTGRES_BASE = "scavenger-base-postgres:bookworm"
BUILDER_BASE = "scavenger-base-builder:bookworm"
# Test tags, so a user's own scavenger-miner:latest is never replaced by a test build.
APP_IMAGE = "scavenger-miner:e2e-test"
DB_IMAGE = "scavenger-stats-db:e2e-test"

T = TypeVar("T")


class Progress:
    """Prints progress lines past pytest's output capture, so a long Docker test shows where it is."""

    def __init__(self, config: pytest.Config) -> None:
        self._capture = config.pluginmanager.getplugin("capturemanager")
        self._start = time.monotonic()

    def __call__(self, message: str) -> None:
        line = f"[docker-e2e +{time.monotonic() - self._start:5.0f}s] {message}"
        if self._capture is None:
            print(line, flush=True)
            return
        with self._capture.global_and_fixture_disabled():
            print(line, flush=True)


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    check: bool = True,
    input_text: str | None = None,
    cwd: Path = REPO,
) -> subprocess.CompletedProcess[str]:
    """Run a command with a hard timeout; on failure the error shows the command's own output."""
    try:
        result = subprocess.run(
            list(argv),
            cwd=cwd,
            env=env,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{' '.join(argv)} did not finish within {timeout:.0f} s") from exc
    if check and result.returncode != 0:
        tail = (result.stdout[-3000:] + "\n" + result.stderr[-3000:]).strip()
        raise AssertionError(f"{' '.join(argv)} exited {result.returncode}:\n{tail}")
    return result


def engine_problem() -> str | None:
    """Why Docker tests cannot run here, or None when an engine answers."""
    if shutil.which("docker") is None:
        return "no `docker` command on PATH"
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 20 s"
    if result.returncode != 0 or not result.stdout.strip():
        return f"no Docker engine answers: {result.stderr.strip()[:300]}"
    return None


def compose_command() -> list[str] | None:
    """`docker compose` (v2 plugin) when present, else `docker-compose` (v1), else None."""
    candidates = (["docker", "compose"], ["docker-compose"])
    for candidate in candidates:
        if shutil.which(candidate[0]) is None:
            continue
        probe = subprocess.run(
            [*candidate, "version"], capture_output=True, text=True, timeout=30, check=False
        )
        if probe.returncode == 0:
            return list(candidate)
    return None


def image_exists(name: str) -> bool:
    return run(["docker", "image", "inspect", name], timeout=30, check=False).returncode == 0


def image_label(name: str, label: str) -> str | None:
    """The value of ``label`` on image ``name``, or None when the image (or the label) is missing."""
    template = f'{{{{index .Config.Labels "{label}"}}}}'
    result = run(["docker", "image", "inspect", "-f", template, name], timeout=30, check=False)
    value = result.stdout.strip()
    return value if result.returncode == 0 and value and value != "<no value>" else None


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 2.0) -> T:
    """Poll ``probe`` until it returns something other than None, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
        except (AssertionError, OSError, ValueError) as exc:
            value, last_error = None, exc
        if value is not None:
            return value
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


class ComposeProject:
    """One throw-away compose project (own name, networks and volumes) over the repository's files."""

    def __init__(self, command: list[str], name: str, files: Sequence[Path], env: dict[str, str],
                 env_file: Path) -> None:
        self.name = name
        self.env = env
        self._base = [*command, "--project-name", name, "--env-file", str(env_file)]
        for path in files:
            self._base += ["--file", str(path)]

    def __call__(self, *args: str, timeout: float = 120, check: bool = True,
                 input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        return run([*self._base, *args], timeout=timeout, env=self.env, check=check, input_text=input_text)

    def container_ids(self, service: str) -> list[str]:
        return self("ps", "-q", service).stdout.split()

    def health(self, service: str) -> list[str]:
        """Health status of every container of ``service`` ("healthy", "starting", ...)."""
        ids = self.container_ids(service)
        if not ids:
            return []
        result = run(["docker", "inspect", *ids], timeout=30)
        states = json.loads(result.stdout)
        return [str(item["State"].get("Health", {}).get("Status", "none")) for item in states]

    def started_at(self, service: str) -> dict[str, str]:
        """Container id -> start time of every container of ``service``."""
        ids = self.container_ids(service)
        if not ids:
            return {}
        result = run(["docker", "inspect", *ids], timeout=30)
        return {str(item["Id"]): str(item["State"]["StartedAt"]) for item in json.loads(result.stdout)}

    def wait_healthy(self, service: str, count: int, timeout: float) -> None:
        def probe() -> bool | None:
            states = self.health(service)
            if len(states) == count and all(state == "healthy" for state in states):
                return True
            if "unhealthy" in states:
                logs = self("logs", "--tail=30", service, check=False).stdout
                raise AssertionError(f"{service} became unhealthy:\n{logs[-3000:]}")
            return None

        wait_for(f"{count} healthy {service} container(s)", probe, timeout)

    def published(self, service: str, port: int) -> str:
        """host:port where ``service``'s container port is published (loopback by our settings)."""
        address = self("port", service, str(port)).stdout.strip()
        if not address:
            raise AssertionError(f"{service} publishes no port {port}")
        return address


def base_environment() -> dict[str, str]:
    """The process environment without compose settings a developer may have exported."""
    return {key: value for key, value in os.environ.items() if not key.startswith("COMPOSE_")}
