"""What every renderer shows, as rows of text: run headers, accuracy tables, verdict, flips.

The terminal, Markdown and HTML renderers format these the same way, so the three outputs
always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from harness_ext.reports.compare import ALL_TIERS, Cell, Delta, Flip, Report
from harness_ext.reports.fmt import ci, p_value, pct, pp

__all__ = [
    "CONTROL_HEADER",
    "AccuracyRow",
    "DeltaText",
    "accuracy_rows",
    "control_rows",
    "flip_rows",
    "label_rows",
    "run_settings",
    "verdict",
]


def run_settings(report: Report, name: str) -> str:
    """``aime24_sparks: pass@1, n=4, max_gen_toks=32768, 30 problems; ...``."""
    run = next(run for run in report.runs if run.name == name)
    parts = []
    for task, t in sorted(run.tasks.items()):
        budget = f", max_gen_toks={t.max_gen_toks}" if t.max_gen_toks else ""
        parts.append(f"{task}: {t.metric}, n={t.repeats}{budget}, {len(t.problems)} problems")
    return "; ".join(parts)


@dataclass(frozen=True)
class DeltaText:
    delta: str
    interval: str
    p: str
    test: str
    n: int
    significant: bool
    regression: bool
    improvement: bool

    @property
    def summary(self) -> str:
        """``-12.5 pp [-30.0, 0.0] p=0.031``: the delta as the text outputs print it."""
        return f"{self.delta} {self.interval} p={self.p}"


@dataclass(frozen=True)
class AccuracyRow:
    tier: str
    cells: list[str]  # per run: "45.0% (n=30)" or "-"
    deltas: list[Optional[DeltaText]]  # per candidate


def _delta_text(delta: Optional[Delta], alpha: float) -> Optional[DeltaText]:
    if delta is None:
        return None
    c = delta.comparison
    return DeltaText(
        pp(c.delta),
        ci(c.ci_low, c.ci_high),
        p_value(c.p_value),
        c.test,
        c.n,
        c.significant(alpha),
        delta.regression,
        delta.improvement,
    )


def _accuracy_text(cell: Cell) -> str:
    """``61.3% (n=30)``, with ``, 2 ungraded`` when answer checks ran out of time."""
    ungraded = f", {cell.ungraded} ungraded" if cell.ungraded else ""
    return f"{pct(cell.accuracy)} (n={cell.problems}{ungraded})"


def accuracy_rows(report: Report, task: str) -> list[AccuracyRow]:
    """One row per tier (then ``all``): each run's accuracy and each candidate's delta."""
    rows = []
    for tier in [*report.tiers(task), ALL_TIERS]:
        cells = []
        for run in report.runs:
            cell = report.cell(run.name, task, tier)
            cells.append(_accuracy_text(cell) if cell else "-")
        deltas = []
        for run in report.candidates:
            found = next(
                (
                    d
                    for d in report.deltas
                    if (d.candidate, d.task, d.tier) == (run.name, task, tier)
                ),
                None,
            )
            deltas.append(_delta_text(found, report.alpha))
        rows.append(AccuracyRow(tier, cells, deltas))
    return rows


def label_rows(report: Report, task: str) -> list[tuple[str, str, dict[str, int]]]:
    """(tier, run, label counts over all responses) for each tier and run of a task."""
    rows = []
    for tier in [*report.tiers(task), ALL_TIERS]:
        for run in report.runs:
            counts = report.labels.get((run.name, task, tier))
            if counts is not None:
                rows.append((tier, run.name, dict(counts)))
    return rows


CONTROL_HEADER = [
    "run",
    "matched random controls",
    "task",
    "tier",
    "controls (pooled)",
    "run",
    "Δ run - controls [95% CI] p",
]


def control_rows(report: Report) -> list[tuple[list[str], bool]]:
    """Rows of the comparison with matched random controls (see :class:`ControlDelta`), each
    with whether its delta is significant."""
    rows = []
    for d in report.control_deltas:
        c = d.comparison
        rows.append(
            (
                [
                    d.run,
                    f"{', '.join(d.controls)} ({len(d.controls)} seeds)",
                    d.task,
                    d.tier,
                    pct(c.baseline),
                    pct(c.candidate),
                    f"{pp(c.delta)} {ci(c.ci_low, c.ci_high)} p={p_value(c.p_value)} "
                    f"({c.n} problems)",
                ],
                d.significant,
            )
        )
    return rows


def flip_rows(report: Report) -> list[Flip]:
    """Flipped problems: broken ones first, then by task, tier and problem."""
    from harness_ext.reports.compare import tier_sort_key
    from harness_ext.reports.runs import id_sort_key

    return sorted(
        report.flips,
        key=lambda f: (
            f.candidate,
            f.direction != "broke",
            f.task,
            tier_sort_key(f.tier),
            id_sort_key(f.problem_id),
        ),
    )


def failure_labels(labels: tuple[str, ...]) -> str:
    """``logical_loop x2, truncated`` for the failed responses of a problem."""
    from collections import Counter

    counts = Counter(label for label in labels if label != "correct")
    return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in counts.most_common()) or "-"


def verdict(report: Report) -> tuple[str, list[str]]:
    """(``OK``, ``REGRESSION`` or ``NOTHING COMPARED``; lines saying what was found)."""
    if not report.candidates:
        return "NOTHING COMPARED", [
            "One run: nothing to compare (pass a second run, or --baseline)."
        ]
    regressions = report.regressions()
    nothing = report.uncompared()
    if nothing and not regressions:
        return "NOTHING COMPARED", [
            f"Nothing was compared: {', '.join(nothing)} share(s) no task and no "
            f"problem with the baseline {report.baseline}, so no test ran. Compare "
            f"runs of the same tasks (and --limit)."
        ]
    flat = [
        f"No signal: {d.candidate} and {report.baseline} both score "
        f"{d.comparison.baseline:.0%} on {d.task} ({d.comparison.n} problems), so this "
        f"comparison cannot show an effect; use problems the model sometimes solves."
        for d in report.no_signal()
    ]
    whole = [d for d in report.deltas if d.tier == ALL_TIERS]
    if not regressions and flat and len(flat) == len(whole):
        return "NO SIGNAL", flat
    if not regressions:
        better = [d for d in report.deltas if d.improvement]
        line = (
            f"No significant regression against {report.baseline} "
            f"(alpha {report.alpha:g}, {len(report.deltas)} tests)."
        )
        extra = [
            f"Significantly better: {d.candidate} on {d.task} / {d.tier}: "
            f"{pp(d.comparison.delta)} {ci(d.comparison.ci_low, d.comparison.ci_high)}, "
            f"p={p_value(d.comparison.p_value)}"
            for d in better
        ]
        return "OK", [line, *extra, *flat]
    lines = [f"Significant regression against {report.baseline} (alpha {report.alpha:g}):"]
    for d in regressions:
        c = d.comparison
        lines.append(
            f"{d.candidate} on {d.task} / {d.tier}: {pp(c.delta)} "
            f"{ci(c.ci_low, c.ci_high)}, p={p_value(c.p_value)} ({c.test}, "
            f"{c.n} problems)"
        )
    return "REGRESSION", lines


# ---------------------------------------------------------------- drill-down (HTML)

RESPONSE_CHARS = 12_000  # default full text shown per response (--max-response-chars)
TOTAL_CHARS = 25_000_000  # beyond this, a report shows evidence only: the page must still open
Piece = tuple[str, str]  # (kind, text): kind is "text", "mark" (the evidence) or "cut"


def excerpt(text: str, span: Optional[tuple[int, int]], limit: int) -> list[Piece]:
    """``text`` in pieces, the evidence ``span`` marked; longer than ``limit`` characters, it
    keeps the start, the evidence with some context and the end, and says what it cut."""
    start, end = span if span and 0 <= span[0] < span[1] <= len(text) else (len(text),) * 2
    if len(text) <= limit:
        return [
            p
            for p in (("text", text[:start]), ("mark", text[start:end]), ("text", text[end:]))
            if p[1]
        ]
    keep = [
        (0, limit // 5),
        (max(0, start - limit // 5), min(len(text), end + limit // 5)),
        (len(text) - 2 * limit // 5, len(text)),
    ]
    merged: list[list[int]] = []
    for a, b in sorted(keep):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    pieces: list[Piece] = []
    shown_to = 0
    for a, b in merged:
        if a > shown_to:
            pieces.append(
                (
                    "cut",
                    f"[... {a - shown_to:,} characters cut; the full text is in "
                    f"the samples file ...]",
                )
            )
        for x, y, kind in (
            (a, min(b, start), "text"),
            (max(a, start), min(b, end), "mark"),
            (max(a, end), b, "text"),
        ):
            if y > x:
                pieces.append((kind, text[x:y]))
        shown_to = b
    return pieces


@dataclass(frozen=True)
class Drill:
    """One failed (or flipped) response as the report's drill-down shows it."""

    run: str
    task: str
    tier: str
    problem_id: str
    index: int
    label: str
    answer: str
    gold: str
    note: str
    problem: str
    pieces: list[Piece]


