// Scavenger stats dashboard: plain JS + uPlot (vendored in static/vendor/uplot; no CDN, works offline).
// One time convention on the whole page: UTC (axes, tooltips, tables).
// The read token comes from the URL fragment (#token=..., never sent to the server in request lines)
// or from the form, and is kept in sessionStorage for this tab only.
"use strict";

const PALETTE = ["#4cc38a", "#58a6ff", "#f0883e", "#d2a8ff", "#ff7b72", "#e3b341", "#39c5cf", "#a5d6ff"];
const params = new URLSearchParams(location.search);
const REFRESH_SECS = Math.max(2, Number(params.get("refresh")) || 15);
const STAR_PER_NIGHT = 1e6;

function readToken() {
  const match = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem("statsToken", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);  // keep it out of the address bar
  }
  return sessionStorage.getItem("statsToken") || "";
}

let token = readToken();

class AuthError extends Error {}

async function api(path, query) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) url.searchParams.set(k, String(v));
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const reply = await fetch(url, { headers, cache: "no-store" });
  if (reply.status === 401) throw new AuthError("token required");
  if (!reply.ok) throw new Error(path + ": HTTP " + reply.status);
  return reply.json();
}

// ---- formatting (UTC everywhere) ----------------------------------------------------------------

function formatRate(value) {
  const v = Number(value) || 0;
  if (Math.abs(v) >= 1e9) return (v / 1e9).toFixed(2) + " GH/s";
  if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(2) + " MH/s";
  if (Math.abs(v) >= 1e3) return (v / 1e3).toFixed(2) + " kH/s";
  return v.toFixed(2) + " H/s";
}

function formatCount(value) {
  return Math.round(Number(value) || 0).toLocaleString("en-US");
}

function formatNight(star) {
  const night = (Number(star) || 0) / STAR_PER_NIGHT;
  if (night >= 1000) return night.toLocaleString("en-US", { maximumFractionDigits: 0 });
  if (night >= 1) return night.toLocaleString("en-US", { maximumFractionDigits: 2 });
  return night.toLocaleString("en-US", { maximumFractionDigits: 6 });
}

function formatAge(iso) {
  if (!iso) return "never";
  const secs = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (secs < 90) return Math.round(secs) + " s ago";
  if (secs < 5400) return Math.round(secs / 60) + " min ago";
  if (secs < 172800) return Math.round(secs / 3600) + " h ago";
  return Math.round(secs / 86400) + " d ago";
}

function formatUtc(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  const today = new Date().toISOString().slice(0, 10);
  const text = d.toISOString();
  return (text.slice(0, 10) === today ? text.slice(11, 19) : text.slice(0, 10) + " " + text.slice(11, 19)) + " UTC";
}

function setText(id, text, value) {
  const el = document.getElementById(id);
  el.textContent = text;
  if (value !== undefined) el.dataset.value = String(value);
}

// ---- charts (uPlot) -----------------------------------------------------------------------------

// A tooltip that follows the cursor: time (UTC) and every series' value at that point.
function tooltipPlugin(format) {
  let tip;
  return {
    hooks: {
      init: (u) => {
        tip = document.createElement("div");
        tip.className = "tooltip";
        tip.hidden = true;
        u.over.appendChild(tip);
        u.over.addEventListener("mouseleave", () => { tip.hidden = true; });
      },
      setCursor: (u) => {
        const idx = u.cursor.idx;
        if (idx == null) { tip.hidden = true; return; }
        const lines = [new Date(u.data[0][idx] * 1000).toISOString().slice(0, 19).replace("T", " ") + " UTC"];
        for (let i = 1; i < u.series.length; i++) {
          const v = u.data[i][idx];
          if (v != null && u.series[i].show) lines.push(u.series[i].label + ": " + format(v));
        }
        tip.textContent = lines.join("\n");
        tip.hidden = false;
        const left = Math.min(u.cursor.left + 12, u.over.clientWidth - tip.offsetWidth - 4);
        tip.style.left = Math.max(0, left) + "px";
        tip.style.top = Math.max(0, u.cursor.top - tip.offsetHeight - 8) + "px";
      },
    },
  };
}

const charts = new Map();  // element id -> uPlot

