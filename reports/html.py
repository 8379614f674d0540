"""``report.html``: one self-contained page (inline CSS and SVG, a few lines of JavaScript for
filtering the sample table; nothing is fetched)."""

from __future__ import annotations

from html import escape
from typing import Optional

from harness_ext.reports.compare import ALL_TIERS, Report
from harness_ext.reports.svg import (Bar, BoxSeries, Segment, box_plot, grouped_bars,
                                     label_color, legend, run_color, stacked_bars)
from harness_ext.reports.views import (CONTROL_HEADER, accuracy_rows, control_rows,
                                       failure_labels, flip_rows, run_settings, verdict)

__all__ = ["MAX_SAMPLE_ROWS", "render_html"]

MAX_SAMPLE_ROWS = 2000
EVIDENCE_CHARS = 600

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1180px;
color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 12px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;white-space:nowrap}
.ok{background:#e8f5e9;border:1px solid #a5d6a7;padding:8px 12px;border-radius:4px}
.bad{background:#fdecea;border:1px solid #ef9a9a;padding:8px 12px;border-radius:4px}
.reg{background:#fdecea;font-weight:600}.imp{background:#e8f5e9;font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:12px;margin:4px 0 14px;font-size:12px}
.key i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px}
.note{color:#555;font-size:12px}.chart{overflow-x:auto}
pre{white-space:pre-wrap;background:#f7f7f7;padding:6px;margin:4px 0;max-height:240px;
overflow:auto;font-size:12px}
details summary{cursor:pointer}input#filter{padding:4px 8px;width:320px;margin:6px 0}
"""

_JS = """
(function () {
  var box = document.getElementById('filter');
  if (!box) { return; }
  box.addEventListener('input', function () {
    var q = box.value.toLowerCase();
    var rows = document.querySelectorAll('#samples tbody tr');
    for (var i = 0; i < rows.length; i++) {
      rows[i].style.display = rows[i].textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
    }
  });
})();
"""


def _e(text: object) -> str:
    return escape(str(text))


def _header(report: Report) -> list[str]:
    rows = []
    for run in report.runs:
        role = report.role(run.name)
        model = run.pretrained if run.model == "sparks" else f"{run.model}: {run.pretrained}"
        rows.append(f"<tr><td><b>{_e(run.name)}</b></td><td>{_e(role)}</td><td>{_e(model)}</td>"
                    f"<td>{_e(run.interventions_text)}</td><td>{_e(run.date)}</td>"
                    f"<td>{_e(run.lm_eval_version)}</td><td>{_e(run.sparks_version)}</td>"
                    f"<td>{_e(run_settings(report, run.name))}</td></tr>")
    return ["<table><thead><tr><th>run</th><th>role</th><th>model</th><th>interventions</th>"
            "<th>date</th><th>lm-eval</th><th>sparks</th><th>settings</th></tr></thead><tbody>",
            *rows, "</tbody></table>"]


def _verdict(report: Report) -> list[str]:
    word, lines = verdict(report)
    items = "".join(f"<li>{_e(line)}</li>" for line in lines[1:])
    return [f'<div class="{"ok" if word == "OK" else "bad"}"><b>{word}</b>: '
            f"{_e(lines[0])}{'<ul>' + items + '</ul>' if items else ''}</div>"]


def _accuracy_tables(report: Report) -> list[str]:
    out = []
    for task in report.tasks():
        head = "".join(f"<th>{_e(run.name)}</th>" for run in report.runs)
        head += "".join(f"<th>Δ {_e(run.name)} [95% CI], p</th>" for run in report.candidates)
        body = []
        for row in accuracy_rows(report, task):
            cells = "".join(f'<td class="num">{_e(c)}</td>' for c in row.cells)
            for d in row.deltas:
                if d is None:
                    cells += '<td class="num">-</td>'
                    continue
                cls = "reg" if d.regression else "imp" if d.improvement else ""
                cells += (f'<td class="num {cls}" title="{_e(d.test)}, {d.n} paired problems">'
                          f"{_e(d.delta)} {_e(d.interval)}, p={_e(d.p)}</td>")
            tier = f"<b>{_e(row.tier)}</b>" if row.tier == ALL_TIERS else _e(row.tier)
            body.append(f"<tr><td>{tier}</td>{cells}</tr>")
        out += [f"<h3>{_e(task)}</h3><table><thead><tr><th>tier</th>{head}</tr></thead><tbody>",
                *body, "</tbody></table>"]
    return out


def _controls(report: Report) -> list[str]:
    rows = control_rows(report)
    if not rows:
        return []
    head = "".join(f"<th>{_e(h)}</th>" for h in CONTROL_HEADER)
    body = []
    for cells, significant in rows:
        text = "".join(f"<td>{_e(c)}</td>" for c in cells[:4])
        text += "".join(f'<td class="num">{_e(c)}</td>' for c in cells[4:6])
        text += f'<td class="num{" reg" if significant else ""}">{_e(cells[6])}</td>'
        body.append(f"<tr>{text}</tr>")
    return ["<h2>Against matched random controls</h2>",
            '<p class="note">The same number of random heads in the same layers (one run per '
            "seed), pooled per problem; the same paired test as above. A significant negative "
            "delta: the chosen heads matter more than random ones.</p>",
            f"<table><thead><tr>{head}</tr></thead><tbody>", *body, "</tbody></table>"]


def _accuracy_plot(report: Report) -> list[str]:
    groups = []
    for task in report.tasks():
        for tier in [*report.tiers(task), ALL_TIERS]:
            bars = []
            for index, run in enumerate(report.runs):
                cell = report.cell(run.name, task, tier)
                if cell is None:
                    continue
                bars.append(Bar(run.name, cell.accuracy, cell.ci_low, cell.ci_high,
                                run_color(index),
                                f"{run.name}, {task} / {tier}: {100 * cell.accuracy:.1f}% "
                                f"(95% CI {100 * cell.ci_low:.1f}-{100 * cell.ci_high:.1f}%, "
                                f"{cell.problems} problems)"))
            if bars:
                groups.append((f"{_short(task)}\n{tier}", bars))
    chart = grouped_bars(groups, title="Accuracy by task and tier (95% bootstrap intervals)")
    keys = legend([(run.name, run_color(i)) for i, run in enumerate(report.runs)])
    return [f'<div class="chart">{chart}</div>', keys]


def _short(task: str) -> str:
    return task.replace("_sparks", "")


def _labels_plot(report: Report) -> list[str]:
    names = report.label_names()
    rows = []
    for task in report.tasks():
        for tier in [*report.tiers(task), ALL_TIERS]:
            for run in report.runs:
                counts = report.labels.get((run.name, task, tier))
                if counts is None:
                    continue
                segments = [Segment(name, counts.get(name, 0), label_color(name, names))
                            for name in names]
                rows.append((f"{_short(task)} / {tier} / {run.name}", segments))
    chart = stacked_bars(rows, title="Failure-label mix by task, tier and run (all responses)")
    keys = legend([(name, label_color(name, names)) for name in names])
    return [f'<div class="chart">{chart}</div>', keys]


def _lengths_plot(report: Report) -> list[str]:
    tokens = all(r.n_tokens is not None for run in report.runs for t in run.tasks.values()
                 for p in t.problems.values() for r in p.responses)
    unit = "tokens" if tokens else "characters"
    groups = []
    budgets = set()
    for task in report.tasks():
        for tier in [*report.tiers(task), ALL_TIERS]:
            series = []
            for index, run in enumerate(report.runs):
                task_run = run.tasks.get(task)
                if task_run is None:
                    continue
                if task_run.max_gen_toks:
                    budgets.add(task_run.max_gen_toks)
                values = [float(r.n_tokens if tokens else r.n_chars)
                          for p in task_run.problems.values()
                          if tier == ALL_TIERS or p.tier == tier for r in p.responses]
                if values:
                    series.append(BoxSeries(run.name, values, run_color(index)))
            if series:
                groups.append((f"{_short(task)}\n{tier}", series))
    limit: Optional[float] = float(budgets.pop()) if tokens and len(budgets) == 1 else None
    chart = box_plot(groups, title=f"Response length in {unit} by task and tier",
                     y_label=unit, limit=limit)
    keys = legend([(run.name, run_color(i)) for i, run in enumerate(report.runs)]
                  + ([("token budget (max_gen_toks)", "#c00")] if limit else []))
    return [f'<div class="chart">{chart}</div>', keys]


def _flips(report: Report) -> list[str]:
    flips = flip_rows(report)
    if not flips:
        return ["<p>None.</p>" if report.candidates else "<p>No candidate run.</p>"]
    rows = "".join(
        f"<tr><td>{_e(f.candidate)}</td><td>{_e(f.direction)}</td><td>{_e(f.task)}</td>"
        f"<td>{_e(f.tier)}</td><td>{_e(f.problem_id)}</td><td class=\"num\">"
        f"{f.baseline_score:.2f} → {f.candidate_score:.2f}</td><td>"
        f"{_e(failure_labels(f.candidate_labels if f.direction == 'broke' else f.baseline_labels))}"
        f"</td></tr>" for f in flips)
    return ["<table><thead><tr><th>candidate</th><th>flip</th><th>task</th><th>tier</th>"
            "<th>problem</th><th>score</th><th>failure labels (failing run)</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"]


def _samples(report: Report) -> list[str]:
    rows = []
    for run in report.runs:
        for task, task_run in run.tasks.items():
            for p in task_run.problems.values():
                for r in p.responses:
                    if r.correct:
                        continue
                    evidence = r.evidence if len(r.evidence) <= EVIDENCE_CHARS else (
                        r.evidence[:EVIDENCE_CHARS] + "\u2026")
                    rows.append(
                        f"<tr><td>{_e(run.name)}</td><td>{_e(task)}</td><td>{_e(p.tier)}</td>"
                        f"<td>{_e(p.problem_id)}</td><td class=\"num\">{r.index}</td>"
                        f"<td>{_e(r.label)}</td><td>{_e(r.answer or '')}</td><td>{_e(p.gold)}"
                        f"</td><td><details><summary>{_e(r.note or 'evidence')}</summary>"
                        f"<pre>{_e(evidence)}</pre></details></td></tr>")
    shown = rows[:MAX_SAMPLE_ROWS]
    more = (f'<p class="note">{len(rows) - len(shown)} more in report.json.</p>'
            if len(rows) > len(shown) else "")
    return ['<input id="filter" type="search" placeholder="filter: run, task, tier, label...">',
            '<table id="samples"><thead><tr><th>run</th><th>task</th><th>tier</th><th>problem</th>'
            "<th>#</th><th>label</th><th>answer</th><th>gold</th><th>evidence</th></tr></thead>"
            f"<tbody>{''.join(shown)}</tbody></table>{more}"]


def _heads(report: Report) -> list[str]:
    from harness_ext.reports.heads import appearance_grid, heads_heatmap, heads_lines, run_marks

    assert report.heads is not None
    lines = heads_lines(report.heads, report.runs)
    series = appearance_grid(report.heads)
    return (["<h2>Heads</h2>", f'<p class="note">{_e(lines[0])}. Red outline: a head of the '
             "file's emergent list; dot: a run intervened on it (hover for values).</p>",
             f'<div class="chart">{heads_heatmap(report.heads, run_marks(report.runs))}</div>']
            + [f'<p class="note">{_e(line)}</p>' for line in lines[1:]]
            + ([f'<div class="chart">{series}</div>'] if series else []))


def render_html(report: Report) -> str:
    """The whole report as one HTML page."""
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>sparks report</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>sparks report</h1>"]
    parts += _header(report)
    parts += _verdict(report)
    parts += ["<h2>Accuracy by task and tier</h2>",
              '<p class="note">Mean per-problem score (pass@1 over n samples, or exact match). '
              "Deltas: candidate minus baseline on the problems both runs have, 95% paired "
              "bootstrap interval, p from McNemar's exact test (one sample per problem) or the "
              "paired bootstrap. Red: significantly worse; green: significantly better.</p>"]
    parts += _accuracy_plot(report)
    parts += _accuracy_tables(report)
    parts += _controls(report)
    parts += ["<h2>Failure labels by tier</h2>",
              '<p class="note">Every response, by the first label that applies (order: '
              + _e(", ".join(report.label_names())) + ").</p>"]
    parts += _labels_plot(report)
    parts += ["<h2>Response lengths</h2>"]
    parts += _lengths_plot(report)
    parts += ["<h2>Flipped problems</h2>"]
    parts += _flips(report)
    if report.heads is not None:
        parts += _heads(report)
    parts += ["<h2>Failed responses</h2>"]
    parts += _samples(report)
    if report.warnings:
        parts += ["<h2>Warnings</h2><ul>"
                  + "".join(f"<li>{_e(w)}</li>" for w in report.warnings) + "</ul>"]
    parts += [f'<p class="note">seed {report.seed}; truncation: '
              + _e("; ".join(f"{run.name}: {run.truncation}" for run in report.runs)) + "</p>",
              f"<script>{_JS}</script>", "</body></html>", ""]
    return "\n".join(parts)
