// The Security log view: filtered records, export links, chain verification (TAICS 5.2.8.1:
// the log is shown to the user and any edit is detected).

import { api } from "../api.js";
import { $, cell } from "../dom.js";

function query() {
  const q = new URLSearchParams();
  if ($("log-action").value) q.set("action", $("log-action").value);
  if ($("log-user").value) q.set("user", $("log-user").value);
  if ($("log-result").value) q.set("result", $("log-result").value);
  q.set("limit", "500");
  return q.toString();
}

export async function load() {
  const q = query();
  $("log-csv").href = "/api/v1/log/export?format=csv&" + q;
  $("log-json").href = "/api/v1/log/export?format=json&" + q;
  const r = await api("GET", "/api/v1/log?" + q);
  const body = $("log-body"); body.textContent = "";
  for (const e of r.data.records || []) {
    const tr = document.createElement("tr");
    cell(tr, e.seq); cell(tr, e.ts); cell(tr, e.user); cell(tr, e.source);
    cell(tr, e.action); cell(tr, e.result); cell(tr, JSON.stringify(e.details), "details");
    body.appendChild(tr);
  }
}

export function wire() {
  $("log-filter").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  $("log-verify").addEventListener("click", async () => {
    const r = await api("GET", "/api/v1/log/verify");
    $("log-verify-result").textContent = r.data.ok ?
      "Chain intact: " + r.data.records + " records verified." :
      "TAMPERED: " + (r.data.problems || []).join("; ");
  });
}
