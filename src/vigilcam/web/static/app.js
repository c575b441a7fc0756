// vigilcam browser UI. No inline script; every value from the server is shown with textContent.
"use strict";

const state = { me: null, view: "live", live: null };
const $ = (id) => document.getElementById(id);

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
  state.view = view;
  const loaders = { live: startLive, device: loadDevice, users: loadUsers, log: loadLog,
    viewers: loadViewers };
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
  await api("DELETE", "/api/v1/session"); state.me = null; stopLive(); boot();
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
}

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

// ---- live view: fMP4 fragments over WSS into Media Source Extensions --------------------------
function setLiveState(text, bad) {
  const el = $("live-state"); el.textContent = text; el.classList.toggle("bad", !!bad);
}

function stopLive() {
  const l = state.live; state.live = null;
  if (!l) return;
  l.closed = true;
  clearTimeout(l.retry);
  try { l.ws.close(); } catch (e) { /* already closed */ }
}

function startLive() {
  stopLive();
  const l = { closed: false, queue: [], sb: null, ws: null, retry: null, backoff: 500 };
  state.live = l;
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
      if (l.closed) return;
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

boot();
