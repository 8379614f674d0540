"""The terminal summary (rich): runs, accuracy per task x tier with deltas, labels, flips."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness_ext.reports.compare import ALL_TIERS, Report
from harness_ext.reports.views import (
    CONTROL_HEADER,
    accuracy_rows,
    control_rows,
    failure_labels,
    flip_rows,
    label_rows,
    run_settings,
    verdict,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["MAX_FLIPS", "print_summary", "summary_console"]

MAX_FLIPS = 20
LOG_WIDTH = 160  # when stdout is not a terminal (CI logs), do not squeeze tables into 80


def summary_console() -> "Console":
    """A rich console on stdout; wide when stdout is a file or a CI log."""
    import sys

    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else LOG_WIDTH)


def print_summary(report: Report, console: "Console") -> None:
    """Print the report's summary to ``console``."""
    from rich.table import Table

    runs = Table(title="runs", title_justify="left", show_lines=False)
    for column in ("run", "role", "model", "interventions", "date", "lm-eval", "sparks"):
        runs.add_column(column, overflow="fold")
    for run in report.runs:
        runs.add_row(
            run.name,
            report.role(run.name),
            run.pretrained if run.model == "sparks" else f"{run.model}: {run.pretrained}",
            run.interventions_text,
            run.date,
            run.lm_eval_version,
            run.sparks_version,
        )
    console.print(runs)
    for run in report.runs:
        console.print(f"  {run.name}: {run_settings(report, run.name)}", highlight=False)
    for task in report.tasks():
        console.print(_accuracy_table(report, task))
        console.print(_labels_table(report, task))
    controls = control_rows(report)
    if controls:
        table = Table(title="against matched random controls", title_justify="left")
        for column in CONTROL_HEADER:
            table.add_column(column)
        for cells, significant in controls:
            table.add_row(*cells[:6], f"[bold]{cells[6]}[/]" if significant else cells[6])
        console.print(table)
    _print_flips(report, console)
    if report.heads is not None:
        from harness_ext.reports.heads import heads_lines

        for line in heads_lines(report.heads, report.runs):
            console.print(f"heads: {line}", highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    word, lines = verdict(report)
    console.print(
        f"[bold {'green' if word == 'OK' else 'red'}]{word}[/]: {lines[0]}", highlight=False
    )
    for line in lines[1:]:
        console.print(f"  {line}", highlight=False)


def _accuracy_table(report: Report, task: str) -> Table:
    """Accuracy by tier for one task, with each candidate's delta (red: a regression)."""
    from rich.table import Table

    table = Table(title=f"{task}: accuracy by tier", title_justify="left")
    table.add_column("tier")
    for run in report.runs:
        table.add_column(run.name, justify="right")
    for run in report.candidates:
        table.add_column(f"Δ {run.name} [95% CI] p", justify="right")
    for row in accuracy_rows(report, task):
        deltas = []
        for d in row.deltas:
            if d is None:
                deltas.append("-")
                continue
            style = "bold red" if d.regression else "bold green" if d.improvement else ""
            text = d.summary
            deltas.append(f"[{style}]{text}[/]" if style else text)
        tier = f"[bold]{row.tier}[/]" if row.tier == ALL_TIERS else row.tier
        table.add_row(tier, *row.cells, *deltas)
    return table


def _labels_table(report: Report, task: str) -> Table:
    """Responses per failure label for one task, by tier and run."""
    from rich.table import Table

    names = report.label_names()
    labels = Table(title=f"{task}: responses per label", title_justify="left")
    labels.add_column("tier")
    labels.add_column("run")
    for name in names:
        labels.add_column(name, justify="right")
    for tier, run_name, counts in label_rows(report, task):
        labels.add_row(tier, run_name, *[str(counts.get(name, 0) or "") for name in names])
    return labels


def _print_flips(report: Report, console: Console) -> None:
    """The flipped problems (the first MAX_FLIPS), when there are any."""
    from rich.table import Table

    flips = flip_rows(report)
    if not flips:
        return
    table = Table(title=f"flipped problems ({len(flips)})", title_justify="left")
    for column in ("candidate", "flip", "task", "tier", "problem", "score", "failure labels"):
        table.add_column(column)
    for f in flips[:MAX_FLIPS]:
        style = "red" if f.direction == "broke" else "green"
        table.add_row(
            f.candidate,
            f"[{style}]{f.direction}[/]",
            f.task,
            f.tier,
            f.problem_id,
            f"{f.baseline_score:.2f} → {f.candidate_score:.2f}",
            failure_labels(f.candidate_labels if f.direction == "broke" else f.baseline_labels),
        )
    console.print(table)
    if len(flips) > MAX_FLIPS:
        console.print(f"... {len(flips) - MAX_FLIPS} more in report.md / report.json")
