"""``perfcore report --format html``: the report as one self-contained page.

The page needs nothing but a browser: its CSS and script are inline, its data is a JSON block in
the page, and its charts are SVG drawn by the script from that data (goal standing per
department, and each review cycle's progress per stage). The tables are written into the page
itself, so they read the same without the script. Once the charts are drawn, each mark carries
the size the browser gave it (``data-drawn-width``, ``data-drawn-height``) and the body says how
many marks were drawn (``data-marks``): what a headless browser checks.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence

from perfcore.cli._report import DUE_WITHIN, STANDINGS, Report

__all__ = ["as_html"]

#: A colour per goal standing (legible for the common colour blindnesses).
COLOURS = {
    "on_track": "#1b9e77",
    "achieved": "#2c7fb8",
    "behind": "#e6ab02",
    "missed": "#d95f02",
    "not_started": "#bdbdbd",
    "cancelled": "#7f7f7f",
}

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 72rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .9rem; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #e3e3e3; }
th { background: #f5f5f5; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.not_meeting { color: #a33c00; font-weight: 600; } .meeting { color: #11684f; }
.chart { width: 100%; height: auto; } .legend span { margin-right: 1rem; white-space: nowrap; }
.legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem;
            vertical-align: -1px; }
.holding { background: #fff7e0; border-left: 4px solid #e6ab02; padding: .4rem .7rem; }
"""

_SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  function el(name, attributes, parent) {
    var node = document.createElementNS(NS, name);
    for (var key in attributes) node.setAttribute(key, attributes[key]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function label(parent, x, y, text, anchor) {
    var node = el("text", {x: x, y: y, "font-size": 12, "text-anchor": anchor || "start"}, parent);
    node.textContent = text;
    return node;
  }
  function bars(svg, rows, segments, colours) {
    // rows: [{label, values: {segment: n}, total}]; one horizontal stacked bar per row.
    var left = 170, width = 520, height = 22, gap = 10, top = 8;
    var most = Math.max(1, Math.max.apply(null, rows.map(function (r) { return r.total; })));
    rows.forEach(function (row, n) {
      var y = top + n * (height + gap), x = left;
      label(svg, left - 8, y + 15, row.label, "end");
      segments.forEach(function (segment) {
        var value = row.values[segment] || 0;
        if (!value) return;
        var w = value / most * width;
        var mark = el("rect", {x: x, y: y, width: w, height: height, fill: colours[segment],
                               "class": "mark", "data-segment": segment, "data-value": value},
                      svg);
        el("title", {}, mark).textContent = row.label + ": " + value + " " +
          segment.replace("_", " ");
        x += w;
      });
      label(svg, x + 6, y + 15, String(row.total));
    });
    svg.setAttribute("viewBox", "0 0 760 " + (top * 2 + rows.length * (height + gap)));
  }
  var goals = document.getElementById("goals-chart");
  if (goals) {
    bars(goals, data.departments.map(function (d) {
      var total = 0;
      data.standings.forEach(function (s) { total += d.goals[s]; });
      return {label: d.department, values: d.goals, total: total};
    }), data.standings, data.colours);
  }
  data.cycles.forEach(function (cycle) {
    var svg = document.getElementById("cycle-chart-" + cycle.id);
    if (!svg) return;
    bars(svg, cycle.stages.map(function (s) {
      return {label: s.stage.replace("_", " "), total: s.total,
              values: {done: s.done, waiting: s.total - s.done}};
    }), ["done", "waiting"], {done: "#1b9e77", waiting: "#e6ab02"});
  });
  var marks = document.querySelectorAll("svg .mark");
  marks.forEach(function (mark) {
    var box = mark.getBoundingClientRect();
    mark.setAttribute("data-drawn-width", box.width.toFixed(1));
    mark.setAttribute("data-drawn-height", box.height.toFixed(1));
  });
  document.body.setAttribute("data-marks", String(marks.length));
})();
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(header: Sequence[str], rows: Iterable[Sequence[object]], numeric: set[int]) -> str:
    head = "".join(f"<th>{_e(cell)}</th>" for cell in header)
    body = []
    for row in rows:
        cells = []
        for n, cell in enumerate(row):
            if isinstance(cell, tuple):  # (text, css class)
                text, css = cell
                cells.append(f'<td class="{_e(css)}">{_e(text)}</td>')
            else:
                cells.append(
                    f'<td class="n">{_e(cell)}</td>' if n in numeric else f"<td>{_e(cell)}</td>"
                )
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _json_in_html(data: object) -> str:
    """JSON that cannot end the script element it is in."""
    text = json.dumps(data, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def as_html(report: Report) -> str:
    """The report as one self-contained HTML page (see the module's documentation)."""
    data = report.to_data()
    data["standings"] = list(STANDINGS)
    data["colours"] = COLOURS
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>perfcore report: {_e(report.reader)} on {_e(report.on)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Performance report for {_e(report.reader)}</h1>",
        f'<p class="meta">As the records stood at the end of {_e(report.on)}; '
        f"{_e(report.reader)} sees {_e(report.sees)}: {len(report.people)} people.</p>",
    ]
    for cycle in report.cycles:
        parts += [
            f"<h2>Review cycle {_e(cycle.name)} ({_e(cycle.id)}): {_e(cycle.state)}</h2>",
            f'<p class="holding">{_e(cycle.holding_up)}</p>',
            f'<svg class="chart" id="cycle-chart-{_e(cycle.id)}" role="img"'
            f' aria-label="progress of each stage of {_e(cycle.name)}"'
            ' viewBox="0 0 760 10"></svg>',
            '<p class="legend"><span><i style="background:#1b9e77"></i>done</span>'
            '<span><i style="background:#e6ab02"></i>waiting</span></p>',
        ]
        if cycle.disputed:
            parts.append(f"<p>Disputing their evaluation: {_e(', '.join(cycle.disputed))}</p>")
    legend = "".join(
        f'<span><i style="background:{COLOURS[s]}"></i>{_e(s.replace("_", " "))}</span>'
        for s in STANDINGS
    )
    parts += [
        "<h2>Goal standing per department</h2>",
        '<svg class="chart" id="goals-chart" role="img"'
        ' aria-label="goal standing per department" viewBox="0 0 760 10"></svg>',
        f'<p class="legend">{legend}</p>',
        _table(
            ("department", "people", "meeting", "not meeting", "plans due", "evaluations open"),
            (
                (
                    d.department,
                    d.people,
                    len(d.meeting),
                    len(d.not_meeting),
                    d.plans_due,
                    d.evaluations_outstanding,
                )
                for d in report.departments
            ),
            {1, 2, 3, 4, 5},
        ),
        "<h2>Not meeting their goals</h2>",
    ]
    behind = report.behind
    parts.append(
        _table(
            ("department", "person", "manager", "goals behind or missed"),
            ((p.department, p.id, p.manager_id or "-", ", ".join(p.not_meeting)) for p in behind),
            set(),
        )
        if behind
        else "<p>Nobody.</p>"
    )
    parts += [
        "<h2>People</h2>",
        _table(
            ("department", "person", "manager", "goals", "outlook", "evaluation", "plans due"),
            (
                (
                    p.department,
                    p.id,
                    p.manager_id or "-",
                    sum(p.goals.values()),
                    (p.outlook.replace("_", " "), p.outlook),
                    p.evaluation or "-",
                    p.plans_due,
                )
                for p in report.people
            ),
            {3, 6},
        ),
        f"<h2>Plans due for review by {_e(report.on + DUE_WITHIN)}</h2>",
        _table(
            ("due", "plan", "subject", "author", "kind", ""),
            (
                (p.due, p.id, p.subject_id, p.author_id, p.kind, "overdue" if p.overdue else "")
                for p in report.plans_due
            ),
            set(),
        )
        if report.plans_due
        else "<p>None.</p>",
        "<h2>Evaluations outstanding</h2>",
        _table(
            ("evaluation", "subject", "evaluator", "state"),
            (
                (e.id, e.subject_id, e.evaluator_id or "-", e.state)
                for e in report.evaluations_outstanding
            ),
            set(),
        )
        if report.evaluations_outstanding
        else "<p>None.</p>",
        f'<script type="application/json" id="report-data">{_json_in_html(data)}</script>',
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