def drills(report: Report, limit: int = RESPONSE_CHARS, total: int = TOTAL_CHARS) -> list[Drill]:
    """Every failed response with its problem and its full text (at most ``limit`` characters
    each; once ``total`` characters are shown, only the evidence), in numeric id order."""
    from harness_ext.reports.runs import id_sort_key

    found, used = [], 0
    for run in report.runs:
        for task, task_run in sorted(run.tasks.items()):
            for p in sorted(task_run.problems.values(), key=lambda p: id_sort_key(p.problem_id)):
                for r in p.responses:
                    if r.correct:
                        continue
                    pieces = (
                        excerpt(r.text, r.span, limit)
                        if used < total
                        else [
                            ("mark", r.evidence),
                            ("cut", "[the full text is in the samples file]"),
                        ]
                    )
                    used += sum(len(text) for _, text in pieces)
                    found.append(
                        Drill(
                            run.name,
                            task,
                            p.tier,
                            p.problem_id,
                            r.index,
                            r.label,
                            r.answer or "",
                            p.gold,
                            r.note or r.label,
                            p.text,
                            pieces,
                        )
                    )
    return found


@dataclass(frozen=True)
class FlipView:
    """A flipped problem with both runs' first responses, side by side."""

    flip: Flip
    problem: str
    baseline: list[Piece]
    candidate: list[Piece]
    baseline_label: str
    candidate_label: str


def flip_views(report: Report, limit: int = RESPONSE_CHARS) -> list[FlipView]:
    """Each flipped problem with the baseline's and the candidate's first responses."""
    runs = {run.name: run for run in report.runs}
    views = []
    for f in flip_rows(report):
        base = runs[report.baseline].tasks[f.task].problems[f.problem_id]
        cand = runs[f.candidate].tasks[f.task].problems[f.problem_id]
        b, c = base.responses[0], cand.responses[0]
        views.append(
            FlipView(
                f,
                base.text,
                excerpt(b.text, b.span, limit),
                excerpt(c.text, c.span, limit),
                b.label,
                c.label,
            )
        )
    return views
