"""Problem sets for the sparks tasks: the Hugging Face Hub by default, local JSONL on request.

Every loader returns a ``datasets.DatasetDict`` with one ``test`` split whose rows share one
schema, so scoring, logs and reports never care where a problem came from:

    problem_id  str   e.g. "2024-I-5", "2022-AMC12A-13", "test/algebra/2584.json"
    problem     str
    answer      str   the gold answer as written ("142", "\\frac{14}{3}")
    number      int   problem number in its contest (MATH-500: its level)
    tier        str   from harness_ext.tiers
    source      str   "hub:<dataset id>" or the local file it was read from

Where problems come from, one rule for every entry point (``lm_eval``, ``sparks``, Python):
``--metadata '{"data_dir": "..."}'``, else ``$SPARKS_DATA_DIR`` (set empty: the Hub), else the
data folder that set-up recorded (``scripts/ensure-venv.sh`` writes the file
:data:`DATA_RECORD` in the environment, ``sys.prefix``, when ``../shared/data`` lies beside the
clone), else the Hugging Face Hub. A local folder holds ``amc.jsonl``, ``aime.jsonl`` and
``math500.jsonl`` shaped like the project's ``shared/data``, and for the control tasks
``gpqa_diamond.jsonl`` and ``triviaqa.jsonl``; the tasks then never touch the network. Each line is checked, and an error
names the file, the line, the field and its value: no ``null`` becomes the answer ``"None"``,
no ``1.7`` is truncated to 1, no problem id appears twice, no file is empty. An error about the
folder names where it came from (``--metadata data_dir``, ``$SPARKS_DATA_DIR`` or the record).

Control tasks (no difficulty tiers: every row's tier is ``"all"``, the reports' whole-task tier;
``number`` is the row's 1-based position):

* ``gpqa_diamond.jsonl``, one question per line::

      {"id": "q1", "question": "...", "correct_answer": "...",
       "incorrect_answers": ["...", "...", "..."], "domain": "Physics"}

  ``domain`` is optional. The four choices are shuffled with :data:`GPQA_SHUFFLE_SEED` and the
  id, so a question keeps its letters whatever else is in the file; ``problem`` is the question
  followed by the lettered choices ``(A) ...`` to ``(D) ...``, ``answer`` the correct letter,
  and the row also carries ``choices`` (in letter order) and ``domain``. The Hub rows
  (``Idavidrein/gpqa``, gated) carry only the question writer's own difficulty guess, not a
  measured difficulty, so they get no tiers either.
* ``triviaqa.jsonl``, one question per line::

      {"id": "t1", "question": "...", "answer": "Jane Austen", "aliases": ["Austen", "..."]}

  ``aliases`` is optional; ``answer`` is the canonical answer and the row's ``aliases`` list
  starts with it (any alias counts as correct).
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, NamedTuple, Sequence

from harness_ext.errors import SparksError
from harness_ext.tiers import tier_for_level, tier_for_number

DATA_DIR_ENV = "SPARKS_DATA_DIR"
METADATA_ORIGIN = "--metadata data_dir"  # where a folder came from, as error messages say it
ENV_ORIGIN = f"${DATA_DIR_ENV}"
DATA_RECORD = "sparks-data-dir"  # in sys.prefix: the folder set-up recorded (one line)
INTEGER = re.compile(r"[+-]?[0-9]+")

HUB_AMC = "AI-MO/aimo-validation-amc"
HUB_AIME24 = "HuggingFaceH4/aime_2024"
HUB_AIME25 = "opencompass/AIME2025"
HUB_MATH500 = "HuggingFaceH4/MATH-500"
HUB_GPQA = "Idavidrein/gpqa"  # gated: its terms must be accepted on the Hub
GPQA_CONFIG = "gpqa_diamond"
HUB_TRIVIAQA = "mandarjoshi/trivia_qa"  # lm-eval's triviaqa task: this data set, config, split
TRIVIAQA_CONFIG = "rc.nocontext"

GPQA_SHUFFLE_SEED = 1234  # fixed, so runs of gpqa_diamond_sparks see the same letters
CHOICE_LETTERS = "ABCD"
NO_TIER = "all"  # the reports' whole-task tier (reports.runs.TIER_FALLBACK)

MATH_FILES = "amc.jsonl, aime.jsonl and math500.jsonl"
# the control tasks' local files and their line format, for messages
CONTROL_FORMATS = {
    "gpqa_diamond.jsonl": '{"id", "question", "correct_answer", "incorrect_answers": '
    '[3 strings], "domain" (optional)}',
    "triviaqa.jsonl": '{"id", "question", "answer", "aliases" (optional list of strings)}',
}
HUB_ACCESS = {
    HUB_GPQA: f"{HUB_GPQA} is gated: accept its terms at https://huggingface.co/datasets/"
    f"{HUB_GPQA} and log in (`huggingface-cli login` or HF_TOKEN)",
}

AMC_URL = re.compile(r"/(\d{4})_AMC_(\d+)([AB])_Problems/Problem_(\d+)$")
AIME_URL = re.compile(r"/(\d{4})_AIME_(I{1,2})_Problems/Problem_(\d+)$")

Row = dict[str, Any]


# ---------------------------------------------------------------- task entry points
# lm-eval calls `custom_dataset(**metadata, **dataset_kwargs)`; metadata carries unrelated keys
# (version, config_source, ...) so these take **options and read only `data_dir`.


def load_amc(**options: Any):
    """AMC 2022-2023 (the 83 problems of AI-MO/aimo-validation-amc)."""
    return _load("amc.jsonl", options, local=_local_amc, hub=_hub_amc, hub_name=HUB_AMC)


def load_aime24(**options: Any):
    """AIME 2024, exams I and II (30 problems)."""
    return _load(
        "aime.jsonl",
        options,
        local=lambda path: _local_aime(path, 2024),
        hub=_hub_aime24,
        hub_name=HUB_AIME24,
    )


def load_aime25(**options: Any):
    """AIME 2025, exams I and II (30 problems)."""
    return _load(
        "aime.jsonl",
        options,
        local=lambda path: _local_aime(path, 2025),
        hub=_hub_aime25,
        hub_name=HUB_AIME25,
    )


def load_math500(**options: Any):
    """MATH-500 (HuggingFaceH4/MATH-500)."""
    return _load(
        "math500.jsonl", options, local=_local_math500, hub=_hub_math500, hub_name=HUB_MATH500
    )


def load_gpqa_diamond(**options: Any):
    """GPQA diamond (198 questions of Idavidrein/gpqa, gated), choices shuffled by a fixed seed."""
    return _load("gpqa_diamond.jsonl", options, local=_local_gpqa, hub=_hub_gpqa, hub_name=HUB_GPQA)


def load_triviaqa(**options: Any):
    """TriviaQA, as lm-eval's triviaqa task reads it (rc.nocontext, validation split)."""
    return _load(
        "triviaqa.jsonl", options, local=_local_triviaqa, hub=_hub_triviaqa, hub_name=HUB_TRIVIAQA
    )


