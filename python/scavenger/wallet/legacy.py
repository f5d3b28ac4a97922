"""Recognise the seed program's NON-STANDARD keys (whosbax/midnight-scavenger ``src/wallet.rs``).

That program used ``BIP39_seed(mnemonic)[0:32]`` as a plain RFC 8032 Ed25519 seed and registered the
enterprise address of it. No CIP-1852 wallet (Eternl, Lace, Yoroi) can restore those keys from the words,
so we never generate them. We read them (never write them) so that the wallets the original program
registered keep being mined and can consolidate their rights into restorable wallets (docs/migration.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey

from scavenger.wallet import address as addr
from scavenger.wallet import bip39, fsutil
from scavenger.wallet.address import Network
from scavenger.wallet.errors import MnemonicError, StoreError


@dataclass(frozen=True)
class LegacyKey:
    """Public view of a legacy key; the seed itself is not kept."""

    pubkey_hex: str
    enterprise_address: str


def legacy_seed(words: str) -> bytes:
    """The 32-byte Ed25519 seed the legacy program derived (secret)."""
    return bip39.bip39_seed(words)[:32]


def legacy_key(words: str, network: Network) -> LegacyKey:
    pub = bytes(SigningKey(legacy_seed(words)).verify_key)
    return LegacyKey(pub.hex(), addr.enterprise_address(addr.key_hash(pub), network))


def is_legacy_key_line(words: str, key_line: str) -> bool:
    """True if ``key_line`` (a line of the old ``keys.hex``) is the legacy seed of ``words``."""
    text = key_line.strip().lower()
    if len(text) != 64:
        return False
    try:
        return bytes.fromhex(text) == legacy_seed(words)
    except ValueError:
        return False


class LegacyWallet:
    """A wallet of a legacy folder, able to sign (e.g. to donate its rights to a standard wallet).

    ``address`` is the enterprise address the legacy program registered. The seed is kept in a
    private attribute and never shown by repr/str.
    """

    __slots__ = ("_seed", "address", "line", "network", "pubkey_hex")
    kind = "legacy"

    def __init__(self, words: str, network: Network, line: int = 0) -> None:
        self._seed = legacy_seed(words)
        key = legacy_key(words, network)
        self.address = key.enterprise_address
        self.pubkey_hex = key.pubkey_hex
        self.network = network
        self.line = line

    def __repr__(self) -> str:
        return f"LegacyWallet(address={self.address}, pubkey={self.pubkey_hex})"

    __str__ = __repr__

    def sign(self, message: str | bytes) -> str:
        """CIP-8 COSE_Sign1 hex with the enterprise address in the header (same layout as Wallet.sign)."""
        from scavenger.wallet import cip8

        payload = message.encode("utf-8") if isinstance(message, str) else bytes(message)
        key = SigningKey(self._seed)
        raw = addr.decode_address(self.address).raw
        return cip8.sign(raw, payload, lambda data: bytes(key.sign(data).signature)).hex()


def load_legacy_folder(
    directory: Path | str, network: Network, *, require_keys: bool = True
) -> list[LegacyWallet]:
    """Read a legacy ``seeds.txt`` (+ ``keys.hex``) read-only and check every key line against its mnemonic.

    ``require_keys=False`` accepts a ``seeds.txt`` alone, for a folder recorded as legacy by
    ``scavenger legacy settle``. Raises StoreError naming the file and line if a line is not a mnemonic or
    its key does not match. Nothing is ever written, created or chmod-ed here.
    """
    folder = Path(directory)
    seeds_data = fsutil.read_file(folder / "seeds.txt")
    keys_data = fsutil.read_file(folder / "keys.hex")
    if seeds_data is None or (keys_data is None and require_keys):
        raise StoreError(f"{folder}: a legacy folder needs both seeds.txt and keys.hex")
    seeds = [line for line in seeds_data.decode("utf-8", "replace").splitlines() if line.strip()]
    keys = [line for line in (keys_data or b"").decode("utf-8", "replace").splitlines() if line.strip()]
    if keys_data is not None and len(seeds) != len(keys):
        raise StoreError(f"{folder}: seeds.txt has {len(seeds)} lines but keys.hex has {len(keys)}")
    wallets = []
    for number, words in enumerate(seeds, start=1):
        try:
            bip39.to_entropy(words)
        except MnemonicError as exc:
            raise StoreError(f"{folder / 'seeds.txt'}, line {number}: {exc}") from None
        if keys_data is not None and not is_legacy_key_line(words, keys[number - 1]):
            raise StoreError(
                f"{folder / 'keys.hex'}, line {number}: not the legacy key of seeds.txt line {number}"
            )
        wallets.append(LegacyWallet(words, network, number))
    return wallets
