// The "Your data" view: what personal data the camera keeps, where, why and for how long;
// privacy masks; deleting recordings by range and erasing all personal data (docs/privacy.md).

import { api, errorText } from "../api.js";
import { $, cell } from "../dom.js";
import { fromLocalInput } from "../format.js";
import { boxEditor, maskBox, showSnapshotIn } from "../pictures.js";
import { endSession, may } from "../session.js";

let masks = null;  // the privacy mask editor, made by wire()

export async function load() {
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

async function loadMasks() {
  const box = $("masks-box");
  box.hidden = !may("configure_media");
  if (box.hidden) return;
  const r = await api("GET", "/api/v1/privacy/masks");
  masks.items = r.status === 200 ? (r.data.masks || []) : [];
  $("masks-result").textContent = "";
  showSnapshotIn("masks-img");
  masks.draw();
}

async function saveMasks() {
  const r = await api("PUT", "/api/v1/privacy/masks", { masks: masks.items });
  if (r.status !== 200) { $("masks-result").textContent = errorText(r, "refused"); return; }
  masks.items = r.data.masks;
  masks.draw();
  $("masks-result").textContent = "Saved " + r.data.masks.length + " mask(s)" +
    (r.data.applied ? "; applied to the video now." :
      (r.data.restart_required ? "; they apply after a restart of the service." : "."));
  setTimeout(() => showSnapshotIn("masks-img"), 300);
}

async function deleteRange(ev) {
  ev.preventDefault();
  const a = fromLocalInput($("data-del-from").value);
  const b = fromLocalInput($("data-del-to").value);
  if (a === null || b === null || b <= a) {
    $("data-delete-result").textContent = "Choose a range whose end is after its start."; return;
  }
  const r = await api("DELETE", "/api/v1/recordings?from=" + a.toFixed(3) + "&to=" + b.toFixed(3));
  $("data-delete-result").textContent = r.status === 200 ?
    "Deleted " + r.data.deleted.segments + " segment(s)." : errorText(r, "refused");
  load();
}

// Erase deletes every account, this session's too: the page shows what was erased and kept
// and the new setup secret, and drops its session without reloading.
async function eraseEverything(ev) {
  ev.preventDefault();
  $("data-erase-error").textContent = "";
  if ($("data-erase-confirm").value !== "ERASE") {
    $("data-erase-error").textContent = "Type ERASE (capital letters) to confirm."; return;
  }
  const r = await api("POST", "/api/v1/privacy/erase", { confirm: "ERASE" });
  $("data-erase-confirm").value = "";
  if (r.status !== 200) { $("data-erase-error").textContent = errorText(r, "refused"); return; }
  const lines = ["Erased:"];
  for (const [k, v] of Object.entries(r.data.deleted || {})) lines.push("  " + k + ": " + v);
  lines.push("Kept:");
  for (const [k, v] of Object.entries(r.data.kept || {})) lines.push("  " + k + ": " + v);
  lines.push("", "New one-time setup secret for 'admin': " + r.data.setup_secret, r.data.next || "");
  const out = $("data-erase-result");
  out.textContent = lines.join("\n");
  out.hidden = false;
  endSession();
}

export function wire() {
  masks = boxEditor("masks-stage", "masks-list", {
    max: 32, make: (b) => ({ rect: b }),
    describe: (m) => (m.rect ? "Rectangle " : "Polygon (shown by its bounds) ") +
      maskBox(m).map((v) => v.toFixed(3)).join(", "),
  });
  $("masks-clear").addEventListener("click", () => { masks.items = []; masks.draw(); });
  $("masks-save").addEventListener("click", saveMasks);
  $("data-delete-form").addEventListener("submit", deleteRange);
  $("data-erase-form").addEventListener("submit", eraseEverything);
}
