// The Device view: model, version, identity and support period (IoT-1005-1 5.1.1.1, 5.2.3.4,
// 5.3.1.4), the update status and actions (IoT-1005-1 5.3.1.1, 5.3.1.3: version and slot, last
// check and its result, available update, last install) and the owner's ONVIF switch
// (IoT-1005-1 5.2.2.1: off unless turned on).

import { api, errorText } from "../api.js";
import { $ } from "../dom.js";
import { may } from "../session.js";

const LABELS = { model: "Model", version: "Version", device_id: "Device ID", serial: "Serial",
  certificate_fingerprint: "Certificate SHA-256", support_until: "Security updates until",
  key_storage: "Key storage" };
const ONVIF_SWITCHES = ["onvif-enabled", "onvif-discovery"];

export async function load() {
  const r = await api("GET", "/api/v1/device");
  const dl = $("device-info"); dl.textContent = "";
  for (const [k, label] of Object.entries(LABELS)) {
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
  loadUpdates();
}

function updateRows(u) {
  const last = u.last_install;
  return [
    ["Running", u.current_version + (u.current_slot ? " (slot " + u.current_slot + ")" : "")],
    ["Update channel", u.configured ? u.repository_url
      : "not configured: vigilcam update configure (docs/updates.md)"],
    ["Checked", u.last_check ? u.last_check + " (" + (u.last_check_result || "") + ")"
      : "never"],
    ["Available", u.available_version || "none newer"],
    ["Last install", last ? last.version + ": " + last.result + " at " + last.at : "none"],
    ["Install asked for", u.install_requested || "no"],
  ];
}

async function loadUpdates() {
  const r = await api("GET", "/api/v1/update");
  const dl = $("update-info"); dl.textContent = "";
  if (r.status !== 200) { $("update-result").textContent = errorText(r, "no update status"); return; }
  for (const [label, value] of updateRows(r.data)) {
    const dt = document.createElement("dt"); dt.textContent = label;
    const dd = document.createElement("dd"); dd.textContent = value;
    dd.id = "update-" + label.toLowerCase().replace(/ /g, "-");
    dl.append(dt, dd);
  }
  const manage = may("manage_updates");
  $("update-check").hidden = !manage || !r.data.configured;
  $("update-install").hidden = !manage || !r.data.available_version;
}

async function checkUpdates() {
  $("update-result").textContent = "Checking…";
  const r = await api("POST", "/api/v1/update/check");
  $("update-result").textContent = r.status === 200
    ? (r.data.available_version ? "Version " + r.data.available_version + " is available."
      : "Up to date.") : errorText(r, "check failed");
  loadUpdates();
}

async function installUpdate() {
  $("update-result").textContent = "Installing…";
  const r = await api("POST", "/api/v1/update/install");
  if (r.status === 202) $("update-result").textContent = "The updater is installing it; the camera restarts when it is done.";
  else if (r.status === 200) $("update-result").textContent = r.data.result === "up_to_date"
    ? "Up to date." : "Installed " + r.data.version + ": restarting.";
  else $("update-result").textContent = errorText(r, "not installed");
  loadUpdates();
}

// The switches take a click only while their shown state is the camera's: disabled until it
// has loaded, and again while a change is being saved, so a late answer never undoes a click.
function lockOnvif() { for (const id of ONVIF_SWITCHES) $(id).disabled = true; }

async function loadOnvif() {
  lockOnvif();
  const r = await api("GET", "/api/v1/onvif");
  if (r.status !== 200) { $("onvif-result").textContent = errorText(r, "ONVIF state unknown"); return; }
  $("onvif-enabled").checked = !!r.data.enabled;
  $("onvif-discovery").checked = !!r.data.discovery;
  for (const id of ONVIF_SWITCHES) $(id).disabled = !may("configure_services");
}

async function saveOnvif() {
  const body = { enabled: $("onvif-enabled").checked, discovery: $("onvif-discovery").checked };
  lockOnvif();
  const r = await api("PUT", "/api/v1/onvif", body);
  $("onvif-result").textContent = r.status === 200
    ? (r.data.enabled ? "ONVIF is on." : "ONVIF is off.") : errorText(r, "not saved");
  loadOnvif();
}

export function wire() {
  for (const id of ONVIF_SWITCHES) $(id).addEventListener("change", saveOnvif);
  $("update-check").addEventListener("click", checkUpdates);
  $("update-install").addEventListener("click", installUpdate);
}
