"""Prometheus ``/metrics`` (METRICS_PORT; 0 = off), read from the live state at scrape time.

Conventions: counters end in ``_total`` and only grow (the journal-backed ones survive restarts); rates are
left to PromQL (``rate(scavenger_hashes_total[5m])``), so there is no hash-rate gauge; every series carries
``miner="miner-<n>"`` (not ``instance``, which Prometheus sets to the scrape target itself).
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from scavenger import __version__
from scavenger.miner.config import ConfigError
from scavenger.miner.earnings import estimate
from scavenger.miner.state import MinerState

log = logging.getLogger(__name__)

class MinerCollector:
    def __init__(self, state: MinerState) -> None:
        self._state = state

    def collect(self) -> Iterator[Any]:
        s = self._state
        me = s.instance_id
        info = GaugeMetricFamily(
            "scavenger_build_info", "Version of the running miner (value is always 1)",
            labels=["miner", "version", "python"],
        )
        info.add_metric([me, __version__, platform.python_version()], 1.0)
        yield info
        hashes = CounterMetricFamily("scavenger_hashes", "Hashes computed since start", labels=["miner"])
        hashes.add_metric([me], float(s.meter.total))
        yield hashes
        c = s.counts
        found = CounterMetricFamily(
            "scavenger_solutions_found", "Solutions found (journal, survives restarts)", labels=["miner"]
        )
        found.add_metric([me], float(c.found))
        yield found
        settled = CounterMetricFamily(
            "scavenger_solutions_settled",
            "Solutions with a final outcome (journal, survives restarts)",
            labels=["miner", "outcome"],
        )
        for outcome, value in (("accepted", c.accepted), ("expired", c.expired), ("rejected", c.rejected)):
            settled.add_metric([me, outcome], float(value))
        yield settled
        pending = GaugeMetricFamily("scavenger_solutions_pending", "Solutions waiting to be accepted",
                                    labels=["miner"])
        pending.add_metric([me], float(c.pending))
        yield pending
        receipts = CounterMetricFamily("scavenger_receipts", "Crypto receipts stored", labels=["miner"])
        receipts.add_metric([me], float(s.receipts))
        yield receipts
        star = GaugeMetricFamily(
            "scavenger_estimated_star",
            "Receipts of completed days x GET /work_to_star_rate (1 NIGHT = 1e6 STAR)",
            labels=["miner"],
        )
        star.add_metric([me], float(estimate(s.receipts_by_day, s.rates).star))
        yield star
        responses = CounterMetricFamily(
            "scavenger_api_responses",
            "Scavenger API replies by endpoint and HTTP status (timeout/network: no reply)",
            labels=["miner", "endpoint", "status"],
        )
        for (endpoint, status), n in sorted(s.health.responses().items()):
            responses.add_metric([me, endpoint, status], float(n))
        yield responses
        errors = CounterMetricFamily(
            "scavenger_submit_errors",
            "POST /solution requests without a 2xx reply, also those retried within one call",
            labels=["miner"],
        )
        errors.add_metric([me], float(s.submit_errors))
        yield errors
        wallets = GaugeMetricFamily(
            "scavenger_wallets", "Wallets by registration state", labels=["miner", "registration"]
        )
        for status in ("registered", "pending", "failing"):
            n = sum(1 for w in s.wallets.values() if w.registration == status)
            wallets.add_metric([me, status], float(n))
        yield wallets
        open_challenges = GaugeMetricFamily("scavenger_open_challenges", "Open challenges known",
                                            labels=["miner"])
        open_challenges.add_metric([me], float(len(s.challenges)))
        yield open_challenges
        slot = GaugeMetricFamily("scavenger_slot", "Instance slot number", labels=["miner"])
        slot.add_metric([me], float(s.slot))
        yield slot


def build_registry(state: MinerState) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(MinerCollector(state))  # type: ignore[arg-type]
    # The default collectors, on our own registry: RSS, CPU seconds, open fds, GC, Python version.
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def start_metrics(state: MinerState, port: int, addr: str = "127.0.0.1") -> Any:
    """Serve /metrics on ``addr`` (METRICS_HOST: loopback unless a container opens it) in a daemon thread;
    returns the server (call ``.shutdown()``) or None when off."""
    if port == 0:
        return None
    try:
        started = start_http_server(port, addr=addr, registry=build_registry(state))
    except OSError as exc:
        # Typically two instances on one host with the same METRICS_PORT: say so instead of a traceback.
        reason = exc.strerror or exc
        raise ConfigError(
            f"METRICS_PORT {port}: cannot serve /metrics on {addr} (METRICS_HOST): {reason}"
        ) from None
    log.info("Prometheus metrics on http://%s:%d/metrics", addr, port)
    return started[0] if isinstance(started, tuple) else started
