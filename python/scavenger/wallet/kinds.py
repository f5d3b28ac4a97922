"""Which kind of wallets a slot folder holds, decided from evidence on disk, never guessed.

* ``standard``: this program's CIP-1852 wallets (``keys.hex`` holds 128-hex xpubs, or ``wallets.json`` /
  ``.wallets.lock`` show that this program wrote the folder).
* ``legacy``: the original program's (whosbax) keys, ``BIP39-seed[0:32]`` used as a plain Ed25519 key, mined
  with their enterprise address; its ``keys.hex`` holds those 64-hex keys. Such a folder is read, never
  written: its wallets are mined and consolidated as they are and no wallet is ever added to it.
* ``ambiguous``: a ``seeds.txt`` without ``keys.hex`` that this program did not write. The same words give
  two different addresses depending on the derivation, so nothing is derived until the answer is recorded
  (``scavenger legacy settle`` asks the API which one is registered) in ``wallet_kind.txt``, which lives
  beside the ``wallets/`` folder (``config/<n>/miner-<n>/wallet_kind.txt``), never inside it.
"""

from __future__ import annotations

import logging
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from scavenger.wallet import address as addr
from scavenger.wallet import fsutil, legacy
from scavenger.wallet.errors import AmbiguousWalletsError, StoreError
from scavenger.wallet.store import KEYS_FILE, LOCK_FILE, META_FILE, SEEDS_FILE, WalletStore

log = logging.getLogger(__name__)

KIND_FILE = "wallet_kind.txt"
WALLET_KINDS = ("standard", "legacy")
WalletKind = Literal["standard", "legacy"]
FolderKindName = Literal["empty", "standard", "legacy", "ambiguous"]


@dataclass(frozen=True)
class FolderKind:
    kind: FolderKindName
    reason: str
    has_keys: bool = False


@dataclass(frozen=True)
class SlotWallets:
    """The wallets of one slot folder and their kind (``LegacyWallet`` or ``Wallet``; both sign)."""

    kind: WalletKind
    wallets: list[Any]


def kind_file(wallets_dir: Path) -> Path:
    """``config/<n>/miner-<n>/wallet_kind.txt``: beside ``wallets/``, so a legacy folder is never written."""
    return Path(wallets_dir).parent / KIND_FILE


def recorded_kind(wallets_dir: Path) -> WalletKind | None:
    path = kind_file(wallets_dir)
    data = fsutil.read_file(path)
    if data is None:
        return None
    for line in data.decode("utf-8", "replace").splitlines():
        word = line.strip().lower()
        if not word or word.startswith("#"):
            continue
        if word == "legacy":
            return "legacy"
        if word == "standard":
            return "standard"
        raise StoreError(f"{path}: first line must be 'legacy' or 'standard', got {line.strip()[:40]!r}")
    raise StoreError(f"{path} is empty; write 'legacy' or 'standard' in it, or run scavenger legacy settle")


def record_kind(wallets_dir: Path, kind: WalletKind, evidence: str) -> Path:
    """Write the decision (atomically; replaces an earlier one) and return the file's path."""
    if kind not in WALLET_KINDS:
        raise ValueError(f"kind must be legacy or standard, got {kind!r}")
    path = kind_file(wallets_dir)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    text = f"{kind}\n# recorded {stamp} by scavenger legacy settle: {evidence}\n"
    fsutil.write_public_file(path, text.encode("utf-8"), "kind")
    return path


def _first_key_line(data: bytes) -> str:
    for line in data.decode("utf-8", "replace").splitlines():
        if line.strip():
            return line.strip().lower()
    return ""


