"""One owner for each task's grading rules: the task's YAML metadata names its grader, the task
and the report both grade through harness_ext.answers.graders, and a --predict_only report
grades every response exactly as the task did. Data: the invented control questions in
tests/data/control and one-digit additions (reports.fixtures.write_arithmetic_task)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import pytest

from harness_ext.answers import graders
from harness_ext.answers.graders import GradingRules
from harness_ext.errors import SparksError
from harness_ext.reports.fixtures import FakeProblem, write_arithmetic_task, write_run

CONTROL = Path(__file__).resolve().parents[1] / "data" / "control"
TEMPLATE = Path(__file__).resolve().parents[2] / "tasks" / "_sparks_greedy_template_yaml"

# A task that is not in tasks/ and that reports/ has never heard of: the answer must be one
# digit (a one-digit addition whose sum is 10 or more has no valid answer), and its problem
# text may not be published.
DIGITS_TASK = "digits_sparks_greedy"
DIGITS_YAML = f"""\
include: {TEMPLATE}
task: {DIGITS_TASK}
custom_dataset: !function harness_ext.tasks.data.load_math500
metadata:
  version: 1.0
  grading:
    grader: math
    integer_range: [0, 9]
    publish_text: false
"""


# ---------------------------------------------------------------- the rules and the registry


@pytest.mark.parametrize(
    "grading, message",
    [
        ({"grader": "letters"}, r"grader 'letters' is not one of the registered graders "),
        ({"grader": "letter", "integer_range": [0, 9]}, r"applies to the math grader only"),
        ({"integer_range": [9, 0]}, r"integer_range \[9, 0\] has low > high"),
        ({"integer_range": ["0", 9]}, r"integer_range\.0: Input should be a valid integer"),
        ({"publish": False}, r"publish: Extra inputs are not permitted"),
        ({"publish_text": "no"}, r"publish_text: Input should be a valid boolean"),
    ],
)
def test_malformed_rules_name_the_task_the_key_and_the_fix(grading: Any, message: str) -> None:
    with pytest.raises(SparksError, match=r"^task x \(x\.yaml\): metadata\.grading .*" + message):
        graders.rules_from_metadata({"grading": grading}, where="task x (x.yaml)")


def test_rules_default_to_the_math_grader() -> None:
    assert graders.rules_from_metadata({"version": 1.0}, where="t") is None
    rules = graders.rules_from_metadata({"grading": {"integer_range": [0, 999]}}, where="t")
    assert rules == GradingRules(grader="math", integer_range=(0, 999), publish_text=True)
    assert rules.model_dump(mode="json") == {
        "grader": "math",
        "integer_range": [0, 999],
        "publish_text": True,
    }


@pytest.mark.parametrize(
    "rules, response, doc, verdict",
    [
        (GradingRules(), "so \\boxed{033}", {"answer": "33"}, ("033", True)),
        (GradingRules(integer_range=(0, 999)), "\\boxed{5.5}", {"answer": "5"}, ("5.5", False)),
        (GradingRules(grader="letter"), "The answer is (C).", {"answer": "C"}, ("C", True)),
        (GradingRules(grader="letter"), "\\boxed{33}", {"answer": "C"}, (None, False)),
        (
            GradingRules(grader="alias"),
            "Paris, France.",
            {"answer": "Paris", "aliases": ["Paris"]},
            ("Paris, France", True),
        ),
        (GradingRules(grader="alias"), "", {"answer": "x", "aliases": ["x"]}, (None, False)),
    ],
)
def test_each_grader_extracts_then_judges(
    rules: GradingRules, response: str, doc: dict, verdict: tuple
) -> None:
    found = graders.check(response, doc, rules)
    assert (found.extracted, found.correct) == verdict
    assert graders.extract(response, rules) == verdict[0]


def test_the_alias_grader_needs_aliases_in_the_doc() -> None:
    with pytest.raises(SparksError, match=r"doc\['aliases'\].*problem 'q1' has None"):
        graders.check(
            "Paris", {"problem_id": "q1", "answer": "Paris"}, GradingRules(grader="alias")
        )


def test_every_sparks_task_declares_its_rules_in_its_yaml() -> None:
    """The rules are read the way lm-eval reads the YAML (includes merged)."""
    from lm_eval.tasks._yaml_loader import load_yaml

    from harness_ext.lm_eval_bridge import tasks_dir

    declared = {}
    for path in sorted(tasks_dir().rglob("*.yaml")):
        config = load_yaml(path, resolve_func=False)
        if "task" in config and isinstance(config["task"], str):
            declared[config["task"]] = graders.rules_from_metadata(
                config.get("metadata"), where=str(path)
            )
    assert declared["gpqa_diamond_sparks"] == GradingRules(grader="letter", publish_text=False)
    assert declared["triviaqa_sparks"] == GradingRules(grader="alias")
    for task in ("aime24_sparks", "aime25_sparks_greedy"):
        assert declared[task] == GradingRules(integer_range=(0, 999))
    for task in ("amc_sparks", "math500_sparks_greedy"):
        assert declared[task] == GradingRules()


# ---------------------------------------------------------------- through lm-eval and the report


def _scripted_lm(respond: Callable[[str], str]) -> Any:
    """An lm-eval model that answers each prompt with ``respond(prompt)``."""
    from lm_eval.api.model import LM

    class Scripted(LM):
        def generate_until(self, requests: list, disable_tqdm: bool = False) -> list[str]:
            return [respond(request.args[0]) for request in requests]

        def loglikelihood(self, requests: list, disable_tqdm: bool = False) -> list:
            raise NotImplementedError

        def loglikelihood_rolling(self, requests: list, disable_tqdm: bool = False) -> list:
            raise NotImplementedError

    return Scripted()


def _respond(gpqa: dict[str, str]) -> Callable[[str], str]:
    """Responses in the styles each grader must read: bracketed and stated letters, spans in
    sentences, boxed and stated sums, some right, some wrong, some without an answer."""
    trivia = {
        "Fe?": "Iron.",
        "Eiffel": "The Eiffel Tower stands in Paris, France.",
        "Pride": "Charles Dickens",
        "largest planet": "The answer is Jupiter.",
        "Abbey": "beatles",
        "hexagon": "Eight",
    }
    styles = [  # (response, whether it gives the right letter), by question
        ("I would pick ({}).", True),
        ("Answer: {}", False),
        ("The answer is ({}) for sure.", True),
        ("{}. The others do not fit.", True),
        ("I cannot tell.", False),
        ("I would pick ({}).", False),
    ]

    def respond(prompt: str) -> str:
        for question, letter in gpqa.items():
            if question in prompt:
                style, right = styles[sorted(gpqa).index(question) % len(styles)]
                wrong = "ABCD"[("ABCD".index(letter) + 1) % 4]
                return style.format(letter if right else wrong)
        for question, response in trivia.items():
            if question in prompt:
                return response
        sum_ = re.search(r"What is (\d) \+ (\d)\?", prompt)
        assert sum_, prompt
        a, b = int(sum_[1]), int(sum_[2])
        return [
            f"So the total is $\\boxed{{{a + b}}}$.",
            f"Adding them, the answer is {a + b + 1}.",
            f"{a} plus {b} makes {a + b}, so the final answer is {a + b}.",
        ][(a * b) % 3]

    return respond


def _evaluate(model: Any, tasks: list[str], include: Path, out: Path, predict_only: bool) -> dict:
    """simple_evaluate, its results and samples saved as lm_eval --output_path saves them."""
    import lm_eval
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    from harness_ext.lm_eval_bridge import tasks_dir

    manager = TaskManager(include_path=[str(tasks_dir()), str(include)], include_defaults=False)
    results = lm_eval.simple_evaluate(
        model=model,
        tasks=tasks,
        task_manager=manager,
        log_samples=True,
        predict_only=predict_only,
        limit=8,
    )
    tracker = EvaluationTracker(output_path=str(out))
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples)
    for task, rows in samples.items():
        tracker.save_results_samples(task_name=task, samples=rows)
    return {**results, "samples": samples}


@pytest.fixture
def suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Data for the control tasks and one-digit additions, and the new task's include path."""
    from harness_ext.tasks import data

    _, folder = write_arithmetic_task(tmp_path / "arith", problems=8)
    for name in ("gpqa_diamond.jsonl", "triviaqa.jsonl"):
        shutil.copy(CONTROL / name, folder / name)
    monkeypatch.setenv("SPARKS_DATA_DIR", str(folder))
    include = tmp_path / "my_tasks"
    include.mkdir()
    (include / f"{DIGITS_TASK}.yaml").write_text(DIGITS_YAML, encoding="utf-8")
    gpqa = {
        row["problem"].split("\n")[0]: row["answer"] for row in data.load_gpqa_diamond()["test"]
    }
    return {"include": include, "model": _scripted_lm(_respond(gpqa))}


