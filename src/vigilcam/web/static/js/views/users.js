// The Users view: accounts, their roles and state; adding, disabling, resetting (IoT-1005-1
// 5.1.2.1 roles, 5.1.3.1 one-time passwords that must be changed at first login).

import { api, errorText } from "../api.js";
import { $, button, cell } from "../dom.js";

const ROLES = ["viewer", "operator", "admin"];

function userPath(name) { return "/api/v1/users/" + encodeURIComponent(name); }

async function change(name, patch) {
  const x = await api("PATCH", userPath(name), patch);
  $("user-error").textContent = x.status === 200 ? "" : errorText(x, "refused");
  load();
}

function showOneTimePassword(name, password) {
  $("user-secret").textContent = "One-time password for " + name + ": " + password;
}

export async function load() {
  const r = await api("GET", "/api/v1/users");
  const body = $("users-body"); body.textContent = "";
  for (const u of r.data.users || []) {
    const tr = document.createElement("tr");
    cell(tr, u.username);
    const sel = document.createElement("select");
    for (const role of ROLES) {
      const o = document.createElement("option"); o.textContent = role; o.selected = role === u.role;
      sel.appendChild(o);
    }
    sel.addEventListener("change", () => change(u.username, { role: sel.value }));
    cell(tr, "").appendChild(sel);
    cell(tr, u.disabled ? "disabled" : (u.must_change_password ? "must change password" : "active"));
    const dis = button(u.disabled ? "Enable" : "Disable",
      () => change(u.username, { disabled: !u.disabled }));
    const reset = button("Reset password", async () => {
      const x = await api("POST", userPath(u.username) + "/reset-password");
      if (x.status === 200) showOneTimePassword(u.username, x.data.one_time_password);
      else $("user-secret").textContent = "";
      load();
    });
    cell(tr, "").append(dis, reset);
    body.appendChild(tr);
  }
}

export function wire() {
  $("user-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("user-error").textContent = ""; $("user-secret").textContent = "";
    const r = await api("POST", "/api/v1/users", { username: $("new-user").value, role: $("new-role").value });
    if (r.status === 201) {
      showOneTimePassword(r.data.username, r.data.one_time_password);
      $("new-user").value = "";
    } else {
      $("user-error").textContent = errorText(r, "refused");
    }
    load();
  });
}
