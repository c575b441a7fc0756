// DOM helpers shared by every view. Values from the server are written with textContent only,
// never as markup (TAICS 5.2.6.1: the CSP forbids inline script; this keeps injected text inert).

export const $ = (id) => document.getElementById(id);

// Append a table cell showing `text` (null and undefined show as empty) and return it.
export function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

export function button(text, onClick) {
  const b = document.createElement("button");
  b.textContent = text;
  if (onClick) b.addEventListener("click", onClick);
  return b;
}
