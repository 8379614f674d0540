"""Turn loaded runs into a report: accuracy per task x tier, paired deltas, flips, label mixes.

Runs are paired by task and problem id. Accuracy cells use each run's own problems (so they
match lm-eval's numbers); deltas use the problems both runs have. A problem *flips* when its
score changes by at least :data:`FLIP_THRESHOLD` (with one sample per problem: any change).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping, Optional, Sequence

from harness_ext.errors import SparksError
from harness_ext.reports.runs import Problem, Run

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
    ungraded: int = 0  # responses whose answer check ran out of time (counted wrong above)


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


@dataclass(frozen=True)
class ControlDelta:
    """An intervened run against its matched random controls, pooled over their seeds.

    Per problem, the control's score is the mean over the control runs (one per seed), on the
    problems every one of them and the intervened run have; the same paired test as for the
    baseline compares the two (a negative delta: the chosen heads hurt more than random ones).
    """

    run: str
    controls: tuple[str, ...]
    task: str
    tier: str
    comparison: Comparison
    significant: bool


@dataclass
class Report:
    runs: list[Run]
    baseline: str
    alpha: float
    seed: int
    controls: dict[str, list[str]] = field(default_factory=dict)  # run -> its control runs
    setting_warnings: list[str] = field(default_factory=list)  # settings the runs differ in
    control_deltas: list[ControlDelta] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    deltas: list[Delta] = field(default_factory=list)
    flips: list[Flip] = field(default_factory=list)
    labels: dict[tuple[str, str, str], Counter] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    heads: Optional["HeadsMap"] = None  # a sparks discover heads file, shown as heat maps

    @property
    def candidates(self) -> list[Run]:
        return [run for run in self.runs if run.name != self.baseline]

    def control_of(self, name: str) -> Optional[str]:
        """The run that run ``name`` is a matched random control of, if it is one."""
        return next((run for run, names in self.controls.items() if name in names), None)

    def role(self, name: str) -> str:
        """``baseline``, ``control of RUN`` or ``candidate``."""
        if name == self.baseline:
            return "baseline"
        controlled = self.control_of(name)
        if controlled:
            return f"control of {controlled}"
        run = next((r for r in self.runs if r.name == name), None)
        return "random control" if run is not None and run.random_control else "candidate"

    def tasks(self) -> list[str]:
        return sorted({task for run in self.runs for task in run.tasks})

    def tiers(self, task: str) -> list[str]:
        found = {
            p.tier
            for run in self.runs
            if task in run.tasks
            for p in run.tasks[task].problems.values()
        } - {ALL_TIERS}
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
        return [
            d
            for d in self.deltas
            if d.tier == ALL_TIERS
            and d.comparison.baseline == d.comparison.candidate
            and d.comparison.baseline in (0.0, 1.0)
        ]

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
        if problem.tier != ALL_TIERS:  # a task without tiers: its problems are the whole task
            groups.setdefault(problem.tier, []).append(problem)
    return groups


def build_report(
    runs: Sequence[Run],
    baseline: str,
    *,
    alpha: float = 0.05,
    seed: int = 0,
    warn: Optional[Warn] = None,
    controls: Optional[Mapping[str, Sequence[str]]] = None,
) -> Report:
    """Compare every run with the baseline run (named ``baseline``), and each run named in
    ``controls`` with its matched random control runs, pooled (:class:`ControlDelta`)."""
    if baseline not in {run.name for run in runs}:
        raise SparksError(
            f"--baseline {baseline!r} is not one of the runs "
            f"({', '.join(run.name for run in runs)})"
        )
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
                report.cells.append(
                    Cell(
                        run.name,
                        task,
                        tier,
                        len(problems),
                        sum(len(p.responses) for p in problems),
                        sum(scores) / len(scores),
                        low,
                        high,
                        sum(p.ungraded for p in problems),
                    )
                )
                report.labels[(run.name, task, tier)] = Counter(
                    r.label for p in problems for r in p.responses
                )
        if task_run.ungraded:
            note(
                f"{run.name} / {task}: {task_run.ungraded} answer(s) ungraded: their check ran "
                f"out of time; they count as wrong in the accuracy (see 'ungraded' in the "
                f"samples)"
            )
    base = next(run for run in runs if run.name == baseline)
    for candidate in report.candidates:
        _compare_runs(report, base, candidate, note)
        for warning in settings_differences(base, candidate):
            report.setting_warnings.append(warning)
            note(warning)
    by_name = {run.name: run for run in runs}
    for name, names in (controls or {}).items():
        missing = [n for n in (name, *names) if n not in by_name]
        if missing or not names:
            raise SparksError(
                f"controls of {name!r}: {', '.join(missing) or 'no runs'} "
                f"not among the runs ({', '.join(by_name)})"
            )
        report.controls[name] = list(names)
        _compare_with_controls(report, by_name[name], [by_name[n] for n in names], note)
    return report


def _compare_with_controls(report: Report, run: Run, controls: Sequence[Run], note: Warn) -> None:
    for task in sorted(run.tasks):
        if any(task not in c.tasks for c in controls):
            note(f"{task}: not in every control run of {run.name}; not compared with them")
            continue
        problems = run.tasks[task].problems
        common = [pid for pid in problems if all(pid in c.tasks[task].problems for c in controls)]
        groups: dict[str, list[str]] = {ALL_TIERS: list(common)}
        for pid in common:
            if problems[pid].tier != ALL_TIERS:
                groups.setdefault(problems[pid].tier, []).append(pid)
        for tier, pids in sorted(groups.items(), key=lambda item: tier_sort_key(item[0])):
            pooled = [
                sum(c.tasks[task].problems[pid].score for c in controls) / len(controls)
                for pid in pids
            ]
            comparison = compare_paired(
                pooled, [problems[pid].score for pid in pids], seed=report.seed
            )
            report.control_deltas.append(
                ControlDelta(
                    run.name,
                    tuple(c.name for c in controls),
                    task,
                    tier,
                    comparison,
                    comparison.significant(report.alpha),
                )
            )


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
            note(
                f"{task}: {base.name} has {len(base_problems)} problems, {candidate.name} "
                f"{len(cand_problems)}; comparing the {len(common)} in both"
            )
        if not common:
            continue
        _settings_differ(task, base, candidate, note)
        paired = [(base_problems[pid], cand_problems[pid]) for pid in common]
        groups: dict[str, list[tuple[Problem, Problem]]] = {ALL_TIERS: list(paired)}
        for pair in paired:
            if pair[0].tier != ALL_TIERS:
                groups.setdefault(pair[0].tier, []).append(pair)
        for tier, pairs in sorted(groups.items(), key=lambda item: tier_sort_key(item[0])):
            comparison = compare_paired(
                [b.score for b, _ in pairs], [c.score for _, c in pairs], seed=report.seed
            )
            report.deltas.append(
                Delta(
                    candidate.name,
                    task,
                    tier,
                    comparison,
                    comparison.regression(report.alpha),
                    comparison.significant(report.alpha) and comparison.delta > 0,
                )
            )
        for b, c in paired:
            if abs(c.score - b.score) >= FLIP_THRESHOLD - 1e-9:
                report.flips.append(
                    Flip(
                        candidate.name,
                        task,
                        b.tier,
                        b.problem_id,
                        b.doc_id,
                        b.score,
                        c.score,
                        tuple(r.label for r in b.responses),
                        tuple(r.label for r in c.responses),
                    )
                )


def settings_differences(base: Run, candidate: Run) -> list[str]:
    """Warnings, each naming a setting in which ``candidate`` differs from ``base``.

    Differences by design are not warned about: the interventions, and ``pretrained`` when
    the candidate is a checkpoint folded (``sparks fold``) from the baseline's model.
    """
    said = []
    for task in sorted(set(base.tasks) & set(candidate.tasks)):
        b, c = base.tasks[task], candidate.tasks[task]
        if b.max_gen_toks != c.max_gen_toks:
            said.append(
                f"max_gen_toks differs on {task}: {base.name} {b.max_gen_toks}, "
                f"{candidate.name} {c.max_gen_toks}"
            )
    for setting, b_value, c_value in (
        ("chat template", base.chat_template, candidate.chat_template),
        ("enable_thinking", base.enable_thinking, candidate.enable_thinking),
    ):
        if b_value != c_value:
            said.append(f"{setting} differs: {base.name} {b_value}, {candidate.name} {c_value}")
    b_args = {k: v for k, v in base.model_settings.items() if k != "enable_thinking"}
    c_args = {k: v for k, v in candidate.model_settings.items() if k != "enable_thinking"}
    for key in sorted(set(b_args) | set(c_args)):
        if b_args.get(key) != c_args.get(key):
            said.append(
                f"model_args {key} differs: {base.name} {b_args.get(key, '(unset)')}, "
                f"{candidate.name} {c_args.get(key, '(unset)')}"
            )
    if _backend(base) != _backend(candidate):
        said.append(
            f"backend differs: {base.name} {_backend(base)}, {candidate.name} "
            f"{_backend(candidate)}; greedy tokens match across backends in float32 only "
            f"(docs/vllm.md)"
        )
    folded_here = candidate.folded_from and candidate.folded_from == base.pretrained
    if base.pretrained != candidate.pretrained and not folded_here:
        said.append(
            f"pretrained differs: {base.name} {base.pretrained}, {candidate.name} "
            f"{candidate.pretrained}"
        )
    return said


def _backend(run: Run) -> str:
    """The engine that generated a run: vLLM for lm-eval's vllm models, else transformers."""
    return "vllm" if run.model in ("sparks-vllm", "vllm") else "transformers"


def _settings_differ(task: str, base: Run, candidate: Run, note: Warn) -> None:
    b, c = base.tasks[task], candidate.tasks[task]
    if b.metric != c.metric or b.repeats != c.repeats:
        note(
            f"{task}: {base.name} scores {b.metric} over {b.repeats} sample(s), "
            f"{candidate.name} {c.metric} over {c.repeats}; compared as per-problem means"
        )
