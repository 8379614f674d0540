"""Control tasks gpqa_diamond_sparks and triviaqa_sparks: loaders, answer extraction, scoring,
and a run through lm-eval. Data: the invented questions in tests/data/control (no GPQA text)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness_ext.answers import aliases, choices
from harness_ext.answers.graders import GradingRules
from harness_ext.errors import SparksError
from harness_ext.tasks import data, hub, scoring

LETTER = GradingRules(grader="letter", publish_text=False)
ALIAS = GradingRules(grader="alias")

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "control"
SCHEMA = {"problem_id", "problem", "answer", "number", "tier", "source"}
# the letters the fixed seed gives the fixture questions: a changed seed or shuffle shows here
FIXTURE_LETTERS = {
    "ctl-gpqa-1": "D",
    "ctl-gpqa-2": "A",
    "ctl-gpqa-3": "A",
    "ctl-gpqa-4": "B",
    "ctl-gpqa-5": "C",
    "ctl-gpqa-6": "B",
}
GPQA_ROW = {
    "id": "q1",
    "question": "Which is heaviest?",
    "correct_answer": "lead",
    "incorrect_answers": ["tin", "zinc", "iron"],
}
TRIVIA_ROW = {"id": "t1", "question": "Capital of Italy", "answer": "Rome"}


@pytest.fixture
def control_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixtures copied to a folder that SPARKS_DATA_DIR names."""
    for name in ("gpqa_diamond.jsonl", "triviaqa.jsonl"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    monkeypatch.setenv("SPARKS_DATA_DIR", str(tmp_path))
    return tmp_path


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _write(folder: Path, name: str, rows: list[dict[str, Any]]) -> None:
    (folder / name).write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


# ---------------------------------------------------------------- GPQA loader


def test_gpqa_rows_have_the_sparks_schema(control_data):
    rows = data.load_gpqa_diamond()["test"]
    assert SCHEMA | {"choices", "domain"} == set(rows.column_names)
    assert rows["problem_id"] == list(FIXTURE_LETTERS)
    assert set(rows["tier"]) == {"all"} and rows["number"] == [1, 2, 3, 4, 5, 6]
    assert rows["domain"][:3] == ["Physics", "Chemistry", "Biology"] and rows["domain"][5] == ""
    assert rows["source"][0] == str(control_data / "gpqa_diamond.jsonl")


def test_gpqa_letter_names_the_correct_choice(control_data):
    source = {row["id"]: row for row in _lines(control_data / "gpqa_diamond.jsonl")}
    for row in data.load_gpqa_diamond()["test"]:
        given = source[row["problem_id"]]
        letter = row["answer"]
        assert row["choices"][data.CHOICE_LETTERS.index(letter)] == given["correct_answer"]
        assert sorted(row["choices"]) == sorted(
            [given["correct_answer"], *given["incorrect_answers"]]
        )
        assert row["problem"].startswith(given["question"] + "\n\n(A) ")
        assert f"\n({letter}) {given['correct_answer']}" in "\n" + row["problem"]


def test_gpqa_shuffle_is_fixed_and_independent_of_file_order(control_data):
    first = {row["problem_id"]: row["answer"] for row in data.load_gpqa_diamond()["test"]}
    assert first == FIXTURE_LETTERS
    assert len(set(first.values())) > 1  # the choices really are shuffled
    _write(
        control_data,
        "gpqa_diamond.jsonl",
        list(reversed(_lines(control_data / "gpqa_diamond.jsonl")))[:3],
    )
    again = {row["problem_id"]: row["answer"] for row in data.load_gpqa_diamond()["test"]}
    assert again == {key: FIXTURE_LETTERS[key] for key in again}
    assert data.shuffled_choices("x", "abcd") == data.shuffled_choices("x", "abcd")


@pytest.mark.parametrize(
    "change,message",
    [
        (
            {"incorrect_answers": ["tin", "zinc"]},
            r'"incorrect_answers" \["tin", "zinc"\] is not a '
            r"list of 3 strings",
        ),
        ({"incorrect_answers": "tin"}, r'"incorrect_answers" "tin" is not a list of 3 strings'),
        ({"incorrect_answers": ["tin", None, "iron"]}, r'"incorrect_answers\[1\]" null is not'),
        (
            {"incorrect_answers": ["tin", "lead ", "iron"]},
            r'the choices \["lead", "tin", "lead", '
            r'"iron"\] are not all different.*ambiguous',
        ),
        ({"correct_answer": ""}, r'"correct_answer" "" is not a non-empty string'),
        ({"question": 7}, r'"question" 7 is not a non-empty string'),
        ({"domain": ["x"]}, r'"domain" \["x"\] is not a non-empty string'),
    ],
)
def test_bad_gpqa_line_names_file_line_and_field(tmp_path, change, message):
    _write(tmp_path, "gpqa_diamond.jsonl", [{**GPQA_ROW, "id": "ok"}, {**GPQA_ROW, **change}])
    with pytest.raises(SparksError, match=r"gpqa_diamond\.jsonl:2: " + message + ".*Fix that"):
        data.load_gpqa_diamond(data_dir=str(tmp_path))


def test_gpqa_line_without_incorrect_answers_lists_the_fields(tmp_path):
    _write(tmp_path, "gpqa_diamond.jsonl", [{"id": "q", "question": "?", "correct_answer": "x"}])
    with pytest.raises(
        SparksError,
        match=r"gpqa_diamond\.jsonl:1: missing field\(s\) "
        r"incorrect_answers \(each line needs id, question, "
        r"correct_answer, incorrect_answers\)",
    ):
        data.load_gpqa_diamond(data_dir=str(tmp_path))


# ---------------------------------------------------------------- TriviaQA loader


def test_triviaqa_rows_keep_every_alias(control_data):
    rows = data.load_triviaqa()["test"]
    assert SCHEMA | {"aliases"} == set(rows.column_names)
    assert set(rows["tier"]) == {"all"} and rows["number"] == [1, 2, 3, 4, 5, 6]
    assert rows[4]["answer"] == "The Beatles"
    assert rows[4]["aliases"] == ["The Beatles", "Beatles", "The Fab Four"]
    assert rows[5]["answer"] == "6" and rows[5]["aliases"] == ["6", "six"]


def test_triviaqa_aliases_are_optional_and_deduplicated(tmp_path):
    _write(
        tmp_path,
        "triviaqa.jsonl",
        [TRIVIA_ROW, {**TRIVIA_ROW, "id": "t2", "aliases": ["Rome", " Roma "]}],
    )
    rows = data.load_triviaqa(data_dir=str(tmp_path))["test"]
    assert rows["aliases"] == [["Rome"], ["Rome", "Roma"]]


@pytest.mark.parametrize(
    "change,message",
    [
        ({"aliases": "Roma"}, r'"aliases" "Roma" is not a list of strings'),
        ({"aliases": ["Roma", ""]}, r'"aliases\[1\]" "" is not a non-empty string'),
        ({"answer": None}, r'"answer" null is not a gold answer'),
        ({"id": None}, r'"id" null is not a problem id'),
    ],
)
def test_bad_triviaqa_line_names_file_line_and_field(tmp_path, change, message):
    _write(tmp_path, "triviaqa.jsonl", [{**TRIVIA_ROW, **change}])
    with pytest.raises(SparksError, match=r"triviaqa\.jsonl:1: " + message):
        data.load_triviaqa(data_dir=str(tmp_path))


def test_repeated_control_id_is_refused(tmp_path):
    _write(tmp_path, "triviaqa.jsonl", [TRIVIA_ROW, TRIVIA_ROW])
    with pytest.raises(SparksError, match=r"triviaqa\.jsonl:2: problem id 't1' already appears"):
        data.load_triviaqa(data_dir=str(tmp_path))


# ---------------------------------------------------------------- missing data, the Hub


@pytest.mark.parametrize(
    "loader,file_name,field",
    [
        (data.load_gpqa_diamond, "gpqa_diamond.jsonl", '"incorrect_answers": \\[3 strings\\]'),
        (data.load_triviaqa, "triviaqa.jsonl", '"aliases" \\(optional list of strings\\)'),
    ],
)
def test_missing_control_file_gives_its_format(tmp_path, monkeypatch, loader, file_name, field):
    monkeypatch.setenv("SPARKS_DATA_DIR", str(tmp_path))
    with pytest.raises(
        SparksError,
        match=rf"{file_name} does not exist\. Put {file_name} there "
        rf"\(one JSON object per line, .*{field}.*Hub",
    ):
        loader()
    (tmp_path / file_name).write_text("\n")
    with pytest.raises(SparksError, match=rf"holds no problems.*{field}"):
        loader()


@pytest.mark.parametrize(
    "loader,message",
    [
        (
            data.load_gpqa_diamond,
            r"Could not load Idavidrein/gpqa .*Idavidrein/gpqa is gated: accept "
            r"its terms at https://huggingface.co/datasets/Idavidrein/gpqa.*"
            r"SPARKS_DATA_DIR=/path/to/folder with gpqa_diamond\.jsonl",
        ),
        (
            data.load_triviaqa,
            r"Could not load mandarjoshi/trivia_qa .*SPARKS_DATA_DIR=/path/to/"
            r"folder with triviaqa\.jsonl",
        ),
    ],
)
def test_unreachable_hub_names_both_ways(monkeypatch, loader, message):
    monkeypatch.setenv("SPARKS_DATA_DIR", "")  # the Hub
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SparksError, match=message):
        loader()