# ---------------------------------------------------------------- shared machinery


class DataFolder(NamedTuple):
    """A local data folder and where it was named (``--metadata data_dir`` or the variable)."""

    path: Path
    origin: str


def data_folder(options: Mapping[str, Any]) -> DataFolder | None:
    """The local data folder: ``--metadata data_dir``, else ``$SPARKS_DATA_DIR``, else the
    folder set-up recorded (:func:`recorded_data_dir`), else None (the Hub).

    An empty ``$SPARKS_DATA_DIR`` means the Hub; a ``data_dir`` that is not a non-empty path
    is an error (naming ``--metadata data_dir``), never a silent fall-back.
    """
    if "data_dir" in options:
        return DataFolder(_metadata_data_dir(options["data_dir"]), METADATA_ORIGIN)
    if DATA_DIR_ENV in os.environ:
        folder = os.environ[DATA_DIR_ENV].strip()
        return DataFolder(Path(folder).expanduser(), ENV_ORIGIN) if folder else None
    return recorded_data_dir()


def recorded_data_dir() -> DataFolder | None:
    """The data folder recorded at set-up in ``sys.prefix/sparks-data-dir``, if any."""
    record = Path(sys.prefix) / DATA_RECORD
    try:
        folder = record.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return DataFolder(Path(folder), f"the folder recorded at set-up ({record})") if folder else None


def data_dir(options: Mapping[str, Any]) -> Path | None:
    """The local data folder (see :func:`data_folder`), or None for the Hub."""
    folder = data_folder(options)
    return folder.path if folder is not None else None


