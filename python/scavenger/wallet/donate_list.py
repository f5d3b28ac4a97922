"""Shared donation list: ``config/donate_list.txt`` + ``config/donate_list_seed.txt``.

``donate_list.txt`` holds destination addresses (one per line, ``#`` comments and blank lines ignored);
users may write their own. If it is absent, ``ensure`` generates ``count`` wallets and writes their
mnemonics to ``donate_list_seed.txt`` durably BEFORE publishing the list. Unlike the seed program:

* there is no hard-coded author address;
* neither file is ever overwritten: both are published with ``link()`` (fails if the file exists),
  under an exclusive flock, so concurrent creators (processes or containers on one bind mount)
  converge on the first complete list;
* an existing seed file is reused (never regenerated) if a crash happened between the two files;
* an empty or invalid ``donate_list.txt`` is an error, never a reason to regenerate.

The generated destination wallets must be registered before donations to them can succeed; the
``wallets`` field gives the miner what it needs to do that.

A list the original program generated is read as it is: its ``donate_list_seed.txt`` mnemonics use the
legacy derivation (``BIP39-seed[0:32]``, enterprise address), recognised by matching the list's addresses,
so those destinations can be registered (the original never did) and used. Its last line is its author's
address (``ORIGINAL_AUTHOR_ADDRESS``); the miner reports it and leaves it out (docs/migration.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from scavenger.wallet import address as addr
from scavenger.wallet import fsutil, legacy
from scavenger.wallet.address import Network
from scavenger.wallet.errors import AddressError, MnemonicError, StoreError
from scavenger.wallet.wallet import Wallet

log = logging.getLogger(__name__)

LIST_FILE = "donate_list.txt"
SEED_FILE = "donate_list_seed.txt"
LOCK_FILE = ".donate_list.lock"
DEFAULT_COUNT = 3
# The address the original program (whosbax/midnight-scavenger) appended to every list it generated; known
# only to recognise it, never added by this program.
ORIGINAL_AUTHOR_ADDRESS = (
    "addr1q8cd35r4dcrl4k4prmqwjutyrl677xyjw7re82x6vm4t7vtmrd3ueldxpq74m47dtr03ppesr5ral6plt7acy5gjph5surek0h"
)


@dataclass(frozen=True)
class DonateList:
    """Destination addresses and the wallets we hold the mnemonics of (the generated ones)."""

    addresses: tuple[str, ...]
    wallets: tuple[Wallet | legacy.LegacyWallet, ...]


def list_path(config_dir: Path | str) -> Path:
    return Path(config_dir) / LIST_FILE


def seed_path(config_dir: Path | str) -> Path:
    return Path(config_dir) / SEED_FILE


def _read_addresses(path: Path, network: Network) -> tuple[str, ...] | None:
    data = fsutil.read_file(path)
    if data is None:
        return None
    try:
        text = data.decode("utf-8-sig")  # Windows editors start UTF-8 files with a byte order mark
    except UnicodeDecodeError:
        raise StoreError(f"{path}: not UTF-8 text") from None
    addresses: list[str] = []
    # Lines end at "\n" only (a "\r" before it is stripped below): splitlines() also splits at \x0b, \x1c,
    # \x85, U+2028..., so a comment holding one of them became a bogus address line, and the line numbers
    # in errors no longer matched what an editor shows.
    for number, line in enumerate(text.split("\n"), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        try:
            addresses.append(addr.validate_payment_address(entry, network).text)
        except AddressError as exc:
            raise StoreError(f"{path}, line {number}: {exc}") from None
    if not addresses:
        raise StoreError(
            f"{path} contains no address: write your destination addresses in it (one per line), "
            "or move it away to let a list be generated"
        )
    return tuple(dict.fromkeys(addresses))


def _read_seed_wallets(
    path: Path, network: Network, listed: tuple[str, ...] = ()
) -> tuple[Wallet | legacy.LegacyWallet, ...] | None:
    """The destination wallets of ``path``: standard, or legacy where that is the address the list holds."""
    data = fsutil.read_file(path)
    if data is None:
        return None
    fsutil.check_private_file(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise StoreError(f"{path}: not UTF-8 text") from None
    wallets: list[Wallet | legacy.LegacyWallet] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            wallet: Wallet | legacy.LegacyWallet = Wallet.from_mnemonic(line, network)
        except MnemonicError as exc:
            raise StoreError(f"{path}, line {number}: {exc}") from None
        if wallet.address not in listed:
            old = legacy.LegacyWallet(line, network, number)
            if old.address in listed:
                wallet = old  # the original program's derivation: the list names its enterprise address
        wallets.append(wallet)
    if not wallets:
        raise StoreError(f"{path} exists but holds no mnemonic; it is left untouched")
    return tuple(wallets)


def load(config_dir: Path | str, network: Network | str) -> DonateList:
    """Read and validate the list (and the generated wallets' seeds if present)."""
    net = addr.parse_network(network)
    addresses = _read_addresses(list_path(config_dir), net)
    if addresses is None:
        raise StoreError(f"{list_path(config_dir)} does not exist")
    wallets = _read_seed_wallets(seed_path(config_dir), net, addresses) or ()
    return DonateList(addresses, wallets)


def ensure(config_dir: Path | str, network: Network | str, count: int = DEFAULT_COUNT) -> DonateList:
    """Load the list, creating it (and its seeds, first) if it does not exist yet."""
    try:
        return _ensure(Path(config_dir), addr.parse_network(network), count)
    except OSError as exc:
        raise StoreError(fsutil.describe_os_error(exc, Path(config_dir))) from None


def _ensure(config_dir: Path, net: Network, count: int) -> DonateList:
    config = config_dir
    if list_path(config).exists():
        return load(config, net)
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    fsutil.make_dirs(config)  # durably: the seed file's folder entry must survive a power cut too
    with fsutil.locked(config / LOCK_FILE):
        if list_path(config).exists():  # another process finished while we waited
            return load(config, net)
        fsutil.remove_stale_temps(config, (SEED_FILE, LIST_FILE))
        wallets = _read_seed_wallets(seed_path(config), net)
        if wallets is None:
            generated = tuple(Wallet.generate(net) for _ in range(count))
            data = "".join(f"{w.mnemonic}\n" for w in generated).encode()
            seeds = seed_path(config)
            try:
                fsutil.create_new_file(seeds, data, "donate_seeds")
            except FileExistsError:
                raise StoreError(f"{seeds} appeared while locked; it was not overwritten") from None
            wallets = _read_seed_wallets(seed_path(config), net)
            if wallets is None or [w.address for w in wallets] != [w.address for w in generated]:
                raise StoreError(f"{seed_path(config)}: read-back after writing does not match")
            log.info("generated %d donation wallets in %s", len(wallets), seed_path(config))
        else:
            log.warning("reusing the existing %s to rebuild the missing %s", SEED_FILE, LIST_FILE)
        listing = "".join(f"{w.address}\n" for w in wallets).encode()
        try:
            fsutil.create_new_file(list_path(config), listing, "donate_list")
        except FileExistsError:
            log.info("%s was created by another writer; keeping it", list_path(config))
        return load(config, net)


__all__ = [
    "DEFAULT_COUNT",
    "LIST_FILE",
    "ORIGINAL_AUTHOR_ADDRESS",
    "SEED_FILE",
    "DonateList",
    "ensure",
    "load",
]