def _fake_hub(monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]]) -> list[tuple]:
    asked: list[tuple] = []

    def hub_rows(name: str, split: str, config: str | None = None) -> list[dict[str, Any]]:
        asked.append((name, config, split))
        return rows

    monkeypatch.setenv("SPARKS_DATA_DIR", "")  # the Hub
    monkeypatch.setattr(hub, "hub_rows", hub_rows)
    return asked


def test_gpqa_hub_rows_are_read_like_lm_eval(monkeypatch):
    """The Hub's field names, lm-eval's clean-up of " [title]"; invented text, not GPQA's."""
    row = {
        "Record ID": "recX",
        "Question": "Pick the noble gas [title] of period 2.",
        "Correct Answer": " neon ",
        "Incorrect Answer 1": "boron",
        "Incorrect Answer 2": "carbon",
        "Incorrect Answer 3": "fluorine",
        "High-level domain": "Chemistry",
        "Writer's Difficulty Estimate": "Easy",
    }
    asked = _fake_hub(monkeypatch, [row])
    [got] = data.load_gpqa_diamond()["test"]
    assert asked == [("Idavidrein/gpqa", "gpqa_diamond", "train")]
    assert got["problem_id"] == "recX" and got["tier"] == "all" and got["domain"] == "Chemistry"
    assert got["problem"].startswith("Pick the noble gas. of period 2.\n\n(A) ")
    assert got["choices"][data.CHOICE_LETTERS.index(got["answer"])] == "neon"
    assert got["source"] == "hub:Idavidrein/gpqa"


