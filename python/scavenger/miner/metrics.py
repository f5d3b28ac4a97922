"""Prometheus ``/metrics`` (METRICS_PORT; 0 = off), read from the live state at scrape time."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from scavenger.miner.config import ConfigError
from scavenger.miner.state import MinerState

log = logging.getLogger(__name__)


class MinerCollector:
    def __init__(self, state: MinerState) -> None:
        self._state = state

    def collect(self) -> Iterator[Any]:
        s = self._state
        labels = ["instance"]
        hashes = CounterMetricFamily("scavenger_hashes", "Hashes computed since start", labels=labels)
        hashes.add_metric([s.instance_id], float(s.meter.total))
        yield hashes
        rate = GaugeMetricFamily(
            "scavenger_hashrate", "Hash rate over a window, hashes per second", labels=[*labels, "window"]
        )
        for window, value in zip(("10s", "60s", "15m"), s.meter.rates(), strict=True):
            rate.add_metric([s.instance_id, window], value)
        yield rate
        solutions = GaugeMetricFamily(
            "scavenger_solutions", "Solutions in the journal by state", labels=[*labels, "state"]
        )
        c = s.counts
        for name, value in (
            ("found", c.found),
            ("accepted", c.accepted),
            ("pending", c.pending),
            ("expired", c.expired),
            ("rejected", c.rejected),
        ):
            solutions.add_metric([s.instance_id, name], float(value))
        yield solutions
        receipts = GaugeMetricFamily("scavenger_receipts", "Crypto receipts stored", labels=labels)
        receipts.add_metric([s.instance_id], float(s.receipts))
        yield receipts
        wallets = GaugeMetricFamily(
            "scavenger_wallets", "Wallets by registration state", labels=[*labels, "registration"]
        )
        for status in ("registered", "pending", "failing"):
            n = sum(1 for w in s.wallets.values() if w.registration == status)
            wallets.add_metric([s.instance_id, status], float(n))
        yield wallets
        open_challenges = GaugeMetricFamily(
            "scavenger_open_challenges", "Open challenges known", labels=labels
        )
        open_challenges.add_metric([s.instance_id], float(len(s.challenges)))
        yield open_challenges
        errors = CounterMetricFamily("scavenger_submit_errors", "Failed submission attempts", labels=labels)
        errors.add_metric([s.instance_id], float(s.submit_errors))
        yield errors
        slot = GaugeMetricFamily("scavenger_slot", "Instance slot number", labels=labels)
        slot.add_metric([s.instance_id], float(s.slot))
        yield slot


def start_metrics(state: MinerState, port: int, addr: str = "0.0.0.0") -> Any:
    """Serve /metrics in a daemon thread; returns the server (call ``.shutdown()``) or None when off."""
    if port == 0:
        return None
    registry = CollectorRegistry()
    registry.register(MinerCollector(state))  # type: ignore[arg-type]
    try:
        started = start_http_server(port, addr=addr, registry=registry)
    except OSError as exc:
        # Typically two instances on one host with the same METRICS_PORT: say so instead of a traceback.
        reason = exc.strerror or exc
        raise ConfigError(f"METRICS_PORT {port}: cannot serve /metrics on {addr}: {reason}") from None
    log.info("Prometheus metrics on http://%s:%d/metrics", addr, port)
    return started[0] if isinstance(started, tuple) else started
