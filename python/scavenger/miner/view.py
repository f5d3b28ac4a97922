"""What a person sees: a live rich table on a terminal, plain periodic log lines otherwise (docker logs)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from urllib.parse import urlsplit

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from scavenger.miner.earnings import estimate, night
from scavenger.miner.state import MinerState
from scavenger.redact import printable, redact_url

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


def _host(url: str) -> str:
    """Host and port only: never the user info (a password) or the query (a token) of the API URL."""
    safe = redact_url(url)
    return urlsplit(safe).netloc.rpartition("@")[2] or safe


def _estimate_text(state: MinerState) -> str:
    est = estimate(state.receipts_by_day, state.rates)
    if state.rates is None:
        return "est NIGHT: rates not known yet"
    today = f" (+{est.unrated} receipts not rated yet)" if est.unrated else ""
    value = night(est.star)
    shown = f"{value:,.2f}" if value >= 100 else f"{value:,.6f}".rstrip("0").rstrip(".")
    return f"est {shown} NIGHT{today}"


def api_health_text(state: MinerState) -> str:
    """Failed replies per endpoint over the last 15 min, worst first: ``solution 429x3 500x1``."""
    recent = state.health.recent_failures()
    if not recent:
        return "API 15m: no errors"
    parts = []
    for endpoint, by_status in sorted(recent.items(), key=lambda kv: -sum(kv[1].values())):
        counts = " ".join(f"{status}x{n}" for status, n in sorted(by_status.items(), key=lambda kv: -kv[1]))
        parts.append(f"{endpoint} {counts}")
    return "API 15m: " + ", ".join(parts)


def sources(state: MinerState) -> str:
    """``api 2, backend 1``: where the open challenges came from (the fleet's book or backend when this
    instance was down while they were current)."""
    return ", ".join(f"{name} {count}" for name, count in sorted(state.challenge_sources.items()))


def status_line(state: MinerState) -> str:
    r10, r60, r15 = state.meter.rates()
    c = state.counts
    registered = sum(1 for w in state.wallets.values() if w.registration == "registered")
    current = state.current
    doing = (
        f"{printable(current.challenge_id)} for {_short(current.address)} "
        f"{current.tried}/{current.expected:.0f} expected"
        if current is not None and state.phase == "mining"
        else state.phase
    )
    return (
        f"{state.instance_id} speed 10s/60s/15m {r10:.1f} {r60:.1f} {r15:.1f} H/s, "
        f"{state.meter.hashing_rate():.1f} H/s while hashing ({state.meter.busy():.0%} busy) | "
        f"solutions found {c.found} accepted {c.accepted} pending {c.pending} expired {c.expired} | "
        f"receipts {state.receipts} {_estimate_text(state)} | {api_health_text(state)} | "
        f"wallets {registered}/{len(state.wallets)} registered | "
        f"open challenges {len(state.challenges)} ({sources(state) or 'none'}) | next challenge in "
        f"{_until(state.next_challenge_at, time.time())} | {doing}"
    )


def _fit(text: str, width: int) -> Text:
    """One line, never wrapped: what does not fit ends in an ellipsis."""
    line = Text(text, no_wrap=True, overflow="ellipsis")
    line.truncate(width, overflow="ellipsis")
    return line


def _table(*columns: tuple[str, str]) -> Table:
    table = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 1), expand=False)
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis")  # type: ignore[arg-type]
    return table


_REGISTRATION = {"registered": "registered", "pending": "pending", "failing": "FAILING"}


def render(state: MinerState, width: int = 80, height: int = 24) -> Group:
    """The live view, sized to ``width`` x ``height``: every line fits the width, and the wallet and
    challenge lists collapse into a summary line instead of growing past the height."""
    now = time.time()
    r10, r60, r15 = state.meter.rates()
    c = state.counts
    current = state.current
    lines: list[Text | Table] = [
        _fit(
            f"{state.instance_id} · slot {state.slot} · {state.threads} threads · {state.phase} · "
            f"next challenge in {_until(state.next_challenge_at, now)}",
            width,
        ),
        _fit(
            f"speed 10s {human_rate(r10)}  60s {human_rate(r60)}  15m {human_rate(r15)}  "
            f"total {state.meter.total:,} hashes",
            width,
        ),
        # The averages above count idle time (waiting for the next challenge); this is the machine's speed.
        _fit(
            f"while hashing {human_rate(state.meter.hashing_rate())} ({state.meter.busy():.0%} of the last "
            "60 s busy)",
            width,
        ),
        _fit(
            f"solutions found {c.found} acc {c.accepted} pend {c.pending} exp {c.expired} rej {c.rejected}",
            width,
        ),
        _fit(f"receipts {state.receipts} · {_estimate_text(state)}", width),
        _fit(f"{api_health_text(state)} · {_host(state.base_url)} {printable(state.api_status)}", width),
    ]
    if state.last_error:
        lines.append(_fit(f"last error: {printable(state.last_error)}", width))
    # Rows left for the two lists: each has a title+header (2 lines) and may need a summary line.
    budget = max(2, height - len(lines) - 4 - 2 - 1)
    wallets = list(state.wallets.values())
    challenges = state.challenges
    wallet_rows = min(len(wallets), max(1, budget // 3))
    if wallet_rows < len(wallets):
        wallet_rows = max(1, wallet_rows - 1)  # leave a line for the summary
    challenge_rows = max(1, budget - wallet_rows - (1 if wallet_rows < len(wallets) else 0))
    if challenge_rows < len(challenges):
        challenge_rows = max(1, challenge_rows - 1)

    share = 100 * current.tried / max(1.0, current.expected) if current is not None else 0.0
    wt = _table(("wallet", "left"), ("reg", "left"), ("found", "right"), ("acc", "right"),
                ("pend", "right"), ("donation", "left"), ("mining now", "left"))
    # The wallet being mined first, so it is never the one collapsed away.
    ordered = sorted(wallets, key=lambda w: not (current is not None and current.address == w.address))
    for w in ordered[:wallet_rows]:
        mining = ""
        if current is not None and current.address == w.address and state.phase == "mining":
            # The full figures when there is room; on a narrow terminal the share alone, never cut.
            mining = (
                f"{printable(current.challenge_id)} {current.tried:,}/{current.expected:,.0f} ({share:.0f}%)"
                if width >= 120
                else f"{printable(current.challenge_id)} {share:.0f}%"
            )
        reg = _REGISTRATION.get(w.registration, w.registration)
        # Text cells: a string from the server is shown as is, never read as rich markup ("[blink]...").
        wt.add_row(*(Text(cell) for cell in (_short(w.address), reg, str(w.found), str(w.accepted),
                                              str(w.pending), w.donation, mining)))
    lines.append(Text(f"wallets ({len(wallets)})", style="bold"))
    lines.append(wt)
    if wallet_rows < len(wallets):
        rest = ordered[wallet_rows:]
        failing = sum(1 for w in rest if w.registration != "registered")
        lines.append(_fit(
            f"  + {len(rest)} more: found {sum(w.found for w in rest)} acc {sum(w.accepted for w in rest)} "
            f"pend {sum(w.pending for w in rest)}" + (f", {failing} not registered" if failing else ""),
            width,
        ))

    ct = _table(("challenge", "left"), ("difficulty", "left"), ("closes", "right"), ("solved", "right"),
                ("hashes", "right"), ("now", "left"))
    active_first = sorted(
        challenges, key=lambda ch: not (current is not None and current.challenge_id == ch.challenge_id)
    )
    shown = active_first[:challenge_rows]
    for ch in sorted(shown, key=lambda ch: ch.deadline):
        active = current is not None and current.challenge_id == ch.challenge_id
        ct.add_row(
            Text(printable(ch.challenge_id), style="bold" if active else ""),
            Text(printable(ch.difficulty)),
            _until(ch.deadline, now),
            f"{ch.solved_by}/{len(wallets)}",
            f"{ch.tried:,}",
            f"{share:.0f}% of expected" if active else "",
        )
    known = f"; {sources(state)}" if state.challenge_sources else ""
    lines.append(Text(f"open challenges ({len(challenges)}{known}, nearest deadline first)", style="bold"))
    lines.append(ct)
    if len(shown) < len(challenges):
        rest_ch = [ch for ch in challenges if ch not in shown]
        solved = sum(1 for ch in rest_ch if ch.solved_by >= len(wallets))
        last = max(ch.deadline for ch in rest_ch)
        lines.append(_fit(
            f"  + {len(rest_ch)} more open, {solved} solved by every wallet, "
            f"last closes in {_until(last, now)}",
            width,
        ))
    return Group(*lines)


async def run_view(state: MinerState, stop: asyncio.Event, console: Console | None, interval: float) -> None:
    """Live table when ``console`` is a terminal; else one status log line every ``interval`` seconds."""
    if console is not None and console.is_terminal:
        def view() -> Group:
            # Re-read each time: the terminal may have been resized.
            return render(state, console.size.width, console.size.height)

        with Live(view(), console=console, refresh_per_second=2, transient=False) as live:
            while not stop.is_set():
                live.update(view())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
            live.update(view())
        return
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            log.info("%s", status_line(state))
