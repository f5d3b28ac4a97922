"""The Swarm stack for real on a single-node swarm: `docker stack deploy -c deploy/swarm/stack.yml` with the
simulator service; every miner task must hold the slot of its task number and mine."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator

import pytest

from .conftest import BuiltImages
from .dockerlib import REPO, base_environment, run, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

REPLICAS = 2


def swarm_state() -> str:
    return run(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"], timeout=30).stdout.strip()


@pytest.fixture
def swarm(images: BuiltImages) -> Iterator[None]:
    state = swarm_state()
    created = False
    if state == "inactive":
        images.progress("docker swarm init (single node, loopback)")
        joined = run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], timeout=120, check=False)
        if joined.returncode != 0:
            pytest.skip(f"Swarm test skipped: `docker swarm init` failed: {joined.stderr.strip()[:300]}")
        created = True
    elif state != "active":
        pytest.skip(f"Swarm test skipped: this node's swarm state is {state!r}")
    try:
        yield
    finally:
        # Only a swarm this test created is left; an existing one belongs to someone else.
        if created:
            run(["docker", "swarm", "leave", "--force"], timeout=120, check=False)


def stack_containers(stack: str, service: str) -> list[dict[str, str]]:
    ids = run(["docker", "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack}_{service}"],
              timeout=30).stdout.split()
    if not ids:
        return []
    inspected = json.loads(run(["docker", "inspect", *ids], timeout=30).stdout)
    return [
        {"id": item["Id"], "hostname": item["Config"]["Hostname"],
         "health": item["State"].get("Health", {}).get("Status", "none")}
        for item in inspected
    ]


def test_stack_deploy_gives_each_task_its_own_slot(images: BuiltImages, swarm: None) -> None:
    say = images.progress
    stack = f"scv{secrets.token_hex(3)}"
    env = {
        **base_environment(),
        "SCAVENGER_IMAGE": images.build_env["SCAVENGER_IMAGE"],
        "SCAVENGER_POSTGRES_IMAGE": images.build_env["SCAVENGER_POSTGRES_IMAGE"],
        "MINER_REPLICAS": str(REPLICAS),
        "SIMULATOR_REPLICAS": "1",
        "APP_BASE_URL": "http://simulator:8088",
        "ASHMAIZE_ROM_SIZE": str(1 << 20),
        "ASHMAIZE_PRE_SIZE": str(16 << 10),
        "SIM_CHALLENGE_PERIOD": "15",
        "SIM_DIFFICULTY": "0FFFFFFF",
        "MINER_THREADS": "1",
        "CHALLENGE_POLL_INTERVAL": "2",
        "STATS_REPORT_INTERVAL": "2",
        "STATS_BEARER_TOKEN": secrets.token_hex(16),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "MINER_MEM_LIMIT": "1g",
    }
    started = time.monotonic()
    say(f"docker stack deploy {stack} ({REPLICAS} miners, simulator, stats)")
    run(["docker", "stack", "deploy", "--resolve-image", "never", "-c", str(REPO / "deploy/swarm/stack.yml"),
         stack], timeout=180, env=env)
    try:
        def miners_healthy() -> list[dict[str, str]] | None:
            found = stack_containers(stack, "miner")
            healthy = len(found) == REPLICAS and all(c["health"] == "healthy" for c in found)
            return found if healthy else None

        miners = wait_for(f"{REPLICAS} healthy miner tasks", miners_healthy, timeout=300, interval=3)
        for miner in miners:
            slot = miner["hostname"].removeprefix("miner-")
            report = run(["docker", "exec", miner["id"], "scavenger-healthcheck"], timeout=60).stdout.strip()
            assert report.endswith(f"holds slot {slot}"), f"task {miner['hostname']}: {report}"
        hostnames = sorted(m["hostname"] for m in miners)
        assert hostnames == [f"miner-{n}" for n in range(1, REPLICAS + 1)], hostnames
        say(f"tasks {hostnames} hold their own slots")

        def accepted_solutions() -> int | None:
            db = stack_containers(stack, "stats-db")
            if not db:
                return None
            sql = "SELECT count(DISTINCT miner_id) FROM api_return WHERE endpoint = 'solution'"
            out = run(["docker", "exec", db[0]["id"], "psql", "-U", "stats", "-d", "stats", "-tAc", sql],
                      timeout=60).stdout.strip()
            return int(out) if int(out) >= REPLICAS else None

        wait_for("solutions from every miner task in PostgreSQL", accepted_solutions, timeout=180, interval=3)
        say(f"every task mined over the stack's network; swarm test took {time.monotonic() - started:.0f} s")
    finally:
        run(["docker", "stack", "rm", stack], timeout=120, check=False)
        wait_for("the stack's containers to stop", lambda: None if labelled("ps", "-aq", stack) else True,
                 timeout=120)
        volumes = labelled("volume", "ls", stack)
        if volumes:
            run(["docker", "volume", "rm", *volumes], timeout=120, check=False)


def labelled(command: str, listing: str, stack: str) -> list[str]:
    """Ids of the stack's containers or volumes (`docker ps -aq`, `docker volume ls`), by their label."""
    argv = ["docker", command, listing, "--filter", f"label=com.docker.stack.namespace={stack}"]
    if command == "volume":
        argv.append("-q")
    return run(argv, timeout=30).stdout.split()
