"""scripts/docker.sh without an engine: command-line mistakes are one clear line (exit 2) told before
anything slow starts, and the Compose flavour is found (`docker compose` when the plugin answers, else
`docker-compose`). Stand-in `docker`/`docker-compose` programs on PATH record how they were called."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .dockerlib import REPO

SCRIPT = REPO / "scripts" / "docker.sh"

# A stand-in for docker / docker-compose: `info` answers, `compose version` answers only when told to, and
# every call is appended to calls.log.
FAKE = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
case "$(basename "$0") $1 $2" in
    "docker info "*) exit 0 ;;
    "docker compose version")
        [ "{plugin}" = yes ] && exit 0
        echo "docker: 'compose' is not a docker command" >&2
        exit 1 ;;
    "docker-compose "*) [ "{v1}" = yes ] || exit 127 ;;
esac
exit 0
"""


def fake_tools(tmp_path: Path, *, plugin: bool, v1: bool) -> tuple[dict[str, str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    # Both names are always shadowed (a missing docker-compose is one that fails like "command not found"),
    # so the machine's real tools are never reached.
    for name in ("docker", "docker-compose"):
        tool = bin_dir / name
        tool.write_text(FAKE.format(log=log, plugin="yes" if plugin else "no", v1="yes" if v1 else "no"))
        tool.chmod(0o755)
    path = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    env = {"PATH": path, "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    return env, log


def script(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60,
                          check=False, cwd=REPO)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bogus"], "unknown command 'bogus'"),
        (["demo", "--miners"], "--miners needs a number"),
        (["demo", "--miners", "0"], "--miners must be a whole number >= 1, got '0'"),
        (["up", "--miners=two"], "--miners must be a whole number >= 1, got 'two'"),
        (["up", "--colour"], "unknown option '--colour'"),
        (["status", "now"], "status takes no arguments"),
        (["build", "--fast"], "build takes only --force"),
    ],
)
def test_command_line_mistakes_are_one_line_and_exit_2_before_touching_docker(
    tmp_path: Path, args: list[str], message: str
) -> None:
    env, log = fake_tools(tmp_path, plugin=True, v1=True)
    result = script(*args, env=env)
    assert result.returncode == 2, result
    assert result.stderr.strip() == f"docker.sh: {message}" or message in result.stderr.splitlines()[0]
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not log.exists(), f"docker was called: {log.read_text()}"


def test_bad_base_image_mode_is_refused(tmp_path: Path) -> None:
    env, _ = fake_tools(tmp_path, plugin=True, v1=False)
    result = script("build", env={**env, "SCAVENGER_BASE_IMAGES": "cloud"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "docker.sh: SCAVENGER_BASE_IMAGES must be auto, registry or local, got 'cloud'"
    )


def test_help_lists_the_commands_on_stdout(tmp_path: Path) -> None:
    env, _ = fake_tools(tmp_path, plugin=True, v1=False)
    result = script("--help", env=env)
    assert result.returncode == 0 and result.stderr == ""
    for command in ("demo", "up", "status", "logs", "down", "build", "compose"):
        assert f"bash scripts/docker.sh {command}" in result.stdout


@pytest.mark.parametrize(("plugin", "v1", "expected"), [
    (True, True, "docker compose -f docker-compose.yml version"),
    (False, True, "docker-compose -f docker-compose.yml version"),
])
def test_compose_flavour_is_the_plugin_when_it_answers_else_docker_compose(
    tmp_path: Path, plugin: bool, v1: bool, expected: str
) -> None:
    env, log = fake_tools(tmp_path, plugin=plugin, v1=v1)
    result = script("compose", "version", env=env)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls[-1] == expected, calls


def test_no_compose_at_all_is_one_clear_line(tmp_path: Path) -> None:
    env, _ = fake_tools(tmp_path, plugin=False, v1=False)
    result = script("status", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("docker.sh: neither `docker compose` nor `docker-compose` works")


def test_up_refuses_the_public_default_token_before_building(tmp_path: Path) -> None:
    env, log = fake_tools(tmp_path, plugin=True, v1=False)
    result = script("up", env={**env, "STATS_BEARER_TOKEN": "changeme"})
    assert result.returncode == 1
    assert result.stderr.strip().startswith("docker.sh: STATS_BEARER_TOKEN is the public default 'changeme'")
    assert "build" not in log.read_text() and "pull" not in log.read_text(), log.read_text()