def _metadata_data_dir(value: Any) -> Path:
    example = '--metadata \'{"data_dir": "/path/to/data"}\''
    if not isinstance(value, (str, os.PathLike)):
        raise SparksError(
            f"{METADATA_ORIGIN}={value!r} ({type(value).__name__}) is not a folder "
            f"path. Give the folder as a string, e.g. {example}."
        )
    if not str(value).strip():
        raise SparksError(
            f"{METADATA_ORIGIN} is empty. Give a folder, e.g. {example}, or leave "
            f"data_dir out to use ${DATA_DIR_ENV} or the Hugging Face Hub."
        )
    return Path(value).expanduser()


def _instead(origin: str, hub_name: str) -> str:
    """How to stop using a local folder named by ``origin``."""
    hub = f"{hub_name} from the Hugging Face Hub"
    if origin == METADATA_ORIGIN:
        return f"or leave data_dir out of --metadata to use ${DATA_DIR_ENV} or {hub}"
    if origin == ENV_ORIGIN:
        return f"or set {DATA_DIR_ENV} empty to load {hub}"
    return f"or set {DATA_DIR_ENV} empty to load {hub}, or delete that record"


def _holding(file_name: str) -> str:
    """The files a data folder should hold, as messages about ``file_name`` name them."""
    return file_name if file_name in CONTROL_FORMATS else MATH_FILES


def _shape(file_name: str) -> str:
    """How the lines of ``file_name`` are shaped, for messages."""
    if file_name in CONTROL_FORMATS:
        return f"one JSON object per line, {CONTROL_FORMATS[file_name]}"
    return "shaped like the project's shared/data"


def _local_file(folder: DataFolder, file_name: str, hub_name: str) -> Path:
    """``folder/file_name``, checked: the error names where the folder came from."""
    where, instead = f"{folder.origin} is {folder.path}", _instead(folder.origin, hub_name)
    if not folder.path.is_dir():
        state = "a file" if folder.path.exists() else "does not exist"
        raise SparksError(
            f"{where}, which is not a folder ({state}). Point it at the folder "
            f"holding {_holding(file_name)}, {instead}."
        )
    path = folder.path / file_name
    if not path.is_file():
        raise SparksError(
            f"{where}, but {path} does not exist. Put {_holding(file_name)} "
            f"there ({_shape(file_name)}), {instead}."
        )
    return path


def _load(
    file_name: str,
    options: Mapping[str, Any],
    *,
    local: Callable[[Path], list[Row]],
    hub: Callable[[], list[Row]],
    hub_name: str,
):
    import datasets

    folder = data_folder(options)
    if folder is not None:
        rows = local(_local_file(folder, file_name, hub_name))
    else:
        try:
            rows = hub()
        except SparksError:
            raise
        except Exception as error:  # network, auth, offline mode: one message, both fixes
            access = f" ({HUB_ACCESS[hub_name]})" if hub_name in HUB_ACCESS else ""
            raise SparksError(
                f"Could not load {hub_name} from the Hugging Face Hub ({type(error).__name__}: "
                f"{str(error)[:200]}). Either get online access to the Hub{access}, or set "
                f"{DATA_DIR_ENV}=/path/to/folder with {_holding(file_name)} "
                f"({_shape(file_name)}; see the README, 'Offline use')."
            ) from error
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def read_jsonl(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, Row]]:
    """Yield ``(line number, object)`` for each line; malformed lines name file and line."""
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            line = _decoded(path, number, raw)
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise SparksError(
                    f"{path}:{number}: not valid JSON ({error.msg}). Fix or remove that line."
                ) from None
            if not isinstance(row, dict):
                raise SparksError(f"{path}:{number}: expected a JSON object per line.")
            missing = [key for key in required if key not in row]
            if missing:
                raise SparksError(
                    f"{path}:{number}: missing field(s) {', '.join(missing)} "
                    f"(each line needs {', '.join(required)})."
                )
            yield number, row


def _decoded(path: Path, number: int, raw: bytes) -> str:
    try:  # utf-8-sig: a byte-order mark (some editors write one) is no part of the JSON
        return raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as error:
        raise SparksError(
            f"{path}:{number}: not UTF-8 text (byte {raw[error.start]:#04x} at "
            f"offset {error.start} of the line); is it a binary file? The data "
            f"files are JSON Lines in UTF-8, one problem per line."
        ) from None


