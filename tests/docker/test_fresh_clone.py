"""A new user's first steps, for real: `git clone` of this checkout into an empty folder, then the README's
commands exactly as the README writes them (read from README.md, not copied here):

- the native demo (`bash scripts/run.sh`) until its first accepted solution, then Ctrl-C;
- a test subset (`bash scripts/test.sh tests/wallet`);
- the Docker demo with 2 miners (`bash scripts/docker.sh demo --miners 2`, `status`, `down`).

Each step reports how long it took; the native step's time from the clone to the first accepted solution
is the figure the README's promise rests on. Caches a user would also have after a first install are
reused so the suite stays within minutes: pip's own download cache, a Cargo target folder
(`SCAVENGER_FRESH_CLONE_CARGO_TARGET`, default /var/tmp/scavenger-fresh-clone-target; empty = a cold
compile in the clone) and the Docker images, built from the clone once per engine by the `clone_images`
fixture (`scripts/docker.sh build`, the tags of conftest's `script_images`: skipped when the images'
source digest matches), outside the timed test.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from timing import scaled

from .conftest import SCRIPT_DB_IMAGE, SCRIPT_IMAGE
from .dockerlib import REPO, Progress, base_environment, compose_command, run, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

ACCEPTED = re.compile(r"solution for \S+ by \S+ accepted")
CARGO_CACHE = os.environ.get("SCAVENGER_FRESH_CLONE_CARGO_TARGET", "/var/tmp/scavenger-fresh-clone-target")
TEST_SUBSET = "tests/wallet"


def readme_commands(heading_start: str, checkout: Path = REPO) -> list[str]:
    """The commands of the first ```bash block after the README line starting with ``heading_start``
    (comments dropped): what a user copies."""
    text = (checkout / "README.md").read_text()
    index = next((i for i, line in enumerate(text.splitlines()) if line.startswith(heading_start)), None)
    assert index is not None, f"README.md has no line starting with {heading_start!r}"
    block = re.search(r"```bash\n(.*?)```", "\n".join(text.splitlines()[index:]), flags=re.DOTALL)
    assert block, f"no ```bash block after {heading_start!r} in README.md"
    commands = [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines()]
    return [command for command in commands if command and not command.startswith("#")]


def one(commands: list[str], pattern: str) -> str:
    found = [c for c in commands if re.fullmatch(pattern, c)]
    assert len(found) == 1, f"README commands {commands}: expected one matching {pattern!r}"
    return found[0]


@dataclass
class Clone:
    path: Path
    env: dict[str, str]
    cloned_at: float


def clone_environment() -> dict[str, str]:
    env = base_environment()
    # Nothing of this checkout's own environment may leak into the clone's (a developer's PYTHONPATH would
    # import this checkout's code; an active venv would be reused).
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(name, None)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if "/.venv" not in p)
    if CARGO_CACHE:
        env["CARGO_TARGET_DIR"] = CARGO_CACHE
    return env


@pytest.fixture(scope="module")
def say(pytestconfig: pytest.Config) -> Progress:
    """One clock for the whole module: every line shows the time since the clone started."""
    return Progress(pytestconfig)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory, say: Progress) -> Clone:
    progress = say
    folder = tmp_path_factory.mktemp("fresh-clone")
    assert list(folder.iterdir()) == []
    started = time.monotonic()
    run(["git", "clone", "--quiet", str(REPO), str(folder / "midnight-scavenger")], timeout=300)
    path = folder / "midnight-scavenger"
    assert not (path / ".venv").exists() and not (path / "config").exists()
    progress(f"cloned {REPO} into {path} in {time.monotonic() - started:.1f} s (HEAD of the checkout)")
    return Clone(path, clone_environment(), started)


