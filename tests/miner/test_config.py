from __future__ import annotations

from pathlib import Path

import pytest

from scavenger.miner.config import (
    DEFAULT_BASE_URL,
    ConfigError,
    default_threads,
    load_config,
    start_warnings,
)


def test_defaults_follow_the_seed() -> None:
    config = load_config({})
    assert config.log_level == "info"
    assert config.threads == default_threads()
    assert config.max_wallets == 2
    assert config.enable_stats is False
    assert config.stats_report_interval == 10.0
    assert config.base_url == DEFAULT_BASE_URL
    assert config.root == Path("config")
    assert config.network == "mainnet"
    assert config.instance_slot is None
    assert config.metrics_port == 0
    assert config.tip_address is None
    assert (config.rom_size, config.pre_size) == (1 << 30, 16 << 20)


def test_environment_values_are_parsed() -> None:
    config = load_config(
        {
            "MINER_THREADS": "3",
            "MAX_WALLETS_PER_INSTANCE": "4",
            "ENABLE_STATS_BACKEND": "TRUE",
            "STATS_BEARER_TOKEN": "s3cret-token",
            "APP_BASE_URL": "http://127.0.0.1:8088/",
            "ROOT_CONF_PATH": "/tmp/x",
            "CARDANO_NETWORK": "testnet",
            "INSTANCE_SLOT": "7",
            "METRICS_PORT": "9100",
            "ASHMAIZE_ROM_SIZE": "1MiB",
            "ASHMAIZE_PRE_SIZE": "16KiB",
            "MINER_THREADS_UNUSED": "x",
        }
    )
    assert config.threads == 3
    assert config.max_wallets == 4
    assert config.enable_stats is True
    assert config.base_url == "http://127.0.0.1:8088"
    assert config.root == Path("/tmp/x")
    assert config.network == "testnet"
    assert config.instance_slot == 7
    assert config.metrics_port == 9100
    assert (config.rom_size, config.pre_size) == (1 << 20, 16 << 10)
    # The token never shows in a repr (logs, tracebacks).
    assert "s3cret-token" not in repr(config)


def test_backend_and_device() -> None:
    assert (load_config({}).backend, load_config({}).opencl_device) == ("cpu", None)
    config = load_config({"MINER_BACKEND": " OpenCL+CPU ", "OPENCL_DEVICE": "0:1"})
    assert (config.backend, config.opencl_device) == ("opencl+cpu", "0:1")
    assert load_config({"MINER_BACKEND": "opencl"}, backend="auto").backend == "auto"


def test_backend_names_match_the_core() -> None:
    from scavenger.core.backend import BACKENDS as CORE_BACKENDS
    from scavenger.miner.config import BACKENDS

    assert BACKENDS == CORE_BACKENDS


