"""``report.html``: one self-contained page (inline CSS and SVG, a few lines of JavaScript for
filtering the sample table; nothing is fetched), rendered from ``templates/report.html.j2`` by
jinja2 with autoescaping: model text is escaped by the template engine, never by hand. The
charts are matplotlib figures (:mod:`harness_ext.charts`) written as inline SVG and passed in as
markup.

Every failed response opens to its problem and its full text with the evidence marked, and a
flipped problem shows both runs' responses side by side. Texts are bounded (``--max-response-
chars``, and a total budget after which only the evidence is shown), so a report on thousands
of long responses stays a page a browser opens; each run links to its results and samples
files by a path relative to the report.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any, Optional, Sequence

from markupsafe import Markup

from harness_ext.charts import (
    LIMIT_COLOUR,
    Bar,
    BoxSeries,
    Segment,
    box_plot,
    grouped_bars,
    label_colour,
    run_colour,
    stacked_bars,
)
from harness_ext.reports.compare import ALL_TIERS, Report
from harness_ext.reports.views import (
    CONTROL_HEADER,
    RESPONSE_CHARS,
    accuracy_rows,
    control_rows,
    drills,
    failure_labels,
    flip_views,
    run_settings,
    verdict,
)

__all__ = ["MAX_SAMPLE_ROWS", "render_html"]

MAX_SAMPLE_ROWS = 2000

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
.warn{background:#fff8e1;border:1px solid #ffcc80;padding:8px 12px;border-radius:4px;margin:8px 0}
mark{background:#ffe082}.cut{color:#888;font-style:italic}pre.problem{background:#eef3fb}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:10px}.sides pre{max-height:420px}
tr.drill td{border-top:none;padding-top:0}
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


def _accuracy_plot(report: Report) -> list[str]:
    groups = []
    for task in report.tasks():
        for tier in [*report.tiers(task), ALL_TIERS]:
            bars = []
            for index, run in enumerate(report.runs):
                cell = report.cell(run.name, task, tier)
                if cell is None:
                    continue
                bars.append(
                    Bar(
                        run.name,
                        cell.accuracy,
                        cell.ci_low,
                        cell.ci_high,
                        run_colour(index),
                        f"{run.name}, {task} / {tier}: {100 * cell.accuracy:.1f}% "
                        f"(95% CI {100 * cell.ci_low:.1f}-{100 * cell.ci_high:.1f}%, "
                        f"{cell.problems} problems)",
                    )
                )
            if bars:
                groups.append((f"{_short(task)}\n{tier}", bars))
    chart = grouped_bars(groups, title="Accuracy by task and tier (95% bootstrap intervals)")
    keys = _legend([(run.name, run_colour(i)) for i, run in enumerate(report.runs)])
    return [chart.to_svg(), keys]


def _legend(items: Sequence[tuple[str, str]]) -> str:
    """An HTML legend (name, colour) under a chart: HTML, so it wraps with the page."""
    cells = "".join(
        f'<span class="key"><i style="background:{colour}"></i>{escape(name)}</span>'
        for name, colour in items
    )
    return f'<div class="legend">{cells}</div>'


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
                segments = [
                    Segment(name, counts.get(name, 0), label_colour(name, names)) for name in names
                ]
                rows.append((f"{_short(task)} / {tier} / {run.name}", segments))
    chart = stacked_bars(rows, title="Failure-label mix by task, tier and run (all responses)")
    keys = _legend([(name, label_colour(name, names)) for name in names])
    return [chart.to_svg(), keys]


def _lengths_plot(report: Report) -> list[str]:
    tokens = all(
        r.n_tokens is not None
        for run in report.runs
        for t in run.tasks.values()
        for p in t.problems.values()
        for r in p.responses
    )
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
                values = [
                    float(r.n_tokens if tokens and r.n_tokens is not None else r.n_chars)
                    for p in task_run.problems.values()
                    if tier == ALL_TIERS or p.tier == tier
                    for r in p.responses
                ]
                if values:
                    series.append(BoxSeries(run.name, values, run_colour(index)))
            if series:
                groups.append((f"{_short(task)}\n{tier}", series))
    limit: Optional[float] = float(budgets.pop()) if tokens and len(budgets) == 1 else None
    chart = box_plot(
        groups, title=f"Response length in {unit} by task and tier", y_label=unit, limit=limit
    )
    keys = _legend(
        [(run.name, run_colour(i)) for i, run in enumerate(report.runs)]
        + ([("token budget (max_gen_toks)", LIMIT_COLOUR)] if limit else [])
    )
    return [chart.to_svg(), keys]


def _heads(report: Report) -> Optional[dict[str, Any]]:
    from harness_ext.reports.heads import appearance_grid, heads_heatmap, heads_lines, run_marks

    if report.heads is None:
        return None
    settings = report.heads.settings
    named = (
        ("model_post", "model"),
        ("model_base", "base"),
        ("tasks", "tasks"),
        ("limit", "limit"),
    )
    source = ", ".join(
        f"{label} {settings[key]}" for key, label in named if settings.get(key) not in (None, "")
    )
    series = appearance_grid(report.heads)
    return {
        "lines": heads_lines(report.heads, report.runs),
        "source": f"From {source}." if source else "",
        "heatmap": Markup(heads_heatmap(report.heads, run_marks(report.runs))),
        "series": Markup(series) if series else None,
    }


def _href(path: Path, folder: Optional[Path]) -> str:
    """A link to ``path`` from the report's folder (relative when the folder is known)."""
    if folder is None:
        return path.resolve().as_uri()
    return Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()