TASKS = ["gpqa_diamond_sparks", "triviaqa_sparks", "math500_sparks_greedy", DIGITS_TASK]


@pytest.mark.integration  # simple_evaluate
def test_a_predict_only_report_grades_every_task_as_the_task_did(
    suite: dict[str, Any], tmp_path: Path
) -> None:
    """The same responses, scored by lm-eval (the task) and reported from a --predict_only run
    (the report): the same verdict and the same answer for every response of every task."""
    from harness_ext.reports.runs import load_run

    scored = _evaluate(suite["model"], TASKS, suite["include"], tmp_path / "scored", False)
    _evaluate(suite["model"], TASKS, suite["include"], tmp_path / "predicted", True)
    warnings: list[str] = []
    run = load_run(tmp_path / "predicted", truncation="estimate", warn=warnings.append)
    assert warnings == []
    for task in TASKS:
        logged = {s["doc"]["problem_id"]: s for s in scored["samples"][task]}
        problems = run.tasks[task].problems
        assert set(problems) == set(logged) and len(problems) >= 6
        for problem_id, problem in problems.items():
            [response] = problem.responses
            sample = logged[problem_id]
            assert response.correct == bool(sample["exact_match"]), (task, problem_id)
            assert (response.answer or "") == sample["filtered_resps"][0][0], (task, problem_id)
            assert (response.label == "correct") == response.correct
        task_score = scored["results"][task]["exact_match,extracted"]
        assert sum(p.score for p in problems.values()) / len(problems) == pytest.approx(task_score)
    # the cases the name-guessing report got wrong: "(C)" and an alias in a sentence are right
    gpqa = run.tasks["gpqa_diamond_sparks"].problems.values()
    assert any(r.correct and r.text.startswith("I would pick (") for p in gpqa for r in p.responses)
    trivia = run.tasks["triviaqa_sparks"].problems["ctl-tqa-2"].responses[0]
    assert trivia.correct and trivia.answer == "The Eiffel Tower stands in Paris, France"
    assert 0 < scored["results"]["gpqa_diamond_sparks"]["exact_match,extracted"] < 1


