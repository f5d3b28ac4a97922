"""On-disk wallet store of one miner instance: ``config/<n>/miner-<n>/wallets/``.

Files (formats documented in docs/wallet.md):

* ``seeds.txt``  one BIP-39 mnemonic per line, ``\\n``-terminated. The source of truth; secret (0600).
* ``keys.hex``   one line per wallet, same order: the payment **xpub** (32-byte public key + 32-byte chain
  code, 128 lowercase hex). Public; lets us detect a seeds/keys mismatch and the legacy format.
* ``wallets.json`` public metadata per line (network, account, index, path, addresses, public keys).
* ``.wallets.lock`` flock target that serialises every reader/writer of the folder.

Order of a write: seeds.txt (durable, checked by read-back) -> keys.hex -> wallets.json. A crash between
them leaves seeds without public records; the next load rebuilds those records from the seeds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scavenger.wallet import address as addr
from scavenger.wallet import bip39, fsutil, legacy
from scavenger.wallet.address import Network
from scavenger.wallet.errors import (
    AmbiguousWalletsError,
    LegacyWalletError,
    MnemonicError,
    StoreError,
    WalletError,
)
from scavenger.wallet.wallet import Wallet

log = logging.getLogger(__name__)

SEEDS_FILE = "seeds.txt"
KEYS_FILE = "keys.hex"
META_FILE = "wallets.json"
LOCK_FILE = ".wallets.lock"
META_FORMAT = "scavenger-wallets/1"
MAX_SEEDS_BYTES = 16 * 1024 * 1024


def wallets_dir(config_dir: Path | str, slot: int) -> Path:
    """``<config>/<n>/miner-<n>/wallets`` (the seed program's layout)."""
    if isinstance(slot, bool) or not isinstance(slot, int) or slot < 1:
        raise ValueError(f"slot must be a positive integer, got {slot!r}")
    return Path(config_dir) / str(slot) / f"miner-{slot}" / "wallets"


@dataclass(frozen=True)
class _Meta:
    network: Network
    account: int
    index: int
    address: str | None = None
    pubkey: str | None = None


def _split_lines(data: bytes, path: Path) -> list[str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StoreError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


class WalletStore:
    """Wallets of one instance folder. Every public method holds the folder's flock."""

    def __init__(self, directory: Path | str, network: Network | str, *, lock_timeout: float = 60.0) -> None:
        self.directory = Path(directory)
        self.network: Network = addr.parse_network(network)
        self.lock_timeout = lock_timeout

    @classmethod
    def for_slot(cls, config_dir: Path | str, slot: int, network: Network | str) -> WalletStore:
        return cls(wallets_dir(config_dir, slot), network)

    def __repr__(self) -> str:
        return f"WalletStore({str(self.directory)!r}, {self.network!r})"

    @property
    def seeds_path(self) -> Path:
        return self.directory / SEEDS_FILE

    @property
    def keys_path(self) -> Path:
        return self.directory / KEYS_FILE

    @property
    def meta_path(self) -> Path:
        return self.directory / META_FILE

    # ---- public API -------------------------------------------------------------------------------

    def load(self, *, read_only: bool = False) -> list[Wallet]:
        """All wallets, re-derived from seeds.txt and checked against keys.hex and wallets.json.

        Returns [] if the folder or seeds.txt does not exist. Raises StoreError naming file and line.
        A writable load also repairs (removes a killed writer's temp files, completes missing public
        records); ``read_only=True`` opens nothing for writing, so a backup on read-only media can be read.
        """
        if not self.directory.exists():
            return []
        self._check_kind()
        if read_only:
            with self._read_locked():
                return self._load_locked(read_only=True)
        with self._locked():
            return self._load_locked()

    def ensure(self, count: int) -> list[Wallet]:
        """The first ``count`` wallets, generating and durably storing the missing ones first."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        self._check_kind()
        with self._locked():
            wallets = self._load_locked()
            missing = count - len(wallets)
            if missing > 0:
                wallets = self._append(wallets, [Wallet.generate(self.network) for _ in range(missing)])
            return wallets[:count]

    def create(self, count: int = 1) -> list[Wallet]:
        """Generate ``count`` new wallets after the existing ones; returns only the new ones."""
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        self._check_kind()
        with self._locked():
            wallets = self._load_locked()
            new = [Wallet.generate(self.network) for _ in range(count)]
            return self._append(wallets, new)[len(wallets) :]

    def add(self, mnemonic: str, account: int = 0, index: int = 0) -> Wallet:
        """Import an existing mnemonic (checked) as a new wallet; refuses a duplicate."""
        wallet = Wallet.from_mnemonic(mnemonic, self.network, account, index)
        self._check_kind()
        with self._locked():
            wallets = self._load_locked()
            for line, existing in enumerate(wallets, start=1):
                if existing.address == wallet.address:
                    raise StoreError(f"{self.seeds_path}: this wallet is already stored at line {line}")
            return self._append(wallets, [wallet])[-1]

    # ---- internals --------------------------------------------------------------------------------

    def _check_kind(self) -> None:
        """Refuse a legacy or ambiguous folder BEFORE locking: the lock file and the permission tightening
        would already write into a folder this program must leave as it is."""
        from scavenger.wallet import kinds  # kinds builds on this module

        if self.directory.is_symlink() or not self.directory.is_dir():
            return  # nothing to classify; _locked() refuses or creates it with a precise message
        found = kinds.classify(self.directory)
        if found.kind == "ambiguous":
            raise AmbiguousWalletsError(kinds.ambiguous_message(self.directory))
        if found.kind == "legacy":
            raise LegacyWalletError(self._legacy_message())

    def _legacy_message(self) -> str:
        return (
            f"{self.directory} is a legacy folder of the original (whosbax) miner: its wallets use "
            "BIP39-seed Ed25519 keys and enterprise addresses that Eternl/Lace cannot restore. This program "
            "mines and consolidates them as they are (`scavenger mine`, `scavenger donate`) but never adds a "
            "wallet to that folder or changes a file in it; use another slot for new wallets. See "
            "docs/migration.md."
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            fsutil.ensure_private_dir(self.directory)
            with fsutil.locked(self.directory / LOCK_FILE, self.lock_timeout):
                yield
        except OSError as exc:
            # Disk full, read-only mount, foreign owner...: the files are untouched (writes go to temps).
            raise StoreError(fsutil.describe_os_error(exc, self.directory)) from None

    @contextlib.contextmanager
    def _read_locked(self) -> Iterator[None]:
        try:
            info = self.directory.lstat()
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
                raise StoreError(f"{self.directory} is not a directory (symlinks are refused)")
            with fsutil.shared_lock(self.directory / LOCK_FILE, self.lock_timeout):
                yield
        except OSError as exc:
            raise StoreError(fsutil.describe_os_error(exc, self.directory)) from None

    def _read_seeds(self, *, tighten: bool = True) -> tuple[bytes, list[str]]:
        data = fsutil.read_file(self.seeds_path)
        if data is None:
            return b"", []
        fsutil.check_private_file(self.seeds_path, tighten=tighten)
        if len(data) > MAX_SEEDS_BYTES:
            raise StoreError(f"{self.seeds_path}: implausibly large ({len(data)} bytes)")
        lines = _split_lines(data, self.seeds_path)
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                raise StoreError(f"{self.seeds_path}, line {number}: empty line")
            try:
                bip39.to_entropy(line)
            except MnemonicError as exc:
                raise StoreError(f"{self.seeds_path}, line {number}: {exc}") from None
        return data, [bip39.normalize(line) for line in lines]

    def _read_keys(self, *, tighten: bool = True) -> list[str]:
        data = fsutil.read_file(self.keys_path)
        if data is None:
            return []
        fsutil.check_private_file(self.keys_path, tighten=tighten)
        return [line.strip().lower() for line in _split_lines(data, self.keys_path)]

    def _read_meta(self, *, tighten: bool = True) -> list[_Meta]:
        data = fsutil.read_file(self.meta_path)
        if data is None:
            return []
        fsutil.check_private_file(self.meta_path, tighten=tighten)
        try:
            doc = json.loads(data.decode("utf-8"))
            if doc.get("format") != META_FORMAT:
                raise ValueError(f"unknown format {doc.get('format')!r}")
            entries = doc["wallets"]
            metas = []
            for position, entry in enumerate(entries, start=1):
                if entry["line"] != position:
                    raise ValueError(f"entry {position} is for line {entry['line']}")
                metas.append(
                    _Meta(
                        addr.parse_network(entry["network"]),
                        int(entry["account"]),
                        int(entry["index"]),
                        str(entry["address"]),
                        str(entry["pubkey"]),
                    )
                )
            return metas
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreError(f"{self.meta_path}: corrupt metadata ({exc})") from None

    def _load_locked(self, *, read_only: bool = False) -> list[Wallet]:
        if not read_only:
            fsutil.remove_stale_temps(self.directory, (SEEDS_FILE, KEYS_FILE, META_FILE))
        _, seeds = self._read_seeds(tighten=not read_only)
        keys = self._read_keys(tighten=not read_only)
        metas = self._read_meta(tighten=not read_only)
        if not seeds and not keys and not metas:
            return []
        if keys and seeds:
            self._refuse_legacy(seeds, keys)
        for name, count in ((self.keys_path, len(keys)), (self.meta_path, len(metas))):
            if count > len(seeds):
                raise StoreError(
                    f"{name} lists {count} wallets but {self.seeds_path} holds only {len(seeds)} seeds: "
                    "seeds are missing; restore seeds.txt from a backup (nothing was changed)"
                )
        wallets: list[Wallet] = []
        for number, words in enumerate(seeds, start=1):
            meta = metas[number - 1] if number <= len(metas) else _Meta(self.network, 0, 0)
            if meta.network != self.network:
                raise StoreError(
                    f"{self.meta_path}, line {number}: wallet is for {meta.network}, "
                    f"but this store is opened for {self.network}"
                )
            try:
                wallet = Wallet.from_mnemonic(words, self.network, meta.account, meta.index)
            except WalletError as exc:
                raise StoreError(f"{self.seeds_path}, line {number}: {exc}") from None
            if number <= len(metas) and (meta.address, meta.pubkey) != (wallet.address, wallet.pubkey_hex):
                raise StoreError(
                    f"{self.meta_path}, line {number}: recorded address {meta.address} does not match the "
                    f"mnemonic on {SEEDS_FILE} line {number} (it derives {wallet.address})"
                )
            if number <= len(keys) and keys[number - 1] != wallet.payment_xpub_hex:
                raise StoreError(
                    f"{self.keys_path}, line {number}: payment key does not match the mnemonic on "
                    f"{SEEDS_FILE} line {number} (it derives {wallet.address})"
                )
            wallets.append(wallet)
        if len(keys) < len(seeds) or len(metas) < len(seeds):
            # A writer died after making its seed durable but before the public records: rebuild them.
            pending = len(seeds) - min(len(keys), len(metas))
            if read_only:
                log.warning("public records of %d wallet(s) in %s are missing (left as they are: "
                            "read-only)", pending, self.directory)
            else:
                log.warning("completing public records of %d wallet(s) in %s", pending, self.directory)
                self._write_public(wallets)
        return wallets

    def _refuse_legacy(self, seeds: list[str], keys: list[str]) -> None:
        if len(keys[0]) == 64 and legacy.is_legacy_key_line(seeds[0], keys[0]):
            raise LegacyWalletError(self._legacy_message())

    def _append(self, existing: list[Wallet], new: list[Wallet]) -> list[Wallet]:
        old_bytes, old_seeds = self._read_seeds()
        if len(old_seeds) != len(existing):
            raise StoreError(f"{self.seeds_path} changed while the store was locked")
        prefix = old_bytes if not old_bytes or old_bytes.endswith(b"\n") else old_bytes + b"\n"
        added = "".join(f"{w.mnemonic}\n" for w in new).encode("utf-8")
        if not old_bytes:
            try:
                fsutil.create_new_file(self.seeds_path, added, "seeds")
            except FileExistsError:
                raise StoreError(f"{self.seeds_path} appeared while locked; it was not overwritten") from None
        else:
            fsutil.replace_with_superset(self.seeds_path, old_bytes, prefix + added, "seeds")
        # Read back what is now on disk and re-derive: only then may anything use the new wallets.
        _, on_disk = self._read_seeds()
        wallets = [*existing, *new]
        if len(on_disk) != len(wallets) or any(
            words != wallet.mnemonic for words, wallet in zip(on_disk, wallets, strict=True)
        ):
            raise StoreError(f"{self.seeds_path}: read-back after writing does not match")
        for wallet in new:
            again = Wallet.from_mnemonic(wallet.mnemonic, wallet.network, wallet.account, wallet.index)
            if again.address != wallet.address:
                raise StoreError(f"{self.seeds_path}: re-derivation after writing gave another address")
        self._write_public(wallets)
        for wallet in new:
            log.info("stored new wallet %s in %s", wallet.address, self.directory)
        return wallets

    def _write_public(self, wallets: list[Wallet]) -> None:
        keys = "".join(f"{w.payment_xpub_hex}\n" for w in wallets).encode()
        fsutil.write_public_file(self.keys_path, keys, "keys")
        doc = {
            "format": META_FORMAT,
            "wallets": [
                {
                    "line": line,
                    "network": w.network,
                    "account": w.account,
                    "index": w.index,
                    "path": w.path,
                    "address": w.address,
                    "enterprise_address": w.enterprise_address,
                    "pubkey": w.pubkey_hex,
                    "stake_pubkey": w.stake_pubkey_hex,
                }
                for line, w in enumerate(wallets, start=1)
            ],
        }
        fsutil.write_public_file(self.meta_path, (json.dumps(doc, indent=1) + "\n").encode(), "meta")
