"""Settings are declared once (scavenger.settings): every command's --help, its errors and the docs' tables
follow from that declaration, and a bad value behaves the same in every command."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from scavenger import settings
from scavenger.cli import cli
from scavenger.envparse import ConfigError
from scavenger.settings_docs import DOCUMENTS, blocks, stale

ROOT = Path(__file__).resolve().parent.parent
# Absurd values from the hardening issue: each must be refused, with one line naming the variable.
ABSURD = ("1e-300", "nan", "inf", "-1", "999999999999", "lots")
LARGE_OK = {  # an amount in STAR (10^-6 NIGHT), a 64-bit seed: 10^12 is a normal value
    "SCAVENGER_SIM_DAILY_POOL_STAR", "SCAVENGER_SIM_FAULT_SEED"
}


def _commands(
    group: click.Group, ctx: click.Context, prefix: str = ""
) -> Iterator[tuple[str, click.Command]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from _commands(command, click.Context(command, info_name=name, parent=ctx), path + " ")
        else:
            yield path, command


def all_commands() -> list[tuple[str, click.Command]]:
    return list(_commands(cli, click.Context(cli, info_name="scavenger")))


def test_the_docs_tables_are_generated_from_the_declarations() -> None:
    # If this fails: run `python -m scavenger.settings_docs` and commit the result.
    assert stale(ROOT) == []
    assert "all" in blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    documented = "".join((ROOT / name).read_text(encoding="utf-8") for name in DOCUMENTS)
    for name in settings.SETTINGS:
        assert f"`{name}`" in documented, name


@pytest.mark.parametrize(("path", "command"), all_commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_help_has_one_style(path: str, command: click.Command) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # help is wrapped at any space
    assert not re.search(r"[\[(]env [A-Z]", text), "old help style: [env X, default Y]"
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden or param.name == "help":
            continue
        assert param.help, f"{path} {param.opts[0]} has no help"
        if isinstance(param, settings.SettingOption):
            # The variable and the declared default (or this command's own) are shown, as written.
            assert f"env var: {param.setting.env}" in text, (path, param.opts)
            assert f"default: {param.default_text}" in text, (path, param.opts)
        elif param.envvar:
            pytest.fail(f"{path} {param.opts[0]} reads {param.envvar} without a declaration in settings.py")


def test_every_flag_of_a_declared_setting_is_used_by_a_command() -> None:
    used = {
        param.setting.env
        for _, command in all_commands()
        for param in command.params
        if isinstance(param, settings.SettingOption)
    }
    with_flag = {name for name, s in settings.SETTINGS.items() if s.flag}
    assert with_flag <= used, with_flag - used


def test_demo_help_tells_the_truth() -> None:
    text = " ".join(CliRunner().invoke(cli, ["demo", "--help"]).output.split())
    assert "default: ./demo-config" in text and "default: 64MiB" in text
    assert "--api-url" not in text  # the demo mines against the simulator it starts


@pytest.mark.parametrize("name", sorted(settings.SETTINGS))
def test_absurd_values_are_refused_or_are_text(name: str) -> None:
    setting = settings.SETTINGS[name]
    for text in ABSURD:
        if name in LARGE_OK and text == "999999999999":
            continue
        try:
            value = setting.parse(name, text)
        except ConfigError as exc:
            message = str(exc)
            assert message.startswith(name) and "\n" not in message, message
        else:
            if name in ("ASHMAIZE_ROM_SIZE", "ASHMAIZE_PRE_SIZE"):
                # A size parses; the core's rule refuses it before anything starts.
                other = "ASHMAIZE_PRE_SIZE" if name == "ASHMAIZE_ROM_SIZE" else "ASHMAIZE_ROM_SIZE"
                sizes = {name: value, other: settings.SETTINGS[other].default}
                with pytest.raises(ConfigError, match=f"^{name} is refused by the AshMaize core"):
                    settings.check_rom(sizes["ASHMAIZE_ROM_SIZE"], sizes["ASHMAIZE_PRE_SIZE"],
                                       settings.labels(()))
                continue
            # Only free text (hosts, names, tokens, paths) may take these.
            assert isinstance(value, str), (name, text, value)


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["bench"], {"ASHMAIZE_ROM_SIZE": "lots"}, "Error: ASHMAIZE_ROM_SIZE must be a size"),
        (["bench", "--rom-size", "lots"], {}, "Error: --rom-size must be a size"),
        (["mine"], {"ASHMAIZE_ROM_SIZE": "lots"}, "Error: ASHMAIZE_ROM_SIZE must be a size"),
        (["mine", "--rom-size", "100"], {}, "Error: --rom-size is refused by the AshMaize core"),
        (["mine"], {"ASHMAIZE_PRE_SIZE": "100"}, "Error: ASHMAIZE_PRE_SIZE is refused by the AshMaize core"),
        (["mine"], {"MINER_THREADS": "2000"}, "Error: MINER_THREADS must be a whole number in 1..1024"),
        (["mine", "--threads", "2000"], {}, "Error: --threads must be a whole number in 1..1024"),
        (["mine"], {"APP_BASE_URL": "http://[::1"}, "Error: APP_BASE_URL must be an http(s) URL"),
        (["mine"], {"CHALLENGE_POLL_INTERVAL": "1e-300"}, "Error: CHALLENGE_POLL_INTERVAL must be a number"),
        (["demo"], {"MAX_WALLETS_PER_INSTANCE": "999999999"}, "Error: MAX_WALLETS_PER_INSTANCE must be"),
        (["donate", "--api-url", "ftp://x"], {}, "Error: --api-url must be an http(s) URL"),
        (["slots"], {"APP_LOG_LEVEL": "loud"}, "Error: APP_LOG_LEVEL must be one of"),
        (["wallet", "list"], {"INSTANCE_SLOT": "0"}, "Error: INSTANCE_SLOT must be a whole number"),
        (["stats-backend"], {"BACKEND_PORT": "99999"}, "Error: BACKEND_PORT must be a whole number in 1..6"),
        (["stats-backend"], {"STATS_BEARER_TOKEN": "x" * 20, "STATS_DB_TIMEOUT": "nan"}, "STATS_DB_TIMEOUT"),
        (["simulate"], {"SCAVENGER_SIM_DAYS": "inf"}, "Error: SCAVENGER_SIM_DAYS must be a whole number"),
        (["simulate", "--pre-size", "100"], {}, "Error: --pre-size is refused by the AshMaize core"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2_in_every_command(
    args: list[str], env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    full_env = {"ROOT_CONF_PATH": str(tmp_path / "config"), **env}
    result = CliRunner().invoke(cli, args, env=full_env)
    assert result.exit_code == settings.EXIT_BAD_SETTING, result.output
    assert expected in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "config").exists()  # nothing started: no slot claimed


def test_the_simulator_defaults_are_the_simulators() -> None:
    from scavenger.sim.simulator import DEFAULT_DAILY_POOL_STAR, DEFAULT_NETWORK_RECEIPTS

    assert settings.SETTINGS["SCAVENGER_SIM_DAILY_POOL_STAR"].default == DEFAULT_DAILY_POOL_STAR
    assert settings.SETTINGS["SCAVENGER_SIM_NETWORK_RECEIPTS"].default == DEFAULT_NETWORK_RECEIPTS


def test_backend_names_are_the_cores() -> None:
    from scavenger.core.backend import BACKENDS

    assert settings.BACKENDS == BACKENDS
