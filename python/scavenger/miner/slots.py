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
import logging
import os
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from scavenger import fsafe
from scavenger.wallet.store import MAX_SEEDS_BYTES, SEEDS_FILE

log = logging.getLogger(__name__)

LOCK_NAME = "in_use.lock"
# A lock file holds at most a short JSON line; more than this is not ours and is never overwritten.
MAX_LOCK_BYTES = 4096


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
    # Why the entry ``config/<n>`` is skipped (not a folder: a file, a symlink, a fifo...), else None.
    skipped: str | None = None


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


def _parse_holder(data: bytes) -> Holder | None:
    try:
        doc = json.loads(data.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    try:
        return Holder(host=str(doc["host"]), pid=int(doc["pid"]), started_at=str(doc["started_at"]))
    except (KeyError, TypeError, ValueError):
        return None


def _read_holder(lock_path: Path) -> Holder | None:
    # Never follows a symlink or blocks on a fifo planted under the lock's name.
    data = fsafe.read_small(lock_path, MAX_LOCK_BYTES)
    return None if data is None else _parse_holder(data)


def entry_problem(path: Path) -> str | None:
    """Why ``config/<n>`` cannot be a slot folder (it exists and is not a real folder), else None.

    A symlinked slot folder is refused too: the lock and the seeds would live wherever it points."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(info.st_mode):
        return None
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link, not a folder"
    return f"is {fsafe.kind(info.st_mode)}, not a folder"


class _NotAFolder(Exception):
    """``config/<n>`` exists but is not a folder: the slot number is skipped."""


def _check_own_lock(fd: int, lock_path: Path) -> None:
    """The lock file existed before this run: overwrite it only if it holds what a slot lock holds (nothing,
    as the seed program left it, or a holder line), so nothing renamed to ``in_use.lock`` is ever erased."""
    data = os.pread(fd, MAX_LOCK_BYTES + 1, 0)
    if data.strip() and (len(data) > MAX_LOCK_BYTES or _parse_holder(data) is None):
        raise SlotError(
            f"refusing to write {lock_path}: it holds {len(data)}{'+' if len(data) > MAX_LOCK_BYTES else ''} "
            "bytes that are not a slot lock; move it away (nothing was changed)"
        )


def _try_lock(root: Path, number: int, holder: Holder) -> SlotLease | None:
    """The lease, or None if another process holds the slot. Raises ``_NotAFolder`` for a non-folder entry
    and ``SlotError`` for a foreign lock file (symlink, hard link, fifo, someone else's data)."""
    directory = slot_dir(root, number)
    with contextlib.suppress(FileExistsError):  # a non-folder entry: reported just below
        directory.mkdir(exist_ok=True)
    problem = entry_problem(directory)
    if problem is not None:
        raise _NotAFolder(f"{directory} {problem}")
    lock_path = directory / LOCK_NAME
    try:
        fd, created = fsafe.open_for_write(lock_path, 0o644)
    except fsafe.UnsafeFileError as exc:
        raise SlotError(str(exc)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    try:
        if not created:
            _check_own_lock(fd, lock_path)
        # The seeds and the journal go into config/<n>/miner-<n>/: a symlink or a file planted there would
        # send them elsewhere or fail later with a less clear error.
        inner = instance_dir(root, number)
        problem = entry_problem(inner)
        if problem is not None:
            raise SlotError(f"refusing to use {inner}: it {problem}; move it away (nothing was changed)")
        text = json.dumps({"host": holder.host, "pid": holder.pid, "started_at": holder.started_at}) + "\n"
        os.ftruncate(fd, 0)
        os.pwrite(fd, text.encode(), 0)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        raise
    return SlotLease(root, number, fd, holder)


def _numbered_entries(root: Path) -> list[tuple[int, Path]]:
    if not root.is_dir():
        return []
    entries = [
        (int(entry.name), entry)
        for entry in root.iterdir()
        if entry.name.isdigit() and not entry.name.startswith("0")
    ]
    return sorted(entries)


def slot_numbers(root: Path) -> list[int]:
    """The numbers of the slot folders under ``root``, ascending (no lock is touched). Entries that are not
    real folders (a file, a symlink, a fifo named like a slot) are not slots: see ``skipped_entries``."""
    return [number for number, entry in _numbered_entries(root) if entry_problem(entry) is None]


def skipped_entries(root: Path) -> dict[int, str]:
    """Slot-numbered entries of ``root`` that are not folders, with what they are."""
    skipped = {}
    for number, entry in _numbered_entries(root):
        problem = entry_problem(entry)
        if problem is not None:
            skipped[number] = problem
    return skipped


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
    usable: Callable[[SlotLease], bool] | None = None,
) -> SlotLease:
    """Claim a slot under ``root``.

    Order: a forced slot (INSTANCE_SLOT) if given; else a free slot last held by this host (container
    hostnames survive `docker compose restart`, so a container gets its own wallets back); else the lowest
    free existing slot; else a new one after the highest. A forced slot still held by a dying predecessor is
    waited for up to ``wait_seconds`` before giving up. ``usable`` (not applied to a forced slot) may turn
    down an existing slot once locked (e.g. an ambiguous wallet folder): it is released and the next tried.
    """
    me = holder or current_holder()
    root.mkdir(parents=True, exist_ok=True)
    if forced is not None:
        if forced < 1:
            raise SlotError(f"INSTANCE_SLOT must be >= 1, got {forced}")
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                lease = _try_lock(root, forced, me)
            except _NotAFolder as exc:
                raise SlotError(f"{exc}; INSTANCE_SLOT={forced} cannot be used") from None
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
        with contextlib.suppress(_NotAFolder):  # replaced by a non-folder since listed: skip it
            lease = _try_lock(root, number, me)
            if lease is not None:
                if usable is None or usable(lease):
                    return lease
                lease.release()
    # All existing slots are busy: take new numbers upwards; losing a race for one just moves to the next,
    # and a number taken by something that is not a folder (a stray file `config/1`) is skipped, not fatal.
    number = max([*existing, 0]) + 1
    for _ in range(10_000):
        try:
            lease = _try_lock(root, number, me)
        except _NotAFolder as exc:
            log.warning("skipping %s (move it away to use slot %d)", exc, number)
            lease = None
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
        st = lock_path.lstat()
        if fsafe.problem(st) is not None:
            return False  # not a lock file of ours (a symlink, a fifo...): never opened
        if local is not None and (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino) in local:
            return True
    except OSError:
        return False
    # Not held by this kernel (or not Linux): a shared, non-blocking probe catches a holder on another host
    # sharing the folder over NFS. It never blocks and never changes who owns the slot.
    try:
        fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
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
    data = fsafe.read_small(directory / SEEDS_FILE, MAX_SEEDS_BYTES)
    return 0 if data is None else sum(1 for line in data.splitlines() if line.strip())


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
    for number, problem in skipped_entries(root).items():
        infos.append(SlotInfo(number, slot_dir(root, number), None, False, 0, skipped=problem))
    return sorted(infos, key=lambda info: info.number)
