// How times and detector states read in the UI: one place so every view says them alike.

export const TAMPER_NAMES = { covered: "Lens covered", defocused: "Out of focus", moved: "Camera moved" };

export const tamperName = (kind) => TAMPER_NAMES[kind] || kind;

// Seconds since the epoch in the viewer's locale, or "never".
export function when(ts) { return ts ? new Date(ts * 1000).toLocaleString() : "never"; }

// Seconds since the epoch as "YYYY-MM-DD hh:mm:ss UTC".
export function fmtTime(t) {
  return new Date(t * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

// Seconds since the epoch as the value of an <input type="datetime-local"> (local time).
export function toLocalInput(t) {
  const d = new Date(t * 1000);
  const pad = (x) => String(x).padStart(2, "0");
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
    pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
}

// The value of an <input type="datetime-local"> as seconds since the epoch, or null.
export function fromLocalInput(v) {
  const t = new Date(v).getTime();
  return Number.isFinite(t) ? t / 1000 : null;
}
