// vigilcam browser UI. No inline script; every value from the server is shown with textContent.
"use strict";

const state = { me: null, view: "live", live: null, play: null, rec: null };
const $ = (id) => document.getElementById(id);
const TAMPER_NAMES = { covered: "Lens covered", defocused: "Out of focus", moved: "Camera moved" };

function nonce() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (method !== "GET") {
    headers["X-Request-Nonce"] = nonce();
    if (state.me && state.me.csrf_token) headers["X-CSRF-Token"] = state.me.csrf_token;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  return { status: res.status, data: data || {}, headers: res.headers };
}

function show(view) {
  for (const el of document.querySelectorAll(".view")) el.hidden = el.id !== "view-" + view;
  for (const b of document.querySelectorAll("nav button[data-view]")) {
    b.classList.toggle("active", b.dataset.view === view);
  }
  if (view !== "live") stopLive();
  if (view !== "recordings") stopPlayback();
  state.view = view;
  const loaders = { live: startLive, device: loadDevice, users: loadUsers, log: loadLog,
    viewers: loadViewers, recordings: loadRecordings, data: loadData, alerts: loadAlerts,
    detection: loadDetection };
  if (loaders[view]) loaders[view]();
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

async function boot() {
  const r = await api("GET", "/api/v1/session");
  if (r.status !== 200) { state.me = null; $("nav").hidden = true; show("login"); return; }
  state.me = r.data;
  if (state.me.password_change_required) { $("nav").hidden = true; show("password"); return; }
  $("nav").hidden = false;
  $("whoami").textContent = state.me.username + " (" + state.me.role + ")";
  for (const b of document.querySelectorAll("nav button[data-perm]")) {
    b.hidden = !state.me.permissions.includes(b.dataset.perm);
  }
  show(state.view === "login" || state.view === "password" ? "live" : state.view);
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  const r = await api("POST", "/api/v1/session",
    { username: $("login-user").value, password: $("login-pass").value });
  $("login-pass").value = "";
  if (r.status === 200) { state.me = r.data; state.view = "live"; boot(); return; }
  if (r.status === 429) {
    $("login-error").textContent = "Too many failed attempts. Try again in " +
      (r.headers.get("Retry-After") || "a few") + " seconds.";
  } else {
    $("login-error").textContent = r.data.error || "Login failed.";
  }
});

$("password-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("password-error").textContent = "";
  if ($("pw-new").value !== $("pw-again").value) {
    $("password-error").textContent = "The two new passwords differ."; return;
  }
  const r = await api("POST", "/api/v1/session/password",
    { current_password: $("pw-current").value, new_password: $("pw-new").value });
  for (const id of ["pw-current", "pw-new", "pw-again"]) $(id).value = "";
  if (r.status === 200) { state.me = r.data; state.view = "live"; boot(); return; }
  $("password-error").textContent = r.data.error || "Could not change the password.";
});

$("logout").addEventListener("click", async () => {
  await api("DELETE", "/api/v1/session"); state.me = null; stopLive(); stopPlayback(); boot();
});
$("logout-all").addEventListener("click", async () => {
  await api("DELETE", "/api/v1/sessions"); state.me = null; stopLive(); boot();
});
for (const b of document.querySelectorAll("nav button[data-view]")) {
  b.addEventListener("click", () => show(b.dataset.view));
}

async function loadDevice() {
  const r = await api("GET", "/api/v1/device");
  const dl = $("device-info"); dl.textContent = "";
  const labels = { model: "Model", version: "Version", device_id: "Device ID", serial: "Serial",
    certificate_fingerprint: "Certificate SHA-256", support_until: "Security updates until",
    key_storage: "Key storage" };
  for (const [k, label] of Object.entries(labels)) {
    const dt = document.createElement("dt"); dt.textContent = label;
    const dd = document.createElement("dd"); dd.textContent = r.data[k] ?? "";
    dd.id = "device-" + k.replace(/_/g, "-");
    dl.append(dt, dd);
  }
  if (r.data.support_expired) {
    const dd = document.createElement("dd"); dd.className = "error";
    dd.textContent = "The support period is over: this device no longer gets security updates.";
    dl.append(document.createElement("dt"), dd);
  }
  $("footer-device").textContent = (r.data.model || "") + " · " + (r.data.device_id || "");
  loadOnvif();
}

