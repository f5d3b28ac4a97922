"""Durable, never-overwriting file primitives and a bounded-wait flock.

Why these rules (spec cardano-wallet.md §5): a seed must be on stable storage before anything uses it,
an existing seed file must never be truncated or replaced by a shorter one, and two processes sharing a
folder (containers on one bind mount) must serialise their writes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import secrets
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from scavenger import fsafe
from scavenger.wallet.errors import StoreError

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
TMP_SUFFIX = ".tmp"

# Test hook for the crash-safety tests: "step" or "step:nth" makes the process SIGKILL itself the nth
# time (default 1st) it reaches that step, i.e. exactly where a power cut or OOM kill could hit.
CRASH_ENV = "SCAVENGER_WALLET_CRASH_AT"
_crash_counts: dict[str, int] = {}


def crash_point(step: str) -> None:
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != step:
        return
    _crash_counts[step] = _crash_counts.get(step, 0) + 1
    if _crash_counts[step] == (int(nth) if nth else 1):
        os.kill(os.getpid(), signal.SIGKILL)


def make_dirs(path: Path, mode: int = 0o777) -> None:
    """Create ``path`` and its missing parents (``mode`` before the umask), each one durably."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # a concurrent creator made it first
            directory.mkdir(mode=mode)
        # The new folder's own entry must be durable too, or a power cut could lose the whole folder
        # with the seed file fsynced inside it.
        fsync_dir(directory.parent)


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) as 0700; tighten it to 0700 if it is looser."""
    make_dirs(path, DIR_MODE)
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise StoreError(f"{path} is not a directory (symlinks are refused)")
    if stat.S_IMODE(info.st_mode) != DIR_MODE:
        if stat.S_IMODE(info.st_mode) & 0o077:
            log.warning("tightening permissions of %s from %o to 700", path, stat.S_IMODE(info.st_mode))
        os.chmod(path, DIR_MODE)


def check_private_file(path: Path, *, tighten: bool = True) -> None:
    """Refuse symlinks and non-regular files; tighten group/world-accessible secret files to 0600
    (only warn when ``tighten`` is False: a read-only reader changes nothing)."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        raise StoreError(f"{path} is not a regular file (symlinks are refused)")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077 and not tighten:
        log.warning("%s is readable by others (mode %o); a writing command tightens it to 600", path, mode)
    elif mode & 0o077:
        log.warning("tightening permissions of %s from %o to 600", path, mode)
        try:
            os.chmod(path, FILE_MODE)
        except OSError as exc:  # a read-only backup, someone else's file: reading it is still fine
            log.warning("could not tighten %s: %s", path, exc.strerror)


def read_file(path: Path) -> bytes | None:
    """Contents of ``path``, or None if it does not exist. Never follows a symlink, never blocks on a fifo."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(f"{path} is a symlink; refusing to read it") from None
        raise StoreError(f"cannot read {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise StoreError(f"{path} is {fsafe.kind(mode)}, not a regular file; refusing to read it")
        return handle.read()


def describe_os_error(exc: OSError, where: Path) -> str:
    target = exc.filename if exc.filename else where
    return f"cannot access {target}: {exc.strerror or type(exc).__name__}"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(final: Path, data: bytes, step: str) -> Path:
    """Write ``data`` to a fresh O_EXCL temp file next to ``final``, fsync it and read it back.

    Nothing is published from a temp file whose content differs from ``data``.
    """
    tmp = final.with_name(f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}")
    fd = fsafe.create_exclusive(tmp, FILE_MODE)
    try:
        view = memoryview(data)
        half = len(view) // 2
        written = 0
        # os.write may write fewer bytes than asked (disk nearly full): always continue from what it took.
        while written < half:
            written += os.write(fd, view[written:half])
        crash_point(f"{step}.partial")
        while written < len(view):
            written += os.write(fd, view[written:])
        os.fsync(fd)
        os.close(fd)
        fd = -1
        if read_file(tmp) != data:
            raise StoreError(f"read-back of the new version of {final} differs from what was written")
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    crash_point(f"{step}.synced")
    return tmp


def create_new_file(final: Path, data: bytes, step: str) -> None:
    """Publish ``data`` at ``final`` only if no file exists there (``link`` never replaces).

    Raises FileExistsError if ``final`` exists; the existing file is left untouched.
    """
    tmp = _write_temp(final, data, step)
    try:
        os.link(tmp, final)
        crash_point(f"{step}.linked")
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(final.parent)
    crash_point(f"{step}.done")


def replace_with_superset(final: Path, old: bytes, new: bytes, step: str) -> None:
    """Atomically replace ``final`` (currently ``old``) by ``new``, which must start with ``old``.

    The old content is checked twice: in the fsynced temp file (read back whole by ``_write_temp``:
    every old byte is still there, in place) and in ``final`` just before the rename (nobody changed
    it meanwhile). A crash at any
    point leaves either the complete old file or the complete new one.
    """
    if not new.startswith(old):
        raise StoreError(f"refusing to rewrite {final}: the new version does not keep every old line")
    tmp = _write_temp(final, new, step)
    try:
        if read_file(final) != old:
            raise StoreError(f"{final} changed while it was being updated; nothing was replaced")
        os.rename(tmp, final)
        crash_point(f"{step}.renamed")
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(final.parent)
    crash_point(f"{step}.done")


def write_public_file(final: Path, data: bytes, step: str) -> None:
    """Atomically write a derived, non-secret file (it can always be rebuilt from the seeds)."""
    tmp = _write_temp(final, data, step)
    try:
        os.rename(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(final.parent)
    crash_point(f"{step}.done")


def remove_stale_temps(directory: Path, names: tuple[str, ...]) -> None:
    """Remove temp files a killed writer left for the files ``names``. Hold the folder lock.

    Only our own temp names are matched (the config root is shared with other components). A temp
    file is never the only copy of a seed that was used: seeds are used only after being published
    under their final name and the directory fsynced.
    """
    for name in names:
        for tmp in directory.glob(f".{name}.*{TMP_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                log.info("removed stale temp file %s", tmp.name)


def _flock(fd: int, operation: int, lock_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"could not lock {lock_path} within {timeout:.0f} s: another process holds it"
                ) from None
            time.sleep(0.02)


@contextlib.contextmanager
def shared_lock(lock_path: Path, timeout: float = 60.0) -> Iterator[None]:
    """Shared ``flock`` for readers that must work on read-only media: nothing is created or written.

    Without a lock file no writer has ever used the folder, so there is nobody to wait for."""
    try:
        fd = os.open(lock_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        yield
        return
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(f"{lock_path} is a symlink; refusing to use it") from None
        raise StoreError(f"cannot read {lock_path}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise StoreError(f"{lock_path} is {fsafe.kind(mode)}, not a regular file; refusing to use it")
        _flock(fd, fcntl.LOCK_SH, lock_path, timeout)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(lock_path: Path, timeout: float = 60.0) -> Iterator[None]:
    """Exclusive ``flock`` on ``lock_path`` (created 0600), waiting at most ``timeout`` seconds.

    The kernel drops the lock when the holder dies, so a crash never leaves the folder locked.
    """
    try:
        # Only locked, never written; still refused if it is a link or a fifo planted under that name.
        fd, _ = fsafe.open_for_write(lock_path, FILE_MODE)
    except fsafe.UnsafeFileError as exc:
        raise StoreError(str(exc)) from None
    try:
        _flock(fd, fcntl.LOCK_EX, lock_path, timeout)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
