// The one client of the HTTPS API: every request goes through `api()`.
//
// Invariants (TAICS 5.2.6.1 / 5.2.7.1, IoT-1005-1 5.1.1.3): requests are same-origin with the
// session cookie; every state-changing request carries a fresh random X-Request-Nonce (the
// server refuses a replay) and the session's X-CSRF-Token; an answer that is not JSON reads as
// {}; a refused request shows the server's own error text, else a short fallback.

import { csrfToken } from "./session.js";

function nonce() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// -> { status, data (parsed JSON or {}), headers }
export async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (method !== "GET") {
    headers["X-Request-Nonce"] = nonce();
    const csrf = csrfToken();
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  return { status: res.status, data: data || {}, headers: res.headers };
}

// The server's error message of a refused request, or `fallback`.
export const errorText = (r, fallback) => r.data.error || fallback;

// A binary resource (snapshot, evidence picture) as a blob: URL, or null when refused.
export async function fetchPicture(path) {
  const res = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  if (res.status !== 200) return null;
  return URL.createObjectURL(await res.blob());
}
