"""Retries: backoff with full jitter, Retry-After, bounds on attempts and time, and the requests that
succeeded server-side while the client timed out."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from scavenger.api import NO_RETRY, ApiEvent, RetryPolicy, ScavengerClient, errors
from scavenger.api.retry import parse_retry_after
from scavenger.sim.testing import SimulatorHandle, find_nonce
from scavenger.wallet import Wallet
from timing import scaled

from .conftest import FAST, SMALL_PRE, SMALL_ROM

TERMS = (
    "I agree to abide by the terms and conditions as described in version 1-0 of the Midnight scavenger "
    "mining process: 281ba5f69f4b943e3fb8a20390878a232787a04e4be22177f2472b63df01c200"
)


def test_backoff_is_full_jitter_within_the_exponential_ceiling() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0), (200, 8.0)]:
        samples = [policy.backoff(attempt, rng) for _ in range(200)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8 and min(samples) < ceiling * 0.2  # spread over the whole range
    assert policy.delay(1, 5.0, rng) >= 5.0
    assert RetryPolicy(honour_retry_after=False).delay(1, 500.0, rng) <= 1.0
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_retry_after_parsing() -> None:
    now = datetime(2025, 11, 5, 12, 0, tzinfo=UTC)
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), now) == 0.0
    for junk in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(junk, now) is None


async def test_transient_failures_are_retried_until_success(sim: SimulatorHandle) -> None:
    events: list[ApiEvent] = []
    sim.add_fault("503", count=1, endpoints=["challenge"])
    sim.add_fault("html", count=1, endpoints=["challenge"], status=502)
    sim.add_fault("429", count=1, endpoints=["challenge"], retry_after=0)
    async with ScavengerClient(sim.url, retry=FAST, on_response=events.append) as api:
        state = await api.get_challenge()
    assert state.code == "active"
    assert [(e.status, e.attempt) for e in events] == [(503, 1), (502, 2), (429, 3), (200, 4)]
    assert events[1].body is None and "Vercel" in (events[1].description or "")


async def test_retry_after_is_honoured(sim: SimulatorHandle) -> None:
    sim.add_fault("429", count=1, endpoints=["terms"], retry_after=1)
    started = time.monotonic()
    async with ScavengerClient(sim.url, retry=FAST) as api:
        await api.get_terms()
    assert time.monotonic() - started >= 1.0


async def test_attempts_are_bounded(sim: SimulatorHandle) -> None:
    events: list[ApiEvent] = []
    sim.add_fault("500", count=None, endpoints=["work_to_star_rate"])
    async with ScavengerClient(sim.url, retry=FAST, on_response=events.append) as api:
        with pytest.raises(errors.ServerError):
            await api.work_to_star_rate()
    assert [e.attempt for e in events] == [1, 2, 3, 4]


async def test_total_time_is_bounded_even_when_the_server_asks_for_more(sim: SimulatorHandle) -> None:
    sim.add_fault("429", count=None, endpoints=["terms"], retry_after=60)
    policy = RetryPolicy(max_attempts=10, base_delay=0.01, max_delay=0.05, total_time=2.0)
    started = time.monotonic()
    async with ScavengerClient(sim.url, retry=policy) as api:
        with pytest.raises(errors.RateLimited) as limited:
            await api.get_terms()
    assert limited.value.retry_after == 60.0
    # Bounded by total_time (2 s), not by the 60 s the server asked for; the margin is the last attempt's
    # own round trip, which a loaded machine stretches.
    assert time.monotonic() - started < policy.total_time + scaled(1)


async def test_client_errors_are_not_retried(sim: SimulatorHandle, wallet: Wallet) -> None:
    events: list[ApiEvent] = []
    async with ScavengerClient(sim.url, retry=FAST, on_response=events.append) as api:
        with pytest.raises(errors.NotRegistered):
            await api.statistics(wallet.address)
    assert len(events) == 1


async def test_timed_out_submission_that_was_accepted_counts_as_success(
    sim: SimulatorHandle, wallet: Wallet
) -> None:
    events: list[ApiEvent] = []
    async with ScavengerClient(sim.url, retry=FAST, timeout=2.0, on_response=events.append) as api:
        await api.register(wallet.address, wallet.sign(TERMS), wallet.pubkey_hex)
        state = await api.get_challenge()
        challenge = state.challenge  # type: ignore[union-attr]
        nonce = find_nonce(challenge.model_dump(), wallet.address, rom_size=SMALL_ROM, pre_size=SMALL_PRE)
        sim.add_fault("slow", delay=4.0, count=1, endpoints=["solution"])
        result = await api.submit_solution(wallet.address, challenge.challenge_id, nonce)
    assert result.receipt is None and result.already_existed
    # the first attempt never answered in time; the retry found our solution stored
    replies = [(e.status, e.attempt) for e in events if e.endpoint == "solution"]
    assert len(replies) == 1 and replies[0][0] == 400 and replies[0][1] >= 2

    # a restarted miner knows from its journal that it sent this nonce: still success
    async with ScavengerClient(sim.url, retry=NO_RETRY) as fresh:
        again = await fresh.submit_solution(wallet.address, challenge.challenge_id, nonce, sent_before=True)
        assert again.already_existed
    # without that knowledge a new client cannot tell it apart from someone else's solution
    async with ScavengerClient(sim.url, retry=NO_RETRY) as fresh:
        with pytest.raises(errors.SolutionAlreadyExists):
            await fresh.submit_solution(wallet.address, challenge.challenge_id, nonce)


async def test_timed_out_donation_and_undo_are_recognised_on_retry(
    sim: SimulatorHandle, wallet: Wallet, other_wallet: Wallet
) -> None:
    async with ScavengerClient(sim.url, retry=FAST, timeout=2.0) as api:
        for w in (wallet, other_wallet):
            await api.register(w.address, w.sign(TERMS), w.pubkey_hex)
        sim.add_fault("slow", delay=4.0, count=1, endpoints=["donate_to"])
        message = f"Assign accumulated Scavenger rights to: {other_wallet.address}"
        done = await api.donate_to(other_wallet.address, wallet.address, wallet.sign(message))
        assert done.already_done and done.destination_address == other_wallet.address
        sim.add_fault("slow", delay=4.0, count=1, endpoints=["donate_to"])
        undo_message = f"Assign accumulated Scavenger rights to: {wallet.address}"
        undone = await api.donate_to(wallet.address, wallet.address, wallet.sign(undo_message))
        assert undone.already_done and undone.is_undo
    async with ScavengerClient(sim.url, retry=NO_RETRY) as api:
        with pytest.raises(errors.NoActiveDonation):
            await api.donate_to(wallet.address, wallet.address, wallet.sign(undo_message))


async def test_connection_errors_are_retried_across_a_simulator_restart(sim: SimulatorHandle) -> None:
    sim.kill()
    restarter = threading.Timer(0.3, sim.start)
    restarter.start()
    policy = RetryPolicy(max_attempts=40, base_delay=0.1, max_delay=0.3, total_time=30.0)
    try:
        async with ScavengerClient(sim.url, retry=policy) as api:
            terms = await api.get_terms()
    finally:
        await asyncio.to_thread(restarter.join)
    assert terms.version == "1-0"
