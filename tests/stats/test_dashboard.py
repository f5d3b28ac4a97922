"""The dashboard at ``/`` in headless Chromium: the page must render the stored data (DOM dump) and draw
something (a non-blank PNG screenshot)."""

from __future__ import annotations

import functools
import html
import json
import os
import re
import shutil
import struct
import subprocess
import threading
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from timing import scaled

from .conftest import READ_TOKEN, Backend

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        # Debian's chromium package; the test setup installs it when missing (root only).
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "chromium"]
        if subprocess.run(install, capture_output=True, timeout=scaled(900), env=env).returncode != 0:
            # A fresh container may have no package lists yet.
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=scaled(600), env=env)
            subprocess.run(install, capture_output=True, timeout=scaled(900), env=env)
        path = find_chromium()
    if path is None:
        pytest.skip("headless Chromium is not installed and could not be installed "
                    "(needs root + apt-get and the Debian 'chromium' package)")
    return path


def chromium_argv(chromium: str, profile: Path, size: tuple[int, int] = (1280, 1400)) -> list[str]:
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}", "--virtual-time-budget=8000",
            f"--timeout={int(scaled(30_000))}"]


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) into rows of raw pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for r in range(height):
        filt = raw[r * (stride + 1)]
        line = bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if filt == 1:
                line[i] = (line[i] + a) & 0xFF
            elif filt == 2:
                line[i] = (line[i] + b) & 0xFF
            elif filt == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(row) for row in rows] if channels == 3 else [
        b"".join(row[i:i + 3] for i in range(0, len(row), 4)) for row in rows]


def seed_data(backend: Backend) -> float:
    """50 minutes of samples for 2 containers x 2 miners plus API replies; returns the expected current
    total rate (each miner's average over the last 5 minutes, summed)."""
    now = datetime.now(UTC)
    rates = {("CTN/alpha", "miner-1"): 1200.0, ("CTN/alpha", "miner-2"): 800.0,
             ("CTN/beta", "miner-1"): 450.0, ("CTN/beta", "miner-7"): 0.0}
    rows = []
    for minute in range(50, -1, -1):
        for (container, miner), rate in rates.items():
            wobble = (minute % 5) * 10.0 if rate else 0.0
            rows.append({"container_id": container, "miner_id": miner, "hash_rate": rate + wobble,
                         "timestamp": (now - timedelta(minutes=minute, seconds=5)).isoformat(),
                         "version": "0.1.0"})
    api = [{"container_id": "CTN/alpha", "miner_id": "miner-1", "url": "https://h/challenge",
            "endpoint": "/challenge", "status": 200, "api_response": {"code": "active"}}] * 7
    api += [{"container_id": "CTN/beta", "miner_id": "miner-1", "url": "https://h/solution/x",
             "endpoint": "/solution", "status": 201, "api_response": {}}] * 3
    api += [{"container_id": "CTN/beta", "miner_id": "miner-1", "url": "https://h/solution/y",
             "endpoint": "/solution", "status": 400, "api_response": {"message": "Solution already exists"}}]
    with backend.client() as client:
        assert client.post("/insert_stat", json=rows).status_code == 200
        assert client.post("/insert_api_return", json=api).status_code == 200
    # Samples at minutes 4..0 (+5 s) stay in the 5-minute window for 55 s: wobble 40,30,20,10,0 -> mean 20.
    return sum(rate + (20.0 if rate else 0.0) for rate in rates.values())


def _dom(chromium: str, url: str, profile: Path, size: tuple[int, int] = (1280, 1400)) -> str:
    dump = subprocess.run([*chromium_argv(chromium, profile, size), "--dump-dom", url],
                          capture_output=True, text=True, timeout=scaled(90))
    assert 'data-state="ready"' in dump.stdout, dump.stderr[-2000:]
    return dump.stdout


