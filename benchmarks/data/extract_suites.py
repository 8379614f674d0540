#!/usr/bin/env python3
"""Build the third-party answer-checking benchmark under benchmarks/data/.

This is our own code. It reads the upstream repositories as bare git
directories (for example the mirrors made by the `fetch` tool under
/work/.mirror/<owner>+<name>/repo) with `git show`/`git ls-tree` only. It never
imports or executes upstream code: test files are parsed with `ast`, and the
parametrize lists are evaluated with a whitelisting evaluator that accepts only
literals, f-strings, `math.<fn>(...)`, `Language.<NAME>` and
`*ExtractionConfig(...)` constructors (replaced by inert stubs).

Sub-commands
------------
extract   write math_verify_cases.jsonl, lighteval_cases.jsonl,
          published_solutions.jsonl and manifest.json into --out
check     run the installed math_verify on the two test suites with the
          recorded options and report agreement with the upstream labels

Usage
-----
  python benchmarks/data/extract_suites.py extract \
      --math-verify /work/.mirror/huggingface+Math-Verify/repo \
      --lighteval   /work/.mirror/huggingface+lighteval/repo \
      --simplerl    /work/.mirror/hkust-nlp+simpleRL-reason/repo \
      --prm800k     /work/.mirror/openai+prm800k/repo \
      --math500-ids /work/shared/data/math500.jsonl \
      --aime-gold   /work/shared/data/aime.jsonl \
      --out benchmarks/data
  python benchmarks/data/extract_suites.py check --data benchmarks/data

Each git dir may be suffixed with @<rev> (default HEAD); the resolved 40-hex
commit is written to manifest.json.
"""
from __future__ import annotations

import argparse
import ast
import collections
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import time

# --------------------------------------------------------------------------
# git helpers (read-only)
# --------------------------------------------------------------------------


def split_rev(spec: str) -> tuple[str, str]:
    if "@" in os.path.basename(spec):
        d, rev = spec.rsplit("@", 1)
        return d, rev
    return spec, "HEAD"


def git(gitdir: str, *args: str) -> bytes:
    return subprocess.run(
        ["git", f"--git-dir={gitdir}", *args], check=True, capture_output=True
    ).stdout


def rev_parse(gitdir: str, rev: str) -> str:
    return git(gitdir, "rev-parse", f"{rev}^{{commit}}").decode().strip()


def show(gitdir: str, commit: str, path: str) -> str:
    return git(gitdir, "show", f"{commit}:{path}").decode("utf-8")


def show_bytes(gitdir: str, commit: str, path: str) -> bytes:
    return git(gitdir, "show", f"{commit}:{path}")


def blob_id(gitdir: str, commit: str, path: str) -> str:
    out = git(gitdir, "ls-tree", commit, "--", path).decode().split()
    return out[2] if len(out) >= 3 else ""


def ls(gitdir: str, commit: str, prefix: str) -> list[str]:
    out = git(gitdir, "ls-tree", "-r", "--name-only", commit, "--", prefix).decode()
    return [p for p in out.splitlines() if p]


# --------------------------------------------------------------------------
# inert stand-ins for upstream objects that appear in test parameters
# --------------------------------------------------------------------------


class ConfigStub:
    """Records a `XxxExtractionConfig(...)` / `NormalizationConfig(...)` call."""

    def __init__(self, name: str, *args, **kwargs):
        if args:
            raise Unsupported(f"positional args to {name}")
        self.name = name
        self.kwargs = kwargs

    def __repr__(self):
        return f"{self.name}({self.kwargs})"


class LangRef:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"Language.{self.name}"


class _LangNS:
    def __getattr__(self, item):
        return LangRef(item)


class Unsupported(Exception):
    pass


SAFE_CALLS = {
    "LatexExtractionConfig",
    "ExprExtractionConfig",
    "StringExtractionConfig",
    "IndicesExtractionConfig",
    "NormalizationConfig",
}
SAFE_MATH = {"sqrt", "pi", "e", "log", "exp", "sin", "cos", "tan"}


