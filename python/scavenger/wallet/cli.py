"""``scavenger wallet new|list|import|export``.

Mnemonics are read from stdin or a hidden prompt, never from argv (visible in /proc and shell history),
and printed only by ``export --show-mnemonic`` with a warning on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from scavenger import settings
from scavenger.wallet import donate_list, kinds
from scavenger.wallet.address import Network, parse_network
from scavenger.wallet.errors import WalletError
from scavenger.wallet.store import WalletStore, wallets_dir

F = TypeVar("F", bound=Callable[..., Any])


def _store_options(func: F) -> F:
    """--config-dir, --slot and --network: the same settings (and variables) as every other command."""
    func = settings.option("CARDANO_NETWORK")(func)
    func = settings.option("INSTANCE_SLOT", default_text="1", help=_SLOT_HELP)(func)
    func = settings.option("ROOT_CONF_PATH")(func)
    return func


_SLOT_HELP = "Instance folder: wallets live in CONFIG/N/miner-N/wallets."


@dataclass(frozen=True)
class _Target:
    """Where a wallet command works: the config folder, the slot and the network (flag, else variable,
    else the declared default)."""

    root: Path
    slot: int
    network: Network

    def store(self) -> WalletStore:
        return WalletStore(wallets_dir(self.root, self.slot), self.network)

    def slot_wallets(self) -> list[Any]:
        """The slot's wallets, standard or legacy, read without writing anything."""
        loaded = kinds.load_slot_wallets(wallets_dir(self.root, self.slot), self.network, read_only=True)
        return loaded.wallets

    def require_slot(self) -> None:
        """Reading a slot that does not exist is an error, not an empty list."""
        if not (self.root / str(self.slot)).is_dir():
            raise click.ClickException(f"no slot {self.slot} in {self.root}")


def _target(config_dir: str | None, slot: int | None, network: str | None) -> _Target:
    given = {"ROOT_CONF_PATH": config_dir, "CARDANO_NETWORK": network}
    values = settings.read(given, given=given)
    return _Target(Path(values["ROOT_CONF_PATH"]), slot or 1, parse_network(values["CARDANO_NETWORK"]))


LEGACY_EXPORT_NOTE = (
    "These are legacy wallets of the original (whosbax) program: BIP39-seed Ed25519 keys with enterprise "
    "addresses (addr1v...). Eternl, Lace and Yoroi cannot restore them from their words (they would show "
    "other, empty addresses). Their rights move by consolidation instead: `scavenger mine` and "
    "`scavenger donate` assign them to your donation list, `scavenger legacy report` shows where they are "
    "assigned. See docs/migration.md."
)


def _public(line: int, wallet: Any) -> dict[str, Any]:
    if wallet.kind == "legacy":
        return {
            "line": line,
            "kind": "legacy",
            "network": wallet.network,
            "address": wallet.address,
            "pubkey": wallet.pubkey_hex,
            "path": "-",
        }
    return {
        "line": line,
        "kind": wallet.kind,
        "network": wallet.network,
        "account": wallet.account,
        "index": wallet.index,
        "path": wallet.path,
        "address": wallet.address,
        "enterprise_address": wallet.enterprise_address,
        "pubkey": wallet.pubkey_hex,
    }


def _run(action: Callable[[], None]) -> None:
    try:
        action()
    except (WalletError, ValueError) as exc:
        # Our exception texts never contain secrets (see errors.py), so they are safe to show.
        raise click.ClickException(str(exc)) from None


@click.group()
def wallet() -> None:
    """Create, list, import and export Cardano wallets (CIP-1852, restorable in Eternl/Lace/Yoroi)."""


@wallet.command("new")
@_store_options
@settings.plain_option("--count", type=click.IntRange(1, settings.MAX_WALLETS), default=1, metavar="N",
                       bound=f"1..{settings.MAX_WALLETS}", help="How many wallets to generate.")
def new_command(config_dir: str | None, slot: int | None, network: str | None, count: int) -> None:
    """Generate COUNT new 24-word wallets; their seeds are saved durably before the addresses are shown."""

    def action() -> None:
        store = _target(config_dir, slot, network).store()
        created = store.create(count)
        # Line numbers from a fresh load: another instance may have appended meanwhile.
        lines = {w.address: n for n, w in enumerate(store.load(), start=1)}
        for wallet in created:
            click.echo(f"{lines[wallet.address]}\t{wallet.address}")
        click.echo(f"seeds saved in {store.seeds_path}", err=True)

    _run(action)