async function loadOnvif() {
  const r = await api("GET", "/api/v1/onvif");
  const admin = state.me && state.me.role === "admin";
  for (const id of ["onvif-enabled", "onvif-discovery"]) $(id).disabled = !admin;
  $("onvif-enabled").checked = !!r.data.enabled;
  $("onvif-discovery").checked = !!r.data.discovery;
}

async function saveOnvif() {
  const r = await api("PUT", "/api/v1/onvif", { enabled: $("onvif-enabled").checked,
    discovery: $("onvif-discovery").checked });
  $("onvif-result").textContent = r.status === 200
    ? (r.data.enabled ? "ONVIF is on." : "ONVIF is off.") : (r.data.error || "not saved");
  loadOnvif();
}
for (const id of ["onvif-enabled", "onvif-discovery"]) $(id).addEventListener("change", saveOnvif);

async function loadUsers() {
  const r = await api("GET", "/api/v1/users");
  const body = $("users-body"); body.textContent = "";
  for (const u of r.data.users || []) {
    const tr = document.createElement("tr");
    cell(tr, u.username);
    const roleTd = cell(tr, "");
    const sel = document.createElement("select");
    for (const role of ["viewer", "operator", "admin"]) {
      const o = document.createElement("option"); o.textContent = role; o.selected = role === u.role;
      sel.appendChild(o);
    }
    sel.addEventListener("change", async () => {
      const x = await api("PATCH", "/api/v1/users/" + encodeURIComponent(u.username), { role: sel.value });
      $("user-error").textContent = x.status === 200 ? "" : (x.data.error || "refused");
      loadUsers();
    });
    roleTd.appendChild(sel);
    cell(tr, u.disabled ? "disabled" : (u.must_change_password ? "must change password" : "active"));
    const act = cell(tr, "");
    const dis = document.createElement("button");
    dis.textContent = u.disabled ? "Enable" : "Disable";
    dis.addEventListener("click", async () => {
      const x = await api("PATCH", "/api/v1/users/" + encodeURIComponent(u.username), { disabled: !u.disabled });
      $("user-error").textContent = x.status === 200 ? "" : (x.data.error || "refused");
      loadUsers();
    });
    const reset = document.createElement("button");
    reset.textContent = "Reset password";
    reset.addEventListener("click", async () => {
      const x = await api("POST", "/api/v1/users/" + encodeURIComponent(u.username) + "/reset-password");
      $("user-secret").textContent = x.status === 200 ?
        "One-time password for " + u.username + ": " + x.data.one_time_password : "";
      loadUsers();
    });
    act.append(dis, reset);
    body.appendChild(tr);
  }
}

$("user-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("user-error").textContent = ""; $("user-secret").textContent = "";
  const r = await api("POST", "/api/v1/users", { username: $("new-user").value, role: $("new-role").value });
  if (r.status === 201) {
    $("user-secret").textContent = "One-time password for " + r.data.username + ": " + r.data.one_time_password;
    $("new-user").value = "";
  } else {
    $("user-error").textContent = r.data.error || "refused";
  }
  loadUsers();
});

async function loadLog() {
  const q = new URLSearchParams();
  if ($("log-action").value) q.set("action", $("log-action").value);
  if ($("log-user").value) q.set("user", $("log-user").value);
  if ($("log-result").value) q.set("result", $("log-result").value);
  q.set("limit", "500");
  $("log-csv").href = "/api/v1/log/export?format=csv&" + q.toString();
  $("log-json").href = "/api/v1/log/export?format=json&" + q.toString();
  const r = await api("GET", "/api/v1/log?" + q.toString());
  const body = $("log-body"); body.textContent = "";
  for (const e of r.data.records || []) {
    const tr = document.createElement("tr");
    cell(tr, e.seq); cell(tr, e.ts); cell(tr, e.user); cell(tr, e.source);
    cell(tr, e.action); cell(tr, e.result); cell(tr, JSON.stringify(e.details), "details");
    body.appendChild(tr);
  }
}
$("log-filter").addEventListener("submit", (ev) => { ev.preventDefault(); loadLog(); });
$("log-verify").addEventListener("click", async () => {
  const r = await api("GET", "/api/v1/log/verify");
  $("log-verify-result").textContent = r.data.ok ?
    "Chain intact: " + r.data.records + " records verified." :
    "TAMPERED: " + (r.data.problems || []).join("; ");
});