def safe_eval(node: ast.AST):
    """Evaluate a restricted expression without eval()."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple):
        return tuple(safe_eval(e) for e in node.elts)
    if isinstance(node, ast.List):
        return [safe_eval(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {safe_eval(k): safe_eval(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        v = safe_eval(node.operand)
        return -v if isinstance(node.op, ast.USub) else (+v if isinstance(node.op, ast.UAdd) else (not v))
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        a, b = safe_eval(node.left), safe_eval(node.right)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        return a / b
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(v.value)
            elif isinstance(v, ast.FormattedValue):
                val = safe_eval(v.value)
                if v.conversion not in (-1, None):
                    val = {115: str, 114: repr, 97: ascii}[v.conversion](val)
                spec = safe_eval(v.format_spec) if v.format_spec is not None else ""
                parts.append(format(val, spec))
            else:
                raise Unsupported(ast.dump(v))
        return "".join(parts)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        if node.value.id == "Language":
            return LangRef(node.attr)
        if node.value.id == "math" and node.attr in SAFE_MATH:
            return getattr(math, node.attr)
    if isinstance(node, ast.Call):
        fname = call_name(node)
        args = [safe_eval(a) for a in node.args]
        kwargs = {k.arg: safe_eval(k.value) for k in node.keywords}
        if fname in SAFE_CALLS:
            return ConfigStub(fname, *args, **kwargs)
        if fname.startswith("math.") and fname[5:] in SAFE_MATH:
            return getattr(math, fname[5:])(*args, **kwargs)
    raise Unsupported(ast.dump(node)[:200])


def call_name(node: ast.AST) -> str:
    if not isinstance(node, ast.Call):
        return ""
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        base = f.value.id if isinstance(f.value, ast.Name) else "?"
        return f"{base}.{f.attr}"
    return "?"


def calls_in(node: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Call)]


# --------------------------------------------------------------------------
# upstream defaults read from source (AST only)
# --------------------------------------------------------------------------


def dataclass_defaults(src: str, cls: str) -> dict:
    tree = ast.parse(src)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls:
            out = {}
            for st in node.body:
                if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
                    name = st.target.id
                    if st.value is None:
                        out[name] = "<required>"
                    elif isinstance(st.value, ast.Constant):
                        out[name] = st.value.value
                    elif isinstance(st.value, ast.Call) and call_name(st.value) in ("field", "dataclasses.field"):
                        kw = {k.arg: k.value for k in st.value.keywords}
                        if "default" in kw and isinstance(kw["default"], ast.Constant):
                            out[name] = kw["default"].value
                        elif "default_factory" in kw:
                            lam = kw["default_factory"]
                            body = None
                            if isinstance(lam, ast.Lambda):
                                body = lam.body
                            elif isinstance(lam, ast.Name):  # module-level factory function
                                for f in ast.walk(tree):
                                    if isinstance(f, ast.FunctionDef) and f.name == lam.id:
                                        rets = [r for r in ast.walk(f) if isinstance(r, ast.Return)]
                                        body = rets[-1].value if rets else None
                            try:
                                v = safe_eval(body) if body is not None else "<default_factory>"
                            except Unsupported:
                                v = "<default_factory>"
                            if isinstance(v, tuple):
                                v = list(v)
                            if isinstance(v, ConfigStub):
                                v = {"type": v.name, **v.kwargs}
                            out[name] = v
                    else:
                        out[name] = "<default>"
            return out
    raise KeyError(cls)


def func_defaults(src: str, fname: str) -> dict:
    tree = ast.parse(src)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == fname:
            return _defaults_of(node)
    raise KeyError(fname)


def _defaults_of(fn: ast.FunctionDef) -> dict:
    a = fn.args
    pos = a.posonlyargs + a.args
    out = {}
    for arg, d in zip(pos[len(pos) - len(a.defaults):], a.defaults):
        try:
            out[arg.arg] = safe_eval(d)
        except Unsupported:
            out[arg.arg] = "<default>"
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        if d is not None:
            try:
                out[arg.arg] = safe_eval(d)
            except Unsupported:
                out[arg.arg] = "<default>"
    return out


def config_json(stub: ConfigStub, cls_defaults: dict) -> dict:
    d = {"type": stub.name}
    merged = dict(cls_defaults.get(stub.name, {}))
    for k, v in stub.kwargs.items():
        merged[k] = v
    for k, v in merged.items():
        if isinstance(v, ConfigStub):
            v = {"type": v.name, **v.kwargs}
        elif isinstance(v, tuple):
            v = list(v)
        if k == "normalization_config" and v in ("<default_factory>", "<default>"):
            v = "default"
        d[k] = v
    return d


# --------------------------------------------------------------------------
# helper (compare_strings) analysis
# --------------------------------------------------------------------------


class Helper:
    """What a test file's `compare_strings` helper does, read from its AST."""

    def __init__(self, fn: ast.FunctionDef):
        self.params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        self.defaults = _defaults_of(fn)
        self.lineno = fn.lineno
        # match_type string -> ConfigStub
        self.type_map: dict[str, ConfigStub] = {}
        for node in ast.walk(fn):
            if isinstance(node, ast.If):
                t = node.test
                if (
                    isinstance(t, ast.Compare)
                    and isinstance(t.left, ast.Name)
                    and len(t.comparators) == 1
                    and isinstance(t.comparators[0], ast.Constant)
                ):
                    for c in calls_in(ast.Module(body=node.body, type_ignores=[])):
                        if call_name(c).endswith("ExtractionConfig"):
                            self.type_map[t.comparators[0].value] = safe_eval(c)
                            break
        # keyword mapping of the final call (verify / MultilingualExtractiveMatchMetric)
        self.final_call = None
        self.final_kw: dict[str, str] = {}  # upstream kw -> helper param
        self.final_const: dict[str, object] = {}
        for c in calls_in(fn):
            n = call_name(c)
            if n in ("verify", "MultilingualExtractiveMatchMetric"):
                self.final_call = n
                for k in c.keywords:
                    if isinstance(k.value, ast.Name):
                        self.final_kw[k.arg] = k.value.id
                    else:
                        try:
                            self.final_const[k.arg] = safe_eval(k.value)
                        except Unsupported:
                            pass
        self.uses_parse = any(call_name(c) == "parse" for c in calls_in(fn))


def find_helper(tree: ast.Module) -> Helper | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "compare_strings":
            return Helper(node)
    return None


# --------------------------------------------------------------------------
# test-function walking
# --------------------------------------------------------------------------


