"""Turn loaded runs into a report: accuracy per task x tier, paired deltas, flips, label mixes.

Runs are paired by task and problem id. Accuracy cells use each run's own problems (so they
match lm-eval's numbers); deltas use the problems both runs have. A problem *flips* when its
score changes by at least :data:`FLIP_THRESHOLD` (with one sample per problem: any change).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from harness_ext.errors import SparksError
from harness_ext.reports.runs import Problem, Run, id_sort_key

if TYPE_CHECKING:
    from harness_ext.reports.heads import HeadsMap
from harness_ext.reports.stats import Comparison, bootstrap_mean_ci, compare_paired

__all__ = ["ALL_TIERS", "Cell", "Delta", "Flip", "Report", "build_report", "tier_sort_key"]

ALL_TIERS = "all"
FLIP_THRESHOLD = 0.5

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Cell:
    """One run's accuracy on one task and tier."""

    run: str
    task: str
    tier: str
    problems: int
    responses: int
    accuracy: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Delta:
    """Candidate minus baseline on the problems of one task and tier that both runs have."""

    candidate: str
    task: str
    tier: str
    comparison: Comparison
    regression: bool
    improvement: bool


@dataclass(frozen=True)
class Flip:
    """A problem whose score changed between the baseline and a candidate."""

    candidate: str
    task: str
    tier: str
    problem_id: str
    doc_id: int
    baseline_score: float
    candidate_score: float
    baseline_labels: tuple[str, ...]
    candidate_labels: tuple[str, ...]

    @property
    def direction(self) -> str:
        return "broke" if self.candidate_score < self.baseline_score else "fixed"


@dataclass
class Report:
    runs: list[Run]
    baseline: str
    alpha: float
    seed: int
    cells: list[Cell] = field(default_factory=list)
    deltas: list[Delta] = field(default_factory=list)
    flips: list[Flip] = field(default_factory=list)
    labels: dict[tuple[str, str, str], Counter] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    heads: Optional["HeadsMap"] = None  # a sparks discover heads file, shown as heat maps

    @property
    def candidates(self) -> list[Run]:
        return [run for run in self.runs if run.name != self.baseline]

    def tasks(self) -> list[str]:
        return sorted({task for run in self.runs for task in run.tasks})

    def tiers(self, task: str) -> list[str]:
        found = {p.tier for run in self.runs if task in run.tasks
                 for p in run.tasks[task].problems.values()}
        return sorted(found, key=tier_sort_key)

    def label_names(self) -> list[str]:
        from harness_ext.reports.labels import BUILTIN_LABELS

        seen = {name for counts in self.labels.values() for name in counts}
        ordered = [name for name in BUILTIN_LABELS if name in seen]
        return ordered + sorted(seen - set(ordered))

    def regressions(self) -> list[Delta]:
        return [delta for delta in self.deltas if delta.regression]

    def no_signal(self) -> list[Delta]:
        """Whole-task comparisons where both runs sit at 0% or both at 100%: nothing can move."""
        return [d for d in self.deltas if d.tier == ALL_TIERS
                and d.comparison.baseline == d.comparison.candidate
                and d.comparison.baseline in (0.0, 1.0)]

    def uncompared(self) -> list[str]:
        """Candidate runs that share no task and problem with the baseline (no test ran)."""
        tested = {delta.candidate for delta in self.deltas}
        return [run.name for run in self.candidates if run.name not in tested]

    def cell(self, run: str, task: str, tier: str) -> Optional[Cell]:
        return next((c for c in self.cells if (c.run, c.task, c.tier) == (run, task, tier)), None)


def tier_sort_key(tier: str) -> tuple[int, str]:
    from harness_ext.tiers import MATH_LEVEL_TIERS, TIER_ORDER

    order = [*TIER_ORDER, *MATH_LEVEL_TIERS.values()]
    if tier in order:
        return order.index(tier), tier
    return (len(order) + 1 if tier == ALL_TIERS else len(order)), tier


def _by_tier(problems: Sequence[Problem]) -> dict[str, list[Problem]]:
    groups: dict[str, list[Problem]] = {ALL_TIERS: list(problems)}
    for problem in problems:
        groups.setdefault(problem.tier, []).append(problem)
    return groups


def build_report(runs: Sequence[Run], baseline: str, *, alpha: float = 0.05, seed: int = 0,
                 warn: Optional[Warn] = None) -> Report:
    """Compare every run with the baseline run (named ``baseline``)."""
    if baseline not in {run.name for run in runs}:
        raise SparksError(f"--baseline {baseline!r} is not one of the runs "
                          f"({', '.join(run.name for run in runs)})")
    report = Report(runs=list(runs), baseline=baseline, alpha=alpha, seed=seed)

    def note(message: str) -> None:
        report.warnings.append(message)
        if warn is not None:
            warn(message)

    for run in runs:
        for task, task_run in run.tasks.items():
            for tier, problems in _by_tier(list(task_run.problems.values())).items():
                scores = [p.score for p in problems]
                low, high = bootstrap_mean_ci(scores, seed=seed)
                report.cells.append(Cell(run.name, task, tier, len(problems),
                                         sum(len(p.responses) for p in problems),
                                         sum(scores) / len(scores), low, high))
                report.labels[(run.name, task, tier)] = Counter(
                    r.label for p in problems for r in p.responses)
    base = next(run for run in runs if run.name == baseline)
    for candidate in report.candidates:
        _compare_runs(report, base, candidate, note)
    return report


def _compare_runs(report: Report, base: Run, candidate: Run, note: Warn) -> None:
    for task in sorted(set(base.tasks) | set(candidate.tasks)):
        if task not in candidate.tasks or task not in base.tasks:
            where = candidate.name if task in candidate.tasks else base.name
            note(f"{task} is only in run {where}; it is not compared")
            continue
        base_problems = base.tasks[task].problems
        cand_problems = candidate.tasks[task].problems
        common = [pid for pid in base_problems if pid in cand_problems]
        if len(common) != len(base_problems) or len(common) != len(cand_problems):
            note(f"{task}: {base.name} has {len(base_problems)} problems, {candidate.name} "
                 f"{len(cand_problems)}; comparing the {len(common)} in both")
        if not common:
            continue
        _settings_differ(task, base, candidate, note)
        paired = [(base_problems[pid], cand_problems[pid]) for pid in common]
        groups: dict[str, list[tuple[Problem, Problem]]] = {ALL_TIERS: paired}
        for pair in paired:
            groups.setdefault(pair[0].tier, []).append(pair)
        for tier, pairs in sorted(groups.items(), key=lambda item: tier_sort_key(item[0])):
            comparison = compare_paired([b.score for b, _ in pairs], [c.score for _, c in pairs],
                                        seed=report.seed)
            report.deltas.append(Delta(candidate.name, task, tier, comparison,
                                       comparison.regression(report.alpha),
                                       comparison.significant(report.alpha)
                                       and comparison.delta > 0))
        for b, c in paired:
            if abs(c.score - b.score) >= FLIP_THRESHOLD - 1e-9:
                report.flips.append(Flip(
                    candidate.name, task, b.tier, b.problem_id, b.doc_id, b.score, c.score,
                    tuple(r.label for r in b.responses), tuple(r.label for r in c.responses)))


def _settings_differ(task: str, base: Run, candidate: Run, note: Warn) -> None:
    b, c = base.tasks[task], candidate.tasks[task]
    if b.metric != c.metric or b.repeats != c.repeats:
        note(f"{task}: {base.name} scores {b.metric} over {b.repeats} sample(s), "
             f"{candidate.name} {c.metric} over {c.repeats}; compared as per-problem means")