async function loadViewers() {
  const r = await api("GET", "/api/v1/viewers");
  const body = $("viewers-body"); body.textContent = "";
  if (r.status !== 200) { cell(body.insertRow(), "Live video is not available."); return; }
  $("privacy-toggle").checked = !!r.data.privacy;
  for (const v of r.data.viewers || []) {
    const tr = document.createElement("tr");
    cell(tr, v.user); cell(tr, v.source); cell(tr, v.kind + " " + (v.stream || ""));
    cell(tr, new Date(v.since * 1000).toLocaleString());
    const td = cell(tr, "");
    const end = document.createElement("button"); end.textContent = "End";
    end.addEventListener("click", async () => {
      await api("DELETE", "/api/v1/viewers/" + encodeURIComponent(v.id)); loadViewers();
    });
    td.appendChild(end); body.appendChild(tr);
  }
}
$("privacy-toggle").addEventListener("change", async () => {
  await api("PUT", "/api/v1/privacy", { enabled: $("privacy-toggle").checked }); loadViewers();
});

// ---- alert channels ---------------------------------------------------------------------------
function when(ts) { return ts ? new Date(ts * 1000).toLocaleString() : "never"; }

async function loadAlerts() {
  const r = await api("GET", "/api/v1/alerts/channels");
  const body = $("alerts-body"); body.textContent = "";
  if (r.status !== 200) { $("alerts-warning").textContent = r.data.error || "Alerts are not available."; return; }
  const channels = r.data.channels || [];
  $("alerts-warning").textContent = channels.length ? "" :
    "No alert channel yet: " + (r.data.alerts_without_channel || 0) + " alerts had nowhere to go.";
  for (const c of channels) {
    const tr = document.createElement("tr");
    cell(tr, c.kind); cell(tr, c.target); cell(tr, (c.categories || []).join(", ") || "–");
    cell(tr, when(c.last_success)); cell(tr, c.pending);
    const state = cell(tr, c.failing ? "FAILING: " + (c.last_error || "") :
      (c.last_error ? "retrying: " + c.last_error : "ok"));
    if (c.failing) state.className = "error";
    const act = cell(tr, "");
    const test = document.createElement("button"); test.textContent = "Test";
    test.addEventListener("click", () => sendTest(c.id));
    const del = document.createElement("button"); del.textContent = "Remove";
    del.addEventListener("click", async () => {
      await api("DELETE", "/api/v1/alerts/channels/" + encodeURIComponent(c.id)); loadAlerts();
    });
    act.append(test, del); body.appendChild(tr);
  }
}

async function sendTest(channelId) {
  $("alerts-test-result").textContent = "sending…";
  const r = await api("POST", "/api/v1/alerts/test", channelId ? { channel_id: channelId } : {});
  if (r.status !== 200) { $("alerts-test-result").textContent = r.data.error || "failed"; return; }
  $("alerts-test-result").textContent = r.data.results.map((x) =>
    x.channel_id + ": " + (x.ok ? "delivered" : "failed (" + (x.error || "?") + ")")).join("; ");
  loadAlerts();
}
$("alerts-test-all").addEventListener("click", () => sendTest(null));

$("alert-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("alert-error").textContent = ""; $("alert-secret").textContent = "";
  const body = { kind: $("alert-kind").value, url: $("alert-url").value };
  if ($("alert-password").value) body.password = $("alert-password").value;
  body.categories = ["config", "motion"].filter((c) => $("alert-cat-" + c).checked);
  if ($("alert-allow-local").checked) body.allow_local_target = true;
  const r = await api("POST", "/api/v1/alerts/channels", body);
  $("alert-password").value = "";
  if (r.status === 201) {
    $("alert-url").value = "";
    $("alert-cat-config").checked = false; $("alert-cat-motion").checked = false;
    $("alert-allow-local").checked = false;
    if (r.data.hmac_key) $("alert-secret").textContent =
      "Webhook signing key (shown once; give it to the receiver): " + r.data.hmac_key;
  } else {
    $("alert-error").textContent = r.data.error || "refused";
  }
  loadAlerts();
});

// ---- live view: fMP4 fragments over WSS into Media Source Extensions --------------------------
function setLiveState(text, bad) {
  const el = $("live-state"); el.textContent = text; el.classList.toggle("bad", !!bad);
}

