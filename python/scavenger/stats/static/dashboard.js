// Scavenger stats dashboard: plain JS + self-drawn SVG charts (no CDN: it must work offline).
// The read token comes from the URL fragment (#token=..., never sent to the server in request lines)
// or from the form, and is kept in sessionStorage for this tab only.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const PALETTE = ["#4cc38a", "#58a6ff", "#f0883e", "#d2a8ff", "#ff7b72", "#e3b341", "#39c5cf", "#a5d6ff"];
const params = new URLSearchParams(location.search);
const REFRESH_SECS = Math.max(2, Number(params.get("refresh")) || 15);

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

// ---- formatting ---------------------------------------------------------------------------------

function formatRate(value) {
  const v = Number(value) || 0;
  if (Math.abs(v) >= 1e9) return (v / 1e9).toFixed(2) + " GH/s";
  if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(2) + " MH/s";
  if (Math.abs(v) >= 1e3) return (v / 1e3).toFixed(2) + " kH/s";
  return v.toFixed(2) + " H/s";
}

function formatAge(iso) {
  if (!iso) return "never";
  const secs = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (secs < 90) return Math.round(secs) + " s ago";
  if (secs < 5400) return Math.round(secs / 60) + " min ago";
  if (secs < 172800) return Math.round(secs / 3600) + " h ago";
  return Math.round(secs / 86400) + " d ago";
}

function formatTime(date, spanMs) {
  const pad = (n) => String(n).padStart(2, "0");
  const hm = pad(date.getHours()) + ":" + pad(date.getMinutes());
  return spanMs > 2 * 86400e3 ? pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " + hm : hm;
}

function setText(id, text, value) {
  const el = document.getElementById(id);
  el.textContent = text;
  if (value !== undefined) el.dataset.value = String(value);
}

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const exp = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * exp >= value) return step * exp;
  return 10 * exp;
}

function emptyChart(container, message) {
  const svg = svgEl("svg", { viewBox: "0 0 600 200", preserveAspectRatio: "none" });
  svg.appendChild(svgEl("text", { x: 300, y: 100, "text-anchor": "middle", class: "empty" }, message));
  container.replaceChildren(svg);
}

// ---- charts -------------------------------------------------------------------------------------

// series: Map(name -> [{t: ms, v: number}]) sorted by t. Draws lines with points, axes and a legend.
function lineChart(container, series, fromMs, toMs) {
  const names = [...series.keys()];
  if (names.length === 0) return emptyChart(container, "no samples in this window");
  const W = Math.max(320, container.clientWidth || 800), H = Math.max(160, container.clientHeight || 260);
  const m = { l: 70, r: 12, t: 10, b: 22 + 16 * Math.ceil(names.length / 4) };
  const plotW = W - m.l - m.r, plotH = H - m.t - m.b;
  let maxV = 0;
  for (const points of series.values()) for (const p of points) maxV = Math.max(maxV, p.v);
  const yMax = niceMax(maxV * 1.05);
  const span = Math.max(1, toMs - fromMs);
  const x = (t) => m.l + ((t - fromMs) / span) * plotW;
  const y = (v) => m.t + plotH - (v / yMax) * plotH;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H });
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    svg.appendChild(svgEl("line", { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v), class: "axis" }));
    svg.appendChild(svgEl("text", { x: m.l - 6, y: y(v) + 4, "text-anchor": "end", class: "label" },
      formatRate(v)));
  }
  for (let i = 0; i <= 5; i++) {
    const t = fromMs + (span * i) / 5;
    svg.appendChild(svgEl("text", { x: x(t), y: m.t + plotH + 15, "text-anchor": i === 0 ? "start" : i === 5 ? "end" : "middle",
      class: "label" }, formatTime(new Date(t), span)));
  }
  names.forEach((name, i) => {
    const color = PALETTE[i % PALETTE.length];
    const points = series.get(name);
    const d = points.map((p, j) => (j ? "L" : "M") + x(p.t).toFixed(1) + "," + y(p.v).toFixed(1)).join(" ");
    svg.appendChild(svgEl("path", { d, fill: "none", stroke: color, "stroke-width": 2, "data-series": name }));
    for (const p of points) {
      const dot = svgEl("circle", { cx: x(p.t), cy: y(p.v), r: 3, fill: color });
      dot.appendChild(svgEl("title", {}, name + ": " + formatRate(p.v) + " at " + new Date(p.t).toISOString()));
      svg.appendChild(dot);
    }
    const lx = m.l + (i % 4) * (plotW / 4), ly = H - m.b + 34 + 16 * Math.floor(i / 4);
    svg.appendChild(svgEl("rect", { x: lx, y: ly - 9, width: 10, height: 10, fill: color }));
    svg.appendChild(svgEl("text", { x: lx + 14, y: ly, class: "label" }, name));
  });
  container.replaceChildren(svg);
}

