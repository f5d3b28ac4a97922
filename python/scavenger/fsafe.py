"""The one place that opens files for writing: a name on disk is only written through if it is what we expect.

Why: every folder this program writes to (``config/``, a bind mount shared by containers, a simulator's work
folder) may hold entries made by someone else. A symlink or a hard link planted at a lock-file or journal
name would otherwise make us write into whatever it points at, including ``seeds.txt``, and a fifo or device
would hang or misbehave on open. So every write-open here:

* never follows a symlink (``O_NOFOLLOW``; a dangling one is refused too, nothing is created through it);
* opens only regular files: a fifo, socket, device or folder is refused before it is opened;
* refuses a file with more than one hard link (another name for the same data);
* never truncates on open (no ``O_TRUNC``): content is replaced only through a fresh temp file renamed over
  the name, or, for the lock file, after the caller has checked that the content is its own.

A refusal is ``UnsafeFileError`` whose text names the path and what is wrong, ready to be printed as the one
line a command shows before exiting non-zero.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"
# SQLite writes next to a database: a planted link under one of these names is as dangerous as the database's.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a fifo"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symbolic link"),
)


class UnsafeFileError(RuntimeError):
    """A path cannot be written safely (or at all); the message names it and says why."""


def kind(mode: int) -> str:
    """What an ``st_mode`` is, in words ("a regular file", "a fifo", ...)."""
    if stat.S_ISREG(mode):
        return "a regular file"
    for test, name in _KINDS:
        if test(mode):
            return name
    return "an unknown kind of file"


def problem(info: os.stat_result) -> str | None:
    """What makes an existing entry (its ``lstat``) unfit to be written through, or None if it is fit."""
    if not stat.S_ISREG(info.st_mode):
        return f"is {kind(info.st_mode)}, not a regular file"
    if info.st_nlink > 1:
        return f"has {info.st_nlink} hard links (it is another name for a file stored elsewhere)"
    return None


def _refuse(path: Path, what: str) -> UnsafeFileError:
    return UnsafeFileError(f"refusing to write {path}: it {what}; move it away (nothing was changed)")


def check_target(path: Path) -> bool:
    """Raise ``UnsafeFileError`` if ``path`` exists and is not a plain single-link file. True if it exists.

    For files opened by a library we cannot pass ``O_NOFOLLOW`` to (SQLite)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    what = problem(info)
    if what is not None:
        raise _refuse(path, what)
    return True


def create_exclusive(path: Path, mode: int = 0o600) -> int:
    """A write-only fd on a file this call creates (``O_EXCL``: fails if any entry, even a dangling symlink,
    has the name), for temp files then renamed or linked into place. OSError is left to the caller."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)


def open_for_write(path: Path, mode: int = 0o600, *, append: bool = False) -> tuple[int, bool]:
    """Open ``path`` read-write, creating it if missing, never truncating; return ``(fd, created)``.

    ``created`` is True only if this call created the file: the caller may then write it freely; otherwise it
    must check the content is its own before changing it (or only ``append``, for logs). The fd is
    close-on-exec and blocking."""
    path = Path(path)
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | (os.O_APPEND if append else 0)
    for _ in range(100):  # only repeats while another process creates/removes the same name meanwhile
        check_target(path)  # refuse a fifo or device before opening it (opening can have side effects)
        created = False
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, mode)
            created = True
        except FileExistsError:
            try:
                fd = os.open(path, flags)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise _open_error(path, exc) from None
        except OSError as exc:
            raise _open_error(path, exc) from None
        try:
            what = problem(os.fstat(fd))  # the entry may have been swapped between lstat and open
            if what is not None:
                raise _refuse(path, what)
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        except BaseException:
            os.close(fd)
            raise
        return fd, created
    raise UnsafeFileError(f"cannot open {path}: it keeps appearing and disappearing")


def _open_error(path: Path, exc: OSError) -> UnsafeFileError:
    if exc.errno == errno.ELOOP:
        return _refuse(path, "is a symbolic link")
    if exc.errno == errno.EISDIR:
        return _refuse(path, "is a folder, not a regular file")
    return UnsafeFileError(f"cannot write {path}: {exc.strerror or exc}")


def read_small(path: Path, limit: int = 1 << 16) -> bytes | None:
    """At most ``limit`` bytes of a regular file, None if it is missing or is not a regular file.

    Never follows a symlink and never blocks on a fifo: for informative files (lock holders, counts)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def replace_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Atomically publish ``data`` under ``path`` through a fresh temp file (for derived files: port files).

    A foreign entry at ``path`` (symlink, hard link, fifo, folder) is refused rather than replaced."""
    path = Path(path)
    check_target(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = create_exclusive(tmp, mode)
    except OSError as exc:
        raise _open_error(tmp, exc) from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        raise UnsafeFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def connect_sqlite(
    path: Path, setup: Callable[[sqlite3.Connection], None], *, what: str, timeout: float = 5.0
) -> sqlite3.Connection:
    """An SQLite connection (autocommit, usable from any thread) to ``path`` after ``check_database``, with
    ``setup`` (pragmas, schema) applied. Any failure, a full disk included, is one ``UnsafeFileError`` line
    naming ``what`` and the file, never a raw sqlite3 traceback; nothing else is touched."""
    path = Path(path)
    check_database(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or exc
        raise UnsafeFileError(f"cannot create the folder of the {what} {path}: {reason}") from None
    db: sqlite3.Connection | None = None
    try:
        db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        setup(db)
    except (sqlite3.Error, OSError) as exc:
        if db is not None:
            db.close()
        hint = "; free some space and start again" if "full" in str(exc) else ""
        raise UnsafeFileError(f"cannot use the {what} {path}: {exc}{hint} (nothing else changed)") from None
    return db


def check_database(path: Path) -> None:
    """Before SQLite opens ``path``: refuse links and non-files at its name and its companions' names, and an
    existing non-empty file that is not an SQLite database (SQLite would report only "file is not a database"
    later, or worse, write its header into someone else's file)."""
    path = Path(path)
    for name in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS)):
        check_target(name)
    head = read_small(path, len(SQLITE_MAGIC))
    if head and head != SQLITE_MAGIC:
        raise UnsafeFileError(
            f"refusing to open {path}: it is not an SQLite database; move it away (nothing was changed)"
        )


__all__ = [
    "UnsafeFileError",
    "check_database",
    "check_target",
    "connect_sqlite",
    "create_exclusive",
    "kind",
    "open_for_write",
    "problem",
    "read_small",
    "replace_file",
]