def parametrize_cases(fn: ast.FunctionDef):
    """Yield (argnames, [(lineno, values_tuple)]) for @pytest.mark.parametrize."""
    for dec in fn.decorator_list:
        if isinstance(dec, ast.Call) and call_name(dec).endswith("parametrize") or (
            isinstance(dec, ast.Call)
            and isinstance(dec.func, ast.Attribute)
            and dec.func.attr == "parametrize"
        ):
            names = safe_eval(dec.args[0])
            if isinstance(names, str):
                names = [n.strip() for n in names.split(",") if n.strip()]
            values_node = dec.args[1]
            rows = []
            for elt in values_node.elts:
                if isinstance(elt, ast.Call) and call_name(elt) == "pytest.param":
                    marks = [k for k in elt.keywords if k.arg == "marks"]
                    rows.append((elt.lineno, tuple(safe_eval(a) for a in elt.args), bool(marks)))
                else:
                    v = safe_eval(elt)
                    if not isinstance(v, tuple):
                        v = (v,)
                    rows.append((elt.lineno, v, False))
            return names, rows
    return None, None


def is_mocked(fn: ast.FunctionDef) -> bool:
    for dec in fn.decorator_list:
        if "patch" in ast.unparse(dec):
            return True
    for node in ast.walk(fn):
        if isinstance(node, ast.With) and any("patch" in ast.unparse(i.context_expr) for i in node.items):
            return True
    return False


def assert_parts(st: ast.Assert):
    """Return (lhs_expr, expected_node_or_bool)."""
    t = st.test
    if isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], ast.Eq):
        return t.left, t.comparators[0]
    if isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not):
        return t.operand, False
    return t, True


def to_bool_label(v):
    if isinstance(v, bool):
        return v, None
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v), None
    if isinstance(v, float):
        return v >= 0.5, v
    raise Unsupported(f"label {v!r}")


