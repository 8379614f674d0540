"""Read lm-eval output (``results_<ts>.json`` and its ``samples_<task>_<ts>.jsonl``) into runs.

A *run* is one lm-eval invocation: its header (model, interventions, date, versions) and, per
sparks task, every problem with its logged score and its responses. Each response is graded
(extracted answer, correct or not), checked for truncation and labelled here, once, so every
renderer reads the same facts.

Samples are streamed (:func:`harness_ext.formats.samples.read_samples`): a response's text is
labelled as its line is read and then dropped; a :class:`Response` keeps where its text is
(:class:`ResponseText`) and reads it again only when a renderer shows it. Memory therefore
grows with the number of responses, not with their length.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence

from harness_ext.errors import SparksError
from harness_ext.formats.samples import LoggedSample, read_sample_at, read_samples

if TYPE_CHECKING:
    from harness_ext.answers.graders import GradingRules
    from harness_ext.progress import Phases
    from harness_ext.reports.labels import NamedLabelers
    from harness_ext.reports.truncation import TokenCounter

__all__ = [
    "Problem",
    "Response",
    "ResponseText",
    "Run",
    "TaskRun",
    "find_results_file",
    "id_sort_key",
    "load_run",
]

METRICS = ("pass@1", "exact_match")
FILTER = "extracted"
TIER_FALLBACK = "all"

Warn = Callable[[str], None]


@dataclass(frozen=True, slots=True)  # slots: one per response, so kept small
class ResponseText:
    """Where a response's text is: response ``index`` of the sample at byte ``offset`` of a
    samples file, which had ``size`` bytes and modification time ``mtime_ns`` when it was read.
    """

    path: Path
    offset: int
    index: int
    size: int
    mtime_ns: int

    def read(self) -> str:
        """The text, read again from the samples file (which must not have changed)."""
        try:
            stat = self.path.stat()
        except OSError as error:
            raise SparksError(f"cannot read {self.path} again: {error.strerror}") from None
        if (stat.st_size, stat.st_mtime_ns) != (self.size, self.mtime_ns):
            raise SparksError(
                f"samples file {self.path} changed while the report was being made; "
                f"make the report again"
            )
        return _responses_at(self.path, self.offset, self.size, self.mtime_ns)[self.index]


@functools.lru_cache(maxsize=2)  # a problem's n responses are shown one after the other
def _responses_at(path: Path, offset: int, size: int, mtime_ns: int) -> tuple[str, ...]:
    return read_sample_at(path, offset).responses


@dataclass(slots=True)
class Response:
    """One generated response, graded and labelled. Its text is not kept: ``source`` says where
    it is, and :attr:`text` reads it again (``n_chars`` is its length)."""

    index: int
    source: ResponseText
    n_chars: int
    answer: Optional[str]
    correct: bool
    truncated: bool
    n_tokens: Optional[int]
    label: str = ""
    evidence: str = ""
    span: Optional[tuple[int, int]] = None
    note: str = ""
    recorded: bool = False  # n_tokens and truncated come from the run's sparks_generation log
    ungraded: bool = False  # the answer check ran out of time (reason "timeout"): counted wrong

    @property
    def text(self) -> str:
        """The full text, read again from the samples file."""
        return self.source.read()


@dataclass
class Problem:
    """One problem of a task in a run: its logged score and its n responses."""

    task: str
    doc_id: int
    problem_id: str
    tier: str
    gold: str
    number: Optional[int]
    score: float
    responses: list[Response]
    text: str = ""  # the problem statement, as the task logged it (doc.problem)
    ungraded: int = 0  # responses whose check ran out of time (the run's logged ``ungraded``)


def _default_rules() -> GradingRules:
    from harness_ext.answers.graders import GradingRules  # pydantic: imported when needed

    return GradingRules()


@dataclass
class TaskRun:
    task: str
    metric: str  # "pass@1" or "exact_match"
    repeats: int
    max_gen_toks: Optional[int]
    generation_kwargs: dict[str, Any]
    aggregate: Optional[float]  # lm-eval's own number for the task
    samples_file: Path
    problems: dict[str, Problem] = field(default_factory=dict)  # by problem_id
    grading: GradingRules = field(default_factory=_default_rules)  # as the run recorded them

    @property
    def ungraded(self) -> int:
        """Responses whose answer check ran out of time: counted wrong, reported apart."""
        return sum(problem.ungraded for problem in self.problems.values())


@dataclass
class Run:
    """One lm-eval run, as a report needs it."""

    name: str
    results_file: Path
    model: str
    model_args: str
    pretrained: str
    interventions: str
    date: str
    lm_eval_version: str
    sparks_version: str
    truncation: str
    tasks: dict[str, TaskRun]
    folded: bool = False  # the interventions are folded into the checkpoint (`sparks fold`)
    random_control: Optional[dict[str, Any]] = None  # the record of a random:... control run
    chat_template: str = "not applied"  # "applied (sha 1a2b3c4d)" when lm-eval applied one
    model_settings: dict[str, str] = field(default_factory=dict)  # model_args but the model's
    folded_from: str = ""  # the source model of a folded checkpoint

    @property
    def interventions_text(self) -> str:
        """The interventions as shown: ``none``, the spec, or the spec marked as folded."""
        if not self.interventions:
            return "none"
        return (
            f"{self.interventions} (folded into the checkpoint)"
            if self.folded
            else self.interventions
        )

    @property
    def enable_thinking(self) -> str:
        """``enable_thinking`` as the run set it (model_args or chat_template_args)."""
        return self.model_settings.get("enable_thinking", "model default")

    def header(self) -> dict[str, str]:
        return {
            "name": self.name,
            "model": self.model,
            "pretrained": self.pretrained,
            "chat_template": self.chat_template,
            "enable_thinking": self.enable_thinking,
            "model_args": self.model_args,
            "interventions": self.interventions_text,
            "date": self.date,
            "lm_eval_version": self.lm_eval_version,
            "sparks_version": self.sparks_version,
            "truncation": self.truncation,
            "results_file": str(self.results_file),
        }


def id_sort_key(problem_id: str) -> tuple[tuple[int, int, str], ...]:
    """Numeric order for ids: ``arith/7`` before ``arith/17``, ``2024-I-5`` before ``2024-I-10``."""
    parts = re.split(r"(\d+)", problem_id)
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts if part)


# ------------------------------------------------------------------------------- finding files


def find_results_file(path: Path, warn: Warn) -> Path:
    """The results file for ``path``: the file itself, or the newest one under a folder."""
    if not path.exists():
        raise SparksError(
            f"{path} does not exist; pass an lm-eval output folder (--output_path "
            f"of a run with --log_samples) or its results_*.json file"
        )
    if path.is_file():
        if path.suffix != ".json":
            raise SparksError(
                f"{path} is not a results file (results_<date>.json); pass the "
                f"run's output folder or its results_*.json"
            )
        return path
    found = sorted(path.rglob("results_*.json"))
    if not found:
        raise SparksError(
            f"no lm-eval results file (results_*.json) under {path}; run lm_eval "
            f"with --output_path {path} --log_samples first"
        )
    folders = sorted({file.parent for file in found})
    if len(folders) > 1:
        listing = ", ".join(str(folder) for folder in folders)
        raise SparksError(
            f"{path} holds results of several models ({listing}); pass one of these folders"
        )
    newest = max(found, key=lambda file: file.name)
    if len(found) > 1:
        warn(
            f"{path} holds {len(found)} results files; using the newest, {newest.name} (pass a "
            f"results file to choose another)"
        )
    return newest


def _date_id(results_file: Path) -> str:
    stem = results_file.stem
    return stem[len("results_") :] if stem.startswith("results_") else stem.rsplit("_", 1)[-1]


def _samples_file(results_file: Path, task: str) -> Path:
    exact = results_file.with_name(f"samples_{task}_{_date_id(results_file)}.jsonl")
    if exact.is_file():
        return exact
    others = sorted(results_file.parent.glob(f"samples_{task}_*.jsonl"))
    hint = (
        f" (found {', '.join(o.name for o in others)}, which belong to other runs)"
        if others
        else ""
    )
    raise SparksError(
        f"no samples file {exact.name} for task {task} next to {results_file}"
        f"{hint}; rerun lm_eval with --log_samples"
    )


# ------------------------------------------------------------------------------- parsing


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SparksError(
            f"{path} is not valid JSON ({error.msg} at line {error.lineno}); the "
            f"file is damaged or truncated: rerun the evaluation"
        ) from None
    except OSError as error:
        raise SparksError(f"cannot read {path}: {error.strerror}") from None
    if not isinstance(data, dict) or "results" not in data or "configs" not in data:
        raise SparksError(
            f"{path} is not an lm-eval results file (it has no 'results' and "
            f"'configs'); pass the results_*.json that lm_eval wrote"
        )
    return data


PREDICT_ONLY = "bypass"  # the metric lm-eval puts in place of a task's own under --predict_only


def _metric(task: str, scores: Mapping[str, Any], config: Mapping[str, Any]) -> Optional[str]:
    """The task's metric; a ``--predict_only`` run (metric ``bypass``) is graded here instead,
    with the metric its task would have used (``pass@1`` when sampled, else exact match)."""
    for metric in METRICS:
        if f"{metric},{FILTER}" in scores:
            return metric
    if f"{PREDICT_ONLY},{FILTER}" in scores:
        sampled = bool((config.get("generation_kwargs") or {}).get("do_sample"))
        return "pass@1" if sampled else "exact_match"
    return None


def _tier(doc: Mapping[str, Any], task: str) -> str:
    tier = doc.get("tier")
    if tier:
        return str(tier)
    from harness_ext import tiers

    number = doc.get("number")
    try:
        if task.startswith("aime") and number is not None:
            return tiers.tier_for_number("aime", int(number))
        if task.startswith("amc") and number is not None:
            return tiers.tier_for_number("amc", int(number))
        if task.startswith("math500") and (doc.get("level") or number) is not None:
            return tiers.tier_for_level(int(doc.get("level") or number))
    except (TypeError, ValueError):
        pass
    return TIER_FALLBACK


def _max_gen_toks(sample: LoggedSample, config: Mapping[str, Any]) -> Optional[int]:
    """The token budget: as logged with the request, else the task's configured one."""
    if sample.max_gen_toks is not None:
        return sample.max_gen_toks
    value = (config.get("generation_kwargs") or {}).get("max_gen_toks")
    return int(value) if value is not None else None


