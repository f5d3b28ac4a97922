"""Fixtures of the Docker tests. Everything that needs an engine is skipped, with the reason printed by
pytest -ra, when no engine answers; the manifest checks run everywhere."""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .dockerlib import (
    APP_IMAGE,
    BUILDER_BASE,
    DB_IMAGE,
    POSTGRES_BASE,
    REPO,
    RUNTIME_BASE,
    Progress,
    base_environment,
    compose_command,
    engine_problem,
    image_exists,
    image_label,
    run,
)

E2E_OVERLAY = Path(__file__).with_name("compose.e2e.yml")
LOCK_PATH = Path(tempfile.gettempdir()) / "midnight-scavenger-docker-tests.lock"
LOCK_WAIT = 600.0


# Tags of the images scripts/docker.sh builds for the tests (the fresh-clone test uses the same ones, so a
# clean checkout and its clone share one build per engine: the script skips images whose source digest
# matches).
SCRIPT_IMAGE = "scavenger-miner:script-test"
SCRIPT_DB_IMAGE = "scavenger-stats-db:script-test"


@dataclass(frozen=True)
class BuiltImages:
    compose: list[str]
    # Build settings for compose (WHEEL_SOURCE, base images...), also what `docker build` got.
    build_env: dict[str, str]
    progress: Progress


@pytest.fixture(scope="session")
def progress(pytestconfig: pytest.Config) -> Progress:
    return Progress(pytestconfig)


@pytest.fixture(scope="session")
def docker_engine() -> None:
    problem = engine_problem()
    if problem is not None:
        pytest.skip(f"Docker tests skipped: {problem}")


@pytest.fixture(scope="session")
def docker_lock(docker_engine: None, progress: Progress) -> Iterator[None]:
    """One Docker test session at a time per machine: concurrent runs (several developers' suites on one
    engine) would retag images under each other's builds and share the node's single swarm."""
    with LOCK_PATH.open("a") as handle:
        deadline = time.monotonic() + LOCK_WAIT
        announced = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    pytest.skip(f"Docker tests skipped: another run held {LOCK_PATH} for {LOCK_WAIT:.0f} s")
                if not announced:
                    progress(f"waiting for another Docker test run to finish ({LOCK_PATH})")
                    announced = True
                time.sleep(2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def compose(docker_lock: None) -> list[str]:
    command = compose_command()
    if command is None:
        pytest.skip("Docker tests skipped: neither `docker compose` nor `docker-compose` works")
    return command


def _build_base_images(progress: Progress) -> None:
    missing = [name for name in (RUNTIME_BASE, POSTGRES_BASE, BUILDER_BASE) if not image_exists(name)]
    if not missing:
        progress("base images present (cached)")
        return
    if os.geteuid() != 0:
        pytest.skip(f"Docker tests skipped: base images {missing} missing and building them needs root")
    progress(f"building base images {missing} with debootstrap (first run only, ~2 min)")
    started = time.monotonic()
    run(["bash", "docker/build-base-images.sh"], timeout=900)
    progress(f"base images built in {time.monotonic() - started:.0f} s")


@pytest.fixture(scope="session")
def images(compose: list[str], progress: Progress, tmp_path_factory: pytest.TempPathFactory) -> BuiltImages:
    """The app and database images, built from the repository exactly as compose builds them."""
    _build_base_images(progress)
    # The real multi-stage path (Rust compiled by maturin in the builder stage) when a toolchain image
    # exists; SCAVENGER_E2E_WHEEL_SOURCE=prebuilt makes a quick run reuse the host-built wheel.
    default_source = "build" if image_exists(BUILDER_BASE) else "prebuilt"
    source = os.environ.get("SCAVENGER_E2E_WHEEL_SOURCE", default_source)
    build_env = {
        "SCAVENGER_IMAGE": APP_IMAGE,
        "SCAVENGER_POSTGRES_IMAGE": DB_IMAGE,
        "SCAVENGER_RUNTIME_IMAGE": RUNTIME_BASE,
        "SCAVENGER_BUILDER_IMAGE": BUILDER_BASE if source == "build" else RUNTIME_BASE,
        "SCAVENGER_POSTGRES_BASE_IMAGE": POSTGRES_BASE,
        "SCAVENGER_WHEEL_SOURCE": source,
        "PIP_OFFLINE": "1",
    }
    env = {**base_environment(), **build_env}
    # Images labelled with the digest of the current sources and these settings are not built again.
    digest = run(["bash", "scripts/docker.sh", "source-digest"], timeout=120, env=env).stdout.strip()
    build_env["SCAVENGER_SOURCE_DIGEST"] = env["SCAVENGER_SOURCE_DIGEST"] = digest
    if all(image_label(name, "midnight-scavenger.source-digest") == digest for name in (APP_IMAGE, DB_IMAGE)):
        progress(f"images current (sources digest {digest}): not rebuilt")
        return BuiltImages(compose=compose, build_env=build_env, progress=progress)
    progress("preparing the offline wheelhouse (host wheel + dependency wheels)")
    started = time.monotonic()
    run(["bash", "docker/prepare-wheelhouse.sh"], timeout=600)
    progress(f"wheelhouse ready in {time.monotonic() - started:.0f} s")
    # An empty env file: a developer's own .env must not change what the test builds.
    empty_env_file = tmp_path_factory.mktemp("build-env") / "empty.env"
    empty_env_file.write_text("")
    progress(f"docker compose build (WHEEL_SOURCE={source}; Rust compile in the builder stage takes ~2 min)")
    started = time.monotonic()
    build_started = time.time()
    services = ["miner", "stats-db"]
    if source == "build":
        # Tags the builder stage from the same cache, so the prune below keeps it for the next run.
        services.append("builder-cache")
    run([*compose, "--env-file", str(empty_env_file), "--project-name", "scavenger-e2e-build",
         "--file", str(REPO / "docker-compose.yml"), "--file", str(E2E_OVERLAY), "build", *services],
        timeout=1200, env=env)
    progress(f"images built in {time.monotonic() - started:.0f} s")
    # Each rebuild leaves the previous images and the ~1.2 GB builder stage untagged; on a CI machine that
    # piles up run after run. Only this project's untagged images go (label set in the Dockerfiles), and
    # only those older than this build.
    run(["docker", "image", "prune", "--force", "--filter", "label=midnight-scavenger.image",
         "--filter", f"until={int(build_started)}"], timeout=300)
    return BuiltImages(compose=compose, build_env=build_env, progress=progress)


@pytest.fixture(scope="session")
def script_images(compose: list[str], progress: Progress) -> dict[str, str]:
    """The images exactly as `bash scripts/docker.sh build` makes them on this host (base images from a
    registry or debootstrap, wheel compiled on the host or in the image: the script's choice), under test
    tags. Built once per engine and sources; a few seconds when they are current."""
    env = {**base_environment(), "SCAVENGER_IMAGE": SCRIPT_IMAGE, "SCAVENGER_POSTGRES_IMAGE": SCRIPT_DB_IMAGE}
    env.pop("PYTHONPATH", None)
    progress("scripts/docker.sh build (test tags; skipped when the images are current)")
    started = time.monotonic()
    run(["bash", "scripts/docker.sh", "build"], timeout=1800, env=env)
    progress(f"script images ready in {time.monotonic() - started:.0f} s")
    return {"SCAVENGER_IMAGE": SCRIPT_IMAGE, "SCAVENGER_POSTGRES_IMAGE": SCRIPT_DB_IMAGE}
