"""Problem sets for the sparks tasks: the Hugging Face Hub by default, local JSONL on request.

Every loader returns a ``datasets.DatasetDict`` with one ``test`` split whose rows share one
schema, so scoring, logs and reports never care where a problem came from:

    problem_id  str   e.g. "2024-I-5", "2022-AMC12A-13", "test/algebra/2584.json"
    problem     str
    answer      str   the gold answer as written ("142", "\\frac{14}{3}")
    number      int   problem number in its contest (MATH-500: its level)
    tier        str   from harness_ext.tiers
    source      str   "hub:<dataset id>" or the local file it was read from

Where problems come from (:mod:`.folder`): ``--metadata '{"data_dir": "..."}'``, else
``$SPARKS_DATA_DIR`` (set empty: the Hub), else the data folder that set-up recorded, else the
Hugging Face Hub (:mod:`.hub`). A local folder (:mod:`.local`) holds ``amc.jsonl``,
``aime.jsonl`` and ``math500.jsonl`` shaped like the project's ``shared/data``, and for the
control tasks ``gpqa_diamond.jsonl`` and ``triviaqa.jsonl``; the tasks then never touch the
network. Each line is checked (:mod:`.rows`), and an error names the file, the line, the field
and its value.

Control tasks (:mod:`.controls`; no difficulty tiers: every row's tier is ``"all"``, the reports' whole-task tier;
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

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from harness_ext.errors import SparksError

from . import hub, local
from .controls import CHOICE_LETTERS, GPQA_SHUFFLE_SEED, gpqa_problem, shuffled_choices
from .folder import (
    DATA_DIR_ENV,
    DATA_RECORD,
    DataFolder,
    data_dir,
    data_folder,
    holding,
    local_file,
    recorded_data_dir,
    shape,
)
from .hub import HUB_ACCESS
from .rows import Row, read_jsonl, read_problems

if TYPE_CHECKING:
    import datasets

__all__ = [  # the loaders, and the public names that lived here before the split
    "CHOICE_LETTERS",
    "DATA_DIR_ENV",
    "DATA_RECORD",
    "GPQA_SHUFFLE_SEED",
    "DataFolder",
    "data_dir",
    "data_folder",
    "gpqa_problem",
    "load_aime24",
    "load_aime25",
    "load_amc",
    "load_gpqa_diamond",
    "load_math500",
    "load_triviaqa",
    "read_jsonl",
    "read_problems",
    "recorded_data_dir",
    "shuffled_choices",
]


# lm-eval calls `custom_dataset(**metadata, **dataset_kwargs)`; metadata carries unrelated keys
# (version, config_source, ...) so these take **options and read only `data_dir`.


def load_amc(**options: Any) -> datasets.DatasetDict:
    """AMC 2022-2023 (the 83 problems of AI-MO/aimo-validation-amc)."""
    return _load("amc.jsonl", options, local=local.local_amc, hub=hub.hub_amc, hub_name=hub.HUB_AMC)


def load_aime24(**options: Any) -> datasets.DatasetDict:
    """AIME 2024, exams I and II (30 problems)."""
    return _load(
        "aime.jsonl",
        options,
        local=lambda path: local.local_aime(path, 2024),
        hub=hub.hub_aime24,
        hub_name=hub.HUB_AIME24,
    )


def load_aime25(**options: Any) -> datasets.DatasetDict:
    """AIME 2025, exams I and II (30 problems)."""
    return _load(
        "aime.jsonl",
        options,
        local=lambda path: local.local_aime(path, 2025),
        hub=hub.hub_aime25,
        hub_name=hub.HUB_AIME25,
    )


def load_math500(**options: Any) -> datasets.DatasetDict:
    """MATH-500 (HuggingFaceH4/MATH-500)."""
    return _load(
        "math500.jsonl",
        options,
        local=local.local_math500,
        hub=hub.hub_math500,
        hub_name=hub.HUB_MATH500,
    )


def load_gpqa_diamond(**options: Any) -> datasets.DatasetDict:
    """GPQA diamond (198 questions of Idavidrein/gpqa, gated), choices shuffled by a fixed seed."""
    return _load(
        "gpqa_diamond.jsonl",
        options,
        local=local.local_gpqa,
        hub=hub.hub_gpqa,
        hub_name=hub.HUB_GPQA,
    )


def load_triviaqa(**options: Any) -> datasets.DatasetDict:
    """TriviaQA, as lm-eval's triviaqa task reads it (rc.nocontext, validation split)."""
    return _load(
        "triviaqa.jsonl",
        options,
        local=local.local_triviaqa,
        hub=hub.hub_triviaqa,
        hub_name=hub.HUB_TRIVIAQA,
    )


def _load(
    file_name: str,
    options: Mapping[str, Any],
    *,
    local: Callable[[Path], list[Row]],
    hub: Callable[[], list[Row]],
    hub_name: str,
) -> datasets.DatasetDict:
    """The rows of the local folder's ``file_name`` if a folder is named, else of the Hub, as
    one ``test`` split; a Hub that cannot be reached is one error naming both fixes."""
    import datasets

    folder = data_folder(options)
    if folder is not None:
        rows = local(local_file(folder, file_name, hub_name))
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
                f"{DATA_DIR_ENV}=/path/to/folder with {holding(file_name)} "
                f"({shape(file_name)}; see the README, 'Offline use')."
            ) from error
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})