def test_native_demo_from_a_fresh_clone_reaches_an_accepted_solution(clone: Clone, say: Progress) -> None:
    command = one(readme_commands("## Quick start", clone.path), r"bash scripts/run\.sh")
    log_path = clone.path.parent / "run.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        # Its own process group, like a shell's foreground job: Ctrl-C reaches every process in it.
        process = subprocess.Popen(["bash", "-c", command], cwd=clone.path, env=clone.env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        def first_accepted() -> str | None:
            text = log_path.read_text(errors="replace")
            if process.poll() is not None:
                # Not an AssertionError: wait_for retries those, this one ends the wait at once.
                raise RuntimeError(f"`{command}` exited {process.returncode}:\n{text[-3000:]}")
            match = ACCEPTED.search(text)
            return match.group(0) if match else None

        accepted = wait_for("the demo's first accepted solution", first_accepted, timeout=scaled(900),
                            interval=1)
        elapsed = time.monotonic() - started
        say(f"native: `{command}` in a fresh clone: first accepted solution after {elapsed:.0f} s "
            f"({time.monotonic() - clone.cloned_at:.0f} s after `git clone`): {accepted}")
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        code = process.wait(timeout=scaled(60))
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    tail = log_path.read_text(errors="replace")[-2000:]
    # Shells expect 130 after Ctrl-C (128 + SIGINT), after the same clean shutdown.
    assert code == 130, f"exit {code} after Ctrl-C:\n{tail}"
    assert "released slot" in tail, tail
    assert "Traceback" not in tail, tail
    say(f"native: Ctrl-C -> exit {code}")


def test_readme_test_subset_passes_in_the_fresh_clone(clone: Clone, say: Progress) -> None:
    quick_start = readme_commands("## Quick start", clone.path)
    command = one(quick_start, r"bash scripts/test\.sh \S.*")
    assert command == f"bash scripts/test.sh {TEST_SUBSET}", command
    started = time.monotonic()
    env = {**clone.env, "PYTEST_ADDOPTS": "-q -p no:cacheprovider"}
    result = run(["bash", "-c", command], timeout=scaled(1200), env=env, check=False, cwd=clone.path)
    output = (result.stdout + result.stderr)[-3000:]
    assert result.returncode == 0, f"`{command}` exited {result.returncode}:\n{output}"
    assert re.search(r"\d+ passed", output), output
    say(f"subset: `{command}` passed in {time.monotonic() - started:.0f} s")


@pytest.fixture(scope="module")
def docker_env(clone: Clone, docker_lock: None, say: Progress) -> Iterator[dict[str, str]]:
    # docker_lock (tests/docker/conftest.py) skips without an engine and keeps concurrent suites apart.
    if compose_command() is None:
        pytest.skip("Docker part skipped: neither `docker compose` nor `docker-compose` works")
    env = {
        **clone.env,
        # Test tags (those of conftest's script_images: a clean checkout and its clone share one build)
        # and project: a developer's own images and stacks are never touched.
        "SCAVENGER_IMAGE": SCRIPT_IMAGE,
        "SCAVENGER_POSTGRES_IMAGE": SCRIPT_DB_IMAGE,
        "COMPOSE_PROJECT_NAME": f"scavenger-fresh-{secrets.token_hex(3)}",
        "STATS_BACKEND_BIND": "127.0.0.1:",
        "SIMULATOR_BIND": "127.0.0.1:",
    }
    # Once per engine and sources: the build is not part of what the test times (the digest label makes
    # this a few seconds when the images are current).
    started = time.monotonic()
    say("building the clone's images if they are not current (scripts/docker.sh build)")
    run(["bash", "scripts/docker.sh", "build"], timeout=1800, env=env, cwd=clone.path)
    say(f"images ready in {time.monotonic() - started:.0f} s")
    try:
        yield env
    finally:
        run(["bash", "scripts/docker.sh", "compose", "down", "-v", "--remove-orphans", "--timeout", "10"],
            timeout=180, env={**env, "COMPOSE_PROFILES": "demo"}, cwd=clone.path, check=False)


@pytest.mark.docker
def test_readme_docker_demo_with_two_miners_from_a_fresh_clone(clone: Clone, docker_env: dict[str, str],
                                                               say: Progress) -> None:
    commands = readme_commands("With Docker", clone.path)
    demo = one(commands, r"bash scripts/docker\.sh demo --miners 2")
    status = one(commands, r"bash scripts/docker\.sh status")
    down = one(commands, r"bash scripts/docker\.sh down")
    assert commands == [demo, status, down], commands

    def sh(command: str, timeout: float) -> str:
        result = run(["bash", "-c", command], timeout=timeout, env=docker_env, check=False, cwd=clone.path)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"`{command}` exited {result.returncode}:\n{output[-4000:]}"
        return output

    started = time.monotonic()
    out = sh(demo, scaled(600))
    assert "images are current" in out, f"the images were rebuilt inside the timed part:\n{out[-2000:]}"
    assert "Where to look next" in out and "status" in out, out[-2000:]
    say(f"docker: `{demo}` returned after {time.monotonic() - started:.0f} s")

    def both_miners_accepted() -> dict[str, int] | None:
        report = sh(status, scaled(120))
        # docker-compose 1.x names containers <project>_miner_<n>, Compose v2 <project>-miner-<n>.
        found = re.findall(r"^\s+(\S+[_-]miner[_-]\d+): (\d+)$", report, flags=re.MULTILINE)
        counts = {name: int(n) for name, n in found}
        return counts if len(counts) == 2 and all(counts.values()) else None

    counts = wait_for("accepted solutions from both miners", both_miners_accepted, timeout=scaled(300),
                      interval=5)
    say(f"docker: accepted solutions {counts} {time.monotonic() - started:.0f} s after `{demo}` started")
    report = sh(status, scaled(120))
    for name in counts:
        index = re.split(r"[_-]", name)[-1]
        container = run(["docker", "ps", "-q", "--filter", f"name=^/{name}$"], timeout=30).stdout.split()
        held = run(["docker", "exec", container[0], "scavenger-healthcheck"], timeout=60).stdout.strip()
        assert held.endswith(f"holds slot {index}"), f"{name}: {held}"
    config = clone.path / "demo-config-docker"
    assert sorted(p.name for p in config.iterdir() if p.name.isdigit()) == ["1", "2"], report
    sh(down, scaled(180))
    assert run(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project="
                f"{docker_env['COMPOSE_PROJECT_NAME']}"], timeout=30).stdout.strip() == ""
    say(f"docker: demo with 2 miners up, mining and down in {time.monotonic() - started:.0f} s")


