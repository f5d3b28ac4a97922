"""Subprocess used by the crash and concurrency tests (run as a script, not collected by pytest).

    worker.py store <dir> <network> <count> [pause] create <count> wallets one at a time
    worker.py ensure <dir> <network> <count>       WalletStore.ensure(count)
    worker.py donate <config_dir> <network>        donate_list.ensure

After each wallet is returned to it, the worker prints ``USED <address>`` and flushes: from that moment
the test treats the wallet as used (registered, mined with) and requires its seed to be on disk.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from scavenger.wallet import donate_list
from scavenger.wallet.store import WalletStore


def _wait_for_go() -> None:
    """Start barrier: wait (bounded) until the test creates the file named by WALLET_TEST_GO."""
    go = os.environ.get("WALLET_TEST_GO")
    deadline = time.monotonic() + 30
    while go and not Path(go).exists():
        if time.monotonic() > deadline:
            raise SystemExit("start barrier never opened")
        time.sleep(0.005)


def main(argv: list[str]) -> int:
    mode, target, network = argv[0], argv[1], argv[2]
    print("READY", flush=True)
    _wait_for_go()
    if mode == "store":
        store = WalletStore(target, network)
        pause = float(argv[4]) if len(argv) > 4 else 0.0
        for _ in range(int(argv[3])):
            for wallet in store.create(1):
                print(f"USED {wallet.address}", flush=True)
            # Outside the lock: lets concurrent workers interleave their wallets.
            time.sleep(pause)
    elif mode == "ensure":
        for wallet in WalletStore(target, network).ensure(int(argv[3])):
            print(f"USED {wallet.address}", flush=True)
    elif mode == "donate":
        for address in donate_list.ensure(target, network).addresses:
            print(f"LIST {address}", flush=True)
    else:
        print(f"unknown mode {mode}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
