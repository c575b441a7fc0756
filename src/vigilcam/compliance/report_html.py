"""The audit report as one self-contained HTML file a person can hand to a buyer or a lab.

Owns the HTML report of ``vigilcam audit --format html``: inline CSS, an inline SVG bar chart
of verdicts per clause group, clause tables for IoT-1005-1 and for TAICS TS 5100-2-1 levels
1/2/3 with the level reached, ETSI EN 303 645 provision ids beside, the evidence and, for a
FAIL, what to do (IoT-1005-1 / TAICS TS 5101-2-1 test report). No external asset is loaded:
no script, font, image or stylesheet from anywhere; links only point to the documents.
"""

from __future__ import annotations

from html import escape

from vigilcam import product
from vigilcam.compliance.audit import AuditReport, Outcome
from vigilcam.compliance.model import IOT, TAICS, Verdict
from vigilcam.compliance.report import DOC_LINKS

COLOURS = {
    Verdict.PASS.value: "#1a7f37",
    Verdict.FAIL.value: "#cf222e",
    Verdict.NOT_APPLICABLE.value: "#8c959f",
    Verdict.NOT_TESTED.value: "#bf8700",
}
CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 8px}
.meta{color:#57606a;margin:0 0 16px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:10px 16px;min-width:110px}
.card b{display:block;font-size:24px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d0d7de}
th,td{text-align:left;vertical-align:top;padding:8px;border-bottom:1px solid #d8dee4}
th{background:#eaeef2;font-size:13px}
td.id{white-space:nowrap;font-weight:600}td.en{font-size:13px;color:#57606a}
.v{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;
font-weight:700;white-space:nowrap}
ul.ev{margin:0;padding-left:18px;font-size:13px}
.todo{margin-top:6px;font-size:13px;background:#fff8c5;border-left:3px solid #bf8700;
padding:4px 8px}
.status{font-size:12px;color:#57606a}
.level{font-weight:700}
svg text{font:12px system-ui,sans-serif}
footer{margin-top:32px;color:#57606a;font-size:13px}
"""


def _badge(verdict: str) -> str:
    return f'<span class="v" style="background:{COLOURS[verdict]}">{escape(verdict)}</span>'


def chart(report: AuditReport) -> str:
    """A horizontal stacked bar per clause group: verdict counts, inline SVG."""
    groups = report.groups()
    label_w, bar_w, row_h = 400, 480, 26
    height = row_h * len(groups) + 40
    most = max((sum(c.values()) for _, c in groups), default=1) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{label_w + bar_w + 40}"'
             f' height="{height}" aria-label="Verdicts per clause group">']
    for i, (group, counts) in enumerate(groups):
        y = 10 + i * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">'
                     f'{escape(group)}</text>')
        x = float(label_w)
        for verdict, n in counts.items():
            if not n:
                continue
            w = bar_w * n / most
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 6}" '
                         f'fill="{COLOURS[verdict]}"><title>{escape(group)}: {n} '
                         f'{escape(verdict)}</title></rect>')
            if w >= 16:
                parts.append(f'<text x="{x + w / 2:.1f}" y="{y + 15}" text-anchor="middle" '
                             f'fill="#fff">{n}</text>')
            x += w
    y = height - 14
    x = float(label_w)
    for verdict, colour in COLOURS.items():
        parts.append(f'<rect x="{x:.0f}" y="{y - 10}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16:.0f}" y="{y}">{escape(verdict)}</text>')
        x += 130
    parts.append("</svg>")
    return "".join(parts)


def _rows(outcomes: list[Outcome]) -> str:
    out = []
    for o in outcomes:
        c, r = o.clause, o.result
        evidence = "".join(f"<li>{escape(e)}</li>" for e in r.evidence)
        todo = (f'<div class="todo"><b>What to do:</b> {escape(r.todo)}</div>'
                if r.verdict == Verdict.FAIL and r.todo else "")
        status = f"{c.status.value}" + (f": {c.note}" if c.note else "")
        out.append(
            f'<tr id="{escape(c.key.replace(" ", "-"))}"><td class="id">{escape(c.id)}</td>'
            f'<td class="en">{escape(", ".join(c.en303645) or "-")}</td>'
            f"<td>{escape(c.title)}<div class=\"status\">{escape(status)} · "
            f"{escape(r.kind.value)} check</div></td>"
            f"<td>{_badge(r.verdict.value)}</td>"
            f'<td><ul class="ev">{evidence}</ul>{todo}</td></tr>')
    return "".join(out)


def _table(title: str, outcomes: list[Outcome], extra: str = "") -> str:
    if not outcomes:
        return ""
    return (f"<h2>{escape(title)}</h2>{extra}<table><thead><tr><th>Clause</th>"
            "<th>EN 303 645</th><th>Requirement</th><th>Verdict</th>"
            f"<th>Evidence</th></tr></thead><tbody>{_rows(outcomes)}</tbody></table>")


def to_html(report: AuditReport) -> str:
    counts = report.counts()
    level = report.taics_level()
    subject = report.subject.get("target") or report.subject.get("data_dir", "")
    device = report.subject.get("device_id") or report.subject.get("certificate") or ""
    cards = "".join(f'<div class="card" style="border-top:4px solid {COLOURS[v]}">'
                    f"<b>{n}</b>{escape(v)}</div>" for v, n in counts.items())
    if report.mode == "local":
        level_text = f"Level reached: {level}" if level else "Level reached: none (level 1 " \
            "needs every level 1 clause to pass)"
        cards += f'<div class="card"><b>{level or 0}</b>TAICS level reached</div>'
    else:
        level_text = "Level not judged remotely (only network-visible clauses were checked)."
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
    iot = [o for o in report.outcomes if o.clause.standard == IOT]
    taics = "".join(
        _table(f"TAICS TS 5100-2-1 level {lv}",
               [o for o in report.outcomes if o.clause.standard == TAICS and o.clause.level == lv],
               f'<p class="level">{escape(level_text)}</p>' if lv == 1 else "")
        for lv in (1, 2, 3))
    links = "".join(f'<li><a href="{escape(u)}">{escape(k)}</a></li>'
                    for k, u in DOC_LINKS.items())
    verdict = "FAIL" if report.failed else "PASS"
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<title>vigilcam audit: {escape(str(subject))}</title>"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        f"<style>{CSS}</style></head><body><main>"
        f"<h1>Conformance audit: {_badge(verdict)}</h1>"
        f'<p class="meta">{escape(report.mode)} audit of <b>{escape(str(subject))}</b>'
        f"{' · ' + escape(str(device)) if device else ''} · {escape(report.started)} · "
        f"{report.seconds:.1f} s · {escape(product.MODEL)} {escape(product.VERSION)}</p>"
        f'<div class="cards">{cards}</div>'
        f"<h2>Verdicts per clause group</h2>{chart(report)}"
        f"<ul>{notes}</ul>"
        + _table("IoT-1005-1 (consumer IP camera; ETSI EN 303 645 provisions beside)", iot)
        + taics
        + f"<h2>Documents</h2><ul>{links}</ul>"
        "<footer>IoT-1005-1 v1.0 and TAICS TS 5100-2-1 v0.9.0 clauses as listed in the "
        "vigilcam requirements; verdicts from the checks named in the JSON report. "
        "A functional check judges the device or host, a conceptual one the vendor's "
        "documents.</footer></main></body></html>\n")
