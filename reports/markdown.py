"""``report.md``: the report as GitHub-flavoured Markdown, for a pull request or a CI summary.

Every text that comes from the runs (run names, specs, task names, problem ids, labels,
warnings) is HTML-escaped outside code fences (:func:`_esc`): GitHub renders raw HTML in
Markdown, so a run named ``<img src=x onerror=...>`` must show as text, as in report.html.
"""

from __future__ import annotations

import html
import re

from harness_ext.reports.compare import Report
from harness_ext.reports.views import (
    CONTROL_HEADER,
    accuracy_rows,
    control_rows,
    failure_labels,
    flip_rows,
    flip_views,
    label_rows,
    run_settings,
    verdict,
)

__all__ = ["MAX_FLIPS", "render_markdown"]

MAX_FLIPS = 100


def _esc(text: object) -> str:
    """``text`` with ``&``, ``<`` and ``>`` escaped: shown as written, never taken as HTML."""
    return html.escape(str(text), quote=False)


def _cell(text: str) -> str:
    return _esc(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(_cell(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


EXAMPLES = 5  # flips shown with their responses
EXAMPLE_CHARS = 1500


def _flip_examples(report: Report) -> list[str]:
    """The top flips as collapsible examples: both runs' responses (cut), the problem text too
    unless a run's grading rules say it may not be published (``publish_text: false``, e.g.
    GPQA: report.md goes into pull requests)."""
    out = ["", "### Examples", ""]
    for view in flip_views(report, EXAMPLE_CHARS)[:EXAMPLES]:
        f = view.flip
        out += [
            "<details><summary>"
            + _esc(f"{f.candidate} {f.direction} {f.task} {f.problem_id} ")
            + f"({f.baseline_score:.2f} → {f.candidate_score:.2f})</summary>",
            "",
        ]
        if view.problem and _publishable(report, f.task):
            out += ["Problem:", "", _fence(view.problem[:EXAMPLE_CHARS]), ""]
        for name, label, pieces in (
            (report.baseline, view.baseline_label, view.baseline),
            (f.candidate, view.candidate_label, view.candidate),
        ):
            text = "".join(piece for kind, piece in pieces)
            out += [_esc(f"{name} ({label}):"), "", _fence(text), ""]
        out += ["</details>", ""]
    return out


def _publishable(report: Report, task: str) -> bool:
    """Whether every run that has ``task`` lets its problem text be published."""
    return all(run.tasks[task].grading.publish_text for run in report.runs if task in run.tasks)


def _fence(text: str) -> str:
    """A fenced block that no backtick run inside ``text`` can close."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}text\n{text}\n{ticks}"


def render_markdown(report: Report) -> str:
    """The whole report as Markdown: one section after the other."""
    out = ["# sparks report", ""]
    for section in (_header, _accuracy, _controls, _labels, _flips, _heads, _footer):
        out += section(report)
    return "\n".join(out)


def _header(report: Report) -> list[str]:
    """The runs, and the verdict."""
    word, lines = verdict(report)
    out = _table(
        ["run", "role", "model", "interventions", "date", "lm-eval", "sparks", "settings"],
        [
            [
                run.name,
                report.role(run.name),
                run.pretrained if run.model == "sparks" else f"{run.model}: {run.pretrained}",
                run.interventions_text,
                run.date,
                run.lm_eval_version,
                run.sparks_version,
                run_settings(report, run.name),
            ]
            for run in report.runs
        ],
    )
    out += ["", f"**{word}**: {_esc(lines[0])}"]
    return out + [f"- {_esc(line)}" for line in lines[1:]]


def _accuracy(report: Report) -> list[str]:
    """Accuracy by task and tier, with the deltas of each candidate."""
    out = [
        "",
        "## Accuracy by task and tier",
        "",
        "Accuracy is the mean per-problem score (pass@1 over n samples, or exact match); "
        "deltas are candidate minus baseline on the problems both runs have, with a 95% "
        "paired-bootstrap interval; p from McNemar's exact test (one sample per problem) or "
        "the paired bootstrap. **bold**: significant, :red_circle: significantly worse.",
    ]
    for task in report.tasks():
        header = [
            "tier",
            *[run.name for run in report.runs],
            *[f"Δ {run.name}" for run in report.candidates],
        ]
        rows = []
        for row in accuracy_rows(report, task):
            deltas = []
            for d in row.deltas:
                if d is None:
                    deltas.append("-")
                    continue
                text = d.summary
                if d.regression:
                    text = f":red_circle: **{text}**"
                elif d.significant:
                    text = f"**{text}**"
                deltas.append(text)
            rows.append([row.tier, *row.cells, *deltas])
        out += ["", f"### {_esc(task)}", ""] + _table(header, rows)
    return out


def _controls(report: Report) -> list[str]:
    """The comparison against matched random controls, when the report has any."""
    controls = control_rows(report)
    if not controls:
        return []
    out = [
        "",
        "## Against matched random controls",
        "",
        "The same number of random heads in the same layers (one run per seed), pooled "
        "per problem; the same paired test. **bold**: significant.",
    ]
    return (
        out
        + [""]
        + _table(
            CONTROL_HEADER,
            [
                [*cells[:6], f"**{cells[6]}**" if significant else cells[6]]
                for cells, significant in controls
            ],
        )
    )


def _labels(report: Report) -> list[str]:
    """Responses per failure label, by task, tier and run."""
    out = [
        "",
        "## Failure labels by tier",
        "",
        "Responses per label (every response of every problem; `correct` included).",
    ]
    names = report.label_names()
    for task in report.tasks():
        rows = [
            [tier, run, *[str(counts.get(name, 0)) for name in names]]
            for tier, run, counts in label_rows(report, task)
        ]
        out += ["", f"### {_esc(task)}", ""] + _table(["tier", "run", *names], rows)
    return out


def _flips(report: Report) -> list[str]:
    """The problems a candidate broke or fixed, and examples of their responses."""
    flips = flip_rows(report)
    out = ["", "## Flipped problems", ""]
    if not flips:
        return out + ["None." if report.candidates else "No candidate run."]
    rows = [
        [
            f.candidate,
            f.direction,
            f.task,
            f.tier,
            f.problem_id,
            f"{f.baseline_score:.2f} → {f.candidate_score:.2f}",
            failure_labels(f.candidate_labels if f.direction == "broke" else f.baseline_labels),
        ]
        for f in flips[:MAX_FLIPS]
    ]
    out += _table(
        ["candidate", "flip", "task", "tier", "problem", "score", "failure labels (failing run)"],
        rows,
    )
    if len(flips) > MAX_FLIPS:
        out.append(f"\n... and {len(flips) - MAX_FLIPS} more (report.json lists all).")
    return out + _flip_examples(report)


def _heads(report: Report) -> list[str]:
    """The heads file's summary, when the report has one."""
    if report.heads is None:
        return []
    from harness_ext.reports.heads import heads_lines

    out = ["", "## Heads", ""] + [
        f"- {_esc(line)}" for line in heads_lines(report.heads, report.runs)
    ]
    png = report.heads.path.with_suffix(".png")
    if png.is_file():
        out += ["", f"Heat map: {_esc(png)} (and inline in report.html)."]
    return out


def _footer(report: Report) -> list[str]:
    """Warnings, the seed and where the token counts come from."""
    out = ["", "## Warnings", ""] + [f"- {_esc(w)}" for w in report.warnings]
    return (out if report.warnings else []) + [
        "",
        f"<sub>seed {report.seed}; truncation: "
        + _esc("; ".join(f"{run.name}: {run.truncation}" for run in report.runs))
        + "</sub>",
        "",
    ]