def classify(wallets_dir: Path) -> FolderKind:
    """Read-only: no file or folder is created, changed or chmod-ed."""
    directory = Path(wallets_dir)
    try:  # existence and type only: the secret is not read here
        seeds_mode = (directory / SEEDS_FILE).lstat().st_mode
    except (FileNotFoundError, NotADirectoryError):  # a non-folder on the way: the store reports it
        return FolderKind("empty", "no seeds.txt yet")
    if not stat.S_ISREG(seeds_mode):
        # A symlink or fifo planted as seeds.txt: the store refuses it with its own precise message.
        return FolderKind("standard", "seeds.txt is not a regular file")
    keys = fsutil.read_file(directory / KEYS_FILE)
    if keys is not None:
        first = _first_key_line(keys)
        if len(first) == 64 and all(c in "0123456789abcdef" for c in first):
            return FolderKind(
                "legacy", "keys.hex holds 64-hex private keys, as the original program wrote", True
            )
        return FolderKind("standard", "keys.hex holds this program's public keys", True)
    recorded = recorded_kind(directory)
    if recorded is not None:
        return FolderKind(recorded, f"recorded in {kind_file(directory)}")
    if (directory / META_FILE).exists() or (directory / LOCK_FILE).exists():
        # This program creates its lock file before it writes a seeds.txt: a crash before keys.hex is ours.
        return FolderKind("standard", "written by this program")
    return FolderKind("ambiguous", "seeds.txt without keys.hex, not written by this program")


def slot_of(wallets_dir: Path) -> tuple[Path, int] | None:
    """(config root, slot number) of ``<root>/<n>/miner-<n>/wallets``, or None for another layout."""
    directory = Path(wallets_dir)
    instance = directory.parent
    slot = instance.parent
    if instance.name == f"miner-{slot.name}" and slot.name.isdigit():
        return slot.parent, int(slot.name)
    return None


def ambiguous_message(wallets_dir: Path) -> str:
    where = slot_of(wallets_dir)
    command = (
        f"scavenger legacy settle --config-dir {where[0]} --slot {where[1]}"
        if where
        else "scavenger legacy settle --slot <n>"
    )
    return (
        f"{Path(wallets_dir) / SEEDS_FILE} was not written by this program and has no {KEYS_FILE}: its words "
        "could be the original program's legacy keys (addr1v... enterprise addresses) or standard CIP-1852 "
        "wallets (addr1q...), which are different addresses holding different rights. Nothing was derived "
        f"and nothing was written. Settle it with `{command}` (asks the API which of the two is registered "
        f"and records the answer in {kind_file(Path(wallets_dir))}; add --kind legacy|standard if you know)."
    )


_warned_modes: set[Path] = set()


def _warn_readable(directory: Path) -> None:
    """Legacy files are never chmod-ed (they are not ours); say once per process if others can read them."""
    for name in (SEEDS_FILE, KEYS_FILE):
        path = directory / name
        try:
            mode = stat.S_IMODE(path.lstat().st_mode)
        except OSError:
            continue
        if mode & 0o077 and path not in _warned_modes:
            _warned_modes.add(path)
            log.warning(
                "%s is readable by other users (mode %o); legacy files are left exactly as they are, "
                "so tighten it yourself: chmod 600 %s",
                path,
                mode,
                path,
            )


def load_slot_wallets(
    wallets_dir: Path, network: str, *, ensure: int | None = None, read_only: bool = False
) -> SlotWallets:
    """The slot's wallets by kind. ``ensure`` (new wallets up to that count) applies to standard folders only;
    ``read_only`` loads a standard folder without repairing or writing anything (legacy ones never are).

    Raises AmbiguousWalletsError (nothing touched) for an ambiguous folder, StoreError for a corrupt one.
    """
    directory = Path(wallets_dir)
    found = classify(directory)
    if found.kind == "ambiguous":
        raise AmbiguousWalletsError(ambiguous_message(directory))
    if found.kind == "legacy":
        net = addr.parse_network(network)
        wallets = legacy.load_legacy_folder(directory, net, require_keys=found.has_keys)
        _warn_readable(directory)
        return SlotWallets("legacy", list(wallets))
    store = WalletStore(directory, network)
    if ensure is not None:
        return SlotWallets("standard", store.ensure(ensure))
    return SlotWallets("standard", store.load(read_only=read_only))
