"""Printing ``scavenger status``: a table per slot and the totals, or one JSON document.

Exit codes: 0 everything read (API figures fresh, cached, or skipped with ``--offline``); 3 shown, but
something is incomplete (a journal or wallets.json unreadable, API figures missing or stale: see
``problems``); 1 nothing to show (the config folder does not exist); 2 bad option (click's usage error).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from scavenger.miner.config import MinerConfig
from scavenger.miner.status import read_slots, status_document
from scavenger.miner.statusapi import ServerFigures, default_cache_dir, fetch_figures
from scavenger.redact import printable, redact_url

EXIT_OK = 0
EXIT_MISSING = 1
EXIT_INCOMPLETE = 3


def _short(address: str) -> str:
    return f"{address[:12]}…{address[-6:]}" if len(address) > 22 else address


def _night(value: float) -> str:
    return f"{value:,.6f}".rstrip("0").rstrip(".") if value else "0"


def _print_human(doc: dict[str, Any], console: Console) -> None:
    rates = doc["work_to_star_rate"]["star_per_receipt"]
    source = doc["work_to_star_rate"]["source"]
    if doc["offline"]:
        console.print("offline: no API figures; estimates need /work_to_star_rate (not asked)")
    elif rates is not None:
        shown = ", ".join(f"{r:,}" for r in rates[-3:])
        console.print(
            f"work_to_star_rate ({source}): {len(rates)} completed day(s), last: {shown} STAR/receipt"
        )
    for slot in doc["slots"]:
        state = {True: "[green]running[/]", False: "stopped", None: "?"}[slot["running"]]
        holder = slot["holder"]
        host = escape(printable(holder["host"])) if holder else ""  # from a file anyone may have written
        who = f" {host} pid {holder['pid']}" if holder and slot["running"] else ""
        table = Table(title=f"slot {slot['slot']} ({slot['instance']}) {state}{who}", title_justify="left")
        for column in ("address", "kind", "reg", "found", "acc", "pend", "exp", "receipts", "est NIGHT",
                       "server rcpts", "server NIGHT"):
            table.add_column(column, justify="left" if column in ("address", "kind") else "right")
        for w in slot["wallets"]:
            s = w["solutions"]
            server = w["server"]
            table.add_row(
                _short(w["address"]), w["kind"], "yes" if w["registered"] else "no",
                str(s["found"]), str(s["accepted"]), str(s["pending"]), str(s["expired"]),
                str(w["receipts"]), _night(w["estimated_night"]),
                str(server["crypto_receipts"]) if server else "-",
                _night(server["night_allocation_night"]) if server else "-",
            )
        t = slot["totals"]
        table.add_row(
            "total", "", f"{t['registered']}/{t['wallets']}", str(t["found"]), str(t["accepted"]),
            str(t["pending"]), str(t["expired"]), str(t["receipts"]), _night(t["estimated_night"]),
            str(t["server_crypto_receipts"]) if t["server_wallets"] else "-",
            _night(t["server_night_allocation_night"]) if t["server_wallets"] else "-", style="bold",
        )
        console.print(table)
    t = doc["totals"]
    console.print(
        f"[bold]all slots[/]: {t['wallets']} wallet(s), {t['registered']} registered, solutions found "
        f"{t['found']} accepted {t['accepted']} pending {t['pending']} expired {t['expired']}, receipts "
        f"{t['receipts']} ({t['receipts_unrated']} on days not rated yet), estimated "
        f"[bold]{_night(t['estimated_night'])} NIGHT[/]"
        + (f", server: {t['server_crypto_receipts']} receipts, "
           f"{_night(t['server_night_allocation_night'])} NIGHT" if t["server_wallets"] else "")
    )
    known = doc["challenges"]
    sources = ", ".join(f"{name} {count}" for name, count in known["by_source"].items())
    console.print(f"open challenges known: {known['open']}" + (f" ({sources})" if sources else ""))
    console.print(f"[dim]{doc['receipt_day_rule']}; 1 NIGHT = 1,000,000 STAR[/]")
    for problem in doc["problems"]:
        # Problems quote server replies and file contents: escaped, and never read as rich markup.
        console.print(f"[yellow]problem:[/] {escape(printable(problem))}")


def run_status(
    config: MinerConfig, *, as_json: bool, offline: bool, max_age: float, cache_dir: Path | None
) -> int:
    root = config.root
    if not root.is_dir():
        click.echo(f"status: config folder {root} does not exist (ROOT_CONF_PATH / --config-dir)", err=True)
        return EXIT_MISSING
    slots = read_slots(root)
    figures = ServerFigures()
    if not offline:
        addresses = [w.address for s in slots for w in s.wallets if w.registered]
        figures = asyncio.run(
            fetch_figures(config.base_url, addresses, cache_dir=cache_dir or default_cache_dir(),
                          max_age=max_age)
        )
        for slot in slots:
            for wallet in slot.wallets:
                wallet.server = figures.statistics.get(wallet.address)
        stale = sum(
            1 for s in slots for w in s.wallets if w.server is not None and w.server["source"] == "stale"
        )
        if stale:
            figures.problems.append(f"{stale} wallet(s) shown from a stale API cache")
    doc = status_document(
        root,
        slots,
        api_url=redact_url(config.base_url),
        offline=offline,
        rates=figures.rates,
        rates_source=figures.rates_source,
        problems=figures.problems,
    )
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        console = Console()
        # Piped output (less, a file) is not cut at rich's 80-column default.
        _print_human(doc, console if console.is_terminal else Console(width=140))
    return EXIT_INCOMPLETE if doc["problems"] else EXIT_OK
