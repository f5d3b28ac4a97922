"""Cardano wallets: BIP39 -> CIP-1852 keys, Shelley addresses, CIP-8 signing, durable seed store."""