def test_triviaqa_hub_rows_are_read_like_lm_eval(monkeypatch):
    row = {
        "question_id": "tc_1",
        "question": "Which metal is liquid at room temperature?",
        "answer": {
            "value": "Mercury",
            "aliases": ["Mercury", "Hg", "Quicksilver"],
            "normalized_aliases": ["mercury", "hg", "quicksilver"],
        },
    }
    asked = _fake_hub(monkeypatch, [row])
    [got] = data.load_triviaqa()["test"]
    assert asked == [("mandarjoshi/trivia_qa", "rc.nocontext", "validation")]
    assert (got["problem_id"], got["answer"], got["aliases"]) == (
        "tc_1",
        "Mercury",
        ["Mercury", "Hg", "Quicksilver"],
    )


def test_hub_rows_of_another_shape_or_repeated_ids_are_refused(monkeypatch):
    _fake_hub(monkeypatch, [{"question_id": "tc_1", "question": "q"}])
    with pytest.raises(
        SparksError,
        match=r"mandarjoshi/trivia_qa, row 1: no field 'answer'\. "
        r"The Hub data set changed shape",
    ):
        data.load_triviaqa()
    row = {"question_id": "tc_1", "question": "q", "answer": {"value": "a", "aliases": []}}
    _fake_hub(monkeypatch, [row, row])
    with pytest.raises(SparksError, match=r"problem id 'tc_1' appears in rows 1 and 2"):
        data.load_triviaqa()


