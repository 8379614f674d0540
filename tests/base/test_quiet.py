"""The two lm-eval warnings that never concern a sparks user are dropped; the rest pass."""

from __future__ import annotations

import logging

import pytest

from harness_ext.quiet import install_log_filters

CUSTOM = (
    "{task}: Custom kwargs can be passed to `--metadata` in console (as json string) or to the "
    "TaskManager.\nFor example --metadata='{{\"max_seq_lengths\":[4096, 8192]}}'."
)
DO_SAMPLE = (
    "generation_kwargs: {kwargs} specified through cli, these settings will update set "
    "parameters in yaml tasks. Ensure 'do_sample=True' for non-greedy decoding!"
)


@pytest.mark.parametrize(
    "logger, message, shown",
    [
        ("lm_eval.api.task", CUSTOM.format(task="amc_sparks"), False),
        ("lm_eval.api.task", CUSTOM.format(task="arith_sparks_greedy"), False),
        ("lm_eval.api.task", CUSTOM.format(task="ruler_niah"), True),  # not ours: lm-eval's
        ("lm_eval.evaluator", DO_SAMPLE.format(kwargs="{'max_gen_toks': 48}"), False),
        ("lm_eval.evaluator", DO_SAMPLE.format(kwargs="{'temperature': 0.7}"), True),
        ("lm_eval.evaluator", "a real warning", True),
    ],
)
def test_only_the_two_irrelevant_warnings_are_dropped(caplog, logger, message, shown):
    import lm_eval.api.task  # noqa: F401 - the bridge installs the filters on this import

    install_log_filters()
    with caplog.at_level(logging.WARNING):
        logging.getLogger(logger).warning(message)
    assert (message in caplog.text) == shown


TRUST = (
    "Skipping publisher trust check for 'kernels-community/flash-attn3' because Hugging Face "
    "Hub is in offline mode."
)


@pytest.mark.parametrize(
    "message, shown",
    [
        (TRUST, False),
        ("Skipping publisher trust check for 'x/y' because the moon is full.", True),
        ("Could not load kernel 'kernels-community/flash-attn3'", True),  # a real warning
    ],
)
def test_only_the_offline_trust_check_line_of_kernels_is_dropped(caplog, message, shown):
    install_log_filters()
    with caplog.at_level(logging.WARNING):
        logging.getLogger("kernels._internals.hf_hub").warning(message)
    assert (message in caplog.text) == shown


def test_kernels_own_offline_trust_check_is_silent_after_lm_eval_loads(caplog):
    """The very call in kernels that logs the line (transformers' Hub kernels, offline)."""
    pytest.importorskip("kernels")
    import lm_eval.api.task  # noqa: F401 - the bridge installs the filters on this import
    from kernels._internals.hf_hub import _check_trust_remote_code

    with caplog.at_level(logging.WARNING):
        _check_trust_remote_code("kernels-community/flash-attn3", True, False)
        logging.getLogger("kernels._internals.hf_hub").warning("a real kernels warning")
    assert "publisher trust" not in caplog.text and "a real kernels warning" in caplog.text
