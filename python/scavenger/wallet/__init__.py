"""Cardano wallets: BIP39 -> CIP-1852 keys, Shelley addresses, CIP-8 signing, durable seed store."""

from scavenger.wallet.address import ShelleyAddress, decode_address
from scavenger.wallet.cip8 import SignedMessage
from scavenger.wallet.errors import AddressError, Cip8Error, MnemonicError, StoreError, WalletError
from scavenger.wallet.wallet import Wallet

__all__ = [
    "AddressError",
    "Cip8Error",
    "MnemonicError",
    "ShelleyAddress",
    "SignedMessage",
    "StoreError",
    "Wallet",
    "WalletError",
    "decode_address",
]