def read_problems(path: Path, required: tuple[str, ...]) -> list[tuple[int, Row]]:
    """Every ``(line number, object)`` of a data file, refusing an empty file and repeated ids."""
    lines = list(read_jsonl(path, required))
    if not lines:
        shape = _shape(path.name).removeprefix("one JSON object per line, ")
        raise SparksError(
            f"{path} holds no problems (it is empty or only blank lines). Fill it "
            f"with one JSON object per line, {shape}."
        )
    first_line: dict[str, int] = {}
    for number, row in lines:
        problem_id = _checked(path, number, lambda row=row: _problem_id(row["id"]))
        if problem_id in first_line:
            raise SparksError(
                f"{path}:{number}: problem id {problem_id!r} already appears on line "
                f"{first_line[problem_id]}. Each problem needs its own id (runs are compared "
                f"problem by problem, by id): remove the repeated line or give it its own id."
            )
        first_line[problem_id] = number
    return lines


def _row(problem_id: Any, problem: Any, answer: Any, number: Any, tier: str, source: str) -> Row:
    return {
        "problem_id": _problem_id(problem_id),
        "problem": _text(problem, "problem"),
        "answer": _answer(answer),
        "number": _integer(number, "number"),
        "tier": tier,
        "source": source,
    }


def _problem_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise ValueError(
            f'"id" {_json(value)} is not a problem id (a non-empty string such as "2024-I-5")'
        )
    return str(value).strip()


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f'"{field}" {_json(value)} is not a non-empty string')
    return value


def _integer(value: Any, field: str) -> int:
    """A whole number from JSON: ints, integral floats (2.0) and digit strings; nothing rounded."""
    if isinstance(value, str) and INTEGER.fullmatch(value.strip()):
        return int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f'"{field}" {_json(value)} is not a whole number')


def _answer(value: Any) -> str:
    """Gold answers as strings; integral floats (the AMC hub set's 142.0) lose their ``.0``."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f'"answer" {_json(value)} is not a finite number')
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError(
        f'"answer" {_json(value)} is not a gold answer (a non-empty string such as '
        f'"142" or "\\\\frac{{14}}{{3}}", or a number)'
    )


def _json(value: Any) -> str:
    """``value`` as it reads in the data file (null, true, "text"), for messages."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} (too large for a number)" if math.isinf(value) else "NaN"
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


def _checked(path: Path, number: int, make: Callable[[], Any]) -> Any:
    try:
        return make()
    except (TypeError, ValueError) as error:
        raise SparksError(f"{path}:{number}: {error}. Fix that line.") from None


def _hub_checked(name: str, index: int, make: Callable[[], Row]) -> Row:
    try:
        return make()
    except (TypeError, ValueError, KeyError) as error:
        problem = f"no field {error}" if isinstance(error, KeyError) else str(error)
        raise SparksError(
            f"{name}, row {index}: {problem}. The Hub data set changed shape; set "
            f"{DATA_DIR_ENV} to a folder of local files instead."
        ) from None


def _unique_ids(name: str, rows: list[Row]) -> list[Row]:
    """``rows`` of a Hub data set, refused if a problem id repeats (runs pair problems by id)."""
    first: dict[str, int] = {}
    for index, row in enumerate(rows, start=1):
        if row["problem_id"] in first:
            raise SparksError(
                f"{name}: problem id {row['problem_id']!r} appears in rows "
                f"{first[row['problem_id']]} and {index}; runs are compared by id. "
                f"Set {DATA_DIR_ENV} to a folder of local files instead."
            )
        first[row["problem_id"]] = index
    return rows


# ---------------------------------------------------------------- local files


def _local_amc(path: Path) -> list[Row]:
    return [
        _checked(
            path,
            number,
            lambda row=row: _row(
                row["id"],
                row["problem"],
                row["answer"],
                row["number"],
                tier_for_number("amc", _integer(row["number"], "number")),
                str(path),
            ),
        )
        for number, row in read_problems(path, ("id", "number", "problem", "answer"))
    ]


def _local_aime(path: Path, year: int) -> list[Row]:
    rows = [
        _checked(
            path,
            number,
            lambda row=row: _row(
                row["id"],
                row["problem"],
                row["answer"],
                row["number"],
                tier_for_number("aime", _integer(row["number"], "number")),
                str(path),
            ),
        )
        for number, row in read_problems(path, ("id", "year", "number", "problem", "answer"))
        if _checked(path, number, lambda row=row: _integer(row["year"], "year")) == year
    ]
    if not rows:
        raise SparksError(f'{path} has no AIME {year} problems (no line with "year": {year}).')
    return rows


