// The Alerts view: alert channels, their delivery state, test alerts and adding a channel
// (TAICS 5.5.1.1 access alerts, 5.1.2.1 tamper alerts, 5.2.8.2 log-failure alerts reach the
// owner here; a channel that fails is shown as failing, never silently).

import { api, errorText } from "../api.js";
import { $, button, cell } from "../dom.js";
import { when } from "../format.js";

const CATEGORIES = ["config", "motion"];

export async function load() {
  const r = await api("GET", "/api/v1/alerts/channels");
  const body = $("alerts-body"); body.textContent = "";
  if (r.status !== 200) { $("alerts-warning").textContent = errorText(r, "Alerts are not available."); return; }
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
    cell(tr, "").append(
      button("Test", () => sendTest(c.id)),
      button("Remove", async () => {
        await api("DELETE", "/api/v1/alerts/channels/" + encodeURIComponent(c.id)); load();
      }));
    body.appendChild(tr);
  }
}

async function sendTest(channelId) {
  $("alerts-test-result").textContent = "sending…";
  const r = await api("POST", "/api/v1/alerts/test", channelId ? { channel_id: channelId } : {});
  if (r.status !== 200) { $("alerts-test-result").textContent = errorText(r, "failed"); return; }
  $("alerts-test-result").textContent = r.data.results.map((x) =>
    x.channel_id + ": " + (x.ok ? "delivered" : "failed (" + (x.error || "?") + ")")).join("; ");
  load();
}

async function addChannel(ev) {
  ev.preventDefault();
  $("alert-error").textContent = ""; $("alert-secret").textContent = "";
  const body = { kind: $("alert-kind").value, url: $("alert-url").value };
  if ($("alert-password").value) body.password = $("alert-password").value;
  body.categories = CATEGORIES.filter((c) => $("alert-cat-" + c).checked);
  // A receiver on the camera itself or link-local is refused unless the owner says so.
  if ($("alert-allow-local").checked) body.allow_local_target = true;
  const r = await api("POST", "/api/v1/alerts/channels", body);
  $("alert-password").value = "";
  if (r.status === 201) {
    $("alert-url").value = "";
    for (const c of CATEGORIES) $("alert-cat-" + c).checked = false;
    $("alert-allow-local").checked = false;
    if (r.data.hmac_key) $("alert-secret").textContent =
      "Webhook signing key (shown once; give it to the receiver): " + r.data.hmac_key;
  } else {
    $("alert-error").textContent = errorText(r, "refused");
  }
  load();
}

export function wire() {
  $("alerts-test-all").addEventListener("click", () => sendTest(null));
  $("alert-form").addEventListener("submit", addChannel);
}
