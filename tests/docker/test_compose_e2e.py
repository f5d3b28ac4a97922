"""End to end with real containers: `docker compose up --scale miner=3` against the simulator service,
the stats backend and PostgreSQL, all built from this repository (offline base images)."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import BuiltImages
from .dockerlib import REPO, ComposeProject, base_environment, run, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

MINERS = 3
WALLETS_PER_MINER = 2
APP_UID = 10001

# Runs inside a miner container as the image's user: re-derives every slot's wallets from the seeds in the
# shared config volume (the store checks keys and metadata against them) and prints their addresses.
LIST_WALLETS = """
import json, pathlib
from scavenger.wallet.store import WalletStore
root = pathlib.Path("/usr/local/bin/config")
slots = sorted(int(p.name) for p in root.iterdir() if p.name.isdigit())
print(json.dumps({n: [w.address for w in WalletStore.for_slot(root, n, "mainnet").load()] for n in slots}))
"""


@pytest.fixture
def stack(images: BuiltImages, tmp_path: Path) -> Iterator[ComposeProject]:
    config_dir = tmp_path / "config"
    # Created by root and empty, like the folder Docker makes for a missing bind-mount source: the image
    # must take it over instead of crash-looping as the seed's did.
    config_dir.mkdir()
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    env = {
        **base_environment(),
        **images.build_env,
        "COMPOSE_PROFILES": "demo",
        "SCAVENGER_CONFIG_DIR": str(config_dir),
        "APP_BASE_URL": "http://simulator:8088",
        "ASHMAIZE_ROM_SIZE": str(1 << 20),
        "ASHMAIZE_PRE_SIZE": str(16 << 10),
        "SIM_CHALLENGE_PERIOD": "15",
        "SIM_DIFFICULTY": "0FFFFFFF",
        "MINER_THREADS": "1",
        "MAX_WALLETS_PER_INSTANCE": str(WALLETS_PER_MINER),
        "CHALLENGE_POLL_INTERVAL": "2",
        "STATS_REPORT_INTERVAL": "2",
        "STATS_BEARER_TOKEN": secrets.token_hex(16),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "MINER_MEM_LIMIT": "1g",
        # Loopback, port chosen by Docker: never clashes with a stack the developer is running.
        "STATS_BACKEND_BIND": "127.0.0.1:",
        "SIMULATOR_BIND": "127.0.0.1:",
    }
    project = ComposeProject(
        images.compose,
        f"scavenger-e2e-{secrets.token_hex(3)}",
        [REPO / "docker-compose.yml", Path(__file__).with_name("compose.e2e.yml")],
        env,
        env_file,
    )
    try:
        yield project
    finally:
        if project("ps", "-q", check=False).stdout.strip():
            images.progress("collecting the last log lines, then compose down -v")
            print(project("logs", "--tail=40", check=False).stdout[-8000:])
        project("down", "-v", "--remove-orphans", "--timeout", "20", timeout=180, check=False)
        # The miners made the files as uid 10001 with mode 0600; we are root in CI, so removal works.
        shutil.rmtree(config_dir, ignore_errors=True)


def wallets_by_slot(stack: ComposeProject) -> dict[str, list[str]]:
    out = stack("exec", "-T", "--user", "scavenger", "miner", "python", "-", input_text=LIST_WALLETS).stdout
    listed = json.loads(out.strip().splitlines()[-1])
    return {str(slot): list(addresses) for slot, addresses in listed.items()}


def slots_by_container(stack: ComposeProject) -> dict[str, str]:
    """Replica index of each miner container (the number its name ends with) -> the slot it holds."""
    found = {}
    for container in stack.container_ids("miner"):
        name = run(["docker", "inspect", "-f", "{{.Name}}", container], timeout=30).stdout.strip()
        held = run(["docker", "exec", container, "scavenger-healthcheck"], timeout=60).stdout.strip()
        found[re.split(r"[_-]", name)[-1]] = held.rsplit(" ", 1)[-1]
    return found


def receipts(simulator: str, address: str) -> int:
    with urllib.request.urlopen(f"http://{simulator}/statistics/{address}", timeout=10) as reply:
        body = json.load(reply)
    return int(body["local"]["crypto_receipts"])


def psql(stack: ComposeProject, sql: str) -> str:
    return stack("exec", "-T", "stats-db", "psql", "-U", "stats", "-d", "stats", "-tAc", sql).stdout.strip()


def test_scaled_miners_mine_report_stats_and_keep_their_wallets_across_restart(
    stack: ComposeProject, images: BuiltImages
) -> None:
    say = images.progress
    started = time.monotonic()
    say("starting simulator, stats-db, stats-backend")
    stack("up", "-d", "simulator", "stats-backend", timeout=180)
    stack.wait_healthy("simulator", 1, timeout=90)
    stack.wait_healthy("stats-backend", 1, timeout=120)

    say(f"starting {MINERS} miners with --scale miner={MINERS}")
    stack("up", "-d", "--scale", f"miner={MINERS}", "miner", timeout=180)
    stack.wait_healthy("miner", MINERS, timeout=180)

    config_dir = Path(stack.env["SCAVENGER_CONFIG_DIR"])
    assert config_dir.stat().st_uid == APP_UID, "config folder not given to the app user"

    def all_slots_filled() -> dict[str, list[str]] | None:
        found = wallets_by_slot(stack)
        full = len(found) == MINERS and all(len(a) == WALLETS_PER_MINER for a in found.values())
        return found if full else None

    wallets = wait_for(f"{MINERS} slots with {WALLETS_PER_MINER} wallets each", all_slots_filled, timeout=60)
    assert sorted(wallets) == [str(n) for n in range(1, MINERS + 1)], f"slots are not 1..{MINERS}: {wallets}"
    addresses = [address for slot in wallets.values() for address in slot]
    assert len(set(addresses)) == MINERS * WALLETS_PER_MINER, "two slots share a wallet"
    assert (config_dir / "donate_list.txt").exists(), "the shared donation list was not created"
    say(f"slots {sorted(wallets)} hold {len(addresses)} distinct wallets")
    assert slots_by_container(stack) == {str(n): str(n) for n in range(1, MINERS + 1)}, (
        "container <project>_miner_<n> must mine slot <n>"
    )

    simulator = stack.published("simulator", 8088)
    def every_wallet_has_a_receipt() -> dict[str, int] | None:
        found = {address: receipts(simulator, address) for address in addresses}
        return found if all(found.values()) else None

    counts = wait_for("a receipt for every wallet", every_wallet_has_a_receipt, timeout=180, interval=3)
    say(f"receipts per wallet: {sorted(counts.values())}")

    def stats_rows() -> tuple[int, int] | None:
        miners = int(psql(stack, "SELECT count(DISTINCT miner_id) FROM stats"))
        solutions = int(psql(stack, "SELECT count(*) FROM api_return WHERE endpoint = 'solution'"))
        return (miners, solutions) if miners >= MINERS and solutions >= len(addresses) else None

    miners_reporting, solution_rows = wait_for("stats rows from every miner", stats_rows, timeout=90)
    say(f"PostgreSQL: {miners_reporting} miners in `stats`, {solution_rows} solution rows in `api_return`")

    say("docker compose restart miner")
    before = stack.started_at("miner")
    stack("restart", "miner", timeout=180)
    stack.wait_healthy("miner", MINERS, timeout=180)
    restarted = stack.started_at("miner")
    assert restarted.keys() == before.keys(), "restart must keep the containers, not replace them"
    assert all(restarted[c] != before[c] for c in before), "not every miner container was restarted"
    after = wallets_by_slot(stack)
    assert after == wallets, f"wallets changed across restart:\nbefore {wallets}\nafter  {after}"
    slot_dirs = sorted(p.name for p in config_dir.iterdir() if p.name.isdigit())
    assert slot_dirs == sorted(wallets), f"a restart created new slots: {slot_dirs}"
    assert slots_by_container(stack) == {str(n): str(n) for n in range(1, MINERS + 1)}
    say(f"same {len(addresses)} wallets in the same {MINERS} slots after restart; "
        f"stack test took {time.monotonic() - started:.0f} s")


def test_entrypoint_slot_from_ordinal_and_clear_error_on_unwritable_config(
    images: BuiltImages, tmp_path: Path
) -> None:
    image = images.build_env["SCAVENGER_IMAGE"]
    ordinal = run(
        ["docker", "run", "--rm", "--hostname", "miner-4", "-e", "INSTANCE_SLOT_FROM_ORDINAL=true",
         image, "sh", "-c", "echo slot=$INSTANCE_SLOT uid=$(id -u)"],
        timeout=60,
    ).stdout.split()
    assert ordinal == ["slot=5", f"uid={APP_UID}"], ordinal

    bad_host = run(
        ["docker", "run", "--rm", "--hostname", "worker", "-e", "INSTANCE_SLOT_FROM_ORDINAL=true",
         image, "true"],
        timeout=60,
        check=False,
    )
    assert bad_host.returncode == 64 and "does not end in -<ordinal>" in bad_host.stderr, bad_host.stderr

    # Started as another uid (docker run --user), the entrypoint cannot fix a root-owned folder: it must
    # say so, not crash deep inside the miner.
    folder = tmp_path / "root-owned"
    folder.mkdir(mode=0o755)
    denied = run(
        ["docker", "run", "--rm", "--user", "12345", "-v", f"{folder}:/usr/local/bin/config", image,
         "scavenger", "slots"],
        timeout=60,
        check=False,
    )
    assert denied.returncode == 73, denied.stderr
    assert "is not writable by uid 12345" in denied.stderr, denied.stderr


def test_entrypoint_runs_as_app_uid_and_gives_it_the_config(images: BuiltImages, tmp_path: Path) -> None:
    """APP_UID/APP_GID (what scripts/docker.sh passes for a non-root user): the bind-mounted folder and
    everything the miner writes belong to that uid, so its owner reads the seeds without sudo."""
    image = images.build_env["SCAVENGER_IMAGE"]
    folder = tmp_path / "config"
    folder.mkdir()
    uid, gid = 4321, 4322
    made = run(
        ["docker", "run", "--rm", "-e", f"APP_UID={uid}", "-e", f"APP_GID={gid}", "-v",
         f"{folder}:/usr/local/bin/config", image, "scavenger", "wallet", "new", "--slot", "1"],
        timeout=120,
    )
    seeds = list(folder.glob("1/miner-1/wallets/seeds.txt"))
    assert seeds, f"no seeds written: {made.stdout}{made.stderr}"
    owners = {(p.stat().st_uid, p.stat().st_gid) for p in [folder, *folder.rglob("*")]}
    assert owners == {(uid, gid)}, owners
    refused = run(["docker", "run", "--rm", "-e", "APP_UID=0", image, "true"], timeout=60, check=False)
    assert refused.returncode == 64 and "APP_UID=0" in refused.stderr, refused.stderr
    # Outside a compose network there is no replica index: the miner is told and picks as before.
    plain = run(["docker", "run", "--rm", image, "sh", "-c", "scavenger-compose-name; echo rc=$?"],
                timeout=60)
    assert plain.stdout.strip() == "rc=1", plain.stdout