def _date(data: Mapping[str, Any], results_file: Path) -> str:
    value = data.get("date")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if value:
        return str(value)
    return _date_id(results_file)


FOLD_NOTE = "sparks_interventions.json"  # written by `sparks fold` into a folded checkpoint


def fold_note(pretrained: str) -> Optional[dict[str, Any]]:
    """The note ``sparks fold`` leaves in a folded checkpoint's folder, or None."""
    if not pretrained:
        return None
    try:
        note = json.loads((Path(pretrained).expanduser() / FOLD_NOTE).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return note if isinstance(note, dict) else None


def _interventions(
    config: Mapping[str, Any], model_args: str, note: Optional[dict[str, Any]]
) -> str:
    """The run's interventions: recorded by the sparks model, in model_args, or folded into
    the checkpoint it ran (``note``: what ``sparks fold`` left in the folder), in that order."""
    recorded = config.get("sparks_interventions")
    if recorded:
        return recorded if isinstance(recorded, str) else json.dumps(recorded)
    match = re.search(r"(?:^|,)\s*interventions=([^,]*)", model_args)
    if match:
        return match.group(1)
    return str(note.get("interventions") or "") if note else ""


MODEL_IDENTITY_ARGS = ("pretrained", "interventions", "intervention_mode")


def _model_settings(args: Mapping[str, str]) -> dict[str, str]:
    """model_args other than which model and which interventions (shown, and compared)."""
    settings = {k: v for k, v in args.items() if k not in MODEL_IDENTITY_ARGS}
    thinking = re.search(r"enable_thinking['\"]?\s*:\s*(\w+)", args.get("chat_template_args", ""))
    if "enable_thinking" not in settings and thinking:
        settings["enable_thinking"] = thinking.group(1)
    return settings


def _chat_template(data: Mapping[str, Any]) -> str:
    sha = data.get("chat_template_sha")
    if sha:
        return f"applied (sha {str(sha)[:8]})"
    return "applied" if data.get("chat_template") else "not applied"


def _random_control(
    config: Mapping[str, Any], note: Optional[dict[str, Any]]
) -> Optional[dict[str, Any]]:
    """What a ``random:`` control drew (``config.sparks_random_control``, or a folded
    checkpoint's note), so that the run can be repeated exactly; None for other runs."""
    record = config.get("sparks_random_control")
    if record is None and note:
        record = note.get("random_control")
    return record if isinstance(record, dict) else None


def _is_folded(config: Mapping[str, Any], model_args: str, note: Optional[dict[str, Any]]) -> bool:
    return (
        not config.get("sparks_interventions")
        and "interventions=" not in model_args
        and note is not None
    )


# ------------------------------------------------------------------------------- loading


def load_run(
    path: Path,
    *,
    name: Optional[str] = None,
    tasks: Optional[Sequence[str]] = None,
    truncation: str = "auto",
    labelers: Optional[Sequence[str]] = None,
    warn: Warn,
    progress: Optional["Phases"] = None,
) -> Run:
    """Read one run (an output folder or a results file), grade and label every response.

    ``progress`` shows a bar per task (reading, grading and labelling each sample)."""
    from harness_ext.reports.labels import get_ordered_labelers
    from harness_ext.reports.truncation import load_token_counter, model_args_dict

    results_file = find_results_file(path, warn)
    data = _read_json(results_file)
    config = data.get("config") or {}
    model = str(config.get("model") or "?")
    raw_args = config.get("model_args") or ""
    model_args = (
        raw_args
        if isinstance(raw_args, str)
        else ",".join(f"{k}={v}" for k, v in dict(raw_args).items())
    )
    args = model_args_dict(raw_args)
    pretrained = args.get("pretrained") or (
        "SmolLM2-135M-Instruct (embedded)" if model in ("sparks", "sparks-vllm") else "?"
    )
    sparks_tasks = _pick_tasks(data, results_file, tasks, warn)
    counter, truncation_note = load_token_counter(model, raw_args, truncation)
    note = fold_note(args.get("pretrained") or "")  # read once: a folded checkpoint's record
    ordered_labelers = get_ordered_labelers(labelers)
    run = Run(
        name=name or _default_name(path, results_file),
        results_file=results_file,
        model=model,
        model_args=model_args,
        pretrained=pretrained,
        interventions=_interventions(config, model_args, note),
        folded=_is_folded(config, model_args, note),
        random_control=_random_control(config, note),
        chat_template=_chat_template(data),
        model_settings=_model_settings(args),
        folded_from=str(note.get("source_model", "")) if note else "",
        date=_date(data, results_file),
        lm_eval_version=str(data.get("lm_eval_version") or "?"),
        sparks_version=str(config.get("sparks_version") or "?"),
        truncation=truncation_note,
        tasks={},
    )
    for task, metric in sparks_tasks:
        advance = progress.phase(f"{run.name}: grading and labelling {task}") if progress else None
        run.tasks[task] = _load_task(
            data, results_file, task, metric, counter, ordered_labelers, warn, advance
        )
    run.truncation = _truncation_source(run, truncation_note)
    return run


def _truncation_source(run: Run, estimate_note: str) -> str:
    """Where the token counts and truncation come from: recorded, or (for the rest) estimated."""
    responses = [r for t in run.tasks.values() for p in t.problems.values() for r in p.responses]
    recorded = sum(r.recorded for r in responses)
    if recorded == len(responses):
        return "recorded (sparks_generation: tokens and stop reason logged by the sparks model)"
    if recorded == 0:
        return f"estimated: {estimate_note}"
    return (
        f"recorded for {recorded} of {len(responses)} responses (sparks_generation), "
        f"estimated for the rest: {estimate_note}"
    )


def _pick_tasks(
    data: Mapping[str, Any], results_file: Path, wanted: Optional[Sequence[str]], warn: Warn
) -> list[tuple[str, str]]:
    configs = data.get("configs") or {}
    results = data.get("results") or {}
    found: list[tuple[str, str]] = []
    foreign: list[str] = []
    for task in sorted(configs):
        metric = _metric(task, results.get(task) or {}, configs.get(task) or {})
        if metric is None:
            foreign.append(task)
        else:
            found.append((task, metric))
    if wanted:
        known = {task for task, _ in found}
        unknown = [task for task in wanted if task not in known]
        if unknown:
            raise SparksError(
                f"task(s) {', '.join(unknown)} are not in {results_file} (it has "
                f"{', '.join(sorted(known)) or 'no sparks tasks'}); check --tasks"
            )
        found = [(task, metric) for task, metric in found if task in wanted]
    elif foreign:
        warn(
            f"{results_file.name}: skipping {', '.join(foreign)}: not sparks tasks (no "
            f"pass@1 or exact_match with the 'extracted' filter)"
        )
    if not found:
        raise SparksError(
            f"{results_file} has no sparks task (tasks: {', '.join(sorted(configs))}"
            f"); report on runs of amc_sparks, aime24_sparks, aime25_sparks or "
            f"math500_sparks (or their _greedy variants)"
        )
    return found


def _default_name(path: Path, results_file: Path) -> str:
    """The folder the user named, or for a results file the output folder above it."""
    return path.resolve().name if path.is_dir() else results_file.resolve().parent.parent.name


def _load_task(
    data: Mapping[str, Any],
    results_file: Path,
    task: str,
    metric: str,
    counter: Optional[TokenCounter],
    labelers: NamedLabelers,
    warn: Warn,
    advance: Optional[Callable[..., None]] = None,
) -> TaskRun:
    from harness_ext.reports.grading import task_rules

    config = (data.get("configs") or {}).get(task) or {}
    samples_file = _samples_file(results_file, task)
    scores = (data.get("results") or {}).get(task) or {}
    aggregate = scores.get(f"{metric},{FILTER}")
    task_run = TaskRun(
        task=task,
        metric=metric,
        repeats=int(config.get("repeats") or 1),
        max_gen_toks=None,
        generation_kwargs=dict(config.get("generation_kwargs") or {}),
        aggregate=float(aggregate) if isinstance(aggregate, (int, float)) else None,
        samples_file=samples_file,
        grading=task_rules(config, task, results_file, warn),
    )
    disagreements = 0
    expected = ((data.get("n-samples") or {}).get(task) or {}).get("effective")
    if advance is not None:
        advance(0, total=expected if isinstance(expected, int) else None)
    stat = samples_file.stat()
    version = (stat.st_size, stat.st_mtime_ns)
    for sample in read_samples(samples_file):
        if advance is not None:
            advance()
        problem = _problem(
            sample,
            samples_file,
            task,
            metric,
            config,
            task_run.grading,
            counter,
            labelers,
            version,
        )
        if problem.problem_id in task_run.problems:
            raise SparksError(
                f"samples file {samples_file}: problem {problem.problem_id} appears "
                f"twice; the file mixes runs: rerun the evaluation"
            )
        task_run.problems[problem.problem_id] = problem
        task_run.max_gen_toks = task_run.max_gen_toks or _max_gen_toks(sample, config)
        rechecked = sum(r.correct for r in problem.responses) / max(1, len(problem.responses))
        if abs(rechecked - problem.score) > 1e-9:
            disagreements += 1
    if isinstance(expected, int) and len(task_run.problems) < expected:
        raise SparksError(
            f"samples file {samples_file} has {len(task_run.problems)} of the "
            f"{expected} problems the run evaluated: it is truncated; rerun the "
            f"evaluation"
        )
    if not task_run.problems:
        raise SparksError(f"samples file {samples_file} is empty; rerun the evaluation")
    task_run.problems = dict(sorted(task_run.problems.items(), key=lambda i: id_sort_key(i[0])))
    if disagreements:
        warn(
            f"{task}: {disagreements} problem(s) grade differently now than in the run (the "
            f"answer checker changed?); scores use the logged values, labels the new grading"
        )
    return task_run


def _problem(
    sample: LoggedSample,
    path: Path,
    task: str,
    metric: str,
    config: Mapping[str, Any],
    rules: GradingRules,
    counter: Optional[TokenCounter],
    labelers: NamedLabelers,
    version: tuple[int, int],
) -> Problem:
    from harness_ext.answers import graders
    from harness_ext.reports.labels import diagnose_sample, make_sample
    from harness_ext.reports.truncation import is_truncated

    doc = sample.doc
    if not sample.has_doc or "problem_id" not in doc:
        raise SparksError(
            f"samples file {path}: doc_id {sample.doc_id} has no "
            f"doc.problem_id; it was not written by a sparks task (rerun with "
            f"--tasks {task} from this version of sparks)"
        )
    gold = str(doc.get("answer", sample.target))
    texts = sample.responses
    score = sample.score(metric)
    # --predict_only: lm-eval computed no score; the responses are graded below, once
    predict_only = score is None and PREDICT_ONLY in sample.raw
    if score is None and not predict_only:
        raise SparksError(
            f"samples file {path}: doc_id {sample.doc_id} has no {metric!r} "
            f"value; is it the samples file of {task}?"
        )
    max_gen_toks = _max_gen_toks(sample, config)
    facts = sample.generation
    logged_ungraded = (sample.ungraded or 0) if not predict_only else 0
    responses = []
    for index, text in enumerate(texts):
        logged = sample.filtered[index] if index < len(sample.filtered) else None
        if logged_ungraded and logged_ungraded >= len(texts):
            correct, reason = False, "timeout"  # the run logged every response as ungraded
            answer = logged or None if logged is not None else graders.extract(text, rules)
        elif score in (0.0, 1.0) and not predict_only and not logged_ungraded:
            correct, reason = bool(score), None  # one grade for all: no re-check
            answer = logged or None if logged is not None else graders.extract(text, rules)
        else:
            verdict = graders.check(text, {**doc, "answer": gold}, rules)  # as the task did
            correct, answer, reason = verdict.correct, verdict.extracted, verdict.reason
        if facts is not None:  # what generation did, logged when it happened
            n_tokens = facts[index].generated_tokens
            truncated = facts[index].stop_reason == "length"
        else:
            n_tokens = counter(text) if counter is not None else None
            truncated = is_truncated(text, max_gen_toks, has_answer=bool(answer), n_tokens=n_tokens)
        response = Response(
            index,
            ResponseText(path, sample.offset, index, *version),
            len(text),
            answer,
            correct,
            truncated,
            n_tokens,
            recorded=facts is not None,
            ungraded=reason == "timeout",
        )
        view = make_sample(
            text,
            gold,
            truncated=truncated,
            integer_range=rules.integer_range,
            answer=answer or "",
            correct=correct,
            doc=doc,
            task=task,
            max_gen_toks=max_gen_toks,
            n_tokens=n_tokens,
            doc_id=sample.doc_id,
            target=str(sample.raw.get("target", gold)),
            grade_reason=reason,
        )
        diagnosis = diagnose_sample(view, labelers)
        response.label, response.evidence = diagnosis.label, diagnosis.evidence
        response.span, response.note = diagnosis.span, diagnosis.note
        responses.append(response)
    if score is None:  # --predict_only: the score from the grades above
        score = sum(r.correct for r in responses) / max(1, len(responses))
    number = str(doc.get("number", ""))
    return Problem(
        task=task,
        doc_id=sample.doc_id if sample.doc_id is not None else -1,
        problem_id=str(doc["problem_id"]),
        tier=_tier(doc, task),
        gold=gold,
        number=int(number) if number.isdigit() else None,
        score=float(score),
        responses=responses,
        text=str(doc.get("problem") or ""),
        ungraded=logged_ungraded
        if sample.ungraded is not None
        else sum(r.ungraded for r in responses),
    )
