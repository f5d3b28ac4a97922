"""Exception types of the wallet layer.

Every message names what was wrong (a file, a line number, a word position) but never a secret:
mnemonics and private keys are kept out of every exception text on purpose, because exceptions end
up in logs, tracebacks and bug reports.
"""

from __future__ import annotations


class WalletError(Exception):
    """Base class of every wallet-layer error."""


class MnemonicError(WalletError, ValueError):
    """A mnemonic is malformed (word count, unknown word, checksum). Never echoes the words."""


class DerivationError(WalletError, ValueError):
    """A key path or key material is invalid."""


class AddressError(WalletError, ValueError):
    """A Shelley address is malformed or not of an accepted kind/network."""


class Cip8Error(WalletError, ValueError):
    """A CIP-8 COSE_Sign1 message is malformed or its signature does not verify."""


class StoreError(WalletError):
    """The on-disk wallet store is corrupt, inconsistent, unsafe or cannot be written."""


class LegacyWalletError(StoreError):
    """The folder was written by the seed program's non-standard derivation (whosbax)."""


class AmbiguousWalletsError(StoreError):
    """A ``seeds.txt`` this program did not write, without ``keys.hex``: its words could mean either the
    original program's legacy keys or standard CIP-1852 wallets (different addresses). Nothing is derived
    until ``scavenger legacy settle`` records which."""