def _local_math500(path: Path) -> list[Row]:
    return [
        _checked(
            path,
            number,
            lambda row=row: _row(
                row["id"],
                row["problem"],
                row["answer"],
                row["level"],
                tier_for_level(_integer(row["level"], "level")),
                str(path),
            ),
        )
        for number, row in read_problems(path, ("id", "problem", "answer", "level"))
    ]


# ---------------------------------------------------------------- Hugging Face Hub


def _hub_rows(name: str, split: str, config: str | None = None) -> list[Row]:
    import datasets

    return list(datasets.load_dataset(name, config, split=split))


def _hub_amc() -> list[Row]:
    rows = []
    for index, row in enumerate(_hub_rows(HUB_AMC, "train")):
        match = AMC_URL.search(row["url"])
        if match is None:
            raise SparksError(f"{HUB_AMC}: cannot read the problem number from url {row['url']}")
        year, level, exam, number = match.groups()
        rows.append(
            _hub_checked(
                HUB_AMC,
                index,
                lambda: _row(
                    f"{year}-AMC{level}{exam}-{number}",
                    row["problem"],
                    row["answer"],
                    int(number),
                    tier_for_number("amc", int(number)),
                    f"hub:{HUB_AMC}",
                ),
            )
        )
    return rows


def _hub_aime24() -> list[Row]:
    rows = []
    for index, row in enumerate(_hub_rows(HUB_AIME24, "train")):
        match = AIME_URL.search(row["url"])
        if match is None:
            raise SparksError(f"{HUB_AIME24}: cannot read the problem number from url {row['url']}")
        year, exam, number = match.groups()
        rows.append(
            _hub_checked(
                HUB_AIME24,
                index,
                lambda: _row(
                    f"{year}-{exam}-{number}",
                    row["problem"],
                    row["answer"],
                    int(number),
                    tier_for_number("aime", int(number)),
                    f"hub:{HUB_AIME24}",
                ),
            )
        )
    return rows


def _hub_aime25() -> list[Row]:
    # Each config holds one exam's 15 problems in order, so the row index is the number.
    rows = []
    for exam in ("I", "II"):
        for index, row in enumerate(_hub_rows(HUB_AIME25, "test", f"AIME2025-{exam}"), start=1):
            rows.append(
                _hub_checked(
                    HUB_AIME25,
                    index,
                    lambda: _row(
                        f"2025-{exam}-{index}",
                        row["question"],
                        row["answer"],
                        index,
                        tier_for_number("aime", index),
                        f"hub:{HUB_AIME25}",
                    ),
                )
            )
    return rows


def _hub_math500() -> list[Row]:
    return [
        _hub_checked(
            HUB_MATH500,
            index,
            lambda: _row(
                row["unique_id"],
                row["problem"],
                row["answer"],
                row["level"],
                tier_for_level(_integer(row["level"], "level")),
                f"hub:{HUB_MATH500}",
            ),
        )
        for index, row in enumerate(_hub_rows(HUB_MATH500, "test"))
    ]


# ---------------------------------------------------------------- control tasks

GPQA_FIELDS = ("id", "question", "correct_answer", "incorrect_answers")
TRIVIAQA_FIELDS = ("id", "question", "answer")


def _local_gpqa(path: Path) -> list[Row]:
    return [
        _checked(
            path,
            number,
            lambda row=row, index=index: _gpqa_row(
                row["id"],
                row["question"],
                row["correct_answer"],
                row["incorrect_answers"],
                row.get("domain", ""),
                index,
                str(path),
            ),
        )
        for index, (number, row) in enumerate(read_problems(path, GPQA_FIELDS), start=1)
    ]


def _local_triviaqa(path: Path) -> list[Row]:
    return [
        _checked(
            path,
            number,
            lambda row=row, index=index: _triviaqa_row(
                row["id"], row["question"], row["answer"], row.get("aliases", []), index, str(path)
            ),
        )
        for index, (number, row) in enumerate(read_problems(path, TRIVIAQA_FIELDS), start=1)
    ]


