"""``scavenger wallet`` commands as real subprocesses (the installed console script)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scavenger.wallet import Wallet
from scavenger.wallet.store import WalletStore, wallets_dir
from timing import scaled

from .helpers import assert_no_secret

WORDS = "test walk nut penalty hip pave soap entry language right filter choice"


def run(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("CARDANO_NETWORK", "INSTANCE_SLOT")}
    full_env.update({"ROOT_CONF_PATH": str(tmp_path / "config"), **env})
    return subprocess.run(
        [str(Path(sys.executable).with_name("scavenger")), "wallet", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )


def test_new_list_export(tmp_path: Path) -> None:
    created = run(tmp_path, "new", "--count", "2", "--slot", "2")
    assert created.returncode == 0, created.stderr
    addresses = [line.split("\t")[1] for line in created.stdout.splitlines()]
    assert len(addresses) == 2 and all(a.startswith("addr1q") for a in addresses)
    store = WalletStore(wallets_dir(tmp_path / "config", 2), "mainnet")
    mnemonics = [w.mnemonic for w in store.load()]
    listed = run(tmp_path, "list", "--slot", "2", "--json")
    assert [row["address"] for row in json.loads(listed.stdout)] == addresses
    public = run(tmp_path, "export", "--slot", "2")
    assert public.returncode == 0 and "mnemonic" not in public.stdout
    for proc in (created, listed, public):
        assert_no_secret(proc.stdout + proc.stderr, mnemonics)
    secret = run(tmp_path, "export", "--slot", "2", "--line", "2", "--show-mnemonic")
    assert "WARNING" in secret.stderr
    (row,) = json.loads(secret.stdout)
    assert row["mnemonic"] == mnemonics[1] and row["address"] == addresses[1]
    assert Wallet.from_mnemonic(row["mnemonic"], "mainnet").address == addresses[1]


def test_import_from_stdin_and_errors(tmp_path: Path) -> None:
    imported = run(tmp_path, "import", "--network", "testnet", stdin=WORDS + "\n")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == Wallet.from_mnemonic(WORDS, "testnet").address
    again = run(tmp_path, "import", stdin=WORDS + "\n", CARDANO_NETWORK="testnet")
    assert again.returncode == 1 and "already stored at line 1" in again.stderr
    bad = run(tmp_path, "import", "--network", "testnet", stdin=WORDS.replace("choice", "walk") + "\n")
    assert bad.returncode == 1 and "checksum does not match" in bad.stderr
    assert_no_secret(bad.stderr + bad.stdout, [WORDS])
    wrong_net = run(tmp_path, "list")
    assert wrong_net.returncode == 1 and "wallet is for testnet" in wrong_net.stderr
    unknown = run(tmp_path, "list", "--network", "moon")
    assert unknown.returncode == 2 and "--network must be mainnet or testnet" in unknown.stderr
    from_env = run(tmp_path, "list", CARDANO_NETWORK="moon")
    assert from_env.returncode == 2 and "CARDANO_NETWORK must be mainnet or testnet" in from_env.stderr


@pytest.mark.parametrize("flag", ["--mnemonic", "--words"])
def test_no_argv_option_for_secrets(tmp_path: Path, flag: str) -> None:
    result = run(tmp_path, "import", flag, WORDS)
    assert result.returncode == 2 and "No such option" in result.stderr


def test_donate_list_export(tmp_path: Path) -> None:
    from scavenger.wallet import donate_list

    made = donate_list.ensure(tmp_path / "config", "mainnet")
    out = run(tmp_path, "export", "--donate-list")
    assert [row["address"] for row in json.loads(out.stdout)] == list(made.addresses)
    assert_no_secret(out.stdout, [w.mnemonic for w in made.wallets])


def test_ctrl_c_at_the_mnemonic_prompt_exits_130(tmp_path: Path) -> None:
    """Ctrl-C in any command exits 130, as shells expect (click alone would say "Aborted!" and exit 1)."""
    env = {**os.environ, "ROOT_CONF_PATH": str(tmp_path / "config")}
    with subprocess.Popen(
        [str(Path(sys.executable).with_name("scavenger")), "wallet", "import"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    ) as proc:
        time.sleep(scaled(1.5))  # waiting for the mnemonic on stdin
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err


def test_list_has_a_header_and_a_missing_slot_is_an_error(tmp_path: Path) -> None:
    created = run(tmp_path, "new", "--count", "1", "--slot", "1")
    assert created.returncode == 0, created.stderr
    listed = run(tmp_path, "list", "--slot", "1")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split("\t") == ["line", "address", "pubkey", "path", "kind"]
    assert row.split("\t")[1] == created.stdout.split("\t")[1].strip()
    # A slot that does not exist is an error for every reading command (it used to print [] and exit 0).
    for command in (["export"], ["list"], ["list", "--json"]):
        missing = run(tmp_path, *command, "--slot", "7")
        assert missing.returncode == 1 and missing.stdout == "", (command, missing.stdout)
        assert missing.stderr.strip() == f"Error: no slot 7 in {tmp_path / 'config'}", missing.stderr
