"""``scavenger mine``: claim a slot, load its wallets, then mine, submit, register and donate until stopped.

Shutdown (SIGTERM/SIGINT): the current ~1 s batch finishes, background tasks are cancelled (everything they
were doing is already in the journal), the journal is closed and the slot lock released. A kill -9 skips all
of that and still loses nothing: the kernel drops the lock and every solution was committed before use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from rich.console import Console

from scavenger import exits
from scavenger.api.health import ApiHealth
from scavenger.miner.book import ChallengeBook
from scavenger.miner.config import ConfigError, MinerConfig
from scavenger.miner.donate import Donor, load_donation_list
from scavenger.miner.engine import Engine
from scavenger.miner.journal import Journal
from scavenger.miner.metrics import start_metrics
from scavenger.miner.romcache import RomCache
from scavenger.miner.services import (
    Api,
    ChallengePoller,
    Registrar,
    Submitter,
    _sleep_or_stop,
    _wait_either,
)
from scavenger.miner.sharing import ChallengeSharing, backend_fetcher
from scavenger.miner.slots import SlotError, SlotLease, claim_slot
from scavenger.miner.state import MinerState, WalletState
from scavenger.miner.view import run_view
from scavenger.wallet.errors import WalletError

log = logging.getLogger(__name__)

JOURNAL_NAME = "journal.sqlite3"
STATUS_INTERVAL = 10.0
SHUTDOWN_GRACE = 3.0
SETTLE_RECHECK = 5.0  # seconds between looks at an ambiguous INSTANCE_SLOT folder


def journal_path(lease: SlotLease) -> Path:
    return lease.instance_dir / JOURNAL_NAME


def _make_rom_factory(config: MinerConfig, backend: Any = None) -> Callable[[bytes], Any]:
    """ROM key -> what the engine searches: the native ``Rom``, or its window on the OpenCL device."""
    from scavenger.core import Rom

    def build(key: bytes) -> Any:
        rom = Rom(key, size=config.rom_size, pre_size=config.pre_size)
        return rom if backend is None else backend.searcher(rom)

    return build


def open_configured_backend(config: MinerConfig) -> Any:
    """MINER_BACKEND resolved (the kernel compiled); an unusable explicit ``opencl`` stops the start."""
    from scavenger.core.backend import open_backend
    from scavenger.core.opencl import OpenClUnavailable

    try:
        backend = open_backend(config.backend, config.opencl_device)
    except OpenClUnavailable as exc:
        raise ConfigError(f"MINER_BACKEND={config.backend}: {exc}") from None
    log.info("hashing backend: %s", backend.describe())
    return backend


def _make_reporter(config: MinerConfig, lease: SlotLease) -> Any:
    import dataclasses
    import os

    from scavenger.stats.reporter import ReporterConfig, StatsReporter

    # The reporter's own settings (STATS_BUFFER_SIZE, STATS_TIMEOUT, APP_VERSION, STATS_CONTAINER_ID) come
    # from its parser; what the miner already validated at start (and its flags may override) wins.
    base = ReporterConfig.from_env(os.environ, slot=lease.number)
    return StatsReporter(
        dataclasses.replace(
            base,
            enabled=config.enable_stats,
            stats_url=config.stats_backend_url,
            api_url=config.api_backend_url,
            token=config.stats_bearer_token,
            interval=config.stats_report_interval,
            default_miner_id=lease.instance_id,
            # Batch (1 s) + request grace (3 s) + this stay within Docker's default 10 s stop timeout.
            close_timeout=2.0,
        )
    )


def _make_client(config: MinerConfig, on_response: Callable[[Any], None], health: ApiHealth) -> Any:
    from scavenger.api import RetryPolicy, ScavengerClient

    # Short in-call retries: the miner's own loops retry forever with their own backoff, and a call stuck
    # in 5 minutes of retries would hold up every other submission behind it.
    retry = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=10.0, total_time=30.0)
    return ScavengerClient(config.base_url, retry=retry, on_response=on_response, health=health)


class RawChallenges:
    """The ``challenge`` objects of recent /challenge replies exactly as received (via the client's
    on_response hook), so the journal stores the server's JSON rather than a re-serialised model."""

    def __init__(self, keep: int = 64) -> None:
        self._keep = keep
        self._by_id: dict[str, dict[str, Any]] = {}

    def capture(self, event: Any) -> None:
        body = getattr(event, "body", None)
        if getattr(event, "endpoint", None) != "challenge" or not isinstance(body, dict):
            return
        challenge = body.get("challenge")
        if isinstance(challenge, dict) and isinstance(challenge.get("challenge_id"), str):
            self._by_id[challenge["challenge_id"]] = challenge
            while len(self._by_id) > self._keep:
                del self._by_id[next(iter(self._by_id))]

    def get(self, challenge_id: str) -> dict[str, Any] | None:
        return self._by_id.get(challenge_id)


