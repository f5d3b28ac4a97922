"""The ``Wallet``: one CIP-1852 payment address of a BIP-39 mnemonic, able to sign like CIP-30 signData."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from scavenger.wallet import address as addr
from scavenger.wallet import bip39, cip8, hd
from scavenger.wallet.address import Network
from scavenger.wallet.errors import DerivationError


@dataclass(frozen=True, eq=False)
class Wallet:
    """A wallet = mnemonic + account + address index on a network.

    Addresses are those Eternl/Lace/Yoroi show after restoring the mnemonic (Icarus master key,
    payment key ``m/1852'/1815'/account'/0/index``, stake key ``m/1852'/1815'/account'/2/0``).
    The mnemonic and the private keys are excluded from repr/str, equality and pickling-by-repr;
    read ``.mnemonic`` only to write it to the store or to show it on explicit request.
    """

    kind: ClassVar[str] = "standard"  # as opposed to the original program's LegacyWallet
    mnemonic: str = field(repr=False)
    network: Network
    account: int
    index: int
    address: str
    enterprise_address: str
    pubkey_hex: str
    stake_pubkey_hex: str
    payment_xpub_hex: str
    _payment_key: hd.ExtendedPrivateKey = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"Wallet(address={self.address}, network={self.network}, account={self.account}, "
            f"index={self.index}, pubkey={self.pubkey_hex})"
        )

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Wallet):
            return NotImplemented
        return (self.address, self.account, self.index) == (other.address, other.account, other.index)

    def __hash__(self) -> int:
        return hash((self.address, self.account, self.index))

    def __reduce__(self) -> Any:
        # Pickle re-derives from the mnemonic instead of copying private key bytes around.
        return (Wallet.from_mnemonic, (self.mnemonic, self.network, self.account, self.index))

    @classmethod
    def from_mnemonic(cls, words: str, network: Network | str, account: int = 0, index: int = 0) -> Wallet:
        """Derive the wallet; raises MnemonicError (never echoing words) or DerivationError."""
        net = addr.parse_network(network)
        normalized = bip39.normalize(words)
        root = hd.master_key_from_mnemonic(normalized)
        acct = root.derive(hd.account_path(account))
        payment = acct.derive([hd.ROLE_EXTERNAL, hd.check_index("address index", index)])
        stake = acct.derive([hd.ROLE_STAKE, 0])
        pay_hash = addr.key_hash(payment.public_key)
        stake_hash = addr.key_hash(stake.public_key)
        return cls(
            mnemonic=normalized,
            network=net,
            account=account,
            index=index,
            address=addr.base_address(pay_hash, stake_hash, net),
            enterprise_address=addr.enterprise_address(pay_hash, net),
            pubkey_hex=payment.public_key.hex(),
            stake_pubkey_hex=stake.public_key.hex(),
            payment_xpub_hex=payment.xpub.hex(),
            _payment_key=payment,
        )

    @classmethod
    def generate(cls, network: Network | str, account: int = 0, index: int = 0) -> Wallet:
        """A new wallet from a fresh 24-word mnemonic (OS CSPRNG).

        The caller must store the mnemonic durably before using the wallet (WalletStore does).
        """
        wallet = cls.from_mnemonic(bip39.generate(), network, account, index)
        # Re-parse and re-derive: a wallet whose words do not give back the same address must never be used.
        again = cls.from_mnemonic(wallet.mnemonic, network, account, index)
        if again.address != wallet.address or again.pubkey_hex != wallet.pubkey_hex:
            raise DerivationError("re-derivation of a freshly generated wallet gave a different address")
        return wallet

    @property
    def path(self) -> str:
        return hd.payment_path(self.account, self.index)

    @property
    def address_bytes(self) -> bytes:
        return addr.decode_address(self.address).raw

    @property
    def enterprise_address_bytes(self) -> bytes:
        return addr.decode_address(self.enterprise_address).raw

    @property
    def pubkey(self) -> bytes:
        return bytes.fromhex(self.pubkey_hex)

    @property
    def payment_key_hash(self) -> bytes:
        return addr.key_hash(self.pubkey)

    @property
    def reward_address(self) -> str:
        return addr.reward_address(addr.key_hash(bytes.fromhex(self.stake_pubkey_hex)), self.network)

    @property
    def cose_key_hex(self) -> str:
        return cip8.cose_key(self.pubkey).hex()

    def sign(self, message: str | bytes, *, enterprise: bool = False) -> str:
        """CIP-30 ``signData`` COSE_Sign1 hex of ``message`` (UTF-8), with the base address in the header.

        ``enterprise=True`` puts the enterprise address in the header instead (same payment key).
        """
        payload = message.encode("utf-8") if isinstance(message, str) else bytes(message)
        header_address = self.enterprise_address_bytes if enterprise else self.address_bytes
        return cip8.sign(header_address, payload, self._payment_key.sign).hex()

    def sign_raw(self, data: bytes) -> bytes:
        """Plain 64-byte Ed25519 signature of ``data`` with the payment key."""
        return self._payment_key.sign(data)
