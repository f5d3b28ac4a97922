"""The live view at 80x24 (a default terminal): nothing wraps or is cut mid-column, the lists collapse
into summary lines, and receipts, estimated NIGHT and the API's recent failures are shown."""

from __future__ import annotations

import io
import time

from rich.console import Console

from scavenger.miner.journal import Counts
from scavenger.miner.state import ChallengeState, CurrentWork, MinerState, WalletState
from scavenger.miner.view import render, status_line


def _busy_state(wallets: int, challenges: int) -> MinerState:
    state = MinerState(
        instance_id="miner-12", slot=12, threads=16,
        base_url="https://scavenger.prod.gd.midnighttge.io/some/long/path", phase="mining",
    )
    now = time.time()
    for i in range(wallets):
        address = f"addr1q{i:02d}" + "x" * 90 + f"{i:06d}"
        state.wallets[address] = WalletState(
            address=address, registration="registered" if i else "failing", donation="done",
            found=20 + i, accepted=19 + i, pending=1,
        )
    first = next(iter(state.wallets))
    state.challenges = [
        ChallengeState(f"**D07C{n:02d}", "000FFFFF", now + 3600 * n, solved_by=n % (wallets + 1),
                       tried=123_456_789 * n)
        for n in range(1, challenges + 1)
    ]
    state.current = CurrentWork(first, "**D07C24", "000FFFFF", 1_500_000, 1_048_576.0, now + 86000)
    state.counts = Counts(found=500, accepted=480, pending=15, expired=4, rejected=1)
    state.receipts = 480
    state.rates = [10882519, 7692307, 12487254]
    state.receipts_by_day = {1: 100, 2: 200, 3: 150, 4: 30}
    for _ in range(3):
        state.health.count("solution", "429")
    state.health.count("challenge", "503")
    state.health.count("solution", "201")
    state.last_error = "submit **D07C03: Too Many Requests " + "x" * 200
    state.meter.add(1_000_000, elapsed=1.0)
    return state


def _screen(state: MinerState, width: int = 80, height: int = 24) -> list[str]:
    console = Console(file=io.StringIO(), width=width, height=height, record=True, color_system=None)
    console.print(render(state, width, height))
    return console.export_text().rstrip("\n").split("\n")


def test_busy_miner_fits_80x24_and_collapses_lists() -> None:
    lines = _screen(_busy_state(wallets=12, challenges=24))
    assert len(lines) <= 24, "\n".join(lines)
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    text = "\n".join(lines)
    # What an operator looks for first is all there.
    assert "receipts 480" in text
    expected_star = 100 * 10882519 + 200 * 7692307 + 150 * 12487254
    assert f"est {expected_star / 1e6:,.2f} NIGHT" in text
    assert "+30 receipts not rated yet" in text
    assert "API 15m: solution 429x3, challenge 503x1" in text
    assert "more open" in text and "more:" in text  # both lists summarised, not cut
    assert "**D07C24" in text  # the challenge being mined is never the one collapsed away
    # Header columns are not cut into ellipses: the column titles are whole.
    assert any(line.split()[:3] == ["wallet", "reg", "found"] for line in lines), text
    assert any(line.split()[:3] == ["challenge", "difficulty", "closes"] for line in lines), text


def test_small_miner_shows_everything() -> None:
    lines = _screen(_busy_state(wallets=2, challenges=3))
    text = "\n".join(lines)
    assert "more open" not in text and "more:" not in text
    assert all(f"**D07C{n:02d}" in text for n in (1, 2, 3))
    assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)


def test_status_line_has_earnings_and_api_health() -> None:
    line = status_line(_busy_state(wallets=2, challenges=3))
    assert "receipts 480" in line and "NIGHT" in line and "solution 429x3" in line


def test_server_strings_and_url_secrets_are_never_shown_raw() -> None:
    state = _busy_state(wallets=2, challenges=2)
    state.base_url = "http://operator:hunter22@api.example:8080/?token=tok3n"
    evil = "**D07C24[blink]\x1b[2J\u202e"
    state.challenges[0].challenge_id = evil
    state.challenges[0].difficulty = "[red]000FFFFF"
    assert state.current is not None
    state.current.challenge_id = evil
    state.last_error = "submit: \x1b]0;owned\x07 \u202eevil"
    state.api_status = "challenge poll failing: \x1b[31m"
    text = "\n".join(_screen(state, width=200, height=60))
    assert "hunter22" not in text and "tok3n" not in text and "api.example:8080" in text
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "[blink]" in text and "[red]000FFFFF" in text  # shown literally, never read as markup
    assert "\\u202e" in status_line(state)


def test_view_and_status_line_show_the_rate_while_hashing() -> None:
    state = _busy_state(wallets=2, challenges=3)  # one batch: 1,000,000 hashes in 1.0 s
    text = "\n".join(_screen(state))
    assert "while hashing 1.00 MH/s" in text, text
    assert "1000000.0 H/s while hashing" in status_line(state)