@pytest.mark.integration  # simple_evaluate
def test_a_new_task_is_graded_by_its_own_rules_without_touching_reports(
    suite: dict[str, Any], tmp_path: Path
) -> None:
    """A task YAML outside tasks/ with its own metadata: lm-eval records the rules, and the
    report grades by them: a right sum of 10 or more is no one-digit answer."""
    from harness_ext.reports.markdown import _publishable
    from harness_ext.reports.runs import load_run

    scored = _evaluate(suite["model"], [DIGITS_TASK], suite["include"], tmp_path / "a", False)
    _evaluate(suite["model"], [DIGITS_TASK], suite["include"], tmp_path / "b", True)
    recorded = scored["configs"][DIGITS_TASK]["metadata"]["grading"]
    assert recorded == {"grader": "math", "integer_range": [0, 9], "publish_text": False}
    run = load_run(tmp_path / "b", truncation="estimate", warn=pytest.fail)
    task = run.tasks[DIGITS_TASK]
    assert task.grading == GradingRules(integer_range=(0, 9), publish_text=False)
    out_of_range = [
        r
        for p in task.problems.values()
        for r in p.responses
        if int(p.gold) >= 10 and r.answer == p.gold
    ]
    assert out_of_range, "the fixture has a right answer of 10 or more"
    assert all(not r.correct and r.label == "no_answer" for r in out_of_range)
    assert "must be an integer from 0 to 9" in out_of_range[0].note
    for sample in scored["samples"][DIGITS_TASK]:
        problem = task.problems[sample["doc"]["problem_id"]]
        assert problem.responses[0].correct == bool(sample["exact_match"])
    assert not _publishable(SimpleNamespace(runs=[run]), DIGITS_TASK)  # type: ignore[arg-type]


