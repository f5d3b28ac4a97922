#!/opt/scavenger/bin/python
"""Container health check for every role the image runs (HEALTHCHECK, compose, Swarm, Kubernetes probes).

The role is found from the running ``scavenger <command>`` process, so one image-level HEALTHCHECK fits the
miner, the simulator and the stats backend without per-service configuration:

- ``mine`` / ``demo``: the miner holds its slot, i.e. the kernel lock on ``config/<n>/in_use.lock`` is
  owned by the miner process (read from /proc/locks: passive, it never takes the lock itself, which could
  make a starting replica skip that slot). With METRICS_PORT set, /metrics must also answer.
- ``simulate``: GET /_sim/health on its --port.
- ``stats-backend``: GET /health (200 only when PostgreSQL answers and the schema is migrated).

Exit 0 = healthy, 1 = unhealthy, with one line saying why (``docker inspect`` shows it).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 5.0
MINER_ROLES = ("mine", "demo")


class Unhealthy(Exception):
    """The service is not healthy; the message says why."""


@dataclass(frozen=True)
class Process:
    pid: int
    command: str
    argv: list[str]


def scavenger_processes(proc: Path = Path("/proc")) -> Iterator[Process]:
    """Every process whose argv runs the ``scavenger`` entry point, with its subcommand."""
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        argv = [part.decode(errors="replace") for part in raw.split(b"\0") if part]
        # The entry point itself (argv[0]) or run by its interpreter (argv[1]); later positions are
        # launchers such as `tini -- scavenger-entrypoint scavenger mine`, not the miner.
        for index, arg in enumerate(argv[:2]):
            if Path(arg).name == "scavenger" and index + 1 < len(argv):
                yield Process(int(entry.name), argv[index + 1], argv[index + 2 :])
                break


def option_value(argv: list[str], name: str) -> str | None:
    """Value of ``--name VALUE`` or ``--name=VALUE`` in a click command line."""
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def http_ok(url: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as reply:
            status = int(reply.status)
    except urllib.error.HTTPError as exc:
        raise Unhealthy(f"{url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise Unhealthy(f"{url} unreachable: {exc}") from None
    if status != 200:
        raise Unhealthy(f"{url} answered HTTP {status}")


def port_of(process: Process, env_name: str, default: int) -> int:
    text = option_value(process.argv, "--port") or os.environ.get(env_name, "").strip() or str(default)
    try:
        return int(text)
    except ValueError:
        raise Unhealthy(f"cannot tell the port of {process.command}: {text!r}") from None


def locked_inodes(pid: int, proc: Path = Path("/proc")) -> set[int]:
    """Inodes of the files ``pid`` holds a lock on (flock or POSIX), from /proc/locks."""
    inodes: set[int] = set()
    for line in (proc / "locks").read_text().splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 00:2e:5678 0 EOF"; blocked waiters have "->" after the index.
        if len(fields) < 6 or fields[1] == "->":
            continue
        if fields[4] == str(pid):
            inodes.add(int(fields[5].rsplit(":", 1)[1]))
    return inodes


def check_miner(process: Process) -> str:
    root = Path(option_value(process.argv, "--config-dir") or os.environ.get("ROOT_CONF_PATH", "config"))
    held = locked_inodes(process.pid)
    slots = []
    for lock in root.glob("*/in_use.lock"):
        try:
            if lock.stat().st_ino in held:
                slots.append(lock.parent.name)
        except OSError:
            continue
    if not slots:
        raise Unhealthy(f"miner pid {process.pid} holds no slot lock under {root} (still starting?)")
    metrics = os.environ.get("METRICS_PORT", "").strip()
    if metrics and metrics != "0":
        http_ok(f"http://127.0.0.1:{metrics}/metrics")
    return f"miner pid {process.pid} holds slot {','.join(sorted(slots))}"


def check() -> str:
    processes = list(scavenger_processes())
    if not processes:
        raise Unhealthy("no `scavenger` process is running")
    for process in processes:
        if process.command in MINER_ROLES:
            return check_miner(process)
        if process.command == "simulate":
            port = port_of(process, "SIM_PORT", 8088)
            http_ok(f"http://127.0.0.1:{port}/_sim/health")
            return f"simulator answers on port {port}"
        if process.command == "stats-backend":
            port = port_of(process, "BACKEND_PORT", 8080)
            http_ok(f"http://127.0.0.1:{port}/health")
            return f"stats backend healthy on port {port}"
    # Other subcommands (wallet, slots, donate...) are one-shot tools: running means healthy.
    return f"scavenger {processes[0].command} is running"


def main() -> int:
    try:
        print(check())
    except Unhealthy as exc:
        print(f"unhealthy: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