// rows: [{t: seconds, series: name, v: number}]. Series in the order given by `order` (then by name).
function drawChart(id, rows, format, fromS, toS, opts) {
  const el = document.getElementById(id);
  const names = [...new Set(rows.map((r) => r.series))].sort((a, b) =>
    (a === "total" ? -1 : b === "total" ? 1 : a.localeCompare(b)));
  el.dataset.series = JSON.stringify(names);
  el.dataset.points = String(rows.length);
  const old = charts.get(id);
  if (old) { old.destroy(); charts.delete(id); }
  if (names.length === 0) {
    el.replaceChildren(Object.assign(document.createElement("p"), { className: "empty", textContent: opts.empty }));
    return;
  }
  const xs = [...new Set(rows.map((r) => r.t))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const data = [xs, ...names.map(() => new Array(xs.length).fill(null))];
  for (const r of rows) data[names.indexOf(r.series) + 1][at.get(r.t)] = r.v;
  const width = Math.max(280, el.clientWidth || 800);
  const series = [{ label: "time (UTC)", value: (u, v) => (v == null ? "–" : new Date(v * 1000).toISOString().slice(11, 19)) }];
  names.forEach((name, i) => series.push({
    label: name,
    stroke: name === "total" ? "#e6edf3" : PALETTE[i % PALETTE.length],
    width: name === "total" ? 2.5 : 2,
    points: { show: xs.length < 60 },
    spanGaps: opts.spanGaps !== false,
    paths: opts.bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined,
    fill: opts.bars ? PALETTE[i % PALETTE.length] + "88" : undefined,
    value: (u, v) => (v == null ? "–" : format(v)),
  }));
  const axis = { stroke: "#8b98a5", grid: { stroke: "#2a3846" }, ticks: { stroke: "#2a3846" } };
  const spanS = toS - fromS;
  // 24-hour UTC labels; the date only when the window spans more than a day.
  const timeLabel = (v) => {
    const iso = new Date(v * 1000).toISOString();
    return spanS > 86400 ? iso.slice(5, 10) + " " + iso.slice(11, 16) : iso.slice(11, 16);
  };
  el.replaceChildren();
  const plot = new uPlot({
    width,
    height: width < 500 ? 200 : 260,
    series,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { x: { time: true, min: fromS, max: toS }, y: { range: (u, min, max) => [0, Math.max(max * 1.1, opts.minMax || 1)] } },
    axes: [
      { ...axis, label: "UTC", labelSize: 16, space: width < 500 ? 70 : 60, values: (u, vals) => vals.map(timeLabel) },
      {
        ...axis,
        values: (u, vals) => vals.map(format),
        // Wide enough for the longest label ("2.50 kH/s", "1,234 NIGHT"), so none is cut.
        size: (u, values) => 20 + 7.5 * Math.max(4, ...(values || []).map((v) => String(v).length)),
        incrs: opts.integer ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 1e5, 1e6] : undefined,
      },
    ],
    legend: { live: true },
    cursor: { points: { size: 6 } },
    plugins: [tooltipPlugin(format)],
  }, data, el);
  charts.set(id, plot);
}

function seconds(iso) {
  return Math.floor(new Date(iso).getTime() / 1000);
}

// ---- tables -------------------------------------------------------------------------------------

function fillTable(id, rows, cells, rowClass) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    if (rowClass) tr.className = rowClass(row);
    for (const value of cells(row)) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.appendChild(td);
    }
    return tr;
  }));
}

// ---- refresh ------------------------------------------------------------------------------------

