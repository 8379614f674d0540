"""The flags of ``sparks discover`` (its help text lives here only), in groups by role."""

from __future__ import annotations

import argparse

from harness_ext.discovery.engine import CORRUPT_MODES
from harness_ext.discovery.loading import TASK_LOADERS

__all__ = ["configure_discover"]


def configure_discover(parser: argparse.ArgumentParser) -> None:
    """The flags of ``sparks discover``."""
    _model_flags(parser)
    _method_flags(parser)
    _circuit_flags(parser)
    _pairing_flags(parser)
    parser.add_argument(
        "-o", "--output", default="heads.json", help="output file (default heads.json)"
    )


def _model_flags(parser: argparse.ArgumentParser) -> None:
    """The models and problems: POST or a checkpoint series, BASE, tasks, openings, device."""
    parser.add_argument(
        "--model",
        default=None,
        metavar="POST",
        help="post-trained model: Hub id or local folder (default: the embedded "
        "SmolLM2-135M-Instruct)",
    )
    parser.add_argument(
        "--checkpoints",
        nargs="+",
        default=None,
        metavar="CKPT",
        help="instead of --model: a series of checkpoints in training order, each "
        "against the same --base; adds which heads appear and disappear, "
        "their circuit change against the reward of each checkpoint "
        "(trainer_state.json or --rewards), and a plot (heads.checkpoints.png)",
    )
    parser.add_argument(
        "--base",
        default=None,
        metavar="BASE",
        help="base model (same tokenizer); without it no effect scores, and the "
        "corrupted input is the next problem's opening",
    )
    parser.add_argument(
        "--tasks",
        default="amc_sparks",
        help=f"comma-separated tasks or groups: {', '.join(TASK_LOADERS)} "
        "(_greedy variants accepted)",
    )
    parser.add_argument("--limit", type=int, default=8, help="problems per task (default 8)")
    parser.add_argument(
        "--samples",
        default=None,
        metavar="PATH",
        help="read POST's openings from an lm-eval samples file (or the output "
        "folder of a run with --log_samples) instead of generating them; "
        "the problems are that file's (--tasks is then ignored)",
    )
    parser.add_argument(
        "--opening-tokens", type=int, default=32, help="length of each greedy opening (default 32)"
    )
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    parser.add_argument(
        "--device",
        default=None,
        help="torch device: cpu, cuda, cuda:1, mps (default: cuda if available)",
    )


def _method_flags(parser: argparse.ArgumentParser) -> None:
    """How heads are scored: method, its steps and variants, corruption, batch size, edges."""
    parser.add_argument(
        "--ig-steps",
        type=int,
        default=8,
        help="samples of the Fisher estimate (the default method), or integrated-gradient "
        "steps with --method eap-ig (default 8: the fewest samples that meet the accuracy "
        "goal in both corruption settings, docs/discover.md)",
    )
    parser.add_argument(
        "--method",
        default=None,
        choices=("fisher", "eap-ig", "ablation"),
        help="fisher (default: second-order estimate of patching each head alone, the most "
        "faithful to brute force, see docs/discover.md), eap-ig (the paper's; the default "
        "with --edges) or ablation (the brute force: one forward pass per head, exact; for "
        "small models and as the reference)",
    )
    parser.add_argument(
        "--edges",
        action="store_true",
        help="edge-level EAP-IG (head -> later attention, MLP, logits): a head's "
        "importance is the sum of its absolute edge scores (the paper's), "
        "and heads.json lists the top edges",
    )
    parser.add_argument(
        "--top-edges",
        type=int,
        default=5000,
        help="with --edges: at most this many edges per model in heads.json "
        "(default 5000, the paper's n)",
    )
    parser.add_argument(
        "--edge-threshold",
        type=float,
        default=0.1,
        help="with --edges: keep edges scoring at least this share of the "
        "strongest (default 0.1, the paper's tau)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=8,
        help="IG steps (or samples) per forward/backward pass; bounds memory (default 8)",
    )
    parser.add_argument(
        "--gradient-checkpointing",
        action="store_true",
        help="keep one hidden state per layer for the backward pass and recompute the rest "
        "there: long openings (512-2,048 tokens) fit, for about one more forward pass of time",
    )
    parser.add_argument(
        "--ig-over",
        default="activations",
        choices=("activations", "inputs"),
        help="with --method eap-ig: interpolate the heads' activations (default), or the input "
        "embeddings and let the model compute the heads from them (EAP-IG-inputs)",
    )
    parser.add_argument(
        "--position-abs",
        action="store_true",
        help="with --method eap-ig: take each position's absolute score before summing over "
        "positions, so positions cannot cancel",
    )
    parser.add_argument(
        "--corrupt",
        default="auto",
        choices=CORRUPT_MODES,
        help="corrupted input: base opening, next problem's opening, or zeroed "
        "heads (default auto: base if given, else next)",
    )


def _circuit_flags(parser: argparse.ArgumentParser) -> None:
    """How circuits are drawn, and their stability."""
    parser.add_argument(
        "--circuit-size",
        type=float,
        default=None,
        help="circuit = the top heads: a whole count (>= 1, at most the model's "
        "heads) or a share of all heads (default 0.1 = 10%%, except with "
        "--compare-thinking or --checkpoints: --circuit-mass 0.8)",
    )
    parser.add_argument(
        "--circuit-mass",
        type=float,
        default=None,
        metavar="SHARE",
        help="circuit = the fewest heads carrying this share of the model's total "
        "importance (0.8 = 80%%), so circuit sizes can differ",
    )
    parser.add_argument(
        "--circuit-edges",
        action="store_true",
        help="with --edges: circuit = the heads on the kept edges (--top-edges, --edge-threshold)",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="B",
        help="resample the problems B times (with replacement): each head's rank interval and "
        "how often it is in the circuit and emergent, the circuits' Jaccard stability, and "
        "which emergent heads are stable (emergent in >= 80%% of resamples; "
        "@heads.json#stable); default 0: none",
    )


def _pairing_flags(parser: argparse.ArgumentParser) -> None:
    """What the base side is (thinking off, another chat template) and a series' rewards."""
    parser.add_argument(
        "--compare-thinking",
        action="store_true",
        help="attribute --model twice, thinking on (as post) and off (as base), "
        "through the chat template's enable_thinking; the corrupted input of "
        "each mode is the other mode's opening",
    )
    parser.add_argument(
        "--chat-template-args",
        default=None,
        metavar="JSON",
        help="extra variables for POST's chat template, as a JSON object, e.g. "
        "'{\"enable_thinking\": false}'",
    )
    parser.add_argument(
        "--base-chat-template-args",
        default=None,
        metavar="JSON",
        help="BASE's prompts rendered with BASE's own chat template and these "
        "variables (without it, BASE gets POST's prompt tokens)",
    )
    parser.add_argument(
        "--rewards",
        default=None,
        metavar="FILE",
        help="with --checkpoints: a log of step and reward (CSV or JSON) instead "
        "of each checkpoint's trainer_state.json",
    )
    parser.add_argument(
        "--reward-key",
        default=None,
        metavar="KEY",
        help="with --checkpoints: the logged reward to use (default: 'reward', "
        "else the only 'rewards/...' key); the column of --rewards",
    )
    parser.add_argument(
        "--reward-window",
        default=None,
        choices=("since-previous", "last"),
        help="a checkpoint's reward: the mean of the values logged since the "
        "previous checkpoint (default), or the last value at or before its step",
    )
