"""The ``scavenger`` command. Each domain owns its subcommands; they are imported only when used,
so ``scavenger --help`` stays fast and one broken domain cannot stop the others from running."""

from __future__ import annotations

import importlib
import sys

import click

from scavenger import exits

# name -> "module:attribute" of a click command; one line per subcommand, owned by its domain.
_COMMANDS: dict[str, tuple[str, str]] = {
    "challenges": ("scavenger.miner.book_cli:challenges", "List, import or export the challenge book."),
    "bench": ("scavenger.core.cli:bench", "Benchmark the AshMaize core at the real parameters."),
    "devices": ("scavenger.core.cli:devices", "List the OpenCL devices the opencl backend can use."),
    "wallet": ("scavenger.wallet.cli:wallet", "Create, list, import and export Cardano wallets."),
    "simulate": ("scavenger.sim.cli:simulate", "Run a local simulator of the Scavenger Mine API."),
    "mine": ("scavenger.miner.cli:mine", "Mine: claim a slot, register wallets, solve every open challenge."),
    "demo": ("scavenger.miner.cli:demo", "Mine against a local simulator (no real network needed)."),
    "slots": ("scavenger.miner.cli:slots", "List instance slots and who holds them."),
    "status": ("scavenger.miner.cli:status", "Wallets, solutions, receipts and NIGHT per slot."),
    "donate": ("scavenger.miner.cli:donate", "Assign every wallet's rights to the donation list now."),
    "legacy": ("scavenger.miner.cli:legacy", "Original program's wallets: settle, report, reassign rights."),
    "stats-backend": ("scavenger.stats.cli:stats_backend", "Run the PostgreSQL statistics service."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, _, attr = entry[0].partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return None
        command = getattr(module, attr, None)
        return command if isinstance(command, click.Command) else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="midnight-scavenger")
def cli() -> None:
    """Midnight Scavenger Mine miner."""


def main() -> None:
    """``scavenger``: click's standalone handling, except that Ctrl-C exits 130 as shells expect (click says
    "Aborted!", status 1). Commands that run until stopped handle SIGINT themselves, same status."""
    try:
        status = cli.main(standalone_mode=False)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt) or isinstance(exc.__cause__, KeyboardInterrupt):
            sys.exit(exits.INTERRUPTED)
        click.echo("Aborted!", err=True)
        sys.exit(exits.FAILURE)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(status if isinstance(status, int) else exits.OK)