class Extractor:
    def __init__(self, kind: str, cls_defaults: dict, parse_defaults: dict, verify_defaults: dict,
                 metric_defaults: dict | None = None, lang_codes: dict | None = None):
        self.kind = kind  # "math_verify" | "lighteval"
        self.cls_defaults = cls_defaults
        self.parse_defaults = parse_defaults
        self.verify_defaults = verify_defaults
        self.metric_defaults = metric_defaults or {}
        self.lang_codes = lang_codes or {}
        self.rows: list[dict] = []
        self.skips: list[dict] = []

    # ---- options builders -------------------------------------------------
    def mv_options(self, configs, verify_kw: dict, call: str) -> dict:
        opts = {
            "call": call,
            "extraction_config": [config_json(c, self.cls_defaults) for c in configs],
        }
        opts["gold_extraction_config"] = opts["extraction_config"]
        for k in ("fallback_mode", "extraction_mode", "parsing_timeout"):
            opts[k] = self.parse_defaults.get(k)
        v = dict(self.verify_defaults)
        v.update(verify_kw)
        for k in ("float_rounding", "numeric_precision", "strict", "allow_set_relation_comp", "timeout_seconds"):
            opts[k] = v.get(k)
        return opts

    def le_options(self, configs, metric_kw: dict, n_choices: int, gold_configs=None) -> dict:
        m = dict(self.metric_defaults)
        m.update(metric_kw)
        tj = [config_json(c, self.cls_defaults) for c in configs]
        gj = [config_json(c, self.cls_defaults) for c in (gold_configs if gold_configs is not None else configs)]
        lang = m.get("language")
        return {
            "call": "MultilingualExtractiveMatchMetric.compute",
            "target_types": sorted({c["type"] for c in tj + gj}),
            "pred_extraction_target": tj,
            "gold_extraction_target": gj,
            "precision": m.get("precision"),
            "fallback_mode": m.get("fallback_mode"),
            "extraction_mode": m.get("extraction_mode"),
            "timeout_seconds": m.get("timeout_seconds"),
            "aggregation_function": "max",
            "strict": True,  # compare_gold_target default, not overridden by the metric
            "doc_choices_count": n_choices,
            "gold_fallback": "raw gold string when no gold is extracted (lighteval behaviour)",
        }

    # ---- per-file walk ----------------------------------------------------
    def walk_file(self, relpath: str, src: str, helper: Helper | None):
        tree = ast.parse(src)
        fname = os.path.basename(relpath)
        local_helper = find_helper(tree)
        helper = local_helper or helper
        for fn in tree.body:
            if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("test")):
                continue
            argnames, rows = parametrize_cases(fn)
            asserts = [n for n in ast.walk(fn) if isinstance(n, ast.Assert)]
            raises = [n for n in ast.walk(fn) if isinstance(n, ast.With)
                      and any("raises" in ast.unparse(i.context_expr) for i in n.items)]
            if is_mocked(fn):
                n = (len(rows) if rows else 1) * (len(asserts) + len(raises))
                self.skip(relpath, fn, "mocked", n,
                          "patches library internals (timeout / error propagation); no gold/prediction pair")
                continue
            if rows is not None:
                if len(asserts) != 1:
                    self.skip(relpath, fn, "unsupported_shape", len(rows), f"{len(asserts)} asserts")
                    continue
                for i, (lineno, values, has_marks) in enumerate(rows):
                    env = dict(zip(argnames, values))
                    self.handle_assert(relpath, fname, fn, asserts[0], env, i, lineno, helper, has_marks)
            else:
                for i, st in enumerate(asserts):
                    self.handle_assert(relpath, fname, fn, st, {}, i, st.lineno, helper, False)

    def skip(self, relpath, fn, reason, n, detail):
        self.skips.append({"file": relpath, "test": fn.name, "line": fn.lineno, "reason": reason,
                           "cases": n, "detail": detail})

    def resolve(self, node, env):
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            raise Unsupported(f"name {node.id}")
        return safe_eval(node)

    def handle_assert(self, relpath, fname, fn, st, env, idx, lineno, helper, has_marks):
        lhs, exp_node = assert_parts(st)
        names = [call_name(c) for c in calls_in(lhs)]
        if "compare_strings" in names or ("verify" in names and "parse" in names):
            exp = exp_node if isinstance(exp_node, bool) else self.resolve(exp_node, env)
        case_id = f"{fname}::{fn.name}::{idx}"
        src_ref = f"{relpath}:{lineno}"
        if has_marks:
            self.skips.append({"file": relpath, "test": fn.name, "line": lineno, "reason": "pytest_marks",
                               "cases": 1, "detail": "pytest.param with marks"})
            return
        if "compare_strings" in names:
            call = next(c for c in calls_in(lhs) if call_name(c) == "compare_strings")
            bound = dict(helper.defaults)
            for p, a in zip(helper.params, call.args):
                bound[p] = self.resolve(a, env)
            for k in call.keywords:
                bound[k.arg] = self.resolve(k.value, env)
            configs = [helper.type_map[m] for m in bound["match_types"] if m in helper.type_map]
            unknown = [m for m in bound["match_types"] if m not in helper.type_map]
            kw = {uk: bound[hp] for uk, hp in helper.final_kw.items() if hp in bound}
            kw.update(helper.final_const)
            label, raw = to_bool_label(exp)
            row = {"id": case_id, "gold": bound["gold"], "prediction": bound["pred"], "expected": label}
            if raw is not None:
                row["expected_raw"] = raw
            if self.kind == "math_verify":
                row["options"] = self.mv_options(configs, kw, "tests/test_all.py::compare_strings")
            else:
                lang = bound.get("language")
                lang_name = lang.name if isinstance(lang, LangRef) else str(lang)
                kw.pop("gold_extraction_target", None)
                kw.pop("pred_extraction_target", None)
                kw["language"] = lang_name
                row["language"] = lang_name
                row["language_code"] = self.lang_codes.get(lang_name)
                row["options"] = self.le_options(configs, kw, 4)
                row["options"]["match_types"] = list(bound["match_types"])
                if unknown:
                    row["options"]["ignored_match_types"] = unknown
            row["source"] = src_ref
            self.rows.append(row)
            return
        if "verify" in names and "parse" in names:
            vcall = next(c for c in calls_in(lhs) if call_name(c) == "verify")
            args = []
            for a in vcall.args[:2]:
                if call_name(a) == "parse" and len(a.args) == 1 and not a.keywords:
                    args.append(self.resolve(a.args[0], env))
                else:
                    args = None
                    break
            if args is None:
                self.skips.append({"file": relpath, "test": fn.name, "line": lineno, "reason": "pre_parsed",
                                   "cases": 1, "detail": "verify() on objects not parsed from strings"})
                return
            label, raw = to_bool_label(exp)
            default_cfgs = [ConfigStub("LatexExtractionConfig"), ConfigStub("ExprExtractionConfig")]
            kw = {k.arg: self.resolve(k.value, env) for k in vcall.keywords}
            row = {"id": case_id, "gold": args[0], "prediction": args[1], "expected": label}
            row["options"] = self.mv_options(default_cfgs, kw, "verify(parse(gold), parse(pred))")
            row["source"] = src_ref
            self.rows.append(row)
            return
        if "sympy_expr_eq" in names or ("verify" in names and "parse" not in names):
            self.skips.append({"file": relpath, "test": fn.name, "line": lineno, "reason": "pre_parsed",
                               "cases": 1, "detail": "compares sympy objects built in the test"})
            return
        # parse-only: asserts on parse() output / on a variable holding it
        self.skips.append({"file": relpath, "test": fn.name, "line": lineno, "reason": "parse_only",
                           "cases": 1, "detail": "asserts on parse() output; no gold/prediction pair"})


# --------------------------------------------------------------------------
# lighteval JSON metric cases
# --------------------------------------------------------------------------


def metric_block(metrics_src: str, name: str) -> str:
    lines = metrics_src.splitlines()
    out, on = [], False
    for ln in lines:
        if ln.startswith(f"    {name} = "):
            on = True
        elif on and re.match(r"^    [A-Za-z_0-9]+ = ", ln):
            break
        if on:
            out.append(ln)
    return "\n".join(out)


def metric_config(metrics_src: str, name: str):
    """Parse the MultilingualExtractiveMatchMetric(...) call of a metric block."""
    block = metric_block(metrics_src, name)
    if "MultilingualExtractiveMatchMetric(" not in block:
        return None
    start = block.index("MultilingualExtractiveMatchMetric(")
    # find the matching parenthesis
    depth, end = 0, None
    for i in range(start + len("MultilingualExtractiveMatchMetric"), len(block)):
        if block[i] == "(":
            depth += 1
        elif block[i] == ")":
            depth -= 1
            if depth == 0:
                end = i + 1
                break
    call = ast.parse(block[start:end], mode="eval").body
    kw = {}
    for k in call.keywords:
        if k.arg == "aggregation_function":
            kw[k.arg] = ast.unparse(k.value)
            continue
        v = safe_eval(k.value)
        if isinstance(v, LangRef):
            v = v.name
        kw[k.arg] = v
    return kw