# ---------------------------------------------------------------- GPQA extraction, scoring


@pytest.mark.parametrize(
    "response,letter",
    [
        ("Answer: C", "C"),
        ("so the right one is (C)", "C"),
        ("$\\boxed{C}$", "C"),
        ("Therefore, the answer is C.", "C"),
        ("The answer is (b)", "B"),
        ("The correct answer is: **B**", "B"),
        ("**Answer: D**", "D"),
        ("Answer: $C$", "C"),
        ("Answer:\n\nC", "C"),
        ("Option A is correct.", "A"),
        ("the answer is A because the rate doubles", "A"),
        ("Answer: A\nthis follows from the rate law", "A"),
        ("\\boxed{\\text{(B)}}", "B"),
        ("\\boxed{\\textbf{(C)} 42}", "C"),
        ("\\boxed{a}", "A"),
        ("After all that:\nD\n", "D"),
        # styles of lighteval's extraction tests (test_extractive_match.py), in our words
        ("It is not A, since the rate halves; therefore I think it's C", "C"),
        ("The answer is for sure B, it can't be D", "B"),
        ('So the answer is "D".', "D"),
        ("réponse est B non C", "B"),
        ("答案是C", "C"),
        # a response that opens with its letter
        ("C. it cannot be A", "C"),
        ("D。不是 B", "D"),
        ("A metal is formed. So it is hard.", None),
        # the last one wins
        ("Answer: C. On reflection, the answer is B.", "B"),
        ("(A) is wrong and (B) is right", "B"),
        # an explicit answer beats the options discussed after it
        ("Checking (A). The answer is (C). Checking (A) again.", "C"),
        # the text after the reasoning comes first
        ("<think>so the answer is B</think>\nFinal choice: (C)", "C"),
        ("<think>so the answer is B", "B"),
        # never a letter inside a word, nor the article "A"
        ("The product is Cl2, not D-glucose.", None),
        ("Answer: A metal compound from period five", None),
        ("the answer is a mixture of both", None),
        ("\\boxed{a metal}", None),
        ("Answer: ABC", None),
        ("Vitamin C is needed", None),
        ("", None),
    ],
)
def test_letter_extraction(response, letter):
    assert choices.extract_letter(response) == letter


def test_gpqa_filter_and_metric():
    filtered = scoring.extract_answers([["Answer: B", "no idea"]], [{}], rules=LETTER)
    assert filtered == [["B", ""]]
    doc = {"answer": "B"}
    right, wrong = {"exact_match": 1.0, "ungraded": 0}, {"exact_match": 0.0, "ungraded": 0}
    assert scoring.exact_match(doc, ["B"], rules=LETTER) == right
    assert scoring.exact_match(doc, [["B"]], rules=LETTER) == right
    assert scoring.exact_match(doc, ["C"], rules=LETTER) == wrong
    assert scoring.exact_match(doc, [""], rules=LETTER) == wrong


def test_gpqa_prompt_lists_the_choices_and_asks_for_a_boxed_letter(control_data):
    doc = data.load_gpqa_diamond()["test"][0]
    text = scoring.gpqa_doc_to_text(doc)
    assert text.startswith(doc["problem"]) and "(D) " in text
    assert text.endswith("put the letter of the correct choice (A, B, C or D) within \\boxed{}.")


