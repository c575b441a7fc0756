// vigilcam browser UI: the page's composition root. Native ES modules from /static/js/, no
// build step and no inline script (TAICS 5.2.6.1: the CSP allows scripts from 'self' only);
// every value from the server is shown with textContent.
//
// This module owns the shell: the session flows (login, forced password change at first
// login per IoT-1005-1 5.1.3.1, logout) and which view shows. Each view module exports
// load() (fill the view when it shows), optionally wire() (attach its listeners once) and
// stop() (end its streams when another view shows).

import { api, errorText } from "./api.js";
import { $ } from "./dom.js";
import { endSession, onSessionEnd, setMe } from "./session.js";
import * as alerts from "./views/alerts.js";
import * as data from "./views/data.js";
import * as detection from "./views/detection.js";
import * as device from "./views/device.js";
import * as live from "./views/live.js";
import * as log from "./views/log.js";
import * as recordings from "./views/recordings.js";
import * as users from "./views/users.js";
import * as viewers from "./views/viewers.js";

// View name (the section id after "view-", the nav button's data-view) -> module.
const VIEWS = { live, recordings, detection, device, users, viewers, log, alerts, data };
const SIGNED_OUT_VIEWS = ["login", "password"];  // sections without a module
let currentView = "live";

function stopAll(except) {
  for (const [name, view] of Object.entries(VIEWS)) if (name !== except && view.stop) view.stop();
}

function show(name) {
  for (const el of document.querySelectorAll(".view")) el.hidden = el.id !== "view-" + name;
  for (const b of document.querySelectorAll("nav button[data-view]")) {
    b.classList.toggle("active", b.dataset.view === name);
  }
  stopAll(name);
  currentView = name;
  if (VIEWS[name]) VIEWS[name].load();
}

// Ask the server who we are and show the view that fits: login, forced password change, or
// `wanted` (default: the view shown before).
async function boot(wanted) {
  const r = await api("GET", "/api/v1/session");
  if (r.status !== 200) { setMe(null); $("nav").hidden = true; show("login"); return; }
  setMe(r.data);
  if (r.data.password_change_required) { $("nav").hidden = true; show("password"); return; }
  $("nav").hidden = false;
  $("whoami").textContent = r.data.username + " (" + r.data.role + ")";
  for (const b of document.querySelectorAll("nav button[data-perm]")) {
    b.hidden = !r.data.permissions.includes(b.dataset.perm);
  }
  const view = wanted || currentView;
  show(SIGNED_OUT_VIEWS.includes(view) ? "live" : view);
}

function signedIn(session) { setMe(session); boot("live"); }

async function login(ev) {
  ev.preventDefault();
  $("login-error").textContent = "";
  const r = await api("POST", "/api/v1/session",
    { username: $("login-user").value, password: $("login-pass").value });
  $("login-pass").value = "";
  if (r.status === 200) { signedIn(r.data); return; }
  if (r.status === 429) {
    $("login-error").textContent = "Too many failed attempts. Try again in " +
      (r.headers.get("Retry-After") || "a few") + " seconds.";
  } else {
    $("login-error").textContent = errorText(r, "Login failed.");
  }
}

async function changePassword(ev) {
  ev.preventDefault();
  $("password-error").textContent = "";
  if ($("pw-new").value !== $("pw-again").value) {
    $("password-error").textContent = "The two new passwords differ."; return;
  }
  const r = await api("POST", "/api/v1/session/password",
    { current_password: $("pw-current").value, new_password: $("pw-new").value });
  for (const id of ["pw-current", "pw-new", "pw-again"]) $(id).value = "";
  if (r.status === 200) { signedIn(r.data); return; }
  $("password-error").textContent = errorText(r, "Could not change the password.");
}

function wire() {
  onSessionEnd(() => { $("nav").hidden = true; stopAll(null); });
  $("login-form").addEventListener("submit", login);
  $("password-form").addEventListener("submit", changePassword);
  $("logout").addEventListener("click", async () => {
    await api("DELETE", "/api/v1/session"); endSession(); boot();
  });
  $("logout-all").addEventListener("click", async () => {
    await api("DELETE", "/api/v1/sessions"); endSession(); boot();
  });
  for (const b of document.querySelectorAll("nav button[data-view]")) {
    b.addEventListener("click", () => show(b.dataset.view));
  }
  for (const view of Object.values(VIEWS)) if (view.wire) view.wire();
}

wire();
boot();
