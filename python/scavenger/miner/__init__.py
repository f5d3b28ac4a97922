"""The miner: instance slots, wallets, scheduling, durable journal, donations, live view."""