function stopLive() {
  const l = state.live; state.live = null;
  if (!l) return;
  l.closed = true;
  clearTimeout(l.retry);
  clearInterval(l.alarmTimer);
  try { l.ws.close(); } catch (e) { /* already closed */ }
}

// Tampering shows over the live picture; the Detection view has the details and pictures.
function watchAlarms(l) {
  const check = async () => {
    const r = await api("GET", "/api/v1/tamper");
    if (l.closed) return;
    const active = r.status === 200 ? [].concat(r.data.active_tamper || []) : [];
    $("live-alarm").hidden = active.length === 0;
    $("live-alarm").textContent = active.length ? "Tampering: " +
      active.map((k) => TAMPER_NAMES[k] || k).join(", ") + " (see Detection)" : "";
  };
  check();
  l.alarmTimer = setInterval(check, 3000);
}

function startLive() {
  stopLive();
  const l = { closed: false, queue: [], sb: null, ws: null, retry: null, backoff: 500 };
  state.live = l;
  watchAlarms(l);
  const video = $("live-video");
  const connect = () => {
    if (l.closed) return;
    setLiveState("connecting…");
    const ws = new WebSocket("wss://" + location.host + "/api/v1/live?stream=main");
    ws.binaryType = "arraybuffer";
    l.ws = ws;
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") {
        const msg = JSON.parse(ev.data);
        if (msg.type === "init") {
          l.backoff = 500;
          const ms = new MediaSource();
          l.queue = []; l.sb = null;
          video.src = URL.createObjectURL(ms);
          ms.addEventListener("sourceopen", () => {
            l.sb = ms.addSourceBuffer('video/mp4; codecs="' + msg.codec + '"');
            l.sb.mode = "segments";
            l.sb.addEventListener("updateend", () => pump(l, video));
            pump(l, video);
          });
          setLiveState("live");
        } else if (msg.type === "state" && msg.state === "revoked") {
          // The grant is gone (disabled, password or role changed, logged out): no retry loop,
          // except after privacy mode, which an administrator may switch off again.
          l.revoked = msg.reason !== "privacy mode";
          setLiveState("video stopped: " + msg.reason, true);
        } else if (msg.type === "state") {
          const texts = { live: "live", signal_lost: "signal lost: reconnecting to the camera source",
            privacy: "privacy mode: video is switched off by an administrator", starting: "starting…" };
          setLiveState(texts[msg.state] || msg.state, msg.state !== "live");
        } else if (msg.type === "watchers") {
          $("live-watchers").textContent = "Watching now: " + msg.users.join(", ");
        } else if (msg.type === "error") {
          setLiveState(msg.error, true);
        }
        return;
      }
      l.queue.push(ev.data);
      if (l.queue.length > 120) l.queue.splice(1, l.queue.length - 60);
      pump(l, video);
    };
    ws.onclose = () => {
      if (l.closed || l.revoked) return;
      setLiveState("disconnected; reconnecting…", true);
      l.retry = setTimeout(connect, l.backoff);
      l.backoff = Math.min(l.backoff * 2, 8000);
    };
  };
  connect();
}

function pump(l, video) {
  if (!l.sb || l.sb.updating || l.queue.length === 0) return;
  try {
    l.sb.appendBuffer(l.queue.shift());
  } catch (e) {
    l.queue = [];
    return;
  }
  // Stay at the live edge: skip ahead when the browser falls behind.
  const b = video.buffered;
  if (b.length) {
    const end = b.end(b.length - 1);
    if (end - video.currentTime > 0.5) video.currentTime = end - 0.05;
    if (video.paused) video.play().catch(() => {});
    if (!l.sb.updating && video.currentTime - b.start(0) > 30) {
      try { l.sb.remove(0, video.currentTime - 10); } catch (e) { /* busy */ }
    }
  }
}

// ---- recordings: timeline, playback (fMP4 stream into MSE), export ---------------------------
function may(perm) { return !!(state.me && state.me.permissions.includes(perm)); }