function barChart(container, bars) {
  if (bars.length === 0) return emptyChart(container, "no API replies in this window");
  const W = Math.max(320, container.clientWidth || 600), rowH = 22, labelW = 170;
  const H = Math.max(60, bars.length * rowH + 10);
  const maxV = Math.max(...bars.map((b) => b.value), 1);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H });
  bars.forEach((b, i) => {
    const y0 = 5 + i * rowH, width = ((W - labelW - 60) * b.value) / maxV;
    svg.appendChild(svgEl("text", { x: labelW - 6, y: y0 + 14, "text-anchor": "end", class: "label" }, b.label));
    svg.appendChild(svgEl("rect", { x: labelW, y: y0 + 3, width: Math.max(1, width), height: rowH - 8,
      fill: b.status >= 400 ? "#ff7b72" : PALETTE[1] }));
    svg.appendChild(svgEl("text", { x: labelW + width + 6, y: y0 + 14, class: "label" }, String(b.value)));
  });
  container.style.height = H + "px";
  container.replaceChildren(svg);
}

// ---- tables -------------------------------------------------------------------------------------

function fillTable(id, rows, cells) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    for (const value of cells(row)) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.appendChild(td);
    }
    return tr;
  }));
}

function toSeries(points) {
  const series = new Map();
  for (const p of points) {
    if (!series.has(p.series)) series.set(p.series, []);
    series.get(p.series).push({ t: new Date(p.bucket).getTime(), v: Number(p.hashrate_hs) });
  }
  return series;
}

// ---- refresh ------------------------------------------------------------------------------------

async function refresh() {
  const minutes = Number(document.getElementById("window").value);
  const group = document.getElementById("group").value;
  const bucket = Math.max(10, Math.round((minutes * 60) / 120));  // ~120 points per line at most
  document.getElementById("group-label").textContent = group;
  const [summary, total, grouped, endpoints, containers, miners] = await Promise.all([
    api("/api/hashrate/summary", { minutes: 5 }),
    api("/api/hashrate/series", { minutes, bucket, group: "total" }),
    api("/api/hashrate/series", { minutes, bucket, group }),
    api("/api/api-returns/by-endpoint", { minutes }),
    api("/api/hashrate/by-container", { minutes: 5 }),
    api("/api/miners/last-seen"),
  ]);
  const toMs = Date.now(), fromMs = toMs - minutes * 60e3;

  setText("total-hashrate", formatRate(summary.total_hashrate_hs), summary.total_hashrate_hs);
  setText("active-miners", String(summary.active_miners), summary.active_miners);
  setText("active-containers", String(summary.active_containers), summary.active_containers);
  setText("stat-rows", String(summary.stat_rows), summary.stat_rows);
  setText("api-rows", String(summary.api_rows), summary.api_rows);
  setText("last-update", formatAge(summary.last_update));
  setText("last-update-abs", summary.last_update ? new Date(summary.last_update).toISOString() : "");

  lineChart(document.getElementById("chart-total"), toSeries(total), fromMs, toMs);
  lineChart(document.getElementById("chart-group"), toSeries(grouped), fromMs, toMs);
  barChart(document.getElementById("chart-api"), endpoints.map((r) => ({
    label: r.endpoint + " " + (r.status === null ? "?" : r.status), value: Number(r.calls), status: r.status,
  })));
  fillTable("api-table", endpoints, (r) => [r.endpoint, r.status === null ? "?" : String(r.status),
    String(r.calls), formatAge(r.last_call)]);
  fillTable("container-table", containers, (r) => [r.container_id, formatRate(r.current_hashrate_hs),
    String(r.active_miners), formatAge(r.last_update)]);
  fillTable("miners-table", miners, (r) => [r.container_id, r.miner_id,
    r.last_hashrate_hs === null ? "–" : formatRate(r.last_hashrate_hs), formatAge(r.last_stat),
    formatAge(r.last_api_call), String(r.api_calls), r.version || "–"]);
}

async function tick() {
  const status = document.getElementById("status");
  try {
    await refresh();
    status.textContent = "updated " + new Date().toLocaleTimeString();
    status.classList.remove("error");
    document.getElementById("token-form").hidden = true;
    document.body.dataset.state = "ready";
  } catch (err) {
    status.textContent = err instanceof AuthError ? "token required" : "error: " + err.message;
    status.classList.add("error");
    if (err instanceof AuthError) document.getElementById("token-form").hidden = false;
    document.body.dataset.state = err instanceof AuthError ? "auth" : "error";
  }
}

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = document.getElementById("token-input").value.trim();
  sessionStorage.setItem("statsToken", token);
  tick();
});
for (const id of ["window", "group"]) document.getElementById(id).addEventListener("change", tick);
document.getElementById("refresh-secs").textContent = String(REFRESH_SECS);
tick();
setInterval(tick, REFRESH_SECS * 1000);
