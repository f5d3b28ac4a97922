"""Midnight Scavenger Mine miner: native AshMaize core, Cardano wallets, API client, simulator and stats."""

__version__ = "0.1.0"