# ---------------------------------------------------------------- TriviaQA extraction, scoring


@pytest.mark.parametrize(
    "response,span",
    [
        (" Paris", "Paris"),
        ("Paris, France.", "Paris, France"),
        ("The answer is Paris.", "Paris"),
        ("I think the answer is: Jane Austen! She wrote it in 1813.", "Jane Austen"),
        ("Answer: **The Beatles**", "The Beatles"),
        ("Mt. Everest is the tallest.", "Mt. Everest is the tallest"),
        ("J. R. R. Tolkien\nHe also wrote more.", "J. R. R. Tolkien"),
        ("Washington, D.C.", "Washington, D.C."),
        ("\\boxed{\\text{Iron}}", "Iron"),
        ("It is iron, so the answer is \\boxed{Iron}.", "Iron"),
        ("\n\nsix. Because a hexagon...", "six"),
        ("<think>Fe is iron.</think>\n\n**Iron**", "Iron"),
        ("<think>Fe is", None),
        ("", None),
    ],
)
def test_span_extraction(response, span):
    assert aliases.extract_span(response) == span


@pytest.mark.parametrize(
    "span,names,correct",
    [
        ("the beatles!", ["The Beatles"], True),
        ("Beatles", ["The Beatles"], True),
        ("Paris, France", ["Paris"], True),  # lm-eval's triviaqa stops at the comma
        ("Paris France", ["Paris, France"], True),
        ("AC-DC", ["AC/DC"], True),
        ("Jane_Austen", ["Jane Austen"], True),
        ("A", ["A"], True),  # only an article: kept, not emptied
        ("The The", ["The The"], True),
        ("Rome", ["Paris", "City of Light"], False),
        ("The Eiffel Tower stands in Paris, France", ["Paris"], True),  # a chat model's sentence
        ("Iron is a chemical element with the symbol Fe", ["Iron", "Fe"], True),
        ("Parisian cafes are famous", ["Paris"], False),  # whole phrases only
        ("The band Abbey Road released Abbey Road", ["The Beatles", "Beatles"], False),
        ("", ["The"], False),
    ],
)
def test_alias_matching(span, names, correct):
    assert aliases.matches_alias(span, names) is correct


def test_triviaqa_normalisation_is_triviaqa_s():
    assert aliases.normalize_trivia("  The  Beatles. ") == "beatles"
    assert aliases.normalize_trivia("‘Ulysses’") == "ulysses"
    assert aliases.normalize_trivia("An Apple a Day") == "apple day"


def test_triviaqa_filter_metric_and_prompt():
    doc = {"problem": " Capital of Italy? ", "aliases": ["Rome", "Roma"]}
    assert scoring.triviaqa_doc_to_text(doc) == "Question: Capital of Italy?\nAnswer:"
    assert scoring.extract_answers([[" Roma.", "um"]], [doc], rules=ALIAS) == [["Roma", "um"]]
    right, wrong = {"exact_match": 1.0, "ungraded": 0}, {"exact_match": 0.0, "ungraded": 0}
    assert scoring.exact_match(doc, ["Roma"], rules=ALIAS) == right
    assert scoring.exact_match(doc, ["um"], rules=ALIAS) == wrong
    assert scoring.exact_match(doc, [""], rules=ALIAS) == wrong


@pytest.mark.parametrize(
    "hostile",
    ["\n" * 100_000, "a. " * 40_000, "( " * 50_000, "\\boxed{" * 20_000, "answer is " * 10_000],
)
def test_extraction_of_hostile_text_finds_no_answer(hostile):
    """No timing here (benchmarks time things): the bounded readers return, find no letter,
    and a span is at most the last 100,000 characters of the text, if any."""
    assert choices.extract_letter(hostile) is None
    span = aliases.extract_span(hostile)
    assert span is None or (len(span) <= 100_000 and span in hostile)


# ---------------------------------------------------------------- through lm-eval