def lighteval_json_cases(ex: Extractor, gitdir: str, commit: str, metrics_src: str, file_list: list[str]):
    for path in file_list:
        if not path.endswith(".json"):
            continue
        src = show(gitdir, commit, path)
        data = json.loads(src)
        cases = data.get("test_cases", [])
        if not cases:
            continue
        metric = cases[0].get("metric_class")
        cfg = metric_config(metrics_src, metric) if metric else None
        if cfg is None:
            continue  # not an extractive-match metric
        lines = src.splitlines()
        name_lines = [i + 1 for i, l in enumerate(lines) if re.match(r'^\s*"name":', l)]
        # first "name" is the suite's
        case_lines = name_lines[1:] if len(name_lines) == len(cases) + 1 else name_lines[-len(cases):]
        for i, c in enumerate(cases):
            lineno = case_lines[i] if i < len(case_lines) else 0
            texts = c["model_response"]["text"]
            out = c.get("expected_output", {})
            if c.get("metric_params") or len(texts) != 1 or list(out) != ["extractive_match"]:
                ex.skips.append({"file": path, "test": c["name"], "line": lineno, "reason": "aggregate_metric",
                                 "cases": 1,
                                 "detail": f"{metric}: multi-sample/pass@k-style score {list(out)[:1]}"})
                continue
            doc = c["doc"]
            gi = doc["gold_index"]
            gold = doc["choices"][gi] if isinstance(gi, int) else [doc["choices"][g] for g in gi]
            label, raw = to_bool_label(out["extractive_match"])
            gcfg = [ConfigStub(s.name, **s.kwargs) for s in cfg["gold_extraction_target"]]
            pcfg = [ConfigStub(s.name, **s.kwargs) for s in cfg["pred_extraction_target"]]
            kw = {k: v for k, v in cfg.items() if k not in ("gold_extraction_target", "pred_extraction_target",
                                                          "aggregation_function")}
            row = {"id": f"{os.path.basename(path)}::{metric}::{i}", "gold": gold, "prediction": texts[0],
                   "expected": label}
            if raw not in (None, 0.0, 1.0):
                row["expected_raw"] = raw
            row["language"] = kw.get("language", "ENGLISH")
            row["language_code"] = ex.lang_codes.get(row["language"])
            row["options"] = ex.le_options(pcfg, kw, len(doc["choices"]), gold_configs=gcfg)
            row["options"]["metric"] = metric
            row["options"]["doc_choices"] = doc["choices"]
            row["options"]["gold_index"] = gi
            row["options"]["case_name"] = c["name"]
            row["source"] = f"{path}:{lineno}"
            ex.rows.append(row)


# --------------------------------------------------------------------------
# extract
# --------------------------------------------------------------------------


def write_jsonl(path: str, rows: list[dict]):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def sha256_file(path: str) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def skip_summary(skips):
    c = collections.Counter()
    for s in skips:
        c[s["reason"]] += s["cases"]
    return dict(sorted(c.items()))


def extract_math_verify(spec: str):
    gd, rev = split_rev(spec)
    commit = rev_parse(gd, rev)
    parser_src = show(gd, commit, "src/math_verify/parser.py")
    grader_src = show(gd, commit, "src/math_verify/grader.py")
    cls_defaults = {c: dataclass_defaults(parser_src, c)
                    for c in ("LatexExtractionConfig", "ExprExtractionConfig", "StringExtractionConfig")}
    ex = Extractor("math_verify", cls_defaults, func_defaults(parser_src, "parse"),
                   func_defaults(grader_src, "verify"))
    tests = sorted(p for p in ls(gd, commit, "tests") if re.match(r"tests/[^/]+\.py$", p))
    helper = find_helper(ast.parse(show(gd, commit, "tests/test_all.py")))
    for p in tests:
        ex.walk_file(p, show(gd, commit, p), helper)
    lic_path = next(p for p in ("LICENSE", "LICENCE", "LICENSE.md") if blob_id(gd, commit, p))
    meta = {"repo": "huggingface/Math-Verify", "commit": commit, "paths": tests,
            "license_file": lic_path, "license_head": show(gd, commit, lic_path).strip().splitlines()[0].strip(),
            "pyproject_version": re.search(r'^version\s*=\s*"([^"]+)"', show(gd, commit, "pyproject.toml"), re.M)[1]}
    return ex, meta


