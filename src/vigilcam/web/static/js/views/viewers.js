// The Viewers view: who is watching now, ending a viewing, and privacy mode (TAICS 5.5.1.1: no
// unseen viewer).

import { api } from "../api.js";
import { $, button, cell } from "../dom.js";
import { may } from "../session.js";

// The privacy switch takes a click only while it shows the camera's state: disabled until that
// has loaded, and while a change is being saved, so a late answer never undoes a click.
export async function load() {
  $("privacy-toggle").disabled = true;
  const r = await api("GET", "/api/v1/viewers");
  const body = $("viewers-body"); body.textContent = "";
  if (r.status !== 200) { cell(body.insertRow(), "Live video is not available."); return; }
  $("privacy-toggle").checked = !!r.data.privacy;
  $("privacy-toggle").disabled = !may("privacy_mode");
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
    const enabled = $("privacy-toggle").checked;
    $("privacy-toggle").disabled = true;
    await api("PUT", "/api/v1/privacy", { enabled }); load();
  });
}