# ---------------------------------------------------------------- runs that lack the rules


def _strip_rules(results: Path, source: str | None) -> None:
    data = json.loads(results.read_text())
    for config in data["configs"].values():
        config["metadata"] = {"version": 1.0, **({"config_source": source} if source else {})}
    results.write_text(json.dumps(data))


def test_an_older_run_is_graded_as_its_task_file_declares(tmp_path: Path) -> None:
    """No rules recorded: the rules of the task file lm-eval recorded (config_source)."""
    from harness_ext.reports.runs import load_run

    task = "letters_sparks_greedy"
    results = write_run(
        tmp_path / "run",
        {task: [FakeProblem("q1", "C", ["I would pick (C)."]), FakeProblem("q2", "B", ["(A)"])]},
        grading={task: GradingRules(grader="letter")},
    )
    yaml_file = tmp_path / "letters.yaml"
    yaml_file.write_text(
        f"include: {TEMPLATE}\ntask: {task}\n"
        "metadata:\n  version: 1.0\n  grading:\n    grader: letter\n    publish_text: false\n",
        encoding="utf-8",
    )
    _strip_rules(results, str(yaml_file))
    warnings: list[str] = []
    run = load_run(results, truncation="estimate", warn=warnings.append)
    assert run.tasks[task].grading == GradingRules(grader="letter", publish_text=False)
    assert [w for w in warnings if "did not record its grading rules" in w]
    assert str(yaml_file) in warnings[0]

    yaml_file.unlink()  # the task file is gone too: the math grader, and no problem text
    warnings.clear()
    run = load_run(results, truncation="estimate", warn=warnings.append)
    assert run.tasks[task].grading == GradingRules(publish_text=False)
    assert "grading it with the math grader" in warnings[0] and "Rerun the task" in warnings[0]


def test_malformed_recorded_rules_name_the_results_file(tmp_path: Path) -> None:
    from harness_ext.reports.runs import load_run

    results = write_run(tmp_path / "run", {"t_sparks": [FakeProblem("p", "7", ["\\boxed{7}"])]})
    data = json.loads(results.read_text())
    data["configs"]["t_sparks"]["metadata"]["grading"] = {"grader": "regex"}
    results.write_text(json.dumps(data))
    with pytest.raises(SparksError, match=re.escape(f"{results}: task t_sparks: metadata.grad")):
        load_run(results, truncation="estimate", warn=lambda message: None)


def test_report_md_leaves_out_the_text_of_a_task_that_may_not_be_published(
    tmp_path: Path,
) -> None:
    from harness_ext.reports.command import make_report
    from harness_ext.reports.markdown import render_markdown

    def problems(answer: str) -> list[FakeProblem]:
        return [FakeProblem("p1", "7", [f"\\boxed{{{answer}}}"], problem="SECRET QUESTION")]

    for name, answer, publish in (("a", "7", True), ("b", "1", True)):
        for folder, ok in (("open", publish), ("closed", False)):
            write_run(
                tmp_path / folder / name,
                {"q_sparks_greedy": problems(answer)},
                grading={"q_sparks_greedy": GradingRules(publish_text=ok)},
            )
    shown = make_report([str(tmp_path / "open" / r) for r in "ab"], truncation="estimate")
    hidden = make_report([str(tmp_path / "closed" / r) for r in "ab"], truncation="estimate")
    assert "SECRET QUESTION" in render_markdown(shown)
    assert "SECRET QUESTION" not in render_markdown(hidden)
