"""Subprocess used by the crash and concurrency tests (run as a script, not collected by pytest).

    worker.py store <dir> <network> <count>        create <count> wallets one at a time
    worker.py ensure <dir> <network> <count>       WalletStore.ensure(count)
    worker.py donate <config_dir> <network>        donate_list.ensure

After each wallet is returned to it, the worker prints ``USED <address>`` and flushes: from that moment
the test treats the wallet as used (registered, mined with) and requires its seed to be on disk.
"""

from __future__ import annotations

import sys

from scavenger.wallet import donate_list
from scavenger.wallet.store import WalletStore


def main(argv: list[str]) -> int:
    mode, target, network = argv[0], argv[1], argv[2]
    if mode == "store":
        store = WalletStore(target, network)
        print("READY", flush=True)
        for _ in range(int(argv[3])):
            for wallet in store.create(1):
                print(f"USED {wallet.address}", flush=True)
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