@wallet.command("list")
@_store_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of objects) instead of a table.")
def list_command(config_dir: str | None, slot: int | None, network: str | None, as_json: bool) -> None:
    """List the wallets of an instance folder (public data only)."""

    def action() -> None:
        target = _target(config_dir, slot, network)
        target.require_slot()
        wallets = target.slot_wallets()
        rows = [_public(line, w) for line, w in enumerate(wallets, start=1)]
        if as_json:
            click.echo(json.dumps(rows, indent=1))
            return
        if not rows:
            click.echo(f"no wallets in slot {target.slot}", err=True)
            return
        # Tab-separated with a header: readable, and `cut -f2` still gives the addresses.
        click.echo("line\taddress\tpubkey\tpath\tkind")
        for row in rows:
            click.echo(f"{row['line']}\t{row['address']}\t{row['pubkey']}\t{row['path']}\t{row['kind']}")

    _run(action)


def _read_mnemonic() -> str:
    if sys.stdin.isatty():
        text: str = click.prompt("Mnemonic (input hidden)", hide_input=True, err=True)
        return text
    # Only the first line: a mnemonic is one line, and we never want to slurp an unrelated file.
    return sys.stdin.readline()


@wallet.command("import")
@_store_options
@settings.plain_option("--account", type=click.IntRange(0, 2**31 - 1), default=0, metavar="N",
                       bound="0..2147483647", help="CIP-1852 account of the address (m/1852'/1815'/N').")
@settings.plain_option("--index", "address_index", type=click.IntRange(0, 2**31 - 1), default=0, metavar="N",
                       bound="0..2147483647", help="Address index within the account (.../0/N).")
def import_command(
    config_dir: str | None, slot: int | None, network: str | None, account: int, address_index: int
) -> None:
    """Import a mnemonic read from stdin or a hidden prompt (never from the command line)."""

    def action() -> None:
        store = _target(config_dir, slot, network).store()
        added = store.add(_read_mnemonic(), account, address_index)
        click.echo(added.address)

    _run(action)


@wallet.command("export")
@_store_options
@settings.plain_option("--line", type=click.IntRange(min=1), default=None, metavar="N", bound="1 or more",
                       show_default="all", help="Only the wallet on this line.")
@click.option(
    "--show-mnemonic", is_flag=True, help="Also print the secret mnemonics (to restore in Eternl/Lace)."
)
@click.option(
    "--donate-list", is_flag=True, help="Export the generated donation wallets instead of the slot's wallets."
)
def export_command(
    config_dir: str | None,
    slot: int | None,
    network: str | None,
    line: int | None,
    show_mnemonic: bool,
    donate_list: bool,
) -> None:
    """Export wallets as JSON: public data, plus mnemonics only with --show-mnemonic."""

    def action() -> None:
        target = _target(config_dir, slot, network)
        wallets: list[Any]
        if donate_list:
            wallets = list(_load_donate_wallets(target.root, target.network))
        else:
            target.require_slot()
            wallets = target.slot_wallets()
        rows = []
        for number, w in enumerate(wallets, start=1):
            if line is not None and number != line:
                continue
            row = _public(number, w)
            if show_mnemonic and w.kind == "standard":
                row["mnemonic"] = w.mnemonic
            rows.append(row)
        if any(row["kind"] == "legacy" for row in rows):
            click.echo(LEGACY_EXPORT_NOTE, err=True)
        if line is not None and not rows:
            raise click.ClickException(f"no wallet on line {line} (there are {len(wallets)})")
        if show_mnemonic and any("mnemonic" in row for row in rows):
            click.echo(
                "WARNING: the output contains secret mnemonics. Anyone who sees them controls these "
                "wallets. Do not paste them into chats, tickets or logs.",
                err=True,
            )
        click.echo(json.dumps(rows, indent=1))

    _run(action)


def _load_donate_wallets(config_dir: Path, network: Network) -> tuple[Any, ...]:
    return donate_list.load(config_dir, network).wallets