def extract_lighteval(spec: str):
    gd, rev = split_rev(spec)
    commit = rev_parse(gd, rev)
    utils_src = show(gd, commit, "src/lighteval/metrics/utils/extractive_match_utils.py")
    dyn_src = show(gd, commit, "src/lighteval/metrics/dynamic_metrics.py")
    metrics_src = show(gd, commit, "src/lighteval/metrics/metrics.py")
    lang_src = show(gd, commit, "src/lighteval/utils/language.py")
    cls_defaults = {c: dataclass_defaults(utils_src, c)
                    for c in ("LatexExtractionConfig", "ExprExtractionConfig", "IndicesExtractionConfig")}
    # MultilingualExtractiveMatchMetric.__init__ defaults
    tree = ast.parse(dyn_src)
    mdef = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "MultilingualExtractiveMatchMetric":
            init = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
            mdef = _defaults_of(init)
    for k, v in list(mdef.items()):
        if isinstance(v, LangRef):
            mdef[k] = v.name
        elif isinstance(v, (tuple, list)) and all(isinstance(x, ConfigStub) for x in v):
            mdef[k] = [config_json(x, cls_defaults) for x in v]
    # Language enum: NAME -> code
    lang_codes = {}
    for node in ast.walk(ast.parse(lang_src)):
        if isinstance(node, ast.ClassDef) and node.name == "Language":
            for st in node.body:
                if isinstance(st, ast.Assign) and isinstance(st.value, ast.Constant):
                    lang_codes[st.targets[0].id] = st.value.value
    ex = Extractor("lighteval", cls_defaults, {}, {}, mdef, lang_codes)
    main = "tests/unit/metrics/test_extractive_match.py"
    ex.walk_file(main, show(gd, commit, main), None)
    json_files = sorted(ls(gd, commit, "tests/unit/metrics/test_cases"))
    lighteval_json_cases(ex, gd, commit, metrics_src, json_files)
    used_json = sorted({r["source"].rsplit(":", 1)[0] for r in ex.rows if r["source"].endswith(".json") or ".json:" in r["source"]}
                       | {s["file"] for s in ex.skips if s["file"].endswith(".json")})
    meta = {"repo": "huggingface/lighteval", "commit": commit,
            "paths": [main] + used_json + ["src/lighteval/metrics/metrics.py",
                                           "src/lighteval/metrics/utils/extractive_match_utils.py",
                                           "src/lighteval/metrics/dynamic_metrics.py",
                                           "src/lighteval/utils/language.py"],
            "license_file": "LICENSE", "license_head": show(gd, commit, "LICENSE").strip().splitlines()[0].strip(),
            "metric_defaults": mdef}
    return ex, meta


def extract_solutions(simplerl: str, prm800k: str | None, math500_ids: str, aime_gold: str):
    gd, rev = split_rev(simplerl)
    commit = rev_parse(gd, rev)
    m_path = "examples/simplelr_math_eval/data/math500/test.jsonl"
    a_path = "examples/simplelr_math_eval/data/aime24/test.jsonl"
    m_bytes = show_bytes(gd, commit, m_path)
    meta = {"repo": "hkust-nlp/simpleRL-reason", "commit": commit,
            "paths": [m_path, a_path, "LICENSE", "examples/simplelr_math_eval/LICENSE"],
            "math500_blob": blob_id(gd, commit, m_path), "aime24_blob": blob_id(gd, commit, a_path),
            "math500_sha256": hashlib.sha256(m_bytes).hexdigest(),
            "license_head": show(gd, commit, "LICENSE").strip().splitlines()[0],
            "license_copyright": [l for l in show(gd, commit, "LICENSE").splitlines() if "Copyright" in l],
            "sub_license_copyright": [l for l in show(gd, commit, "examples/simplelr_math_eval/LICENSE").splitlines()
                                      if "Copyright" in l]}
    if prm800k:
        pd, prev = split_rev(prm800k)
        pc = rev_parse(pd, prev)
        ptr = show(pd, pc, "prm800k/math_splits/test.jsonl")
        oid = re.search(r"oid sha256:([0-9a-f]{64})", ptr)
        size = re.search(r"size (\d+)", ptr)
        meta["prm800k"] = {"repo": "openai/prm800k", "commit": pc, "path": "prm800k/math_splits/test.jsonl",
                           "lfs_pointer": bool(oid), "lfs_oid": oid[1] if oid else None,
                           "lfs_size": int(size[1]) if size else None,
                           "byte_identical_to_simplerl_copy": bool(oid) and oid[1] == meta["math500_sha256"]
                           and int(size[1]) == len(m_bytes),
                           "license_head": show(pd, pc, "LICENSE").strip().splitlines()[0],
                           "license_copyright": [l for l in show(pd, pc, "LICENSE").splitlines() if "Copyright" in l]}
    ours = [json.loads(l) for l in open(math500_ids, encoding="utf-8")]
    src_rows = {json.loads(l)["unique_id"]: json.loads(l) for l in m_bytes.decode("utf-8").splitlines() if l.strip()}
    rows, skips = [], []
    for o in ours:
        s = src_rows.get(o["id"])
        if s is None:
            skips.append({"id": o["id"], "reason": "not in source"})
            continue
        if s["answer"] != o["answer"]:
            skips.append({"id": o["id"], "reason": "answer differs from shared math500.jsonl"})
            continue
        if "\\boxed" not in s["solution"] and "\\fbox" not in s["solution"]:
            skips.append({"id": o["id"], "reason": "solution has no \\boxed"})
            continue
        rows.append({"id": f"math500::{o['id']}",
                     "source_dataset": "MATH-500 (openai/prm800k math_splits/test.jsonl; copy in hkust-nlp/simpleRL-reason)",
                     "solution": s["solution"], "gold": o["answer"], "problem_id": o["id"]})
    gold = {json.loads(l)["id"]: json.loads(l) for l in open(aime_gold, encoding="utf-8")}
    n_aime = 0
    for l in show(gd, commit, a_path).splitlines():
        if not l.strip():
            continue
        d = json.loads(l)
        m = re.search(r"/(\d{4})_AIME_(I|II)_Problems/Problem_(\d+)$", d["url"])
        pid = f"{m[1]}-{m[2]}-{int(m[3])}"
        n_aime += 1
        g = gold.get(pid)
        if g is None:
            skips.append({"id": pid, "reason": "not in shared aime.jsonl"})
            continue
        if str(int(d["answer"])) != g["answer"]:
            skips.append({"id": pid, "reason": f"answer {d['answer']} != shared gold {g['answer']}"})
            continue
        if "\\boxed" not in d["solution"] and "\\fbox" not in d["solution"]:
            skips.append({"id": pid, "reason": "solution has no \\boxed"})
            continue
        rows.append({"id": f"aime::{pid}",
                     "source_dataset": "AIME 2024 AoPS-wiki solutions (AI-MO/aimo-validation-aime ids 60-89; copy in hkust-nlp/simpleRL-reason)",
                     "solution": d["solution"], "gold": g["answer"], "problem_id": pid})
    meta["counts"] = {"math500_rows": sum(r["id"].startswith("math500::") for r in rows),
                      "aime_rows": sum(r["id"].startswith("aime::") for r in rows),
                      "aime_source_rows": n_aime}
    return rows, skips, meta