def test_empty_value_means_default() -> None:
    assert load_config({"MINER_THREADS": "", "INSTANCE_SLOT": " "}).instance_slot is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MINER_THREADS": "abc"}, "MINER_THREADS must be a whole number in 1..1024, got 'abc'"),
        ({"MINER_THREADS": "0"}, "MINER_THREADS must be a whole number in 1..1024, got '0'"),
        ({"MINER_THREADS": "2000"}, "MINER_THREADS must be a whole number in 1..1024, got '2000'"),
        ({"MAX_WALLETS_PER_INSTANCE": "-1"}, "MAX_WALLETS_PER_INSTANCE must be a whole number in 1..1000"),
        ({"MAX_WALLETS_PER_INSTANCE": "999999999"}, "MAX_WALLETS_PER_INSTANCE must be a whole number in"),
        ({"ENABLE_STATS_BACKEND": "maybe"}, "ENABLE_STATS_BACKEND must be true or false, got 'maybe'"),
        ({"APP_BASE_URL": "ftp://x"}, "APP_BASE_URL must be an http(s) URL"),
        ({"CARDANO_NETWORK": "moon"}, "CARDANO_NETWORK must be mainnet or testnet"),
        ({"METRICS_PORT": "70000"}, "METRICS_PORT must be a port number"),
        ({"STATS_REPORT_INTERVAL": "-5"}, "STATS_REPORT_INTERVAL must be a number of seconds in 1..3600"),
        ({"ASHMAIZE_ROM_SIZE": "lots"}, "ASHMAIZE_ROM_SIZE must be a size"),
        (
            {"ASHMAIZE_ROM_SIZE": "1KiB", "ASHMAIZE_PRE_SIZE": "2KiB"},
            "ASHMAIZE_PRE_SIZE is refused by the AshMaize core: pre_size (2048) must not be larger than size",
        ),
        # What the core refuses is refused at start, in the core's words (it used to fail every challenge).
        ({"ASHMAIZE_PRE_SIZE": "100"}, "ASHMAIZE_PRE_SIZE is refused by the AshMaize core: pre_size must"),
        ({"ASHMAIZE_ROM_SIZE": "1024GiB"}, "ASHMAIZE_ROM_SIZE is refused by the AshMaize core: size must be"),
        ({"ASHMAIZE_ROM_SIZE": "16777217"}, "core: size must be a multiple of 64"),
        ({"APP_BASE_URL": "http://[::1"}, "APP_BASE_URL must be an http(s) URL: Invalid IPv6 URL"),
        ({"APP_BASE_URL": "http://"}, "APP_BASE_URL must be an http(s) URL with a host"),
        ({"APP_BASE_URL": "http://h:99999"}, "APP_BASE_URL must be an http(s) URL: Port out of range"),
        ({"CHALLENGE_POLL_INTERVAL": "1e-300"}, "CHALLENGE_POLL_INTERVAL must be a number of seconds in 1."),
        ({"CHALLENGE_POLL_INTERVAL": "nan"}, "CHALLENGE_POLL_INTERVAL must be a number of seconds"),
        ({"CHALLENGE_POLL_INTERVAL": "inf"}, "CHALLENGE_POLL_INTERVAL must be a number of seconds"),
        # The real API rate-limits: polling it every 2 s is refused, a local simulator may be polled so.
        ({"CHALLENGE_POLL_INTERVAL": "2"}, "CHALLENGE_POLL_INTERVAL must be at least 10 s against the real"),
        ({"DONATE_SLEEP_DURATION": "-1"}, "DONATE_SLEEP_DURATION must be a number of seconds in 1..86400"),
        ({"DONATE_SLEEP_DURATION": "999999999"}, "DONATE_SLEEP_DURATION must be a number of seconds"),
        ({"METRICS_PORT": "1e-300"}, "METRICS_PORT must be a port number"),
        ({"TIP_ADDRESS": "bitcoin:xyz"}, "TIP_ADDRESS must be a bech32 Cardano address"),
        ({"INSTANCE_SLOT": "zero"}, "INSTANCE_SLOT must be a whole number in 1..9999"),
        ({"MINER_BACKEND": "cuda"}, "MINER_BACKEND must be one of cpu, opencl, auto, opencl+cpu, got 'cuda'"),
        ({"ENABLE_STATS_BACKEND": "true"}, "ENABLE_STATS_BACKEND is true but STATS_BEARER_TOKEN is empty"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env)
    assert message in str(info.value)


def test_cli_flags_override_environment_and_are_checked() -> None:
    config = load_config({"MINER_THREADS": "8"}, threads=2, root=Path("elsewhere"), base_url=None)
    assert config.threads == 2
    assert config.root == Path("elsewhere")
    with pytest.raises(ConfigError, match=r"MINER_THREADS must be a whole number in 1\.\.1024, got '0'"):
        load_config({}, threads=0)
    # A flag given on the command line is named as the flag, in rules between two settings too.
    with pytest.raises(ConfigError, match="--pre-size is refused by the AshMaize core"):
        load_config({}, flags_given={"ASHMAIZE_PRE_SIZE"}, pre_size="100")


def test_a_local_api_may_be_polled_every_second() -> None:
    config = load_config({"APP_BASE_URL": "http://127.0.0.1:8088", "CHALLENGE_POLL_INTERVAL": "1"})
    assert config.poll_interval == 1.0


def test_more_threads_than_cpus_is_a_warning_not_an_error() -> None:
    config = load_config({"MINER_THREADS": str(default_threads() + 1)})
    assert any("more than the" in line for line in start_warnings(config))
    assert start_warnings(load_config({"MINER_THREADS": "1"})) == []


def test_token_is_not_in_error_messages() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"STATS_BEARER_TOKEN": "tok-123", "MINER_THREADS": "x"})
    assert "tok-123" not in str(info.value)


def test_tip_address_is_checked_like_a_donation_list_line() -> None:
    from scavenger.wallet import Wallet

    good = Wallet.generate("mainnet").address
    assert load_config({"TIP_ADDRESS": good}).tip_address == good
    # One mistyped character still matches the bech32 alphabet but fails the checksum.
    typo = good[:-1] + ("q" if good[-1] != "q" else "p")
    with pytest.raises(ConfigError, match="TIP_ADDRESS is not a valid Cardano payment address"):
        load_config({"TIP_ADDRESS": typo})