def _gpqa_row(
    problem_id: Any,
    question: Any,
    correct: Any,
    incorrect: Any,
    domain: Any,
    number: int,
    source: str,
) -> Row:
    """A GPQA question as a sparks row: ``problem`` lists the shuffled choices, ``answer`` is
    the letter of the correct one."""
    problem_id = _problem_id(problem_id)
    question = _text(question, "question").strip()
    given = _gpqa_choices(correct, incorrect)
    choices = shuffled_choices(problem_id, given)
    letter = CHOICE_LETTERS[choices.index(given[0])]
    return {
        **_row(problem_id, gpqa_problem(question, choices), letter, number, NO_TIER, source),
        "choices": choices,
        "domain": _optional_text(domain, "domain"),
    }


def _gpqa_choices(correct: Any, incorrect: Any) -> list[str]:
    """The correct answer first, then the three incorrect ones; all four must differ."""
    if not isinstance(incorrect, list) or len(incorrect) != 3:
        raise ValueError(f'"incorrect_answers" {_json(incorrect)} is not a list of 3 strings')
    choices = [_text(correct, "correct_answer").strip()] + [
        _text(item, f"incorrect_answers[{index}]").strip() for index, item in enumerate(incorrect)
    ]
    if len(set(choices)) != len(choices):
        raise ValueError(
            f"the choices {_json(choices)} are not all different, so the correct "
            f"letter would be ambiguous"
        )
    return choices


def shuffled_choices(problem_id: str, choices: Sequence[str]) -> list[str]:
    """``choices`` in this question's fixed order: seeded by :data:`GPQA_SHUFFLE_SEED` and the id
    alone, so neither the file's order nor the other questions change a question's letters."""
    order = list(choices)
    random.Random(f"{GPQA_SHUFFLE_SEED}:{problem_id}").shuffle(order)
    return order


def gpqa_problem(question: str, choices: Sequence[str]) -> str:
    """The question, a blank line, then one ``(A) choice`` line per choice."""
    lines = [f"({letter}) {choice}" for letter, choice in zip(CHOICE_LETTERS, choices)]
    return question + "\n\n" + "\n".join(lines)


def _optional_text(value: Any, field: str) -> str:
    if value is None or value == "":
        return ""
    return _text(value, field).strip()


def _triviaqa_row(
    problem_id: Any, question: Any, answer: Any, aliases: Any, number: int, source: str
) -> Row:
    """A TriviaQA question as a sparks row; ``aliases`` starts with the canonical answer."""
    row = _row(problem_id, question, answer, number, NO_TIER, source)
    return {**row, "aliases": _aliases(row["answer"], aliases)}


def _aliases(answer: str, aliases: Any) -> list[str]:
    if not isinstance(aliases, list):
        raise ValueError(f'"aliases" {_json(aliases)} is not a list of strings')
    names = [answer] + [
        _text(alias, f"aliases[{index}]").strip() for index, alias in enumerate(aliases)
    ]
    return list(dict.fromkeys(names))


def _gpqa_clean(text: Any) -> Any:
    """lm-eval's clean-up of GPQA's Hub text (its " [title]" markers, doubled spaces)."""
    if not isinstance(text, str):
        return text  # the row check names the field
    return text.strip().replace(" [title]", ". ").replace("  ", " ")


def _hub_gpqa() -> list[Row]:
    rows = [
        _hub_checked(
            HUB_GPQA,
            index,
            lambda row=row, index=index: _gpqa_row(
                row["Record ID"],
                _gpqa_clean(row["Question"]),
                _gpqa_clean(row["Correct Answer"]),
                [_gpqa_clean(row[f"Incorrect Answer {n}"]) for n in (1, 2, 3)],
                row.get("High-level domain") or "",
                index,
                f"hub:{HUB_GPQA}",
            ),
        )
        for index, row in enumerate(_hub_rows(HUB_GPQA, "train", GPQA_CONFIG), start=1)
    ]
    return _unique_ids(HUB_GPQA, rows)


def _hub_triviaqa() -> list[Row]:
    rows = [
        _hub_checked(
            HUB_TRIVIAQA,
            index,
            lambda row=row, index=index: _triviaqa_row(
                row["question_id"],
                row["question"],
                row["answer"]["value"],
                list(row["answer"]["aliases"]),
                index,
                f"hub:{HUB_TRIVIAQA}",
            ),
        )
        for index, row in enumerate(_hub_rows(HUB_TRIVIAQA, "validation", TRIVIAQA_CONFIG), start=1)
    ]
    return _unique_ids(HUB_TRIVIAQA, rows)
