// Rectangles dragged on a snapshot of the camera picture: the editor behind privacy masks
// (removed before encoding) and motion zones. Coordinates are fractions of the picture (0..1).

import { fetchPicture } from "./api.js";
import { $ } from "./dom.js";
import { may } from "./session.js";

// [x0, y0, x1, y1] of a mask or zone: its rectangle, or the bounds of its polygon.
export function maskBox(m) {
  if (m.rect) return m.rect;
  const xs = m.polygon.map((p) => p[0]); const ys = m.polygon.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

function placeBox(el, b) {
  el.style.left = (b[0] * 100).toFixed(3) + "%";
  el.style.top = (b[1] * 100).toFixed(3) + "%";
  el.style.width = ((b[2] - b[0]) * 100).toFixed(3) + "%";
  el.style.height = ((b[3] - b[1]) * 100).toFixed(3) + "%";
}

// An editor of rectangles dragged on a picture. opts: max, cls, describe(item), make(box).
// Returns { items, draw() }: the caller sets `items` and calls draw().
export function boxEditor(stageId, listId, opts) {
  const ed = { items: [] };
  const stage = $(stageId);
  ed.draw = () => {
    for (const el of Array.from(stage.querySelectorAll(".mask"))) el.remove();
    const list = $(listId); list.textContent = "";
    ed.items.forEach((m, i) => {
      const el = document.createElement("div"); el.className = "mask " + (opts.cls || "");
      placeBox(el, maskBox(m)); stage.appendChild(el);
      const li = document.createElement("li");
      li.textContent = opts.describe(m) + " ";
      const rm = document.createElement("button"); rm.type = "button"; rm.textContent = "Remove";
      rm.addEventListener("click", () => { ed.items.splice(i, 1); ed.draw(); });
      li.appendChild(rm); list.appendChild(li);
    });
  };
  const point = (ev) => {
    const r = stage.getBoundingClientRect();
    return [Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width)),
      Math.min(1, Math.max(0, (ev.clientY - r.top) / r.height))];
  };
  stage.addEventListener("mousedown", (ev) => {
    ev.preventDefault();
    const start = point(ev);
    const draft = document.createElement("div"); draft.className = "mask draft " + (opts.cls || "");
    stage.appendChild(draft);
    const box = (p) => [Math.min(start[0], p[0]), Math.min(start[1], p[1]),
      Math.max(start[0], p[0]), Math.max(start[1], p[1])];
    const move = (e) => placeBox(draft, box(point(e)));
    const up = (e) => {
      window.removeEventListener("mousemove", move); window.removeEventListener("mouseup", up);
      draft.remove();
      const b = box(point(e)).map((v) => Math.round(v * 10000) / 10000);
      if (b[2] - b[0] > 0.01 && b[3] - b[1] > 0.01 && ed.items.length < opts.max) {
        ed.items.push(opts.make(b));
      }
      ed.draw();
    };
    window.addEventListener("mousemove", move); window.addEventListener("mouseup", up);
  });
  return ed;
}

// Show a fresh snapshot in the <img id=imgId> (users who may take snapshots only).
export async function showSnapshotIn(imgId) {
  if (!may("take_snapshot")) return;
  const url = await fetchPicture("/api/v1/snapshot.jpg");
  if (url === null) return;
  const img = $(imgId);
  const old = img.src;
  img.src = url;
  if (old && old.startsWith("blob:")) URL.revokeObjectURL(old);
}