def _screenshot(chromium: str, url: str, profile: Path, shot: Path, size: tuple[int, int]) -> list[bytes]:
    subprocess.run([*chromium_argv(chromium, profile, size), f"--screenshot={shot}", url],
                   capture_output=True, timeout=scaled(90), check=True)
    width, height, rows = png_pixels(shot.read_bytes())
    assert (width, height) == size
    colors = {row[i:i + 3] for row in rows[::4] for i in range(0, len(row), 12)}
    assert len(colors) > 20, "screenshot looks blank"
    keep = os.environ.get("STATS_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / shot.name)
    return rows


def _near(rows: list[bytes], color: str, tolerance: int = 12) -> bool:
    """Whether some pixel is within ``tolerance`` of ``color`` (canvas lines are antialiased)."""
    want = bytes.fromhex(color)
    for row in rows:
        for i in range(0, len(row), 3):
            if all(abs(row[i + k] - want[k]) <= tolerance for k in range(3)):
                return True
    return False


def _series(dom: str, chart: str) -> list[str]:
    match = re.search(rf'id="{chart}"[^>]*data-series="([^"]*)"', dom)
    assert match is not None, chart
    return list(json.loads(html.unescape(match.group(1))))


def test_dashboard_up_state(chromium: str, start_backend: Callable[..., Backend], database_url: str,
                            tmp_path: Path) -> None:
    backend = start_backend(database_url)
    expected_total = seed_data(backend)
    url = f"{backend.url}/#token={READ_TOKEN}"

    dom = _dom(chromium, url, tmp_path / "p1")
    total = re.search(r'id="total-hashrate"[^>]*data-value="([0-9.]+)"', dom)
    assert total is not None and float(total.group(1)) == pytest.approx(expected_total)
    assert ">2.51 kH/s<" in dom  # 1220 + 820 + 470 + 0
    assert re.search(r'id="active-miners"[^>]*>4<', dom)
    assert re.search(r'id="down-miners"[^>]*>0<', dom)
    assert _series(dom, "chart-total") == ["total"]
    assert _series(dom, "chart-group") == ["CTN/alpha", "CTN/beta"]  # one line per container
    assert 'class="u-legend' in dom  # uPlot drew the charts (legend = live values under the cursor)
    assert "<td>/solution</td><td>400</td><td>1</td>" in dom
    assert "<td>/challenge</td><td>200</td><td>7</td>" in dom
    assert '<tr class="up"><td>up</td><td>CTN/beta</td><td>miner-7</td><td>0.00 H/s</td>' in dom
    assert 'id="down-banner" class="banner" hidden=""' in dom
    assert 'id="error-banner" class="banner" hidden=""' in dom
    # The token only lived in the fragment: the server never saw it in a request line.
    assert READ_TOKEN not in backend.log_text()

    rows = _screenshot(chromium, url, tmp_path / "p2", tmp_path / "dashboard-up.png", (1280, 1400))
    # The per-container lines use the palette's green (#4cc38a) and blue (#58a6ff).
    assert _near(rows, "4cc38a") and _near(rows, "58a6ff")


def test_dashboard_down_and_error_states(chromium: str, start_backend: Callable[..., Backend],
                                         database_url: str, tmp_path: Path) -> None:
    from .test_fleet_api import seed_fleet

    backend = start_backend(database_url)
    seed_fleet(backend)
    url = f"{backend.url}/?refresh=60#token={READ_TOKEN}"
    dom = _dom(chromium, url, tmp_path / "p1")
    # Down: red banner and row with since-when (UTC), excluded from the rate now.
    assert re.search(r'id="down-miners" class="down-count bad"[^>]*>1<', dom)
    assert re.search(r'id="total-hashrate"[^>]*>1.50 kH/s<', dom)
    banner = re.search(r'<section id="down-banner" class="banner">([^<]*)</section>', dom)
    assert banner is not None and "miner-2@beta / miner-2 since " in banner.group(1)
    assert " UTC (" in banner.group(1)
    assert re.search(r'<tr class="down"><td>DOWN since \d\d:\d\d:\d\d UTC</td><td>miner-2@beta</td>', dom)
    # Earnings and the last challenge.
    assert re.search(r'id="accepted"[^>]*>12<', dom) and re.search(r'id="night"[^>]*>120<', dom)
    assert re.search(r'id="last-challenge"[^>]*>\*\*D02C05<', dom) and ">000FFFFF<" in dom
    assert _series(dom, "chart-accepted") == ["total", "miner-1@alpha", "miner-2@beta"]
    assert _series(dom, "chart-night") == ["total", "miner-1@alpha", "miner-2@beta"]
    # Errors: per miner and status, over time and in the table.
    assert _series(dom, "chart-errors") == ["miner-2@beta / miner-2 429"]
    assert re.search(r'id="api-errors" class="big bad"[^>]*>3<', dom)
    assert "<td>miner-2@beta</td><td>miner-2</td><td>solution</td><td>429</td><td>3</td>" in dom

    rows = _screenshot(chromium, url, tmp_path / "p2", tmp_path / "dashboard-down.png", (1280, 2200))
    assert _near(rows, "ff7b72", 6)  # the red of "down" and of the error bars
    # Readable on a phone, 420 px wide: nothing wider than that except inside scrolling tables. Chromium's
    # window cannot be narrower than 500 px, so the page runs in a 420 px iframe and reports its layout.
    frame = tmp_path / "narrow.html"
    frame.write_text(
        '<html><body style="margin:0;background:#fff"><pre id="report">waiting</pre>'
        f'<iframe src="{url}" width="420" height="2400" style="border:0;display:block"></iframe>'
        "<script>addEventListener('message', (e) => { document.getElementById('report').textContent = "
        "JSON.stringify(e.data); });</script></body></html>"
    )
    pages = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler,
                                                                    directory=str(tmp_path)))
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    frame_url = f"http://127.0.0.1:{pages.server_address[1]}/narrow.html"
    try:
        dump = subprocess.run([*chromium_argv(chromium, tmp_path / "p3", (500, 2500)), "--dump-dom",
                               frame_url], capture_output=True, text=True, timeout=scaled(90))
        _screenshot(chromium, frame_url, tmp_path / "p4", tmp_path / "dashboard-420.png", (500, 2500))
    finally:
        pages.shutdown()
        pages.server_close()
    report = re.search(r'<pre id="report">([^<]*)</pre>', dump.stdout)
    assert report is not None, dump.stdout[-2000:]
    layout = json.loads(html.unescape(report.group(1)))
    assert layout["dashboard"] == "ready" and layout["width"] == 420
    assert layout["scrollWidth"] <= 420, layout


def test_dashboard_error_state_when_the_database_is_unreachable(
    chromium: str, start_backend: Callable[..., Backend], tmp_path: Path
) -> None:
    from .conftest import free_port

    # Nothing listens on that port: every read answers 503 and the page says so instead of stale numbers.
    backend = start_backend(f"postgresql://stats:x@127.0.0.1:{free_port()}/nowhere", wait_healthy=False)
    url = f"{backend.url}/#token={READ_TOKEN}"
    dump = subprocess.run([*chromium_argv(chromium, tmp_path / "p1"), "--dump-dom", url],
                          capture_output=True, text=True, timeout=90)
    assert 'data-state="error"' in dump.stdout, dump.stderr[-2000:]
    assert re.search(r'id="status" class="status error">error: [^<]*HTTP 503<', dump.stdout)
    assert re.search(r'<section id="error-banner" class="banner">The stats backend is not answering '
                     r'\([^<]*HTTP 503\); no figures yet\.</section>', dump.stdout)
    rows = _screenshot(chromium, url, tmp_path / "p2", tmp_path / "dashboard-error.png", (1280, 700))
    assert _near(rows, "ff7b72", 6)  # the error text is red