def cmd_extract(a):
    os.makedirs(a.out, exist_ok=True)
    mv, mv_meta = extract_math_verify(a.math_verify)
    le, le_meta = extract_lighteval(a.lighteval)
    sol, sol_skips, sol_meta = extract_solutions(a.simplerl, a.prm800k, a.math500_ids, a.aime_gold)
    files = {"math_verify_cases.jsonl": mv.rows, "lighteval_cases.jsonl": le.rows,
             "published_solutions.jsonl": sol}
    for name, rows in files.items():
        ids = [r["id"] for r in rows]
        assert len(ids) == len(set(ids)), f"duplicate ids in {name}"
        write_jsonl(os.path.join(a.out, name), rows)
    manifest = {
        "generated_by": "benchmarks/data/extract_suites.py extract",
        "math_verify_cases.jsonl": {**mv_meta, "rows": len(mv.rows), "sha256": sha256_file(os.path.join(a.out, "math_verify_cases.jsonl")),
                                    "skips_by_reason": skip_summary(mv.skips), "skips": mv.skips},
        "lighteval_cases.jsonl": {**le_meta, "rows": len(le.rows), "sha256": sha256_file(os.path.join(a.out, "lighteval_cases.jsonl")),
                                  "skips_by_reason": skip_summary(le.skips), "skips": le.skips},
        "published_solutions.jsonl": {**sol_meta, "rows": len(sol), "sha256": sha256_file(os.path.join(a.out, "published_solutions.jsonl")),
                                      "skips": sol_skips},
    }
    with open(os.path.join(a.out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for name in files:
        m = manifest[name]
        print(f"{name}: {m['rows']} rows; skips {m.get('skips_by_reason', len(m.get('skips', [])))}")


# --------------------------------------------------------------------------
# check (runs the installed math_verify; not needed for extraction)
# --------------------------------------------------------------------------


def _mv_configs(cfgs):
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, StringExtractionConfig

    out = []
    for c in cfgs:
        kw = {k: v for k, v in c.items() if k not in ("type", "_n_choices")}
        t = c["type"]
        if t == "LatexExtractionConfig":
            nc = kw.pop("normalization_config", "default")
            if isinstance(nc, dict):
                kw["normalization_config"] = NormalizationConfig(**{k: v for k, v in nc.items() if k != "type"})
            out.append(LatexExtractionConfig(**kw))
        elif t == "ExprExtractionConfig":
            out.append(ExprExtractionConfig(**kw))
        elif t == "StringExtractionConfig":
            if "strings" in kw:
                kw["strings"] = tuple(kw["strings"])
            out.append(StringExtractionConfig(**kw))
        elif t == "IndicesExtractionConfig":
            # lighteval letter indices -> Math-Verify string extraction of the
            # same letters (no language-specific anchors, case-sensitive)
            n = c.get("_n_choices", 4)
            letters = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:n]) if kw.get("prefix_for_extraction") == "NativeLetters" \
                else tuple(str(i) for i in range(1, n + 1))
            out.append(StringExtractionConfig(strings=letters, try_extract_without_anchor=kw.get("try_extract_without_anchor", False),
                                              lowercase=False))
        else:
            raise ValueError(t)
    return out


