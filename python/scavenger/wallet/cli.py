"""``scavenger wallet new|list|import|export``.

Mnemonics are read from stdin or a hidden prompt, never from argv (visible in /proc and shell history),
and printed only by ``export --show-mnemonic`` with a warning on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from scavenger.wallet import donate_list
from scavenger.wallet.address import parse_network
from scavenger.wallet.errors import WalletError
from scavenger.wallet.store import WalletStore, wallets_dir
from scavenger.wallet.wallet import Wallet

F = TypeVar("F", bound=Callable[..., Any])


def _network(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        return parse_network(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _store_options(func: F) -> F:
    func = click.option(
        "--network",
        envvar="CARDANO_NETWORK",
        default="mainnet",
        show_default=True,
        callback=_network,
        help="mainnet or testnet (env CARDANO_NETWORK).",
    )(func)
    func = click.option(
        "--slot",
        envvar="INSTANCE_SLOT",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="Instance folder number: wallets live in <config>/<n>/miner-<n>/wallets (env INSTANCE_SLOT).",
    )(func)
    func = click.option(
        "--config-dir",
        envvar="ROOT_CONF_PATH",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("config"),
        show_default=True,
        help="Root configuration folder (env ROOT_CONF_PATH).",
    )(func)
    return func


def _store(config_dir: Path, slot: int, network: str) -> WalletStore:
    return WalletStore(wallets_dir(config_dir, slot), network)


def _public(line: int, wallet: Wallet) -> dict[str, Any]:
    return {
        "line": line,
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
@click.option("--count", type=click.IntRange(min=1, max=1000), default=1, show_default=True)
def new_command(config_dir: Path, slot: int, network: str, count: int) -> None:
    """Generate COUNT new 24-word wallets; their seeds are saved durably before the addresses are shown."""

    def action() -> None:
        store = _store(config_dir, slot, network)
        created = store.create(count)
        # Line numbers from a fresh load: another instance may have appended meanwhile.
        lines = {w.address: n for n, w in enumerate(store.load(), start=1)}
        for wallet in created:
            click.echo(f"{lines[wallet.address]}\t{wallet.address}")
        click.echo(f"seeds saved in {store.seeds_path}", err=True)

    _run(action)


@wallet.command("list")
@_store_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(config_dir: Path, slot: int, network: str, as_json: bool) -> None:
    """List the wallets of an instance folder (public data only)."""

    def action() -> None:
        wallets = _store(config_dir, slot, network).load(read_only=True)
        rows = [_public(line, w) for line, w in enumerate(wallets, start=1)]
        if as_json:
            click.echo(json.dumps(rows, indent=1))
            return
        if not rows:
            click.echo("no wallets", err=True)
        for row in rows:
            click.echo(f"{row['line']}\t{row['address']}\t{row['pubkey']}\t{row['path']}")

    _run(action)


def _read_mnemonic() -> str:
    if sys.stdin.isatty():
        text: str = click.prompt("Mnemonic (input hidden)", hide_input=True, err=True)
        return text
    # Only the first line: a mnemonic is one line, and we never want to slurp an unrelated file.
    return sys.stdin.readline()


@wallet.command("import")
@_store_options
@click.option("--account", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True)
@click.option("--index", "address_index", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True)
def import_command(config_dir: Path, slot: int, network: str, account: int, address_index: int) -> None:
    """Import a mnemonic read from stdin or a hidden prompt (never from the command line)."""

    def action() -> None:
        store = _store(config_dir, slot, network)
        added = store.add(_read_mnemonic(), account, address_index)
        click.echo(added.address)

    _run(action)


@wallet.command("export")
@_store_options
@click.option("--line", type=click.IntRange(min=1), default=None, help="Only the wallet on this line.")
@click.option(
    "--show-mnemonic", is_flag=True, help="Also print the secret mnemonics (to restore in Eternl/Lace)."
)
@click.option(
    "--donate-list", is_flag=True, help="Export the generated donation wallets instead of the slot's wallets."
)
def export_command(
    config_dir: Path, slot: int, network: str, line: int | None, show_mnemonic: bool, donate_list: bool
) -> None:
    """Export wallets as JSON: public data, plus mnemonics only with --show-mnemonic."""

    def action() -> None:
        if donate_list:
            wallets = list(_load_donate_wallets(config_dir, network))
        else:
            wallets = _store(config_dir, slot, network).load(read_only=True)
        rows = []
        for number, w in enumerate(wallets, start=1):
            if line is not None and number != line:
                continue
            row = _public(number, w)
            if show_mnemonic:
                row["mnemonic"] = w.mnemonic
            rows.append(row)
        if line is not None and not rows:
            raise click.ClickException(f"no wallet on line {line} (there are {len(wallets)})")
        if show_mnemonic:
            click.echo(
                "WARNING: the output contains secret mnemonics. Anyone who sees them controls these "
                "wallets. Do not paste them into chats, tickets or logs.",
                err=True,
            )
        click.echo(json.dumps(rows, indent=1))

    _run(action)


def _load_donate_wallets(config_dir: Path, network: str) -> tuple[Wallet, ...]:
    return donate_list.load(config_dir, network).wallets
