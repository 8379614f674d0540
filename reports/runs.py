"""Read lm-eval output (``results_<ts>.json`` and its ``samples_<task>_<ts>.jsonl``) into runs.

A *run* is one lm-eval invocation: its header (model, interventions, date, versions) and, per
sparks task, every problem with its logged score and its responses. Each response is graded
(extracted answer, correct or not), checked for truncation and labelled here, once, so every
renderer reads the same facts.

Samples are streamed (:func:`harness_ext.formats.samples.read_samples`): a response's text is
labelled as its line is read and then dropped; a :class:`Response` keeps where its text is
(:class:`ResponseText`) and reads it again only when a renderer shows it. Memory therefore
grows with the number of responses, not with their length.

The parts: ``run_types`` (the types), ``run_files`` (finding and reading the files),
``run_header`` (what the results file says about the run); here, loading and grading.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence

from harness_ext.errors import SparksError
from harness_ext.formats.fold_note import read_fold_note
from harness_ext.formats.results import SparksRecord
from harness_ext.formats.samples import LoggedSample, read_samples
from harness_ext.reports import run_files, run_header
from harness_ext.reports.run_files import find_results_file, read_results_json
from harness_ext.reports.run_types import (
    TIER_FALLBACK,
    Problem,
    Response,
    ResponseText,
    Run,
    TaskRun,
    Warn,
    id_sort_key,
)

if TYPE_CHECKING:
    from harness_ext.answers.graders import GradingRules
    from harness_ext.progress import Phases
    from harness_ext.reports.labels import NamedLabelers
    from harness_ext.reports.truncation import TokenCounter

__all__ = [
    "TIER_FALLBACK",
    "Problem",
    "Response",
    "ResponseText",
    "Run",
    "TaskRun",
    "find_results_file",
    "id_sort_key",
    "load_run",
]


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
    data = read_results_json(results_file)
    config = data.get("config") or {}
    record = SparksRecord.from_config(config)
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
    sparks_tasks = run_header.pick_tasks(data, results_file, tasks, warn)
    counter, truncation_note = load_token_counter(model, raw_args, truncation)
    note = read_fold_note(args.get("pretrained") or "")  # read once: a folded checkpoint's record
    ordered_labelers = get_ordered_labelers(labelers)
    run = Run(
        name=name or _default_name(path, results_file),
        results_file=results_file,
        model=model,
        model_args=model_args,
        pretrained=pretrained,
        interventions=run_header.run_interventions(record, model_args, note),
        folded=run_header.is_folded(record, model_args, note),
        random_control=run_header.random_control(record, note),
        chat_template=run_header.chat_template(data),
        model_settings=run_header.model_settings(args),
        folded_from=str(note.get("source_model", "")) if note else "",
        date=run_header.run_date(data, results_file),
        lm_eval_version=str(data.get("lm_eval_version") or "?"),
        sparks_version=record.version,
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
    samples_file = run_files.samples_file(results_file, task)
    scores = (data.get("results") or {}).get(task) or {}
    aggregate = scores.get(f"{metric},{run_header.FILTER}")
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
        task_run.max_gen_toks = task_run.max_gen_toks or run_header.max_gen_toks(sample, config)
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
    """One problem of a samples file: each response graded (re-checked only where the logged
    score cannot tell), measured and labelled."""
    from harness_ext.answers import graders

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
    predict_only = score is None and run_header.PREDICT_ONLY in sample.raw
    if score is None and not predict_only:
        raise SparksError(
            f"samples file {path}: doc_id {sample.doc_id} has no {metric!r} "
            f"value; is it the samples file of {task}?"
        )
    context = _Context(
        path, task, rules, counter, labelers, version, gold, run_header.max_gen_toks(sample, config)
    )
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
        responses.append(_response(context, sample, index, text, answer, correct, reason))
    if score is None:  # --predict_only: the score from the grades above
        score = sum(r.correct for r in responses) / max(1, len(responses))
    number = str(doc.get("number", ""))
    return Problem(
        task=task,
        doc_id=sample.doc_id if sample.doc_id is not None else -1,
        problem_id=str(doc["problem_id"]),
        tier=run_header.tier(doc, task),
        gold=gold,
        number=int(number) if number.isdigit() else None,
        score=float(score),
        responses=responses,
        text=str(doc.get("problem") or ""),
        ungraded=logged_ungraded
        if sample.ungraded is not None
        else sum(r.ungraded for r in responses),
    )


@dataclass(frozen=True)
class _Context:
    """What grading and labelling a problem's responses needs beside the response."""

    path: Path
    task: str
    rules: GradingRules
    counter: Optional[TokenCounter]
    labelers: NamedLabelers
    version: tuple[int, int]  # the samples file's size and mtime when read
    gold: str
    max_gen_toks: Optional[int]


def _response(
    context: _Context,
    sample: LoggedSample,
    index: int,
    text: str,
    answer: Optional[str],
    correct: bool,
    reason: Optional[str],
) -> Response:
    """A graded response, with its length in tokens, truncation and failure label."""
    from harness_ext.reports.labels import diagnose_sample, make_sample
    from harness_ext.reports.truncation import is_truncated

    facts = sample.generation
    if facts is not None:  # what generation did, logged when it happened
        n_tokens: Optional[int] = facts[index].generated_tokens
        truncated = facts[index].stop_reason == "length"
    else:
        n_tokens = context.counter(text) if context.counter is not None else None
        truncated = is_truncated(
            text, context.max_gen_toks, has_answer=bool(answer), n_tokens=n_tokens
        )
    response = Response(
        index,
        ResponseText(context.path, sample.offset, index, *context.version),
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
        context.gold,
        truncated=truncated,
        integer_range=context.rules.integer_range,
        answer=answer or "",
        correct=correct,
        doc=sample.doc,
        task=context.task,
        max_gen_toks=context.max_gen_toks,
        n_tokens=n_tokens,
        doc_id=sample.doc_id,
        target=str(sample.raw.get("target", context.gold)),
        grade_reason=reason,
    )
    diagnosis = diagnose_sample(view, context.labelers)
    response.label, response.evidence = diagnosis.label, diagnosis.evidence
    response.span, response.note = diagnosis.span, diagnosis.note
    return response
