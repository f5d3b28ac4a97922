"""Instance slots: each miner process owns one ``config/<n>/`` folder for its whole life.

Ownership is a kernel lock (``flock``) on ``config/<n>/in_use.lock``, not the existence of the file: the
kernel drops it the moment the process dies (crash, OOM, kill -9), so a restart never finds a stale lock,
and two processes racing for the same folder cannot both win. The file's text (host, pid, start time) is
only for people and for the "same host gets its slot back" preference; it is never trusted for ownership.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from scavenger.wallet.store import SEEDS_FILE

LOCK_NAME = "in_use.lock"


class SlotError(RuntimeError):
    """No slot could be claimed (e.g. a forced INSTANCE_SLOT is held by another live process)."""


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    started_at: str


@dataclass(frozen=True)
class SlotInfo:
    number: int
    path: Path
    holder: Holder | None
    alive: bool
    wallet_count: int


def slot_dir(root: Path, number: int) -> Path:
    return root / str(number)


def instance_dir(root: Path, number: int) -> Path:
    """``config/<n>/miner-<n>/``: the seed's layout, where wallets and the journal live."""
    return slot_dir(root, number) / f"miner-{number}"


def wallets_dir(root: Path, number: int) -> Path:
    return instance_dir(root, number) / "wallets"


class SlotLease:
    """A claimed slot. Keep it referenced: closing it (or the process ending) frees the slot."""

    def __init__(self, root: Path, number: int, fd: int, holder: Holder) -> None:
        self.root = root
        self.number = number
        self.holder = holder
        self._fd: int | None = fd

    @property
    def path(self) -> Path:
        return slot_dir(self.root, self.number)

    @property
    def instance_dir(self) -> Path:
        return instance_dir(self.root, self.number)

    @property
    def wallets_dir(self) -> Path:
        return wallets_dir(self.root, self.number)

    @property
    def instance_id(self) -> str:
        return f"miner-{self.number}"

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> SlotLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"SlotLease(number={self.number}, root={str(self.root)!r}, held={self.held})"


def _read_holder(lock_path: Path) -> Holder | None:
    try:
        data = json.loads(lock_path.read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        return Holder(host=str(data["host"]), pid=int(data["pid"]), started_at=str(data["started_at"]))
    except (KeyError, TypeError, ValueError):
        return None


def _try_lock(root: Path, number: int, holder: Holder) -> SlotLease | None:
    directory = slot_dir(root, number)
    directory.mkdir(parents=True, exist_ok=True)
    lock_path = directory / LOCK_NAME
    # No O_TRUNC: opening must not erase the text of a live holder before we know we own the lock.
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    try:
        text = json.dumps({"host": holder.host, "pid": holder.pid, "started_at": holder.started_at}) + "\n"
        os.ftruncate(fd, 0)
        os.pwrite(fd, text.encode(), 0)
        os.fsync(fd)
    except OSError:
        os.close(fd)
        raise
    return SlotLease(root, number, fd, holder)


def slot_numbers(root: Path) -> list[int]:
    """The numbers of the slot folders under ``root``, ascending (no lock is touched)."""
    if not root.is_dir():
        return []
    numbers = []
    for entry in root.iterdir():
        if entry.is_dir() and entry.name.isdigit() and not entry.name.startswith("0"):
            numbers.append(int(entry.name))
    return sorted(numbers)


def current_holder() -> Holder:
    return Holder(
        host=socket.gethostname(),
        pid=os.getpid(),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def claim_slot(
    root: Path,
    *,
    forced: int | None = None,
    holder: Holder | None = None,
    wait_seconds: float = 30.0,
) -> SlotLease:
    """Claim a slot under ``root``.

    Order: a forced slot (INSTANCE_SLOT) if given; else a free slot last held by this host (container
    hostnames survive `docker compose restart`, so a container gets its own wallets back); else the lowest
    free existing slot; else a new one after the highest. A forced slot still held by a dying predecessor is
    waited for up to ``wait_seconds`` before giving up.
    """
    me = holder or current_holder()
    root.mkdir(parents=True, exist_ok=True)
    if forced is not None:
        if forced < 1:
            raise SlotError(f"INSTANCE_SLOT must be >= 1, got {forced}")
        deadline = time.monotonic() + wait_seconds
        while True:
            lease = _try_lock(root, forced, me)
            if lease is not None:
                return lease
            if time.monotonic() >= deadline:
                other = _read_holder(slot_dir(root, forced) / LOCK_NAME)
                who = f" by {other.host} pid {other.pid} since {other.started_at}" if other else ""
                raise SlotError(
                    f"slot {forced} in {root} is held{who}; INSTANCE_SLOT={forced} cannot be used"
                )
            time.sleep(0.5)

    existing = slot_numbers(root)
    mine = [n for n in existing if (h := _read_holder(slot_dir(root, n) / LOCK_NAME)) and h.host == me.host]
    for number in [*mine, *(n for n in existing if n not in mine)]:
        lease = _try_lock(root, number, me)
        if lease is not None:
            return lease
    # All existing slots are busy: take new numbers upwards; losing a race for one just moves to the next.
    number = (existing[-1] if existing else 0) + 1
    for _ in range(10_000):
        lease = _try_lock(root, number, me)
        if lease is not None:
            return lease
        number += 1
    raise SlotError(f"no free slot found under {root}")


def _locally_locked_inodes(proc_locks: Path = Path("/proc/locks")) -> set[tuple[int, int, int]] | None:
    """(major, minor, inode) of files locked by any process of this kernel (Linux /proc/locks), read
    without taking any lock."""
    try:
        text = proc_locks.read_text()
    except OSError:
        return None
    inodes = set()
    for line in text.splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 00:2e:5678 0 EOF"; blocked waiters carry "->" after the index.
        if len(fields) >= 6 and fields[1] != "->":
            with contextlib.suppress(ValueError):
                major, minor, inode = fields[5].split(":")
                inodes.add((int(major, 16), int(minor, 16), int(inode)))
    return inodes


def _probe_alive(lock_path: Path, local: set[tuple[int, int, int]] | None) -> bool:
    try:
        st = lock_path.stat()
        if local is not None and (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino) in local:
            return True
    except OSError:
        return False
    # Not held by this kernel (or not Linux): a shared, non-blocking probe catches a holder on another host
    # sharing the folder over NFS. It never blocks and never changes who owns the slot.
    try:
        fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def count_wallets(directory: Path) -> int:
    seeds = directory / SEEDS_FILE
    try:
        return sum(1 for line in seeds.read_text(encoding="utf-8").splitlines() if line.strip())
    except OSError:
        return 0


def list_slots(root: Path) -> list[SlotInfo]:
    infos = []
    local = _locally_locked_inodes()
    for number in slot_numbers(root):
        lock_path = slot_dir(root, number) / LOCK_NAME
        infos.append(
            SlotInfo(
                number=number,
                path=slot_dir(root, number),
                holder=_read_holder(lock_path),
                alive=_probe_alive(lock_path, local),
                wallet_count=count_wallets(wallets_dir(root, number)),
            )
        )
    return infos