def run_case(row, suite):
    from math_verify import parse, verify

    o = row["options"]
    if suite == "math_verify":
        gcfg = _mv_configs(o["gold_extraction_config"])
        pcfg = _mv_configs(o["extraction_config"])
        pk = dict(fallback_mode=o["fallback_mode"], extraction_mode=o["extraction_mode"],
                  parsing_timeout=o["parsing_timeout"])
        g = parse(row["gold"], gcfg, **pk)
        p = parse(row["prediction"], pcfg, **pk)
        res = verify(g, p, float_rounding=o["float_rounding"], numeric_precision=o["numeric_precision"],
                     strict=o["strict"], allow_set_relation_comp=o["allow_set_relation_comp"],
                     timeout_seconds=o["timeout_seconds"])
    else:
        n = o["doc_choices_count"]
        gc = [dict(c, _n_choices=n) for c in o["gold_extraction_target"]]
        pc = [dict(c, _n_choices=n) for c in o["pred_extraction_target"]]
        pk = dict(fallback_mode=o["fallback_mode"], extraction_mode=o["extraction_mode"],
                  parsing_timeout=o["timeout_seconds"])
        golds = row["gold"] if isinstance(row["gold"], list) else [row["gold"]]
        gs = []
        for gtxt in golds:
            e = parse(gtxt, _mv_configs(gc), **pk)
            gs.append(e if e else [gtxt])  # lighteval: raw gold string if nothing extracted
        p = parse(row["prediction"], _mv_configs(pc), **pk)
        res = any(verify(g, p, float_rounding=o["precision"], strict=o["strict"],
                         timeout_seconds=o["timeout_seconds"]) for g in gs)
        g = [x for e in gs for x in e]
    return bool(res), [str(x) for x in g], [str(x) for x in p]


def cmd_check(a):
    import importlib.metadata as md

    report = {"math_verify_version": md.version("math-verify"),
              "latex2sympy2_extended_version": md.version("latex2sympy2_extended"), "suites": {}}
    for suite, fname in (("math_verify", "math_verify_cases.jsonl"), ("lighteval", "lighteval_cases.jsonl")):
        if a.suite and a.suite != suite:
            continue
        rows = [json.loads(l) for l in open(os.path.join(a.data, fname), encoding="utf-8")]
        agree, fails, errors = 0, [], []
        by_lang = collections.defaultdict(lambda: [0, 0])
        t0 = time.time()
        for r in rows:
            try:
                res, g, p = run_case(r, suite)
            except Exception as e:  # noqa: BLE001
                errors.append({"id": r["id"], "error": repr(e)[:300]})
                res, g, p = None, [], []
            ok = res == r["expected"]
            agree += ok
            key = r.get("language", "n/a")
            by_lang[key][0] += ok
            by_lang[key][1] += 1
            if not ok:
                fails.append({"id": r["id"], "source": r["source"], "expected": r["expected"], "got": res,
                              "gold": r["gold"][:200] if isinstance(r["gold"], str) else r["gold"],
                              "prediction": r["prediction"][:200], "gold_parsed": g[:4], "pred_parsed": p[:4]})
        report["suites"][suite] = {"rows": len(rows), "agree": agree, "agreement": round(agree / len(rows), 4),
                                   "by_language": {k: {"agree": v[0], "rows": v[1]} for k, v in by_lang.items()},
                                   "seconds": round(time.time() - t0, 1), "disagreements": fails, "errors": errors}
        print(f"{suite}: {agree}/{len(rows)} = {agree / len(rows):.4f}  ({len(fails)} disagreements)")
    if not a.suite or a.suite == "solutions":
        # published solutions: every row is a correct solution for its gold
        from math_verify import parse, verify

        rows = [json.loads(l) for l in open(os.path.join(a.data, "published_solutions.jsonl"), encoding="utf-8")]
        agree, fails, t0 = 0, [], time.time()
        by_src = collections.defaultdict(lambda: [0, 0])
        for r in rows:
            try:
                g = parse(f"${r['gold']}$")
                p = parse(r["solution"])
                ok = bool(verify(g, p))
            except Exception as e:  # noqa: BLE001
                ok, g, p = False, [repr(e)[:200]], []
            agree += ok
            k = r["id"].split("::")[0]
            by_src[k][0] += ok
            by_src[k][1] += 1
            if not ok:
                fails.append({"id": r["id"], "gold": r["gold"], "gold_parsed": [str(x) for x in g][:4],
                              "pred_parsed": [str(x) for x in p][:4]})
        report["suites"]["solutions"] = {
            "rows": len(rows), "agree": agree, "agreement": round(agree / len(rows), 4),
            "method": "verify(parse('$'+gold+'$'), parse(solution)) with Math-Verify defaults",
            "by_source": {k: {"agree": v[0], "rows": v[1]} for k, v in by_src.items()},
            "seconds": round(time.time() - t0, 1), "disagreements": fails}
        print(f"solutions: {agree}/{len(rows)} = {agree / len(rows):.4f}  ({len(fails)} disagreements)")
    if a.report:
        with open(a.report, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1, ensure_ascii=False)
            f.write("\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract")
    e.add_argument("--math-verify", required=True, help="git dir of huggingface/Math-Verify[@rev]")
    e.add_argument("--lighteval", required=True, help="git dir of huggingface/lighteval[@rev]")
    e.add_argument("--simplerl", required=True, help="git dir of hkust-nlp/simpleRL-reason[@rev]")
    e.add_argument("--prm800k", help="git dir of openai/prm800k[@rev] (LFS pointer cross-check)")
    e.add_argument("--math500-ids", required=True, help="shared math500.jsonl (ids and gold)")
    e.add_argument("--aime-gold", required=True, help="shared aime.jsonl (ids and gold)")
    e.add_argument("--out", required=True)
    c = sub.add_parser("check")
    c.add_argument("--data", required=True)
    c.add_argument("--suite", choices=["math_verify", "lighteval", "solutions"])
    c.add_argument("--report", help="write a JSON report here")
    a = ap.parse_args(argv)
    {"extract": cmd_extract, "check": cmd_check}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