function fmtTime(t) {
  return new Date(t * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

function toLocalInput(t) {
  const d = new Date(t * 1000);
  const pad = (x) => String(x).padStart(2, "0");
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
    pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
}

function fromLocalInput(v) {
  const t = new Date(v).getTime();
  return Number.isFinite(t) ? t / 1000 : null;
}

function setRecStatus(text, bad) {
  const el = $("rec-status"); el.textContent = text; el.classList.toggle("error", !!bad);
}

async function loadRecordings() {
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
    state.rec = null;
    $("rec-summary").textContent = r.data.error || "Recordings are not available.";
    return;
  }
  if (r.data.mode) $("rec-mode").value = r.data.mode;
  const spans = r.data.spans || [];
  if (auto && spans.length) {
    // zoom to fit: from a little before the first recording to now
    from = Math.min(spans[0].start, now - 60);
    from -= (now - from) * 0.02;
  }
  state.rec = { from: from, to: now, spans: spans };
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

$("rec-export-from").addEventListener("change", updateExportLink);
$("rec-export-to").addEventListener("change", updateExportLink);
$("rec-refresh").addEventListener("click", loadRecordings);
$("rec-window").addEventListener("change", loadRecordings);
$("rec-mode").addEventListener("change", async () => {
  const r = await api("PUT", "/api/v1/recordings/mode", { mode: $("rec-mode").value });
  setRecStatus(r.status === 200 ? "Recording mode: " + r.data.mode : (r.data.error || "refused"),
    r.status !== 200);
});

$("rec-timeline").addEventListener("click", (ev) => {
  const rec = state.rec;
  if (!rec) return;
  const box = $("rec-timeline").getBoundingClientRect();
  const frac = Math.min(1, Math.max(0, (ev.clientX - box.left) / box.width));
  let t = rec.from + frac * (rec.to - rec.from);
  // Snap into the nearest recorded stretch so a click just beside a short span still plays.
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
  playRecording(t);
});

function stopPlayback() {
  const p = state.play; state.play = null;
  if (!p) return;
  p.closed = true;
  try { p.abort.abort(); } catch (e) { /* done */ }
}

function avcCodec(bytes) {
  for (let i = 0; i + 8 < bytes.length; i++) {
    if (bytes[i] === 0x61 && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x63 && bytes[i + 3] === 0x43) {
      const hex = (x) => x.toString(16).padStart(2, "0");
      return "avc1." + hex(bytes[i + 5]) + hex(bytes[i + 6]) + hex(bytes[i + 7]);
    }
  }
  return null;
}

function concatBytes(a, b) {
  const out = new Uint8Array(a.length + b.length); out.set(a, 0); out.set(b, a.length); return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function playRecording(t) {
  stopPlayback();
  const p = { closed: false, abort: new AbortController(), queue: [], sb: null, ms: null,
    done: false, seeked: false, offset: 0, start: t, t0: performance.now() };
  state.play = p;
  const video = $("rec-video");
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
  p.offset = parseFloat(res.headers.get("X-Playback-Offset") || "0") || 0;
  p.start = parseFloat(res.headers.get("X-Playback-Start") || String(t)) || t;
  const reader = res.body.getReader();
  const ms = new MediaSource();
  p.ms = ms;
  video.src = URL.createObjectURL(ms);
  await new Promise((r) => ms.addEventListener("sourceopen", r, { once: true }));
  let head = new Uint8Array(0);
  let codec = null;
  try {
    while (!codec && !p.closed) {
      const { value, done } = await reader.read();
      if (done) break;
      head = concatBytes(head, value);
      codec = avcCodec(head);
    }
    if (!codec) { if (!p.closed) setRecStatus("not a playable recording", true); return; }
    p.sb = ms.addSourceBuffer('video/mp4; codecs="' + codec + '"');
    p.sb.mode = "segments";
    p.sb.addEventListener("updateend", () => pumpPlayback(p, video));
    p.queue.push(head);
    pumpPlayback(p, video);
    while (!p.closed) {
      while (!p.closed && (p.queue.length > 16 || bufferedAhead(video) > 60)) await sleep(250);
      const { value, done } = await reader.read();
      if (done) break;
      p.queue.push(value);
      pumpPlayback(p, video);
    }
  } catch (e) {
    if (!p.closed) setRecStatus("playback interrupted", true);
    return;
  }
  p.done = true;
  pumpPlayback(p, video);
}

function bufferedAhead(video) {
  const b = video.buffered;
  return b.length ? b.end(b.length - 1) - video.currentTime : 0;
}

function pumpPlayback(p, video) {
  if (p.closed || !p.sb || p.sb.updating) return;
  if (!p.seeked && video.buffered.length && video.buffered.end(video.buffered.length - 1) > p.offset) {
    p.seeked = true;
    video.currentTime = Math.max(video.buffered.start(0), p.offset);
    video.play().catch(() => {});
    setRecStatus("playing (started in " + Math.round(performance.now() - p.t0) + " ms)");
  }
  if (p.queue.length) {
    try { p.sb.appendBuffer(p.queue.shift()); } catch (e) {
      if (video.currentTime > 20) { try { p.sb.remove(0, video.currentTime - 10); } catch (x) { /* busy */ } }
    }
    return;
  }
  if (p.done && p.ms && p.ms.readyState === "open") {
    try { p.ms.endOfStream(); } catch (e) { /* already ended */ }
  }
}

$("rec-video").addEventListener("timeupdate", () => {
  const p = state.play;
  if (p) $("rec-clock").textContent = fmtTime(p.start + $("rec-video").currentTime);
});

// ---- your data: inventory, delete by range, erase everything ---------------------------------
async function loadData() {
  const r = await api("GET", "/api/v1/privacy/inventory");
  const body = $("data-body"); body.textContent = "";
  for (const item of r.data.items || []) {
    const tr = document.createElement("tr");
    tr.dataset.kind = item.id;
    cell(tr, item.what); cell(tr, item.personal);
    cell(tr, (item.where || []).join(", ") || "not stored", "path");
    cell(tr, item.why); cell(tr, item.retention);
    const st = item.stored || {};
    const parts = [];
    if (st.items !== null && st.items !== undefined) parts.push(st.items + " items");
    if (st.bytes) parts.push(Math.round(st.bytes / 1024) + " KiB");
    cell(tr, parts.join(", ") || "–");
    body.appendChild(tr);
  }
  const tel = r.data.telemetry || {};
  $("data-telemetry").textContent = tel.enabled ? "Telemetry is ON." :
    "Telemetry: none. This camera sends no usage statistics, crash reports or analytics to anyone.";
  $("data-erase-box").hidden = !may("erase_data");
  $("data-erase-result").hidden = true;
  loadMasks();
}

// ---- rectangles drawn on a snapshot: privacy masks and motion zones ------------------------
function maskBox(m) {
  if (m.rect) return m.rect;
  const xs = m.polygon.map((p) => p[0]); const ys = m.polygon.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

function placeBox(el, b) {
  el.style.left = (b[0] * 100).toFixed(3) + "%";
  el.style.top = (b[1] * 100).toFixed(3) + "%";
  el.style.width = ((b[2] - b[0]) * 100).toFixed(3) + "%";
  el.style.height = ((b[3] - b[1]) * 100).toFixed(3) + "%";
}

// An editor of rectangles dragged on a picture. opts: max, cls, describe(item), make(box).
function boxEditor(stageId, listId, opts) {
  const ed = { items: [] };
  const stage = $(stageId);
  ed.draw = () => {
    for (const el of Array.from(stage.querySelectorAll(".mask"))) el.remove();
    const list = $(listId); list.textContent = "";
    ed.items.forEach((m, i) => {
      const el = document.createElement("div"); el.className = "mask " + (opts.cls || "");
      placeBox(el, maskBox(m)); stage.appendChild(el);
      const li = document.createElement("li");
      li.textContent = opts.describe(m) + " ";
      const rm = document.createElement("button"); rm.type = "button"; rm.textContent = "Remove";
      rm.addEventListener("click", () => { ed.items.splice(i, 1); ed.draw(); });
      li.appendChild(rm); list.appendChild(li);
    });
  };
  const point = (ev) => {
    const r = stage.getBoundingClientRect();
    return [Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width)),
      Math.min(1, Math.max(0, (ev.clientY - r.top) / r.height))];
  };
  stage.addEventListener("mousedown", (ev) => {
    ev.preventDefault();
    const start = point(ev);
    const draft = document.createElement("div"); draft.className = "mask draft " + (opts.cls || "");
    stage.appendChild(draft);
    const box = (p) => [Math.min(start[0], p[0]), Math.min(start[1], p[1]),
      Math.max(start[0], p[0]), Math.max(start[1], p[1])];
    const move = (e) => placeBox(draft, box(point(e)));
    const up = (e) => {
      window.removeEventListener("mousemove", move); window.removeEventListener("mouseup", up);
      draft.remove();
      const b = box(point(e)).map((v) => Math.round(v * 10000) / 10000);
      if (b[2] - b[0] > 0.01 && b[3] - b[1] > 0.01 && ed.items.length < opts.max) {
        ed.items.push(opts.make(b));
      }
      ed.draw();
    };
    window.addEventListener("mousemove", move); window.addEventListener("mouseup", up);
  });
  return ed;
}

async function showSnapshotIn(imgId) {
  if (!may("take_snapshot")) return;
  const res = await fetch("/api/v1/snapshot.jpg", { credentials: "same-origin", cache: "no-store" });
  if (res.status !== 200) return;
  const img = $(imgId);
  const old = img.src;
  img.src = URL.createObjectURL(await res.blob());
  if (old && old.startsWith("blob:")) URL.revokeObjectURL(old);
}

// ---- privacy masks: drag rectangles on a snapshot, save to the device ------------------------
const masksEditor = boxEditor("masks-stage", "masks-list", {
  max: 32, make: (b) => ({ rect: b }),
  describe: (m) => (m.rect ? "Rectangle " : "Polygon (shown by its bounds) ") +
    maskBox(m).map((v) => v.toFixed(3)).join(", "),
});

async function loadMasks() {
  const box = $("masks-box");
  box.hidden = !may("configure_media");
  if (box.hidden) return;
  const r = await api("GET", "/api/v1/privacy/masks");
  masksEditor.items = r.status === 200 ? (r.data.masks || []) : [];
  $("masks-result").textContent = "";
  showSnapshotIn("masks-img");
  masksEditor.draw();
}

$("masks-clear").addEventListener("click", () => { masksEditor.items = []; masksEditor.draw(); });
$("masks-save").addEventListener("click", async () => {
  const r = await api("PUT", "/api/v1/privacy/masks", { masks: masksEditor.items });
  if (r.status !== 200) { $("masks-result").textContent = r.data.error || "refused"; return; }
  masksEditor.items = r.data.masks;
  masksEditor.draw();
  $("masks-result").textContent = "Saved " + r.data.masks.length + " mask(s)" +
    (r.data.applied ? "; applied to the video now." :
      (r.data.restart_required ? "; they apply after a restart of the service." : "."));
  setTimeout(() => showSnapshotIn("masks-img"), 300);
});

// ---- detection: tamper state and evidence, accept the view, motion zones ---------------------

const zonesEditor = boxEditor("motion-stage", "motion-list", {
  max: 16, cls: "zone",
  make: (b) => {
    const names = new Set(zonesEditor.items.map((z) => z.name));
    let n = zonesEditor.items.length + 1;
    while (names.has("zone " + n)) n += 1;
    return { name: "zone " + n, rect: b };
  },
  describe: (z) => z.name + ": " + maskBox(z).map((v) => v.toFixed(3)).join(", "),
});

async function loadDetection() {
  const r = await api("GET", "/api/v1/tamper");
  const body = $("det-tamper"); body.textContent = "";
  $("det-evidence").textContent = "";
  if (r.status !== 200) {
    $("det-state").textContent = r.data.error || "Detection is not running.";
  } else {
    const active = [].concat(r.data.active_tamper || []);
    const last = {};
    for (const e of r.data.evidence || []) last[e.kind] = e;
    $("det-state").textContent = (active.length ? "TAMPERING: " +
      active.map((k) => TAMPER_NAMES[k] || k).join(", ") : "No tampering detected now.") +
      (r.data.motion ? " Motion now." : "") + " Analysing " +
      r.data.frames_analysed + " frames so far, " + r.data.ms_per_frame + " ms each.";
    $("det-state").classList.toggle("bad", active.length > 0);
    for (const kind of Object.keys(TAMPER_NAMES)) {
      const tr = document.createElement("tr");
      tr.dataset.kind = kind;
      cell(tr, TAMPER_NAMES[kind]);
      cell(tr, active.includes(kind) ? "ACTIVE" : "clear", active.includes(kind) ? "bad" : "");
      const e = last[kind];
      cell(tr, e ? e.phase + " " + when(e.at) : "never");
      const td = cell(tr, "");
      if (e) {
        const b = document.createElement("button"); b.type = "button";
        b.textContent = "Show before/after"; b.addEventListener("click", () => showEvidence(kind));
        td.appendChild(b);
      }
      body.appendChild(tr);
    }
  }
  $("det-rebaseline").hidden = !may("configure_media");
  const m = await api("GET", "/api/v1/motion");
  if (m.status === 200) {
    zonesEditor.items = m.data.zones || [];
    $("motion-sensitivity").value = Math.round(m.data.sensitivity * 100);
    $("motion-sens-value").textContent = $("motion-sensitivity").value + " %";
  }
  const editable = may("configure_media");
  $("motion-edit").hidden = !editable;
  $("motion-sensitivity").disabled = !editable;
  $("motion-result").textContent = "";
  zonesEditor.draw();
  showSnapshotIn("motion-img");
}

async function showEvidence(kind) {
  const box = $("det-evidence"); box.textContent = "";
  for (const which of ["before", "after"]) {
    const res = await fetch("/api/v1/tamper/" + kind + "/" + which + ".jpg",
      { credentials: "same-origin", cache: "no-store" });
    if (res.status !== 200) continue;
    const fig = document.createElement("figure");
    const img = document.createElement("img"); img.alt = which;
    img.src = URL.createObjectURL(await res.blob());
    const cap = document.createElement("figcaption");
    cap.textContent = (TAMPER_NAMES[kind] || kind) + ": " + which;
    fig.appendChild(img); fig.appendChild(cap); box.appendChild(fig);
  }
}

$("det-rebaseline").addEventListener("click", async () => {
  const r = await api("POST", "/api/v1/tamper/rebaseline", {});
  $("det-rebaseline-result").textContent = r.status === 200 ?
    "The current view is the new normal from the next analysed frame." : (r.data.error || "refused");
  setTimeout(loadDetection, 800);
});

$("motion-sensitivity").addEventListener("input", () => {
  $("motion-sens-value").textContent = $("motion-sensitivity").value + " %";
});
$("motion-clear").addEventListener("click", () => { zonesEditor.items = []; zonesEditor.draw(); });
$("motion-save").addEventListener("click", async () => {
  const body = { sensitivity: Number($("motion-sensitivity").value) / 100,
    zones: zonesEditor.items };
  const r = await api("PUT", "/api/v1/motion", body);
  if (r.status !== 200) { $("motion-result").textContent = r.data.error || "refused"; return; }
  zonesEditor.items = r.data.zones; zonesEditor.draw();
  $("motion-result").textContent = "Saved: " + (r.data.zones.length ?
    r.data.zones.length + " zone(s)" : "the whole picture") + " at sensitivity " +
    Math.round(r.data.sensitivity * 100) + " %" + (r.data.applied ? ", in force now." : ".");
});

$("data-delete-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const a = fromLocalInput($("data-del-from").value);
  const b = fromLocalInput($("data-del-to").value);
  if (a === null || b === null || b <= a) {
    $("data-delete-result").textContent = "Choose a range whose end is after its start."; return;
  }
  const r = await api("DELETE", "/api/v1/recordings?from=" + a.toFixed(3) + "&to=" + b.toFixed(3));
  $("data-delete-result").textContent = r.status === 200 ?
    "Deleted " + r.data.deleted.segments + " segment(s)." : (r.data.error || "refused");
  loadData();
});

$("data-erase-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("data-erase-error").textContent = "";
  if ($("data-erase-confirm").value !== "ERASE") {
    $("data-erase-error").textContent = "Type ERASE (capital letters) to confirm."; return;
  }
  const r = await api("POST", "/api/v1/privacy/erase", { confirm: "ERASE" });
  $("data-erase-confirm").value = "";
  if (r.status !== 200) { $("data-erase-error").textContent = r.data.error || "refused"; return; }
  const lines = ["Erased:"];
  for (const [k, v] of Object.entries(r.data.deleted || {})) lines.push("  " + k + ": " + v);
  lines.push("Kept:");
  for (const [k, v] of Object.entries(r.data.kept || {})) lines.push("  " + k + ": " + v);
  lines.push("", "New one-time setup secret for 'admin': " + r.data.setup_secret, r.data.next || "");
  const out = $("data-erase-result");
  out.textContent = lines.join("\n");
  out.hidden = false;
  state.me = null;
  $("nav").hidden = true;
  stopPlayback(); stopLive();
});

boot();