class Miner:
    def __init__(self, config: MinerConfig, *, console: Console | None = None) -> None:
        self.config = config
        self.console = console
        self.stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._raw_challenges = RawChallenges()
        # Set when a background task crashed: the process then exits 1, so "restart on failure"
        # supervisors (systemd Restart=on-failure, Docker on-failure) do restart it.
        self.failed = False
        self._backend: Any = None
        self.stopped_by: int | None = None

    def request_stop(self, sig: int | None = None) -> None:
        if self.stopped_by is None:
            self.stopped_by = sig  # decides the exit status: Ctrl-C 130, SIGTERM 0 (scavenger.exits)
        if not self.stop.is_set():
            log.info("stopping: finishing the current batch, then flushing the journal")
            self.stop.set()

    async def run(self) -> int:
        config = self.config
        # Before anything is claimed or created: an unusable MINER_BACKEND=opencl stops the start here.
        self._backend = await asyncio.to_thread(open_configured_backend, config)
        try:
            lease = await asyncio.to_thread(
                claim_slot, config.root, forced=config.instance_slot, usable=self._usable
            )
        except OSError as exc:
            # Typically a bind mount the container user cannot write: say which folder and why.
            raise SlotError(f"cannot claim a slot in {config.root.resolve()}: {exc.strerror or exc}") from exc
        log.info("claimed slot %d (%s) on %s", lease.number, lease.path, socket.gethostname())
        try:
            return await self._run_in_slot(lease)
        finally:
            lease.release()
            log.info("released slot %d", lease.number)

    def _usable(self, lease: SlotLease) -> bool:
        """Turn down a slot whose wallet folder is ambiguous (or unreadable), so the fleet keeps mining in
        other slots instead of one process exiting (and being restarted) on it forever."""
        from scavenger.wallet import kinds
        from scavenger.wallet.errors import StoreError

        try:
            kind = kinds.classify(lease.wallets_dir).kind
            if kind == "legacy":
                # Checked here (cheap, read-only) so a damaged legacy folder is skipped, not an exit loop.
                kinds.load_slot_wallets(lease.wallets_dir, self.config.network, read_only=True)
            ambiguous = kind == "ambiguous"
        except StoreError as exc:
            # e.g. a mistyped wallet_kind.txt: say why and keep mining elsewhere rather than exit in a loop
            log.error("slot %d skipped: %s", lease.number, exc)
            return False
        if ambiguous:
            log.error("slot %d skipped: %s", lease.number, kinds.ambiguous_message(lease.wallets_dir))
        return not ambiguous

    async def _wait_until_settled(self, lease: SlotLease) -> bool:
        """INSTANCE_SLOT names an ambiguous folder: say so and wait for `scavenger legacy settle` (exiting
        would only make a restart policy loop). False if stopped first."""
        from scavenger.wallet import kinds

        message = kinds.ambiguous_message(lease.wallets_dir)
        looks = 0
        while kinds.classify(lease.wallets_dir).kind == "ambiguous":
            if looks % 60 == 0:  # once at start, then every few minutes: clear without flooding the log
                log.error("INSTANCE_SLOT=%d cannot be mined yet, waiting: %s", lease.number, message)
            looks += 1
            await _sleep_or_stop(self.stop, SETTLE_RECHECK)
            if self.stop.is_set():
                return False
        log.info("slot %d settled: %s", lease.number, kinds.classify(lease.wallets_dir).reason)
        return True

    async def _run_in_slot(self, lease: SlotLease) -> int:
        config = self.config
        from scavenger.wallet import kinds

        if config.instance_slot is not None and not await self._wait_until_settled(lease):
            return 0
        # MAX_WALLETS_PER_INSTANCE fills standard slots only: a legacy folder is mined as it is.
        loaded = await asyncio.to_thread(
            kinds.load_slot_wallets, lease.wallets_dir, config.network, ensure=config.max_wallets
        )
        wallets = loaded.wallets
        if loaded.kind == "legacy":
            log.info(
                "slot %d is a legacy folder of the original program: mining its %d wallet(s) with their "
                "enterprise addresses; no file in %s is changed and no wallet is added (this program's "
                "records for it are in %s)",
                lease.number,
                len(wallets),
                lease.wallets_dir,
                lease.instance_dir,
            )
        log.info("%d %s wallet(s) in %s", len(wallets), loaded.kind, lease.wallets_dir)
        state = MinerState(
            instance_id=lease.instance_id, slot=lease.number, threads=config.threads, base_url=config.base_url
        )
        for wallet in wallets:
            state.wallets[wallet.address] = WalletState(address=wallet.address)
        # Before the journal and the reporter: a busy METRICS_PORT then stops the start with nothing to undo.
        metrics_server = start_metrics(state, config.metrics_port, config.metrics_host)
        journal = Journal(journal_path(lease))
        backlog = journal.counts()
        if backlog.found:
            log.info(
                "journal: %d solutions so far, %d accepted, %d pending (resubmitted now)",
                backlog.found,
                backlog.accepted,
                backlog.pending,
            )
        reporter = _make_reporter(config, lease)
        reporter.register_miner(lease.instance_id)
        reporter_task = reporter.start()

        def on_response(event: Any) -> None:
            self._raw_challenges.capture(event)
            reporter.record_api_event(event)

        try:
            async with _make_client(config, on_response, state.health) as client:
                await self._mine(client, journal, state, wallets, reporter, lease)
        finally:
            with contextlib.suppress(Exception):
                await reporter.aclose()
            if reporter_task is not None:
                reporter_task.cancel()
                with contextlib.suppress(BaseException):
                    await reporter_task
            if metrics_server is not None:
                metrics_server.shutdown()
            journal.close()
        return 1 if self.failed else 0

    async def _mine(
        self,
        api: Api,
        journal: Journal,
        state: MinerState,
        wallets: list[Any],
        reporter: Any,
        lease: SlotLease,
    ) -> None:
        config = self.config
        stop = self.stop
        addresses = [w.address for w in wallets]
        engine_box: list[Engine] = []
        submitter_box: list[Submitter] = []
        donation_wanted = asyncio.Event()

        def on_registered(address: str) -> None:
            # The registrar has already marked the wallet registered in ``state``.
            if submitter_box:
                submitter_box[0].wake.set()
            donation_wanted.set()

        registrar = Registrar(api, journal, state, stop, on_registered)
        already = journal.registered()
        for wallet in wallets:
            if wallet.address in already:
                state.wallets[wallet.address].registration = "registered"
            else:
                registrar.request(wallet)

        def on_solution() -> None:
            if submitter_box:
                submitter_box[0].wake.set()
            self._refresh(journal, state)

        def on_new_challenge() -> None:
            if engine_box:
                engine_box[0].wake.set()

        backend = self._backend
        engine = Engine(
            journal=journal,
            roms=RomCache(_make_rom_factory(config, backend)),
            addresses=addresses,
            threads=config.threads,
            state=state,
            stop=stop,
            on_solution=on_solution,
            on_hashes=lambda n: reporter.record_hashes(lease.instance_id, n),
        )
        engine_box.append(engine)
        submitter = Submitter(api, journal, state, stop, wallets, registrar)
        submitter_box.append(submitter)
        sharing = self._make_sharing(journal, state)
        await sharing.publish_journal()
        poller = ChallengePoller(
            api,
            journal,
            state,
            stop,
            on_new_challenge,
            config.poll_interval,
            self._raw_challenges.get,
            sharing,
        )

        self._spawn(registrar.run(), "registrar")
        self._spawn(poller.run(), "challenge poller")
        self._spawn(submitter.run(), "submitter")
        self._spawn(self._refresh_loop(journal, state, reporter), "state refresh")
        rates_every = min(3600.0, 10 * config.poll_interval)
        self._spawn(_rates_loop(api, state, stop, rates_every), "work_to_star_rate")
        self._spawn(run_view(state, stop, self.console, STATUS_INTERVAL), "view")
        if config.donate:
            self._spawn(
                self._donation_loop(api, journal, state, wallets, registrar, donation_wanted), "donations"
            )
        else:
            for ws in state.wallets.values():
                ws.donation = "off"
        engine_task = asyncio.create_task(engine.run(), name="engine")
        try:
            await engine_task
        finally:
            state.phase = "stopping"
            stop.set()
            # Let in-flight requests (a submission the server may already have stored) finish briefly, so
            # the journal records their outcome now rather than on the next start.
            await asyncio.wait(self._tasks, timeout=SHUTDOWN_GRACE)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._refresh(journal, state)
            log.info(
                "stopped: %d solutions found, %d accepted, %d pending (kept for the next start)",
                state.counts.found,
                state.counts.accepted,
                state.counts.pending,
            )

    def _make_sharing(self, journal: Journal, state: MinerState) -> ChallengeSharing:
        config = self.config
        fetch = None
        if config.enable_stats and config.stats_bearer_token:
            fetch = backend_fetcher(config.stats_backend_url, config.stats_bearer_token)
        return ChallengeSharing(ChallengeBook(config.root), journal, state, fetch)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(self._guard(coro, name), name=name)
        self._tasks.append(task)

    async def _guard(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        # A background task that dies would silently stop submissions or polling: log and restart it is not
        # possible for a coroutine object, so log loudly and stop the miner (the supervisor restarts it).
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s crashed; stopping the miner so it restarts cleanly", name)
            self.failed = True
            self.stop.set()

    @staticmethod
    def _refresh(journal: Journal, state: MinerState) -> None:
        state.counts = journal.counts()
        receipts = journal.receipt_count()
        if receipts != state.receipts or not state.receipts_by_day:
            state.receipts_by_day = journal.receipt_days()
        state.receipts = receipts
        by_address = journal.counts_by_address()
        for address, ws in state.wallets.items():
            counts = by_address.get(address)
            if counts is not None:
                ws.found, ws.accepted, ws.pending = counts.found, counts.accepted, counts.pending

    async def _refresh_loop(self, journal: Journal, state: MinerState, reporter: Any) -> None:
        while not self.stop.is_set():
            self._refresh(journal, state)
            reporter.record_progress(state.instance_id, progress_fields(state))
            await _sleep_or_stop(self.stop, 1.0)

    async def _donation_loop(
        self,
        api: Api,
        journal: Journal,
        state: MinerState,
        wallets: list[Any],
        registrar: Registrar,
        wanted: asyncio.Event,
    ) -> None:
        config = self.config
        while True:
            try:
                donation_list = await asyncio.to_thread(
                    load_donation_list, config.root, config.network, config.tip_address
                )
                break
            except WalletError as exc:
                # A bad donate_list.txt is the user's to fix; it must not stop the mining (it used to crash
                # this task, which stops the miner). Read it again after each donation interval.
                log.error("donations paused: %s; retrying in %.0f s", exc, config.donate_interval)
                state.last_error = f"donation list: {str(exc)[:100]}"
                await _sleep_or_stop(self.stop, config.donate_interval)
                if self.stop.is_set():
                    return
        log.info(
            "donation list: %d address(es)%s",
            len(donation_list.addresses),
            " (generated; seeds in donate_list_seed.txt)" if donation_list.generated else "",
        )
        notice = donation_list.notice()
        if notice:
            log.warning("%s", notice)
        donor = Donor(api, journal, donation_list, registrar.register, state.health)
        while not self.stop.is_set():
            wanted.clear()
            registered = journal.registered()
            result = await donor.run_pass([w for w in wallets if w.address in registered])
            settled = journal.donations()
            for ws in state.wallets.values():
                if ws.address in settled:
                    ws.donation = settled[ws.address][1]
            if all(w.address in settled for w in wallets):
                log.info("donation assignments settled for every wallet")
                return
            # A new registration wakes this loop at once; server-side failures wait for the next pass.
            delay = min(60.0, config.donate_interval) if result.rate_limited else config.donate_interval
            await _wait_either(self.stop, wanted, delay)


def progress_fields(state: MinerState) -> dict[str, Any]:
    """What the stats reporter sends to /insert_progress: the journal's cumulative counts, the estimate
    and the newest challenge this miner knows."""
    from scavenger.miner.earnings import estimate

    c = state.counts
    newest = max(state.challenges, key=lambda ch: ch.deadline, default=None)
    return {
        "solutions_found": c.found,
        "solutions_accepted": c.accepted,
        "solutions_pending": c.pending,
        "solutions_expired": c.expired,
        "receipts": state.receipts,
        "estimated_star": estimate(state.receipts_by_day, state.rates).star,
        "last_challenge_id": newest.challenge_id if newest else None,
        "last_difficulty": newest.difficulty if newest else None,
    }


async def _rates_loop(api: Any, state: MinerState, stop: asyncio.Event, interval: float) -> None:
    """GET /work_to_star_rate now and every ``interval`` (the rates change once a day), for the estimate."""
    from scavenger.miner.apierrors import failure_label, message_of

    while not stop.is_set():
        wait = interval
        try:
            state.rates = list(await api.work_to_star_rate())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            wait = min(interval, 300.0)
            state.health.failed(
                "work_to_star_rate", failure_label(exc), message_of(exc), f"will ask again in {wait:.0f} s"
            )
        await _sleep_or_stop(stop, wait)


def install_signal_handlers(miner: Miner) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, miner.request_stop, sig)


async def run_miner(config: MinerConfig, console: Console | None = None) -> int:
    miner = Miner(config, console=console)
    install_signal_handlers(miner)
    started = time.monotonic()
    try:
        return exits.after_signal(await miner.run(), miner.stopped_by)
    finally:
        log.info("ran for %.0f s", time.monotonic() - started)
