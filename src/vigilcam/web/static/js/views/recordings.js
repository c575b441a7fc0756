// The Recordings view: the timeline of recorded stretches, playback from a clicked moment
// (an fMP4 stream over HTTPS into the MSE player; every playback is an access event, TAICS
// 5.5.1.1), the recording mode and the MP4 export link.

import { api, errorText } from "../api.js";
import { $ } from "../dom.js";
import { fmtTime, fromLocalInput, toLocalInput } from "../format.js";
import { avcCodec, MsePlayer } from "../player.js";
import { may } from "../session.js";

let timeline = null;  // { from, to, spans } as drawn
let playing = null;   // { closed, abort, player, start }

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function setRecStatus(text, bad) {
  const el = $("rec-status"); el.textContent = text; el.classList.toggle("error", !!bad);
}

export async function load() {
  const now = Date.now() / 1000;
  const auto = $("rec-window").value === "auto";
  const win = auto ? 30 * 86400 : (parseInt($("rec-window").value, 10) || 86400);
  let from = now - win;
  const r = await api("GET", "/api/v1/recordings?from=" + from.toFixed(3) + "&to=" + (now + 60).toFixed(3));
  const bar = $("rec-timeline");
  for (const el of Array.from(bar.querySelectorAll(".span"))) el.remove();
  $("rec-mode-box").hidden = !may("configure_media");
  $("rec-export-box").hidden = !may("export_recordings");
  if (r.status !== 200) {
    timeline = null;
    $("rec-summary").textContent = errorText(r, "Recordings are not available.");
    return;
  }
  if (r.data.mode) $("rec-mode").value = r.data.mode;
  const spans = r.data.spans || [];
  if (auto && spans.length) {
    // zoom to fit: from a little before the first recording to now
    from = Math.min(spans[0].start, now - 60);
    from -= (now - from) * 0.02;
  }
  timeline = { from: from, to: now, spans: spans };
  $("rec-window-start").textContent = fmtTime(from);
  $("rec-window-end").textContent = fmtTime(now);
  let total = 0;
  for (const sp of spans) {
    total += sp.end - sp.start;
    const el = document.createElement("div");
    el.className = "span" + (sp.triggers.includes("continuous") ? "" : " event");
    const left = Math.max(0, (sp.start - from) / (now - from));
    const right = Math.min(1, (sp.end - from) / (now - from));
    el.style.left = (left * 100).toFixed(3) + "%";
    el.style.width = (Math.max(0, right - left) * 100).toFixed(3) + "%";
    el.title = fmtTime(sp.start) + " – " + fmtTime(sp.end);
    el.dataset.start = String(sp.start);
    bar.appendChild(el);
  }
  $("rec-summary").textContent = spans.length ?
    spans.length + " recorded stretch(es), " + Math.round(total) + " s in all" :
    "Nothing recorded in this window.";
  if (spans.length && !$("rec-export-from").value) {
    const last = spans[spans.length - 1];
    setExportRange(Math.max(last.start, last.end - 60), last.end);
  }
}

function setExportRange(a, b) {
  $("rec-export-from").value = toLocalInput(a);
  $("rec-export-to").value = toLocalInput(b);
  updateExportLink();
}

function updateExportLink() {
  const a = fromLocalInput($("rec-export-from").value);
  const b = fromLocalInput($("rec-export-to").value);
  const link = $("rec-export");
  if (a === null || b === null || b <= a) { link.removeAttribute("href"); return; }
  link.href = "/api/v1/recordings/export?from=" + a.toFixed(3) + "&to=" + b.toFixed(3);
}

// Play from the moment under the click, snapped into the nearest recorded stretch so a click
// just beside a short span still plays.
function playAtClick(ev) {
  const rec = timeline;
  if (!rec) return;
  const box = $("rec-timeline").getBoundingClientRect();
  const frac = Math.min(1, Math.max(0, (ev.clientX - box.left) / box.width));
  let t = rec.from + frac * (rec.to - rec.from);
  let best = null;
  for (const sp of rec.spans) {
    const d = t < sp.start ? sp.start - t : (t > sp.end ? t - sp.end : 0);
    if (best === null || d < best.d) best = { d: d, sp: sp };
  }
  if (!best) { setRecStatus("Nothing recorded in this window.", true); return; }
  t = Math.min(Math.max(t, best.sp.start), Math.max(best.sp.start, best.sp.end - 0.5));
  const cur = $("rec-cursor");
  cur.hidden = false;
  cur.style.left = (((t - rec.from) / (rec.to - rec.from)) * 100).toFixed(3) + "%";
  setExportRange(t, Math.min(best.sp.end, t + 60));
  play(t);
}

export function stop() {
  const p = playing; playing = null;
  if (!p) return;
  p.closed = true;
  if (p.player) p.player.close();
  try { p.abort.abort(); } catch (e) { /* done */ }
}

async function play(t) {
  stop();
  const t0 = performance.now();
  const p = { closed: false, abort: new AbortController(), player: null, start: t };
  playing = p;
  setRecStatus("loading…");
  let res;
  try {
    res = await fetch("/api/v1/recordings/play?from=" + t.toFixed(3),
      { credentials: "same-origin", signal: p.abort.signal });
  } catch (e) { if (!p.closed) setRecStatus("playback failed", true); return; }
  if (res.status !== 200) {
    let d = {}; try { d = await res.json(); } catch (e) { d = {}; }
    setRecStatus(d.error || ("playback refused (" + res.status + ")"), true);
    return;
  }
  const offset = parseFloat(res.headers.get("X-Playback-Offset") || "0") || 0;
  p.start = parseFloat(res.headers.get("X-Playback-Start") || String(t)) || t;
  const reader = res.body.getReader();
  try {
    let head = new Uint8Array(0);
    let codec = null;
    while (!codec && !p.closed) {
      const { value, done } = await reader.read();
      if (done) break;
      head = concatBytes(head, value);
      codec = avcCodec(head);
    }
    if (p.closed) return;
    if (!codec) { setRecStatus("not a playable recording", true); return; }
    const player = new MsePlayer($("rec-video"), { startAt: offset, onStart: () =>
      setRecStatus("playing (started in " + Math.round(performance.now() - t0) + " ms)") });
    p.player = player;
    await player.open(codec);
    player.push(head);
    while (!p.closed) {
      while (!p.closed && (player.queued > 16 || player.bufferedAhead() > 60)) await sleep(250);
      const { value, done } = await reader.read();
      if (done) break;
      player.push(value);
    }
    player.finish();
  } catch (e) {
    if (!p.closed) setRecStatus("playback interrupted", true);
  }
}

function concatBytes(a, b) {
  const out = new Uint8Array(a.length + b.length); out.set(a, 0); out.set(b, a.length); return out;
}

export function wire() {
  $("rec-export-from").addEventListener("change", updateExportLink);
  $("rec-export-to").addEventListener("change", updateExportLink);
  $("rec-refresh").addEventListener("click", load);
  $("rec-window").addEventListener("change", load);
  $("rec-mode").addEventListener("change", async () => {
    const r = await api("PUT", "/api/v1/recordings/mode", { mode: $("rec-mode").value });
    setRecStatus(r.status === 200 ? "Recording mode: " + r.data.mode : errorText(r, "refused"),
      r.status !== 200);
  });
  $("rec-timeline").addEventListener("click", playAtClick);
  $("rec-video").addEventListener("timeupdate", () => {
    if (playing) $("rec-clock").textContent = fmtTime(playing.start + $("rec-video").currentTime);
  });
}