def _scripted_lm(answers: dict[str, str]):
    """An lm-eval model that answers each prompt with the response of the question in it."""
    from lm_eval.api.model import LM

    class Scripted(LM):
        def __init__(self) -> None:
            super().__init__()
            self.requests: list[tuple[str, dict]] = []

        def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
            self.requests += [request.args for request in requests]
            return [
                next(r for q, r in answers.items() if q in request.args[0]) for request in requests
            ]

        def loglikelihood(self, requests, disable_tqdm: bool = False):
            raise NotImplementedError

        def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
            raise NotImplementedError

    return Scripted()


@pytest.mark.integration  # simple_evaluate
def test_end_to_end_through_lm_eval(control_data, tmp_path):
    """TaskManager finds both tasks; simple_evaluate logs letters and spans, scores them, and
    the reports read the run as they read the math tasks (about 3 s)."""
    import lm_eval
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    from harness_ext.lm_eval_bridge import tasks_dir
    from harness_ext.reports.runs import load_run

    gpqa = data.load_gpqa_diamond()["test"]
    right = {row["problem_id"]: row["answer"] for row in gpqa}
    wrong = {"ctl-gpqa-2": "Answer: D", "ctl-gpqa-5": "I cannot tell."}
    scripted = {
        row["problem"].split("\n")[0]: wrong.get(
            row["problem_id"], f"Reasoning...\nThe answer is \\boxed{{{right[row['problem_id']]}}}."
        )
        for row in gpqa
    }
    scripted |= {
        "Fe?": "Iron.",
        "Eiffel": "Paris, France",
        "Pride": "Charles Dickens",
        "largest planet": "The answer is Jupiter.",
        "Abbey": "beatles",
        "hexagon": "Eight",
    }
    model = _scripted_lm(scripted)
    manager = TaskManager(include_path=str(tasks_dir()), include_defaults=False)
    results = lm_eval.simple_evaluate(
        model=model, tasks=["sparks_control"], task_manager=manager, log_samples=True
    )

    scores = results["results"]
    assert scores["gpqa_diamond_sparks"]["exact_match,extracted"] == pytest.approx(4 / 6)
    assert scores["triviaqa_sparks"]["exact_match,extracted"] == pytest.approx(4 / 6)
    samples = {
        task: {s["doc"]["problem_id"]: s for s in rows} for task, rows in results["samples"].items()
    }
    # filtered_resps: one list per request, of the answers extracted from its responses
    letters = {pid: s["filtered_resps"][0][0] for pid, s in samples["gpqa_diamond_sparks"].items()}
    assert letters == {**right, "ctl-gpqa-2": "D", "ctl-gpqa-5": ""}
    trivia = samples["triviaqa_sparks"]["ctl-tqa-2"]
    assert trivia["filtered_resps"] == [["Paris, France"]] and trivia["exact_match"] == 1.0
    assert {s["doc"]["tier"] for task in samples.values() for s in task.values()} == {"all"}
    assert samples["gpqa_diamond_sparks"]["ctl-gpqa-1"]["doc"]["answer"] == "D"
    prompts = [prompt for prompt, _ in model.requests]
    assert "Question: Which chemical element has the symbol Fe?\nAnswer:" in prompts
    assert all(kwargs["do_sample"] is False for _, kwargs in model.requests)

    tracker = EvaluationTracker(output_path=str(tmp_path / "out"))
    samples_by_task = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples_by_task)
    for task, rows in samples_by_task.items():
        tracker.save_results_samples(task_name=task, samples=rows)
    run = load_run(tmp_path / "out", truncation="estimate", warn=lambda message: None)
    assert {task: task_run.metric for task, task_run in run.tasks.items()} == {
        "gpqa_diamond_sparks": "exact_match",
        "triviaqa_sparks": "exact_match",
    }
    problems = run.tasks["gpqa_diamond_sparks"].problems
    assert {p.tier for p in problems.values()} == {"all"}
    assert [r.answer for r in problems["ctl-gpqa-5"].responses] == [None]
    assert sum(p.score for p in run.tasks["triviaqa_sparks"].problems.values()) == 4
