// The Device view: model, version, identity and support period (IoT-1005-1 5.1.1.1, 5.2.3.4,
// 5.3.1.4) and the owner's ONVIF switch (IoT-1005-1 5.2.2.1: off unless turned on).

import { api, errorText } from "../api.js";
import { $ } from "../dom.js";
import { me } from "../session.js";

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
}

async function loadOnvif() {
  const r = await api("GET", "/api/v1/onvif");
  const admin = me() && me().role === "admin";
  for (const id of ONVIF_SWITCHES) $(id).disabled = !admin;
  $("onvif-enabled").checked = !!r.data.enabled;
  $("onvif-discovery").checked = !!r.data.discovery;
}

async function saveOnvif() {
  const r = await api("PUT", "/api/v1/onvif", { enabled: $("onvif-enabled").checked,
    discovery: $("onvif-discovery").checked });
  $("onvif-result").textContent = r.status === 200
    ? (r.data.enabled ? "ONVIF is on." : "ONVIF is off.") : errorText(r, "not saved");
  loadOnvif();
}

export function wire() {
  for (const id of ONVIF_SWITCHES) $(id).addEventListener("change", saveOnvif);
}
