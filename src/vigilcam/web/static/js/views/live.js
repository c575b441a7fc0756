// The Live view: the main stream over WSS into the MSE player, who else is watching
// (TAICS 5.5.1.1: no unseen viewer), and tampering shown over the picture (TAICS 5.1.2.1).

import { api } from "../api.js";
import { $ } from "../dom.js";
import { tamperName } from "../format.js";
import { MsePlayer } from "../player.js";

const STATE_TEXTS = {
  live: "live", signal_lost: "signal lost: reconnecting to the camera source",
  privacy: "privacy mode: video is switched off by an administrator", starting: "starting…",
};

let current = null;  // { closed, revoked, privacy, ws, player, retry, backoff, alarmTimer }

function setLiveState(text, bad) {
  const el = $("live-state"); el.textContent = text; el.classList.toggle("bad", !!bad);
}

export function stop() {
  const l = current; current = null;
  if (!l) return;
  l.closed = true;
  clearTimeout(l.retry);
  clearInterval(l.alarmTimer);
  if (l.player) l.player.close();
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
      active.map(tamperName).join(", ") + " (see Detection)" : "";
  };
  check();
  l.alarmTimer = setInterval(check, 3000);
}

function onText(l, msg) {
  if (msg.type === "init") {
    l.backoff = 500;
    if (l.player) l.player.close();
    l.player = new MsePlayer($("live-video"), { live: true });
    l.player.open(msg.codec);
    l.privacy = false;
    setLiveState("live");
  } else if (msg.type === "state" && msg.state === "revoked") {
    // The grant is gone (disabled, password or role changed, logged out): no retry loop,
    // except after privacy mode, which an administrator may switch off again.
    l.revoked = msg.reason !== "privacy mode";
    l.privacy = !l.revoked;
    setLiveState("video stopped: " + msg.reason, true);
  } else if (msg.type === "state") {
    l.privacy = msg.state === "privacy";
    setLiveState(STATE_TEXTS[msg.state] || msg.state, msg.state !== "live");
  } else if (msg.type === "watchers") {
    $("live-watchers").textContent = "Watching now: " + msg.users.join(", ");
  } else if (msg.type === "error") {
    setLiveState(msg.error, true);
  }
}

function connect(l) {
  if (l.closed) return;
  setLiveState("connecting…");
  const ws = new WebSocket("wss://" + location.host + "/api/v1/live?stream=main");
  ws.binaryType = "arraybuffer";
  l.ws = ws;
  ws.onmessage = (ev) => {
    if (typeof ev.data === "string") { onText(l, JSON.parse(ev.data)); return; }
    if (l.player) l.player.push(ev.data);
  };
  ws.onclose = () => {
    if (l.closed || l.revoked) return;
    // In privacy mode the reason stays on screen while the page waits for it to end.
    if (!l.privacy) setLiveState("disconnected; reconnecting…", true);
    l.retry = setTimeout(() => connect(l), l.backoff);
    l.backoff = Math.min(l.backoff * 2, 8000);
  };
}

export function load() {
  stop();
  const l = { closed: false, revoked: false, ws: null, player: null, retry: null, backoff: 500,
    alarmTimer: null };
  current = l;
  watchAlarms(l);
  connect(l);
}