def _runs(report: Report, folder: Optional[Path]) -> list[dict[str, Any]]:
    return [
        {
            "name": run.name,
            "role": report.role(run.name),
            "model": run.pretrained if run.model == "sparks" else f"{run.model}: {run.pretrained}",
            "interventions": run.interventions_text,
            "date": run.date,
            "lm_eval": run.lm_eval_version,
            "sparks": run.sparks_version,
            "settings": run_settings(report, run.name),
            "chat_template": run.chat_template,
            "enable_thinking": run.enable_thinking,
            "model_args": ", ".join(
                f"{k}={v}" for k, v in run.model_settings.items() if k != "enable_thinking"
            ),
            "results_href": _href(run.results_file, folder),
            "samples": [
                (f"samples {task}", _href(t.samples_file, folder))
                for task, t in sorted(run.tasks.items())
            ],
        }
        for run in report.runs
    ]


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("harness_ext.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=False,
    )


def render_html(
    report: Report, folder: Optional[Path] = None, max_response_chars: int = RESPONSE_CHARS
) -> str:
    """The whole report as one HTML page; ``folder`` is where it will be written (for the
    relative links to the runs' files)."""
    word, lines = verdict(report)
    accuracy, accuracy_keys = _accuracy_plot(report)
    labels, labels_keys = _labels_plot(report)
    lengths, lengths_keys = _lengths_plot(report)
    recorded = all(
        r.recorded
        for run in report.runs
        for t in run.tasks.values()
        for p in t.problems.values()
        for r in p.responses
    )
    failed = drills(report, max_response_chars)
    template = _environment().get_template("report.html.j2")
    return template.render(
        css=Markup(_CSS),
        js=Markup(_JS),
        runs=_runs(report, folder),
        setting_warnings=report.setting_warnings,
        verdict={"word": word, "lines": lines},
        charts={
            "accuracy": Markup(accuracy),
            "accuracy_legend": Markup(accuracy_keys),
            "labels": Markup(labels),
            "labels_legend": Markup(labels_keys),
            "lengths": Markup(lengths),
            "lengths_legend": Markup(lengths_keys),
        },
        lengths_note=(
            "Token counts recorded during generation (sparks_generation)."
            if recorded
            else "Token counts estimated where generation did not record them: "
            + "; ".join(f"{run.name}: {run.truncation}" for run in report.runs)
        ),
        accuracy=[{"task": task, "rows": accuracy_rows(report, task)} for task in report.tasks()],
        run_names=[run.name for run in report.runs],
        candidate_names=[run.name for run in report.candidates],
        all_tiers=ALL_TIERS,
        controls=control_rows(report),
        control_header=CONTROL_HEADER,
        label_names=", ".join(report.label_names()),
        flips=[
            {
                "flip": v.flip,
                "problem": v.problem,
                "baseline": v.baseline,
                "candidate": v.candidate,
                "baseline_label": v.baseline_label,
                "candidate_label": v.candidate_label,
                "labels": failure_labels(
                    v.flip.candidate_labels
                    if v.flip.direction == "broke"
                    else v.flip.baseline_labels
                ),
            }
            for v in flip_views(report, max_response_chars)
        ],
        baseline=report.baseline,
        heads=_heads(report),
        drills=failed[:MAX_SAMPLE_ROWS],
        more_rows=max(0, len(failed) - MAX_SAMPLE_ROWS),
        warnings=report.warnings,
        seed=report.seed,
        truncation="; ".join(f"{run.name}: {run.truncation}" for run in report.runs),
    )