async function refresh() {
  const minutes = Number(document.getElementById("window").value);
  const group = document.getElementById("group").value;
  const bucket = Math.max(10, Math.round((minutes * 60) / 120));  // ~120 points per line at most
  for (const el of document.querySelectorAll(".group-label")) el.textContent = group;
  const [summary, earnings, total, grouped, earnTotal, earnGroup, errors, errorsByMiner, endpoints,
    containers, miners] = await Promise.all([
    api("/api/hashrate/summary", { minutes: 5 }),
    api("/api/earnings/summary"),
    api("/api/hashrate/series", { minutes, bucket, group: "total" }),
    api("/api/hashrate/series", { minutes, bucket, group }),
    api("/api/earnings/series", { minutes, bucket, group: "total" }),
    api("/api/earnings/series", { minutes, bucket, group }),
    api("/api/api-returns/errors-series", { minutes, bucket }),
    api("/api/api-returns/errors-by-miner", { minutes: 15 }),
    api("/api/api-returns/by-endpoint", { minutes }),
    api("/api/hashrate/by-container", { minutes: 5 }),
    api("/api/miners"),
  ]);
  const toS = Date.now() / 1000, fromS = toS - minutes * 60;

  setText("total-hashrate", formatRate(summary.total_hashrate_hs), summary.total_hashrate_hs);
  setText("active-miners", String(summary.active_miners), summary.active_miners);
  setText("down-miners", String(summary.down_miners), summary.down_miners);
  document.getElementById("down-miners").classList.toggle("bad", Number(summary.down_miners) > 0);
  setText("active-containers", String(summary.active_containers), summary.active_containers);
  setText("accepted", formatCount(earnings.solutions_accepted), earnings.solutions_accepted);
  setText("receipts", formatCount(earnings.receipts), earnings.receipts);
  setText("pending", formatCount(earnings.solutions_pending), earnings.solutions_pending);
  setText("night", formatNight(earnings.estimated_star), earnings.estimated_star);
  setText("last-challenge", earnings.last_challenge_id || "–");
  setText("last-difficulty", earnings.last_difficulty || "–");
  const errors15 = errorsByMiner.reduce((n, r) => n + Number(r.errors), 0);
  setText("api-errors", formatCount(errors15), errors15);
  document.getElementById("api-errors").classList.toggle("bad", errors15 > 0);
  setText("last-update", formatAge(summary.last_update));
  setText("last-update-abs", formatUtc(summary.last_update));

  const down = miners.filter((m) => m.state === "down");
  const banner = document.getElementById("down-banner");
  banner.hidden = down.length === 0;
  banner.textContent = down.length === 0 ? "" : down.length + " miner(s) down: " + down.map((m) =>
    m.container_id + " / " + m.miner_id + " since " + formatUtc(m.down_since) + " (" + formatAge(m.down_since) + ")").join("; ");

  const rate = (rows) => rows.map((r) => ({ t: seconds(r.bucket), series: r.series, v: Number(r.hashrate_hs) }));
  drawChart("chart-total", rate(total), formatRate, fromS, toS, { empty: "no samples in this window" });
  drawChart("chart-group", rate(grouped), formatRate, fromS, toS, { empty: "no samples in this window" });
  const earn = (key, scale) => [...earnTotal, ...earnGroup.filter((r) => r.series !== "total")].map((r) => (
    { t: seconds(r.bucket), series: r.series, v: Number(r[key]) / scale }));
  drawChart("chart-accepted", earn("solutions_accepted", 1), formatCount, fromS, toS,
    { empty: "no solutions reported in this window", integer: true });
  drawChart("chart-night", earn("estimated_star", STAR_PER_NIGHT), (v) => formatNight(v * STAR_PER_NIGHT) + " NIGHT",
    fromS, toS, { empty: "no earnings reported in this window", minMax: 1e-6 });
  drawChart("chart-errors", errors.map((r) => ({ t: seconds(r.bucket), series: r.miner + " " + r.status, v: Number(r.errors) })),
    formatCount, fromS, toS, { empty: "no API errors in this window", bars: true, spanGaps: false, integer: true });

  fillTable("miners-table", miners, (m) => [
    m.state === "down" ? "DOWN since " + formatUtc(m.down_since) : "up",
    m.container_id, m.miner_id,
    m.state === "down" || m.last_hashrate_hs === null ? "–" : formatRate(m.last_hashrate_hs),
    m.solutions_accepted === null ? "–" : formatCount(m.solutions_accepted),
    m.estimated_star === null ? "–" : formatNight(m.estimated_star),
    m.last_challenge_id ? m.last_challenge_id + " " + (m.last_difficulty || "") : "–",
    formatCount(m.api_errors_15m), formatUtc(m.last_report) + " (" + formatAge(m.last_report) + ")", m.version || "–",
  ], (m) => (m.state === "down" ? "down" : "up"));
  fillTable("errors-table", errorsByMiner, (r) => [r.container_id, r.miner_id, r.endpoint, r.status,
    formatCount(r.errors), formatUtc(r.last_error)]);
  fillTable("api-table", endpoints, (r) => [r.endpoint, r.status === null ? "?" : String(r.status),
    String(r.calls), formatUtc(r.last_call)]);
  fillTable("container-table", containers, (r) => [r.container_id, formatRate(r.current_hashrate_hs),
    String(r.active_miners), formatUtc(r.last_update)]);
}

let lastGood = null;

async function tick() {
  const status = document.getElementById("status");
  const errorBanner = document.getElementById("error-banner");
  try {
    await refresh();
    lastGood = new Date().toISOString();
    errorBanner.hidden = true;
    status.textContent = "updated " + lastGood.slice(11, 19) + " UTC";
    status.classList.remove("error");
    document.getElementById("token-form").hidden = true;
    document.body.dataset.state = "ready";
  } catch (err) {
    status.textContent = err instanceof AuthError ? "token required" : "error: " + err.message;
    status.classList.add("error");
    if (!(err instanceof AuthError)) {
      // Say loudly that the figures are not current, rather than leave stale numbers looking live.
      errorBanner.hidden = false;
      errorBanner.textContent = "The stats backend is not answering (" + err.message + "); " +
        (lastGood ? "the figures below are from " + formatUtc(lastGood) + "." : "no figures yet.");
    }
    if (err instanceof AuthError) document.getElementById("token-form").hidden = false;
    document.body.dataset.state = err instanceof AuthError ? "auth" : "error";
  }
  // Embedded (a wall screen, the narrow-layout test): tell the parent page the state and whether the
  // layout fits its width. Nothing secret: no data, no token.
  if (window.parent !== window) {
    const root = document.documentElement;
    window.parent.postMessage({ dashboard: document.body.dataset.state, width: root.clientWidth,
      scrollWidth: root.scrollWidth }, "*");
  }
}

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = document.getElementById("token-input").value.trim();
  sessionStorage.setItem("statsToken", token);
  tick();
});
for (const id of ["window", "group"]) document.getElementById(id).addEventListener("change", tick);
let resizeTimer;
window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(tick, 300); });
document.getElementById("refresh-secs").textContent = String(REFRESH_SECS);
tick();
setInterval(tick, REFRESH_SECS * 1000);
