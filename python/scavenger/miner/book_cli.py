"""``scavenger challenges list|import|export``: read, share or restore the fleet's challenge book by hand."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO

import click

from scavenger import settings
from scavenger.miner.book import MAX_BOOK_BYTES, BookError, ChallengeBook, export_document, parse_entries

_ROOT = settings.option("ROOT_CONF_PATH", dest="root")


def _book(root: str | None) -> ChallengeBook:
    return ChallengeBook(_root(root))


def _root(root: str | None) -> Path:
    return Path(settings.value("ROOT_CONF_PATH", root))


@click.group()
def challenges() -> None:
    """The fleet's challenge book (ROOT_CONF_PATH/challenge_book.json): open challenges any instance saw."""


@challenges.command("list")
@_ROOT
@click.option("--json", "as_json", is_flag=True, help="Print the book's open challenges as JSON.")
def list_(root: str | None, as_json: bool) -> None:
    """List the open challenges in the book, nearest deadline first."""
    entries = _book(root).open_entries()
    if as_json:
        click.echo(json.dumps(export_document(entries), indent=1))
        return
    if not entries:
        click.echo(f"no open challenge in {_root(root) / 'challenge_book.json'}")
        return
    now = time.time()
    click.echo(f"{'challenge':<12} {'difficulty':<10} {'closes in':>9}  {'source':<8} first seen")
    for e in entries:
        left = int(e.deadline - now)
        click.echo(
            f"{e.challenge_id:<12} {e.challenge['difficulty']:<10} {left // 3600:>5}h{left % 3600 // 60:02d}m"
            f"  {e.source:<8} {e.first_seen}"
        )


def _read_document(handle: IO[bytes], name: str) -> object:
    data = handle.read(MAX_BOOK_BYTES + 1)
    if len(data) > MAX_BOOK_BYTES:
        raise click.ClickException(f"{name}: larger than {MAX_BOOK_BYTES} bytes; not a challenge list")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise click.ClickException(f"{name}: not valid JSON") from None


@challenges.command("import")
@_ROOT
@click.argument("file", type=click.File("rb"))
def import_(root: str | None, file: IO[bytes]) -> None:
    """Add the open challenges of FILE ('-' for stdin) to the book.

    FILE may be an export of this command, a /challenge reply or a list of them, or challenge objects.
    Closed, malformed or implausible entries are skipped and counted."""
    name = getattr(file, "name", "input")
    document = _read_document(file, str(name))
    entries, rejected = parse_entries(document, time.time(), "import")
    try:
        added = _book(root).add([(e.challenge, "import") for e in entries])
    except BookError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{added} new open challenge(s) added, {len(entries) - added} already known, {len(rejected)} skipped"
    )
    for reason in rejected[:5]:
        click.echo(f"  skipped: {reason}", err=True)


@challenges.command("export")
@_ROOT
def export(root: str | None) -> None:
    """Print the book's open challenges as JSON (for `scavenger challenges import` elsewhere)."""
    json.dump(export_document(_book(root).open_entries()), sys.stdout, indent=1)
    sys.stdout.write("\n")