@pytest.mark.docker
def test_docker_up_for_real_writes_a_private_token_and_the_backend_accepts_it(
    clone: Clone, docker_env: dict[str, str], say: Progress
) -> None:
    """`up` outside the demo: the backend refuses the public default token, so the script writes a random
    one to .env (mode 0600) before starting; the backend then starts healthy with it. The API address is
    unreachable on purpose: nothing here may touch the real network."""
    env = {**docker_env, "APP_BASE_URL": "http://api.invalid:8088"}
    env_file = clone.path / ".env"
    assert not env_file.exists()
    started = time.monotonic()
    result = run(["bash", "scripts/docker.sh", "up", "--miners", "1"], timeout=scaled(600), env=env,
                 cwd=clone.path, check=False)
    try:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        tokens = re.findall(r"^STATS_BEARER_TOKEN=([0-9a-f]{64})$", env_file.read_text(), flags=re.MULTILINE)
        assert len(tokens) == 1 and env_file.stat().st_mode & 0o777 == 0o600, env_file.read_text()
        assert tokens[0] not in result.stdout + result.stderr, "the token must not be printed"
        project = env["COMPOSE_PROJECT_NAME"]

        def backend_healthy() -> bool | None:
            ids = run(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project}",
                       "--filter", "label=com.docker.compose.service=stats-backend"],
                      timeout=30).stdout.split()
            if not ids:
                return None
            state = run(["docker", "inspect", "-f", "{{.State.Health.Status}}", ids[0]], timeout=30).stdout
            return True if state.strip() == "healthy" else None

        wait_for("the stats backend to be healthy with the written token", backend_healthy,
                 timeout=scaled(180), interval=3)
        say(f"docker: `up --miners 1` wrote a private token; backend healthy after "
            f"{time.monotonic() - started:.0f} s")
    finally:
        run(["bash", "scripts/docker.sh", "down"], timeout=scaled(180), env=env, cwd=clone.path, check=False)
