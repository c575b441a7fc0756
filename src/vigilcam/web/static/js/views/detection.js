// The Detection view: the tamper state with before/after pictures, accepting the current view
// as normal (TAICS 5.1.2.1; logged), and motion zones and sensitivity (docs/detection.md).

import { api, errorText, fetchPicture } from "../api.js";
import { $, cell } from "../dom.js";
import { TAMPER_NAMES, tamperName, when } from "../format.js";
import { boxEditor, maskBox, showSnapshotIn } from "../pictures.js";
import { may } from "../session.js";

let zones = null;  // the motion zone editor, made by wire()

function showTamper(r) {
  const body = $("det-tamper"); body.textContent = "";
  $("det-evidence").textContent = "";
  if (r.status !== 200) {
    $("det-state").textContent = errorText(r, "Detection is not running.");
    return;
  }
  const active = [].concat(r.data.active_tamper || []);
  const last = {};
  for (const e of r.data.evidence || []) last[e.kind] = e;
  $("det-state").textContent = (active.length ? "TAMPERING: " +
    active.map(tamperName).join(", ") : "No tampering detected now.") +
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

export async function load() {
  showTamper(await api("GET", "/api/v1/tamper"));
  $("det-rebaseline").hidden = !may("configure_media");
  const m = await api("GET", "/api/v1/motion");
  if (m.status === 200) {
    zones.items = m.data.zones || [];
    $("motion-sensitivity").value = Math.round(m.data.sensitivity * 100);
    $("motion-sens-value").textContent = $("motion-sensitivity").value + " %";
  }
  const editable = may("configure_media");
  $("motion-edit").hidden = !editable;
  $("motion-sensitivity").disabled = !editable;
  $("motion-result").textContent = "";
  zones.draw();
  showSnapshotIn("motion-img");
}

async function showEvidence(kind) {
  const box = $("det-evidence"); box.textContent = "";
  for (const which of ["before", "after"]) {
    const url = await fetchPicture("/api/v1/tamper/" + kind + "/" + which + ".jpg");
    if (url === null) continue;
    const fig = document.createElement("figure");
    const img = document.createElement("img"); img.alt = which;
    img.src = url;
    const cap = document.createElement("figcaption");
    cap.textContent = tamperName(kind) + ": " + which;
    fig.appendChild(img); fig.appendChild(cap); box.appendChild(fig);
  }
}

function newZone(b) {
  const names = new Set(zones.items.map((z) => z.name));
  let n = zones.items.length + 1;
  while (names.has("zone " + n)) n += 1;
  return { name: "zone " + n, rect: b };
}

async function saveMotion() {
  const body = { sensitivity: Number($("motion-sensitivity").value) / 100, zones: zones.items };
  const r = await api("PUT", "/api/v1/motion", body);
  if (r.status !== 200) { $("motion-result").textContent = errorText(r, "refused"); return; }
  zones.items = r.data.zones; zones.draw();
  $("motion-result").textContent = "Saved: " + (r.data.zones.length ?
    r.data.zones.length + " zone(s)" : "the whole picture") + " at sensitivity " +
    Math.round(r.data.sensitivity * 100) + " %" + (r.data.applied ? ", in force now." : ".");
}

export function wire() {
  zones = boxEditor("motion-stage", "motion-list", {
    max: 16, cls: "zone", make: newZone,
    describe: (z) => z.name + ": " + maskBox(z).map((v) => v.toFixed(3)).join(", "),
  });
  $("det-rebaseline").addEventListener("click", async () => {
    const r = await api("POST", "/api/v1/tamper/rebaseline", {});
    $("det-rebaseline-result").textContent = r.status === 200 ?
      "The current view is the new normal from the next analysed frame." : errorText(r, "refused");
    setTimeout(load, 800);
  });
  $("motion-sensitivity").addEventListener("input", () => {
    $("motion-sens-value").textContent = $("motion-sensitivity").value + " %";
  });
  $("motion-clear").addEventListener("click", () => { zones.items = []; zones.draw(); });
  $("motion-save").addEventListener("click", saveMotion);
}
