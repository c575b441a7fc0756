// The Viewers view: who is watching now, ending a viewing, and privacy mode (TAICS 5.5.1.1: no
// unseen viewer).

import { api } from "../api.js";
import { $, button, cell } from "../dom.js";

export async function load() {
  const r = await api("GET", "/api/v1/viewers");
  const body = $("viewers-body"); body.textContent = "";
  if (r.status !== 200) { cell(body.insertRow(), "Live video is not available."); return; }
  $("privacy-toggle").checked = !!r.data.privacy;
  for (const v of r.data.viewers || []) {
    const tr = document.createElement("tr");
    cell(tr, v.user); cell(tr, v.source); cell(tr, v.kind + " " + (v.stream || ""));
    cell(tr, new Date(v.since * 1000).toLocaleString());
    cell(tr, "").appendChild(button("End", async () => {
      await api("DELETE", "/api/v1/viewers/" + encodeURIComponent(v.id)); load();
    }));
    body.appendChild(tr);
  }
}

export function wire() {
  $("privacy-toggle").addEventListener("change", async () => {
    await api("PUT", "/api/v1/privacy", { enabled: $("privacy-toggle").checked }); load();
  });
}
