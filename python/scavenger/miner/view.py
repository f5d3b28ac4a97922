"""What a person sees: a live rich table on a terminal, plain periodic log lines otherwise (docker logs)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from scavenger.miner.state import MinerState

log = logging.getLogger("scavenger.miner.status")


def human_rate(rate: float) -> str:
    if rate >= 1e6:
        return f"{rate / 1e6:.2f} MH/s"
    if rate >= 1e3:
        return f"{rate / 1e3:.2f} kH/s"
    return f"{rate:.1f} H/s"


def _until(t: float | None, now: float) -> str:
    if t is None:
        return "-"
    seconds = int(t - now)
    if seconds <= 0:
        return "now"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _short(address: str) -> str:
    return f"{address[:14]}…{address[-6:]}" if len(address) > 24 else address


def status_line(state: MinerState) -> str:
    r10, r60, r15 = state.meter.rates()
    c = state.counts
    registered = sum(1 for w in state.wallets.values() if w.registration == "registered")
    current = state.current
    doing = (
        f"{current.challenge_id} for {_short(current.address)} "
        f"{current.tried}/{current.expected:.0f} expected"
        if current is not None and state.phase == "mining"
        else state.phase
    )
    return (
        f"{state.instance_id} speed 10s/60s/15m {r10:.1f} {r60:.1f} {r15:.1f} H/s | "
        f"solutions found {c.found} accepted {c.accepted} pending {c.pending} expired {c.expired} | "
        f"receipts {state.receipts} | wallets {registered}/{len(state.wallets)} registered | "
        f"open challenges {len(state.challenges)} | next challenge in "
        f"{_until(state.next_challenge_at, time.time())} | {doing}"
    )


def render(state: MinerState) -> Group:
    now = time.time()
    r10, r60, r15 = state.meter.rates()
    header = Text.assemble(
        ("Scavenger miner ", "bold"),
        (f"{state.instance_id}", "bold cyan"),
        f"  slot {state.slot}  threads {state.threads}  api {state.base_url}  ",
        (state.api_status, "dim"),
    )
    speed = Text.assemble(
        "speed 10s/60s/15m  ",
        (f"{human_rate(r10)}  {human_rate(r60)}  {human_rate(r15)}", "bold green"),
        f"   total {state.meter.total:,} hashes   next challenge in {_until(state.next_challenge_at, now)}",
        f"   {state.phase}",
    )
    c = state.counts
    solutions = Text(
        f"solutions: found {c.found}  accepted {c.accepted}  pending {c.pending}  expired {c.expired}  "
        f"rejected {c.rejected}  receipts {state.receipts}"
    )

    wallets = Table(title="wallets", expand=True, title_justify="left")
    for column in ("address", "registration", "found", "accepted", "pending", "donation", "mining now"):
        wallets.add_column(column)
    current = state.current
    # The current pair's progress against its challenge's expected hashes (the engine computed them from the
    # difficulty; parsing it again here crashed the view, and so the miner, on a malformed difficulty).
    share = 100 * current.tried / max(1.0, current.expected) if current is not None else 0.0
    for w in state.wallets.values():
        reg = w.registration + (f" ({w.registration_error})" if w.registration_error else "")
        mining = ""
        if current is not None and current.address == w.address and state.phase == "mining":
            mining = f"{current.challenge_id} {current.tried:,}/{current.expected:,.0f} ({share:.0f}%)"
        wallets.add_row(
            _short(w.address), reg, str(w.found), str(w.accepted), str(w.pending), w.donation, mining
        )

    challenges = Table(title="open challenges (nearest deadline first)", expand=True, title_justify="left")
    for column in ("challenge", "difficulty", "closes in", "solved by", "hashes tried", "progress"):
        challenges.add_column(column)
    for ch in state.challenges[:12]:
        active = current is not None and current.challenge_id == ch.challenge_id
        progress = ""
        if active and current is not None:
            progress = f"{_short(current.address)} {share:.0f}% of expected"
        challenges.add_row(
            Text(ch.challenge_id, style="bold" if active else ""),
            ch.difficulty,
            _until(ch.deadline, now),
            f"{ch.solved_by}/{len(state.wallets)}",
            f"{ch.tried:,}",
            progress,
        )
    parts: list[Text | Table] = [header, speed, solutions, wallets, challenges]
    if state.last_error:
        parts.append(Text(f"last error: {state.last_error}", style="yellow"))
    return Group(*parts)


async def run_view(state: MinerState, stop: asyncio.Event, console: Console | None, interval: float) -> None:
    """Live table when ``console`` is a terminal; else one status log line every ``interval`` seconds."""
    if console is not None and console.is_terminal:
        with Live(render(state), console=console, refresh_per_second=2, transient=False) as live:
            while not stop.is_set():
                live.update(render(state))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
            live.update(render(state))
        return
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            log.info("%s", status_line(state))
